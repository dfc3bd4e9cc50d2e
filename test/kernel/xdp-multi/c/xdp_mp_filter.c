/* A flow filter for the multi-program tests: priority 20, drops UDP to port 9999 (counted), passes the rest. */
#include "xdp_mp_common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mp_drops SEC(".maps");

struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(mp_filter);

SEC("xdp")
int mp_filter(struct xdp_md *ctx)
{
	if (udp_dport(ctx) != 9999)
		return XDP_PASS;
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&mp_drops, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
