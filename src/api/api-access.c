/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* /access: login tickets (pve-api.md 2.2).  Users, groups, roles, ACLs and
 * realms live in api-access-*.c. */
#define LOG_CATEGORY "access"
#include "common.h"

#include "access.h"
#include "api-internal.h"
#include "api.h"
#include "auth.h"
#include "error.h"
#include "log.h"
#include "xalloc.h"

static int api_access_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"users",  "groups",   "roles",       "acl", "domains",
	                                    "ticket", "password", "permissions", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "subdir", *n));
	*ret = a;
	return 0;
}

static int api_ticket_get(struct api_call *call, json_t **ret, struct error **err)
{
	*ret = json_null();
	return 0;
}

/* A failed login: 401 "authentication failure" with the body {"data":null}
 * (proxmoxer reads .json()["data"]), after a delay that grows per user and
 * address.  The reason goes to the daemon log only. */
static int login_failed(struct api_call *call, const char *username, const char *reason,
                        json_t **ret, struct error **err)
{
	log_info("authentication failure; rhost=%s user=%s msg=%s", call->peer,
	         username ? username : "", reason ? reason : "");
	call->delay_ms = login_limiter_fail(call->ctx->limiter, username, call->peer,
	                                    call->ctx->login_fail_delay_ms);
	*ret = json_pack("{s:n}", "data");
	return error_set(err, -EACCES, 401, "authentication failure");
}

static int api_ticket_create(struct api_call *call, json_t **ret, struct error **err)
{
	struct api_context *ctx = call->ctx;
	const char *username = api_param_str(call, "username");
	const char *realm = api_param_str(call, "realm");
	const char *password = api_param_str(call, "password");
	_cleanup_free_ char *name = NULL;

	if (!strchr(username, '@') && realm)
		name = xasprintf("%s@%s", username, realm);
	else
		name = xstrdup(username);

	/* The user id as stored (the realm in its configured spelling), so that
	 * failures of one user count together however the realm is spelled;
	 * the client's spelling only when it names no realm we know. */
	_cleanup_free_ char *canonical = access_db_canonical_userid(call->db, name);
	const char *who = canonical ? canonical : name;

	if (api_param_has(call, "otp") || api_param_has(call, "tfa-challenge"))
		return login_failed(call, who, "two-factor authentication is not configured", ret,
		                    err);

	_cleanup_free_ char *userid = NULL;
	_cleanup_free_ char *reason = NULL;
	_cleanup_error_ struct error *e = NULL;

	/* renewal: the password is a still-valid ticket of the same user (or root's) */
	if (str_startswith(password, "PVE:")) {
		_cleanup_free_ char *tuser = NULL;
		time_t t;
		if (auth_ticket_verify(ctx->keys, password, call->now, &tuser, &t, &e) < 0)
			return login_failed(call, who, "invalid ticket", ret, err);
		/* User ids compare exactly, as in Proxmox: alice@pve and ALICE@pve
		 * are two users, only the realm's spelling is canonical.  The new
		 * ticket names the user as stored, never as the client spelled it. */
		if (!canonical || (!streq(tuser, canonical) && !streq(tuser, "root@pam")))
			return login_failed(call, who, "ticket of another user", ret, err);
		if (access_user_check(call->db, canonical, call->now, &e) < 0)
			return login_failed(call, who, e->msg, ret, err);
		userid = xstrdup(canonical);
	} else if (access_login(ctx->access, name, NULL, password, call->peer, ctx->pam_service,
	                        &userid, &reason, &e) < 0) {
		return login_failed(call, who, reason ? reason : (e ? e->msg : "?"), ret, err);
	}
	login_limiter_success(ctx->limiter, userid, call->peer);

	/* verify mode: check privs on path, no new ticket */
	const char *path = api_param_str(call, "path");
	const char *privs = api_param_str(call, "privs");
	if (path || privs) {
		if (!path || !privs)
			return error_param(err, path ? "privs" : "path",
			                   "parameters 'path' and 'privs' require each other");
		_cleanup_free_ char *copy = xstrdup(privs);
		char *save = NULL;
		for (char *p = strtok_r(copy, ",; ", &save); p; p = strtok_r(NULL, ",; ", &save))
			if (!streq(userid, "root@pam") &&
			    !access_db_check(call->db, userid, path, p))
				return login_failed(call, userid, "missing privilege", ret, err);
		*ret = json_pack("{s:s}", "username", userid);
		return 0;
	}

	_cleanup_free_ char *ticket = auth_ticket_create(ctx->keys, userid, call->now);
	_cleanup_free_ char *csrf = auth_csrf_create(ctx->keys, userid, call->now);
	log_info("successful auth for user '%s' from %s", userid, call->peer);
	*ret = json_pack("{s:s, s:s, s:s, s:o}", "username", userid, "ticket", ticket,
	                 "CSRFPreventionToken", csrf, "cap", access_cap_json(call->db, userid));
	return 0;
}

const struct api_method api_methods_access[] = {
    {
        .path = "/access",
        .verb = "GET",
        .name = "index",
        .description = "Directory index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_access_index,
    },
    {
        .path = "/access/ticket",
        .verb = "GET",
        .name = "get_ticket",
        .description = "Dummy. Useful for formatters which want to provide a login page.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_WORLD,
        .handler = api_ticket_get,
    },
    {
        .path = "/access/ticket",
        .verb = "POST",
        .name = "create_ticket",
        .description = "Create or verify authentication ticket.",
        .params =
            (const struct api_param[]){
                {.name = "username",
                 .type = API_TYPE_STRING,
                 .max_length = 64,
                 .description = "User name"},
                {.name = "realm",
                 .type = API_TYPE_STRING,
                 .format = "pve-realm",
                 .optional = true,
                 .description = "You can optionally pass the realm using this "
                                "parameter. Normally the realm is simply added to the "
                                "username <username>@<realm>."},
                {.name = "password",
                 .type = API_TYPE_STRING,
                 .max_length = 4096,
                 .secret = true,
                 .description = "The secret password. This can also be a valid "
                                "ticket."},
                {.name = "otp",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 1024,
                 .secret = true,
                 .description = "One-time password for Two-factor authentication."},
                {.name = "tfa-challenge",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 8192,
                 .secret = true,
                 .description = "The signed TFA challenge string the user wants to "
                                "respond to."},
                {.name = "path",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 64,
                 .description = "Verify ticket, and check if user have access 'privs' "
                                "on 'path'"},
                {.name = "privs",
                 .type = API_TYPE_STRING,
                 .format = "pve-priv-list",
                 .optional = true,
                 .max_length = 64,
                 .description = "Verify ticket, and check if user have access 'privs' "
                                "on 'path'"},
                {.name = "new-format",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "1",
                 .description = "This parameter is now ignored and assumed to be 1."},
                API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = {.user = API_PERM_WORLD, .description = "You need to pass valid credentials."},
        .flags = API_NO_TOKEN,
        .handler = api_ticket_create,
    },
    {.path = NULL},
};
