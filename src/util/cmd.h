/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd: the one way ctvm runs an external program (qemu-img, lvcreate, zfs,
 * btrfs, mkfs, ...).
 *
 * Building a command is separate from running it, so backends expose pure
 * *_build_cmd() functions and golden tests compare cmd_to_string() with
 * checked-in .argv files.  Running never involves a shell: the argv array
 * goes to posix_spawn.  The environment is fixed (LC_ALL=C, a fixed PATH,
 * plus what the command adds), stdout and stderr are captured within bounds,
 * and every run has a deadline after which the whole process group is
 * killed.
 *
 * Tests of code that runs commands (storage backends, guest drivers) link
 * the dry-run recorder of tests/lib/cmd-dryrun.h, which answers cmd_run()
 * with canned output instead of running anything; see cmd_dryrun_hook
 * below for why it cannot be on in ctvmd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct error;

#define CMD_DEFAULT_TIMEOUT_MS (60 * 1000)
#define CMD_MAX_STDOUT         (16u << 20)
#define CMD_MAX_STDERR         (1u << 20)

struct cmd {
	char **argv; /* NULL-terminated */
	size_t argc, alloc;
	char **env; /* extra "KEY=value" entries, NULL-terminated */
	size_t envc;
	const char *stdin_data; /* not owned */
	size_t stdin_len;
	int stdin_fd;   /* >= 0 (cmd_set_stdin_fd): stdin is this fd, not owned */
	int timeout_ms; /* 0: CMD_DEFAULT_TIMEOUT_MS */
	char *cwd;      /* NULL: the caller's working directory */
	bool out_to_fd; /* stdout goes to out_fd instead of cmd_result.out */
	int out_fd;
	unsigned long long out_max;
};

struct cmd_result {
	int exit_code; /* valid when !signaled */
	int signal;    /* the signal that ended it, or 0 */
	bool timed_out;
	bool out_truncated, err_truncated;
	bool out_over; /* out_to_fd: the command was killed at out_max bytes */
	int out_errno; /* out_to_fd: writing to out_fd failed (killed too) */
	char *out;     /* NUL-terminated */
	size_t out_len;
	char *err;
	size_t err_len;
};

void cmd_init(struct cmd *c, const char *program);
void cmd_add(struct cmd *c, const char *arg);
void cmd_addf(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "KEY=value" to the environment. */
void cmd_setenv(struct cmd *c, const char *key, const char *value);
void cmd_set_stdin(struct cmd *c, const char *data, size_t len);
/* The command reads fd (not owned, left open) as its stdin instead of
 * stdin data: for input the daemon opened and the program itself may not
 * be able to open (a file read inside another user namespace). */
void cmd_set_stdin_fd(struct cmd *c, int fd);
void cmd_set_timeout(struct cmd *c, int timeout_ms);
/* Runs the program in dir (copied); one that does not exist fails the run
 * as "unable to run". */
void cmd_set_cwd(struct cmd *c, const char *dir);
/* Streams the command's stdout to fd (not owned) as it comes, at most
 * max_bytes: one byte more and the command is killed and the run fails
 * with -EFBIG, before anything past the budget is written. */
void cmd_set_stdout_fd(struct cmd *c, int fd, unsigned long long max_bytes);
void cmd_release(struct cmd *c);

/* The command as one line, each argument quoted only when needed
 * ('...'), for golden files and task logs. */
char *cmd_to_string(const struct cmd *c);

/*
 * Runs c and waits for it.  Returns 0 when it exited 0.  Otherwise a negative
 * errno with *err "command '<cmd_to_string>' failed: exit code N" (or "got
 * timeout", "killed by signal N", "unable to run: ...", "output exceeds N
 * bytes", "unable to write its output - ..."), and the last line of stderr
 * appended when there is one.  *ret (optional) is filled in either
 * way once the program ran; release it with cmd_result_clear().
 */
int cmd_run(const struct cmd *c, struct cmd_result *ret, struct error **err);
void cmd_result_clear(struct cmd_result *r);

/*
 * Starts c without waiting, as the leader of a new session whose
 * controlling terminal is tty (a pty's slave path): stdin, stdout and
 * stderr are tty.  For interactive sessions (the node shell); stdin data,
 * the timeout and the output settings of c do not apply.  The caller must
 * waitpid() *ret_pid.  Returns 0 or a negative errno (-ENOENT: no such
 * program).
 */
int cmd_spawn_tty(const struct cmd *c, const char *tty, pid_t *ret_pid);

/*
 * The test seam.  Only tests/lib/cmd-dryrun.c defines it, and only tests
 * link that, so in ctvmd and ctvm this is NULL and cmd_run() always runs
 * the program: no setting, environment variable or call can turn a dry run
 * on in the daemon (tests/integration/test_exports.py checks the binaries).
 * Weak and hidden, so the reference is settled when the program is linked
 * and a shared library can never supply it at run time.
 *
 * Returns 0 to run c for real, 1 when it answered instead (*ret filled as a
 * run would: exit_code, signal, timed_out, out, err; cmd_run() then builds
 * the same error a real run would), or a negative errno when the program
 * "could not be started".
 */
int cmd_dryrun_hook(const struct cmd *c, struct cmd_result *ret)
    __attribute__((weak, visibility("hidden")));
