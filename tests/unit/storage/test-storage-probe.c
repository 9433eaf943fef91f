/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage layer's two helpers that the status calls, the usage history
 * and the volume calls share: the lookup of a configured storage that is
 * enabled here (its messages and kinds), and the status probe with a
 * deadline (a probe that hangs is given up at the deadline, goes on, and
 * answers once it can).
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-probe.h"
#include "storage.h"
#include "xalloc.h"

struct fixture {
	char *root;
	struct ctvm_paths *paths;
	struct storage_config_store *store;
};

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	f->root = xstrdup("/tmp/ctvm-probe-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->paths = ctvm_paths_new(f->root);
	assert_int_equal(ctvm_paths_create(f->paths), 0);
	storage_set_lock_dir(f->paths->run);
	f->store = storage_config_store_new(f->paths);
	_cleanup_free_ char *cfg = path_join(f->paths->etc, "storage.cfg");
	_cleanup_free_ char *text = xasprintf("dir: st1\n\tpath %s/st1\n\tcontent images,iso\n\n"
	                                      "dir: off\n\tpath %s/off\n\tdisable 1\n\n"
	                                      "dir: elsewhere\n\tpath %s/e\n\tnodes n2\n",
	                                      f->root, f->root, f->root);
	assert_int_equal(write_file_atomic(cfg, text, strlen(text), 0640, NULL), 0);
	*state = f;
	return 0;
}

/* Goes on past an entry it cannot remove, so one failure leaves only that. */
static int rm_one(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	storage_config_store_free(f->store);
	storage_set_lock_dir(NULL);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(f->paths);
	free(f->root);
	free(f);
	return 0;
}

static void lookup_fails(const struct storage_config_snapshot *snap, const char *id, int code,
                         const char *msg)
{
	const struct section_config *c = storage_config_snapshot_config(snap);
	const struct section *s = NULL;
	struct storage *st = NULL;
	struct error *e = NULL;

	assert_int_equal(storage_lookup_enabled(c, id, "n1", &s, &e), code);
	assert_null(s);
	assert_int_equal(e->http_status, 500);
	assert_string_equal(e->msg, msg);
	e = error_free(e);
	assert_int_equal(storage_open_enabled(snap, id, "n1", &st, &e), code);
	assert_null(st);
	assert_string_equal(e->msg, msg);
	error_free(e);
}

static void test_lookup(void **state)
{
	struct fixture *f = *state;
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	const struct section *s = NULL;
	struct storage *st = NULL;

	assert_int_equal(storage_config_store_get(f->store, &snap, NULL), 0);
	const struct section_config *c = storage_config_snapshot_config(snap);
	lookup_fails(snap, "nope", -ENOENT, "storage 'nope' does not exist");
	lookup_fails(snap, "off", -ENODEV, "storage 'off' is disabled");
	/* configured for another node only: disabled here, as Proxmox says */
	lookup_fails(snap, "elsewhere", -ENODEV, "storage 'elsewhere' is disabled");

	assert_int_equal(storage_lookup_enabled(c, "st1", "n1", &s, NULL), 0);
	assert_string_equal(s->id, "st1");
	assert_int_equal(storage_lookup_enabled(c, "elsewhere", "n2", &s, NULL), 0);
	assert_int_equal(storage_open_enabled(snap, "st1", "n1", &st, NULL), 0);
	assert_string_equal(st->id, "st1");
	assert_ptr_equal(st->cfg, section_config_find(c, "st1"));
	storage_free(st);
}

static int drop_st1(struct section_config *c, void *arg, struct error **err)
{
	return section_config_remove(c, "st1") ? 0 : -ENOENT;
}

/* An opened storage keeps its own reference to the snapshot it came from:
 * its section stays valid after the caller let go of the snapshot and the
 * store published a config without it (ASan builds see a use after free). */
static void test_open_holds_snapshot(void **state)
{
	struct fixture *f = *state;
	const struct storage_config_snapshot *snap = NULL;
	struct storage *st = NULL;
	struct error *e = NULL;

	assert_int_equal(storage_config_store_get(f->store, &snap, NULL), 0);
	assert_int_equal(storage_open(snap, "st1", &st, NULL), 0);
	storage_config_snapshot_unref(snap);
	assert_int_equal(storage_config_store_update(f->store, NULL, drop_st1, NULL, NULL), 0);
	assert_int_equal(storage_config_store_get(f->store, &snap, NULL), 0);
	assert_null(section_config_find(storage_config_snapshot_config(snap), "st1"));
	/* the new snapshot has no st1: opening it fails, the old storage works */
	assert_int_equal(storage_open(snap, "st1", &(struct storage *){NULL}, &e), -ENOENT);
	assert_string_equal(e->msg, "storage 'st1' does not exist");
	e = error_free(e);
	storage_config_snapshot_unref(snap);
	assert_string_equal(st->cfg->id, "st1");
	assert_string_equal(section_get(st->cfg, "content"), "images,iso");
	assert_int_equal(storage_activate(st, NULL), 0);
	storage_free(st);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_probe_answers(void **state)
{
	struct fixture *f = *state;
	struct storage_probe *p = storage_probe_start(f->store, "st1");
	struct timespec deadline = storage_probe_deadline(STORAGE_PROBE_TIMEOUT_MS);
	struct storage_status s = {0};

	assert_int_equal(storage_probe_wait(p, &deadline, &s), 0);
	assert_true(s.active);
	assert_true(s.total > 0);
	assert_true(storage_probe_done(p));
	storage_probe_unref(p);
	/* activated: the base path exists now */
	_cleanup_free_ char *base = path_join(f->root, "st1/images");
	assert_int_equal(access(base, F_OK), 0);
}

static void test_probe_fails(void **state)
{
	struct fixture *f = *state;
	struct storage_probe *p = storage_probe_start(f->store, "nope");
	struct timespec deadline = storage_probe_deadline(STORAGE_PROBE_TIMEOUT_MS);
	struct storage_status s = {.active = true, .total = 7};

	int r = storage_probe_wait(p, &deadline, &s);
	assert_true(r < 0);
	assert_int_not_equal(r, -ETIMEDOUT);
	assert_true(storage_probe_done(p));
	assert_int_equal(s.total, 7); /* untouched */
	storage_probe_unref(p);
}

/* A probe held up (here by the storage's lock, which activation takes; on a
 * host, a dead mount) is given up at the deadline, and answers later. */
static void test_probe_deadline(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = path_join(f->paths->run, "storage-st1");
	int fd = lock_file(lock, 0, NULL);
	assert_true(fd >= 0);

	struct storage_probe *p = storage_probe_start(f->store, "st1");
	struct storage_status s = {0};
	int64_t t0 = mono_ms();
	struct timespec deadline = storage_probe_deadline(200);
	assert_int_equal(storage_probe_wait(p, &deadline, &s), -ETIMEDOUT);
	int64_t waited = mono_ms() - t0;
	assert_true(waited >= 150 && waited < 2000);
	assert_false(storage_probe_done(p));
	assert_false(s.active);

	unlock_file(fd);
	deadline = storage_probe_deadline(10000);
	assert_int_equal(storage_probe_wait(p, &deadline, &s), 0);
	assert_true(s.active);
	assert_true(storage_probe_done(p));
	storage_probe_unref(p);
}

/* The caller lets go while the probe hangs: the thread frees it. */
static void test_probe_outlives_caller(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lock = path_join(f->paths->run, "storage-st1");
	int fd = lock_file(lock, 0, NULL);
	assert_true(fd >= 0);

	struct storage_probe *p = storage_probe_start(f->store, "st1");
	struct timespec deadline = storage_probe_deadline(50);
	struct storage_status s = {0};
	assert_int_equal(storage_probe_wait(p, &deadline, &s), -ETIMEDOUT);
	storage_probe_unref(p);
	unlock_file(fd);
	/* the thread goes on alone: it activates the storage (and is then past
	 * everything the fixture frees), ends and frees the probe (ASan builds
	 * see a leak or a double free) */
	_cleanup_free_ char *images = path_join(f->root, "st1/images");
	for (int i = 0; i < 1000 && access(images, F_OK) < 0; i++)
		usleep(10 * 1000);
	assert_int_equal(access(images, F_OK), 0);
	/* and a second probe is not held up by it */
	p = storage_probe_start(f->store, "st1");
	deadline = storage_probe_deadline(10000);
	assert_int_equal(storage_probe_wait(p, &deadline, &s), 0);
	storage_probe_unref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_holds_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_outlives_caller, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
