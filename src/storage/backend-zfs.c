/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The zfspool backend (backend-zfs.h).  Reads the pool through `zfs list`,
 * `zfs get` and `zpool list` (-Hp: exact bytes) and changes it only through
 * the builders of backend-zfs-cmd.c.
 *
 * Beyond Proxmox (storage.md 4, 5.2): the status carries the pool's use,
 * the overcommit (virtual sizes of zvols and refquotas of datasets over the
 * pool), the zpool's health and warnings at 80/90/95 %; a nearly full pool
 * takes no new volume and overcommit-limit caps thin allocations; a
 * rollback past newer snapshots is refused with their names unless the
 * caller asks for them to be destroyed (ZFS can only roll back to the
 * latest snapshot).
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend-zfs.h"
#include "cmd.h"
#include "error.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

#define BASE_SNAP "__base__"
/* a pool this full takes no new volume (ZFS itself stops at ~97 %, its slop) */
#define ZFS_FULL_PCT 96.0
/* how long a new zvol's device link may take to appear (udev) */
static int zvol_wait_ms = 10 * 1000;

void zfs_set_zvol_wait(int ms)
{
	zvol_wait_ms = ms;
}

struct zfs_storage {
	struct storage st; /* first: what the dispatcher hands out */
	char *pool;        /* "rpool/data": the dataset volumes live in */
	char *zpool;       /* "rpool" */
	char *mountpoint;  /* where its datasets are mounted */
	char *blocksize;   /* NULL: ZFS's default */
	bool sparse;
	double overcommit_limit;
};
_Static_assert(offsetof(struct zfs_storage, st) == 0, "struct storage comes first");

static struct zfs_storage *zfs_of(const struct storage *st)
{
	return storage_state(st, &storage_backend_zfspool);
}

static int zfs_open(struct storage *st, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	const char *pool = section_get(st->cfg, "pool");
	const char *mp = section_get(st->cfg, "mountpoint");
	const char *bs = section_get(st->cfg, "blocksize");

	if (!pool)
		return error_set(err, -EINVAL, 500, "storage '%s' has no pool", st->id);
	z->pool = xstrdup(pool);
	z->zpool = xstrndup(pool, strcspn(pool, "/"));
	z->mountpoint = mp ? xstrdup(mp) : xasprintf("/%s", pool);
	z->blocksize = bs ? xstrdup(bs) : NULL;
	z->sparse = streq_ptr(section_get(st->cfg, "sparse"), "1");
	z->overcommit_limit = storage_overcommit_limit(st->cfg);
	return 0;
}

static void zfs_close(struct storage *st)
{
	struct zfs_storage *z = zfs_of(st);

	free(z->pool);
	free(z->zpool);
	free(z->mountpoint);
	free(z->blocksize);
}

/* --- names --- */

struct zname {
	char prefix[8]; /* vm, base, subvol, basevol */
	long vmid;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == ':' || c == '+';
}

/* "<vm|base|subvol|basevol>-<vmid>-<rest>", in ZFS's name characters, at
 * most 64 bytes. */
static int zname_parse(const char *s, size_t len, struct zname *ret)
{
	static const char *const prefixes[] = {"vm", "base", "subvol", "basevol"};
	const char *p = NULL, *end = s + len;
	long vmid = 0;

	if (len > 64)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes) && !p; i++) {
		size_t k = strlen(prefixes[i]);

		if (len > k && strncmp(s, prefixes[i], k) == 0 && s[k] == '-') {
			p = s + k + 1;
			snprintf(ret->prefix, sizeof(ret->prefix), "%s", prefixes[i]);
		}
	}
	if (!p || p == end || *p < '1' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (vmid > 999999999)
			return -EINVAL;
		vmid = vmid * 10 + (*p - '0');
	}
	if (p == end || *p != '-' || p + 1 == end)
		return -EINVAL;
	for (p++; p < end; p++)
		if (!name_char(*p))
			return -EINVAL;
	ret->vmid = vmid;
	return 0;
}

static bool zname_base(const struct zname *n)
{
	return streq(n->prefix, "base") || streq(n->prefix, "basevol");
}

static bool zname_subvol(const struct zname *n)
{
	return streq(n->prefix, "subvol") || streq(n->prefix, "basevol");
}

/* PVE's grammar: "[<base>/]<name>", the base a template of a linked clone. */
struct zvol {
	const char *name; /* points into the volume name */
	struct zname n;
	size_t base_len; /* 0: no base */
	struct zname b;
};

static int zvol_parse(const char *volname, struct zvol *ret, struct error **err)
{
	const char *slash = strchr(volname, '/');
	struct zvol v = {.name = slash ? slash + 1 : volname};

	if ((slash &&
	     (zname_parse(volname, (size_t)(slash - volname), &v.b) < 0 || !zname_base(&v.b))) ||
	    zname_parse(v.name, strlen(v.name), &v.n) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse zfs volume name '%s'",
		                 volname);
	v.base_len = slash ? (size_t)(slash - volname) : 0;
	*ret = v;
	return 0;
}

static int zfs_parse_volname(const struct storage *st, const char *volname,
                             struct volname_info *ret, struct error **err)
{
	struct zvol v;
	int r = zvol_parse(volname, &v, err);

	if (r < 0)
		return r;
	*ret = (struct volname_info){
	    .vtype = VTYPE_IMAGES,
	    .name = xstrdup(v.name),
	    .vmid = v.n.vmid,
	    .basename = v.base_len ? xstrndup(volname, v.base_len) : NULL,
	    .basevmid = v.base_len ? v.b.vmid : 0,
	    .is_base = zname_base(&v.n),
	    .format = xstrdup(zname_subvol(&v.n) ? "subvol" : "raw"),
	};
	return 0;
}

static char *dataset(const struct zfs_storage *z, const char *name)
{
	return xasprintf("%s/%s", z->pool, name);
}

/* --- reading the pool --- */

static int run(struct cmd *c, struct task_worker *w, struct error **err)
{
	int r = storage_run_cmd(c, w, NULL, err);

	cmd_release(c);
	return r;
}

/* Runs c (releases it) for its output; a program that cannot be started at
 * all says what is missing rather than a spawn error. */
static int run_out(struct cmd *c, char **ret_out, struct error **err)
{
	struct cmd_result res = {0};
	struct error *e = NULL;
	int r = cmd_run(c, &res, &e);

	if (r < 0 && !res.out && e) {
		error_free(e);
		e = NULL;
		error_set(&e, r, 500, "unable to run '%s' (are the zfs tools installed?): %s",
		          c->argv[0], strerror(-r));
	}
	if (e)
		error_propagate(err, e);
	cmd_release(c);
	if (r >= 0)
		*ret_out = TAKE_PTR(res.out);
	cmd_result_clear(&res);
	return r;
}

/* The pool's datasets below it (depth 1), without the pool itself. */
static int ds_list(struct zfs_storage *z, struct zfs_dataset **ret, size_t *ret_n,
                   struct error **err)
{
	_cleanup_free_ char *out = NULL;
	struct zfs_dataset *d = NULL;
	size_t n = 0, k = 0;
	struct cmd c;
	int r;

	zfs_list_build_cmd(&c, z->pool);
	if ((r = run_out(&c, &out, err)) < 0)
		return r;
	if ((r = zfs_list_parse(out, &d, &n)) < 0)
		return error_set(err, r, 500, "unable to parse the zfs list of '%s'", z->pool);
	for (size_t i = 0; i < n; i++) {
		if (streq(d[i].name, z->pool)) {
			free(d[i].name);
			free(d[i].origin);
			continue;
		}
		d[k++] = d[i];
	}
	*ret = d;
	*ret_n = k;
	return 0;
}

/* The part of a dataset name below the pool, or NULL when it is not a
 * direct child. */
static const char *ds_child(const struct zfs_storage *z, const char *name)
{
	size_t k = strlen(z->pool);

	if (strncmp(name, z->pool, k) != 0 || name[k] != '/' || strchr(name + k + 1, '/'))
		return NULL;
	return name + k + 1;
}

static const struct zfs_dataset *ds_find(const struct zfs_storage *z, const struct zfs_dataset *d,
                                         size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq_ptr(ds_child(z, d[i].name), name))
			return &d[i];
	return NULL;
}

/* A dataset's volume: its volume name (with the base of a clone) and the
 * base, or false when it is none of ours. */
static bool ds_volume(const struct zfs_storage *z, const struct zfs_dataset *d, char **ret_volname,
                      char **ret_parent, struct zname *ret_n)
{
	const char *name = ds_child(z, d->name);
	const char *base = NULL;
	size_t base_len = 0;
	struct zname n, b;

	if (!name || zname_parse(name, strlen(name), &n) < 0)
		return false;
	if (zname_subvol(&n) == d->volume)
		return false;
	/* a linked clone: its origin is <pool>/<base>@__base__ */
	if (d->origin) {
		size_t k = strlen(z->pool);
		const char *bn = d->origin + k + 1, *at;

		if (strncmp(d->origin, z->pool, k) == 0 && d->origin[k] == '/' &&
		    (at = strchr(bn, '@')) && !memchr(bn, '/', (size_t)(at - bn)) &&
		    streq(at + 1, BASE_SNAP) && zname_parse(bn, (size_t)(at - bn), &b) == 0 &&
		    zname_base(&b)) {
			base = bn;
			base_len = (size_t)(at - bn);
		}
	}
	if (ret_volname)
		*ret_volname =
		    base ? xasprintf("%.*s/%s", (int)base_len, base, name) : xstrdup(name);
	if (ret_parent)
		*ret_parent = base ? xstrndup(base, base_len) : NULL;
	if (ret_n)
		*ret_n = n;
	return true;
}

static int zpool_get(struct zfs_storage *z, struct zpool_info *ret, struct error **err)
{
	_cleanup_free_ char *out = NULL;
	struct error *e = NULL;
	struct cmd c;
	int r;

	zpool_list_build_cmd(&c, z->zpool);
	if ((r = run_out(&c, &out, &e)) < 0) {
		if (strstr(e->msg, "unable to run")) {
			error_propagate(err, e);
			return r;
		}
		error_free(e);
		return error_set(err, -ENOENT, 500, "zpool '%s' not found", z->zpool);
	}
	if ((r = zpool_list_parse(out, ret)) < 0)
		return error_set(err, r, 500, "unable to parse the zpool list of '%s'", z->zpool);
	return 0;
}

struct space {
	uint64_t avail, used;
};

static int space_get(struct zfs_storage *z, struct space *ret, struct error **err)
{
	_cleanup_free_ char *out = NULL;
	struct error *e = NULL;
	struct cmd c;

	zfs_get_build_cmd(&c, "available,used", z->pool);
	if (run_out(&c, &out, &e) < 0) {
		if (strstr(e->msg, "unable to run")) {
			int r = e->code;

			error_propagate(err, e);
			return r;
		}
		error_free(e);
		return error_set(err, -ENOENT, 500, "ZFS dataset '%s' not found", z->pool);
	}
	if (zfs_get_parse_u64(out, "available", &ret->avail) < 0 ||
	    zfs_get_parse_u64(out, "used", &ret->used) < 0)
		return error_set(err, -EINVAL, 500, "unable to parse the space of '%s'", z->pool);
	return 0;
}

static uint64_t provisioned(const struct zfs_storage *z, const struct zfs_dataset *d, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (ds_volume(z, &d[i], NULL, NULL, NULL))
			sum += d[i].volume ? d[i].volsize : d[i].refquota;
	return sum;
}

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	snprintf(buf, n, "%.2f GiB", (double)bytes / (double)(1ull << 30));
}

/*
 * Runs c (releases it); ZFS's own "out of space" (a thick zvol that does not
 * fit, a snapshot or a dataset on a pool filled since the check above)
 * becomes -ENOSPC with a message naming the pool and its figures, as the
 * refusals in check_room() do, instead of the tool's bare text.  what: "a
 * 1.00 GiB volume", "snapshot 's1' of 'vm-100-disk-0'".
 */
static int run_space(struct zfs_storage *z, struct cmd *c, const char *what, struct task_worker *w,
                     struct error **err)
{
	struct error *e = NULL;
	struct space sp;
	char used[32], total[32], avail[32];
	int r = run(c, w, &e);

	if (r >= 0)
		return r;
	if (!strstr(e->msg, "out of space") || space_get(z, &sp, NULL) < 0) {
		error_propagate(err, e);
		return r;
	}
	error_free(e);
	fmt_size(used, sizeof(used), sp.used);
	fmt_size(total, sizeof(total), sp.used + sp.avail);
	fmt_size(avail, sizeof(avail), sp.avail);
	return error_set(err, -ENOSPC, 500,
	                 "ZFS pool '%s' has no room for %s (%s of %s used, %s available): "
	                 "free space first",
	                 z->pool, what, used, total, avail);
}

/* --- slots --- */

static int zfs_activate(struct storage *st, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zpool_info p = {0};
	struct space s;
	int r = zpool_get(z, &p, err);

	zpool_info_clear(&p);
	if (r < 0)
		return r;
	return space_get(z, &s, err);
}

static int zfs_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct storage_status s = {0};
	struct zpool_info p = {0};
	struct zfs_dataset *d = NULL;
	struct error *e = NULL;
	struct space sp;
	size_t n = 0;

	if (zpool_get(z, &p, &e) < 0 || space_get(z, &sp, &e) < 0 || ds_list(z, &d, &n, &e) < 0) {
		snprintf(s.message, sizeof(s.message), "%s", e ? e->msg : "unknown error");
		error_free(e);
		zpool_info_clear(&p);
		*ret = s;
		return 0;
	}
	s.total = sp.avail + sp.used;
	s.used = sp.used;
	s.avail = sp.avail;
	s.active = true;
	s.provisioned = provisioned(z, d, n);
	zfs_dataset_list_free(d, n);
	_cleanup_free_ char *what = xasprintf("ZFS pool '%s'", z->pool);
	storage_status_pool(&s, what, s.total ? 100.0 * (double)s.used / (double)s.total : 0, -1);
	snprintf(s.health, sizeof(s.health), "%s", p.health);
	if (!streq(p.health, "ONLINE")) {
		_cleanup_free_ char *out = NULL;
		struct cmd c;

		/* the first line `zpool status -x` has on it ("state: ...") */
		zpool_status_build_cmd(&c, z->zpool);
		(void)run_out(&c, &out, &e);
		error_free(e);
		snprintf(s.message, sizeof(s.message), "zpool '%s' is %s%s", z->zpool, p.health,
		         out && strstr(out, "status: ") ? ": see zpool status" : "");
	}
	zpool_info_clear(&p);
	*ret = s;
	return 0;
}

static int zfs_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                    size_t *ret_n, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	bool images = storage_content_wanted(st, content, "images");
	bool rootdir = storage_content_wanted(st, content, "rootdir");
	struct zfs_dataset *d = NULL;
	size_t n = 0, k = 0;
	int r;

	if (!images && !rootdir) {
		*ret = xnew(struct storage_volume, 1);
		*ret_n = 0;
		return 0;
	}
	if ((r = ds_list(z, &d, &n, err)) < 0)
		return r;
	struct storage_volume *v = xnew(struct storage_volume, n + 1);
	for (size_t i = 0; i < n; i++) {
		char *volname = NULL, *parent = NULL;
		struct zname zn;

		if (!ds_volume(z, &d[i], &volname, &parent, &zn))
			continue;
		if ((vmid && zn.vmid != vmid) || (d[i].volume ? !images : !rootdir)) {
			free(volname);
			free(parent);
			continue;
		}
		v[k++] = (struct storage_volume){
		    .volname = volname,
		    .format = xstrdup(d[i].volume ? "raw" : "subvol"),
		    .vtype = xstrdup(d[i].volume ? "images" : "rootdir"),
		    .vmid = zn.vmid,
		    .size = d[i].volume ? d[i].volsize : d[i].refquota,
		    .used = d[i].used,
		    .parent = parent,
		    .ctime = (time_t)d[i].creation,
		};
	}
	zfs_dataset_list_free(d, n);
	*ret = v;
	*ret_n = k;
	return 0;
}

static int zfs_info(struct storage *st, const char *volname, struct storage_volume *ret,
                    struct error **err)
{
	struct storage_volume *v = NULL;
	struct zvol zv;
	size_t n = 0;
	int r = zvol_parse(volname, &zv, err);

	if (r < 0 || (r = zfs_list(st, 0, NULL, &v, &n, err)) < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(v[i].volname, '/');

		if (streq(slash ? slash + 1 : v[i].volname, zv.name)) {
			*ret = v[i];
			v[i] = (struct storage_volume){0};
			r = 0;
			break;
		}
	}
	storage_volume_list_free(v, n);
	if (r < 0)
		return error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id,
		                 volname);
	return 0;
}

static int zfs_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zvol v;
	int r = zvol_parse(volname, &v, err);

	if (r < 0)
		return r;
	*ret_path = zname_subvol(&v.n) ? xasprintf("%s/%s", z->mountpoint, v.name)
	                               : xasprintf("/dev/zvol/%s/%s", z->pool, v.name);
	return 0;
}

/* udev makes /dev/zvol/<dataset> a moment after zfs create returns. */
static int zvol_wait(const struct zfs_storage *z, const char *name, struct error **err)
{
	_cleanup_free_ char *dev = xasprintf("/dev/zvol/%s/%s", z->pool, name);

	if (zvol_wait_ms <= 0)
		return 0;
	for (int ms = 0; ms < zvol_wait_ms; ms += 50) {
		if (access(dev, F_OK) == 0)
			return 0;
		(void)nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
	}
	return error_set(err, -ETIMEDOUT, 500, "timeout: no zvol device link for '%s' found", name);
}

/* Refuses what the pool cannot honestly take: nearly full, or (thin
 * volumes) above the storage's overcommit limit. */
static int check_room(struct zfs_storage *z, const struct zfs_dataset *d, size_t n, uint64_t size,
                      bool thin, struct error **err)
{
	struct space sp;
	char asked[32], virt[32], total[32];
	int r = space_get(z, &sp, err);
	uint64_t sum = provisioned(z, d, n) + size;
	uint64_t tot = sp.avail + sp.used;
	double pct = tot ? 100.0 * (double)sp.used / (double)tot : 100.0;

	if (r < 0)
		return r;
	if (pct >= ZFS_FULL_PCT)
		return error_set(
		    err, -ENOSPC, 500,
		    "ZFS pool '%s' is full (%.1f%% used): free space before allocating "
		    "new volumes",
		    z->pool, pct);
	if (thin && z->overcommit_limit > 0 && tot &&
	    (double)sum / (double)tot > z->overcommit_limit) {
		fmt_size(asked, sizeof(asked), size);
		fmt_size(virt, sizeof(virt), sum);
		fmt_size(total, sizeof(total), tot);
		return error_set(
		    err, -ENOSPC, 500,
		    "refusing to allocate %s on storage '%s': ZFS pool '%s' would hold %s "
		    "of virtual disks in %s, overcommit %.2f, above the storage's "
		    "overcommit-limit %.2f",
		    asked, z->st.id, z->pool, virt, total, (double)sum / (double)tot,
		    z->overcommit_limit);
	}
	return 0;
}

static int next_name(const struct zfs_storage *z, long vmid, const char *name, bool subvol,
                     const struct zfs_dataset *d, size_t n, char **ret, struct error **err)
{
	_cleanup_free_ const char **names = xnew(const char *, n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (ds_child(z, d[i].name))
			names[k++] = ds_child(z, d[i].name);
	if (name) {
		struct zname zn;
		int r = volname_check_owner(vmid, name, err);

		if (r < 0)
			return r;
		if (zname_parse(name, strlen(name), &zn) < 0 || zn.vmid != vmid ||
		    zname_base(&zn) || zname_subvol(&zn) != subvol)
			return error_set(err, -EINVAL, 400,
			                 "illegal name '%s' - should be '%s-%ld-*'", name,
			                 subvol ? "subvol" : "vm", vmid);
		for (size_t i = 0; i < k; i++)
			if (streq(names[i], name))
				return error_set(err, -EEXIST, 500, "volume '%s:%s' already exists",
				                 z->st.id, name);
		*ret = xstrdup(name);
		return 0;
	}
	*ret = volname_alloc(vmid, NULL, names, k, subvol, err);
	if (!*ret)
		return -ENOSPC;
	/* a dataset name has no format suffix */
	char *dot = strrchr(*ret, '.');
	if (dot && streq(dot, ".subvol"))
		*dot = 0;
	return 0;
}

static void destroy_quiet(struct zfs_storage *z, const char *name, struct task_worker *w)
{
	_cleanup_free_ char *ds = dataset(z, name);
	struct error *e = NULL;
	struct cmd c;

	zfs_destroy_build_cmd(&c, ds, NULL, true);
	if (run(&c, w, &e) < 0 && w)
		task_log(w, "warning: %s", e->msg);
	error_free(e);
}

static int zfs_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                     uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_dataset *d = NULL;
	_cleanup_free_ char *vol = NULL, *ds = NULL, *what = NULL;
	char sz[32];
	bool subvol;
	size_t n = 0;
	struct cmd c;
	int r;

	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	if (!fmt)
		fmt = "raw";
	subvol = streq(fmt, "subvol");
	if (!subvol && !streq(fmt, "raw"))
		return error_param(err, "format",
		                   "unsupported format '%s' for storage type zfspool", fmt);
	if (!subvol && size == 0)
		return error_param(err, "size", "size must be greater than 0");
	if ((r = ds_list(z, &d, &n, err)) < 0)
		return r;
	r = next_name(z, vmid, name, subvol, d, n, &vol, err);
	if (r >= 0)
		r = check_room(z, d, n, size, subvol || z->sparse, err);
	zfs_dataset_list_free(d, n);
	if (r < 0)
		return r;
	ds = dataset(z, vol);
	if (subvol)
		zfs_create_subvol_build_cmd(&c, ds, size);
	else
		zfs_create_zvol_build_cmd(&c, ds, size, z->sparse, z->blocksize);
	fmt_size(sz, sizeof(sz), size);
	what = subvol ? xstrdup("a dataset") : xasprintf("a %s volume", sz);
	if ((r = run_space(z, &c, what, w, err)) < 0)
		return r;
	if (!subvol && (r = zvol_wait(z, vol, err)) < 0) {
		destroy_quiet(z, vol, w); /* nothing half-made is left */
		return r;
	}
	*ret_volname = TAKE_PTR(vol);
	return 0;
}

static int zfs_free(struct storage *st, const char *volname, struct task_worker *w,
                    struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_dataset *d = NULL;
	_cleanup_free_ char *ds = NULL;
	struct zvol v;
	size_t n = 0;
	struct cmd c;
	int r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = ds_list(z, &d, &n, err)) < 0)
		return r;
	if (!ds_find(z, d, n, v.name))
		r = error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id, volname);
	zfs_dataset_list_free(d, n);
	if (r < 0)
		return r;
	ds = dataset(z, v.name);
	/* a zvol just closed by a guest can be busy for a moment (PVE tries
	 * six times) */
	for (int i = 0;; i++) {
		struct error *e = NULL;

		zfs_destroy_build_cmd(&c, ds, NULL, true);
		r = run(&c, w, &e);
		if (r >= 0 || i == 5 || !strstr(e->msg, "dataset is busy")) {
			if (e)
				error_propagate(err, e);
			return r;
		}
		error_free(e);
		if (zvol_wait_ms > 0)
			sleep(1);
	}
}

static int zfs_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                      struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct storage_volume info = {0};
	_cleanup_free_ char *ds = NULL;
	struct zfs_dataset *d = NULL;
	size_t n = 0;
	struct zvol v;
	struct cmd c;
	int r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = zfs_info(st, volname, &info, err)) < 0)
		return r;
	bool shrink = info.size && size < info.size;
	uint64_t grow = size > info.size ? size - info.size : 0;
	storage_volume_clear(&info);
	if (shrink)
		return error_param(err, "size", "shrinking disks is not supported");
	if ((r = ds_list(z, &d, &n, err)) < 0)
		return r;
	r = check_room(z, d, n, grow, zname_subvol(&v.n) || z->sparse, err);
	zfs_dataset_list_free(d, n);
	if (r < 0)
		return r;
	ds = dataset(z, v.name);
	if (zname_subvol(&v.n))
		zfs_set_refquota_build_cmd(&c, ds, size);
	else
		zfs_set_volsize_build_cmd(&c, ds, size);
	return run(&c, w, err);
}

/* --- snapshots --- */

/* The volume's snapshots, oldest first, without __base__; 404 when the
 * volume does not exist. */
static int snaps_get(struct zfs_storage *z, const struct zvol *v, struct zfs_snapshot **ret,
                     size_t *ret_n, struct error **err)
{
	_cleanup_free_ char *ds = dataset(z, v->name), *out = NULL;
	struct zfs_snapshot *s = NULL;
	struct error *e = NULL;
	size_t n = 0, k = 0;
	struct cmd c;
	int r;

	zfs_list_snapshots_build_cmd(&c, ds);
	if (run_out(&c, &out, &e) < 0) {
		bool missing = e && strstr(e->msg, "does not exist");

		if (!missing) {
			error_propagate(err, e);
			return -EIO;
		}
		error_free(e);
		return error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", z->st.id,
		                 v->name);
	}
	if ((r = zfs_snapshots_parse(out, &s, &n)) < 0)
		return error_set(err, r, 500, "unable to parse the snapshots of '%s'", ds);
	for (size_t i = 0; i < n; i++) {
		if (streq(s[i].name, BASE_SNAP)) {
			free(s[i].name);
			continue;
		}
		s[k++] = s[i];
	}
	*ret = s;
	*ret_n = k;
	return 0;
}

static int snap_index(const struct zfs_snapshot *s, size_t n, const char *snap)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s[i].name, snap))
			return (int)i;
	return -1;
}

static int zfs_snapshot_create(struct storage *st, const char *volname, const char *snap,
                               struct task_worker *w, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_snapshot *s = NULL;
	_cleanup_free_ char *ds = NULL, *what = NULL;
	size_t n = 0;
	struct zvol v;
	struct cmd c;
	int r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = snaps_get(z, &v, &s, &n, err)) < 0)
		return r;
	if (snap_index(s, n, snap) >= 0 || streq(snap, BASE_SNAP))
		r = error_set(err, -EEXIST, 500, "snapshot '%s' of volume '%s:%s' already exists",
		              snap, st->id, volname);
	zfs_snapshot_list_free(s, n);
	if (r < 0)
		return r;
	ds = dataset(z, v.name);
	what = xasprintf("snapshot '%s' of '%s'", snap, volname);
	zfs_snapshot_build_cmd(&c, ds, snap);
	return run_space(z, &c, what, w, err);
}

static int zfs_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                                 unsigned flags, struct task_worker *w, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_snapshot *s = NULL;
	_cleanup_free_ char *ds = NULL;
	size_t n = 0;
	struct zvol v;
	struct cmd c;
	int i, r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = snaps_get(z, &v, &s, &n, err)) < 0)
		return r;
	i = snap_index(s, n, snap);
	if (i < 0)
		r = error_set(err, -ENOENT, 404, "snapshot '%s' of volume '%s:%s' does not exist",
		              snap, st->id, volname);
	else if ((size_t)i + 1 < n && !(flags & STORAGE_ROLLBACK_DESTROY_NEWER)) {
		struct strbuf names = STRBUF_INIT;

		for (size_t k = (size_t)i + 1; k < n; k++)
			strbuf_addf(&names, "%s'%s'", k > (size_t)i + 1 ? ", " : "", s[k].name);
		r = error_set(err, -EBUSY, 500,
		              "can't rollback, '%s' is not most recent snapshot on '%s': ZFS can "
		              "only roll back to the latest snapshot; the newer %s %s would be "
		              "destroyed (delete them first, or roll back destroying them)",
		              snap, volname, n - (size_t)i - 1 > 1 ? "snapshots" : "snapshot",
		              names.buf);
		strbuf_release(&names);
	}
	bool newer = i >= 0 && (size_t)i + 1 < n;
	zfs_snapshot_list_free(s, n);
	if (r < 0)
		return r;
	ds = dataset(z, v.name);
	zfs_rollback_build_cmd(&c, ds, snap, newer);
	return run(&c, w, err);
}

static int zfs_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                               struct task_worker *w, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_snapshot *s = NULL;
	_cleanup_free_ char *ds = NULL;
	size_t n = 0;
	struct zvol v;
	struct cmd c;
	int r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = snaps_get(z, &v, &s, &n, err)) < 0)
		return r;
	if (snap_index(s, n, snap) < 0)
		r = error_set(err, -ENOENT, 404, "snapshot '%s' of volume '%s:%s' does not exist",
		              snap, st->id, volname);
	zfs_snapshot_list_free(s, n);
	if (r < 0)
		return r;
	ds = dataset(z, v.name);
	zfs_destroy_build_cmd(&c, ds, snap, false);
	return run(&c, w, err);
}

static int zfs_snapshot_list(struct storage *st, const char *volname, struct storage_snapshot **ret,
                             size_t *ret_n, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_snapshot *s = NULL;
	size_t n = 0;
	struct zvol v;
	int r = zvol_parse(volname, &v, err);

	if (r < 0 || (r = snaps_get(z, &v, &s, &n, err)) < 0)
		return r;
	struct storage_snapshot *out = xnew(struct storage_snapshot, n + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (struct storage_snapshot){.name = TAKE_PTR(s[i].name),
		                                   .ctime = (time_t)s[i].creation};
	zfs_snapshot_list_free(s, n);
	*ret = out;
	*ret_n = n;
	return 0;
}

/* --- templates and linked clones --- */

static int zfs_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                     struct task_worker *w, char **ret_volname, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct zfs_dataset *d = NULL;
	const struct zfs_dataset *b;
	_cleanup_free_ char *name = NULL, *bds = NULL, *nds = NULL;
	uint64_t quota = 0, size = 0;
	size_t n = 0;
	struct zvol v;
	struct cmd c;
	int r = zvol_parse(base_volname, &v, err);

	if (r < 0)
		return r;
	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	if (!zname_base(&v.n))
		return error_set(err, -EINVAL, 400, "clone_image only works on base images");
	if ((r = ds_list(z, &d, &n, err)) < 0)
		return r;
	b = ds_find(z, d, n, v.name);
	if (!b)
		r = error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id,
		              base_volname);
	else {
		quota = b->volume ? 0 : b->refquota;
		size = b->volume ? b->volsize : b->refquota;
		r = next_name(z, vmid, NULL, !b->volume, d, n, &name, err);
	}
	if (r >= 0)
		r = check_room(z, d, n, size, true, err);
	zfs_dataset_list_free(d, n);
	if (r < 0)
		return r;
	bds = dataset(z, v.name);
	nds = dataset(z, name);
	zfs_clone_build_cmd(&c, bds, snap ? snap : BASE_SNAP, nds, quota);
	if ((r = run(&c, w, err)) < 0)
		return r;
	if (!zname_subvol(&v.n) && (r = zvol_wait(z, name, err)) < 0) {
		destroy_quiet(z, name, w);
		return r;
	}
	*ret_volname = xasprintf("%s/%s", v.name, name);
	return 0;
}

/* vm-/subvol- becomes base-/basevol- and gets the snapshot its clones start
 * from. */
static int zfs_create_base(struct storage *st, const char *volname, struct task_worker *w,
                           char **ret_volname, struct error **err)
{
	struct zfs_storage *z = zfs_of(st);
	struct storage_volume info = {0};
	_cleanup_free_ char *newname = NULL, *from = NULL, *to = NULL;
	struct zvol v;
	struct cmd c;
	int r = zvol_parse(volname, &v, err);

	if (r < 0)
		return r;
	if (zname_base(&v.n))
		return error_set(err, -EINVAL, 400, "create_base not possible with base image");
	if ((r = zfs_info(st, volname, &info, err)) < 0)
		return r;
	storage_volume_clear(&info);
	newname =
	    xasprintf("%s%s", zname_subvol(&v.n) ? "basevol" : "base", v.name + strlen(v.n.prefix));
	from = dataset(z, v.name);
	to = dataset(z, newname);
	zfs_rename_build_cmd(&c, from, to);
	if ((r = run(&c, w, err)) < 0)
		return r;
	zfs_snapshot_build_cmd(&c, to, BASE_SNAP);
	if ((r = run(&c, w, err)) < 0)
		return r;
	if (!zname_subvol(&v.n) && (r = zvol_wait(z, newname, err)) < 0)
		return r;
	*ret_volname = v.base_len ? xasprintf("%.*s/%s", (int)v.base_len, volname, newname)
	                          : TAKE_PTR(newname);
	return 0;
}

/* At add time: the zpool is imported and the dataset exists. */
static int zfs_check(const struct section *s, struct error **err)
{
	struct zfs_storage z = {
	    .st = {.be = &storage_backend_zfspool, .id = (char *)s->id, .cfg = s}};
	struct error *e = NULL;
	int r = zfs_open(&z.st, err);

	if (r < 0)
		return r;
	r = zfs_activate(&z.st, &e);
	if (r < 0)
		r = error_param(err, "pool", "%s", e->msg);
	error_free(e);
	zfs_close(&z.st);
	return r;
}

const struct storage_backend storage_backend_zfspool = {
    .type = "zfspool",
    .caps = STORAGE_CAP_SNAPSHOT | STORAGE_CAP_CLONE | STORAGE_CAP_TEMPLATE | STORAGE_CAP_RESIZE |
            STORAGE_CAP_THIN | STORAGE_CAP_SUBVOL | STORAGE_CAP_SUBVOL_SIZE,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW) | IMAGE_FORMAT_BIT(IMAGE_FORMAT_SUBVOL),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct zfs_storage),
    .open = zfs_open,
    .close = zfs_close,
    .parse_volname = zfs_parse_volname,
    .activate = zfs_activate,
    .status = zfs_status,
    .alloc = zfs_alloc,
    .free_volume = zfs_free,
    .list = zfs_list,
    .info = zfs_info,
    .path = zfs_path,
    .check = zfs_check,
    .resize = zfs_resize,
    .snapshot_create = zfs_snapshot_create,
    .snapshot_rollback_flags = zfs_snapshot_rollback,
    .snapshot_delete = zfs_snapshot_delete,
    .snapshot_list = zfs_snapshot_list,
    .clone = zfs_clone,
    .create_base = zfs_create_base,
};
