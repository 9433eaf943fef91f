/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /access/acl and /access/permissions (pve-api.md 4.5-4.9), after
 * PVE::API2::ACL, and the permission gate of the node shell
 * (POST /nodes/{node}/termproxy and vncshell).
 *
 * A caller that may change an ACL path only through VM.Allocate,
 * Datastore.Allocate or Pool.Allocate (not Permissions.Modify) can hand out
 * only privileges it holds there itself, so no one can grant more than they
 * have.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include "access.h"
#include "acl.h"
#include "api-access-util.h"
#include "api-console-rows.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "privileges.h"
#include "usercfg.h"
#include "xalloc.h"

/* ---- GET /access/acl ------------------------------------------------------------ */

static int api_acl_list(struct api_call *call, json_t **ret, struct error **err)
{
	const struct usercfg *cfg = access_db_usercfg(call->db);
	bool audit = api_call_has_priv(call, "/access", "Sys.Audit");
	json_t *a = json_array();
	const char *last_path = NULL;
	bool last_ok = false;
	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct usercfg_acl *e = cfg->acls[i];
		/* entries are sorted by path: decide once per path */
		if (!last_path || !streq(last_path, e->path)) {
			last_path = e->path;
			last_ok = audit || api_can_modify_perm(call, e->path);
		}
		if (!last_ok)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i}", "path", e->path,
		                                   "type", acl_subject_to_string(e->type), "ugid",
		                                   e->ugid, "roleid", e->roleid, "propagate",
		                                   e->propagate ? 1 : 0));
	}
	*ret = a;
	return 0;
}

/* ---- PUT /access/acl ------------------------------------------------------------ */

struct acl_change {
	struct api_call *call;
	const char *path; /* normalised */
	bool propagate;
	bool delete;
};

/* The caller may only pass on privileges it holds on the path (and holds
 * propagated, when adding a propagating entry), unless it has
 * Permissions.Modify there. */
static int check_role_grant(const struct acl_change *c, const char *roleid, uint64_t role_privs,
                            const struct privset *mine, struct error **err)
{
	const char *verb = c->delete ? "remove" : "add";
	if (privset_has(mine, priv_lookup("Permissions.Modify")))
		return 0;
	for (int p = 0; p < PRIV_COUNT; p++) {
		if (!((role_privs >> p) & 1))
			continue;
		if (!privset_has(mine, p))
			return error_param(err, "role",
			                   "Cannot %s role '%s' - requires 'Permissions.Modify' or "
			                   "superset of privileges.",
			                   verb, roleid);
		if (c->propagate && !c->delete &&!privset_propagates(mine, p))
			return error_param(err, "role",
			                   "Cannot %s role '%s' with propagation - requires "
			                   "'Permissions.Modify' or propagated superset of "
			                   "privileges.",
			                   verb, roleid);
	}
	/* NoAccess has no privileges to compare */
	if (streq(roleid, "NoAccess"))
		return error_param(err, "role",
		                   "Cannot %s role '%s' - requires 'Permissions.Modify'", verb,
		                   roleid);
	return 0;
}

static int apply(struct usercfg *cfg, const struct acl_change *c, enum acl_subject type,
                 const char *ugid, const char *roleid, struct error **err)
{
	if (c->delete) {
		usercfg_acl_remove(cfg, c->path, type, ugid, roleid);
		return 0;
	}
	return usercfg_acl_set(cfg, c->path, type, ugid, roleid, c->propagate, err);
}

static int do_update_acl(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                         struct error **err)
{
	struct acl_change *c = arg;
	struct api_call *call = c->call;
	_cleanup_strv_free_ char **roles = api_split_list(api_param_str(call, "roles"));
	_cleanup_strv_free_ char **groups = api_split_list(api_param_str(call, "groups"));
	_cleanup_strv_free_ char **users = api_split_list(api_param_str(call, "users"));
	_cleanup_strv_free_ char **tokens = api_split_list(api_param_str(call, "tokens"));
	struct privset mine;
	access_permissions(access_db_usercfg(call->db), call->authid, c->path, &mine);

	for (size_t r = 0; roles[r]; r++) {
		uint64_t privs;
		if (!usercfg_role_privs(cfg, roles[r], &privs))
			return error_set(err, -ENOENT, 500, "role '%s' does not exist", roles[r]);
		int ret = check_role_grant(c, roles[r], privs, &mine, err);
		if (ret < 0)
			return ret;
		for (size_t i = 0; groups[i]; i++) {
			if (!usercfg_find_group(cfg, groups[i]))
				return error_set(err, -ENOENT, 500, "group '%s' does not exist",
				                 groups[i]);
			ret = apply(cfg, c, ACL_SUBJECT_GROUP, groups[i], roles[r], err);
			if (ret < 0)
				return ret;
		}
		for (size_t i = 0; users[i]; i++) {
			if (!usercfg_find_user(cfg, users[i]))
				return error_set(err, -ENOENT, 500, "user '%s' does not exist",
				                 users[i]);
			ret = apply(cfg, c, ACL_SUBJECT_USER, users[i], roles[r], err);
			if (ret < 0)
				return ret;
		}
		for (size_t i = 0; tokens[i]; i++) {
			_cleanup_free_ char *userid = NULL, *name = NULL;
			if (!usercfg_split_tokenid(tokens[i], &userid, &name))
				return error_param(err, "tokens", "invalid API token ID '%s'",
				                   tokens[i]);
			if (!usercfg_find_user(cfg, userid))
				return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
			if (!usercfg_find_token(cfg, userid, name))
				return error_set(err, -ENOENT, 500,
				                 "no such token '%s' for user '%s'", name, userid);
			ret = apply(cfg, c, ACL_SUBJECT_TOKEN, tokens[i], roles[r], err);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int api_acl_update(struct api_call *call, json_t **ret, struct error **err)
{
	const char *users = api_param_str(call, "users");
	const char *groups = api_param_str(call, "groups");
	const char *tokens = api_param_str(call, "tokens");
	if (!(users && *users) && !(groups && *groups) && !(tokens && *tokens)) {
		static const char *const names[] = {"users", "groups", "tokens"};
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			error_param(err, names[i],
			            "either 'users', 'groups' or 'tokens' is required.");
		return -EINVAL;
	}
	const char *given = api_param_str(call, "path");
	_cleanup_free_ char *path = acl_path_normalize(given);
	bool delete = api_param_bool(call, "delete", false);
	if (!path || (!delete &&!acl_check_path(path)))
		return error_param(err, "path", "invalid ACL path '%s'", given);
	struct acl_change c = {
	    .call = call,
	    .path = path,
	    .propagate = api_param_bool(call, "propagate", true),
	    .delete = delete,
	};
	int r = api_access_update(call, NULL, do_update_acl, &c, "ACL update failed", err);
	if (r < 0)
		return r;
	log_info("ACL on '%s' %s by '%s' (roles %s)", path, delete ? "reduced" : "extended",
	         call->authid, api_param_str(call, "roles"));
	*ret = json_null();
	return 0;
}

/* ---- GET /access/permissions ---------------------------------------------------- */

static int api_permissions(struct api_call *call, json_t **ret, struct error **err)
{
	return access_db_permissions_query(call->db, call->authid, api_param_str(call, "userid"),
	                                   api_param_str(call, "path"), ret, err);
}

/* ---- POST /nodes/{node}/termproxy and vncshell ----------------------------------- */

/*
 * The node shell is a root shell on the host: only host administrators,
 * i.e. users of a pam realm with Sys.Console on the node, ever get one.  A
 * pve-realm user has no host account, so even Administrator on / does not
 * open it (PVE: "realm != pam"); tokens are refused by the row.
 */
static int node_shell_ticket(struct api_call *call, json_t **ret, struct error **err)
{
	const char *type = api_realm_type(call, call->userid);
	if (!type || !streq(type, "pam"))
		return error_set(err, -EPERM, 403, "Permission check failed (realm != pam)");
	/* PVE: root@pam gets "login -f root" or the command it names; any
	 * other pam user the host's own login, whatever cmd says.  ctvm lets
	 * no one else name a command at all. */
	bool root = streq(call->userid, "root@pam");
	const char *cmd = api_param_has(call, "cmd") ? api_param_str(call, "cmd") : "login";
	if (api_param_has(call, "cmd") && !root)
		return error_set(err, -EPERM, 403, "Permission check failed (user != root@pam)");
	if (!streq(cmd, "login"))
		return error_set(err, -ENOSYS, 501, "command '%s' is not available on ctvm", cmd);
	return api_console_node_ticket(call, root, ret, err);
}

static int api_termproxy(struct api_call *call, json_t **ret, struct error **err)
{
	return node_shell_ticket(call, ret, err);
}

/*
 * POST /nodes/{node}/vncshell: the same shell and the same rule.  PVE runs
 * vncterm here (a VNC server drawing a terminal), which Debian does not
 * ship; ctvm's ticket opens the terminal itself on vncwebsocket, in
 * Proxmox's terminal framing (docs/consoles.md).  width and height size a
 * VNC screen: there is none, the client's resize sets the terminal's size.
 */
static int api_vncshell(struct api_call *call, json_t **ret, struct error **err)
{
	int r = node_shell_ticket(call, ret, err);
	if (r < 0)
		return r;
	json_object_set_new(*ret, "cert", json_string(api_console_cert(call)));
	return 0;
}

/* ---- the rows ---------------------------------------------------------------------- */

static const struct api_check check_perm_modify = {
    .kind = API_CHECK_PERM_MODIFY,
    .path = "{path}",
};

static const char *const shell_cmds[] = {"ceph_install", "login", "upgrade", NULL};

/* termproxy's and vncshell's command: one of shell_cmds, with its options */
#define P_SHELL_CMD                                                                                \
	{.name = "cmd",                                                                            \
	 .type = API_TYPE_STRING,                                                                  \
	 .optional = true,                                                                         \
	 .enum_values = shell_cmds,                                                                \
	 .default_text = "login",                                                                  \
	 .description = "Run specific command or default to login."},                              \
	{                                                                                          \
		.name = "cmd-opts", .type = API_TYPE_STRING, .optional = true, .max_length = 1024, \
		.description = "Add parameters to a command. Encoded as null "                     \
		               "terminated strings."                                               \
	}

const struct api_method api_methods_acl[] = {
    {
        .path = "/access/acl",
        .verb = "GET",
        .name = "read_acl",
        .description = "Get Access Control List (ACLs).",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The returned list is restricted to objects where you have "
                             "rights to modify permissions."),
        .handler = api_acl_list,
    },
    {
        .path = "/access/acl",
        .verb = "PUT",
        .name = "update_acl",
        .description = "Update Access Control List (add or remove permissions).",
        .params =
            (const struct api_param[]){
                {.name = "path",
                 .type = API_TYPE_STRING,
                 .max_length = 1024,
                 .description = "Access control path"},
                {.name = "roles",
                 .type = API_TYPE_STRING,
                 .format = "pve-roleid-list",
                 .max_length = 4096,
                 .description = "List of roles."},
                {.name = "users",
                 .type = API_TYPE_STRING,
                 .format = "pve-userid-list",
                 .optional = true,
                 .max_length = 65536,
                 .description = "List of users."},
                {.name = "groups",
                 .type = API_TYPE_STRING,
                 .format = "pve-groupid-list",
                 .optional = true,
                 .max_length = 65536,
                 .description = "List of groups."},
                {.name = "tokens",
                 .type = API_TYPE_STRING,
                 .format = "pve-tokenid-list",
                 .optional = true,
                 .max_length = 65536,
                 .description = "List of API tokens."},
                {.name = "propagate",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "1",
                 .description = "Allow to propagate (inherit) permissions."},
                {.name = "delete",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Remove permissions (instead of adding it)."},
                API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK(&check_perm_modify),
        .flags = API_PROTECTED,
        .handler = api_acl_update,
    },
    {
        .path = "/access/permissions",
        .verb = "GET",
        .name = "permissions",
        .description = "Retrieve effective permissions of given user/token.",
        .params =
            (const struct api_param[]){
                {.name = "userid",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 128,
                 .description = "User ID or full API token ID"},
                {.name = "path",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 1024,
                 .description = "Only dump this specific path, not the whole tree."},
                API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Each user/token is allowed to dump their own permissions "
                             "(or that of owned tokens). A user can dump the permissions "
                             "of another user or their tokens if they have 'Sys.Audit' "
                             "permission on /access."),
        .handler = api_permissions,
    },
    {
        .path = "/nodes/{node}/termproxy",
        .verb = "POST",
        .name = "termproxy",
        .description = "Creates a VNC Shell proxy.",
        .params = (const struct api_param[]){API_PARAM_NODE, P_SHELL_CMD, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_NODE_CONSOLE,
        .flags = API_NO_TOKEN | API_PROTECTED,
        .handler = api_termproxy,
    },
    {
        .path = "/nodes/{node}/vncshell",
        .verb = "POST",
        .name = "vncshell",
        .description = "Creates a VNC Shell proxy (on ctvm: the terminal, as termproxy).",
        .params = (const struct api_param[]){API_PARAM_NODE, P_SHELL_CMD,
                                             P_WEBSOCKET("use websocket instead of standard vnc."),
                                             P_TERM_SIZE, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_NODE_CONSOLE,
        .flags = API_NO_TOKEN | API_PROTECTED,
        .handler = api_vncshell,
    },
    {.path = NULL},
};
