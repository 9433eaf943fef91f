/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * shadow: priv/shadow.cfg, the password hashes of pve-realm users, one
 * "<name>:<crypt hash>:" line each, <name> without "@pve" (PVE's format, so
 * a PVE file can be copied over).  The file is 0600.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct error;
struct strbuf;
struct shadow;

struct shadow *shadow_new(void);
struct shadow *shadow_free(struct shadow *s);
struct shadow *shadow_dup(const struct shadow *s);
/* Invalid lines are skipped; fails only over the size limit (1 MiB). */
int shadow_parse(const char *data, size_t len, struct shadow **ret, struct error **err);
void shadow_write(const struct shadow *s, struct strbuf *out);

/* The hash for name (realm-less user name), or NULL. */
const char *shadow_get(const struct shadow *s, const char *name);
/* name and hash must not contain ':' or blanks (-EINVAL, 400). */
int shadow_set(struct shadow *s, const char *name, const char *hash, struct error **err);
bool shadow_remove(struct shadow *s, const char *name);
