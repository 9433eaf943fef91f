/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Typed property tables and named formats (property.h). */
#include "common.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <strings.h>

#include "error.h"
#include "jsonutil.h"
#include "property.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const type_names[_CONF_TYPE_MAX] = {
    [CONF_TYPE_STRING] = "string", [CONF_TYPE_INTEGER] = "integer",
    [CONF_TYPE_NUMBER] = "number", [CONF_TYPE_BOOLEAN] = "boolean",
    [CONF_TYPE_ENUM] = "enum",     [CONF_TYPE_PROPSTRING] = "property-string",
};

const char *conf_type_to_string(enum conf_type t)
{
	return t >= 0 && t < _CONF_TYPE_MAX ? type_names[t] : NULL;
}

/* --- this layer's formats --- */

static bool all_chars(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* Proxmox's pve-configid (JSONSchema.pm's CONFIGID_RE, also snapshot
 * names): [a-zA-Z][a-zA-Z0-9_-]+, and at most 64 bytes here (a bound on
 * what a client sends).  Its message as PVE words it. */
static int check_configid(const char *s, struct error **err)
{
	size_t n = strlen(s);
	if (n < 2 || n > 64 || !isalpha((unsigned char)s[0]) || !all_chars(s, "_-"))
		return error_set(err, -EINVAL, 400,
		                 "invalid format - invalid configuration ID '%s'", s);
	return 0;
}

/* ^[1-9][0-9]{2,8}$ */
static int check_vmid(const char *s, struct error **err)
{
	size_t n = strlen(s);
	if (n < 3 || n > 9 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -EINVAL;
	return 0;
}

static int check_email(const char *s, struct error **err)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || !at[1] || strpbrk(s, " \t\r\n"))
		return -EINVAL;
	return 0;
}

const struct conf_format conf_formats[] = {
    {"pve-configid", check_configid, NULL},
    {"pve-vmid", check_vmid, "VM ID"},
    {"email", check_email, "email address"},
    {NULL, NULL, NULL},
};

/* --- formats --- */

#define LIST_SUFFIX "-list"

const struct conf_format *conf_format_find(const struct conf_format *const *tables,
                                           const char *name, bool *ret_list)
{
	if (!name)
		return NULL;
	size_t n = strlen(name), sl = strlen(LIST_SUFFIX);
	bool list = n > sl && streq(name + n - sl, LIST_SUFFIX);
	if (list)
		n -= sl;
	for (; tables && *tables; tables++)
		for (const struct conf_format *f = *tables; f->name; f++)
			if (strlen(f->name) == n && strncmp(f->name, name, n) == 0) {
				if (ret_list)
					*ret_list = list;
				return f;
			}
	return NULL;
}

/* One value against f: f's own message, or the `what` one for value_shown. */
static int check_one(const struct conf_format *f, const char *value, const char *value_shown,
                     struct error **err)
{
	if (!f->what)
		return f->check(value, err);
	int r = f->check(value, NULL);
	if (r < 0)
		return error_set(err, r, 400, "invalid format - value '%s' is not a valid %s",
		                 value_shown, f->what);
	return 0;
}

int conf_format_check(const struct conf_format *const *tables, const char *format,
                      const char *value, struct error **err)
{
	bool list = false;
	const struct conf_format *f = conf_format_find(tables, format, &list);
	if (!f)
		return error_set(err, -ENOENT, 500, "unknown format '%s'", format);
	if (!list)
		return check_one(f, value, value, err);
	/* items as Proxmox's split_list: ',', ';' or blanks between them */
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",; ", &save); t; t = strtok_r(NULL, ",; ", &save)) {
		int r = check_one(f, t, value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- rows --- */

bool conf_prop_matches(const struct conf_prop *p, const char *key, int *ret_index)
{
	if (!key || !p->name)
		return false;
	if (!(p->flags & CONF_PROP_INDEXED)) {
		if (!streq(p->name, key))
			return false;
		if (ret_index)
			*ret_index = -1;
		return true;
	}
	size_t l = strlen(p->name);
	const char *d = key + l;
	size_t nd = strncmp(key, p->name, l) == 0 ? strspn(d, "0123456789") : 0;
	if (nd == 0 || d[nd] || nd > 9 || (d[0] == '0' && nd > 1))
		return false;
	unsigned long idx = strtoul(d, NULL, 10);
	if (idx > p->index_max)
		return false;
	if (ret_index)
		*ret_index = (int)idx;
	return true;
}

const struct conf_prop *conf_props_find(const struct conf_prop *props, const char *key,
                                        int *ret_index)
{
	for (const struct conf_prop *p = props; p && p->name; p++)
		if (conf_prop_matches(p, key, ret_index))
			return p;
	return NULL;
}

static bool parse_integer(const char *value, long long *ret)
{
	const char *s = value;
	if (*s == '-' || *s == '+')
		s++;
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	*ret = strtoll(value, NULL, 10);
	return true;
}

static bool parse_number(const char *s, double *ret)
{
	if (!*s || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v != v)
		return false;
	*ret = v;
	return true;
}

static char *enum_list(const char *const *values)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *const *e = values; e && *e; e++)
		strbuf_addf(&sb, "%s%s", e == values ? "" : ", ", *e);
	return strbuf_detach(&sb, NULL);
}

static bool in_list(const char *const *values, const char *s)
{
	for (const char *const *e = values; e && *e; e++)
		if (streq(*e, s))
			return true;
	return false;
}

/* 1 matches, 0 does not, -EINVAL: the pattern does not compile. */
static int match_pattern(const char *pattern, const char *value)
{
	_cleanup_free_ char *anchored = xasprintf("^(%s)$", pattern);
	regex_t re;
	if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
		return -EINVAL;
	int r = regexec(&re, value, 0, NULL, 0) == 0;
	regfree(&re);
	return r;
}

/* Runs fn on value; a failure becomes a parameter error of key. */
static int run_check(conf_check_fn *fn, const char *key, const char *value, struct error **err)
{
	struct error *e = NULL;
	int r = fn(value, &e);
	if (r < 0) {
		if (e && e->http_status >= 500)
			error_propagate(err, TAKE_PTR(e));
		else
			error_param(err, key, "%s", e ? e->msg : "invalid value");
		error_free(e);
	}
	return r;
}

/* The type check and normalisation; *ret_norm malloc'd. */
static int check_type(const struct conf_prop *p, const char *key, const char *value,
                      char **ret_norm, struct error **err)
{
	switch (p->type) {
	case CONF_TYPE_BOOLEAN: {
		static const char *const yes[] = {"1", "on", "yes", "true"};
		static const char *const no[] = {"0", "off", "no", "false"};
		for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
			if (strcasecmp(value, yes[i]) == 0) {
				*ret_norm = xstrdup("1");
				return 0;
			}
			if (strcasecmp(value, no[i]) == 0) {
				*ret_norm = xstrdup("0");
				return 0;
			}
		}
		return error_param(err, key, "type check ('boolean') failed - got '%s'", value);
	}
	case CONF_TYPE_INTEGER: {
		long long v;
		if (!parse_integer(value, &v))
			return error_param(err, key, "type check ('integer') failed - got '%s'",
			                   value);
		if (p->has_min && v < p->min)
			return error_param(err, key, "value must have a minimum value of %lld",
			                   p->min);
		if (p->has_max && v > p->max)
			return error_param(err, key, "value must have a maximum value of %lld",
			                   p->max);
		*ret_norm = xasprintf("%lld", v);
		return 0;
	}
	case CONF_TYPE_NUMBER: {
		double v;
		if (!parse_number(value, &v))
			return error_param(err, key, "type check ('number') failed - got '%s'",
			                   value);
		if (p->has_min && v < (double)p->min)
			return error_param(err, key, "value must have a minimum value of %lld",
			                   p->min);
		if (p->has_max && v > (double)p->max)
			return error_param(err, key, "value must have a maximum value of %lld",
			                   p->max);
		break;
	}
	case CONF_TYPE_ENUM:
		if (!in_list(p->enum_values, value)) {
			_cleanup_free_ char *list = enum_list(p->enum_values);
			return error_param(
			    err, key, "value '%s' does not have a value in the enumeration '%s'",
			    value, list);
		}
		break;
	case CONF_TYPE_STRING:
	case CONF_TYPE_PROPSTRING:
		break;
	default:
		return error_set(err, -EINVAL, 500, "property '%s' has an invalid type", key);
	}
	size_t len = strlen(value);
	if (p->max_length && len > p->max_length)
		return error_param(err, key, "value may only be %u characters long", p->max_length);
	if (len < p->min_length)
		return error_param(err, key, "value must be at least %u characters long",
		                   p->min_length);
	if (p->pattern) {
		int m = match_pattern(p->pattern, value);
		if (m < 0)
			return error_set(err, -EINVAL, 500, "property '%s' has an invalid pattern",
			                 key);
		if (!m)
			return error_param(err, key, "value does not match the regex pattern");
	}
	*ret_norm = xstrdup(value);
	return 0;
}

int conf_prop_check_value(const struct conf_prop *p, const struct conf_format *const *formats,
                          const char *key, const char *value, conf_check_fn *narrow,
                          char **ret_value, struct error **err)
{
	if (!value) {
		if (p->type != CONF_TYPE_BOOLEAN)
			return error_param(err, key, "got undefined value");
		value = "1";
	}
	if (strpbrk(value, "\r\n"))
		return error_param(err, key, "property contains a line feed");

	_cleanup_free_ char *norm = NULL;
	int r = check_type(p, key, value, &norm, err);
	if (r < 0)
		return r;
	if (p->type == CONF_TYPE_PROPSTRING) {
		json_t *obj = NULL;
		struct error *e = NULL;
		r = conf_propstring_parse(p->sub, formats, norm, 0, &obj, &e);
		json_decref(obj);
		if (r < 0) {
			if (e && e->http_status >= 500)
				error_propagate(err, TAKE_PTR(e));
			else
				error_param(err, key, "%s", e ? e->msg : "invalid format");
			error_free(e);
			return r;
		}
	}
	if (narrow && (r = run_check(narrow, key, norm, err)) < 0)
		return r;
	if (p->check && (r = run_check(p->check, key, norm, err)) < 0)
		return r;
	if (p->format) {
		struct error *e = NULL;
		r = conf_format_check(formats, p->format, norm, &e);
		if (r < 0) {
			if (r == -ENOENT)
				error_propagate(err, TAKE_PTR(e));
			else
				error_param(err, key, "%s", e ? e->msg : "invalid format");
			error_free(e);
			return r;
		}
	}
	*ret_value = TAKE_PTR(norm);
	return 0;
}

/* --- property strings --- */

static int invalid(struct error **err, const char *fmt, const char *arg)
{
	return error_set(err, -EINVAL, 400, "invalid format - %s%s", fmt, arg ? arg : "");
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

static json_t *typed(const struct conf_prop *p, const char *norm)
{
	switch (p->type) {
	case CONF_TYPE_INTEGER:
		return json_integer(strtoll(norm, NULL, 10));
	case CONF_TYPE_BOOLEAN:
		return json_integer(norm[0] == '1');
	case CONF_TYPE_NUMBER:
		return json_real(strtod(norm, NULL));
	default:
		return json_string(norm);
	}
}

/* Pass 1: "k=v" parts into raw (by real key), as strings. */
static int split_parts(const struct conf_propstring *ps, const char *value, json_t *raw,
                       struct error **err)
{
	_cleanup_free_ char *copy = xstrdup(value);
	for (char *part = copy, *next; part; part = next) {
		size_t len = strcspn(part, ",");
		next = part[len] ? part + len + 1 : NULL;
		part[len] = '\0';
		if (is_blank(part))
			continue;
		char *eq = strchr(part, '=');
		if (!eq) {
			if (!ps->default_key)
				return invalid(err,
				               "value without key, but schema does not define a "
				               "default key",
				               NULL);
			if (json_object_get(raw, ps->default_key))
				return invalid(err,
				               "duplicate key in comma-separated list property: ",
				               ps->default_key);
			json_object_set_new(raw, ps->default_key, json_string(part));
			continue;
		}
		if (eq == part || !eq[1])
			return invalid(err, "missing key in comma-separated list property", NULL);
		*eq = '\0';
		const struct conf_prop *p = conf_props_find(ps->props, part, NULL);
		const char *key = part;
		if (p && p->alias) {
			key = p->alias;
			p = conf_props_find(ps->props, key, NULL);
		}
		if (!p)
			return invalid(err, "invalid key in comma-separated list property: ", part);
		if (json_object_get(raw, key))
			return invalid(err,
			               "duplicate key in comma-separated list property: ", key);
		json_object_set_new(raw, key, json_string(eq + 1));
	}
	return 0;
}

/* Checks one part's value and adds it to out, typed. */
static int check_part(const struct conf_prop *p, const struct conf_format *const *formats,
                      const char *key, const char *value, json_t *out, struct error **err)
{
	_cleanup_free_ char *norm = NULL;
	struct error *e = NULL;
	int r = conf_prop_check_value(p, formats, key, value, NULL, &norm, &e);
	if (r < 0) {
		if (e && e->http_status >= 500) {
			error_propagate(err, e);
			return r;
		}
		const char *why =
		    e && e->params ? json_string_value(json_object_get(e->params, key)) : NULL;
		r = error_set(err, r, 400, "invalid format - format error - %s: %s", key,
		              why ? why : (e ? e->msg : "invalid value"));
		error_free(e);
		return r;
	}
	json_object_set_new(out, key, typed(p, norm));
	return 0;
}

int conf_propstring_parse(const struct conf_propstring *ps,
                          const struct conf_format *const *formats, const char *value,
                          unsigned flags, json_t **ret, struct error **err)
{
	_cleanup_json_ json_t *raw = json_object();
	int r = split_parts(ps, value ? value : "", raw, err);
	if (r < 0)
		return r;

	/* pass 2: each value checked, plain keys in table order (PVE's
	 * check_object), then the members of families as given */
	_cleanup_json_ json_t *out = json_object();
	for (const struct conf_prop *p = ps->props; p->name; p++) {
		json_t *v = p->flags & CONF_PROP_INDEXED ? NULL : json_object_get(raw, p->name);
		if (v && (r = check_part(p, formats, p->name, json_string_value(v), out, err)) < 0)
			return r;
	}
	const char *key;
	json_t *v;
	json_object_foreach (raw, key, v) {
		int idx;
		const struct conf_prop *p = conf_props_find(ps->props, key, &idx);
		if (idx >= 0 &&
		    (r = check_part(p, formats, key, json_string_value(v), out, err)) < 0)
			return r;
	}
	for (const struct conf_prop *p = ps->props; p->name; p++) {
		if (p->alias || (p->flags & CONF_PROP_INDEXED) || json_object_get(out, p->name))
			continue;
		if (!(p->flags & CONF_PROP_OPTIONAL))
			return error_set(err, -EINVAL, 400,
			                 "invalid format - format error - %s: property is missing "
			                 "and it is not optional",
			                 p->name);
		if ((flags & CONF_PROPSTRING_DEFAULTS) && p->default_text)
			json_object_set_new(out, p->name, typed(p, p->default_text));
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* --- table checks --- */

static int check_rows(const struct conf_prop *props, const struct conf_format *const *formats,
                      unsigned depth, struct error **err)
{
	for (const struct conf_prop *p = props; p && p->name; p++) {
		const char *bad = NULL;
		if (p->alias && !conf_props_find(props, p->alias, NULL))
			bad = "an alias of a key that does not exist";
		else if (p->alias)
			continue;
		else if (p->format && !conf_format_find(formats, p->format, NULL))
			return error_set(err, -ENOENT, 500, "key '%s': unknown format '%s'",
			                 p->name, p->format);
		else if (!conf_type_to_string(p->type))
			bad = "an invalid type";
		else if (p->type == CONF_TYPE_ENUM && !p->enum_values)
			bad = "an enumeration without values";
		else if ((p->type == CONF_TYPE_PROPSTRING) != (p->sub != NULL))
			bad = "a sub-schema that does not match its type";
		else if ((p->flags & CONF_PROP_INDEXED) && !p->index_max)
			bad = "an index range of one";
		else if (p->sub && depth > 0)
			bad = "a property string inside a property string";
		if (bad)
			return error_set(err, -EINVAL, 500, "key '%s' has %s", p->name, bad);
		if (p->sub) {
			int r = check_rows(p->sub->props, formats, depth + 1, err);
			if (r < 0)
				return r;
			if (p->sub->default_key &&
			    !conf_props_find(p->sub->props, p->sub->default_key, NULL))
				return error_set(err, -EINVAL, 500,
				                 "key '%s': default key '%s' does not exist",
				                 p->name, p->sub->default_key);
		}
	}
	return 0;
}

int conf_props_check_formats(const struct conf_prop *props,
                             const struct conf_format *const *formats, struct error **err)
{
	return check_rows(props, formats, 0, err);
}
