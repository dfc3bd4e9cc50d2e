// SPDX-License-Identifier: GPL-2.0
/* Programs of test/jit/dataplane.test.ts: inlined array lookups, the headroom a run dirties. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} shared SEC(".maps");

/* Counts the packet under the index in its first byte in both arrays; an index past the end
 * (NULL lookups) is XDP_DROP. */
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 key;
	__u64 *a, *b;

	if (data + 1 > data_end)
		return XDP_ABORTED;
	key = *(__u8 *)data;
	a = bpf_map_lookup_elem(&pcpu, &key);
	b = bpf_map_lookup_elem(&shared, &key);
	if (!a || !b)
		return XDP_DROP;
	*a += 1;
	__sync_fetch_and_add(b, bpf_get_smp_processor_id() + 1);
	return XDP_PASS;
}

/* First byte 1: moves the head 32 bytes into the headroom and fills them with 0xab (and grows
 * the tail by 16). Otherwise: moves the head and tail the same way and returns XDP_DROP when any
 * of the 32 bytes is not zero (a previous packet's bytes left behind). */
SEC("xdp")
int xdp_headroom(struct xdp_md *ctx)
{
	void *data, *data_end;
	__u8 first;
	int i;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + 1 > data_end)
		return XDP_ABORTED;
	first = *(__u8 *)data;
	if (bpf_xdp_adjust_head(ctx, -32) || bpf_xdp_adjust_tail(ctx, 16))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + 32 > data_end)
		return XDP_ABORTED;
	if (first == 1) {
		for (i = 0; i < 32; i++)
			((__u8 *)data)[i] = 0xab;
		return XDP_TX;
	}
	for (i = 0; i < 32; i++)
		if (((__u8 *)data)[i])
			return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";

struct key13 {
	__u8 b[13];
};
struct key40 {
	__u8 b[40];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} h4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct key13);
	__type(value, __u64);
	__uint(max_entries, 64);
} h13 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key40);
	__type(value, __u64);
	__uint(max_entries, 3);
} h40 SEC(".maps");

/* Looks the packet's first 4, 13 and 40 bytes up in three hashes (a per-CPU one among them),
 * counts each hit, returns 16 + a bit per hit. */
SEC("xdp")
int xdp_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct key13 k13;
	struct key40 k40;
	__u32 k4;
	__u64 *v;
	int ret = 16;

	if (data + 40 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&k4, data, 4);
	__builtin_memcpy(&k13, data, 13);
	__builtin_memcpy(&k40, data, 40);
	v = bpf_map_lookup_elem(&h4, &k4);
	if (v) {
		*v += 1;
		ret |= 1;
	}
	v = bpf_map_lookup_elem(&h13, &k13);
	if (v) {
		*v += 1;
		ret |= 2;
	}
	v = bpf_map_lookup_elem(&h40, &k40);
	if (v) {
		*v += 1;
		ret |= 4;
	}
	return ret;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} ro SEC(".maps");

/* Value accesses the JIT compiles without a check (inside the value, past the NULL check) next to
 * ones it must keep: a store to a BPF_F_RDONLY_PROG value (the verifier refuses it; loaded with
 * verification off, it must fault in both engines) and a read past the value (packet byte 1 = 1).
 * The index is packet byte 0. */
SEC("xdp")
int xdp_value_bounds(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 key;
	__u64 *v, *r;

	if (data + 2 > data_end)
		return XDP_ABORTED;
	key = *(__u8 *)data;
	v = bpf_map_lookup_elem(&shared, &key);
	r = bpf_map_lookup_elem(&ro, &key);
	if (!v || !r)
		return XDP_DROP;
	*v += *r + 1;
	if (*(__u8 *)(data + 1) == 1)
		return ((volatile __u64 *)v)[1] ? XDP_TX : XDP_PASS;
	if (*(__u8 *)(data + 1) == 2)
		*(volatile __u64 *)r = 7;
	return XDP_PASS;
}
