/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Named task operations: the registry (each type once), the argument
 * check, task_start_op() with workers that run the op in the forked process
 * and workers that execute a program with only the op's arguments.  The
 * worker program is this test binary itself ("--run-task-op TYPE"), so the
 * test needs nothing installed and no root; tests/integration/
 * test_task_exec.py does the same with ctvmd and a storage operation.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "task.h"
#include "xalloc.h"

#define WAIT_MS 20000

/* true in the program a worker executed (this binary, --run-task-op) */
static bool exec_mode;
static char env_text[] = "test-env";

/* ---- the operations (run in a worker) ---- */

static int op_echo(struct task_worker *w, const json_t *args, struct error **err)
{
	const char *text = json_string_value(json_object_get(args, "text"));
	task_log(w, "text=%s env=%s exec=%d", text, (const char *)task_worker_env(w), exec_mode);
	return 0;
}

static int check_echo(const json_t *args, struct error **err)
{
	if (streq(json_string_value(json_object_get(args, "text")), "bad"))
		return error_set(err, -EINVAL, 500, "bad text");
	return 0;
}

static int op_fail(struct task_worker *w, const json_t *args, struct error **err)
{
	task_log(w, "about to fail");
	return error_set(err, -EIO, 500, "it failed: %s",
	                 json_string_value(json_object_get(args, "text")));
}

/* A text argument of the largest size (a guest config): its length. */
static int op_text_len(struct task_worker *w, const json_t *args, struct error **err)
{
	task_log(w, "text of %zu bytes", json_string_length(json_object_get(args, "text")));
	return 0;
}

/* The effect a test can see afterwards: a file saying where it ran. */
static int op_touch(struct task_worker *w, const json_t *args, struct error **err)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *what = exec_mode ? "exec" : "fork";
	task_log(w, "touching %s", path);
	return write_file_atomic(path, what, strlen(what), 0644, err);
}

static int op_wait_stop(struct task_worker *w, const json_t *args, struct error **err)
{
	task_log(w, "waiting for a stop");
	for (int i = 0; i < 3000 && !task_stop_requested(w); i++)
		usleep(10000);
	if (task_stop_requested(w))
		return error_set(err, -EINTR, 500, "received interrupt");
	return 0;
}

static const struct task_op_arg echo_args[] = {
    {.name = "text", .type = TASK_ARG_STRING},
    {.name = "count", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = "flag", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};
static const struct task_op_arg touch_args[] = {{.name = "path", .type = TASK_ARG_STRING},
                                                {.name = NULL}};

static const struct task_op_arg text_args[] = {
    {.name = "text", .type = TASK_ARG_STRING, .max_len = TASK_ARG_TEXT_MAX},
    {.name = "flag", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

static const struct task_op test_ops[] = {
    {.type = "echo", .args = echo_args, .check = check_echo, .run = op_echo},
    {.type = "fail", .args = echo_args, .run = op_fail},
    {.type = "touch", .args = touch_args, .run = op_touch},
    {.type = "waitstop", .run = op_wait_stop},
    {.type = "textlen", .args = text_args, .run = op_text_len},
    {.type = NULL},
};

static struct task_ops *test_registry(void)
{
	struct error *err = NULL;
	struct task_ops *reg = task_ops_new();
	if (task_ops_register(reg, test_ops, env_text, &err) < 0)
		abort();
	return reg;
}

/* ---- helpers ---- */

struct fixture {
	char dir[64];
	struct task_ops *reg;
	struct task_manager *tm;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ctvm-test-ops-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->reg = test_registry();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	task_manager_free(f->tm);
	task_ops_free(f->reg);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *const self_argv[] = {"/proc/self/exe", NULL};

static void manager(struct fixture *f, bool exec, unsigned max_workers)
{
	_cleanup_free_ char *dir = path_join(f->dir, "tasks");
	struct task_manager_config cfg = {
	    .node = "testnode",
	    .dir = dir,
	    .max_workers = max_workers,
	    .ops = f->reg,
	    .worker_argv = exec ? self_argv : NULL,
	};
	struct error *err = NULL;
	f->tm = task_manager_new(&cfg, &err);
	if (!f->tm)
		fail_msg("task_manager_new: %s", err->msg);
}

static char *start_op(struct fixture *f, const char *type, const char *args_text)
{
	json_t *args = json_loads(args_text, 0, NULL);
	assert_non_null(args);
	char *upid = NULL;
	struct error *err = NULL;
	if (task_start_op(f->tm, type, "", "root@pam", args, &upid, &err) < 0)
		fail_msg("task_start_op: %s", err->msg);
	json_decref(args);
	return upid;
}

static char *read_text(const char *path)
{
	char *data = NULL;
	struct error *err = NULL;
	if (read_file(path, 1 << 20, &data, NULL, &err) < 0)
		fail_msg("read_file: %s", err->msg);
	return data;
}

static char *log_of(struct fixture *f, const char *upid)
{
	_cleanup_free_ char *path = NULL;
	struct error *err = NULL;
	if (task_log_file(f->tm, upid, &path, &err) < 0)
		fail_msg("task_log_file: %s", err->msg);
	return read_text(path);
}

static void wait_done(struct fixture *f, const char *upid)
{
	struct error *err = NULL;
	if (task_wait(f->tm, upid, WAIT_MS, &err) < 0)
		fail_msg("task_wait: %s", err->msg);
}

static char *exitstatus(struct fixture *f, const char *upid)
{
	json_t *j = NULL;
	struct error *err = NULL;
	if (task_status(f->tm, upid, &j, &err) < 0)
		fail_msg("task_status: %s", err->msg);
	char *s = xstrdup(json_string_value(json_object_get(j, "exitstatus")));
	json_decref(j);
	return s;
}

/* Runs the task to its end; returns its log. */
static char *run_op(struct fixture *f, const char *type, const char *args_text)
{
	_cleanup_free_ char *upid = start_op(f, type, args_text);
	wait_done(f, upid);
	return log_of(f, upid);
}

static void wait_for_text(const char *path, const char *text)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		char *data = NULL;
		bool found = read_file(path, 1 << 20, &data, NULL, NULL) == 0 && strstr(data, text);
		free(data);
		if (found)
			return;
		usleep(10000);
	}
	fail_msg("'%s' never appeared in %s", text, path);
}

/* ---- the registry ---- */

static void test_register_once(void **state)
{
	struct error *err = NULL;
	struct task_ops *reg = test_registry();
	void *env = NULL;
	assert_ptr_equal(task_ops_find(reg, "echo", &env), &test_ops[0]);
	assert_ptr_equal(env, env_text);
	assert_null(task_ops_find(reg, "nope", NULL));

	/* the same table again, or another one naming a known type */
	assert_int_equal(task_ops_register(reg, test_ops, NULL, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'echo' registered twice");
	err = error_free(err);
	static const struct task_op other[] = {
	    {.type = "fresh", .run = op_echo},
	    {.type = "touch", .run = op_echo},
	    {.type = NULL},
	};
	assert_int_equal(task_ops_register(reg, other, NULL, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'touch' registered twice");
	err = error_free(err);
	/* nothing of a refused table is added */
	assert_null(task_ops_find(reg, "fresh", NULL));
	task_ops_free(reg);

	/* twice within one table */
	reg = task_ops_new();
	static const struct task_op twice[] = {
	    {.type = "a", .run = op_echo},
	    {.type = "a", .run = op_fail},
	    {.type = NULL},
	};
	assert_int_equal(task_ops_register(reg, twice, NULL, &err), -EEXIST);
	assert_string_equal(err->msg, "task type 'a' registered twice");
	err = error_free(err);
	assert_null(task_ops_find(reg, "a", NULL));
	/* a type that cannot be a UPID's, or without a body */
	static const struct task_op bad[] = {{.type = "a:b", .run = op_echo}, {.type = NULL}};
	assert_int_equal(task_ops_register(reg, bad, NULL, &err), -EINVAL);
	err = error_free(err);
	static const struct task_op norun[] = {{.type = "x"}, {.type = NULL}};
	assert_int_equal(task_ops_register(reg, norun, NULL, &err), -EINVAL);
	err = error_free(err);
	/* no argument may be longer than TASK_ARG_TEXT_MAX */
	static const struct task_op_arg huge_args[] = {
	    {.name = "t", .type = TASK_ARG_STRING, .max_len = TASK_ARG_TEXT_MAX + 1},
	    {.name = NULL}};
	static const struct task_op huge[] = {{.type = "h", .args = huge_args, .run = op_echo},
	                                      {.type = NULL}};
	assert_int_equal(task_ops_register(reg, huge, NULL, &err), -EINVAL);
	assert_string_equal(err->msg, "argument 't' of task type 'h' too long");
	err = error_free(err);
	task_ops_free(reg);
}

static void check(const struct task_op *op, const char *args_text, int want, const char *msg)
{
	json_t *args = json_loads(args_text, JSON_DECODE_ANY, NULL);
	assert_non_null(args);
	struct error *err = NULL;
	int r = task_op_check_args(op, args, &err);
	json_decref(args);
	assert_int_equal(r, want);
	if (msg)
		assert_string_equal(err->msg, msg);
	error_free(err);
}

static void test_check_args(void **state)
{
	const struct task_op *echo = &test_ops[0];
	check(echo, "{\"text\":\"hi\"}", 0, NULL);
	check(echo, "{\"text\":\"hi\",\"count\":3,\"flag\":true}", 0, NULL);
	check(echo, "[\"hi\"]", -EINVAL, "invalid arguments of task type 'echo'");
	check(echo, "{}", -EINVAL, "missing argument 'text' of task type 'echo'");
	check(echo, "{\"text\":\"hi\",\"x\":1}", -EINVAL,
	      "unknown argument 'x' of task type 'echo'");
	check(echo, "{\"text\":1}", -EINVAL, "invalid argument 'text' of task type 'echo'");
	check(echo, "{\"text\":\"a\\nb\"}", -EINVAL, "invalid argument 'text' of task type 'echo'");
	check(echo, "{\"text\":\"hi\",\"count\":\"3\"}", -EINVAL,
	      "invalid argument 'count' of task type 'echo'");
	check(echo, "{\"text\":\"hi\",\"flag\":1}", -EINVAL,
	      "invalid argument 'flag' of task type 'echo'");
	/* the op's own check runs after the shape */
	check(echo, "{\"text\":\"bad\"}", -EINVAL, "bad text");
	/* an op without argument keys takes only {} */
	check(&test_ops[3], "{}", 0, NULL);
	check(&test_ops[3], "{\"a\":1}", -EINVAL, "unknown argument 'a' of task type 'waitstop'");

	_cleanup_free_ char *big = xmalloc(TASK_ARG_STRING_MAX + 16);
	memset(big, 'x', TASK_ARG_STRING_MAX + 1);
	big[TASK_ARG_STRING_MAX + 1] = '\0';
	_cleanup_free_ char *j = xasprintf("{\"text\":\"%s\"}", big);
	check(echo, j, -EINVAL, "invalid argument 'text' of task type 'echo'");
	/* a row's max_len: a guest config as text */
	const struct task_op *textlen = &test_ops[4];
	check(textlen, j, 0, NULL);
	_cleanup_free_ char *text = xmalloc(TASK_ARG_TEXT_MAX + 2);
	memset(text, 'x', TASK_ARG_TEXT_MAX + 1);
	text[TASK_ARG_TEXT_MAX] = '\0';
	_cleanup_free_ char *jt = xasprintf("{\"text\":\"%s\"}", text);
	check(textlen, jt, 0, NULL);
	text[TASK_ARG_TEXT_MAX] = 'x';
	text[TASK_ARG_TEXT_MAX + 1] = '\0';
	_cleanup_free_ char *jt1 = xasprintf("{\"text\":\"%s\"}", text);
	check(textlen, jt1, -EINVAL, "invalid argument 'text' of task type 'textlen'");
}

/* ---- task_start_op ---- */

static void test_start_refused(void **state)
{
	struct fixture *f = *state;
	manager(f, false, 0);
	struct error *err = NULL;
	char *upid = NULL;
	json_t *args = json_pack("{s:s}", "text", "hi");
	assert_int_equal(task_start_op(f->tm, "nope", "", "root@pam", args, &upid, &err), -EINVAL);
	assert_int_equal(err->http_status, 500);
	assert_string_equal(err->msg, "unknown task type 'nope'");
	err = error_free(err);
	json_object_set_new(args, "text", json_string("bad"));
	assert_int_equal(task_start_op(f->tm, "echo", "", "root@pam", args, &upid, &err), -EINVAL);
	assert_string_equal(err->msg, "bad text");
	err = error_free(err);
	json_decref(args);
	assert_null(upid);

	/* no process, no log, no entry: nothing was started */
	struct task_filter tf = {.source = "all"};
	json_t *list = NULL;
	unsigned total = 0;
	assert_int_equal(task_list(f->tm, &tf, &list, &total, &err), 0);
	assert_int_equal(total, 0);
	json_decref(list);
}

static void test_fork_op(void **state)
{
	struct fixture *f = *state;
	manager(f, false, 0);
	_cleanup_free_ char *log = run_op(f, "echo", "{\"text\":\"hi\"}");
	assert_string_equal(log, "text=hi env=test-env exec=0\nTASK OK\n");

	_cleanup_free_ char *upid = start_op(f, "fail", "{\"text\":\"x\"}");
	wait_done(f, upid);
	_cleanup_free_ char *flog = log_of(f, upid);
	assert_string_equal(flog, "about to fail\nTASK ERROR: it failed: x\n");
	_cleanup_free_ char *st = exitstatus(f, upid);
	assert_string_equal(st, "it failed: x");
}

/* The worker executes a program (this binary) that gets only the type and
 * the arguments: the op runs there, with the same log and ending. */
static void test_exec_op(void **state)
{
	struct fixture *f = *state;
	manager(f, true, 0);
	_cleanup_free_ char *log = run_op(f, "echo", "{\"text\":\"hi\",\"count\":2}");
	assert_string_equal(log, "text=hi env=test-env exec=1\nTASK OK\n");

	_cleanup_free_ char *path = path_join(f->dir, "touched");
	_cleanup_free_ char *args = xasprintf("{\"path\":\"%s\"}", path);
	_cleanup_free_ char *tlog = run_op(f, "touch", args);
	_cleanup_free_ char *want = xasprintf("touching %s\nTASK OK\n", path);
	assert_string_equal(tlog, want);
	_cleanup_free_ char *where = read_text(path);
	assert_string_equal(where, "exec");

	_cleanup_free_ char *upid = start_op(f, "fail", "{\"text\":\"x\"}");
	wait_done(f, upid);
	_cleanup_free_ char *flog = log_of(f, upid);
	assert_string_equal(flog, "about to fail\nTASK ERROR: it failed: x\n");
	_cleanup_free_ char *st = exitstatus(f, upid);
	assert_string_equal(st, "it failed: x");
}

/* A worker waits for its slot before it executes anything, and a stop
 * reaches the executed program's op. */
/* A child of this process started as a spare ("--task-spare"), other than
 * other; waits up to tries * 10 ms for one; 0 when none came. */
static pid_t find_spare(pid_t other, int tries)
{
	for (; tries > 0; tries--) {
		DIR *d = opendir("/proc");
		assert_non_null(d);
		pid_t found = 0;
		for (struct dirent *de; !found && (de = readdir(d));) {
			pid_t pid = (pid_t)atoi(de->d_name);
			if (pid <= 0 || pid == other)
				continue;
			_cleanup_free_ char *stat_path = xasprintf("/proc/%d/stat", (int)pid);
			_cleanup_free_ char *cmd_path = xasprintf("/proc/%d/cmdline", (int)pid);
			_cleanup_free_ char *st = NULL, *cmd = NULL;
			size_t cmd_len = 0;
			if (read_file(stat_path, 4096, &st, NULL, NULL) < 0 ||
			    read_file(cmd_path, 4096, &cmd, &cmd_len, NULL) < 0)
				continue;
			const char *rp = strrchr(st, ')');
			int ppid = 0;
			char state = 0;
			if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 ||
			    ppid != (int)getpid() || state == 'Z')
				continue;
			for (size_t i = 0; i < cmd_len; i += strlen(cmd + i) + 1)
				if (streq(cmd + i, "--task-spare"))
					found = pid;
		}
		closedir(d);
		if (found)
			return found;
		usleep(10000);
	}
	return 0;
}

/* The exec'd worker of a task is the spare started before it, and the next
 * one is started after; a spare that died is replaced by a forked worker
 * for the task that finds none; the manager's end ends its spare. */
static void test_spare(void **state)
{
	struct fixture *f = *state;
	manager(f, true, 0);
	pid_t spare = 0;
	for (int i = 0; i < 1000 && !(spare = task_manager_spare_pid(f->tm)); i++)
		usleep(10000);
	assert_true(spare > 0);
	assert_int_equal(find_spare(0, 1), spare);
	_cleanup_free_ char *upid = start_op(f, "echo", "{\"text\":\"spare\"}");
	assert_int_equal(strtol(strchr(upid + 5, ':') + 1, NULL, 16), spare);
	wait_done(f, upid);
	_cleanup_free_ char *log = log_of(f, upid);
	assert_string_equal(log, "text=spare env=test-env exec=1\nTASK OK\n");

	/* the next spare, killed before any task takes it */
	pid_t next = 0;
	for (int i = 0; i < 1000 && !(next = task_manager_spare_pid(f->tm)); i++)
		usleep(10000);
	assert_true(next > 0 && next != spare);
	assert_int_equal(find_spare(spare, 1), next);
	assert_int_equal(kill(next, SIGKILL), 0);
	/* the manager saw it die (a spare killed while a task takes it fails
	 * that task, as a worker killed at its start would) */
	for (int i = 0; i < 1000 && task_manager_spare_pid(f->tm) == next; i++)
		usleep(10000);
	assert_int_equal(task_manager_spare_pid(f->tm), 0);
	_cleanup_free_ char *upid2 = start_op(f, "echo", "{\"text\":\"forked\"}");
	wait_done(f, upid2);
	_cleanup_free_ char *log2 = log_of(f, upid2);
	assert_string_equal(log2, "text=forked env=test-env exec=1\nTASK OK\n");
	assert_int_not_equal(strtol(strchr(upid2 + 5, ':') + 1, NULL, 16), next);

	/* retired with the manager: no spare child is left */
	task_manager_free(f->tm);
	f->tm = NULL;
	for (pid_t p = find_spare(0, 1); p; p = 0)
		fail_msg("spare %d outlived its manager", (int)p);
}

/* A spare taken while every slot is busy waits for one like a forked
 * worker: a second spare is started a second after the first was taken,
 * even while its task runs. */
static void test_spare_waits(void **state)
{
	struct fixture *f = *state;
	manager(f, true, 1);
	pid_t first = 0, second = 0;
	for (int i = 0; i < 1000 && !(first = task_manager_spare_pid(f->tm)); i++)
		usleep(10000);
	assert_true(first > 0);
	_cleanup_free_ char *a = start_op(f, "waitstop", "{}");
	_cleanup_free_ char *apath = NULL;
	struct error *err = NULL;
	assert_int_equal(task_log_file(f->tm, a, &apath, &err), 0);
	wait_for_text(apath, "waiting for a stop");
	for (int i = 0; i < 1000 && !(second = task_manager_spare_pid(f->tm)); i++)
		usleep(10000);
	assert_true(second > 0 && second != first);

	_cleanup_free_ char *b = start_op(f, "echo", "{\"text\":\"queued\"}");
	assert_int_equal(strtol(strchr(b + 5, ':') + 1, NULL, 16), second);
	_cleanup_free_ char *bpath = NULL;
	assert_int_equal(task_log_file(f->tm, b, &bpath, &err), 0);
	wait_for_text(bpath, "waiting for a free worker slot");
	assert_int_equal(task_stop(f->tm, a, &err), 0);
	wait_done(f, b);
	_cleanup_free_ char *blog = log_of(f, b);
	assert_string_equal(
	    blog, "waiting for a free worker slot\ntext=queued env=test-env exec=1\nTASK OK\n");
}

static void test_exec_slot_and_stop(void **state)
{
	struct fixture *f = *state;
	manager(f, true, 1);
	_cleanup_free_ char *a = start_op(f, "waitstop", "{}");
	_cleanup_free_ char *apath = NULL;
	struct error *err = NULL;
	assert_int_equal(task_log_file(f->tm, a, &apath, &err), 0);
	wait_for_text(apath, "waiting for a stop");

	_cleanup_free_ char *b = start_op(f, "echo", "{\"text\":\"later\"}");
	_cleanup_free_ char *bpath = NULL;
	assert_int_equal(task_log_file(f->tm, b, &bpath, &err), 0);
	wait_for_text(bpath, "waiting for a free worker slot");

	assert_int_equal(task_stop(f->tm, a, &err), 0);
	wait_done(f, a);
	_cleanup_free_ char *alog = log_of(f, a);
	assert_string_equal(alog, "waiting for a stop\nTASK ERROR: received interrupt\n");
	wait_done(f, b);
	_cleanup_free_ char *blog = log_of(f, b);
	assert_string_equal(
	    blog, "waiting for a free worker slot\ntext=later env=test-env exec=1\nTASK OK\n");
}

/* ---- the worker program on its own ---- */

/* Runs this binary as "--run-task-op type" with stdin and the log as given;
 * returns its exit status and the log.  stopped: a SIGTERM is pending (and
 * blocked) across the exec, as when a stop arrives while the forked worker
 * executes the program. */
static int exec_worker_stopped(struct fixture *f, const char *type, const char *input, bool stopped,
                               char **ret_log)
{
	_cleanup_free_ char *in = path_join(f->dir, "args.json");
	_cleanup_free_ char *logp = path_join(f->dir, "worker.log");
	assert_int_equal(write_file_atomic(in, input, strlen(input), 0600, NULL), 0);
	unlink(logp);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int i = open(in, O_RDONLY);
		int o = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0640);
		if (i < 0 || o < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(127);
		if (stopped) {
			sigset_t term;
			sigemptyset(&term);
			sigaddset(&term, SIGTERM);
			sigprocmask(SIG_BLOCK, &term, NULL);
			raise(SIGTERM);
		}
		execl("/proc/self/exe", "test-task-ops", "--run-task-op", type, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	*ret_log = read_text(logp);
	return WEXITSTATUS(status);
}

static int exec_worker(struct fixture *f, const char *type, const char *input, char **ret_log)
{
	return exec_worker_stopped(f, type, input, false, ret_log);
}

static void test_worker_program(void **state)
{
	struct fixture *f = *state;
	char *log = NULL;
	assert_int_equal(exec_worker(f, "echo", "{\"text\":\"direct\"}", &log), 0);
	assert_string_equal(log, "text=direct env=test-env exec=1\nTASK OK\n");
	free(log);
	assert_int_equal(exec_worker(f, "nope", "{}", &log), 1);
	assert_string_equal(log, "TASK ERROR: unknown task type 'nope'\n");
	free(log);
	assert_int_equal(exec_worker(f, "echo", "{\"text\":", &log), 1);
	assert_true(str_startswith(log, "TASK ERROR: invalid task arguments - "));
	free(log);
	/* the program checks the arguments again, as a helper must */
	assert_int_equal(exec_worker(f, "echo", "{\"text\":\"bad\"}", &log), 1);
	assert_string_equal(log, "TASK ERROR: bad text\n");
	free(log);
	assert_int_equal(exec_worker(f, "echo", "{\"text\":\"x\",\"evil\":1}", &log), 1);
	assert_string_equal(log, "TASK ERROR: unknown argument 'evil' of task type 'echo'\n");
	free(log);
	_cleanup_free_ char *big = xmalloc(TASK_ARGS_MAX + 64);
	memset(big, ' ', TASK_ARGS_MAX + 63);
	big[0] = '{';
	big[TASK_ARGS_MAX + 62] = '}';
	big[TASK_ARGS_MAX + 63] = '\0';
	assert_int_equal(exec_worker(f, "waitstop", big, &log), 1);
	assert_string_equal(log, "TASK ERROR: unable to read the task's arguments\n");
	free(log);
	/* the largest text argument, every byte escaped, and the rest fit */
	json_t *a = json_object();
	_cleanup_free_ char *quotes = xmalloc(TASK_ARG_TEXT_MAX + 1);
	memset(quotes, '"', TASK_ARG_TEXT_MAX);
	quotes[TASK_ARG_TEXT_MAX] = '\0';
	json_object_set_new(a, "text", json_string(quotes));
	json_object_set_new(a, "flag", json_true());
	_cleanup_free_ char *in = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	assert_true(strlen(in) > 2 * TASK_ARG_TEXT_MAX);
	assert_int_equal(exec_worker(f, "textlen", in, &log), 0);
	_cleanup_free_ char *want = xasprintf("text of %u bytes\nTASK OK\n", TASK_ARG_TEXT_MAX);
	assert_string_equal(log, want);
	free(log);
	/* a stop that came before the program could handle it is not lost
	 * (and does not kill it by default): the op never starts */
	assert_int_equal(exec_worker_stopped(f, "echo", "{\"text\":\"x\"}", true, &log), 1);
	assert_string_equal(log, "TASK ERROR: received interrupt\n");
	free(log);
}

int main(int argc, char **argv)
{
	/* the worker program of the exec tests: this binary, with only the
	 * operation's type on the command line */
	for (int i = 1; i + 1 < argc; i++)
		if (streq(argv[i], "--run-task-op")) {
			uint64_t max = 0;
			if (i + 3 < argc && streq(argv[i + 2], "--max-log-bytes"))
				max = strtoull(argv[i + 3], NULL, 10);
			exec_mode = true;
			task_op_worker_main(test_registry(), argv[i + 1], max);
		}
	/* a spare the exec tests' manager starts ahead (task.h) */
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--task-spare")) {
			uint64_t max = 0;
			if (i + 2 < argc && streq(argv[i + 1], "--max-log-bytes"))
				max = strtoull(argv[i + 2], NULL, 10);
			exec_mode = true;
			task_spare_worker_main(test_registry(), max);
		}

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_once),
	    cmocka_unit_test(test_check_args),
	    cmocka_unit_test_setup_teardown(test_start_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_op, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_op, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exec_slot_and_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spare_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_program, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
