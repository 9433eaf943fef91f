/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * File content of file-based storages (iso, vztmpl, backup, snippets,
 * import), shared by the dir and btrfs backends; see storage-files.h.
 * Listing follows PVE's get_subdir_files: formats, a backup's time from
 * its name, notes and protection from the sidecar files.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-files.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

#define NOTES_MAX_BYTES (64u << 10)

/* The file content types, in listing order. */
static const enum vtype file_vtypes[] = {VTYPE_ISO, VTYPE_VZTMPL, VTYPE_BACKUP, VTYPE_SNIPPETS,
                                         VTYPE_IMPORT};

void volume_list_push(struct volume_list *l, struct storage_volume *v)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 16;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	l->v[l->n++] = *v;
	*v = (struct storage_volume){0};
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int storage_read_dir_sorted(const char *dir, char ***ret, size_t *ret_n, struct error **err)
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
		qsort(names, n, sizeof(*names), cmp_name);
	*ret = names;
	*ret_n = n;
	return 0;
}

void storage_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool is_file_vtype(enum vtype t)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_vtypes); i++)
		if (file_vtypes[i] == t)
			return true;
	return false;
}

bool storage_files_owns(const char *volname)
{
	const char *slash = volname ? strchr(volname, '/') : NULL;

	if (!slash)
		return false;
	_cleanup_free_ char *first = xstrndup(volname, (size_t)(slash - volname));
	return is_file_vtype(vtype_from_string(first));
}

static bool list_has(const char *list, const char *item)
{
	size_t len = strlen(item);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, item, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

bool storage_content_wanted(const struct storage *st, const char *content, const char *vtype)
{
	if (content)
		return list_has(content, vtype);
	if (st->cfg)
		return storage_section_has_content(st->cfg, vtype);
	return list_has("images,rootdir", vtype);
}

char *storage_files_dir(const struct storage *st, const char *vtype, struct error **err)
{
	if (st->cfg)
		return storage_content_dir(st->cfg, vtype, err);
	const char *sub = vtype_subdir(vtype_from_string(vtype));
	if (!st->path || !sub) {
		error_set(err, -EINVAL, 500, "storage '%s' has no path", st->id);
		return NULL;
	}
	return path_join(st->path, sub);
}

/* --- names and formats --- */

struct file_vol {
	enum vtype vtype;
	char *name;   /* the file's name in its content directory */
	long vmid;    /* a backup's guest, else 0 */
	char *format; /* as PVE lists it */
};

static void file_vol_clear(struct file_vol *v)
{
	free(v->name);
	free(v->format);
	*v = (struct file_vol){0};
}

static bool has_suffix(const char *s, const char *suffix, bool icase)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	if (ls <= lx)
		return false;
	return icase ? strcasecmp(s + ls - lx, suffix) == 0 : streq(s + ls - lx, suffix);
}

/* PVE's listing format: vztmpl "tar" or "t<compression>", a backup its
 * extension ("vma.zst"), snippets "snippet", iso "iso", import the
 * extension volname_parse found. */
static char *list_format(enum vtype t, const char *name, const char *parsed)
{
	static const struct {
		const char *ext, *fmt;
	} vztmpl[] = {
	    {".tar.gz", "tgz"},   {".tar.xz", "txz"}, {".tar.zst", "tzst"},
	    {".tar.bz2", "tbz2"}, {".tar", "tar"},
	};
	/* longest first, so "vma.zst" wins over nothing shorter matching */
	static const char *const backup[] = {"tar.gz", "tar.lzo", "tar.zst", "tar.bz2",
	                                     "vma.gz", "vma.lzo", "vma.zst", "vma.bz2",
	                                     "tgz",    "tar",     "vma",     NULL};

	switch (t) {
	case VTYPE_ISO:
		return xstrdup("iso");
	case VTYPE_VZTMPL:
		for (size_t i = 0; i < ARRAY_SIZE(vztmpl); i++)
			if (has_suffix(name, vztmpl[i].ext, true))
				return xstrdup(vztmpl[i].fmt);
		break;
	case VTYPE_BACKUP:
		for (size_t i = 0; backup[i]; i++) {
			_cleanup_free_ char *dot = xasprintf(".%s", backup[i]);
			if (has_suffix(name, dot, false))
				return xstrdup(backup[i]);
		}
		break;
	case VTYPE_SNIPPETS:
		return xstrdup("snippet");
	default:
		break;
	}
	return xstrdup(parsed ? parsed : "raw");
}

/* volid's grammar, plus the refusals of a file of our own: no OVA members
 * ("import/x.ova/disk.vmdk" is not a file) and no hidden names. */
static int file_parse(const char *volname, struct file_vol *ret, struct error **err)
{
	struct volname_info vi = {0};
	int r = volname_parse(volname, &vi, err);

	if (r < 0)
		return r;
	if (!is_file_vtype(vi.vtype) || strchr(vi.name, '/') || vi.name[0] == '.') {
		volname_info_clear(&vi);
		return error_set(err, -EINVAL, 400, "unable to parse directory volume name '%s'",
		                 volname);
	}
	/* not in the initializer: its evaluation order is unspecified */
	char *fmt = list_format(vi.vtype, vi.name, vi.format);
	*ret = (struct file_vol){
	    .vtype = vi.vtype,
	    .vmid = vi.vmid,
	    .format = fmt,
	    .name = TAKE_PTR(vi.name),
	};
	volname_info_clear(&vi);
	return 0;
}

static char *file_path(const struct storage *st, const struct file_vol *fv, struct error **err)
{
	_cleanup_free_ char *dir = storage_files_dir(st, vtype_to_string(fv->vtype), err);

	return dir ? path_join(dir, fv->name) : NULL;
}

int storage_files_path(const struct storage *st, const char *volname, char **ret_path,
                       struct error **err)
{
	struct file_vol fv;
	int r = file_parse(volname, &fv, err);

	if (r < 0)
		return r;
	char *p = file_path(st, &fv, err);
	file_vol_clear(&fv);
	if (!p)
		return -EINVAL;
	*ret_path = p;
	return 0;
}

/* --- info and list --- */

/*
 * A backup's sidecars count only as regular files: a symbolic link (a
 * planted "<file>.notes -> /etc/shadow") or a FIFO reads as no sidecar, so
 * nothing outside the storage is read or waited for, a link's target does
 * not even show through the protection flag, and one bad sidecar does not
 * break the listing.  Writes refuse them (storage_set_attributes());
 * removals take the link itself.
 */
static char *read_notes(const char *path)
{
	_cleanup_free_ char *f = xasprintf("%s.notes", path);
	struct error *e = NULL;
	char *data = NULL;
	size_t len;
	int r = read_file_full(f, NOTES_MAX_BYTES, READ_FILE_NOFOLLOW, &data, &len, &e);

	if (r < 0 && r != -ENOENT)
		log_debug("ignoring the notes of '%s': %s", path, e->msg);
	error_free(e);
	return r < 0 ? NULL : data;
}

static bool has_sidecar(const char *path, const char *suffix)
{
	_cleanup_free_ char *f = xasprintf("%s%s", path, suffix);
	struct stat s;

	return lstat(f, &s) == 0 && S_ISREG(s.st_mode);
}

/* Fills v for the file at path (symlinks are followed, as PVE's stat). */
static int file_fill(const struct file_vol *fv, const char *path, struct storage_volume *v,
                     struct error **err)
{
	struct stat s;

	if (stat(path, &s) < 0)
		return error_set(err, -errno, errno == ENOENT ? 404 : 500,
		                 "unable to stat volume '%s': %m", path);
	if (!S_ISREG(s.st_mode))
		return error_set(err, -EINVAL, 500, "'%s' is not a file", path);
	*v = (struct storage_volume){
	    .volname = xasprintf("%s/%s", vtype_to_string(fv->vtype), fv->name),
	    .format = xstrdup(fv->format),
	    .vtype = xstrdup(vtype_to_string(fv->vtype)),
	    .vmid = fv->vmid,
	    .size = (uint64_t)s.st_size,
	    .used = (uint64_t)s.st_blocks * 512,
	    .ctime = s.st_ctime,
	};
	if (fv->vtype == VTYPE_BACKUP) {
		struct archive_info ai;

		if (archive_info_parse(fv->name, &ai, NULL) == 0) {
			if (ai.is_std_name)
				v->ctime = (time_t)ai.ctime;
			archive_info_clear(&ai);
		}
		v->protected_ = has_sidecar(path, ".protected");
		v->notes = read_notes(path);
	}
	return 0;
}

int storage_files_info(const struct storage *st, const char *volname, struct storage_volume *ret,
                       struct error **err)
{
	struct file_vol fv;
	int r = file_parse(volname, &fv, err);

	if (r < 0)
		return r;
	_cleanup_free_ char *path = file_path(st, &fv, err);
	r = path ? file_fill(&fv, path, ret, err) : -EINVAL;
	file_vol_clear(&fv);
	return r;
}

static int list_one(const struct storage *st, enum vtype t, long vmid, struct volume_list *l,
                    struct error **err)
{
	const char *vt = vtype_to_string(t);
	_cleanup_free_ char *dir = storage_files_dir(st, vt, err);
	char **names = NULL;
	size_t n = 0;
	int r;

	if (!dir)
		return -EINVAL;
	r = storage_read_dir_sorted(dir, &names, &n, err);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *volname = xasprintf("%s/%s", vt, names[i]);
		_cleanup_free_ char *path = path_join(dir, names[i]);
		struct storage_volume v = {0};
		struct file_vol fv;

		/* what does not parse is not ours, like PVE's pattern match */
		if (file_parse(volname, &fv, NULL) < 0)
			continue;
		/* directories, sockets and dangling links are skipped, and a
		 * file removed meanwhile too */
		if (!(vmid && t == VTYPE_BACKUP && fv.vmid != vmid) &&
		    file_fill(&fv, path, &v, NULL) == 0)
			volume_list_push(l, &v);
		file_vol_clear(&fv);
	}
	storage_names_free(names, n);
	return r;
}

int storage_files_list(const struct storage *st, long vmid, const char *content,
                       struct volume_list *l, struct error **err)
{
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(file_vtypes) && r >= 0; i++) {
		enum vtype t = file_vtypes[i];

		if (!storage_content_wanted(st, content, vtype_to_string(t)))
			continue;
		/* PVE: templates and ISO images belong to no guest */
		if (vmid && (t == VTYPE_ISO || t == VTYPE_VZTMPL))
			continue;
		r = list_one(st, t, vmid, l, err);
	}
	return r;
}

/* --- attributes --- */

/* Writes the sidecar path with text, or removes it when text is NULL;
 * what names the removal in an error. */
static int set_sidecar(const char *path, const char *text, const char *what, struct error **err)
{
	if (text)
		return write_file_atomic_full(path, text, strlen(text), 0644, WRITE_FILE_NOFOLLOW,
		                              err);
	if (unlink(path) < 0 && errno != ENOENT)
		return error_set(err, -errno, 500, "unable to remove %s - %s", what,
		                 strerror(errno));
	return 0;
}

int storage_set_attributes(struct storage *st, const char *volname, const char *notes,
                           int protected_, struct error **err)
{
	_cleanup_free_ char *path = NULL;

	if (!st->path)
		return error_set(err, -EOPNOTSUPP, 500,
		                 "storage type '%s' does not support volume attributes",
		                 st->be->type);
	int r = storage_path(st, volname, &path, err);
	if (r < 0)
		return r;
	/* a subvol directory's path may end in '/' */
	size_t l = strlen(path);
	while (l > 1 && path[l - 1] == '/')
		path[--l] = '\0';
	if (notes) {
		_cleanup_free_ char *f = xasprintf("%s.notes", path);
		r = set_sidecar(f, *notes ? notes : NULL, "notes", err);
		if (r < 0)
			return r;
	}
	if (protected_ >= 0) {
		_cleanup_free_ char *f = xasprintf("%s.protected", path);
		r = set_sidecar(f, protected_ ? "" : NULL, "protection", err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- free --- */

static void unlink_aux(const char *path, struct task_worker *w)
{
	if (unlink(path) < 0 && errno != ENOENT && w)
		task_warn(w, "unable to remove '%s' - %s", path, strerror(errno));
}

int storage_files_free(const struct storage *st, const char *volname, struct task_worker *w,
                       struct error **err)
{
	struct file_vol fv;
	_cleanup_free_ char *path = NULL;
	int r = file_parse(volname, &fv, err);

	if (r < 0)
		return r;
	path = file_path(st, &fv, err);
	if (!path) {
		r = -EINVAL;
	} else if (unlink(path) < 0) {
		r = error_set(err, -errno, errno == ENOENT ? 404 : 500, "unable to delete '%s': %m",
		              path);
	} else if (fv.vtype == VTYPE_BACKUP) {
		struct archive_info ai;
		_cleanup_free_ char *notes = xasprintf("%s.notes", path);
		_cleanup_free_ char *prot = xasprintf("%s.protected", path);

		unlink_aux(notes, w);
		unlink_aux(prot, w);
		/* a standard name's log is "<name without extension>.log" */
		if (archive_info_parse(fv.name, &ai, NULL) == 0) {
			if (ai.logfilename) {
				_cleanup_free_ char *dir = xstrdup(path);
				_cleanup_free_ char *log = NULL;

				*strrchr(dir, '/') = '\0';
				log = path_join(dir, ai.logfilename);
				unlink_aux(log, w);
			}
			archive_info_clear(&ai);
		}
	}
	if (r == 0 && w)
		task_log(w, "removed volume '%s'", volname);
	file_vol_clear(&fv);
	return r;
}

/* --- the immutable attribute --- */

static void warn(struct task_worker *w, const char *what, const char *path, int e)
{
	if (w)
		task_warn(w, "unable to %s the immutable attribute of '%s' - %s", what, path,
		          strerror(e));
	else
		log_debug("unable to %s the immutable attribute of '%s' - %s", what, path,
		          strerror(e));
}

int storage_file_set_immutable(const char *path, bool on, struct task_worker *w, struct error **err)
{
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	int flags = 0;

	if (fd < 0)
		return error_set(err, -errno, errno == ENOENT ? 404 : 500,
		                 "unable to open '%s': %m", path);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
		/* no attributes here (tmpfs): nothing can be set */
		if (on)
			warn(w, "set", path, errno);
		return 0;
	}
	if (!!(flags & FS_IMMUTABLE_FL) == on)
		return 0;
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) {
		int e = errno;

		if (on) {
			warn(w, "set", path, e);
			return 0;
		}
		return error_set(err, -e, 500,
		                 "unable to clear the immutable attribute of '%s' - %s", path,
		                 strerror(e));
	}
	if (w)
		task_log(w, "%s the immutable attribute of '%s'", on ? "set" : "cleared", path);
	return 1;
}

bool storage_file_is_immutable(const char *path)
{
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	int flags = 0;

	return fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL);
}
