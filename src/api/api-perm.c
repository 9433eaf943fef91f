/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Permission expressions of method rows (pve-api.md 4.8), evaluated against
 * the access snapshot the request was authenticated with.  root@pam passes
 * everything; a denial names the first path and privilege that failed, as
 * Proxmox does: "Permission check failed (/vms/100, VM.Audit)".
 */
#include "common.h"

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "error.h"
#include "strbuf.h"
#include "xalloc.h"

char *api_expand_path(const char *tmpl, const json_t *params, const char *missing)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = tmpl; *p;) {
		const char *open = strchr(p, '{');
		const char *close = open ? strchr(open, '}') : NULL;
		if (!open || !close) {
			strbuf_addstr(&sb, p);
			break;
		}
		strbuf_add(&sb, p, (size_t)(open - p));
		_cleanup_free_ char *name = xstrndup(open + 1, (size_t)(close - open - 1));
		json_t *v = json_object_get(params, name);
		if (!v || (json_is_string(v) && !*json_string_value(v))) {
			strbuf_addstr(&sb, missing);
		} else if (json_is_string(v)) {
			strbuf_addstr(&sb, json_string_value(v));
		} else if (json_is_integer(v)) {
			strbuf_addf(&sb, "%lld", (long long)json_integer_value(v));
		} else {
			strbuf_release(&sb);
			return NULL;
		}
		p = close + 1;
	}
	return strbuf_detach(&sb, NULL);
}

bool api_call_has_priv(const struct api_call *call, const char *path, const char *priv)
{
	if (streq(call->authid, "root@pam"))
		return true;
	return access_db_check(call->db, call->authid, path, priv);
}

/* Records the first failure for the 403 message. */
struct denial {
	char *path;
	char *priv;
};

static void deny(struct denial *d, const char *path, const char *priv)
{
	if (d->path)
		return;
	d->path = xstrdup(path);
	d->priv = xstrdup(priv);
}

static bool eval(const struct api_call *call, const struct api_check *c, struct denial *d)
{
	switch (c->kind) {
	case API_CHECK_PERM: {
		/* Proxmox: without the required parameter the check fails */
		if (c->require_param && !api_param_has(call, c->require_param)) {
			deny(d, c->path, c->privs[0]);
			return false;
		}
		_cleanup_free_ char *path = api_expand_path(c->path, call->params, "-");
		if (!path) {
			deny(d, c->path, c->privs[0]);
			return false;
		}
		for (const char *const *p = c->privs; *p; p++) {
			bool ok = api_call_has_priv(call, path, *p);
			if (c->any && ok)
				return true;
			if (!c->any && !ok) {
				deny(d, path, *p);
				return false;
			}
		}
		if (c->any) {
			_cleanup_free_ char *list = NULL;
			struct strbuf sb = STRBUF_INIT;
			for (const char *const *p = c->privs; *p; p++)
				strbuf_addf(&sb, "%s%s", p == c->privs ? "" : ",", *p);
			list = strbuf_detach(&sb, NULL);
			deny(d, path, list);
			return false;
		}
		return true;
	}
	case API_CHECK_AND:
		for (const struct api_check *const *s = c->subs; *s; s++)
			if (!eval(call, *s, d))
				return false;
		return true;
	case API_CHECK_OR:
		for (const struct api_check *const *s = c->subs; *s; s++) {
			struct denial sub = {0};
			bool ok = eval(call, *s, &sub);
			if (!ok && !d->path) {
				d->path = TAKE_PTR(sub.path);
				d->priv = TAKE_PTR(sub.priv);
			}
			free(sub.path);
			free(sub.priv);
			if (ok) {
				free(d->path);
				free(d->priv);
				d->path = d->priv = NULL;
				return true;
			}
		}
		return false;
	case API_CHECK_USERID_SELF: {
		const char *userid = api_param_str(call, "userid");
		if (userid && !call->is_token && streq(userid, call->userid))
			return true;
		deny(d, "/access", "self");
		return false;
	}
	case API_CHECK_USERID_REALM: {
		const char *userid = api_param_str(call, "userid");
		const char *at = userid ? strrchr(userid, '@') : NULL;
		_cleanup_free_ char *path = xasprintf("/access/realm/%s", at ? at + 1 : "");
		if (at && api_call_has_priv(call, path, "Realm.AllocateUser"))
			return true;
		deny(d, path, "Realm.AllocateUser");
		return false;
	}
	case API_CHECK_USERID_GROUP:
		return access_db_check_userid_group(
		           call->db, call->authid, api_param_str(call, "userid"),
		           api_param_str(call, "groups"), c->privs, c->groups_param) ||
		       (deny(d, "/access/groups", c->privs[0]), false);
	case API_CHECK_PERM_MODIFY: {
		/* an empty or missing path means /access (check_perm_modify) */
		_cleanup_free_ char *path = api_expand_path(c->path, call->params, "");
		if (!path) {
			deny(d, c->path, "Permissions.Modify");
			return false;
		}
		if (api_can_modify_perm(call, path))
			return true;
		deny(d, *path ? path : "/access", "Permissions.Modify");
		return false;
	}
	}
	return false;
}

int api_check_permissions(const struct api_call *call, struct error **err)
{
	const struct api_method *m = call->method;
	if (streq(call->authid, "root@pam"))
		return 0;
	switch (m->perm.user) {
	case API_PERM_WORLD:
	case API_PERM_ALL:
		return 0;
	case API_PERM_ROOT:
		return error_set(err, -EPERM, 403, "Permission check failed (user != root@pam)");
	case API_PERM_CHECK:
		break;
	}
	struct denial d = {0};
	if (eval(call, m->perm.check, &d))
		return 0;
	int r = error_set(err, -EPERM, 403, "Permission check failed (%s, %s)",
	                  d.path ? d.path : "/", d.priv ? d.priv : "?");
	free(d.path);
	free(d.priv);
	return r;
}

/* ---- parameter accessors -------------------------------------------------- */

const char *api_param_str(const struct api_call *call, const char *name)
{
	json_t *v = json_object_get(call->params, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long api_param_int(const struct api_call *call, const char *name, long long def)
{
	json_t *v = json_object_get(call->params, name);
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

bool api_param_bool(const struct api_call *call, const char *name, bool def)
{
	json_t *v = json_object_get(call->params, name);
	return json_is_integer(v) ? json_integer_value(v) != 0 : def;
}

bool api_param_has(const struct api_call *call, const char *name)
{
	return json_object_get(call->params, name) != NULL;
}
