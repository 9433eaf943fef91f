/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage: the registry of backends and the entry points every caller
 * uses.  The entry points are where policy lives, once for all backends:
 * the capability check with one error message, the per-storage lock around
 * every change, and the refusal to free protected volumes and bases that
 * linked clones still use.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-btrfs.h"
#include "backend-lvm.h"
#include "backend-zfs.h"
#include "cmd.h"
#include "copy-cmd.h"
#include "error.h"
#include "fileio.h"
#include "image-header.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "task.h"
#include "xalloc.h"

#define STORAGE_LOCK_TIMEOUT_MS  (10 * 1000)
#define STORAGE_DEFAULT_LOCK_DIR "/run/ctvm"

/* Every backend ctvm has; add new ones here. */
static const struct storage_backend *const backends[] = {
    &storage_backend_dir,     &storage_backend_btrfs,   &storage_backend_lvm,
    &storage_backend_lvmthin, &storage_backend_zfspool,
};

/* Backends added by storage_backend_register(). */
#define STORAGE_MAX_REGISTERED 8
static const struct storage_backend *registered[STORAGE_MAX_REGISTERED];
static size_t n_registered;

static char *lock_dir;

const struct storage_backend *storage_backend_find(const char *type)
{
	if (!type)
		return NULL;
	/* registered first: a test's backend takes the place of a built-in
	 * one of its type */
	for (size_t i = 0; i < n_registered; i++)
		if (streq(registered[i]->type, type))
			return registered[i];
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (streq(backends[i]->type, type))
			return backends[i];
	return NULL;
}

static bool is_builtin(const struct storage_backend *be)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (backends[i] == be)
			return true;
	return false;
}

int storage_backend_register(const struct storage_backend *be)
{
	if (!be || !be->type || !*be->type || !be->parse_volname || !be->activate || !be->status ||
	    !be->alloc || !be->free_volume || !be->list || !be->info || !be->path ||
	    (be->state_size && be->state_size < sizeof(struct storage)))
		return -EINVAL;
	if (be->formats && !(be->formats & IMAGE_FORMAT_BIT(be->default_format)))
		return -EINVAL;
	const struct storage_backend *cur = storage_backend_find(be->type);
	if (cur && (cur == be || !is_builtin(cur)))
		return -EEXIST;
	if (n_registered == ARRAY_SIZE(registered))
		return -ENOSPC;
	registered[n_registered++] = be;
	return 0;
}

int storage_section_check_backend(const struct section *s, struct error **err)
{
	const struct storage_backend *be = storage_backend_find(s->type);

	return be && be->check ? be->check(s, err) : 0;
}

enum storage_caps storage_type_caps(const char *type)
{
	const struct storage_backend *be = storage_backend_find(type);

	return be ? be->caps : 0;
}

void storage_volume_clear(struct storage_volume *v)
{
	if (!v)
		return;
	free(v->volname);
	free(v->format);
	free(v->vtype);
	free(v->parent);
	free(v->notes);
	*v = (struct storage_volume){0};
}

void storage_volume_list_free(struct storage_volume *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		storage_volume_clear(&v[i]);
	free(v);
}

void storage_snapshot_list_free(struct storage_snapshot *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].name);
	free(s);
}

int storage_open(const struct storage_config_snapshot *snap, const char *id, struct storage **ret,
                 struct error **err)
{
	const struct section *cfg = section_config_find(storage_config_snapshot_config(snap), id);
	const struct storage_backend *be;
	const char *path;
	struct storage *st;

	if (!cfg)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	be = storage_backend_find(cfg->type);
	if (!be)
		return error_set(err, -EOPNOTSUPP, 500, "storage type '%s' is not supported",
		                 cfg->type);
	path = (be->caps & STORAGE_CAP_PATH) ? section_get(cfg, "path") : NULL;
	/* the config layer makes path required where the type has one; this
	 * guards a hand-built section */
	if ((be->caps & STORAGE_CAP_PATH) && (!path || path[0] != '/'))
		return error_set(err, -EINVAL, 500, "storage '%s' has no absolute path", id);
	/* the backend's state struct, struct storage first (storage_state()) */
	assert(!be->state_size || be->state_size >= sizeof(struct storage));
	st = xcalloc(1, be->state_size ? be->state_size : sizeof(struct storage));
	st->be = be;
	st->id = xstrdup(id);
	st->cfg = cfg;
	st->snap = storage_config_snapshot_ref(snap);
	st->path = path ? xstrdup(path) : NULL;
	if (be->open) {
		int r = be->open(st, err);

		if (r < 0) {
			storage_free(st);
			return r;
		}
	}
	*ret = st;
	return 0;
}

void *storage_state(const struct storage *st, const struct storage_backend *be)
{
	if (!st || st->be != be) {
		log_error("storage '%s' of type '%s' used as type '%s'", st ? st->id : "(null)",
		          st ? st->be->type : "(null)", be->type);
		abort();
	}
	return (void *)st;
}

int storage_lookup_enabled(const struct section_config *cfg, const char *id, const char *node,
                           const struct section **ret, struct error **err)
{
	const struct section *s = section_config_find(cfg, id);

	if (!s)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	if (!storage_section_enabled_on(s, node))
		return error_set(err, -ENODEV, 500, "storage '%s' is disabled", id);
	*ret = s;
	return 0;
}

int storage_open_enabled(const struct storage_config_snapshot *snap, const char *id,
                         const char *node, struct storage **ret, struct error **err)
{
	const struct section *s = NULL;
	int r = storage_lookup_enabled(storage_config_snapshot_config(snap), id, node, &s, err);

	if (r < 0)
		return r;
	return storage_open(snap, id, ret, err);
}

struct storage *storage_free(struct storage *st)
{
	if (!st)
		return NULL;
	if (st->be && st->be->close)
		st->be->close(st);
	storage_config_snapshot_unref(st->snap);
	free(st->id);
	free(st->path);
	free(st);
	return NULL;
}

void storage_set_lock_dir(const char *dir)
{
	free(lock_dir);
	lock_dir = dir ? xstrdup(dir) : NULL;
}

int storage_error_unsupported(const struct storage *st, const char *op, struct error **err)
{
	return error_set(err, -EOPNOTSUPP, 500,
	                 "operation '%s' is not supported by storage type '%s'", op, st->be->type);
}

int storage_run_cmd(const struct cmd *c, struct task_worker *w, struct cmd_result *r,
                    struct error **err)
{
	if (w) {
		_cleanup_free_ char *line = cmd_to_string(c);

		task_log(w, "%s", line);
	}
	return cmd_run(c, r, err);
}

/* PVE's snapshot name grammar (storage.md 1.4); the name goes into argv
 * and into file and LV names, so the entry points check it. */
bool storage_snapname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 40 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* flock on <lockdir>/storage-<id>.lock; returns the fd. */
/* The backend's slot, or storage-files.c for the file content of a storage
 * that holds it (STORAGE_CAP_FILES). */
static bool is_file_volume(const struct storage *st, const char *volname)
{
	return (st->be->caps & STORAGE_CAP_FILES) && storage_files_owns(volname);
}

int storage_parse_volname_files(const struct storage *st, const char *volname,
                                struct volname_info *ret, struct error **err)
{
	return volname_parse(volname, ret, err);
}

int storage_parse_volname(const struct storage *st, const char *volname, struct volname_info *ret,
                          struct error **err)
{
	struct volname_info vi = {.vtype = VTYPE_INVALID};
	int r;

	if (!volname)
		return volname_check(volname, err);
	r = is_file_volume(st, volname) ? volname_parse(volname, &vi, err)
	                                : st->be->parse_volname(st, volname, &vi, err);
	if (r < 0)
		return r;
	/* a backend's grammar may be wider than it should: never let a name
	 * that could leave the storage through, nor a result that says nothing */
	r = volname_check(volname, err);
	if (r >= 0 && (vtype_to_string(vi.vtype) == NULL || vi.vmid < 0))
		r = error_set(err, -EINVAL, 400, "unable to parse volume name '%s'", volname);
	if (r < 0) {
		volname_info_clear(&vi);
		return r;
	}
	*ret = vi;
	return 0;
}

int storage_parse_volname_of(const struct storage_config_snapshot *snap, const char *id,
                             const char *volname, struct volname_info *ret, struct error **err)
{
	const struct section *s = section_config_find(storage_config_snapshot_config(snap), id);
	struct storage *st = NULL;
	int r;

	if (!s || !storage_backend_find(s->type)) {
		r = volname_check(volname, err);
		if (r >= 0)
			*ret = (struct volname_info){.vtype = VTYPE_INVALID};
		return r;
	}
	r = storage_open(snap, id, &st, err);
	if (r >= 0)
		r = storage_parse_volname(st, volname, ret, err);
	storage_free(st);
	return r;
}

/* Every entry point that takes a volume name: no slot sees a name that its
 * backend's grammar or the common rules refuse. */
static int check_volname(const struct storage *st, const char *volname, struct error **err)
{
	struct volname_info vi;
	int r = storage_parse_volname(st, volname, &vi, err);

	if (r >= 0)
		volname_info_clear(&vi);
	return r;
}

static int vol_info(struct storage *st, const char *volname, struct storage_volume *ret,
                    struct error **err)
{
	if (is_file_volume(st, volname))
		return storage_files_info(st, volname, ret, err);
	return st->be->info(st, volname, ret, err);
}

static int vol_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	if (is_file_volume(st, volname))
		return storage_files_path(st, volname, ret_path, err);
	return st->be->path(st, volname, ret_path, err);
}

static int storage_lock(const struct storage *st, struct error **err)
{
	_cleanup_free_ char *path =
	    xasprintf("%s/storage-%s", lock_dir ? lock_dir : STORAGE_DEFAULT_LOCK_DIR, st->id);
	struct error *e = NULL;
	int fd;

	fd = lock_file(path, STORAGE_LOCK_TIMEOUT_MS, &e);
	if (fd < 0) {
		int r = error_set(err, fd, 500, "can't lock storage '%s': %s", st->id,
		                  e ? e->msg : "unknown error");

		error_free(e);
		return r;
	}
	return fd;
}

int storage_activate(struct storage *st, struct error **err)
{
	int fd, r;

	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = st->be->activate(st, err);
	unlock_file(fd);
	return r;
}

void storage_status_pool(struct storage_status *s, const char *what, double data_pct,
                         double meta_pct)
{
	static const int levels[] = STORAGE_WARN_LEVELS;
	double worst = data_pct > meta_pct ? data_pct : meta_pct;

	s->has_pool = true;
	s->data_pct = data_pct;
	s->meta_pct = meta_pct;
	s->warn_level = 0;
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
		if (worst >= levels[i])
			s->warn_level = levels[i];
	if (!s->warn_level)
		return;
	if (meta_pct >= 0)
		snprintf(s->message, sizeof(s->message),
		         "%s is %.1f%% full (data %.1f%%, metadata %.1f%%): above %d%%, free space "
		         "or extend it before guests get write errors",
		         what, worst, data_pct, meta_pct, s->warn_level);
	else
		snprintf(s->message, sizeof(s->message),
		         "%s is %.1f%% full: above %d%%, free space or extend it before guests get "
		         "write errors",
		         what, data_pct, s->warn_level);
}

/*
 * What the daemon log was last told per storage: its warning level and
 * whether it was inactive.  A status is asked every few seconds (the usage
 * collector, every client's storage list), so each level is logged once as
 * it is reached, and again only after the use fell below it; the same for
 * a storage going inactive.  Bounded: beyond STORAGE_LOG_SLOTS storages the
 * oldest slot is reused (at worst a warning is logged twice).
 */
#define STORAGE_LOG_SLOTS 64
static struct {
	char id[64];
	int level;
	bool inactive;
} logged[STORAGE_LOG_SLOTS];
static size_t logged_next;
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;

void storage_status_note(const struct storage *st, const struct storage_status *s)
{
	size_t i;

	if (strlen(st->id) >= sizeof(logged[0].id))
		return;
	pthread_mutex_lock(&logged_lock);
	for (i = 0; i < STORAGE_LOG_SLOTS && !streq(logged[i].id, st->id); i++)
		;
	if (i == STORAGE_LOG_SLOTS) {
		if (s->active && !s->warn_level)
			goto out; /* nothing to say, nothing to remember */
		i = logged_next++ % STORAGE_LOG_SLOTS;
		snprintf(logged[i].id, sizeof(logged[i].id), "%s", st->id);
		logged[i].level = 0;
		logged[i].inactive = false;
	}
	if (!s->active && !logged[i].inactive && s->message[0])
		log_warn("storage '%s' is not active: %s", st->id, s->message);
	logged[i].inactive = !s->active;
	if (s->active && s->warn_level > logged[i].level)
		log_warn("storage '%s': %s", st->id, s->message);
	if (s->active)
		logged[i].level = s->warn_level;
out:
	pthread_mutex_unlock(&logged_lock);
}

int storage_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	int r = st->be->status(st, ret, err);

	if (r >= 0)
		storage_status_note(st, ret);
	return r;
}

bool storage_backend_has_format(const struct storage_backend *be, const char *fmt)
{
	enum image_format f = image_format_from_string(fmt);

	return f != IMAGE_FORMAT_INVALID && (be->formats & IMAGE_FORMAT_BIT(f));
}

static bool format_valid(const struct storage *st, const char *fmt)
{
	return storage_backend_has_format(st->be, fmt);
}

int storage_alloc(struct storage *st, long vmid, const char *fmt, const char *name, uint64_t size,
                  struct task_worker *w, char **ret_volname, struct error **err)
{
	int fd, r;

	if (fmt && !format_valid(st, fmt))
		return error_set(err, -EINVAL, 400, "unsupported format '%s' for storage type '%s'",
		                 fmt, st->be->type);
	if (fmt && streq(fmt, "subvol") && !(st->be->caps & STORAGE_CAP_SUBVOL))
		return storage_error_unsupported(st, "alloc subvol", err);
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = st->be->alloc(st, vmid, fmt, name, size, w, ret_volname, err);
	unlock_file(fd);
	return r;
}

/* The "<vmid>/<name>" (or whole name) a clone's parent field names. */
static const char *volname_tail(const char *volname)
{
	const char *p = volname + strlen(volname);
	int slashes = 0;

	while (p > volname) {
		if (p[-1] == '/' && ++slashes == 2)
			return p;
		p--;
	}
	return volname;
}

/* Under the lock: refuses protected volumes and bases still used (is_base:
 * what the backend's grammar says of the name). */
static int check_free_allowed(struct storage *st, const char *volname, bool is_base,
                              struct error **err)
{
	struct storage_volume info = {0};
	struct storage_volume *vols = NULL;
	struct error *e = NULL;
	size_t n = 0;
	bool used = false;
	int r;

	r = vol_info(st, volname, &info, &e);
	if (r < 0) {
		/* a name that does not parse or a volume that is not there
		 * stops here; an image whose header cannot be read (a broken
		 * qcow2) can still be removed */
		if (e && e->http_status != 400 && e->http_status != 404) {
			error_free(e);
			goto check_base;
		}
		error_propagate(err, e);
		return r;
	}
	if (info.protected_) {
		storage_volume_clear(&info);
		return error_set(err, -EPERM, 500, "volume '%s:%s' is protected", st->id, volname);
	}
	storage_volume_clear(&info);
check_base:
	if (!is_base)
		return 0;

	r = st->be->list(st, 0, NULL, &vols, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !used; i++)
		used = vols[i].parent && streq(vols[i].parent, volname_tail(volname));
	storage_volume_list_free(vols, n);
	if (used)
		return error_set(
		    err, -EBUSY, 500,
		    "volume '%s:%s' is a base with linked clones and cannot be removed", st->id,
		    volname);
	return 0;
}

int storage_free_volume(struct storage *st, const char *volname, struct task_worker *w,
                        struct error **err)
{
	struct volname_info vi;
	int fd, r;

	r = storage_parse_volname(st, volname, &vi, err);
	if (r < 0)
		return r;
	bool is_base = vi.is_base;
	volname_info_clear(&vi);
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = check_free_allowed(st, volname, is_base, err);
	if (r >= 0)
		r = is_file_volume(st, volname) ? storage_files_free(st, volname, w, err)
		                                : st->be->free_volume(st, volname, w, err);
	unlock_file(fd);
	return r;
}

int storage_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                 size_t *ret_n, struct error **err)
{
	return st->be->list(st, vmid, content, ret, ret_n, err);
}

int storage_info(struct storage *st, const char *volname, struct storage_volume *ret,
                 struct error **err)
{
	int r = check_volname(st, volname, err);

	return r < 0 ? r : vol_info(st, volname, ret, err);
}

int storage_volume_exists(struct storage *st, const char *volname, struct error **err)
{
	struct storage_volume v = {0};
	struct stat sb;
	int r;

	if (!st->path) {
		r = storage_info(st, volname, &v, err);
		storage_volume_clear(&v);
		return r;
	}
	_cleanup_free_ char *path = NULL;
	r = storage_path(st, volname, &path, err);
	if (r < 0)
		return r;
	if (lstat(path, &sb) < 0)
		return error_set(err, -errno, errno == ENOENT ? 404 : 500,
		                 "volume '%s:%s' does not exist", st->id, volname);
	return 0;
}

int storage_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	int r = check_volname(st, volname, err);

	return r < 0 ? r : vol_path(st, volname, ret_path, err);
}

int storage_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                   struct error **err)
{
	int fd, r;

	if (!st->be->resize || !(st->be->caps & STORAGE_CAP_RESIZE))
		return storage_error_unsupported(st, "resize", err);
	r = check_volname(st, volname, err);
	if (r < 0)
		return r;
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = st->be->resize(st, volname, size, w, err);
	unlock_file(fd);
	return r;
}

/* Under the lock: a protected volume keeps its current state. */
static int check_rollback_allowed(struct storage *st, const char *volname, struct error **err)
{
	struct storage_volume info = {0};
	int r = vol_info(st, volname, &info, err);
	bool prot = info.protected_;

	storage_volume_clear(&info);
	if (r < 0)
		return r;
	if (prot)
		return error_set(err, -EPERM, 500, "volume '%s:%s' is protected", st->id, volname);
	return 0;
}

static int snapshot_op(struct storage *st, storage_snapshot_fn *fn, const char *op,
                       const char *volname, const char *snap, unsigned rollback_flags,
                       struct task_worker *w, struct error **err)
{
	bool rollback = streq(op, "rollback");
	int fd, r;

	if (!(st->be->caps & STORAGE_CAP_SNAPSHOT) ||
	    !(fn || (rollback && st->be->snapshot_rollback_flags)))
		return storage_error_unsupported(st, op, err);
	if (!snap || !storage_snapname_valid(snap))
		return error_param(err, "snapname",
		                   "invalid format - value does not match the regex");
	r = check_volname(st, volname, err);
	if (r < 0)
		return r;
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = rollback ? check_rollback_allowed(st, volname, err) : 0;
	if (r >= 0 && rollback && st->be->snapshot_rollback_flags)
		r = st->be->snapshot_rollback_flags(st, volname, snap, rollback_flags, w, err);
	else if (r >= 0)
		r = fn(st, volname, snap, w, err);
	unlock_file(fd);
	return r;
}

int storage_snapshot_create(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err)
{
	return snapshot_op(st, st->be->snapshot_create, "snapshot", volname, snap, 0, w, err);
}

int storage_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                              struct task_worker *w, struct error **err)
{
	return storage_snapshot_rollback_flags(st, volname, snap, 0, w, err);
}

int storage_snapshot_rollback_flags(struct storage *st, const char *volname, const char *snap,
                                    unsigned flags, struct task_worker *w, struct error **err)
{
	return snapshot_op(st, st->be->snapshot_rollback, "rollback", volname, snap, flags, w, err);
}

int storage_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err)
{
	return snapshot_op(st, st->be->snapshot_delete, "delsnapshot", volname, snap, 0, w, err);
}

int storage_snapshot_list(struct storage *st, const char *volname, struct storage_snapshot **ret,
                          size_t *ret_n, struct error **err)
{
	*ret = NULL;
	*ret_n = 0;
	int r = check_volname(st, volname, err);
	if (r < 0)
		return r;
	if (!st->be->snapshot_list || !(st->be->caps & STORAGE_CAP_SNAPSHOT)) {
		/* no snapshots here; the volume must still exist */
		struct storage_volume info = {0};

		r = vol_info(st, volname, &info, err);
		storage_volume_clear(&info);
		return r;
	}
	return st->be->snapshot_list(st, volname, ret, ret_n, err);
}

int storage_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                  struct task_worker *w, char **ret_volname, struct error **err)
{
	int fd, r;

	if (!st->be->clone || !(st->be->caps & STORAGE_CAP_CLONE))
		return storage_error_unsupported(st, "clone", err);
	r = check_volname(st, base_volname, err);
	if (r < 0)
		return r;
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = st->be->clone(st, base_volname, vmid, snap, w, ret_volname, err);
	unlock_file(fd);
	return r;
}

int storage_create_base(struct storage *st, const char *volname, struct task_worker *w,
                        char **ret_volname, struct error **err)
{
	int fd, r;

	if (!st->be->create_base || !(st->be->caps & STORAGE_CAP_TEMPLATE))
		return storage_error_unsupported(st, "template", err);
	r = check_volname(st, volname, err);
	if (r < 0)
		return r;
	fd = storage_lock(st, err);
	if (fd < 0)
		return fd;
	r = st->be->create_base(st, volname, w, ret_volname, err);
	unlock_file(fd);
	return r;
}

/* The extension of a file name if it names a format, else NULL. */
static const char *name_format(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;

	return dot ? image_format_to_string(image_format_from_string(dot + 1)) : NULL;
}

/* The new volume's format (storage.h: the name's, the source's, dst's default). */
static int copy_format(const struct storage *dst, const struct storage_volume *src,
                       const char *dst_name, const char **ret, struct error **err)
{
	bool subvol = streq(src->format, "subvol");
	const char *want = name_format(dst_name);

	if (subvol) {
		if (want && !streq(want, "subvol"))
			return error_set(err, -EINVAL, 400,
			                 "a container volume can only be copied to format subvol, "
			                 "not '%s'",
			                 want);
		if (!(dst->be->caps & STORAGE_CAP_SUBVOL) || !format_valid(dst, "subvol"))
			return storage_error_unsupported(dst, "alloc subvol", err);
		*ret = "subvol";
		return 0;
	}
	if (want && streq(want, "subvol"))
		return error_set(err, -EINVAL, 400,
		                 "a disk image cannot be copied to format subvol");
	if (want) {
		if (!format_valid(dst, want))
			return error_set(err, -EINVAL, 400,
			                 "unsupported format '%s' for storage type '%s'", want,
			                 dst->be->type);
		*ret = want;
		return 0;
	}
	if (format_valid(dst, src->format)) {
		*ret = src->format;
		return 0;
	}
	/* the default, else the first image format in the list's order */
	if (dst->be->default_format != IMAGE_FORMAT_SUBVOL &&
	    (dst->be->formats & IMAGE_FORMAT_BIT(dst->be->default_format))) {
		*ret = image_format_to_string(dst->be->default_format);
		return 0;
	}
	for (int f = 0; f < _IMAGE_FORMAT_MAX; f++)
		if (f != IMAGE_FORMAT_SUBVOL && (dst->be->formats & IMAGE_FORMAT_BIT(f))) {
			*ret = image_format_to_string((enum image_format)f);
			return 0;
		}
	return storage_error_unsupported(dst, "alloc image", err);
}

int storage_image_confined(const struct storage *st, const char *path, const char *fmt,
                           struct error **err)
{
	_cleanup_free_ char *root = storage_files_dir(st, "images", err);

	if (!root)
		return -EINVAL;
	return image_check_confined(path, fmt, root, err);
}

/* Whether a volume just allocated on st reads as zeros, so that qemu-img
 * need not write the source's zero areas (PVE's 'sparseinit' feature, which
 * makes it pass --target-is-zero too): a new file or qcow2 on a storage with
 * a path, a thin LV (dm-thin returns zeros for unprovisioned blocks), a
 * zvol.  Without it qemu-img writes zeros over every hole, which on lvmthin
 * provisions the whole volume: a full clone of a mostly empty 8 GiB disk
 * took 8 GiB of the pool.  A thick LV (lvm) holds what was there before. */
static bool new_volume_reads_zero(const struct storage *st)
{
	return st->path != NULL || (st->be->caps & STORAGE_CAP_THIN);
}

/* Whether snapshot snap of a volume of format fmt on st is read inside the
 * image (qcow2 internal snapshots, qemu-img's -l), not as a volume of its own. */
static bool snap_in_image(const struct storage *st, const char *snap, const char *fmt)
{
	return snap && (st->be->caps & STORAGE_CAP_COPY_SNAPSHOT) && streq_ptr(fmt, "qcow2");
}

/* Fills the new volume dst_volname from spath, the source's path (a
 * snapshot's own when it is a volume of its own: then snap is NULL here). */
static int copy_fill(const char *spath, const char *src_fmt, const char *snap, struct storage *dst,
                     const char *dst_volname, const char *dst_fmt, struct task_worker *w,
                     struct error **err)
{
	_cleanup_free_ char *dpath = NULL;
	struct cmd c;
	int r;

	r = vol_path(dst, dst_volname, &dpath, err);
	if (r < 0)
		return r;
	if (streq(dst_fmt, "subvol"))
		storage_rsync_build_cmd(&c, spath, dpath);
	else
		storage_convert_snapshot_build_cmd(&c, spath, src_fmt, snap, dpath, dst_fmt,
		                                   new_volume_reads_zero(dst));
	r = storage_run_cmd(&c, w, NULL, err);
	cmd_release(&c);
	return r;
}

bool storage_can_copy_snapshot(const struct storage *st, const char *volname, const char *snap)
{
	struct volname_info vi = {0};
	bool ok;

	if (!snap)
		return true;
	/* the name goes into qemu-img's option syntax: the grammar keeps ',' out */
	if (!storage_snapname_valid(snap) || storage_parse_volname(st, volname, &vi, NULL) < 0)
		return false;
	if (st->be->caps & STORAGE_CAP_COPY_SNAPSHOT_VOLUME)
		ok = (vi.vtype == VTYPE_IMAGES || vi.vtype == VTYPE_ROOTDIR) && vi.format &&
		     st->be->snapshot_source;
	else
		ok = vi.vtype == VTYPE_IMAGES && snap_in_image(st, snap, vi.format);
	volname_info_clear(&vi);
	return ok;
}

int storage_copy(struct storage *src, const char *src_volname, struct storage *dst,
                 const char *dst_name, long vmid, struct task_worker *w, char **ret_volname,
                 struct error **err)
{
	return storage_copy_snapshot(src, src_volname, NULL, dst, dst_name, vmid, w, ret_volname,
	                             err);
}

int storage_copy_snapshot(struct storage *src, const char *src_volname, const char *snap,
                          struct storage *dst, const char *dst_name, long vmid,
                          struct task_worker *w, char **ret_volname, struct error **err)
{
	struct storage_volume info = {0};
	_cleanup_free_ char *newvol = NULL, *spath = NULL;
	const char *fmt = NULL;
	bool own_volume = false; /* the snapshot is a volume of its own */
	uint64_t size;
	int r;

	r = check_volname(src, src_volname, err);
	if (r < 0)
		return r;
	if (!storage_can_copy_snapshot(src, src_volname, snap))
		return error_set(err, -EOPNOTSUPP, 500,
		                 "snapshot copy is not supported for '%s:%s'", src->id,
		                 src_volname);
	r = vol_info(src, src_volname, &info, err);
	if (r < 0)
		goto out;
	if (!info.vtype || !(streq(info.vtype, "images") || streq(info.vtype, "rootdir")) ||
	    !info.format) {
		r = error_set(err, -EINVAL, 400,
		              "volume '%s:%s' is not a disk image or container volume", src->id,
		              src_volname);
		goto out;
	}
	r = copy_format(dst, &info, dst_name, &fmt, err);
	if (r < 0)
		goto out;
	if (snap && !snap_in_image(src, snap, info.format)) {
		r = src->be->snapshot_source(src, src_volname, snap, w, &spath, err);
		if (r < 0)
			goto out;
		own_volume = true;
	} else {
		r = vol_path(src, src_volname, &spath, err);
		if (r < 0)
			goto out;
	}
	/* qemu-img convert reads the whole backing chain into the copy */
	if (src->path && !streq(info.format, "subvol") &&
	    (r = storage_image_confined(src, spath, info.format, err)) < 0)
		goto out;
	size = info.size;
	if (streq(fmt, "subvol") && !(dst->be->caps & STORAGE_CAP_SUBVOL_SIZE))
		size = 0; /* the target cannot limit it: no size, as any subvol there */
	if (w)
		task_log(w, "copy '%s:%s'%s%s (%s, %" PRIu64 " bytes) to storage '%s' as %s",
		         src->id, src_volname, snap ? " snapshot " : "", snap ? snap : "",
		         info.format, info.size, dst->id, fmt);
	r = storage_alloc(dst, vmid, fmt, dst_name, size, w, &newvol, err);
	if (r < 0)
		goto out;
	if (w)
		task_log(w, "allocated '%s:%s'", dst->id, newvol);
	/* from here until it is complete or freed, a crash leaves a record */
	char *jpath = NULL;
	int jfd = storage_pending_begin(dst->id, newvol, &jpath);
	if (jfd < 0 && jfd != -ENOENT && w)
		task_warn(w, "unable to record the copy in progress - %s", strerror(-jfd));
	r = copy_fill(spath, info.format, own_volume ? NULL : snap, dst, newvol, fmt, w, err);
	if (r < 0) {
		struct error *e = NULL;

		/* nothing half-written stays: the new volume goes */
		if (w)
			task_log(w, "copy failed, removing '%s:%s'", dst->id, newvol);
		int fr = storage_free_volume(dst, newvol, w, &e);
		if (fr < 0 && w)
			task_log(w, "unable to remove '%s:%s': %s", dst->id, newvol,
			         e ? e->msg : "unknown error");
		error_free(e);
		storage_pending_end(jpath, jfd, fr >= 0);
		goto out;
	}
	storage_pending_end(jpath, jfd, true);
	*ret_volname = TAKE_PTR(newvol);
out:
	if (own_volume && src->be->snapshot_source_release)
		src->be->snapshot_source_release(src, src_volname, snap, w);
	storage_volume_clear(&info);
	return r;
}

int storage_import_file(struct storage *dst, const char *path, const char *want_fmt, long vmid,
                        struct task_worker *w, char **ret_volname, uint64_t *ret_size,
                        struct error **err)
{
	struct storage_volume src = {0};
	_cleanup_free_ char *newvol = NULL, *dpath = NULL;
	const char *src_fmt = NULL, *fmt = NULL;
	uint64_t size = 0;
	struct cmd c;
	int r;

	r = image_check_host_file(path, &src_fmt, &size, err);
	if (r < 0)
		return r;
	src.format = (char *)src_fmt; /* copy_format() only reads it */
	if (want_fmt && (streq(want_fmt, "subvol") || !format_valid(dst, want_fmt)))
		return error_set(err, -EINVAL, 400, "unsupported format '%s' for storage type '%s'",
		                 want_fmt, dst->be->type);
	if (want_fmt)
		fmt = want_fmt;
	else if ((r = copy_format(dst, &src, NULL, &fmt, err)) < 0)
		return r;
	if (w)
		task_log(w, "import '%s' (%s, %" PRIu64 " bytes) to storage '%s' as %s", path,
		         src_fmt, size, dst->id, fmt);
	r = storage_alloc(dst, vmid, fmt, NULL, size, w, &newvol, err);
	if (r < 0)
		return r;
	char *jpath = NULL;
	int jfd = storage_pending_begin(dst->id, newvol, &jpath);
	if (jfd < 0 && jfd != -ENOENT && w)
		task_warn(w, "unable to record the import in progress - %s", strerror(-jfd));
	r = vol_path(dst, newvol, &dpath, err);
	if (r == 0) {
		storage_convert_build_cmd(&c, path, src_fmt, dpath, fmt,
		                          new_volume_reads_zero(dst));
		r = storage_run_cmd(&c, w, NULL, err);
		cmd_release(&c);
	}
	if (r < 0) {
		struct error *e = NULL;
		int fr = storage_free_volume(dst, newvol, w, &e);
		if (fr < 0 && w)
			task_log(w, "unable to remove '%s:%s': %s", dst->id, newvol,
			         e ? e->msg : "unknown error");
		error_free(e);
		storage_pending_end(jpath, jfd, fr >= 0);
		return r;
	}
	storage_pending_end(jpath, jfd, true);
	*ret_volname = TAKE_PTR(newvol);
	*ret_size = size;
	return 0;
}
