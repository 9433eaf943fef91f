/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>
#include <inttypes.h>
#include <nettle/sha1.h>
#include <stdarg.h>
#include <strings.h>

#include "error.h"
#include "section-config.h"
#include "strbuf.h"
#include "xalloc.h"

void config_digest(const void *data, size_t len, char ret[41])
{
	struct sha1_ctx ctx;
	uint8_t d[SHA1_DIGEST_SIZE];
	sha1_init(&ctx);
	sha1_update(&ctx, len, data);
	sha1_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(ret + 2 * i, 3, "%02x", d[i]);
}

/* Perl's \s */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct section_config *section_config_new(void)
{
	return xnew(struct section_config, 1);
}

static struct section *section_free(struct section *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_kv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
	free(s->type);
	free(s->id);
	free(s);
	return NULL;
}

struct section_config *section_config_free(struct section_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_sections; i++)
		section_free(c->sections[i]);
	free(c->sections);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c);
	return NULL;
}

const struct section_type *section_schema_find_type(const struct section_schema *schema,
                                                    const char *type)
{
	if (!schema)
		return NULL;
	for (size_t i = 0; i < schema->n_types; i++)
		if (streq(schema->types[i].type, type))
			return &schema->types[i];
	return NULL;
}

const struct section_prop *section_type_find_prop(const struct section_type *t, const char *key)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_props; i++)
		if (conf_prop_matches(t->props[i].prop, key, NULL))
			return &t->props[i];
	return NULL;
}

/* The key's check (property.h), then the type's narrower enumeration. */
static int check_prop_value(const struct section_schema *schema, const struct section_prop *p,
                            const char *key, const char *value, char **ret_value,
                            struct error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = conf_prop_check_value(p->prop, schema ? schema->formats : NULL, key, value,
	                              p->check, &norm, err);
	if (r < 0)
		return r;
	if (p->enum_values) {
		bool found = false;
		for (size_t i = 0; p->enum_values[i] && !found; i++)
			found = streq(p->enum_values[i], norm);
		if (!found)
			return error_param(
			    err, key, "value '%s' does not have a value in the enumeration", norm);
	}
	*ret_value = TAKE_PTR(norm);
	return 0;
}

int section_schema_check_value(const struct section_schema *schema, const char *type,
                               const char *key, const char *value, char **ret_value,
                               struct error **err)
{
	const struct section_type *t = section_schema_find_type(schema, type);
	if (!t)
		return error_param(err, "type", "unknown section type '%s'", type);
	const struct section_prop *p = section_type_find_prop(t, key);
	if (!p)
		return error_param(err, key, "unexpected property '%s'", key);
	return check_prop_value(schema, p, key, value, ret_value, err);
}

int section_schema_check(const struct section_schema *schema, struct error **err)
{
	for (size_t i = 0; i < schema->n_types; i++) {
		const struct section_type *t = &schema->types[i];
		for (size_t k = 0; k < t->n_props; k++) {
			const struct section_prop *p = &t->props[k];
			const struct conf_prop one[] = {*p->prop, {.name = NULL}};
			int r = conf_props_check_formats(one, schema->formats, err);
			if (r < 0) {
				if (err && *err)
					error_prefix(*err, "type '%s'", t->type);
				return r;
			}
			if (p->enum_values && p->prop->type != CONF_TYPE_ENUM)
				return error_set(err, -EINVAL, 500,
				                 "type '%s': key '%s' narrows the enumeration of a "
				                 "key that has none",
				                 t->type, p->prop->name);
		}
	}
	return 0;
}

/* --- sections and keys --- */

struct section *section_config_find(const struct section_config *c, const char *id)
{
	for (size_t i = 0; i < c->n_sections; i++)
		if (streq(c->sections[i]->id, id))
			return c->sections[i];
	return NULL;
}

static struct section *section_new(const char *type, const char *id)
{
	struct section *s = xnew(struct section, 1);
	s->type = xstrdup(type);
	s->id = xstrdup(id);
	return s;
}

static void config_append_section(struct section_config *c, struct section *s)
{
	if (c->n_sections == c->alloc_sections) {
		c->alloc_sections = c->alloc_sections ? c->alloc_sections * 2 : 8;
		c->sections = xrealloc(c->sections, c->alloc_sections * sizeof(*c->sections));
	}
	c->sections[c->n_sections++] = s;
}

int section_config_add(struct section_config *c, const char *type, const char *id,
                       struct section **ret, struct error **err)
{
	if (section_config_find(c, id))
		return error_set(err, -EEXIST, 400, "section '%s' already exists", id);
	struct section *s = section_new(type, id);
	config_append_section(c, s);
	if (ret)
		*ret = s;
	return 0;
}

bool section_config_remove(struct section_config *c, const char *id)
{
	for (size_t i = 0; i < c->n_sections; i++) {
		if (!streq(c->sections[i]->id, id))
			continue;
		section_free(c->sections[i]);
		memmove(&c->sections[i], &c->sections[i + 1],
		        (c->n_sections - i - 1) * sizeof(*c->sections));
		c->n_sections--;
		return true;
	}
	return false;
}

const char *section_get(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->n_kv; i++)
		if (streq(s->kv[i].key, key))
			return s->kv[i].value;
	return NULL;
}

bool section_has(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->n_kv; i++)
		if (streq(s->kv[i].key, key))
			return true;
	return false;
}

void section_append(struct section *s, const char *key, const char *value)
{
	if (s->n_kv == s->alloc_kv) {
		s->alloc_kv = s->alloc_kv ? s->alloc_kv * 2 : 8;
		s->kv = xrealloc(s->kv, s->alloc_kv * sizeof(*s->kv));
	}
	s->kv[s->n_kv].key = xstrdup(key);
	s->kv[s->n_kv].value = value ? xstrdup(value) : NULL;
	s->n_kv++;
}

bool section_unset(struct section *s, const char *key)
{
	bool found = false;
	size_t j = 0;
	for (size_t i = 0; i < s->n_kv; i++) {
		if (streq(s->kv[i].key, key)) {
			free(s->kv[i].key);
			free(s->kv[i].value);
			found = true;
			continue;
		}
		s->kv[j++] = s->kv[i];
	}
	s->n_kv = j;
	return found;
}

void section_set(struct section *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->n_kv; i++) {
		if (!streq(s->kv[i].key, key))
			continue;
		/* keep the position of the first value, drop the others */
		free(s->kv[i].value);
		s->kv[i].value = value ? xstrdup(value) : NULL;
		for (size_t j = i + 1; j < s->n_kv;) {
			if (streq(s->kv[j].key, key)) {
				free(s->kv[j].key);
				free(s->kv[j].value);
				memmove(&s->kv[j], &s->kv[j + 1],
				        (s->n_kv - j - 1) * sizeof(*s->kv));
				s->n_kv--;
			} else {
				j++;
			}
		}
		return;
	}
	section_append(s, key, value);
}

/* --- parser --- */

struct parser {
	const char *data;
	size_t len, pos;
	unsigned lineno;
	unsigned flags;
	struct section_config *cfg;
	struct error **err;
	int failed; /* negative errno once a hard error is set */
};

static void warnf(struct parser *p, const char *fmt, ...) _printf_(2, 3);
static void warnf(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = xvasprintf(fmt, ap);
	va_end(ap);
	struct section_config *c = p->cfg;
	if (p->flags & SECTION_CONFIG_STRICT) {
		if (!p->failed)
			p->failed = error_set(p->err, -EINVAL, 400, "line %u: %s", p->lineno, m);
		return;
	}
	if (c->n_warnings >= 1000) /* a hostile file must not grow this without bound */
		return;
	c->warnings = xrealloc(c->warnings, (c->n_warnings + 1) * sizeof(*c->warnings));
	c->warnings[c->n_warnings++] = xasprintf("line %u: %s", p->lineno, m);
}

/* Next raw line (without '\n') into *ret (malloc'd); false at the end. */
static bool raw_line(struct parser *p, char **ret)
{
	if (p->pos >= p->len || p->failed)
		return false;
	const char *start = p->data + p->pos;
	const char *nl = memchr(start, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - start) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->lineno++;
	if (p->lineno > SECTION_CONFIG_MAX_LINES) {
		p->failed = error_set(p->err, -E2BIG, 400, "too many lines (more than %d)",
		                      SECTION_CONFIG_MAX_LINES);
		return false;
	}
	if (n > SECTION_CONFIG_MAX_LINE) {
		p->failed = error_set(p->err, -E2BIG, 400, "line %u too long (more than %d bytes)",
		                      p->lineno, SECTION_CONFIG_MAX_LINE);
		return false;
	}
	*ret = xstrndup(start, n);
	return true;
}

static bool is_comment(const char *l)
{
	while (is_space(*l))
		l++;
	return *l == '#';
}

/* Next non-comment line; false at the end. */
static bool next_line(struct parser *p, char **ret)
{
	char *l;
	while (raw_line(p, &l)) {
		if (!is_comment(l)) {
			*ret = l;
			return true;
		}
		free(l);
	}
	return false;
}

/* PVE's header regex ^(\S+):\s*(\S+)\s*$ (the first group is greedy). */
static bool parse_header(const char *line, char **ret_type, char **ret_id)
{
	size_t len = strlen(line);
	while (len > 0 && is_space(line[len - 1]))
		len--;
	if (len == 0 || is_space(line[0]))
		return false;
	size_t w = 0;
	while (w < len && !is_space(line[w]))
		w++;
	if (w < len) {
		/* "<type>:" blanks "<id>" */
		size_t r = w;
		while (r < len && is_space(line[r]))
			r++;
		for (size_t i = r; i < len; i++)
			if (is_space(line[i]))
				return false;
		if (w < 2 || line[w - 1] != ':')
			return false;
		*ret_type = xstrndup(line, w - 1);
		*ret_id = xstrndup(line + r, len - r);
		return true;
	}
	/* no blank: the last ':' that leaves a non-empty type and id */
	for (size_t p = len - 1; p >= 1; p--) {
		if (line[p] == ':' && p + 1 < len) {
			*ret_type = xstrndup(line, p);
			*ret_id = xstrndup(line + p + 1, len - p - 1);
			return true;
		}
	}
	return false;
}

/* PVE's key regex ^\s+(\S+)(\s+(.*\S))?\s*$ */
static bool parse_kv(const char *line, char **ret_key, char **ret_value)
{
	if (!is_space(line[0]))
		return false;
	const char *s = line;
	while (is_space(*s))
		s++;
	if (!*s)
		return false;
	const char *k = s;
	while (*s && !is_space(*s))
		s++;
	size_t klen = (size_t)(s - k);
	while (is_space(*s))
		s++;
	const char *v = s;
	size_t vlen = strlen(v);
	while (vlen > 0 && is_space(v[vlen - 1]))
		vlen--;
	*ret_key = xstrndup(k, klen);
	*ret_value = vlen ? xstrndup(v, vlen) : NULL;
	return true;
}

static void add_or_replace(struct parser *p, struct section *s)
{
	struct section_config *c = p->cfg;
	for (size_t i = 0; i < c->n_sections; i++) {
		if (!streq(c->sections[i]->id, s->id))
			continue;
		/* PVE keeps the later one, at the end of the order */
		warnf(p, "duplicate section '%s', replacing the earlier one", s->id);
		section_free(c->sections[i]);
		memmove(&c->sections[i], &c->sections[i + 1],
		        (c->n_sections - i - 1) * sizeof(*c->sections));
		c->n_sections--;
		break;
	}
	if (c->n_sections >= SECTION_CONFIG_MAX_SECTIONS) {
		section_free(s);
		if (!p->failed)
			p->failed =
			    error_set(p->err, -E2BIG, 400, "too many sections (more than %d)",
			              SECTION_CONFIG_MAX_SECTIONS);
		return;
	}
	config_append_section(c, s);
}

static void parse_body(struct parser *p, const struct section_schema *schema,
                       const struct section_type *t, struct section *s)
{
	char *line;
	/* the section ends at the first empty line */
	while (next_line(p, &line)) {
		_cleanup_free_ char *l = line;
		if (!*l)
			break;
		if (!s)
			continue; /* skipped section */
		_cleanup_free_ char *key = NULL, *value = NULL;
		if (!parse_kv(l, &key, &value)) {
			warnf(p, "(section '%s') - ignore config line: %s", s->id, l);
			continue;
		}
		if (!t) { /* generic or unknown type: keep as is */
			section_append(s, key, value);
			continue;
		}
		const struct section_prop *prop = section_type_find_prop(t, key);
		if (!prop) {
			warnf(p,
			      "(section '%s') - unable to parse value of '%s': unexpected property "
			      "'%s'",
			      s->id, key, key);
			continue;
		}
		if (!(prop->prop->flags & CONF_PROP_ARRAY) && section_has(s, key)) {
			warnf(p,
			      "(section '%s') - unable to parse value of '%s': duplicate attribute",
			      s->id, key);
			continue;
		}
		_cleanup_free_ char *norm = NULL;
		struct error *e = NULL;
		if (check_prop_value(schema, prop, key, value, &norm, &e) < 0) {
			const char *reason =
			    e && e->params ? json_string_value(json_object_get(e->params, key))
			                   : NULL;
			warnf(p, "(section '%s') - unable to parse value of '%s': %s", s->id, key,
			      reason ? reason : (e ? e->msg : "invalid"));
			error_free(e);
			continue;
		}
		section_append(s, key, norm);
	}
}

int section_config_parse(const char *data, size_t len, const struct section_schema *schema,
                         unsigned flags, struct section_config **ret, struct error **err)
{
	if (len > SECTION_CONFIG_MAX_SIZE)
		return error_set(err, -EFBIG, 400, "config too large (%zu bytes, at most %u)", len,
		                 SECTION_CONFIG_MAX_SIZE);
	if (memchr(data, '\0', len))
		return error_set(err, -EINVAL, 400, "config contains a NUL byte");

	_cleanup_section_config_ struct section_config *c = section_config_new();
	config_digest(data, len, c->digest);
	struct parser p = {.data = data, .len = len, .flags = flags, .cfg = c, .err = err};

	char *line;
	while (next_line(&p, &line)) {
		_cleanup_free_ char *l = line;
		if (!*l)
			continue;
		_cleanup_free_ char *type = NULL, *id = NULL;
		if (!parse_header(l, &type, &id)) {
			warnf(&p, "ignore config line: %s", l);
			continue;
		}
		if (schema && schema->lowercase_type)
			for (char *q = type; *q; q++)
				*q = (char)tolower((unsigned char)*q);

		bool skip = false;
		const struct section_type *t = NULL;
		if (schema && schema->validate_id) {
			struct error *e = NULL;
			if (schema->validate_id(id, &e) < 0) {
				warnf(&p, "(skip section '%s'): %s", id, e ? e->msg : "invalid id");
				skip = true;
			}
			error_free(e);
		}
		bool unknown = false;
		if (!skip && schema) {
			t = section_schema_find_type(schema, type);
			if (!t && schema->allow_unknown) {
				unknown = true;
			} else if (!t) {
				warnf(&p, "(skip section '%s'): unsupported type '%s'", id, type);
				skip = true;
			}
		}
		struct section *s = skip ? NULL : section_new(type, id);
		if (s)
			s->unknown = unknown;
		parse_body(&p, schema, t, s);
		if (!s)
			continue;
		bool complete = true;
		for (size_t i = 0; t && i < t->n_props; i++) {
			if (!t->props[i].optional && !section_has(s, t->props[i].prop->name)) {
				warnf(&p,
				      "(skip section '%s'): missing value for required option '%s'",
				      id, t->props[i].prop->name);
				complete = false;
				break;
			}
		}
		if (!complete) {
			section_free(s);
			continue;
		}
		add_or_replace(&p, s);
	}
	if (p.failed)
		return p.failed;
	*ret = TAKE_PTR(c);
	return 0;
}

/* --- writer --- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int write_values(const struct section *s, const char *key, bool skip_empty,
                        struct strbuf *out, struct error **err)
{
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct section_kv *kv = &s->kv[i];
		if (!streq(kv->key, key))
			continue;
		if (kv->value && strpbrk(kv->value, "\r\n"))
			return error_set(err, -EINVAL, 500, "property '%s' contains a line feed",
			                 key);
		if (!kv->value) {
			strbuf_addf(out, "\t%s\n", key);
			continue;
		}
		if (skip_empty && !*kv->value)
			continue;
		strbuf_addf(out, "\t%s %s\n", key, kv->value);
	}
	return 0;
}

static int cmp_prop(const void *a, const void *b)
{
	return strcmp((*(const struct section_prop *const *)a)->prop->name,
	              (*(const struct section_prop *const *)b)->prop->name);
}

/* The members of a family (net0, net1, ...) the section has, sorted. */
static int write_family(const struct section *s, const struct conf_prop *family, bool skip_empty,
                        struct strbuf *out, struct error **err)
{
	_cleanup_free_ const char **keys = xnew(const char *, s->n_kv + 1);
	size_t n = 0;
	for (size_t i = 0; i < s->n_kv; i++) {
		bool seen = !conf_prop_matches(family, s->kv[i].key, NULL);
		for (size_t j = 0; j < n && !seen; j++)
			seen = streq(keys[j], s->kv[i].key);
		if (!seen)
			keys[n++] = s->kv[i].key;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (write_values(s, keys[i], skip_empty, out, err) < 0)
			return -EINVAL;
	return 0;
}

static int write_known(const struct section *s, const struct section_type *t, struct strbuf *out,
                       struct error **err)
{
	const char *comment = section_get(s, "comment");
	if (comment && *comment && write_values(s, "comment", true, out, err) < 0)
		return -EINVAL;
	const char *disable = section_get(s, "disable");
	if (section_has(s, "disable") && (!disable || !streq(disable, "0")))
		strbuf_addstr(out, "\tdisable\n");

	_cleanup_free_ const struct section_prop **props =
	    xnew(const struct section_prop *, t->n_props + 1);
	for (size_t i = 0; i < t->n_props; i++)
		props[i] = &t->props[i];
	qsort(props, t->n_props, sizeof(*props), cmp_prop);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->n_props; i++) {
			const struct section_prop *prop = props[i];
			const char *name = prop->prop->name;
			if (streq(name, "comment") || streq(name, "disable"))
				continue;
			if (prop->optional != (pass == 1))
				continue;
			bool skip_empty = prop->prop->type == CONF_TYPE_STRING ||
			                  prop->prop->type == CONF_TYPE_PROPSTRING;
			if (prop->prop->flags & CONF_PROP_INDEXED) {
				if (write_family(s, prop->prop, skip_empty, out, err) < 0)
					return -EINVAL;
				continue;
			}
			if (!prop->optional && !section_has(s, name))
				return error_set(
				    err, -EINVAL, 500,
				    "section '%s' - missing value for required option '%s'", s->id,
				    name);
			if (write_values(s, name, skip_empty, out, err) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

static int write_unknown(const struct section *s, struct strbuf *out, struct error **err)
{
	if (section_has(s, "comment") && write_values(s, "comment", false, out, err) < 0)
		return -EINVAL;
	_cleanup_free_ const char **keys = xnew(const char *, s->n_kv + 1);
	size_t n = 0;
	for (size_t i = 0; i < s->n_kv; i++) {
		bool seen = streq(s->kv[i].key, "comment");
		for (size_t j = 0; j < n && !seen; j++)
			seen = streq(keys[j], s->kv[i].key);
		if (!seen)
			keys[n++] = s->kv[i].key;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (write_values(s, keys[i], false, out, err) < 0)
			return -EINVAL;
	return 0;
}

int section_config_write(const struct section_config *c, const struct section_schema *schema,
                         struct strbuf *out, struct error **err)
{
	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *s = c->sections[i];
		if (strpbrk(s->type, " \t\r\n") || strpbrk(s->id, " \t\r\n") || !*s->type ||
		    !*s->id)
			return error_set(err, -EINVAL, 500, "invalid section header '%s: %s'",
			                 s->type, s->id);
		strbuf_addf(out, "%s: %s\n", s->type, s->id);
		const struct section_type *t = section_schema_find_type(schema, s->type);
		int r;
		if (t)
			r = write_known(s, t, out, err);
		else if (schema)
			r = write_unknown(s, out, err);
		else {
			r = 0;
			for (size_t k = 0; k < s->n_kv && r == 0; k++) {
				const struct section_kv *kv = &s->kv[k];
				if (kv->value && strpbrk(kv->value, "\r\n"))
					r = error_set(err, -EINVAL, 500,
					              "property '%s' contains a line feed",
					              kv->key);
				else if (kv->value)
					strbuf_addf(out, "\t%s %s\n", kv->key, kv->value);
				else
					strbuf_addf(out, "\t%s\n", kv->key);
			}
		}
		if (r < 0)
			return r;
		strbuf_addch(out, '\n');
	}
	return 0;
}
