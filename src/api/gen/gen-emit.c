/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <errno.h>
#include <stdlib.h>

#include "gen-emit.h"

int gen_param_from_conf(const struct conf_prop *p, const char *name, bool all_optional,
                        struct api_param *ret)
{
	static const enum api_type types[_CONF_TYPE_MAX] = {
	    [CONF_TYPE_STRING] = API_TYPE_STRING, [CONF_TYPE_INTEGER] = API_TYPE_INTEGER,
	    [CONF_TYPE_NUMBER] = API_TYPE_NUMBER, [CONF_TYPE_BOOLEAN] = API_TYPE_BOOLEAN,
	    [CONF_TYPE_ENUM] = API_TYPE_STRING,   [CONF_TYPE_PROPSTRING] = API_TYPE_STRING,
	};
	if (p->pattern) {
		fprintf(stderr, "key '%s': an API parameter row has no pattern\n", p->name);
		return -EINVAL;
	}
	if (!conf_type_to_string(p->type)) {
		fprintf(stderr, "key '%s': invalid type\n", p->name);
		return -EINVAL;
	}
	*ret = (struct api_param){
	    .name = name,
	    .type = types[p->type],
	    .format = p->format,
	    .description = p->description,
	    .optional = all_optional || (p->flags & CONF_PROP_OPTIONAL),
	    .default_text = p->default_text,
	    .has_min = p->has_min,
	    .has_max = p->has_max,
	    .minimum = p->min,
	    .maximum = p->max,
	    .min_length = p->min_length,
	    .max_length = p->max_length,
	    .enum_values = p->enum_values,
	    .typetext = p->typetext,
	    .secret = p->flags & CONF_PROP_SECRET,
	};
	return 0;
}

void gen_emit_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("NULL", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(f, "\\%03o", *c); /* octal: never swallows the next char */
		else if (*c == '?' && c[1] == '?')
			fputs("?\\", f); /* no trigraphs */
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static const char *const type_enum[_API_TYPE_MAX] = {
    [API_TYPE_STRING] = "API_TYPE_STRING", [API_TYPE_INTEGER] = "API_TYPE_INTEGER",
    [API_TYPE_NUMBER] = "API_TYPE_NUMBER", [API_TYPE_BOOLEAN] = "API_TYPE_BOOLEAN",
    [API_TYPE_ARRAY] = "API_TYPE_ARRAY",   [API_TYPE_OBJECT] = "API_TYPE_OBJECT",
    [API_TYPE_NULL] = "API_TYPE_NULL",     [API_TYPE_ANY] = "API_TYPE_ANY",
};

static void emit_strv(FILE *f, const char *const *v)
{
	fputs("(const char *const[]){", f);
	for (; *v; v++) {
		gen_emit_string(f, *v);
		fputs(", ", f);
	}
	fputs("NULL}", f);
}

#define FIELD_STR(f, p, field)                          \
	do {                                            \
		if ((p)->field) {                       \
			fputs(", ." #field " = ", f);   \
			gen_emit_string(f, (p)->field); \
		}                                       \
	} while (0)

void gen_emit_param(FILE *f, const struct api_param *p)
{
	fputs("{.name = ", f);
	gen_emit_string(f, p->name);
	fprintf(f, ", .type = %s", type_enum[p->type]);
	FIELD_STR(f, p, format);
	FIELD_STR(f, p, description);
	FIELD_STR(f, p, default_text);
	FIELD_STR(f, p, typetext);
	if (p->optional)
		fputs(", .optional = true", f);
	if (p->has_min)
		fprintf(f, ", .has_min = true, .minimum = %lldLL", p->minimum);
	if (p->has_max)
		fprintf(f, ", .has_max = true, .maximum = %lldLL", p->maximum);
	if (p->min_length)
		fprintf(f, ", .min_length = %u", p->min_length);
	if (p->max_length)
		fprintf(f, ", .max_length = %u", p->max_length);
	if (p->enum_values) {
		fputs(", .enum_values = ", f);
		emit_strv(f, p->enum_values);
	}
	if (p->type == API_TYPE_ARRAY)
		fprintf(f, ", .items = %s", type_enum[p->items]);
	if (p->secret)
		fputs(", .secret = true", f);
	fputc('}', f);
}

static const char *const check_kind[] = {
    [API_CHECK_PERM] = "API_CHECK_PERM",
    [API_CHECK_AND] = "API_CHECK_AND",
    [API_CHECK_OR] = "API_CHECK_OR",
    [API_CHECK_USERID_SELF] = "API_CHECK_USERID_SELF",
    [API_CHECK_USERID_REALM] = "API_CHECK_USERID_REALM",
    [API_CHECK_USERID_GROUP] = "API_CHECK_USERID_GROUP",
    [API_CHECK_PERM_MODIFY] = "API_CHECK_PERM_MODIFY",
};

static void emit_check(FILE *f, const struct api_check *c)
{
	fprintf(f, "&(const struct api_check){.kind = %s", check_kind[c->kind]);
	FIELD_STR(f, c, path);
	FIELD_STR(f, c, require_param);
	FIELD_STR(f, c, groups_param);
	if (c->privs) {
		fputs(", .privs = ", f);
		emit_strv(f, c->privs);
	}
	if (c->any)
		fputs(", .any = true", f);
	if (c->subs) {
		fputs(", .subs = (const struct api_check *const[]){", f);
		for (const struct api_check *const *s = c->subs; *s; s++) {
			emit_check(f, *s);
			fputs(", ", f);
		}
		fputs("NULL}", f);
	}
	fputc('}', f);
}

static const char *const perm_user[] = {
    [API_PERM_ROOT] = "API_PERM_ROOT",
    [API_PERM_WORLD] = "API_PERM_WORLD",
    [API_PERM_ALL] = "API_PERM_ALL",
    [API_PERM_CHECK] = "API_PERM_CHECK",
};

void gen_emit_method(FILE *f, const struct api_method *m)
{
	fputs("    {.path = ", f);
	gen_emit_string(f, m->path);
	fputs(",\n     .verb = ", f);
	gen_emit_string(f, m->verb);
	fputs(",\n     .name = ", f);
	gen_emit_string(f, m->name);
	if (m->description) {
		fputs(",\n     .description = ", f);
		gen_emit_string(f, m->description);
	}
	fputs(",\n     .params = (const struct api_param[]){", f);
	for (const struct api_param *p = m->params; p && p->name; p++) {
		fputs("\n         ", f);
		gen_emit_param(f, p);
		fputs(",", f);
	}
	fputs("\n         {.name = NULL}},\n     .returns = ", f);
	gen_emit_param(f, &m->returns);
	fprintf(f, ",\n     .perm = {.user = %s", perm_user[m->perm.user]);
	if (m->perm.check) {
		fputs(", .check = ", f);
		emit_check(f, m->perm.check);
	}
	FIELD_STR(f, &m->perm, description);
	fprintf(f, "},\n     .flags = %uu},\n", m->flags);
}

struct membuf {
	char *buf;
	size_t len;
};

int gen_write_file(const char *path, int (*fn)(FILE *f, void *arg), void *arg)
{
	struct membuf m = {0};
	FILE *mem = open_memstream(&m.buf, &m.len);
	if (!mem)
		return 1;
	int r = fn(mem, arg);
	if (fclose(mem) != 0 || r != 0) {
		free(m.buf);
		return 1;
	}
	/* unchanged: keep the file (and its mtime) */
	FILE *old = fopen(path, "r");
	if (old) {
		char *cur = malloc(m.len + 1);
		size_t n = cur ? fread(cur, 1, m.len + 1, old) : 0;
		fclose(old);
		bool same = cur && n == m.len && memcmp(cur, m.buf, m.len) == 0;
		free(cur);
		if (same) {
			free(m.buf);
			return 0;
		}
	}
	FILE *out = fopen(path, "w");
	int rc = !out || fwrite(m.buf, 1, m.len, out) != m.len;
	if (out && fclose(out) != 0)
		rc = 1;
	free(m.buf);
	if (rc)
		fprintf(stderr, "cannot write '%s'\n", path);
	return rc;
}
