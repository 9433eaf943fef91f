/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "error.h"
#include "property.h"
#include "prune.h"
#include "storage-formats.h"
#include "volid.h"

/* "invalid format - <e's message>" from a parser's error. */
static int wrap(struct error **err, struct error *e)
{
	int r = error_set(err, e ? e->code : -EINVAL, 400, "invalid format - %s",
	                  e ? e->msg : "invalid value");
	error_free(e);
	return r;
}

static int check_volid(const char *s, struct error **err)
{
	struct volid v = {0};
	struct error *e = NULL;
	if (volid_parse(s, &v, &e) < 0)
		return wrap(err, e);
	volid_clear(&v);
	return 0;
}

static int check_volid_or_name(const char *s, struct error **err)
{
	if (strchr(s, ':'))
		return check_volid(s, err);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return error_set(
			    err, -EINVAL, 400,
			    "invalid format - volume name contains control characters");
	if (!*s)
		return error_set(err, -EINVAL, 400, "invalid format - empty volume name");
	return 0;
}

/* Every content type a storage can hold (a dir storage holds them all),
 * and "none" for a storage that holds none. */
static int check_content(const char *s, struct error **err)
{
	if (streq(s, "none") || vtype_from_string(s) != VTYPE_INVALID)
		return 0;
	return error_set(err, -EINVAL, 400, "invalid format - invalid content type '%s'", s);
}

static int check_prune(const char *s, struct error **err)
{
	struct prune_options o;
	/* its messages already start with "invalid format - " */
	return prune_options_parse(s, &o, err);
}

const struct conf_format storage_formats[] = {
    {"pve-volume-id", check_volid, NULL},
    {"pve-volume-id-or-name", check_volid_or_name, NULL},
    {"pve-storage-content", check_content, NULL},
    {"prune-backups", check_prune, NULL},
    {NULL, NULL, NULL},
};
