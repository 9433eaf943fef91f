/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvm: the command line client.  Every command is an API call over the
 * daemon's local socket (root on this host acts as root@pam); the CLI holds
 * no logic of its own.  Installed under the names Proxmox users type, it
 * takes their syntax, chosen by argv[0]:
 *
 *   pvesh / ctvm api   get|create|set|delete|ls PATH [--key value ...],
 *                      usage PATH [METHOD]: any method of the table
 *   qm / ctvm vm       VMs (/nodes/{node}/qemu)
 *   pct / ctvm ct      containers (/nodes/{node}/lxc)
 *   pvesm / ctvm storage
 *   pveum / ctvm user|group|role|acl|pool|token|realm
 *   ctvm task|node
 *
 * Global options (cli.h) are taken wherever they stand.  docs/cli.md is
 * the user guide; exit codes are in cli.h.
 */
#include "common.h"

#include <libgen.h>

#include <jansson.h>

#include "api-method.h"
#include "api-rows.h"
#include "cli-cmds.h"
#include "cli-remote.h"
#include "cli-usage.h"
#include "cli.h"
#include "jsonutil.h"
#include "xalloc.h"

static const struct {
	const char *cmd;
	const char *method;
} verbs[] = {
    {"get", "GET"}, {"ls", "GET"}, {"create", "POST"}, {"set", "PUT"}, {"delete", "DELETE"},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: ctvm [GLOBAL OPTIONS] COMMAND ...\n"
	    "\n"
	    "  api get|ls|create|set|delete PATH [--KEY VALUE ...]   any API method (= pvesh)\n"
	    "  api usage PATH [GET|POST|PUT|DELETE]                 a method's parameters\n"
	    "  vm ...        VMs, as Proxmox's qm (ctvm vm help)\n"
	    "  ct ...        containers, as pct\n"
	    "  storage ...   storages and volumes, as pvesm\n"
	    "  user|group|role|acl|pool|token|realm ...   access, as pveum\n"
	    "  task list|status|log|stop|wait\n"
	    "  node list|status|network|disks|startall|stopall\n"
	    "  login --host HOST[:PORT] (--user USER@REALM [--password PW] | --token ID=SECRET)\n"
	    "        [--fingerprint AB:CD:...]    keep a ticket or token for HOST (0600)\n"
	    "  logout --host HOST[:PORT]\n"
	    "\n"
	    "Installed as qm, pct, pvesm, pveum or pvesh, it takes Proxmox's syntax.\n"
	    "It talks to ctvmd over its local socket as root@pam, or with --host over\n"
	    "HTTPS with the ticket or token of 'ctvm login'.\n"
	    "\n"
	    "Global options, accepted anywhere on the line:\n"
	    "  --root DIR               the ctvmd started with --root DIR\n"
	    "  --host HOST[:PORT]       a remote ctvmd (after ctvm login), port 8006\n"
	    "  --output-format json|json-pretty|text\n"
	    "  --async                  print a task's UPID instead of waiting for it\n"
	    "\n"
	    "Exit codes: 0 success, 1 error, 2 usage error, 3 permission denied,\n"
	    "4 the task failed.\n");
}

static void pvesh_usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "Usage: %s get|ls|create|set|delete PATH [--KEY VALUE ...]\n"
	        "            [--output-format json|json-pretty|text]\n"
	        "       %s usage PATH [GET|POST|PUT|DELETE] [--command get|create|set|delete]\n"
	        "\n"
	        "Calls the ctvm API (the same paths as /api2/json/PATH) over ctvmd's local socket\n"
	        "as root@pam. A --KEY given several times is sent several times.\n"
	        "'usage' prints the parameters of PATH's methods (a path or a template such\n"
	        "as /storage/{storage}) from the API's method table.\n",
	        prog, prog);
}

/* pvesh usage PATH [METHOD] [--command CMD] [--verbose] [--returns] */
static int cmd_usage(const char *prefix, int argc, char **argv)
{
	char *args[2];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (streq(argv[i], "--verbose") || streq(argv[i], "-v") ||
		    streq(argv[i], "--returns"))
			continue;
		if ((streq(argv[i], "--command") || streq(argv[i], "-command")) && i + 1 < argc) {
			i++;
			if (n == 1)
				args[n++] = argv[i];
			continue;
		}
		if (n >= 2) {
			fprintf(stderr, "Usage: %s usage PATH [GET|POST|PUT|DELETE]\n", prefix);
			return CLI_USAGE;
		}
		args[n++] = argv[i];
	}
	return cli_api_usage(prefix, n, args, stdout, stderr);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(json_string_value(json_array_get(*(json_t *const *)a, 0)),
	              json_string_value(json_array_get(*(json_t *const *)b, 0)));
}

/* The next segment of row path below base ("/nodes/{node}"), or NULL. */
static char *child_segment(const char *row, const char *base, bool *ret_deeper)
{
	size_t l = strlen(base);
	if (strncmp(row, base, l) != 0 || row[l] != '/' || !row[l + 1])
		return NULL;
	const char *seg = row + l + 1, *end = strchr(seg, '/');
	*ret_deeper = end && end[1];
	return xstrndup(seg, end ? (size_t)(end - seg) : strlen(seg));
}

/*
 * pvesh ls PATH: PATH's children as Proxmox lists them, one a line:
 * "Drwcd        name" (D: has children; r, w, c, d: GET, PUT, POST,
 * DELETE exist).  Children come from the method table: a literal segment
 * below PATH's template is listed as it is, a {placeholder} by the values
 * GET PATH returns for that key.
 */
static int cmd_ls(struct cli *c, const char *path, json_t *params)
{
	const struct api_method *self = cli_method(c, "GET", path);
	if (!self) {
		fprintf(stderr, "%s: no API method GET %s\n", c->prog, path);
		return CLI_ERROR;
	}
	_cleanup_json_ json_t *data = NULL;
	int r = cli_call(c, "GET", path, params, &data);
	if (r)
		return r;
	_cleanup_json_ json_t *kids = json_object(); /* segment -> "Drwcd" */
	const char *tmpl = streq(self->path, "/") ? "" : self->path;
	for (const struct api_method *const *t = api_row_tables; *t; t++)
		for (const struct api_method *m = *t; m->path; m++) {
			bool deeper = false;
			_cleanup_free_ char *seg = child_segment(m->path, tmpl, &deeper);
			if (!seg)
				continue;
			json_t *f = json_object_get(kids, seg);
			char flags[6] = "-----";
			if (f)
				memcpy(flags, json_string_value(f), 5);
			if (deeper)
				flags[0] = 'D';
			else if (streq(m->verb, "GET"))
				flags[1] = 'r';
			else if (streq(m->verb, "PUT"))
				flags[2] = 'w';
			else if (streq(m->verb, "POST"))
				flags[3] = 'c';
			else if (streq(m->verb, "DELETE"))
				flags[4] = 'd';
			json_object_set_new(kids, seg, json_string(flags));
		}
	if (c->out == CLI_OUT_JSON || c->out == CLI_OUT_JSON_PRETTY) {
		cli_print(c, data, CLI_OUT_JSON_PRETTY);
		return 0;
	}
	/* one line per child, sorted by name as Proxmox lists them */
	_cleanup_json_ json_t *lines = json_array();
	const char *seg;
	json_t *f;
	json_object_foreach (kids, seg, f) {
		if (seg[0] != '{') {
			json_array_append_new(lines, json_pack("[s,s]", seg, json_string_value(f)));
			continue;
		}
		_cleanup_free_ char *key = xstrndup(seg + 1, strlen(seg) - 2);
		size_t i;
		json_t *item;
		json_array_foreach (data, i, item) {
			json_t *v = json_object_get(item, key);
			_cleanup_free_ char *name =
			    json_is_string(v) ? xstrdup(json_string_value(v))
			    : json_is_integer(v)
			        ? xasprintf("%lld", (long long)json_integer_value(v))
			        : xstrdup("");
			json_array_append_new(lines,
			                      json_pack("[s,s]", name, json_string_value(f)));
		}
	}
	size_t n = json_array_size(lines);
	json_t **v = xnew(json_t *, n + 1);
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(lines, i);
	qsort(v, n, sizeof(*v), cmp_line);
	for (size_t i = 0; i < n; i++)
		printf("%s        %s\n", json_string_value(json_array_get(v[i], 1)),
		       json_string_value(json_array_get(v[i], 0)));
	free(v);
	return 0;
}

static int cmd_api(struct cli *c, const char *prefix, int argc, char **argv)
{
	if (argc >= 1 && (streq(argv[0], "--help") || streq(argv[0], "help"))) {
		pvesh_usage(stdout, prefix);
		return 0;
	}
	if (argc >= 1 && streq(argv[0], "usage"))
		return cmd_usage(prefix, argc - 1, argv + 1);
	if (argc < 2) {
		pvesh_usage(stderr, prefix);
		return CLI_USAGE;
	}
	const char *method = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(argv[0], verbs[i].cmd))
			method = verbs[i].method;
	if (!method) {
		fprintf(stderr, "%s: unknown api command '%s'\n", c->prog, argv[0]);
		pvesh_usage(stderr, prefix);
		return CLI_USAGE;
	}
	const char *path = argv[1];
	/* the row types the options (a boolean needs no value); a path the
	 * table lacks is still sent: the daemon answers it */
	const struct api_method *m = cli_method(c, method, path);
	_cleanup_json_ json_t *params = json_object();
	int r = cli_parse_options(c, m, NULL, argc - 2, argv + 2, params, NULL);
	if (r)
		return r;
	if (streq(argv[0], "ls"))
		return cmd_ls(c, path, params);
	_cleanup_json_ json_t *data = NULL;
	r = cli_call(c, method, path, params, &data);
	if (r)
		return r;
	cli_print(c, data, CLI_OUT_JSON_PRETTY);
	return 0;
}

/* ctvm task wait UPID */
static int cmd_task(struct cli *c, int argc, char **argv)
{
	if (argc >= 1 && streq(argv[0], "wait")) {
		if (argc != 2) {
			fprintf(stderr, "Usage: ctvm task wait UPID\n");
			return CLI_USAGE;
		}
		return cli_wait_task(c, argv[1], false);
	}
	return cli_mode_run(c, &cli_mode_task, argc, argv);
}

static const char *const pveum_groups[] = {"user",   "group", "role",  "acl",
                                           "passwd", "pool",  "realm", "token"};

static int run_ctvm(struct cli *c, int argc, char **argv)
{
	if (argc < 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[0];
	if (streq(cmd, "--help") || streq(cmd, "-h") || streq(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (streq(cmd, "--version")) {
		printf("ctvm %s\n", CTVM_VERSION);
		return 0;
	}
	if (streq(cmd, "api"))
		return cmd_api(c, "ctvm api", argc - 1, argv + 1);
	if (streq(cmd, "login"))
		return cli_remote_login(c, argc - 1, argv + 1);
	if (streq(cmd, "logout"))
		return cli_remote_logout(c);
	struct cli_mode mode;
	if (streq(cmd, "vm"))
		mode = (struct cli_mode){"ctvm vm", cli_mode_qm.cmds};
	else if (streq(cmd, "ct"))
		mode = (struct cli_mode){"ctvm ct", cli_mode_pct.cmds};
	else if (streq(cmd, "storage"))
		mode = (struct cli_mode){"ctvm storage", cli_mode_pvesm.cmds};
	else if (streq(cmd, "task"))
		return cmd_task(c, argc - 1, argv + 1);
	else if (streq(cmd, "node"))
		return cli_mode_run(c, &cli_mode_node, argc - 1, argv + 1);
	else if (streq(cmd, "token")) {
		/* ctvm token add|list|... = pveum user token ... */
		char **v = xnew(char *, (size_t)argc + 2);
		v[0] = "user";
		memcpy(v + 1, argv, sizeof(char *) * (size_t)argc);
		mode = (struct cli_mode){"ctvm", cli_mode_pveum.cmds};
		int r = cli_mode_run(c, &mode, argc + 1, v);
		free(v);
		return r;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(pveum_groups); i++)
			if (streq(cmd, pveum_groups[i])) {
				mode = (struct cli_mode){"ctvm", cli_mode_pveum.cmds};
				return cli_mode_run(c, &mode, argc, argv);
			}
		fprintf(stderr, "ctvm: unknown command '%s'\n", cmd);
		usage(stderr);
		return CLI_USAGE;
	}
	return cli_mode_run(c, &mode, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *argv0 = xstrdup(argc > 0 ? argv[0] : "ctvm");
	const char *name = basename(argv0);
	struct cli c = {.prog = name};
	if (argc == 3 && streq(argv[1], "__man")) {
		int r = cli_man(&c, argv[2]);
		cli_release(&c);
		return r;
	}
	/* completion first: the words are not a command line to act on */
	if (argc >= 2 && streq(argv[1], "__complete")) {
		int r = cli_complete(&c, name, argc - 2, argv + 2);
		cli_release(&c);
		return r;
	}
	int r = cli_take_globals(&c, &argc, argv);
	if (r)
		return r;
	if (streq(name, "pvesh"))
		r = cmd_api(&c, "pvesh", argc - 1, argv + 1);
	else if (streq(name, "qm"))
		r = cli_mode_run(&c, &cli_mode_qm, argc - 1, argv + 1);
	else if (streq(name, "pct"))
		r = cli_mode_run(&c, &cli_mode_pct, argc - 1, argv + 1);
	else if (streq(name, "pvesm"))
		r = cli_mode_run(&c, &cli_mode_pvesm, argc - 1, argv + 1);
	else if (streq(name, "pveum"))
		r = cli_mode_run(&c, &cli_mode_pveum, argc - 1, argv + 1);
	else {
		c.prog = "ctvm";
		r = run_ctvm(&c, argc - 1, argv + 1);
	}
	cli_release(&c);
	return r;
}
