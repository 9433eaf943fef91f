/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-idmap: the uid/gid map of a container (PVE's parse_id_maps and
 * validate_id_maps).  A privileged container has none; an unprivileged one
 * gets its lxc.idmap raw keys, or when it has none the default
 * u/g 0 100000 65536.  Every map is validated: no container id and no host
 * id mapped twice within a type, with PVE's message for the first
 * conflict ("invalid map entry 'u 1005 1005 2': host uid 1005 is also
 * mapped by entry 'u 11000 1000 10'").
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct error;

#define LXC_IDMAP_DEFAULT_HOST  100000u
#define LXC_IDMAP_DEFAULT_COUNT 65536u

#include "lxc-idmap-types.h" /* struct lxc_idmap_entry, struct lxc_idmap */

/* One "lxc.idmap" value, "<u|g> <ct> <host> <count>": 0, or -EINVAL (400)
 * "failed to parse idmap: <value>" (also for a range past 2^32). */
int lxc_idmap_parse_entry(const char *value, struct lxc_idmap_entry *ret, struct error **err);
/* Validates n entries (any number; O(n log n)): 0, or -EINVAL (400) with
 * PVE's message for the first conflict. */
int lxc_idmap_validate(const struct lxc_idmap_entry *e, size_t n, struct error **err);
/* The map of a parsed config (struct guest_conf): n 0 for a privileged
 * container.  Errors: a bad entry, a conflict, more than LXC_IDMAP_MAX
 * entries (400). */
int lxc_idmap_for(const void *parsed, struct lxc_idmap *ret, struct error **err);
/* The host id of container id ct_id of type ('u' or 'g'): 0, or -ERANGE when
 * the map does not map it.  An empty map (privileged) maps every id to
 * itself. */
int lxc_idmap_map(const struct lxc_idmap *m, char type, uint32_t ct_id, uint32_t *ret_host);
