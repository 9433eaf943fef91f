/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The config store (config-store.h) on a toy format, "value=N\n":
 * snapshots outlive newer versions, changes are found by stamp and (within
 * one mtime tick) by content, digests are SHA-1 of the bytes, a stale client
 * digest is refused, readers and writers race without a lost update, a
 * family of a few thousand files is read once and listed without reading,
 * and removed files are gone.
 */
#include "common.h"

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "strbuf.h"
#include "xalloc.h"

/* --- the toy format --- */

struct toy {
	long value;
	char *text; /* the bytes it was parsed from */
	size_t len;
};

static atomic_long parses; /* every parse, to prove what is cached */

/* "value=N\n" (N may have leading zeros, to make same-size edits); a '!'
 * anywhere is a parse error; empty is value 0. */
static int toy_parse(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	atomic_fetch_add(&parses, 1);
	if (memchr(data, '!', len))
		return error_set(err, -EINVAL, 500, "toy: bad byte");
	struct toy *t = xnew(struct toy, 1);
	if (len && sscanf(data, "value=%ld", &t->value) != 1) {
		free(t);
		return error_set(err, -EINVAL, 500, "toy: no value");
	}
	t->text = xstrndup(data, len);
	t->len = len;
	*ret = t;
	return 0;
}

static int toy_write(const void *obj, struct strbuf *out, struct error **err)
{
	const struct toy *t = obj;
	strbuf_addf(out, "value=%ld\n", t->value);
	return 0;
}

static void toy_free(void *obj)
{
	struct toy *t = obj;
	if (t)
		free(t->text);
	free(t);
}

static const struct conf_ops toy_ops = {
    .max_size = 4096,
    .mode = 0640,
    .flags = CONF_MISSING_EMPTY,
    .parse = toy_parse,
    .write = toy_write,
    .free = toy_free,
};

static const struct conf_ops toy_ops_strict = {
    .max_size = 4096,
    .mode = 0600,
    .parse = toy_parse,
    .write = toy_write,
    .free = toy_free,
};

static const struct conf_ops toy_ops_anycase = {
    .max_size = 4096,
    .mode = 0640,
    .flags = CONF_MISSING_EMPTY | CONF_DIGEST_ANY_CASE,
    .parse = toy_parse,
    .write = toy_write,
    .free = toy_free,
};

static long value_of(const struct conf_snapshot *snap)
{
	return ((const struct toy *)conf_snapshot_data(snap))->value;
}

/* --- fixture --- */

struct fixture {
	char root[64];
	char *path;
};

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->root, sizeof(f->root), "/tmp/ctvm-confstore-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->path = path_join(f->root, "toy.cfg");
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->path);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0640, NULL), 0);
}

/* Without fsync: for the thousands of family files. */
static void put_fast(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, text, strlen(text)), 0);
	close(fd);
}

static const struct conf_snapshot *get(struct conf_file *cf)
{
	const struct conf_snapshot *snap = NULL;
	struct error *e = NULL;
	if (conf_file_get(cf, &snap, &e) < 0)
		fail_msg("get: %s", e ? e->msg : "?");
	return snap;
}

static int set_value(void *obj, void *arg, struct error **err)
{
	((struct toy *)obj)->value = *(long *)arg;
	return 7; /* handed back by the update */
}

static int add_one(void *obj, void *arg, struct error **err)
{
	((struct toy *)obj)->value++;
	return 0;
}

static int refuse(void *obj, void *arg, struct error **err)
{
	((struct toy *)obj)->value = 999;
	return error_set(err, -EPERM, 403, "no");
}

/* --- tests --- */

static void test_digest_and_missing(void **state)
{
	struct fixture *f = *state;
	struct conf_file *cf = conf_file_new(f->path, &toy_ops, NULL);
	/* missing with CONF_MISSING_EMPTY: zero bytes, SHA-1 of "" */
	const struct conf_snapshot *s0 = get(cf);
	assert_int_equal(value_of(s0), 0);
	assert_string_equal(conf_snapshot_digest(s0), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	/* a file that does not parse keeps the last snapshot... */
	put(f->path, "abc");
	const struct conf_snapshot *s1 = get(cf);
	assert_ptr_equal(s1, s0);
	conf_snapshot_unref(s1);
	conf_snapshot_unref(s0);
	/* ...and without one, it is the parser's error */
	struct conf_file *fresh = conf_file_new(f->path, &toy_ops, NULL);
	struct error *e = NULL;
	assert_int_equal(conf_file_get(fresh, &s1, &e), -EINVAL);
	assert_string_equal(e->msg, "toy: no value");
	error_free(TAKE_PTR(e));
	conf_file_unref(fresh);
	/* Proxmox's digest: SHA-1 hex of the exact bytes */
	put(f->path, "value=1\n");
	s1 = get(cf);
	char want[41];
	config_digest("value=1\n", 8, want);
	assert_string_equal(conf_snapshot_digest(s1), want);
	assert_int_equal(value_of(s1), 1);
	conf_snapshot_unref(s1);
	conf_file_unref(cf);

	/* without the flag a missing file is -ENOENT with read_file()'s error */
	_cleanup_free_ char *gone = path_join(f->root, "gone.cfg");
	cf = conf_file_new(gone, &toy_ops_strict, NULL);
	assert_int_equal(conf_file_get(cf, &s0, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "unable to open file"));
	error_free(TAKE_PTR(e));
	conf_file_unref(cf);
}

/* A snapshot stays valid, unchanged, after newer ones are published and after
 * the store itself is gone. */
static void test_lifetime(void **state)
{
	struct fixture *f = *state;
	put(f->path, "value=1\n");
	struct conf_file *cf = conf_file_new(f->path, &toy_ops, NULL);
	const struct conf_snapshot *s1 = get(cf), *again = get(cf);
	assert_ptr_equal(s1, again); /* shared, not re-parsed */
	conf_snapshot_unref(again);
	const struct conf_snapshot *kept = conf_snapshot_ref(s1);
	char d1[41];
	memcpy(d1, conf_snapshot_digest(s1), sizeof(d1));

	long v = 2;
	struct error *e = NULL;
	assert_int_equal(conf_file_update(cf, d1, set_value, &v, &e), 7);
	const struct conf_snapshot *s2 = get(cf);
	assert_ptr_not_equal(s2, s1);
	assert_int_equal(value_of(s2), 2);
	assert_int_equal(value_of(s1), 1);
	assert_string_equal(conf_snapshot_digest(s1), d1);
	conf_snapshot_unref(s1);
	conf_file_unref(cf); /* the store goes, the references stay good */
	assert_int_equal(value_of(kept), 1);
	assert_int_equal(value_of(s2), 2);
	assert_string_equal(((const struct toy *)conf_snapshot_data(s2))->text, "value=2\n");
	conf_snapshot_unref(kept);
	conf_snapshot_unref(s2);
	conf_snapshot_unref(NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_change_detection(void **state)
{
	struct fixture *f = *state;
	put(f->path, "value=01\n");
	struct conf_file *cf = conf_file_new(f->path, &toy_ops, NULL);
	const struct conf_snapshot *s1 = get(cf);
	assert_int_equal(value_of(s1), 1);

	/* in place, same size, mtime put back: only the bytes tell */
	struct stat before, after;
	assert_int_equal(stat(f->path, &before), 0);
	int fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "value=02\n", 9, 0), 9);
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	const struct conf_snapshot *s2 = get(cf);
	assert_int_equal(value_of(s2), 2);
	assert_string_not_equal(conf_snapshot_digest(s2), conf_snapshot_digest(s1));

	/* unchanged bytes: same snapshot, however often one asks */
	long n = atomic_load(&parses);
	const struct conf_snapshot *s3 = get(cf);
	assert_ptr_equal(s3, s2);
	assert_int_equal(atomic_load(&parses), n);
	conf_snapshot_unref(s3);

	/* the recheck interval delays outside edits... */
	conf_file_set_recheck_ms(cf, 300);
	const struct conf_snapshot *s4 = get(cf); /* starts the interval */
	put(f->path, "value=3\n");
	s3 = get(cf);
	assert_int_equal(value_of(s3), value_of(s4));
	conf_snapshot_unref(s3);
	/* ...but not the store's own writes */
	long v = 4;
	assert_int_equal(conf_file_update(cf, NULL, set_value, &v, NULL), 7);
	s3 = get(cf);
	assert_int_equal(value_of(s3), 4);
	conf_snapshot_unref(s3);
	put(f->path, "value=5\n");
	sleep_ms(350);
	s3 = get(cf);
	assert_int_equal(value_of(s3), 5);
	conf_snapshot_unref(s3);

	/* an unparsable edit keeps the last good snapshot */
	conf_file_set_recheck_ms(cf, 0);
	put(f->path, "value=6!\n");
	s3 = get(cf);
	assert_int_equal(value_of(s3), 5);
	conf_snapshot_unref(s3);

	conf_snapshot_unref(s1);
	conf_snapshot_unref(s2);
	conf_snapshot_unref(s4);
	conf_file_unref(cf);
}

static void test_update_digest(void **state)
{
	struct fixture *f = *state;
	put(f->path, "value=1\n");
	struct conf_file *cf = conf_file_new(f->path, &toy_ops, NULL);
	conf_file_set_recheck_ms(cf, 600000); /* the cache never looks again */
	const struct conf_snapshot *s1 = get(cf);
	char d1[41];
	memcpy(d1, conf_snapshot_digest(s1), sizeof(d1));

	/* an outside edit within the interval: the update reads the file, so
	 * the client's digest (from the stale cache) is refused */
	put(f->path, "value=2\n");
	struct error *e = NULL;
	long v = 9;
	assert_int_equal(conf_file_update(cf, d1, set_value, &v, &e), -ESTALE);
	assert_int_equal(e->http_status, 400);
	assert_string_equal(e->msg, "detected modified configuration - file changed by other user? "
	                            "Try again.");
	error_free(TAKE_PTR(e));
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_file(f->path, 4096, &text, NULL, NULL), 0);
	assert_string_equal(text, "value=2\n"); /* nothing written */

	/* exact compare here: an uppercase digest is refused */
	char d2[41], upper[41];
	config_digest("value=2\n", 8, d2);
	for (size_t i = 0; i < sizeof(d2); i++)
		upper[i] = (char)toupper((unsigned char)d2[i]);
	assert_int_equal(conf_file_update(cf, upper, set_value, &v, &e), -ESTALE);
	error_free(TAKE_PTR(e));
	/* a failing callback writes nothing and returns its error */
	assert_int_equal(conf_file_update(cf, d2, refuse, NULL, &e), -EPERM);
	assert_int_equal(e->http_status, 403);
	error_free(TAKE_PTR(e));
	/* the right digest, NULL and "" pass */
	assert_int_equal(conf_file_update(cf, d2, set_value, &v, &e), 7);
	assert_int_equal(conf_file_update(cf, "", add_one, NULL, &e), 0);
	assert_int_equal(conf_file_update(cf, NULL, add_one, NULL, &e), 0);
	const struct conf_snapshot *s2 = get(cf);
	assert_int_equal(value_of(s2), 11);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	conf_snapshot_unref(s1);
	conf_snapshot_unref(s2);
	conf_file_unref(cf);

	/* CONF_DIGEST_ANY_CASE (storage.cfg) takes either case */
	cf = conf_file_new(f->path, &toy_ops_anycase, NULL);
	char d3[41];
	config_digest("value=11\n", 9, d3);
	for (size_t i = 0; i < sizeof(d3); i++)
		upper[i] = (char)toupper((unsigned char)d3[i]);
	assert_int_equal(conf_file_update(cf, upper, add_one, NULL, &e), 0);
	conf_file_unref(cf);
	assert_null(e);
}

/* --- threads --- */

#define READERS 4
#define WRITERS 3
#define ROUNDS  60

struct race {
	struct conf_file *cf;
	atomic_int stop;
	atomic_long reads;
};

static void *reader(void *arg)
{
	struct race *r = arg;
	while (!atomic_load(&r->stop)) {
		const struct conf_snapshot *snap = NULL;
		if (conf_file_get(r->cf, &snap, NULL) == 0) {
			/* whole and coherent: its digest is of its own bytes */
			const struct toy *t = conf_snapshot_data(snap);
			char d[41];
			config_digest(t->text, t->len, d);
			assert_string_equal(d, conf_snapshot_digest(snap));
			assert_true(t->value >= 0);
			conf_snapshot_unref(snap);
		}
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct race *r = arg;
	for (int i = 0; i < ROUNDS; i++)
		assert_int_equal(conf_file_update(r->cf, NULL, add_one, NULL, NULL), 0);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	put(f->path, "value=0\n");
	struct race r = {.cf = conf_file_new(f->path, &toy_ops, NULL)};
	conf_file_set_recheck_ms(r.cf, 1);
	pthread_t rt[READERS], wt[WRITERS];
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&rt[i], NULL, reader, &r), 0);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&wt[i], NULL, writer, &r), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	atomic_store(&r.stop, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	assert_true(atomic_load(&r.reads) > 0);
	/* every increment landed: no update was lost */
	conf_file_set_recheck_ms(r.cf, 0);
	const struct conf_snapshot *snap = get(r.cf);
	assert_int_equal(value_of(snap), WRITERS * ROUNDS);
	conf_snapshot_unref(snap);
	conf_file_unref(r.cf);
}

/* A forked worker reads the file itself (the parent's cache is stale on
 * purpose) and its write reaches the parent through the file. */
static void test_forked_child(void **state)
{
	struct fixture *f = *state;
	put(f->path, "value=1\n");
	struct conf_file *cf = conf_file_new(f->path, &toy_ops, NULL);
	conf_file_set_recheck_ms(cf, 600000);
	const struct conf_snapshot *s1 = get(cf);
	put(f->path, "value=2\n");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct conf_snapshot *c = NULL;
		int ok = conf_file_get(cf, &c, NULL) == 0 && value_of(c) == 2 && c != s1;
		conf_snapshot_unref(c);
		ok = ok && conf_file_update(cf, NULL, add_one, NULL, NULL) == 0;
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	conf_file_set_recheck_ms(cf, 0);
	const struct conf_snapshot *s2 = get(cf);
	assert_int_equal(value_of(s2), 3);
	conf_snapshot_unref(s1);
	conf_snapshot_unref(s2);
	conf_file_unref(cf);
}

/* --- families --- */

#define MEMBERS 3000

static void test_family_many(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = path_join(f->root, "qemu-server");
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < MEMBERS; i++) {
		char name[64], text[32];
		snprintf(name, sizeof(name), "%s/%d.conf", dir, 100 + i);
		snprintf(text, sizeof(text), "value=%d\n", 100 + i);
		put_fast(name, text);
	}
	/* not members: other suffixes, a lock file, hidden and bad names */
	_cleanup_free_ char *p1 = path_join(dir, "100.conf.lock");
	_cleanup_free_ char *p2 = path_join(dir, ".hidden.conf");
	_cleanup_free_ char *p3 = path_join(dir, "notes.txt");
	_cleanup_free_ char *p4 = path_join(dir, ".conf");
	put_fast(p1, "");
	put_fast(p2, "value=1\n");
	put_fast(p3, "value=1\n");
	put_fast(p4, "value=1\n");

	struct conf_family *fam = conf_family_new(dir, ".conf", &toy_ops_strict, NULL);
	long p0 = atomic_load(&parses);
	char **keys = NULL;
	size_t n = 0;
	assert_int_equal(conf_family_list(fam, &keys, &n, NULL), 0);
	assert_int_equal(n, MEMBERS);
	assert_int_equal(atomic_load(&parses), p0); /* listing reads no file */
	assert_string_equal(keys[0], "100");
	assert_string_equal(keys[n - 1], "999");
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(keys[i - 1], keys[i]) < 0);
	assert_null(keys[n]);

	/* every member once: one parse each */
	for (size_t i = 0; i < n; i++) {
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(fam, keys[i], &snap, NULL), 0);
		assert_int_equal(value_of(snap), atol(keys[i]));
		conf_snapshot_unref(snap);
	}
	assert_int_equal(atomic_load(&parses), p0 + MEMBERS);
	/* again: all cached (one stat each) */
	for (size_t i = 0; i < n; i++) {
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(fam, keys[i], &snap, NULL), 0);
		conf_snapshot_unref(snap);
	}
	assert_int_equal(atomic_load(&parses), p0 + MEMBERS);
	/* one changed file: one parse */
	_cleanup_free_ char *p500 = path_join(dir, "500.conf");
	put(p500, "value=5000\n");
	for (size_t i = 0; i < n; i++) {
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(fam, keys[i], &snap, NULL), 0);
		conf_snapshot_unref(snap);
	}
	assert_int_equal(atomic_load(&parses), p0 + MEMBERS + 1);
	const struct conf_snapshot *s500 = NULL;
	assert_int_equal(conf_family_get(fam, "500", &s500, NULL), 0);
	assert_int_equal(value_of(s500), 5000);
	conf_snapshot_unref(s500);

	/* an update of one member, with its digest */
	const struct conf_snapshot *s101 = NULL;
	assert_int_equal(conf_family_get(fam, "101", &s101, NULL), 0);
	long v = 42;
	assert_int_equal(
	    conf_family_update(fam, "101", conf_snapshot_digest(s101), set_value, &v, NULL), 7);
	struct error *e = NULL;
	assert_int_equal(
	    conf_family_update(fam, "101", conf_snapshot_digest(s101), set_value, &v, &e), -ESTALE);
	error_free(TAKE_PTR(e));
	conf_snapshot_unref(s101);
	assert_int_equal(conf_family_get(fam, "101", &s101, NULL), 0);
	assert_int_equal(value_of(s101), 42);
	conf_snapshot_unref(s101);

	/* keys are file names: nothing else gets near the file system */
	static const char *const bad[] = {
	    "",
	    "../x",
	    "a/b",
	    ".hidden",
	    "-1",
	    "a b",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(fam, bad[i], &snap, &e), -EINVAL);
		assert_int_equal(e->http_status, 400);
		error_free(TAKE_PTR(e));
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	conf_family_free(fam);
}

static void test_family_remove_and_create(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = path_join(f->root, "lxc");
	struct conf_family *fam = conf_family_new(dir, ".conf", &toy_ops_strict, NULL);
	char **keys = NULL;
	size_t n = 1;
	/* no directory yet: no members */
	assert_int_equal(conf_family_list(fam, &keys, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(keys[0]);
	free(keys);
	assert_int_equal(mkdir(dir, 0755), 0);

	/* a missing member is -ENOENT, for get and update alike */
	const struct conf_snapshot *snap = NULL;
	struct error *e = NULL;
	assert_int_equal(conf_family_get(fam, "200", &snap, &e), -ENOENT);
	error_free(TAKE_PTR(e));
	assert_int_equal(conf_family_update(fam, "200", NULL, add_one, NULL, &e), -ENOENT);
	error_free(TAKE_PTR(e));

	/* create: lock, load says it is not there, write */
	struct conf_file *cf = NULL;
	assert_int_equal(conf_family_file(fam, "200", &cf, NULL), 0);
	int fd = conf_file_lock(cf, NULL);
	assert_true(fd >= 0);
	void *obj = NULL;
	char digest[41];
	assert_int_equal(conf_file_load(cf, &obj, digest, &e), -ENOENT);
	error_free(TAKE_PTR(e));
	struct toy t = {.value = 200};
	assert_int_equal(conf_file_write(cf, NULL, &t, NULL), 0);
	unlock_file(fd);
	conf_file_unref(cf);
	_cleanup_free_ char *p200 = path_join(dir, "200.conf");
	struct stat st;
	assert_int_equal(stat(p200, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(conf_family_get(fam, "200", &snap, NULL), 0);
	assert_int_equal(value_of(snap), 200);

	/* removed from outside: gone at the next get; a reader keeps its copy */
	assert_int_equal(unlink(p200), 0);
	const struct conf_snapshot *after = NULL;
	assert_int_equal(conf_family_get(fam, "200", &after, &e), -ENOENT);
	error_free(TAKE_PTR(e));
	assert_int_equal(value_of(snap), 200);
	conf_snapshot_unref(snap);

	/* back again, then removed through the store under its lock */
	put(p200, "value=201\n");
	assert_int_equal(conf_family_get(fam, "200", &snap, NULL), 0);
	assert_int_equal(value_of(snap), 201);
	assert_int_equal(conf_family_file(fam, "200", &cf, NULL), 0);
	fd = conf_file_lock(cf, NULL);
	assert_true(fd >= 0);
	assert_int_equal(conf_family_remove(fam, "200", NULL), 0);
	assert_int_equal(conf_family_remove(fam, "200", &e), -ENOENT);
	error_free(TAKE_PTR(e));
	unlock_file(fd);
	conf_file_unref(cf);
	assert_int_equal(conf_family_get(fam, "200", &after, &e), -ENOENT);
	error_free(TAKE_PTR(e));
	assert_int_equal(value_of(snap), 201);
	conf_snapshot_unref(snap);
	assert_int_equal(conf_family_list(fam, &keys, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(keys);

	/* asking for many keys that do not exist costs nothing lasting */
	for (int i = 0; i < 2000; i++) {
		char key[16];
		snprintf(key, sizeof(key), "%d", 1000 + i);
		assert_int_equal(conf_family_get(fam, key, &snap, &e), -ENOENT);
		error_free(TAKE_PTR(e));
	}
	conf_family_free(fam);
}

/* Family members under concurrent readers and writers. */
struct family_race {
	struct conf_family *fam;
	int id;
};

static void *family_worker(void *arg)
{
	struct family_race *r = arg;
	char key[16];
	for (int i = 0; i < ROUNDS; i++) {
		snprintf(key, sizeof(key), "%d", 100 + (i + r->id) % 4);
		if (r->id % 2)
			assert_int_equal(conf_family_update(r->fam, key, NULL, add_one, NULL, NULL),
			                 0);
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(r->fam, key, &snap, NULL), 0);
		assert_true(value_of(snap) >= 0);
		conf_snapshot_unref(snap);
	}
	return NULL;
}

static void test_family_concurrent(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = path_join(f->root, "fam");
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s/%d.conf", dir, 100 + i);
		put_fast(name, "value=0\n");
	}
	struct conf_family *fam = conf_family_new(dir, ".conf", &toy_ops_strict, NULL);
	conf_family_set_recheck_ms(fam, 1);
	struct family_race r[6];
	pthread_t t[6];
	for (int i = 0; i < 6; i++) {
		r[i] = (struct family_race){fam, i};
		assert_int_equal(pthread_create(&t[i], NULL, family_worker, &r[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	conf_family_set_recheck_ms(fam, 0);
	long total = 0;
	for (int i = 0; i < 4; i++) {
		char key[16];
		snprintf(key, sizeof(key), "%d", 100 + i);
		const struct conf_snapshot *snap = NULL;
		assert_int_equal(conf_family_get(fam, key, &snap, NULL), 0);
		total += value_of(snap);
		conf_snapshot_unref(snap);
	}
	assert_int_equal(total, 3 * ROUNDS); /* three writers, nothing lost */
	conf_family_free(fam);
}

/* Sets dir's mtime to t seconds after the epoch plus ns. */
static void set_mtime(const char *dir, time_t t, long ns)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = t, .tv_nsec = ns}};
	assert_int_equal(utimensat(AT_FDCWD, dir, ts, 0), 0);
}

static size_t list_n(struct conf_family *fam)
{
	char **keys = NULL;
	size_t n = 0;
	assert_int_equal(conf_family_list(fam, &keys, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return n;
}

/* A listing is reused while the directory's mtime stays what it was, but
 * only when the directory had been still for over a second when it was
 * read: a change within the same clock tick as the listing (same mtime)
 * is never missed. */
static void test_family_list_reuse(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = path_join(f->root, "lxc");
	assert_int_equal(mkdir(dir, 0755), 0);
	_cleanup_free_ char *p1 = path_join(dir, "101.conf");
	_cleanup_free_ char *p2 = path_join(dir, "102.conf");
	_cleanup_free_ char *p3 = path_join(dir, "103.conf");
	put_fast(p1, "value=1\n");
	struct conf_family *fam = conf_family_new(dir, ".conf", &toy_ops_strict, NULL);
	time_t old = time(NULL) - 5;
	set_mtime(dir, old, 123);
	assert_int_equal(list_n(fam), 1);

	/* reused: a file added behind a forged, unchanged mtime is not seen */
	put_fast(p2, "value=2\n");
	set_mtime(dir, old, 123);
	assert_int_equal(list_n(fam), 1);
	/* any other mtime reads the directory again */
	set_mtime(dir, old, 124);
	assert_int_equal(list_n(fam), 2);

	/* a directory that changed just now: its listing is not trusted,
	 * even when the next change keeps the same mtime */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	set_mtime(dir, now.tv_sec, now.tv_nsec);
	assert_int_equal(list_n(fam), 2);
	put_fast(p3, "value=3\n");
	set_mtime(dir, now.tv_sec, now.tv_nsec);
	assert_int_equal(list_n(fam), 3);

	/* a directory that went away is an empty list */
	unlink(p1);
	unlink(p2);
	unlink(p3);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(list_n(fam), 0);
	conf_family_free(fam);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_digest_and_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lifetime, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_change_detection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_digest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forked_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_family_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_family_list_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_family_remove_and_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_family_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
