// SPDX-License-Identifier: GPL-2.0
/* Programs of bench/dataplane.bench.ts: the smallest XDP program and an ALU loop.
 * Built by the benchmark with clang-16 into bench/out/ (not committed). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* 1000 rounds of multiply / xor-shift / add on 64-bit values: what the engine's code costs
 * per instruction, with no memory or helper in the loop. */
SEC("xdp")
int xdp_alu_loop(struct xdp_md *ctx)
{
	__u64 a = ctx->rx_queue_index + 1, b = 0x9e3779b97f4a7c15ULL;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 1000; i++) {
		a = a * b + i;
		a ^= a >> 29;
		b += a;
	}
	return a == 0x1234 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
