/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-dir: images in a directory, like PVE's DirPlugin (storage.md
 * 1.4-1.6).  Disks are files under images/<vmid>/ handled with qemu-img
 * (raw, qcow2, vmdk); container subvols are plain directories (size 0);
 * templates are renamed vm- -> base- and made read-only; linked clones are
 * qcow2 overlays whose backing file is "../<basevmid>/<basename>", so the
 * volume name "<basevmid>/<basename>/<vmid>/<name>" records the link.
 * Other content (iso, vztmpl, backup, snippets, import) lives in the fixed
 * subdirectories of storage.md 1.5.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
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
#include "jsonutil.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-priv.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define INFO_MAX_BYTES (64u << 10)

/* content type -> subdirectory (storage.md 1.5) */
static const struct {
	const char *vtype, *subdir;
} dir_subdirs[] = {
    {"images", "images"},         {"rootdir", "images"}, {"iso", "template/iso"},
    {"vztmpl", "template/cache"}, {"backup", "dump"},    {"snippets", "snippets"},
    {"import", "import"},
};

static const char *dir_subdir(const char *vtype)
{
	for (size_t i = 0; i < ARRAY_SIZE(dir_subdirs); i++)
		if (streq(dir_subdirs[i].vtype, vtype))
			return dir_subdirs[i].subdir;
	return NULL;
}

static const char *const dir_formats[] = {"raw", "qcow2", "vmdk", "subvol", NULL};

static bool dir_format_valid(const char *fmt)
{
	for (size_t i = 0; dir_formats[i]; i++)
		if (streq(dir_formats[i], fmt))
			return true;
	return false;
}

/* A parsed volume name. */
struct dir_vol {
	char vtype[16];
	char *name;     /* file name (images) or file name within the content dir */
	long vmid;      /* owner; 0 for content without one */
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

	if (!dot || !dir_format_valid(dot + 1))
		return NULL;
	return dot + 1;
}

static bool has_suffix_ci(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcasecmp(s + ls - lx, suffix) == 0;
}

/* Which non-image files each content type accepts, and their format. */
static const char *content_format(const char *vtype, const char *name)
{
	static const char *const vztmpl_ext[] = {".tar",     ".tar.gz",  ".tar.xz",
	                                         ".tar.zst", ".tar.bz2", NULL};
	static const char *const import_ext[] = {"ova", "ovf", "qcow2", "raw", "vmdk", NULL};

	if (streq(vtype, "iso"))
		return has_suffix_ci(name, ".iso") || has_suffix_ci(name, ".img") ? "iso" : NULL;
	if (streq(vtype, "vztmpl")) {
		for (size_t i = 0; vztmpl_ext[i]; i++)
			if (has_suffix_ci(name, vztmpl_ext[i]))
				return "tgz";
		return NULL;
	}
	if (streq(vtype, "snippets"))
		return "snippet";
	if (streq(vtype, "backup")) {
		if (!str_startswith(name, "vzdump-") || has_suffix_ci(name, ".log") ||
		    has_suffix_ci(name, ".notes") || has_suffix_ci(name, ".protected"))
			return NULL;
		if (strstr(name, ".vma"))
			return "vma";
		if (strstr(name, ".tgz"))
			return "tgz";
		if (strstr(name, ".tar"))
			return "tar";
		return NULL;
	}
	if (streq(vtype, "import")) {
		const char *dot = strrchr(name, '.');

		for (size_t i = 0; dot && import_ext[i]; i++)
			if (strcasecmp(dot + 1, import_ext[i]) == 0)
				return import_ext[i];
		return NULL;
	}
	return NULL;
}

/*
 * Parses a volume name with volid's grammar (storage.md 1.4) and adds what
 * this backend needs on top: the listing format of non-image content and
 * two refusals, legacy "rootdir/<vmid>" (OpenVZ private areas) and members
 * of an OVA ("import/x.ova/disk.vmdk"), which are not files of their own.
 */
static int dir_parse_volname(const char *volname, struct dir_vol *ret, struct error **err)
{
	struct volname_info vi = {0};
	struct dir_vol v = {0};
	int r;

	r = volname_parse(volname, &vi, err);
	if (r < 0)
		return r;
	if (vi.vtype == VTYPE_ROOTDIR || strchr(vi.name, '/') || vi.name[0] == '.') {
		volname_info_clear(&vi);
		return error_set(err, -EINVAL, 400, "unable to parse directory volume name '%s'",
		                 volname);
	}
	snprintf(v.vtype, sizeof(v.vtype), "%s", vtype_to_string(vi.vtype));
	v.vmid = vi.vmid;
	v.is_base = vi.is_base;
	v.basevmid = vi.basevmid;
	v.name = TAKE_PTR(vi.name);
	v.basename = TAKE_PTR(vi.basename);
	if (vi.vtype == VTYPE_IMAGES) {
		v.format = TAKE_PTR(vi.format);
		if (streq(v.format, "subvol"))
			snprintf(v.vtype, sizeof(v.vtype), "rootdir");
	} else {
		const char *fmt = content_format(v.vtype, v.name);

		v.format = xstrdup(fmt ? fmt : vi.format ? vi.format : "raw");
	}
	volname_info_clear(&vi);
	*ret = v;
	return 0;
}

static char *dir_vol_path(const struct storage *st, const struct dir_vol *v)
{
	if (streq(v->vtype, "images") || streq(v->vtype, "rootdir"))
		return xasprintf("%s/images/%ld/%s", st->path, v->vmid, v->name);
	return xasprintf("%s/%s/%s", st->path, dir_subdir(v->vtype), v->name);
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

/* Like PVE's activate_storage: the mount point check, the base path and the
 * content subdirectories; storage-config implements it for dir and btrfs. */
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

static char *read_sidecar(const char *path, const char *ext)
{
	_cleanup_free_ char *f = xasprintf("%s%s", path, ext);
	char *data = NULL;
	size_t len;

	if (read_file(f, 64 << 10, &data, &len, NULL) < 0)
		return NULL;
	return data;
}

/* Fills v for an existing volume at path.  For images volname gets the
 * link prefix the backing file shows, so listing finds linked clones. */
static int dir_fill(const struct storage *st, const struct dir_vol *dv, const char *path,
                    struct storage_volume *v, struct error **err)
{
	struct stat s;
	int r;

	if (lstat(path, &s) < 0)
		return error_set(err, -errno, errno == ENOENT ? 404 : 500,
		                 "unable to stat volume '%s': %m", path);
	v->format = xstrdup(dv->format);
	v->vtype = xstrdup(dv->vtype);
	v->vmid = dv->vmid;
	v->ctime = s.st_ctime;

	if (streq(dv->vtype, "images") || streq(dv->vtype, "rootdir")) {
		_cleanup_free_ char *backing = NULL;

		if (streq(dv->format, "subvol")) {
			if (!S_ISDIR(s.st_mode))
				return error_set(err, -EINVAL, 500, "'%s' is not a directory",
				                 path);
			v->size = 0;
		} else {
			if (!S_ISREG(s.st_mode))
				return error_set(err, -EINVAL, 500, "'%s' is not a file", path);
			r = dir_image_info(path, dv->format, v, &backing, err);
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

	if (!S_ISREG(s.st_mode))
		return error_set(err, -EINVAL, 500, "'%s' is not a file", path);
	v->volname = xasprintf("%s/%s", dv->vtype, dv->name);
	v->size = (uint64_t)s.st_size;
	v->used = (uint64_t)s.st_blocks * 512;
	if (streq(dv->vtype, "backup")) {
		_cleanup_free_ char *prot = xasprintf("%s.protected", path);

		v->protected_ = access(prot, F_OK) == 0;
		v->notes = read_sidecar(path, ".notes");
	}
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
	path = dir_vol_path(st, &dv);
	r = dir_fill(st, &dv, path, &v, err);
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
	int r = dir_parse_volname(volname, &dv, err);

	if (r < 0)
		return r;
	*ret_path = dir_vol_path(st, &dv);
	dir_vol_clear(&dv);
	return 0;
}

struct vol_list {
	struct storage_volume *v;
	size_t n, alloc;
};

static void vol_list_push(struct vol_list *l, struct storage_volume *v)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n++] = *v;
}

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entry names of dir (without hidden ones); missing dir: none. */
static int read_dir_sorted(const char *dir, char ***ret, size_t *ret_n, struct error **err)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *e;

	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		return error_set(err, -errno, 500, "unable to read directory '%s': %m", dir);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_dirent);
	*ret = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int list_images(struct storage *st, long vmid, struct vol_list *l, struct error **err)
{
	_cleanup_free_ char *root = path_join(st->path, "images");
	char **vmdirs = NULL;
	size_t n_vmdirs = 0;
	int r;

	r = read_dir_sorted(root, &vmdirs, &n_vmdirs, err);
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
		r = read_dir_sorted(dir, &names, &n_names, err);
		for (size_t k = 0; k < n_names && r >= 0; k++) {
			_cleanup_free_ char *volname = xasprintf("%ld/%s", id, names[k]);
			_cleanup_free_ char *path = path_join(dir, names[k]);
			struct storage_volume v = {0};
			struct dir_vol dv;

			if (dir_parse_volname(volname, &dv, NULL) < 0)
				continue; /* not ours, like PVE's glob */
			struct error *e = NULL;

			/* like PVE, an image qemu-img cannot read is left out
			 * rather than failing the whole listing */
			if (dir_fill(st, &dv, path, &v, &e) < 0) {
				log_debug("storage %s: skipping '%s': %s", st->id, path,
				          e ? e->msg : "unreadable");
				error_free(e);
				storage_volume_clear(&v);
			} else {
				vol_list_push(l, &v);
			}
			dir_vol_clear(&dv);
		}
		free_names(names, n_names);
	}
	free_names(vmdirs, n_vmdirs);
	return r;
}

static int list_content(struct storage *st, const char *vtype, long vmid, struct vol_list *l,
                        struct error **err)
{
	_cleanup_free_ char *dir = path_join(st->path, dir_subdir(vtype));
	char **names = NULL;
	size_t n = 0;
	int r;

	r = read_dir_sorted(dir, &names, &n, err);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *volname = xasprintf("%s/%s", vtype, names[i]);
		_cleanup_free_ char *path = path_join(dir, names[i]);
		struct storage_volume v = {0};
		struct dir_vol dv;
		struct stat s;

		if (dir_parse_volname(volname, &dv, NULL) < 0)
			continue;
		if ((vmid && dv.vmid != vmid) || stat(path, &s) < 0 || !S_ISREG(s.st_mode)) {
			dir_vol_clear(&dv);
			continue;
		}
		r = dir_fill(st, &dv, path, &v, err);
		dir_vol_clear(&dv);
		if (r < 0)
			storage_volume_clear(&v);
		else
			vol_list_push(l, &v);
	}
	free_names(names, n);
	return r;
}

static bool content_has(const char *list, const char *vtype)
{
	size_t len = strlen(vtype);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, vtype, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static int dir_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                    size_t *ret_n, struct error **err)
{
	static const char *const others[] = {"iso", "vztmpl", "backup", "snippets", "import"};
	const char *cfg_content = st->cfg ? section_get(st->cfg, "content") : NULL;
	struct vol_list l = {0};
	int r = 0;

	if (!content)
		content = cfg_content ? cfg_content : "images,rootdir";
	if (content_has(content, "images") || content_has(content, "rootdir"))
		r = list_images(st, vmid, &l, err);
	for (size_t i = 0; i < ARRAY_SIZE(others) && r >= 0; i++)
		if (content_has(content, others[i]) && (!vmid || streq(others[i], "backup")))
			r = list_content(st, others[i], vmid, &l, err);
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
	_cleanup_free_ char *mp = dir_mountpoint(st);
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
	_cleanup_free_ char *dir = xasprintf("%s/images/%ld", st->path, vmid);
	char **names = NULL;
	size_t n = 0;
	int r;

	r = read_dir_sorted(dir, &names, &n, err);
	if (r < 0)
		return r;
	*ret = volname_alloc(vmid, fmt, (const char *const *)names, n, false, err);
	free_names(names, n);
	return *ret ? 0 : -ENOSPC;
}

static int dir_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                     uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	const char *prealloc = st->cfg ? section_get(st->cfg, "preallocation") : NULL;
	_cleanup_free_ char *vname = NULL, *dir = NULL, *path = NULL;
	bool subvol;
	int r;

	if (!fmt)
		fmt = st->cfg && section_get(st->cfg, "format") ? section_get(st->cfg, "format")
		                                                : "raw";
	if (!dir_format_valid(fmt))
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

	dir = xasprintf("%s/images/%ld", st->path, vmid);
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
	path = dir_vol_path(st, &dv);
	if (streq(dv.format, "subvol")) {
		r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (r != 0)
			r = error_set(err, errno ? -errno : -EIO, 500,
			              "unable to remove directory '%s': %m", path);
	} else if (unlink(path) < 0) {
		r = error_set(err, -errno, errno == ENOENT ? 404 : 500, "unable to delete '%s': %m",
		              path);
	} else if (streq(dv.vtype, "backup")) {
		static const char *const sidecars[] = {".notes", ".protected", ".log"};

		for (size_t i = 0; i < ARRAY_SIZE(sidecars); i++) {
			_cleanup_free_ char *f = xasprintf("%s%s", path, sidecars[i]);

			(void)unlink(f);
		}
	}
	if (r == 0 && (streq(dv.vtype, "images") || streq(dv.vtype, "rootdir"))) {
		_cleanup_free_ char *dir = xasprintf("%s/images/%ld", st->path, dv.vmid);

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
	int r = dir_parse_volname(volname, dv, err);

	if (r < 0)
		return r;
	if (!streq(dv->vtype, "images") || streq(dv->format, "subvol")) {
		r = error_set(err, -EOPNOTSUPP, 500,
		              "%s of volume '%s' (format %s) is not supported", op, volname,
		              dv->format);
		dir_vol_clear(dv);
		return r;
	}
	*ret_path = dir_vol_path(st, dv);
	return 0;
}

static int dir_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                      struct error **err)
{
	struct dir_vol dv;
	_cleanup_free_ char *path = NULL;
	struct cmd c;
	int r;

	r = dir_image(st, volname, "resize", &dv, &path, err);
	if (r < 0)
		return r;
	dir_resize_build_cmd(&c, path, dv.format, size,
	                     st->cfg ? section_get(st->cfg, "preallocation") : NULL);
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

	r = dir_image(st, volname, "snapshot", &dv, &path, err);
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

	r = dir_parse_volname(volname, &dv, err);
	if (r < 0)
		return r;
	path = dir_vol_path(st, &dv);
	if (lstat(path, &sb) < 0) {
		r = error_set(err, -errno, errno == ENOENT ? 404 : 500,
		              "unable to stat volume '%s': %m", path);
		goto out;
	}
	if (!streq(dv.vtype, "images") || !streq(dv.format, "qcow2"))
		goto out; /* none */
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
	if (vmid <= 0 || vmid > 999999999) {
		dir_vol_clear(&dv);
		return error_set(err, -EINVAL, 400, "invalid VMID %ld", vmid);
	}
	r = find_free_diskname(st, vmid, "qcow2", &name, err);
	if (r < 0)
		goto out;
	dir = xasprintf("%s/images/%ld", st->path, vmid);
	r = mkdir_p(dir, 0755);
	if (r < 0) {
		r = error_set(err, r, 500, "unable to create directory '%s': %s", dir,
		              strerror(-r));
		goto out;
	}
	newpath = path_join(dir, name);
	/* relative, so the storage can move; qemu resolves it against the
	 * overlay's directory */
	backing = xasprintf("../%ld/%s", dv.vmid, dv.name);
	dir_clone_build_cmd(&c, newpath, backing, dv.format,
	                    st->cfg ? section_get(st->cfg, "preallocation") : NULL);
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
	_cleanup_free_ char *path = NULL, *newname = NULL, *newpath = NULL;
	int r;

	r = dir_image(st, volname, "create_base", &dv, &path, err);
	if (r < 0)
		return r;
	if (dv.is_base || !str_startswith(dv.name, "vm-")) {
		r = error_set(err, -EINVAL, 500, "create_base not possible with base image");
		goto out;
	}
	newname = xasprintf("base-%s", dv.name + strlen("vm-"));
	newpath = xasprintf("%s/images/%ld/%s", st->path, dv.vmid, newname);
	if (access(newpath, F_OK) == 0) {
		r = error_set(err, -EEXIST, 500, "file '%s' already exists", newpath);
		goto out;
	}
	if (rename(path, newpath) < 0) {
		r = error_set(err, -errno, 500, "rename '%s' to '%s' failed - %m", path, newpath);
		goto out;
	}
	/* read-only, so nothing writes to a disk that clones depend on (PVE
	 * also sets chattr +i; we do not, so freeing needs no root tool) */
	if (chmod(newpath, 0444) < 0) {
		r = error_set(err, -errno, 500, "chmod '%s' failed - %m", newpath);
		goto out;
	}
	if (w)
		task_log(w, "renamed '%s' to '%s'", path, newpath);
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
    .caps = STORAGE_CAP_SNAPSHOT | STORAGE_CAP_CLONE | STORAGE_CAP_TEMPLATE | STORAGE_CAP_RESIZE |
            STORAGE_CAP_THIN | STORAGE_CAP_SUBVOL,
    .formats = dir_formats,
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
