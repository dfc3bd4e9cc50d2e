// kernel_calls: per-call cost of bpf(2) commands from C through libbpf, the reference for bench/kernel-calls.bench.ts.
//
// Usage: kernel_calls calls N      -> JSON {"test_run_ns","lookup_ns","update_ns","lookup_missing_ns","getpid_ns"} (ns per call, best of 3)
//        kernel_calls load OBJ N PINROOT -> JSON {"load_ms":..} (bpf_object__open_file + load + close, mean of N;
//                                        maps pinned by name go under PINROOT)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(silent);
	if (argc == 3 && strcmp(argv[1], "calls") == 0) {
		long n = atol(argv[2]);
		/* r0 = XDP_PASS; exit */
		struct bpf_insn insns[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
			{ .code = BPF_JMP | BPF_EXIT },
		};
		int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "kl_bench", "GPL", insns, 2, NULL);
		int map = bpf_map_create(BPF_MAP_TYPE_HASH, "kl_bench", 4, 8, 1024, NULL);
		if (prog < 0 || map < 0) {
			fprintf(stderr, "load/create failed\n");
			return 1;
		}
		unsigned char pkt[64] = { 0 }, out[128];
		unsigned int key = 7;
		unsigned long long value = 42;
		bpf_map_update_elem(map, &key, &value, BPF_ANY);
		double best_run = 1e30, best_lookup = 1e30, best_update = 1e30, best_missing = 1e30, best_getpid = 1e30;
		unsigned int missing = 99;
		for (int round = 0; round < 3; round++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .data_out = out,
				    .data_size_out = sizeof(out), .repeat = 1);
			double t0 = now_ns();
			for (long i = 0; i < n; i++) {
				opts.data_size_out = sizeof(out);
				bpf_prog_test_run_opts(prog, &opts);
			}
			double t1 = now_ns();
			for (long i = 0; i < n; i++)
				bpf_map_lookup_elem(map, &key, &value);
			double t2 = now_ns();
			for (long i = 0; i < n; i++)
				bpf_map_update_elem(map, &key, &value, BPF_ANY);
			double t3 = now_ns();
			for (long i = 0; i < n; i++)
				bpf_map_lookup_elem(map, &missing, &value);
			double t4 = now_ns();
			for (long i = 0; i < n; i++)
				syscall(SYS_getpid);
			double t5 = now_ns();
			if ((t4 - t3) / n < best_missing) best_missing = (t4 - t3) / n;
			if ((t5 - t4) / n < best_getpid) best_getpid = (t5 - t4) / n;
			if ((t1 - t0) / n < best_run) best_run = (t1 - t0) / n;
			if ((t2 - t1) / n < best_lookup) best_lookup = (t2 - t1) / n;
			if ((t3 - t2) / n < best_update) best_update = (t3 - t2) / n;
		}
		printf("{\"test_run_ns\":%.1f,\"lookup_ns\":%.1f,\"update_ns\":%.1f,\"lookup_missing_ns\":%.1f,\"getpid_ns\":%.1f}\n",
		       best_run, best_lookup, best_update, best_missing, best_getpid);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "load") == 0) {
		long n = atol(argv[3]);
		LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = argv[4]);
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			struct bpf_object *obj = bpf_object__open_file(argv[2], &open_opts);
			if (!obj || bpf_object__load(obj)) {
				fprintf(stderr, "load of %s failed\n", argv[2]);
				return 1;
			}
			bpf_object__close(obj);
		}
		printf("{\"load_ms\":%.3f}\n", (now_ns() - t0) / n / 1e6);
		return 0;
	}
	fprintf(stderr, "usage: kernel_calls calls N | load OBJ N PINROOT\n");
	return 2;
}
