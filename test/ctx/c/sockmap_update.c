// SPDX-License-Identifier: GPL-2.0
/* sockmap_update: an sk_lookup program storing the socket it found in a sockmap or sockhash with
 * bpf_map_update_elem (a program-side update, as may_update_sockmap allows sk_lookup). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_SOCKMAP); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } src SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_SOCKMAP); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } dst SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_SOCKHASH); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } dsth SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __s64); } result SEC(".maps");

/* local_port - 1000: the source key (low 3 bits), the destination key (next 3 bits), the update
 * flags (next 2 bits), sockhash instead of sockmap (next bit). */
SEC("sk_lookup")
int store_sock(struct bpf_sk_lookup *ctx)
{
	__u32 sel = ctx->local_port - 1000, skey = sel & 7, dkey = (sel >> 3) & 7, zero = 0;
	__u64 flags = (sel >> 6) & 3;
	struct bpf_sock *sk = bpf_map_lookup_elem(&src, &skey);
	__s64 *out = bpf_map_lookup_elem(&result, &zero);
	long ret;

	if (!out)
		return SK_DROP;
	if (!sk) {
		*out = 1000;
		return SK_PASS;
	}
	if (sel & 0x100)
		ret = bpf_map_update_elem(&dsth, &dkey, sk, flags);
	else
		ret = bpf_map_update_elem(&dst, &dkey, sk, flags);
	bpf_sk_release(sk);
	*out = ret;
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
