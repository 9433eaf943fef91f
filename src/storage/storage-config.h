/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-config: <etc>/storage.cfg, Proxmox's storage configuration
 * (storage.md 1.3), on top of the generic SectionConfig layer.
 *
 * Types dir, lvm, lvmthin, zfspool and btrfs are known, with PVE's keys,
 * fixed keys and per-type content; sections of other types (nfs, rbd, ...)
 * are kept verbatim so a file written by PVE survives a round trip.  Parsing
 * is lenient like PVE (bad keys and values are dropped with a warning); the
 * API goes through storage_section_set(), which refuses them instead.
 *
 * When the file has no `local` storage, the loaded config gets the implicit
 * one: dir at <state>/vz with content iso,vztmpl,backup,images,rootdir.
 *
 * Nothing here touches the host except storage_dir_prepare() and the store's
 * writes of storage.cfg.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "section-config.h"

struct error;
struct strbuf;
struct ctvm_paths;

#define STORAGE_CONFIG_FILE "storage.cfg"

/* The schema of storage.cfg (static; never NULL). */
const struct section_schema *storage_schema(void);

/* Every storage.cfg key, each described once (terminated by {.name = NULL}),
 * in the order of the API's parameter rows, which are generated from it. */
const struct conf_prop *storage_config_keys(void);

/* True for the types ctvm knows: dir, lvm, lvmthin, zfspool, btrfs. */
bool storage_type_known(const char *type);

/* True if key names a place on the host in some type (the table's root_only
 * flag: path, content-dirs, is_mountpoint, mkdir, create-base-path,
 * create-subdirs, vgname, thinpool, base, pool, mountpoint): only root@pam
 * may set or delete it through the API. */
bool storage_key_root_only(const char *key);

/* The section's overcommit-limit (lvmthin, zfspool: ctvm's own key), 0 when
 * unset: new thin volumes that would take the pool's virtual sizes above
 * this multiple of its size are refused. */
double storage_overcommit_limit(const struct section *s);

/* Storage ID grammar [a-z][a-z0-9\-_.]*[a-z0-9] (case-insensitive, at least
 * two characters).  400 "storage ID 'x' contains illegal characters". */
int storage_verify_id(const char *id, struct error **err);

/* Lenient (or SECTION_CONFIG_STRICT) parse with the storage schema. */
int storage_config_parse(const char *data, size_t len, unsigned flags, struct section_config **ret,
                         struct error **err);
int storage_config_write(const struct section_config *c, struct strbuf *out, struct error **err);

/* Adds the implicit `local` dir storage (path <state_dir>/vz) when c has no
 * section named local.  Returns true if it added it. */
bool storage_config_ensure_local(struct section_config *c, const char *state_dir);

/*
 * Sets key of a section from an API value (NULL: a flag without value),
 * validated against the section's type: unknown keys, bad values and content
 * types the type does not support are 400 with errors {key: reason}, and so
 * is a content-dirs under which one content type's directory would be or lie
 * inside another's (the defaults of the types it does not name included).
 * content is normalised (duplicates dropped; "none" alone).  create false
 * refuses fixed keys ("can't change value of fixed parameter 'x'").
 */
int storage_section_set(struct section *s, const char *key, const char *value, bool create,
                        struct error **err);
/* Removes key (the API's `delete`): refuses required and fixed keys (400). */
int storage_section_delete(struct section *s, const char *key, struct error **err);
/* Checks that every required key of the section's type is set (400). */
int storage_section_check_complete(const struct section *s, struct error **err);

/*
 * The API object of a section, as PVE's storage config API returns it:
 * {storage, type, content (comma string; the type's default when unset),
 * booleans and integers as numbers, the rest as strings}.  digest may be
 * NULL.
 */
/* s is not disabled and is configured for node (no "nodes": every node). */
bool storage_section_enabled_on(const struct section *s, const char *node);
/* s holds content type `content` (its content list, or the type's default). */
bool storage_section_has_content(const struct section *s, const char *content);

json_t *storage_section_json(const struct section *s, const char *digest);

/*
 * Prepares a storage with a path (STORAGE_CAP_PATH: dir, btrfs) on this
 * host like PVE's activate_storage:
 * with is_mountpoint, the mount point must be mounted; the path is created
 * unless create-base-path (or the old mkdir) is 0, else it must exist; the
 * content subdirectories are created unless create-subdirs (or mkdir) is 0.
 * Other types: nothing.  500 "unable to activate storage 'x' - ..." on
 * failure.
 */
int storage_dir_prepare(const struct section *s, struct error **err);

/*
 * The directory of content type vtype ("images", "rootdir", "iso", "vztmpl",
 * "backup", "snippets", "import") of a file storage: <path>/<subdir>, the
 * subdirectory from content-dirs ("iso=isos,backup=my/dumps", PVE's
 * get_subdir) or else the default of vtype_subdir() (images, private,
 * template/iso, template/cache, dump, snippets, import).  Every path of
 * file content is built from this, so an override moves listing, info,
 * path, free, uploads and activation together.  NULL with 500 when the
 * section has no absolute path, vtype is unknown or content-dirs is invalid
 * (storage.cfg refuses that on write and drops it on read).
 */
char *storage_content_dir(const struct section *s, const char *vtype, struct error **err);

/* --- the store: storage.cfg under its lock --- */

struct storage_config_store;

struct storage_config_store *storage_config_store_new(const struct ctvm_paths *paths);
struct storage_config_store *storage_config_store_free(struct storage_config_store *s);
const char *storage_config_store_path(const struct storage_config_store *s);

/* A private, modifiable copy of the current snapshot (below): storage.cfg
 * parsed (missing: empty) with the implicit local storage.  ret->digest is
 * the SHA-1 of the file's bytes.  Thread-safe.  Readers that only look
 * should share the snapshot instead (no copy). */
int storage_config_store_load(struct storage_config_store *s, struct section_config **ret,
                              struct error **err);

/*
 * The parsed storage.cfg that readers share: an immutable, refcounted
 * snapshot (never modify its config).  The store looks for outside edits of
 * the file (inode, size, mtime; a file changed within the last 2 s is read
 * again and compared by content) at most every recheck_ms; changes made
 * through storage_config_store_update() are published at once.  When a
 * changed file cannot be read any more, the previous snapshot stays;
 * without one the error is returned.  Thread-safe.
 */
struct storage_config_snapshot;

/* Default 0: look at the file on every get (one stat()).  The daemon should
 * use 1000, like the access store. */
void storage_config_store_set_recheck_ms(struct storage_config_store *s, unsigned ms);
/* The current snapshot with a reference taken; drop it with _unref(). */
int storage_config_store_get(struct storage_config_store *s,
                             const struct storage_config_snapshot **ret, struct error **err);
const struct section_config *
storage_config_snapshot_config(const struct storage_config_snapshot *snap);
/* Another reference (a struct storage keeps one); returns snap. */
const struct storage_config_snapshot *
storage_config_snapshot_ref(const struct storage_config_snapshot *snap);
void storage_config_snapshot_unref(const struct storage_config_snapshot *snap);
/* A snapshot of c, a config built in memory (tests, tools) that no store
 * reads: it takes c (freed with the last reference) and gives one
 * reference.  Its digest is c->digest. */
const struct storage_config_snapshot *storage_config_snapshot_new(struct section_config *c);
static inline void storage_config_snapshot_unrefp(const struct storage_config_snapshot **snap)
{
	storage_config_snapshot_unref(*snap);
}
#define _cleanup_storage_snapshot_ __attribute__((cleanup(storage_config_snapshot_unrefp)))

/* fn gets a private copy read from the file itself (not the snapshot). */
typedef int (*storage_update_fn)(struct section_config *c, void *arg, struct error **err);

/*
 * Read-modify-write under storage.cfg's lock: digest (NULL or "": no check)
 * must equal the file's current digest, else 400 "detected modified
 * configuration - file changed by other user? Try again.".  When fn returns
 * >= 0 the config is written atomically.  Returns fn's result or a negative
 * errno.
 */
int storage_config_store_update(struct storage_config_store *s, const char *digest,
                                storage_update_fn fn, void *arg, struct error **err);
