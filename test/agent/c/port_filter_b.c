// SPDX-License-Identifier: GPL-2.0
/* port_filter_b: version B of the agent's swap test — the same verdicts as port_filter_a
 * (drop UDP to `blocked_port`) written differently (a ranged check, so another tag), with the
 * same map, so a swap keeps counting in one place. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 blocked_port = 0;
const volatile __u16 blocked_count = 1; /* ports blocked_port .. blocked_port + count - 1 */

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
	struct iphdr *ip;
	struct udphdr *udp;
	__u16 port;

	if (!c)
		return XDP_PASS;
	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto pass;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
		goto pass;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		goto pass;
	port = bpf_ntohs(udp->dest);
	if (port >= blocked_port && port < blocked_port + blocked_count) {
		__sync_fetch_and_add(&c->dropped, 1);
		return XDP_DROP;
	}
pass:
	__sync_fetch_and_add(&c->passed, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
