/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "xalloc.h"

int read_file_full(const char *path, size_t max, enum read_file_flags flags, char **ret_data,
                   size_t *ret_len, struct error **err)
{
	bool nofollow = flags & READ_FILE_NOFOLLOW;
	/* O_NONBLOCK: opening a planted FIFO must not wait for a writer */
	int oflags = O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW | O_NONBLOCK | O_NOCTTY : 0);
	_cleanup_close_ int fd = open(path, oflags);
	if (fd < 0 && nofollow && errno == ELOOP)
		return error_set(err, -ELOOP, 500, "refusing to read '%s': it is a symbolic link",
		                 path);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open file '%s' - %s", path,
		                 strerror(errno));
	struct stat st;
	if (nofollow && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))
		return error_set(err, -EINVAL, 500, "refusing to read '%s': not a regular file",
		                 path);
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

int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len, struct error **err)
{
	return read_file_full(path, max, 0, ret_data, ret_len, err);
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

/* "<path>.tmp.<pid>.<6 random characters>": unique among concurrent writers
 * of one file, in threads or processes.  The randomness only avoids retries:
 * uniqueness comes from O_EXCL, resp. linkat() refusing an existing name. */
#define TMP_INFIX      ".tmp."
#define TMP_RANDOM_LEN 6
#define TMP_NAME_TRIES 100
static char *tmp_name(const char *path)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static _Atomic unsigned long counter;
	unsigned char rnd[TMP_RANDOM_LEN];
	char suffix[TMP_RANDOM_LEN + 1];
	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		/* no entropy yet (early boot): still different per call */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long x = (unsigned long long)ts.tv_nsec ^
		                       ((unsigned long long)counter++ << 20) ^ (unsigned)getpid();
		for (size_t i = 0; i < sizeof(rnd); i++, x >>= 7)
			rnd[i] = (unsigned char)x;
	}
	for (size_t i = 0; i < TMP_RANDOM_LEN; i++)
		suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	suffix[TMP_RANDOM_LEN] = '\0';
	return xasprintf("%s" TMP_INFIX "%d.%s", path, (int)getpid(), suffix);
}

/* Writes, fixes the mode first and syncs (sync) the open temporary fd. */
static int fill_tmp(int fd, const void *data, size_t len, mode_t mode, bool sync)
{
	if (fchmod(fd, mode) < 0)
		return -errno;
	int r = write_full(fd, data, len);
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	return r;
}

/* Gives the anonymous (O_TMPFILE) file fd a fresh temporary name; the name
 * or NULL with a negative errno. */
static char *link_tmp(int fd, const char *path, int *ret_r)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int i = 0; i < TMP_NAME_TRIES; i++) {
		_cleanup_free_ char *tmp = tmp_name(path);
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works without */
		if (linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH) == 0 ||
		    (errno == ENOENT &&
		     linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0))
			return TAKE_PTR(tmp);
		if (errno != EEXIST) {
			*ret_r = -errno;
			return NULL;
		}
	}
	*ret_r = -EEXIST;
	return NULL;
}

/* The preferred way: an O_TMPFILE file gets a name only when complete and
 * already locked, so a crash leaves nothing behind.  -EOPNOTSUPP when the
 * file system (or kernel, or a missing /proc) does not allow it. */
static int write_anonymous(const char *path, const void *data, size_t len, mode_t mode, bool sync)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return -EOPNOTSUPP;
	if (flock(fd, LOCK_EX) < 0)
		return -EOPNOTSUPP;
	int r = fill_tmp(fd, data, len, mode, sync);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = link_tmp(fd, path, &r);
	if (!tmp)
		return r == -EEXIST ? r : -EOPNOTSUPP;
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

/* Where O_TMPFILE is not available (NFS, ...): a named temporary file,
 * locked at once so remove_stale_tmp() leaves it alone. */
static int write_named(const char *path, const void *data, size_t len, mode_t mode, bool sync,
                       struct error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	for (int i = 0; i < TMP_NAME_TRIES && fd < 0; i++) {
		free(tmp);
		tmp = tmp_name(path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to create file '%s' - %s", tmp,
		                 strerror(errno));
	(void)flock(fd, LOCK_EX); /* never blocks: nobody else has the new file */
	int r = fill_tmp(fd, data, len, mode, sync);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return error_set(err, r, 500, "unable to write file '%s' - %s", path, strerror(-r));
	}
	return 0;
}

int write_file_atomic_full(const char *path, const void *data, size_t len, mode_t mode,
                           enum write_file_flags flags, struct error **err)
{
	bool sync = !(flags & WRITE_FILE_NO_SYNC);
	struct stat st;
	/* only for a clear answer: the rename below replaces a link that
	 * appears meanwhile, it never writes through one */
	if ((flags & WRITE_FILE_NOFOLLOW) && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return error_set(
		    err, S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL, 500, "refusing to write '%s': %s",
		    path, S_ISLNK(st.st_mode) ? "it is a symbolic link" : "not a regular file");
	int r = flags & WRITE_FILE_NAMED_TMP ? -EOPNOTSUPP
	                                     : write_anonymous(path, data, len, mode, sync);
	if (r == -EOPNOTSUPP)
		r = write_named(path, data, len, mode, sync, err);
	else if (r < 0)
		r = error_set(err, r, 500, "unable to write file '%s' - %s", path, strerror(-r));
	if (r == 0 && sync)
		fsync_dir_of(path);
	return r;
}

bool atomic_tmp_name(const char *name, pid_t *ret_pid)
{
	/* the last ".tmp.": a file's own name may contain one */
	const char *p = NULL;
	for (const char *q = strstr(name, TMP_INFIX); q; q = strstr(q + 1, TMP_INFIX))
		p = q;
	if (!p || p == name)
		return false;
	p += strlen(TMP_INFIX);
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 9)
		return false;
	const char *rest = p + digits;
	if (*rest == '\0') { /* "<name>.tmp.<pid>": before unique names, never locked */
		*ret_pid = (pid_t)strtol(p, NULL, 10);
		return true;
	}
	if (*rest != '.' || strlen(rest + 1) != TMP_RANDOM_LEN)
		return false;
	for (const char *c = rest + 1; *c; c++)
		if (!isalnum((unsigned char)*c))
			return false;
	*ret_pid = 0; /* locked while in use: the pid need not be asked */
	return true;
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM);
}

/* One candidate in dfd: removed when stale by every rule of remove_stale_tmp(). */
static bool remove_if_stale(int dfd, const char *name, pid_t pid, const struct timespec *before)
{
	_cleanup_close_ int fd =
	    openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st, again;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (st.st_mtim.tv_sec > before->tv_sec ||
	    (st.st_mtim.tv_sec == before->tv_sec && st.st_mtim.tv_nsec >= before->tv_nsec))
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || pid_alive(pid))
		return false;
	/* still the file we locked, not a new one under the same name */
	if (fstatat(dfd, name, &again, AT_SYMLINK_NOFOLLOW) < 0 || again.st_dev != st.st_dev ||
	    again.st_ino != st.st_ino)
		return false;
	return unlinkat(dfd, name, 0) == 0;
}

static int sweep_dir(int dfd, const char *path, unsigned depth, const struct timespec *before,
                     tmp_name_fn *match, tmp_removed_fn *report, void *userdata)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		pid_t pid = 0;
		if (streq(name, ".") || streq(name, ".."))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			if (depth > 1) {
				int sub = openat(dirfd(d), name,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					_cleanup_free_ char *p = path_join(path, name);
					removed += sweep_dir(sub, p, depth - 1, before, match,
					                     report, userdata);
				}
			}
			if (de->d_type == DT_DIR)
				continue;
		}
		if (!match(name, &pid) || !remove_if_stale(dirfd(d), name, pid, before))
			continue;
		removed++;
		if (report) {
			_cleanup_free_ char *p = path_join(path, name);
			report(p, userdata);
		}
	}
	closedir(d);
	return removed;
}

int remove_stale_tmp(const char *dir, unsigned depth, const struct timespec *before,
                     tmp_name_fn *match, tmp_removed_fn *report, void *userdata)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	return depth ? sweep_dir(dfd, dir, depth, before, match, report, userdata)
	             : (close(dfd), 0);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct error **err)
{
	return write_file_atomic_full(path, data, len, mode, 0, err);
}

int tmpfile_hold(const char *path)
{
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		return -errno;
	/* a sweep removed it while we waited for the lock */
	if (st.st_nlink == 0)
		return -ENOENT;
	return TAKE_FD(fd);
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
