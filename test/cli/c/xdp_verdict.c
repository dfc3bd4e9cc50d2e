// An XDP program with two verdicts for `bpfkit xdp dump` tests: UDP to port 7777 is dropped, everything else passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

SEC("xdp")
int xdp_verdict(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);
	__u32 action = XDP_PASS;
	__u64 *n;

	if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip->ihl == 5 && ip->protocol == 17 && udp->dest == bpf_htons(7777))
		action = XDP_DROP;
	n = bpf_map_lookup_elem(&verdicts, &action);
	if (n)
		__sync_fetch_and_add(n, 1);
	return action;
}

char LICENSE[] SEC("license") = "GPL";
