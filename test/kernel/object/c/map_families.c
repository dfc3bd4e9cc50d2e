// SPDX-License-Identifier: GPL-2.0
/* map_families: one map of each family libbpf creates with special rules (cpumap, sockmap,
 * sockhash, sk_storage, cgroup storage and its per-CPU form, ring buffer, user ring buffer,
 * perf event array sized 0; the arena is in arena_map.c: one 6.18 build refuses it); libbpf creates every map of the object, used or not) and a
 * program that uses some, so bpftool's load and bpfkit's load can be compared map by map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_CPUMAP); __type(key, __u32); __type(value, struct bpf_cpumap_val); __uint(max_entries, 4); } cpus SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_SOCKMAP); __type(key, __u32); __type(value, __u64); __uint(max_entries, 8); } socks SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_SOCKHASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 8); } sockh SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_SK_STORAGE); __uint(map_flags, BPF_F_NO_PREALLOC); __type(key, int); __type(value, __u64); } sk_store SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_CGROUP_STORAGE); __type(key, struct bpf_cgroup_storage_key); __type(value, __u64); } cg_store SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE); __type(key, struct bpf_cgroup_storage_key); __type(value, __u64); } cg_pcpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 5000); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_USER_RINGBUF); __uint(max_entries, 4096); } urb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } events SEC(".maps");

SEC("cgroup_skb/egress")
int families(struct __sk_buff *skb)
{
	__u64 *c = bpf_get_local_storage(&cg_store, 0);
	__u64 *p = bpf_get_local_storage(&cg_pcpu, 0);
	__u32 k = 0;
	struct bpf_sock *sk = skb->sk;

	*c += 1;
	*p += 1;
	if (sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk)
			bpf_sk_storage_get(&sk_store, sk, 0, 0);
	}
	bpf_ringbuf_output(&rb, &k, sizeof(k), 0);
	bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU, &k, sizeof(k));
	return 1;
}

char _license[] SEC("license") = "GPL";
