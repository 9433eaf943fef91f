/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The command runner: argv only, fixed environment, captured output within
 * bounds, deadlines, and messages that say what failed. */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "xalloc.h"

static void test_to_string(void **state)
{
	struct cmd c;
	cmd_init(&c, "qemu-img");
	cmd_add(&c, "create");
	cmd_addf(&c, "-o preallocation=%s", "off");
	cmd_add(&c, "/var/lib/vz/images/100/vm-100-disk-0.qcow2");
	cmd_add(&c, "it's");
	cmd_add(&c, "");
	char *s = cmd_to_string(&c);
	assert_string_equal(s, "qemu-img create '-o preallocation=off' "
	                       "/var/lib/vz/images/100/vm-100-disk-0.qcow2 'it'\\''s' ''");
	free(s);
	cmd_release(&c);
}

static void test_output_and_env(void **state)
{
	struct cmd c;
	cmd_init(&c, "env");
	cmd_setenv(&c, "CTVM_TEST", "a b");
	struct cmd_result r;
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_non_null(strstr(r.out, "LC_ALL=C\n"));
	assert_non_null(strstr(r.out, "CTVM_TEST=a b\n"));
	/* nothing leaks in from the caller's environment */
	setenv("CTVM_SECRET_LEAK", "x", 1);
	cmd_result_clear(&r);
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_null(strstr(r.out, "CTVM_SECRET_LEAK"));
	assert_int_equal(r.exit_code, 0);
	cmd_result_clear(&r);
	cmd_release(&c);
}

/* stdin from an fd the caller opened: the program reads it from where it
 * is, and the caller's fd stays open */
static void test_stdin_fd(void **state)
{
	char path[] = "/tmp/ctvm-test-cmd-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "hello fd\n", 9), 9);
	assert_int_equal(lseek(fd, 6, SEEK_SET), 6);
	struct cmd c;
	cmd_init(&c, "cat");
	cmd_set_stdin_fd(&c, fd);
	struct cmd_result r;
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_string_equal(r.out, "fd\n");
	cmd_result_clear(&r);
	cmd_release(&c);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	close(fd);
}

static void test_stdin(void **state)
{
	/* more than a pipe buffer each way: no deadlock */
	size_t n = 1 << 20;
	char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	struct cmd c;
	cmd_init(&c, "cat");
	cmd_set_stdin(&c, data, n);
	struct cmd_result r;
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, data, n);
	cmd_result_clear(&r);
	cmd_release(&c);
	free(data);
}

static void test_cwd(void **state)
{
	char dir[] = "/tmp/ctvm-test-cmd-XXXXXX";
	struct cmd c;
	struct cmd_result r;
	struct error *e = NULL;

	assert_non_null(mkdtemp(dir));
	cmd_init(&c, "pwd");
	cmd_set_cwd(&c, dir);
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	_cleanup_free_ char *want = xasprintf("%s\n", dir);
	assert_string_equal(r.out, want);
	cmd_result_clear(&r);
	assert_int_equal(rmdir(dir), 0);
	/* a directory that is not there: the program never starts */
	assert_int_equal(cmd_run(&c, NULL, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "unable to run"));
	e = error_free(e);
	cmd_release(&c);
}

static void test_failures(void **state)
{
	struct cmd c;
	struct error *e = NULL;
	struct cmd_result r;

	cmd_init(&c, "ls");
	cmd_add(&c, "/nonexistent-ctvm-path");
	assert_int_equal(cmd_run(&c, &r, &e), -EIO);
	assert_int_equal(r.exit_code, 2);
	assert_true(str_startswith(e->msg, "command 'ls /nonexistent-ctvm-path' failed: exit "
	                                   "code 2: "));
	assert_non_null(strstr(e->msg, "No such file or directory"));
	assert_null(strchr(e->msg, '\n'));
	e = error_free(e);
	cmd_result_clear(&r);
	cmd_release(&c);

	cmd_init(&c, "ctvm-no-such-program");
	assert_int_equal(cmd_run(&c, NULL, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "unable to run"));
	e = error_free(e);
	cmd_release(&c);

	cmd_init(&c, "sleep");
	cmd_add(&c, "10");
	cmd_set_timeout(&c, 200);
	assert_int_equal(cmd_run(&c, &r, &e), -ETIMEDOUT);
	assert_true(r.timed_out);
	assert_string_equal(e->msg, "command 'sleep 10' failed: got timeout");
	e = error_free(e);
	cmd_result_clear(&r);
	cmd_release(&c);
}

static void test_bounded_output(void **state)
{
	/* head -c produces more than the stdout bound: kept to the bound, flagged */
	struct cmd c;
	cmd_init(&c, "head");
	cmd_add(&c, "-c");
	cmd_addf(&c, "%u", CMD_MAX_STDOUT + 4096);
	cmd_add(&c, "/dev/zero");
	struct cmd_result r;
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_int_equal(r.out_len, CMD_MAX_STDOUT);
	assert_true(r.out_truncated);
	cmd_result_clear(&r);
	cmd_release(&c);
}

static int tmpfile_fd(char *path)
{
	int fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_stdout_to_fd(void **state)
{
	char path[] = "/tmp/ctvm-cmd-out-XXXXXX";
	int fd = tmpfile_fd(path);
	struct cmd c;
	struct cmd_result r;
	struct error *err = NULL;
	struct stat st;

	/* within the budget: every byte arrives, nothing is captured */
	cmd_init(&c, "head");
	cmd_add(&c, "-c");
	cmd_add(&c, "1000000");
	cmd_add(&c, "/dev/zero");
	cmd_set_stdout_fd(&c, fd, 1000000);
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_int_equal(r.out_len, 0);
	assert_false(r.out_over);
	cmd_result_clear(&r);
	cmd_release(&c);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1000000);

	/* an endless producer is killed at the budget, which is never passed */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	cmd_init(&c, "cat");
	cmd_add(&c, "/dev/zero");
	cmd_set_stdout_fd(&c, fd, 300000);
	assert_int_equal(cmd_run(&c, &r, &err), -EFBIG);
	assert_true(r.out_over);
	assert_int_equal(r.signal, SIGKILL);
	assert_non_null(strstr(err->msg, "output exceeds 300000 bytes"));
	err = error_free(err);
	cmd_result_clear(&r);
	cmd_release(&c);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_size <= 300000);

	/* a write error stops it too */
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	cmd_init(&c, "cat");
	cmd_add(&c, "/dev/zero");
	cmd_set_stdout_fd(&c, ro, 1ull << 40);
	assert_int_equal(cmd_run(&c, NULL, &err), -EBADF);
	assert_non_null(strstr(err->msg, "unable to write its output"));
	err = error_free(err);
	cmd_release(&c);
	close(ro);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_to_string),    cmocka_unit_test(test_output_and_env),
	    cmocka_unit_test(test_stdin),        cmocka_unit_test(test_cwd),
	    cmocka_unit_test(test_failures),     cmocka_unit_test(test_bounded_output),
	    cmocka_unit_test(test_stdout_to_fd), cmocka_unit_test(test_stdin_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
