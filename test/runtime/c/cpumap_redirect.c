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
/* Per CPU: frames the cpumap program saw, and those it passed (read after a live-frames test run). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} on_cpu_seen SEC(".maps");

SEC("xdp/cpumap")
int xdp_on_cpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&on_cpu_seen, &k);
	if (n)
		*n += 1;
	if (data + 14 > data_end) return XDP_DROP;
	if (((unsigned char *)data)[13] & 1)
		return XDP_DROP;
	k = 1;
	n = bpf_map_lookup_elem(&on_cpu_seen, &k);
	if (n)
		*n += 1;
	return XDP_PASS;
}

/* Redirects every frame to CPU 1 (for the live-frames comparison). */
SEC("xdp")
int xdp_to_cpu1(struct xdp_md *ctx) { return bpf_redirect_map(&cpu_map, 1, XDP_ABORTED); }
char LICENSE[] SEC("license") = "GPL";

/* The same redirect with other flags: the low bits are the action for an empty slot; anything above
 * XDP_TX (BPF_F_BROADCAST included: cpumaps take no broadcast) is XDP_ABORTED. */
#define REDIRECT_WITH(name, flags) \
	SEC("xdp") int name(struct xdp_md *ctx) { return bpf_redirect_map(&cpu_map, 0, flags); }
REDIRECT_WITH(to_cpu_aborted, XDP_ABORTED)
REDIRECT_WITH(to_cpu_drop, XDP_DROP)
REDIRECT_WITH(to_cpu_tx, XDP_TX)
REDIRECT_WITH(to_cpu_4, 4)
REDIRECT_WITH(to_cpu_broadcast, BPF_F_BROADCAST)
REDIRECT_WITH(to_cpu_9, 9)
