// SPDX-License-Identifier: BSD-2-Clause
#include "kengine.h"
#include "bpfbus/attrs.h"
#include "bpfbus/scan.h"
#include "bpfbus/tables.h"
#include "ktables.h"
#include "strbuf.h"
#include "kmatch_test.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* XDP test frames must hold at least an Ethernet header's worth of bytes. */
#define MIN_FRAME 14

struct kengine {
	struct kmatch_test_bpf *skel;
	struct ktable_fds fds;
	uint32_t gen;
	char *frame;
	size_t table_bytes; /* of the live rule set (ktables_bytes) */
};

const char *kverdict_name(enum kverdict v)
{
	static const char *const names[] = { "drop", "match", "verify", "pass" };

	return v <= KV_PASS ? names[v] : "?";
}

void kverify_reasons(uint32_t bits, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ BPFBUS_VERIFY_DEPTH, "depth" },
		{ BPFBUS_VERIFY_LEAVES, "leaves" },
		{ BPFBUS_VERIFY_KEY_ESCAPE, "key-escape" },
		{ BPFBUS_VERIFY_ARRAYS, "array-depth" },
		{ BPFBUS_VERIFY_SIZE, "size" },
		{ BPFBUS_VERIFY_BUS, "bus" },
		{ BPFBUS_VERIFY_NO_TABLES, "no-tables" },
		{ BPFBUS_VERIFY_INTERNAL, "internal" },
		{ KM_VERIFY_VALUE, "value" },
		{ KM_VERIFY_ARRAYS, "array-consistency" },
		{ KM_VERIFY_CANDS, "candidates" },
		{ KM_VERIFY_OUT, "rules" },
		{ BPFBUS_VERIFY_ATTR_SHAPE, "attribute-shape" },
		{ BPFBUS_VERIFY_ATTR_TYPE, "attribute-type" },
		{ BPFBUS_VERIFY_ATTR_NUMBER, "attribute-number" },
		{ BPFBUS_VERIFY_ATTR_NONE, "no-attributes" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if ((bits & names[i].bit) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
					      names[i].name);
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

struct kengine *kengine_open(char *err, size_t err_len)
{
	struct kengine *k = xcalloc(1, sizeof(*k));
	libbpf_print_fn_t old = libbpf_set_print(getenv("BPFBUS_DEBUG") ? NULL : silent);

	if (getenv("BPFBUS_DEBUG"))
		libbpf_set_print(old);
	k->skel = kmatch_test_bpf__open_and_load();
	libbpf_set_print(old);
	if (!k->skel) {
		snprintf(err, err_len, "cannot load the kernel matcher: %s%s", strerror(errno),
			 errno == EPERM ? " (needs root or CAP_BPF)" : "");
		free(k);
		return NULL;
	}
	ktables_fds_from_object(k->skel->obj, &k->fds);
	k->frame = xmalloc(BPFBUS_SCAN_MAX_BODY + MIN_FRAME);
	return k;
}

void kengine_close(struct kengine *k)
{
	if (!k)
		return;
	kmatch_test_bpf__destroy(k->skel);
	free(k->frame);
	free(k);
}

size_t kengine_table_bytes(const struct kengine *k)
{
	return k->table_bytes;
}

int kengine_load(struct kengine *k, const struct bb_ruleset *rs, char *err, size_t err_len)
{
	uint32_t gen = k->gen + 1;
	unsigned slot = gen & (BPFBUS_SLOTS - 1);
	struct ktables kt;

	/* build beside the live slot, then switch with one store */
	ktables_clear_slot(&k->fds, slot);
	if (ktables_build(rs, (uint8_t)slot, gen, NULL, &kt, err, err_len) < 0)
		return -1;
	int r = ktables_load(&kt, &k->fds);

	if (r < 0) {
		snprintf(err, err_len, "writing the kernel tables: %s", strerror(-r));
		ktables_free(&kt);
		return -1;
	}
	k->table_bytes = ktables_bytes(&kt);
	ktables_free(&kt);
	k->skel->bss->table_slot = slot;
	k->gen = gen;
	return 0;
}

int kengine_match(struct kengine *k, const char *ev, size_t len, struct kresult *r)
{
	size_t n = len, pad = len < MIN_FRAME ? MIN_FRAME - len : 0;
	__u32 zero = 0;

	memset(r, 0, sizeof(*r));
	if (len >= BPFBUS_SCAN_MAX_BODY) {
		r->verdict = KV_VERIFY;
		r->verify = BPFBUS_VERIFY_SIZE;
		return 0;
	}
	/* short events are padded with leading blanks, which JSON ignores */
	memset(k->frame, ' ', pad);
	memcpy(k->frame + pad, ev, len);
	n = len + pad;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = k->frame, .data_size_in = (__u32)n,
		    .repeat = 1);
	if (bpf_prog_test_run_opts(bpf_program__fd(k->skel->progs.kmatch_frame), &opts))
		return -errno;
	struct scan_state *s = xmalloc(sizeof(*s));
	struct km_state m;

	if (bpf_map__lookup_elem(k->skel->maps.km_scan, &zero, sizeof(zero), s, sizeof(*s), 0) ||
	    bpf_map__lookup_elem(k->skel->maps.km_match, &zero, sizeof(zero), &m, sizeof(m), 0)) {
		free(s);
		return -errno;
	}
	r->ns = opts.duration;
	if (s->res.error) {
		r->verdict = KV_PASS;
	} else if (m.verify || s->res.verify) {
		r->verdict = KV_VERIFY;
		r->verify = m.verify | s->res.verify;
	} else {
		r->n_ids = m.n_out > KM_MAX_OUT ? KM_MAX_OUT : m.n_out;
		memcpy(r->ids, m.out, r->n_ids * sizeof(uint32_t));
		r->verdict = r->n_ids ? KV_MATCH : KV_DROP;
	}
	free(s);
	return 0;
}
