/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /access/groups and /access/roles (pve-api.md 4.3, 4.4), after
 * PVE::API2::Group and PVE::API2::Role.  Group membership is edited through
 * the users (PUT /access/users/{userid} groups=...); built-in roles can be
 * read but never changed.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <strings.h>

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "privileges.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

/* ---- groups ------------------------------------------------------------------ */

static int api_groups_list(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const privs[] = {"User.Modify", "Sys.Audit", "Group.Allocate", NULL};
	const struct usercfg *cfg = access_db_usercfg(call->db);
	json_t *a = json_array();
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct usercfg_group *g = cfg->groups[i];
		_cleanup_free_ char *path = xasprintf("/access/groups/%s", g->groupid);
		if (!api_call_has_any(call, path, privs))
			continue;
		struct strbuf users = STRBUF_INIT;
		for (size_t m = 0; m < g->n_members; m++)
			strbuf_addf(&users, "%s%s", m ? "," : "", g->members[m]);
		json_t *e = json_pack("{s:s, s:s}", "groupid", g->groupid, "users", users.buf);
		strbuf_release(&users);
		if (g->comment)
			json_object_set_new(e, "comment", json_string(g->comment));
		json_array_append_new(a, e);
	}
	*ret = a;
	return 0;
}

static int do_create_group(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct api_call *call = arg;
	struct usercfg_group *g = NULL;
	int r = usercfg_add_group(cfg, api_param_str(call, "groupid"), &g, err);
	if (r < 0)
		return r;
	const char *comment = api_param_str(call, "comment");
	if (comment && *comment)
		g->comment = xstrdup(comment);
	return 0;
}

static int api_group_create(struct api_call *call, json_t **ret, struct error **err)
{
	int r = api_access_update(call, NULL, do_create_group, call, "create group failed", err);
	if (r < 0)
		return r;
	log_info("group '%s' created by '%s'", api_param_str(call, "groupid"), call->authid);
	*ret = json_null();
	return 0;
}

static int api_group_get(struct api_call *call, json_t **ret, struct error **err)
{
	const char *groupid = api_param_str(call, "groupid");
	const struct usercfg_group *g = usercfg_find_group(access_db_usercfg(call->db), groupid);
	if (!g)
		return error_set(err, -ENOENT, 500, "group '%s' does not exist", groupid);
	json_t *members = json_array();
	for (size_t m = 0; m < g->n_members; m++)
		json_array_append_new(members, json_string(g->members[m]));
	json_t *o = json_pack("{s:o}", "members", members);
	if (g->comment)
		json_object_set_new(o, "comment", json_string(g->comment));
	*ret = o;
	return 0;
}

static int do_update_group(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	struct api_call *call = arg;
	const char *groupid = api_param_str(call, "groupid");
	struct usercfg_group *g = usercfg_find_group(cfg, groupid);
	if (!g)
		return error_set(err, -ENOENT, 500, "group '%s' does not exist", groupid);
	if (api_param_has(call, "comment")) {
		const char *comment = api_param_str(call, "comment");
		free(g->comment);
		g->comment = comment && *comment ? xstrdup(comment) : NULL;
	}
	return 0;
}

static int api_group_update(struct api_call *call, json_t **ret, struct error **err)
{
	int r = api_access_update(call, NULL, do_update_group, call, "update group failed", err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

static int do_delete_group(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                           struct error **err)
{
	const char *groupid = arg;
	if (!usercfg_remove_group(cfg, groupid))
		return error_set(err, -ENOENT, 500, "group '%s' does not exist", groupid);
	return 0;
}

static int api_group_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *groupid = api_param_str(call, "groupid");
	int r = api_access_update(call, NULL, do_delete_group, (void *)groupid,
	                          "delete group failed", err);
	if (r < 0)
		return r;
	log_info("group '%s' deleted by '%s'", groupid, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- roles ------------------------------------------------------------------- */

/* A privilege list as bits; names PVE 9 dropped (VM.Monitor) are accepted and
 * ignored so 8.x role definitions keep working.  Unknown names: 400. */
static int parse_privs(const char *list, uint64_t *ret, struct error **err)
{
	_cleanup_strv_free_ char **v = api_split_list(list);
	uint64_t bits = 0;
	for (size_t i = 0; v[i]; i++) {
		int p = priv_lookup(v[i]);
		if (p >= 0)
			bits |= UINT64_C(1) << p;
		else if (!priv_is_legacy(v[i]))
			return error_set(err, -EINVAL, 400, "invalid privilege '%s'", v[i]);
	}
	*ret = bits;
	return 0;
}

static json_t *privs_string(uint64_t bits)
{
	struct privset s = {.set = bits};
	_cleanup_free_ char *str = privset_to_string(&s);
	return json_string(str);
}

static int api_roles_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	json_t *a = json_array();
	for (size_t i = 0; i < special_role_count(); i++) {
		const struct special_role *r = special_role_get(i);
		json_array_append_new(a, json_pack("{s:s, s:o, s:i}", "roleid", r->name, "privs",
		                                   privs_string(r->privs), "special", 1));
	}
	for (size_t i = 0; i < cfg->n_roles; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:o, s:i}", "roleid", cfg->roles[i]->roleid, "privs",
		                 privs_string(cfg->roles[i]->privs), "special", 0));
	*ret = a;
	return 0;
}

static int api_role_get(struct api_call *call, json_t **ret, struct error **err)
{
	const char *roleid = api_param_str(call, "roleid");
	uint64_t bits;
	if (!usercfg_role_privs(access_db_usercfg(call->db), roleid, &bits))
		return error_set(err, -ENOENT, 500, "role '%s' does not exist", roleid);
	json_t *o = json_object();
	for (int p = 0; p < PRIV_COUNT; p++)
		if ((bits >> p) & 1)
			json_object_set_new(o, priv_name(p), json_integer(1));
	*ret = o;
	return 0;
}

struct role_change {
	const char *roleid;
	uint64_t privs;
	bool append;
};

static int do_create_role(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct role_change *c = arg;
	if (special_role_find(c->roleid))
		return error_set(err, -EEXIST, 500, "role '%s' already exists", c->roleid);
	struct usercfg_role *r = NULL;
	int ret = usercfg_add_role(cfg, c->roleid, &r, err);
	if (ret < 0)
		return ret;
	r->privs = c->privs;
	return 0;
}

static int api_role_create(struct api_call *call, json_t **ret, struct error **err)
{
	struct role_change c = {.roleid = api_param_str(call, "roleid")};
	if (strncasecmp(c.roleid, "PVE", 3) == 0)
		return error_param(err, "roleid",
		                   "cannot use role ID starting with the (case-insensitive) 'PVE' "
		                   "namespace");
	int r = parse_privs(api_param_str(call, "privs"), &c.privs, err);
	if (r < 0)
		return r;
	r = api_access_update(call, NULL, do_create_role, &c, "create role failed", err);
	if (r < 0)
		return r;
	log_info("role '%s' created by '%s'", c.roleid, call->authid);
	*ret = json_null();
	return 0;
}

static int do_update_role(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	struct role_change *c = arg;
	struct usercfg_role *r = usercfg_find_role(cfg, c->roleid);
	if (!r)
		return error_set(err, -ENOENT, 500, "role '%s' does not exist", c->roleid);
	r->privs = c->append ? (r->privs | c->privs) : c->privs;
	return 0;
}

static int api_role_update(struct api_call *call, json_t **ret, struct error **err)
{
	struct role_change c = {
	    .roleid = api_param_str(call, "roleid"),
	    .append = api_param_bool(call, "append", false),
	};
	if (special_role_find(c.roleid))
		return error_set(err, -EPERM, 400, "auto-generated role '%s' cannot be modified",
		                 c.roleid);
	if (api_param_has(call, "append") && !api_param_has(call, "privs"))
		return error_param(err, "append", "parameter 'append' requires 'privs'");
	int r = parse_privs(api_param_str(call, "privs"), &c.privs, err);
	if (r < 0)
		return r;
	r = api_access_update(call, NULL, do_update_role, &c, "update role failed", err);
	if (r < 0)
		return r;
	log_info("role '%s' updated by '%s'", c.roleid, call->authid);
	*ret = json_null();
	return 0;
}

static int do_delete_role(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                          struct error **err)
{
	const char *roleid = arg;
	if (!usercfg_remove_role(cfg, roleid))
		return error_set(err, -ENOENT, 500, "role '%s' does not exist", roleid);
	return 0;
}

static int api_role_delete(struct api_call *call, json_t **ret, struct error **err)
{
	const char *roleid = api_param_str(call, "roleid");
	if (special_role_find(roleid))
		return error_set(err, -EPERM, 400, "auto-generated role '%s' cannot be deleted",
		                 roleid);
	int r = api_access_update(call, NULL, do_delete_role, (void *)roleid, "delete role failed",
	                          err);
	if (r < 0)
		return r;
	log_info("role '%s' deleted by '%s'", roleid, call->authid);
	*ret = json_null();
	return 0;
}

/* ---- the rows ------------------------------------------------------------------ */

#define P_GROUPID                                                                    \
	{                                                                            \
		.name = "groupid", .type = API_TYPE_STRING, .format = "pve-groupid", \
		.max_length = 64                                                     \
	}
#define P_GROUP_COMMENT                                                                          \
	{                                                                                        \
		.name = "comment", .type = API_TYPE_STRING, .optional = true, .max_length = 4096 \
	}
#define P_ROLEID                                                                   \
	{                                                                          \
		.name = "roleid", .type = API_TYPE_STRING, .format = "pve-roleid", \
		.max_length = 64                                                   \
	}
#define P_PRIVS                                                                      \
	{                                                                            \
		.name = "privs", .type = API_TYPE_STRING, .format = "pve-priv-list", \
		.optional = true, .max_length = 4096                                 \
	}

const struct api_method api_methods_groups_roles[] = {
    {
        .path = "/access/groups",
        .verb = "GET",
        .name = "index",
        .description = "Group index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The returned list is restricted to groups where you have "
                             "'User.Modify', 'Sys.Audit'  or 'Group.Allocate' permissions "
                             "on /access/groups/<group>."),
        .handler = api_groups_list,
    },
    {
        .path = "/access/groups",
        .verb = "POST",
        .name = "create_group",
        .description = "Create new group.",
        .params = (const struct api_param[]){P_GROUPID, P_GROUP_COMMENT, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/groups", "Group.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_group_create,
    },
    {
        .path = "/access/groups/{groupid}",
        .verb = "GET",
        .name = "read_group",
        .description = "Get group configuration.",
        .params = (const struct api_param[]){P_GROUPID, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM_ANY("/access/groups", "Sys.Audit", "Group.Allocate")),
        .handler = api_group_get,
    },
    {
        .path = "/access/groups/{groupid}",
        .verb = "PUT",
        .name = "update_group",
        .description = "Update group data.",
        .params = (const struct api_param[]){P_GROUPID, P_GROUP_COMMENT, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/groups", "Group.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_group_update,
    },
    {
        .path = "/access/groups/{groupid}",
        .verb = "DELETE",
        .name = "delete_group",
        .description = "Delete group.",
        .params = (const struct api_param[]){P_GROUPID, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access/groups", "Group.Allocate")),
        .flags = API_PROTECTED,
        .handler = api_group_delete,
    },
    {
        .path = "/access/roles",
        .verb = "GET",
        .name = "index",
        .description = "Role index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_roles_list,
    },
    {
        .path = "/access/roles",
        .verb = "POST",
        .name = "create_role",
        .description = "Create new role.",
        .params = (const struct api_param[]){P_ROLEID, P_PRIVS, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access", "Sys.Modify")),
        .flags = API_PROTECTED,
        .handler = api_role_create,
    },
    {
        .path = "/access/roles/{roleid}",
        .verb = "GET",
        .name = "read_role",
        .description = "Get role configuration.",
        .params = (const struct api_param[]){P_ROLEID, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_role_get,
    },
    {
        .path = "/access/roles/{roleid}",
        .verb = "PUT",
        .name = "update_role",
        .description = "Update an existing role.",
        .params = (const struct api_param[]){P_ROLEID,
                                             P_PRIVS,
                                             {.name = "append",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description =
                                                  "Add the privileges instead of replacing them "
                                                  "(requires 'privs')."},
                                             API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access", "Sys.Modify")),
        .flags = API_PROTECTED,
        .handler = api_role_update,
    },
    {
        .path = "/access/roles/{roleid}",
        .verb = "DELETE",
        .name = "delete_role",
        .description = "Delete role.",
        .params = (const struct api_param[]){P_ROLEID, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(API_PERM("/access", "Sys.Modify")),
        .flags = API_PROTECTED,
        .handler = api_role_delete,
    },
    {.path = NULL},
};
