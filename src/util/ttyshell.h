/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ttyshell: a console's process on a new pty (docs/consoles.md): the node
 * shell's /bin/login, a container's lxc-console; the leader of its own
 * session with the pty's slave as controlling terminal, started by the
 * command runner (argv, fixed environment, TERM=xterm-256color).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct error;

/*
 * Starts "/bin/login -f root" (root_shell) or "/bin/login" (the host asks
 * who) on a new pty.  *ret_master is the pty's master (close-on-exec), for
 * the relay; *ret_slave a slave descriptor the caller keeps open while the
 * shell lives (login hangs up its terminal with vhangup() before it reopens
 * it, and the master would read EIO in between) and closes once it was
 * reaped; *ret_pid login, which the caller must waitpid().  Closing the
 * master hangs up the session.  0 or a negative errno with *err.
 */
int ttyshell_start(bool root_shell, int *ret_master, int *ret_slave, pid_t *ret_pid,
                   struct error **err);

/* The same for any program: argv (NULL-terminated, argv[0] a path) on a
 * new pty, with the same contract for *ret_master, *ret_slave, *ret_pid. */
int ttyshell_spawn(const char *const *argv, int *ret_master, int *ret_slave, pid_t *ret_pid,
                   struct error **err);
