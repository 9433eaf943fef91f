/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * config-store: the one cache of parsed config files (docs/dev/ARCHITECTURE.md,
 * "Config files: one store").
 *
 * A `struct conf_file` stands for one file on disk (user.cfg, storage.cfg,
 * qemu-server/100.conf).  Its owner describes the format once in a
 * `struct conf_ops` (parse, write, free, size bound, mode) and the store does
 * the rest the same way for every file:
 *
 *  - Readers share one parsed, immutable, refcounted `struct conf_snapshot`
 *    per file.  A get looks at the file's identity (file_stamp: device,
 *    inode, size, mtime; one stat()) and reads and parses it again only when
 *    that changed.  A file modified within the last two seconds is "racy"
 *    (a same-size edit in the same mtime tick keeps the identity), so it is
 *    read again and compared by content at each recheck until it settles,
 *    as git does with its index (file_stamp_racy()).  A snapshot stays valid
 *    for as long as somebody holds a reference, however many newer versions
 *    were published since.
 *  - Each snapshot carries the file's digest: SHA-1 hex (lowercase) of the
 *    exact bytes it was parsed from, Proxmox's `digest`, which clients send
 *    back to refuse lost updates.
 *  - Writers lock the file (fileio.h's lock_file() on "<path>.lock"), load
 *    it fresh from disk (never from the cache, so an outside edit made within
 *    the recheck interval is not lost), check the client's digest, change a
 *    private copy, and write it back atomically; the store then publishes the
 *    written bytes as the new snapshot at once, whatever the recheck
 *    interval says.
 *  - A keyed family (`struct conf_family`) is a directory of `<key><suffix>`
 *    files, one per guest (qemu-server/<vmid>.conf): entries are created on
 *    demand and looked up by key in a hash table, so a get costs what it
 *    costs for one file however many files there are; listing reads the
 *    directory only, never the files.
 *
 * Errors: the file's own (read_file(), the parse callback, write_file_atomic(),
 * lock_file()) unchanged, so a caller's messages stay what they were.  A file
 * that exists but cannot be read or parsed any more keeps the previous
 * snapshot (a half-finished outside edit must not take the service down); a
 * file that is gone is gone (see CONF_MISSING_EMPTY).
 *
 * Threads: every function may be called from any thread.  Forked children: a
 * task worker forked from the multithreaded daemon must not take a mutex
 * another thread may have held at fork time, so in a process other than the
 * one that created the store every get reads the file itself and caches
 * nothing, and writes publish nothing (the parent sees them by their stamp).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct error;
struct strbuf;

#define CONF_LOCK_TIMEOUT_MS 10000
/* conf_family_list() refuses directories with more entries (500). */
#define CONF_FAMILY_MAX_KEYS (1u << 20)
/* Longest key of a family (a vmid has at most 9 digits). */
#define CONF_KEY_MAX 64

enum conf_flags {
	/* A missing file reads as zero bytes (user.cfg, storage.cfg: the
	 * defaults).  Without it a missing file is -ENOENT with read_file()'s
	 * error, and the cached snapshot is dropped (a removed guest). */
	CONF_MISSING_EMPTY = 1 << 0,
	/* conf_check_digest() ignores case.  storage.cfg has always accepted an
	 * uppercase digest; the access files compare exactly, like PVE. */
	CONF_DIGEST_ANY_CASE = 1 << 1,
};

/* The format of one kind of file, defined once by its owner (static). */
struct conf_ops {
	size_t max_size; /* bytes; a larger file is an error (-EFBIG, 500) */
	mode_t mode;     /* of the written file (0640; 0600 for secrets) */
	unsigned flags;  /* enum conf_flags */
	/* Parses data (len bytes, NUL-terminated at data[len]) into a new
	 * object; ctx is the one given to conf_file_new()/conf_family_new().
	 * 0, or a negative errno with *err set. */
	int (*parse)(const char *data, size_t len, void *ctx, void **ret, struct error **err);
	/* Appends the file text of obj to out; 0 or a negative errno.  Needed
	 * only by conf_file_write() and the updates. */
	int (*write)(const void *obj, struct strbuf *out, struct error **err);
	void (*free)(void *obj);
};

/* Names this process for the forked-child rule above: it changes in every
 * child of fork() (a pthread_atfork() handler; ctvm forks only with fork()).
 * Costs an atomic load.  For stores built on this one that keep a mutex of
 * their own (access). */
unsigned long conf_process_id(void);

/* --- snapshots --- */

struct conf_snapshot;

/* The parsed object (owned by the snapshot: never modify it, never free it). */
const void *conf_snapshot_data(const struct conf_snapshot *snap);
/* SHA-1 hex of the bytes it was parsed from (40 lowercase characters). */
const char *conf_snapshot_digest(const struct conf_snapshot *snap);
/* Another reference (for a struct that keeps the snapshot); returns snap. */
const struct conf_snapshot *conf_snapshot_ref(const struct conf_snapshot *snap);
/* A snapshot that no file backs: obj (built in memory, by a test or a tool
 * that has its config at hand) with ops->free to free it, and digest (40
 * hex characters, or NULL: empty).  It takes obj and gives one reference. */
const struct conf_snapshot *conf_snapshot_new(const struct conf_ops *ops, void *obj,
                                              const char *digest);
/* Drops a reference; the last one frees it.  NULL is fine. */
void conf_snapshot_unref(const struct conf_snapshot *snap);
static inline void conf_snapshot_unrefp(const struct conf_snapshot **snap)
{
	conf_snapshot_unref(*snap);
}
#define _cleanup_conf_snapshot_ __attribute__((cleanup(conf_snapshot_unrefp)))

/* --- one file --- */

struct conf_file;

/* A store for the file at path (which need not exist).  No I/O; ops must
 * outlive it, ctx is passed to ops->parse. */
struct conf_file *conf_file_new(const char *path, const struct conf_ops *ops, void *ctx);
/* Drops a reference (conf_file_new() and conf_family_file() give one); the
 * last frees the store.  Snapshots handed out stay valid.  Returns NULL. */
struct conf_file *conf_file_unref(struct conf_file *f);
const char *conf_file_path(const struct conf_file *f);

/* Look for outside edits at most every ms milliseconds (0, the default: at
 * every get, one stat()).  Writes through the store are seen at once. */
void conf_file_set_recheck_ms(struct conf_file *f, unsigned ms);
/* Look at the file at the next get whatever the recheck interval: another
 * process is known to have written it. */
void conf_file_check_soon(struct conf_file *f);

/*
 * The current snapshot with a reference taken; drop it with
 * conf_snapshot_unref().  Cost: when the recheck interval has not passed, a
 * mutex and a clock read; else one stat(); plus, when the identity changed
 * or the file is racy, a read (and a parse if the bytes differ).  A file
 * that cannot be read or parsed keeps the previous snapshot; without one its
 * error is returned.  Missing: see CONF_MISSING_EMPTY.
 */
int conf_file_get(struct conf_file *f, const struct conf_snapshot **ret, struct error **err);

/*
 * Writers.  The lock is the file's lock_file(), so other processes (ctvm,
 * a forked worker) exclude each other too.  Several files may share one lock
 * (access: user.cfg's guards all four): conf_file_load() and conf_file_write()
 * only require that the caller holds whatever lock guards the file.
 */

/* lock_file() on the file, waiting at most CONF_LOCK_TIMEOUT_MS.  Returns
 * the lock fd; release it with unlock_file(). */
int conf_file_lock(struct conf_file *f, struct error **err);

/* Under the lock: the file as it is on disk now, parsed into a private object
 * the caller owns (modify it, free it with ops->free), and its digest.  Costs
 * a read and a parse; does not touch the cache. */
int conf_file_load(struct conf_file *f, void **ret_obj, char ret_digest[41], struct error **err);

/* 0 when client_digest is NULL or "" or equals digest (case-insensitively
 * with CONF_DIGEST_ANY_CASE); else -ESTALE, 400 "detected modified
 * configuration - file changed by other user? Try again." (PVE's words). */
int conf_check_digest(const struct conf_file *f, const char *client_digest, const char *digest,
                      struct error **err);

/*
 * Under the lock: serializes obj (ops->write), writes it atomically with
 * ops->mode and publishes those bytes as the new snapshot.  When the text's
 * digest equals old_digest (may be NULL) the file is left alone.  If the
 * written text cannot be parsed back, the previous snapshot stays (as for
 * an outside edit); the write still counts as done.  Cost: a serialization,
 * an fsync'ed write, a parse.
 */
int conf_file_write(struct conf_file *f, const char *old_digest, const void *obj,
                    struct error **err);

/* Changes a private copy; >= 0 to write it (the value is returned by the
 * update), < 0 to abandon the change. */
typedef int (*conf_update_fn)(void *obj, void *arg, struct error **err);

/*
 * The whole read-modify-write: conf_file_lock(), conf_file_load(),
 * conf_check_digest(client_digest), fn, conf_file_write(), unlock.
 * Returns fn's result or a negative errno.
 */
int conf_file_update(struct conf_file *f, const char *client_digest, conf_update_fn fn, void *arg,
                     struct error **err);

/* --- a keyed family: <dir>/<key><suffix> --- */

struct conf_family;

/*
 * A family of files under dir (which need not exist), e.g.
 * conf_family_new("<etc>/qemu-server", ".conf", &guest_ops, ctx).  Keys are
 * [A-Za-z0-9][A-Za-z0-9_.-]* of at most CONF_KEY_MAX characters; anything
 * else is 400 "invalid configuration key 'x'" (keys become file names).
 * Each file gets its own lock, "<dir>/<key><suffix>.lock".
 */
struct conf_family *conf_family_new(const char *dir, const char *suffix, const struct conf_ops *ops,
                                    void *ctx);
struct conf_family *conf_family_free(struct conf_family *fam);
/* For every entry, present and future: see conf_file_set_recheck_ms(). */
void conf_family_set_recheck_ms(struct conf_family *fam, unsigned ms);
bool conf_family_key_valid(const char *key);

/* conf_file_get() of one member: a hash lookup (the entry is created on
 * demand) plus the cost of a get.  A missing member is -ENOENT (unless
 * CONF_MISSING_EMPTY) and leaves no entry behind, so asking for keys that do
 * not exist costs no memory. */
int conf_family_get(struct conf_family *fam, const char *key, const struct conf_snapshot **ret,
                    struct error **err);

/* The member's store, with a reference (drop it with conf_file_unref()), for
 * writers: conf_file_lock(), _load() (-ENOENT: it does not exist yet),
 * _write() (creates it), conf_family_remove().  Created on demand. */
int conf_family_file(struct conf_family *fam, const char *key, struct conf_file **ret,
                     struct error **err);

/* conf_file_update() of one member (missing: -ENOENT, unless
 * CONF_MISSING_EMPTY). */
int conf_family_update(struct conf_family *fam, const char *key, const char *client_digest,
                       conf_update_fn fn, void *arg, struct error **err);

/* Under the member's lock: unlinks its file (-ENOENT, 500 when there is
 * none) and forgets its snapshot.  The lock file stays (removing a lock file
 * others may be waiting on is a race). */
int conf_family_remove(struct conf_family *fam, const char *key, struct error **err);

/* The keys of the files present now, sorted by strcmp(), as a
 * NULL-terminated array (free each and the array).  No file is opened.
 * Costs one stat() of the directory when it did not change since the last
 * listing (which is reused then, when it was read more than a second after
 * the directory's last change), else reads the directory.  A missing
 * directory is an empty list. */
int conf_family_list(struct conf_family *fam, char ***ret_keys, size_t *ret_n, struct error **err);
