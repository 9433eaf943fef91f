/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qm disk import (alias qm importdisk): a host image as a new disk of a VM,
 * as Proxmox 8's qm.pm spells it.  No method of its own: the image goes
 * through POST .../config as "<key>: <storage>:0,import-from=<path>", which
 * the daemon allows root@pam alone and checks (a regular file, an image
 * naming nothing outside itself) before it copies it in the task.
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli-cmds.h"
#include "cli.h"
#include "jsonutil.h"
#include "xalloc.h"

#define USAGE                                                                 \
	"USAGE: %s %s <vmid> <source> <storage> [--format <raw|qcow2|vmdk>] " \
	"[--target-disk <bus><n>]\n"

/* Words the command takes: 2 for "disk import", 1 for "importdisk", else 0. */
int cli_qm_import_words(int argc, char **argv)
{
	if (argc >= 1 && streq(argv[0], "importdisk"))
		return 1;
	if (argc >= 2 && streq(argv[0], "disk") && streq(argv[1], "import"))
		return 2;
	return 0;
}

static bool vmid_ok(const char *s)
{
	size_t n = strlen(s);
	return n && n <= 9 && s[0] != '0' && strspn(s, "0123456789") == n;
}

/* "-x v", "--x v", "--x=v": the option's value and how many words it took
 * (0 when argv[i] is not option name). */
static int take_opt(int argc, char **argv, int i, const char *name, const char **ret)
{
	const char *a = argv[i];
	size_t n = strlen(name);
	if (a[0] != '-')
		return 0;
	a += a[1] == '-' ? 2 : 1;
	if (!strncmp(a, name, n) && a[n] == '=') {
		*ret = a + n + 1;
		return 1;
	}
	if (streq(a, name) && i + 1 < argc) {
		*ret = argv[i + 1];
		return 2;
	}
	return 0;
}

/* The first unusedN the config does not have (PVE's add_unused_volume). */
static char *free_unused(const json_t *conf)
{
	for (int i = 0; i < 256; i++) {
		char key[16];
		snprintf(key, sizeof(key), "unused%d", i);
		if (!json_object_get(conf, key))
			return xstrdup(key);
	}
	return NULL;
}

int cli_qm_import_run(struct cli *c, const char *prog, int argc, char **argv)
{
	int words = cli_qm_import_words(argc, argv);
	const char *verb = words == 2 ? "disk import" : "importdisk";
	const char *format = NULL, *target = NULL, *pos[3];
	int npos = 0;
	for (int i = words; i < argc;) {
		int n = take_opt(argc, argv, i, "format", &format);
		if (!n)
			n = take_opt(argc, argv, i, "target-disk", &target);
		if (!n && argv[i][0] != '-' && npos < 3) {
			pos[npos++] = argv[i];
			n = 1;
		}
		if (!n) {
			fprintf(stderr, USAGE, prog, verb);
			return CLI_USAGE;
		}
		i += n;
	}
	if (npos != 3 || !vmid_ok(pos[0]) || strchr(pos[2], ',') ||
	    (format && (strchr(format, ',') || strchr(format, '='))) ||
	    (target && strchr(target, ','))) {
		fprintf(stderr, USAGE, prog, verb);
		return CLI_USAGE;
	}
	const char *vmid = pos[0], *storage = pos[2];
	/* as qm.pm's abs_filesystem_path: a file of this host, made absolute
	 * here (the daemon takes absolute paths only) */
	char source[PATH_MAX];
	if (!realpath(pos[1], source)) {
		fprintf(stderr, "unable to find source '%s' - %s\n", pos[1], strerror(errno));
		return CLI_ERROR;
	}

	const char *node;
	int r = cli_node(c, &node);
	if (r)
		return r;
	_cleanup_free_ char *path = xasprintf("/nodes/%s/qemu/%s/config", node, vmid);
	_cleanup_json_ json_t *conf = NULL;
	r = cli_call(c, "GET", path, NULL, &conf);
	if (r)
		return r;
	_cleanup_free_ char *key = target ? xstrdup(target) : free_unused(conf);
	if (!key) {
		fprintf(stderr, "no free unused disk slot in VM %s\n", vmid);
		return CLI_ERROR;
	}
	printf("importing disk '%s' to VM %s ...\n", source, vmid);
	fflush(stdout);
	_cleanup_free_ char *value =
	    format ? xasprintf("%s:0,import-from=%s,format=%s", storage, source, format)
	           : xasprintf("%s:0,import-from=%s", storage, source);
	_cleanup_json_ json_t *params = json_object();
	json_object_set_new(params, key, json_string(value));
	_cleanup_json_ json_t *upid = NULL;
	r = cli_call(c, "POST", path, params, &upid);
	if (r)
		return r;
	if (json_is_string(upid)) {
		r = cli_wait_task(c, json_string_value(upid), false);
		if (r)
			return r;
	}
	json_decref(conf);
	conf = NULL;
	r = cli_call(c, "GET", path, NULL, &conf);
	if (r)
		return r;
	const char *now = json_string_value(json_object_get(conf, key));
	if (!now) {
		fprintf(stderr, "VM %s has no '%s' after the import\n", vmid, key);
		return CLI_ERROR;
	}
	printf("Successfully imported disk as '%s:%.*s'\n", key, (int)strcspn(now, ","), now);
	return 0;
}
