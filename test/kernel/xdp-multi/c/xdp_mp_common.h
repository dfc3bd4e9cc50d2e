/* Shared by the xdp-multi fixtures: UDP destination port of an IPv4 frame, libxdp's XDP_RUN_CONFIG. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* As xdp/xdp_helpers.h defines it: struct { __uint(priority, N); __uint(XDP_PASS, 1); } XDP_RUN_CONFIG(func); */
#define XDP_RUN_CONFIG(f) _##f SEC(".xdp_run_config")

/* The UDP destination port (host order), or 0 when the frame is not IPv4/UDP. */
static __always_inline int udp_dport(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return 0;
	return bpf_ntohs(udp->dest);
}
