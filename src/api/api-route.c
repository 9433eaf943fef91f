/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "api-method.h"
#include "api-route.h"
#include "strbuf.h"
#include "xalloc.h"

#define MAX_SEGMENTS 32

/* A template segment: a literal, or a {param} (lit == NULL). */
struct route_seg {
	const char *text; /* into the row's path: the literal, or the param's name */
	size_t len;
	bool param;
};

struct route {
	const struct api_method *m;
	size_t nseg;
	bool greedy; /* the last segment, a {volume}, takes the rest of the path */
	struct route_seg seg[MAX_SEGMENTS];
};

struct api_route_table {
	struct route *routes;
	size_t n;
};

/* True when the row's last path placeholder is a volume id: volume ids
 * contain '/' ("local:100/vm-100-disk-0.raw", sent as %2F and unescaped
 * before routing), so that placeholder takes the rest of the path. */
static bool last_is_volume(const struct api_method *m, const struct route_seg *last)
{
	if (!last->param)
		return false;
	for (const struct api_param *p = m->params; p && p->name; p++)
		if (strlen(p->name) == last->len && strncmp(p->name, last->text, last->len) == 0)
			return p->format && (streq(p->format, "pve-volume-id") ||
			                     streq(p->format, "pve-volume-id-or-name"));
	return false;
}

/* Splits a template; false when it has more than MAX_SEGMENTS segments. */
static bool compile(const struct api_method *m, struct route *r)
{
	*r = (struct route){.m = m};
	for (const char *p = m->path; *p;) {
		p += strspn(p, "/");
		size_t l = strcspn(p, "/");
		if (!l)
			break;
		if (r->nseg == MAX_SEGMENTS)
			return false;
		struct route_seg *s = &r->seg[r->nseg++];
		if (l >= 2 && p[0] == '{' && p[l - 1] == '}')
			*s = (struct route_seg){.text = p + 1, .len = l - 2, .param = true};
		else
			*s = (struct route_seg){.text = p, .len = l};
		p += l;
	}
	r->greedy = r->nseg > 0 && last_is_volume(m, &r->seg[r->nseg - 1]);
	return true;
}

struct api_route_table *api_route_table_new(const struct api_method *const *tables)
{
	struct api_route_table *t = xnew(struct api_route_table, 1);
	size_t n = 0;
	for (const struct api_method *const *a = tables; *a; a++)
		for (const struct api_method *m = *a; m->path; m++)
			n++;
	t->routes = xnew(struct route, n + 1);
	for (const struct api_method *const *a = tables; *a; a++)
		for (const struct api_method *m = *a; m->path; m++)
			if (compile(m, &t->routes[t->n]))
				t->n++; /* a template too long to split never matches */
	return t;
}

struct api_route_table *api_route_table_free(struct api_route_table *t)
{
	if (t) {
		free(t->routes);
		free(t);
	}
	return NULL;
}

/* The request's segments (pointers and lengths into path). */
struct req_seg {
	const char *text;
	size_t len;
};

/* The number of literal segments of r that match (higher wins), or -1. */
static int match(const struct route *r, const struct req_seg *seg, size_t nseg)
{
	size_t nt = r->nseg;
	if (nt != nseg && !(r->greedy && nseg > nt))
		return -1;
	if (r->greedy && nseg > nt)
		nt--; /* the last placeholder takes the rest; the others as usual */
	int literal = 0;
	for (size_t i = 0; i < nt; i++) {
		const struct route_seg *s = &r->seg[i];
		if (s->param)
			continue;
		if (s->len != seg[i].len || memcmp(s->text, seg[i].text, s->len) != 0)
			return -1;
		literal++;
	}
	return literal;
}

/* The captures, in the order routing has always set them: a greedy
 * {volume} first, then the others from left to right (the order decides the
 * order of keys in the merged parameters, and so of an errors map). */
static void capture(const struct route *r, const struct req_seg *seg, size_t nseg, json_t *out)
{
	size_t nt = r->nseg;
	if (r->greedy && nseg > nt) {
		const struct route_seg *s = &r->seg[nt - 1];
		struct strbuf sb = STRBUF_INIT;
		for (size_t k = nt - 1; k < nseg; k++)
			strbuf_addf(&sb, "%s%.*s", k > nt - 1 ? "/" : "", (int)seg[k].len,
			            seg[k].text);
		_cleanup_free_ char *name = xstrndup(s->text, s->len);
		json_object_set_new(out, name, json_string(sb.buf));
		strbuf_release(&sb);
		nt--;
	}
	for (size_t i = 0; i < nt; i++) {
		const struct route_seg *s = &r->seg[i];
		if (!s->param)
			continue;
		_cleanup_free_ char *name = xstrndup(s->text, s->len);
		json_object_set_new(out, name, json_stringn(seg[i].text, seg[i].len));
	}
}

const struct api_method *api_route_lookup(const struct api_route_table *t, const char *verb,
                                          const char *path, json_t **ret_params)
{
	struct req_seg seg[MAX_SEGMENTS];
	size_t nseg = 0;
	for (const char *p = path; *p;) {
		p += strspn(p, "/");
		size_t l = strcspn(p, "/");
		if (!l)
			break;
		if (nseg == MAX_SEGMENTS)
			return NULL;
		seg[nseg++] = (struct req_seg){p, l};
		p += l;
	}
	const struct route *best = NULL;
	int best_score = -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct route *r = &t->routes[i];
		if (!streq(r->m->verb, verb))
			continue;
		int score = match(r, seg, nseg);
		if (score > best_score) {
			best = r;
			best_score = score;
		}
	}
	if (!best)
		return NULL;
	if (ret_params) {
		json_t *cap = json_object();
		capture(best, seg, nseg, cap);
		*ret_params = cap;
	}
	return best->m;
}
