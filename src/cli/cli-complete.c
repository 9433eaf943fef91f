/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shell completion from the method table.  The installed bash and zsh
 * scripts (etc/completion/) call `PROG __complete WORD... CURRENT` and
 * offer what it prints, one candidate a line; the shell filters them by
 * the prefix typed.  So completion follows this binary's table: the
 * options of a command are exactly its row's parameters, never a list
 * kept by hand.  Nothing here asks the daemon.
 */
#include "common.h"

#include "api-method.h"
#include "api-rows.h"
#include "cli-cmds.h"
#include "cli.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const globals[] = {"--root", "--host", "--output-format", "--async"};
static const char *const formats[] = {"json", "json-pretty", "text"};

static void print_list(const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s\n", v[i]);
}

static bool in_path(const struct api_method *m, const char *name)
{
	size_t l = strlen(name);
	for (const char *p = strchr(m->path, '{'); p; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, l) == 0 && p[1 + l] == '}')
			return true;
	return false;
}

/* The row's options (not its path placeholders) and the global ones. */
static void print_options(const struct api_method *m)
{
	for (const struct api_param *p = m ? m->params : NULL; p && p->name; p++)
		if (!in_path(m, p->name))
			printf("--%s\n", p->name);
	print_list(globals, ARRAY_SIZE(globals));
}

/* After "--key": the key's enum values or a boolean's; else nothing. */
static bool print_values(const struct api_method *m, const char *opt)
{
	if (streq(opt, "--output-format")) {
		print_list(formats, ARRAY_SIZE(formats));
		return true;
	}
	if (streq(opt, "--root") || streq(opt, "--host"))
		return true;
	if (!str_startswith(opt, "-"))
		return false;
	opt += opt[1] == '-' ? 2 : 1;
	for (const struct api_param *p = m ? m->params : NULL; p && p->name; p++) {
		if (!streq(p->name, opt))
			continue;
		if (p->enum_values)
			for (const char *const *e = p->enum_values; *e; e++)
				printf("%s\n", *e);
		else if (p->type == API_TYPE_BOOLEAN)
			printf("0\n1\n");
		return p->type != API_TYPE_BOOLEAN;
	}
	return false;
}

/* pvesh's PATH: every template's path so far, up to its next '/'. */
static void print_paths(const char *cur)
{
	size_t l = strlen(cur);
	_cleanup_json_ json_t *seen = json_object();
	for (const struct api_method *const *t = api_row_tables; *t; t++)
		for (const struct api_method *m = *t; m->path; m++) {
			if (strncmp(m->path, cur, l) != 0)
				continue;
			const char *slash = strchr(m->path + l + (m->path[l] == '/'), '/');
			_cleanup_free_ char *p =
			    xstrndup(m->path, slash ? (size_t)(slash - m->path) : strlen(m->path));
			if (json_object_get(seen, p))
				continue;
			json_object_set_new(seen, p, json_true());
			printf("%s\n", p);
		}
}

static int complete_pvesh(struct cli *c, int argc, char **argv)
{
	static const char *const verbs[] = {"get", "ls", "create", "set", "delete", "usage"};
	static const char *const methods[] = {"GET", "GET", "POST", "PUT", "DELETE", "GET"};
	if (argc <= 1) {
		print_list(verbs, ARRAY_SIZE(verbs));
		return 0;
	}
	if (argc == 2) {
		print_paths(argv[1]);
		return 0;
	}
	const char *method = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(argv[0], verbs[i]))
			method = methods[i];
	if (!method)
		return 0;
	const struct api_method *m = cli_method(c, method, argv[1]);
	if (print_values(m, argv[argc - 2]))
		return 0;
	print_options(m);
	return 0;
}

static int complete_mode(struct cli *c, const struct cli_mode *mode, int argc, char **argv)
{
	/* the words typed so far that name a command ("user token" ...) */
	const struct cli_cmd *best = NULL;
	int best_n = 0;
	for (const struct cli_cmd *cmd = mode->cmds; cmd->name; cmd++) {
		int n = 0;
		const char *p = cmd->name;
		while (*p && n < argc - 1) {
			size_t l = strcspn(p, " ");
			if (strlen(argv[n]) != l || strncmp(argv[n], p, l) != 0)
				break;
			n++;
			p += l;
			p += *p == ' ';
		}
		if (!*p && n > best_n)
			best = cmd, best_n = n;
	}
	if (!best) {
		/* the next word of every command whose words so far match */
		_cleanup_json_ json_t *seen = json_object();
		for (const struct cli_cmd *cmd = mode->cmds; cmd->name; cmd++) {
			const char *p = cmd->name;
			int n = 0;
			bool ok = true;
			for (; n < argc - 1 && *p; n++) {
				size_t l = strcspn(p, " ");
				if (strlen(argv[n]) != l || strncmp(argv[n], p, l) != 0) {
					ok = false;
					break;
				}
				p += l;
				p += *p == ' ';
			}
			if (!ok || !*p || n != argc - 1)
				continue;
			_cleanup_free_ char *w = xstrndup(p, strcspn(p, " "));
			if (!json_object_get(seen, w)) {
				json_object_set_new(seen, w, json_true());
				printf("%s\n", w);
			}
		}
		if (argc == 1)
			printf("help\n");
		return 0;
	}
	if (mode->cmds == cli_mode_qm.cmds && streq(best->name, "terminal")) {
		/* its own options, not termproxy's (cli-term.c) */
		static const char *const ifaces[] = {"serial0", "serial1", "serial2", "serial3"};
		static const char *const opts[] = {"--iface", "--escape"};
		const char *prev = argc >= 2 ? argv[argc - 2] : "";
		if (streq(prev, "--iface"))
			print_list(ifaces, ARRAY_SIZE(ifaces));
		else if (!streq(prev, "--escape") && !print_values(NULL, prev)) {
			print_list(opts, ARRAY_SIZE(opts));
			print_list(globals, ARRAY_SIZE(globals));
		}
		return 0;
	}
	const struct api_method *m = cli_method(c, best->verb, best->path);
	if (argc >= 2 && print_values(m, argv[argc - 2]))
		return 0;
	if (best->local && *best->local) {
		_cleanup_free_ char *l = xstrdup(best->local);
		for (char *w = strtok(l, " "); w; w = strtok(NULL, " "))
			printf("--%s\n", w);
	}
	print_options(m);
	return 0;
}

static const char *const ctvm_groups[] = {
    "api",   "vm",    "ct",   "storage", "user",  "group",  "role", "acl",       "pool",
    "token", "realm", "task", "node",    "login", "logout", "help", "--version",
};

int cli_complete(struct cli *c, const char *prog, int argc, char **argv)
{
	if (streq(prog, "pvesh"))
		return complete_pvesh(c, argc, argv);
	if (streq(prog, "qm"))
		return complete_mode(c, &cli_mode_qm, argc, argv);
	if (streq(prog, "pct"))
		return complete_mode(c, &cli_mode_pct, argc, argv);
	if (streq(prog, "pvesm"))
		return complete_mode(c, &cli_mode_pvesm, argc, argv);
	if (streq(prog, "pveum"))
		return complete_mode(c, &cli_mode_pveum, argc, argv);
	/* ctvm GROUP ... */
	if (argc <= 1) {
		print_list(ctvm_groups, ARRAY_SIZE(ctvm_groups));
		return 0;
	}
	const char *g = argv[0];
	if (streq(g, "api"))
		return complete_pvesh(c, argc - 1, argv + 1);
	if (streq(g, "vm"))
		return complete_mode(c, &cli_mode_qm, argc - 1, argv + 1);
	if (streq(g, "ct"))
		return complete_mode(c, &cli_mode_pct, argc - 1, argv + 1);
	if (streq(g, "storage"))
		return complete_mode(c, &cli_mode_pvesm, argc - 1, argv + 1);
	if (streq(g, "task"))
		return complete_mode(c, &cli_mode_task, argc - 1, argv + 1);
	if (streq(g, "node"))
		return complete_mode(c, &cli_mode_node, argc - 1, argv + 1);
	if (streq(g, "login")) {
		static const char *const login[] = {"--host", "--user", "--password", "--token",
		                                    "--fingerprint"};
		print_list(login, ARRAY_SIZE(login));
		return 0;
	}
	if (streq(g, "token")) {
		/* ctvm token ... = pveum user token ... */
		char **v = xnew(char *, (size_t)argc + 2);
		v[0] = "user";
		v[1] = "token";
		memcpy(v + 2, argv + 1, sizeof(char *) * (size_t)(argc - 1));
		int r = complete_mode(c, &cli_mode_pveum, argc + 1, v);
		free(v);
		return r;
	}
	return complete_mode(c, &cli_mode_pveum, argc, argv);
}
