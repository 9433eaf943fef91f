/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "api-method.h"
#include "cli-cmds.h"
#include "cli-print.h"
#include "cli-usage.h"
#include "cli.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define NODE "/nodes/{node}"
#define VM   NODE "/qemu/{vmid}"
#define CT   NODE "/lxc/{vmid}"

static const struct cli_cmd cmds_qm[] = {
    {"list", "GET", NODE "/qemu", "", "", cli_print_qm_list, ""},
    {"create", "POST", NODE "/qemu", "vmid", "", NULL, ""},
    {"set", "PUT", VM "/config", "vmid", "", NULL, ""},
    {"config", "GET", VM "/config", "vmid", "", cli_print_config, ""},
    {"pending", "GET", VM "/pending", "vmid", "", cli_print_pending, ""},
    {"status", "GET", VM "/status/current", "vmid", "", cli_print_status, "verbose"},
    {"start", "POST", VM "/status/start", "vmid", "", NULL, ""},
    {"stop", "POST", VM "/status/stop", "vmid", "", NULL, ""},
    {"shutdown", "POST", VM "/status/shutdown", "vmid", "", NULL, ""},
    {"reboot", "POST", VM "/status/reboot", "vmid", "", NULL, ""},
    {"reset", "POST", VM "/status/reset", "vmid", "", NULL, ""},
    {"suspend", "POST", VM "/status/suspend", "vmid", "", NULL, ""},
    {"resume", "POST", VM "/status/resume", "vmid", "", NULL, ""},
    {"destroy", "DELETE", VM, "vmid", "", NULL, ""},
    {"clone", "POST", VM "/clone", "vmid newid", "", NULL, ""},
    {"template", "POST", VM "/template", "vmid", "", NULL, ""},
    {"snapshot", "POST", VM "/snapshot", "vmid snapname", "", NULL, ""},
    {"listsnapshot", "GET", VM "/snapshot", "vmid", "", cli_print_snapshot_tree, ""},
    {"rollback", "POST", VM "/snapshot/{snapname}/rollback", "vmid snapname", "", NULL, ""},
    {"delsnapshot", "DELETE", VM "/snapshot/{snapname}", "vmid snapname", "", NULL, ""},
    {"resize", "PUT", VM "/resize", "vmid disk size", "", NULL, ""},
    {"move-disk", "POST", VM "/move_disk", "vmid disk storage", "", NULL, ""},
    {"move_disk", "POST", VM "/move_disk", "vmid disk storage", "", NULL, ""},
    {"unlink", "PUT", VM "/unlink", "vmid", "", NULL, ""},
    {"unlock", "PUT", VM "/config", "vmid", "delete=lock skiplock=1", NULL, ""},
    {"sendkey", "PUT", VM "/sendkey", "vmid key", "", NULL, ""},
    {"showcmd", "GET", VM "/showcmd", "vmid", "", cli_print_showcmd, "pretty"},
    /* The row gives help, completion and the man page; cli-term.c runs it. */
    {"terminal", "POST", VM "/termproxy", "vmid", "", NULL, ""},
    {NULL},
};

static const struct cli_cmd cmds_pct[] = {
    {"list", "GET", NODE "/lxc", "", "", cli_print_pct_list, ""},
    {"create", "POST", NODE "/lxc", "vmid ostemplate", "", NULL, ""},
    {"set", "PUT", CT "/config", "vmid", "", NULL, ""},
    {"config", "GET", CT "/config", "vmid", "", cli_print_config, ""},
    {"pending", "GET", CT "/pending", "vmid", "", cli_print_pending, ""},
    {"status", "GET", CT "/status/current", "vmid", "", cli_print_status, "verbose"},
    {"start", "POST", CT "/status/start", "vmid", "", NULL, ""},
    {"stop", "POST", CT "/status/stop", "vmid", "", NULL, ""},
    {"shutdown", "POST", CT "/status/shutdown", "vmid", "", NULL, ""},
    {"reboot", "POST", CT "/status/reboot", "vmid", "", NULL, ""},
    {"suspend", "POST", CT "/status/suspend", "vmid", "", NULL, ""},
    {"resume", "POST", CT "/status/resume", "vmid", "", NULL, ""},
    {"destroy", "DELETE", CT, "vmid", "", NULL, ""},
    {"clone", "POST", CT "/clone", "vmid newid", "", NULL, ""},
    {"template", "POST", CT "/template", "vmid", "", NULL, ""},
    {"snapshot", "POST", CT "/snapshot", "vmid snapname", "", NULL, ""},
    {"listsnapshot", "GET", CT "/snapshot", "vmid", "", cli_print_snapshot_tree, ""},
    {"rollback", "POST", CT "/snapshot/{snapname}/rollback", "vmid snapname", "", NULL, ""},
    {"delsnapshot", "DELETE", CT "/snapshot/{snapname}", "vmid snapname", "", NULL, ""},
    {"resize", "PUT", CT "/resize", "vmid disk size", "", NULL, ""},
    {"move-volume", "POST", CT "/move_volume", "vmid volume storage", "", NULL, ""},
    {"unlock", "PUT", CT "/config", "vmid", "delete=lock", NULL, ""},
    {NULL},
};

static const struct cli_cmd cmds_pvesm[] = {
    {"status", "GET", NODE "/storage", "", "", cli_print_pvesm_status, ""},
    {"list", "GET", NODE "/storage/{storage}/content", "storage", "", cli_print_pvesm_list, ""},
    {"alloc", "POST", NODE "/storage/{storage}/content", "storage vmid filename size", "",
     cli_print_alloc, ""},
    {"free", "DELETE", NODE "/storage/{storage}/content/{volume}", "volume", "", NULL, ""},
    {"path", "GET", NODE "/storage/{storage}/content/{volume}", "volume", "", cli_print_path, ""},
    {"add", "POST", "/storage", "type storage", "", NULL, ""},
    {"set", "PUT", "/storage/{storage}", "storage", "", NULL, ""},
    {"remove", "DELETE", "/storage/{storage}", "storage", "", NULL, ""},
    {"prune-backups", "POST", NODE "/storage/{storage}/prunebackups", "storage", "", NULL, ""},
    {"scan lvm", "GET", NODE "/scan/lvm", "", "", cli_print_scan_vg, ""},
    {"scan lvmthin", "GET", NODE "/scan/lvmthin", "vg", "", cli_print_scan_lv, ""},
    {"scan zfs", "GET", NODE "/scan/zfs", "", "", cli_print_scan_pool, ""},
    /* Storage types ctvm does not have: run_cmd() says so. */
    {"scan nfs", "GET", NODE "/scan/nfs", "server", "", NULL, ""},
    {"scan cifs", "GET", NODE "/scan/cifs", "server", "", NULL, ""},
    {"scan iscsi", "GET", NODE "/scan/iscsi", "portal", "", NULL, ""},
    {"scan glusterfs", "GET", NODE "/scan/glusterfs", "server", "", NULL, ""},
    {"scan pbs", "GET", NODE "/scan/pbs", "server", "", NULL, ""},
    {NULL},
};

#define USER  "/access/users/{userid}"
#define TOKEN USER "/token/{tokenid}"

static const struct cli_cmd cmds_pveum[] = {
    {"user add", "POST", "/access/users", "userid", "", NULL, ""},
    {"user modify", "PUT", USER, "userid", "", NULL, ""},
    {"user delete", "DELETE", USER, "userid", "", NULL, ""},
    {"user list", "GET", "/access/users", "", "", NULL, ""},
    {"user permissions", "GET", "/access/permissions", "userid", "", NULL, ""},
    {"user token add", "POST", TOKEN, "userid tokenid", "", NULL, ""},
    {"user token modify", "PUT", TOKEN, "userid tokenid", "", NULL, ""},
    {"user token remove", "DELETE", TOKEN, "userid tokenid", "", NULL, ""},
    {"user token delete", "DELETE", TOKEN, "userid tokenid", "", NULL, ""},
    {"user token list", "GET", USER "/token", "userid", "", NULL, ""},
    {"group add", "POST", "/access/groups", "groupid", "", NULL, ""},
    {"group modify", "PUT", "/access/groups/{groupid}", "groupid", "", NULL, ""},
    {"group delete", "DELETE", "/access/groups/{groupid}", "groupid", "", NULL, ""},
    {"group list", "GET", "/access/groups", "", "", NULL, ""},
    {"role add", "POST", "/access/roles", "roleid", "", NULL, ""},
    {"role modify", "PUT", "/access/roles/{roleid}", "roleid", "", NULL, ""},
    {"role delete", "DELETE", "/access/roles/{roleid}", "roleid", "", NULL, ""},
    {"role list", "GET", "/access/roles", "", "", NULL, ""},
    {"acl modify", "PUT", "/access/acl", "path", "", NULL, ""},
    {"acl delete", "PUT", "/access/acl", "path", "delete=1", NULL, ""},
    {"acl list", "GET", "/access/acl", "", "", NULL, ""},
    {"pool add", "POST", "/pools", "poolid", "", NULL, ""},
    {"pool modify", "PUT", "/pools/{poolid}", "poolid", "", NULL, ""},
    {"pool delete", "DELETE", "/pools/{poolid}", "poolid", "", NULL, ""},
    {"pool list", "GET", "/pools", "", "", NULL, ""},
    {"realm add", "POST", "/access/domains", "realm", "", NULL, ""},
    {"realm modify", "PUT", "/access/domains/{realm}", "realm", "", NULL, ""},
    {"realm delete", "DELETE", "/access/domains/{realm}", "realm", "", NULL, ""},
    {"realm list", "GET", "/access/domains", "", "", NULL, ""},
    {"passwd", "PUT", "/access/password", "userid", "", NULL, ""},
    /* Proxmox's older spellings */
    {"useradd", "POST", "/access/users", "userid", "", NULL, ""},
    {"usermod", "PUT", USER, "userid", "", NULL, ""},
    {"userdel", "DELETE", USER, "userid", "", NULL, ""},
    {"groupadd", "POST", "/access/groups", "groupid", "", NULL, ""},
    {"groupdel", "DELETE", "/access/groups/{groupid}", "groupid", "", NULL, ""},
    {"roleadd", "POST", "/access/roles", "roleid", "", NULL, ""},
    {"roledel", "DELETE", "/access/roles/{roleid}", "roleid", "", NULL, ""},
    {"aclmod", "PUT", "/access/acl", "path", "", NULL, ""},
    {"acldel", "PUT", "/access/acl", "path", "delete=1", NULL, ""},
    {NULL},
};

static const struct cli_cmd cmds_task[] = {
    {"list", "GET", NODE "/tasks", "", "", NULL, ""},
    {"status", "GET", NODE "/tasks/{upid}/status", "upid", "", NULL, ""},
    {"log", "GET", NODE "/tasks/{upid}/log", "upid", "limit=100000", cli_print_task_log, ""},
    {"stop", "DELETE", NODE "/tasks/{upid}", "upid", "", NULL, ""},
    {NULL},
};

static const struct cli_cmd cmds_node[] = {
    {"list", "GET", "/nodes", "", "", NULL, ""},
    {"status", "GET", NODE "/status", "", "", NULL, ""},
    {"network", "GET", NODE "/network", "", "", NULL, ""},
    {"disks", "GET", NODE "/disks/list", "", "", NULL, ""},
    {"startall", "POST", NODE "/startall", "", "", NULL, ""},
    {"stopall", "POST", NODE "/stopall", "", "", NULL, ""},
    {NULL},
};

const struct cli_mode cli_mode_qm = {"qm", cmds_qm}, cli_mode_pct = {"pct", cmds_pct},
                      cli_mode_pvesm = {"pvesm", cmds_pvesm},
                      cli_mode_pveum = {"pveum", cmds_pveum},
                      cli_mode_task = {"ctvm task", cmds_task},
                      cli_mode_node = {"ctvm node", cmds_node};

/* How many of argv's words name cmd ("user token add" = 3), 0 if not. */
static int match_words(const char *name, int argc, char **argv)
{
	int n = 0;
	const char *p = name;
	while (*p) {
		size_t l = strcspn(p, " ");
		if (n >= argc || strlen(argv[n]) != l || strncmp(argv[n], p, l) != 0)
			return 0;
		n++;
		p += l;
		p += *p == ' ';
	}
	return n;
}

/* Splits "a b c" into a NULL-terminated array of strings. */
static char **split_words(const char *s)
{
	size_t n = 0;
	char **v = xnew(char *, strlen(s) / 2 + 2);
	while (*s) {
		size_t l = strcspn(s, " ");
		if (l)
			v[n++] = xstrndup(s, l);
		s += l;
		s += *s == ' ';
	}
	return v;
}

static void free_words(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void cmd_synopsis(const struct cli_mode *mode, const struct cli_cmd *cmd, FILE *out)
{
	fprintf(out, "%s %s", mode->prog, cmd->name);
	char **args = split_words(cmd->args);
	for (char **a = args; *a; a++)
		fprintf(out, " <%s>", *a);
	free_words(args);
	fprintf(out, " [OPTIONS]");
}

void cli_mode_help(const struct cli_mode *mode, FILE *out)
{
	fprintf(out, "USAGE: %s <COMMAND> [ARGS] [OPTIONS]\n", mode->prog);
	for (const struct cli_cmd *cmd = mode->cmds; cmd->name; cmd++) {
		fprintf(out, "       ");
		cmd_synopsis(mode, cmd, out);
		fprintf(out, "\n");
	}
	if (mode->cmds == cmds_pct) {
		fprintf(out, "       %s enter <vmid>\n", mode->prog);
		fprintf(out, "       %s exec <vmid> <extra-args>\n", mode->prog);
		fprintf(out, "       %s push <vmid> <file> <destination>\n", mode->prog);
		fprintf(out, "       %s pull <vmid> <path> <destination>\n", mode->prog);
	}
	if (mode->cmds == cmds_qm)
		fprintf(out, "       %s disk import <vmid> <source> <storage> [OPTIONS]\n",
		        mode->prog);
	fprintf(out, "       %s help [<COMMAND>]\n", mode->prog);
}

/* "--password" as the last word or before another option: read it. */
static int fix_password(const char *prog, const struct api_method *m, int *argc, char ***argv)
{
	bool has = false;
	for (const struct api_param *p = m->params; p && p->name; p++)
		has |= streq(p->name, "password");
	if (!has)
		return 0;
	for (int i = 0; i < *argc; i++) {
		const char *a = (*argv)[i];
		if (!streq(a, "--password") && !streq(a, "-password"))
			continue;
		if (i + 1 < *argc && (*argv)[i + 1][0] != '-')
			return 0;
		char *pw = cli_read_password(prog, "Enter new password: ");
		if (!pw)
			return CLI_USAGE;
		/* a copy of argv with "--password=PW" in place */
		char **v = xnew(char *, (size_t)*argc + 1);
		memcpy(v, *argv, sizeof(char *) * (size_t)*argc);
		v[i] = xasprintf("--password=%s", pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		*argv = v;
		return 1;
	}
	return 0;
}

/* Fills path's {placeholders}: from params (taken out of them), {node}
 * from this host, {storage} from a volume id's "storage:" prefix. */
static int fill_path(struct cli *c, const struct cli_cmd *cmd, json_t *params, struct strbuf *out)
{
	for (const char *p = cmd->path; *p;) {
		if (*p != '{') {
			strbuf_addch(out, *p++);
			continue;
		}
		const char *end = strchr(p, '}');
		_cleanup_free_ char *name = xstrndup(p + 1, (size_t)(end - p - 1));
		p = end + 1;
		json_t *v = json_object_get(params, name);
		const char *value = json_string_value(json_array_get(v, 0));
		_cleanup_free_ char *derived = NULL;
		if (!value && streq(name, "node")) {
			int r = cli_node(c, &value);
			if (r)
				return r;
		}
		if (!value && streq(name, "storage")) {
			const char *vol =
			    json_string_value(json_array_get(json_object_get(params, "volume"), 0));
			if (vol && strchr(vol, ':'))
				value = derived = xstrndup(vol, strcspn(vol, ":"));
		}
		if (!value) {
			fprintf(stderr, "%s %s: missing <%s>\n", c->prog, cmd->name, name);
			return CLI_USAGE;
		}
		strbuf_addstr(out, value);
		json_object_del(params, name);
	}
	return 0;
}

static bool has_word(const char *list, const char *w)
{
	size_t l = strlen(w);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n == l && strncmp(p, w, l) == 0)
			return true;
		p += n;
		p += *p == ' ';
	}
	return false;
}

static int run_cmd(struct cli *c, const struct cli_mode *mode, const struct cli_cmd *cmd, int argc,
                   char **argv)
{
	const struct api_method *m = cli_method(c, cmd->verb, cmd->path);
	if (!m && strncmp(cmd->path, NODE "/scan/", strlen(NODE "/scan/")) == 0) {
		fprintf(stderr, "%s %s: not supported: ctvm has no %s storage type\n", mode->prog,
		        cmd->name, cmd->path + strlen(NODE "/scan/"));
		return CLI_ERROR;
	}
	if (!m) {
		fprintf(stderr, "%s %s: not available: this ctvm's API has no %s %s\n", mode->prog,
		        cmd->name, cmd->verb, cmd->path);
		return CLI_ERROR;
	}
	char **copy = argv;
	int r = fix_password(mode->prog, m, &argc, &copy);
	if (r == CLI_USAGE)
		return CLI_USAGE;
	_cleanup_json_ json_t *params = json_object();
	_cleanup_json_ json_t *positional = json_array();
	_cleanup_json_ json_t *local = json_object();
	r = cli_parse_options(c, m, cmd->local, argc, copy, params, positional);
	if (copy != argv) {
		for (int i = 0; i < argc; i++)
			if (copy[i] != argv[i]) {
				explicit_bzero(copy[i], strlen(copy[i]));
				free(copy[i]);
			}
		free(copy);
	}
	if (r)
		return r;

	char **names = split_words(cmd->args);
	size_t nnames = 0;
	while (names[nnames])
		nnames++;
	size_t npos = json_array_size(positional);
	if (npos > nnames) {
		fprintf(stderr, "%s %s: too many arguments\nUSAGE: ", mode->prog, cmd->name);
		cmd_synopsis(mode, cmd, stderr);
		fputc('\n', stderr);
		free_words(names);
		return CLI_USAGE;
	}
	/* positional words go first, in order, as their parameters */
	for (size_t i = 0; i < npos; i++) {
		json_t *a = json_array();
		json_array_append(a, json_array_get(positional, i));
		json_object_set_new(params, names[i], a);
	}
	for (size_t i = npos; i < nnames; i++) {
		if (!json_object_get(params, names[i])) {
			fprintf(stderr, "%s %s: missing <%s>\nUSAGE: ", mode->prog, cmd->name,
			        names[i]);
			cmd_synopsis(mode, cmd, stderr);
			fputc('\n', stderr);
			free_words(names);
			return CLI_USAGE;
		}
	}
	free_words(names);
	char **fixed = split_words(cmd->fixed);
	for (char **f = fixed; *f; f++) {
		char *eq = strchr(*f, '=');
		*eq = 0;
		json_object_set_new(params, *f, json_pack("[s]", eq + 1));
	}
	free_words(fixed);
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (params, tmp, k, v) {
		if (cmd->local[0] && has_word(cmd->local, k)) {
			json_object_set(local, k, v);
			json_object_del(params, k);
		}
	}

	_cleanup_(strbuf_releasep) struct strbuf path = STRBUF_INIT;
	r = fill_path(c, cmd, params, &path);
	if (r)
		return r;
	_cleanup_json_ json_t *data = NULL;
	r = cli_call(c, cmd->verb, path.buf, params, &data);
	if (r)
		return r;
	const char *upid = json_string_value(data);
	if ((m->flags & API_ASYNC) && upid && str_startswith(upid, "UPID:")) {
		if (c->async) {
			printf("%s\n", upid);
			return 0;
		}
		/* JSON: the log stays out of the output, which is the UPID */
		bool json = c->out == CLI_OUT_JSON || c->out == CLI_OUT_JSON_PRETTY;
		r = cli_wait_task(c, upid, json);
		if (json)
			cli_print(c, data, CLI_OUT_JSON);
		return r;
	}
	if (cmd->print && (c->out == CLI_OUT_DEFAULT || c->out == CLI_OUT_TEXT))
		return cmd->print(c, data, params, local);
	if (json_is_null(data) && c->out == CLI_OUT_DEFAULT)
		return 0;
	cli_print(c, data, CLI_OUT_TEXT);
	return 0;
}

static int cmd_help(struct cli *c, const struct cli_mode *mode, int argc, char **argv)
{
	if (mode->cmds == cmds_qm && cli_qm_import_words(argc, argv)) {
		printf("USAGE: %s %s <vmid> <source> <storage> [--format <raw|qcow2|vmdk>] "
		       "[--target-disk <bus><n>]\n\n",
		       mode->prog, streq(argv[0], "disk") ? "disk import" : "importdisk");
		printf("No API method of its own: imports a host image file as a new disk "
		       "(unusedN, or --target-disk) through POST "
		       "/nodes/{node}/qemu/{vmid}/config with import-from, root@pam only.\n");
		return 0;
	}
	if (mode->cmds == cmds_pct && argc >= 1 && cli_pct_local_cmd(argv[0])) {
		bool console = streq(argv[0], "console");
		const char *more = streq(argv[0], "exec")   ? " <extra-args>"
		                   : streq(argv[0], "push") ? " <file> <destination>"
		                   : streq(argv[0], "pull") ? " <path> <destination>"
		                   : console                ? " [--escape <^letter>]"
		                                            : "";
		printf("USAGE: %s %s <vmid>%s\n\n", mode->prog, argv[0], more);
		printf("No API method: %s the running container, for root on its host only.\n",
		       console ? "lxc-console on the console of" : "lxc-attach into");
		return 0;
	}
	if (mode->cmds == cmds_qm && argc >= 1 && streq(argv[0], "terminal")) {
		printf("USAGE: %s terminal <vmid> [--iface <serial0|serial1|serial2|serial3>] "
		       "[--escape <string>]\n\n",
		       mode->prog);
		printf(
		    "The terminal on the VM's serial port (POST termproxy, then vncwebsocket).\n\n"
		    "  --iface <serial0|serial1|serial2|serial3>   the serial port (serial0)\n"
		    "  --escape <string>   the key that ends it: ^O (default), ^X, a number,\n"
		    "                      or 0 for none\n");
		return 0;
	}
	const struct cli_cmd *best = NULL;
	int best_n = 0;
	for (const struct cli_cmd *cmd = mode->cmds; cmd->name; cmd++) {
		int n = match_words(cmd->name, argc, argv);
		if (n > best_n)
			best = cmd, best_n = n;
	}
	if (!best) {
		cli_mode_help(mode, stdout);
		return 0;
	}
	printf("USAGE: ");
	cmd_synopsis(mode, best, stdout);
	printf("\n\n");
	const struct api_method *m = cli_method(c, best->verb, best->path);
	if (!m) {
		printf("Not available: this ctvm's API has no %s %s.\n", best->verb, best->path);
		return 0;
	}
	if (best->local[0]) {
		printf("Options of the command itself:\n");
		char **local = split_words(best->local);
		for (char **w = local; *w; w++)
			printf("  --%s <boolean>\n", *w);
		free_words(local);
		printf("\n");
	}
	printf("Calls %s %s:\n\n", best->verb, best->path);
	cli_usage_method(stdout, "ctvm api", m);
	return 0;
}

int cli_mode_run(struct cli *c, const struct cli_mode *mode, int argc, char **argv)
{
	if (argc < 1) {
		cli_mode_help(mode, stderr);
		return CLI_USAGE;
	}
	if (streq(argv[0], "help") || streq(argv[0], "--help") || streq(argv[0], "-h"))
		return cmd_help(c, mode, argc - 1, argv + 1);
	if (mode->cmds == cmds_pct && cli_pct_local_cmd(argv[0]))
		return cli_pct_local_run(c, mode->prog, argc, argv);
	bool help = false;
	for (int i = 1; i < argc; i++)
		help = help || streq(argv[i], "--help") || streq(argv[i], "-h");
	if (mode->cmds == cmds_qm && cli_qm_import_words(argc, argv))
		return help ? cmd_help(c, mode, argc, argv)
		            : cli_qm_import_run(c, mode->prog, argc, argv);
	if (mode->cmds == cmds_qm && streq(argv[0], "terminal") && !help)
		return cli_qm_terminal(c, mode->prog, argc, argv);
	const struct cli_cmd *best = NULL;
	int best_n = 0;
	for (const struct cli_cmd *cmd = mode->cmds; cmd->name; cmd++) {
		int n = match_words(cmd->name, argc, argv);
		if (n > best_n)
			best = cmd, best_n = n;
	}
	if (!best) {
		fprintf(stderr, "%s: unknown command '%s'\n", mode->prog, argv[0]);
		cli_mode_help(mode, stderr);
		return CLI_USAGE;
	}
	for (int i = best_n; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			return cmd_help(c, mode, best_n, argv);
	return run_cmd(c, mode, best, argc - best_n, argv + best_n);
}
