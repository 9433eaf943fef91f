/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Parameter validation against a method's schema, with Proxmox's rules and
 * messages (pve-api.md 1.2): additionalProperties refused, booleans only 0/1
 * in forms, integers ^[+-]?\d+$, "-list" formats joining repeated keys,
 * every error collected into one 400 with an errors map.
 */
#include "common.h"

#include <ctype.h>

#include "api-internal.h"
#include "api-method.h"
#include "error.h"
#include "strbuf.h"
#include "property.h"
#include "task.h"
#include "xalloc.h"

/* Bound on any string parameter that does not declare its own. */
#define API_MAX_STRING 65536

static const char *const type_names[_API_TYPE_MAX] = {
    [API_TYPE_STRING] = "string",   [API_TYPE_INTEGER] = "integer", [API_TYPE_NUMBER] = "number",
    [API_TYPE_BOOLEAN] = "boolean", [API_TYPE_ARRAY] = "array",     [API_TYPE_OBJECT] = "object",
    [API_TYPE_NULL] = "null",       [API_TYPE_ANY] = "any",
};

const char *api_type_name(enum api_type t)
{
	return t >= 0 && t < _API_TYPE_MAX ? type_names[t] : "any";
}

/* Node names follow the UPID's node grammar (the task layer owns it). */
bool api_valid_node(const char *s)
{
	return upid_node_valid(s, strlen(s));
}

/* A string value against its named format (api_format_tables); false with
 * the reason in *why.  A format no table has fails the value: ctvmd does
 * not start with such a row (api_formats_check()). */
static bool check_format(const char *format, const char *value, char **why)
{
	if (!format)
		return true;
	struct error *e = NULL;
	if (conf_format_check(api_format_tables, format, value, &e) == 0)
		return true;
	*why = xstrdup(e ? e->msg : "invalid format");
	error_free(e);
	return false;
}

static bool parse_int(const char *s, long long *ret)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
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

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "HASH";
	case JSON_ARRAY:
		return "ARRAY";
	default:
		return "SCALAR";
	}
}

/* "type check ('<type>') failed - got ...": the value for a string or a
 * number (as Proxmox prints a scalar), else its kind. */
static void wrong_type(const struct api_param *p, const json_t *v, struct error **err)
{
	const char *type = api_type_name(p->type);
	if (json_is_string(v)) {
		error_param(err, p->name, "type check ('%s') failed - got '%s'", type,
		            json_string_value(v));
	} else if (json_is_number(v)) {
		_cleanup_free_ char *text = json_dumps(v, JSON_ENCODE_ANY);
		error_param(err, p->name, "type check ('%s') failed - got '%s'", type,
		            text ? text : "?");
	} else {
		error_param(err, p->name, "type check ('%s') failed - got %s", type, json_kind(v));
	}
}

/* Converts and checks one value; returns the typed value (new ref) or NULL
 * after adding a param error. */
static json_t *check_value(const struct api_param *p, json_t *v, struct error **err)
{
	const char *name = p->name;
	switch (p->type) {
	case API_TYPE_STRING: {
		_cleanup_free_ char *s = NULL;
		if (json_is_string(v))
			s = xstrdup(json_string_value(v));
		else if (json_is_integer(v))
			s = xasprintf("%lld", (long long)json_integer_value(v));
		else {
			/* a real is refused: "1000.0" is no id, and the permission
			 * check already saw a value it could not expand */
			wrong_type(p, v, err);
			return NULL;
		}
		size_t len = strlen(s);
		unsigned max = p->max_length ? p->max_length : API_MAX_STRING;
		if (len > max) {
			error_param(err, name, "value may only be %u characters long", max);
			return NULL;
		}
		if (len < p->min_length) {
			error_param(err, name, "value must be at least %u characters long",
			            p->min_length);
			return NULL;
		}
		if (p->enum_values) {
			bool found = false;
			for (const char *const *e = p->enum_values; *e && !found; e++)
				found = streq(*e, s);
			if (!found) {
				struct strbuf list = STRBUF_INIT;
				for (const char *const *e = p->enum_values; *e; e++)
					strbuf_addf(&list, "%s%s", e == p->enum_values ? "" : ", ",
					            *e);
				error_param(
				    err, name,
				    "value '%s' does not have a value in the enumeration '%s'", s,
				    list.buf);
				strbuf_release(&list);
				return NULL;
			}
		}
		_cleanup_free_ char *why = NULL;
		if (!check_format(p->format, s, &why)) {
			error_param(err, name, "%s", why);
			return NULL;
		}
		return json_string(s);
	}
	case API_TYPE_INTEGER:
	case API_TYPE_NUMBER: {
		bool is_int = p->type == API_TYPE_INTEGER;
		double d = 0;
		long long i = 0;
		bool ok;
		if (json_is_string(v))
			ok = is_int ? parse_int(json_string_value(v), &i)
			            : parse_number(json_string_value(v), &d);
		else if (json_is_integer(v)) {
			i = json_integer_value(v);
			d = (double)i;
			ok = true;
		} else if (json_is_real(v) && !is_int) {
			d = json_real_value(v);
			ok = true;
		} else
			ok = false;
		if (!ok) {
			wrong_type(p, v, err);
			return NULL;
		}
		if (is_int)
			d = (double)i;
		if (p->has_min && d < (double)p->minimum) {
			error_param(err, name, "value must have a minimum value of %lld",
			            p->minimum);
			return NULL;
		}
		if (p->has_max && d > (double)p->maximum) {
			error_param(err, name, "value must have a maximum value of %lld",
			            p->maximum);
			return NULL;
		}
		if (is_int && p->format && streq(p->format, "pve-vmid")) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%lld", i);
			if (i < 100 || buf[0] == '0') {
				error_param(err, name, "value does not look like a valid VM ID");
				return NULL;
			}
		}
		return is_int ? json_integer(i) : json_real(d);
	}
	case API_TYPE_BOOLEAN: {
		/* forms: exactly "0" or "1"; JSON bodies may also use true/false */
		if (json_is_true(v))
			return json_integer(1);
		if (json_is_false(v))
			return json_integer(0);
		if (json_is_integer(v) &&
		    (json_integer_value(v) == 0 || json_integer_value(v) == 1))
			return json_integer(json_integer_value(v));
		if (json_is_string(v) &&
		    (streq(json_string_value(v), "0") || streq(json_string_value(v), "1")))
			return json_integer(json_string_value(v)[0] - '0');
		if (json_is_string(v))
			error_param(err, name, "type check ('boolean') failed - got '%s'",
			            json_string_value(v));
		else
			error_param(err, name, "type check ('boolean') failed - got %s",
			            json_kind(v));
		return NULL;
	}
	case API_TYPE_ARRAY: {
		json_t *arr = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
		size_t idx;
		json_t *item;
		json_array_foreach (arr, idx, item) {
			if (!json_is_string(item) && !json_is_number(item)) {
				error_param(err, name, "type check ('array') failed - got %s",
				            json_kind(item));
				json_decref(arr);
				return NULL;
			}
		}
		return arr;
	}
	case API_TYPE_OBJECT:
		if (!json_is_object(v)) {
			error_param(err, name, "type check ('object') failed - got %s",
			            json_kind(v));
			return NULL;
		}
		return json_incref(v);
	default:
		return json_incref(v);
	}
}

static const struct api_param *find_param(const struct api_method *m, const char *name)
{
	for (const struct api_param *p = m->params; p && p->name; p++)
		if (streq(p->name, name))
			return p;
	return NULL;
}

int api_validate_params(const struct api_method *m, json_t *params, struct error **err)
{
	struct error *perr = NULL;
	json_object_del(params, "_dc"); /* ExtJS cache buster */

	const char *key;
	json_t *v, *tmp;
	json_object_foreach_safe (params, tmp, key, v) {
		const struct api_param *p = find_param(m, key);
		if (!p) {
			error_param(&perr, key,
			            "property is not defined in schema and the "
			            "schema does not allow additional properties");
			continue;
		}
		/* a repeated form key for a "-list" string: join with ',' */
		json_t *in = v;
		_cleanup_json_ json_t *joined = NULL;
		if (json_is_array(v) && p->type != API_TYPE_ARRAY) {
			size_t fl = p->format ? strlen(p->format) : 0;
			if (p->type == API_TYPE_STRING && fl > 5 &&
			    streq(p->format + fl - 5, "-list")) {
				struct strbuf sb = STRBUF_INIT;
				size_t i;
				json_t *item;
				json_array_foreach (v, i, item) {
					if (i)
						strbuf_addch(&sb, ',');
					if (json_is_string(item))
						strbuf_addstr(&sb, json_string_value(item));
				}
				joined = json_string(sb.buf);
				strbuf_release(&sb);
				in = joined;
			}
		}
		json_t *typed = check_value(p, in, &perr);
		if (typed)
			json_object_set_new(params, key, typed);
	}
	for (const struct api_param *p = m->params; p && p->name; p++)
		if (!p->optional && !json_object_get(params, p->name))
			error_param(&perr, p->name, "property is missing and it is not optional");

	if (perr) {
		error_propagate(err, perr);
		return -EINVAL;
	}
	return 0;
}

/* --- schema dump ------------------------------------------------------ */

static json_t *param_schema(const struct api_param *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(api_type_name(p->type)));
	if (p->description)
		json_object_set_new(o, "description", json_string(p->description));
	if (p->format)
		json_object_set_new(o, "format", json_string(p->format));
	if (p->optional)
		json_object_set_new(o, "optional", json_integer(1));
	if (p->default_text)
		json_object_set_new(o, "default", json_string(p->default_text));
	if (p->has_min)
		json_object_set_new(o, "minimum", json_integer(p->minimum));
	if (p->has_max)
		json_object_set_new(o, "maximum", json_integer(p->maximum));
	if (p->max_length)
		json_object_set_new(o, "maxLength", json_integer(p->max_length));
	if (p->min_length)
		json_object_set_new(o, "minLength", json_integer(p->min_length));
	if (p->typetext)
		json_object_set_new(o, "typetext", json_string(p->typetext));
	if (p->enum_values) {
		json_t *e = json_array();
		for (const char *const *s = p->enum_values; *s; s++)
			json_array_append_new(e, json_string(*s));
		json_object_set_new(o, "enum", e);
	}
	if (p->type == API_TYPE_ARRAY)
		json_object_set_new(o, "items",
		                    json_pack("{s:s}", "type", api_type_name(p->items)));
	return o;
}

static json_t *check_schema(const struct api_check *c)
{
	json_t *a = json_array();
	switch (c->kind) {
	case API_CHECK_PERM: {
		json_array_append_new(a, json_string("perm"));
		json_array_append_new(a, json_string(c->path));
		json_t *privs = json_array();
		for (const char *const *p = c->privs; p && *p; p++)
			json_array_append_new(privs, json_string(*p));
		json_array_append_new(a, privs);
		if (c->any) {
			json_array_append_new(a, json_string("any"));
			json_array_append_new(a, json_integer(1));
		}
		if (c->require_param) {
			json_array_append_new(a, json_string("require_param"));
			json_array_append_new(a, json_string(c->require_param));
		}
		break;
	}
	case API_CHECK_AND:
	case API_CHECK_OR:
		json_array_append_new(a, json_string(c->kind == API_CHECK_AND ? "and" : "or"));
		for (const struct api_check *const *s = c->subs; s && *s; s++)
			json_array_append_new(a, check_schema(*s));
		break;
	case API_CHECK_USERID_SELF:
		json_array_append_new(a, json_string("userid-param"));
		json_array_append_new(a, json_string("self"));
		break;
	case API_CHECK_USERID_REALM:
		json_array_append_new(a, json_string("userid-param"));
		json_array_append_new(a, json_string("Realm.AllocateUser"));
		break;
	case API_CHECK_USERID_GROUP: {
		json_array_append_new(a, json_string("userid-group"));
		json_t *privs = json_array();
		for (const char *const *p = c->privs; p && *p; p++)
			json_array_append_new(privs, json_string(*p));
		json_array_append_new(a, privs);
		if (c->groups_param) {
			json_array_append_new(a, json_string("groups_param"));
			json_array_append_new(a, json_string(c->groups_param));
		}
		break;
	}
	case API_CHECK_PERM_MODIFY:
		json_array_append_new(a, json_string("perm-modify"));
		json_array_append_new(a, json_string(c->path));
		break;
	}
	return a;
}

json_t *api_method_schema(const struct api_method *m)
{
	json_t *props = json_object();
	for (const struct api_param *p = m->params; p && p->name; p++)
		json_object_set_new(props, p->name, param_schema(p));
	json_t *perm = json_object();
	switch (m->perm.user) {
	case API_PERM_ROOT:
		json_object_set_new(perm, "user", json_string("root@pam"));
		break;
	case API_PERM_WORLD:
		json_object_set_new(perm, "user", json_string("world"));
		break;
	case API_PERM_ALL:
		json_object_set_new(perm, "user", json_string("all"));
		break;
	case API_PERM_CHECK:
		json_object_set_new(perm, "check", check_schema(m->perm.check));
		break;
	}
	if (m->perm.description)
		json_object_set_new(perm, "description", json_string(m->perm.description));
	json_t *o =
	    json_pack("{s:s, s:s, s:{s:s, s:o, s:i}, s:o, s:o}", "method", m->verb, "name", m->name,
	              "parameters", "type", "object", "properties", props, "additionalProperties",
	              0, "permissions", perm, "returns", param_schema(&m->returns));
	if (m->description)
		json_object_set_new(o, "description", json_string(m->description));
	if (!(m->flags & API_NO_TOKEN))
		json_object_set_new(o, "allowtoken", json_integer(1));
	if (m->flags & API_PROTECTED)
		json_object_set_new(o, "protected", json_integer(1));
	return o;
}
