// SPDX-License-Identifier: GPL-2.0
/* xdp_flow_stats: per-CPU packet/byte counters plus an IPv4 flow allow-list.
 *
 * Every packet is counted in the per-CPU `stats` array under the XDP action
 * the program returns (packets and bytes, like xdp_stats). IPv4 TCP/UDP/ICMP
 * packets (after at most one 802.1Q / 802.1ad tag) pass only when their
 * 5-tuple is in the `allowed_flows` hash, whose value counts the packets seen
 * on that flow; other IPv4 packets are dropped. IPv6, ARP and everything
 * else passes. An IPv4 header cut short is XDP_ABORTED.
 *
 * The key is 16 bytes, addresses and ports in network byte order, so
 *   10.0.0.1:40000 -> 10.0.0.2:53 UDP
 * is `hex 0a 00 00 01 0a 00 00 02 9c 40 00 35 11 00 00 00`.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* 0 for ICMP and other protocols */
	__be16 dport;
	__u8 proto;
	__u8 pad[3]; /* always 0 */
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_REDIRECT + 1);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, __u64);
	__uint(max_entries, 1024);
} allowed_flows SEC(".maps");

static __always_inline __u32 record(struct xdp_md *ctx, __u32 action)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct datarec *rec = bpf_map_lookup_elem(&stats, &action);

	if (!rec)
		return XDP_ABORTED;
	rec->packets++;
	rec->bytes += (__u64)(data_end - data);
	return action;
}

static __always_inline __u32 classify(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct flow_key key;
	struct iphdr *ip;
	void *l3, *l4;
	__be16 proto;
	__u64 *hits;
	__u32 ihl;

	__builtin_memset(&key, 0, sizeof(key));
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS; /* a runt: let the stack deal with it */
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return XDP_PASS;
		proto = vlan->h_vlan_encapsulated_proto;
		l3 = vlan + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	ip = l3;
	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return XDP_ABORTED;
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.proto = ip->protocol;
	l4 = l3 + ihl;
	if (key.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return XDP_DROP;
		key.sport = tcp->source;
		key.dport = tcp->dest;
	} else if (key.proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return XDP_DROP;
		key.sport = udp->source;
		key.dport = udp->dest;
	}

	hits = bpf_map_lookup_elem(&allowed_flows, &key);
	if (!hits)
		return XDP_DROP;
	__sync_fetch_and_add(hits, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_flow_stats(struct xdp_md *ctx)
{
	return record(ctx, classify(ctx));
}

char _license[] SEC("license") = "GPL";
