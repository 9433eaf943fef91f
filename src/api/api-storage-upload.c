/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /nodes/{node}/storage/{storage}/upload and .../download-url: ISO
 * images, container templates and import sources into a file storage, after
 * PVE::API2::Storage::Status.  An upload is streamed by the http layer into
 * a temporary file in the storage's directory (api_stream_request below
 * claims it); a download is fetched by curl into one.  Either way a task
 * verifies the optional checksum and, for a disk image (import content:
 * qcow2, raw, vmdk), that it names no file outside itself
 * (image_check_untrusted), and only then renames the file into place,
 * never replacing an existing file; every failure removes the temporary
 * file, so a volume only ever appears complete and verified.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nettle/nettle-meta.h>

#include "access.h"
#include "api-internal.h"
#include "api.h"
#include "auth.h"
#include "cmd.h"
#include "download-cmd.h"
#include "error.h"
#include "fileio.h"
#include "http.h"
#include "image-header.h"
#include "log.h"
#include "storage-config.h"
#include "storage.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

#define MAX_DIGEST 64 /* SHA-512 */

static const char *const content_values[] = {"iso", "vztmpl", "import", NULL};
static const char *const algo_values[] = {"md5",    "sha1",   "sha224", "sha256",
                                          "sha384", "sha512", NULL};

/* --- storage lookup --- */

/* The base path of a file storage that is enabled and holds content (NULL:
 * any content), and with content the directory of that content type
 * (content-dirs honoured), where the backends list it. */
static int storage_dir(struct api_context *ctx, const char *storeid, const char *content,
                       char **ret_path, char **ret_content_dir, struct error **err)
{
	_cleanup_section_config_ struct section_config *c = NULL;
	int r = storage_config_store_load(ctx->storage, &c, err);
	if (r < 0)
		return r;
	const struct section *s = section_config_find(c, storeid);
	if (!s)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", storeid);
	const char *path = section_get(s, "path");
	if (!path || !*path || !(storage_type_caps(s->type) & STORAGE_CAP_FILES))
		return error_set(err, -EOPNOTSUPP, 500,
		                 "storage '%s' is not a file storage (type '%s')", storeid,
		                 s->type);
	if (!storage_section_enabled_on(s, ctx->node))
		return error_set(err, -EINVAL, 500, "storage '%s' is disabled", storeid);
	if (content && !storage_section_has_content(s, content))
		return error_set(err, -EINVAL, 500,
		                 "storage '%s' does not support content-type '%s'", storeid,
		                 content);
	if (content && ret_content_dir) {
		*ret_content_dir = storage_content_dir(s, content, err);
		if (!*ret_content_dir)
			return -EINVAL;
	}
	*ret_path = xstrdup(path);
	return 0;
}

static unsigned long long free_bytes(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}

/* --- file names --- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* PVE's upload name rules: a plain file name with the content's extension. */
static int check_filename(const char *content, const char *name, struct error **err)
{
	if (!*name || streq(name, ".") || strstr(name, "..") || strchr(name, '/') ||
	    name[0] == '.' || strlen(name) > 255)
		return error_param(err, "filename", "invalid file name '%s'", name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return error_param(err, "filename", "invalid file name");
	static const char *const iso[] = {".iso", ".img", NULL};
	static const char *const vztmpl[] = {".tar.gz", ".tar.xz", ".tar.zst", ".tgz", NULL};
	static const char *const import[] = {".ova", ".ovf", ".qcow2", ".raw", ".vmdk", NULL};
	const char *const *ext = streq(content, "iso")      ? iso
	                         : streq(content, "vztmpl") ? vztmpl
	                                                    : import;
	for (; *ext; ext++)
		if (has_suffix(name, *ext))
			return 0;
	return error_param(err, "filename", "wrong file extension for content type '%s'", content);
}

static int check_checksum_params(const struct api_call *call, struct error **err)
{
	bool has_sum = api_param_has(call, "checksum");
	bool has_algo = api_param_has(call, "checksum-algorithm");
	if (has_sum != has_algo)
		return error_param(err, has_sum ? "checksum-algorithm" : "checksum",
		                   "'checksum' and 'checksum-algorithm' go together");
	if (has_sum) {
		const char *sum = api_param_str(call, "checksum");
		for (const char *p = sum; *p; p++)
			if (!isxdigit((unsigned char)*p))
				return error_param(err, "checksum", "not a hex checksum");
	}
	return 0;
}

/* --- the shared verify-and-rename step (runs in the task) --- */

struct import_job {
	char tmp[PATH_MAX];  /* the temporary file, owned by the task */
	char dest[PATH_MAX]; /* the final path */
	char url[4096];      /* download only */
	char algo[16];       /* "" when no checksum */
	char checksum[160];
	char fmt[8]; /* the disk image format to check, "" for none */
	bool insecure;
	unsigned long long max_size; /* the storage's free space: the download's budget */
	unsigned own_port;           /* ctvmd's: no redirect goes there */
};

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

static int make_tmp(const char *dir, const char *what, char *buf, size_t size, struct error **err);

#define COPY_BUF_SIZE (128u << 10)

/* Copies src into a fresh temporary file in dir, syncs it and renames it to
 * dest without replacing anything; nothing is left in dir on failure. */
static int copy_across(const char *src, const char *dir, const char *dest, struct error **err)
{
	char tmp[PATH_MAX];
	int r = make_tmp(dir, "imgcopy", tmp, sizeof(tmp), err);
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

static int verify_and_rename(struct task_worker *w, struct import_job *j, struct error **err)
{
	int r;
	if (j->algo[0]) {
		char hex[2 * MAX_DIGEST + 1];
		task_log(w, "calculating %s checksum", j->algo);
		r = hash_file(j->tmp, j->algo, hex, sizeof(hex), err);
		if (r < 0)
			return r;
		if (strcasecmp(hex, j->checksum) != 0)
			return error_set(err, -EBADMSG, 500,
			                 "checksum mismatch: got '%s' != expect '%s'", hex,
			                 j->checksum);
		task_log(w, "checksum verified");
	}
	if (j->fmt[0]) {
		/* a disk image from outside must not name host files that
		 * qemu-img would read into a guest's disk later */
		const char *name = strrchr(j->dest, '/') ? strrchr(j->dest, '/') + 1 : j->dest;
		task_log(w, "checking %s image '%s'", j->fmt, name);
		r = image_check_untrusted(j->tmp, j->fmt, err);
		if (r < 0) {
			if (err && *err)
				error_prefix(*err, "refusing image '%s'", name);
			return r;
		}
	}
	_cleanup_close_ int fd = open(j->tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return error_set(err, -errno, 500, "unable to sync '%s' - %s", j->tmp,
		                 strerror(errno));
	_cleanup_free_ char *dir = xstrdup(j->dest);
	char *slash = strrchr(dir, '/');
	if (slash) {
		/* a content-dirs override may be nested ("backup=my/dumps") */
		*slash = '\0';
		r = mkdir_p(dir, 0755);
		if (r < 0)
			return error_set(err, r, 500, "unable to create '%s' - %s", dir,
			                 strerror(-r));
	}
	int rr = (int)syscall(SYS_renameat2, AT_FDCWD, j->tmp, AT_FDCWD, j->dest, RENAME_NOREPLACE);
	if (rr < 0 && errno == EXDEV) {
		/* a content-dirs override may be another file system than the
		 * storage's path, where the upload was streamed to */
		task_log(w, "copying to the file system of '%s'", j->dest);
		r = copy_across(j->tmp, dir, j->dest, err);
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

static int imgcopy_worker(struct task_worker *w, void *arg, struct error **err)
{
	struct import_job *j = arg;
	/* held to the end, so a restarted daemon's sweep leaves it (storage.h) */
	_cleanup_close_ int hold _unused_ = tmpfile_hold(j->tmp);
	task_log(w, "moving uploaded file into place");
	int r = verify_and_rename(w, j, err);
	if (r < 0)
		unlink(j->tmp);
	return r;
}

/* One request of a download: curl's answer goes to fd within the budget.
 * *ret_location is the redirect target of a 3xx answer, else NULL. */
static int download_fetch(struct import_job *j, const char *url, const char *pin, int fd,
                          char **ret_location, struct error **err)
{
	const struct download_spec spec = {
	    .url = url, .resolve = pin, .insecure = j->insecure, .max_size = j->max_size};
	_cleanup_strbuf_ struct strbuf config = STRBUF_INIT;
	_cleanup_error_ struct error *e = NULL;
	struct cmd_result res = {0};
	struct cmd c;
	long code = 0;
	char *location = NULL;

	download_build_cmd(&c, &config, &spec);
	cmd_set_stdin(&c, config.buf, config.len);
	cmd_set_stdout_fd(&c, fd, j->max_size);
	int r = cmd_run(&c, &res, &e);
	cmd_release(&c);
	/* the command line holds no URL; curl's messages name no credentials */
	if (r < 0 && res.out_over) {
		r = error_set(err, -EFBIG, 500,
		              "download exceeds the free space of the storage (%llu bytes)",
		              j->max_size);
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
 * not ctvmd's port; the first URL is the caller's and is not checked) and
 * fetched with the checked address pinned.  The file is rewritten from
 * the start for each answer.
 */
static int download_worker(struct task_worker *w, void *arg, struct error **err)
{
	struct import_job *j = arg;
	/* held to the end, so a restarted daemon's sweep leaves it (storage.h) */
	_cleanup_close_ int hold _unused_ = tmpfile_hold(j->tmp);
	_cleanup_free_ char *shown = download_url_redact(j->url);
	_cleanup_free_ char *url = xstrdup(j->url), *pin = NULL;
	int r = 0;

	task_log(w, "downloading %s to %s", shown, j->dest);
	_cleanup_close_ int fd = open(j->tmp, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		r = error_set(err, -errno, 500, "unable to open '%s' - %s", j->tmp,
		              strerror(errno));
	for (int hop = 0; r == 0; hop++) {
		char *location = NULL;
		r = download_fetch(j, url, pin, fd, &location, err);
		if (r < 0 || !location)
			break;
		_cleanup_free_ char *to = download_url_redact(location);
		free(pin);
		pin = NULL;
		if (hop == DOWNLOAD_MAX_REDIRECTS)
			r = error_set(err, -ELOOP, 500, "too many redirects (more than %d)",
			              DOWNLOAD_MAX_REDIRECTS);
		else
			r = download_check_redirect(location, j->own_port, &pin, err);
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
	if (r == 0) {
		task_log(w, "download finished");
		r = verify_and_rename(w, j, err);
	}
	if (r < 0)
		unlink(j->tmp);
	return r;
}

/* Fills the common part of a job, the file going to dir (the content
 * type's directory); the temporary file is created by the caller. */
static int job_prepare(struct api_call *call, const char *dir, struct import_job *j,
                       struct error **err)
{
	const char *content = api_param_str(call, "content");
	const char *filename = api_param_str(call, "filename");
	int r = check_filename(content, filename, err);
	if (r < 0)
		return r;
	r = check_checksum_params(call, err);
	if (r < 0)
		return r;
	if (snprintf(j->dest, sizeof(j->dest), "%s/%s", dir, filename) >= (int)sizeof(j->dest))
		return error_param(err, "filename", "file name too long");
	if (access(j->dest, F_OK) == 0)
		return error_set(err, -EEXIST, 500, "refusing to override existing file '%s'",
		                 j->dest);
	/* import sources that are disk images; an .ova or .ovf is checked
	 * where its disks are taken out of it */
	static const char *const image_fmts[] = {"qcow2", "raw", "vmdk"};
	for (size_t i = 0; streq(content, "import") && i < ARRAY_SIZE(image_fmts); i++) {
		char ext[16];
		snprintf(ext, sizeof(ext), ".%s", image_fmts[i]);
		if (has_suffix(filename, ext))
			snprintf(j->fmt, sizeof(j->fmt), "%s", image_fmts[i]);
	}
	if (api_param_has(call, "checksum")) {
		snprintf(j->algo, sizeof(j->algo), "%s", api_param_str(call, "checksum-algorithm"));
		snprintf(j->checksum, sizeof(j->checksum), "%s", api_param_str(call, "checksum"));
	}
	return 0;
}

/* A fresh ".<what>-XXXXXX.tmp" in dir, created 0600 with O_EXCL. */
static int make_tmp(const char *dir, const char *what, char *buf, size_t size, struct error **err)
{
	if (snprintf(buf, size, "%s/.%s-XXXXXX.tmp", dir, what) >= (int)size)
		return error_set(err, -ENAMETOOLONG, 500, "path too long");
	int fd = mkostemps(buf, 4, O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to create temporary file in '%s' - %s",
		                 dir, strerror(errno));
	close(fd);
	return 0;
}

static int api_storage_upload(struct api_call *call, json_t **ret, struct error **err)
{
	if (!call->upload_path)
		return error_param(err, "filename", "missing file upload");
	const char *storeid = api_param_str(call, "storage");
	const char *content = api_param_str(call, "content");
	_cleanup_free_ char *base = NULL, *cdir = NULL;
	int r = storage_dir(call->ctx, storeid, content, &base, &cdir, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct import_job *j = xnew(struct import_job, 1);
	r = job_prepare(call, cdir, j, err);
	if (r < 0)
		return r;
	/* take the file from the http layer (which deletes what is left at
	 * upload_path): a new name the task owns, in the same directory */
	_cleanup_free_ char *dir = xstrdup(call->upload_path);
	*strrchr(dir, '/') = '\0';
	r = make_tmp(dir, "imgcopy", j->tmp, sizeof(j->tmp), err);
	if (r < 0)
		return r;
	if (rename(call->upload_path, j->tmp) < 0) {
		r = error_set(err, -errno, 500, "unable to take uploaded file - %s",
		              strerror(errno));
		unlink(j->tmp);
		return r;
	}
	r = api_start_task(call, "imgcopy", "", imgcopy_worker, j, ret, err);
	if (r < 0)
		unlink(j->tmp);
	return r;
}

static int api_storage_download_url(struct api_call *call, json_t **ret, struct error **err)
{
	const char *storeid = api_param_str(call, "storage");
	const char *content = api_param_str(call, "content");
	const char *url = api_param_str(call, "url");
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return error_param(err, "url", "only http and https URLs are supported");
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return error_param(err, "url", "invalid URL");
	_cleanup_free_ char *base = NULL, *cdir = NULL;
	int r = storage_dir(call->ctx, storeid, content, &base, &cdir, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct import_job *j = xnew(struct import_job, 1);
	if (snprintf(j->url, sizeof(j->url), "%s", url) >= (int)sizeof(j->url))
		return error_param(err, "url", "URL too long");
	r = job_prepare(call, cdir, j, err);
	if (r < 0)
		return r;
	j->insecure = !api_param_bool(call, "verify-certificates", true);
	/* the temporary file goes where the volume will be (hidden, so no
	 * listing shows it), so the final rename never crosses a mount */
	r = mkdir_p(cdir, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create '%s' - %s", cdir, strerror(-r));
	j->max_size = free_bytes(cdir);
	j->own_port = __atomic_load_n(&call->ctx->port, __ATOMIC_RELAXED);
	r = make_tmp(cdir, "download", j->tmp, sizeof(j->tmp), err);
	if (r < 0)
		return r;
	r = api_start_task(call, "download", "", download_worker, j, ret, err);
	if (r < 0)
		unlink(j->tmp);
	return r;
}

/* --- the stream hook --- */

/* "/api2/json/nodes/<node>/storage/<storage>/upload": the storage id, or NULL. */
static char *upload_storage_of(const char *path)
{
	static const char prefix[] = "/api2/json/nodes/";
	if (!str_startswith(path, prefix))
		return NULL;
	const char *p = path + strlen(prefix);
	size_t n = strcspn(p, "/");
	if (n == 0 || !str_startswith(p + n, "/storage/"))
		return NULL;
	p += n + strlen("/storage/");
	n = strcspn(p, "/");
	if (n == 0 || !streq(p + n, "/upload"))
		return NULL;
	return xstrndup(p, n);
}

/* Only authenticated callers get to write to the disk: the same credential
 * checks as the choke point (which repeats them, with the permission). */
/*
 * Only a caller who may write templates to this storage gets a body streamed
 * to disk: anybody else's upload is read like any request (bounded in memory)
 * and refused by the choke point, so it cannot fill the storage meanwhile.
 */
static bool caller_may_upload(struct api_context *ctx, const struct http_request *req,
                              const char *storeid)
{
	const struct access_db *db = access_store_get(ctx->access);
	_cleanup_free_ char *authid = api_request_authid(ctx, req, db, time(NULL));
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	bool ok = authid && (streq(authid, "root@pam") ||
	                     access_db_check(db, authid, path, "Datastore.AllocateTemplate"));
	access_db_unref(db);
	return ok;
}

int api_stream_request(const struct http_request *req, struct http_stream_spec *spec,
                       void *userdata, struct error **err)
{
	struct api_context *ctx = userdata;
	_cleanup_free_ char *storeid = upload_storage_of(req->path);
	if (!storeid)
		return 0;
	if (!caller_may_upload(ctx, req, storeid))
		return 0; /* the choke point answers 401/403 (or 413 for a large body) */
	_cleanup_error_ struct error *e = NULL;
	_cleanup_free_ char *base = NULL;
	if (storage_dir(ctx, storeid, NULL, &base, NULL, &e) < 0)
		return 0; /* the handler reports it */
	(void)err;
	spec->max_size = free_bytes(base);
	spec->dir = TAKE_PTR(base);
	return 1;
}

/* clang-format off */
static const struct api_param upload_params[] = {
	API_PARAM_NODE,
	API_PARAM_STORAGE,
	{.name = "content", .type = API_TYPE_STRING, .enum_values = content_values,
	 .description = "Content type."},
	{.name = "filename", .type = API_TYPE_STRING, .max_length = 255,
	 .description = "The name of the file to create. Caution: This will be normalized!"},
	{.name = "checksum", .type = API_TYPE_STRING, .optional = true, .max_length = 128,
	 .description = "The expected checksum of the file."},
	{.name = "checksum-algorithm", .type = API_TYPE_STRING, .optional = true,
	 .enum_values = algo_values, .description = "The algorithm to calculate the checksum of the file."},
	{.name = "tmpfilename", .type = API_TYPE_STRING, .optional = true,
	 .description = "The source file name. This parameter is usually set by the REST handler. "
	                "You can only overwrite it when connecting to the trusted port on localhost."},
	API_END,
};

static const struct api_param download_params[] = {
	API_PARAM_NODE,
	API_PARAM_STORAGE,
	{.name = "url", .type = API_TYPE_STRING, .max_length = 4000, .secret = true,
	 .description = "The URL to download the file from."},
	{.name = "content", .type = API_TYPE_STRING, .enum_values = content_values,
	 .description = "Content type."},
	{.name = "filename", .type = API_TYPE_STRING, .max_length = 255,
	 .description = "The name of the file to create. Caution: This will be normalized!"},
	{.name = "checksum", .type = API_TYPE_STRING, .optional = true, .max_length = 128,
	 .description = "The expected checksum of the file."},
	{.name = "checksum-algorithm", .type = API_TYPE_STRING, .optional = true,
	 .enum_values = algo_values, .description = "The algorithm to calculate the checksum of the file."},
	{.name = "verify-certificates", .type = API_TYPE_BOOLEAN, .optional = true,
	 .default_text = "1", .description = "If false, no SSL/TLS certificates will be verified."},
	{.name = "compression", .type = API_TYPE_STRING, .optional = true,
	 .description = "Decompress the downloaded file (not supported)."},
	API_END,
};

const struct api_method api_methods_storage_upload[] = {
	{
		.path = "/nodes/{node}/storage/{storage}/upload",
		.verb = "POST",
		.name = "upload",
		.description = "Upload templates, ISO images and import sources.",
		.params = upload_params,
		.returns = {.type = API_TYPE_STRING},
		.perm = API_CHECK(API_PERM("/storage/{storage}", "Datastore.AllocateTemplate")),
		.flags = API_ASYNC | API_NO_CSRF,
		.handler = api_storage_upload,
	},
	{
		.path = "/nodes/{node}/storage/{storage}/download-url",
		.verb = "POST",
		.name = "download_url",
		.description = "Download templates, ISO images and import sources by using an URL.",
		.params = download_params,
		.returns = {.type = API_TYPE_STRING},
		.perm = API_CHECK_DESC(API_AND(API_PERM("/storage/{storage}", "Datastore.AllocateTemplate"),
		                               API_PERM("/nodes/{node}", "Sys.Audit", "Sys.Modify")),
		                       "Requires allocation access on the storage and as this allows one to "
		                       "probe the (local!) host network indirectly it also requires one of "
		                       "Sys.Modify on / (for backwards compatibility) or the newer "
		                       "Sys.AccessNetwork privilege on the node."),
		.flags = API_ASYNC,
		.handler = api_storage_download_url,
	},
	{.path = NULL},
};
/* clang-format on */
