/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `pct enter VMID` and `pct exec VMID [--] CMD...`: a shell or a command in
 * a running container; `pct push VMID FILE DEST` and `pct pull VMID PATH
 * DEST`: a file into or out of it.  For root on the host, as Proxmox's pct:
 * lxc-attach into the container, here with the daemon's lxcpath
 * (<run>/lxc, where ctvmd starts containers through liblxc).  `pct console
 * VMID [--escape ^a]`: lxc-console on the container's console, as Proxmox's
 * (PVE::LXC::get_console_command).  No API method does this, so it is
 * local only; remotely, `--host` is refused.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-cmds.h"
#include "cli.h"
#include "jsonutil.h"
#include "paths.h"
#include "xalloc.h"

static bool vmid_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 9 || s[0] == '0')
		return false;
	return strspn(s, "0123456789") == n;
}

bool cli_pct_local_cmd(const char *name)
{
	return streq(name, "enter") || streq(name, "exec") || streq(name, "push") ||
	       streq(name, "pull") || streq(name, "console");
}

/* Proxmox's pattern for --escape: a letter, optionally after '^' (Ctrl). */
static bool escape_ok(const char *s)
{
	if (s[0] == '^')
		s++;
	return s[0] >= 'a' && s[0] <= 'z' && !s[1];
}

/* `console VMID [--escape KEY]` (also -escape, --escape=KEY, as Proxmox's
 * option parser takes them): the escape key, "^a" by default, or NULL on a
 * usage error. */
static const char *console_escape(int argc, char **argv)
{
	const char *esc = "^a";
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++;
		if (streq(a, "-escape") && i + 1 < argc)
			esc = argv[++i];
		else if (str_startswith(a, "-escape="))
			esc = a + strlen("-escape=");
		else
			return NULL;
	}
	return escape_ok(esc) ? esc : NULL;
}

int cli_pct_local_run(struct cli *c, const char *prog, int argc, char **argv)
{
	const char *verb = argv[0];
	bool exec = streq(verb, "exec");
	bool copy = streq(verb, "push") || streq(verb, "pull");
	bool console = streq(verb, "console");
	const char *escape = console && argc >= 2 ? console_escape(argc, argv) : NULL;
	if (argc < 2 || !vmid_ok(argv[1]) || (streq(verb, "enter") && argc > 2) ||
	    (copy && argc != 4) || (console && !escape)) {
		fprintf(stderr, "USAGE: %s %s <vmid>%s\n", prog, verb,
		        exec                  ? " <extra-args>"
		        : streq(verb, "push") ? " <file> <destination>"
		        : copy                ? " <path> <destination>"
		        : console             ? " [--escape <^letter>]"
		                              : "");
		return CLI_USAGE;
	}
	if (c->host) {
		fprintf(stderr,
		        "%s %s: only for root on the container's host: %s cannot reach "
		        "a remote ctvm (--host)\n",
		        prog, verb, console ? "lxc-console" : "lxc-attach");
		return CLI_USAGE;
	}
	const char *vmid = argv[1];
	char **cmd = argv + 2;
	int ncmd = console ? 0 : argc - 2;
	if (exec && ncmd && streq(cmd[0], "--"))
		cmd++, ncmd--;
	if (exec && !ncmd) {
		fprintf(stderr, "%s exec: missing command\n", prog);
		return CLI_USAGE;
	}

	/* As Proxmox: the container must run; the API says so, and says 'does
	 * not exist' (exit 1) for a CT that is not there. */
	_cleanup_free_ char *path = NULL;
	const char *node;
	int r = cli_node(c, &node);
	if (r)
		return r;
	path = xasprintf("/nodes/%s/lxc/%s/status/current", node, vmid);
	_cleanup_json_ json_t *params = json_object();
	_cleanup_json_ json_t *st = NULL;
	r = cli_call(c, "GET", path, params, &st);
	if (r)
		return r;
	const char *status = json_string_value(json_object_get(st, "status"));
	if (!status || !streq(status, "running")) {
		fprintf(stderr, "CT %s not running\n", vmid);
		return CLI_ERROR;
	}

	/* push/pull: the local file is opened here, as root on the host, and
	 * becomes the stdin or stdout of a cat inside the container, which
	 * opens the container's path as the container's root would. */
	if (copy) {
		bool push = streq(verb, "push");
		int fd = push ? open(argv[2], O_RDONLY | O_CLOEXEC)
		              : open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "%s %s: unable to open '%s': %s\n", prog, verb,
			        push ? argv[2] : argv[3], strerror(errno));
			return CLI_ERROR;
		}
		if (dup2(fd, push ? STDIN_FILENO : STDOUT_FILENO) < 0) {
			fprintf(stderr, "%s %s: %s\n", prog, verb, strerror(errno));
			close(fd);
			return CLI_ERROR;
		}
		close(fd);
		static char *push_cmd[] = {"/bin/sh", "-c", "cat > \"$1\"", "sh", NULL, NULL};
		static char *pull_cmd[] = {"cat", "--", NULL, NULL};
		if (push) {
			push_cmd[4] = argv[3];
			cmd = push_cmd, ncmd = 5;
		} else {
			pull_cmd[2] = argv[2];
			cmd = pull_cmd, ncmd = 3;
		}
		exec = true;
	}

	struct ctvm_paths *paths = ctvm_paths_new(c->root);
	_cleanup_free_ char *lxcpath = xasprintf("%s/lxc", paths->run);
	ctvm_paths_free(paths);
	/* lxc-attach and lxc-console take over the terminal (enter and
	 * console are interactive), so they replace this process instead of
	 * running under cmd.c's runner, which captures output; still an argv
	 * array, never a shell. */
	char **av = xnew(char *, (size_t)ncmd + 10);
	size_t n = 0;
	av[n++] = (char *)(console ? "lxc-console" : "lxc-attach");
	av[n++] = (char *)"-P";
	av[n++] = lxcpath;
	av[n++] = (char *)"-n";
	av[n++] = (char *)vmid;
	if (console) {
		/* tty 0 is the container's /dev/console, where its init speaks */
		av[n++] = (char *)"-t";
		av[n++] = (char *)"0";
		av[n++] = (char *)"-e";
		av[n++] = (char *)escape;
	}
	if (exec) {
		av[n++] = (char *)"--";
		for (int i = 0; i < ncmd; i++)
			av[n++] = cmd[i];
	}
	av[n] = NULL;
	fflush(stdout);
	execvp(av[0], av);
	fprintf(stderr, "%s %s: unable to run %s: %s\n", prog, verb, av[0], strerror(errno));
	free(av);
	return CLI_ERROR;
}
