/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shared between lxc-tmpl.c and lxc-setup*.c: the id map type (the
 * contract's lxc-idmap.h, owned by the config branch; its layout is
 * restated here only until that header is merged) and small helpers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#if __has_include("lxc-idmap.h")
#include "lxc-idmap.h"
#else
struct lxc_idmap_entry {
	char type; /* 'u' or 'g' */
	uint32_t ct, host, count;
};
struct lxc_idmap {
	struct lxc_idmap_entry e[32];
	size_t n;
};
#endif

/* The host id container id 0 of type ('u' or 'g') maps to; false when the
 * map has no such entry (or map is NULL/empty: then *ret is 0). */
static inline bool lxc_idmap_root(const struct lxc_idmap *map, char type, uint32_t *ret)
{
	*ret = 0;
	if (!map || map->n == 0)
		return true;
	for (size_t i = 0; i < map->n; i++) {
		const struct lxc_idmap_entry *e = &map->e[i];
		if (e->type == type && e->ct == 0 && e->count > 0) {
			*ret = e->host;
			return true;
		}
	}
	return false;
}
