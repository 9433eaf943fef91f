/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Proxmox command names (qm, pct, pvesm, pveum) and ctvm's own groups
 * as tables over the API: each command is a verb, a path template, the
 * names its positional arguments fill (path placeholders or parameters),
 * fixed parameters, and how its answer prints.  Every other option is the
 * method row's own, taken as --key value, so the commands grow with the
 * method table; a command whose method this build's table lacks says so
 * (pct before the container API lands).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct cli;

/* Prints a command's answer in Proxmox's text format; params are the
 * request's, local the command's own options (--verbose). */
typedef int cli_printer_fn(struct cli *c, json_t *data, json_t *params, json_t *local);

struct cli_cmd {
	const char *name;  /* words: "start", "user add", "scan lvm" */
	const char *verb;  /* "GET", "POST", "PUT", "DELETE" */
	const char *path;  /* template; {node} is this host's unless --node */
	const char *args;  /* positional names, space-separated: "vmid snapname" */
	const char *fixed; /* fixed parameters, "key=value" space-separated */
	cli_printer_fn *print;
	const char *local; /* the command's own boolean options, space-separated */
};

struct cli_mode {
	const char *prog; /* "qm", "ctvm vm", ... */
	const struct cli_cmd *cmds;
};

extern const struct cli_mode cli_mode_qm, cli_mode_pct, cli_mode_pvesm, cli_mode_pveum,
    cli_mode_task, cli_mode_node;

/* Runs argv (the words after the program or group name) in mode. */
int cli_mode_run(struct cli *c, const struct cli_mode *mode, int argc, char **argv);

/* pct's commands outside the API (cli-pct.c): enter and exec, which
 * lxc-attach into a running container on this host. */
bool cli_pct_local_cmd(const char *name);
int cli_pct_local_run(struct cli *c, const char *prog, int argc, char **argv);

/* qm disk import / qm importdisk (cli-qm-import.c): a host image through
 * POST .../config with import-from.  The words argv starts with that name
 * the command (0: not it). */
int cli_qm_import_words(int argc, char **argv);
int cli_qm_import_run(struct cli *c, const char *prog, int argc, char **argv);
/* `qm terminal VMID [--iface serialN] [--escape CHAR]` (cli-term.c): the
 * caller's terminal on the VM's serial port through termproxy and
 * vncwebsocket on the local socket. */
int cli_qm_terminal(struct cli *c, const char *prog, int argc, char **argv);

/* Lists mode's commands with their arguments. */
void cli_mode_help(const struct cli_mode *mode, FILE *out);
