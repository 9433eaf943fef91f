/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The reaper of a child subreaper: an adopted orphan (a daemonized
 * process whose parent exited) is reaped after one tick; a child whose
 * owner waits for it is left to the owner. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fileio.h"
#include "reaper.h"

static char state_of(pid_t pid)
{
	char path[64], buf[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

static void wait_zombie(pid_t pid)
{
	for (int i = 0; i < 500 && state_of(pid) != 'Z'; i++)
		usleep(10000);
	assert_int_equal(state_of(pid), 'Z');
}

/* Forks a child that forks a grandchild and exits (a daemonizing
 * program); returns the grandchild, which is adopted by us. */
static pid_t make_orphan(void)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			close(p[0]);
			close(p[1]);
			usleep(50000);
			_exit(0);
		}
		(void)!write(p[1], &g, sizeof(g));
		_exit(0);
	}
	close(p[1]);
	pid_t g = 0;
	assert_int_equal(read(p[0], &g, sizeof(g)), sizeof(g));
	close(p[0]);
	assert_int_equal(waitpid(c, NULL, 0), c); /* the owner of c */
	return g;
}

static void test_orphan_reaped(void **state)
{
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pid_t g = make_orphan();
	wait_zombie(g);
	/* first sighting: maybe an owner is about to wait */
	assert_int_equal(reaper_tick(), 0);
	assert_int_equal(state_of(g), 'Z');
	assert_int_equal(reaper_tick(), 1);
	assert_int_equal(state_of(g), 0);
	assert_int_equal(reaper_tick(), 0);
}

static void test_owned_child_left_to_owner(void **state)
{
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0)
		_exit(7);
	wait_zombie(c);
	assert_int_equal(reaper_tick(), 0);
	int status = 0;
	assert_int_equal(waitpid(c, &status, 0), c);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	assert_int_equal(reaper_tick(), 0);
}

/* The thread does it on its own within a few ticks. */
static void test_thread(void **state)
{
	assert_int_equal(reaper_start(), 0);
	pid_t g = make_orphan();
	for (int i = 0; i < 200 && state_of(g) != 0; i++)
		usleep(10000);
	assert_int_equal(state_of(g), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_orphan_reaped),
	    cmocka_unit_test(test_owned_child_left_to_owner),
	    cmocka_unit_test(test_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
