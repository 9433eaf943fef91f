/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep: the front's sandbox, in forked children (as root; skipped
 * otherwise).  After privsep_drop() a child must show in /proc/self/status
 * no uid or gid 0, no capability in any set, NoNewPrivs 1 and Seccomp 2;
 * be unable to open a root-only file, open anything for writing, execve,
 * fork, create a socket, map executable memory or signal another process;
 * and still read, write, send and receive messages with descriptors on what
 * it holds, and start threads.  With the kill action a forbidden call ends
 * it with SIGSYS.
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <seccomp.h>

#include "error.h"
#include "privsep-drop.h"
#include "privsep-samples.h"
#include "privsep.h"
#include "xalloc.h"

#define USER "nobody"

static bool can_run;
static char dir[64];
static char secret[128], public[128], writable[128], newfile[128];

/* --- the child side: a failed check writes why and exits 1 --- */

static int report = -1;

static void _printf_(1, 2) _noreturn_ child_fail(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 40, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 40)
		n = sizeof(buf) - 40;
	n += snprintf(buf + n, 40, " (errno %d)\n", saved);
	if (write(report, buf, n) < 0)
		_exit(2);
	_exit(1);
}

#define CHECK(cond, ...)                         \
	do {                                     \
		if (!(cond))                     \
			child_fail(__VA_ARGS__); \
	} while (0)

/* Fails with errno e (and not by luck: the result must be -1). */
#define REFUSED(call, e) CHECK((call) == -1 && errno == (e), "%s not refused with %s", #call, #e)

static void drop_or_fail(const char *chroot_dir, enum privsep_seccomp mode)
{
	struct privsep_drop_config cfg = {.user = USER, .chroot_dir = chroot_dir, .seccomp = mode};
	struct error *e = NULL;
	if (privsep_drop(&cfg, &e) < 0)
		child_fail("privsep_drop: %s", e->msg);
}

static void read_status(char *buf, size_t size)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "cannot open /proc/self/status");
	size_t len = 0;
	ssize_t n;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
}

static const char *field(const char *status, const char *name)
{
	size_t l = strlen(name);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, l) == 0 && p[l] == ':')
			return p + l + 1;
	child_fail("no %s in /proc/self/status", name);
}

static void check_status(void)
{
	char st[8192];
	read_status(st, sizeof(st));
	static const char *const ids[] = {"Uid", "Gid"};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		char *end;
		const char *p = field(st, ids[i]);
		for (int k = 0; k < 4; k++, p = end) {
			unsigned long v = strtoul(p, &end, 10);
			CHECK(end != p && v != 0, "%s field %d is 0", ids[i], k);
		}
	}
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		CHECK(strtoull(field(st, caps[i]), NULL, 16) == 0, "%s not empty", caps[i]);
	CHECK(strtol(field(st, "NoNewPrivs"), NULL, 10) == 1, "NoNewPrivs not 1");
	CHECK(strtol(field(st, "Seccomp"), NULL, 10) == 2, "Seccomp not 2 (filter)");
	const char *groups = field(st, "Groups");
	CHECK(strspn(groups, " \t") == strcspn(groups, "\n"), "supplementary groups left");
}

static void *thread_main(void *arg)
{
	int fd = *(int *)arg;
	return write(fd, "t", 1) == 1 ? arg : NULL;
}

static void *thread_wait(void *arg)
{
	char ch;
	return read(*(int *)arg, &ch, 1) == 1 ? arg : NULL;
}

struct child_ctx {
	int sock;      /* the child's end of a channel */
	pid_t parent;  /* a process it must not signal */
	int mode;      /* enum privsep_seccomp */
	int forbidden; /* the call a kill-mode child makes */
	int pty;       /* a pty's master, as a console relay has one */
};

/* Everything the front legitimately does, under the filter. */
static void check_allowed(struct child_ctx *c)
{
	/* read a file it may read, and /proc/self/status */
	char buf[64];
	int fd = open(public, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "cannot open a public file");
	CHECK(read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "public", 6) == 0, "cannot read it");
	close(fd);
	check_status();

	/* pipes, threads */
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	pthread_t t;
	void *res = NULL;
	CHECK(pthread_create(&t, NULL, thread_main, &p[1]) == 0, "pthread_create");
	CHECK(pthread_join(t, &res) == 0 && res == &p[1], "the thread failed");
	CHECK(read(p[0], buf, 1) == 1 && buf[0] == 't', "nothing from the thread");
	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap read-write");
	memset(m, 1, 1 << 20);
	CHECK(munmap(m, 1 << 20) == 0, "munmap");
	CHECK(kill(getpid(), 0) == 0, "kill(self, 0)");
	/* a console's resize (the terminal framing's 1:COLS:ROWS:) */
	struct winsize ws = {.ws_row = 30, .ws_col = 100};
	CHECK(ioctl(c->pty, TIOCSWINSZ, &ws) == 0, "TIOCSWINSZ on a pty: %m");

	/* the channel: a message with a descriptor in (queued by the parent
	 * before the fork), one with a pipe's read end out */
	struct privsep_reader rd;
	struct privsep_msg in, out;
	struct error *e = NULL;
	privsep_reader_init(&rd, PRIVSEP_PRIV);
	if (privsep_recv(&rd, c->sock, 5000, &in, &e) != 1)
		child_fail("privsep_recv: %s", e ? e->msg : "timeout");
	CHECK(in.fd >= 0 && read(in.fd, buf, sizeof(buf)) == 4 && memcmp(buf, "down", 4) == 0,
	      "the descriptor received does not work");
	privsep_msg_clear(&in);
	privsep_reader_release(&rd);
	CHECK(write(p[1], "hello", 5) == 5, "write to a pipe");
	close(p[1]);
	privsep_sample(7, p[0], &out);
	if (privsep_send(c->sock, &out, 5000, &e) < 0)
		child_fail("privsep_send: %s", e->msg);
	privsep_msg_clear(&out);
}

static void check_refused(struct child_ctx *c)
{
	/* the file system: DAC for root's files, the filter for any write */
	REFUSED(open(secret, O_RDONLY), EACCES);
	REFUSED(open(writable, O_WRONLY), EPERM);
	REFUSED(open(writable, O_RDWR | O_APPEND), EPERM);
	REFUSED(open(writable, O_RDONLY | O_TRUNC), EPERM);
	REFUSED(open(newfile, O_RDONLY | O_CREAT, 0644), EPERM);
	REFUSED(access(newfile, F_OK), EPERM);
	/* no programs, processes, sockets, code or other processes */
	char *argv[] = {"true", NULL};
	REFUSED(execve("/bin/true", argv, argv + 1), EPERM);
	REFUSED(fork(), EPERM);
	REFUSED(socket(AF_UNIX, SOCK_STREAM, 0), EPERM);
	REFUSED(socket(AF_INET, SOCK_STREAM, 0), EPERM);
	int sp[2];
	REFUSED(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), EPERM);
	void *x = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(x == MAP_FAILED && errno == EPERM, "executable mmap not refused");
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "mmap");
	REFUSED(mprotect(m, 4096, PROT_READ | PROT_EXEC), EPERM);
	REFUSED(kill(c->parent, 0), EPERM);
	REFUSED(kill(1, SIGTERM), EPERM);
	REFUSED(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
	REFUSED(setuid(0), EPERM);
	REFUSED(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), EPERM);
	REFUSED(chdir("/tmp"), EPERM);
	int avail;
	REFUSED(ioctl(c->sock, FIONREAD, &avail), ENOTTY);
	struct winsize ws;
	REFUSED(ioctl(c->pty, TIOCGWINSZ, &ws), ENOTTY);
}

static void child_errno(struct child_ctx *c)
{
	drop_or_fail(NULL, PRIVSEP_SECCOMP_ERRNO);
	check_allowed(c);
	check_refused(c);
}

/* The default: normal work goes on, one forbidden call kills. */
static void child_kill(struct child_ctx *c)
{
	drop_or_fail(NULL, PRIVSEP_SECCOMP_KILL);
	check_allowed(c);
	char *argv[] = {"true", NULL};
	switch (c->forbidden) {
	case 0:
		return;
	case 1:
		execve("/bin/true", argv, argv + 1);
		break;
	case 2:
		socket(AF_INET, SOCK_STREAM, 0);
		break;
	case 3:
		fork();
		break;
	default:
		open(writable, O_WRONLY);
		break;
	}
	child_fail("forbidden call %d survived", c->forbidden);
}

static void child_chroot(struct child_ctx *c)
{
	drop_or_fail(dir, PRIVSEP_SECCOMP_ERRNO);
	int fd = open("/public", O_RDONLY);
	CHECK(fd >= 0, "no /public inside the chroot");
	close(fd);
	REFUSED(open("/secret", O_RDONLY), EACCES);
	REFUSED(open(public, O_RDONLY), ENOENT); /* the outside path */
}

static void child_refusals(struct child_ctx *c)
{
	static const struct {
		const char *user;
		int code;
	} cases[] = {{NULL, -EINVAL}, {"ctvm-no-such-user", -ENOENT}, {"root", -EINVAL}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct privsep_drop_config cfg = {.user = cases[i].user};
		struct error *e = NULL;
		int r = privsep_drop(&cfg, &e);
		CHECK(r == cases[i].code && e, "user %s: %d", cases[i].user, r);
		error_free(e);
	}
	/* a thread running: capabilities are per thread */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pthread_t t;
	CHECK(pthread_create(&t, NULL, thread_wait, &p[0]) == 0, "pthread_create");
	struct privsep_drop_config cfg = {.user = USER};
	struct error *e = NULL;
	int r = privsep_drop(&cfg, &e);
	CHECK(write(p[1], "x", 1) == 1, "write");
	pthread_join(t, NULL);
	CHECK(r == -EBUSY && e, "with a thread: %d", r);
	CHECK(geteuid() == 0, "refused, yet dropped");
	error_free(e);
}

/* --- the parent side --- */

struct outcome {
	int status;
	char msg[512];
	char from_child[16]; /* the body the child sent through the channel */
};

static void run(void (*fn)(struct child_ctx *), int forbidden, struct outcome *o)
{
	int rp[2], sp[2], down[2];
	assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
	assert_int_equal(privsep_socketpair(sp, NULL), 0);
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	assert_int_equal(write(down[1], "down", 4), 4);
	close(down[1]);
	/* queued before the fork: the child receives it under the filter */
	struct privsep_msg m;
	privsep_sample(7, down[0], &m);
	assert_int_equal(privsep_send(sp[1], &m, 1000, NULL), 0);
	privsep_msg_clear(&m);

	int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(pty >= 0);
	struct child_ctx c = {
	    .sock = sp[0], .parent = getpid(), .forbidden = forbidden, .pty = pty};
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(rp[0]);
		close(sp[1]);
		report = rp[1];
		alarm(20);
		fn(&c);
		_exit(0);
	}
	close(rp[1]);
	close(sp[0]);
	close(pty);
	memset(o, 0, sizeof(*o));
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(o->msg) - 1 &&
	       (n = read(rp[0], o->msg + len, sizeof(o->msg) - 1 - len)) > 0)
		len += n;
	close(rp[0]);
	assert_int_equal(waitpid(pid, &o->status, 0), pid);

	struct privsep_reader rd;
	privsep_reader_init(&rd, PRIVSEP_PRIV);
	if (privsep_recv(&rd, sp[1], 0, &m, NULL) == 1) {
		if (m.fd >= 0 && read(m.fd, o->from_child, sizeof(o->from_child) - 1) < 0)
			o->from_child[0] = '\0';
		privsep_msg_clear(&m);
	}
	privsep_reader_release(&rd);
	close(sp[1]);
}

static void expect_exit0(const struct outcome *o)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != 0)
		fail_msg("child: status 0x%x: %s", o->status, o->msg);
}

static void test_errno_mode(void **state)
{
	if (!can_run)
		skip();
	struct outcome o;
	run(child_errno, 0, &o);
	expect_exit0(&o);
	assert_string_equal(o.from_child, "hello");
}

static void test_kill_mode(void **state)
{
	if (!can_run)
		skip();
	struct outcome o;
	run(child_kill, 0, &o);
	expect_exit0(&o);
	assert_string_equal(o.from_child, "hello");
	for (int forbidden = 1; forbidden <= 4; forbidden++) {
		run(child_kill, forbidden, &o);
		if (!WIFSIGNALED(o.status) || WTERMSIG(o.status) != SIGSYS)
			fail_msg("forbidden call %d: status 0x%x: %s", forbidden, o.status, o.msg);
	}
}

static void test_chroot(void **state)
{
	if (!can_run)
		skip();
	struct outcome o;
	run(child_chroot, 0, &o);
	expect_exit0(&o);
}

static void test_refusals(void **state)
{
	if (!can_run)
		skip();
	struct outcome o;
	run(child_refusals, 0, &o);
	expect_exit0(&o);
}

/* A misspelt name in the allow-list would silently allow nothing. */
static void test_names_resolve(void **state)
{
	const char *const *lists[] = {privsep_front_syscalls, privsep_front_syscalls_restricted};
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (const char *const *s = lists[l]; *s; s++)
			if (seccomp_syscall_resolve_name(*s) == __NR_SCMP_ERROR)
				fail_msg("unknown system call '%s'", *s);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int setup(void **state)
{
	can_run = geteuid() == 0 && getpwnam(USER) != NULL;
	if (!can_run)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/privsep-drop-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return -1;
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(public, sizeof(public), "%s/public", dir);
	snprintf(writable, sizeof(writable), "%s/writable", dir);
	snprintf(newfile, sizeof(newfile), "%s/new", dir);
	write_file(secret, "secret", 0600);
	write_file(public, "public", 0644);
	write_file(writable, "writable", 0666);
	return 0;
}

static int teardown(void **state)
{
	if (!can_run)
		return 0;
	unlink(secret);
	unlink(public);
	unlink(writable);
	unlink(newfile);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_resolve), cmocka_unit_test(test_errno_mode),
	    cmocka_unit_test(test_kill_mode),     cmocka_unit_test(test_chroot),
	    cmocka_unit_test(test_refusals),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	return failed == 0 && !can_run ? 77 : failed; /* 77: skipped, for meson */
}
