/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <stdlib.h>

#include "cmd.h"
#include "error.h"
#include "ttyshell.h"

int ttyshell_spawn(const char *const *argv, int *ret_master, int *ret_slave, pid_t *ret_pid,
                   struct error **err)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char tty[64];
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, tty, sizeof(tty)) != 0)
		return error_set(err, -errno, 500, "unable to allocate a terminal: %m");
	_cleanup_close_ int slave = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return error_set(err, -errno, 500, "unable to open %s: %m", tty);
	_cleanup_(cmd_release) struct cmd c;
	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	cmd_setenv(&c, "TERM", "xterm-256color");
	int r = cmd_spawn_tty(&c, tty, ret_pid);
	if (r < 0)
		return error_set(err, r, 500, "unable to start %s: %s", argv[0], strerror(-r));
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}

int ttyshell_start(bool root_shell, int *ret_master, int *ret_slave, pid_t *ret_pid,
                   struct error **err)
{
	const char *const root[] = {"/bin/login", "-f", "root", NULL};
	const char *const login[] = {"/bin/login", NULL};
	return ttyshell_spawn(root_shell ? root : login, ret_master, ret_slave, ret_pid, err);
}
