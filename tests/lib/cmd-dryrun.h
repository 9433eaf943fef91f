/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-dryrun: the command runner's dry run, for unit tests of code that runs
 * programs (storage backends, guest drivers) without root and without the
 * programs.  Between cmd_dryrun_begin() and cmd_dryrun_end() every
 * cmd_run() in the process runs nothing: it records what would have run
 * (argv, extra environment, stdin, working directory, timeout) and answers
 * with canned output, and cmd_run() turns that answer into its usual result
 * and error ("command '...' failed: exit code 5: <last stderr line>").
 *
 *	cmd_dryrun_begin();
 *	cmd_dryrun_on("zfs list -Hp", 0, "rpool/data\t1048576\t2097152\n", NULL);
 *	cmd_dryrun_expect("zfs create -s -V 4194304k rpool/data/vm-100-disk-0", 0,
 *	                  NULL, NULL);
 *	... the code under test ...
 *	cmd_dryrun_assert("zfs list -Hp -o name,used,avail rpool/data\n"
 *	                  "zfs create -s -V 4194304k rpool/data/vm-100-disk-0\n");
 *	assert_int_equal(cmd_dryrun_end(), 0);
 *
 * Replies.  A prefix is a command line as cmd_to_string() writes it (so an
 * argument with a blank is quoted: "qemu-img create '-o a b'") and matches
 * a command whose line starts with it at a word boundary: "lvs" matches
 * "lvs --reportformat json ..." but not "lvscan"; NULL or "" matches
 * every command.  A command takes
 *   1. the oldest cmd_dryrun_expect() reply left, if its prefix matches
 *      (so expectations pin the order of the commands that change things),
 *   2. else the first cmd_dryrun_on() rule that matches (for queries such
 *      as `qemu-img info` that run any number of times),
 *   3. else nothing: it fails with exit code 127 and counts as a problem.
 * An exit code below 0 is a negative errno: the program "could not be
 * started" (-ENOENT: not installed), as when posix_spawn fails.  out and
 * err may be NULL (empty); stdout beyond CMD_MAX_STDOUT is cut as a real
 * run cuts it.
 *
 * Threads.  The recorder is one global state behind a mutex, not per
 * thread: the code under test may run its commands from threads it starts
 * itself (a deadline probe, a worker pool), and a per-thread recorder would
 * let those run the real program.  While it is on, every command of every
 * thread is answered here and recorded in the order the commands ran.
 * begin/end belong to the test's own thread, with no command running.  A
 * forked child (a task worker) works on its own copy: what it runs is
 * answered but not seen by the parent, so test such code in-process.
 *
 * Only tests link this (tests/lib): see cmd_dryrun_hook in cmd.h for why
 * ctvmd cannot have it on.
 */
#pragma once

#include <stddef.h>

struct cmd_dryrun_record {
	char *line;       /* cmd_to_string() */
	char **argv;      /* NULL-terminated */
	char **env;       /* the extra "KEY=value" entries (strv), NULL when none */
	char *stdin_data; /* a NUL-terminated copy; NULL when no stdin was given */
	size_t stdin_len;
	char *cwd; /* NULL: not set */
	int timeout_ms;
};

/* Turns the dry run on with no replies and no records.  Anything left by a
 * test that failed before its cmd_dryrun_end() is discarded. */
void cmd_dryrun_begin(void);
/* Turns it off and frees everything.  Returns the number of problems (a
 * command no reply matched, an expectation no command took), each also
 * printed to stderr; a test asserts 0. */
int cmd_dryrun_end(void);

/* The next reply in order (see above). */
void cmd_dryrun_expect(const char *prefix, int exit_code, const char *out, const char *err);
/* A standing reply for every matching command. */
void cmd_dryrun_on(const char *prefix, int exit_code, const char *out, const char *err);

/* Commands recorded since cmd_dryrun_begin(); a record stays valid until
 * cmd_dryrun_end(). */
size_t cmd_dryrun_count(void);
const struct cmd_dryrun_record *cmd_dryrun_get(size_t i);

/* Writes `as` for every occurrence of s (a temporary directory, say) in the
 * text of cmd_dryrun_take() and cmd_dryrun_assert(), so expected command
 * lines read "ROOT/images/100/vm-100-disk-0.qcow2".  One alias; NULL
 * clears it.  Records keep the real argv. */
void cmd_dryrun_alias(const char *s, const char *as);
/* The lines of the commands recorded since the last take (or assert), each
 * ending in a newline; "" when none.  Free it. */
char *cmd_dryrun_take(void);
/* cmd_dryrun_take() must equal expected: a cmocka failure at the caller's
 * line otherwise. */
#define cmd_dryrun_assert(expected) cmd_dryrun_assert_at(expected, __FILE__, __LINE__)
void cmd_dryrun_assert_at(const char *expected, const char *file, int line);
