/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <stdlib.h>

#include "cmd.h"
#include "error.h"
#include "ttyshell.h"

int ttyshell_start(bool root_shell, int *ret_master, int *ret_slave, pid_t *ret_pid,
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
	cmd_init(&c, "/bin/login");
	if (root_shell) {
		cmd_add(&c, "-f");
		cmd_add(&c, "root");
	}
	cmd_setenv(&c, "TERM", "xterm-256color");
	int r = cmd_spawn_tty(&c, tty, ret_pid);
	if (r < 0)
		return error_set(err, r, 500, "unable to start /bin/login: %s", strerror(-r));
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}
