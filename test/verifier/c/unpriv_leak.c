// A socket filter that stores a map value pointer into the value: fine for root, a leak for anyone else.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } m SEC(".maps");
SEC("socket") int leak(struct __sk_buff *skb) {
	__u32 k = 0; __u64 *v = bpf_map_lookup_elem(&m, &k);
	if (v) *v = (__u64)(long)v;   /* stores a pointer into a map value */
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
