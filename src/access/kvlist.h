/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* kvlist: a sorted list of (key, value) strings, the model of the small
 * priv/ files (shadow.cfg, token.cfg).  Internal to src/access. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kv_pair {
	char *key, *value;
};

struct kvlist {
	struct kv_pair *v;
	size_t n, alloc;
};

void kvlist_clear(struct kvlist *l);
void kvlist_copy(struct kvlist *dst, const struct kvlist *src);
const char *kvlist_get(const struct kvlist *l, const char *key);
void kvlist_set(struct kvlist *l, const char *key, const char *value);
bool kvlist_remove(struct kvlist *l, const char *key);
