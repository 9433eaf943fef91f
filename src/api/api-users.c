/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /access/users, their API tokens, and /access/password (pve-api.md 4.2,
 * 3.5), after PVE::API2::User and PVE::API2::AccessControl.
 *
 * Passwords of pve-realm users are hashed into priv/shadow.cfg; token
 * secrets are random UUIDs shown once (at creation or regeneration) and
 * only their hash is kept in priv/token.cfg.  ctvm never changes the
 * password of a host account: pam users get theirs on the host.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "usercfg.h"
#include "xalloc.h"

static const char *const audit_privs[] = {"User.Modify", "Sys.Audit", NULL};

/* ---- JSON shapes ---------------------------------------------------------- */

static void set_opt_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

/* PVE's $extract_user_data without groups and tokens. */
static json_t *user_json(const struct usercfg_user *u)
{
	json_t *o =
	    json_pack("{s:i, s:I}", "enable", u->enable ? 1 : 0, "expire", (json_int_t)u->expire);
	set_opt_str(o, "firstname", u->firstname);
	set_opt_str(o, "lastname", u->lastname);
	set_opt_str(o, "email", u->email);
	set_opt_str(o, "comment", u->comment);
	set_opt_str(o, "keys", u->keys);
	return o;
}

static json_t *token_info_json(const struct usercfg_token *t)
{
	json_t *o =
	    json_pack("{s:i, s:I}", "privsep", t->privsep ? 1 : 0, "expire", (json_int_t)t->expire);
	set_opt_str(o, "comment", t->comment);
	return o;
}

static json_t *token_entry_json(const struct usercfg_token *t)
{
	json_t *o = token_info_json(t);
	json_object_set_new(o, "tokenid", json_string(t->name));
	return o;
}

/* ---- lookups -------------------------------------------------------------- */

static const struct usercfg_user *find_user(const struct usercfg *cfg, const char *userid,
                                            struct error **err)
{
	const struct usercfg_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	return u;
}

static const struct usercfg_token *find_token(const struct usercfg *cfg, const char *userid,
                                              const char *name, struct error **err)
{
	if (!find_user(cfg, userid, err))
		return NULL;
	const struct usercfg_token *t = usercfg_find_token(cfg, userid, name);
	if (!t)
		error_set(err, -ENOENT, 500, "no such token '%s' for user '%s'", name, userid);
	return t;
}

/* Is userid in a group on which the caller has any of privs? */
static bool user_in_visible_group(const struct api_call *call, const struct usercfg *cfg,
                                  const char *userid, const char *const *privs)
{
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct usercfg_group *g = cfg->groups[i];
		if (!usercfg_group_has_member(g, userid))
			continue;
		_cleanup_free_ char *path = xasprintf("/access/groups/%s", g->groupid);
		if (api_call_has_any(call, path, privs))
			return true;
	}
	return false;
}

/*
 * Only root@pam changes root@pam: its account (enable, expiry, groups,
 * deletion) and its API tokens.  A user administrator (User.Modify on
 * /access) must not lock the host's superuser out, nor mint or re-key a
 * token that carries root's privileges.  Tokens of root@pam are refused
 * too: it is root@pam itself, by ticket or on the local socket, or no one.
 */
static int refuse_root_target(const struct api_call *call, const char *userid, struct error **err)
{
	if (userid && streq(userid, "root@pam") && !streq(call->authid, "root@pam"))
		return error_set(err, -EPERM, 403,
		                 "Permission check failed (only root@pam may modify root@pam)");
	return 0;
}

/* Free text is kept as given; an empty value clears the field. */
static void set_text(char **field, const char *v)
{
	free(*field);
	*field = v && *v ? xstrdup(v) : NULL;
}

/*
 * A password for userid, checked before any change.  pve-realm users get
 * a hash in shadow.cfg; pam users keep their host password: only root@pam
 * could change it, and ctvm does not touch host accounts yet.
 */
static int check_password_target(const struct api_call *call, const char *userid,
                                 struct error **err)
{
	const char *type = api_realm_type(call, userid);
	if (type && streq(type, "pam")) {
		if (!streq(call->authid, "root@pam"))
			return error_set(err, -EPERM, 403,
			                 "Permission check failed (only root@pam may set the "
			                 "password of pam user '%s')",
			                 userid);
		return error_set(err, -EOPNOTSUPP, 400,
		                 "setting the host password of pam user '%s' is not supported - "
		                 "change it on the host (passwd)",
		                 userid);
	}
	if (!type || !streq(type, "pve"))
		return error_set(err, -EINVAL, 400, "can't set password on auth type '%s'",
		                 type ? type : "unknown");
	return 0;
}

/* ---- GET /access/users ------------------------------------------------------ */

static int api_users_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	bool all = api_call_has_any(call, "/access/groups", audit_privs);
	bool full = api_param_bool(call, "full", false);
	bool filter = api_param_has(call, "enabled");
	bool enabled = api_param_bool(call, "enabled", true);

	json_t *a = json_array();
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct usercfg_user *u = cfg->users[i];
		if (!all && !streq(u->userid, call->authid) &&
		    !user_in_visible_group(call, cfg, u->userid, audit_privs))
			continue;
		if (filter && u->enable != enabled)
			continue;
		json_t *e = user_json(u);
		json_object_set_new(e, "userid", json_string(u->userid));
		const char *type = api_realm_type(call, u->userid);
		if (type)
			json_object_set_new(e, "realm-type", json_string(type));
		if (full) {
			/* the list's shapes: groups a comma string, tokens an array (or null) */
			_cleanup_free_ char *groups = usercfg_user_groups(cfg, u->userid);
			json_object_set_new(e, "groups", json_string(groups));
			json_t *tokens = json_null();
			if (u->n_tokens) {
				tokens = json_array();
				for (size_t t = 0; t < u->n_tokens; t++)
					json_array_append_new(tokens,
					                      token_entry_json(u->tokens[t]));
			}
			json_object_set_new(e, "tokens", tokens);
		}
		json_array_append_new(a, e);
	}
	*ret = a;
	return 0;
}

/* ---- POST /access/users ----------------------------------------------------- */

/* Adds userid to every group of the list; each must exist. */
static int join_groups(struct usercfg *cfg, const char *userid, const char *list,
                       struct error **err)
{
	_cleanup_strv_free_ char **groups = api_split_list(list);
	for (size_t i = 0; groups[i]; i++) {
		struct usercfg_group *g = usercfg_find_group(cfg, groups[i]);
		if (!g)
			return error_set(err, -ENOENT, 500, "no such group '%s'", groups[i]);
		usercfg_group_add_member(g, userid);
	}
	return 0;
}

static int do_create_user(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct api_call *call = arg;
	const char *userid = api_param_str(call, "userid");
	const char *password = api_param_str(call, "password");
	if (usercfg_find_user(cfg, userid))
		return error_set(err, -EEXIST, 500, "user '%s' already exists", userid);
	int r;
	if (password) {
		r = access_secrets_set_password(sec, userid, password, err);
		if (r < 0)
			return r;
	}
	struct usercfg_user *u = NULL;
	r = usercfg_add_user(cfg, userid, &u, err);
	if (r < 0)
		return r;
	u->enable = api_param_bool(call, "enable", true);
	u->expire = api_param_int(call, "expire", 0);
	r = join_groups(cfg, userid, api_param_str(call, "groups"), err);
	if (r < 0)
		return r;
	set_text(&u->firstname, api_param_str(call, "firstname"));
	set_text(&u->lastname, api_param_str(call, "lastname"));
	set_text(&u->email, api_param_str(call, "email"));
	set_text(&u->comment, api_param_str(call, "comment"));
	set_text(&u->keys, api_param_str(call, "keys"));
	return 0;
}

static int api_users_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *userid = api_param_str(call, "userid");
	if (!api_realm_type(call, userid)) {
		const char *at = strrchr(userid, '@');
		return error_set(err, -ENOENT, 500,
		                 "create user failed: auth domain '%s' does not exist",
		                 at ? at + 1 : "");
	}
	if (api_param_has(call, "password")) {
		int r = check_password_target(call, userid, err);
		if (r < 0)
			return r;
	}
	int r = api_access_update(call, NULL, do_create_user, call, "create user failed", err);
	if (r < 0)
		return r;
	log_info("user '%s' created by '%s'", userid, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- GET/PUT/DELETE /access/users/{userid} ------------------------------------ */

static int api_user_get(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	const struct usercfg_user *u = find_user(cfg, api_param_str(call, "userid"), err);
	if (!u)
		return -ENOENT;
	/* the single view's shapes: groups an array, tokens an object by name (or null) */
	json_t *o = user_json(u);
	json_t *groups = json_array();
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (usercfg_group_has_member(cfg->groups[i], u->userid))
			json_array_append_new(groups, json_string(cfg->groups[i]->groupid));
	json_object_set_new(o, "groups", groups);
	json_t *tokens = json_null();
	if (u->n_tokens) {
		tokens = json_object();
		for (size_t t = 0; t < u->n_tokens; t++)
			json_object_set_new(tokens, u->tokens[t]->name,
			                    token_info_json(u->tokens[t]));
	}
	json_object_set_new(o, "tokens", tokens);
	*ret = o;
	return 0;
}

static int do_update_user(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct api_call *call = arg;
	const char *userid = api_param_str(call, "userid");
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	if (api_param_has(call, "enable"))
		u->enable = api_param_bool(call, "enable", true);
	if (api_param_has(call, "expire"))
		u->expire = api_param_int(call, "expire", 0);
	if (api_param_has(call, "groups")) {
		if (!api_param_bool(call, "append", false))
			for (size_t i = 0; i < cfg->n_groups; i++)
				usercfg_group_remove_member(cfg->groups[i], userid);
		int r = join_groups(cfg, userid, api_param_str(call, "groups"), err);
		if (r < 0)
			return r;
	}
	static const char *const fields[] = {"firstname", "lastname", "email", "comment", "keys"};
	char **slots[] = {&u->firstname, &u->lastname, &u->email, &u->comment, &u->keys};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (api_param_has(call, fields[i]))
			set_text(slots[i], api_param_str(call, fields[i]));
	return 0;
}

static int api_user_update(struct api_call *call, json_t **ret, struct error **err)
{
	if (refuse_root_target(call, api_param_str(call, "userid"), err) < 0)
		return -EPERM;
	if (api_param_has(call, "append") && !api_param_has(call, "groups"))
		return error_param(err, "append", "parameter 'append' requires 'groups'");
	int r = api_access_update(call, NULL, do_update_user, call, "update user failed", err);
	if (r < 0)
		return r;
	log_info("user '%s' updated by '%s'", api_param_str(call, "userid"), call->authid);
	*ret = json_null();
	return 0;
}

static int do_delete_user(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	const char *userid = arg;
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	for (size_t i = 0; i < u->n_tokens; i++) {
		_cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, u->tokens[i]->name);
		access_secrets_remove_token(sec, tokenid);
	}
	access_secrets_remove_password(sec, userid);
	usercfg_remove_user(cfg, userid);
	return 0;
}

static int api_user_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *userid = api_param_str(call, "userid");
	if (refuse_root_target(call, userid, err) < 0)
		return -EPERM;
	int r = api_access_update(call, NULL, do_delete_user, (void *)userid, "delete user failed",
	                          err);
	if (r < 0)
		return r;
	log_info("user '%s' deleted by '%s'", userid, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- tokens ----------------------------------------------------------------- */

/* The {tokenid} path part: [A-Za-z][A-Za-z0-9._-]+ (no schema format covers
 * the name alone). */
static int check_token_name(struct api_call *call, struct error **err)
{
	if (!usercfg_verify_token_name(api_param_str(call, "tokenid")))
		return error_param(err, "tokenid",
		                   "invalid format - value does not match the regex pattern");
	return 0;
}

static int api_tokens_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	const struct usercfg_user *u = find_user(cfg, api_param_str(call, "userid"), err);
	if (!u)
		return -ENOENT;
	json_t *a = json_array();
	for (size_t t = 0; t < u->n_tokens; t++)
		json_array_append_new(a, token_entry_json(u->tokens[t]));
	*ret = a;
	return 0;
}

static int api_token_get(struct api_call *call, json_t **ret, struct error **err)
{
	if (check_token_name(call, err) < 0)
		return -EINVAL;
	const struct usercfg_token *t =
	    find_token(access_db_usercfg(call->db), api_param_str(call, "userid"),
	               api_param_str(call, "tokenid"), err);
	if (!t)
		return -ENOENT;
	*ret = token_info_json(t);
	return 0;
}

struct token_change {
	struct api_call *call;
	char *secret; /* new secret, shown once */
	json_t *info; /* the token after the change */
};

static void token_change_clear(struct token_change *c)
{
	if (c->secret) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	json_decref(c->info);
}

static int do_create_token(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct token_change *c = arg;
	const char *userid = api_param_str(c->call, "userid");
	const char *name = api_param_str(c->call, "tokenid");
	if (!usercfg_find_user(cfg, userid))
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	struct usercfg_token *t = NULL;
	int r = usercfg_add_token(cfg, userid, name, &t, err);
	if (r < 0)
		return r;
	t->privsep = api_param_bool(c->call, "privsep", true);
	t->expire = api_param_int(c->call, "expire", 0);
	set_text(&t->comment, api_param_str(c->call, "comment"));
	_cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, name);
	c->secret = access_secrets_new_token(sec, tokenid);
	/* PVE's info holds what was given: privsep always, expire and comment if set */
	c->info = json_pack("{s:i}", "privsep", t->privsep ? 1 : 0);
	if (api_param_has(c->call, "expire"))
		json_object_set_new(c->info, "expire", json_integer((json_int_t)t->expire));
	set_opt_str(c->info, "comment", t->comment);
	return 0;
}

static int api_token_create(struct api_call *call, json_t **ret, struct error **err)
{
	if (refuse_root_target(call, api_param_str(call, "userid"), err) < 0)
		return -EPERM;
	if (check_token_name(call, err) < 0)
		return -EINVAL;
	const char *userid = api_param_str(call, "userid");
	const char *name = api_param_str(call, "tokenid");
	const struct usercfg *cfg = access_db_usercfg(call->db);
	if (!find_user(cfg, userid, err))
		return -ENOENT;
	if (usercfg_find_token(cfg, userid, name))
		return error_param(err, "tokenid", "Token already exists.");
	struct token_change c = {.call = call};
	int r = api_access_update(call, NULL, do_create_token, &c, "generating token failed", err);
	if (r < 0) {
		token_change_clear(&c);
		return r;
	}
	log_info("API token '%s!%s' created by '%s'", userid, name, call->authid);
	*ret = json_pack("{s:o, s:O, s:s}", "full-tokenid", json_sprintf("%s!%s", userid, name),
	                 "info", c.info, "value", c.secret);
	token_change_clear(&c);
	return 0;
}

static int do_update_token(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct token_change *c = arg;
	struct api_call *call = c->call;
	const char *userid = api_param_str(call, "userid");
	const char *name = api_param_str(call, "tokenid");
	if (!usercfg_find_user(cfg, userid))
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	struct usercfg_token *t = usercfg_find_token(cfg, userid, name);
	if (!t)
		return error_set(err, -ENOENT, 500, "no such token '%s' for user '%s'", name,
		                 userid);
	_cleanup_strv_free_ char **del = api_split_list(api_param_str(call, "delete"));
	for (size_t i = 0; del[i]; i++) {
		if (streq(del[i], "comment"))
			set_text(&t->comment, NULL);
		else if (streq(del[i], "expire"))
			t->expire = 0;
		else
			return error_param(err, "delete", "cannot delete '%s'", del[i]);
	}
	if (api_param_has(call, "privsep"))
		t->privsep = api_param_bool(call, "privsep", true);
	if (api_param_has(call, "expire"))
		t->expire = api_param_int(call, "expire", 0);
	if (api_param_has(call, "comment"))
		set_text(&t->comment, api_param_str(call, "comment"));
	if (api_param_bool(call, "regenerate", false)) {
		_cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, name);
		c->secret = access_secrets_new_token(sec, tokenid);
	}
	c->info = token_info_json(t);
	return 0;
}

static int api_token_update(struct api_call *call, json_t **ret, struct error **err)
{
	if (refuse_root_target(call, api_param_str(call, "userid"), err) < 0)
		return -EPERM;
	if (check_token_name(call, err) < 0)
		return -EINVAL;
	const char *userid = api_param_str(call, "userid");
	const char *name = api_param_str(call, "tokenid");
	struct token_change c = {.call = call};
	int r =
	    api_access_update(call, NULL, do_update_token, &c, "updating token info failed", err);
	if (r < 0) {
		token_change_clear(&c);
		return r;
	}
	json_t *o = json_incref(c.info);
	if (c.secret) {
		log_info("API token '%s!%s' regenerated by '%s'", userid, name, call->authid);
		json_object_set_new(o, "value", json_string(c.secret));
		json_object_set_new(o, "full-tokenid", json_sprintf("%s!%s", userid, name));
	}
	token_change_clear(&c);
	*ret = o;
	return 0;
}

static int do_delete_token(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct api_call *call = arg;
	const char *userid = api_param_str(call, "userid");
	const char *name = api_param_str(call, "tokenid");
	if (!usercfg_find_user(cfg, userid))
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	if (!usercfg_remove_token(cfg, userid, name))
		return error_set(err, -ENOENT, 500, "no such token '%s' for user '%s'", name,
		                 userid);
	_cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, name);
	access_secrets_remove_token(sec, tokenid);
	return 0;
}

static int api_token_delete(struct api_call *call, json_t **ret, struct error **err)
{
	if (refuse_root_target(call, api_param_str(call, "userid"), err) < 0)
		return -EPERM;
	if (check_token_name(call, err) < 0)
		return -EINVAL;
	int r = api_access_update(call, NULL, do_delete_token, call, "deleting token failed", err);
	if (r < 0)
		return r;
	log_info("API token '%s!%s' deleted by '%s'", api_param_str(call, "userid"),
	         api_param_str(call, "tokenid"), call->authid);
	*ret = json_null();
	return 0;
}

/* ---- PUT /access/password ----------------------------------------------------- */

static int do_set_password(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct api_call *call = arg;
	const char *userid = api_param_str(call, "userid");
	if (!usercfg_find_user(cfg, userid))
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	return access_secrets_set_password(sec, userid, api_param_str(call, "password"), err);
}

static int api_password_change(struct api_call *call, json_t **ret, struct error **err)
{
	const char *userid = api_param_str(call, "userid");
	bool root = streq(call->authid, "root@pam");
	if (!find_user(access_db_usercfg(call->db), userid, err))
		return -ENOENT;
	if (!root && streq(userid, "root@pam"))
		return error_set(err, -EPERM, 403,
		                 "Permission check failed (only root@pam may change its password)");
	int r = check_password_target(call, userid, err);
	if (r < 0)
		return r;
	if (!root) {
		/* everyone but root proves who they are again (PVE 8.1) */
		const char *confirm = api_param_str(call, "confirmation-password");
		if (!confirm)
			return error_param(err, "confirmation-password",
			                   "confirmation password is required");
		_cleanup_free_ char *who = NULL, *reason = NULL;
		_cleanup_error_ struct error *e = NULL;
		if (access_login(call->ctx->access, call->userid, NULL, confirm, call->peer,
		                 call->ctx->pam_service, &who, &reason, &e) < 0 ||
		    !streq(who, call->userid)) {
			log_info("password change for '%s' by '%s': wrong confirmation password",
			         userid, call->userid);
			call->delay_ms =
			    login_limiter_fail(call->ctx->limiter, call->userid, call->peer,
			                       call->ctx->login_fail_delay_ms);
			return error_set(
			    err, -EPERM, 403,
			    "Permission check failed (confirmation password is wrong)");
		}
	}
	r = api_access_update(call, NULL, do_set_password, call, "change password failed", err);
	if (r < 0)
		return r;
	log_info("password of '%s' changed by '%s'", userid, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- the rows ---------------------------------------------------------------- */

#define P_USERID                                                                             \
	{                                                                                    \
		.name = "userid", .type = API_TYPE_STRING, .format = "pve-userid",           \
		.max_length = 64, .description = "Full User ID, in the `name@realm` format." \
	}
#define P_TOKENID                                                             \
	{                                                                     \
		.name = "tokenid", .type = API_TYPE_STRING, .max_length = 64, \
		.description = "User-specific token identifier."              \
	}
#define P_ENABLE                                                                                   \
	{                                                                                          \
		.name = "enable", .type = API_TYPE_BOOLEAN, .optional = true, .default_text = "1", \
		.description =                                                                     \
		    "Enable the account (default). You can set this to '0' to disable the "        \
		    "account"                                                                      \
	}
#define P_EXPIRE(d)                                                                            \
	{                                                                                      \
		.name = "expire", .type = API_TYPE_INTEGER, .optional = true, .has_min = true, \
		.minimum = 0, .has_max = true, .maximum = 4102444800LL, .description = (d)     \
	}
#define P_TEXT(n, max)                                                                      \
	{                                                                                   \
		.name = (n), .type = API_TYPE_STRING, .optional = true, .max_length = (max) \
	}
#define P_EMAIL                                                                                \
	{                                                                                      \
		.name = "email", .type = API_TYPE_STRING, .format = "email", .optional = true, \
		.max_length = 254                                                              \
	}
#define P_GROUPS                                                                         \
	{                                                                                \
		.name = "groups", .type = API_TYPE_STRING, .format = "pve-groupid-list", \
		.optional = true, .max_length = 4096                                     \
	}
#define USER_FIELDS                                                                                \
	P_ENABLE,                                                                                  \
	    P_EXPIRE("Account expiration date (seconds since epoch). '0' means no "                \
	             "expiration date."),                                                          \
	    P_TEXT("firstname", 1024), P_TEXT("lastname", 1024), P_EMAIL, P_TEXT("comment", 4096), \
	    {.name = "keys",                                                                       \
	     .type = API_TYPE_STRING,                                                              \
	     .optional = true,                                                                     \
	     .max_length = 4096,                                                                   \
	     .description = "Keys for two factor auth (yubico)."},                                 \
	    P_GROUPS
#define TOKEN_FIELDS                                                                          \
	P_EXPIRE("API token expiration date (seconds since epoch). '0' means no expiration "  \
	         "date."),                                                                    \
	    {.name = "privsep",                                                               \
	     .type = API_TYPE_BOOLEAN,                                                        \
	     .optional = true,                                                                \
	     .default_text = "1",                                                             \
	     .description = "Restrict API token privileges with separate ACLs (default), or " \
	                    "give full privileges of corresponding user."},                   \
	    P_TEXT("comment", 4096)

static const struct api_check check_userid_realm = {.kind = API_CHECK_USERID_REALM};
static const struct api_check check_self = {.kind = API_CHECK_USERID_SELF};
static const struct api_check check_group_create = {
    .kind = API_CHECK_USERID_GROUP,
    .privs = API_PRIVS("User.Modify"),
    .groups_param = "create",
};
static const struct api_check check_group_update = {
    .kind = API_CHECK_USERID_GROUP,
    .privs = API_PRIVS("User.Modify"),
    .groups_param = "update",
};
static const struct api_check check_group_modify = {
    .kind = API_CHECK_USERID_GROUP,
    .privs = API_PRIVS("User.Modify"),
};
static const struct api_check check_group_audit = {
    .kind = API_CHECK_USERID_GROUP,
    .privs = API_PRIVS("User.Modify", "Sys.Audit"),
};

#define TOKEN_PERM                                                                             \
	API_CHECK_DESC(API_OR(&check_self, API_PERM("/access/users/{userid}", "User.Modify")), \
	               "The user itself, or 'User.Modify' on /access/users/<userid>.")

const struct api_method api_methods_users[] = {
    {
        .path = "/access/users",
        .verb = "GET",
        .name = "index",
        .description = "User index.",
        .params =
            (const struct api_param[]){{.name = "enabled",
                                        .type = API_TYPE_BOOLEAN,
                                        .optional = true,
                                        .description = "Optional filter for enable property."},
                                       {.name = "full",
                                        .type = API_TYPE_BOOLEAN,
                                        .optional = true,
                                        .default_text = "0",
                                        .description = "Include group and token information."},
                                       API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The returned list is restricted to users where you have "
                             "'User.Modify' or 'Sys.Audit' permissions on '/access/groups' "
                             "or on a group the user belongs too. But it always includes "
                             "the current (authenticated) user."),
        .handler = api_users_list,
    },
    {
        .path = "/access/users",
        .verb = "POST",
        .name = "create_user",
        .description = "Create new user.",
        .params = (const struct api_param[]){P_USERID,
                                             USER_FIELDS,
                                             {.name = "password",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .min_length = 5,
                                              .max_length = 64,
                                              .secret = true,
                                              .description = "Initial password."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK_DESC(API_AND(&check_userid_realm, &check_group_create),
                               "You need 'Realm.AllocateUser' on '/access/realm/<realm>' "
                               "on the realm of user <userid>, and 'User.Modify' "
                               "permissions to '/access/groups/<group>' for any group "
                               "specified (or 'User.Modify' on '/access/groups' if you "
                               "pass no groups."),
        .flags = API_PROTECTED,
        .handler = api_users_create,
    },
    {
        .path = "/access/users/{userid}",
        .verb = "GET",
        .name = "read_user",
        .description = "Get user configuration.",
        .params = (const struct api_param[]){P_USERID, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(&check_group_audit),
        .handler = api_user_get,
    },
    {
        .path = "/access/users/{userid}",
        .verb = "PUT",
        .name = "update_user",
        .description = "Update user configuration.",
        .params = (const struct api_param[]){P_USERID,
                                             USER_FIELDS,
                                             {.name = "append",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description =
                                                  "Add the groups to the user's groups instead of "
                                                  "replacing them (requires 'groups')."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(&check_group_update),
        .flags = API_PROTECTED,
        .handler = api_user_update,
    },
    {
        .path = "/access/users/{userid}",
        .verb = "DELETE",
        .name = "delete_user",
        .description = "Delete user.",
        .params = (const struct api_param[]){P_USERID, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_AND(&check_userid_realm, &check_group_modify)),
        .flags = API_PROTECTED,
        .handler = api_user_delete,
    },
    {
        .path = "/access/users/{userid}/token",
        .verb = "GET",
        .name = "token_index",
        .description = "Get user API tokens.",
        .params = (const struct api_param[]){P_USERID, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = TOKEN_PERM,
        .handler = api_tokens_list,
    },
    {
        .path = "/access/users/{userid}/token/{tokenid}",
        .verb = "GET",
        .name = "read_token",
        .description = "Get specific API token information.",
        .params = (const struct api_param[]){P_USERID, P_TOKENID, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = TOKEN_PERM,
        .handler = api_token_get,
    },
    {
        .path = "/access/users/{userid}/token/{tokenid}",
        .verb = "POST",
        .name = "generate_token",
        .description = "Generate a new API token for a specific user. NOTE: returns API "
                       "token value, which needs to be stored as it cannot be retrieved "
                       "afterwards!",
        .params = (const struct api_param[]){P_USERID, P_TOKENID, TOKEN_FIELDS, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = TOKEN_PERM,
        .flags = API_PROTECTED,
        .handler = api_token_create,
    },
    {
        .path = "/access/users/{userid}/token/{tokenid}",
        .verb = "PUT",
        .name = "update_token_info",
        .description = "Update API token for a specific user.",
        .params =
            (const struct api_param[]){
                P_USERID,
                P_TOKENID,
                TOKEN_FIELDS,
                {.name = "regenerate",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Regenerate the secret; the new value is returned "
                                "once."},
                {.name = "delete",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 64,
                 .description = "A list of settings you want to delete (comment, "
                                "expire)."},
                API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = TOKEN_PERM,
        .flags = API_PROTECTED,
        .handler = api_token_update,
    },
    {
        .path = "/access/users/{userid}/token/{tokenid}",
        .verb = "DELETE",
        .name = "remove_token",
        .description = "Remove API token for a specific user.",
        .params = (const struct api_param[]){P_USERID, P_TOKENID, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = TOKEN_PERM,
        .flags = API_PROTECTED,
        .handler = api_token_delete,
    },
    {
        .path = "/access/password",
        .verb = "PUT",
        .name = "change_password",
        .description = "Change user password.",
        .params = (const struct api_param[]){P_USERID,
                                             {.name = "password",
                                              .type = API_TYPE_STRING,
                                              .min_length = 5,
                                              .max_length = 64,
                                              .secret = true,
                                              .description = "The new password."},
                                             {.name = "confirmation-password",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .max_length = 64,
                                              .secret = true,
                                              .description =
                                                  "The current password of the user performing the "
                                                  "change."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm =
            API_CHECK_DESC(API_OR(&check_self, API_AND(&check_userid_realm, &check_group_modify)),
                           "Each user is allowed to change their own password. A user can change "
                           "the password of another user if they have 'Realm.AllocateUser' (on the "
                           "realm of user <userid>) and 'User.Modify' permission on "
                           "/access/groups/<group> on a group where user <userid> is member of."),
        .flags = API_NO_TOKEN | API_PROTECTED,
        .handler = api_password_change,
    },
    {.path = NULL},
};
