/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* util: atomic writes by many writers at once, the sweep of stale temporary
 * files, and reads and writes that refuse planted links. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "xalloc.h"

#define WRITERS    60
#define ROUNDS     10
#define BODY_BYTES (16u << 10)

struct writer {
	const char *path;
	enum write_file_flags flags;
	int id;
	int failures;
	pthread_barrier_t *start;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	char *body = xmalloc(BODY_BYTES);
	memset(body, 'A' + w->id % 26, BODY_BYTES);
	snprintf(body, 16, "writer %02d|", w->id);
	pthread_barrier_wait(w->start);
	for (int i = 0; i < ROUNDS; i++) {
		struct error *e = NULL;
		if (write_file_atomic_full(w->path, body, BODY_BYTES, 0640,
		                           w->flags | WRITE_FILE_NO_SYNC, &e) < 0)
			w->failures++;
		error_free(e);
	}
	free(body);
	return NULL;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* 60 threads rewrite one file 10 times each: every write succeeds, the
 * file is one writer's complete version, and no temporary is left. */
static void concurrent_writers(enum write_file_flags flags)
{
	char dir[] = "/tmp/ctvm-fileio-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = path_join(dir, "notes");
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, WRITERS);
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.path = path, .flags = flags, .id = i, .start = &start};
		assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
	}
	int failures = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(failures, 0);

	char *data;
	size_t len;
	assert_int_equal(read_file(path, BODY_BYTES, &data, &len, NULL), 0);
	assert_int_equal(len, BODY_BYTES);
	int id = atoi(data + strlen("writer "));
	assert_true(id >= 0 && id < WRITERS);
	for (size_t i = 16; i < len; i++)
		if (data[i] != 'A' + id % 26)
			fail_msg("byte %zu of writer %d's version is '%c'", i, id, data[i]);
	free(data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_entries(dir), 1);
	remove_tree(dir);
}

static void test_concurrent_writers(void **state)
{
	concurrent_writers(0);
}

static void test_concurrent_writers_named(void **state)
{
	concurrent_writers(WRITE_FILE_NAMED_TMP);
}

static void plant(const char *dir, const char *name, time_t mtime)
{
	_cleanup_free_ char *p = path_join(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct stat st;
	return lstat(p, &st) == 0;
}

static void count_report(const char *path, void *userdata)
{
	(void)path;
	(*(int *)userdata)++;
}

static void test_remove_stale(void **state)
{
	char dir[] = "/tmp/ctvm-fileio-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *sub = path_join(dir, "qemu-server");
	_cleanup_free_ char *deep = path_join(dir, "a/b/c");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir_p(deep, 0755), 0);
	time_t old = time(NULL) - 3600;
	/* no pid can be this large (pid_max is at most 2^22) */
	const char *dead = "4194399";
	_cleanup_free_ char *legacy = xasprintf("user.cfg.tmp.%s", dead);
	_cleanup_free_ char *legacy_live = xasprintf("domains.cfg.tmp.%d", (int)getppid());
	plant(dir, legacy, old);
	plant(dir, legacy_live, old);
	plant(dir, "storage.cfg.tmp.17.aB3xYz", old);
	plant(sub, "100.conf.tmp.17.Qq9Zz0", old);
	plant(deep, "x.tmp.17.abcdef", old); /* below the depth swept */
	plant(dir, "locked.cfg.tmp.17.LoCkEd", old);
	plant(dir, "fresh.cfg.tmp.17.fReShh", time(NULL) + 3600);
	plant(dir, "user.cfg", old);
	plant(dir, "notes.tmp.17.toolong1", old);
	plant(dir, "notes.tmp.x17.abcdef", old);
	_cleanup_free_ char *link = path_join(dir, "link.cfg.tmp.17.LiNkkk");
	assert_int_equal(symlink("/etc/passwd", link), 0);
	_cleanup_free_ char *locked = path_join(dir, "locked.cfg.tmp.17.LoCkEd");
	int lfd = open(locked, O_RDONLY | O_CLOEXEC);
	assert_true(lfd >= 0);
	assert_int_equal(flock(lfd, LOCK_EX), 0);

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int reported = 0;
	assert_int_equal(remove_stale_tmp(dir, 2, &now, atomic_tmp_name, count_report, &reported),
	                 3);
	assert_int_equal(reported, 3);
	assert_false(exists(dir, legacy));
	assert_false(exists(dir, "storage.cfg.tmp.17.aB3xYz"));
	assert_false(exists(sub, "100.conf.tmp.17.Qq9Zz0"));
	/* kept: too deep, a live writer's lock, newer than the start, not a
	 * temporary name, a link, an old-style name of a live process */
	assert_true(exists(deep, "x.tmp.17.abcdef"));
	assert_true(exists(dir, "locked.cfg.tmp.17.LoCkEd"));
	assert_true(exists(dir, "fresh.cfg.tmp.17.fReShh"));
	assert_true(exists(dir, "user.cfg"));
	assert_true(exists(dir, "notes.tmp.17.toolong1"));
	assert_true(exists(dir, "notes.tmp.x17.abcdef"));
	assert_true(exists(dir, "link.cfg.tmp.17.LiNkkk"));
	assert_true(exists(dir, legacy_live));
	assert_int_equal(access("/etc/passwd", F_OK), 0);

	/* a holder of tmpfile_hold() is a live writer too */
	close(lfd);
	int hold = tmpfile_hold(locked);
	assert_true(hold >= 0);
	assert_int_equal(remove_stale_tmp(dir, 1, &now, atomic_tmp_name, NULL, NULL), 0);
	close(hold);
	assert_int_equal(remove_stale_tmp(dir, 1, &now, atomic_tmp_name, NULL, NULL), 1);
	assert_false(exists(dir, "locked.cfg.tmp.17.LoCkEd"));
	assert_int_equal(tmpfile_hold(locked), -ENOENT);

	_cleanup_free_ char *missing = path_join(dir, "nope");
	assert_int_equal(remove_stale_tmp(missing, 1, &now, atomic_tmp_name, NULL, NULL), 0);
	remove_tree(dir);
}

static void test_names(void **state)
{
	pid_t pid = -1;
	assert_true(atomic_tmp_name("a.tmp.123", &pid));
	assert_int_equal(pid, 123);
	assert_true(atomic_tmp_name("a.tmp.x.tmp.5.abcXYZ", &pid));
	assert_int_equal(pid, 0);
	assert_false(atomic_tmp_name(".tmp.5", &pid));
	assert_false(atomic_tmp_name("a.tmp.", &pid));
	assert_false(atomic_tmp_name("a.tmp.5.abc", &pid));
	assert_false(atomic_tmp_name("a.tmp.5.abc-de", &pid));
	assert_false(atomic_tmp_name("a.tmp.1234567890", &pid));
	assert_false(atomic_tmp_name("a.tmpl", &pid));
}

/* A planted link or FIFO instead of a sidecar is neither read nor written
 * through. */
static void test_nofollow(void **state)
{
	char dir[] = "/tmp/ctvm-fileio-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *secret = path_join(dir, "secret");
	_cleanup_free_ char *link = path_join(dir, "x.notes");
	_cleanup_free_ char *fifo = path_join(dir, "y.notes");
	_cleanup_free_ char *plain = path_join(dir, "z.notes");
	assert_int_equal(write_file_atomic(secret, "TOPSECRET", 9, 0600, NULL), 0);
	assert_int_equal(symlink(secret, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	char *data = NULL;
	struct error *e = NULL;
	assert_int_equal(read_file_full(link, 100, READ_FILE_NOFOLLOW, &data, NULL, &e), -ELOOP);
	assert_non_null(strstr(e->msg, "symbolic link"));
	e = error_free(e);
	assert_int_equal(read_file_full(fifo, 100, READ_FILE_NOFOLLOW, &data, NULL, &e), -EINVAL);
	e = error_free(e);
	assert_int_equal(read_file_full(dir, 100, READ_FILE_NOFOLLOW, &data, NULL, &e), -EINVAL);
	e = error_free(e);
	assert_null(data);

	assert_int_equal(write_file_atomic_full(link, "new", 3, 0644, WRITE_FILE_NOFOLLOW, &e),
	                 -ELOOP);
	assert_int_equal(e->http_status, 500);
	assert_non_null(strstr(e->msg, "symbolic link"));
	e = error_free(e);
	assert_int_equal(write_file_atomic_full(fifo, "new", 3, 0644, WRITE_FILE_NOFOLLOW, &e),
	                 -EINVAL);
	e = error_free(e);
	assert_int_equal(read_file(secret, 100, &data, NULL, NULL), 0);
	assert_string_equal(data, "TOPSECRET");
	free(data);

	assert_int_equal(write_file_atomic_full(plain, "new", 3, 0644, WRITE_FILE_NOFOLLOW, NULL),
	                 0);
	assert_int_equal(read_file_full(plain, 100, READ_FILE_NOFOLLOW, &data, NULL, NULL), 0);
	assert_string_equal(data, "new");
	free(data);
	/* without the flag a link is replaced, never written through */
	assert_int_equal(write_file_atomic(link, "new", 3, 0644, NULL), 0);
	assert_int_equal(read_file(secret, 100, &data, NULL, NULL), 0);
	assert_string_equal(data, "TOPSECRET");
	free(data);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_writers),
	    cmocka_unit_test(test_concurrent_writers_named),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_remove_stale),
	    cmocka_unit_test(test_nofollow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
