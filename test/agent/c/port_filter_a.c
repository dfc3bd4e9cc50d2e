// SPDX-License-Identifier: GPL-2.0
/* port_filter_a: XDP drops UDP datagrams to `blocked_port` (a .rodata global the agent sets) and
 * counts drops and passes per CPU. Version A of the agent's swap test (port_filter_b is B). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 blocked_port = 0; /* host byte order; 0: block nothing */

struct filter_counts {
	__u64 dropped;
	__u64 passed;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct filter_counts);
	__uint(max_entries, 1);
} filter_stats SEC(".maps");

SEC("xdp")
int port_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct filter_counts *c = bpf_map_lookup_elem(&filter_stats, &zero);
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);

	if (!c)
		return XDP_PASS;
	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(blocked_port)) {
		c->passed++;
		return XDP_PASS;
	}
	c->dropped++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
