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

// bpf_for_each_map_elem over an array and a zero-seeded hash: the callback reads the key, updates
// the value in place and stops at a key the packet names.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_ZERO_SEED);
	__type(key, __u32);
	__type(value, __u64);
} flows SEC(".maps");

struct walk_ctx {
	__u64 acc;
	__u32 stop_key;
	__u32 n;
};

static long visit(void *map, __u32 *key, __u64 *value, void *c)
{
	struct walk_ctx *w = c;

	w->n++;
	w->acc = w->acc * 31 + *key * 1000 + *value;
	*value += 1;
	return *key == w->stop_key ? 1 : 0;
}

SEC("xdp")
int xdp_for_each(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data;

	if (data + 48 > end)
		return XDP_ABORTED;
	struct walk_ctx a = { .acc = 0, .stop_key = p[0], .n = 0 };
	struct walk_ctx h = { .acc = 0, .stop_key = p[1], .n = 0 };
	long ra = bpf_for_each_map_elem(&slots, visit, &a, 0);
	long rh = bpf_for_each_map_elem(&flows, visit, &h, p[2]);

	__builtin_memcpy(p + 8, &ra, 8);
	__builtin_memcpy(p + 16, &a.acc, 8);
	__builtin_memcpy(p + 24, &rh, 8);
	__builtin_memcpy(p + 32, &h.acc, 8);
	__builtin_memcpy(p + 40, &h.n, 4);
	return XDP_PASS;
}
