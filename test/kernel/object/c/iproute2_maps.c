// SPDX-License-Identifier: GPL-2.0
/* iproute2_maps: maps declared as iproute2 (tc) declares them, struct
 * bpf_elf_map in SEC("maps") (merbridge, cilium's early datapath), with
 * pinning = PIN_GLOBAL_NS and a map-in-map whose inner template is named by
 * inner_id. Built twice more: without BTF (-g0: the layout is then read by
 * position) and with -DBTF_MAPS, the same maps as libbpf BTF definitions
 * (not pinned: bpftool would pin by name in /sys/fs/bpf itself), which
 * bpftool loads as the reference (libbpf 1.x
 * refuses the "maps" section, and tc uses libbpf when built with it).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifndef BTF_MAPS
#define PIN_NONE 0
#define PIN_GLOBAL_NS 2
struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

struct bpf_elf_map SEC("maps") shared = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 16,
	.flags = BPF_F_NO_PREALLOC,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 4,
	.pinning = PIN_NONE,
};

struct bpf_elf_map SEC("maps") inner_tmpl = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.id = 7,
};

struct bpf_elf_map SEC("maps") outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 2,
	.inner_id = 7,
};
#else
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} shared SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
	__uint(max_entries, 4);
} counts SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} inner_tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(key_size, sizeof(__u32));
	__uint(max_entries, 2);
	__array(values, struct inner);
} outer SEC(".maps");
#endif

SEC("tc")
int tc_iproute2_maps(struct __sk_buff *skb)
{
	__u32 key = skb->len & 3, proto = skb->protocol, zero = 0;
	__u64 len = skb->len, *c;
	__u32 *v;
	void *in;

	c = bpf_map_lookup_elem(&counts, &key);
	if (c)
		*c += len;
	bpf_map_update_elem(&shared, &proto, &len, BPF_ANY);
	in = bpf_map_lookup_elem(&outer, &zero);
	if (in) {
		v = bpf_map_lookup_elem(in, &zero);
		if (v && *v)
			return TC_ACT_SHOT;
	}
	return len > 1000 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
