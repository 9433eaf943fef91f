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
};

/* Writes data to path atomically with the given mode (applied before the
 * content is written, so a 0600 secret is never readable by others), and
 * durably: file and directory are fsync'ed before it returns. */
int write_file_atomic_full(const char *path, const void *data, size_t len, mode_t mode,
                           enum write_file_flags flags, struct error **err);
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct error **err);

/* Takes an exclusive lock on "<path>.lock", waiting at most timeout_ms
 * (0: do not wait).  Returns the lock fd (>= 0); release with unlock_file(). */
int lock_file(const char *path, int timeout_ms, struct error **err);
void unlock_file(int fd);

/* mkdir -p with mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode);

/* Joins a and b with exactly one '/'. */
char *path_join(const char *a, const char *b);
