/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Workers for real: each test forks tasks into a temporary task directory.
 * Needs no root.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

#define WAIT_MS 20000

/* The allocators of ASan in gcc 12 and clang 14 are not fork-safe: a child
 * forked while another thread allocates can hang in malloc (glibc's malloc,
 * which ctvm runs on, is).  Tests that fork from many threads at once are
 * skipped there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

struct fixture {
	char dir[64];
	struct task_manager *tm;
};

/* ---- task bodies (run in the worker process) ---- */

static int fn_ok(struct task_worker *w, long ms, struct error **err)
{
	task_log(w, "hello");
	task_log(w, "world\n");
	return 0;
}

static int fn_fail(struct task_worker *w, long ms, struct error **err)
{
	task_log(w, "about to fail");
	return error_set(err, -EIO, 500, "boom: disk on fire");
}

static int fn_warn(struct task_worker *w, long ms, struct error **err)
{
	task_warn(w, "careful");
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* sleeps ms milliseconds (not interrupted by a stop) */
static int fn_timed(struct task_worker *w, long ms, struct error **err)
{
	task_log(w, "begin %lld", now_ns());
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	task_log(w, "end %lld", now_ns());
	return 0;
}

static int fn_until_stop(struct task_worker *w, long ms, struct error **err)
{
	task_log(w, "sleeping");
	for (int i = 0; i < 3000 && !task_stop_requested(w); i++)
		usleep(10000);
	if (task_stop_requested(w))
		return error_set(err, -EINTR, 500, "received interrupt");
	return 0;
}

static int fn_ignore_stop(struct task_worker *w, long ms, struct error **err)
{
	signal(SIGTERM, SIG_IGN);
	task_log(w, "ignoring stops");
	for (int i = 0; i < 3000; i++)
		usleep(10000);
	return 0;
}

static int fn_crash(struct task_worker *w, long ms, struct error **err)
{
	task_log(w, "going down");
	kill(getpid(), SIGKILL);
	pause();
	return 0;
}

static int fn_spam(struct task_worker *w, long ms, struct error **err)
{
	for (int i = 0; i < 1000; i++)
		task_log(w, "line %d with some padding to fill the log", i);
	return 0;
}

/*
 * The manager runs named operations only.  These tests need many bodies
 * under few UPID types (two "qmstart" tasks, one OK and one with warnings),
 * so every type they use is one operation whose "body" argument names what
 * it does; "ms" is how long "timed" sleeps.
 */
typedef int body_fn(struct task_worker *w, long ms, struct error **err);

static const struct {
	const char *name;
	body_fn *fn;
} bodies[] = {
    {"ok", fn_ok},
    {"fail", fn_fail},
    {"warn", fn_warn},
    {"timed", fn_timed},
    {"until-stop", fn_until_stop},
    {"ignore-stop", fn_ignore_stop},
    {"crash", fn_crash},
    {"spam", fn_spam},
};

static int op_body(struct task_worker *w, const json_t *args, struct error **err)
{
	const char *name = json_string_value(json_object_get(args, "body"));
	long ms = (long)json_integer_value(json_object_get(args, "ms"));
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
		if (streq(bodies[i].name, name))
			return bodies[i].fn(w, ms, err);
	return error_set(err, -EINVAL, 500, "no body '%s'", name);
}

static const struct task_op_arg body_args[] = {
    {.name = "body", .type = TASK_ARG_STRING},
    {.name = "ms", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = NULL},
};

#define BODY_OP(t)                                           \
	{                                                    \
		.type = t, .args = body_args, .run = op_body \
	}
static const struct task_op test_ops[] = {
    BODY_OP("qmstart"), BODY_OP("qmstop"), BODY_OP("imgcopy"), BODY_OP("vzdump"),
    BODY_OP("qmclone"), BODY_OP("test"),   BODY_OP("new"),     BODY_OP("par"),
    BODY_OP("a"),       {.type = NULL},
};

/* built once in main(): every manager of every test borrows it */
static struct task_ops *test_registry;

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static struct task_manager *manager_new(const char *dir, unsigned max_workers, unsigned max_log)
{
	struct task_manager_config cfg = {
	    .node = "testnode",
	    .dir = dir,
	    .max_workers = max_workers,
	    .max_log_bytes = max_log,
	    .ops = test_registry,
	};
	struct error *err = NULL;
	struct task_manager *tm = task_manager_new(&cfg, &err);
	if (!tm)
		fail_msg("task_manager_new: %s", err->msg);
	return tm;
}

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctvm-test-task-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	task_manager_free(f->tm);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static json_t *body(const char *name, long ms)
{
	return ms ? json_pack("{s:s, s:I}", "body", name, "ms", (json_int_t)ms)
	          : json_pack("{s:s}", "body", name);
}

/* Starts operation type running the body named name. */
static char *start(struct task_manager *tm, const char *type, const char *id, const char *user,
                   const char *name, long ms)
{
	char *upid = NULL;
	struct error *err = NULL;
	json_t *args = body(name, ms);
	if (task_start_op(tm, type, id, user, args, &upid, &err) < 0)
		fail_msg("task_start_op: %s", err->msg);
	json_decref(args);
	assert_non_null(upid);
	return upid;
}

static void wait_done(struct task_manager *tm, const char *upid)
{
	struct error *err = NULL;
	if (task_wait(tm, upid, WAIT_MS, &err) < 0)
		fail_msg("task_wait: %s", err->msg);
}

static json_t *status(struct task_manager *tm, const char *upid)
{
	json_t *j = NULL;
	struct error *err = NULL;
	if (task_status(tm, upid, &j, &err) < 0)
		fail_msg("task_status: %s", err->msg);
	return j;
}

static void assert_stopped(struct task_manager *tm, const char *upid, const char *exitstatus)
{
	json_t *j = status(tm, upid);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "stopped");
	assert_string_equal(json_string_value(json_object_get(j, "exitstatus")), exitstatus);
	json_decref(j);
}

static const char *status_of(json_t *j)
{
	return json_string_value(json_object_get(j, "status"));
}

/* the whole log through task_read_log, lines joined with '\n' */
static char *log_text(struct task_manager *tm, const char *upid)
{
	json_t *lines = NULL;
	unsigned total = 0;
	struct error *err = NULL;
	if (task_read_log(tm, upid, 0, 100000, &lines, &total, &err) < 0)
		fail_msg("task_read_log: %s", err->msg);
	assert_int_equal(json_array_size(lines), total);
	size_t i;
	json_t *l;
	char *s = xstrdup("");
	json_array_foreach (lines, i, l) {
		assert_int_equal(json_integer_value(json_object_get(l, "n")), (json_int_t)i + 1);
		char *n = xasprintf("%s%s\n", s, json_string_value(json_object_get(l, "t")));
		free(s);
		s = n;
	}
	json_decref(lines);
	return s;
}

static json_t *list(struct task_manager *tm, const struct task_filter *flt, unsigned *total)
{
	json_t *j = NULL;
	struct error *err = NULL;
	if (task_list(tm, flt, &j, total, &err) < 0)
		fail_msg("task_list: %s", err->msg);
	return j;
}

/* ---- tests ---- */

static void test_ok(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	char *upid = start(f->tm, "qmstart", "100", "root@pam", "ok", 0);
	wait_done(f->tm, upid);

	json_t *j = status(f->tm, upid);
	struct upid u;
	assert_int_equal(upid_parse(upid, &u), 0);
	assert_string_equal(json_string_value(json_object_get(j, "upid")), upid);
	assert_string_equal(json_string_value(json_object_get(j, "node")), "testnode");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), u.pid);
	assert_int_equal(json_integer_value(json_object_get(j, "pstart")), u.pstart);
	assert_int_equal(json_integer_value(json_object_get(j, "starttime")), u.starttime);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "qmstart");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "100");
	assert_string_equal(json_string_value(json_object_get(j, "user")), "root@pam");
	assert_null(json_object_get(j, "tokenid"));
	assert_string_equal(status_of(j), "stopped");
	assert_string_equal(json_string_value(json_object_get(j, "exitstatus")), "OK");
	json_decref(j);

	/* the log file is where Proxmox keeps it */
	char *path = xasprintf("%s/%X/%s", f->dir, (unsigned)(u.starttime & 0xf), upid);
	assert_int_equal(access(path, F_OK), 0);
	free(path);
	upid_clear(&u);

	char *text = log_text(f->tm, upid);
	assert_string_equal(text, "hello\nworld\nTASK OK\n");
	free(text);

	json_t *lines;
	unsigned total;
	struct error *err = NULL;
	assert_int_equal(task_read_log(f->tm, upid, 1, 1, &lines, &total, &err), 0);
	assert_int_equal(total, 3);
	assert_int_equal(json_array_size(lines), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, 0), "n")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 0), "t")),
	                    "world");
	json_decref(lines);

	/* beyond the end: nothing, total still counted */
	assert_int_equal(task_read_log(f->tm, upid, 10, 0, &lines, &total, &err), 0);
	assert_int_equal(total, 3);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);

	char *lp = NULL;
	assert_int_equal(task_log_file(f->tm, upid, &lp, &err), 0);
	free(lp);
	free(upid);
}

static void test_fail_and_warn(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	char *a = start(f->tm, "qmstop", "101", "root@pam", "fail", 0);
	char *b = start(f->tm, "qmstart", "", "root@pam", "warn", 0);
	wait_done(f->tm, a);
	wait_done(f->tm, b);
	assert_stopped(f->tm, a, "boom: disk on fire");
	assert_stopped(f->tm, b, "WARNINGS: 1");

	char *text = log_text(f->tm, a);
	assert_string_equal(text, "about to fail\nTASK ERROR: boom: disk on fire\n");
	free(text);
	text = log_text(f->tm, b);
	assert_string_equal(text, "WARN: careful\nTASK WARNINGS: 1\n");
	free(text);
	free(a);
	free(b);
}

static void test_concurrency(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 1, 0);
	char *upid[3];
	for (int i = 0; i < 3; i++)
		upid[i] = start(f->tm, "imgcopy", "", "root@pam", "timed", 300);

	/* all exist and are running at once, two of them waiting */
	for (int i = 0; i < 3; i++) {
		json_t *j = status(f->tm, upid[i]);
		assert_string_equal(status_of(j), "running");
		json_decref(j);
	}
	for (int i = 0; i < 3; i++)
		wait_done(f->tm, upid[i]);

	long long begin[3], end[3];
	for (int i = 0; i < 3; i++) {
		assert_stopped(f->tm, upid[i], "OK");
		char *text = log_text(f->tm, upid[i]);
		const char *b = strstr(text, "begin ");
		const char *e = strstr(text, "end ");
		assert_non_null(b);
		assert_non_null(e);
		begin[i] = atoll(b + 6);
		end[i] = atoll(e + 4);
		if (i > 0)
			assert_non_null(strstr(text, "waiting for a free worker slot\n"));
		else
			assert_null(strstr(text, "waiting"));
		free(text);
	}
	/* one after another, in the order they were started */
	assert_true(begin[1] >= end[0]);
	assert_true(begin[2] >= end[1]);
	for (int i = 0; i < 3; i++)
		free(upid[i]);
}

static void test_stop(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	struct error *err = NULL;
	char *upid = start(f->tm, "vzdump", "100", "root@pam", "until-stop", 0);

	assert_int_equal(task_wait(f->tm, upid, 100, &err), -ETIMEDOUT);
	error_free(err);
	err = NULL;

	assert_int_equal(task_stop(f->tm, upid, &err), 0);
	assert_int_equal(task_stop(f->tm, upid, &err), 0);
	wait_done(f->tm, upid);
	assert_stopped(f->tm, upid, "received interrupt");
	/* stopping a stopped task is a no-op */
	assert_int_equal(task_stop(f->tm, upid, &err), 0);
	free(upid);
}

static void test_stop_kill_and_crash(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	struct error *err = NULL;
	char *a = start(f->tm, "vzdump", "100", "root@pam", "ignore-stop", 0);
	char *b = start(f->tm, "vzdump", "101", "root@pam", "crash", 0);
	usleep(200000); /* let a install its SIG_IGN */
	assert_int_equal(task_stop(f->tm, a, &err), 0);

	wait_done(f->tm, b);
	assert_stopped(f->tm, b, "unexpected status");
	char *text = log_text(f->tm, b);
	assert_string_equal(text, "going down\nworker killed by signal SIGKILL\n"
	                          "TASK ERROR: unexpected status\n");
	free(text);

	/* SIGKILL follows after 5 s */
	json_t *j = status(f->tm, a);
	assert_string_equal(status_of(j), "running");
	json_decref(j);
	wait_done(f->tm, a);
	assert_stopped(f->tm, a, "unexpected status");
	text = log_text(f->tm, a);
	assert_non_null(strstr(text, "worker killed by signal SIGKILL\n"
	                             "TASK ERROR: unexpected status\n"));
	free(text);
	free(a);
	free(b);
}

static void test_log_bound(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 200);
	char *upid = start(f->tm, "test", "", "root@pam", "spam", 0);
	wait_done(f->tm, upid);
	assert_stopped(f->tm, upid, "OK");
	char *text = log_text(f->tm, upid);
	assert_non_null(strstr(text, "... log truncated\nTASK OK\n"));
	assert_true(strlen(text) < 300);
	free(text);
	free(upid);
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	char *a = start(f->tm, "qmstart", "100", "root@pam", "ok", 0);
	wait_done(f->tm, a);
	char *b = start(f->tm, "qmstop", "101", "ci@pve!deploy", "fail", 0);
	wait_done(f->tm, b);
	char *c = start(f->tm, "qmstart", "101", "ci@pve", "warn", 0);
	wait_done(f->tm, c);

	unsigned total = 0;
	json_t *l = list(f->tm, NULL, &total);
	assert_int_equal(total, 3);
	assert_int_equal(json_array_size(l), 3);
	/* newest first */
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "upid")), c);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 2), "upid")), a);
	json_t *eb = json_array_get(l, 1);
	assert_string_equal(json_string_value(json_object_get(eb, "user")), "ci@pve");
	assert_string_equal(json_string_value(json_object_get(eb, "tokenid")), "deploy");
	assert_string_equal(json_string_value(json_object_get(eb, "status")), "boom: disk on fire");
	assert_true(json_is_integer(json_object_get(eb, "endtime")));
	assert_true(json_is_integer(json_object_get(eb, "pid")));
	json_decref(l);

	struct {
		struct task_filter flt;
		unsigned total, n;
	} cases[] = {
	    {{.typefilter = "qmstart"}, 2, 2},
	    {{.vmid = "101"}, 2, 2},
	    {{.errors = true}, 2, 2},
	    {{.statusfilter = "warning"}, 1, 1},
	    {{.statusfilter = "ok,error"}, 2, 2},
	    {{.statusfilter = "unknown"}, 0, 0},
	    {{.userfilter = "CI@"}, 2, 2},
	    {{.only_user = "ci@pve"}, 2, 2},
	    {{.only_user = "ci@pve!deploy"}, 1, 1},
	    {{.only_user = "root@pam"}, 1, 1},
	    {{.only_user = "ci@pv"}, 0, 0},
	    {{.limit = 1}, 3, 1},
	    {{.start = 1, .limit = 1}, 3, 1},
	    {{.start = 5}, 3, 0},
	    {{.since = time(NULL) + 3600}, 0, 0},
	    {{.until = 1}, 0, 0},
	    {{.source = "active"}, 0, 0},
	    {{.source = "all"}, 3, 3},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		l = list(f->tm, &cases[i].flt, &total);
		if (total != cases[i].total || json_array_size(l) != cases[i].n)
			fail_msg("case %zu: total %u size %zu", i, total, json_array_size(l));
		if (i == 12)
			assert_string_equal(
			    json_string_value(json_object_get(json_array_get(l, 0), "upid")), b);
		json_decref(l);
	}

	/* a running task: only in active/all, without endtime/status */
	char *d = start(f->tm, "vzdump", "102", "root@pam", "until-stop", 0);
	l = list(f->tm, &(struct task_filter){.source = "active"}, &total);
	assert_int_equal(total, 1);
	json_t *ed = json_array_get(l, 0);
	assert_string_equal(json_string_value(json_object_get(ed, "upid")), d);
	assert_null(json_object_get(ed, "status"));
	assert_null(json_object_get(ed, "endtime"));
	json_decref(l);
	l = list(f->tm, &(struct task_filter){.source = "all"}, &total);
	assert_int_equal(total, 4);
	json_decref(l);
	l = list(f->tm, &(struct task_filter){.source = "all", .statusfilter = "ok"}, &total);
	assert_int_equal(total, 1);
	json_decref(l);

	struct error *err = NULL;
	assert_int_equal(
	    task_list(f->tm, &(struct task_filter){.source = "bogus"}, &l, &total, &err), -EINVAL);
	assert_int_equal(err->http_status, 400);
	error_free(err);
	err = NULL;

	assert_int_equal(task_stop(f->tm, d, &err), 0);
	wait_done(f->tm, d);
	free(a);
	free(b);
	free(c);
	free(d);
}

static bool file_contains(const char *path, const char *needle)
{
	char *data = NULL;
	if (read_file(path, 1 << 20, &data, NULL, NULL) < 0)
		return false;
	bool r = strstr(data, needle) != NULL;
	free(data);
	return r;
}

static void test_recovery(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 1, 0);
	char *a = start(f->tm, "qmclone", "100", "root@pam", "timed", 1500);
	char *b = start(f->tm, "qmclone", "101", "root@pam", "ok", 0);
	/* a daemon restart: the manager goes, the workers stay */
	f->tm = task_manager_free(f->tm);
	char *active = path_join(f->dir, "active");
	assert_true(file_contains(active, a));
	assert_true(file_contains(active, b));

	f->tm = manager_new(f->dir, 1, 0);
	json_t *j = status(f->tm, a);
	assert_string_equal(status_of(j), "running");
	json_decref(j);
	unsigned total;
	json_t *l = list(f->tm, &(struct task_filter){.source = "all"}, &total);
	assert_true(total >= 1);
	json_decref(l);

	wait_done(f->tm, a);
	wait_done(f->tm, b);
	assert_stopped(f->tm, a, "OK");
	/* b waited for a slot of the old manager: it can never start */
	assert_stopped(f->tm, b, "daemon exited before the task could start");
	char *text = log_text(f->tm, b);
	assert_string_equal(text, "waiting for a free worker slot\n"
	                          "TASK ERROR: daemon exited before the task could start\n");
	free(text);

	assert_false(file_contains(active, a));
	assert_false(file_contains(active, b));
	l = list(f->tm, NULL, &total);
	assert_int_equal(total, 2);
	json_decref(l);

	/* and a third manager finds nothing left to do */
	f->tm = task_manager_free(f->tm);
	f->tm = manager_new(f->dir, 1, 0);
	l = list(f->tm, &(struct task_filter){.source = "all"}, &total);
	assert_int_equal(total, 2);
	json_decref(l);
	free(active);
	free(a);
	free(b);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static char *fake_upid(const char *dir, pid_t pid, uint64_t pstart, const char *type,
                       const char *log)
{
	struct upid u = {.node = "testnode",
	                 .pid = pid,
	                 .pstart = pstart,
	                 .starttime = time(NULL),
	                 .type = (char *)type,
	                 .id = "100",
	                 .user = "root@pam"};
	char *upid = upid_format(&u);
	if (log) {
		char *sub = xasprintf("%s/%X", dir, (unsigned)(u.starttime & 0xf));
		mkdir_p(sub, 0755);
		char *path = task_log_path(dir, upid, u.starttime);
		write_str(path, log);
		free(path);
		free(sub);
	}
	return upid;
}

static void test_gone(void **state)
{
	struct fixture *f = *state;
	uint64_t mystart;
	assert_int_equal(proc_pid_starttime(getpid(), &mystart), 0);
	char *a = fake_upid(f->dir, dead_pid(), 0x1234, "qmstart", "some work\npartial");
	char *b = fake_upid(f->dir, dead_pid(), 0x1234, "qmstop", NULL);
	char *c = fake_upid(f->dir, dead_pid(), 0x1234, "qmreset", "done\nTASK OK\n");
	/* a live pid that is another process now (start time differs) */
	char *d = fake_upid(f->dir, getpid(), mystart + 1, "qmsuspend", "x\n");
	char *active = path_join(f->dir, "active");
	char *text = xasprintf("%s\nnonsense\n%s\n%s\n%s 1 2\n", a, b, c, d);
	write_str(active, text);
	free(text);

	f->tm = manager_new(f->dir, 0, 0);
	assert_stopped(f->tm, a, "unexpected status");
	assert_stopped(f->tm, b, "unexpected status");
	assert_stopped(f->tm, c, "OK");
	assert_stopped(f->tm, d, "unexpected status");
	text = log_text(f->tm, a);
	assert_string_equal(text, "some work\npartial\nworker ended without a final status\n"
	                          "TASK ERROR: unexpected status\n");
	free(text);

	unsigned total;
	json_t *l = list(f->tm, &(struct task_filter){.source = "all"}, &total);
	assert_int_equal(total, 4);
	json_decref(l);
	char *data = NULL;
	assert_int_equal(read_file(active, 1 << 20, &data, NULL, NULL), 0);
	assert_string_equal(data, "");
	free(data);
	free(active);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	f->tm = manager_new(f->dir, 0, 0);
	struct error *err = NULL;
	json_t *j = NULL;
	unsigned total;

	assert_int_equal(task_status(f->tm, "UPID:bad", &j, &err), -EINVAL);
	assert_int_equal(err->http_status, 400);
	assert_string_equal(json_string_value(json_object_get(err->params, "upid")),
	                    "unable to parse worker upid");
	err = error_free(err);

	const char *unknown = "UPID:testnode:00000001:00000001:00000001:x::root@pam:";
	assert_int_equal(task_status(f->tm, unknown, &j, &err), -ENOENT);
	assert_int_equal(err->http_status, 400);
	assert_string_equal(err->msg, "no such task");
	err = error_free(err);
	assert_int_equal(task_read_log(f->tm, unknown, 0, 0, &j, &total, &err), -ENOENT);
	assert_string_equal(err->msg, "no such task");
	err = error_free(err);
	assert_int_equal(task_stop(f->tm, unknown, &err), -ENOENT);
	err = error_free(err);
	assert_int_equal(task_wait(f->tm, unknown, 10, &err), -ENOENT);
	err = error_free(err);
	assert_int_equal(task_read_log(f->tm, "nope", 0, 0, &j, &total, &err), -EINVAL);
	err = error_free(err);

	/* empty log: one placeholder line */
	char *empty = fake_upid(f->dir, 1, 1, "x", "");
	assert_int_equal(task_read_log(f->tm, empty, 0, 0, &j, &total, &err), 0);
	assert_int_equal(total, 1);
	char *dump = json_dumps(j, JSON_COMPACT);
	assert_string_equal(dump, "[{\"n\":1,\"t\":\"no content\"}]");
	free(dump);
	json_decref(j);
	free(empty);

	/* bad start parameters: a type that cannot be registered, a bad id or user */
	char *upid = NULL;
	json_t *args = body("ok", 0);
	assert_int_equal(task_start_op(f->tm, "a:b", "", "root@pam", args, &upid, &err), -EINVAL);
	assert_string_equal(err->msg, "unknown task type 'a:b'");
	err = error_free(err);
	assert_int_equal(task_start_op(f->tm, "a", "1 2", "root@pam", args, &upid, &err), -EINVAL);
	assert_string_equal(err->msg, "invalid task id '1 2'");
	err = error_free(err);
	assert_int_equal(task_start_op(f->tm, "a", "", "", args, &upid, &err), -EINVAL);
	assert_string_equal(err->msg, "invalid task user ''");
	err = error_free(err);
	json_decref(args);
	assert_null(upid);

	struct task_manager_config cfg = {.node = "bad_node", .dir = f->dir};
	assert_null(task_manager_new(&cfg, &err));
	err = error_free(err);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	char *index = path_join(f->dir, "index");
	FILE *fp = fopen(index, "w");
	assert_non_null(fp);
	for (int i = 0; i < TASK_INDEX_MAX_LINES; i++)
		fprintf(fp, "UPID:testnode:%08X:00000001:%08X:old::root@pam: %08X OK\n", i + 10,
		        1000 + i, 2000 + i);
	fclose(fp);

	f->tm = manager_new(f->dir, 0, 0);
	char *upid = start(f->tm, "new", "", "root@pam", "ok", 0);
	wait_done(f->tm, upid);
	char *index1 = path_join(f->dir, "index.1");
	assert_int_equal(access(index1, F_OK), 0);

	unsigned total;
	json_t *l = list(f->tm, &(struct task_filter){.limit = 2}, &total);
	assert_int_equal(total, TASK_INDEX_MAX_LINES + 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "upid")), upid);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "starttime")),
	                 1000 + TASK_INDEX_MAX_LINES - 1);
	json_decref(l);

	/* the next task starts a new index */
	char *upid2 = start(f->tm, "new", "", "root@pam", "ok", 0);
	wait_done(f->tm, upid2);
	l = list(f->tm, &(struct task_filter){.limit = 1}, &total);
	assert_int_equal(total, TASK_INDEX_MAX_LINES + 2);
	json_decref(l);
	free(index);
	free(index1);
	free(upid);
	free(upid2);
}

static void *thread_fail(const char *what, struct error *err)
{
	fprintf(stderr, "thread: %s: %s\n", what, err ? err->msg : "?");
	error_free(err);
	return (void *)1;
}

static void *thread_body(void *arg)
{
	struct task_manager *tm = arg;
	for (int i = 0; i < 3; i++) {
		char *upid = NULL;
		struct error *err = NULL;
		json_t *args = body(i == 1 ? "fail" : "ok", 0);
		int r = task_start_op(tm, "par", "", "root@pam", args, &upid, &err);
		json_decref(args);
		if (r < 0)
			return thread_fail("start", err);
		json_t *j = NULL;
		if (task_status(tm, upid, &j, &err) < 0)
			return thread_fail("status", err);
		json_decref(j);
		if (task_wait(tm, upid, WAIT_MS, &err) < 0)
			return thread_fail("wait", err);
		if (task_status(tm, upid, &j, &err) < 0)
			return thread_fail("status", err);
		const char *want = i == 1 ? "boom: disk on fire" : "OK";
		const char *got = json_string_value(json_object_get(j, "exitstatus"));
		if (!got || !streq(got, want)) {
			fprintf(stderr, "thread: %s: exitstatus '%s'\n", upid,
			        got ? got : "(null)");
			json_decref(j);
			free(upid);
			return (void *)1;
		}
		json_decref(j);
		free(upid);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
#ifdef UNDER_ASAN
	skip();
#endif
	f->tm = manager_new(f->dir, 2, 0);
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, f->tm), 0);
	/* join all before asserting: the teardown frees the manager */
	int failed = 0;
	for (int i = 0; i < 6; i++) {
		void *r;
		pthread_join(t[i], &r);
		failed += r != NULL;
	}
	assert_int_equal(failed, 0);
	unsigned total;
	json_t *l = list(f->tm, &(struct task_filter){.limit = 100}, &total);
	assert_int_equal(total, 18);
	json_decref(l);
	l = list(f->tm, &(struct task_filter){.errors = true}, &total);
	assert_int_equal(total, 6);
	json_decref(l);
}

int main(void)
{
	struct error *err = NULL;
	test_registry = task_ops_new();
	if (task_ops_register(test_registry, test_ops, NULL, &err) < 0)
		abort();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_and_warn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_kill_and_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	task_ops_free(test_registry);
	return r;
}
