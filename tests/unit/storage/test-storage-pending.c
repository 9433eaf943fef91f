/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The journal of volumes being filled (storage-pending.c), on a dir storage
 * in a temp directory: a record whose writer died names a half-written
 * volume that recovery frees; a record still locked (its copy runs) is left
 * alone; an empty record is given a grace period; a record of a storage
 * that is gone stays for the next try; a successful copy leaves no record.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-priv.h"
#include "storage.h"
#include "xalloc.h"

static char root[] = "/tmp/ctvm-pending-XXXXXX";
static char *pending, *store;
static const struct storage_config_snapshot *snap; /* owns the config */
static struct section *sec;
static int reported;

static void report(const char *storeid, const char *volname, int r, const struct error *e,
                   void *userdata)
{
	reported++;
}

static size_t records(void)
{
	DIR *d = opendir(pending);
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *alloc_raw(struct storage *st, long vmid)
{
	char *vol = NULL;
	struct error *e = NULL;
	assert_int_equal(storage_alloc(st, vmid, "raw", NULL, 1 << 20, NULL, &vol, &e), 0);
	return vol;
}

static bool exists(struct storage *st, const char *vol)
{
	struct error *e = NULL;
	int r = storage_volume_exists(st, vol, &e);
	error_free(e);
	return r == 0;
}

static void test_recover(void **state)
{
	struct storage *st = NULL;
	struct error *e = NULL;
	assert_int_equal(storage_open(snap, "t", &st, &e), 0);
	assert_int_equal(storage_activate(st, &e), 0);

	/* a copy still running: its record is locked and stays */
	_cleanup_free_ char *running = alloc_raw(st, 100);
	char *path = NULL;
	int fd = storage_pending_begin("t", running, &path);
	assert_true(fd >= 0);
	reported = 0;
	assert_int_equal(storage_pending_recover(snap, report, NULL), 0);
	assert_int_equal(reported, 0);
	assert_true(exists(st, running));
	storage_pending_end(path, fd, true);
	assert_int_equal(records(), 0);

	/* a copy whose worker died: the volume and the record go */
	_cleanup_free_ char *dead = alloc_raw(st, 101);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = NULL;
		_exit(storage_pending_begin("t", dead, &p) >= 0 ? 0 : 1); /* never ends it */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(records(), 1);
	reported = 0;
	assert_int_equal(storage_pending_recover(snap, report, NULL), 1);
	assert_int_equal(reported, 1);
	assert_false(exists(st, dead));
	assert_int_equal(records(), 0);

	/* a record of a volume never allocated: handled, gone */
	path = NULL;
	fd = storage_pending_begin("t", "102/vm-102-disk-0.raw", &path);
	storage_pending_end(path, fd, false); /* as a killed worker leaves it */
	assert_int_equal(storage_pending_recover(snap, report, NULL), 1);
	assert_int_equal(records(), 0);

	/* a storage that is gone: kept for the next try */
	path = NULL;
	fd = storage_pending_begin("gone", "103/vm-103-disk-0.raw", &path);
	storage_pending_end(path, fd, false);
	reported = 0;
	assert_int_equal(storage_pending_recover(snap, report, NULL), 0);
	assert_int_equal(reported, 1);
	assert_int_equal(records(), 1);

	storage_free(st);
}

static void test_empty_record(void **state)
{
	_cleanup_free_ char *p = path_join(pending, "copy-empty1");
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	size_t before = records();
	assert_int_equal(storage_pending_recover(snap, NULL, NULL), 0);
	assert_int_equal(records(), before); /* may be one just being written */
	struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	assert_int_equal(storage_pending_recover(snap, NULL, NULL), 0);
	assert_int_equal(records(), before - 1);
}

static void test_copy_leaves_none(void **state)
{
	struct storage *st = NULL;
	struct error *e = NULL;
	_cleanup_free_ char *copy = NULL;
	assert_int_equal(storage_open(snap, "t", &st, &e), 0);
	_cleanup_free_ char *src = alloc_raw(st, 110);
	size_t before = records();
	assert_int_equal(storage_copy(st, src, st, "vm-111-disk-0.raw", 111, NULL, &copy, &e), 0);
	assert_int_equal(records(), before);
	assert_true(exists(st, copy));
	storage_free(st);
}

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	struct error *e = NULL;
	if (!mkdtemp(root))
		return -1;
	pending = path_join(root, "pending");
	store = path_join(root, "store");
	storage_set_pending_dir(pending);
	storage_set_lock_dir(root);
	struct section_config *cfg = section_config_new();
	if (section_config_add(cfg, "dir", "t", &sec, &e) < 0)
		return -1;
	section_set(sec, "path", store);
	section_set(sec, "content", "images");
	snap = storage_config_snapshot_new(cfg);
	return 0;
}

static int teardown(void **state)
{
	storage_set_pending_dir(NULL);
	storage_set_lock_dir(NULL);
	storage_config_snapshot_unref(snap);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(pending);
	free(store);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_recover),
	    cmocka_unit_test(test_empty_record),
	    cmocka_unit_test(test_copy_leaves_none),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
