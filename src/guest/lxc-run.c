/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#define LOG_CATEGORY "lxc-run"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/close_range.h>

/* lxc 5.0.2's attach_options.h uses EBADF without including errno.h */
#include <lxc/lxccontainer.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "lxc-run.h"
#include "netdev.h"
#include "task.h"
#include "xalloc.h"

#define CGROUP_TREE_DEPTH_MAX 16

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool vmid_ok(long vmid)
{
	return vmid >= 1 && vmid <= 999999999L;
}

static char *base_dir(const struct lxc_run_env *env)
{
	return path_join(env->run_root, "lxc");
}

/* <run>/lxc/<vmid>: the run directory; +".pid", +".lock" beside it */
static char *run_path(const struct lxc_run_env *env, long vmid, const char *suffix)
{
	return xasprintf("%s/lxc/%ld%s", env->run_root, vmid, suffix);
}

static const char *cgroot(const struct lxc_run_env *env)
{
	return env->cgroup_root ? env->cgroup_root : "/sys/fs/cgroup";
}

/* ------------------------------------------------------------------ */
/* Processes and identities                                            */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Until the process of pidfd exited (a zombie counts): 0 or -ETIMEDOUT. */
static int pidfd_wait(int pidfd, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r = poll(&p, 1, left < 0 ? 0 : (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* State letter, parent and start time (clock ticks after boot) of pid
 * from /proc/<pid>/stat; false when it is gone. */
static bool proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid, unsigned long long *ret_start)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file(path, 4096, &s, NULL, NULL) < 0)
		return false;
	const char *rp = strrchr(s, ')');
	if (!rp || rp[1] != ' ')
		return false;
	/* fields 3.. after the command name: state is the 3rd, ppid the 4th,
	 * starttime the 22nd */
	char *save = NULL, *t = strtok_r((char *)rp + 2, " ", &save);
	for (int field = 3; t; field++, t = strtok_r(NULL, " ", &save)) {
		if (field == 3 && ret_state)
			*ret_state = t[0];
		else if (field == 4 && ret_ppid)
			*ret_ppid = (pid_t)strtol(t, NULL, 10);
		else if (field == 22) {
			if (ret_start)
				*ret_start = strtoull(t, NULL, 10);
			return true;
		}
	}
	return false;
}

struct ident {
	pid_t pid;
	unsigned long long start;
};

/* Whether id is still the process it was: alive, not a zombie, same start. */
static bool ident_alive(const struct ident *id)
{
	char st = 0;
	unsigned long long start = 0;
	if (id->pid <= 1 || !proc_stat(id->pid, &st, NULL, &start))
		return false;
	return st != 'Z' && st != 'X' && start == id->start;
}

static bool ident_of(pid_t pid, struct ident *ret)
{
	ret->pid = pid;
	return pid > 1 && proc_stat(pid, NULL, NULL, &ret->start);
}

/* The .pid file: init and monitor.  -ENOENT when there is none. */
static int read_idents(const struct lxc_run_env *env, long vmid, struct ident *init,
                       struct ident *mon)
{
	_cleanup_free_ char *p = run_path(env, vmid, ".pid");
	_cleanup_free_ char *s = NULL;
	int r = read_file(p, 256, &s, NULL, NULL);
	if (r < 0)
		return r;
	int ip = 0, mp = 0;
	if (sscanf(s, "%d %llu %d %llu", &ip, &init->start, &mp, &mon->start) != 4 || ip <= 1 ||
	    mp <= 1)
		return -EINVAL;
	init->pid = ip;
	mon->pid = mp;
	return 0;
}

static int write_idents(const struct lxc_run_env *env, long vmid, const struct ident *init,
                        const struct ident *mon, struct error **err)
{
	_cleanup_free_ char *p = run_path(env, vmid, ".pid");
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%d %llu %d %llu\n", (int)init->pid, init->start,
	                 (int)mon->pid, mon->start);
	/* run state: atomic, not durable (its identity is checked against
	 * /proc, and /run does not outlive a reboot), so no fsync on a start */
	return write_file_atomic_full(p, buf, (size_t)n, 0600, WRITE_FILE_NO_SYNC, err);
}

/* 1 (and the identities) when vmid's init lives, 0 when not. */
static int running(const struct lxc_run_env *env, long vmid, struct ident *ret_init,
                   struct ident *ret_mon)
{
	struct ident init, mon;
	int r = read_idents(env, vmid, &init, &mon);
	if (r == -ENOENT || r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	if (!ident_alive(&init))
		return 0;
	if (ret_init)
		*ret_init = init;
	if (ret_mon)
		*ret_mon = mon;
	return 1;
}

/* A pidfd on id's process when it is still that process, else -ESRCH. */
static int open_ident(const struct ident *id)
{
	int fd = pidfd_open_(id->pid);
	if (fd < 0)
		return -ESRCH;
	if (!ident_alive(id)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int lxc_run_is_running(const struct lxc_run_env *env, long vmid, bool *ret, pid_t *ret_pid,
                       struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	struct ident init;
	int r = running(env, vmid, &init, NULL);
	if (r < 0)
		return error_set(err, r, 500, "unable to read the state of CT %ld - %s", vmid,
		                 strerror(-r));
	*ret = r == 1;
	if (ret_pid)
		*ret_pid = r == 1 ? init.pid : 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cleanup                                                             */

/* rmdir of a cgroup and its children, deepest first (a cgroup directory
 * holds only control files, which rmdir does not mind).  False when one
 * stays (EBUSY: a process, or a zombie not reaped yet, is in it). */
static bool rm_cgroup_tree(int parentfd, const char *name, unsigned depth)
{
	if (depth > CGROUP_TREE_DEPTH_MAX)
		return false;
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return true;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && !streq(de->d_name, ".") && !streq(de->d_name, ".."))
			rm_cgroup_tree(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

/* In the detached cleanup of a stop (finish_stop()): its note file, where
 * its warnings go for the next holder of the lock to report, made at the
 * first one; NULL elsewhere.  Set only in that single-threaded child. */
static const char *note_path;
static int note_fd = -1;

/* A problem of the cleanup: the task's log, else the detached cleanup's
 * note file, else ctvmd.log (the watch): never only at debug level. */
_printf_(2, 3) static void cleanup_warn(const struct lxc_run_env *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (note_path && note_fd < 0)
		note_fd =
		    open(note_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (env->w)
		task_warn(env->w, "%s", s);
	else if (note_fd >= 0)
		dprintf(note_fd, "%s\n", s);
	else
		log_warn("%s", s);
}

/* lxc/<vmid> and lxc.monitor/<vmid> in every hierarchy (a named one such
 * as name=systemd and the unified one included; symlinks such as
 * cpu -> cpu,cpuacct skipped).  False when one stays. */
static bool remove_cgroups_once(const struct lxc_run_env *env, long vmid)
{
	DIR *d = opendir(cgroot(env));
	if (!d)
		return true;
	char name[32];
	snprintf(name, sizeof(name), "%ld", vmid);
	bool ok = true;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		for (const char *const *p = (const char *const[]){"lxc", "lxc.monitor", NULL}; *p;
		     p++) {
			_cleanup_free_ char *sub = xasprintf("%s/%s", de->d_name, *p);
			_cleanup_close_ int fd =
			    openat(dirfd(d), sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && !rm_cgroup_tree(fd, name, 0))
				ok = false;
		}
	}
	closedir(d);
	return ok;
}

/* An exited monitor stays in its cgroup as a zombie until its parent reaps
 * it: ctvmd (a child subreaper, src/util/reaper.h) does within 200 ms. */
static void remove_cgroups(const struct lxc_run_env *env, long vmid)
{
	for (int i = 0; !remove_cgroups_once(env, vmid); i++) {
		if (i == 150) {
			cleanup_warn(env, "unable to remove the cgroups of CT %ld", vmid);
			return;
		}
		poll(NULL, 0, 20);
	}
}

/* The processes of the monitor's cgroup (liblxc's monitor, and whatever it
 * forked) get 15 s to finish their own cleanup, then SIGKILL: usually a few
 * ms, but seconds on a host busy with TCG guests (5 s was seen to be too
 * short there). */
static void wait_monitor(const struct lxc_run_env *env, long vmid)
{
	static const char *const where[] = {"pids/", "memory/", ""};
	_cleanup_free_ char *s = NULL;
	for (size_t i = 0; !s && i < ARRAY_SIZE(where); i++) {
		_cleanup_free_ char *p =
		    xasprintf("%s/%slxc.monitor/%ld/cgroup.procs", cgroot(env), where[i], vmid);
		if (read_file(p, 64 * 1024, &s, NULL, NULL) < 0)
			s = NULL;
	}
	if (!s)
		return;
	int64_t deadline = now_ms() + 15000;
	char *save = NULL;
	for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		pid_t pid = (pid_t)strtol(t, NULL, 10);
		int fd = pid > 1 && pid != getpid() ? pidfd_open_(pid) : -1;
		if (fd < 0)
			continue;
		int64_t left = deadline - now_ms();
		if (pidfd_wait(fd, left > 0 ? (int)left : 0) < 0) {
			cleanup_warn(env, "lxc monitor of CT %ld did not exit, killing it", vmid);
			pidfd_kill(fd, SIGKILL);
			pidfd_wait(fd, 2000);
		}
		close(fd);
	}
}

/* veth<vmid>i<N> that a killed monitor left on the host */
static void remove_veths(const struct lxc_run_env *env, long vmid)
{
	for (unsigned i = 0; i < LXC_RUN_MAX_NICS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "veth%ldi%u", vmid, i);
		if (!netdev_exists(name))
			continue;
		struct cmd c;
		cmd_init(&c, "ip");
		cmd_add(&c, "link");
		cmd_add(&c, "delete");
		cmd_add(&c, name);
		cmd_set_timeout(&c, 10000);
		_cleanup_error_ struct error *e = NULL;
		if (cmd_run(&c, NULL, &e) < 0)
			cleanup_warn(env, "%s, ignoring", e->msg);
		cmd_release(&c);
	}
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

/* With the lock held and the init dead: let a live monitor finish its own
 * cleanup, then remove what is left. */
static void cleanup_locked(const struct lxc_run_env *env, long vmid)
{
	wait_monitor(env, vmid);
	remove_veths(env, vmid);
	remove_cgroups(env, vmid);
	_cleanup_free_ char *dir = run_path(env, vmid, "");
	remove_dir(dir);
	_cleanup_free_ char *pidf = run_path(env, vmid, ".pid");
	unlink(pidf);
}

/* What the detached cleanup of an earlier stop could not do (its note
 * file, see finish_stop()): into this task's log, else ctvmd.log.  With
 * the lock held. */
static void report_notes(const struct lxc_run_env *env, long vmid)
{
	_cleanup_free_ char *p = run_path(env, vmid, ".cleanup");
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 64 * 1024, &s, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (env->w)
			task_warn(env->w, "cleanup after the last stop of CT %ld: %s", vmid, l);
		else
			log_warn("cleanup after the last stop of CT %ld: %s", vmid, l);
	unlink(p);
}

static int cleanup(const struct lxc_run_env *env, long vmid, int wait_ms, struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	_cleanup_free_ char *base = base_dir(env);
	if (access(base, F_OK) < 0) {
		remove_cgroups(env, vmid);
		return 0;
	}
	_cleanup_free_ char *lockp = run_path(env, vmid, "");
	_cleanup_error_ struct error *e = NULL;
	int lfd = lock_file(lockp, wait_ms, &e);
	if (lfd < 0) {
		if (!wait_ms)
			return error_set(err, -EBUSY, 500, "CT %ld is busy", vmid);
		error_propagate(err, TAKE_PTR(e));
		return lfd;
	}
	report_notes(env, vmid);
	if (running(env, vmid, NULL, NULL) == 0)
		cleanup_locked(env, vmid);
	unlock_file(lfd);
	return 0;
}

int lxc_run_cleanup(const struct lxc_run_env *env, long vmid, struct error **err)
{
	return cleanup(env, vmid, (LXC_RUN_START_TIMEOUT_S + 5) * 1000, err);
}

/* ------------------------------------------------------------------ */
/* Start                                                               */

static struct lxc_container *container_new(const struct lxc_run_env *env, long vmid,
                                           struct error **err)
{
	_cleanup_free_ char *base = base_dir(env);
	char name[32];
	snprintf(name, sizeof(name), "%ld", vmid);
	struct lxc_container *c = lxc_container_new(name, base);
	if (!c) {
		error_set(err, -ENOMEM, 500, "unable to open CT %ld through liblxc", vmid);
		return NULL;
	}
	return c;
}

static void container_putp(struct lxc_container **c)
{
	if (*c)
		lxc_container_put(*c);
}
#define _cleanup_container_ _cleanup_(container_putp)

/* The last lines of liblxc's log (lxc.log.file of the config, when it is
 * in the run directory) into the task log: what a failed start says. */
static void log_liblxc(const struct lxc_run_env *env, long vmid, const char *config_text)
{
	_cleanup_free_ char *dir = run_path(env, vmid, "");
	const char *k = strstr(config_text, "\nlxc.log.file = ");
	if (!k)
		return;
	k += strlen("\nlxc.log.file = ");
	_cleanup_free_ char *path = xstrndup(k, strcspn(k, "\n"));
	if (!str_startswith(path, dir) || path[strlen(dir)] != '/' || strstr(path, ".."))
		return;
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	if (read_file(path, 1 << 20, &s, &len, NULL) < 0 || len == 0)
		return;
	/* at most the last 20 lines */
	const char *p = s + len;
	for (int n = 0; p > s && n <= 20; p--)
		if (p[-1] == '\n' && ++n > 20)
			break;
	char *save = NULL;
	for (char *l = strtok_r((char *)p, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		task_log_or_debug(env->w, "%s", l);
}

/*
 * liblxc's start, in a child process: liblxc moves the process that calls
 * start into the monitor's cgroup (lxc.monitor/<vmid>), where a task
 * worker must not end up.  The child daemonizes the container, waits for
 * RUNNING and reports the init's pid through a pipe.  0 (*ret_pid),
 * -EIO when liblxc failed, -ETIMEDOUT past deadline.
 */
static int start_in_child(const struct lxc_run_env *env, long vmid, int64_t deadline,
                          pid_t *ret_pid)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (child == 0) {
		close(p[0]);
		pid_t pid = -1;
		struct lxc_container *c = container_new(env, vmid, NULL);
		if (c) {
			c->want_daemonize(c, true);
			/* the monitor must not keep the worker's descriptors
			 * (the run lock, the task log) */
			c->want_close_all_fds(c, true);
			int left = (int)((deadline - now_ms() + 999) / 1000);
			if (c->start(c, 0, NULL) && c->wait(c, "RUNNING", left > 0 ? left : 1))
				pid = c->init_pid(c);
		}
		_exit(write(p[1], &pid, sizeof(pid)) == sizeof(pid) ? 0 : 1);
	}
	close(p[1]);
	pid_t pid = -1;
	int r = -EIO;
	int64_t left = deadline - now_ms();
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	int n;
	do
		n = poll(&pf, 1, left > 0 ? (int)left : 0);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		kill(child, SIGKILL);
		r = -ETIMEDOUT;
	} else if (read(p[0], &pid, sizeof(pid)) == sizeof(pid) && pid > 1) {
		*ret_pid = pid;
		r = 0;
	}
	close(p[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return r;
}

/* SIGKILL to every process in the container's cgroup (lxc/<vmid> and
 * below), for a start that failed half-way. */
static void kill_cgroup_dir(int dfd, unsigned depth)
{
	if (depth > CGROUP_TREE_DEPTH_MAX)
		return;
	_cleanup_close_ int pfd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n = pfd >= 0 ? read(pfd, buf, sizeof(buf) - 1) : -1;
	if (n > 0) {
		buf[n] = '\0';
		char *save = NULL;
		for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
			pid_t pid = (pid_t)strtol(t, NULL, 10);
			if (pid > 1 && pid != getpid())
				kill(pid, SIGKILL);
		}
	}
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_close_ int sub =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			kill_cgroup_dir(sub, depth + 1);
	}
	closedir(d);
}

static void kill_cgroup(const struct lxc_run_env *env, long vmid)
{
	static const char *const where[] = {"pids/", "memory/", ""};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%slxc/%ld", cgroot(env), where[i], vmid);
		_cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			kill_cgroup_dir(fd, 0);
			return;
		}
	}
}

/* liblxc answers a missing include with only "Failed to load config"
 * (Debian's <ostype>.common.conf and .userns.conf come with the package
 * lxc-templates): name the file instead. */
static int check_includes(const char *config_text, struct error **err)
{
	static const char key[] = "lxc.include = ";
	for (const char *l = config_text; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		if (!str_startswith(l, key))
			continue;
		_cleanup_free_ char *path =
		    xstrndup(l + strlen(key), strcspn(l + strlen(key), "\n"));
		if (access(path, R_OK) < 0)
			return error_set(err, -ENOENT, 500,
			                 "unable to start the container: '%s' is missing (Debian's "
			                 "package lxc-templates provides it)",
			                 path);
	}
	return 0;
}

int lxc_run_start(const struct lxc_run_env *env, long vmid, const char *config_text,
                  unsigned timeout_s, struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	int64_t deadline = now_ms() + (int64_t)(timeout_s ?: LXC_RUN_START_TIMEOUT_S) * 1000;
	_cleanup_free_ char *base = base_dir(env);
	int r = mkdir_p(base, 0755);
	if (r < 0)
		return error_set(err, r, 500, "unable to create '%s' - %s", base, strerror(-r));
	_cleanup_free_ char *dir = run_path(env, vmid, "");
	int lfd = lock_file(dir, (int)(deadline - now_ms()), err);
	if (lfd < 0)
		return lfd;
	if (running(env, vmid, NULL, NULL) == 1) {
		unlock_file(lfd);
		return error_set(err, -EEXIST, 500, "CT %ld already running", vmid);
	}
	/* what a container that died unseen left, then a fresh directory */
	report_notes(env, vmid);
	cleanup_locked(env, vmid);
	if ((r = check_includes(config_text, err)) < 0) {
		unlock_file(lfd);
		return r;
	}

	_cleanup_free_ char *cfg = path_join(dir, "config");
	struct ident init, mon;
	pid_t pid = 0, ppid = 0;
	int64_t t0 = now_ms();
	if (mkdir(dir, 0700) < 0) {
		r = error_set(err, -errno, 500, "unable to create '%s' - %m", dir);
		goto fail;
	}
	if ((r = write_file_atomic_full(cfg, config_text, strlen(config_text), 0600,
	                                WRITE_FILE_NO_SYNC, err)) < 0)
		goto fail;
	if ((r = start_in_child(env, vmid, deadline, &pid)) < 0) {
		log_liblxc(env, vmid, config_text);
		r = error_set(err, r, 500, "startup for container '%ld' failed%s", vmid,
		              r == -ETIMEDOUT ? " - got timeout" : "");
		goto fail;
	}
	if (pid <= 1 || !ident_of(pid, &init) || !proc_stat(pid, NULL, &ppid, NULL) ||
	    !ident_of(ppid, &mon)) {
		log_liblxc(env, vmid, config_text);
		r = error_set(err, -ESRCH, 500, "startup for container '%ld' failed - init exited",
		              vmid);
		goto fail;
	}
	if ((r = write_idents(env, vmid, &init, &mon, err)) < 0)
		goto fail;
	task_log_or_debug(env->w, "CT %ld running: init %d, started in %" PRId64 " ms", vmid,
	                  (int)pid, now_ms() - t0);
	unlock_file(lfd);
	return 0;

fail:
	/* whatever runs of it: the monitor then cleans up and exits */
	kill_cgroup(env, vmid);
	cleanup_locked(env, vmid);
	unlock_file(lfd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Stop, shutdown, freeze                                              */

/*
 * After the init is gone: the container reads as stopped (running() looks
 * at the init alone), but liblxc's monitor still removes its cgroups in
 * every hierarchy, which takes longer than the kill itself (4-12 ms to the
 * init's exit, 13-39 ms to the monitor's, at load 20).  So the stop does
 * not wait for that: cleanup_locked() runs in a detached grandchild that
 * holds the run lock (flock belongs to the open file description, which
 * the fork shares; the parent only closes its descriptor, never
 * LOCK_UN), so every later start, cleanup or destroy waits for it as if
 * the stop had done it.  The grandchild re-parents to ctvmd (a child
 * subreaper, which reaps it) and keeps no descriptor of the task (its
 * log, its slot): the task ends when the worker does.  What it could not
 * do goes to <vmid>.cleanup, reported by ctvmd's watch as it appears
 * and by the next holder of the lock (report_notes()); if it dies, the lock goes with it and the
 * next start, destroy or ctvmd's watch cleans up as after any death unseen.  Without a fork the
 * cleanup runs here.
 */
static int finish_stop(const struct lxc_run_env *env, long vmid, struct error **err)
{
	_cleanup_free_ char *dir = run_path(env, vmid, "");
	int lfd = lock_file(dir, (LXC_RUN_START_TIMEOUT_S + 5) * 1000, err);
	if (lfd < 0)
		return lfd;
	report_notes(env, vmid);
	if (running(env, vmid, NULL, NULL) == 1) {
		unlock_file(lfd);
		return 0; /* started again meanwhile */
	}
	pid_t child = fork();
	if (child == 0) {
		/* a session of its own: no signal to the task's group reaches it;
		 * without a second fork the worker waits for this one */
		setsid();
		if (fork() > 0)
			_exit(0);
		/* the lock as descriptor 3, nothing else of the worker */
		if ((lfd == 3 ? 3 : dup2(lfd, 3)) != 3)
			_exit(1);
		close_range(4, ~0U, 0);
		close_range(0, 2, 0);
		/* stdin, stdout and stderr (the task's log) on /dev/null */
		for (int i = 0; i < 3; i++)
			if (open("/dev/null", O_RDWR) != i)
				_exit(1);
		struct lxc_run_env quiet = *env;
		quiet.w = NULL;
		_cleanup_free_ char *notep = run_path(env, vmid, ".cleanup");
		_cleanup_free_ char *tmpp = run_path(env, vmid, ".cleanup.tmp");
		note_path = tmpp;
		cleanup_locked(&quiet, vmid);
		/* whole, or not at all: the next holder reads it */
		if (note_fd >= 0 && rename(tmpp, notep) < 0)
			unlink(tmpp);
		_exit(0);
	}
	if (child < 0) {
		cleanup_locked(env, vmid);
		unlock_file(lfd);
		return 0;
	}
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	close(lfd); /* not LOCK_UN: the grandchild holds the lock */
	return 0;
}

int lxc_run_stop(const struct lxc_run_env *env, long vmid, struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	struct ident init;
	if (running(env, vmid, &init, NULL) != 1)
		return lxc_run_cleanup(env, vmid, err);
	_cleanup_close_ int fd = open_ident(&init);
	if (fd < 0)
		return lxc_run_cleanup(env, vmid, err);
	/* SIGKILL to the init ends the pid namespace (PVE's lxc-stop --kill);
	 * not through liblxc's stop command, whose monitor hangs thawing a
	 * frozen v1 container: a frozen one is thawed here, after the kill */
	pidfd_kill(fd, SIGKILL);
	for (const char *const *sub = (const char *const[]){"", "/ns", NULL}; *sub; sub++) {
		_cleanup_free_ char *fz =
		    xasprintf("%s/freezer/lxc/%ld%s/freezer.state", cgroot(env), vmid, *sub);
		_cleanup_close_ int ffd = open(fz, O_WRONLY | O_CLOEXEC);
		if (ffd >= 0 && write_full(ffd, "THAWED", 6) < 0)
			task_warn_or_debug(env->w, "CT %ld: unable to thaw it", vmid);
	}
	if (pidfd_wait(fd, LXC_RUN_STOP_TIMEOUT_S * 1000) < 0) {
		pidfd_kill(fd, SIGKILL);
		if (pidfd_wait(fd, LXC_RUN_STOP_TIMEOUT_S * 1000) < 0)
			return error_set(err, -ETIMEDOUT, 500, "container did not stop");
	}
	return finish_stop(env, vmid, err);
}

int lxc_run_shutdown(const struct lxc_run_env *env, long vmid, unsigned timeout_s, bool force_stop,
                     struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	struct ident init;
	if (running(env, vmid, &init, NULL) != 1)
		return lxc_run_cleanup(env, vmid, err);
	_cleanup_close_ int fd = open_ident(&init);
	if (fd < 0)
		return lxc_run_cleanup(env, vmid, err);
	_cleanup_container_ struct lxc_container *c = container_new(env, vmid, err);
	if (!c)
		return -ENOMEM;
	/* liblxc sends lxc.signal.halt and waits for STOPPED */
	bool done = c->shutdown(c, (int)timeout_s);
	if (done || pidfd_wait(fd, 0) == 0) {
		pidfd_wait(fd, LXC_RUN_STOP_TIMEOUT_S * 1000);
		return finish_stop(env, vmid, err);
	}
	if (!force_stop)
		return error_set(err, -ETIMEDOUT, 500, "container did not stop");
	task_log_or_debug(env->w, "CT %ld did not stop within %u s, killing it", vmid, timeout_s);
	return lxc_run_stop(env, vmid, err);
}

int lxc_run_reboot(const struct lxc_run_env *env, long vmid, unsigned timeout_s, struct error **err)
{
	return lxc_run_shutdown(env, vmid, timeout_s, true, err);
}

int lxc_run_freeze(const struct lxc_run_env *env, long vmid, bool frozen, struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	if (running(env, vmid, NULL, NULL) != 1)
		return error_set(err, -ESRCH, 500, "CT %ld not running", vmid);
	_cleanup_container_ struct lxc_container *c = container_new(env, vmid, err);
	if (!c)
		return -ENOMEM;
	if (!(frozen ? c->freeze(c) : c->unfreeze(c)))
		return error_set(err, -EIO, 500, "unable to %s CT %ld", frozen ? "freeze" : "thaw",
		                 vmid);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Status                                                              */

/* One unsigned integer from a cgroup or sysfs file; false when absent. */
static bool read_u64(const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	if (read_file(path, 256, &s, NULL, NULL) < 0)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	*ret = v;
	return true;
}

static uint64_t cg_u64(const struct lxc_run_env *env, const char *ctl, long vmid, const char *file)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/lxc/%ld/%s", cgroot(env), ctl, vmid, file);
	uint64_t v = 0;
	read_u64(p, &v);
	return v;
}

/* "name value" lines (memory.stat): the value of name, 0 when absent. */
static uint64_t stat_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			return strtoull(l + n + 1, NULL, 10);
	return 0;
}

/* blkio.throttle.io_service_bytes_recursive: "MAJ:MIN Read N" lines */
static void blkio_bytes(const struct lxc_run_env *env, long vmid, uint64_t *rd, uint64_t *wr)
{
	*rd = *wr = 0;
	_cleanup_free_ char *p = xasprintf(
	    "%s/blkio/lxc/%ld/blkio.throttle.io_service_bytes_recursive", cgroot(env), vmid);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 1 << 20, &s, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char dev[32], op[16];
		unsigned long long v;
		if (sscanf(l, "%31s %15s %llu", dev, op, &v) != 3)
			continue;
		if (streq(op, "Read"))
			*rd += v;
		else if (streq(op, "Write"))
			*wr += v;
	}
}

/* The previous cpuacct sample per container, for cpu's delta. */
#define CPU_CACHE 256
static struct {
	long vmid;
	uint64_t usage_ns;
	int64_t at_ms;
} cpu_cache[CPU_CACHE];
static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;

static double cpu_share(long vmid, uint64_t usage_ns, double cpus)
{
	int64_t now = now_ms();
	double share = 0;
	pthread_mutex_lock(&cpu_lock);
	size_t slot = (size_t)vmid % CPU_CACHE;
	if (cpu_cache[slot].vmid == vmid && now > cpu_cache[slot].at_ms &&
	    usage_ns >= cpu_cache[slot].usage_ns)
		share = (double)(usage_ns - cpu_cache[slot].usage_ns) /
		        ((double)(now - cpu_cache[slot].at_ms) * 1e6 * cpus);
	cpu_cache[slot].vmid = vmid;
	cpu_cache[slot].usage_ns = usage_ns;
	cpu_cache[slot].at_ms = now;
	pthread_mutex_unlock(&cpu_lock);
	return share > 1.0 ? 1.0 : share;
}

static void net_bytes(long vmid, uint64_t *in, uint64_t *out)
{
	*in = *out = 0;
	for (unsigned i = 0; i < LXC_RUN_MAX_NICS; i++) {
		_cleanup_free_ char *d = xasprintf("/sys/class/net/veth%ldi%u/statistics", vmid, i);
		if (access(d, F_OK) < 0)
			continue;
		_cleanup_free_ char *tx = path_join(d, "tx_bytes");
		_cleanup_free_ char *rx = path_join(d, "rx_bytes");
		uint64_t v;
		/* the host side's transmit is what the container receives */
		if (read_u64(tx, &v))
			*in += v;
		if (read_u64(rx, &v))
			*out += v;
	}
}

static int64_t uptime_s(const struct ident *init)
{
	_cleanup_free_ char *s = NULL;
	if (read_file("/proc/uptime", 256, &s, NULL, NULL) < 0)
		return 0;
	double up = strtod(s, NULL);
	long hz = sysconf(_SC_CLK_TCK);
	double started = (double)init->start / (double)(hz > 0 ? hz : 100);
	return up > started ? (int64_t)(up - started) : 0;
}

int lxc_run_status(const struct lxc_run_env *env, long vmid, json_t **ret, struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	struct ident init;
	int r = running(env, vmid, &init, NULL);
	if (r < 0)
		return error_set(err, r, 500, "unable to read the state of CT %ld - %s", vmid,
		                 strerror(-r));
	json_t *o = json_object();
	if (r == 0) {
		json_object_set_new(o, "status", json_string("stopped"));
		static const char *const zero[] = {"uptime", "cpu",      "mem",
		                                   "swap",   "disk",     "netin",
		                                   "netout", "diskread", "diskwrite"};
		for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
			json_object_set_new(o, zero[i], json_integer(0));
		*ret = o;
		return 0;
	}
	json_object_set_new(o, "status", json_string("running"));
	json_object_set_new(o, "pid", json_integer(init.pid));
	json_object_set_new(o, "uptime", json_integer(uptime_s(&init)));

	/* memory: usage without the page cache, as PVE's cgroup v1 reading */
	uint64_t usage = cg_u64(env, "memory", vmid, "memory.usage_in_bytes");
	uint64_t limit = cg_u64(env, "memory", vmid, "memory.limit_in_bytes");
	_cleanup_free_ char *statp = xasprintf("%s/memory/lxc/%ld/memory.stat", cgroot(env), vmid);
	_cleanup_free_ char *stat = NULL;
	uint64_t cache = 0;
	if (read_file(statp, 64 * 1024, &stat, NULL, NULL) == 0)
		cache = stat_field(stat, "total_cache");
	json_object_set_new(o, "mem",
	                    json_integer((json_int_t)(usage > cache ? usage - cache : 0)));
	json_object_set_new(o, "maxmem", json_integer((json_int_t)limit));
	uint64_t swusage = cg_u64(env, "memory", vmid, "memory.memsw.usage_in_bytes");
	uint64_t swlimit = cg_u64(env, "memory", vmid, "memory.memsw.limit_in_bytes");
	json_object_set_new(o, "swap",
	                    json_integer((json_int_t)(swusage > usage ? swusage - usage : 0)));
	json_object_set_new(o, "maxswap",
	                    json_integer((json_int_t)(swlimit > limit ? swlimit - limit : 0)));

	/* cpu: of cpulimit's cores when there is a quota, else of the host's */
	double cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	_cleanup_free_ char *qp = xasprintf("%s/cpu/lxc/%ld/cpu.cfs_quota_us", cgroot(env), vmid);
	_cleanup_free_ char *qs = NULL;
	if (read_file(qp, 64, &qs, NULL, NULL) == 0) {
		long long quota = strtoll(qs, NULL, 10);
		uint64_t period = cg_u64(env, "cpu", vmid, "cpu.cfs_period_us");
		if (quota > 0 && period > 0 && (double)quota / (double)period < cpus)
			cpus = (double)quota / (double)period;
	}
	uint64_t used = cg_u64(env, "cpuacct", vmid, "cpuacct.usage");
	json_object_set_new(o, "cpu", json_real(cpu_share(vmid, used, cpus > 0 ? cpus : 1)));

	struct statvfs vfs;
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root/", (int)init.pid);
	uint64_t disk = 0, maxdisk = 0;
	if (statvfs(root, &vfs) == 0) {
		maxdisk = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		disk = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	}
	json_object_set_new(o, "disk", json_integer((json_int_t)disk));
	json_object_set_new(o, "maxdisk", json_integer((json_int_t)maxdisk));

	uint64_t in, out, rd, wr;
	net_bytes(vmid, &in, &out);
	json_object_set_new(o, "netin", json_integer((json_int_t)in));
	json_object_set_new(o, "netout", json_integer((json_int_t)out));
	blkio_bytes(env, vmid, &rd, &wr);
	json_object_set_new(o, "diskread", json_integer((json_int_t)rd));
	json_object_set_new(o, "diskwrite", json_integer((json_int_t)wr));

	*ret = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ctvmd's watch                                                       */

struct watch_entry {
	long vmid;
	int fd;       /* pidfd */
	bool monitor; /* of the monitor (the init exited), else of the init */
};

struct watch {
	struct lxc_run_env env;
	char *base;
	void (*stopped)(long vmid, void *userdata);
	void *userdata;
	int ep, in;
	int quit; /* eventfd: lxc_run_watch_stop() */
	pthread_t thread;
	struct watch_entry *e;
	size_t n, cap;
};

/* The one watch of this process (ctvmd has one; tests start one per
 * watcher process). */
static struct watch *the_watch;

static void watch_drop(struct watch *w, size_t i)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, w->e[i].fd, NULL);
	close(w->e[i].fd);
	w->e[i] = w->e[--w->n];
}

static void watch_add(struct watch *w, long vmid, int fd, bool monitor)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		w->e = xrealloc(w->e, w->cap * sizeof(*w->e));
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return;
	}
	w->e[w->n++] = (struct watch_entry){.vmid = vmid, .fd = fd, .monitor = monitor};
}

/* The container is gone (or going): cleaned up unless a task holds it
 * (that task cleans up itself), and reported. */
static void watch_finish(struct watch *w, long vmid)
{
	if (running(&w->env, vmid, NULL, NULL) == 1)
		return; /* started again meanwhile */
	_cleanup_error_ struct error *e = NULL;
	if (cleanup(&w->env, vmid, 0, &e) < 0)
		log_debug("CT %ld: %s", vmid, e->msg);
	log_info("CT %ld stopped", vmid);
	if (w->stopped)
		w->stopped(vmid, w->userdata);
}

/* A .pid file appeared (a start) or was found (ctvmd's start). */
static void watch_init(struct watch *w, long vmid)
{
	struct ident init, mon;
	if (read_idents(&w->env, vmid, &init, &mon) < 0)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].vmid == vmid && !w->e[i].monitor) {
			if (ident_alive(&init))
				return; /* watched already (a rewrite of the same file) */
			watch_drop(w, i);
			break;
		}
	int fd = open_ident(&init);
	if (fd >= 0)
		watch_add(w, vmid, fd, false);
	else
		watch_finish(w, vmid);
}

static void watch_exited(struct watch *w, size_t i)
{
	long vmid = w->e[i].vmid;
	bool monitor = w->e[i].monitor;
	watch_drop(w, i);
	struct ident init, mon;
	if (!monitor && read_idents(&w->env, vmid, &init, &mon) == 0) {
		/* the monitor removes the cgroups and veths, then exits */
		int fd = open_ident(&mon);
		if (fd >= 0) {
			watch_add(w, vmid, fd, true);
			return;
		}
	}
	watch_finish(w, vmid);
}

/* "<vmid><suffix>" (".pid", ".cleanup") */
static bool vmid_name(const char *name, const char *suffix, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(name, &end, 10);
	if (errno || end == name || !isdigit((unsigned char)name[0]) || !streq(end, suffix) ||
	    !vmid_ok(v))
		return false;
	*ret = v;
	return true;
}

static bool pid_name(const char *name, long *ret)
{
	return vmid_name(name, ".pid", ret);
}

static void watch_free(struct watch *w)
{
	if (w->ep >= 0)
		close(w->ep);
	if (w->in >= 0)
		close(w->in);
	if (w->quit >= 0)
		close(w->quit);
	free((char *)w->env.run_root);
	free((char *)w->env.cgroup_root);
	free(w->base);
	free(w->e);
	free(w);
}

static void *watch_thread(void *arg)
{
	struct watch *w = arg;
	DIR *d = opendir(w->base);
	if (d) {
		struct dirent *de;
		long vmid;
		while ((de = readdir(d)))
			if (pid_name(de->d_name, &vmid))
				watch_init(w, vmid);
			else if (vmid_name(de->d_name, ".cleanup", &vmid))
				report_notes(&w->env, vmid);
		closedir(d);
	}
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(w->ep, ev, ARRAY_SIZE(ev), -1);
		if (n < 0 && errno != EINTR) {
			log_error("lxc watch: epoll_wait: %m");
			return NULL;
		}
		for (int k = 0; k < n; k++) {
			if (ev[k].data.fd == w->quit)
				return NULL;
			if (ev[k].data.fd == w->in) {
				char buf[4096]
				    __attribute__((aligned(__alignof__(struct inotify_event))));
				ssize_t len = read(w->in, buf, sizeof(buf));
				for (ssize_t off = 0; len > 0 && off < len;) {
					const struct inotify_event *ie = (void *)(buf + off);
					long vmid;
					if (ie->len && pid_name(ie->name, &vmid))
						watch_init(w, vmid);
					/* a stop's detached cleanup that had a problem:
					 * to ctvmd.log now, not only to the next task
					 * of the container (a reader more is at worst
					 * a report twice) */
					else if (ie->len && vmid_name(ie->name, ".cleanup", &vmid))
						report_notes(&w->env, vmid);
					off += (ssize_t)sizeof(*ie) + ie->len;
				}
				continue;
			}
			for (size_t i = 0; i < w->n; i++)
				if (w->e[i].fd == ev[k].data.fd) {
					watch_exited(w, i);
					break;
				}
		}
	}
	return NULL;
}

int lxc_run_watch_start(const struct lxc_run_env *env, void (*stopped)(long vmid, void *userdata),
                        void *userdata)
{
	if (the_watch)
		return -EALREADY;
	struct watch *w = xcalloc(1, sizeof(*w));
	w->ep = w->in = w->quit = -1;
	w->env.run_root = xstrdup(env->run_root);
	w->env.cgroup_root = env->cgroup_root ? xstrdup(env->cgroup_root) : NULL;
	w->base = base_dir(env);
	w->stopped = stopped;
	w->userdata = userdata;
	int r = mkdir_p(w->base, 0755);
	if (r < 0)
		goto fail;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->quit = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ep < 0 || w->in < 0 || w->quit < 0 ||
	    inotify_add_watch(w->in, w->base, IN_MOVED_TO | IN_CLOSE_WRITE) < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->in,
	              &(struct epoll_event){.events = EPOLLIN, .data.fd = w->in}) < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->quit,
	              &(struct epoll_event){.events = EPOLLIN, .data.fd = w->quit}) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = -pthread_create(&w->thread, NULL, watch_thread, w)) < 0)
		goto fail;
	the_watch = w;
	return 0;
fail:
	watch_free(w);
	return r;
}

void lxc_run_watch_stop(void)
{
	struct watch *w = the_watch;
	if (!w)
		return;
	uint64_t one = 1;
	if (write(w->quit, &one, sizeof(one)) == sizeof(one))
		pthread_join(w->thread, NULL);
	else
		pthread_detach(w->thread); /* cannot happen; never free what it uses */
	the_watch = NULL;
	while (w->n)
		watch_drop(w, w->n - 1);
	watch_free(w);
}
