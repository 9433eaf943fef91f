/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Where ctvm keeps things.  Without --root: /etc/ctvm, /var/lib/ctvm,
 * /var/log/ctvm, /run/ctvm.  With --root DIR: DIR/etc, DIR/lib, DIR/log,
 * DIR/run, so a test can run a whole daemon in a temporary directory and
 * several daemons can run side by side.
 */
#pragma once

struct ctvm_paths {
	char *root;   /* NULL for the system layout */
	char *etc;    /* config root: storage.cfg, user.cfg, priv/, qemu-server/, lxc/ */
	char *priv;   /* etc/priv: secrets, 0700 */
	char *state;  /* /var/lib/ctvm */
	char *log;    /* /var/log/ctvm: ctvmd.log, access.log */
	char *tasks;  /* log/tasks: task logs and index */
	char *run;    /* /run/ctvm: api.sock, ctvmd.pid */
	char *socket; /* run/api.sock */
};

/* root NULL: the system layout.  Never fails (aborts on OOM). */
struct ctvm_paths *ctvm_paths_new(const char *root);
struct ctvm_paths *ctvm_paths_free(struct ctvm_paths *p);

/* Creates every directory with its mode (priv 0700). */
int ctvm_paths_create(const struct ctvm_paths *p);
