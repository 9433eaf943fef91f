/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * access: the access-control store the API uses (docs/dev/ACCESS.md).
 *
 * Files: <etc>/user.cfg, <etc>/domains.cfg, <priv>/shadow.cfg (0600),
 * <priv>/token.cfg (0600).  A `struct access_db` is an immutable snapshot
 * of all four; requests take one with access_store_get() (each file is a
 * conf_file of the config store, config-store.h: reloaded when its inode,
 * size or mtime changed, so edits by another process are seen) and drop it
 * with access_db_unref().  Changes go through access_store_update(), which
 * holds the file lock across read-modify-write, reads the files fresh,
 * writes changed files atomically and publishes a new snapshot.  All
 * functions are thread-safe.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

struct error;
struct ctvm_paths;
struct usercfg;
struct domains;
struct shadow;
struct token_secrets;

struct access_store;
struct access_db;

/* What an update callback may change besides user.cfg. */
struct access_secrets {
	struct shadow *shadow;
	struct token_secrets *tokens;
};

/* Creates missing files: user.cfg with root@pam, domains.cfg with pam + pve
 * (and the etc/priv directories). */
struct access_store *access_store_new(const struct ctvm_paths *paths, struct error **err);
struct access_store *access_store_free(struct access_store *s);
/* Look for outside edits of the files at most every ms milliseconds (the
 * daemon uses 1000: one stat() per file per second instead of per request).
 * Default 0: on every access_store_get(). */
void access_store_set_recheck_ms(struct access_store *s, unsigned ms);
/* Look at the files at the next access_store_get() whatever the recheck
 * interval: another process (a task worker) may have changed them. */
void access_store_check_soon(struct access_store *s);

/* The current snapshot, with a reference taken (never NULL).  When a changed
 * file cannot be parsed the previous snapshot stays in use. */
const struct access_db *access_store_get(struct access_store *s);
void access_db_unref(const struct access_db *db);

const struct usercfg *access_db_usercfg(const struct access_db *db);
const struct domains *access_db_domains(const struct access_db *db);
const char *access_db_usercfg_digest(const struct access_db *db); /* sha1 hex of user.cfg */
const char *access_db_domains_digest(const struct access_db *db);

typedef int (*access_update_fn)(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                                struct error **err);
typedef int (*access_update_domains_fn)(struct domains *d, void *arg, struct error **err);

/*
 * Read-modify-write under the file lock: fn gets the user.cfg model and
 * secrets as read from the files now; when it returns >= 0 the changed files are
 * written atomically and a new snapshot is published.  digest (NULL: no
 * check) must equal user.cfg's current digest, else 400 "detected modified
 * configuration - file changed by other user? Try again.".  Returns fn's
 * result or a negative errno.
 */
int access_store_update(struct access_store *s, const char *digest, access_update_fn fn, void *arg,
                        struct error **err);
/* The same for domains.cfg (digest: domains.cfg's). */
int access_store_update_domains(struct access_store *s, const char *digest,
                                access_update_domains_fn fn, void *arg, struct error **err);

/* A guest's place in user.cfg, for the guest operations (ctvmd wires them
 * in as guest_access_hooks).  access_remove_vm: PVE's remove_vm_access, the
 * ACL entries on /vms/<vmid> and its pool membership go (user.cfg is
 * written only when that changed it).  access_pool_add_vm: PVE's
 * add_vm_to_pool, but a missing pool is -ENOENT (500 "pool 'p' does not
 * exist") and another pool holding vmid -EEXIST (400). */
int access_remove_vm(struct access_store *s, long vmid, struct error **err);
int access_pool_add_vm(struct access_store *s, const char *pool, long vmid, struct error **err);
/* vmid leaves pool (nothing when it is not a member). */
int access_pool_remove_vm(struct access_store *s, const char *pool, long vmid, struct error **err);

/* Helpers for update callbacks. */
/* Sets the password of a pve-realm user (hashes it); 400 for other realms. */
int access_secrets_set_password(struct access_secrets *sec, const char *userid,
                                const char *password, struct error **err);
void access_secrets_remove_password(struct access_secrets *sec, const char *userid);
/* A new random secret for tokenid (returned, malloc'd; only its hash is kept). */
char *access_secrets_new_token(struct access_secrets *sec, const char *tokenid);
void access_secrets_remove_token(struct access_secrets *sec, const char *tokenid);

/* For every request: the user exists, is enabled and not expired (at now).
 * Else -EACCES with 401 "authentication failure". */
int access_user_check(const struct access_db *db, const char *userid, time_t now,
                      struct error **err);
/* API token: its owner passes access_user_check, the token exists and is not
 * expired, the secret matches.  Else -EACCES, 401 "authentication failure". */
int access_token_check(const struct access_db *db, const char *full_tokenid, const char *secret,
                       time_t now, struct error **err);

/*
 * The user id as stored: realms match case-insensitively (as in
 * access_login), so the realm part gets its configured spelling; the name
 * part is kept byte for byte, since "alice@pve" and "ALICE@pve" are two
 * users.  malloc'd; NULL when userid is not a valid user id or its realm
 * does not exist (or matches two realms).  Whether the user exists is not
 * checked: use access_user_check() on the result.
 */
char *access_db_canonical_userid(const struct access_db *db, const char *userid);

/*
 * Password login.  realm (may be NULL) is appended as "@realm" like PVE's
 * `realm` parameter; the realm is found case-insensitively (the userid gets
 * its canonical spelling); the user must pass access_user_check; pam realms
 * use auth_pam_check(pam_service, ...), pve realms the shadow hash.  On
 * success *ret_userid.  Any failure: -EACCES, 401 "authentication failure",
 * with the real reason in *ret_reason (malloc'd, for the log; never send it
 * to the client).  Does not handle ticket renewal (password = ticket) nor
 * TFA: the caller does.
 */
int access_login(struct access_store *s, const char *username, const char *realm,
                 const char *password, const char *rhost, const char *pam_service,
                 char **ret_userid, char **ret_reason, struct error **err);

/* access_check() on the snapshot's user.cfg. */
bool access_db_check(const struct access_db *db, const char *authid, const char *path,
                     const char *priv);
/* The login answer's "cap" object (acl_cap_json() on the snapshot). */
json_t *access_cap_json(const struct access_db *db, const char *authid);
/* GET /access/permissions (access_permissions_query() on the snapshot). */
int access_db_permissions_query(const struct access_db *db, const char *caller, const char *userid,
                                const char *path, json_t **ret, struct error **err);
/* access_check_userid_group() on the snapshot's user.cfg. */
bool access_db_check_userid_group(const struct access_db *db, const char *authid,
                                  const char *userid, const char *groups, const char *const *privs,
                                  const char *groups_param);
