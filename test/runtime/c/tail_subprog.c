// A tail call from a BPF-to-BPF subprogram: the target's exit returns to the subprogram's caller.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int target(struct xdp_md *ctx)
{
	return XDP_TX;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [0] = (void *)&target },
};

static __attribute__((noinline)) int dispatch(struct xdp_md *ctx, __u32 slot)
{
	bpf_tail_call(ctx, &jumps, slot);
	/* Opaque to clang, so it cannot fold the caller's use of the result. */
	return ctx->rx_queue_index == 12345 ? XDP_ABORTED : XDP_DROP;
}

SEC("xdp")
int xdp_tail_subprog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 slot = 1;
	int r;

	if (data + 1 <= data_end)
		slot = *(__u8 *)data & 1;
	r = dispatch(ctx, slot);
	return r == XDP_DROP ? XDP_PASS : r + 10;
}

char LICENSE[] SEC("license") = "GPL";
