/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "xalloc.h"

int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len, struct error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open file '%s' - %s", path,
		                 strerror(errno));
	size_t len = 0, alloc = 4096;
	_cleanup_free_ char *buf = xmalloc(alloc);
	for (;;) {
		if (len + 1 >= alloc) {
			if (alloc > max + 1)
				return error_set(err, -EFBIG, 500, "file '%s' is too large", path);
			alloc *= 2;
			buf = xrealloc(buf, alloc);
		}
		ssize_t n = read(fd, buf + len, alloc - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_set(err, -errno, 500, "unable to read file '%s' - %s", path,
			                 strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return error_set(err, -EFBIG, 500, "file '%s' is too large", path);
	}
	buf[len] = '\0';
	*ret_data = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

void file_stamp_get(const char *path, struct file_stamp *ret)
{
	struct stat st;
	*ret = (struct file_stamp){0};
	if (stat(path, &st) < 0)
		return;
	ret->exists = true;
	ret->dev = st.st_dev;
	ret->ino = st.st_ino;
	ret->size = st.st_size;
	ret->mtime = st.st_mtim;
}

bool file_stamp_equal(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

bool file_stamp_racy(const struct file_stamp *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return st->exists && st->mtime.tv_sec + 2 >= now.tv_sec;
}

int write_full(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0)
		return -errno;
	return 0;
}

int write_file_atomic_full(const char *path, const void *data, size_t len, mode_t mode,
                           enum write_file_flags flags, struct error **err)
{
	bool sync = !(flags & WRITE_FILE_NO_SYNC);
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to create file '%s' - %s", tmp,
		                 strerror(errno));
	int r = 0;
	if (fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0)
		r = write_full(fd, data, len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return error_set(err, r, 500, "unable to write file '%s' - %s", path, strerror(-r));
	}
	if (sync)
		fsync_dir_of(path);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct error **err)
{
	return write_file_atomic_full(path, data, len, mode, 0, err);
}

int lock_file(const char *path, int timeout_ms, struct error **err)
{
	_cleanup_free_ char *lp = xasprintf("%s.lock", path);
	_cleanup_close_ int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open lock file '%s' - %s", lp,
		                 strerror(errno));
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return TAKE_FD(fd);
		if (errno != EWOULDBLOCK && errno != EINTR)
			return error_set(err, -errno, 500, "unable to lock '%s' - %s", lp,
			                 strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= timeout_ms)
			return error_set(err, -ETIMEDOUT, 500, "got timeout while locking '%s'",
			                 path);
		poll(NULL, 0, 10);
	}
}

void unlock_file(int fd)
{
	if (fd >= 0)
		close(fd);
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return xasprintf("%.*s/%s", (int)la, a, b);
}
