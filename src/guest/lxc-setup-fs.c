/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The file layer of the distribution setup: every path is absolute inside
 * the container and resolved by openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) against the rootfs's directory fd, so ".." and
 * symlinks (absolute or relative) stop at the rootfs as they would inside
 * the container.  A change happens in the directory the path's parent
 * resolves to, on its last component only (never followed when written:
 * a symlink there is replaced by the new file).
 */
#include "common.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "lxc-setup-internal.h"
#include "lxc-setup.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

static int ct_openat2(struct ct *ct, const char *path, int flags, unsigned mode)
{
	struct open_how how = {
	    .flags = (unsigned)flags | O_CLOEXEC,
	    .mode = mode,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	int fd = (int)syscall(SYS_openat2, ct->root, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* The parent directory of path (an O_PATH fd) and its last component in
 * *ret_base (points into path); -EINVAL for a path without one. */
static int ct_parent(struct ct *ct, const char *path, const char **ret_base)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *slash = memrchr(path, '/', len);
	const char *base = slash ? slash + 1 : path;
	if (base == path + len || streq(base, ".") || streq(base, ".."))
		return -EINVAL;
	_cleanup_free_ char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	*ret_base = base;
	return ct_openat2(ct, dir, O_PATH | O_DIRECTORY, 0);
}

/* the last component, without trailing slashes (for *at calls) */
static char *base_of(const char *b)
{
	char *s = xstrdup(b);
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static int ct_fstat_path(struct ct *ct, const char *path, struct stat *st)
{
	_cleanup_close_ int fd = ct_openat2(ct, path, O_PATH, 0);
	if (fd < 0)
		return fd;
	return fstat(fd, st) < 0 ? -errno : 0;
}

int ct_stat(struct ct *ct, const char *path, struct stat *ret)
{
	return ct_fstat_path(ct, path, ret);
}

bool ct_is_file(struct ct *ct, const char *path)
{
	struct stat st;
	return ct_fstat_path(ct, path, &st) == 0 && S_ISREG(st.st_mode);
}

bool ct_is_dir(struct ct *ct, const char *path)
{
	struct stat st;
	return ct_fstat_path(ct, path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool ct_exists(struct ct *ct, const char *path)
{
	struct stat st;
	return ct_fstat_path(ct, path, &st) == 0;
}

bool ct_is_executable(struct ct *ct, const char *path)
{
	struct stat st;
	return ct_fstat_path(ct, path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

bool ct_is_symlink(struct ct *ct, const char *path)
{
	const char *b;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd < 0)
		return false;
	_cleanup_free_ char *base = base_of(b);
	struct stat st;
	return fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

char *ct_readlink(struct ct *ct, const char *path)
{
	const char *b;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd < 0)
		return NULL;
	_cleanup_free_ char *base = base_of(b);
	char buf[4096];
	ssize_t n = readlinkat(dfd, base, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	return xstrndup(buf, (size_t)n);
}

bool ct_is_ignored(struct ct *ct, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	_cleanup_free_ char *marker =
	    xasprintf("%.*s/.pve-ignore.%s", (int)(slash ? slash - path : 0), path, base);
	return ct_is_file(ct, marker);
}

int ct_read(struct ct *ct, const char *path, char **ret, struct error **err)
{
	/* O_PATH first: a device node or FIFO planted there is refused before
	 * it is ever opened (an open can have effects, or block); the regular
	 * file is then opened through the pinned inode */
	_cleanup_close_ int pfd = ct_openat2(ct, path, O_PATH, 0);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return -ENOENT;
	if (pfd < 0)
		return error_set(err, pfd, 500, "unable to open '%s' in the container - %s", path,
		                 strerror(-pfd));
	struct stat st;
	if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, -EINVAL, 500, "'%s' in the container is not a regular file",
		                 path);
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	_cleanup_close_ int fd = open(self, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open '%s' in the container - %s",
		                 path, strerror(errno));
	if ((unsigned long long)st.st_size > LXC_SETUP_FILE_MAX)
		return error_set(err, -EFBIG, 500, "'%s' in the container is too large", path);
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			strbuf_release(&sb);
			return error_set(err, -e, 500, "unable to read '%s' in the container - %s",
			                 path, strerror(e));
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > LXC_SETUP_FILE_MAX) {
			strbuf_release(&sb);
			return error_set(err, -EFBIG, 500, "'%s' in the container is too large",
			                 path);
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	*ret = strbuf_detach(&sb, NULL);
	return 0;
}

char *ct_read_firstline(struct ct *ct, const char *path)
{
	char *data = NULL;
	if (ct_read(ct, path, &data, NULL) < 0)
		return NULL;
	data[strcspn(data, "\n")] = '\0';
	if (!*data) {
		free(data);
		return NULL;
	}
	return data;
}

static int chown_at(struct ct *ct, int dfd, const char *name, bool set, uid_t uid, gid_t gid)
{
	if (!set)
		return 0;
	return fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Whether base in dfd is a regular file of its own (one link) that holds
 * exactly data with this mode and owner: rewriting it would change nothing
 * but its inode, and a rename over a file on ext4 flushes the new one
 * (auto_da_alloc), a few ms of every start's setup.  Never follows a link
 * or opens a FIFO or device the container put there. */
static bool same_file(int dfd, const char *base, const char *data, unsigned mode, uid_t uid,
                      gid_t gid)
{
	_cleanup_close_ int fd =
	    openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	size_t len = strlen(data);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (size_t)st.st_size != len || st.st_uid != uid || st.st_gid != gid ||
	    (st.st_mode & 07777) != (mode ? mode : 0644))
		return false;
	_cleanup_free_ char *buf = xmalloc(len + 1);
	size_t got = 0;
	while (got <= len) {
		ssize_t n = read(fd, buf + got, len + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == len && memcmp(buf, data, len) == 0;
}

int ct_write_owned(struct ct *ct, const char *path, const char *data, unsigned mode, uid_t uid,
                   gid_t gid, struct error **err)
{
	const char *b;
	if (ct_is_ignored(ct, path))
		return 0;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd < 0)
		return error_set(err, dfd, 500, "unable to write '%s' in the container - %s", path,
		                 strerror(-dfd));
	_cleanup_free_ char *base = base_of(b);
	if (same_file(dfd, base, data, mode, uid, gid))
		return 0;
	_cleanup_free_ char *tmp = xasprintf(".%s.tmp.%d", base, (int)getpid());
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) { /* left by a killed run */
		unlinkat(dfd, tmp, 0);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to write '%s' in the container - %s",
		                 path, strerror(errno));
	int r = write_full(fd, data, strlen(data));
	if (r == 0 && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode ? mode : 0644) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return error_set(err, r, 500, "unable to write '%s' in the container - %s", path,
		                 strerror(-r));
	}
	return 0;
}

int ct_write(struct ct *ct, const char *path, const char *data, unsigned mode, struct error **err)
{
	return ct_write_owned(ct, path, data, mode, ct->mapped ? ct->uid : 0,
	                      ct->mapped ? ct->gid : 0, err);
}

int ct_unlink(struct ct *ct, const char *path, struct error **err)
{
	const char *b;
	if (ct_is_ignored(ct, path))
		return 0;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return 0;
	if (dfd < 0)
		return error_set(err, dfd, 500, "unable to remove '%s' in the container - %s", path,
		                 strerror(-dfd));
	_cleanup_free_ char *base = base_of(b);
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT && errno != EISDIR)
		return error_set(err, -errno, 500, "unable to remove '%s' in the container - %s",
		                 path, strerror(errno));
	return 0;
}

int ct_mkdir(struct ct *ct, const char *path, unsigned mode, struct error **err)
{
	const char *b;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd < 0)
		return error_set(err, dfd, 500, "unable to create '%s' in the container - %s", path,
		                 strerror(-dfd));
	_cleanup_free_ char *base = base_of(b);
	if (mkdirat(dfd, base, mode) < 0) {
		if (errno == EEXIST)
			return 0;
		return error_set(err, -errno, 500, "unable to create '%s' in the container - %s",
		                 path, strerror(errno));
	}
	int r = chown_at(ct, dfd, base, ct->mapped, ct->uid, ct->gid);
	if (r < 0)
		return error_set(err, r, 500, "unable to chown '%s' in the container - %s", path,
		                 strerror(-r));
	return 0;
}

int ct_make_path(struct ct *ct, const char *path, struct error **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (!ct_is_dir(ct, p)) {
			int r = ct_mkdir(ct, p, 0755, err);
			if (r < 0)
				return r;
		}
		if (!c)
			break;
		*s = c;
	}
	return 0;
}

int ct_symlink(struct ct *ct, const char *target, const char *path, struct error **err)
{
	const char *b;
	if (ct_is_ignored(ct, path))
		return 0;
	_cleanup_close_ int dfd = ct_parent(ct, path, &b);
	if (dfd == -ENOENT || dfd == -ENOTDIR) /* as PVE: a failed symlink is no error */
		return 0;
	if (dfd < 0)
		return error_set(err, dfd, 500, "unable to create '%s' in the container - %s", path,
		                 strerror(-dfd));
	_cleanup_free_ char *base = base_of(b);
	if (symlinkat(target, dfd, base) < 0)
		return 0;
	int r = chown_at(ct, dfd, base, ct->mapped, ct->uid, ct->gid);
	if (r < 0)
		return error_set(err, r, 500, "unable to chown '%s' in the container - %s", path,
		                 strerror(-r));
	return 0;
}

int ct_rename(struct ct *ct, const char *from, const char *to, struct error **err)
{
	const char *bf, *bt;
	if (ct_is_ignored(ct, to))
		return 0;
	_cleanup_close_ int df = ct_parent(ct, from, &bf);
	_cleanup_close_ int dt = ct_parent(ct, to, &bt);
	if (df < 0 || dt < 0)
		return error_set(err, df < 0 ? df : dt, 500,
		                 "unable to rename '%s' in the container - %s", from,
		                 strerror(-(df < 0 ? df : dt)));
	_cleanup_free_ char *f = base_of(bf);
	_cleanup_free_ char *t = base_of(bt);
	if (renameat(df, f, dt, t) < 0)
		return error_set(err, -errno, 500, "unable to rename '%s' in the container - %s",
		                 from, strerror(errno));
	return 0;
}

/* lines of text as Perl's split(/\n/): trailing empty ones dropped */
static char **split_lines(const char *text, size_t *ret_n)
{
	size_t n = 0, alloc = 16;
	char **v = xnew(char *, alloc);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (n + 1 >= alloc)
			v = xrealloc(v, (alloc *= 2) * sizeof(*v));
		v[n++] = xstrndup(p, len);
		p = nl ? nl + 1 : p + len;
	}
	while (n > 0 && !*v[n - 1])
		free(v[--n]);
	v[n] = NULL;
	*ret_n = n;
	return v;
}

static void free_lines(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* "#", blanks, "---", blanks, word, blanks, "PVE" at the start of line:
 * PVE matches BEGIN as it is and END in any case */
static bool is_marker(const char *line, const char *word, bool icase)
{
	static const char ws[] = " \t\r\f\v";
	if (*line++ != '#')
		return false;
	line += strspn(line, ws);
	if (strncmp(line, "---", 3))
		return false;
	line += 3;
	line += strspn(line, ws);
	size_t n = strlen(word);
	if (icase ? strncasecmp(line, word, n) : strncmp(line, word, n))
		return false;
	line += n;
	line += strspn(line, ws);
	return icase ? !strncasecmp(line, "PVE", 3) : !strncmp(line, "PVE", 3);
}

int ct_modify_file(struct ct *ct, const char *path, const char *data_in, unsigned flags,
                   unsigned mode, struct error **err)
{
	static const char head[] = "# --- BEGIN PVE ---\n", tail[] = "# --- END PVE ---\n";
	_cleanup_free_ char *data = NULL;
	size_t dl = strlen(data_in);
	int r;

	if (ct_is_ignored(ct, path))
		return 0;
	data = dl && data_in[dl - 1] != '\n' ? xasprintf("%s\n", data_in) : xstrdup(data_in);
	if (!ct_is_file(ct, path)) {
		if (!*data)
			return 0;
		_cleanup_free_ char *all = xasprintf("%s%s%s", head, data, tail);
		return ct_write(ct, path, all, mode, err);
	}
	_cleanup_free_ char *old = NULL;
	r = ct_read(ct, path, &old, err);
	if (r < 0)
		return r;
	size_t n;
	char **lines = split_lines(old, &n);
	ssize_t beg = -1, end = -1;
	for (size_t i = 0; i < n; i++) {
		if (beg < 0 && is_marker(lines[i], "BEGIN", false))
			beg = (ssize_t)i;
		else if (beg >= 0 && end < 0 && is_marker(lines[i], "END", true))
			end = (ssize_t)i;
		if (beg >= 0 && end >= 0)
			break;
	}
	struct strbuf sb = STRBUF_INIT;
	if (beg >= 0 && end >= 0) {
		if (!*data && beg == 0 && (size_t)end == n - 1) {
			free_lines(lines);
			if (flags & CT_MODIFY_DELETE)
				return ct_unlink(ct, path, err);
			return 0;
		}
		for (size_t i = 0; i < (size_t)beg; i++)
			strbuf_addf(&sb, "%s\n", lines[i]);
		strbuf_addf(&sb, "%s%s# --- END PVE ---\n", head, data);
		for (size_t i = (size_t)end + 1; i < n; i++)
			strbuf_addf(&sb, "%s\n", lines[i]);
	} else if (*data) {
		struct strbuf content = STRBUF_INIT;
		for (size_t i = 0; i < n; i++)
			strbuf_addf(&content, i ? "\n%s" : "%s", lines[i]);
		strbuf_addstr(&content, "\n");
		if (flags & CT_MODIFY_REPLACE)
			strbuf_addf(&sb, "%s%s%s", head, data, tail);
		else if (flags & CT_MODIFY_PREPEND)
			strbuf_addf(&sb, "%s%s%s%s", head, data, tail, content.buf);
		else
			strbuf_addf(&sb, "%s%s%s%s", content.buf, head, data, tail);
		strbuf_release(&content);
		mode = mode ? mode : 0644;
	} else {
		free_lines(lines);
		return 0;
	}
	free_lines(lines);
	r = ct_write(ct, path, sb.buf, mode, err);
	strbuf_release(&sb);
	return r;
}

char *ct_remove_pve_sections(const char *data)
{
	/* from a line starting (after blanks) with the head to the end of a
	 * later line starting with the tail; greedy across sections as PVE's
	 * /ms match */
	static const char head[] = "# --- BEGIN PVE ---", tail[] = "# --- END PVE ---";
	struct strbuf sb = STRBUF_INIT;
	const char *p = data;
	for (;;) {
		const char *h = NULL;
		for (const char *l = p; l && *l;) {
			const char *q = l + strspn(l, " \t");
			if (!strncmp(q, head, sizeof(head) - 1)) {
				h = l;
				break;
			}
			const char *nl = strchr(l, '\n');
			l = nl ? nl + 1 : NULL;
		}
		if (!h)
			break;
		/* the last tail line after h */
		const char *t = NULL;
		for (const char *l = h; l && *l;) {
			const char *q = l + strspn(l, " \t");
			if (!strncmp(q, tail, sizeof(tail) - 1))
				t = l;
			const char *nl = strchr(l, '\n');
			l = nl ? nl + 1 : NULL;
		}
		if (!t)
			break;
		strbuf_add(&sb, p, (size_t)(h - p));
		const char *e = strchr(t, '\n');
		p = e ? e : t + strlen(t);
	}
	strbuf_addstr(&sb, p);
	return strbuf_detach(&sb, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **ct_list_dir(struct ct *ct, const char *path)
{
	int fd = ct_openat2(ct, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 4096) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		strv_extend(&v, de->d_name);
		n++;
	}
	closedir(d);
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	return v;
}
