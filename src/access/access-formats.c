/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>

#include "access-formats.h"
#include "error.h"
#include "property.h"
#include "usercfg.h"
#include "xalloc.h"

static int check_userid(const char *s, struct error **err)
{
	return usercfg_verify_userid(s, NULL, NULL) ? 0 : -EINVAL;
}

static int check_tokenid(const char *s, struct error **err)
{
	_cleanup_free_ char *user = NULL, *name = NULL;
	return usercfg_split_tokenid(s, &user, &name) ? 0 : -EINVAL;
}

static int check_realm(const char *s, struct error **err)
{
	return usercfg_verify_realm(s) ? 0 : -EINVAL;
}

static int check_groupid(const char *s, struct error **err)
{
	return usercfg_verify_groupid(s) ? 0 : -EINVAL;
}

static int check_roleid(const char *s, struct error **err)
{
	return usercfg_verify_roleid(s) ? 0 : -EINVAL;
}

static int check_poolid(const char *s, struct error **err)
{
	return usercfg_verify_poolid(s) ? 0 : -EINVAL;
}

static int check_storeid(const char *s, struct error **err)
{
	return usercfg_verify_storeid(s) ? 0 : -EINVAL;
}

/* "Datastore.Allocate": letters, digits and dots */
static int check_priv(const char *s, struct error **err)
{
	if (!*s)
		return -EINVAL;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.')
			return -EINVAL;
	return 0;
}

const struct conf_format access_formats[] = {
    {"pve-userid", check_userid, "user ID"},
    {"pve-tokenid", check_tokenid, "API token ID"},
    {"pve-realm", check_realm, "realm"},
    {"pve-groupid", check_groupid, "group ID"},
    {"pve-roleid", check_roleid, "role ID"},
    {"pve-poolid", check_poolid, "pool ID"},
    {"pve-priv", check_priv, "privilege"},
    {"pve-storage-id", check_storeid, "storage ID"},
    {NULL, NULL, NULL},
};
