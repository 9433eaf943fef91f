/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The QMP client against a real QEMU (TCG, no guest, no disk): greeting,
 * query-status, stop/cont with their events, quit.  Skips when
 * qemu-system-x86_64 is not installed.  Needs no root. */
#include "common.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "qmp.h"
#include "xalloc.h"

static char dir[64];
static pid_t qemu_pid;

static const char *qemu_binary(void)
{
	static const char *const cands[] = {"/usr/bin/qemu-system-x86_64",
	                                    "/usr/local/bin/qemu-system-x86_64"};
	for (size_t i = 0; i < ARRAY_SIZE(cands); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ctvm-test-qmpq.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	if (qemu_pid > 0)
		kill(qemu_pid, SIGKILL);
	_cleanup_free_ char *sock = xasprintf("%s/qmp.sock", dir);
	_cleanup_free_ char *pidf = xasprintf("%s/pid", dir);
	unlink(sock);
	unlink(pidf);
	rmdir(dir);
	return 0;
}

static const char *status_of(struct qmp *q)
{
	static char buf[32];
	_cleanup_json_ json_t *st = NULL;
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &st, NULL), 0);
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(st, "status")));
	return buf;
}

static void test_real_qemu(void **state)
{
	const char *qemu = qemu_binary();
	if (!qemu)
		skip();
	_cleanup_free_ char *sock = xasprintf("%s/qmp.sock", dir);
	_cleanup_free_ char *pidf = xasprintf("%s/pid", dir);
	struct cmd c;
	cmd_init(&c, qemu);
	const char *args[] = {"-machine", "q35", "-accel", "tcg",        "-nodefaults", "-display",
	                      "none",     "-m",  "64",     "-daemonize", "-pidfile",    pidf};
	for (size_t i = 0; i < ARRAY_SIZE(args); i++)
		cmd_add(&c, args[i]);
	cmd_add(&c, "-qmp");
	cmd_addf(&c, "unix:%s,server=on,wait=off", sock);
	_cleanup_error_ struct error *err = NULL;
	int r = cmd_run(&c, NULL, &err);
	cmd_release(&c);
	if (r < 0)
		fail_msg("qemu: %s", err->msg);
	_cleanup_free_ char *pid = NULL;
	assert_int_equal(read_file(pidf, 64, &pid, NULL, NULL), 0);
	qemu_pid = atoi(pid);
	assert_true(qemu_pid > 1);

	/* -daemonize returns once the socket listens */
	_cleanup_qmp_ struct qmp *q = NULL;
	if (qmp_connect(sock, "VM 900", 5000, &q, &err) < 0)
		fail_msg("%s", err->msg);
	assert_non_null(json_object_get(qmp_greeting(q), "version"));
	assert_string_equal(status_of(q), "running");

	assert_int_equal(qmp_execute(q, "stop", NULL, 5000, NULL, NULL), 0);
	json_t *ev = NULL;
	assert_int_equal(qmp_next_event(q, "STOP", 5000, &ev, NULL), 0);
	json_decref(ev);
	assert_string_equal(status_of(q), "paused");
	assert_int_equal(qmp_execute(q, "cont", NULL, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_next_event(q, "RESUME", 5000, &ev, NULL), 0);
	json_decref(ev);
	assert_string_equal(status_of(q), "running");

	assert_int_equal(qmp_execute(q, "no-such-command", NULL, 5000, NULL, &err), -EIO);
	assert_true(str_startswith(err->msg, "VM 900 qmp command 'no-such-command' failed - "));
	err = error_free(err);

	/* quit: QEMU answers (or closes first), says SHUTDOWN and exits */
	r = qmp_execute(q, "quit", NULL, 5000, NULL, &err);
	assert_true(r == 0 || r == -ECONNRESET);
	assert_int_equal(qmp_wait_closed(q, 5000), 0);
	assert_int_equal(qmp_next_event(q, "SHUTDOWN", 0, &ev, NULL), 0);
	json_decref(ev);
	qemu_pid = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_real_qemu, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
