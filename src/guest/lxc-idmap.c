/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A container's uid/gid map (lxc-idmap.h). */
#include "common.h"

#include <inttypes.h>

#include "error.h"
#include "guest-conf.h"
#include "lxc-conf.h"
#include "lxc-idmap.h"
#include "xalloc.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n';
}

/* \s+ then \d+ (at most 10 digits, below 2^32) */
static const char *number(const char *p, bool lead_space, uint64_t *ret)
{
	if (lead_space) {
		if (!is_space(*p))
			return NULL;
		while (is_space(*p))
			p++;
	}
	uint64_t v = 0;
	const char *start = p;
	while (*p >= '0' && *p <= '9' && p - start < 11)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == start || (*p >= '0' && *p <= '9') || v > UINT32_MAX)
		return NULL;
	*ret = v;
	return p;
}

int lxc_idmap_parse_entry(const char *value, struct lxc_idmap_entry *ret, struct error **err)
{
	/* PVE: ^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$ */
	uint64_t ct, host, count;
	const char *p = value;
	if ((*p == 'u' || *p == 'g') && (p = number(p + 1, true, &ct)) &&
	    (p = number(p, true, &host)) && (p = number(p, true, &count))) {
		while (is_space(*p))
			p++;
		if (!*p && ct + count <= (uint64_t)UINT32_MAX + 1 &&
		    host + count <= (uint64_t)UINT32_MAX + 1) {
			*ret = (struct lxc_idmap_entry){value[0], (uint32_t)ct, (uint32_t)host,
			                                (uint32_t)count};
			return 0;
		}
	}
	return error_set(err, -EINVAL, 400, "failed to parse idmap: %s", value);
}

struct side {
	size_t line;
	uint64_t start, count;
};

static int cmp_side(const void *a, const void *b)
{
	const struct side *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Perl's sort is stable: equal starts stay in map order */
	return x->line < y->line ? -1 : x->line > y->line;
}

int lxc_idmap_validate(const struct lxc_idmap_entry *e, size_t n, struct error **err)
{
	if (n == 0)
		return 0;
	_cleanup_free_ struct side *s = xcalloc(n, sizeof(*s));
	static const char types[] = {'u', 'g'};
	for (size_t t = 0; t < 2; t++) {
		for (int host = 0; host < 2; host++) {
			size_t m = 0;
			for (size_t i = 0; i < n; i++)
				if (e[i].type == types[t])
					s[m++] = (struct side){i, host ? e[i].host : e[i].ct,
					                       e[i].count};
			qsort(s, m, sizeof(*s), cmp_side);
			for (size_t i = 1; i < m; i++) {
				if (s[i - 1].start + s[i - 1].count <= s[i].start)
					continue;
				const struct lxc_idmap_entry *cur = &e[s[i].line],
				                             *prev = &e[s[i - 1].line];
				return error_set(err, -EINVAL, 400,
				                 "invalid map entry '%c %" PRIu32 " %" PRIu32
				                 " %" PRIu32 "': %s %cid %" PRIu64
				                 " is also mapped by entry '%c %" PRIu32 " %" PRIu32
				                 " %" PRIu32 "'",
				                 cur->type, cur->ct, cur->host, cur->count,
				                 host ? "host" : "container", types[t], s[i].start,
				                 prev->type, prev->ct, prev->host, prev->count);
			}
		}
	}
	return 0;
}

int lxc_idmap_for(const void *parsed, struct lxc_idmap *ret, struct error **err)
{
	const struct guest_conf *c = parsed;
	struct lxc_idmap m = {0};
	json_t *raw = json_object_get(c->conf, GUEST_CONF_RAW_KEY);
	size_t i;
	json_t *pair;
	json_array_foreach (raw, i, pair) {
		const char *k = json_string_value(json_array_get(pair, 0));
		const char *v = json_string_value(json_array_get(pair, 1));
		if (!k || !v || !streq(k, "lxc.idmap"))
			continue;
		if (m.n == LXC_IDMAP_MAX)
			return error_set(err, -E2BIG, 400,
			                 "too many lxc.idmap entries (at most %d)", LXC_IDMAP_MAX);
		int r = lxc_idmap_parse_entry(v, &m.e[m.n], err);
		if (r < 0)
			return r;
		m.n++;
	}
	if (m.n == 0 && lxc_conf_unprivileged(c->conf)) {
		m.e[0] = (struct lxc_idmap_entry){'u', 0, LXC_IDMAP_DEFAULT_HOST,
		                                  LXC_IDMAP_DEFAULT_COUNT};
		m.e[1] = (struct lxc_idmap_entry){'g', 0, LXC_IDMAP_DEFAULT_HOST,
		                                  LXC_IDMAP_DEFAULT_COUNT};
		m.n = 2;
	}
	int r = lxc_idmap_validate(m.e, m.n, err);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

int lxc_idmap_map(const struct lxc_idmap *m, char type, uint32_t ct_id, uint32_t *ret_host)
{
	if (m->n == 0) {
		*ret_host = ct_id;
		return 0;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct lxc_idmap_entry *e = &m->e[i];
		if (e->type == type && ct_id >= e->ct &&
		    (uint64_t)ct_id < (uint64_t)e->ct + e->count) {
			*ret_host = e->host + (ct_id - e->ct);
			return 0;
		}
	}
	return -ERANGE;
}
