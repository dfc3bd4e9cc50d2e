// bpf_perf_event_output from XDP: the sample's own bytes plus packet bytes (BPF_F_CTXLEN_MASK),
// the current CPU or an explicit slot, and the error returns, selected by the packet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct control {
	__u32 ctxlen;     // packet bytes to append
	__u32 mode;       // 0: current CPU, 1: slot 63, 2: slot 64, 3: the other CPU, 4: bad flag bits
	__u32 meta_len;   // 0..16 bytes of the sample's own data
	__u32 pad;
};

SEC("xdp")
int xdp_perf(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct control c;
	__u8 meta[16];

	if (data + sizeof(c) + 16 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&c, data, sizeof(c));
	for (int i = 0; i < 16; i++)
		meta[i] = 0xa0 + i;
	__u64 flags = BPF_F_CURRENT_CPU;
	if (c.mode == 1)
		flags = 63;
	else if (c.mode == 2)
		flags = 64;
	else if (c.mode == 3)
		flags = bpf_get_smp_processor_id() ^ 1;
	else if (c.mode == 4)
		flags |= 1ULL << 60;
	flags |= (__u64)(c.ctxlen & 0xfffff) << 32;
	long r = bpf_perf_event_output(ctx, &events, flags, meta, c.meta_len & 15);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(c) + 16 > end)
		return XDP_ABORTED;
	__builtin_memcpy(data + sizeof(c), &r, 8);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
