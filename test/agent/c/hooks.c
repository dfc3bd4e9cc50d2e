// SPDX-License-Identifier: GPL-2.0
/* hooks: a cgroup_skb/egress program, a raw tracepoint program and a tracepoint program counting
 * into one array, for the agent's cgroup, rawTracepoint and tracepoint attach points. `step` (a .rodata global the agent sets) is
 * what each event adds, so a config change yields new programs to swap in. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u64 step = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 3);
} hook_counts SEC(".maps");

static void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hook_counts, &slot);

	if (v)
		__sync_fetch_and_add(v, step);
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	bump(0);
	return 1; /* allow */
}

SEC("raw_tp/sys_enter")
int count_sys_enter(void *ctx)
{
	bump(1);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int count_tp_sys_enter(void *ctx)
{
	bump(2);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
