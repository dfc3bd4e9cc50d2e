// SPDX-License-Identifier: GPL-2.0
/* xdp_stats: the classic per-CPU packet/byte counter.
 *
 * Every packet is counted in xdp_stats_map under the XDP action the program
 * returns (always XDP_PASS here), with its length taken from data_end - data.
 * Exercises: BTF-defined PERCPU_ARRAY, map lookup helper (call 1), ctx loads
 * of xdp_md->data / data_end, plain (non-atomic) adds on a per-CPU value.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_REDIRECT + 1);
} xdp_stats_map SEC(".maps");

static __always_inline __u32 xdp_stats_record_action(struct xdp_md *ctx, __u32 action)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct datarec *rec;

	if (action > XDP_REDIRECT)
		return XDP_ABORTED;

	rec = bpf_map_lookup_elem(&xdp_stats_map, &action);
	if (!rec)
		return XDP_ABORTED;

	/* Per-CPU storage: no other CPU touches this slot, so no atomics. */
	rec->rx_packets++;
	rec->rx_bytes += (__u64)(data_end - data);

	return action;
}

SEC("xdp")
int xdp_stats_prog(struct xdp_md *ctx)
{
	return xdp_stats_record_action(ctx, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
