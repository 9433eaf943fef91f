/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The zfs and zpool commands of the zfspool backend as pure builders (golden
 * tests pin their argv), and the parsers of their -Hp output (tab-separated
 * fields, exact numbers).  Dataset names come from the backend, checked
 * against PVE's grammar, so none starts with '-'.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend-zfs.h"
#include "cmd.h"
#include "xalloc.h"

#define MiB (1ull << 20)

static void add_kib(struct cmd *c, const char *prefix, uint64_t bytes)
{
	cmd_addf(c, "%s%" PRIu64 "k", prefix, bytes / 1024 + (bytes % 1024 != 0));
}

/* openzfs #8541: a volsize that is not a multiple of 1 MiB can fail on some
 * volblocksizes; PVE rounds up to 1 MiB as well */
static uint64_t round_mib(uint64_t bytes)
{
	return bytes % MiB ? bytes + (MiB - bytes % MiB) : bytes;
}

void zfs_create_zvol_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes, bool sparse,
                               const char *blocksize)
{
	cmd_init(c, "zfs");
	cmd_add(c, "create");
	if (sparse)
		cmd_add(c, "-s");
	if (blocksize) {
		cmd_add(c, "-b");
		cmd_add(c, blocksize);
	}
	cmd_add(c, "-V");
	add_kib(c, "", round_mib(bytes));
	cmd_add(c, dataset);
}

static void add_refquota(struct cmd *c, uint64_t bytes)
{
	if (bytes)
		add_kib(c, "refquota=", bytes);
	else
		cmd_add(c, "refquota=none");
}

void zfs_create_subvol_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes)
{
	cmd_init(c, "zfs");
	cmd_add(c, "create");
	cmd_add(c, "-o");
	cmd_add(c, "acltype=posixacl");
	cmd_add(c, "-o");
	cmd_add(c, "xattr=sa");
	cmd_add(c, "-o");
	add_refquota(c, bytes);
	cmd_add(c, dataset);
}

void zfs_snapshot_build_cmd(struct cmd *c, const char *dataset, const char *snap)
{
	cmd_init(c, "zfs");
	cmd_add(c, "snapshot");
	cmd_addf(c, "%s@%s", dataset, snap);
}

void zfs_rollback_build_cmd(struct cmd *c, const char *dataset, const char *snap,
                            bool destroy_newer)
{
	cmd_init(c, "zfs");
	cmd_add(c, "rollback");
	if (destroy_newer)
		cmd_add(c, "-r");
	cmd_addf(c, "%s@%s", dataset, snap);
}

void zfs_clone_build_cmd(struct cmd *c, const char *dataset, const char *snap,
                         const char *newdataset, uint64_t refquota)
{
	cmd_init(c, "zfs");
	cmd_add(c, "clone");
	if (refquota) {
		cmd_add(c, "-o");
		add_refquota(c, refquota);
	}
	cmd_addf(c, "%s@%s", dataset, snap);
	cmd_add(c, newdataset);
}

void zfs_destroy_build_cmd(struct cmd *c, const char *dataset, const char *snap, bool recursive)
{
	cmd_init(c, "zfs");
	cmd_add(c, "destroy");
	if (recursive)
		cmd_add(c, "-r");
	if (snap)
		cmd_addf(c, "%s@%s", dataset, snap);
	else
		cmd_add(c, dataset);
}

void zfs_set_volsize_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes)
{
	cmd_init(c, "zfs");
	cmd_add(c, "set");
	add_kib(c, "volsize=", round_mib(bytes));
	cmd_add(c, dataset);
}

void zfs_set_refquota_build_cmd(struct cmd *c, const char *dataset, uint64_t bytes)
{
	cmd_init(c, "zfs");
	cmd_add(c, "set");
	add_refquota(c, bytes);
	cmd_add(c, dataset);
}

void zfs_rename_build_cmd(struct cmd *c, const char *from, const char *to)
{
	cmd_init(c, "zfs");
	cmd_add(c, "rename");
	cmd_add(c, from);
	cmd_add(c, to);
}

void zfs_get_build_cmd(struct cmd *c, const char *props, const char *dataset)
{
	cmd_init(c, "zfs");
	cmd_add(c, "get");
	cmd_add(c, "-Hp");
	cmd_add(c, "-o");
	cmd_add(c, "name,property,value");
	cmd_add(c, props);
	cmd_add(c, dataset);
}

void zfs_list_build_cmd(struct cmd *c, const char *pool)
{
	cmd_init(c, "zfs");
	cmd_add(c, "list");
	cmd_add(c, "-Hp");
	cmd_add(c, "-t");
	cmd_add(c, "volume,filesystem");
	cmd_add(c, "-d1");
	cmd_add(c, "-o");
	cmd_add(c, "name,type,volsize,refquota,origin,used,creation");
	cmd_add(c, pool);
}

void zfs_list_snapshots_build_cmd(struct cmd *c, const char *dataset)
{
	cmd_init(c, "zfs");
	cmd_add(c, "list");
	cmd_add(c, "-Hp");
	cmd_add(c, "-t");
	cmd_add(c, "snapshot");
	cmd_add(c, "-d1");
	cmd_add(c, "-s");
	cmd_add(c, "creation");
	cmd_add(c, "-o");
	cmd_add(c, "name,creation");
	cmd_add(c, dataset);
}

void zpool_list_build_cmd(struct cmd *c, const char *pool)
{
	cmd_init(c, "zpool");
	cmd_add(c, "list");
	cmd_add(c, "-Hp");
	cmd_add(c, "-o");
	cmd_add(c, "name,size,alloc,free,frag,cap,health");
	cmd_add(c, pool);
}

void zpool_status_build_cmd(struct cmd *c, const char *pool)
{
	cmd_init(c, "zpool");
	cmd_add(c, "status");
	cmd_add(c, "-x");
	cmd_add(c, pool);
}

void zpool_create_build_cmd(struct cmd *c, const char *pool, unsigned ashift, const char *layout,
                            const char *const *devices, size_t n_devices)
{
	cmd_init(c, "zpool");
	cmd_add(c, "create");
	cmd_add(c, "-o");
	cmd_addf(c, "ashift=%u", ashift);
	cmd_add(c, pool);
	if (layout && !streq(layout, "single"))
		cmd_add(c, layout);
	for (size_t i = 0; i < n_devices; i++)
		cmd_add(c, devices[i]);
}

/* --- parsers --- */

/* The fields of one line, split at tabs, in place; -EINVAL unless there
 * are exactly n. */
static int split_fields(char *line, char **f, size_t n)
{
	size_t i = 0;

	for (char *p = line;;) {
		char *tab = strchr(p, '\t');

		if (i == n)
			return -EINVAL;
		f[i++] = p;
		if (!tab)
			break;
		*tab = 0;
		p = tab + 1;
	}
	return i == n ? 0 : -EINVAL;
}

/* A number; "-" and "none" are 0. */
static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (streq(s, "-") || streq(s, "none")) {
		*ret = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

static int parse_time(const char *s, long long *ret)
{
	uint64_t v;

	if (streq(s, "-") || parse_u64(s, &v) < 0 || v > INT64_MAX)
		return -EINVAL;
	*ret = (long long)v;
	return 0;
}

/* Calls fn for each non-empty line of out (a copy), at most ZFS_MAX_ROWS. */
static int foreach_line(const char *out, int (*fn)(char *line, void *arg), void *arg)
{
	_cleanup_free_ char *copy = xstrdup(out ? out : "");
	size_t n = 0;
	char *save = NULL;
	int r;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (++n > ZFS_MAX_ROWS)
			return -E2BIG;
		if ((r = fn(l, arg)) < 0)
			return r;
	}
	return 0;
}

struct dataset_acc {
	struct zfs_dataset *d;
	size_t n, alloc;
};

static int dataset_line(char *line, void *arg)
{
	struct dataset_acc *a = arg;
	char *f[7];
	struct zfs_dataset d = {0};

	if (split_fields(line, f, 7) < 0 || !*f[0])
		return -EINVAL;
	if (streq(f[1], "volume"))
		d.volume = true;
	else if (!streq(f[1], "filesystem"))
		return -EINVAL;
	if (parse_u64(f[2], &d.volsize) < 0 || parse_u64(f[3], &d.refquota) < 0 ||
	    parse_u64(f[5], &d.used) < 0 || parse_time(f[6], &d.creation) < 0)
		return -EINVAL;
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 16;
		a->d = xrealloc(a->d, a->alloc * sizeof(*a->d));
	}
	d.name = xstrdup(f[0]);
	d.origin = streq(f[4], "-") || !*f[4] ? NULL : xstrdup(f[4]);
	a->d[a->n++] = d;
	return 0;
}

void zfs_dataset_list_free(struct zfs_dataset *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		free(d[i].name);
		free(d[i].origin);
	}
	free(d);
}

int zfs_list_parse(const char *out, struct zfs_dataset **ret, size_t *ret_n)
{
	struct dataset_acc a = {0};
	int r = foreach_line(out, dataset_line, &a);

	if (r < 0) {
		zfs_dataset_list_free(a.d, a.n);
		return r;
	}
	*ret = a.d ? a.d : xnew(struct zfs_dataset, 1);
	*ret_n = a.n;
	return 0;
}

struct snap_acc {
	struct zfs_snapshot *s;
	size_t n, alloc;
};

static int snapshot_line(char *line, void *arg)
{
	struct snap_acc *a = arg;
	char *f[2], *at;
	long long t;

	if (split_fields(line, f, 2) < 0 || !(at = strchr(f[0], '@')) || !at[1] ||
	    parse_time(f[1], &t) < 0)
		return -EINVAL;
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 16;
		a->s = xrealloc(a->s, a->alloc * sizeof(*a->s));
	}
	a->s[a->n++] = (struct zfs_snapshot){.name = xstrdup(at + 1), .creation = t};
	return 0;
}

void zfs_snapshot_list_free(struct zfs_snapshot *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].name);
	free(s);
}

int zfs_snapshots_parse(const char *out, struct zfs_snapshot **ret, size_t *ret_n)
{
	struct snap_acc a = {0};
	int r = foreach_line(out, snapshot_line, &a);

	if (r < 0) {
		zfs_snapshot_list_free(a.s, a.n);
		return r;
	}
	*ret = a.s ? a.s : xnew(struct zfs_snapshot, 1);
	*ret_n = a.n;
	return 0;
}

struct get_acc {
	const char *prop;
	uint64_t v;
	int r;
};

static int get_line(char *line, void *arg)
{
	struct get_acc *a = arg;
	char *f[3];

	if (split_fields(line, f, 3) < 0)
		return -EINVAL;
	if (a->r == -ENOENT && streq(f[1], a->prop))
		a->r = parse_u64(f[2], &a->v);
	return 0;
}

int zfs_get_parse_u64(const char *out, const char *prop, uint64_t *ret)
{
	struct get_acc a = {.prop = prop, .r = -ENOENT};
	int r = foreach_line(out, get_line, &a);

	if (r < 0)
		return r;
	if (a.r < 0)
		return a.r;
	*ret = a.v;
	return 0;
}

static int parse_pct(const char *s, int *ret)
{
	uint64_t v;

	if (streq(s, "-")) {
		*ret = -1;
		return 0;
	}
	if (parse_u64(s, &v) < 0 || v > 1000)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

void zpool_info_clear(struct zpool_info *p)
{
	free(p->name);
	free(p->health);
	*p = (struct zpool_info){0};
}

int zpool_list_parse(const char *out, struct zpool_info *ret)
{
	_cleanup_free_ char *copy = xstrdup(out ? out : "");
	char *f[7], *nl = strchr(copy, '\n');
	struct zpool_info p = {0};

	if (nl) {
		if (nl[1])
			return -EINVAL; /* one pool asked, one line */
		*nl = 0;
	}
	if (split_fields(copy, f, 7) < 0 || !*f[0] || !*f[6] || parse_u64(f[1], &p.size) < 0 ||
	    parse_u64(f[2], &p.alloc) < 0 || parse_u64(f[3], &p.free) < 0 ||
	    parse_pct(f[4], &p.frag) < 0 || parse_pct(f[5], &p.cap) < 0)
		return -EINVAL;
	p.name = xstrdup(f[0]);
	p.health = xstrdup(f[6]);
	*ret = p;
	return 0;
}
