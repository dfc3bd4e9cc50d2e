// SPDX-License-Identifier: GPL-2.0
/* debug_demo: the debugger's fixture — a BPF-to-BPF call, a tail call, maps with BTF. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct counters);
	__uint(max_entries, 64);
} by_proto SEC(".maps");

int tail_drop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} next_stage SEC(".maps") = {
	.values = { [0] = (void *)&tail_drop },
};

static __noinline __u32 packet_len(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;

	return (__u32)(data_end - data);
}

static __noinline void count(__u32 proto, __u32 len)
{
	struct counters *c = bpf_map_lookup_elem(&by_proto, &proto);

	if (c) {
		c->packets++;
		c->bytes += len;
		return;
	}
	struct counters fresh = { .packets = 1, .bytes = len };
	bpf_map_update_elem(&by_proto, &proto, &fresh, BPF_ANY);
}

SEC("xdp")
int tail_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int demo(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 len, proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;

	len = packet_len(ctx);
	proto = ip->protocol;
	count(proto, len);

	/* ICMP goes to the next stage, which drops it. */
	if (proto == IPPROTO_ICMP)
		bpf_tail_call(ctx, &next_stage, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
