// Programs the kernel-model tests run with `bpfkit test-run --model FILE` and with the kernel:
// a socket lookup of the IPv4 tuple after the Ethernet header, the received tunnel key, and a
// SYN cookie (refused in userspace).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int sk_state(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int r;

	if (data + ETH_HLEN + sizeof(t.ipv4) > end)
		return -1;
	__builtin_memcpy(&t.ipv4, data + ETH_HLEN, sizeof(t.ipv4));
	sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	r = sk->state | (sk->src_port << 8) | (sk->family << 24);
	bpf_sk_release(sk);
	return r;
}

SEC("tc")
int tunnel_id(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	int r = bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0);

	if (r)
		return r;
	return key.tunnel_id ^ key.remote_ipv4;
}

SEC("xdp")
int syncookie(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct tcphdr *th = (void *)(ip + 1);

	if ((void *)(th + 1) > end)
		return XDP_PASS;
	return (int)bpf_tcp_raw_gen_syncookie_ipv4(ip, th, sizeof(*th));
}

char LICENSE[] SEC("license") = "GPL";
