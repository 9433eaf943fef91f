/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * config-store: shared parsed snapshots of config files, their locked
 * updates, and keyed families of them (config-store.h has the contract).
 */
#include "common.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "section-config.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

static const char modified_msg[] =
    "detected modified configuration - file changed by other user? Try again.";

struct conf_snapshot {
	atomic_int refs;
	void *obj;
	void (*free)(void *obj);
	char digest[41];
	/* Where it came from; only the store reads these, under its file's
	 * mutex, and only while the snapshot is that file's current one. */
	struct file_stamp stamp;
	bool racy; /* compare by content at the next recheck */
};

struct conf_file {
	atomic_int refs;
	char *path;
	const struct conf_ops *ops;
	void *ctx;
	unsigned long owner; /* conf_process_id() of the process sharing it */

	pthread_mutex_t lock; /* guards everything below */
	struct conf_snapshot *current;
	unsigned recheck_ms;
	struct timespec last_check; /* CLOCK_MONOTONIC */
	bool check_now;             /* look at the file at the next get */

	/* family membership, guarded by the family's lock */
	struct conf_family *family; /* NULL when not (or no longer) in a table */
	char *key;
	struct conf_file *next; /* in the bucket */
};

/* --- snapshots --- */

static struct conf_snapshot *snapshot_new(const struct conf_ops *ops, void *obj,
                                          const char digest[41])
{
	struct conf_snapshot *snap = xnew(struct conf_snapshot, 1);
	atomic_init(&snap->refs, 1);
	snap->obj = obj;
	snap->free = ops->free;
	memcpy(snap->digest, digest, sizeof(snap->digest));
	return snap;
}

const struct conf_snapshot *conf_snapshot_new(const struct conf_ops *ops, void *obj,
                                              const char *digest)
{
	char d[41] = "";
	if (digest)
		snprintf(d, sizeof(d), "%s", digest);
	return snapshot_new(ops, obj, d);
}

const void *conf_snapshot_data(const struct conf_snapshot *snap)
{
	return snap->obj;
}

const char *conf_snapshot_digest(const struct conf_snapshot *snap)
{
	return snap->digest;
}

const struct conf_snapshot *conf_snapshot_ref(const struct conf_snapshot *csnap)
{
	struct conf_snapshot *snap = (struct conf_snapshot *)csnap;
	if (snap)
		atomic_fetch_add(&snap->refs, 1);
	return snap;
}

void conf_snapshot_unref(const struct conf_snapshot *csnap)
{
	struct conf_snapshot *snap = (struct conf_snapshot *)csnap;
	if (snap && atomic_fetch_sub(&snap->refs, 1) == 1) {
		snap->free(snap->obj);
		free(snap);
	}
}

/* --- one file --- */

/* Bumped in every child of fork(): one atomic load tells a forked worker
 * from its parent, where asking for the pid would be a system call per get. */
static atomic_ulong process_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
	atomic_fetch_add(&process_generation, 1);
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

unsigned long conf_process_id(void)
{
	pthread_once(&atfork_once, atfork_register);
	return atomic_load(&process_generation);
}

static bool in_forked_child(unsigned long owner)
{
	return atomic_load(&process_generation) != owner;
}

struct conf_file *conf_file_new(const char *path, const struct conf_ops *ops, void *ctx)
{
	struct conf_file *f = xnew(struct conf_file, 1);
	atomic_init(&f->refs, 1);
	f->path = xstrdup(path);
	f->ops = ops;
	f->ctx = ctx;
	f->owner = conf_process_id();
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

struct conf_file *conf_file_unref(struct conf_file *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
		conf_snapshot_unref(f->current);
		pthread_mutex_destroy(&f->lock);
		free(f->path);
		free(f->key);
		free(f);
	}
	return NULL;
}

static void conf_file_unrefp(struct conf_file **f)
{
	conf_file_unref(*f);
}

const char *conf_file_path(const struct conf_file *f)
{
	return f->path;
}

void conf_file_set_recheck_ms(struct conf_file *f, unsigned ms)
{
	pthread_mutex_lock(&f->lock);
	f->recheck_ms = ms;
	pthread_mutex_unlock(&f->lock);
}

void conf_file_check_soon(struct conf_file *f)
{
	pthread_mutex_lock(&f->lock);
	f->check_now = true;
	pthread_mutex_unlock(&f->lock);
}

/* The file's bytes; a missing file is empty with CONF_MISSING_EMPTY. */
static int read_bytes(const struct conf_file *f, char **ret, size_t *ret_len, struct error **err)
{
	struct error *e = NULL;
	int r = read_file(f->path, f->ops->max_size, ret, ret_len, &e);
	if (r == -ENOENT && (f->ops->flags & CONF_MISSING_EMPTY)) {
		error_free(e);
		*ret = xstrdup("");
		*ret_len = 0;
		return 0;
	}
	if (r < 0) {
		if (err && !*err)
			*err = e;
		else
			error_free(e);
	}
	return r;
}

/* Bytes, identity and parse, for a snapshot nobody else sees yet.  The stamp
 * is taken before the read, so a change racing with it is seen next time. */
static int load_snapshot(const struct conf_file *f, struct conf_snapshot **ret, struct error **err)
{
	struct file_stamp st;
	file_stamp_get(f->path, &st);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_bytes(f, &data, &len, err);
	if (r < 0)
		return r;
	void *obj = NULL;
	r = f->ops->parse(data, len, f->ctx, &obj, err);
	if (r < 0)
		return r;
	char digest[41];
	config_digest(data, len, digest);
	struct conf_snapshot *snap = snapshot_new(f->ops, obj, digest);
	snap->stamp = st;
	snap->racy = file_stamp_racy(&st);
	*ret = snap;
	return 0;
}

static void set_current_locked(struct conf_file *f, struct conf_snapshot *snap)
{
	conf_snapshot_unref(f->current);
	f->current = snap;
}

/* Under f->lock: whether it is time to look at the file again. */
static bool recheck_due(struct conf_file *f)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(now.tv_sec - f->last_check.tv_sec) * 1000 +
	               (now.tv_nsec - f->last_check.tv_nsec) / 1000000;
	if (!f->check_now && f->recheck_ms && ms < (long long)f->recheck_ms)
		return false;
	f->check_now = false;
	f->last_check = now;
	return true;
}

/* Under f->lock: makes f->current match the file.  Keeps the current
 * snapshot when the bytes are the same, and when the file cannot be read or
 * parsed any more (its error is returned only when there is no snapshot);
 * a missing file (without CONF_MISSING_EMPTY) drops it. */
static int refresh_locked(struct conf_file *f, struct error **err)
{
	struct conf_snapshot *cur = f->current;
	struct file_stamp now;
	file_stamp_get(f->path, &now);
	if (cur && file_stamp_equal(&now, &cur->stamp) && !cur->racy)
		return 0;

	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct error *e = NULL;
	int r = read_bytes(f, &data, &len, &e);
	char digest[41];
	if (r == 0) {
		config_digest(data, len, digest);
		if (cur && streq(digest, cur->digest)) {
			cur->stamp = now;
			cur->racy = file_stamp_racy(&now);
			return 0;
		}
	}
	void *obj = NULL;
	if (r == 0)
		r = f->ops->parse(data, len, f->ctx, &obj, &e);
	if (r < 0) {
		if (r == -ENOENT && !(f->ops->flags & CONF_MISSING_EMPTY))
			set_current_locked(f, NULL); /* removed: gone, not stale */
		else if (cur) {
			log_debug("keeping the loaded %s: %s", f->path, e ? e->msg : "error");
			error_free(e);
			return 0;
		}
		if (err && !*err)
			*err = e;
		else
			error_free(e);
		return r;
	}
	struct conf_snapshot *snap = snapshot_new(f->ops, obj, digest);
	snap->stamp = now;
	snap->racy = file_stamp_racy(&now);
	set_current_locked(f, snap);
	return 0;
}

int conf_file_get(struct conf_file *f, const struct conf_snapshot **ret, struct error **err)
{
	if (in_forked_child(f->owner)) {
		struct conf_snapshot *snap = NULL;
		int r = load_snapshot(f, &snap, err);
		if (r == 0)
			*ret = snap;
		return r;
	}
	pthread_mutex_lock(&f->lock);
	int r = 0;
	if (!f->current) {
		r = refresh_locked(f, err);
		clock_gettime(CLOCK_MONOTONIC, &f->last_check);
	} else if (recheck_due(f)) {
		r = refresh_locked(f, err);
	}
	if (r == 0)
		*ret = conf_snapshot_ref(f->current);
	pthread_mutex_unlock(&f->lock);
	return r;
}

int conf_file_lock(struct conf_file *f, struct error **err)
{
	return lock_file(f->path, CONF_LOCK_TIMEOUT_MS, err);
}

int conf_file_load(struct conf_file *f, void **ret_obj, char ret_digest[41], struct error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_bytes(f, &data, &len, err);
	if (r < 0)
		return r;
	r = f->ops->parse(data, len, f->ctx, ret_obj, err);
	if (r < 0)
		return r;
	config_digest(data, len, ret_digest);
	return 0;
}

int conf_check_digest(const struct conf_file *f, const char *client_digest, const char *digest,
                      struct error **err)
{
	if (!client_digest || !*client_digest)
		return 0;
	bool same = (f->ops->flags & CONF_DIGEST_ANY_CASE) ? strcasecmp(client_digest, digest) == 0
	                                                   : streq(client_digest, digest);
	if (!same)
		return error_set(err, -ESTALE, 400, "%s", modified_msg);
	return 0;
}

/* After a write under the lock: the written bytes become the snapshot now. */
static void publish(struct conf_file *f, const struct strbuf *text, const char digest[41])
{
	struct file_stamp st;
	file_stamp_get(f->path, &st);
	void *obj = NULL;
	struct error *e = NULL;
	struct conf_snapshot *snap = NULL;
	if (f->ops->parse(text->buf, text->len, f->ctx, &obj, &e) == 0) {
		snap = snapshot_new(f->ops, obj, digest);
		snap->stamp = st;
		/* the stamp was taken after the rename: an outside write in
		 * between must still be caught, by content */
		snap->racy = true;
	} else {
		log_debug("keeping the loaded %s: %s", f->path, e ? e->msg : "error");
		error_free(e);
	}
	pthread_mutex_lock(&f->lock);
	if (snap)
		set_current_locked(f, snap);
	else
		f->check_now = true;
	pthread_mutex_unlock(&f->lock);
}

int conf_file_write(struct conf_file *f, const char *old_digest, const void *obj,
                    struct error **err)
{
	_cleanup_strbuf_ struct strbuf text = STRBUF_INIT;
	int r = f->ops->write(obj, &text, err);
	if (r < 0)
		return r;
	char digest[41];
	config_digest(text.buf, text.len, digest);
	bool forked = in_forked_child(f->owner);
	if (old_digest && streq(digest, old_digest)) {
		/* nothing to write; the caller just read the file, so let the
		 * next get look at it whatever the recheck interval says */
		if (!forked) {
			pthread_mutex_lock(&f->lock);
			f->check_now = true;
			pthread_mutex_unlock(&f->lock);
		}
		return 0;
	}
	r = write_file_atomic(f->path, text.buf, text.len, f->ops->mode, err);
	if (r < 0)
		return r;
	if (!forked)
		publish(f, &text, digest);
	return 0;
}

int conf_file_update(struct conf_file *f, const char *client_digest, conf_update_fn fn, void *arg,
                     struct error **err)
{
	int fd = conf_file_lock(f, err);
	if (fd < 0)
		return fd;
	void *obj = NULL;
	char digest[41];
	int r = conf_file_load(f, &obj, digest, err);
	if (r == 0)
		r = conf_check_digest(f, client_digest, digest, err);
	if (r == 0)
		r = fn(obj, arg, err);
	if (r >= 0) {
		int result = r;
		r = conf_file_write(f, digest, obj, err);
		if (r == 0)
			r = result;
	}
	if (obj)
		f->ops->free(obj);
	unlock_file(fd);
	return r;
}

/* --- keyed families --- */

struct conf_family {
	char *dir;
	char *suffix;
	const struct conf_ops *ops;
	void *ctx;
	unsigned long owner; /* conf_process_id() */

	pthread_mutex_t lock; /* guards the table and recheck_ms */
	struct conf_file **buckets;
	size_t n_buckets; /* a power of two */
	size_t n_entries;
	unsigned recheck_ms;

	/* The last listing (conf_family_list()) and the directory's mtime
	 * before it was read; trusted only when that mtime was at least
	 * LIST_TRUST_NS older than the read (under lock). */
	char **list;
	size_t n_list;
	struct timespec list_mtime;
	bool list_trusted;
};

/* A directory's mtime comes from the kernel's coarse clock, a tick behind
 * the real time at worst: a change made after a listing can carry the
 * same mtime only if the listing saw the directory change within a tick.
 * A listing is reused only when its directory had been still for longer
 * than this, so any later change shows as a new mtime (git's "racily
 * clean" rule). */
#define LIST_TRUST_NS 1000000000ll

/* FNV-1a */
static size_t key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)h;
}

static bool key_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool conf_family_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > CONF_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char(key[i], i == 0))
			return false;
	return true;
}

static int check_key(const char *key, struct error **err)
{
	if (!conf_family_key_valid(key))
		return error_set(err, -EINVAL, 400, "invalid configuration key '%.*s'",
		                 CONF_KEY_MAX, key);
	return 0;
}

static char *member_path(const struct conf_family *fam, const char *key)
{
	_cleanup_free_ char *name = xasprintf("%s%s", key, fam->suffix);
	return path_join(fam->dir, name);
}

struct conf_family *conf_family_new(const char *dir, const char *suffix, const struct conf_ops *ops,
                                    void *ctx)
{
	struct conf_family *fam = xnew(struct conf_family, 1);
	fam->dir = xstrdup(dir);
	fam->suffix = xstrdup(suffix);
	fam->ops = ops;
	fam->ctx = ctx;
	fam->owner = conf_process_id();
	pthread_mutex_init(&fam->lock, NULL);
	fam->n_buckets = 64;
	fam->buckets = xnew(struct conf_file *, fam->n_buckets);
	return fam;
}

struct conf_family *conf_family_free(struct conf_family *fam)
{
	if (!fam)
		return NULL;
	for (size_t i = 0; i < fam->n_buckets; i++) {
		struct conf_file *f = fam->buckets[i];
		while (f) {
			struct conf_file *next = f->next;
			f->family = NULL; /* a writer may still hold it */
			f->next = NULL;
			conf_file_unref(f);
			f = next;
		}
	}
	free(fam->buckets);
	strv_free(fam->list);
	pthread_mutex_destroy(&fam->lock);
	free(fam->dir);
	free(fam->suffix);
	free(fam);
	return NULL;
}

void conf_family_set_recheck_ms(struct conf_family *fam, unsigned ms)
{
	pthread_mutex_lock(&fam->lock);
	fam->recheck_ms = ms;
	for (size_t i = 0; i < fam->n_buckets; i++)
		for (struct conf_file *f = fam->buckets[i]; f; f = f->next)
			conf_file_set_recheck_ms(f, ms);
	pthread_mutex_unlock(&fam->lock);
}

/* Under fam->lock. */
static void table_grow(struct conf_family *fam)
{
	size_t n = fam->n_buckets * 2;
	struct conf_file **b = xnew(struct conf_file *, n);
	for (size_t i = 0; i < fam->n_buckets; i++) {
		struct conf_file *f = fam->buckets[i];
		while (f) {
			struct conf_file *next = f->next;
			size_t h = key_hash(f->key) & (n - 1);
			f->next = b[h];
			b[h] = f;
			f = next;
		}
	}
	free(fam->buckets);
	fam->buckets = b;
	fam->n_buckets = n;
}

/* The member's entry with a reference for the caller, created on demand. */
static struct conf_file *member(struct conf_family *fam, const char *key)
{
	if (in_forked_child(fam->owner)) {
		/* private to this call: the table's lock may be held forever */
		_cleanup_free_ char *path = member_path(fam, key);
		return conf_file_new(path, fam->ops, fam->ctx);
	}
	pthread_mutex_lock(&fam->lock);
	size_t h = key_hash(key) & (fam->n_buckets - 1);
	struct conf_file *f = fam->buckets[h];
	while (f && !streq(f->key, key))
		f = f->next;
	if (!f) {
		if (fam->n_entries >= fam->n_buckets) {
			table_grow(fam);
			h = key_hash(key) & (fam->n_buckets - 1);
		}
		_cleanup_free_ char *path = member_path(fam, key);
		f = conf_file_new(path, fam->ops, fam->ctx); /* the table's reference */
		f->recheck_ms = fam->recheck_ms;
		f->key = xstrdup(key);
		f->family = fam;
		f->next = fam->buckets[h];
		fam->buckets[h] = f;
		fam->n_entries++;
	}
	atomic_fetch_add(&f->refs, 1);
	pthread_mutex_unlock(&fam->lock);
	return f;
}

/* Takes f out of the table, unless it has a snapshot again (a writer created
 * the file meanwhile). */
static void forget(struct conf_family *fam, struct conf_file *f)
{
	if (in_forked_child(fam->owner))
		return;
	bool drop = false;
	pthread_mutex_lock(&fam->lock);
	pthread_mutex_lock(&f->lock);
	if (f->family == fam && !f->current) {
		size_t h = key_hash(f->key) & (fam->n_buckets - 1);
		struct conf_file **p = &fam->buckets[h];
		while (*p != f)
			p = &(*p)->next;
		*p = f->next;
		f->next = NULL;
		f->family = NULL;
		fam->n_entries--;
		drop = true;
	}
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&fam->lock);
	if (drop)
		conf_file_unref(f); /* the table's reference */
}

int conf_family_file(struct conf_family *fam, const char *key, struct conf_file **ret,
                     struct error **err)
{
	int r = check_key(key, err);
	if (r < 0)
		return r;
	*ret = member(fam, key);
	return 0;
}

int conf_family_get(struct conf_family *fam, const char *key, const struct conf_snapshot **ret,
                    struct error **err)
{
	int r = check_key(key, err);
	if (r < 0)
		return r;
	_cleanup_(conf_file_unrefp) struct conf_file *f = member(fam, key);
	r = conf_file_get(f, ret, err);
	if (r == -ENOENT)
		forget(fam, f);
	return r;
}

int conf_family_update(struct conf_family *fam, const char *key, const char *client_digest,
                       conf_update_fn fn, void *arg, struct error **err)
{
	int r = check_key(key, err);
	if (r < 0)
		return r;
	_cleanup_(conf_file_unrefp) struct conf_file *f = member(fam, key);
	r = conf_file_update(f, client_digest, fn, arg, err);
	if (r == -ENOENT)
		forget(fam, f);
	return r;
}

int conf_family_remove(struct conf_family *fam, const char *key, struct error **err)
{
	int r = check_key(key, err);
	if (r < 0)
		return r;
	_cleanup_(conf_file_unrefp) struct conf_file *f = member(fam, key);
	if (unlink(f->path) < 0)
		r = error_set(err, -errno, 500, "unable to delete '%s' - %s", f->path,
		              strerror(errno));
	if (!in_forked_child(fam->owner)) {
		pthread_mutex_lock(&f->lock);
		set_current_locked(f, NULL);
		pthread_mutex_unlock(&f->lock);
	}
	forget(fam, f);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **keys_dup(char *const *keys, size_t n)
{
	char **c = xnew(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(keys[i]);
	c[n] = NULL;
	return c;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000ll + t->tv_nsec;
}

int conf_family_list(struct conf_family *fam, char ***ret_keys, size_t *ret_n, struct error **err)
{
	/* an unchanged directory is not read again: one stat() instead of an
	 * open, two getdents and a close (GET /cluster/resources lists both
	 * guest directories on every request) */
	struct stat st;
	struct timespec scan;
	clock_gettime(CLOCK_REALTIME, &scan);
	bool have_st = stat(fam->dir, &st) == 0;
	if (!have_st && errno == ENOENT) {
		*ret_keys = xnew(char *, 1);
		if (ret_n)
			*ret_n = 0;
		return 0;
	}
	if (have_st) {
		pthread_mutex_lock(&fam->lock);
		if (fam->list && fam->list_trusted && st.st_mtim.tv_sec == fam->list_mtime.tv_sec &&
		    st.st_mtim.tv_nsec == fam->list_mtime.tv_nsec) {
			*ret_keys = keys_dup(fam->list, fam->n_list);
			if (ret_n)
				*ret_n = fam->n_list;
			pthread_mutex_unlock(&fam->lock);
			return 0;
		}
		pthread_mutex_unlock(&fam->lock);
	}
	DIR *d = opendir(fam->dir);
	if (!d && errno != ENOENT)
		return error_set(err, -errno, 500, "unable to open directory '%s' - %s", fam->dir,
		                 strerror(errno));
	size_t n = 0, alloc = 16, slen = strlen(fam->suffix);
	char **keys = xnew(char *, alloc);
	int r = 0;
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len <= slen || !streq(de->d_name + len - slen, fam->suffix))
			continue;
		_cleanup_free_ char *key = xstrndup(de->d_name, len - slen);
		if (!conf_family_key_valid(key))
			continue;
		if (n >= CONF_FAMILY_MAX_KEYS) {
			r = error_set(err, -E2BIG, 500, "too many files in '%s'", fam->dir);
			break;
		}
		if (n + 1 >= alloc) {
			alloc *= 2;
			keys = xrealloc(keys, alloc * sizeof(*keys));
		}
		keys[n++] = TAKE_PTR(key);
	}
	if (d)
		closedir(d);
	keys[n] = NULL;
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
		return r;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	pthread_mutex_lock(&fam->lock);
	strv_free(fam->list);
	fam->list = NULL;
	fam->n_list = 0;
	if (have_st) {
		fam->list = keys_dup(keys, n);
		fam->n_list = n;
		fam->list_mtime = st.st_mtim;
		fam->list_trusted = ts_ns(&scan) - ts_ns(&st.st_mtim) > LIST_TRUST_NS;
	}
	pthread_mutex_unlock(&fam->lock);
	*ret_keys = keys;
	if (ret_n)
		*ret_n = n;
	return 0;
}
