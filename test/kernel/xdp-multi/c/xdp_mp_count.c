/* A counter for the multi-program tests: priority 10, counts every frame and UDP frames by port. */
#include "xdp_mp_common.h"

/* [0] frames, [1] UDP to port 7777, [2] UDP to port 9999. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} mp_counts SEC(".maps");

struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(mp_count);

static __always_inline void bump(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&mp_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int mp_count(struct xdp_md *ctx)
{
	int port = udp_dport(ctx);
	bump(0);
	if (port == 7777)
		bump(1);
	if (port == 9999)
		bump(2);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
