/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "access.h"
#include "api-access-util.h"
#include "api-internal.h"
#include "api.h"
#include "domains.h"
#include "error.h"
#include "strv.h"
#include "xalloc.h"

int api_access_update(struct api_call *call, const char *digest, access_update_fn fn, void *arg,
                      const char *what, struct error **err)
{
	struct error *e = NULL;
	int r = access_store_update(call->ctx->access, digest, fn, arg, &e);
	if (r < 0) {
		if (e && e->http_status == 500 && what)
			error_prefix(e, "%s", what);
		error_propagate(err, e);
	}
	return r;
}

char **api_split_list(const char *list)
{
	return strv_split(list, ",; \t\r\n");
}

bool api_can_modify_perm(const struct api_call *call, const char *path)
{
	if (!path || !*path)
		path = "/access";
	if (api_call_has_priv(call, path, "Permissions.Modify"))
		return true;
	const char *alt = NULL;
	if (str_startswith(path, "/vms"))
		alt = "VM.Allocate";
	else if (str_startswith(path, "/storage"))
		alt = "Datastore.Allocate";
	else if (str_startswith(path, "/pool"))
		alt = "Pool.Allocate";
	return alt && api_call_has_priv(call, path, alt);
}

bool api_call_has_any(const struct api_call *call, const char *path, const char *const *privs)
{
	for (const char *const *p = privs; *p; p++)
		if (api_call_has_priv(call, path, *p))
			return true;
	return false;
}

const char *api_realm_type(const struct api_call *call, const char *userid)
{
	const char *at = userid ? strrchr(userid, '@') : NULL;
	struct realm_info ri;
	if (!at || !domains_find(access_db_domains(call->db), at + 1, false, &ri))
		return NULL;
	return ri.type;
}
