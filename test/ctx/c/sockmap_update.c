// SPDX-License-Identifier: GPL-2.0
/* sockmap_update: sk_lookup and tc programs storing the socket a lookup found in a sockmap or sockhash with
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

/* The packet after its Ethernet header: a struct bpf_sock_tuple's ipv4 (12 bytes), then the
 * destination key (u32), the update flags (u32), sockhash instead of sockmap (u8), UDP instead of
 * TCP (u8). Stores the socket bpf_sk_lookup_tcp/udp finds; the result as above. */
SEC("tc")
int store_found(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct bpf_sock_tuple tuple = {};
	__u32 zero = 0, dkey;
	__u64 flags;
	__s64 *out = bpf_map_lookup_elem(&result, &zero);
	struct bpf_sock *sk;
	__u8 *p = data + 14;
	long ret;

	if (!out || data + 36 > end)
		return 2;
	__builtin_memcpy(&tuple.ipv4, p, 12);
	dkey = *(__u32 *)(p + 12);
	flags = *(__u32 *)(p + 16);
	if (p[21])
		sk = bpf_sk_lookup_udp(skb, &tuple, sizeof(tuple.ipv4), -1, 0);
	else
		sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), -1, 0);
	if (!sk) {
		*out = 1000;
		return 0;
	}
	if (p[20])
		ret = bpf_map_update_elem(&dsth, &dkey, sk, flags);
	else
		ret = bpf_map_update_elem(&dst, &dkey, sk, flags);
	bpf_sk_release(sk);
	*out = ret;
	return 0;
}

char _license[] SEC("license") = "GPL";
