/* SPDX-License-Identifier: MIT */
/* mkseeds.c - write the fuzz targets' seed inputs that are easier made by the encoders than by hand (tests/fuzz/corpus/). */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/cmsg.h"
#include "agent/dmsg.h"
#include "agent/tpmsg.h"
#include "backends/kvm/snapshot.h"
#include "core/dir.h"
#include "core/le.h"
#include "core/wire.h"
#include "include/ukf_abi.h"

static const char *top;

static int put(const char *target, const char *name, const void *a,
	       size_t alen, const void *b, size_t blen)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", top, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen ||
	    (blen && fwrite(b, 1, blen, f) != blen) || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return 0;
}

static void wire(void)
{
	uint8_t body[UKF_WIRE_BODY_MAX];
	char name[64];

	for (int t = 1; t < UKF_MSG_TYPE_MAX; t++) {
		struct ukf_msg m = {
		    .type = t, .id = 7, .parent = 3, .src = 5, .tag = 42,
		    .t_request = 1000, .t_placed = 2000, .status = 0,
		    .bytes = 4096, .node = 1, .origin = 0, .attempt = 1,
		    .app_name = "synth", .app_name_len = 5,
		    .app_digest = 0x1234, .text = "units=2", .text_len = 7,
		};
		size_t n = ukf_msg_encode(&m, body, sizeof(body));
		uint8_t hdr[2] = {t, ukf_msg_has_bulk(t) ? 2 : 0};
		if (!n) {
			fprintf(stderr, "mkseeds: wire type %d not encoded\n", t);
			exit(1);
		}
		snprintf(name, sizeof(name), "%s", ukf_msg_name(t));
		put("wire", name, hdr, 2, body, n);
	}
	struct ukf_frame_header h = {.version = UKF_FRAME_VERSION,
				     .min_version = UKF_FRAME_MIN_VERSION,
				     .type = UKF_MSG_SPAWN, .sender = 1,
				     .incarnation = 9, .seq = 1, .length = 0};
	uint8_t fh[UKF_FRAME_HEADER];
	ukf_frame_header_encode(&h, fh);
	put("wire", "frame-header", fh, sizeof(fh), NULL, 0);
}

static void agentmsg(void)
{
	uint8_t body[UKF_CMSG_BODY_MAX], hdr[3];
	char name[64];
	union {
		struct ukf_tpm_hello hello;
		struct ukf_tpm_bye bye;
		struct ukf_tpm_desc desc;
		struct ukf_tpm_chunk chunk;
		struct ukf_tpm_credit credit;
	} u;

	for (int k = 0; k < UKF_TPM_KINDS; k++) {
		memset(&u, 0, sizeof(u));
		switch (k) {
		case UKF_TPM_HELLO:
			u.hello = (struct ukf_tpm_hello){1, UKF_TP_ROLE_AGENT,
							 9, UKF_TP_HANDLE_NONE,
							 100000000};
			break;
		case UKF_TPM_DESC:
			u.desc = (struct ukf_tpm_desc){1, 10000, 4096, 3};
			break;
		case UKF_TPM_CHUNK:
			u.chunk = (struct ukf_tpm_chunk){1, 0, 4096, 4096,
							 UKF_TP_CODEC_NONE};
			break;
		case UKF_TPM_CREDIT:
			u.credit = (struct ukf_tpm_credit){1, 1, 4, 0};
			break;
		default:
			break;
		}
		int n = ukf_tpm_encode(k, &u, body, sizeof(body));
		if (n < 0) {
			fprintf(stderr, "mkseeds: tpm kind %d not encoded\n", k);
			exit(1);
		}
		hdr[0] = 0, hdr[1] = k, hdr[2] = k == UKF_TPM_HELLO ? 2 : 0;
		snprintf(name, sizeof(name), "tp-%s", ukf_tpm_name(k));
		for (char *c = name; *c; c++)
			if (*c == ' ')
				*c = '-';
		put("agentmsg", name, hdr, 3, body, n);
	}
	for (unsigned t = UKF_C_RUN; t < UKF_C_TYPE_END; t++) {
		struct ukf_cmsg m;
		memset(&m, 0, sizeof(m));
		m.type = t, m.run = 1, m.req = 2, m.id = 7, m.parent = 3;
		m.tag = 42, m.nodes = 2, m.vcpus = 4, m.mem = 1 << 30;
		m.name = "synth", m.name_len = 5;
		m.text = "mem=16M init=1ms", m.text_len = 16;
		m.text2 = "synth", m.text2_len = 5;
		m.incarnation = 9;
		size_t n = ukf_cmsg_encode(&m, body, sizeof(body));
		if (!n) {
			m.text2 = m.text = m.name = NULL;
			m.text2_len = m.text_len = m.name_len = 0;
			n = ukf_cmsg_encode(&m, body, sizeof(body));
		}
		if (!n) {
			fprintf(stderr, "mkseeds: client type %u not encoded\n", t);
			continue;
		}
		hdr[0] = 1, hdr[1] = (uint8_t)(t - 64), hdr[2] = 0;
		snprintf(name, sizeof(name), "c-%s", ukf_cmsg_name(t));
		put("agentmsg", name, hdr, 3, body, n);
	}
	struct ukf_dir_record r = {.node = 1, .version = 3, .vcpus_total = 4,
				   .vcpus_free = 2, .mem_total = 1 << 30,
				   .mem_free = 1 << 29, .instances = 2,
				   .ntemplates = 2, .templates = {0, 1}};
	uint8_t rec[1024];
	size_t rn = ukf_dir_encode(&r, rec, sizeof(rec));
	struct ukf_dmsg d = {.run = 1, .rec = rec, .rec_len = rn};
	size_t n = ukf_dmsg_encode(&d, body, sizeof(body));
	hdr[0] = 2, hdr[1] = 0, hdr[2] = 0;
	put("agentmsg", "d-update", hdr, 3, body, n);
}

/* A static ELF of one executable segment at 1 MiB: ud2 at the entry. */
static void elf(void)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[16];
	} f;
	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_entry = UKF_IMAGE_BASE + offsetof(__typeof__(f), code);
	f.eh.e_phoff = offsetof(__typeof__(f), ph);
	f.eh.e_ehsize = sizeof(f.eh);
	f.eh.e_phentsize = sizeof(f.ph);
	f.eh.e_phnum = 1;
	f.ph.p_type = PT_LOAD;
	f.ph.p_flags = PF_R | PF_X;
	f.ph.p_offset = 0;
	f.ph.p_vaddr = f.ph.p_paddr = UKF_IMAGE_BASE;
	f.ph.p_filesz = sizeof(f);
	f.ph.p_memsz = sizeof(f) + 8192; /* and a bss */
	f.ph.p_align = 4096;
	f.code[0] = 0x0f, f.code[1] = 0x0b;
	put("elf", "minimal", &f, sizeof(f), NULL, 0);
}

static void snapshot(uint32_t kind, const char *name)
{
	struct ukvm_snap_buf b = {0};
	static struct ukvm_snap_vcpu st;
	static uint8_t mem[64 << 10];
	struct ukvm_snap_meta m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.pause = UKVM_PAUSE_READY;
	m.mem_size = sizeof(mem);
	m.instance_id = 7;
	m.app = 0;
	m.args_gpa = UKF_BOOTINFO_GPA + 4096;
	snprintf(m.app_name, sizeof(m.app_name), "synth");
	st.regs.rip = UKF_IMAGE_BASE;
	st.nmsrs = 1;
	st.msrs[0].index = 0xc0000080;
	st.msrs[0].data = 0x500;
	memset(mem + 0x100000 % sizeof(mem), 0x90, 4096);
	memcpy(mem + 3 * 4096, "hello", 5);
	ukvm_snap_begin(&b, kind);
	ukvm_snap_meta_encode(&b, &m);
	ukvm_snap_vcpu_encode(&b, &st);
	ukvm_snap_add_pages(&b, mem, sizeof(mem), NULL, NULL);
	ukvm_snap_add(&b, UKVM_SEC_ARGS, "units=2", 8);
	if (ukvm_snap_finish(&b)) {
		fprintf(stderr, "mkseeds: snapshot not made\n");
		exit(1);
	}
	put("snapshot", name, b.data, b.len, NULL, 0);
	ukvm_snap_buf_free(&b);
}

/* One argument struct per call at 0x81000, its buffer at 0x81080. */
static void hypercall(void)
{
	static const char *const names[] = {"console", "time", "exit",
					    "abort", "ready", "block",
					    "info", "fork", "spawn",
					    "wait", "send", "recv"};
	for (uint32_t nr = 0; nr < 12; nr++) {
		uint8_t in[12 + 0x1100];
		uint8_t *mem = in + 12; /* from UKF_BOOTINFO_GPA */
		uint8_t *a = mem + 0x1000;
		uint64_t buf = UKF_BOOTINFO_GPA + 0x1080;

		memset(in, 0, sizeof(in));
		ukf_put32(in, nr);
		ukf_put64(in + 4, UKF_BOOTINFO_GPA + 0x1000);
		memcpy(mem + 0x1080, "synth units=2", 13);
		switch (nr) {
		case UKF_HC_CONSOLE: case UKF_HC_ABORT:
			ukf_put64(a + 8, buf), ukf_put64(a + 16, 13);
			break;
		case UKF_HC_INFO:
			ukf_put64(a + 24, buf), ukf_put64(a + 32, 64);
			break;
		case UKF_HC_SPAWN:
			ukf_put64(a + 8, buf), ukf_put64(a + 16, 5);
			ukf_put64(a + 24, buf + 6), ukf_put64(a + 32, 7);
			break;
		case UKF_HC_SEND:
			ukf_put64(a + 8, 3);
			ukf_put64(a + 16, buf), ukf_put64(a + 24, 13);
			break;
		case UKF_HC_RECV:
			ukf_put64(a + 8, buf), ukf_put64(a + 16, 256);
			break;
		default:
			break;
		}
		put("hypercall", names[nr], in, sizeof(in), NULL, 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	top = argv[1];
	wire();
	agentmsg();
	elf();
	snapshot(UKVM_SNAP_TEMPLATE, "template");
	snapshot(UKVM_SNAP_DELTA, "delta");
	hypercall();
	return 0;
}
