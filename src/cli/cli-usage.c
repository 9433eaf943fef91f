/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <strings.h>

#include "api-method.h"
#include "api-route.h"
#include "api-rows.h"
#include "cli-usage.h"
#include "strbuf.h"

static const struct {
	const char *verb, *cmd;
} verbs[] = {
    {"GET", "get"},
    {"POST", "create"},
    {"PUT", "set"},
    {"DELETE", "delete"},
};

static const char *const type_names[_API_TYPE_MAX] = {
    [API_TYPE_STRING] = "string",   [API_TYPE_INTEGER] = "integer", [API_TYPE_NUMBER] = "number",
    [API_TYPE_BOOLEAN] = "boolean", [API_TYPE_ARRAY] = "array",     [API_TYPE_OBJECT] = "object",
    [API_TYPE_NULL] = "null",       [API_TYPE_ANY] = "any",
};

static const char *type_name(enum api_type t)
{
	return t >= 0 && t < _API_TYPE_MAX ? type_names[t] : "any";
}

/* "<string>", "<dir | lvm>", "<integer> (1 - 10)" */
static void add_typetext(struct strbuf *sb, const struct api_param *p)
{
	if (p->typetext) {
		strbuf_addstr(sb, p->typetext);
		return;
	}
	strbuf_addch(sb, '<');
	if (p->enum_values)
		for (const char *const *e = p->enum_values; *e; e++)
			strbuf_addf(sb, "%s%s", e == p->enum_values ? "" : " | ", *e);
	else
		strbuf_addstr(sb, type_name(p->type));
	strbuf_addch(sb, '>');
	if (p->has_min && p->has_max)
		strbuf_addf(sb, " (%lld - %lld)", p->minimum, p->maximum);
	else if (p->has_min)
		strbuf_addf(sb, " (%lld - N)", p->minimum);
	else if (p->has_max)
		strbuf_addf(sb, " (N - %lld)", p->maximum);
}

static bool in_path(const struct api_method *m, const char *name)
{
	size_t l = strlen(name);
	for (const char *p = strchr(m->path, '{'); p; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, l) == 0 && p[1 + l] == '}')
			return true;
	return false;
}

static void print_param(FILE *out, const struct api_param *p, bool path)
{
	struct strbuf sb = STRBUF_INIT;
	add_typetext(&sb, p);
	fprintf(out, "  %s%s %s\n", path ? "" : "--", p->name, sb.buf);
	strbuf_release(&sb);
	if (p->description)
		fprintf(out, "        %s\n", p->description);
	struct strbuf d = STRBUF_INIT;
	if (p->format)
		strbuf_addf(&d, "; format: %s", p->format);
	if (p->max_length)
		strbuf_addf(&d, "; at most %u characters", p->max_length);
	if (p->min_length)
		strbuf_addf(&d, "; at least %u characters", p->min_length);
	if (p->default_text)
		strbuf_addf(&d, "; default: %s", p->default_text);
	if (p->secret)
		strbuf_addstr(&d, "; secret");
	if (d.len)
		fprintf(out, "        (%s)\n", d.buf + 2);
	strbuf_release(&d);
}

static void add_privs(struct strbuf *sb, const char *const *privs, bool any)
{
	for (const char *const *p = privs; p && *p; p++)
		strbuf_addf(sb, "%s%s", p == privs ? "" : (any ? " or " : " and "), *p);
}

/* The permission expression in words. */
static void add_check(struct strbuf *sb, const struct api_check *c, bool top)
{
	switch (c->kind) {
	case API_CHECK_PERM:
		add_privs(sb, c->privs, c->any);
		strbuf_addf(sb, " on %s", c->path);
		if (c->require_param)
			strbuf_addf(sb, " (with '%s')", c->require_param);
		break;
	case API_CHECK_AND:
	case API_CHECK_OR:
		if (!top)
			strbuf_addch(sb, '(');
		for (const struct api_check *const *s = c->subs; s && *s; s++) {
			if (s != c->subs)
				strbuf_addstr(sb, c->kind == API_CHECK_AND ? " and " : " or ");
			add_check(sb, *s, false);
		}
		if (!top)
			strbuf_addch(sb, ')');
		break;
	case API_CHECK_USERID_SELF:
		strbuf_addstr(sb, "the user in 'userid' is the caller");
		break;
	case API_CHECK_USERID_REALM:
		strbuf_addstr(sb, "Realm.AllocateUser on the realm of 'userid'");
		break;
	case API_CHECK_USERID_GROUP:
		add_privs(sb, c->privs, false);
		strbuf_addstr(sb, " on /access/groups or on the groups of 'userid'");
		break;
	case API_CHECK_PERM_MODIFY:
		strbuf_addf(sb, "Permissions.Modify on %s", c->path);
		break;
	}
}

void cli_usage_method(FILE *out, const char *prefix, const struct api_method *m)
{
	const char *cmd = m->verb;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(verbs[i].verb, m->verb))
			cmd = verbs[i].cmd;
	struct strbuf u = STRBUF_INIT;
	strbuf_addf(&u, "%s %s %s", prefix, cmd, m->path);
	bool has_opts = false;
	for (const struct api_param *p = m->params; p && p->name; p++) {
		if (in_path(m, p->name))
			continue;
		if (p->optional) {
			has_opts = true;
			continue;
		}
		strbuf_addf(&u, " --%s ", p->name);
		add_typetext(&u, p);
	}
	if (has_opts)
		strbuf_addstr(&u, " [OPTIONS]");
	fprintf(out, "USAGE: %s\n\n", u.buf);
	strbuf_release(&u);
	if (m->description)
		fprintf(out, "  %s\n\n", m->description);

	static const char *const heads[] = {"Path parameters:", "Required:", "Options:"};
	for (int group = 0; group < 3; group++) {
		bool head = false;
		for (const struct api_param *p = m->params; p && p->name; p++) {
			bool path = in_path(m, p->name);
			int g = path ? 0 : p->optional ? 2 : 1;
			if (g != group)
				continue;
			if (!head)
				fprintf(out, "%s\n", heads[group]);
			head = true;
			print_param(out, p, path);
		}
		if (head)
			fputc('\n', out);
	}

	struct strbuf perm = STRBUF_INIT;
	switch (m->perm.user) {
	case API_PERM_ROOT:
		strbuf_addstr(&perm, "root@pam only");
		break;
	case API_PERM_WORLD:
		strbuf_addstr(&perm, "anyone, without logging in");
		break;
	case API_PERM_ALL:
		strbuf_addstr(&perm, "any user");
		break;
	case API_PERM_CHECK:
		if (m->perm.check)
			add_check(&perm, m->perm.check, true);
		break;
	}
	if (m->perm.description)
		strbuf_addf(&perm, "%s%s", perm.len ? ": " : "", m->perm.description);
	fprintf(out, "Permissions: %s\n", perm.buf);
	strbuf_release(&perm);
	fprintf(out, "Returns: %s%s%s%s\n", type_name(m->returns.type),
	        m->flags & API_ASYNC ? " (the UPID of the task)" : "",
	        m->flags & API_NO_TOKEN ? "; not with an API token" : "",
	        m->flags & API_PROTECTED ? "; changes the host" : "");
}

int cli_api_usage(const char *prefix, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1 || argc > 2) {
		fprintf(err, "Usage: %s usage PATH [GET|POST|PUT|DELETE]\n", prefix);
		return 2;
	}
	const char *only = NULL;
	if (argc == 2) {
		for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
			if (strcasecmp(argv[1], verbs[i].verb) == 0 || streq(argv[1], verbs[i].cmd))
				only = verbs[i].verb;
		if (streq(argv[1], "ls"))
			only = "GET";
		if (!only) {
			fprintf(err, "ctvm: unknown method '%s'\n", argv[1]);
			return 2;
		}
	}
	struct api_route_table *t = api_route_table_new(api_row_tables);
	size_t found = 0;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (only && !streq(only, verbs[i].verb))
			continue;
		const struct api_method *m = api_route_lookup(t, verbs[i].verb, argv[0], NULL);
		if (!m)
			continue;
		if (found++)
			fputc('\n', out);
		cli_usage_method(out, prefix, m);
	}
	api_route_table_free(t);
	if (!found) {
		fprintf(err, "ctvm: no API method %s%s%s\n", only ? only : "", only ? " " : "for ",
		        argv[0]);
		return 1;
	}
	return 0;
}
