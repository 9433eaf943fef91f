/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * domains: the realm list, domains.cfg (pve-api.md 3.1), on section-config.
 *
 * The realms `pam` and `pve` always exist (injected with their standard
 * comments and forced types, like PVE), and at most one realm keeps
 * `default 1`.  Types pam and pve are understood (keys comment, default,
 * tfa); sections of other types (ldap, ad, openid) are kept and written back
 * unchanged but are not supported for login.  Comments are %-encoded on disk
 * (encode_text) and decoded in memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct error;
struct strbuf;
struct section_config;
struct section_schema;

struct domains;

struct realm_info {
	const char *realm;
	const char *type;
	const char *comment; /* decoded, or NULL */
	const char *tfa;     /* or NULL */
	bool is_default;
	bool supported; /* pam or pve: can log in */
};

/* pam + pve only. */
struct domains *domains_new(void);
struct domains *domains_free(struct domains *d);
struct domains *domains_dup(const struct domains *d);
static inline void domains_freep(struct domains **d)
{
	domains_free(*d);
}
#define _cleanup_domains_ _cleanup_(domains_freep)

/* Lenient (warnings in domains_config(d)->warnings); fails only on limits. */
int domains_parse(const char *data, size_t len, struct domains **ret, struct error **err);
int domains_write(const struct domains *d, struct strbuf *out, struct error **err);

size_t domains_count(const struct domains *d);
/* i-th realm in file order; false when out of range. */
bool domains_get(const struct domains *d, size_t i, struct realm_info *ret);
/* By name; with ignore_case a unique case-insensitive match also counts. */
bool domains_find(const struct domains *d, const char *realm, bool ignore_case,
                  struct realm_info *ret);

/* The underlying sections, for the /access/domains handlers; comments there
 * are decoded.  Call domains_fixup() after changing them. */
struct section_config *domains_config(struct domains *d);
/* Re-applies the invariants (pam/pve present with forced types, one default). */
void domains_fixup(struct domains *d);
const struct section_schema *domains_schema(void);
