// bpfkit run over a cpumap: the XDP program spreads frames over CPUs by receive queue; the cpumap program drops
// frames whose EtherType's low byte is odd. Used by test/runtime/cpumap.test.ts through the CLI.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct bpf_cpumap_val));
	__uint(max_entries, 4);
} cpu_map SEC(".maps");
SEC("xdp")
int xdp_to_cpu(struct xdp_md *ctx) { return bpf_redirect_map(&cpu_map, ctx->rx_queue_index % 4, XDP_PASS); }
SEC("xdp/cpumap")
int xdp_on_cpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	if (data + 14 > data_end) return XDP_DROP;
	return ((unsigned char *)data)[13] & 1 ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
