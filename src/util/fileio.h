/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Files: bounded reads, atomic writes, locks.
 *
 * Every config file is replaced atomically (temp file in the same directory,
 * fsync, rename, fsync of the directory), so a crash leaves either the old or
 * the new file, never half of one.  Writers hold the file's lock
 * (flock on "<path>.lock") across read-modify-write.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct error;

/* Reads a whole file of at most max bytes; the result is NUL-terminated.
 * A missing file is -ENOENT (with *err set). */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len, struct error **err);

enum read_file_flags {
	/* For files in places others can write to (a storage's sidecars):
	 * refuse a symbolic link (-ELOOP) and anything but a regular file
	 * (-EINVAL: a FIFO would block, a device never end), so a planted
	 * link cannot make the daemon read a file of its choosing. */
	READ_FILE_NOFOLLOW = 1 << 0,
};
int read_file_full(const char *path, size_t max, enum read_file_flags flags, char **ret_data,
                   size_t *ret_len, struct error **err);

/* A file's identity as stat sees it: a change of content through write or
 * rename changes it (same-size rewrites within one timestamp tick aside:
 * see file_stamp_racy()).  A missing file has exists false. */
struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool exists;
};

void file_stamp_get(const char *path, struct file_stamp *ret);
bool file_stamp_equal(const struct file_stamp *a, const struct file_stamp *b);
/* Modified within the last two seconds: another same-size edit could still
 * land in the same timestamp tick, so a cache must compare content. */
bool file_stamp_racy(const struct file_stamp *st);

/* Writes all of p to fd, retrying short writes and EINTR; 0 or -errno. */
int write_full(int fd, const void *p, size_t len);

enum write_file_flags {
	/* Skip the fsync of the file and its directory: the rename still makes
	 * the change atomic, but a power loss may bring back the old content.
	 * Only for state that a host crash makes meaningless anyway (the list
	 * of running tasks), where the fsync would cost every API call that
	 * starts a task several milliseconds. */
	WRITE_FILE_NO_SYNC = 1 << 0,
	/* Refuse (500) when path exists as anything but a regular file, e.g.
	 * a planted symbolic link (-ELOOP).  Without it such a link is
	 * replaced; never is a file written through one. */
	WRITE_FILE_NOFOLLOW = 1 << 1,
	/* For tests: skip O_TMPFILE, as on a file system without it. */
	WRITE_FILE_NAMED_TMP = 1 << 2,
};

/*
 * Writes data to path atomically with the given mode (applied before the
 * content is written, so a 0600 secret is never readable by others), and
 * durably: file and directory are fsync'ed before it returns.
 *
 * Any number of threads and processes may write one file at once: the last
 * rename wins, each leaves one complete version.  The content goes to an
 * unnamed O_TMPFILE file in path's directory, which is flock'ed, filled,
 * synced and only then linked as "<path>.tmp.<pid>.<6 random characters>"
 * and renamed to path.  Where the file system has no O_TMPFILE (NFS), that
 * name is created with O_EXCL and locked at once.  Either way a temporary
 * is locked for as long as its writer lives, so remove_stale_tmp() can
 * tell a live one from one a killed process left.
 */
int write_file_atomic_full(const char *path, const void *data, size_t len, mode_t mode,
                           enum write_file_flags flags, struct error **err);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct error **err);

/* Whether a file name is a temporary of write_file_atomic_full(): as above,
 * or "<name>.tmp.<pid>" of versions before the unique names, which were never
 * locked: then *ret_pid is that pid, else 0. */
typedef bool tmp_name_fn(const char *name, pid_t *ret_pid);
bool atomic_tmp_name(const char *name, pid_t *ret_pid);

/*
 * Removes temporary files that killed writers left: those in dir (and its
 * subdirectories down to depth levels, 1: dir only, never through a
 * symbolic link) whose names match() accepts, and only when
 *   - it is a regular file (a link of that name is neither followed nor
 *     removed),
 *   - it was last modified before `before` (the caller's start: a writer
 *     that created it afterwards may not have locked it yet),
 *   - nobody holds an flock on it (every live writer does), and
 *   - the pid that match() gave (a name of an older version) is not alive.
 * report (optional) gets the path of each file removed.  Returns how many
 * were removed; a missing dir has none.
 */
typedef void tmp_removed_fn(const char *path, void *userdata);
int remove_stale_tmp(const char *dir, unsigned depth, const struct timespec *before,
                     tmp_name_fn *match, tmp_removed_fn *report, void *userdata);

/* Opens an existing temporary file and takes its flock, to be held (the fd
 * kept open) while a process other than its creator works with it, so
 * remove_stale_tmp() does not take it away.  The lock fd or -errno. */
int tmpfile_hold(const char *path);

/* Takes an exclusive lock on "<path>.lock", waiting at most timeout_ms
 * (0: do not wait).  Returns the lock fd (>= 0); release with unlock_file(). */
int lock_file(const char *path, int timeout_ms, struct error **err);
void unlock_file(int fd);

/* mkdir -p with mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode);

/* Joins a and b with exactly one '/'. */
char *path_join(const char *a, const char *b);
