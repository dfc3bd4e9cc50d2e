// One map of each family libbpf creates with special attributes: cpumap, sockmap, sockhash,
// sk_storage, cgroup storage (shared and per-CPU), user ring buffer, arena, and a perf event
// array with max_entries 0. Loaded by test/maps/map-families.test.ts into the kernel (compared
// with bpftool) and into the userspace runtime.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Debian's 6.1 uapi headers and libbpf 1.1 predate arenas (6.9): the kernel's values. */
#define MAP_TYPE_ARENA 33

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct bpf_cpumap_val));
	__uint(max_entries, 4);
} cpu_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 2);
} cpu_map_qsize SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16);
} sock_hash SEC(".maps");

struct sk_val {
	__u64 packets;
	__u32 mark;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_val);
} sk_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} cg_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} cg_pcpu_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 8192);
} user_rb SEC(".maps");

/* libbpf rounds ring buffer sizes up to a power-of-two number of pages: 5000 -> 8192. */
struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 5000);
} user_rb_odd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 3 * 4096);
} rb_odd SEC(".maps");

#ifdef WITH_ARENA
struct {
	__uint(type, MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
} arena SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("xdp")
int xdp_to_cpu(struct xdp_md *ctx)
{
	__u32 cpu = ctx->rx_queue_index % 4;
	return bpf_redirect_map(&cpu_map, cpu, XDP_PASS);
}

SEC("xdp/cpumap")
int xdp_on_cpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (data + 14 > data_end)
		return XDP_DROP;
	return ((unsigned char *)data)[13] & 1 ? XDP_DROP : XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} cg_out SEC(".maps");

/* Counts packets and bytes in the cgroup's storage; publishes both in cg_out (the storage of a
 * test run is visible to no one else). */
SEC("cgroup_skb/ingress")
int cg_count(struct __sk_buff *skb)
{
	__u64 *n = bpf_get_local_storage(&cg_store, 0);
	__u64 *p = bpf_get_local_storage(&cg_pcpu_store, 0);
	__u32 k0 = 0, k1 = 1;
	__sync_fetch_and_add(n, 1);
	*p += skb->len;
	bpf_map_update_elem(&cg_out, &k0, n, 0);
	bpf_map_update_elem(&cg_out, &k1, p, 0);
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 4);
} drain_out SEC(".maps");

/* Sums the first u32 of each sample (0 for a sample shorter than 4 bytes: the read fails);
 * 0xdead stops the drain. */
static long drain_one(struct bpf_dynptr *dynptr, void *ctx)
{
	__u32 v = 0;
	if (bpf_dynptr_read(&v, sizeof(v), dynptr, 0, 0))
		return 0;
	if (v == 0xdead)
		return 1;
	*(__u64 *)ctx += v;
	return 0;
}

/* Drains user_rb: drain_out[0] = what bpf_user_ringbuf_drain returned, [1] = the sum,
 * [2] = a second drain's return with bad flags (-EINVAL). */
SEC("xdp")
int xdp_drain(struct xdp_md *ctx)
{
	__u64 sum = 0;
	__u32 k0 = 0, k1 = 1, k2 = 2;
	long n = bpf_user_ringbuf_drain(&user_rb, drain_one, &sum, 0);
	long bad = bpf_user_ringbuf_drain(&user_rb, drain_one, &sum, 4);
	bpf_map_update_elem(&drain_out, &k0, &n, 0);
	bpf_map_update_elem(&drain_out, &k1, &sum, 0);
	bpf_map_update_elem(&drain_out, &k2, &bad, 0);
	if (n < 0)
		return XDP_ABORTED;
	return sum == 0 ? XDP_PASS : (sum & 1 ? XDP_DROP : XDP_TX);
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 4);
} sk_out SEC(".maps");

/* Counts packets in the socket's storage (created from `init` on first use) and publishes the count
 * in sk_out[0]; frames longer than 200 bytes then delete the storage twice (sk_out[1], [2]: 0 then
 * -ENOENT); sk_out[3] is bpf_sk_storage_get with bad flags (NULL: 0). */
SEC("tc")
int tc_sk(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct sk_val *v, init = { .packets = 100, .mark = 7 };
	__u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3;
	__s64 r;
	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	r = (long)bpf_sk_storage_get(&sk_store, sk, 0, 2) != 0;
	bpf_map_update_elem(&sk_out, &k3, &r, 0);
	v = bpf_sk_storage_get(&sk_store, sk, &init, BPF_SK_STORAGE_GET_F_CREATE);
	if (!v)
		return 0;
	v->packets++;
	r = v->packets;
	bpf_map_update_elem(&sk_out, &k0, &r, 0);
	if (skb->len > 200) {
		r = bpf_sk_storage_delete(&sk_store, sk);
		bpf_map_update_elem(&sk_out, &k1, &r, 0);
		r = bpf_sk_storage_delete(&sk_store, sk);
		bpf_map_update_elem(&sk_out, &k2, &r, 0);
	}
	return 0;
}

SEC("sk_msg")
int msg_pass(struct sk_msg_md *msg)
{
	__u32 port = msg->local_port;
	return bpf_msg_redirect_hash(msg, &sock_hash, &port, BPF_F_INGRESS);
}

SEC("xdp")
int xdp_perf(struct xdp_md *ctx)
{
	__u32 v = 1;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
