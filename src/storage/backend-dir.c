/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-dir: images in a directory, like PVE's DirPlugin (storage.md
 * 1.4-1.6).  Disks are files under images/<vmid>/ handled with qemu-img
 * (raw, qcow2, vmdk); container subvols are plain directories (size 0);
 * templates are renamed vm- -> base-, made read-only and immutable (chattr
 * +i, cleared again before the file is removed); linked clones are qcow2
 * overlays whose backing file is "../<basevmid>/<basename>", so the volume
 * name "<basevmid>/<basename>/<vmid>/<name>" records the link.  The images
 * directory is storage_content_dir()'s, so content-dirs can move it.  Other
 * content (iso, vztmpl, backup, snippets, import) is storage-files.c's.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backend-dir-cmd.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "image-header.h"
#include "jsonutil.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "storage-priv.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

/* A parsed image volume name. */
struct dir_vol {
	char vtype[16]; /* images, or rootdir for a subvol */
	char *name;     /* file name in images/<vmid>/ */
	long vmid;      /* owner */
	char *basename; /* linked clone: the base's file name */
	long basevmid;
	bool is_base;
	char *format;
};

static void dir_vol_clear(struct dir_vol *v)
{
	free(v->name);
	free(v->basename);
	free(v->format);
	*v = (struct dir_vol){0};
}

/* A single path component we are willing to create or open: no '/', no
 * whitespace or control characters, not hidden, not "." or "..". */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 255 || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || isspace((unsigned char)s[i]) || iscntrl((unsigned char)s[i]))
			return false;
	return true;
}

static bool parse_vmid(const char *s, size_t len, long *ret)
{
	long v = 0;

	if (len == 0 || len > 9 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* The format of an image file name from its extension, or NULL. */
static const char *image_format(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot ? image_format_to_string(image_format_from_string(dot + 1)) : NULL;
}

/*
 * Parses an image volume name with volid's grammar (storage.md 1.4).  File
 * content (storage_files_owns()) is not handled here, and legacy
 * "rootdir/<vmid>" (OpenVZ private areas) is refused.
 */
static int dir_parse_volname(const char *volname, struct dir_vol *ret, struct error **err)
{
	struct volname_info vi = {0};
	struct dir_vol v = {0};
	int r;

	r = volname_parse(volname, &vi, err);
	if (r < 0)
		return r;
	if (vi.vtype != VTYPE_IMAGES || strchr(vi.name, '/') || vi.name[0] == '.') {
		volname_info_clear(&vi);
		return error_set(err, -EINVAL, 400, "unable to parse directory volume name '%s'",
		                 volname);
	}
	v.vmid = vi.vmid;
	v.is_base = vi.is_base;
	v.basevmid = vi.basevmid;
	v.name = TAKE_PTR(vi.name);
	v.basename = TAKE_PTR(vi.basename);
	v.format = TAKE_PTR(vi.format);
	snprintf(v.vtype, sizeof(v.vtype), "%s", streq(v.format, "subvol") ? "rootdir" : "images");
	volname_info_clear(&vi);
	*ret = v;
	return 0;
}

/* <images dir>/<vmid>: container subvols live there too, as in PVE */
static char *vmid_dir(const struct storage *st, long vmid, struct error **err)
{
	_cleanup_free_ char *images = storage_files_dir(st, "images", err);

	return images ? xasprintf("%s/%ld", images, vmid) : NULL;
}

static char *dir_vol_path(const struct storage *st, const struct dir_vol *v, struct error **err)
{
	_cleanup_free_ char *dir = vmid_dir(st, v->vmid, err);

	return dir ? path_join(dir, v->name) : NULL;
}

static bool cfg_bool(const char *v, bool dflt)
{
	if (!v)
		return dflt;
	return !(streq(v, "0") || streq(v, "no") || streq(v, "off") || streq(v, "false"));
}

/* The mount point is_mountpoint asks for, or NULL (storage.md 1.3). */
static char *dir_mountpoint(const struct storage *st)
{
	const char *v = st->cfg ? section_get(st->cfg, "is_mountpoint") : NULL;

	if (!v || !cfg_bool(v, false))
		return NULL;
	if (streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		return xstrdup(st->path);
	return xstrdup(v);
}

static bool path_is_mounted(const char *mp)
{
	_cleanup_free_ char *parent = xasprintf("%s/..", mp);
	struct stat a, b;

	if (stat(mp, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

/* A dir storage's own state (storage_backend.state_size): the storage.cfg
 * keys its slots use, read once when it is opened. */
struct dir_storage {
	struct storage st;         /* first: what the dispatcher hands out */
	char *mountpoint;          /* is_mountpoint: where it must be mounted, or NULL */
	const char *preallocation; /* in st.cfg; NULL: the format's default */
	const char *format;        /* of a new volume when none is asked for */
};

_Static_assert(offsetof(struct dir_storage, st) == 0, "struct storage comes first");

static struct dir_storage *dir_of(const struct storage *st)
{
	return storage_state(st, &storage_backend_dir);
}

static int dir_open(struct storage *st, struct error **err)
{
	struct dir_storage *d = dir_of(st);
	const char *fmt = section_get(st->cfg, "format");

	d->mountpoint = dir_mountpoint(st);
	d->preallocation = section_get(st->cfg, "preallocation");
	d->format = fmt ? fmt : image_format_to_string(storage_backend_dir.default_format);
	return 0;
}

static void dir_close(struct storage *st)
{
	free(dir_of(st)->mountpoint);
}

/* Like PVE's activate_storage: the mount point check, the base path and the
 * content subdirectories; storage-config implements it for every storage
 * with a path. */
static int dir_activate(struct storage *st, struct error **err)
{
	return storage_dir_prepare(st->cfg, err);
}

/* qemu-img info of an image file. */
static int dir_image_info(const char *path, const char *fmt, struct storage_volume *v,
                          char **ret_backing, struct error **err)
{
	struct cmd c;
	struct cmd_result r = {0};
	_cleanup_json_ json_t *j = NULL;
	json_t *x;
	int rc;

	dir_info_build_cmd(&c, path, fmt);
	cmd_set_timeout(&c, 10 * 1000);
	rc = storage_run_cmd(&c, NULL, &r, err);
	cmd_release(&c);
	if (rc < 0) {
		cmd_result_clear(&r);
		return rc;
	}
	j = json_loadb(r.out, r.out_len, 0, NULL);
	cmd_result_clear(&r);
	if (!json_is_object(j))
		return error_set(err, -EIO, 500, "unable to parse 'qemu-img info' output for '%s'",
		                 path);
	x = json_object_get(j, "virtual-size");
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return error_set(err, -EIO, 500, "'qemu-img info' of '%s' gave no virtual size",
		                 path);
	v->size = (uint64_t)json_integer_value(x);
	x = json_object_get(j, "actual-size");
	if (json_is_integer(x) && json_integer_value(x) >= 0)
		v->used = (uint64_t)json_integer_value(x);
	x = json_object_get(j, "format");
	if (json_is_string(x)) {
		free(v->format);
		v->format = xstrdup(json_string_value(x));
	}
	x = json_object_get(j, "backing-filename");
	if (ret_backing)
		*ret_backing = json_is_string(x) ? xstrdup(json_string_value(x)) : NULL;
	return 0;
}

/* "../<basevmid>/<basename>" -> "<basevmid>/<basename>", else NULL */
static char *backing_to_parent(const char *backing)
{
	const char *p, *slash;
	long id;

	if (!backing || !str_startswith(backing, "../"))
		return NULL;
	p = backing + 3;
	slash = strchr(p, '/');
	if (!slash || !parse_vmid(p, (size_t)(slash - p), &id) ||
	    !name_ok(slash + 1, strlen(slash + 1)) || !image_format(slash + 1))
		return NULL;
	return xstrdup(p);
}

/* Fills v for an existing image at path.  volname gets the link prefix
 * the backing file shows, so listing finds linked clones. */
static int dir_fill(const struct dir_vol *dv, const char *path, struct storage_volume *v,
                    struct error **err)
{
	_cleanup_free_ char *backing = NULL;
	struct stat s;
	int r;

	if (lstat(path, &s) < 0)
		return error_set(err, -errno, errno == ENOENT ? 404 : 500,
		                 "unable to stat volume '%s': %m", path);
	v->format = xstrdup(dv->format);
	v->vtype = xstrdup(dv->vtype);
	v->vmid = dv->vmid;
	v->ctime = s.st_ctime;
	if (streq(dv->format, "subvol")) {
		if (!S_ISDIR(s.st_mode))
			return error_set(err, -EINVAL, 500, "'%s' is not a directory", path);
		v->size = 0;
	} else {
		if (!S_ISREG(s.st_mode))
			return error_set(err, -EINVAL, 500, "'%s' is not a file", path);
		/* the header where it is simple (raw, plain qcow2), else qemu-img,
		 * which opens a data file or vmdk extents (not the backing chain) */
		r = image_header_read(path, dv->format, &v->size, &backing);
		if (r == 0) {
			v->used = (uint64_t)s.st_blocks * 512;
		} else if (r == -EOPNOTSUPP) {
			r = image_check_confined(path, dv->format, NULL, err);
			if (r == 0)
				r = dir_image_info(path, dv->format, v, &backing, err);
		} else {
			r = error_set(err, r, 500, "unable to read volume '%s': %s", path,
			              strerror(-r));
		}
		if (r < 0)
			return r;
		v->parent = backing_to_parent(backing);
	}
	if (v->parent)
		v->volname = xasprintf("%s/%ld/%s", v->parent, dv->vmid, dv->name);
	else
		v->volname = xasprintf("%ld/%s", dv->vmid, dv->name);
	return 0;
}

static int dir_info(struct storage *st, const char *volname, struct storage_volume *ret,
                    struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	struct storage_volume v = {0};
	int r;

	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	path = dir_vol_path(st, &dv, err);
	r = path ? dir_fill(&dv, path, &v, err) : -EINVAL;
	dir_vol_clear(&dv);
	if (r < 0) {
		storage_volume_clear(&v);
		return r;
	}
	*ret = v;
	return 0;
}

static int dir_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	struct dir_vol dv;
	char *path;
	int r;

	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	path = dir_vol_path(st, &dv, err);
	dir_vol_clear(&dv);
	if (!path)
		return -EINVAL;
	*ret_path = path;
	return 0;
}

static int list_images(struct storage *st, long vmid, struct volume_list *l, struct error **err)
{
	_cleanup_free_ char *root = storage_files_dir(st, "images", err);
	char **vmdirs = NULL;
	size_t n_vmdirs = 0;
	int r;

	if (!root)
		return -EINVAL;
	r = storage_read_dir_sorted(root, &vmdirs, &n_vmdirs, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_vmdirs && r >= 0; i++) {
		_cleanup_free_ char *dir = NULL;
		char **names = NULL;
		size_t n_names = 0;
		long id;

		if (!parse_vmid(vmdirs[i], strlen(vmdirs[i]), &id) || (vmid && id != vmid))
			continue;
		dir = path_join(root, vmdirs[i]);
		r = storage_read_dir_sorted(dir, &names, &n_names, err);
		for (size_t k = 0; k < n_names && r >= 0; k++) {
			_cleanup_free_ char *volname = xasprintf("%ld/%s", id, names[k]);
			_cleanup_free_ char *path = path_join(dir, names[k]);
			struct storage_volume v = {0};
			struct dir_vol dv;
			struct error *e = NULL;

			if (dir_parse_volname(volname, &dv, NULL) < 0)
				continue; /* not ours, like PVE's glob */
			/* like PVE, an image qemu-img cannot read is left out
			 * rather than failing the whole listing */
			if (dir_fill(&dv, path, &v, &e) < 0) {
				log_debug("storage %s: skipping '%s': %s", st->id, path,
				          e ? e->msg : "unreadable");
				error_free(e);
				storage_volume_clear(&v);
			} else {
				volume_list_push(l, &v);
			}
			dir_vol_clear(&dv);
		}
		storage_names_free(names, n_names);
	}
	storage_names_free(vmdirs, n_vmdirs);
	return r;
}

static int dir_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                    size_t *ret_n, struct error **err)
{
	struct volume_list l = {0};
	int r = 0;

	if (storage_content_wanted(st, content, "images") ||
	    storage_content_wanted(st, content, "rootdir"))
		r = list_images(st, vmid, &l, err);
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

static int dir_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	const char *mp = dir_of(st)->mountpoint;
	struct storage_status s = {0};
	struct storage_volume *v = NULL;
	struct statvfs fs;
	size_t n = 0;
	int r;

	if ((mp && !path_is_mounted(mp)) || statvfs(st->path, &fs) < 0) {
		*ret = s; /* inactive, like PVE's undef */
		return 0;
	}
	s.total = (uint64_t)fs.f_blocks * fs.f_frsize;
	s.avail = (uint64_t)fs.f_bavail * fs.f_frsize;
	s.used = (uint64_t)(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
	s.active = true;
	r = dir_list(st, 0, "images", &v, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		s.provisioned += v[i].size;
	storage_volume_list_free(v, n);
	*ret = s;
	return 0;
}

/* The lowest free vm-<vmid>-disk-N (subvol-... for subvol) in images/<vmid>. */
static int find_free_diskname(struct storage *st, long vmid, const char *fmt, char **ret,
                              struct error **err)
{
	_cleanup_free_ char *dir = vmid_dir(st, vmid, err);
	char **names = NULL;
	size_t n = 0;
	int r;

	if (!dir)
		return -EINVAL;
	r = storage_read_dir_sorted(dir, &names, &n, err);
	if (r < 0)
		return r;
	*ret = volname_alloc(vmid, fmt, (const char *const *)names, n, false, err);
	storage_names_free(names, n);
	return *ret ? 0 : -ENOSPC;
}

static int dir_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                     uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	const char *prealloc = dir_of(st)->preallocation;
	_cleanup_free_ char *vname = NULL, *dir = NULL, *path = NULL;
	bool subvol;
	int r;

	if (!fmt)
		fmt = dir_of(st)->format;
	if (!storage_backend_has_format(&storage_backend_dir, fmt))
		return error_set(err, -EINVAL, 400, "unsupported format '%s'", fmt);
	if (vmid <= 0 || vmid > 999999999)
		return error_set(err, -EINVAL, 400, "invalid VMID %ld", vmid);
	subvol = streq(fmt, "subvol");
	if (subvol && size != 0)
		return error_set(err, -EINVAL, 400, "storage does not support subvol quotas");
	if (!subvol && size == 0)
		return error_set(err, -EINVAL, 400, "disk image size must be greater than 0");

	if (name) {
		_cleanup_free_ char *pfx = xasprintf("%s-%ld-", subvol ? "subvol" : "vm", vmid);
		const char *ext = image_format(name);

		r = volname_check_owner(vmid, name, err);
		if (r < 0)
			return r;
		if (!str_startswith(name, pfx) || !name_ok(name, strlen(name)))
			return error_set(err, -EINVAL, 400, "illegal name '%s' - should be '%s*'",
			                 name, pfx);
		if (!ext || !streq(ext, fmt))
			return error_set(err, -EINVAL, 400,
			                 "illegal name '%s' - wrong extension for format ('%s')",
			                 name, fmt);
		vname = xstrdup(name);
	} else {
		r = find_free_diskname(st, vmid, fmt, &vname, err);
		if (r < 0)
			return r;
	}

	dir = vmid_dir(st, vmid, err);
	if (!dir)
		return -EINVAL;
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create directory '%s': %s", dir,
		                 strerror(-r));
	path = path_join(dir, vname);
	if (access(path, F_OK) == 0)
		return error_set(err, -EEXIST, 500, "disk image '%s' already exists", path);

	if (subvol) {
		if (mkdir(path, 0755) < 0)
			return error_set(err, -errno, 500, "unable to create directory '%s': %m",
			                 path);
	} else {
		struct cmd c;

		dir_create_build_cmd(&c, path, fmt, size, prealloc);
		r = storage_run_cmd(&c, w, NULL, err);
		cmd_release(&c);
		if (r < 0) {
			(void)unlink(path);
			return r;
		}
	}
	*ret_volname = xasprintf("%ld/%s", vmid, vname);
	return 0;
}

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void rmdir_if_empty(const char *path)
{
	(void)rmdir(path); /* fails harmlessly when something is left */
}

static int dir_free_volume(struct storage *st, const char *volname, struct task_worker *w,
                           struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	int r;

	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	path = dir_vol_path(st, &dv, err);
	if (!path) {
		r = -EINVAL;
	} else if (streq(dv.format, "subvol")) {
		r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (r != 0)
			r = error_set(err, errno ? -errno : -EIO, 500,
			              "unable to remove directory '%s': %m", path);
	} else {
		/* a template is immutable (create_base); any image may have
		 * been made so by hand, and unlink would fail with EPERM */
		r = access(path, F_OK) == 0 ? storage_file_set_immutable(path, false, w, err) : 0;
		if (r >= 0 && unlink(path) < 0)
			r = error_set(err, -errno, errno == ENOENT ? 404 : 500,
			              "unable to delete '%s': %m", path);
		else if (r > 0)
			r = 0;
	}
	if (r == 0) {
		_cleanup_free_ char *dir = vmid_dir(st, dv.vmid, NULL);

		if (dir)
			rmdir_if_empty(dir);
	}
	if (r == 0 && w)
		task_log(w, "removed volume '%s'", volname);
	dir_vol_clear(&dv);
	return r;
}

/* Parses an image volume (not subvol, not other content) and its path. */
static int dir_image(struct storage *st, const char *volname, const char *op, struct dir_vol *dv,
                     char **ret_path, struct error **err)
{
	int r;

	if (storage_files_owns(volname))
		return error_set(err, -EOPNOTSUPP, 500, "%s of volume '%s' is not supported", op,
		                 volname);
	r = dir_parse_volname(volname, dv, err);
	if (r < 0)
		return r;
	if (streq(dv->format, "subvol")) {
		r = error_set(err, -EOPNOTSUPP, 500,
		              "%s of volume '%s' (format %s) is not supported", op, volname,
		              dv->format);
		dir_vol_clear(dv);
		return r;
	}
	*ret_path = dir_vol_path(st, dv, err);
	if (!*ret_path) {
		dir_vol_clear(dv);
		return -EINVAL;
	}
	return 0;
}

/* dir_image() for an operation that changes the image in place: a
 * template's file is read-only and immutable, and linked clones read it, so
 * a base is refused (PVE refuses this for templates too). */
static int dir_image_writable(struct storage *st, const char *volname, const char *op,
                              struct dir_vol *dv, char **ret_path, struct error **err)
{
	int r = dir_image(st, volname, op, dv, ret_path, err);
	if (r < 0)
		return r;
	if (dv->is_base)
		r = error_set(err, -EROFS, 400, "unable to %s base volume '%s'", op, volname);
	else /* qemu-img opens it read-write, with its data file and backing chain */
		r = storage_image_confined(st, *ret_path, dv->format, err);
	if (r < 0) {
		dir_vol_clear(dv);
		free(*ret_path);
		*ret_path = NULL;
	}
	return r;
}

static int dir_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                      struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	struct cmd c;
	int r;

	r = dir_image_writable(st, volname, "resize", &dv, &path, err);
	if (r < 0)
		return r;
	dir_resize_build_cmd(&c, path, dv.format, size, dir_of(st)->preallocation);
	r = storage_run_cmd(&c, w, NULL, err);
	cmd_release(&c);
	dir_vol_clear(&dv);
	return r;
}

static int dir_snapshot(struct storage *st, const char *volname, const char *snap, char op,
                        struct task_worker *w, struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	struct cmd c;
	int r;

	r = dir_image_writable(st, volname, "snapshot", &dv, &path, err);
	if (r < 0)
		return r;
	if (!streq(dv.format, "qcow2")) {
		r = error_set(
		    err, -EOPNOTSUPP, 500,
		    "snapshot of volume '%s' is not supported: format %s has no snapshots", volname,
		    dv.format);
		dir_vol_clear(&dv);
		return r;
	}
	dir_snapshot_build_cmd(&c, op, path, snap);
	r = storage_run_cmd(&c, w, NULL, err);
	cmd_release(&c);
	dir_vol_clear(&dv);
	return r;
}

static int dir_snapshot_create(struct storage *st, const char *volname, const char *snap,
                               struct task_worker *w, struct error **err)
{
	return dir_snapshot(st, volname, snap, 'c', w, err);
}

static int dir_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                                 struct task_worker *w, struct error **err)
{
	return dir_snapshot(st, volname, snap, 'a', w, err);
}

static int dir_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                               struct task_worker *w, struct error **err)
{
	return dir_snapshot(st, volname, snap, 'd', w, err);
}

/* The "snapshots" of `qemu-img info --output=json` (oldest first, as qemu
 * keeps them); formats other than qcow2 have none. */
static int dir_snapshot_list(struct storage *st, const char *volname, struct storage_snapshot **ret,
                             size_t *ret_n, struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct cmd_result res = {0};
	struct storage_snapshot *snaps = NULL;
	struct stat sb;
	json_t *a, *e;
	size_t i, n = 0;
	struct cmd c;
	int r;

	if (storage_files_owns(volname)) { /* iso, backup, ...: none, if it exists */
		struct storage_volume v = {0};

		r = storage_files_info(st, volname, &v, err);
		storage_volume_clear(&v);
		if (r < 0)
			return r;
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	path = dir_vol_path(st, &dv, err);
	if (!path) {
		r = -EINVAL;
		goto out;
	}
	if (lstat(path, &sb) < 0) {
		r = error_set(err, -errno, errno == ENOENT ? 404 : 500,
		              "unable to stat volume '%s': %m", path);
		goto out;
	}
	if (!streq(dv.vtype, "images") || !streq(dv.format, "qcow2"))
		goto out; /* none */
	r = image_check_confined(path, dv.format, NULL, err);
	if (r < 0)
		goto out;
	dir_info_build_cmd(&c, path, dv.format);
	cmd_set_timeout(&c, 10 * 1000);
	r = storage_run_cmd(&c, NULL, &res, err);
	cmd_release(&c);
	if (r < 0)
		goto out;
	j = json_loadb(res.out, res.out_len, 0, NULL);
	if (!json_is_object(j)) {
		r = error_set(err, -EIO, 500, "unable to parse 'qemu-img info' output for '%s'",
		              path);
		goto out;
	}
	a = json_object_get(j, "snapshots");
	snaps = xnew(struct storage_snapshot, json_array_size(a) + 1);
	json_array_foreach (a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *t = json_object_get(e, "date-sec");

		if (!name)
			continue;
		snaps[n].name = xstrdup(name);
		snaps[n++].ctime = json_is_integer(t) ? (time_t)json_integer_value(t) : 0;
	}
out:
	cmd_result_clear(&res);
	dir_vol_clear(&dv);
	if (r < 0) {
		storage_snapshot_list_free(snaps, n);
		return r;
	}
	*ret = snaps;
	*ret_n = n;
	return 0;
}

static int dir_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                     struct task_worker *w, char **ret_volname, struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL, *name = NULL, *dir = NULL, *newpath = NULL,
	                    *backing = NULL;
	struct cmd c;
	int r;

	if (snap)
		return error_set(err, -EOPNOTSUPP, 500,
		                 "this storage type does not support clone_image on snapshot");
	r = dir_image(st, base_volname, "clone", &dv, &path, err);
	if (r < 0)
		return r;
	if (!dv.is_base) {
		dir_vol_clear(&dv);
		return error_set(err, -EINVAL, 500, "clone_image only works on base images");
	}
	/* qemu-img create opens the base (and its chain) for its size */
	r = storage_image_confined(st, path, dv.format, err);
	if (r < 0) {
		dir_vol_clear(&dv);
		return r;
	}
	if (vmid <= 0 || vmid > 999999999) {
		dir_vol_clear(&dv);
		return error_set(err, -EINVAL, 400, "invalid VMID %ld", vmid);
	}
	r = find_free_diskname(st, vmid, "qcow2", &name, err);
	if (r < 0)
		goto out;
	dir = vmid_dir(st, vmid, err);
	r = dir ? mkdir_p(dir, 0755) : -EINVAL;
	if (!dir) {
		goto out;
	} else if (r < 0) {
		r = error_set(err, r, 500, "unable to create directory '%s': %s", dir,
		              strerror(-r));
		goto out;
	}
	newpath = path_join(dir, name);
	/* relative, so the storage can move; qemu resolves it against the
	 * overlay's directory */
	backing = xasprintf("../%ld/%s", dv.vmid, dv.name);
	dir_clone_build_cmd(&c, newpath, backing, dv.format, dir_of(st)->preallocation);
	r = storage_run_cmd(&c, w, NULL, err);
	cmd_release(&c);
	if (r < 0) {
		(void)unlink(newpath);
		rmdir_if_empty(dir);
		goto out;
	}
	*ret_volname = xasprintf("%ld/%s/%ld/%s", dv.vmid, dv.name, vmid, name);
out:
	dir_vol_clear(&dv);
	return r;
}

static int dir_create_base(struct storage *st, const char *volname, struct task_worker *w,
                           char **ret_volname, struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL, *newname = NULL, *newpath = NULL, *dir = NULL;
	int r;

	/* a container's subvol: PVE's create_base renames only vm- names, so
	 * a subvol template keeps its volume (and can only be cloned in
	 * full); not made read-only or immutable here, unlike PVE's chmod
	 * 0444 and chattr +i of the directory, which its free then fails on */
	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	bool subvol = streq(dv.format, "subvol");
	dir_vol_clear(&dv);
	if (subvol) {
		if (w)
			task_log(w, "'%s' stays as it is (a subvol directory)", volname);
		*ret_volname = xstrdup(volname);
		return 0;
	}

	r = dir_image(st, volname, "create_base", &dv, &path, err);
	if (r < 0)
		return r;
	if (dv.is_base || !str_startswith(dv.name, "vm-")) {
		r = error_set(err, -EINVAL, 500, "create_base not possible with base image");
		goto out;
	}
	newname = xasprintf("base-%s", dv.name + strlen("vm-"));
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	newpath = path_join(dir, newname);
	if (access(newpath, F_OK) == 0) {
		r = error_set(err, -EEXIST, 500, "file '%s' already exists", newpath);
		goto out;
	}
	if (rename(path, newpath) < 0) {
		r = error_set(err, -errno, 500, "rename '%s' to '%s' failed - %m", path, newpath);
		goto out;
	}
	if (w)
		task_log(w, "renamed '%s' to '%s'", path, newpath);
	/* read-only and immutable, so nothing writes to a disk that clones
	 * depend on; like PVE's chattr +i the flag is best effort (a warning
	 * where the file system has none), and free clears it */
	if (chmod(newpath, 0444) < 0) {
		r = error_set(err, -errno, 500, "chmod '%s' failed - %m", newpath);
		goto out;
	}
	r = storage_file_set_immutable(newpath, true, w, err);
	if (r < 0)
		goto out;
	r = 0;
	if (dv.basename)
		*ret_volname =
		    xasprintf("%ld/%s/%ld/%s", dv.basevmid, dv.basename, dv.vmid, newname);
	else
		*ret_volname = xasprintf("%ld/%s", dv.vmid, newname);
out:
	dir_vol_clear(&dv);
	return r;
}

const struct storage_backend storage_backend_dir = {
    .type = "dir",
    .caps = STORAGE_CAP_PATH | STORAGE_CAP_FILES | STORAGE_CAP_SNAPSHOT | STORAGE_CAP_CLONE |
            STORAGE_CAP_TEMPLATE | STORAGE_CAP_RESIZE | STORAGE_CAP_THIN | STORAGE_CAP_SUBVOL |
            STORAGE_CAP_COPY_SNAPSHOT,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW) | IMAGE_FORMAT_BIT(IMAGE_FORMAT_QCOW2) |
               IMAGE_FORMAT_BIT(IMAGE_FORMAT_VMDK) | IMAGE_FORMAT_BIT(IMAGE_FORMAT_SUBVOL),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct dir_storage),
    .open = dir_open,
    .close = dir_close,
    .parse_volname = storage_parse_volname_files,
    .activate = dir_activate,
    .status = dir_status,
    .alloc = dir_alloc,
    .free_volume = dir_free_volume,
    .list = dir_list,
    .info = dir_info,
    .path = dir_path,
    .resize = dir_resize,
    .snapshot_create = dir_snapshot_create,
    .snapshot_rollback = dir_snapshot_rollback,
    .snapshot_delete = dir_snapshot_delete,
    .snapshot_list = dir_snapshot_list,
    .clone = dir_clone,
    .create_base = dir_create_base,
};
