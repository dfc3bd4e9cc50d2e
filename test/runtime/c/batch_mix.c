// SPDX-License-Identifier: GPL-2.0
/* batch_mix: an XDP program the batch entry runs (every helper call compiled in WebAssembly)
 * that writes its packets: swaps the Ethernet addresses, stamps the last byte, counts per CPU
 * (a per-CPU array) and per first payload byte (a hash), and judges by that byte: 0 pass, 1 tx,
 * 2 drop, 3 aborted, else the byte itself as the verdict.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} by_byte SEC(".maps");

SEC("xdp")
int batch_mix(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	__u32 k = 0, b;
	unsigned char *last;
	__u64 *n, *h;

	if (data + 43 > end)
		return XDP_PASS;
	for (int i = 0; i < 6; i++) {
		unsigned char t = data[i];
		data[i] = data[6 + i];
		data[6 + i] = t;
	}
	b = data[42];
	last = data + ((end - data - 1) & 0xfff);
	if (last + 1 > end)
		return XDP_DROP;
	*last ^= 0x5a;
	n = bpf_map_lookup_elem(&per_cpu, &k);
	if (n)
		*n += end - data;
	h = bpf_map_lookup_elem(&by_byte, &b);
	if (h)
		__sync_fetch_and_add(h, 1);
	if (b == 0)
		return XDP_PASS;
	if (b == 1)
		return XDP_TX;
	if (b == 2)
		return XDP_DROP;
	if (b == 3)
		return XDP_ABORTED;
	return b;
}

char LICENSE[] SEC("license") = "GPL";
