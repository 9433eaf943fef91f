/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* Programs are looked up here only: never the caller's PATH. */
#define CMD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void cmd_init(struct cmd *c, const char *program)
{
	*c = (struct cmd){0};
	c->stdin_fd = -1;
	c->alloc = 8;
	c->argv = xnew(char *, c->alloc);
	cmd_add(c, program);
}

void cmd_add(struct cmd *c, const char *arg)
{
	if (c->argc + 2 > c->alloc) {
		c->alloc *= 2;
		c->argv = xrealloc(c->argv, c->alloc * sizeof(*c->argv));
	}
	c->argv[c->argc++] = xstrdup(arg);
	c->argv[c->argc] = NULL;
}

void cmd_addf(struct cmd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	cmd_add(c, s);
	free(s);
}

void cmd_setenv(struct cmd *c, const char *key, const char *value)
{
	c->env = xrealloc(c->env, (c->envc + 2) * sizeof(*c->env));
	c->env[c->envc++] = xasprintf("%s=%s", key, value);
	c->env[c->envc] = NULL;
}

void cmd_set_stdin(struct cmd *c, const char *data, size_t len)
{
	c->stdin_data = data;
	c->stdin_len = len;
}

void cmd_set_stdin_fd(struct cmd *c, int fd)
{
	c->stdin_fd = fd;
}

void cmd_set_timeout(struct cmd *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void cmd_set_cwd(struct cmd *c, const char *dir)
{
	free(c->cwd);
	c->cwd = xstrdup(dir);
}

void cmd_set_stdout_fd(struct cmd *c, int fd, unsigned long long max_bytes)
{
	c->out_to_fd = true;
	c->out_fd = fd;
	c->out_max = max_bytes;
}

void cmd_release(struct cmd *c)
{
	strv_free(c->argv);
	strv_free(c->env);
	free(c->cwd);
	*c = (struct cmd){0};
}

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || strchr("-_./=:,+@%^", *s)))
			return true;
	return false;
}

char *cmd_to_string(const struct cmd *c)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < c->argc; i++) {
		if (i)
			strbuf_addch(&sb, ' ');
		const char *a = c->argv[i];
		if (!needs_quotes(a)) {
			strbuf_addstr(&sb, a);
			continue;
		}
		strbuf_addch(&sb, '\'');
		for (; *a; a++) {
			if (*a == '\'')
				strbuf_addstr(&sb, "'\\''");
			else
				strbuf_addch(&sb, *a);
		}
		strbuf_addch(&sb, '\'');
	}
	return strbuf_detach(&sb, NULL);
}

void cmd_result_clear(struct cmd_result *r)
{
	free(r->out);
	free(r->err);
	*r = (struct cmd_result){0};
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends what fd has to sb up to max bytes; the rest is read and dropped so
 * the child never blocks on a full pipe.  Returns false at end of file. */
static bool drain(int fd, struct strbuf *sb, size_t max, bool *truncated)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	size_t room = sb->len < max ? max - sb->len : 0;
	if ((size_t)n > room)
		*truncated = true;
	strbuf_add(sb, buf, (size_t)n < room ? (size_t)n : room);
	return true;
}

/* Copies what fd has to out, at most max bytes in all (*written so far).
 * Returns false at end of file; sets *over or *werr (and stops writing)
 * when the budget or the writing fails, and the caller kills the child. */
static bool sink(int fd, int out, unsigned long long max, unsigned long long *written, bool *over,
                 int *werr)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (*over || *werr)
		return true; /* being killed: drop the rest */
	if ((unsigned long long)n > max - *written) {
		*over = true;
		return true;
	}
	int w = write_full(out, buf, (size_t)n);
	if (w < 0) {
		*werr = -w;
		return true;
	}
	*written += (unsigned long long)n;
	return true;
}

/* tty: run in a new session with tty (opened after setsid(), so it becomes
 * the controlling terminal) as stdin, stdout and stderr; else in its own
 * process group with the three descriptors. */
static int spawn(const struct cmd *c, const char *tty, int in_fd, int out_fd, int err_fd,
                 pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (tty) {
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, tty, O_RDWR, 0);
		posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO, STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO, STDERR_FILENO);
	} else {
		posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
		posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
		posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	}
	if (c->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	/* own process group, so a timeout kills what it started too; default
	 * signal dispositions and an empty mask, whatever the caller blocked */
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, (tty ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP) |
	                                    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	size_t n = 2 + c->envc;
	_cleanup_free_ char **envp = xnew(char *, n + 1);
	envp[0] = "LC_ALL=C";
	envp[1] = "PATH=" CMD_PATH;
	for (size_t i = 0; i < c->envc; i++)
		envp[2 + i] = c->env[i];

	/* Resolve the program in CMD_PATH ourselves: posix_spawnp would use ours. */
	_cleanup_free_ char *prog = NULL;
	if (strchr(c->argv[0], '/')) {
		prog = xstrdup(c->argv[0]);
	} else {
		_cleanup_free_ char *path = xstrdup(CMD_PATH);
		char *save = NULL;
		for (char *d = strtok_r(path, ":", &save); d && !prog;
		     d = strtok_r(NULL, ":", &save)) {
			char *p = xasprintf("%s/%s", d, c->argv[0]);
			if (access(p, X_OK) == 0)
				prog = p;
			else
				free(p);
		}
	}
	int r = prog ? posix_spawn(ret_pid, prog, &fa, &attr, c->argv, envp) : ENOENT;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -r;
}

/* What cmd_run() reports of a run that happened (or that the dry-run seam
 * answered): the code and *err from how it ended, with the program's last
 * stderr line; res goes to ret, or is released. */
static int finish(const struct cmd *c, const char *line, struct cmd_result *res,
                  struct cmd_result *ret, struct error **err)
{
	int r;

	if (res->timed_out)
		r = error_set(err, -ETIMEDOUT, 500, "command '%s' failed: got timeout", line);
	else if (res->out_over)
		r = error_set(err, -EFBIG, 500, "command '%s' failed: output exceeds %llu bytes",
		              line, c->out_max);
	else if (res->out_errno)
		r = error_set(err, -res->out_errno, 500,
		              "command '%s' failed: unable to write its output - %s", line,
		              strerror(res->out_errno));
	else if (res->signal)
		r = error_set(err, -EINTR, 500, "command '%s' failed: killed by signal %d", line,
		              res->signal);
	else if (res->exit_code != 0)
		r = error_set(err, -EIO, 500, "command '%s' failed: exit code %d", line,
		              res->exit_code);
	else
		r = 0;
	if (r < 0 && err && *err && res->err_len) {
		/* the program's own last words are usually the useful part */
		size_t end = res->err_len;
		while (end > 0 && (res->err[end - 1] == '\n' || res->err[end - 1] == ' '))
			end--;
		size_t start = end;
		while (start > 0 && res->err[start - 1] != '\n')
			start--;
		if (end > start) {
			char *m = xasprintf("%s: %.*s", (*err)->msg, (int)(end - start),
			                    res->err + start);
			free((*err)->msg);
			(*err)->msg = m;
			for (char *q = m; *q; q++)
				if (*q == '\r' || *q == '\n')
					*q = ' ';
		}
	}
	if (ret)
		*ret = *res;
	else
		cmd_result_clear(res);
	return r;
}

int cmd_run(const struct cmd *c, struct cmd_result *ret, struct error **err)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	struct cmd_result res = {0};
	struct strbuf sout = STRBUF_INIT, serr = STRBUF_INIT;
	_cleanup_free_ char *line = cmd_to_string(c);
	int r;

	if (cmd_dryrun_hook) { /* only ever in a test program: see cmd.h */
		r = cmd_dryrun_hook(c, &res);
		if (r < 0)
			return error_set(err, r, 500, "command '%s' failed: unable to run - %s",
			                 line, strerror(-r));
		if (r > 0)
			return finish(c, line, &res, ret, err);
	}

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = error_set(err, -errno, 500, "command '%s' failed: unable to create pipes - %s",
		              line, strerror(errno));
		goto out;
	}
	pid_t pid;
	r = spawn(c, NULL, c->stdin_fd >= 0 ? c->stdin_fd : in[0], out[1], errp[1], &pid);
	if (r < 0) {
		r = error_set(err, r, 500, "command '%s' failed: unable to run - %s", line,
		              strerror(-r));
		goto out;
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	in[0] = out[1] = errp[1] = -1;

	/* stdin is written as the child reads it, so large inputs cannot deadlock */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	size_t in_off = 0;
	if (!c->stdin_data || c->stdin_len == 0 || c->stdin_fd >= 0) {
		close(in[1]);
		in[1] = -1;
	}

	int pidfd = (int)pidfd_open(pid, 0);
	long deadline = now_ms() + (c->timeout_ms > 0 ? c->timeout_ms : CMD_DEFAULT_TIMEOUT_MS);
	bool out_open = true, err_open = true, exited = false, killed = false;
	unsigned long long written = 0;
	while (out_open || err_open || !exited) {
		struct pollfd p[4];
		int np = 0, i_out = -1, i_err = -1, i_in = -1, i_pid = -1;
		if (out_open)
			p[i_out = np++] = (struct pollfd){.fd = out[0], .events = POLLIN};
		if (err_open)
			p[i_err = np++] = (struct pollfd){.fd = errp[0], .events = POLLIN};
		if (in[1] >= 0)
			p[i_in = np++] = (struct pollfd){.fd = in[1], .events = POLLOUT};
		if (!exited && pidfd >= 0)
			p[i_pid = np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		long left = deadline - now_ms();
		if (left <= 0) {
			res.timed_out = true;
			kill(-pid, SIGKILL);
			break;
		}
		if (np == 0 || (pidfd < 0 && !out_open && !err_open))
			break;
		int n = poll(p, (nfds_t)np, (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (i_out >= 0 && p[i_out].revents && c->out_to_fd)
			out_open = sink(out[0], c->out_fd, c->out_max, &written, &res.out_over,
			                &res.out_errno);
		else if (i_out >= 0 && p[i_out].revents)
			out_open = drain(out[0], &sout, CMD_MAX_STDOUT, &res.out_truncated);
		if ((res.out_over || res.out_errno) && !killed) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		if (i_err >= 0 && p[i_err].revents)
			err_open = drain(errp[0], &serr, CMD_MAX_STDERR, &res.err_truncated);
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t w =
			    (p[i_in].revents & POLLOUT)
			        ? write(in[1], c->stdin_data + in_off, c->stdin_len - in_off)
			        : -1;
			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 && errno == EAGAIN)
				continue;
			if (w <= 0 || in_off == c->stdin_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (i_pid >= 0 && p[i_pid].revents)
			exited = true;
	}

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	if (WIFSIGNALED(status))
		res.signal = WTERMSIG(status);
	else
		res.exit_code = WEXITSTATUS(status);

	res.out = strbuf_detach(&sout, &res.out_len);
	res.err = strbuf_detach(&serr, &res.err_len);
	r = finish(c, line, &res, ret, err);
out:
	strbuf_release(&sout);
	strbuf_release(&serr);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r;
}

int cmd_spawn_tty(const struct cmd *c, const char *tty, pid_t *ret_pid)
{
	return spawn(c, tty, -1, -1, -1, ret_pid);
}
