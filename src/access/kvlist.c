/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "kvlist.h"
#include "xalloc.h"

static size_t find(const struct kvlist *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < l->n && streq(l->v[lo].key, key);
	return lo;
}

void kvlist_clear(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	*l = (struct kvlist){0};
}

void kvlist_copy(struct kvlist *dst, const struct kvlist *src)
{
	*dst = (struct kvlist){0};
	for (size_t i = 0; i < src->n; i++)
		kvlist_set(dst, src->v[i].key, src->v[i].value);
}

const char *kvlist_get(const struct kvlist *l, const char *key)
{
	bool found;
	size_t i = find(l, key, &found);
	return found ? l->v[i].value : NULL;
}

void kvlist_set(struct kvlist *l, const char *key, const char *value)
{
	bool found;
	size_t i = find(l, key, &found);
	if (found) {
		free(l->v[i].value);
		l->v[i].value = xstrdup(value);
		return;
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
	}
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
	l->v[i].key = xstrdup(key);
	l->v[i].value = xstrdup(value);
	l->n++;
}

bool kvlist_remove(struct kvlist *l, const char *key)
{
	bool found;
	size_t i = find(l, key, &found);
	if (!found)
		return false;
	free(l->v[i].key);
	free(l->v[i].value);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
	return true;
}
