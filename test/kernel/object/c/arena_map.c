// SPDX-License-Identifier: GPL-2.0
/* arena_map: an arena map (BPF_F_MMAPABLE, no key/value) and an XDP program, kept apart from
 * map_families.c because a kernel may refuse arenas (EPERM on one 6.18 build). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, 33 /* BPF_MAP_TYPE_ARENA */); __uint(map_flags, BPF_F_MMAPABLE); __uint(max_entries, 2); } arena SEC(".maps");

SEC("xdp")
int arena_user(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
