/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage.cfg store's shared snapshot: outside edits are seen after the
 * recheck interval (and at once with 0), a same-size edit within the same
 * mtime tick still changes the digest, writes through the store swap the
 * snapshot at once while old readers keep theirs, an unreadable file keeps
 * the last snapshot, and many threads read while others write (run under
 * ASan/TSan builds to check the sharing).
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "storage-config.h"
#include "xalloc.h"

struct fixture {
	char *root;
	struct ctvm_paths *paths;
	struct storage_config_store *store;
	char *cfg;
};

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	f->root = xstrdup("/tmp/ctvm-stcache-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->paths = ctvm_paths_new(f->root);
	assert_int_equal(ctvm_paths_create(f->paths), 0);
	f->store = storage_config_store_new(f->paths);
	f->cfg = path_join(f->paths->etc, "storage.cfg");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	storage_config_store_free(f->store);
	ctvm_paths_free(f->paths);
	pid_t pid = fork(); /* test-only cleanup of our own tree: argv, no shell */
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", f->root, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	free(f->root);
	free(f->cfg);
	free(f);
	return 0;
}

static void write_cfg(struct fixture *f, const char *text)
{
	assert_int_equal(write_file_atomic(f->cfg, text, strlen(text), 0640, NULL), 0);
}

static const struct storage_config_snapshot *get(struct fixture *f)
{
	const struct storage_config_snapshot *snap = NULL;
	assert_int_equal(storage_config_store_get(f->store, &snap, NULL), 0);
	assert_non_null(snap);
	return snap;
}

static const char *path_of(const struct storage_config_snapshot *snap, const char *id)
{
	const struct section *s = section_config_find(storage_config_snapshot_config(snap), id);
	return s ? section_get(s, "path") : NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static const char cfg_a[] = "dir: aa\n\tpath /srv/a\n\tcontent backup\n";
static const char cfg_b[] = "dir: bb\n\tpath /srv/b\n\tcontent backup\n";

static void test_shared_and_recheck(void **state)
{
	struct fixture *f = *state;
	write_cfg(f, cfg_a);
	storage_config_store_set_recheck_ms(f->store, 300);
	const struct storage_config_snapshot *s1 = get(f), *s2 = get(f);
	assert_ptr_equal(s1, s2); /* shared, not re-parsed */
	assert_string_equal(path_of(s1, "aa"), "/srv/a");
	assert_non_null(path_of(s1, "local")); /* the implicit one */
	char d1[41];
	memcpy(d1, storage_config_snapshot_config(s1)->digest, sizeof(d1));
	storage_config_snapshot_unref(s2);

	/* an outside edit waits for the recheck interval... */
	write_cfg(f, cfg_b);
	const struct storage_config_snapshot *s3 = get(f);
	assert_ptr_equal(s3, s1);
	storage_config_snapshot_unref(s3);
	sleep_ms(350);
	/* ...and is seen after it */
	const struct storage_config_snapshot *s4 = get(f);
	assert_ptr_not_equal(s4, s1);
	assert_null(path_of(s4, "aa"));
	assert_string_equal(path_of(s4, "bb"), "/srv/b");
	assert_string_not_equal(storage_config_snapshot_config(s4)->digest, d1);
	/* the old reader still has its own, intact */
	assert_string_equal(path_of(s1, "aa"), "/srv/a");
	storage_config_snapshot_unref(s1);
	storage_config_snapshot_unref(s4);

	/* with 0 every get looks at the file */
	storage_config_store_set_recheck_ms(f->store, 0);
	write_cfg(f, cfg_a);
	const struct storage_config_snapshot *s5 = get(f);
	assert_string_equal(path_of(s5, "aa"), "/srv/a");
	storage_config_snapshot_unref(s5);
}

/* In place, same size, mtime set back: only the bytes tell. */
static void test_same_stamp_edit(void **state)
{
	struct fixture *f = *state;
	static const char one[] = "dir: xx\n\tpath /srv/1\n";
	static const char two[] = "dir: xx\n\tpath /srv/2\n";
	write_cfg(f, one);
	struct stat before;
	assert_int_equal(stat(f->cfg, &before), 0);
	const struct storage_config_snapshot *s1 = get(f);
	assert_string_equal(path_of(s1, "xx"), "/srv/1");

	int fd = open(f->cfg, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, two, strlen(two), 0), (ssize_t)strlen(two));
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	struct stat after;
	assert_int_equal(stat(f->cfg, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

	const struct storage_config_snapshot *s2 = get(f);
	assert_string_equal(path_of(s2, "xx"), "/srv/2");
	assert_string_not_equal(storage_config_snapshot_config(s2)->digest,
	                        storage_config_snapshot_config(s1)->digest);
	storage_config_snapshot_unref(s1);
	storage_config_snapshot_unref(s2);
}

static int add_c(struct section_config *c, void *arg, struct error **err)
{
	struct section *s = NULL;
	(void)err;
	if (section_config_add(c, "dir", (const char *)arg, &s, NULL) < 0)
		return 0; /* already there */
	section_set(s, "path", "/srv/c");
	section_set(s, "content", "backup");
	return 1;
}

static void test_write_swaps_at_once(void **state)
{
	struct fixture *f = *state;
	write_cfg(f, cfg_a);
	storage_config_store_set_recheck_ms(f->store, 600000); /* never, in this test */
	const struct storage_config_snapshot *s1 = get(f);
	const char *d1 = storage_config_snapshot_config(s1)->digest;
	assert_int_equal(storage_config_store_update(f->store, d1, add_c, "cc", NULL), 1);
	const struct storage_config_snapshot *s2 = get(f);
	assert_string_equal(path_of(s2, "cc"), "/srv/c");
	assert_string_not_equal(storage_config_snapshot_config(s2)->digest, d1);
	assert_null(path_of(s1, "cc"));

	/* the digest check reads the file, not the (stale) snapshot */
	write_cfg(f, cfg_b);
	struct error *e = NULL;
	assert_int_equal(storage_config_store_update(
	                     f->store, storage_config_snapshot_config(s2)->digest, add_c, "dd", &e),
	                 -ESTALE);
	error_free(e);

	/* _load hands out a private copy with the same content and digest */
	_cleanup_section_config_ struct section_config *c = NULL;
	assert_int_equal(storage_config_store_load(f->store, &c, NULL), 0);
	assert_string_equal(c->digest, storage_config_snapshot_config(s2)->digest);
	assert_int_equal(c->n_sections, storage_config_snapshot_config(s2)->n_sections);
	section_set(section_config_find(c, "cc"), "path", "/mine");
	assert_string_equal(path_of(s2, "cc"), "/srv/c");
	storage_config_snapshot_unref(s1);
	storage_config_snapshot_unref(s2);
}

static void test_unreadable_keeps_last(void **state)
{
	struct fixture *f = *state;
	write_cfg(f, cfg_a);
	const struct storage_config_snapshot *s1 = get(f);
	assert_int_equal(unlink(f->cfg), 0);
	assert_int_equal(mkdir(f->cfg, 0700), 0); /* read() fails on a directory */
	const struct storage_config_snapshot *s2 = get(f);
	assert_ptr_equal(s1, s2);
	storage_config_snapshot_unref(s1);
	storage_config_snapshot_unref(s2);

	/* a new store has nothing to fall back on */
	struct storage_config_store *fresh = storage_config_store_new(f->paths);
	const struct storage_config_snapshot *s3 = NULL;
	struct error *e = NULL;
	assert_true(storage_config_store_get(fresh, &s3, &e) < 0);
	assert_non_null(e);
	error_free(e);
	storage_config_store_free(fresh);
	assert_int_equal(rmdir(f->cfg), 0);

	/* missing: the implicit local only */
	const struct storage_config_snapshot *s4 = get(f);
	assert_int_equal(storage_config_snapshot_config(s4)->n_sections, 1);
	storage_config_snapshot_unref(s4);
}

/* --- many threads --- */

#define READERS 6
#define ROUNDS  300

struct race {
	struct fixture *f;
	atomic_int stop;
	atomic_long reads;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	while (!atomic_load(&r->stop)) {
		const struct storage_config_snapshot *snap = NULL;
		if (storage_config_store_get(r->f->store, &snap, NULL) == 0) {
			const struct section_config *c = storage_config_snapshot_config(snap);
			/* every snapshot is whole: local plus aa, or local plus bb and cc */
			size_t n = 0;
			for (size_t i = 0; i < c->n_sections; i++)
				n += strlen(c->sections[i]->id) + strlen(c->digest);
			assert_true(n > 0);
			storage_config_snapshot_unref(snap);
		}
		struct section_config *copy = NULL;
		if (storage_config_store_load(r->f->store, &copy, NULL) == 0)
			section_config_free(copy);
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	struct race r = {.f = f};
	pthread_t t[READERS];
	write_cfg(f, cfg_a);
	storage_config_store_set_recheck_ms(f->store, 1);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
	for (int i = 0; i < ROUNDS; i++) {
		if (i % 2)
			write_cfg(f, i % 4 == 1 ? cfg_a : cfg_b);
		else
			assert_true(
			    storage_config_store_update(f->store, NULL, add_c, "cc", NULL) >= 0);
	}
	atomic_store(&r.stop, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&r.reads) > 0);

	/* after the dust settles the snapshot is the file */
	storage_config_store_set_recheck_ms(f->store, 0);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(f->cfg, 1 << 20, &data, &len, NULL), 0);
	char digest[41];
	config_digest(data, len, digest);
	const struct storage_config_snapshot *s = get(f);
	assert_string_equal(storage_config_snapshot_config(s)->digest, digest);
	storage_config_snapshot_unref(s);
}

/* A forked task worker reads the file itself and never takes the lock. */
static void test_forked_child(void **state)
{
	struct fixture *f = *state;
	write_cfg(f, cfg_a);
	storage_config_store_set_recheck_ms(f->store, 600000);
	const struct storage_config_snapshot *s1 = get(f);
	write_cfg(f, cfg_b); /* not seen by the parent's cache yet */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct storage_config_snapshot *c = NULL;
		int ok = storage_config_store_get(f->store, &c, NULL) == 0 &&
		         path_of(c, "bb") != NULL && c != s1;
		storage_config_snapshot_unref(c);
		ok = ok && storage_config_store_update(f->store, NULL, add_c, "cc", NULL) == 1;
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	storage_config_store_set_recheck_ms(f->store, 0);
	const struct storage_config_snapshot *s2 = get(f);
	assert_string_equal(path_of(s2, "cc"), "/srv/c");
	storage_config_snapshot_unref(s1);
	storage_config_snapshot_unref(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_shared_and_recheck, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_same_stamp_edit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_swaps_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_keeps_last, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forked_child, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
