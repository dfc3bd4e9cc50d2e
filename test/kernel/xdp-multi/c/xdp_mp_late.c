/* A second counter that joins later: no run config (libxdp's defaults, priority 50, XDP_PASS), counts UDP by port. */
#include "xdp_mp_common.h"

/* [0] frames, [1] UDP to port 7777, [2] UDP to port 9999 (the filter before it drops those). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} mp_late_counts SEC(".maps");

SEC("xdp")
int mp_late(struct xdp_md *ctx)
{
	int port = udp_dport(ctx);
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&mp_late_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	k = port == 7777 ? 1 : port == 9999 ? 2 : 3;
	v = bpf_map_lookup_elem(&mp_late_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
