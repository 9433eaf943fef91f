/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What every mode of the CLI shares (ctvm, pvesh, qm, pct, pvesm, pveum):
 * the global options, one API call with its errors mapped to exit codes,
 * the output formats, options parsed against a method row, and waiting
 * for a task while its log streams.
 *
 * Exit codes (docs/cli.md): 0 success, 1 any other error (the daemon
 * refused for another reason, cannot reach it, ...), 2 usage error (the
 * command line, or a 400 parameter error from the API), 3 permission
 * denied (401/403), 4 the task ran and failed.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct api_method;
struct api_route_table;

enum cli_exit {
	CLI_OK = 0,
	CLI_ERROR = 1,
	CLI_USAGE = 2,
	CLI_DENIED = 3,
	CLI_TASK_FAILED = 4,
};

enum cli_output { CLI_OUT_DEFAULT, CLI_OUT_JSON, CLI_OUT_JSON_PRETTY, CLI_OUT_TEXT };

struct cli {
	const char *prog; /* the name in messages: "qm", "ctvm", ... */
	const char *root; /* --root DIR: the ctvmd started with --root DIR */
	const char *host; /* --host HOST[:PORT]: a remote ctvmd (cli-remote.h) */
	enum cli_output out;
	bool async; /* --async: print a task's UPID instead of waiting for it */
	char *node; /* this host's node name, asked once */
	struct api_route_table *routes;
};

/* Takes the global options (--root, --host, --output-format, --async;
 * --help is not one) out of argv wherever they stand, up to a "--" (removed too);
 * *argc shrinks.  $CTVM_ROOT is --root's default, so that a script
 * written for Proxmox runs unchanged against a daemon with a --root.  CLI_USAGE with a message for
 * a bad value, else 0. */
int cli_take_globals(struct cli *c, int *argc, char **argv);
void cli_release(struct cli *c);

/* The method row for verb + path (a template or a concrete path). */
const struct api_method *cli_method(struct cli *c, const char *verb, const char *path);

/*
 * Appends argv's "--key value", "--key=value" and "-key value" to params
 * (an object of key -> array of strings; a key given twice is sent twice).
 * A boolean of m's parameters takes no value unless the next word is one
 * (1, 0, yes, no, true, false, on, off); so does a name in local_bools
 * (space-separated: the command's own options).  Words that are not options go to
 * positional (array of strings) when it is not NULL, else are an error.
 * CLI_USAGE with a message, else 0.
 */
int cli_parse_options(struct cli *c, const struct api_method *m, const char *local_bools, int argc,
                      char **argv, json_t *params, json_t *positional);

/*
 * One request.  path is concrete (relative to /api2/json); params an
 * object of key -> string or array of strings (may be NULL).  On 200 the
 * answer's data in *ret_data (json null when none) and 0; else the error
 * printed on stderr and its exit code.
 */
int cli_call(struct cli *c, const char *verb, const char *path, json_t *params, json_t **ret_data);

struct strbuf;
/* Percent-encodes s into sb: everything outside RFC 3986 unreserved and extra. */
void cli_url_encode(struct strbuf *sb, const char *s, const char *extra);

/* This host's node name (GET /nodes, the first one): 0 or an exit code. */
int cli_node(struct cli *c, const char **ret);

/* Waits for upid to stop, printing its log lines as they come (unless
 * quiet): 0 when it ended OK (or with warnings), CLI_TASK_FAILED, or the
 * exit code of a failed call. */
int cli_wait_task(struct cli *c, const char *upid, bool quiet);

/* `PROG __complete WORD... CURRENT`: the candidates for CURRENT, one a
 * line, from the method table (cli-complete.c). */
int cli_complete(struct cli *c, const char *prog, int argc, char **argv);

/* `ctvm __man PROG`: PROG's man page from the tables (cli-man.c). */
int cli_man(struct cli *c, const char *prog);

/* A password from stdin (prompt and echo off on a terminal); malloc'd,
 * NULL with a message when there is none. */
char *cli_read_password(const char *prog, const char *prompt);

/* Prints data as c->out asks; CLI_OUT_DEFAULT prints as def. */
void cli_print(struct cli *c, json_t *data, enum cli_output def);
void cli_print_scalar(FILE *f, json_t *v);
