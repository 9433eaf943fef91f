/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The btrfs storage backend; the layout is described in backend-btrfs.h.
 *
 * Like PVE's BTRFSPlugin: rollback snapshots the snapshot to a temporary
 * subvolume and swaps it with the current one by renameat2(RENAME_EXCHANGE),
 * so any snapshot can be restored and newer ones survive.  Beyond PVE:
 * container subvolumes get a qgroup limit (re-applied after rollback and
 * copied to clones, since a new subvolume starts without one), and linked
 * clones record their base so the base cannot be freed under them.
 *
 * ISO images, templates, backups, snippets and import sources are plain
 * files in the content directories, as on a dir storage (STORAGE_CAP_FILES:
 * the dispatcher sends their info, path and free to storage-files.c; the
 * list here merges them with the images).  Images stay below
 * <path>/images: content-dirs is not a btrfs option (nor in PVE, whose
 * BTRFSPlugin would honour it through get_subdir but does not accept it).
 *
 * Callers (storage.c) hold the per-storage lock around every change.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <btrfsutil.h>

#include "backend-btrfs.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "task.h"
#include "xalloc.h"

#define BTRFS_DISK_FILE    "disk.raw"
#define BTRFS_PARENT_XATTR "user.ctvm.parent"
#define BTRFS_MAX_DISKS    1024

/* A btrfs storage's own state (storage_backend.state_size). */
struct btrfs_storage {
	struct storage st; /* first: what the dispatcher hands out */
	bool nocow;        /* new raw disks get FS_NOCOW_FL (the nocow key) */
};

_Static_assert(offsetof(struct btrfs_storage, st) == 0, "struct storage comes first");

static struct btrfs_storage *btrfs_of(const struct storage *st)
{
	return storage_state(st, &storage_backend_btrfs);
}

static int btrfs_open(struct storage *st, struct error **err)
{
	btrfs_of(st)->nocow = streq_ptr(section_get(st->cfg, "nocow"), "1");
	return 0;
}

/* A parsed volume name: "<vmid>/<name>.<raw|subvol>". */
struct btrfs_vol {
	long vmid;
	char *name; /* the subvolume's name, "vm-100-disk-0" */
	bool subvol;
	bool base;
};

static void btrfs_vol_clear(struct btrfs_vol *v)
{
	free(v->name);
	v->name = NULL;
}

static void wlog(struct task_worker *w, const char *fmt, ...) _printf_(2, 3);
static void wlog(struct task_worker *w, const char *fmt, ...)
{
	if (!w)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = xvasprintf(fmt, ap);
	va_end(ap);
	task_log(w, "%s", s);
}

static bool parse_long(const char *s, size_t n, long *ret)
{
	long v = 0;
	if (n == 0 || n > 9 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/*
 * Checks a subvolume name "<prefix>-<vmid>-<rest>" (prefix vm, base, subvol,
 * basevol) and returns its kind.  rest uses [A-Za-z0-9_.-] only, so no '/',
 * no '@' (snapshot separator) and never "." or "..".
 */
static bool subvol_name_parse(const char *name, long vmid, bool *ret_subvol, bool *ret_base)
{
	static const struct {
		const char *prefix;
		bool subvol, base;
	} kinds[] = {
	    {"vm-", false, false},
	    {"base-", false, true},
	    {"subvol-", true, false},
	    {"basevol-", true, true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!str_startswith(name, kinds[i].prefix))
			continue;
		const char *p = name + strlen(kinds[i].prefix);
		const char *dash = strchr(p, '-');
		long id;
		if (!dash || !parse_long(p, (size_t)(dash - p), &id) || id != vmid || !dash[1])
			return false;
		for (const char *s = dash + 1; *s; s++)
			if (!name_char_ok(*s))
				return false;
		*ret_subvol = kinds[i].subvol;
		*ret_base = kinds[i].base;
		return true;
	}
	return false;
}

static int vol_parse(const char *volname, struct btrfs_vol *ret, struct error **err)
{
	_cleanup_free_ char *name = NULL;
	const char *slash = strchr(volname, '/');
	long vmid;
	if (!slash || !parse_long(volname, (size_t)(slash - volname), &vmid))
		goto bad;
	const char *file = slash + 1;
	const char *dot = strrchr(file, '.');
	if (!dot)
		goto bad;
	name = xstrndup(file, (size_t)(dot - file));
	bool subvol, base;
	if (!subvol_name_parse(name, vmid, &subvol, &base))
		goto bad;
	if (!streq(dot + 1, subvol ? "subvol" : "raw"))
		goto bad;
	*ret = (struct btrfs_vol){
	    .vmid = vmid, .name = TAKE_PTR(name), .subvol = subvol, .base = base};
	return 0;
bad:
	return error_set(err, -EINVAL, 400, "unable to parse btrfs volume name '%s'", volname);
}

/* The file grammar dir has (volid.h), which btrfs's own names are a part
 * of; only it knows that the template of a container volume, "basevol-",
 * is a base too. */
static int btrfs_parse_volname(const struct storage *st, const char *volname,
                               struct volname_info *ret, struct error **err)
{
	int r = storage_parse_volname_files(st, volname, ret, err);

	if (r >= 0 && ret->vtype == VTYPE_IMAGES && str_startswith(ret->name, "basevol-"))
		ret->is_base = true;
	return r;
}

static char *vol_volname(long vmid, const char *name, bool subvol)
{
	return xasprintf("%ld/%s.%s", vmid, name, subvol ? "subvol" : "raw");
}

static char *images_dir(const struct storage *st, long vmid)
{
	return xasprintf("%s/images/%ld", st->path, vmid);
}

static char *subvol_path(const struct storage *st, long vmid, const char *name)
{
	return xasprintf("%s/images/%ld/%s", st->path, vmid, name);
}

static char *snap_path(const struct storage *st, long vmid, const char *name, const char *snap)
{
	return xasprintf("%s/images/%ld/%s@%s", st->path, vmid, name, snap);
}

static int bu_error(struct error **err, enum btrfs_util_error e, const char *what, const char *path)
{
	int r = errno > 0 ? -errno : -EIO;
	return error_set(err, r, 500, "%s '%s' failed: %s (%s)", what, path, btrfs_util_strerror(e),
	                 strerror(-r));
}

static int snap_name_check(const char *snap, struct error **err)
{
	/* PVE's snapshot name grammar: [a-zA-Z][a-zA-Z0-9_-]+ */
	bool ok =
	    snap && ((snap[0] >= 'a' && snap[0] <= 'z') || (snap[0] >= 'A' && snap[0] <= 'Z'));
	size_t n = ok ? strlen(snap) : 0;
	ok = ok && n >= 2 && n <= 40;
	for (size_t i = 1; ok && i < n; i++)
		ok = name_char_ok(snap[i]) && snap[i] != '.';
	if (!ok)
		return error_param(err, "snapname", "invalid snapshot name");
	return 0;
}

static int subvol_exists(const char *path)
{
	enum btrfs_util_error e = btrfs_util_is_subvolume(path);
	if (e == BTRFS_UTIL_OK)
		return 1;
	if (e == BTRFS_UTIL_ERROR_NOT_SUBVOLUME || e == BTRFS_UTIL_ERROR_NOT_BTRFS ||
	    errno == ENOENT)
		return 0;
	return -(errno ? errno : EIO);
}

static int vol_require(const struct storage *st, const struct btrfs_vol *v, const char *volname,
                       char **ret_path, struct error **err)
{
	_cleanup_free_ char *p = subvol_path(st, v->vmid, v->name);
	int r = subvol_exists(p);
	if (r < 0)
		return error_set(err, r, 500, "unable to check '%s': %s", p, strerror(-r));
	if (r == 0)
		return error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id,
		                 volname);
	*ret_path = TAKE_PTR(p);
	return 0;
}

/* --- qgroups (container subvolume size limits) --- */

/* A container volume's size is a qgroup limit, so it needs quotas on the
 * file system: ctvm does not turn them on behind the user's back (they cost
 * on every write and snapshot), it says so instead of btrfs's "quota not
 * enabled". */
static int qgroup_limit(const char *path, uint64_t bytes, struct task_worker *w, struct error **err)
{
	struct cmd c;
	struct error *e = NULL;
	btrfs_qgroup_limit_build_cmd(&c, path, bytes);
	int r = storage_run_cmd(&c, w, NULL, &e);
	cmd_release(&c);
	if (r < 0 && e && strstr(e->msg, "quota not enabled")) {
		error_free(e);
		return error_set(
		    err, -EOPNOTSUPP, 500,
		    "unable to give a container volume a size: btrfs quotas are not "
		    "enabled on the file system of '%s' (enable them with 'btrfs quota "
		    "enable <mount point>', or allocate it with size 0: no limit)",
		    path);
	}
	if (e)
		error_propagate(err, e);
	return r;
}

/* Referenced bytes and limit of the subvolume at path; both 0 when quotas
 * are off (the subvolume then has no size). */
static void qgroup_query(const char *path, uint64_t *ret_rfer, uint64_t *ret_limit)
{
	uint64_t id;
	struct cmd c;
	struct cmd_result res = {0};

	*ret_rfer = *ret_limit = 0;
	if (btrfs_util_subvolume_id(path, &id) != BTRFS_UTIL_OK)
		return;
	btrfs_qgroup_show_build_cmd(&c, path);
	if (cmd_run(&c, &res, NULL) == 0 && res.out)
		(void)btrfs_qgroup_show_parse(res.out, id, ret_rfer, ret_limit);
	cmd_result_clear(&res);
	cmd_release(&c);
}

/* --- volume info --- */

static char *parent_get(const char *path)
{
	char buf[256];
	ssize_t n = getxattr(path, BTRFS_PARENT_XATTR, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static int vol_fill(const struct storage *st, long vmid, const char *name, bool subvol,
                    struct storage_volume *ret, struct error **err)
{
	_cleanup_free_ char *p = subvol_path(st, vmid, name);
	struct btrfs_util_subvolume_info si;
	enum btrfs_util_error e = btrfs_util_subvolume_info(p, 0, &si);
	if (e != BTRFS_UTIL_OK)
		return bu_error(err, e, "subvolume info", p);

	struct storage_volume v = {
	    .volname = vol_volname(vmid, name, subvol),
	    .format = xstrdup(subvol ? "subvol" : "raw"),
	    .vtype = xstrdup(subvol ? "rootdir" : "images"),
	    .vmid = vmid,
	    .parent = parent_get(p),
	    .ctime = si.otime.tv_sec,
	};
	if (subvol) {
		qgroup_query(p, &v.used, &v.size);
	} else {
		_cleanup_free_ char *f = path_join(p, BTRFS_DISK_FILE);
		struct stat sb;
		if (stat(f, &sb) < 0) {
			int r = -errno;
			storage_volume_clear(&v);
			return error_set(err, r, 500, "unable to stat '%s': %s", f, strerror(-r));
		}
		v.size = (uint64_t)sb.st_size;
		v.used = (uint64_t)sb.st_blocks * 512;
	}
	*ret = v;
	return 0;
}

/* --- the slots --- */

static bool on_btrfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == BTRFS_SUPER_MAGIC;
}

/* The dir preparation (is_mountpoint, create-base-path, create-subdirs),
 * then the check PVE does with the statfs magic. */
static int btrfs_activate(struct storage *st, struct error **err)
{
	if (!st->path)
		return error_set(err, -EINVAL, 500, "storage '%s' has no path", st->id);
	if (st->cfg) {
		int r = storage_dir_prepare(st->cfg, err);
		if (r < 0)
			return r;
	} else if (mkdir_p(st->path, 0755) < 0) {
		return error_set(err, -errno, 500, "unable to activate storage '%s' - %s", st->id,
		                 strerror(errno));
	}
	if (!on_btrfs(st->path))
		return error_set(err, -ENOTSUP, 500,
		                 "unable to activate storage '%s' - path '%s' is not on btrfs",
		                 st->id, st->path);
	return 0;
}

static int btrfs_list(struct storage *st, long vmid, const char *content,
                      struct storage_volume **ret, size_t *ret_n, struct error **err);

/* At add time (after the API prepared the directory): PVE finds a path that
 * is not btrfs only at the first activation. */
static int btrfs_check(const struct section *s, struct error **err)
{
	const char *path = section_get(s, "path");

	if (path && !on_btrfs(path))
		return error_param(err, "path", "path '%s' is not on a btrfs file system", path);
	return 0;
}

static int btrfs_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	struct statvfs sv;
	/* not (yet) there, e.g. an is_mountpoint that is not mounted */
	if (!on_btrfs(st->path)) {
		*ret = (struct storage_status){.active = false};
		return 0;
	}
	if (statvfs(st->path, &sv) < 0)
		return error_set(err, -errno, 500, "unable to get status of '%s': %s", st->path,
		                 strerror(errno));
	struct storage_status s = {
	    .total = (uint64_t)sv.f_blocks * sv.f_frsize,
	    .avail = (uint64_t)sv.f_bavail * sv.f_frsize,
	    .used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize,
	    .active = true,
	};
	struct storage_volume *vols = NULL;
	size_t n = 0;
	if (btrfs_list(st, 0, "images,rootdir", &vols, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			s.provisioned += vols[i].size;
		storage_volume_list_free(vols, n);
	}
	*ret = s;
	return 0;
}

/* The lowest free vm-/subvol-<vmid>-disk-N, any of the four prefixes counting
 * as taken (PVE's find_free_diskname). */
static int find_free_name(const struct storage *st, long vmid, bool subvol, char **ret,
                          struct error **err)
{
	static const char *const prefixes[] = {"vm", "base", "subvol", "basevol"};
	_cleanup_free_ char *dir = images_dir(st, vmid);
	for (int n = 0; n < BTRFS_MAX_DISKS; n++) {
		bool taken = false;
		for (size_t i = 0; i < ARRAY_SIZE(prefixes) && !taken; i++) {
			_cleanup_free_ char *p =
			    xasprintf("%s/%s-%ld-disk-%d", dir, prefixes[i], vmid, n);
			taken = access(p, F_OK) == 0;
		}
		if (!taken) {
			*ret = xasprintf("%s-%ld-disk-%d", subvol ? "subvol" : "vm", vmid, n);
			return 0;
		}
	}
	return error_set(err, -ENOSPC, 500,
	                 "unable to allocate an image name for VM %ld in storage '%s'", vmid,
	                 st->id);
}

/* A requested name: "vm-100-disk-3", optionally with the format's suffix. */
static int name_from_request(const char *req, long vmid, bool subvol, char **ret,
                             struct error **err)
{
	const char *suffix = subvol ? ".subvol" : ".raw";
	size_t n = strlen(req), sn = strlen(suffix);
	_cleanup_free_ char *name =
	    (n > sn && streq(req + n - sn, suffix)) ? xstrndup(req, n - sn) : xstrdup(req);
	bool is_subvol, is_base;
	if (!subvol_name_parse(name, vmid, &is_subvol, &is_base) || is_subvol != subvol || is_base)
		return error_param(err, "filename", "illegal name '%s' for VM %ld", req, vmid);
	*ret = TAKE_PTR(name);
	return 0;
}

static int raw_create(const char *dir, uint64_t size, bool nocow, struct error **err)
{
	_cleanup_free_ char *f = path_join(dir, BTRFS_DISK_FILE);
	_cleanup_close_ int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to create '%s': %s", f, strerror(errno));
	if (nocow) {
		/* only takes effect while the file is empty */
		int flags = 0;
		if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
			flags |= FS_NOCOW_FL;
			(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
		}
	}
	if (ftruncate(fd, (off_t)size) < 0)
		return error_set(err, -errno, 500, "unable to set size of '%s': %s", f,
		                 strerror(errno));
	return 0;
}

static int subvol_delete(const char *path, struct task_worker *w, struct error **err)
{
	wlog(w, "delete subvolume '%s'", path);
	enum btrfs_util_error e = btrfs_util_delete_subvolume(path, 0);
	if (e != BTRFS_UTIL_OK)
		return bu_error(err, e, "delete subvolume", path);
	return 0;
}

static int btrfs_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                       uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	if (!fmt)
		fmt = "raw";
	bool subvol = streq(fmt, "subvol");
	if (!subvol && !streq(fmt, "raw"))
		return error_param(err, "format", "unsupported format '%s' for storage type btrfs",
		                   fmt);
	if (!subvol && size == 0)
		return error_param(err, "size", "size must be greater than 0");

	_cleanup_free_ char *sname = NULL;
	int r = name ? name_from_request(name, vmid, subvol, &sname, err)
	             : find_free_name(st, vmid, subvol, &sname, err);
	if (r < 0)
		return r;

	_cleanup_free_ char *dir = images_dir(st, vmid);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create '%s': %s", dir, strerror(-r));
	_cleanup_free_ char *p = subvol_path(st, vmid, sname);
	if (access(p, F_OK) == 0)
		return error_set(err, -EEXIST, 500, "volume '%s:%ld/%s.%s' already exists", st->id,
		                 vmid, sname, fmt);

	wlog(w, "create subvolume '%s'", p);
	enum btrfs_util_error e = btrfs_util_create_subvolume(p, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK)
		return bu_error(err, e, "create subvolume", p);

	if (subvol)
		r = size ? qgroup_limit(p, size, w, err) : 0;
	else
		r = raw_create(p, size, btrfs_of(st)->nocow, err);
	if (r < 0) {
		(void)btrfs_util_delete_subvolume(p, 0);
		return r;
	}
	*ret_volname = vol_volname(vmid, sname, subvol);
	return 0;
}

/* Calls fn for each snapshot subvolume "<name>@<snap>" of a volume. */
static int snapshots_foreach(const struct storage *st, const struct btrfs_vol *v,
                             int (*fn)(const char *path, const char *snap, void *arg), void *arg)
{
	_cleanup_free_ char *dir = images_dir(st, v->vmid);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	size_t n = strlen(v->name);
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, v->name, n) != 0 || de->d_name[n] != '@')
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		r = fn(p, de->d_name + n + 1, arg);
	}
	closedir(d);
	return r;
}

struct del_ctx {
	struct task_worker *w;
	struct error **err;
};

static int delete_one(const char *path, const char *snap, void *arg)
{
	struct del_ctx *c = arg;
	return subvol_delete(path, c->w, c->err);
}

static int clones_of(struct storage *st, const char *volname, char **ret_clone, struct error **err)
{
	struct storage_volume *vols = NULL;
	size_t n = 0;
	int r = btrfs_list(st, 0, "images,rootdir", &vols, &n, err);
	if (r < 0)
		return r;
	*ret_clone = NULL;
	for (size_t i = 0; i < n && !*ret_clone; i++)
		if (streq_ptr(vols[i].parent, volname))
			*ret_clone = xstrdup(vols[i].volname);
	storage_volume_list_free(vols, n);
	return 0;
}

static int btrfs_free(struct storage *st, const char *volname, struct task_worker *w,
                      struct error **err)
{
	struct btrfs_vol v = {0};
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = NULL;
	r = vol_require(st, &v, volname, &p, err);
	if (r >= 0 && v.base) {
		_cleanup_free_ char *clone = NULL;
		r = clones_of(st, volname, &clone, err);
		if (r >= 0 && clone)
			r = error_set(err, -EBUSY, 400,
			              "base volume '%s' is still in use by linked clone '%s'",
			              volname, clone);
	}
	if (r >= 0) {
		struct del_ctx c = {w, err};
		r = snapshots_foreach(st, &v, delete_one, &c);
		if (r < 0)
			error_set(err, r, 500, "unable to delete snapshots of '%s': %s", volname,
			          strerror(-r));
	}
	if (r >= 0)
		r = subvol_delete(p, w, err);
	if (r >= 0) {
		/* the guest's directory goes with its last volume */
		_cleanup_free_ char *dir = images_dir(st, v.vmid);
		(void)rmdir(dir);
	}
	btrfs_vol_clear(&v);
	return r;
}

/* Which image volumes a list call wants: raw disks are images, subvols
 * rootdir. */
struct want {
	bool images, rootdir;
};

static int list_vmid(struct storage *st, long vmid, struct want want, struct storage_volume **vols,
                     size_t *n, size_t *alloc, struct error **err)
{
	_cleanup_free_ char *dir = images_dir(st, vmid);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		bool subvol, base;
		if (!subvol_name_parse(de->d_name, vmid, &subvol, &base) ||
		    !(subvol ? want.rootdir : want.images))
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		if (subvol_exists(p) != 1)
			continue;
		if (*n == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 8;
			*vols = xrealloc(*vols, *alloc * sizeof(**vols));
		}
		r = vol_fill(st, vmid, de->d_name, subvol, &(*vols)[*n], err);
		if (r == -ENOENT) { /* freed meanwhile */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		(*n)++;
	}
	closedir(d);
	return r;
}

static int vol_cmp(const void *a, const void *b)
{
	const struct storage_volume *x = a, *y = b;
	return strcmp(x->volname, y->volname);
}

static int btrfs_list(struct storage *st, long vmid, const char *content,
                      struct storage_volume **ret, size_t *ret_n, struct error **err)
{
	struct storage_volume *vols = NULL;
	size_t n = 0, alloc = 0;
	int r = 0;
	struct want want = {
	    .images = storage_content_wanted(st, content, "images"),
	    .rootdir = storage_content_wanted(st, content, "rootdir"),
	};

	if (!want.images && !want.rootdir) {
		/* no images wanted: only file content */
	} else if (vmid > 0) {
		r = list_vmid(st, vmid, want, &vols, &n, &alloc, err);
	} else {
		_cleanup_free_ char *img = path_join(st->path, "images");
		DIR *d = opendir(img);
		struct dirent *de;
		while (d && r >= 0 && (de = readdir(d))) {
			long id;
			if (parse_long(de->d_name, strlen(de->d_name), &id))
				r = list_vmid(st, id, want, &vols, &n, &alloc, err);
		}
		if (d)
			closedir(d);
	}
	if (r >= 0 && n > 1)
		qsort(vols, n, sizeof(*vols), vol_cmp);
	/* then the files, in dir's order */
	struct volume_list l = {vols, n, alloc};
	if (r >= 0)
		r = storage_files_list(st, vmid, content, &l, err);
	if (r < 0) {
		storage_volume_list_free(l.v, l.n);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

static int btrfs_info(struct storage *st, const char *volname, struct storage_volume *ret,
                      struct error **err)
{
	struct btrfs_vol v = {0};
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = NULL;
	r = vol_require(st, &v, volname, &p, err);
	if (r >= 0)
		r = vol_fill(st, v.vmid, v.name, v.subvol, ret, err);
	btrfs_vol_clear(&v);
	return r;
}

static int btrfs_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	struct btrfs_vol v = {0};
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = subvol_path(st, v.vmid, v.name);
	*ret_path = v.subvol ? TAKE_PTR(p) : path_join(p, BTRFS_DISK_FILE);
	btrfs_vol_clear(&v);
	return 0;
}

static int btrfs_resize(struct storage *st, const char *volname, uint64_t size,
                        struct task_worker *w, struct error **err)
{
	struct btrfs_vol v = {0};
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *p = NULL;
	r = vol_require(st, &v, volname, &p, err);
	if (r >= 0 && v.base)
		r = error_set(err, -EROFS, 400, "unable to resize base volume '%s'", volname);
	if (r >= 0 && v.subvol) {
		r = qgroup_limit(p, size, w, err);
	} else if (r >= 0) {
		_cleanup_free_ char *f = path_join(p, BTRFS_DISK_FILE);
		struct stat sb;
		wlog(w, "resize '%s' to %" PRIu64 " bytes", f, size);
		if (stat(f, &sb) < 0)
			r = error_set(err, -errno, 500, "unable to stat '%s': %s", f,
			              strerror(errno));
		else if ((uint64_t)sb.st_size > size)
			r = error_set(err, -EINVAL, 400, "shrinking disks is not supported");
		else if (truncate(f, (off_t)size) < 0)
			r = error_set(err, -errno, 500, "unable to resize '%s': %s", f,
			              strerror(errno));
	}
	btrfs_vol_clear(&v);
	return r;
}

/* Parses volname and snap, and returns the volume's and snapshot's paths. */
static int snap_prepare(struct storage *st, const char *volname, const char *snap,
                        struct btrfs_vol *v, char **ret_path, char **ret_snap, struct error **err)
{
	int r = snap_name_check(snap, err);
	if (r < 0)
		return r;
	r = vol_parse(volname, v, err);
	if (r < 0)
		return r;
	r = vol_require(st, v, volname, ret_path, err);
	if (r < 0) {
		btrfs_vol_clear(v);
		return r;
	}
	*ret_snap = snap_path(st, v->vmid, v->name, snap);
	return 0;
}

static int btrfs_snapshot_create(struct storage *st, const char *volname, const char *snap,
                                 struct task_worker *w, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *sp = NULL;
	int r = snap_prepare(st, volname, snap, &v, &p, &sp, err);
	if (r < 0)
		return r;
	if (access(sp, F_OK) == 0) {
		r = error_set(err, -EEXIST, 400, "snapshot '%s' already exists", snap);
	} else {
		wlog(w, "create snapshot '%s' of '%s'", sp, p);
		enum btrfs_util_error e = btrfs_util_create_snapshot(
		    p, sp, BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL);
		if (e != BTRFS_UTIL_OK)
			r = bu_error(err, e, "snapshot", p);
	}
	btrfs_vol_clear(&v);
	return r;
}

static int snap_require(const char *sp, const char *snap, struct error **err)
{
	int r = subvol_exists(sp);
	if (r < 0)
		return error_set(err, r, 500, "unable to check '%s': %s", sp, strerror(-r));
	if (r == 0)
		return error_set(err, -ENOENT, 404, "snapshot '%s' does not exist", snap);
	return 0;
}

static int btrfs_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                                   struct task_worker *w, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *sp = NULL, *tmp = NULL;
	int r = snap_prepare(st, volname, snap, &v, &p, &sp, err);
	if (r < 0)
		return r;
	r = snap_require(sp, snap, err);
	if (r < 0)
		goto out;

	uint64_t used, limit = 0;
	if (v.subvol)
		qgroup_query(p, &used, &limit);

	/* "<name>@.rollback.<pid>": '@' keeps it out of listings, and free
	 * removes it with the snapshots if we die half-way. */
	tmp = xasprintf("%s/images/%ld/%s@.rollback.%ld", st->path, v.vmid, v.name, (long)getpid());
	wlog(w, "rollback '%s' to snapshot '%s'", p, sp);
	enum btrfs_util_error e = btrfs_util_create_snapshot(sp, tmp, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK) {
		r = bu_error(err, e, "snapshot", sp);
		goto out;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, p, RENAME_EXCHANGE) < 0) {
		r = error_set(err, -errno, 500, "unable to exchange '%s' and '%s': %s", tmp, p,
		              strerror(errno));
		(void)btrfs_util_delete_subvolume(tmp, 0);
		goto out;
	}
	/* tmp now holds the previous state */
	r = subvol_delete(tmp, w, err);
	if (r >= 0 && limit)
		r = qgroup_limit(p, limit, w, err);
out:
	btrfs_vol_clear(&v);
	return r;
}

static int btrfs_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                                 struct task_worker *w, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *sp = NULL;
	int r = snap_prepare(st, volname, snap, &v, &p, &sp, err);
	if (r < 0)
		return r;
	r = snap_require(sp, snap, err);
	if (r >= 0)
		r = subvol_delete(sp, w, err);
	btrfs_vol_clear(&v);
	return r;
}

/* A snapshot is the read-only subvolume "<name>@<snap>": a copy reads its
 * disk.raw, or the directory itself for a subvol (PVE's BTRFSPlugin path
 * with a snapname).  Nothing to activate, nothing to release. */
static int btrfs_snapshot_source(struct storage *st, const char *volname, const char *snap,
                                 struct task_worker *w, char **ret_path, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *sp = NULL;
	int r = snap_prepare(st, volname, snap, &v, &p, &sp, err);
	if (r < 0)
		return r;
	r = snap_require(sp, snap, err);
	if (r >= 0)
		*ret_path = v.subvol ? TAKE_PTR(sp) : path_join(sp, BTRFS_DISK_FILE);
	btrfs_vol_clear(&v);
	return r;
}

struct snap_list {
	struct storage_snapshot *v;
	struct timespec *otime; /* parallel to v, for the order */
	size_t n, alloc;
	struct error **err;
};

static int collect_snap(const char *path, const char *snap, void *arg)
{
	struct snap_list *l = arg;
	struct btrfs_util_subvolume_info si;

	if (snap[0] == '.') /* "@.rollback.<pid>" of a rollback in progress */
		return 0;
	enum btrfs_util_error e = btrfs_util_subvolume_info(path, 0, &si);
	if (e != BTRFS_UTIL_OK)
		return bu_error(l->err, e, "subvolume info", path);
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
		l->otime = xrealloc(l->otime, l->alloc * sizeof(*l->otime));
	}
	l->v[l->n] = (struct storage_snapshot){.name = xstrdup(snap), .ctime = si.otime.tv_sec};
	l->otime[l->n++] = si.otime;
	return 0;
}

/* Snapshots oldest first (by creation time, then name), so the order does
 * not depend on the directory's. */
static void snap_list_sort(struct snap_list *l)
{
	for (size_t i = 1; i < l->n; i++)
		for (size_t k = i; k > 0; k--) {
			struct timespec *a = &l->otime[k - 1], *b = &l->otime[k];
			int c = a->tv_sec != b->tv_sec     ? (a->tv_sec < b->tv_sec ? -1 : 1)
			        : a->tv_nsec != b->tv_nsec ? (a->tv_nsec < b->tv_nsec ? -1 : 1)
			                                   : strcmp(l->v[k - 1].name, l->v[k].name);
			if (c <= 0)
				break;
			struct storage_snapshot ts = l->v[k - 1];
			struct timespec tt = *a;
			l->v[k - 1] = l->v[k];
			l->v[k] = ts;
			*a = *b;
			*b = tt;
		}
}

static int btrfs_snapshot_list(struct storage *st, const char *volname,
                               struct storage_snapshot **ret, size_t *ret_n, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL;
	struct snap_list l = {.err = err};
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	r = vol_require(st, &v, volname, &p, err);
	if (r >= 0) {
		r = snapshots_foreach(st, &v, collect_snap, &l);
		if (r < 0 && err && !*err)
			error_set(err, r, 500, "unable to list snapshots of '%s': %s", volname,
			          strerror(-r));
	}
	btrfs_vol_clear(&v);
	if (r < 0) {
		storage_snapshot_list_free(l.v, l.n);
		free(l.otime);
		return r;
	}
	snap_list_sort(&l);
	free(l.otime);
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}

static int btrfs_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                       struct task_worker *w, char **ret_volname, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *src = NULL, *name = NULL, *np = NULL, *dir = NULL;
	if (vmid <= 0)
		return error_param(err, "vmid", "invalid VM ID %ld", vmid);
	int r = vol_parse(base_volname, &v, err);
	if (r < 0)
		return r;
	r = vol_require(st, &v, base_volname, &p, err);
	if (r < 0)
		goto out;
	if (snap) {
		r = snap_name_check(snap, err);
		if (r < 0)
			goto out;
		src = snap_path(st, v.vmid, v.name, snap);
		r = snap_require(src, snap, err);
		if (r < 0)
			goto out;
	} else if (!v.base) {
		r = error_set(err, -EINVAL, 400, "clone_image only works on base images");
		goto out;
	} else {
		src = xstrdup(p);
	}

	r = find_free_name(st, vmid, v.subvol, &name, err);
	if (r < 0)
		goto out;
	dir = images_dir(st, vmid);
	r = mkdir_p(dir, 0755);
	if (r < 0) {
		r = error_set(err, r, 500, "unable to create '%s': %s", dir, strerror(-r));
		goto out;
	}
	np = subvol_path(st, vmid, name);
	wlog(w, "create linked clone '%s' of '%s'", np, src);
	enum btrfs_util_error e = btrfs_util_create_snapshot(src, np, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK) {
		r = bu_error(err, e, "snapshot", src);
		goto out;
	}
	/* Only a clone of the base itself depends on it; one of a snapshot is
	 * an independent copy, as in PVE. */
	if (!snap && setxattr(np, BTRFS_PARENT_XATTR, base_volname, strlen(base_volname), 0) < 0)
		r = error_set(err, -errno, 500, "unable to record the base of '%s': %s", np,
		              strerror(errno));
	if (r >= 0 && v.subvol) {
		uint64_t used, limit;
		qgroup_query(p, &used, &limit);
		if (limit)
			r = qgroup_limit(np, limit, w, err);
	}
	if (r < 0) {
		(void)btrfs_util_delete_subvolume(np, 0);
		goto out;
	}
	*ret_volname = vol_volname(vmid, name, v.subvol);
out:
	btrfs_vol_clear(&v);
	return r;
}

struct rename_ctx {
	const struct storage *st;
	long vmid;
	const char *newname;
	struct error **err;
};

static int rename_snap(const char *path, const char *snap, void *arg)
{
	struct rename_ctx *c = arg;
	_cleanup_free_ char *np = snap_path(c->st, c->vmid, c->newname, snap);
	if (rename(path, np) < 0)
		return error_set(c->err, -errno, 500, "unable to rename '%s': %s", path,
		                 strerror(errno));
	return 0;
}

static int btrfs_create_base(struct storage *st, const char *volname, struct task_worker *w,
                             char **ret_volname, struct error **err)
{
	struct btrfs_vol v = {0};
	_cleanup_free_ char *p = NULL, *newname = NULL, *np = NULL;
	int r = vol_parse(volname, &v, err);
	if (r < 0)
		return r;
	r = vol_require(st, &v, volname, &p, err);
	if (r < 0)
		goto out;
	if (v.base) {
		r = error_set(err, -EINVAL, 400, "volume '%s' is already a base volume", volname);
		goto out;
	}
	/* vm-N-... -> base-N-..., subvol-N-... -> basevol-N-... */
	newname = v.subvol ? xasprintf("basevol-%s", v.name + strlen("subvol-"))
	                   : xasprintf("base-%s", v.name + strlen("vm-"));
	np = subvol_path(st, v.vmid, newname);
	if (access(np, F_OK) == 0) {
		r = error_set(err, -EEXIST, 500, "base volume '%s' already exists", np);
		goto out;
	}
	wlog(w, "rename '%s' to '%s'", p, np);
	if (rename(p, np) < 0) {
		r = error_set(err, -errno, 500, "unable to rename '%s': %s", p, strerror(errno));
		goto out;
	}
	struct rename_ctx c = {st, v.vmid, newname, err};
	r = snapshots_foreach(st, &v, rename_snap, &c);
	if (r < 0)
		goto out;
	wlog(w, "set subvolume '%s' read-only", np);
	enum btrfs_util_error e = btrfs_util_set_subvolume_read_only(np, true);
	if (e != BTRFS_UTIL_OK) {
		r = bu_error(err, e, "set read-only", np);
		goto out;
	}
	*ret_volname = vol_volname(v.vmid, newname, v.subvol);
out:
	btrfs_vol_clear(&v);
	return r;
}

const struct storage_backend storage_backend_btrfs = {
    .type = "btrfs",
    .caps = STORAGE_CAP_PATH | STORAGE_CAP_FILES | STORAGE_CAP_SNAPSHOT | STORAGE_CAP_CLONE |
            STORAGE_CAP_TEMPLATE | STORAGE_CAP_RESIZE | STORAGE_CAP_THIN | STORAGE_CAP_SUBVOL |
            STORAGE_CAP_SUBVOL_SIZE | STORAGE_CAP_COPY_SNAPSHOT_VOLUME,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW) | IMAGE_FORMAT_BIT(IMAGE_FORMAT_SUBVOL),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct btrfs_storage),
    .open = btrfs_open,
    .parse_volname = btrfs_parse_volname,
    .activate = btrfs_activate,
    .status = btrfs_status,
    .alloc = btrfs_alloc,
    .free_volume = btrfs_free,
    .list = btrfs_list,
    .info = btrfs_info,
    .path = btrfs_path,
    .check = btrfs_check,
    .resize = btrfs_resize,
    .snapshot_create = btrfs_snapshot_create,
    .snapshot_rollback = btrfs_snapshot_rollback,
    .snapshot_delete = btrfs_snapshot_delete,
    .snapshot_list = btrfs_snapshot_list,
    .clone = btrfs_clone,
    .create_base = btrfs_create_base,
    .snapshot_source = btrfs_snapshot_source,
};
