/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Helpers shared by the /access and /pools handlers (api-users.c,
 * api-groups-roles.c, api-acl.c, api-domains.c, api-pools.c): the one way
 * they change the access store, and the small list and permission helpers
 * PVE's handlers use.
 */
#pragma once

#include <stdbool.h>

#include "access.h"
#include "api-method.h"
#include "strv.h"

struct error;

/*
 * access_store_update() for a handler: fn runs under the lock on a copy of
 * user.cfg and the secrets.  A failure that is not a parameter or permission
 * error (status 500) gets PVE's lock_user_config() prefix, "<what>: <msg>".
 */
int api_access_update(struct api_call *call, const char *digest, access_update_fn fn, void *arg,
                      const char *what, struct error **err);

/* PVE::Tools::split_list: items separated by ',', ';' or blanks, empty ones
 * dropped.  A strv (strv.h); free with strv_free(). */
char **api_split_list(const char *list);
/* RPCEnvironment::check_perm_modify: Permissions.Modify on path, or the
 * Allocate privilege of its kind (/vms, /storage, /pool); an empty path
 * means /access. */
bool api_can_modify_perm(const struct api_call *call, const char *path);

/* True if any of the NULL-terminated privs is held on path. */
bool api_call_has_any(const struct api_call *call, const char *path, const char *const *privs);

/* The type of userid's realm ("pam", "pve", ...) or NULL if the realm is
 * not configured.  Points into the request's snapshot. */
const char *api_realm_type(const struct api_call *call, const char *userid);
