// Programs for every tracing and cgroup hook `bpfkit attach` takes; each counts its runs in .bss.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 tp_hits, rawtp_hits, kprobe_hits, fentry_hits, cg_hits;

SEC("tracepoint/skb/kfree_skb")
int tp_kfree(void *ctx)
{
	__sync_fetch_and_add(&tp_hits, 1);
	return 0;
}

SEC("raw_tp/kfree_skb")
int rawtp_kfree(void *ctx)
{
	__sync_fetch_and_add(&rawtp_hits, 1);
	return 0;
}

SEC("kprobe/ip_rcv")
int kp_ip_rcv(void *ctx)
{
	__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("fentry/ip_rcv")
int fentry_ip_rcv(void *ctx)
{
	__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&cg_hits, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
