/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The worker process: everything here runs in the child that
 * task_start_op() forked from a multithreaded daemon, or in a program
 * that child executed (task_op_worker_main()).  The forked child must not
 * take a lock another thread of the parent may have held at fork time (the
 * manager's mutex, the daemon logger's setup, stdio streams); glibc's malloc
 * is safe after fork.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

struct task_worker {
	int log_fd;
	uint64_t written;
	uint64_t max_bytes;
	bool truncated;
	unsigned warnings;
	void *env; /* of the running op */
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

void task_log_or_debug(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (w)
		worker_write(w, s, false);
	else
		log_debug("%s", s);
	free(s);
}

void task_warn_or_debug(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (w)
		task_warn(w, "%s", s);
	else
		log_debug("warning: %s", s);
	free(s);
}

bool task_stop_requested(struct task_worker *w)
{
	return stop_flag != 0;
}

void *task_worker_env(struct task_worker *w)
{
	return w->env;
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

static _noreturn_ void exec_worker(struct task_worker *w, const struct task_child *c);

/* cmd 'w': the task waits for its slot ('g' on sock), logging that it
 * does; a stop or the daemon's end finishes it meanwhile. */
static void wait_slot(struct task_worker *w, int sock, char cmd)
{
	if (cmd != 'w')
		return;
	task_log(w, "waiting for a free worker slot");
	int r = read_cmd(sock, true, &cmd);
	if (r == 0)
		finish(w, "daemon exited before the task could start");
	if (r == -EINTR)
		finish(w, "received interrupt");
	if (r < 0 || cmd != 'g')
		finish(w, "lost contact with the daemon before the task could start");
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

	wait_slot(&w, sock, cmd);
	close(sock);

	if (stop_flag)
		finish(&w, "received interrupt");
	if (c->exec_argv)
		exec_worker(&w, c);

	struct error *err = NULL;
	w.env = c->env;
	int r = c->op->run(&w, c->args, &err);
	if (r < 0)
		finish(&w, err && err->msg ? err->msg : strerror(-r));
	finish(&w, NULL);
}

/* ------------------------------------------------------------------ */
/* Workers by exec                                                     */

static void block_stop_signals(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigprocmask(how, &set, NULL);
}

/* The forked child, slot and log in hand, becomes the worker program:
 * stdin the arguments (a memfd: no writer to wait for, no size limit of a
 * pipe), stdout and stderr the log (already).  A stop that arrives from
 * here on stays pending across execve() until the program has installed its
 * handler, so it is never lost and never kills the program by default. */
static _noreturn_ void exec_worker(struct task_worker *w, const struct task_child *c)
{
	block_stop_signals(SIG_BLOCK);
	if (stop_flag)
		finish(w, "received interrupt");
	int fd = memfd_create("task-args", MFD_CLOEXEC);
	int r = fd < 0 ? -errno : write_full(fd, c->args_text, strlen(c->args_text));
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r == 0 && dup2(fd, STDIN_FILENO) < 0)
		r = -errno;
	if (r < 0) {
		char *msg = xasprintf("unable to pass the task's arguments - %s", strerror(-r));
		finish(w, msg);
	}
	close(fd);
	execve(c->exec_argv[0], c->exec_argv, environ);
	char *msg =
	    xasprintf("unable to execute worker '%s' - %s", c->exec_argv[0], strerror(errno));
	finish(w, msg);
}

/* All of stdin, at most TASK_ARGS_MAX bytes; NULL when it is longer or
 * cannot be read. */
static char *read_args(size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap >= TASK_ARGS_MAX + 1) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > TASK_ARGS_MAX) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

/* What both exec'd workers do once stdin holds the arguments and stdout
 * the log: find the operation, check its arguments again, run it. */
static _noreturn_ void run_exec_op(const struct task_ops *reg, const char *type,
                                   struct task_worker *w)
{
	size_t len = 0;
	char *text = read_args(&len);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	char name[16];
	snprintf(name, sizeof(name), "task %s", type ? type : "");
	prctl(PR_SET_NAME, name);

	if (stop_flag)
		finish(w, "received interrupt");
	void *env = NULL;
	const struct task_op *op = type ? task_ops_find(reg, type, &env) : NULL;
	if (!op) {
		char *msg = xasprintf("unknown task type '%s'", type ? type : "");
		finish(w, msg);
	}
	if (!text)
		finish(w, "unable to read the task's arguments");
	json_error_t jerr;
	json_t *args = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!args) {
		char *msg = xasprintf("invalid task arguments - %s", jerr.text);
		finish(w, msg);
	}
	struct error *err = NULL;
	int r = task_op_check_args(op, args, &err);
	if (r == 0) {
		w->env = env;
		r = op->run(w, args, &err);
	}
	if (r < 0)
		finish(w, err && err->msg ? err->msg : strerror(-r));
	finish(w, NULL);
}

/* The log's bound counts what was written before this process had it. */
static void count_written(struct task_worker *w)
{
	struct stat st;
	if (fstat(w->log_fd, &st) == 0 && S_ISREG(st.st_mode))
		w->written = (uint64_t)st.st_size;
}

_noreturn_ void task_op_worker_main(const struct task_ops *reg, const char *type,
                                    uint64_t max_log_bytes)
{
	/* what the forked child did already, for a program started otherwise */
	setsid();
	reset_signals();
	close_range(3, ~0U, 0);

	struct task_worker w = {
	    .log_fd = STDOUT_FILENO,
	    .max_bytes = max_log_bytes ? max_log_bytes : TASK_DEFAULT_MAX_LOG_BYTES,
	};
	count_written(&w);
	run_exec_op(reg, type, &w);
}

/*
 * The spare's one message (task_spare_send()): the type, NUL-terminated,
 * and exactly two descriptors, the log then the arguments.  Returns 1 with
 * them, 0 on end of file (the manager retired this spare or is gone), < 0
 * on anything else, every received descriptor closed then.
 */
static int spare_recv(int sock, char type[TASK_SPARE_TYPE_MAX + 1], int *ret_log, int *ret_args)
{
	char buf[TASK_SPARE_TYPE_MAX + 2];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.b,
	                    .msg_controllen = sizeof(ctl.b)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR && !stop_flag);
	if (n < 0)
		return -errno;
	int fds[3], nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < 3)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	bool ok = n > 1 && (size_t)n <= TASK_SPARE_TYPE_MAX + 1 && buf[n - 1] == '\0' &&
	          strlen(buf) == (size_t)n - 1 && nfds == 2 &&
	          !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	if (!ok) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return n == 0 && nfds == 0 ? 0 : -EBADMSG;
	}
	memcpy(type, buf, (size_t)n);
	*ret_log = fds[0];
	*ret_args = fds[1];
	return 1;
}

_noreturn_ void task_spare_worker_main(const struct task_ops *reg, uint64_t max_log_bytes)
{
	setsid(); /* posix_spawn made it a session leader already */
	reset_signals();
	close_range(TASK_SPARE_FD + 1, ~0U, 0);

	char type[TASK_SPARE_TYPE_MAX + 1];
	int log_fd = -1, args_fd = -1;
	if (spare_recv(TASK_SPARE_FD, type, &log_fd, &args_fd) <= 0)
		_exit(0); /* never a task: nothing to report */
	if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0 ||
	    dup2(args_fd, STDIN_FILENO) < 0)
		_exit(1); /* the manager completes the log when it sees the exit */
	close(log_fd);
	close(args_fd);
	char name[16];
	snprintf(name, sizeof(name), "task %.10s", type);
	prctl(PR_SET_NAME, name);

	struct task_worker w = {
	    .log_fd = STDOUT_FILENO,
	    .max_bytes = max_log_bytes ? max_log_bytes : TASK_DEFAULT_MAX_LOG_BYTES,
	};
	count_written(&w);
	/* then the slot, exactly as a forked worker waits for it */
	char cmd;
	if (read_cmd(TASK_SPARE_FD, false, &cmd) <= 0)
		_exit(1);
	wait_slot(&w, TASK_SPARE_FD, cmd);
	close(TASK_SPARE_FD);
	run_exec_op(reg, type, &w);
}
