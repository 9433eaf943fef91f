/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep_drop(): the sandbox of the front process (docs/dev/PRIVSEP.md,
 * "The front's sandbox").  After it, the process runs as an unprivileged
 * user with no supplementary groups, holds no capability (effective,
 * permitted, inheritable, ambient, bounding), cannot gain privileges
 * (PR_SET_NO_NEW_PRIVS, root locked out by securebits), is not dumpable, and
 * runs under a seccomp allow-list: it may use the descriptors it holds
 * (listening sockets, the channel, files passed to it), create threads, and
 * open files read-only; it cannot execve, fork, create sockets, open files
 * for writing, map executable memory, or signal other processes.
 *
 * Call it from a process with one thread, as root, after everything that
 * needs privileges or paths outside the sandbox: listening sockets bound,
 * certificate and key loaded, GnuTLS initialised, tzset() called, log files
 * opened.  On failure the process is partly dropped: the caller must exit.
 */
#pragma once

struct error;

enum privsep_seccomp {
	/* The process dies with SIGSYS (SECCOMP_RET_KILL_PROCESS), and the
	 * kernel logs the call: the default.  A front that calls outside the
	 * list is compromised or broken; either way it should die and be
	 * restarted rather than carry on with a failed call. */
	PRIVSEP_SECCOMP_KILL = 0,
	/* The call fails with EPERM (tests, and a front that must limp on). */
	PRIVSEP_SECCOMP_ERRNO,
	/* The call is allowed and logged by the kernel (audit, "type=1326"):
	 * for finding what the list lacks.  Not a sandbox. */
	PRIVSEP_SECCOMP_LOG,
	/* No filter at all (debugging only). */
	PRIVSEP_SECCOMP_OFF,
};

struct privsep_drop_config {
	/* The user to become, with its primary group and no others; never
	 * root.  docs/dev/PRIVSEP.md: "ctvm-www" on a system. */
	const char *user;
	/* NULL: stay in the file system, cwd "/".  Else chroot() there (the
	 * static files the front serves) and chdir("/"). */
	const char *chroot_dir;
	enum privsep_seccomp seccomp;
};

int privsep_drop(const struct privsep_drop_config *cfg, struct error **err);

/* The names of the system calls the front may make, NULL-terminated, and of
 * those allowed only with restricted arguments (docs/dev/PRIVSEP.md explains
 * each); for the documentation and its test. */
extern const char *const privsep_front_syscalls[];
extern const char *const privsep_front_syscalls_restricted[];
