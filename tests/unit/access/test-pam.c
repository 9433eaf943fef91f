/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pam realm against a real host account that the test creates and
 * removes (root only; skipped otherwise): right password, wrong password,
 * unknown user, locked, expired, expired password, and a PAM module that
 * hangs.  The PAM service files live in a temporary confdir: the shipped
 * etc/pam.d/ctvm, a minimal one, and one whose module sleeps.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "xalloc.h"

#define PASSWORD "Corr3ct horse!"

static bool is_root;
static char *tmpdir, *confdir, *home;
static char user[33];
static bool user_created;
static char sleep_marker[32]; /* the argument of the hanging module's sleep */

/* Runs argv (no shell), feeding it stdin_data; returns the exit status. */
static int run(const char *const argv[], const char *stdin_data)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[0]);
	if (stdin_data) {
		size_t len = strlen(stdin_data);
		if (write(pfd[1], stdin_data, len) != (ssize_t)len)
			fprintf(stderr, "short write to %s\n", argv[0]);
	}
	close(pfd[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL}, NULL)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void copy_shipped_service(void)
{
	const char *src_root = getenv("CTVM_SOURCE_ROOT");
	assert_non_null(src_root);
	_cleanup_free_ char *src = xasprintf("%s/etc/pam.d/ctvm", src_root);
	_cleanup_free_ char *data = NULL;
	size_t len;
	assert_int_equal(read_file(src, 65536, &data, &len, NULL), 0);
	_cleanup_free_ char *dst = path_join(confdir, "ctvm");
	assert_int_equal(write_file_atomic(dst, data, len, 0644, NULL), 0);
}

static void cleanup(void);

static int setup_account(void)
{
	char tmpl[] = "/tmp/ctvm-test-pam-XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	tmpdir = xstrdup(tmpl);
	confdir = path_join(tmpdir, "pam.d");
	home = path_join(tmpdir, "home");
	if (mkdir(confdir, 0755) < 0)
		return -1;
	copy_shipped_service();
	static const char minimal[] = "auth required pam_unix.so\naccount required pam_unix.so\n";
	_cleanup_free_ char *mp = path_join(confdir, "ctvm-minimal");
	if (write_file_atomic(mp, minimal, strlen(minimal), 0644, NULL) < 0)
		return -1;
	/* What PAM falls back to for a service without a file.  (Without any,
	 * pam_start fails, and libpam 1.5.2 leaks on that path.) */
	static const char other[] = "auth required pam_deny.so\naccount required pam_deny.so\n";
	_cleanup_free_ char *op = path_join(confdir, "other");
	if (write_file_atomic(op, other, strlen(other), 0644, NULL) < 0)
		return -1;
	/* a module that hangs: pam_exec waits for a sleep far past the deadline */
	snprintf(sleep_marker, sizeof(sleep_marker), "20.%d", (int)getpid());
	_cleanup_free_ char *hang = xasprintf(
	    "auth required pam_exec.so quiet /usr/bin/sleep %s\naccount required pam_unix.so\n",
	    sleep_marker);
	_cleanup_free_ char *hp = path_join(confdir, "ctvm-hang");
	if (write_file_atomic(hp, hang, strlen(hang), 0644, NULL) < 0)
		return -1;
	auth_pam_set_confdir(confdir);

	unsigned rnd;
	auth_random_bytes(&rnd, sizeof(rnd));
	snprintf(user, sizeof(user), "ctvmt%d%04x", (int)getpid(), rnd & 0xffff);
	if (RUN("useradd", "-m", "-d", home, "-s", "/usr/sbin/nologin", user) != 0)
		return -1;
	user_created = true;
	_cleanup_free_ char *line = xasprintf("%s:%s\n", user, PASSWORD);
	if (run((const char *const[]){"chpasswd", NULL}, line) != 0)
		return -1;
	return 0;
}

static int group_setup(void **state)
{
	/* Keeps libcrypt linked in from the start, as it is in ctvmd: ASan's
	 * crypt_r interceptor calls NULL when pam_unix is the first to load it. */
	free(auth_password_hash("x"));

	is_root = geteuid() == 0;
	if (!is_root)
		return 0;
	if (setup_account() < 0) {
		cleanup();
		return -1;
	}
	return 0;
}

/* Idempotent; the account is removed even when a test failed. */
static void cleanup(void)
{
	if (user_created && RUN("userdel", "-r", user) != 0)
		fprintf(stderr, "unable to remove test account '%s'\n", user);
	user_created = false;
	auth_pam_set_confdir(NULL);
	if (tmpdir)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(tmpdir);
	free(confdir);
	free(home);
	tmpdir = confdir = home = NULL;
}

static int group_teardown(void **state)
{
	cleanup();
	return 0;
}

static int check(const char *service, const char *name, const char *password)
{
	struct error *err = NULL;
	int r = auth_pam_check(service, name, password, "192.0.2.7", &err);
	if (r < 0) {
		assert_int_equal(r, -EACCES);
		assert_non_null(err);
		assert_int_equal(err->http_status, 401);
		assert_string_equal(err->msg, "authentication failure");
		error_free(err);
	} else {
		assert_null(err);
	}
	return r;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_right_password(void **state)
{
	if (!is_root)
		skip();
	assert_int_equal(check("ctvm", user, PASSWORD), 0);
	assert_int_equal(check("ctvm-minimal", user, PASSWORD), 0);
	assert_int_equal(auth_pam_check("ctvm", user, PASSWORD, NULL, NULL), 0);

	/* The installed service (tools/setup-deps), when there is one. */
	if (access("/etc/pam.d/ctvm", F_OK) == 0) {
		auth_pam_set_confdir(NULL);
		int r = check(NULL, user, PASSWORD);
		int r_wrong = check(NULL, user, "wrong");
		auth_pam_set_confdir(confdir);
		assert_int_equal(r, 0);
		assert_int_equal(r_wrong, -EACCES);
	}
}

static void test_wrong_password(void **state)
{
	if (!is_root)
		skip();
	/* pam_unix asks for a 2 s delay on failure; ctvm must not sleep. */
	double start = now_s();
	assert_int_equal(check("ctvm", user, "Corr3ct horse"), -EACCES);
	assert_int_equal(check("ctvm", user, PASSWORD " "), -EACCES);
	assert_true(now_s() - start < 1.5);
	assert_int_equal(check("ctvm", user, ""), -EACCES);
	assert_int_equal(check("ctvm", user, NULL), -EACCES);
	/* a service without a file falls back to "other", which denies */
	assert_int_equal(check("ctvm-missing-service", user, "Corr3ct horse"), -EACCES);
}

static void test_unknown_user(void **state)
{
	if (!is_root)
		skip();
	_cleanup_free_ char *nobody = xasprintf("%sx", user);
	assert_int_equal(check("ctvm", nobody, PASSWORD), -EACCES);
	assert_int_equal(check("ctvm", "", PASSWORD), -EACCES);
	assert_int_equal(check("ctvm", NULL, PASSWORD), -EACCES);
	assert_int_equal(check("ctvm", "bad\nname", PASSWORD), -EACCES);
}

static void test_locked_account(void **state)
{
	if (!is_root)
		skip();
	assert_int_equal(RUN("usermod", "-L", user), 0);
	int r = check("ctvm", user, PASSWORD);
	assert_int_equal(RUN("usermod", "-U", user), 0);
	assert_int_equal(r, -EACCES);
	assert_int_equal(check("ctvm", user, PASSWORD), 0);
}

static void test_expired_account(void **state)
{
	if (!is_root)
		skip();
	assert_int_equal(RUN("chage", "-E", "0", user), 0);
	int r = check("ctvm", user, PASSWORD);
	assert_int_equal(RUN("chage", "-E", "-1", user), 0);
	assert_int_equal(r, -EACCES);
	assert_int_equal(check("ctvm", user, PASSWORD), 0);
}

static void test_expired_password(void **state)
{
	if (!is_root)
		skip();
	/* last change 1970: pam_acct_mgmt says PAM_NEW_AUTHTOK_REQD */
	assert_int_equal(RUN("chage", "-d", "0", user), 0);
	int r = check("ctvm", user, PASSWORD);
	char today[32];
	time_t t = time(NULL);
	struct tm tm;
	strftime(today, sizeof(today), "%Y-%m-%d", localtime_r(&t, &tm));
	assert_int_equal(RUN("chage", "-d", today, user), 0);
	assert_int_equal(r, -EACCES);
	assert_int_equal(check("ctvm", user, PASSWORD), 0);
}

struct allocator {
	atomic_bool stop;
	unsigned long rounds;
};

static void *allocator_main(void *arg)
{
	struct allocator *al = arg;
	void *keep[64] = {0};
	for (unsigned i = 0; !atomic_load(&al->stop); i++) {
		unsigned slot = (i * 7) % 64;
		free(keep[slot]);
		keep[slot] = malloc(16 + (i * 37) % 4096);
		al->rounds++;
	}
	for (unsigned i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

/* Checks while other threads allocate without pause: each check is its own
 * process, and none inherits an allocator lock another thread held (a forked
 * copy that ran PAM did, and hung under ASan until its deadline). */
static void test_checks_beside_allocating_threads(void **state)
{
	if (!is_root)
		skip();
	auth_pam_set_timeout_ms(5000);
	struct allocator al[3] = {0};
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, allocator_main, &al[i]), 0);
	int ok = 0;
	for (int i = 0; i < 16; i++)
		ok += check("ctvm-minimal", user, PASSWORD) == 0;
	for (int i = 0; i < 3; i++) {
		atomic_store(&al[i].stop, true);
		pthread_join(t[i], NULL);
	}
	auth_pam_set_timeout_ms(0);
	assert_int_equal(ok, 16);
}

/* The command line of a process whose argv has `arg` (NUL-separated,
 * malloc'd), or NULL. */
static char *find_cmdline(const char *arg, size_t *len_out)
{
	DIR *d = opendir("/proc");
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		_cleanup_free_ char *path = xasprintf("/proc/%s/cmdline", de->d_name);
		char *data = NULL;
		size_t len = 0;
		if (read_file(path, 4096, &data, &len, NULL) < 0)
			continue;
		for (size_t off = 0; off < len && !found; off += strnlen(data + off, len - off) + 1)
			if (streq(data + off, arg))
				found = data;
		if (found)
			*len_out = len;
		else
			free(data);
	}
	closedir(d);
	return found;
}

/* Is the hanging module's sleep running (a process with our marker)? */
static bool sleep_running(void)
{
	size_t len = 0;
	_cleanup_free_ char *cmdline = find_cmdline(sleep_marker, &len);
	return cmdline && strstr(cmdline, "sleep") != NULL;
}

/* Waits (bounded) until sleep_running() is `want`. */
static bool wait_sleep(bool want, double seconds)
{
	for (double end = now_s() + seconds; now_s() < end;) {
		if (sleep_running() == want)
			return true;
		usleep(20 * 1000);
	}
	return sleep_running() == want;
}

struct hung_login {
	int r;
	atomic_bool done;
};

static void *hung_login_main(void *arg)
{
	struct hung_login *h = arg;
	h->r = auth_pam_check("ctvm-hang", user, PASSWORD, NULL, NULL);
	atomic_store(&h->done, true);
	return NULL;
}

/* A PAM module that hangs fails its own check at the deadline, is killed
 * together with what it started, and holds up no other login meanwhile. */
static void test_hung_module(void **state)
{
	if (!is_root)
		skip();
	/* 8 s: on a loaded machine (ASan, guests booting beside it) the PAM child
	 * took more than 4 s to reach the module's sleep, so the deadline killed it
	 * before the test could see it hang */
	auth_pam_set_timeout_ms(8000);
	struct hung_login h = {.r = 1};
	pthread_t t;
	double start = now_s();
	assert_int_equal(pthread_create(&t, NULL, hung_login_main, &h), 0);
	/* the hung check is inside PAM before the next login starts */
	bool hanging = wait_sleep(true, 8);
	/* its helper shows no password on its command line */
	size_t len = 0;
	_cleanup_free_ char *helper = find_cmdline("--ctvm-pam-check", &len);
	bool helper_clean = helper && !memmem(helper, len, PASSWORD, strlen(PASSWORD));
	/* another login goes through while the first still hangs */
	int r = check("ctvm", user, PASSWORD);
	bool overlapped = !atomic_load(&h.done);
	pthread_join(t, NULL);
	double took = now_s() - start;
	auth_pam_set_timeout_ms(0);
	assert_true(hanging);
	assert_true(helper_clean);
	assert_int_equal(r, 0);
	assert_true(overlapped);
	/* the hung one failed at its deadline, long before the module's 20 s */
	assert_int_equal(h.r, -EACCES);
	assert_true(took < 17);
	/* and the sleep PAM started is gone */
	assert_true(wait_sleep(false, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_right_password),
	    cmocka_unit_test(test_wrong_password),
	    cmocka_unit_test(test_unknown_user),
	    cmocka_unit_test(test_locked_account),
	    cmocka_unit_test(test_expired_account),
	    cmocka_unit_test(test_expired_password),
	    cmocka_unit_test(test_hung_module),
	    cmocka_unit_test(test_checks_beside_allocating_threads),
	};
	int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
	return failed == 0 && !is_root ? 77 : failed; /* 77: skipped, for meson */
}
