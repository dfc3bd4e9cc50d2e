// SPDX-License-Identifier: Apache-2.0
/* libbpf-dump: prints what libbpf makes of a BPF ELF object, as one JSON document.
 *
 * The reference ("oracle") for bpfkit's object loader: test/support/libbpf-oracle.ts
 * compiles this once (gcc libbpf-dump.c -lbpf -lelf) and compares bpfkit's ObjectSpec with it.
 *
 * Usage:
 *   libbpf-dump OBJ             open (never load) OBJ; print programs and maps
 *   libbpf-dump --load DIR OBJ  also load it into the kernel, with DIR (on a bpffs) as the
 *                               pin root for LIBBPF_PIN_BY_NAME maps, and print the kernel's
 *                               view (bpf_prog_info / bpf_map_info). Everything is closed
 *                               before exit; the caller removes DIR.
 *   libbpf-dump --load-legacy OBJ
 *                               for objects libbpf >= 1.0 refuses because of legacy
 *                               SEC("maps") struct bpf_map_def maps: a minimal loader of its own
 *                               (libelf + bpf_map_create + bpf_prog_load) creates each map
 *                               from its 20-byte definition, patches the ld_imm64 relocations
 *                               with map fds and loads every program; prints the kernel's
 *                               verdict and verifier log. No subprograms, no BTF, no pinning.
 *
 * Output (stdout, exit 0 even when libbpf fails, so the caller always gets JSON):
 *   {"ok":true,"object":{"name","kversion","license":null},"programs":[...],"maps":[...],
 *    "load":{"ok","error","programs":[...],"maps":[...]},"log":"..."}
 *   {"ok":false,"stage":"open","errno":N,"error":"...","log":"..."}
 * libbpf 1.1 has no getter for the license string; the load mode reports the kernel's
 * gpl_compatible bit instead. Exit 2 on bad usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

/* --- libbpf's messages, captured so they land in the JSON instead of stderr. --- */

static char *log_buf;
static size_t log_len, log_cap;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[4096];
	int n;

	(void)level;
	n = vsnprintf(line, sizeof(line), fmt, args);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_len + n + 1 > log_cap) {
		size_t cap = (log_cap ? log_cap * 2 : 8192) + n;
		char *p = realloc(log_buf, cap);

		if (!p)
			return 0;
		log_buf = p;
		log_cap = cap;
	}
	memcpy(log_buf + log_len, line, n);
	log_len += n;
	log_buf[log_len] = '\0';
	return 0;
}

/* --- minimal JSON writer --- */

static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default:
			if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

static void key(const char *k, int *first)
{
	if (!*first)
		putchar(',');
	*first = 0;
	json_str(k);
	putchar(':');
}

static void kv_str(const char *k, const char *v, int *first) { key(k, first); json_str(v); }
static void kv_u64(const char *k, unsigned long long v, int *first) { key(k, first); printf("%llu", v); }
static void kv_bool(const char *k, int v, int *first) { key(k, first); fputs(v ? "true" : "false", stdout); }

/* --- the object as opened --- */

static void dump_programs(struct bpf_object *obj)
{
	struct bpf_program *prog;
	int first_prog = 1;

	putchar('[');
	bpf_object__for_each_program(prog, obj) {
		enum bpf_prog_type type = bpf_program__type(prog);
		enum bpf_attach_type eat = bpf_program__expected_attach_type(prog);
		int f = 1;

		if (!first_prog)
			putchar(',');
		first_prog = 0;
		putchar('{');
		kv_str("name", bpf_program__name(prog), &f);
		kv_str("section", bpf_program__section_name(prog), &f);
		kv_u64("type", type, &f);
		kv_str("typeName", libbpf_bpf_prog_type_str(type), &f);
		kv_u64("expectedAttachType", eat, &f);
		kv_str("expectedAttachTypeName", libbpf_bpf_attach_type_str(eat), &f);
		kv_u64("insnCount", bpf_program__insn_cnt(prog), &f);
		kv_bool("autoload", bpf_program__autoload(prog), &f);
		kv_u64("flags", bpf_program__flags(prog), &f);
		putchar('}');
	}
	putchar(']');
}

static void dump_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int first_map = 1;

	putchar('[');
	bpf_object__for_each_map(map, obj) {
		enum bpf_map_type type = bpf_map__type(map);
		struct bpf_map *inner = bpf_map__inner_map(map);
		size_t init_size = 0;
		int f = 1;

		if (!first_map)
			putchar(',');
		first_map = 0;
		putchar('{');
		kv_str("name", bpf_map__name(map), &f);
		kv_u64("type", type, &f);
		kv_str("typeName", libbpf_bpf_map_type_str(type), &f);
		kv_u64("keySize", bpf_map__key_size(map), &f);
		kv_u64("valueSize", bpf_map__value_size(map), &f);
		kv_u64("maxEntries", bpf_map__max_entries(map), &f);
		kv_u64("mapFlags", bpf_map__map_flags(map), &f);
		kv_u64("mapExtra", bpf_map__map_extra(map), &f);
		kv_u64("numaNode", bpf_map__numa_node(map), &f);
		kv_u64("btfKeyTypeId", bpf_map__btf_key_type_id(map), &f);
		kv_u64("btfValueTypeId", bpf_map__btf_value_type_id(map), &f);
		kv_bool("internal", bpf_map__is_internal(map), &f);
		/* libbpf sets a pin path at open time only for LIBBPF_PIN_BY_NAME maps. */
		kv_str("pinPath", bpf_map__pin_path(map), &f);
		kv_bool("autocreate", bpf_map__autocreate(map), &f);
		if (bpf_map__initial_value(map, &init_size))
			kv_u64("initialValueSize", init_size, &f);
		else {
			key("initialValueSize", &f);
			fputs("null", stdout);
		}
		key("inner", &f);
		if (inner) {
			enum bpf_map_type it = bpf_map__type(inner);
			int g = 1;

			putchar('{');
			kv_str("name", bpf_map__name(inner), &g);
			kv_u64("type", it, &g);
			kv_str("typeName", libbpf_bpf_map_type_str(it), &g);
			kv_u64("keySize", bpf_map__key_size(inner), &g);
			kv_u64("valueSize", bpf_map__value_size(inner), &g);
			kv_u64("maxEntries", bpf_map__max_entries(inner), &g);
			kv_u64("mapFlags", bpf_map__map_flags(inner), &g);
			putchar('}');
		} else {
			fputs("null", stdout);
		}
		putchar('}');
	}
	putchar(']');
}

/* --- the kernel's view after bpf_object__load --- */

static void dump_loaded(struct bpf_object *obj)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int first = 1;

	fputs("\"programs\":[", stdout);
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);
		int f = 1;

		if (!first)
			putchar(',');
		first = 0;
		putchar('{');
		kv_str("name", bpf_program__name(prog), &f);
		/* After load libbpf has appended the used subprograms. */
		kv_u64("insnCount", bpf_program__insn_cnt(prog), &f);
		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			kv_u64("id", info.id, &f);
			kv_u64("type", info.type, &f);
			kv_str("kernelName", info.name, &f);
			kv_u64("xlatedInsnCount", info.xlated_prog_len / 8, &f);
			kv_u64("jitedLen", info.jited_prog_len, &f);
			kv_u64("nrMapIds", info.nr_map_ids, &f);
			kv_bool("gplCompatible", info.gpl_compatible, &f);
			kv_u64("verifiedInsns", info.verified_insns, &f);
		} else {
			kv_u64("infoErrno", fd < 0 ? EBADF : errno, &f);
		}
		putchar('}');
	}
	fputs("],\"maps\":[", stdout);
	first = 1;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(map);
		int f = 1;

		if (!first)
			putchar(',');
		first = 0;
		putchar('{');
		kv_str("name", bpf_map__name(map), &f);
		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			kv_u64("id", info.id, &f);
			kv_u64("type", info.type, &f);
			kv_str("kernelName", info.name, &f);
			kv_u64("keySize", info.key_size, &f);
			kv_u64("valueSize", info.value_size, &f);
			kv_u64("maxEntries", info.max_entries, &f);
			kv_u64("mapFlags", info.map_flags, &f);
			kv_u64("mapExtra", info.map_extra, &f);
		} else {
			kv_u64("infoErrno", fd < 0 ? EBADF : errno, &f);
		}
		kv_bool("pinned", bpf_map__is_pinned(map), &f);
		putchar('}');
	}
	putchar(']');
}

/* --- a minimal loader for legacy SEC("maps") objects --- */

#define MAX_LEGACY_MAPS 64

struct legacy_def {
	__u32 type, key_size, value_size, max_entries, map_flags;
};

static enum bpf_prog_type legacy_prog_type(const char *sec)
{
	if (strcmp(sec, "xdp") == 0 || strncmp(sec, "xdp/", 4) == 0)
		return BPF_PROG_TYPE_XDP;
	if (strcmp(sec, "socket") == 0 || strncmp(sec, "socket", 6) == 0)
		return BPF_PROG_TYPE_SOCKET_FILTER;
	if (strcmp(sec, "tc") == 0 || strncmp(sec, "classifier", 10) == 0)
		return BPF_PROG_TYPE_SCHED_CLS;
	return BPF_PROG_TYPE_UNSPEC;
}

static int legacy_fail(const char *what, int *f)
{
	kv_bool("ok", 0, f);
	kv_str("error", what, f);
	puts("}");
	return 0;
}

static int load_legacy(const char *path)
{
	static char vlog[1 << 20];
	struct { char name[64]; __u64 off; int fd; } maps[MAX_LEGACY_MAPS];
	size_t nmaps = 0, shstrndx, i;
	Elf_Scn *scn = NULL, *symscn = NULL;
	Elf_Data *maps_data = NULL, *symdata = NULL;
	size_t maps_idx = 0, nsyms = 0;
	char license[128] = "";
	int fd, f = 1, first = 1, all_ok = 1;
	GElf_Shdr sh, symsh = { 0 };
	Elf *elf;

	putchar('{');
	if (elf_version(EV_CURRENT) == EV_NONE)
		return legacy_fail("libelf version mismatch", &f);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return legacy_fail(strerror(errno), &f);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return legacy_fail("not an ELF file", &f);

	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		gelf_getshdr(scn, &sh);
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
			symdata = elf_getdata(scn, NULL);
			nsyms = sh.sh_size / sh.sh_entsize;
		} else if (strcmp(name, "maps") == 0) {
			maps_idx = elf_ndxscn(scn);
			maps_data = elf_getdata(scn, NULL);
		} else if (strcmp(name, "license") == 0) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (d && d->d_size < sizeof(license))
				memcpy(license, d->d_buf, d->d_size);
		}
	}
	if (!symscn || !symdata)
		return legacy_fail("no symbol table", &f);

	kv_str("license", license, &f);
	key("maps", &f);
	putchar('[');
	for (i = 0; maps_data && i < nsyms && nmaps < MAX_LEGACY_MAPS; i++) {
		LIBBPF_OPTS(bpf_map_create_opts, mopts);
		struct legacy_def def;
		GElf_Sym sym;
		int g = 1;

		gelf_getsym(symdata, (int)i, &sym);
		if (sym.st_shndx != maps_idx || GELF_ST_TYPE(sym.st_info) == STT_SECTION)
			continue;
		if (sym.st_value + sizeof(def) > maps_data->d_size)
			continue;
		memcpy(&def, (char *)maps_data->d_buf + sym.st_value, sizeof(def));
		snprintf(maps[nmaps].name, sizeof(maps[nmaps].name), "%s",
			 elf_strptr(elf, symsh.sh_link, sym.st_name));
		maps[nmaps].off = sym.st_value;
		mopts.map_flags = def.map_flags;
		maps[nmaps].fd = bpf_map_create(def.type, maps[nmaps].name, def.key_size,
						def.value_size, def.max_entries, &mopts);
		if (nmaps)
			putchar(',');
		putchar('{');
		kv_str("name", maps[nmaps].name, &g);
		kv_u64("type", def.type, &g);
		kv_u64("keySize", def.key_size, &g);
		kv_u64("valueSize", def.value_size, &g);
		kv_u64("maxEntries", def.max_entries, &g);
		kv_u64("mapFlags", def.map_flags, &g);
		if (maps[nmaps].fd < 0) {
			kv_u64("errno", errno, &g);
			all_ok = 0;
		}
		putchar('}');
		nmaps++;
	}
	putchar(']');

	key("programs", &f);
	putchar('[');
	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		LIBBPF_OPTS(bpf_prog_load_opts, popts);
		size_t idx = elf_ndxscn(scn), cnt;
		enum bpf_prog_type type;
		struct bpf_insn *insns;
		const char *name, *err = NULL;
		Elf_Scn *rs = NULL;
		Elf_Data *d;
		int g = 1, pfd;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_size == 0)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		type = legacy_prog_type(name);
		d = elf_getdata(scn, NULL);
		cnt = sh.sh_size / sizeof(struct bpf_insn);
		insns = malloc(sh.sh_size);
		memcpy(insns, d->d_buf, sh.sh_size);

		/* Patch map references from the matching SHT_REL section. */
		while ((rs = elf_nextscn(elf, rs))) {
			GElf_Shdr rsh;
			Elf_Data *rd;
			size_t r;

			gelf_getshdr(rs, &rsh);
			if (rsh.sh_type != SHT_REL || rsh.sh_info != idx)
				continue;
			rd = elf_getdata(rs, NULL);
			for (r = 0; r < rsh.sh_size / rsh.sh_entsize; r++) {
				GElf_Rel rel;
				GElf_Sym sym;
				size_t insn = 0, m;

				gelf_getrel(rd, (int)r, &rel);
				gelf_getsym(symdata, (int)GELF_R_SYM(rel.r_info), &sym);
				insn = rel.r_offset / sizeof(struct bpf_insn);
				if (sym.st_shndx != maps_idx || insn >= cnt || insns[insn].code != (BPF_LD | BPF_IMM | BPF_DW)) {
					err = "relocation other than a map reference (subprograms are not supported)";
					break;
				}
				for (m = 0; m < nmaps && maps[m].off != sym.st_value; m++)
					;
				if (m == nmaps || maps[m].fd < 0) {
					err = "relocation against an unknown or uncreated map";
					break;
				}
				insns[insn].src_reg = BPF_PSEUDO_MAP_FD;
				insns[insn].imm = maps[m].fd;
			}
		}

		if (!first)
			putchar(',');
		first = 0;
		putchar('{');
		kv_str("section", name, &g);
		kv_u64("insnCount", cnt, &g);
		if (!err && type == BPF_PROG_TYPE_UNSPEC)
			err = "unknown section name";
		if (err) {
			kv_str("error", err, &g);
			all_ok = 0;
		} else {
			vlog[0] = '\0';
			popts.log_buf = vlog;
			popts.log_size = sizeof(vlog);
			popts.log_level = 1;
			pfd = bpf_prog_load(type, NULL, license, insns, cnt, &popts);
			kv_bool("ok", pfd >= 0, &g);
			if (pfd < 0) {
				kv_u64("errno", errno, &g);
				all_ok = 0;
			} else {
				struct bpf_prog_info info;
				__u32 len = sizeof(info);

				memset(&info, 0, sizeof(info));
				if (bpf_obj_get_info_by_fd(pfd, &info, &len) == 0) {
					kv_u64("id", info.id, &g);
					kv_u64("type", info.type, &g);
					kv_u64("xlatedInsnCount", info.xlated_prog_len / 8, &g);
					kv_bool("gplCompatible", info.gpl_compatible, &g);
				}
				close(pfd);
			}
			kv_str("verifierLog", vlog, &g);
		}
		putchar('}');
		free(insns);
	}
	putchar(']');
	for (i = 0; i < nmaps; i++)
		if (maps[i].fd >= 0)
			close(maps[i].fd);
	elf_end(elf);
	close(fd);
	kv_bool("ok", all_ok, &f);
	puts("}");
	return 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	const char *pin_root = NULL;
	const char *path;
	struct bpf_object *obj;
	int err, f = 1;

	if (argc == 3 && strcmp(argv[1], "--load-legacy") == 0)
		return load_legacy(argv[2]);
	if (argc == 4 && strcmp(argv[1], "--load") == 0) {
		pin_root = argv[2];
		path = argv[3];
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: %s [--load PIN_DIR | --load-legacy] OBJECT.o\n", argv[0]);
		return 2;
	}

	libbpf_set_print(capture_print);
	opts.pin_root_path = pin_root;
	obj = bpf_object__open_file(path, &opts);
	if (!obj) {
		err = errno;
		putchar('{');
		kv_bool("ok", 0, &f);
		kv_str("stage", "open", &f);
		kv_u64("errno", err, &f);
		kv_str("error", strerror(err), &f);
		kv_str("log", log_buf ? log_buf : "", &f);
		puts("}");
		return 0;
	}

	putchar('{');
	kv_bool("ok", 1, &f);
	key("object", &f);
	{
		int g = 1;

		putchar('{');
		kv_str("name", bpf_object__name(obj), &g);
		kv_u64("kversion", bpf_object__kversion(obj), &g);
		key("license", &g);
		fputs("null", stdout);
		putchar('}');
	}
	key("programs", &f);
	dump_programs(obj);
	key("maps", &f);
	dump_maps(obj);
	if (pin_root) {
		int g = 1;

		key("load", &f);
		putchar('{');
		err = bpf_object__load(obj);
		kv_bool("ok", err == 0, &g);
		if (err) {
			kv_u64("errno", -err, &g);
			kv_str("error", strerror(-err), &g);
		} else {
			putchar(',');
			dump_loaded(obj);
		}
		putchar('}');
	}
	bpf_object__close(obj);
	kv_str("log", log_buf ? log_buf : "", &f);
	puts("}");
	return 0;
}
