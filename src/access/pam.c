/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pam realm's password check (pve-api.md 3.2): pam_authenticate then
 * pam_acct_mgmt, every prompt answered with the password.
 *
 * PAM modules keep global state and are not thread-safe, and a module can
 * hang (a network directory that does not answer, a pam_exec script).  So
 * each check runs in a process of its own with a deadline: when it has not
 * answered by then it is killed with its whole process group (whatever PAM
 * started) and the check fails.  No lock is held while PAM runs, so one hung
 * module never stalls other logins; only the number of checks at once is
 * bounded (each may compute a memory-hard hash).  PAM's own failure delay
 * (pam_unix asks for 2 s) is replaced by a no-op: ctvm delays failed logins
 * itself without holding a thread.
 *
 * That process is this very program again (/proc/self/exe), started with
 * posix_spawn and the helper arguments below, never a fork() that goes on
 * running library code: a fork of a threaded process inherits every lock
 * another thread held at that moment, and an allocator that does not reset
 * its locks at fork (ASan's does not) then hangs the copy in its first
 * malloc.  The helper mode sits in a constructor, so every program that
 * links the check can serve as its own helper without a word in its main().
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "xalloc.h"

#define PAM_USER_MAX     256
#define PAM_PASSWORD_MAX 4096
#define PAM_TIMEOUT_MS   10000 /* the default deadline of one check */
#define PAM_CHILDREN_MAX 4     /* checks at once */
#define PAM_REAP_WAIT_MS 1000  /* for what a killed check had started */
#define PAM_TREE_MAX     64    /* processes of a killed check we look for */

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pam_confdir;                        /* NULL: /etc/pam.d; under conf_lock */
static unsigned pam_timeout_ms = PAM_TIMEOUT_MS; /* under conf_lock */

static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t children_free; /* CLOCK_MONOTONIC, set up once */
static pthread_once_t children_once = PTHREAD_ONCE_INIT;
static unsigned children;

void auth_pam_set_confdir(const char *dir)
{
	pthread_mutex_lock(&conf_lock);
	free(pam_confdir);
	pam_confdir = dir ? xstrdup(dir) : NULL;
	pthread_mutex_unlock(&conf_lock);
}

void auth_pam_set_timeout_ms(unsigned ms)
{
	pthread_mutex_lock(&conf_lock);
	pam_timeout_ms = ms ? ms : PAM_TIMEOUT_MS;
	pthread_mutex_unlock(&conf_lock);
}

/* Answers password prompts (echo off and on) with the password and ignores
 * messages.  PAM frees the responses, so they are plain malloc copies. */
static int conversation(int n, const struct pam_message **msgs, struct pam_response **ret,
                        void *appdata)
{
	const char *password = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));
	if (!resp)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msgs[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			resp[i].resp = strdup(password);
			if (!resp[i].resp)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*ret = resp;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (resp[i].resp) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
	return PAM_CONV_ERR;
}

static void no_fail_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static bool valid_user(const char *user)
{
	size_t len = strnlen(user, PAM_USER_MAX + 1);
	if (len == 0 || len > PAM_USER_MAX)
		return false;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int pam_fail(struct error **err, const char *user, const char *why)
{
	log_debug("pam authentication of '%s' failed: %s", user ? user : "", why);
	return error_set(err, -EACCES, 401, "authentication failure");
}

/* Runs one PAM transaction (in the child). */
static int pam_check_once(const char *service, const char *user, const char *password,
                          const char *rhost, const char *confdir, const char **why)
{
	struct pam_conv conv = {conversation, (void *)password};
	pam_handle_t *pamh = NULL;
	int r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	if (r != PAM_SUCCESS) {
		*why = "pam_start failed";
		return r;
	}
	r = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);
	if (r == PAM_SUCCESS && rhost)
		r = pam_set_item(pamh, PAM_RHOST, rhost);
	if (r != PAM_SUCCESS) {
		*why = "pam_set_item failed";
	} else {
		r = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
		if (r != PAM_SUCCESS) {
			*why = pam_strerror(pamh, r);
		} else {
			/* Locked, expired, and expired-password (NEW_AUTHTOK_REQD)
			 * accounts all end here: no way to change it over the API. */
			r = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
			if (r != PAM_SUCCESS)
				*why = pam_strerror(pamh, r);
		}
	}
	pam_end(pamh, r);
	return r;
}

/* What the child writes to its pipe: one write, well under PIPE_BUF. */
struct pam_answer {
	int r;
	char why[200];
};

/*
 * The helper: argv is {exe, PAM_HELPER_ARG, service, user, rhost, confdir}
 * (an empty rhost or confdir for none), the password comes on stdin up to
 * EOF, and the answer goes to descriptor PAM_HELPER_FD as one struct
 * pam_answer.  It leaves with _exit(): nothing of the program it borrowed
 * runs, neither its main() nor its exit handlers.
 */
#define PAM_HELPER_ARG "--ctvm-pam-check"
#define PAM_HELPER_FD  3

static _Noreturn void pam_helper(char **argv)
{
	struct pam_answer a = {.r = PAM_ABORT};
	const char *why = "bad helper input";
	/* commands PAM runs (pam_exec) get neither the password nor the answer */
	fcntl(PAM_HELPER_FD, F_SETFD, FD_CLOEXEC);
	static char password[PAM_PASSWORD_MAX + 2];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(password) - 1 &&
	       ((n = read(STDIN_FILENO, password + len, sizeof(password) - 1 - len)) > 0 ||
	        (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (len > 0 && len <= PAM_PASSWORD_MAX && !memchr(password, 0, len) &&
	    valid_user(argv[3])) {
		password[len] = 0;
		a.r = pam_check_once(argv[2], argv[3], password, *argv[4] ? argv[4] : NULL,
		                     *argv[5] ? argv[5] : NULL, &why);
	}
	explicit_bzero(password, sizeof(password));
	snprintf(a.why, sizeof(a.why), "%s", why ? why : "unknown");
	do
		n = write(PAM_HELPER_FD, &a, sizeof(a));
	while (n < 0 && errno == EINTR);
	_exit(0);
}

/* glibc passes main's arguments to constructors too. */
__attribute__((constructor)) static void pam_helper_check(int argc, char **argv, char **envp)
{
	if (argc == 6 && argv && argv[1] && streq(argv[1], PAM_HELPER_ARG))
		pam_helper(argv);
}

static void children_init(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&children_free, &attr);
	pthread_condattr_destroy(&attr);
}

static long long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* A free child slot by the deadline. */
static bool child_take(const struct timespec *deadline)
{
	pthread_once(&children_once, children_init);
	pthread_mutex_lock(&children_lock);
	int r = 0;
	while (children >= PAM_CHILDREN_MAX && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&children_free, &children_lock, deadline);
	bool ok = children < PAM_CHILDREN_MAX;
	if (ok)
		children++;
	pthread_mutex_unlock(&children_lock);
	return ok;
}

static void child_give(void)
{
	pthread_mutex_lock(&children_lock);
	children--;
	pthread_cond_signal(&children_free);
	pthread_mutex_unlock(&children_lock);
}

/* Reads the child's answer by the deadline; false on timeout, EOF or a
 * short answer. */
static bool read_answer(int fd, const struct timespec *deadline, struct pam_answer *a)
{
	size_t got = 0;
	while (got < sizeof(*a)) {
		long long left = ms_left(deadline);
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		ssize_t n = read(fd, (char *)a + got, sizeof(*a) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Stops pid and, depth first, its descendants (each stopped before its
 * children are read, so few can fork behind our back), adding their pids to
 * v.  Best effort and bounded: a module's command may have left the
 * child's process group (pam_exec starts a session of its own). */
static void stop_tree(pid_t pid, pid_t *v, size_t *n)
{
	if (*n >= PAM_TREE_MAX || kill(pid, SIGSTOP) < 0)
		return;
	v[(*n)++] = pid;
	_cleanup_free_ char *tasks = xasprintf("/proc/%d/task", (int)pid);
	DIR *d = opendir(tasks);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s/children", tasks, de->d_name);
		_cleanup_free_ char *list = NULL;
		if (read_file(path, 65536, &list, NULL, NULL) < 0)
			continue;
		for (char *p = list, *end; *p; p = end) {
			long child = strtol(p, &end, 10);
			if (end == p)
				break;
			if (child > 0)
				stop_tree((pid_t)child, v, n);
		}
	}
	closedir(d);
}

/* Kills the child, its process group and what it started; reaps the
 * child, and whatever of the rest came back to us (ctvmd is a child
 * subreaper) for a while. */
static void kill_child(pid_t pid)
{
	pid_t tree[PAM_TREE_MAX];
	size_t n = 0;
	stop_tree(pid, tree, &n);
	kill(-pid, SIGKILL);
	for (size_t i = 0; i < n; i++)
		kill(tree[i], SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	for (int waited = 0; waited < PAM_REAP_WAIT_MS; waited += 10) {
		bool pending = false;
		for (size_t i = 1; i < n; i++) {
			if (!tree[i])
				continue;
			pid_t r = waitpid(tree[i], NULL, WNOHANG);
			if (r == 0 || (r < 0 && errno == EINTR))
				pending = true; /* ours, not dead yet */
			else
				tree[i] = 0; /* reaped, or someone else's to reap */
		}
		pid_t r;
		while ((r = waitpid(-pid, NULL, WNOHANG)) > 0)
			;
		if (r == 0)
			pending = true;
		if (!pending)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Moves fd to a descriptor >= 10, close-on-exec. */
static int fd_above(int *fd)
{
	int n = fcntl(*fd, F_DUPFD_CLOEXEC, 10);
	if (n < 0)
		return -errno;
	close(*fd);
	*fd = n;
	return 0;
}

/*
 * Starts the helper for one check: the password on its stdin, its answer
 * back on *answer_fd.  Every end starts at 10 or above, so no dup2 below
 * lands on itself and keeps close-on-exec.  Returns 0 or a negative errno.
 */
static int helper_spawn(const char *service, const char *user, const char *password,
                        const char *rhost, const char *confdir, pid_t *pid, int *answer_fd)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	int r = pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ? -errno : 0;
	for (int i = 0; i < 2 && r == 0; i++) {
		r = fd_above(&in[i]);
		if (r == 0)
			r = fd_above(&out[i]);
	}
	/* the password goes in before the helper starts: far below a pipe's
	 * capacity, so the write never waits */
	size_t len = strlen(password);
	if (r == 0 && write(in[1], password, len) != (ssize_t)len)
		r = -EIO;
	if (r == 0) {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], PAM_HELPER_FD);
		posix_spawn_file_actions_addclosefrom_np(&fa, PAM_HELPER_FD + 1);
		/* its own process group (the deadline kills the group), default
		 * signals and none blocked: what PAM starts inherits them */
		sigset_t all, none;
		sigfillset(&all);
		sigemptyset(&none);
		posix_spawnattr_init(&at);
		posix_spawnattr_setsigdefault(&at, &all);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setpgroup(&at, 0);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
		                                  POSIX_SPAWN_SETSIGMASK);
		char *const argv[] = {"ctvm-pam-check",
		                      PAM_HELPER_ARG,
		                      (char *)service,
		                      (char *)user,
		                      (char *)(rhost ? rhost : ""),
		                      (char *)(confdir ? confdir : ""),
		                      NULL};
		/* this very binary, even when an upgrade replaced the file */
		r = -posix_spawn(pid, "/proc/self/exe", &fa, &at, argv, environ);
		posix_spawnattr_destroy(&at);
		posix_spawn_file_actions_destroy(&fa);
	}
	for (int i = 0; i < 2; i++)
		if (in[i] >= 0)
			close(in[i]);
	if (out[1] >= 0)
		close(out[1]);
	if (r < 0) {
		if (out[0] >= 0)
			close(out[0]);
		return r;
	}
	*answer_fd = out[0];
	return 0;
}

/* One check in a helper by the deadline: PAM's result, or PAM_ABORT. */
static int pam_check_child(const char *service, const char *user, const char *password,
                           const char *rhost, const char *confdir, const struct timespec *deadline,
                           struct pam_answer *a)
{
	if (!child_take(deadline)) {
		snprintf(a->why, sizeof(a->why), "too many PAM checks at once");
		return PAM_ABORT;
	}
	int fd = -1;
	pid_t pid = -1;
	int r = helper_spawn(service, user, password, rhost, confdir, &pid, &fd);
	if (r < 0) {
		child_give();
		snprintf(a->why, sizeof(a->why), "cannot start the PAM helper: %s", strerror(-r));
		return PAM_ABORT;
	}
	if (read_answer(fd, deadline, a)) {
		r = a->r;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else {
		r = PAM_ABORT;
		snprintf(a->why, sizeof(a->why), "%s",
		         ms_left(deadline) <= 0 ? "timed out" : "check ended without an answer");
		kill_child(pid);
	}
	close(fd);
	child_give();
	return r;
}

int auth_pam_check(const char *service, const char *user, const char *password, const char *rhost,
                   struct error **err)
{
	if (!service)
		service = CTVM_PAM_SERVICE;
	if (!user || !valid_user(user))
		return pam_fail(err, NULL, "invalid user name");
	if (!password || !*password)
		return pam_fail(err, user, "empty password");
	if (strnlen(password, PAM_PASSWORD_MAX + 1) > PAM_PASSWORD_MAX)
		return pam_fail(err, user, "password too long");

	pthread_mutex_lock(&conf_lock);
	_cleanup_free_ char *confdir = pam_confdir ? xstrdup(pam_confdir) : NULL;
	unsigned timeout_ms = pam_timeout_ms;
	pthread_mutex_unlock(&conf_lock);
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}

	struct pam_answer a = {0};
	if (pam_check_child(service, user, password, rhost, confdir, &deadline, &a) != PAM_SUCCESS)
		return pam_fail(err, user, a.why);
	return 0;
}
