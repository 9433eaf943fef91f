/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * acl: effective roles and privileges (pve-api.md 4.7), as PVE's
 * AccessControl::roles() and RPCEnvironment::permissions() compute them.
 *
 *  1. root@pam has every privilege everywhere.
 *  2. Walk the path from '/' down.  At each node an entry applies if it
 *     propagates or the node is the path itself; the subject's token entries
 *     win, else its user entries, else the union of its groups' entries; what
 *     applies replaces what came from above.
 *  3. NoAccess in the result means no privileges.
 *  4. Roles held on /pool/<p> are added (not propagating) to the pool's
 *     /vms/<id> and /storage/<id> unless the regular result is NoAccess or
 *     has the role already; NoAccess on the pool wins over the regular ACL.
 *  5. A privsep token gets its own result intersected with its user's
 *     (propagate bits ANDed); a token without privsep gets its user's; a
 *     token that does not exist gets nothing.
 *
 * All functions are pure over the config: no locks, no allocation kept.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "privileges.h"

struct usercfg;
struct error;

struct acl_role {
	const char *roleid; /* points into the config (or a static name) */
	bool propagate;
};

struct acl_roles {
	struct acl_role *v;
	size_t n, alloc;
};

void acl_roles_clear(struct acl_roles *r);
bool acl_roles_has(const struct acl_roles *r, const char *roleid);

/* Roles of authid (user or token id) on path, without pools and without the
 * token/user intersection (PVE's roles(); for tests and GET /access/acl
 * style listings).  Replaces *ret's contents; returns the number of roles. */
int access_roles(const struct usercfg *cfg, const char *authid, const char *path,
                 struct acl_roles *ret);

/* Effective privileges of authid on path (steps 1-5). */
void access_permissions(const struct usercfg *cfg, const char *authid, const char *path,
                        struct privset *ret);

/* True iff authid has priv on path; an unknown priv name is never granted. */
bool access_check(const struct usercfg *cfg, const char *authid, const char *path,
                  const char *priv);
/* All (any=false) or any (any=true) of the NULL-terminated privs. */
bool access_check_privs(const struct usercfg *cfg, const char *authid, const char *path,
                        const char *const *privs, bool any);

/*
 * GET /access/permissions for authid: with path, {path: {priv: 0|1}}; without,
 * that map for '/', '/access', '/access/groups', '/nodes', '/pool', '/sdn',
 * '/storage', '/vms', every ACL tree node and every pool member path, leaving
 * out paths without privileges.
 */
json_t *access_permissions_json(const struct usercfg *cfg, const char *authid, const char *path);

/*
 * The whole GET /access/permissions call: caller may query itself, its own
 * tokens, or anyone when it has Sys.Audit on /access (403 otherwise).
 * userid: the parameter (NULL: the caller).
 */
int access_permissions_query(const struct usercfg *cfg, const char *caller, const char *userid,
                             const char *path, json_t **ret, struct error **err);

/* The "cap" object of the login answer (pve-api.md 2.2). */
json_t *acl_cap_json(const struct usercfg *cfg, const char *authid);

/*
 * PVE's 'userid-group' check: authid has any of privs on /access/groups, or
 * (groups_param "create"/"update") on every group named in groups and
 * (unless creating) on some group that userid belongs to.
 *
 * One deviation: Proxmox refuses an "update" without groups to a group
 * administrator; here the membership check decides, so the administrator of
 * a group may enable or disable its members without restating their groups.
 * That grants nothing new: groups=<that group> with append=1 was allowed and
 * changes no membership.
 */
bool access_check_userid_group(const struct usercfg *cfg, const char *authid, const char *userid,
                               const char *groups, const char *const *privs,
                               const char *groups_param);
