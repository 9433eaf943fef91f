/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pam realm's password check (pve-api.md 3.2): pam_authenticate then
 * pam_acct_mgmt, every prompt answered with the password.
 *
 * PAM modules keep global state and are not thread-safe, and a module can
 * hang (a network directory that does not answer, a pam_exec script).  So
 * each check runs in a child process of its own, forked for it, and has a
 * deadline: when the child has not answered by then it is killed with its
 * whole process group (whatever PAM started) and the check fails.  No lock
 * is held while PAM runs, so one hung module never stalls other logins;
 * only the number of children at once is bounded (each is a fork of the
 * daemon and may compute a memory-hard hash).  PAM's own failure delay
 * (pam_unix asks for 2 s) is replaced by a no-op: ctvm delays failed logins
 * itself without holding a thread.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <signal.h>
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
 * The child: a copy of a threaded process, so it takes none of the
 * daemon's locks (no logging, no xalloc) and leaves with _exit().  Its own
 * process group lets the parent kill it together with what PAM starts.
 */
static _Noreturn void pam_child(int fd, const char *service, const char *user, const char *password,
                                const char *rhost, const char *confdir)
{
	setpgid(0, 0);
	/* commands PAM runs (pam_exec) start with default signals and only the
	 * descriptors they are given */
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	struct pam_answer a = {0};
	const char *why = "unknown";
	a.r = pam_check_once(service, user, password, rhost, confdir, &why);
	snprintf(a.why, sizeof(a.why), "%s", why ? why : "unknown");
	ssize_t n;
	do
		n = write(fd, &a, sizeof(a));
	while (n < 0 && errno == EINTR);
	_exit(0);
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

/* One check in a child by the deadline: PAM's result, or PAM_ABORT. */
static int pam_check_child(const char *service, const char *user, const char *password,
                           const char *rhost, const char *confdir, const struct timespec *deadline,
                           struct pam_answer *a)
{
	if (!child_take(deadline)) {
		snprintf(a->why, sizeof(a->why), "too many PAM checks at once");
		return PAM_ABORT;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(a->why, sizeof(a->why), "pipe: %s", strerror(errno));
		child_give();
		return PAM_ABORT;
	}
	/* no handler of ours may run in the child: it unblocks signals itself
	 * once it has reset them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		pam_child(fds[1], service, user, password, rhost, confdir);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		child_give();
		snprintf(a->why, sizeof(a->why), "fork: %s", strerror(fork_errno));
		return PAM_ABORT;
	}
	setpgid(pid, pid); /* as the child does: no window for kill(-pid) to miss */

	int r;
	if (read_answer(fds[0], deadline, a)) {
		r = a->r;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else {
		r = PAM_ABORT;
		snprintf(a->why, sizeof(a->why), "%s",
		         ms_left(deadline) <= 0 ? "timed out" : "check ended without an answer");
		kill_child(pid);
	}
	close(fds[0]);
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
