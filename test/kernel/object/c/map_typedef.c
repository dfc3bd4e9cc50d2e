// SPDX-License-Identifier: GPL-2.0
/* map_typedef: BTF map definitions reached through typedefs, as xdp-tools'
 * xdp_sample.bpf.h declares them (typedef struct { ... } array_map;
 * array_map rx_cnt SEC(".maps");). libbpf skips typedefs and qualifiers
 * (skip_mods_and_typedefs) before it reads the struct; so must bpfkit.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct datarec {
	__u64 packets;
	__u64 bytes;
};

/* An anonymous struct behind a typedef (xdp-tools' array_map). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, 4);
} array_map;

/* A named struct behind a typedef behind a typedef. */
struct hash_def {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
};
typedef struct hash_def hash_def_t;
typedef hash_def_t hash_map;

array_map rx_cnt SEC(".maps");
array_map tx_cnt SEC(".maps");
hash_map len_seen SEC(".maps");
/* A typedef'd inner map in a map-in-map's values. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} inner_map;
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, inner_map);
} outer SEC(".maps");

SEC("xdp")
int xdp_typedef_maps(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data;
	__u32 key = len & 3;
	__u64 one = 1, *seen;
	struct datarec *rec;

	rec = bpf_map_lookup_elem(len > 100 ? &tx_cnt : &rx_cnt, &key);
	if (!rec)
		return XDP_ABORTED;
	rec->packets++;
	rec->bytes += len;
	seen = bpf_map_lookup_elem(&len_seen, &len);
	if (seen)
		(*seen)++;
	else
		bpf_map_update_elem(&len_seen, &len, &one, BPF_ANY);
	return len > 1000 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
