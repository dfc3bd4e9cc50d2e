// SPDX-License-Identifier: GPL-2.0
/* xdp_devmap_ctx: struct xdp_md's egress_ifindex, readable only by programs
 * attached to a devmap (expected attach type BPF_XDP_DEVMAP, libbpf's
 * "xdp/devmap" sections), as xdp-tools' xdp-bench redirect_devmap_multi
 * reads it. bad_* programs are refused by the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} mac_map SEC(".maps");

SEC("xdp/devmap")
int devmap_egress_ifindex(struct xdp_md *ctx)
{
	__u32 key = ctx->egress_ifindex;
	__u64 *mac = bpf_map_lookup_elem(&mac_map, &key);

	return mac && *mac ? XDP_DROP : XDP_PASS;
}

SEC("xdp/devmap")
int devmap_all_fields(struct xdp_md *ctx)
{
	return (ctx->ingress_ifindex ^ ctx->rx_queue_index ^ ctx->egress_ifindex) & 1 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int bad_xdp_egress_ifindex(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_DROP : XDP_PASS;
}

SEC("xdp/cpumap")
int bad_cpumap_egress_ifindex(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_DROP : XDP_PASS;
}

SEC("xdp/devmap")
int bad_devmap_egress_ifindex_u8(struct xdp_md *ctx)
{
	return *(volatile __u8 *)((char *)ctx + 20) ? XDP_DROP : XDP_PASS;
}

SEC("xdp/devmap")
int bad_devmap_egress_ifindex_write(struct xdp_md *ctx)
{
	*(volatile __u32 *)((char *)ctx + 20) = 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
