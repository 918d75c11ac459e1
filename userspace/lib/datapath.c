// SPDX-License-Identifier: BSD-2-Clause
/*
 * Loading, pinning and attaching bpf/bpfbus.bpf.c; the pinned bus and counter
 * maps. See datapath.h.
 */
#define _GNU_SOURCE
#include "datapath.h"
#include "strbuf.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "bpfbus.skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"

static const char *pin_dir_override;

const char *bb_pin_dir(void)
{
	const char *env = getenv("BPFBUS_PIN_DIR");

	if (pin_dir_override)
		return pin_dir_override;
	return env && *env ? env : BPFBUS_PIN_DIR;
}

void bb_set_pin_dir(const char *dir)
{
	pin_dir_override = dir;
}

static void log_stderr(const char *msg)
{
	fprintf(stderr, "bpfbus: %s\n", msg);
}

void (*bb_dp_log)(const char *msg) = log_stderr;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	bb_dp_log(buf);
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int bb_bpffs_prepare(const char *pin_dir)
{
	char parent[PATH_MAX];
	int err;

	if (!is_bpffs(BPFFS_ROOT)) {
		if (mkdir_p(BPFFS_ROOT) < 0 || mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700")) {
			err = -errno;
			logf_("cannot mount bpffs on %s: %s", BPFFS_ROOT, strerror(errno));
			return err;
		}
	}
	/* The pin directory's parent must be on a bpffs (pins live only there). */
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	char *slash = strrchr(parent, '/');

	if (slash && slash != parent)
		*slash = 0;
	else
		snprintf(parent, sizeof(parent), "/");
	if (!is_bpffs(pin_dir) && !is_bpffs(parent)) {
		logf_("pin directory %s is not on a bpf filesystem (mount -t bpf bpf %s)", pin_dir,
		      parent);
		return -EINVAL;
	}
	err = mkdir_p(pin_dir);
	if (err)
		logf_("cannot create %s: %s", pin_dir, strerror(-err));
	return err;
}

struct bb_dp {
	struct bpfbus_bpf *skel;
	struct xdp_program *xprog;
	char pin_dir[PATH_MAX];
	int ifindex;
	enum xdp_attach_mode mode;
	bool loaded, attached, legacy;
};

int bb_dp_open(struct bb_dp **out, const struct bb_dp_opts *o)
{
	struct bb_dp *dp = calloc(1, sizeof(*dp));
	const char *dir = o && o->pin_dir ? o->pin_dir : bb_pin_dir();
	int err;

	if (!dp)
		return -ENOMEM;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", dir);
	err = bb_bpffs_prepare(dp->pin_dir);
	if (err)
		goto fail;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dp->pin_dir);
	dp->skel = bpfbus_bpf__open_opts(&oo);
	if (!dp->skel) {
		err = -errno;
		logf_("cannot open the XDP object: %s", strerror(errno));
		goto fail;
	}
	if (o && o->port)
		dp->skel->rodata->bpfbus_port = o->port;
	dp->skel->rodata->bpfbus_handoff = o ? o->handoff : BPFBUS_HANDOFF_XSK;
	if (o && o->ring_size)
		bpf_map__set_max_entries(dp->skel->maps.bb_ring, o->ring_size);
	*out = dp;
	return 0;
fail:
	free(dp);
	return err;
}

int bb_dp_load(struct bb_dp *dp)
{
	int err = bpfbus_bpf__load(dp->skel);

	if (err) {
		logf_("cannot load the XDP program: %s", strerror(-err));
		return err;
	}
	dp->loaded = true;
	return 0;
}

/*
 * libxdp and libbpf messages during an attach: kept, shown only when the
 * attach fails; the dispatcher fallback becomes one line of ours.
 */
static struct strbuf attach_log = STRBUF_INIT;

static int capture_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];

	(void)level;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	sb_adds(&attach_log, buf);
	return 0;
}

static int capture_print_bpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return capture_print((enum libxdp_print_level)level, fmt, ap);
}

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

int bb_dp_attach(struct bb_dp *dp, int ifindex, bool generic)
{
	libxdp_print_fn_t old_xdp;
	libbpf_print_fn_t old_bpf;
	struct xdp_multiprog *mp;
	int err;

	if (dp->attached)
		return -EALREADY;
	dp->mode = generic ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	dp->xprog = xdp_program__from_bpf_obj(dp->skel->obj, "xdp");
	err = libxdp_get_error(dp->xprog);
	if (err) {
		dp->xprog = NULL;
		logf_("cannot prepare the XDP program: %s", strerror(-err));
		return err;
	}
	sb_reset(&attach_log);
	old_xdp = libxdp_set_print(capture_print);
	old_bpf = libbpf_set_print(capture_print_bpf);
	err = xdp_program__attach(dp->xprog, ifindex, dp->mode, 0);
	libxdp_set_print(old_xdp);
	libbpf_set_print(old_bpf);
	if (err) {
		if (attach_log.len)
			fprintf(stderr, "%.*s", (int)attach_log.len, attach_log.buf);
		char msg[128];

		libxdp_strerror(err, msg, sizeof(msg));
		logf_("cannot attach to ifindex %d in %s mode: %s%s", ifindex, mode_name(dp->mode),
		      msg,
		      err == -EEXIST || err == -EBUSY ? " (another XDP program is attached)" : "");
		xdp_program__close(dp->xprog);
		dp->xprog = NULL;
		sb_free(&attach_log);
		return err;
	}
	dp->attached = dp->loaded = true;
	dp->ifindex = ifindex;
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!libxdp_get_error(mp) && mp) {
		dp->legacy = xdp_multiprog__is_legacy(mp);
		xdp_multiprog__close(mp);
	}
	if (dp->legacy) {
		const char *l = attach_log.buf ? attach_log.buf : "";
		bool eperm =
			strstr(l, "ompatib") || strstr(l, "EPERM") || strstr(l, "not permitted");

		logf_("libxdp's multi-program dispatcher %s; attached %s alone to ifindex %d (%s)",
		      eperm ? "failed its compatibility check on this kernel" : "is not available",
		      BPFBUS_PROG_NAME, ifindex, mode_name(dp->mode));
	}
	sb_free(&attach_log);
	return 0;
}

void bb_dp_keep_attached(struct bb_dp *dp)
{
	dp->attached = false;
}

bool bb_dp_legacy(const struct bb_dp *dp)
{
	return dp->legacy;
}

int bb_dp_detach(struct bb_dp *dp)
{
	int err;

	if (!dp->attached)
		return 0;
	err = xdp_program__detach(dp->xprog, dp->ifindex, dp->mode, 0);
	if (err) {
		/* Someone replaced the program set: detach by id instead. */
		err = bb_xdp_detach_ifindex(dp->ifindex);
		if (err == -ENOENT)
			err = 0;
	}
	if (err)
		logf_("cannot detach from ifindex %d: %s", dp->ifindex, strerror(-err));
	dp->attached = false;
	return err;
}

int bb_dp_map_fd(struct bb_dp *dp, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, name);
	int fd = m ? bpf_map__fd(m) : -ENOENT;

	return fd < 0 ? -ENOENT : fd;
}

int bb_dp_prog_fd(struct bb_dp *dp)
{
	return bpf_program__fd(dp->skel->progs.bpfbus_xdp);
}

void bb_dp_close(struct bb_dp *dp)
{
	if (!dp)
		return;
	bb_dp_detach(dp);
	if (dp->xprog)
		xdp_program__close(dp->xprog);
	bpfbus_bpf__destroy(dp->skel);
	free(dp);
}

int bb_xdp_query(int ifindex, struct bb_xdp_info *info)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err;

	memset(info, 0, sizeof(*info));
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	if (err == -ENOENT || (!err && !mp))
		return 0;
	if (err)
		return err;
	info->mode = mode_name(xdp_multiprog__attach_mode(mp));
	info->dispatcher = !xdp_multiprog__is_legacy(mp);
	if (info->dispatcher) {
		for (p = xdp_multiprog__next_prog(NULL, mp); p && info->n_progs < BB_XDP_MAX_PROGS;
		     p = xdp_multiprog__next_prog(p, mp)) {
			info->ids[info->n_progs] = xdp_program__id(p);
			snprintf(info->names[info->n_progs], 16, "%s", xdp_program__name(p));
			info->n_progs++;
		}
	} else if ((p = xdp_multiprog__main_prog(mp))) {
		info->ids[0] = xdp_program__id(p);
		snprintf(info->names[0], 16, "%s", xdp_program__name(p));
		info->n_progs = 1;
	}
	for (int i = 0; i < info->n_progs; i++)
		if (!strcmp(info->names[i], BPFBUS_PROG_NAME))
			info->ours = true;
	xdp_multiprog__close(mp);
	return 0;
}

int bb_xdp_detach_ifindex(int ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int err = -ENOENT;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return -ENOENT;
	enum xdp_attach_mode mode = xdp_multiprog__attach_mode(mp);

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), BPFBUS_PROG_NAME))
			err = xdp_multiprog__detach(mp);
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p;
		     p = xdp_multiprog__next_prog(p, mp)) {
			if (strcmp(xdp_program__name(p), BPFBUS_PROG_NAME))
				continue;
			err = xdp_program__detach(p, ifindex, mode, 0);
			break;
		}
	}
	xdp_multiprog__close(mp);
	return err;
}

int bb_map_open_pinned(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int bb_map_open_create(const char *pin_dir, const char *name)
{
	struct bb_dp_opts o = { .pin_dir = pin_dir };
	struct bb_dp *dp;
	int fd, err;

	err = bb_bpffs_prepare(pin_dir);
	if (err)
		return err;
	fd = bb_map_open_pinned(pin_dir, name);
	if (fd != -ENOENT)
		return fd;
	/* Loading the object once creates and pins every map. */
	err = bb_dp_open(&dp, &o);
	if (err)
		return err;
	err = bb_dp_load(dp);
	bb_dp_close(dp);
	if (err)
		return err;
	return bb_map_open_pinned(pin_dir, name);
}

int bb_bus_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n)
		return BPFBUS_WIRE_ERR_NAME_EMPTY;
	if (n > BPFBUS_WIRE_MAX_NAME)
		return BPFBUS_WIRE_ERR_NAME_LEN;
	for (size_t i = 0; i < n; i++)
		if (name[i] < '!' || name[i] > '~')
			return BPFBUS_WIRE_ERR_NAME_CHARS;
	return 0;
}

const char *bb_bus_kind_name(int kind)
{
	return kind == BPFBUS_BUS_EVENT ? "event" : kind == BPFBUS_BUS_TOPIC ? "topic" : "?";
}

static int by_id(const void *a, const void *b)
{
	const struct bpfbus_bus *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int bb_bus_list(int fd, struct bpfbus_bus **out)
{
	struct bpfbus_bus *v = NULL;
	size_t n = 0, cap = 0;
	__u32 key, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct bpfbus_bus *nv = realloc(v, cap * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		if (bpf_map_lookup_elem(fd, &key, &v[n]))
			continue; /* deleted meanwhile */
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_id);
	*out = v;
	return (int)n;
}

int bb_bus_find(int fd, const char *name, struct bpfbus_bus *bus)
{
	size_t n = strlen(name);
	__u32 key = bb_wire_name_hash(name, n);

	if (bpf_map_lookup_elem(fd, &key, bus))
		return -ENOENT;
	if (bus->name_len != n || memcmp(bus->name, name, n))
		return -ENOENT;
	return 0;
}

int bb_bus_by_id(int fd, uint32_t id, struct bpfbus_bus *bus)
{
	struct bpfbus_bus *all;
	int n = bb_bus_list(fd, &all), err = -ENOENT;

	for (int i = 0; i < n; i++) {
		if (all[i].id == id) {
			*bus = all[i];
			err = 0;
			break;
		}
	}
	if (n >= 0)
		free(all);
	return n < 0 ? n : err;
}

int bb_bus_add(int fd, int stats_fd, const char *name, enum bpfbus_bus_kind kind, uint32_t *id)
{
	struct bpfbus_bus bus = { .kind = kind }, old, *all;
	size_t len = strlen(name);
	__u32 key = bb_wire_name_hash(name, len);
	bool used[BPFBUS_MAX_BUSES] = { false };
	int n, err;

	if (bb_bus_name_ok(name))
		return -EINVAL;
	if (!bpf_map_lookup_elem(fd, &key, &old))
		return old.name_len == len && !memcmp(old.name, name, len) ? -EEXIST : -ENOTUNIQ;
	n = bb_bus_list(fd, &all);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (all[i].id < BPFBUS_MAX_BUSES)
			used[all[i].id] = true;
	free(all);
	for (bus.id = 1; bus.id < BPFBUS_MAX_BUSES && used[bus.id]; bus.id++)
		;
	if (bus.id >= BPFBUS_MAX_BUSES)
		return -ENOSPC;
	bus.name_len = len;
	memcpy(bus.name, name, len);
	/* A reused id's counters start from zero. */
	if (stats_fd >= 0) {
		int ncpus = libbpf_num_possible_cpus();
		void *zero = ncpus > 0 ? calloc(ncpus, sizeof(struct bpfbus_bus_stats)) : NULL;

		err = zero ? bpf_map_update_elem(stats_fd, &bus.id, zero, BPF_ANY) : -1;
		free(zero);
		if (err)
			return -EIO;
	}
	if (bpf_map_update_elem(fd, &key, &bus, BPF_NOEXIST))
		return -errno;
	if (id)
		*id = bus.id;
	return 0;
}

int bb_bus_delete(int fd, const char *name)
{
	struct bpfbus_bus bus;
	__u32 key = bb_wire_name_hash(name, strlen(name));

	if (bb_bus_find(fd, name, &bus))
		return -ENOENT;
	return bpf_map_delete_elem(fd, &key) ? -errno : 0;
}

static int sum_percpu(int fd, uint32_t id, void *sum, size_t size)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *vals, *s = sum;
	size_t words = size / 8;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	vals = calloc(ncpus, size);
	if (!vals)
		return -ENOMEM;
	memset(sum, 0, size);
	if (bpf_map_lookup_elem(fd, &id, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	for (int c = 0; c < ncpus; c++)
		for (size_t i = 0; i < words; i++)
			s[i] += vals[c * words + i];
	free(vals);
	return 0;
}

int bb_bus_stats_read(int fd, uint32_t id, struct bpfbus_bus_stats *sum)
{
	return sum_percpu(fd, id, sum, sizeof(*sum));
}

int bb_rule_stats_read(int fd, uint32_t id, struct bpfbus_rule_stats *sum)
{
	return sum_percpu(fd, id, sum, sizeof(*sum));
}

const char *bb_pass_reason_name(int reason)
{
	static const char *const names[BPFBUS_PASS_MAX] = {
		[BPFBUS_PASS_MALFORMED] = "malformed",
		[BPFBUS_PASS_UNKNOWN_BUS] = "unknown_bus",
		[BPFBUS_PASS_FRAGMENT] = "fragment",
		[BPFBUS_PASS_EXT_HDR] = "ipv6_ext_header",
		[BPFBUS_PASS_NO_SOCKET] = "no_socket",
		[BPFBUS_PASS_HANDOFF_FAIL] = "handoff_failed",
	};

	return reason >= 0 && reason < BPFBUS_PASS_MAX ? names[reason] : "?";
}
