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

#define LOCK_TIMEOUT_MS 10000

enum access_file {
	FILE_USER,
	FILE_DOMAINS,
	FILE_SHADOW,
	FILE_TOKENS,
	_FILE_MAX,
};

static const size_t file_max[_FILE_MAX] = {
    [FILE_USER] = USERCFG_MAX_SIZE,
    [FILE_DOMAINS] = SECTION_CONFIG_MAX_SIZE,
    [FILE_SHADOW] = 1u << 20,
    [FILE_TOKENS] = 4u << 20,
};

/* What identifies a file version without reading it. */
struct access_db {
	atomic_int refs;
	struct usercfg *usercfg;
	struct domains *domains;
	struct shadow *shadow;
	struct token_secrets *tokens;
	char digest[_FILE_MAX][41];
	struct file_stamp stamps[_FILE_MAX];
	/* changed so recently that a same-size edit in the same mtime tick
	 * would keep the stamp: compared by content until it settles */
	bool racy[_FILE_MAX];
};

struct access_store {
	pthread_mutex_t lock; /* guards current and last_check */
	char *path[_FILE_MAX];
	struct access_db *current;
	unsigned recheck_ms;        /* 0: stat the files on every get */
	struct timespec last_check; /* CLOCK_MONOTONIC */
};

void access_store_set_recheck_ms(struct access_store *s, unsigned ms)
{
	s->recheck_ms = ms;
}

/* Under s->lock: whether it is time to look at the files again.  Changes made
 * through access_store_update() swap the snapshot at once whatever this says;
 * only edits from outside wait up to recheck_ms. */
static bool recheck_due(struct access_store *s)
{
	if (!s->recheck_ms)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - s->last_check.tv_sec) * 1000 +
	          (now.tv_nsec - s->last_check.tv_nsec) / 1000000;
	if (ms < (long)s->recheck_ms)
		return false;
	s->last_check = now;
	return true;
}

static struct access_db *db_free(struct access_db *db)
{
	if (db) {
		usercfg_free(db->usercfg);
		domains_free(db->domains);
		shadow_free(db->shadow);
		token_secrets_free(db->tokens);
		free(db);
	}
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

/* Reads one file; a missing one reads as empty. */
static int read_optional(const char *path, size_t max, char **ret, size_t *ret_len,
                         struct error **err)
{
	struct error *e = NULL;
	int r = read_file(path, max, ret, ret_len, &e);
	if (r == -ENOENT) {
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
		return r;
	}
	return 0;
}

/* A fresh snapshot from disk. */
static int db_load(struct access_store *s, struct access_db **ret, struct error **err)
{
	struct access_db *db = xnew(struct access_db, 1);
	atomic_init(&db->refs, 1);
	int r = 0;
	for (int f = 0; f < _FILE_MAX && r == 0; f++) {
		/* stamp first: a change racing with the read is seen next time */
		file_stamp_get(s->path[f], &db->stamps[f]);
		db->racy[f] = file_stamp_racy(&db->stamps[f]);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		r = read_optional(s->path[f], file_max[f], &data, &len, err);
		if (r < 0)
			break;
		config_digest(data, len, db->digest[f]);
		switch (f) {
		case FILE_USER:
			r = usercfg_parse(data, len, &db->usercfg, err);
			break;
		case FILE_DOMAINS:
			r = domains_parse(data, len, &db->domains, err);
			break;
		case FILE_SHADOW:
			r = shadow_parse(data, len, &db->shadow, err);
			break;
		case FILE_TOKENS:
			r = token_secrets_parse(data, len, &db->tokens, err);
			break;
		}
		if (r < 0 && err && *err)
			error_prefix(*err, "%s", s->path[f]);
	}
	if (r < 0) {
		db_free(db);
		return r;
	}
	*ret = db;
	return 0;
}

/* Under s->lock (it may clear db->racy). */
static bool db_stale(const struct access_store *s, struct access_db *db)
{
	for (int f = 0; f < _FILE_MAX; f++) {
		struct file_stamp now;
		file_stamp_get(s->path[f], &now);
		if (!file_stamp_equal(&now, &db->stamps[f]))
			return true;
		if (!db->racy[f])
			continue;
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		char digest[41];
		if (read_optional(s->path[f], file_max[f], &data, &len, NULL) < 0)
			return true;
		config_digest(data, len, digest);
		if (!streq(digest, db->digest[f]))
			return true;
		db->racy[f] = file_stamp_racy(&now);
	}
	return false;
}

/* Under s->lock: reloads when stale; returns current with a reference. */
static struct access_db *current_locked(struct access_store *s)
{
	if (!s->current || (recheck_due(s) && db_stale(s, s->current))) {
		struct access_db *db = NULL;
		struct error *e = NULL;
		if (db_load(s, &db, &e) == 0) {
			access_db_unref(s->current);
			s->current = db;
		}
		error_free(e); /* keep serving the old snapshot */
	}
	if (!s->current) { /* nothing readable at all: an empty config */
		struct access_db *db = xnew(struct access_db, 1);
		atomic_init(&db->refs, 1);
		db->usercfg = usercfg_new();
		db->domains = domains_new();
		db->shadow = shadow_new();
		db->tokens = token_secrets_new();
		s->current = db;
	}
	atomic_fetch_add(&s->current->refs, 1);
	return s->current;
}

const struct access_db *access_store_get(struct access_store *s)
{
	pthread_mutex_lock(&s->lock);
	struct access_db *db = current_locked(s);
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
	return db->digest[FILE_USER];
}

const char *access_db_domains_digest(const struct access_db *db)
{
	return db->digest[FILE_DOMAINS];
}

static int write_user_cfg(const char *path, const struct usercfg *cfg, struct error **err)
{
	struct strbuf sb = STRBUF_INIT;
	usercfg_write(cfg, &sb);
	int r = write_file_atomic(path, sb.buf, sb.len, 0640, err);
	strbuf_release(&sb);
	return r;
}

static int write_domains_cfg(const char *path, const struct domains *d, struct error **err)
{
	struct strbuf sb = STRBUF_INIT;
	int r = domains_write(d, &sb, err);
	if (r == 0)
		r = write_file_atomic(path, sb.buf, sb.len, 0640, err);
	strbuf_release(&sb);
	return r;
}

struct access_store *access_store_free(struct access_store *s)
{
	if (!s)
		return NULL;
	access_db_unref(s->current);
	for (int f = 0; f < _FILE_MAX; f++)
		free(s->path[f]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

struct access_store *access_store_new(const struct ctvm_paths *paths, struct error **err)
{
	struct access_store *s = xnew(struct access_store, 1);
	pthread_mutex_init(&s->lock, NULL);
	s->path[FILE_USER] = path_join(paths->etc, "user.cfg");
	s->path[FILE_DOMAINS] = path_join(paths->etc, "domains.cfg");
	s->path[FILE_SHADOW] = path_join(paths->priv, "shadow.cfg");
	s->path[FILE_TOKENS] = path_join(paths->priv, "token.cfg");

	int r = mkdir_p(paths->etc, 0755);
	if (r == 0)
		r = mkdir_p(paths->priv, 0700);
	if (r < 0) {
		error_set(err, r, 500, "unable to create '%s' - %s", paths->priv, strerror(-r));
		return access_store_free(s);
	}
	int fd = lock_file(s->path[FILE_USER], LOCK_TIMEOUT_MS, err);
	if (fd < 0)
		return access_store_free(s);
	struct stat st;
	r = 0;
	if (stat(s->path[FILE_USER], &st) < 0) {
		_cleanup_usercfg_ struct usercfg *cfg = NULL;
		usercfg_parse("", 0, &cfg, NULL); /* just root@pam */
		r = write_user_cfg(s->path[FILE_USER], cfg, err);
	}
	if (r == 0 && stat(s->path[FILE_DOMAINS], &st) < 0) {
		_cleanup_domains_ struct domains *d = domains_new();
		r = write_domains_cfg(s->path[FILE_DOMAINS], d, err);
	}
	struct access_db *db = NULL;
	if (r == 0)
		r = db_load(s, &db, err);
	unlock_file(fd);
	if (r < 0)
		return access_store_free(s);
	s->current = db;
	return s;
}

static const char *const modified_msg =
    "detected modified configuration - file changed by other user? Try again.";

/* Writes the files whose text changed, then publishes a reloaded snapshot.
 * Called with the user.cfg file lock held. */
static int publish(struct access_store *s, struct error **err)
{
	struct access_db *db = NULL;
	int r = db_load(s, &db, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	access_db_unref(s->current);
	s->current = db;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int write_if_changed(const char *path, const char *old_digest, const struct strbuf *text,
                            mode_t mode, struct error **err)
{
	char d[41];
	config_digest(text->buf, text->len, d);
	if (streq(d, old_digest))
		return 0;
	return write_file_atomic(path, text->buf, text->len, mode, err);
}

static int update_locked(struct access_store *s, const char *digest, access_update_fn fn, void *arg,
                         struct error **err)
{
	_cleanup_(db_unrefp) struct access_db *db = (struct access_db *)access_store_get(s);
	if (digest && *digest && !streq(digest, db->digest[FILE_USER]))
		return error_set(err, -ESTALE, 400, "%s", modified_msg);
	_cleanup_usercfg_ struct usercfg *cfg = usercfg_dup(db->usercfg);
	struct access_secrets sec = {
	    .shadow = shadow_dup(db->shadow),
	    .tokens = token_secrets_dup(db->tokens),
	};
	int r = fn(cfg, &sec, arg, err);
	if (r >= 0) {
		int result = r;
		struct strbuf u = STRBUF_INIT, sh = STRBUF_INIT, tk = STRBUF_INIT;
		usercfg_write(cfg, &u);
		shadow_write(sec.shadow, &sh);
		token_secrets_write(sec.tokens, &tk);
		/* secrets first: a new token or user never shows up without them */
		r = write_if_changed(s->path[FILE_SHADOW], db->digest[FILE_SHADOW], &sh, 0600, err);
		if (r == 0)
			r = write_if_changed(s->path[FILE_TOKENS], db->digest[FILE_TOKENS], &tk,
			                     0600, err);
		if (r == 0)
			r = write_if_changed(s->path[FILE_USER], db->digest[FILE_USER], &u, 0640,
			                     err);
		if (r == 0)
			r = publish(s, err);
		if (r == 0)
			r = result;
		strbuf_release(&u);
		strbuf_release(&sh);
		strbuf_release(&tk);
	}
	shadow_free(sec.shadow);
	token_secrets_free(sec.tokens);
	return r;
}

int access_store_update(struct access_store *s, const char *digest, access_update_fn fn, void *arg,
                        struct error **err)
{
	int fd = lock_file(s->path[FILE_USER], LOCK_TIMEOUT_MS, err);
	if (fd < 0)
		return fd;
	int r = update_locked(s, digest, fn, arg, err);
	unlock_file(fd);
	return r;
}

static int update_domains_locked(struct access_store *s, const char *digest,
                                 access_update_domains_fn fn, void *arg, struct error **err)
{
	_cleanup_(db_unrefp) struct access_db *db = (struct access_db *)access_store_get(s);
	if (digest && *digest && !streq(digest, db->digest[FILE_DOMAINS]))
		return error_set(err, -ESTALE, 400, "%s", modified_msg);
	_cleanup_domains_ struct domains *d = domains_dup(db->domains);
	int r = fn(d, arg, err);
	if (r < 0)
		return r;
	int result = r;
	domains_fixup(d);
	r = write_domains_cfg(s->path[FILE_DOMAINS], d, err);
	if (r == 0)
		r = publish(s, err);
	return r < 0 ? r : result;
}

int access_store_update_domains(struct access_store *s, const char *digest,
                                access_update_domains_fn fn, void *arg, struct error **err)
{
	/* one lock (user.cfg's) for all access files keeps updates ordered */
	int fd = lock_file(s->path[FILE_USER], LOCK_TIMEOUT_MS, err);
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
