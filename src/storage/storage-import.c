/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Uploads and downloads into a file storage (storage-import.h): the
 * temporary files before the task, and the task bodies that fetch, verify
 * and rename them into place.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nettle/nettle-meta.h>

#include "cmd.h"
#include "download-cmd.h"
#include "error.h"
#include "fileio.h"
#include "image-header.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-import.h"
#include "storage.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

#define MAX_DIGEST         64 /* SHA-512 */
#define MKSTEMP_RANDOM_LEN 6

/* the names of the temporary files, ".<what>-XXXXXX.tmp" */
#define UPLOAD_TMP   "imgcopy"
#define DOWNLOAD_TMP "download"

static const char *const contents[] = {"iso", "vztmpl", "import"};
static const char *const algorithms[] = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"};

/* --- the storage -------------------------------------------------------- */

/* A file storage with a path: what every import needs before the rest. */
static int find_section(const struct section_config *c, const char *storeid,
                        const struct section **ret, struct error **err)
{
	const struct section *s = section_config_find(c, storeid);
	if (!s)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", storeid);
	const char *path = section_get(s, "path");
	if (!path || !*path || !(storage_type_caps(s->type) & STORAGE_CAP_FILES))
		return error_set(err, -EOPNOTSUPP, 500,
		                 "storage '%s' is not a file storage (type '%s')", storeid,
		                 s->type);
	*ret = s;
	return 0;
}

static int check_usable(const struct section *s, const char *node, const char *content,
                        struct error **err)
{
	if (!storage_section_enabled_on(s, node))
		return error_set(err, -EINVAL, 500, "storage '%s' is disabled", s->id);
	if (content && !storage_section_has_content(s, content))
		return error_set(err, -EINVAL, 500,
		                 "storage '%s' does not support content-type '%s'", s->id, content);
	return 0;
}

static int fill_target(const struct section *s, const char *content,
                       struct storage_import_target *ret, struct error **err)
{
	struct storage_import_target t = {0};
	if (content) {
		t.content_dir = storage_content_dir(s, content, err);
		if (!t.content_dir)
			return -EINVAL;
	}
	t.path = xstrdup(section_get(s, "path"));
	*ret = t;
	return 0;
}

int storage_import_target_get(struct storage_config_store *store, const char *node,
                              const char *storeid, const char *content,
                              struct storage_import_target *ret, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	const struct section *s = NULL;
	int r = storage_config_store_get(store, &snap, err);
	if (r == 0)
		r = find_section(storage_config_snapshot_config(snap), storeid, &s, err);
	if (r == 0)
		r = check_usable(s, node, content, err);
	if (r == 0)
		r = fill_target(s, content, ret, err);
	return r;
}

void storage_import_target_clear(struct storage_import_target *t)
{
	free(t->path);
	free(t->content_dir);
	*t = (struct storage_import_target){0};
}

unsigned long long storage_import_free_bytes(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}

/* --- names --------------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (streq(s, list[i]))
			return true;
	return false;
}

bool storage_import_content_valid(const char *content)
{
	return in_list(content, contents, ARRAY_SIZE(contents));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

int storage_import_check_name(const char *content, const char *name, struct error **err)
{
	if (!*name || streq(name, ".") || strstr(name, "..") || strchr(name, '/') ||
	    name[0] == '.' || strlen(name) > 255)
		return error_set(err, -EINVAL, 400, "invalid file name '%s'", name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return error_set(err, -EINVAL, 400, "invalid file name");
	static const char *const iso[] = {".iso", ".img", NULL};
	static const char *const vztmpl[] = {".tar.gz", ".tar.xz", ".tar.zst", ".tgz", NULL};
	static const char *const import[] = {".ova", ".ovf", ".qcow2", ".raw", ".vmdk", NULL};
	const char *const *ext = streq(content, "iso")      ? iso
	                         : streq(content, "vztmpl") ? vztmpl
	                                                    : import;
	for (; *ext; ext++)
		if (has_suffix(name, *ext))
			return 0;
	return error_set(err, -EINVAL, 400, "wrong file extension for content type '%s'", content);
}

/* The disk image format of an import source to check before it is moved
 * into place, or NULL; an .ova or .ovf is checked where its disks are taken
 * out of it. */
static const char *image_format(const char *content, const char *filename)
{
	static const char *const image_fmts[] = {"qcow2", "raw", "vmdk"};
	const char *fmt = NULL;
	for (size_t i = 0; streq(content, "import") && i < ARRAY_SIZE(image_fmts); i++) {
		char ext[16];
		snprintf(ext, sizeof(ext), ".%s", image_fmts[i]);
		if (has_suffix(filename, ext))
			fmt = image_fmts[i];
	}
	return fmt;
}

/* ".<what>-XXXXXX.tmp" as mkostemps makes it */
static bool tmp_name_valid(const char *what, const char *name)
{
	size_t l = strlen(what);
	if (name[0] != '.' || strncmp(name + 1, what, l) != 0 || name[1 + l] != '-')
		return false;
	const char *x = name + 2 + l;
	if (strlen(x) != MKSTEMP_RANDOM_LEN + strlen(".tmp") ||
	    !streq(x + MKSTEMP_RANDOM_LEN, ".tmp"))
		return false;
	for (size_t i = 0; i < MKSTEMP_RANDOM_LEN; i++)
		if (!isalnum((unsigned char)x[i]))
			return false;
	return true;
}

/* A fresh ".<what>-XXXXXX.tmp" in dir, created 0600 with O_EXCL; *ret its path. */
static int make_tmp(const char *dir, const char *what, char **ret, struct error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/.%s-XXXXXX.tmp", dir, what);
	if (strlen(path) >= PATH_MAX)
		return error_set(err, -ENAMETOOLONG, 500, "path too long");
	int fd = mkostemps(path, 4, O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to create temporary file in '%s' - %s",
		                 dir, strerror(errno));
	close(fd);
	*ret = TAKE_PTR(path);
	return 0;
}

/* The final path of filename in t, if nothing is there yet. */
static int dest_path(const struct storage_import_target *t, const char *filename, char **ret,
                     struct error **err)
{
	_cleanup_free_ char *dest = xasprintf("%s/%s", t->content_dir, filename);
	if (strlen(dest) >= PATH_MAX)
		return error_set(err, -ENAMETOOLONG, 400, "file name too long");
	if (access(dest, F_OK) == 0)
		return error_set(err, -EEXIST, 500, "refusing to override existing file '%s'",
		                 dest);
	*ret = TAKE_PTR(dest);
	return 0;
}

int storage_import_take_upload(const struct storage_import_target *t, const char *filename,
                               const char *upload_path, char **ret_tmp, struct error **err)
{
	_cleanup_free_ char *dest = NULL, *tmp = NULL;
	int r = dest_path(t, filename, &dest, err);
	if (r < 0)
		return r;
	/* a new name the task owns, in the storage's path where the http layer
	 * streamed the upload, so the rename never crosses a mount */
	r = make_tmp(t->path, UPLOAD_TMP, &tmp, err);
	if (r < 0)
		return r;
	if (rename(upload_path, tmp) < 0) {
		r = error_set(err, -errno, 500, "unable to take uploaded file - %s",
		              strerror(errno));
		unlink(tmp);
		return r;
	}
	*ret_tmp = xstrdup(strrchr(tmp, '/') + 1);
	return 0;
}

int storage_import_new_download(const struct storage_import_target *t, const char *filename,
                                char **ret_tmp, struct error **err)
{
	_cleanup_free_ char *dest = NULL, *tmp = NULL;
	int r = dest_path(t, filename, &dest, err);
	if (r < 0)
		return r;
	/* the temporary file goes where the volume will be (hidden, so no
	 * listing shows it), so the final rename never crosses a mount */
	r = mkdir_p(t->content_dir, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create '%s' - %s", t->content_dir,
		                 strerror(-r));
	r = make_tmp(t->content_dir, DOWNLOAD_TMP, &tmp, err);
	if (r < 0)
		return r;
	*ret_tmp = xstrdup(strrchr(tmp, '/') + 1);
	return 0;
}

/* Where the temporary file tmp of t is: an upload's in the storage's path,
 * a download's in the content directory; NULL for any other name. */
static char *tmp_path(const struct storage_import_target *t, const char *tmp)
{
	if (tmp_name_valid(UPLOAD_TMP, tmp))
		return xasprintf("%s/%s", t->path, tmp);
	if (tmp_name_valid(DOWNLOAD_TMP, tmp) && t->content_dir)
		return xasprintf("%s/%s", t->content_dir, tmp);
	return NULL;
}

void storage_import_discard(const struct storage_import_target *t, const char *tmp)
{
	_cleanup_free_ char *path = tmp ? tmp_path(t, tmp) : NULL;
	if (path)
		unlink(path);
}

/* --- the arguments of a task --------------------------------------------- */

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static bool url_valid(const char *url)
{
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

int storage_import_check(const struct storage_import *imp, bool download, struct error **err)
{
	if (!imp->storage || !imp->content || !imp->filename || !imp->tmp)
		return error_set(err, -EINVAL, 500, "incomplete import");
	int r = storage_verify_id(imp->storage, err);
	if (r < 0)
		return r;
	if (!storage_import_content_valid(imp->content))
		return error_set(err, -EINVAL, 500, "invalid content type '%s'", imp->content);
	struct error *e = NULL;
	if (storage_import_check_name(imp->content, imp->filename, &e) < 0) {
		e->http_status = 500; /* as every argument error of a task */
		error_propagate(err, e);
		return -EINVAL;
	}
	if (!tmp_name_valid(download ? DOWNLOAD_TMP : UPLOAD_TMP, imp->tmp))
		return error_set(err, -EINVAL, 500, "invalid temporary file name '%s'", imp->tmp);
	if (!imp->checksum != !imp->checksum_algorithm)
		return error_set(err, -EINVAL, 500,
		                 "'checksum' and 'checksum-algorithm' go together");
	if (imp->checksum && (!is_hex(imp->checksum) || strlen(imp->checksum) > 2 * MAX_DIGEST))
		return error_set(err, -EINVAL, 500, "not a hex checksum");
	if (imp->checksum_algorithm &&
	    !in_list(imp->checksum_algorithm, algorithms, ARRAY_SIZE(algorithms)))
		return error_set(err, -EINVAL, 500, "unknown checksum algorithm '%s'",
		                 imp->checksum_algorithm);
	if (download && (!imp->url || !url_valid(imp->url)))
		return error_set(err, -EINVAL, 500, "invalid URL");
	if (!download && imp->url)
		return error_set(err, -EINVAL, 500, "an upload has no URL");
	return 0;
}

/* --- verify and rename (in the task) ----------------------------------- */

static int hash_file(const char *path, const char *algo, char *hex, size_t hexsize,
                     struct error **err)
{
	const struct nettle_hash *h = nettle_lookup_hash(algo);
	if (!h || h->digest_size * 2 + 1 > hexsize)
		return error_set(err, -EINVAL, 400, "unknown checksum algorithm '%s'", algo);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open '%s' - %s", path,
		                 strerror(errno));
	_cleanup_free_ void *ctx = xmalloc(h->context_size);
	_cleanup_free_ char *buf = xmalloc(1 << 20);
	h->init(ctx);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_set(err, -errno, 500, "unable to read '%s' - %s", path,
			                 strerror(errno));
		if (n == 0)
			break;
		h->update(ctx, (size_t)n, (const uint8_t *)buf);
	}
	uint8_t digest[MAX_DIGEST];
	h->digest(ctx, h->digest_size, digest);
	for (unsigned i = 0; i < h->digest_size; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

#define COPY_BUF_SIZE (128u << 10)

/* Copies src into a fresh temporary file in dir, syncs it and renames it to
 * dest without replacing anything; nothing is left in dir on failure. */
static int copy_across(const char *src, const char *dir, const char *dest, struct error **err)
{
	_cleanup_free_ char *tmp = NULL;
	int r = make_tmp(dir, UPLOAD_TMP, &tmp, err);
	if (r < 0)
		return r;
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int out = open(tmp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	r = in < 0 || out < 0 || flock(out, LOCK_EX) < 0 ? -errno : 0;
	bool plain = false; /* copy_file_range refuses most pairs of file systems */
	_cleanup_free_ char *buf = NULL;
	while (r == 0) {
		ssize_t n;
		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS ||
			              errno == EINVAL)) {
				plain = true;
				buf = xmalloc(COPY_BUF_SIZE);
				continue;
			}
		} else {
			n = read(in, buf, COPY_BUF_SIZE);
			if (n > 0 && write_full(out, buf, (size_t)n) < 0)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
	}
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	if (r == 0 && syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		if (r == -EEXIST)
			return error_set(err, r, 500, "refusing to override existing file '%s'",
			                 dest);
		return error_set(err, r, 500, "unable to copy '%s' to '%s' - %s", src, dest,
		                 strerror(-r));
	}
	return 0;
}

/* What a running import works on, from its arguments and storage.cfg as it
 * is now. */
struct import_job {
	const struct storage_import *imp;
	char *tmp;       /* the temporary file, owned by the task */
	char *dest;      /* the final path */
	char *dir;       /* the content directory: the download's free space */
	const char *fmt; /* the disk image format to check, NULL for none */
	int hold;
};

static void job_clear(struct import_job *j)
{
	free(j->tmp);
	free(j->dest);
	free(j->dir);
	if (j->hold >= 0)
		close(j->hold);
}

/*
 * Finds the storage again and the temporary file in it, and holds the file
 * to the end, so a restarted daemon's sweep leaves it (storage.h).  A
 * storage that is disabled or lost the content type since is refused, and
 * the temporary file removed; one that is gone or has no path any more
 * leaves it to the next sweep.
 */
static int job_open(struct storage_config_store *store, const char *node,
                    const struct storage_import *imp, struct import_job *j, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	_cleanup_(storage_import_target_clear) struct storage_import_target t = {0};
	const struct section *s = NULL;
	*j = (struct import_job){.imp = imp, .hold = -1};
	int r = storage_config_store_get(store, &snap, err);
	if (r == 0)
		r = find_section(storage_config_snapshot_config(snap), imp->storage, &s, err);
	if (r == 0)
		r = fill_target(s, imp->content, &t, err);
	if (r < 0)
		return r;
	j->tmp = tmp_path(&t, imp->tmp);
	if (!j->tmp)
		return error_set(err, -EINVAL, 500, "invalid temporary file name '%s'", imp->tmp);
	j->hold = tmpfile_hold(j->tmp);
	j->dest = xasprintf("%s/%s", t.content_dir, imp->filename);
	j->dir = TAKE_PTR(t.content_dir);
	j->fmt = image_format(imp->content, imp->filename);
	r = check_usable(s, node, imp->content, err);
	if (r < 0)
		unlink(j->tmp);
	return r;
}

static int verify_and_rename(struct task_worker *w, struct import_job *j, struct error **err)
{
	const struct storage_import *imp = j->imp;
	int r;
	if (imp->checksum) {
		char hex[2 * MAX_DIGEST + 1];
		task_log(w, "calculating %s checksum", imp->checksum_algorithm);
		r = hash_file(j->tmp, imp->checksum_algorithm, hex, sizeof(hex), err);
		if (r < 0)
			return r;
		if (strcasecmp(hex, imp->checksum) != 0)
			return error_set(err, -EBADMSG, 500,
			                 "checksum mismatch: got '%s' != expect '%s'", hex,
			                 imp->checksum);
		task_log(w, "checksum verified");
	}
	if (j->fmt) {
		/* a disk image from outside must not name host files that
		 * qemu-img would read into a guest's disk later */
		task_log(w, "checking %s image '%s'", j->fmt, imp->filename);
		r = image_check_untrusted(j->tmp, j->fmt, err);
		if (r < 0) {
			if (err && *err)
				error_prefix(*err, "refusing image '%s'", imp->filename);
			return r;
		}
	}
	_cleanup_close_ int fd = open(j->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return error_set(err, -errno, 500, "unable to sync '%s' - %s", j->tmp,
		                 strerror(errno));
	/* a content-dirs override may be nested ("backup=my/dumps") */
	r = mkdir_p(j->dir, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create '%s' - %s", j->dir, strerror(-r));
	int rr = (int)syscall(SYS_renameat2, AT_FDCWD, j->tmp, AT_FDCWD, j->dest, RENAME_NOREPLACE);
	if (rr < 0 && errno == EXDEV) {
		/* a content-dirs override may be another file system than the
		 * storage's path, where the upload was streamed to */
		task_log(w, "copying to the file system of '%s'", j->dest);
		r = copy_across(j->tmp, j->dir, j->dest, err);
		if (r < 0)
			return r;
		unlink(j->tmp);
		task_log(w, "target file: %s", j->dest);
		return 0;
	}
	if (rr < 0) {
		if (errno == EEXIST)
			return error_set(err, -EEXIST, 500,
			                 "refusing to override existing file '%s'", j->dest);
		return error_set(err, -errno, 500, "unable to move '%s' to '%s' - %s", j->tmp,
		                 j->dest, strerror(errno));
	}
	task_log(w, "target file: %s", j->dest);
	return 0;
}

int storage_import_upload_run(struct storage_config_store *store, const char *node,
                              const struct storage_import *imp, struct task_worker *w,
                              struct error **err)
{
	_cleanup_(job_clear) struct import_job j = {.hold = -1};
	int r = job_open(store, node, imp, &j, err);
	if (r < 0)
		return r;
	task_log(w, "moving uploaded file into place");
	r = verify_and_rename(w, &j, err);
	if (r < 0)
		unlink(j.tmp);
	return r;
}

/* --- download (in the task) --------------------------------------------- */

/* One request of a download: curl's answer goes to fd within max_size.
 * *ret_location is the redirect target of a 3xx answer, else NULL. */
static int download_fetch(const struct storage_import *imp, const char *url, const char *pin,
                          unsigned long long max_size, int fd, char **ret_location,
                          struct error **err)
{
	const struct download_spec spec = {
	    .url = url, .resolve = pin, .insecure = imp->insecure, .max_size = max_size};
	_cleanup_strbuf_ struct strbuf config = STRBUF_INIT;
	_cleanup_error_ struct error *e = NULL;
	struct cmd_result res = {0};
	struct cmd c;
	long code = 0;
	char *location = NULL;

	download_build_cmd(&c, &config, &spec);
	cmd_set_stdin(&c, config.buf, config.len);
	cmd_set_stdout_fd(&c, fd, max_size);
	int r = cmd_run(&c, &res, &e);
	cmd_release(&c);
	/* the command line holds no URL; curl's messages name no credentials */
	if (r < 0 && res.out_over) {
		r = error_set(err, -EFBIG, 500,
		              "download exceeds the free space of the storage (%llu bytes)",
		              max_size);
	} else if (r < 0) {
		_cleanup_free_ char *why = download_error_line(res.err, res.err_len);
		if (why)
			r = error_set(err, r, 500, "download failed: %s", why);
		else
			r = error_set(err, r, 500, "download failed: %s",
			              e ? e->msg : "curl failed");
	} else if (download_parse_result(res.err, res.err_len, &code, &location, err) < 0) {
		r = -EIO;
	} else if (code >= 300 && code < 400 && location) {
		*ret_location = TAKE_PTR(location);
	}
	free(location);
	cmd_result_clear(&res);
	return r;
}

/*
 * curl follows no redirect itself: each target is checked (not this host,
 * not the daemon's port; the first URL is the caller's and is not checked)
 * and fetched with the checked address pinned.  The file is rewritten from
 * the start for each answer.  What the storage has free when the download
 * starts is its budget.
 */
static int download_loop(struct task_worker *w, struct import_job *j, struct error **err)
{
	const struct storage_import *imp = j->imp;
	_cleanup_free_ char *url = xstrdup(imp->url), *pin = NULL;
	unsigned long long max_size = storage_import_free_bytes(j->dir);
	int r = 0;

	_cleanup_close_ int fd = open(j->tmp, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		r = error_set(err, -errno, 500, "unable to open '%s' - %s", j->tmp,
		              strerror(errno));
	for (int hop = 0; r == 0; hop++) {
		char *location = NULL;
		r = download_fetch(imp, url, pin, max_size, fd, &location, err);
		if (r < 0 || !location)
			break;
		_cleanup_free_ char *to = download_url_redact(location);
		free(pin);
		pin = NULL;
		if (hop == DOWNLOAD_MAX_REDIRECTS)
			r = error_set(err, -ELOOP, 500, "too many redirects (more than %d)",
			              DOWNLOAD_MAX_REDIRECTS);
		else
			r = download_check_redirect(location, imp->api_port, &pin, err);
		if (r < 0) {
			if (err && *err)
				error_prefix(*err, "refusing redirect to '%s'", to);
			free(location);
			break;
		}
		task_log(w, "redirected to %s", to);
		free(url);
		url = location;
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			r = error_set(err, -errno, 500, "unable to truncate '%s' - %s", j->tmp,
			              strerror(errno));
	}
	return r;
}

int storage_import_download_run(struct storage_config_store *store, const char *node,
                                const struct storage_import *imp, struct task_worker *w,
                                struct error **err)
{
	_cleanup_(job_clear) struct import_job j = {.hold = -1};
	int r = job_open(store, node, imp, &j, err);
	if (r < 0)
		return r;
	/* the URL may carry credentials: the log shows it without them */
	_cleanup_free_ char *shown = download_url_redact(imp->url);
	task_log(w, "downloading %s to %s", shown, j.dest);
	r = download_loop(w, &j, err);
	if (r == 0) {
		task_log(w, "download finished");
		r = verify_and_rename(w, &j, err);
	}
	if (r < 0)
		unlink(j.tmp);
	return r;
}
