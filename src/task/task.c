/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The task manager: forks workers, hands out worker slots, learns of exits
 * through pidfds in one thread, keeps <dir>/active and <dir>/index.
 * docs/dev/TASKS.md describes the model.
 */
#define LOG_CATEGORY "task"
#include "common.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"
#include "strv.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

#define KILL_DELAY_MS 5000
/* A spare is started this long after the last was taken even while tasks
 * run, and this long after one died unused (a broken program is not
 * started in a loop). */
#define SPARE_DELAY_MS      1000
#define SPARE_BACKOFF_MS    10000
#define DEFAULT_MAX_WORKERS 4

static void entry_free(struct task_entry *e)
{
	if (!e)
		return;
	if (e->pidfd >= 0)
		close(e->pidfd);
	if (e->slot_fd >= 0)
		close(e->slot_fd);
	free(e->upid);
	upid_clear(&e->u);
	free(e);
}

static void wake_thread(struct task_manager *tm)
{
	uint64_t one = 1;
	ssize_t r _unused_ = write(tm->efd, &one, sizeof(one));
}

struct task_entry *task_live_find_locked(struct task_manager *tm, const char *upid)
{
	for (struct task_entry *e = tm->live; e; e = e->next)
		if (streq(e->upid, upid))
			return e;
	return NULL;
}

static void live_append_locked(struct task_manager *tm, struct task_entry *e)
{
	struct task_entry **p = &tm->live;
	while (*p)
		p = &(*p)->next;
	*p = e;
}

static void live_remove_locked(struct task_manager *tm, struct task_entry *e)
{
	for (struct task_entry **p = &tm->live; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			e->next = NULL;
			return;
		}
}

/* Gives free slots to waiting workers, oldest first. */
static void dispatch_locked(struct task_manager *tm)
{
	for (struct task_entry *e = tm->live; e && tm->nrunning < tm->max_workers; e = e->next) {
		if (e->slot_fd < 0)
			continue;
		char go = 'g';
		ssize_t n = send(e->slot_fd, &go, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(e->slot_fd);
		e->slot_fd = -1;
		/* a worker that is already gone takes no slot; its exit is on the way */
		if (n == 1) {
			e->has_slot = true;
			tm->nrunning++;
		}
	}
}

static bool has_waiting_locked(struct task_manager *tm)
{
	for (struct task_entry *e = tm->live; e; e = e->next)
		if (e->slot_fd >= 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* The state files; callers hold the state lock.                      */

static int count_lines(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[65536];
	int lines = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	return lines;
}

static int index_append_locked(struct task_manager *tm, const char *upid, time_t endtime,
                               const char *status, struct error **err)
{
	size_t slen = strlen(status);
	if (slen > TASK_ERROR_MAX)
		slen = TASK_ERROR_MAX;
	_cleanup_free_ char *line =
	    xasprintf("%s %08X %.*s\n", upid, (unsigned)endtime, (int)slen, status);
	_cleanup_close_ int fd =
	    open(tm->index_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open '%s' - %s", tm->index_path,
		                 strerror(errno));
	int r = write_full(fd, line, strlen(line));
	if (r < 0)
		return error_set(err, r, 500, "unable to write '%s' - %s", tm->index_path,
		                 strerror(-r));
	/* like Proxmox: keep the current index short, one older generation */
	if (count_lines(tm->index_path) > TASK_INDEX_MAX_LINES &&
	    rename(tm->index_path, tm->index1_path) < 0)
		return error_set(err, -errno, 500, "unable to rotate '%s' - %s", tm->index_path,
		                 strerror(errno));
	return 0;
}

/* Rewrites active without `remove` and with `add` appended. */
static int active_update_locked(struct task_manager *tm, const char *add, const char *remove,
                                struct error **err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_error_ struct error *rerr = NULL;
	int r = read_file(tm->active_path, TASK_STATE_FILE_MAX, &data, NULL, &rerr);
	if (r < 0 && r != -ENOENT) {
		error_propagate(err, TAKE_PTR(rerr));
		return r;
	}

	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		next = next ? next + 1 : line + len;
		size_t tok = strcspn(line, " \n");
		if (tok == 0)
			continue;
		if (remove && tok == strlen(remove) && strncmp(line, remove, tok) == 0)
			continue;
		strbuf_add(&out, line, len);
		strbuf_addch(&out, '\n');
	}
	if (add) {
		strbuf_addstr(&out, add);
		strbuf_addch(&out, '\n');
	}
	/* no fsync: after a host crash no task is running, whatever the file says */
	return write_file_atomic_full(tm->active_path, out.buf, out.len, 0640, WRITE_FILE_NO_SYNC,
	                              err);
}

/*
 * The status of an ended task from its log's last line.  When the worker
 * left no final line (killed, crashed, gone while the daemon was down) the
 * log is completed with a note and "TASK ERROR: unexpected status", so that
 * every reader of the log sees how it ended.  si: how our child ended, or
 * NULL when unknown.  ret_mtime (optional): the log's last change before.
 */
static char *complete_log(const char *path, const siginfo_t *si, time_t *ret_mtime)
{
	_cleanup_free_ char *last = NULL;
	char *status = NULL;
	struct stat st;
	if (ret_mtime)
		*ret_mtime = stat(path, &st) == 0 ? st.st_mtime : time(NULL);
	if (task_log_last_line(path, &last) == 0) {
		if (task_status_from_line(last, &status))
			return status;
		free(status);
	}

	_cleanup_free_ char *note = NULL;
	if (si && (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)) {
		const char *name = sigabbrev_np(si->si_status);
		note = name ? xasprintf("worker killed by signal SIG%s", name)
		            : xasprintf("worker killed by signal %d", si->si_status);
	} else if (si && si->si_code == CLD_EXITED) {
		note =
		    xasprintf("worker exited with code %d without a final status", si->si_status);
	} else {
		note = xstrdup("worker ended without a final status");
	}

	_cleanup_close_ int fd =
	    open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0) {
		/* a half-written last line gets its newline first */
		char c = '\n';
		off_t size = lseek(fd, 0, SEEK_END);
		bool need_nl = size > 0 && pread(fd, &c, 1, size - 1) == 1 && c != '\n';
		_cleanup_free_ char *text =
		    xasprintf("%s%s\nTASK ERROR: unexpected status\n", need_nl ? "\n" : "", note);
		(void)write_full(fd, text, strlen(text));
	}
	return xstrdup("unexpected status");
}

/* Moves a task from active to index. */
static void archive(struct task_manager *tm, const char *upid, time_t endtime, const char *status)
{
	_cleanup_error_ struct error *err = NULL;
	int lfd = lock_file(tm->active_path, TASK_LOCK_TIMEOUT_MS, &err);
	/* without the lock: appending is still atomic, and a stale active line
	 * is dropped by the next recovery because index holds the UPID */
	if (index_append_locked(tm, upid, endtime, status, &err) < 0 ||
	    (lfd >= 0 && active_update_locked(tm, NULL, upid, &err) < 0))
		log_debug("archiving task '%s' failed: %s", upid, err ? err->msg : "?");
	unlock_file(lfd);
}

/* ------------------------------------------------------------------ */
/* The exit thread                                                     */

static void finish_entry(struct task_manager *tm, struct task_entry *e)
{
	siginfo_t si = {0};
	/* our child: reap it and learn how it ended; after a restart the
	 * worker is not our child (ECHILD) and only the exit is known */
	bool have_si = waitid((idtype_t)P_PIDFD, (id_t)e->pidfd, &si, WEXITED | WNOHANG) == 0 &&
	               si.si_pid != 0;
	_cleanup_free_ char *path = task_log_path(tm->dir, e->upid, e->u.starttime);
	_cleanup_free_ char *status = complete_log(path, have_si ? &si : NULL, NULL);
	if (tm->ended)
		tm->ended(tm->ended_userdata);
	archive(tm, e->upid, time(NULL), status);
	log_debug("task '%s' ended: %s", e->upid, status);

	pthread_mutex_lock(&tm->lock);
	live_remove_locked(tm, e);
	if (e->has_slot)
		tm->nrunning--;
	dispatch_locked(tm);
	pthread_cond_broadcast(&tm->cond);
	pthread_mutex_unlock(&tm->lock);
	entry_free(e);
}

static int64_t ms_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------------ */
/* The spare worker (task.h, worker_argv)                              */

extern char **environ;

static void timespec_add_ms(struct timespec *t, int64_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* Under tm->lock: the next spare is due in ms from now. */
static void spare_want_locked(struct task_manager *tm, int64_t ms)
{
	tm->spare_wanted = true;
	clock_gettime(CLOCK_MONOTONIC, &tm->spare_due);
	timespec_add_ms(&tm->spare_due, ms);
}

/* Ends a spare that never became a task: the end of its socket makes it
 * exit at once, whatever it was doing. */
static void spare_retire(struct task_spare *sp)
{
	if (!sp->pid)
		return;
	close(sp->sock);
	close(sp->pidfd);
	while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
		;
	*sp = (struct task_spare){0};
}

/*
 * Starts a spare: worker_argv with "--task-spare --max-log-bytes N", its
 * socket as TASK_SPARE_FD, /dev/null as 0-2, nothing else open, its own
 * session, default signal dispositions and an empty mask.  posix_spawn():
 * the child only execs, so nothing of this threaded process runs in it.
 */
static int spare_spawn(struct task_manager *tm, struct task_spare *ret)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* above the targets, so no dup2 source is also a target */
	int hi = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
	close(sv[1]);
	if (hi < 0) {
		int r = -errno;
		close(sv[0]);
		return r;
	}
	_cleanup_strv_free_ char **argv = strv_copy(tm->worker_argv);
	strv_extend(&argv, "--task-spare");
	strv_extend(&argv, "--max-log-bytes");
	strv_push(&argv, xasprintf("%" PRIu64, tm->max_log_bytes));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, STDIN_FILENO, STDERR_FILENO);
	posix_spawn_file_actions_adddup2(&fa, hi, TASK_SPARE_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, TASK_SPARE_FD + 1);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                  POSIX_SPAWN_SETSID);
	pid_t pid;
	int r = -posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(hi);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	struct task_spare sp = {.pid = pid, .sock = sv[0], .pidfd = pidfd_open(pid, 0)};
	if (sp.pidfd < 0 || proc_pid_starttime(pid, &sp.pstart) < 0) {
		r = sp.pidfd < 0 ? -errno : -ESRCH;
		if (sp.pidfd < 0)
			sp.pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		spare_retire(&sp);
		return r;
	}
	*ret = sp;
	return 0;
}

/*
 * Makes the spare the task's worker: its type, then its log and a memfd of
 * its arguments as descriptors, in one message.  The spare reads it when its
 * program is ready; -EPIPE (or another error) means it is gone.
 */
static int spare_become(int sock, const char *type, int log_fd, const char *args_text)
{
	int afd = memfd_create("task-args", MFD_CLOEXEC);
	int r = afd < 0 ? -errno : write_full(afd, args_text, strlen(args_text));
	if (r == 0 && lseek(afd, 0, SEEK_SET) < 0)
		r = -errno;
	if (r < 0) {
		if (afd >= 0)
			close(afd);
		return r;
	}
	int fds[2] = {log_fd, afd};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(fds))];
	} ctl = {0};
	struct iovec iov = {.iov_base = (char *)type, .iov_len = strlen(type) + 1};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.b,
	                    .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	r = n == (ssize_t)iov.iov_len ? 0 : n < 0 ? -errno : -EIO;
	close(afd);
	return r;
}

/* Called by the exit thread without the locks: starts the spare if one is
 * wanted and due (or no task runs); returns the poll timeout to the next
 * due time, or -1. */
static int spare_tend(struct task_manager *tm)
{
	pthread_mutex_lock(&tm->lock);
	bool wanted = tm->spare_wanted && !tm->spare.pid && !tm->stopping;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t wait = wanted ? ms_between(&now, &tm->spare_due) : -1;
	bool now_ok = wanted && (wait <= 0 || (tm->nrunning == 0 && !tm->spare_backoff));
	pthread_mutex_unlock(&tm->lock);
	if (!wanted)
		return -1;
	if (!now_ok)
		return (int)wait + 1;

	struct task_spare sp;
	int r = spare_spawn(tm, &sp);
	pthread_mutex_lock(&tm->lock);
	if (r < 0) {
		log_warn("unable to start a spare worker - %s", strerror(-r));
		spare_want_locked(tm, SPARE_BACKOFF_MS);
		tm->spare_backoff = true;
	} else if (tm->stopping) {
		pthread_mutex_unlock(&tm->lock);
		spare_retire(&sp);
		return -1;
	} else {
		tm->spare = sp;
		tm->spare_wanted = false;
	}
	pthread_mutex_unlock(&tm->lock);
	return r < 0 ? SPARE_BACKOFF_MS : -1;
}

/* The exit thread saw the spare's pidfd: if it is still the spare (no task
 * took it meanwhile), it died unused. */
static void spare_died(struct task_manager *tm, pid_t pid)
{
	struct task_spare sp = {0};
	pthread_mutex_lock(&tm->lock);
	if (tm->spare.pid == pid) {
		sp = tm->spare;
		tm->spare = (struct task_spare){0};
		spare_want_locked(tm, SPARE_BACKOFF_MS);
		tm->spare_backoff = true;
	}
	pthread_mutex_unlock(&tm->lock);
	if (sp.pid) {
		log_warn("spare worker %d ended unused", (int)sp.pid);
		spare_retire(&sp);
	}
}

static void *exit_thread(void *userdata)
{
	struct task_manager *tm = userdata;
	for (;;) {
		int timeout = spare_tend(tm);
		pthread_rwlock_rdlock(&tm->fork_lock);
		pthread_mutex_lock(&tm->lock);
		if (tm->stopping) {
			pthread_mutex_unlock(&tm->lock);
			pthread_rwlock_unlock(&tm->fork_lock);
			break;
		}
		/* the spare's pidfd first: it ends only if it died unused */
		size_t n = 2;
		for (struct task_entry *e = tm->live; e; e = e->next)
			n++;
		struct pollfd *fds = xnew(struct pollfd, n);
		struct task_entry **ents = xnew(struct task_entry *, n);
		fds[0] = (struct pollfd){.fd = tm->efd, .events = POLLIN};
		pid_t spare_pid = tm->spare.pid;
		fds[1] = (struct pollfd){.fd = spare_pid ? tm->spare.pidfd : -1, .events = POLLIN};
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		size_t i = 2;
		for (struct task_entry *e = tm->live; e; e = e->next, i++) {
			fds[i] = (struct pollfd){.fd = e->pidfd, .events = POLLIN};
			ents[i] = e;
			if (e->kill_armed) {
				int64_t ms = ms_between(&now, &e->kill_at);
				ms = ms < 0 ? 0 : ms + 1;
				if (timeout < 0 || ms < timeout)
					timeout = (int)ms;
			}
		}
		pthread_mutex_unlock(&tm->lock);
		pthread_rwlock_unlock(&tm->fork_lock);

		/* entries leave the list only here (or after this thread
		 * ended), so ents stays valid without the lock */
		int r = poll(fds, (nfds_t)n, timeout);
		if (r > 0 && fds[0].revents) {
			uint64_t v;
			ssize_t rd _unused_ = read(tm->efd, &v, sizeof(v));
		}

		pthread_rwlock_rdlock(&tm->fork_lock);
		pthread_mutex_lock(&tm->lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (struct task_entry *e = tm->live; e; e = e->next)
			if (e->kill_armed && ms_between(&now, &e->kill_at) <= 0) {
				e->kill_armed = false;
				pidfd_send_signal(e->pidfd, SIGKILL, NULL, 0);
			}
		bool stopping = tm->stopping;
		pthread_mutex_unlock(&tm->lock);

		if (r > 0 && !stopping && spare_pid && fds[1].revents)
			spare_died(tm, spare_pid);
		for (i = 2; r > 0 && !stopping && i < n; i++)
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
				finish_entry(tm, ents[i]);
		free(fds);
		free(ents);
		pthread_rwlock_unlock(&tm->fork_lock);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Recovery                                                            */

static bool index_has(const struct task_index_entry *idx, size_t n, const char *upid)
{
	for (size_t i = 0; i < n; i++)
		if (streq(idx[i].upid, upid))
			return true;
	return false;
}

/* Each UPID of active is either still running (same pid, same start time:
 * watch it again) or ended while nobody watched (archive it now). */
static int recover(struct task_manager *tm, struct error **err)
{
	int lfd = lock_file(tm->active_path, TASK_LOCK_TIMEOUT_MS, err);
	if (lfd < 0)
		return lfd;

	_cleanup_free_ char *data = NULL;
	_cleanup_error_ struct error *rerr = NULL;
	int r = read_file(tm->active_path, TASK_STATE_FILE_MAX, &data, NULL, &rerr);
	if (r == -ENOENT) {
		unlock_file(lfd);
		return 0;
	}
	if (r < 0) {
		unlock_file(lfd);
		error_propagate(err, TAKE_PTR(rerr));
		return r;
	}

	struct task_index_entry *idx = NULL;
	size_t nidx = 0;
	task_index_load(tm, &idx, &nidx, NULL);

	_cleanup_strbuf_ struct strbuf keep = STRBUF_INIT;
	for (char *line = data, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		line[strcspn(line, " ")] = '\0';
		struct upid u;
		if (upid_parse(line, &u) < 0)
			continue;
		if (index_has(idx, nidx, line) || task_live_find_locked(tm, line)) {
			upid_clear(&u);
			continue;
		}
		int pidfd = pidfd_open(u.pid, 0);
		uint64_t pstart;
		if (pidfd >= 0 && proc_pid_starttime(u.pid, &pstart) == 0 && pstart == u.pstart) {
			struct task_entry *e = xnew(struct task_entry, 1);
			*e = (struct task_entry){
			    .upid = xstrdup(line),
			    .u = u,
			    .pidfd = pidfd,
			    .slot_fd = -1,
			    .has_slot = true,
			};
			live_append_locked(tm, e);
			tm->nrunning++;
			strbuf_addf(&keep, "%s\n", line);
			log_debug("recovered running task '%s'", line);
			continue;
		}
		if (pidfd >= 0)
			close(pidfd);
		_cleanup_free_ char *path = task_log_path(tm->dir, line, u.starttime);
		time_t endtime;
		_cleanup_free_ char *status = complete_log(path, NULL, &endtime);
		_cleanup_error_ struct error *aerr = NULL;
		if (index_append_locked(tm, line, endtime, status, &aerr) < 0)
			log_debug("archiving task '%s' failed: %s", line, aerr->msg);
		log_debug("task '%s' ended while not watched: %s", line, status);
		upid_clear(&u);
	}
	task_index_free(idx, nidx);

	r = write_file_atomic_full(tm->active_path, keep.buf, keep.len, 0640, WRITE_FILE_NO_SYNC,
	                           err);
	unlock_file(lfd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */

struct task_manager *task_manager_new(const struct task_manager_config *cfg, struct error **err)
{
	if (!cfg->node || !upid_node_valid(cfg->node, strlen(cfg->node))) {
		error_set(err, -EINVAL, 500, "invalid node name '%s'", cfg->node ? cfg->node : "");
		return NULL;
	}
	if (!cfg->dir || !*cfg->dir) {
		error_set(err, -EINVAL, 500, "no task directory");
		return NULL;
	}
	int r = mkdir_p(cfg->dir, 0755);
	for (unsigned i = 0; r == 0 && i < 16; i++) {
		_cleanup_free_ char *sub = xasprintf("%s/%X", cfg->dir, i);
		if (mkdir(sub, 0755) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r < 0) {
		error_set(err, r, 500, "unable to create task directory '%s' - %s", cfg->dir,
		          strerror(-r));
		return NULL;
	}

	struct task_manager *tm = xnew(struct task_manager, 1);
	tm->node = xstrdup(cfg->node);
	tm->dir = xstrdup(cfg->dir);
	tm->active_path = path_join(cfg->dir, "active");
	tm->index_path = path_join(cfg->dir, "index");
	tm->index1_path = path_join(cfg->dir, "index.1");
	tm->max_workers = cfg->max_workers ? cfg->max_workers : DEFAULT_MAX_WORKERS;
	tm->max_log_bytes = cfg->max_log_bytes ? cfg->max_log_bytes : TASK_DEFAULT_MAX_LOG_BYTES;
	tm->ops = cfg->ops;
	tm->worker_argv = strv_copy((char *const *)cfg->worker_argv);
	tm->ended = cfg->ended;
	tm->ended_userdata = cfg->ended_userdata;
	pthread_mutex_init(&tm->lock, NULL);
	pthread_rwlock_init(&tm->fork_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tm->cond, &ca);
	pthread_condattr_destroy(&ca);

	tm->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tm->efd < 0) {
		error_set(err, -errno, 500, "unable to create eventfd - %s", strerror(errno));
		return task_manager_free(tm);
	}
	if (recover(tm, err) < 0)
		return task_manager_free(tm);
	if (tm->worker_argv)
		spare_want_locked(tm, 0); /* no thread yet: no lock needed */
	r = pthread_create(&tm->thread, NULL, exit_thread, tm);
	if (r != 0) {
		error_set(err, -r, 500, "unable to start the task thread - %s", strerror(r));
		return task_manager_free(tm);
	}
	tm->thread_started = true;
	return tm;
}

struct task_manager *task_manager_free(struct task_manager *tm)
{
	if (!tm)
		return NULL;
	if (tm->thread_started) {
		pthread_mutex_lock(&tm->lock);
		tm->stopping = true;
		pthread_mutex_unlock(&tm->lock);
		wake_thread(tm);
		pthread_join(tm->thread, NULL);
	}
	/* workers keep running (a daemon restart must not end them); closing a
	 * waiting worker's socket makes it end with an error, and the next
	 * manager finds all of them in active */
	spare_retire(&tm->spare);
	while (tm->live) {
		struct task_entry *e = tm->live;
		tm->live = e->next;
		entry_free(e);
	}
	if (tm->efd >= 0)
		close(tm->efd);
	pthread_cond_destroy(&tm->cond);
	pthread_mutex_destroy(&tm->lock);
	pthread_rwlock_destroy(&tm->fork_lock);
	free(tm->node);
	free(tm->dir);
	free(tm->active_path);
	free(tm->index_path);
	free(tm->index1_path);
	strv_free(tm->worker_argv);
	free(tm);
	return NULL;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool field_ok(const char *s, bool allow_empty)
{
	return s && upid_field_valid(s, strlen(s), allow_empty) && !has_control_chars(s);
}

/* The child has not started anything: EOF on its socket ends it at once. */
static void abort_child(pid_t pid, int *sock)
{
	if (*sock >= 0)
		close(*sock);
	*sock = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

pid_t task_manager_spare_pid(struct task_manager *tm)
{
	pthread_mutex_lock(&tm->lock);
	pid_t pid = tm->spare.pid;
	pthread_mutex_unlock(&tm->lock);
	return pid;
}

/* Under tm->lock: the spare, if there is one and it can take type. */
static bool spare_take_locked(struct task_manager *tm, const char *type, struct task_spare *ret)
{
	if (!tm->spare.pid || strlen(type) > TASK_SPARE_TYPE_MAX)
		return false;
	*ret = tm->spare;
	tm->spare = (struct task_spare){0};
	tm->spare_backoff = false;
	spare_want_locked(tm, SPARE_DELAY_MS);
	return true;
}

/* Forks the child that waits for its start byte (task_child_main()). */
static int fork_child(struct task_manager *tm, struct task_child *c, pid_t *ret_pid, int *ret_sock,
                      struct error **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return error_set(err, -errno, 500, "unable to create socket pair - %s",
		                 strerror(errno));
	c->sock = sv[0];
	/* no signal may run one of the daemon's handlers in the child before
	 * it has installed its own: the child unblocks them itself */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_rwlock_wrlock(&tm->fork_lock);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[1]);
		task_child_main(c);
	}
	int fork_errno = errno;
	pthread_rwlock_unlock(&tm->fork_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[0]);
	if (pid < 0) {
		close(sv[1]);
		return error_set(err, -fork_errno, 500, "unable to fork worker - %s",
		                 strerror(fork_errno));
	}
	*ret_pid = pid;
	*ret_sock = sv[1];
	return 0;
}

/* Makes a worker for body (op/args and the exec fields) a task: the spare
 * when there is one (exec'd workers only), else a forked child. */
static int start_worker(struct task_manager *tm, const char *type, const char *id, const char *user,
                        const struct task_child *body, bool use_spare, char **ret_upid,
                        struct error **err)
{
	if (!id)
		id = "";
	if (!field_ok(type, false))
		return error_set(err, -EINVAL, 400, "invalid task type '%s'", type ? type : "");
	if (!field_ok(id, true))
		return error_set(err, -EINVAL, 400, "invalid task id '%s'", id);
	if (!field_ok(user, false))
		return error_set(err, -EINVAL, 400, "invalid task user '%s'", user ? user : "");

	struct task_child c = *body;
	c.dir = tm->dir;
	c.node = tm->node;
	c.type = type;
	c.id = id;
	c.user = user;
	c.starttime = time(NULL);
	c.max_log_bytes = tm->max_log_bytes;

	struct task_spare sp = {0};
	bool spare = false;
	if (use_spare && body->exec_argv) {
		pthread_mutex_lock(&tm->lock);
		spare = spare_take_locked(tm, type, &sp);
		pthread_mutex_unlock(&tm->lock);
		if (!spare)
			wake_thread(tm); /* none ready: the exit thread starts one */
	}
	pid_t pid = -1;
	int sock = -1, pidfd = -1, r;
	uint64_t pstart = 0;
	if (spare) {
		pid = sp.pid;
		sock = sp.sock;
		pidfd = sp.pidfd;
		pstart = sp.pstart;
	} else {
		r = fork_child(tm, &c, &pid, &sock, err);
		if (r < 0)
			return r;
		/* the child waits for our first byte, so its /proc entry is there */
		r = proc_pid_starttime(pid, &pstart);
		if (r < 0) {
			abort_child(pid, &sock);
			return error_set(err, r, 500, "unable to read start time of worker %d - %s",
			                 (int)pid, strerror(-r));
		}
		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0) {
			r = -errno;
			abort_child(pid, &sock);
			return error_set(err, r, 500, "unable to open pidfd of worker %d - %s",
			                 (int)pid, strerror(-r));
		}
	}

	struct task_entry *e = xnew(struct task_entry, 1);
	e->u = (struct upid){
	    .node = xstrdup(tm->node),
	    .pid = pid,
	    .pstart = pstart,
	    .starttime = c.starttime,
	    .type = xstrdup(type),
	    .id = xstrdup(id),
	    .user = xstrdup(user),
	};
	e->upid = upid_format(&e->u);
	e->pidfd = pidfd;
	e->slot_fd = -1;

	/* the log and the active line exist before anyone learns the UPID */
	_cleanup_free_ char *path = task_log_path(tm->dir, e->upid, c.starttime);
	const int lflags = O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	int lfd = open(path, lflags, 0640);
	if (lfd < 0 && errno == ENOENT) {
		_cleanup_free_ char *sub =
		    xasprintf("%s/%X", tm->dir, (unsigned)(c.starttime & 0xf));
		mkdir_p(sub, 0755);
		lfd = open(path, lflags, 0640);
	}
	if (lfd < 0) {
		r = error_set(err, -errno, 500, "unable to create task log '%s' - %s", path,
		              strerror(errno));
		abort_child(pid, &sock);
		entry_free(e);
		return r;
	}
	if (spare) {
		r = spare_become(sock, type, lfd, c.args_text);
		close(lfd);
		if (r < 0) {
			/* it died unused: the task is a forked worker after all */
			log_warn("spare worker %d gone (%s), forking one", (int)pid, strerror(-r));
			unlink(path);
			abort_child(pid, &sock);
			entry_free(e);
			return start_worker(tm, type, id, user, body, false, ret_upid, err);
		}
	} else {
		close(lfd);
	}
	int slock = lock_file(tm->active_path, TASK_LOCK_TIMEOUT_MS, err);
	r = slock < 0 ? slock : active_update_locked(tm, e->upid, NULL, err);
	unlock_file(slock);
	if (r < 0) {
		unlink(path);
		abort_child(pid, &sock);
		entry_free(e);
		return r;
	}

	pthread_mutex_lock(&tm->lock);
	char cmd = 'w';
	if (tm->nrunning < tm->max_workers && !has_waiting_locked(tm)) {
		cmd = 'g';
		e->has_slot = true;
		tm->nrunning++;
	}
	/* the child is blocked reading: one byte into an empty socket never
	 * blocks, and a vanished child is noticed through its pidfd */
	ssize_t n _unused_ = send(sock, &cmd, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (cmd == 'w')
		e->slot_fd = TAKE_FD(sock);
	else
		close(TAKE_FD(sock));
	live_append_locked(tm, e);
	*ret_upid = xstrdup(e->upid);
	wake_thread(tm);
	pthread_mutex_unlock(&tm->lock);
	return 0;
}

int task_start_op(struct task_manager *tm, const char *type, const char *id, const char *user,
                  const json_t *args, char **ret_upid, struct error **err)
{
	void *env = NULL;
	const struct task_op *op = type ? task_ops_find(tm->ops, type, &env) : NULL;
	if (!op)
		return error_set(err, -EINVAL, 500, "unknown task type '%s'", type ? type : "");
	int r = task_op_check_args(op, args, err);
	if (r < 0)
		return r;
	struct task_child body = {.op = op, .args = args, .env = env};
	if (!tm->worker_argv)
		return start_worker(tm, type, id, user, &body, true, ret_upid, err);

	/* built here, not in the child: it only execs what it is handed */
	_cleanup_free_ char *text = json_dumps(args, JSON_COMPACT);
	if (!text)
		return error_set(err, -ENOMEM, 500, "unable to encode the task's arguments");
	_cleanup_strv_free_ char **argv = strv_copy(tm->worker_argv);
	strv_extend(&argv, "--run-task-op");
	strv_extend(&argv, type);
	strv_extend(&argv, "--max-log-bytes");
	strv_push(&argv, xasprintf("%" PRIu64, tm->max_log_bytes));
	body.exec_argv = argv;
	body.args_text = text;
	return start_worker(tm, type, id, user, &body, true, ret_upid, err);
}

static int parse_or_fail(const char *upid, struct upid *u, struct error **err)
{
	if (!upid || upid_parse(upid, u) < 0)
		return error_param(err, "upid", "unable to parse worker upid");
	return 0;
}

static int check_log_exists(struct task_manager *tm, const char *upid, const struct upid *u,
                            struct error **err)
{
	_cleanup_free_ char *path = task_log_path(tm->dir, upid, u->starttime);
	if (access(path, F_OK) < 0)
		return error_set(err, -ENOENT, 400, "no such task");
	return 0;
}

int task_stop(struct task_manager *tm, const char *upid, struct error **err)
{
	struct upid u;
	int r = parse_or_fail(upid, &u, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&tm->lock);
	struct task_entry *e = task_live_find_locked(tm, upid);
	if (e && !e->stop_sent) {
		e->stop_sent = true;
		/* a pidfd cannot hit a recycled pid */
		pidfd_send_signal(e->pidfd, SIGTERM, NULL, 0);
		clock_gettime(CLOCK_MONOTONIC, &e->kill_at);
		e->kill_at.tv_sec += KILL_DELAY_MS / 1000;
		e->kill_armed = true;
		wake_thread(tm);
	}
	pthread_mutex_unlock(&tm->lock);
	if (!e)
		r = check_log_exists(tm, upid, &u, err);
	upid_clear(&u);
	return r;
}

int task_wait(struct task_manager *tm, const char *upid, int timeout_ms, struct error **err)
{
	struct upid u;
	int r = parse_or_fail(upid, &u, err);
	if (r < 0)
		return r;
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&tm->lock);
	while (task_live_find_locked(tm, upid)) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&tm->cond, &tm->lock);
		} else if (pthread_cond_timedwait(&tm->cond, &tm->lock, &deadline) == ETIMEDOUT &&
		           task_live_find_locked(tm, upid)) {
			r = error_set(err, -ETIMEDOUT, 500, "timeout waiting for task '%s'", upid);
			break;
		}
	}
	pthread_mutex_unlock(&tm->lock);
	if (r == 0)
		r = check_log_exists(tm, upid, &u, err);
	upid_clear(&u);
	return r;
}
