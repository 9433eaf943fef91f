/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "error.h"
#include "kvlist.h"
#include "shadow.h"
#include "strbuf.h"
#include "xalloc.h"

#define SHADOW_MAX_SIZE (1u << 20)

struct shadow {
	struct kvlist users;
};

struct shadow *shadow_new(void)
{
	return xnew(struct shadow, 1);
}

struct shadow *shadow_free(struct shadow *s)
{
	if (s) {
		kvlist_clear(&s->users);
		free(s);
	}
	return NULL;
}

struct shadow *shadow_dup(const struct shadow *s)
{
	struct shadow *n = shadow_new();
	kvlist_copy(&n->users, &s->users);
	return n;
}

/* \S+ */
static bool is_word(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '\f' ||
		    s[i] == '\v' || s[i] == ':')
			return false;
	return true;
}

int shadow_parse(const char *data, size_t len, struct shadow **ret, struct error **err)
{
	if (len > SHADOW_MAX_SIZE)
		return error_set(err, -EFBIG, 500, "shadow file too large");
	struct shadow *s = shadow_new();
	size_t pos = 0;
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		/* ^\S+:\S+:$ as PVE; anything else is ignored */
		const char *c1 = memchr(line, ':', n);
		if (!c1 || n < 4 || line[n - 1] != ':')
			continue;
		size_t klen = (size_t)(c1 - line), vlen = n - klen - 2;
		if (!is_word(line, klen) || !is_word(c1 + 1, vlen))
			continue;
		_cleanup_free_ char *k = xstrndup(line, klen), *v = xstrndup(c1 + 1, vlen);
		kvlist_set(&s->users, k, v);
	}
	*ret = s;
	return 0;
}

void shadow_write(const struct shadow *s, struct strbuf *out)
{
	for (size_t i = 0; i < s->users.n; i++)
		strbuf_addf(out, "%s:%s:\n", s->users.v[i].key, s->users.v[i].value);
}

const char *shadow_get(const struct shadow *s, const char *name)
{
	return kvlist_get(&s->users, name);
}

int shadow_set(struct shadow *s, const char *name, const char *hash, struct error **err)
{
	if (!is_word(name, strlen(name)) || !is_word(hash, strlen(hash)))
		return error_set(err, -EINVAL, 400, "invalid shadow entry for '%s'", name);
	kvlist_set(&s->users, name, hash);
	return 0;
}

bool shadow_remove(struct shadow *s, const char *name)
{
	return kvlist_remove(&s->users, name);
}
