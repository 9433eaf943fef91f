/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /access/domains: the realms (pve-api.md 3.1, 3.4), after
 * PVE::API2::Domains.
 *
 * ctvm logs in through two realm types only: pam (host accounts, checked by
 * PAM) and pve (accounts that exist only in ctvm, hashes in
 * priv/shadow.cfg).  `pam` and `pve` always exist and cannot be deleted.
 * Realms of other types (ldap, ad, openid) copied from a Proxmox node are
 * listed and kept, but cannot be created.  A second realm of type pam is
 * allowed (it authenticates against the same host accounts); a second one
 * of type pve is not, because shadow.cfg is keyed by the realm-less user
 * name, so two pve-type realms would share passwords.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "domains.h"
#include "error.h"
#include "log.h"
#include "section-config.h"
#include "xalloc.h"

static bool is_builtin(const char *realm)
{
	return streq(realm, "pam") || streq(realm, "pve");
}

static int update_domains(struct api_call *call, const char *digest, access_update_domains_fn fn,
                          void *arg, const char *what, struct error **err)
{
	struct error *e = NULL;
	int r = access_store_update_domains(call->ctx->access, digest, fn, arg, &e);
	if (r < 0) {
		if (e && e->http_status == 500)
			error_prefix(e, "%s", what);
		error_propagate(err, e);
	}
	return r;
}

/* ---- GET /access/domains ---------------------------------------------------------- */

static int api_domains_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct domains *d = access_db_domains(call->db);
	json_t *a = json_array();
	struct realm_info ri;
	for (size_t i = 0; domains_get(d, i, &ri); i++) {
		json_t *e = json_pack("{s:s, s:s}", "realm", ri.realm, "type", ri.type);
		if (ri.comment)
			json_object_set_new(e, "comment", json_string(ri.comment));
		if (ri.is_default)
			json_object_set_new(e, "default", json_integer(1));
		if (ri.tfa) {
			/* the list shows the tfa type only ("type=oath,..." -> "oath") */
			const char *t = ri.tfa + (str_startswith(ri.tfa, "type=") ? 5 : 0);
			json_object_set_new(e, "tfa", json_stringn(t, strcspn(t, ",")));
		}
		json_array_append_new(a, e);
	}
	*ret = a;
	return 0;
}

/* ---- GET /access/domains/{realm} ----------------------------------------------------- */

static int api_domain_get(struct api_call *call, json_t **ret, struct error **err)
{
	const char *realm = api_param_str(call, "realm");
	/* read-only use of the snapshot's sections */
	struct section_config *c = domains_config((struct domains *)access_db_domains(call->db));
	const struct section *s = section_config_find(c, realm);
	if (!s)
		return error_set(err, -ENOENT, 500, "domain '%s' does not exist", realm);
	json_t *o = json_pack("{s:s}", "type", s->type);
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct section_kv *kv = &s->kv[i];
		if (streq(kv->key, "default"))
			json_object_set_new(
			    o, "default", json_integer(kv->value && streq(kv->value, "0") ? 0 : 1));
		else if (kv->value)
			json_object_set_new(o, kv->key, json_string(kv->value));
	}
	json_object_set_new(o, "digest", json_string(access_db_domains_digest(call->db)));
	*ret = o;
	return 0;
}

/* ---- POST/PUT/DELETE ------------------------------------------------------------------ */

/* Validates and sets one option from the request. */
static int set_option(struct section *s, struct api_call *call, const char *key, struct error **err)
{
	if (!api_param_has(call, key))
		return 0;
	if (streq(key, "default")) {
		if (api_param_bool(call, key, false))
			section_set(s, key, "1");
		else
			section_unset(s, key);
		return 0;
	}
	const char *v = api_param_str(call, key);
	if (!v || !*v) {
		section_unset(s, key);
		return 0;
	}
	_cleanup_free_ char *norm = NULL;
	const char *type = s->unknown ? "pam" : s->type; /* same options for every type */
	int r = section_schema_check_value(domains_schema(), type, key, v, &norm, err);
	if (r < 0)
		return r;
	section_set(s, key, norm);
	return 0;
}

/* A new default realm takes the flag from every other one. */
static void clear_other_defaults(struct section_config *c, const char *realm)
{
	for (size_t i = 0; i < c->n_sections; i++)
		if (!streq(c->sections[i]->id, realm))
			section_unset(c->sections[i], "default");
}

static const char *const options[] = {"comment", "default", "tfa"};

static int do_create_domain(struct domains *d, void *arg, struct error **err)
{
	struct api_call *call = arg;
	const char *realm = api_param_str(call, "realm");
	struct section_config *c = domains_config(d);
	if (section_config_find(c, realm))
		return error_set(err, -EEXIST, 500, "domain '%s' already exists", realm);
	struct section *s = NULL;
	int r = section_config_add(c, api_param_str(call, "type"), realm, &s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		r = set_option(s, call, options[i], err);
		if (r < 0)
			return r;
	}
	if (api_param_bool(call, "default", false))
		clear_other_defaults(c, realm);
	return 0;
}

static int api_domain_create(struct api_call *call, json_t **ret, struct error **err)
{
	const char *realm = api_param_str(call, "realm");
	const char *type = api_param_str(call, "type");
	if (is_builtin(realm))
		return error_set(err, -EEXIST, 500,
		                 "add auth server failed: unable to use "
		                 "reserved name '%s'",
		                 realm);
	if (streq(type, "pve"))
		return error_set(err, -EOPNOTSUPP, 400,
		                 "realm type 'pve' is not supported for new realms - use the "
		                 "built-in realm 'pve'");
	if (!streq(type, "pam"))
		return error_set(err, -EOPNOTSUPP, 400, "realm type '%s' is not supported", type);
	int r = update_domains(call, NULL, do_create_domain, call, "add auth server failed", err);
	if (r < 0)
		return r;
	log_info("realm '%s' (%s) created by '%s'", realm, type, call->authid);
	*ret = json_null();
	return 0;
}

static int do_update_domain(struct domains *d, void *arg, struct error **err)
{
	struct api_call *call = arg;
	const char *realm = api_param_str(call, "realm");
	struct section_config *c = domains_config(d);
	struct section *s = section_config_find(c, realm);
	if (!s)
		return error_set(err, -ENOENT, 500, "domain '%s' does not exist", realm);
	_cleanup_strv_free_ char **del = api_split_list(api_param_str(call, "delete"));
	for (size_t i = 0; del[i]; i++) {
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(options); k++)
			known |= streq(del[i], options[k]);
		if (!known)
			return error_param(err, "delete", "cannot delete '%s'", del[i]);
		if (api_param_has(call, del[i]))
			return error_param(err, "delete",
			                   "cannot set and delete property '%s' at the same time",
			                   del[i]);
		section_unset(s, del[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		int r = set_option(s, call, options[i], err);
		if (r < 0)
			return r;
	}
	if (api_param_bool(call, "default", false))
		clear_other_defaults(c, realm);
	return 0;
}

static int api_domain_update(struct api_call *call, json_t **ret, struct error **err)
{
	int r = update_domains(call, api_param_str(call, "digest"), do_update_domain, call,
	                       "update auth server failed", err);
	if (r < 0)
		return r;
	log_info("realm '%s' updated by '%s'", api_param_str(call, "realm"), call->authid);
	*ret = json_null();
	return 0;
}

static int do_delete_domain(struct domains *d, void *arg, struct error **err)
{
	const char *realm = arg;
	if (!section_config_remove(domains_config(d), realm))
		return error_set(err, -ENOENT, 500, "domain '%s' does not exist", realm);
	return 0;
}

static int api_domain_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *realm = api_param_str(call, "realm");
	if (is_builtin(realm))
		return error_set(err, -EPERM, 400, "cannot delete built-in realm '%s'", realm);
	int r = update_domains(call, NULL, do_delete_domain, (void *)realm,
	                       "delete auth server failed", err);
	if (r < 0)
		return r;
	log_info("realm '%s' deleted by '%s'", realm, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- the rows ------------------------------------------------------------------------- */

static const char *const realm_types[] = {"ad", "ldap", "openid", "pam", "pve", NULL};

#define P_REALM                                                                                    \
	{                                                                                          \
		.name = "realm", .type = API_TYPE_STRING, .format = "pve-realm", .max_length = 32, \
		.description = "Authentication domain ID"                                          \
	}
#define REALM_OPTIONS                                                                        \
	{.name = "comment",                                                                  \
	 .type = API_TYPE_STRING,                                                            \
	 .optional = true,                                                                   \
	 .max_length = 4096,                                                                 \
	 .description = "Description."},                                                     \
	    {.name = "default",                                                              \
	     .type = API_TYPE_BOOLEAN,                                                       \
	     .optional = true,                                                               \
	     .description = "Use this as default realm"},                                    \
	{                                                                                    \
		.name = "tfa", .type = API_TYPE_STRING, .optional = true, .max_length = 128, \
		.description = "Use Two-factor authentication."                              \
	}

const struct api_method api_methods_domains[] = {
    {
        .path = "/access/domains",
        .verb = "GET",
        .name = "index",
        .description = "Authentication domain index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = {.user = API_PERM_WORLD,
                 .description = "Anyone can access that, because we need that list for "
                                "the login box (before the user is authenticated)."},
        .handler = api_domains_list,
    },
    {
        .path = "/access/domains",
        .verb = "POST",
        .name = "create",
        .description = "Add an authentication server.",
        .params = (const struct api_param[]){P_REALM,
                                             {.name = "type",
                                              .type = API_TYPE_STRING,
                                              .enum_values = realm_types,
                                              .description = "Realm type."},
                                             REALM_OPTIONS,
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/realm", "Realm.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_domain_create,
    },
    {
        .path = "/access/domains/{realm}",
        .verb = "GET",
        .name = "read",
        .description = "Get auth server configuration.",
        .params = (const struct api_param[]){P_REALM, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM_ANY("/access/realm", "Realm.Allocate", "Sys.Audit")),
        .handler = api_domain_get,
    },
    {
        .path = "/access/domains/{realm}",
        .verb = "PUT",
        .name = "update",
        .description = "Update authentication server settings.",
        .params = (const struct api_param[]){P_REALM, REALM_OPTIONS, API_PARAM_DELETE,
                                             API_PARAM_DIGEST, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/realm", "Realm.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_domain_update,
    },
    {
        .path = "/access/domains/{realm}",
        .verb = "DELETE",
        .name = "delete",
        .description = "Delete an authentication server.",
        .params = (const struct api_param[]){P_REALM, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/realm", "Realm.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_domain_delete,
    },
    {.path = NULL},
};
