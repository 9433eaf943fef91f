/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The command runner's dry run (tests/lib/cmd-dryrun.h): nothing runs, every
 * command is recorded, replies come in order or by prefix, and cmd_run()
 * reports an answered command exactly as it reports a real one. */
#include "common.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cmd-dryrun.h"
#include "cmd.h"
#include "error.h"
#include "strv.h"
#include "xalloc.h"

/* Runs argv (NULL-terminated) and returns cmd_run()'s code; *ret_out gets
 * stdout, *ret_err the error message (either may be NULL). */
static int run(const char *const *argv, char **ret_out, char **ret_err)
{
	struct cmd c;
	struct cmd_result r = {0};
	struct error *e = NULL;

	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	int rc = cmd_run(&c, &r, &e);
	if (ret_out)
		*ret_out = r.out ? xstrdup(r.out) : NULL;
	if (ret_err)
		*ret_err = e ? xstrdup(e->msg) : NULL;
	cmd_result_clear(&r);
	error_free(e);
	cmd_release(&c);
	return rc;
}

#define RUN(out, err, ...) run((const char *const[]){__VA_ARGS__, NULL}, out, err)

static void test_off_runs_for_real(void **state)
{
	_cleanup_free_ char *out = NULL;

	/* linked in, but not begun: the real program runs */
	assert_int_equal(RUN(&out, NULL, "echo", "real"), 0);
	assert_string_equal(out, "real\n");
	assert_int_equal(cmd_dryrun_count(), 0);
	assert_int_equal(cmd_dryrun_end(), 0);
}

static void test_nothing_runs(void **state)
{
	char dir[] = "/tmp/ctvm-test-dryrun-XXXXXX";
	struct stat sb;

	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *file = xasprintf("%s/touched", dir);
	cmd_dryrun_begin();
	cmd_dryrun_on(NULL, 0, NULL, NULL);
	assert_int_equal(RUN(NULL, NULL, "touch", file), 0);
	assert_int_equal(cmd_dryrun_end(), 0);
	assert_int_equal(stat(file, &sb), -1);
	assert_int_equal(errno, ENOENT);
	/* and after the end, commands run again */
	assert_int_equal(RUN(NULL, NULL, "touch", file), 0);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_queue_in_order(void **state)
{
	_cleanup_free_ char *out1 = NULL, *out2 = NULL, *msg = NULL;

	cmd_dryrun_begin();
	cmd_dryrun_expect("lvcreate -aly -V", 0, "  Logical volume \"vm-100-disk-0\" created.\n",
	                  NULL);
	cmd_dryrun_expect("lvs", 0, "{\"report\":[{\"lv\":[]}]}\n", NULL);
	cmd_dryrun_expect("lvremove", 5, NULL,
	                  "  WARNING: something\n  Logical volume pve/vm-100-disk-9 not found\n");
	assert_int_equal(RUN(&out1, NULL, "lvcreate", "-aly", "-V", "4194304k", "--name",
	                     "vm-100-disk-0", "--thinpool", "pve/data"),
	                 0);
	assert_string_equal(out1, "  Logical volume \"vm-100-disk-0\" created.\n");
	assert_int_equal(RUN(&out2, NULL, "lvs", "--reportformat", "json", "--units", "b", "pve"),
	                 0);
	assert_string_equal(out2, "{\"report\":[{\"lv\":[]}]}\n");
	/* a failing reply fails as a real run does: code, message, last stderr line */
	assert_int_equal(RUN(NULL, &msg, "lvremove", "-f", "pve/vm-100-disk-9"), -EIO);
	assert_string_equal(msg, "command 'lvremove -f pve/vm-100-disk-9' failed: exit code 5: "
	                         "  Logical volume pve/vm-100-disk-9 not found");
	cmd_dryrun_assert("lvcreate -aly -V 4194304k --name vm-100-disk-0 --thinpool pve/data\n"
	                  "lvs --reportformat json --units b pve\n"
	                  "lvremove -f pve/vm-100-disk-9\n");
	assert_int_equal(cmd_dryrun_end(), 0);
}

static void test_rules_and_precedence(void **state)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *msg = NULL;

	cmd_dryrun_begin();
	cmd_dryrun_on("zfs list -Hp", 0, "rpool/data\t1024\t2048\n", NULL);
	cmd_dryrun_on("zfs", 1, NULL, "cannot open 'x': dataset does not exist\n");
	cmd_dryrun_expect("zfs create", 0, NULL, NULL);
	/* a query between expectations goes to its rule, the queue waits */
	assert_int_equal(RUN(&a, NULL, "zfs", "list", "-Hp", "-o", "name,used,avail", "rpool/data"),
	                 0);
	assert_string_equal(a, "rpool/data\t1024\t2048\n");
	assert_int_equal(RUN(NULL, NULL, "zfs", "create", "-s", "-V", "4194304k", "rpool/data/x"),
	                 0);
	/* a rule answers any number of times; the first matching rule wins */
	assert_int_equal(RUN(&b, NULL, "zfs", "list", "-Hp"), 0);
	assert_string_equal(b, "rpool/data\t1024\t2048\n");
	assert_int_equal(RUN(&c, &msg, "zfs", "destroy", "rpool/data/x"), -EIO);
	assert_string_equal(c, "");
	assert_string_equal(msg, "command 'zfs destroy rpool/data/x' failed: exit code 1: cannot "
	                         "open 'x': dataset does not exist");
	/* a prefix ends at a word boundary: "zfs" does not match "zfsx" */
	free(msg);
	msg = NULL;
	assert_int_equal(RUN(&d, &msg, "zfsx"), -EIO);
	assert_string_equal(msg, "command 'zfsx' failed: exit code 127: cmd-dryrun: no reply for "
	                         "'zfsx'");
	assert_int_equal(cmd_dryrun_count(), 5);
	assert_string_equal(cmd_dryrun_get(4)->line, "zfsx");
	assert_null(cmd_dryrun_get(5));
	/* the unmatched command is the one problem */
	assert_int_equal(cmd_dryrun_end(), 1);
}

static void test_problems(void **state)
{
	_cleanup_free_ char *msg = NULL;

	/* an expectation out of order does not match: the command fails, and
	 * it and both expectations left over count */
	cmd_dryrun_begin();
	cmd_dryrun_expect("qemu-img create", 0, NULL, NULL);
	cmd_dryrun_expect("qemu-img resize", 0, NULL, NULL);
	assert_int_equal(RUN(NULL, &msg, "qemu-img", "resize", "-f", "raw", "/x", "1024"), -EIO);
	assert_non_null(strstr(msg, "exit code 127"));
	assert_int_equal(cmd_dryrun_end(), 3);

	/* begin discards what a failed test left behind */
	cmd_dryrun_begin();
	cmd_dryrun_expect(NULL, 0, NULL, NULL);
	cmd_dryrun_begin();
	assert_int_equal(cmd_dryrun_end(), 0);
}

static void test_cannot_start(void **state)
{
	_cleanup_free_ char *msg = NULL;
	struct cmd c;
	struct cmd_result r = {.exit_code = 42};
	struct error *e = NULL;

	cmd_dryrun_begin();
	cmd_dryrun_expect("zfs", -ENOENT, NULL, NULL);
	assert_int_equal(RUN(NULL, &msg, "zfs", "list"), -ENOENT);
	assert_string_equal(msg,
	                    "command 'zfs list' failed: unable to run - No such file or directory");
	/* as with a real spawn failure, *ret is not touched */
	cmd_dryrun_expect("zfs", -ENOENT, NULL, NULL);
	cmd_init(&c, "zfs");
	assert_int_equal(cmd_run(&c, &r, &e), -ENOENT);
	assert_int_equal(r.exit_code, 42);
	error_free(e);
	cmd_release(&c);
	assert_int_equal(cmd_dryrun_end(), 0);
}

static void test_records(void **state)
{
	struct cmd c;
	struct cmd_result r = {0};
	static const char json[] = "{\"virtual-size\": 1073741824, \"format\": \"qcow2\"}";

	cmd_dryrun_begin();
	cmd_dryrun_on("qemu-img info --output=json", 0, json, NULL);
	cmd_init(&c, "qemu-img");
	cmd_add(&c, "info");
	cmd_add(&c, "--output=json");
	cmd_add(&c, "/var/lib/vz/images/100/vm-100-disk-0.qcow2");
	cmd_set_timeout(&c, 10 * 1000);
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_string_equal(r.out, json);
	assert_int_equal(r.out_len, strlen(json));
	assert_string_equal(r.err, "");
	cmd_result_clear(&r);
	cmd_release(&c);

	cmd_init(&c, "lxc-start");
	cmd_add(&c, "-n");
	cmd_add(&c, "100");
	cmd_setenv(&c, "LXC_DEBUG", "1");
	cmd_set_stdin(&c, "secret\n", 7);
	cmd_set_cwd(&c, "/var/lib/lxc/100");
	cmd_dryrun_expect("lxc-start -n 100", 0, NULL, NULL);
	assert_int_equal(cmd_run(&c, NULL, NULL), 0);
	cmd_release(&c);

	assert_int_equal(cmd_dryrun_count(), 2);
	const struct cmd_dryrun_record *q = cmd_dryrun_get(0), *l = cmd_dryrun_get(1);
	assert_string_equal(q->argv[0], "qemu-img");
	assert_string_equal(q->argv[3], "/var/lib/vz/images/100/vm-100-disk-0.qcow2");
	assert_null(q->argv[4]);
	assert_null(q->env);
	assert_null(q->stdin_data);
	assert_null(q->cwd);
	assert_int_equal(q->timeout_ms, 10000);
	assert_string_equal(l->line, "lxc-start -n 100");
	assert_int_equal(strv_length(l->env), 1);
	assert_string_equal(l->env[0], "LXC_DEBUG=1");
	assert_int_equal(l->stdin_len, 7);
	assert_string_equal(l->stdin_data, "secret\n");
	assert_string_equal(l->cwd, "/var/lib/lxc/100");
	assert_int_equal(l->timeout_ms, 0);

	/* take: what ran since the last take; the alias stands for a path */
	cmd_dryrun_alias("/var/lib/vz", "ROOT");
	cmd_dryrun_assert("qemu-img info --output=json ROOT/images/100/vm-100-disk-0.qcow2\n"
	                  "lxc-start -n 100\n");
	cmd_dryrun_assert("");
	assert_int_equal(cmd_dryrun_count(), 2);
	assert_int_equal(cmd_dryrun_end(), 0);
}

static void test_bounded_output(void **state)
{
	char *big = xmalloc(CMD_MAX_STDOUT + 2);
	struct cmd c;
	struct cmd_result r;

	memset(big, 'x', CMD_MAX_STDOUT + 1);
	big[CMD_MAX_STDOUT + 1] = '\0';
	cmd_dryrun_begin();
	cmd_dryrun_expect(NULL, 0, big, NULL);
	free(big);
	cmd_init(&c, "cat");
	assert_int_equal(cmd_run(&c, &r, NULL), 0);
	assert_int_equal(r.out_len, CMD_MAX_STDOUT);
	assert_true(r.out_truncated);
	cmd_result_clear(&r);
	cmd_release(&c);
	assert_int_equal(cmd_dryrun_end(), 0);
}

#define THREADS 4
#define PER     50

static void *worker(void *arg)
{
	for (int i = 0; i < PER; i++) {
		_cleanup_free_ char *id = xasprintf("%d-%d", (int)(intptr_t)arg, i);
		_cleanup_free_ char *out = NULL;
		if (RUN(&out, NULL, "qm", "status", id) != 0 || !streq(out, "status: stopped\n"))
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];

	/* one recorder for every thread: commands from threads the code under
	 * test starts are answered and recorded too, none lost */
	cmd_dryrun_begin();
	cmd_dryrun_on("qm status", 0, "status: stopped\n", NULL);
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < THREADS; i++) {
		void *res;
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_null(res);
	}
	assert_int_equal(cmd_dryrun_count(), THREADS * PER);
	bool seen[THREADS][PER] = {{false}};
	for (size_t i = 0; i < cmd_dryrun_count(); i++) {
		int a, b;
		assert_int_equal(sscanf(cmd_dryrun_get(i)->line, "qm status %d-%d", &a, &b), 2);
		assert_false(seen[a][b]);
		seen[a][b] = true;
	}
	assert_int_equal(cmd_dryrun_end(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off_runs_for_real), cmocka_unit_test(test_nothing_runs),
	    cmocka_unit_test(test_queue_in_order),    cmocka_unit_test(test_rules_and_precedence),
	    cmocka_unit_test(test_problems),          cmocka_unit_test(test_cannot_start),
	    cmocka_unit_test(test_records),           cmocka_unit_test(test_bounded_output),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
