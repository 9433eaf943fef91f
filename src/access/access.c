/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <time.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "access.h"
#include "acl.h"
#include "auth.h"
#include "config-store.h"
#include "domains.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "shadow.h"
#include "strbuf.h"
#include "tokens.h"
#include "usercfg.h"
#include "xalloc.h"

enum access_file {
	FILE_USER,
	FILE_DOMAINS,
	FILE_SHADOW,
	FILE_TOKENS,
	_FILE_MAX,
};

/* --- the four formats, for the config store --- */

static int parse_user(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	struct usercfg *c = NULL;
	int r = usercfg_parse(data, len, &c, err);
	if (r == 0)
		*ret = c;
	return r;
}

static int write_user(const void *obj, struct strbuf *out, struct error **err)
{
	usercfg_write(obj, out);
	return 0;
}

static void free_user(void *obj)
{
	usercfg_free(obj);
}

static int parse_domains(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	struct domains *d = NULL;
	int r = domains_parse(data, len, &d, err);
	if (r == 0)
		*ret = d;
	return r;
}

static int write_domains(const void *obj, struct strbuf *out, struct error **err)
{
	return domains_write(obj, out, err);
}

static void free_domains(void *obj)
{
	domains_free(obj);
}

static int parse_shadow(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	struct shadow *sh = NULL;
	int r = shadow_parse(data, len, &sh, err);
	if (r == 0)
		*ret = sh;
	return r;
}

static int write_shadow(const void *obj, struct strbuf *out, struct error **err)
{
	shadow_write(obj, out);
	return 0;
}

static void free_shadow(void *obj)
{
	shadow_free(obj);
}

static int parse_tokens(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	struct token_secrets *t = NULL;
	int r = token_secrets_parse(data, len, &t, err);
	if (r == 0)
		*ret = t;
	return r;
}

static int write_tokens(const void *obj, struct strbuf *out, struct error **err)
{
	token_secrets_write(obj, out);
	return 0;
}

static void free_tokens(void *obj)
{
	token_secrets_free(obj);
}

/* A missing file reads as empty; digests compare exactly, like PVE. */
static const struct conf_ops file_ops[_FILE_MAX] = {
    [FILE_USER] = {USERCFG_MAX_SIZE, 0640, CONF_MISSING_EMPTY, parse_user, write_user, free_user},
    [FILE_DOMAINS] = {SECTION_CONFIG_MAX_SIZE, 0640, CONF_MISSING_EMPTY, parse_domains,
                      write_domains, free_domains},
    [FILE_SHADOW] = {1u << 20, 0600, CONF_MISSING_EMPTY, parse_shadow, write_shadow, free_shadow},
    [FILE_TOKENS] = {4u << 20, 0600, CONF_MISSING_EMPTY, parse_tokens, write_tokens, free_tokens},
};

/* One snapshot of each file, as a request sees them. */
struct access_db {
	atomic_int refs;
	/* NULL: the file could never be read; its model below is an empty one
	 * owned by the db */
	const struct conf_snapshot *snap[_FILE_MAX];
	const struct usercfg *usercfg;
	const struct domains *domains;
	const struct shadow *shadow;
	const struct token_secrets *tokens;
};

struct access_store {
	struct conf_file *file[_FILE_MAX];
	pthread_mutex_t lock; /* guards current */
	struct access_db *current;
	unsigned long owner; /* conf_process_id() of the process sharing current */
};

void access_store_set_recheck_ms(struct access_store *s, unsigned ms)
{
	for (int f = 0; f < _FILE_MAX; f++)
		conf_file_set_recheck_ms(s->file[f], ms);
}

void access_store_check_soon(struct access_store *s)
{
	for (int f = 0; f < _FILE_MAX; f++)
		conf_file_check_soon(s->file[f]);
}

static struct access_db *db_free(struct access_db *db)
{
	if (!db)
		return NULL;
	if (!db->snap[FILE_USER])
		usercfg_free((struct usercfg *)db->usercfg);
	if (!db->snap[FILE_DOMAINS])
		domains_free((struct domains *)db->domains);
	if (!db->snap[FILE_SHADOW])
		shadow_free((struct shadow *)db->shadow);
	if (!db->snap[FILE_TOKENS])
		token_secrets_free((struct token_secrets *)db->tokens);
	for (int f = 0; f < _FILE_MAX; f++)
		conf_snapshot_unref(db->snap[f]);
	free(db);
	return NULL;
}

void access_db_unref(const struct access_db *cdb)
{
	struct access_db *db = (struct access_db *)cdb;
	if (db && atomic_fetch_sub(&db->refs, 1) == 1)
		db_free(db);
}

static void db_unrefp(struct access_db **db)
{
	access_db_unref(*db);
}

/* A db of these snapshots (it takes the references). */
static struct access_db *db_new(const struct conf_snapshot *snap[_FILE_MAX])
{
	struct access_db *db = xnew(struct access_db, 1);
	atomic_init(&db->refs, 1);
	memcpy(db->snap, snap, sizeof(db->snap));
	db->usercfg = snap[FILE_USER] ? conf_snapshot_data(snap[FILE_USER]) : usercfg_new();
	db->domains = snap[FILE_DOMAINS] ? conf_snapshot_data(snap[FILE_DOMAINS]) : domains_new();
	db->shadow = snap[FILE_SHADOW] ? conf_snapshot_data(snap[FILE_SHADOW]) : shadow_new();
	db->tokens =
	    snap[FILE_TOKENS] ? conf_snapshot_data(snap[FILE_TOKENS]) : token_secrets_new();
	return db;
}

static bool db_is(const struct access_db *db, const struct conf_snapshot *snap[_FILE_MAX])
{
	for (int f = 0; f < _FILE_MAX; f++)
		if (!snap[f] || db->snap[f] != snap[f])
			return false;
	return true;
}

/* Each file is rechecked by the store (conf_file_get()); the db is rebuilt
 * only when one of them has a new snapshot.  A file that cannot be parsed
 * keeps its last good snapshot. */
const struct access_db *access_store_get(struct access_store *s)
{
	const struct conf_snapshot *snap[_FILE_MAX];
	for (int f = 0; f < _FILE_MAX; f++)
		if (conf_file_get(s->file[f], &snap[f], NULL) < 0)
			snap[f] = NULL;
	if (conf_process_id() != s->owner) /* a forked worker must not take s->lock */
		return db_new(snap);
	pthread_mutex_lock(&s->lock);
	struct access_db *db = s->current;
	if (db && db_is(db, snap)) {
		for (int f = 0; f < _FILE_MAX; f++)
			conf_snapshot_unref(snap[f]);
	} else {
		db = db_new(snap);
		access_db_unref(s->current);
		s->current = db;
	}
	atomic_fetch_add(&db->refs, 1);
	pthread_mutex_unlock(&s->lock);
	return db;
}

const struct usercfg *access_db_usercfg(const struct access_db *db)
{
	return db->usercfg;
}

const struct domains *access_db_domains(const struct access_db *db)
{
	return db->domains;
}

const char *access_db_usercfg_digest(const struct access_db *db)
{
	return db->snap[FILE_USER] ? conf_snapshot_digest(db->snap[FILE_USER]) : "";
}

const char *access_db_domains_digest(const struct access_db *db)
{
	return db->snap[FILE_DOMAINS] ? conf_snapshot_digest(db->snap[FILE_DOMAINS]) : "";
}

struct access_store *access_store_free(struct access_store *s)
{
	if (!s)
		return NULL;
	access_db_unref(s->current);
	for (int f = 0; f < _FILE_MAX; f++)
		conf_file_unref(s->file[f]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

/* Under the lock: the default user.cfg (root@pam) and domains.cfg (pam,
 * pve) when they are missing, then every file must load. */
static int init_files(struct access_store *s, struct error **err)
{
	struct stat st;
	int r = 0;
	if (stat(conf_file_path(s->file[FILE_USER]), &st) < 0) {
		_cleanup_usercfg_ struct usercfg *cfg = NULL;
		usercfg_parse("", 0, &cfg, NULL); /* just root@pam */
		r = conf_file_write(s->file[FILE_USER], NULL, cfg, err);
	}
	if (r == 0 && stat(conf_file_path(s->file[FILE_DOMAINS]), &st) < 0) {
		_cleanup_domains_ struct domains *d = domains_new();
		r = conf_file_write(s->file[FILE_DOMAINS], NULL, d, err);
	}
	for (int f = 0; f < _FILE_MAX && r == 0; f++) {
		const struct conf_snapshot *snap = NULL;
		r = conf_file_get(s->file[f], &snap, err);
		if (r < 0 && err && *err)
			error_prefix(*err, "%s", conf_file_path(s->file[f]));
		conf_snapshot_unref(snap);
	}
	return r;
}

struct access_store *access_store_new(const struct ctvm_paths *paths, struct error **err)
{
	static const struct {
		bool priv;
		const char *name;
	} names[_FILE_MAX] = {
	    [FILE_USER] = {false, "user.cfg"},
	    [FILE_DOMAINS] = {false, "domains.cfg"},
	    [FILE_SHADOW] = {true, "shadow.cfg"},
	    [FILE_TOKENS] = {true, "token.cfg"},
	};
	struct access_store *s = xnew(struct access_store, 1);
	pthread_mutex_init(&s->lock, NULL);
	s->owner = conf_process_id();
	for (int f = 0; f < _FILE_MAX; f++) {
		_cleanup_free_ char *path =
		    path_join(names[f].priv ? paths->priv : paths->etc, names[f].name);
		s->file[f] = conf_file_new(path, &file_ops[f], NULL);
	}

	int r = mkdir_p(paths->etc, 0755);
	if (r == 0)
		r = mkdir_p(paths->priv, 0700);
	if (r < 0) {
		error_set(err, r, 500, "unable to create '%s' - %s", paths->priv, strerror(-r));
		return access_store_free(s);
	}
	int fd = conf_file_lock(s->file[FILE_USER], err);
	if (fd < 0)
		return access_store_free(s);
	r = init_files(s, err);
	unlock_file(fd);
	if (r < 0)
		return access_store_free(s);
	return s;
}

/* Under the lock: one file fresh from disk, for a change. */
static int load_fresh(struct access_store *s, enum access_file f, void **ret, char digest[41],
                      struct error **err)
{
	int r = conf_file_load(s->file[f], ret, digest, err);
	if (r < 0 && err && *err)
		error_prefix(*err, "%s", conf_file_path(s->file[f]));
	return r;
}

static int update_locked(struct access_store *s, const char *digest, access_update_fn fn, void *arg,
                         struct error **err)
{
	void *cfg = NULL, *shadow = NULL, *tokens = NULL;
	char d_user[41], d_shadow[41], d_tokens[41];
	int r = load_fresh(s, FILE_USER, &cfg, d_user, err);
	if (r == 0)
		r = conf_check_digest(s->file[FILE_USER], digest, d_user, err);
	if (r == 0)
		r = load_fresh(s, FILE_SHADOW, &shadow, d_shadow, err);
	if (r == 0)
		r = load_fresh(s, FILE_TOKENS, &tokens, d_tokens, err);
	struct access_secrets sec = {.shadow = shadow, .tokens = tokens};
	if (r == 0)
		r = fn(cfg, &sec, arg, err);
	if (r >= 0) {
		int result = r;
		/* secrets first: a new token or user never shows up without them;
		 * each file is written only when its text changed */
		r = conf_file_write(s->file[FILE_SHADOW], d_shadow, sec.shadow, err);
		if (r == 0)
			r = conf_file_write(s->file[FILE_TOKENS], d_tokens, sec.tokens, err);
		if (r == 0)
			r = conf_file_write(s->file[FILE_USER], d_user, cfg, err);
		if (r == 0)
			r = result;
	}
	usercfg_free(cfg);
	shadow_free(sec.shadow);
	token_secrets_free(sec.tokens);
	return r;
}

int access_store_update(struct access_store *s, const char *digest, access_update_fn fn, void *arg,
                        struct error **err)
{
	int fd = conf_file_lock(s->file[FILE_USER], err);
	if (fd < 0)
		return fd;
	int r = update_locked(s, digest, fn, arg, err);
	unlock_file(fd);
	return r;
}

static int do_forget_vm(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                        struct error **err)
{
	(void)sec;
	(void)err;
	usercfg_forget_vm(cfg, arg);
	return 0;
}

int access_remove_vm(struct access_store *s, long vmid, struct error **err)
{
	char id[24];
	snprintf(id, sizeof(id), "%ld", vmid);
	int r = access_store_update(s, NULL, do_forget_vm, id, err);
	if (r < 0 && err && *err)
		error_prefix(*err, "access permissions cleanup for VM %ld failed", vmid);
	return r;
}

struct pool_vm {
	const char *pool;
	const char *vmid;
};

static int do_pool_add_vm(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	(void)sec;
	const struct pool_vm *a = arg;
	struct usercfg_pool *p = usercfg_find_pool(cfg, a->pool);
	if (!p)
		return error_set(err, -ENOENT, 500, "pool '%s' does not exist", a->pool);
	return usercfg_pool_add_vm(cfg, p, a->vmid, err);
}

static int do_pool_remove_vm(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                             struct error **err)
{
	(void)sec;
	(void)err;
	const struct pool_vm *a = arg;
	struct usercfg_pool *p = usercfg_find_pool(cfg, a->pool);
	if (p)
		usercfg_pool_remove_vm(p, a->vmid);
	return 0;
}

int access_pool_remove_vm(struct access_store *s, const char *pool, long vmid, struct error **err)
{
	char id[24];
	snprintf(id, sizeof(id), "%ld", vmid);
	struct pool_vm a = {.pool = pool, .vmid = id};
	return access_store_update(s, NULL, do_pool_remove_vm, &a, err);
}

int access_pool_add_vm(struct access_store *s, const char *pool, long vmid, struct error **err)
{
	char id[24];
	snprintf(id, sizeof(id), "%ld", vmid);
	struct pool_vm a = {.pool = pool, .vmid = id};
	int r = access_store_update(s, NULL, do_pool_add_vm, &a, err);
	if (r < 0 && err && *err)
		error_prefix(*err, "can't add VM %ld to pool", vmid);
	return r;
}

static int update_domains_locked(struct access_store *s, const char *digest,
                                 access_update_domains_fn fn, void *arg, struct error **err)
{
	void *obj = NULL;
	char d_old[41];
	int r = load_fresh(s, FILE_DOMAINS, &obj, d_old, err);
	_cleanup_domains_ struct domains *d = obj;
	if (r == 0)
		r = conf_check_digest(s->file[FILE_DOMAINS], digest, d_old, err);
	if (r == 0)
		r = fn(d, arg, err);
	if (r < 0)
		return r;
	int result = r;
	domains_fixup(d);
	r = conf_file_write(s->file[FILE_DOMAINS], d_old, d, err);
	return r < 0 ? r : result;
}

int access_store_update_domains(struct access_store *s, const char *digest,
                                access_update_domains_fn fn, void *arg, struct error **err)
{
	/* one lock (user.cfg's) for all access files keeps updates ordered */
	int fd = conf_file_lock(s->file[FILE_USER], err);
	if (fd < 0)
		return fd;
	int r = update_domains_locked(s, digest, fn, arg, err);
	unlock_file(fd);
	return r;
}

/* The realm-less name of a pve-realm userid, or NULL. */
static char *pve_name(const char *userid)
{
	char *name = NULL, *realm = NULL;
	if (!usercfg_verify_userid(userid, &name, &realm))
		return NULL;
	bool pve = streq(realm, "pve");
	free(realm);
	if (!pve) {
		free(name);
		return NULL;
	}
	return name;
}

int access_secrets_set_password(struct access_secrets *sec, const char *userid,
                                const char *password, struct error **err)
{
	_cleanup_free_ char *name = pve_name(userid);
	if (!name)
		return error_set(err, -EINVAL, 400, "can't set password on auth type of '%s'",
		                 userid);
	_cleanup_free_ char *hash = auth_password_hash(password);
	if (!hash)
		return error_set(err, -EIO, 500, "unable to hash password");
	return shadow_set(sec->shadow, name, hash, err);
}

void access_secrets_remove_password(struct access_secrets *sec, const char *userid)
{
	_cleanup_free_ char *name = pve_name(userid);
	if (name)
		shadow_remove(sec->shadow, name);
}

char *access_secrets_new_token(struct access_secrets *sec, const char *tokenid)
{
	char *secret = auth_random_uuid();
	token_secrets_set(sec->tokens, tokenid, secret);
	return secret;
}

void access_secrets_remove_token(struct access_secrets *sec, const char *tokenid)
{
	token_secrets_remove(sec->tokens, tokenid);
}

static int auth_failure(struct error **err)
{
	return error_set(err, -EACCES, 401, "authentication failure");
}

/* Like access_user_check, with the reason for the log. */
static int user_check(const struct access_db *db, const char *userid, time_t now, char **reason)
{
	const struct usercfg_user *u = usercfg_verify_userid(userid, NULL, NULL)
	                                   ? usercfg_find_user(db->usercfg, userid)
	                                   : NULL;
	if (!u) {
		*reason = xasprintf("no such user ('%s')", userid);
		return -EACCES;
	}
	if (!u->enable) {
		*reason = xasprintf("user '%s' is disabled", userid);
		return -EACCES;
	}
	if (u->expire && u->expire < now) {
		*reason = xasprintf("user '%s' access expired", userid);
		return -EACCES;
	}
	return 0;
}

int access_user_check(const struct access_db *db, const char *userid, time_t now,
                      struct error **err)
{
	_cleanup_free_ char *reason = NULL;
	if (user_check(db, userid, now, &reason) < 0)
		return auth_failure(err);
	return 0;
}

int access_token_check(const struct access_db *db, const char *full_tokenid, const char *secret,
                       time_t now, struct error **err)
{
	_cleanup_free_ char *userid = NULL, *name = NULL, *reason = NULL;
	if (!full_tokenid || !usercfg_split_tokenid(full_tokenid, &userid, &name))
		return auth_failure(err);
	if (user_check(db, userid, now, &reason) < 0)
		return auth_failure(err);
	const struct usercfg_token *t = usercfg_find_token(db->usercfg, userid, name);
	if (!t || (t->expire && t->expire < now))
		return auth_failure(err);
	if (!token_secrets_verify(db->tokens, full_tokenid, secret))
		return auth_failure(err);
	return 0;
}

char *access_db_canonical_userid(const struct access_db *db, const char *userid)
{
	_cleanup_free_ char *name = NULL, *realm = NULL;
	struct realm_info ri;
	if (!userid || !usercfg_verify_userid(userid, &name, &realm) ||
	    !domains_find(db->domains, realm, true, &ri))
		return NULL;
	return xasprintf("%s@%s", name, ri.realm);
}

int access_login(struct access_store *s, const char *username, const char *realm,
                 const char *password, const char *rhost, const char *pam_service,
                 char **ret_userid, char **ret_reason, struct error **err)
{
	_cleanup_(db_unrefp) struct access_db *db = (struct access_db *)access_store_get(s);
	_cleanup_free_ char *full = NULL, *name = NULL, *rname = NULL, *reason = NULL;
	_cleanup_free_ char *userid = NULL;
	int r = -EACCES;
	bool checked = false; /* a password check did its work (PAM or a hash) */

	if (!username || !*username) {
		reason = xstrdup("no username specified");
		goto fail;
	}
	full = realm && *realm ? xasprintf("%s@%s", username, realm) : xstrdup(username);
	if (!usercfg_verify_userid(full, &name, &rname)) {
		reason = xasprintf("invalid user name '%s'", full);
		goto fail;
	}
	struct realm_info ri;
	if (!domains_find(db->domains, rname, true, &ri)) {
		reason = xasprintf("auth domain '%s' does not exist", rname);
		goto fail;
	}
	userid = xasprintf("%s@%s", name, ri.realm);
	if (user_check(db, userid, time(NULL), &reason) < 0)
		goto fail;
	if (!password || !*password) {
		reason = xstrdup("no password specified");
		goto fail;
	}
	if (streq(ri.type, "pam")) {
		struct error *e = NULL;
		checked = true;
		if (auth_pam_check(pam_service ? pam_service : CTVM_PAM_SERVICE, name, password,
		                   rhost, &e) < 0) {
			reason = xasprintf("pam: %s", e ? e->msg : "authentication failure");
			error_free(e);
			goto fail;
		}
	} else if (streq(ri.type, "pve")) {
		const char *hash = shadow_get(db->shadow, name);
		if (!hash) {
			reason = xstrdup("no password set");
			goto fail;
		}
		checked = true;
		if (!auth_password_verify(password, hash)) {
			reason = xstrdup("invalid credentials");
			goto fail;
		}
	} else {
		reason = xasprintf("realm type '%s' is not supported", ri.type);
		goto fail;
	}
	*ret_userid = TAKE_PTR(userid);
	if (ret_reason)
		*ret_reason = NULL;
	return 0;
fail:
	/* A missing user (realm, hash) answers no sooner than a wrong password */
	if (!checked)
		auth_password_verify_dummy(password);
	if (ret_reason)
		*ret_reason = xasprintf("%s: %s", full ? full : "(none)", reason);
	auth_failure(err);
	return r;
}

bool access_db_check(const struct access_db *db, const char *authid, const char *path,
                     const char *priv)
{
	return access_check(db->usercfg, authid, path, priv);
}

bool access_db_check_userid_group(const struct access_db *db, const char *authid,
                                  const char *userid, const char *groups, const char *const *privs,
                                  const char *groups_param)
{
	return access_check_userid_group(db->usercfg, authid, userid, groups, privs, groups_param);
}

json_t *access_cap_json(const struct access_db *db, const char *authid)
{
	return acl_cap_json(db->usercfg, authid);
}

int access_db_permissions_query(const struct access_db *db, const char *caller, const char *userid,
                                const char *path, json_t **ret, struct error **err)
{
	return access_permissions_query(db->usercfg, caller, userid, path, ret, err);
}
