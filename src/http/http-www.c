/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "http-www.h"
#include "http.h"
#include "xalloc.h"

#define PAGE_NAME "console.html"

struct www_file {
	char *key; /* "console.html" or "assets/<hash>/..." */
	char *data;
	size_t len;
	const char *type;
};

struct www {
	struct www_file *files;
	size_t n, alloc;
	size_t bytes;
};

/* What the pages consist of; anything else is served as bytes, which a
 * browser (told nosniff) neither runs nor renders. */
static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html;charset=UTF-8"},
	    {".js", "text/javascript;charset=UTF-8"},
	    {".css", "text/css;charset=UTF-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".json", "application/json;charset=UTF-8"},
	    {".txt", "text/plain;charset=UTF-8"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (streq(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static bool name_ok(const char *n)
{
	if (!*n || *n == '.' || strlen(n) > 128)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static int read_at(int dfd, const char *name, const char *key, struct www *w, struct error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error_set(err, -errno, 500, "www: cannot open %s: %m", key);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_set(err, -errno, 500, "www: cannot stat %s: %m", key);
	if (!S_ISREG(st.st_mode))
		return 0;
	if (w->n >= WWW_MAX_FILES)
		return error_set(err, -E2BIG, 500, "www: more than %d files", WWW_MAX_FILES);
	if ((uint64_t)st.st_size > WWW_MAX_FILE_BYTES ||
	    w->bytes + (size_t)st.st_size > WWW_MAX_BYTES)
		return error_set(err, -EFBIG, 500, "www: %s makes the pages too big", key);
	size_t len = (size_t)st.st_size;
	_cleanup_free_ char *data = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, data + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return error_set(err, r < 0 ? -errno : -EIO, 500, "www: cannot read %s",
			                 key);
		got += (size_t)r;
	}
	if (w->n == w->alloc) {
		w->alloc = w->alloc ? w->alloc * 2 : 64;
		w->files = xrealloc(w->files, w->alloc * sizeof(*w->files));
	}
	w->files[w->n++] = (struct www_file){
	    .key = xstrdup(key), .data = TAKE_PTR(data), .len = len, .type = content_type(key)};
	w->bytes += len;
	return 0;
}

static int load_dir(int dfd, const char *prefix, unsigned depth, struct www *w, struct error **err)
{
	if (depth > WWW_MAX_DEPTH)
		return error_set(err, -EINVAL, 500, "www: %s is nested too deep", prefix);
	int fd = dup(dfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (!name_ok(de->d_name))
			continue;
		_cleanup_free_ char *key =
		    *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(
			    dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = error_set(err, -errno, 500, "www: cannot open %s: %m", key);
				break;
			}
			r = load_dir(sub, key, depth + 1, w, err);
		} else if (S_ISREG(st.st_mode)) {
			/* only the page at the top; the rest lives under assets/ */
			if (*prefix || streq(de->d_name, PAGE_NAME))
				r = read_at(dfd, de->d_name, key, w, err);
		}
	}
	closedir(d);
	return r;
}

static const struct www_file *lookup(const struct www *w, const char *key)
{
	for (size_t i = 0; w && i < w->n; i++)
		if (streq(w->files[i].key, key))
			return &w->files[i];
	return NULL;
}

int www_load(const char *dir, struct www **ret, struct error **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_set(err, -errno, 500, "www: cannot open %s: %m", dir);
	struct www *w = xnew(struct www, 1);
	int r = load_dir(dfd, "", 0, w, err);
	if (r == 0 && !lookup(w, PAGE_NAME))
		r = error_set(err, -ENOENT, 500, "www: %s has no %s", dir, PAGE_NAME);
	if (r < 0) {
		www_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct www *www_free(struct www *w)
{
	if (!w)
		return NULL;
	for (size_t i = 0; i < w->n; i++) {
		free(w->files[i].key);
		free(w->files[i].data);
	}
	free(w->files);
	free(w);
	return NULL;
}

size_t www_count(const struct www *w)
{
	return w ? w->n : 0;
}

static void answer(const struct www_file *f, struct http_response *resp, bool page)
{
	char *body = xmalloc(f->len + 1);
	memcpy(body, f->data, f->len);
	http_response_set_body(resp, 200, f->type, body, f->len);
	http_response_add_header(resp, "X-Content-Type-Options: nosniff");
	if (!page) {
		http_response_add_header(resp, "Cache-Control: max-age=31536000, immutable");
		return;
	}
	http_response_add_header(resp, "Cache-Control: no-cache");
	http_response_add_header(resp, "Referrer-Policy: no-referrer");
	/* everything the page runs and talks to is ours: no inline script, no
	 * other origin; xterm.js and noVNC set element styles and draw cursors
	 * from data: URLs */
	http_response_add_header(resp,
	                         "Content-Security-Policy: default-src 'self'; script-src 'self'; "
	                         "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
	                         "connect-src 'self'; object-src 'none'; base-uri 'none'; "
	                         "form-action 'none'; frame-ancestors 'self'");
}

bool www_handle(const struct www *w, const struct http_request *req, struct http_response *resp)
{
	if (!w || !req->path || !streq(req->method, "GET") || req->parse_error)
		return false;
	if (streq(req->path, "/")) {
		if (!req->params || !json_object_get(req->params, "console"))
			return false;
		/* www_load() refuses a directory without it */
		const struct www_file *page = lookup(w, PAGE_NAME);
		if (!page)
			return false;
		answer(page, resp, true);
		return true;
	}
	if (!str_startswith(req->path, "/assets/"))
		return false;
	const struct www_file *f = lookup(w, req->path + 1);
	if (!f) {
		resp->status = 404;
		resp->reason = xstrdup("Not Found");
		return true;
	}
	answer(f, resp, false);
	return true;
}
