// Multi-buffer XDP: buffer length, loads and stores across the linear part and the fragments,
// and tail adjustments, driven by a control block at the start of the packet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct control {
	__u32 load_off;   // where to read 16 bytes (may straddle the linear/fragment boundary)
	__u32 store_off;  // where to write 16 bytes
	__s32 tail;       // bpf_xdp_adjust_tail offset (0: none)
	__u32 pad;
};

SEC("xdp.frags")
int xdp_frags(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct control c;
	__u8 buf[16] = {};
	long r;

	if (data + sizeof(c) + 48 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&c, data, sizeof(c));
	__u64 len_before = bpf_xdp_get_buff_len(ctx);
	__u64 linear = end - data;

	r = bpf_xdp_load_bytes(ctx, c.load_off, buf, sizeof(buf));
	for (int i = 0; i < 16; i++)
		buf[i] ^= 0x5a;
	long w = bpf_xdp_store_bytes(ctx, c.store_off, buf, sizeof(buf));
	long t = c.tail ? bpf_xdp_adjust_tail(ctx, c.tail) : 0;
	__u64 len_after = bpf_xdp_get_buff_len(ctx);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(c) + 48 > end)
		return XDP_DROP;
	__u64 *out = data + sizeof(c);
	out[0] = len_before;
	out[1] = linear;
	out[2] = (__u64)r;
	out[3] = (__u64)w;
	out[4] = (__u64)t;
	out[5] = len_after;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
