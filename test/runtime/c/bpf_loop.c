// bpf_loop: a callback that reads and writes the caller's stack, calls a map helper, and stops early.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u32 stop_at;
	__u32 seen;
};

static long step(__u64 i, void *c)
{
	struct loop_ctx *l = c;
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&calls, &zero);

	if (v)
		*v += 1;
	l->seen++;
	l->sum += i * i + 3;
	return i == l->stop_at ? 1 : 0;
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data;

	if (data + 40 > end)
		return XDP_ABORTED;
	__u32 n = p[0] | (p[1] << 8) | (p[2] << 16) | ((__u32)p[3] << 24);
	struct loop_ctx l = { .sum = 0, .stop_at = p[4], .seen = 0 };
	long r = bpf_loop(n, step, &l, p[5]);

	__builtin_memcpy(p + 8, &r, 8);
	__builtin_memcpy(p + 16, &l.sum, 8);
	__builtin_memcpy(p + 24, &l.seen, 4);
	return r < 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
