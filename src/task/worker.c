/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The worker process: everything here runs in the child that task_start()
 * forked from a multithreaded daemon.  It must not take a lock another
 * thread of the parent may have held at fork time (the manager's mutex, the
 * daemon logger's setup, stdio streams); glibc's malloc is safe after fork.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>

#include "error.h"
#include "fileio.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

struct task_worker {
	int log_fd;
	uint64_t written;
	uint64_t max_bytes;
	bool truncated;
	unsigned warnings;
};

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	stop_flag = 1;
}

/* One record per call: the text (newlines flattened) plus '\n' in a single
 * write(), so lines of a worker and of the commands it runs never mix.
 * A final line is never dropped; other lines stop at max_bytes. */
static void worker_write(struct task_worker *w, char *text, bool final)
{
	size_t len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';
	if (!final) {
		if (w->truncated)
			return;
		if (w->written + len + 1 > w->max_bytes) {
			static const char note[] = "... log truncated\n";
			w->truncated = true;
			(void)write_full(w->log_fd, note, sizeof(note) - 1);
			return;
		}
	}
	char *line = xmalloc(len + 1);
	memcpy(line, text, len);
	line[len] = '\n';
	(void)write_full(w->log_fd, line, len + 1);
	free(line);
	w->written += len + 1;
}

void task_log(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	worker_write(w, s, false);
	free(s);
}

void task_warn(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	char *line = xasprintf("WARN: %s", s);
	free(s);
	w->warnings++;
	worker_write(w, line, false);
	free(line);
}

bool task_stop_requested(struct task_worker *w)
{
	return stop_flag != 0;
}

static _noreturn_ void finish(struct task_worker *w, const char *error)
{
	char *line;
	if (error) {
		size_t len = strlen(error);
		if (len == 0)
			error = "unknown error";
		if (len > TASK_ERROR_MAX)
			len = TASK_ERROR_MAX;
		line = xasprintf("TASK ERROR: %.*s", (int)len, error);
	} else if (w->warnings) {
		line = xasprintf("TASK WARNINGS: %u", w->warnings);
	} else {
		line = xstrdup("TASK OK");
	}
	worker_write(w, line, true);
	free(line);
	/* no exit(): atexit handlers and stdio buffers belong to the daemon */
	_exit(error ? 1 : 0);
}

static void reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);

	/* no SA_RESTART: a stop interrupts sleep(), read() and poll() so the
	 * worker notices task_stop_requested() at once */
	struct sigaction stop = {.sa_handler = on_stop_signal};
	sigemptyset(&stop.sa_mask);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGQUIT, &stop, NULL);
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Keeps 0-2 and keep; every other inherited fd (client sockets, the
 * listening socket, other workers' start sockets, pidfds) is closed, so a
 * worker holds nothing of the daemon open, and a waiting worker's socket
 * reaches EOF exactly when the daemon is gone. */
static void close_inherited_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0U, 0);
}

/* One command byte; 0 on EOF.  Retries on EINTR unless stop_ok. */
static int read_cmd(int fd, bool stop_ok, char *ret)
{
	for (;;) {
		ssize_t n = read(fd, ret, 1);
		if (n == 1)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
		if (stop_ok && stop_flag)
			return -EINTR;
	}
}

_noreturn_ void task_child_main(const struct task_child *c)
{
	/* own session: a terminal's ^C or a restart of the daemon's process
	 * group does not reach the workers */
	setsid();
	reset_signals();
	int sock = c->sock;
	if (sock < 3) /* a daemon started with 0-2 closed: keep 0-2 for stdio */
		sock = fcntl(sock, F_DUPFD, 3);
	if (sock < 0)
		_exit(1);
	close_inherited_fds(sock);

	int null = open("/dev/null", O_RDWR);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}

	char cmd;
	if (read_cmd(sock, false, &cmd) <= 0)
		_exit(1); /* the parent gave up before the task existed */

	uint64_t pstart;
	if (proc_pid_starttime(getpid(), &pstart) < 0)
		_exit(1);
	struct upid u = {
	    .node = (char *)c->node,
	    .pid = getpid(),
	    .pstart = pstart,
	    .starttime = c->starttime,
	    .type = (char *)c->type,
	    .id = (char *)c->id,
	    .user = (char *)c->user,
	};
	char *upid = upid_format(&u);
	char *path = task_log_path(c->dir, upid, c->starttime);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	free(upid);
	if (fd < 0)
		_exit(1); /* the manager completes the log when it sees the exit */

	char name[16];
	snprintf(name, sizeof(name), "task %s", c->type);
	prctl(PR_SET_NAME, name);

	struct task_worker w = {.log_fd = fd, .max_bytes = c->max_log_bytes};
	/* output of code that writes to stdout/stderr lands in the log too */
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);

	if (cmd == 'w') {
		task_log(&w, "waiting for a free worker slot");
		int r = read_cmd(sock, true, &cmd);
		if (r == 0)
			finish(&w, "daemon exited before the task could start");
		if (r == -EINTR)
			finish(&w, "received interrupt");
		if (r < 0 || cmd != 'g')
			finish(&w, "lost contact with the daemon before the task could start");
	}
	close(sock);

	if (stop_flag)
		finish(&w, "received interrupt");

	struct error *err = NULL;
	int r = c->fn(&w, c->arg, &err);
	if (r < 0)
		finish(&w, err && err->msg ? err->msg : strerror(-r));
	finish(&w, NULL);
}
