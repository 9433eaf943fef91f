/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The lvm (thick) and lvmthin backends (backend-lvm.h): one file, two
 * vtables.  Both read the volume group through `lvs`/`vgs` JSON reports
 * and change it only through the builders of backend-lvm-cmd.c.
 *
 * Out-of-space safety beyond Proxmox (storage.md 5): a thick allocation is
 * checked against the VG's free bytes (PVE compares bytes with KiB); a thin
 * allocation is refused while the pool is nearly full and, when the storage
 * sets `overcommit-limit`, when it would take the sum of the pool's virtual
 * sizes above that multiple of the pool; the status carries data and
 * metadata use, the overcommit, the pool's health and its warnings.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend-lvm.h"
#include "cmd.h"
#include "error.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-priv.h"
#include "strv.h"
#include "task.h"
#include "xalloc.h"

/* A thin pool this full takes no new volume: creating one would only hand a
 * guest a disk that fails its first writes. */
#define THIN_FULL_DATA_PCT 98.0
#define THIN_FULL_META_PCT 95.0

struct lvm_storage {
	struct storage st; /* first: what the dispatcher hands out */
	char *vg;
	char *thinpool; /* lvmthin only */
	bool thin;
	bool saferemove, tagged_only;
	double overcommit_limit; /* 0: none */
};
_Static_assert(offsetof(struct lvm_storage, st) == 0, "struct storage comes first");

static struct lvm_storage *lvm_of(const struct storage *st)
{
	return storage_state(st, st->be == &storage_backend_lvmthin ? &storage_backend_lvmthin
	                                                            : &storage_backend_lvm);
}

static int lvm_open(struct storage *st, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	const char *vg = section_get(st->cfg, "vgname");
	const char *pool = section_get(st->cfg, "thinpool");

	l->thin = st->be == &storage_backend_lvmthin;
	if (!vg || (l->thin && !pool))
		return error_set(err, -EINVAL, 500, "storage '%s' has no %s", st->id,
		                 vg ? "thinpool" : "vgname");
	/* a hand-edited storage.cfg reaches lvm2's argv too */
	if (!lvm_name_valid(vg) || (l->thin && !lvm_name_valid(pool)))
		return error_set(err, -EINVAL, 500, "storage '%s' has an invalid %s", st->id,
		                 lvm_name_valid(vg) ? "thinpool" : "vgname");
	l->vg = xstrdup(vg);
	l->thinpool = pool && l->thin ? xstrdup(pool) : NULL;
	l->saferemove = streq_ptr(section_get(st->cfg, "saferemove"), "1");
	l->tagged_only = streq_ptr(section_get(st->cfg, "tagged_only"), "1");
	l->overcommit_limit = storage_overcommit_limit(st->cfg);
	return 0;
}

static void lvm_close(struct storage *st)
{
	struct lvm_storage *l = lvm_of(st);

	free(l->vg);
	free(l->thinpool);
}

/* --- names --- */

static bool lv_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '_' || c == '.' || c == '-';
}

bool lvm_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > LVM_NAME_MAX || name[0] == '-' || streq(name, ".") || streq(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lv_char(name[i]))
			return false;
	return true;
}

/*
 * PVE's grammar: "vm-<vmid>-<rest>" (lvm), also "base-<vmid>-<rest>"
 * (lvmthin templates), rest in LVM's name characters and the whole at most
 * 64 bytes (snapshot LV names add to it, LVM allows 127).  0 and the vmid,
 * or -EINVAL.
 */
static int lv_name_parse(const char *name, bool allow_base, long *ret_vmid, bool *ret_base)
{
	bool base = allow_base && str_startswith(name, "base-");
	const char *p = base ? name + 5 : str_startswith(name, "vm-") ? name + 3 : NULL;
	long vmid = 0;

	if (!p || strlen(name) > 64)
		return -EINVAL;
	if (*p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (vmid > 999999999)
			return -EINVAL;
		vmid = vmid * 10 + (*p - '0');
	}
	if (*p != '-' || !p[1])
		return -EINVAL;
	for (p++; *p; p++)
		if (!lv_char(*p))
			return -EINVAL;
	*ret_vmid = vmid;
	if (ret_base)
		*ret_base = base;
	return 0;
}

static int lvm_parse_volname(const struct storage *st, const char *volname,
                             struct volname_info *ret, struct error **err)
{
	bool base = false;
	long vmid;

	if (lv_name_parse(volname, st->be == &storage_backend_lvmthin, &vmid, &base) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse lvm volume name '%s'",
		                 volname);
	*ret = (struct volname_info){
	    .vtype = VTYPE_IMAGES,
	    .name = xstrdup(volname),
	    .vmid = vmid,
	    .is_base = base,
	    .format = xstrdup("raw"),
	};
	return 0;
}

static char *snap_lv(const char *lv, const char *snap)
{
	return xasprintf("snap_%s_%s", lv, snap);
}

/* --- reading the VG --- */

static int run(struct cmd *c, struct task_worker *w, struct error **err)
{
	int r = storage_run_cmd(c, w, NULL, err);

	cmd_release(c);
	return r;
}

/* Runs a report command (releases c); one that cannot be started at all
 * says what is missing rather than a spawn error. */
static int query(struct cmd *c, struct cmd_result *res, struct error **err)
{
	struct error *e = NULL;
	int r = cmd_run(c, res, &e);

	if (r < 0 && !res->out && e) {
		error_free(e);
		e = NULL;
		error_set(&e, r, 500, "unable to run '%s' (are the lvm2 tools installed?): %s",
		          c->argv[0], strerror(-r));
	}
	cmd_release(c);
	if (e)
		error_propagate(err, e);
	return r;
}

static int lv_list(struct lvm_storage *l, struct lvm_lv **ret, size_t *ret_n, struct error **err)
{
	struct cmd c;
	struct cmd_result res = {0};
	int r;

	lvm_lvs_build_cmd(&c, l->vg, NULL);
	r = query(&c, &res, err);
	if (r >= 0 && (r = lvm_lvs_parse(res.out, res.out_len, ret, ret_n)) < 0)
		error_set(err, r, 500, "unable to parse the lvs report of volume group '%s'",
		          l->vg);
	cmd_result_clear(&res);
	return r;
}

static int vg_get(struct lvm_storage *l, struct lvm_vg *ret, struct error **err)
{
	struct cmd c;
	struct cmd_result res = {0};
	struct lvm_vg *vgs = NULL;
	size_t n = 0;
	int r;

	lvm_vgs_build_cmd(&c, NULL);
	r = query(&c, &res, err);
	if (r >= 0 && (r = lvm_vgs_parse(res.out, res.out_len, &vgs, &n)) < 0)
		error_set(err, r, 500, "unable to parse the vgs report");
	cmd_result_clear(&res);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (streq(vgs[i].name, l->vg)) {
			*ret = vgs[i];
			vgs[i].name = NULL;
			r = 0;
			break;
		}
	lvm_vg_list_free(vgs, n);
	if (r < 0)
		return error_set(err, r, 500, "volume group '%s' not found", l->vg);
	return 0;
}

static const struct lvm_lv *lv_find(const struct lvm_lv *lvs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(lvs[i].name, name))
			return &lvs[i];
	return NULL;
}

/* A volume of this storage: a name of its grammar, in its pool (lvmthin)
 * or not a thin LV (lvm), tagged when tagged_only. */
static bool lv_is_volume(const struct lvm_storage *l, const struct lvm_lv *lv, long *ret_vmid)
{
	long vmid;
	bool base;

	if (lv_name_parse(lv->name, l->thin, &vmid, &base) < 0)
		return false;
	if (l->thin ? !streq_ptr(lv->pool, l->thinpool) : lv->attr[0] == 'V' || lv->attr[0] == 't')
		return false;
	if (l->tagged_only && !l->thin) {
		char tag[32];

		snprintf(tag, sizeof(tag), "pve-vm-%ld", vmid);
		if (!lvm_lv_has_tag(lv, tag))
			return false;
	}
	*ret_vmid = vmid;
	return true;
}

/* The volume's LV or -ENOENT 404. */
static int volume_find(struct lvm_storage *l, const struct lvm_lv *lvs, size_t n,
                       const char *volname, const struct lvm_lv **ret, struct error **err)
{
	const struct lvm_lv *lv = lv_find(lvs, n, volname);
	long vmid;

	if (!lv || !lv_is_volume(l, lv, &vmid)) {
		/* the constant, not error_set()'s value: the callers' use of *ret
		 * after r >= 0 is then visibly safe to the compiler */
		error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", l->st.id, volname);
		return -ENOENT;
	}
	*ret = lv;
	return 0;
}

/* --- the thin pool's figures --- */

struct pool_figures {
	uint64_t size, used, provisioned;
	double data_pct, meta_pct;
	char health[16];
	bool active;
};

static void thin_figures(const struct lvm_storage *l, const struct lvm_lv *lvs, size_t n,
                         const struct lvm_lv *pool, struct pool_figures *f)
{
	*f = (struct pool_figures){
	    .size = pool->size, .data_pct = pool->data_pct, .meta_pct = pool->meta_pct};
	if (f->data_pct < 0)
		f->data_pct = 0;
	f->used = (uint64_t)((double)pool->size * f->data_pct / 100.0);
	if (f->used > f->size)
		f->used = f->size;
	/* every thin LV of the pool, snapshots too: each can grow to its full
	 * size (the worst case is what overcommit is about) */
	for (size_t i = 0; i < n; i++)
		if (streq_ptr(lvs[i].pool, l->thinpool))
			f->provisioned += lvs[i].size;
	/* lv_attr: [4] state 'a' active, [8] health: 'F' failed, 'D' out of
	 * data space, 'M' metadata read-only, 'X' unknown; [6] 'z' zeroing;
	 * a needs_check flag shows as 'M' with lvm2's thin_check */
	f->active = pool->attr[0] == 't' && pool->attr[4] == 'a';
	switch (pool->attr[8]) {
	case 'F':
		snprintf(f->health, sizeof(f->health), "failed");
		break;
	case 'D':
		snprintf(f->health, sizeof(f->health), "out of data");
		break;
	case 'M':
		snprintf(f->health, sizeof(f->health), "read-only");
		break;
	default:
		snprintf(f->health, sizeof(f->health), "%s", f->active ? "ok" : "");
	}
}

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	snprintf(buf, n, "%.2f GiB", (double)bytes / (double)(1ull << 30));
}

/* The thin pool's LV, or 500 naming what is wrong. */
static const struct lvm_lv *thin_pool(const struct lvm_storage *l, const struct lvm_lv *lvs,
                                      size_t n, struct error **err)
{
	const struct lvm_lv *pool = lv_find(lvs, n, l->thinpool);

	if (!pool)
		error_set(err, -ENOENT, 500, "thin pool '%s/%s' not found", l->vg, l->thinpool);
	else if (pool->attr[0] != 't')
		error_set(err, -EINVAL, 500, "logical volume '%s/%s' is not a thin pool", l->vg,
		          l->thinpool);
	return pool && pool->attr[0] == 't' ? pool : NULL;
}

/* --- slots --- */

static int lvm_activate(struct storage *st, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_vg vg = {0};
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	int r = vg_get(l, &vg, err);

	free(vg.name);
	if (r < 0 || !l->thin)
		return r;
	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	const struct lvm_lv *pool = thin_pool(l, lvs, n, err);
	if (!pool)
		r = -ENOENT;
	else if (pool->attr[4] != 'a') {
		struct cmd c;

		lvm_lvchange_activate_build_cmd(&c, l->vg, l->thinpool, true, false);
		r = run(&c, NULL, err);
	}
	lvm_lv_list_free(lvs, n);
	return r;
}

static int lvm_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct storage_status s = {0};
	struct error *e = NULL;
	struct lvm_vg vg = {0};
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	long vmid;

	/* not there is not active, and the status says why */
	if (vg_get(l, &vg, &e) < 0 || lv_list(l, &lvs, &n, &e) < 0) {
		snprintf(s.message, sizeof(s.message), "%s", e ? e->msg : "unknown error");
		error_free(e);
		free(vg.name);
		*ret = s;
		return 0;
	}
	free(vg.name);
	if (!l->thin) {
		s.total = vg.size;
		s.avail = vg.free;
		s.used = vg.size - (vg.free < vg.size ? vg.free : vg.size);
		s.active = true;
		for (size_t i = 0; i < n; i++)
			if (lv_is_volume(l, &lvs[i], &vmid))
				s.provisioned += lvs[i].size;
		/* how much of the group is allocated; no warnings: a full VG
		 * refuses new volumes but never fails a guest's writes */
		s.has_pool = true;
		s.data_pct = s.total ? 100.0 * (double)s.used / (double)s.total : 0;
		s.meta_pct = -1;
	} else {
		const struct lvm_lv *pool = thin_pool(l, lvs, n, &e);
		struct pool_figures f;
		_cleanup_free_ char *what = NULL;

		if (!pool) {
			snprintf(s.message, sizeof(s.message), "%s", e ? e->msg : "no thin pool");
			error_free(e);
			lvm_lv_list_free(lvs, n);
			*ret = s;
			return 0;
		}
		thin_figures(l, lvs, n, pool, &f);
		s.total = f.size;
		s.used = f.used;
		s.avail = f.size - f.used;
		s.provisioned = f.provisioned;
		s.active = f.active;
		what = xasprintf("thin pool '%s/%s'", l->vg, l->thinpool);
		storage_status_pool(&s, what, f.data_pct, f.meta_pct < 0 ? 0 : f.meta_pct);
		snprintf(s.health, sizeof(s.health), "%s", f.health);
		if (!s.active)
			snprintf(s.message, sizeof(s.message), "%s is not active", what);
		else if (f.health[0] && !streq(f.health, "ok"))
			snprintf(s.message, sizeof(s.message), "%s: %s", what, f.health);
	}
	lvm_lv_list_free(lvs, n);
	*ret = s;
	return 0;
}

static int lvm_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                    size_t *ret_n, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0, k = 0;
	int r;

	if (content && !strstr(content, "images") && !strstr(content, "rootdir")) {
		*ret = xnew(struct storage_volume, 1);
		*ret_n = 0;
		return 0;
	}
	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	struct storage_volume *v = xnew(struct storage_volume, n + 1);
	for (size_t i = 0; i < n; i++) {
		long owner;

		if (!lv_is_volume(l, &lvs[i], &owner) || (vmid && owner != vmid))
			continue;
		v[k++] = (struct storage_volume){
		    .volname = xstrdup(lvs[i].name),
		    .format = xstrdup("raw"),
		    .vtype = xstrdup("images"),
		    .vmid = owner,
		    .size = lvs[i].size,
		    .used = l->thin && lvs[i].data_pct >= 0
		                ? (uint64_t)((double)lvs[i].size * lvs[i].data_pct / 100.0)
		                : lvs[i].size,
		    /* a linked clone is a thin snapshot of its base */
		    .parent = lvs[i].origin && str_startswith(lvs[i].origin, "base-")
		                  ? xstrdup(lvs[i].origin)
		                  : NULL,
		    .ctime = (time_t)lvs[i].ctime,
		};
	}
	lvm_lv_list_free(lvs, n);
	*ret = v;
	*ret_n = k;
	return 0;
}

static int lvm_info(struct storage *st, const char *volname, struct storage_volume *ret,
                    struct error **err)
{
	struct storage_volume *v = NULL;
	size_t n = 0;
	int r = lvm_list(st, 0, NULL, &v, &n, err);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (streq(v[i].volname, volname)) {
			*ret = v[i];
			v[i] = (struct storage_volume){0};
			r = 0;
			break;
		}
	storage_volume_list_free(v, n);
	if (r < 0)
		return error_set(err, r, 404, "volume '%s:%s' does not exist", st->id, volname);
	return 0;
}

/* The device; activates the LV when its node is missing (guest LVs are
 * created without autoactivation, so after a reboot none is active, and
 * whoever asks for the path is about to open it). */
static int lvm_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	long vmid;
	char *p;

	if (lv_name_parse(volname, l->thin, &vmid, NULL) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse lvm volume name '%s'",
		                 volname);
	p = xasprintf("/dev/%s/%s", l->vg, volname);
	if (access(p, F_OK) < 0) {
		struct cmd c;
		struct error *e = NULL;

		lvm_lvchange_activate_build_cmd(&c, l->vg, volname, true, l->thin);
		(void)run(&c, NULL, &e);
		error_free(e);
	}
	*ret_path = p;
	return 0;
}

static int name_for_alloc(struct lvm_storage *l, long vmid, const char *name,
                          const struct lvm_lv *lvs, size_t n, char **ret, struct error **err)
{
	long owner;

	if (name) {
		int r = volname_check_owner(vmid, name, err);

		if (r < 0)
			return r;
		if (lv_name_parse(name, false, &owner, NULL) < 0 || owner != vmid)
			return error_set(err, -EINVAL, 400,
			                 "illegal name '%s' - should be 'vm-%ld-*'", name, vmid);
		if (lv_find(lvs, n, name))
			return error_set(err, -EEXIST, 500, "volume '%s:%s' already exists",
			                 l->st.id, name);
		*ret = xstrdup(name);
		return 0;
	}
	_cleanup_free_ const char **names = xnew(const char *, n + 1);
	for (size_t i = 0; i < n; i++)
		names[i] = lvs[i].name;
	*ret = volname_alloc(vmid, NULL, names, n, false, err);
	return *ret ? 0 : -ENOSPC;
}

/* Refuses a thin allocation the pool cannot honestly take: nearly full, or
 * above the storage's overcommit limit.  The message names the figures. */
static int thin_check_room(struct lvm_storage *l, const struct lvm_lv *lvs, size_t n, uint64_t size,
                           struct error **err)
{
	const struct lvm_lv *pool = thin_pool(l, lvs, n, err);
	struct pool_figures f;
	char asked[32], virt[32], total[32];

	if (!pool)
		return -ENOENT;
	thin_figures(l, lvs, n, pool, &f);
	if (f.data_pct >= THIN_FULL_DATA_PCT || f.meta_pct >= THIN_FULL_META_PCT)
		return error_set(err, -ENOSPC, 500,
		                 "thin pool '%s/%s' is full (data %.1f%%, metadata %.1f%%): free "
		                 "space or extend the pool before allocating new volumes",
		                 l->vg, l->thinpool, f.data_pct, f.meta_pct < 0 ? 0 : f.meta_pct);
	if (l->overcommit_limit > 0 && f.size) {
		double ratio = (double)(f.provisioned + size) / (double)f.size;

		if (ratio > l->overcommit_limit) {
			fmt_size(asked, sizeof(asked), size);
			fmt_size(virt, sizeof(virt), f.provisioned + size);
			fmt_size(total, sizeof(total), f.size);
			return error_set(
			    err, -ENOSPC, 500,
			    "refusing to allocate %s on storage '%s': thin pool '%s/%s' "
			    "would hold %s of virtual disks in %s, overcommit %.2f, above "
			    "the storage's overcommit-limit %.2f",
			    asked, l->st.id, l->vg, l->thinpool, virt, total, ratio,
			    l->overcommit_limit);
		}
	}
	return 0;
}

static int lvm_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                     uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	_cleanup_free_ char *lv = NULL;
	struct cmd c;
	int r;

	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	if (fmt && !streq(fmt, "raw"))
		return error_param(err, "format", "unsupported format '%s' for storage type %s",
		                   fmt, st->be->type);
	if (size == 0)
		return error_param(err, "size", "size must be greater than 0");
	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	r = name_for_alloc(l, vmid, name, lvs, n, &lv, err);
	if (r >= 0 && l->thin)
		r = thin_check_room(l, lvs, n, size, err);
	lvm_lv_list_free(lvs, n);
	if (r < 0)
		return r;

	if (!l->thin) {
		struct lvm_vg vg = {0};
		char asked[32], free_[32];

		if ((r = vg_get(l, &vg, err)) < 0)
			return r;
		free(vg.name);
		/* bytes against bytes (PVE's check compares KiB with bytes) */
		if (vg.free < size) {
			fmt_size(asked, sizeof(asked), size);
			fmt_size(free_, sizeof(free_), vg.free);
			return error_set(
			    err, -ENOSPC, 500,
			    "not enough free space in volume group '%s': %s asked, %s free", l->vg,
			    asked, free_);
		}
		lvm_lvcreate_build_cmd(&c, l->vg, lv, vmid, size);
		if ((r = run(&c, w, err)) < 0)
			return r;
	} else {
		struct error *e = NULL;

		lvm_lvcreate_thin_build_cmd(&c, l->vg, l->thinpool, lv, vmid, size);
		if ((r = run(&c, w, err)) < 0)
			return r;
		/* separate: some lvm2 versions refuse the flag for thin LVs at
		 * creation; without it the volume still works */
		lvm_noautoactivation_build_cmd(&c, l->vg, lv);
		if (run(&c, w, &e) < 0 && w)
			task_log(w, "warning: %s", e->msg);
		error_free(e);
	}
	*ret_volname = TAKE_PTR(lv);
	return 0;
}

/* saferemove: the LV is renamed out of the grammar first (so nothing lists
 * or opens it), zeroed, then removed; when zeroing fails the renamed LV is
 * left, with the error, rather than its data handed to the next volume. */
static int remove_safe(struct lvm_storage *l, const char *lv, struct task_worker *w,
                       struct error **err)
{
	_cleanup_free_ char *del = xasprintf("del-%s", lv);
	_cleanup_free_ char *dev = xasprintf("/dev/%s/%s", l->vg, del);
	struct cmd c;
	int r;

	lvm_lvrename_build_cmd(&c, l->vg, lv, del);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_lvchange_activate_build_cmd(&c, l->vg, del, true, false);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_zero_build_cmd(&c, dev);
	cmd_set_timeout(&c, 24 * 3600 * 1000);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_lvremove_build_cmd(&c, l->vg, del);
	return run(&c, w, err);
}

static bool is_snap_of(const struct lvm_lv *lv, const char *volname, const char **ret_snap)
{
	size_t k = strlen(volname);

	if (!str_startswith(lv->name, "snap_") || strncmp(lv->name + 5, volname, k) != 0 ||
	    lv->name[5 + k] != '_' || !storage_snapname_valid(lv->name + 6 + k))
		return false;
	/* after a rollback the snapshots' origin is gone: none is fine */
	if (lv->origin && !streq(lv->origin, volname))
		return false;
	*ret_snap = lv->name + 6 + k;
	return true;
}

static int lvm_free(struct storage *st, const char *volname, struct task_worker *w,
                    struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	const struct lvm_lv *lv = NULL;
	size_t n = 0;
	struct cmd c;
	int r;

	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	if ((r = volume_find(l, lvs, n, volname, &lv, err)) < 0)
		goto out;
	/* snapshots first: they would outlive their origin */
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *snap;

		if (l->thin && is_snap_of(&lvs[i], volname, &snap)) {
			lvm_lvremove_build_cmd(&c, l->vg, lvs[i].name);
			r = run(&c, w, err);
		}
	}
	if (r < 0)
		goto out;
	if (l->saferemove && !l->thin) {
		r = remove_safe(l, volname, w, err);
	} else {
		lvm_lvremove_build_cmd(&c, l->vg, volname);
		r = run(&c, w, err);
	}
out:
	lvm_lv_list_free(lvs, n);
	return r;
}

static int lvm_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                      struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	const struct lvm_lv *lv = NULL;
	size_t n = 0;
	struct cmd c;
	int r;

	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	r = volume_find(l, lvs, n, volname, &lv, err);
	if (r >= 0 && size < lv->size)
		r = error_param(err, "size", "shrinking disks is not supported");
	if (r >= 0 && !l->thin) {
		struct lvm_vg vg = {0};

		if ((r = vg_get(l, &vg, err)) >= 0 && vg.free < size - lv->size)
			r = error_set(err, -ENOSPC, 500,
			              "not enough free space in volume group '%s' to grow '%s'",
			              l->vg, volname);
		free(vg.name);
	}
	if (r >= 0 && l->thin && size > lv->size)
		r = thin_check_room(l, lvs, n, size - lv->size, err);
	bool same = r >= 0 && size == lv->size;
	lvm_lv_list_free(lvs, n);
	if (r < 0 || same)
		return r;
	lvm_lvextend_build_cmd(&c, l->vg, volname, size);
	return run(&c, w, err);
}

/* --- lvmthin: snapshots, templates, clones --- */

static int snap_require(struct lvm_storage *l, const char *volname, const char *snap, bool exists,
                        struct lvm_lv **ret_lvs, size_t *ret_n, struct error **err)
{
	const struct lvm_lv *lv = NULL;
	_cleanup_free_ char *name = snap_lv(volname, snap);
	int r = lv_list(l, ret_lvs, ret_n, err);

	if (r < 0)
		return r;
	r = volume_find(l, *ret_lvs, *ret_n, volname, &lv, err);
	if (r >= 0 && exists && !lv_find(*ret_lvs, *ret_n, name))
		r = error_set(err, -ENOENT, 404, "snapshot '%s' of volume '%s:%s' does not exist",
		              snap, l->st.id, volname);
	if (r >= 0 && !exists && lv_find(*ret_lvs, *ret_n, name))
		r = error_set(err, -EEXIST, 500, "snapshot '%s' of volume '%s:%s' already exists",
		              snap, l->st.id, volname);
	if (r < 0) {
		lvm_lv_list_free(*ret_lvs, *ret_n);
		*ret_lvs = NULL;
	}
	return r;
}

static int thin_snapshot_create(struct storage *st, const char *volname, const char *snap,
                                struct task_worker *w, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	_cleanup_free_ char *name = snap_lv(volname, snap);
	struct cmd c;
	int r = snap_require(l, volname, snap, false, &lvs, &n, err);

	if (r < 0)
		return r;
	r = thin_check_room(l, lvs, n, 0, err);
	lvm_lv_list_free(lvs, n);
	if (r < 0)
		return r;
	lvm_snapshot_build_cmd(&c, l->vg, volname, name);
	return run(&c, w, err);
}

/*
 * A copy reads a snapshot from its own thin LV (PVE's LvmThinPlugin: path
 * and activate_volume with a snapname).  It was created read-only and
 * activation-skipped, so it is activated with -K when not active yet; its
 * permission stays read-only, so nothing can write to it meanwhile.
 */
static int thin_snapshot_source(struct storage *st, const char *volname, const char *snap,
                                struct task_worker *w, char **ret_path, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	_cleanup_free_ char *name = snap_lv(volname, snap);
	struct cmd c;
	int r = snap_require(l, volname, snap, true, &lvs, &n, err);

	if (r < 0)
		return r;
	const struct lvm_lv *lv = lv_find(lvs, n, name);
	bool active = lv && lv->attr[0] && lv->attr[4] == 'a';
	lvm_lv_list_free(lvs, n);
	if (!active) {
		lvm_lvchange_activate_build_cmd(&c, l->vg, name, true, true);
		r = run(&c, w, err);
		if (r < 0)
			return r;
	}
	*ret_path = xasprintf("/dev/%s/%s", l->vg, name);
	return 0;
}

/* As PVE's deactivate_volume with a snapname: the snapshot goes inactive
 * again once copied.  LVM refuses while another reader still has it open;
 * that reader's release deactivates it then. */
static void thin_snapshot_source_release(struct storage *st, const char *volname, const char *snap,
                                         struct task_worker *w)
{
	struct lvm_storage *l = lvm_of(st);
	_cleanup_free_ char *name = snap_lv(volname, snap);
	struct error *e = NULL;
	struct cmd c;

	lvm_lvchange_activate_build_cmd(&c, l->vg, name, false, false);
	if (run(&c, w, &e) < 0 && w)
		task_warn(w, "unable to deactivate '%s/%s' - %s", l->vg, name,
		          e ? e->msg : "unknown error");
	error_free(e);
}

/*
 * Any snapshot, newer ones kept (as PVE): the volume becomes a new thin
 * snapshot of the snapshot.  The old volume is renamed aside first and
 * removed only once the new one exists, so a failure leaves it as it was.
 */
static int thin_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                                  struct task_worker *w, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	_cleanup_free_ char *name = snap_lv(volname, snap);
	_cleanup_free_ char *aside = xasprintf("rollback_%s", volname);
	struct error *e = NULL;
	struct cmd c;
	long vmid;
	int r = snap_require(l, volname, snap, true, &lvs, &n, err);

	if (r < 0)
		return r;
	lvm_lv_list_free(lvs, n);
	(void)lv_name_parse(volname, true, &vmid, NULL);

	lvm_lvrename_build_cmd(&c, l->vg, volname, aside);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_rollback_build_cmd(&c, l->vg, name, volname, vmid);
	if ((r = run(&c, w, err)) < 0) {
		lvm_lvrename_build_cmd(&c, l->vg, aside, volname);
		if (run(&c, w, &e) < 0)
			log_warn(
			    "storage '%s': volume '%s' left as '%s/%s' after a failed rollback: %s",
			    st->id, volname, l->vg, aside, e->msg);
		error_free(e);
		return r;
	}
	lvm_noautoactivation_build_cmd(&c, l->vg, volname);
	if (run(&c, w, &e) < 0 && w)
		task_log(w, "warning: %s", e->msg);
	error_free(e);
	e = NULL;
	lvm_lvremove_build_cmd(&c, l->vg, aside);
	if (run(&c, w, &e) < 0 && w)
		task_log(w, "warning: %s", e->msg);
	error_free(e);
	return 0;
}

static int thin_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                                struct task_worker *w, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	size_t n = 0;
	_cleanup_free_ char *name = snap_lv(volname, snap);
	struct cmd c;
	int r = snap_require(l, volname, snap, true, &lvs, &n, err);

	if (r < 0)
		return r;
	lvm_lv_list_free(lvs, n);
	lvm_lvremove_build_cmd(&c, l->vg, name);
	return run(&c, w, err);
}

static int snap_cmp(const void *a, const void *b)
{
	const struct storage_snapshot *x = a, *y = b;

	if (x->ctime != y->ctime)
		return x->ctime < y->ctime ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int thin_snapshot_list(struct storage *st, const char *volname,
                              struct storage_snapshot **ret, size_t *ret_n, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	const struct lvm_lv *lv = NULL;
	size_t n = 0, k = 0;
	int r;

	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	if ((r = volume_find(l, lvs, n, volname, &lv, err)) < 0) {
		lvm_lv_list_free(lvs, n);
		return r;
	}
	struct storage_snapshot *s = xnew(struct storage_snapshot, n + 1);
	for (size_t i = 0; i < n; i++) {
		const char *snap;

		if (is_snap_of(&lvs[i], volname, &snap))
			s[k++] = (struct storage_snapshot){.name = xstrdup(snap),
			                                   .ctime = (time_t)lvs[i].ctime};
	}
	lvm_lv_list_free(lvs, n);
	qsort(s, k, sizeof(*s), snap_cmp);
	*ret = s;
	*ret_n = k;
	return 0;
}

/* A linked clone: a writable thin snapshot of a template (or of a
 * snapshot of any volume, with snap). */
static int thin_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                      struct task_worker *w, char **ret_volname, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	const struct lvm_lv *lv = NULL;
	size_t n = 0;
	_cleanup_free_ char *from = NULL, *lvname = NULL;
	long owner;
	bool base = false;
	struct error *e = NULL;
	struct cmd c;
	int r;

	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	if (lv_name_parse(base_volname, true, &owner, &base) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse lvm volume name '%s'",
		                 base_volname);
	if (!snap && !base)
		return error_set(err, -EINVAL, 400, "clone_image only works on base images");
	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	r = volume_find(l, lvs, n, base_volname, &lv, err);
	if (r >= 0 && snap) {
		from = snap_lv(base_volname, snap);
		if (!lv_find(lvs, n, from))
			r = error_set(err, -ENOENT, 404,
			              "snapshot '%s' of volume '%s:%s' does not exist", snap,
			              st->id, base_volname);
	}
	if (r >= 0)
		r = name_for_alloc(l, vmid, NULL, lvs, n, &lvname, err);
	if (r >= 0)
		r = thin_check_room(l, lvs, n, lv->size, err);
	lvm_lv_list_free(lvs, n);
	if (r < 0)
		return r;
	lvm_clone_build_cmd(&c, l->vg, from ? from : base_volname, lvname, vmid);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_noautoactivation_build_cmd(&c, l->vg, lvname);
	if (run(&c, w, &e) < 0 && w)
		task_log(w, "warning: %s", e->msg);
	error_free(e);
	*ret_volname = TAKE_PTR(lvname);
	return 0;
}

/* vm-N-disk-M becomes the read-only, activation-skipped base-N-disk-M (it
 * stays active until the next reboot; path() activates it again). */
static int thin_create_base(struct storage *st, const char *volname, struct task_worker *w,
                            char **ret_volname, struct error **err)
{
	struct lvm_storage *l = lvm_of(st);
	struct lvm_lv *lvs = NULL;
	const struct lvm_lv *lv = NULL;
	size_t n = 0;
	_cleanup_free_ char *newname = NULL;
	bool has_snaps = false;
	struct cmd c;
	int r;

	if (!str_startswith(volname, "vm-"))
		return error_set(err, -EINVAL, 400, "create_base not possible with base image");
	if ((r = lv_list(l, &lvs, &n, err)) < 0)
		return r;
	r = volume_find(l, lvs, n, volname, &lv, err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		const char *snap;

		has_snaps |= is_snap_of(&lvs[i], volname, &snap);
	}
	lvm_lv_list_free(lvs, n);
	if (r < 0)
		return r;
	/* they would keep the old name and lose their volume */
	if (has_snaps)
		return error_set(
		    err, -EBUSY, 400,
		    "volume '%s:%s' has snapshots: delete them before making a template", st->id,
		    volname);
	newname = xasprintf("base-%s", volname + 3);
	lvm_lvrename_build_cmd(&c, l->vg, volname, newname);
	if ((r = run(&c, w, err)) < 0)
		return r;
	lvm_readonly_build_cmd(&c, l->vg, newname);
	if ((r = run(&c, w, err)) < 0)
		return r;
	*ret_volname = TAKE_PTR(newname);
	return 0;
}

/* At add time: the volume group, and the thin pool, exist. */
static int check(const struct section *s, const struct storage_backend *be, struct error **err)
{
	struct lvm_storage l = {.st = {.be = be, .id = (char *)s->id, .cfg = s}};
	struct lvm_vg vg = {0};
	struct lvm_lv *lvs = NULL;
	struct error *e = NULL;
	size_t n = 0;
	const char *pool = section_get(s, "thinpool");
	int r;

	if (!lvm_name_valid(section_get(s, "vgname")))
		return error_param(err, "vgname", "value does not look like a valid LVM name");
	if (be == &storage_backend_lvmthin && pool && !lvm_name_valid(pool))
		return error_param(err, "thinpool", "value does not look like a valid LVM name");
	if ((r = lvm_open(&l.st, err)) < 0)
		return r;
	if (vg_get(&l, &vg, &e) < 0)
		r = error_param(err, "vgname", "%s", e->msg);
	else if (l.thin && lv_list(&l, &lvs, &n, &e) < 0)
		r = error_param(err, "vgname", "%s", e->msg);
	else if (l.thin && !thin_pool(&l, lvs, n, &e))
		r = error_param(err, "thinpool", "%s", e->msg);
	error_free(e);
	free(vg.name);
	lvm_lv_list_free(lvs, n);
	lvm_close(&l.st);
	return r;
}

static int lvm_check(const struct section *s, struct error **err)
{
	return check(s, &storage_backend_lvm, err);
}

static int lvmthin_check(const struct section *s, struct error **err)
{
	return check(s, &storage_backend_lvmthin, err);
}

const struct storage_backend storage_backend_lvm = {
    .type = "lvm",
    .caps = STORAGE_CAP_RESIZE,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct lvm_storage),
    .open = lvm_open,
    .close = lvm_close,
    .parse_volname = lvm_parse_volname,
    .activate = lvm_activate,
    .status = lvm_status,
    .alloc = lvm_alloc,
    .free_volume = lvm_free,
    .list = lvm_list,
    .info = lvm_info,
    .path = lvm_path,
    .check = lvm_check,
    .resize = lvm_resize,
};

const struct storage_backend storage_backend_lvmthin = {
    .type = "lvmthin",
    .caps = STORAGE_CAP_SNAPSHOT | STORAGE_CAP_CLONE | STORAGE_CAP_TEMPLATE | STORAGE_CAP_RESIZE |
            STORAGE_CAP_THIN | STORAGE_CAP_COPY_SNAPSHOT_VOLUME,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct lvm_storage),
    .open = lvm_open,
    .close = lvm_close,
    .parse_volname = lvm_parse_volname,
    .activate = lvm_activate,
    .status = lvm_status,
    .alloc = lvm_alloc,
    .free_volume = lvm_free,
    .list = lvm_list,
    .info = lvm_info,
    .path = lvm_path,
    .check = lvmthin_check,
    .resize = lvm_resize,
    .snapshot_create = thin_snapshot_create,
    .snapshot_rollback = thin_snapshot_rollback,
    .snapshot_delete = thin_snapshot_delete,
    .snapshot_list = thin_snapshot_list,
    .clone = thin_clone,
    .create_base = thin_create_base,
    .snapshot_source = thin_snapshot_source,
    .snapshot_source_release = thin_snapshot_source_release,
};
