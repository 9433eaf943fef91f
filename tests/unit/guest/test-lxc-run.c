/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-run against real containers (suite "lxc": root, liblxc, busybox-static;
 * skipped, exit 77, without them).  A busybox rootfs (/sbin/init, a tiny
 * inittab), privileged and unprivileged (owned by 100000), started through
 * lxc_run_start() with a config from lxc_cmd_build() on a test bridge:
 * running, pid, status fields, the cgroup limits on the host,
 * freeze/thaw, shutdown (and its timeout), hard stop, a failed start
 * leaving nothing, a container started by another process found again,
 * and the watch seeing a stop at once.  Bounded: alarm(), and every
 * wait has a timeout.  Leaves nothing behind (bridge, veths, cgroups,
 * temporary tree), also when a check fails.
 */
#include "common.h"

#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "lxc-cmd.h"
#include "lxc-run.h"
#include "reaper.h"
#include "xalloc.h"

#define TEST_TIMEOUT_S 200

static char tmp[64] = "/tmp/ctvm-lxc-XXXXXX";
static char bridge[16];
static char *run_root;
static long vmid_base;
static int failures;
static pid_t watcher = -1;

static struct lxc_run_env env;

#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
			failures++;                                                     \
		}                                                                       \
	} while (0)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(const char *prog, ...)
{
	struct cmd c;
	cmd_init(&c, prog);
	va_list ap;
	va_start(ap, prog);
	for (const char *a; (a = va_arg(ap, const char *));)
		cmd_add(&c, a);
	va_end(ap);
	cmd_set_timeout(&c, 20000);
	struct error *e = NULL;
	int r = cmd_run(&c, NULL, &e);
	cmd_release(&c);
	if (e)
		error_free(e);
	return r;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p) < 0 ? 0 : 0;
}

static uid_t chown_to;
static int chown_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	lchown(p, chown_to, chown_to);
	return 0;
}

static void teardown(void)
{
	for (long v = vmid_base; v < vmid_base + 8; v++) {
		struct error *e = NULL;
		if (lxc_run_stop(&env, v, &e) < 0)
			error_free(e);
	}
	if (watcher > 0) {
		kill(watcher, SIGKILL);
		waitpid(watcher, NULL, 0);
	}
	if (bridge[0])
		run("ip", "link", "delete", bridge, NULL);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_alarm(int sig)
{
	static const char m[] = "FAIL: test-lxc-run timed out\n";
	write(2, m, sizeof(m) - 1);
	/* not async-signal-safe, but a hung test must not leave a bridge,
	 * containers and cgroups behind; a second alarm ends it anyway */
	signal(SIGALRM, SIG_DFL);
	alarm(30);
	teardown();
	_exit(1);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	struct error *e = NULL;
	if (write_file_atomic(path, text, strlen(text), mode, &e) < 0) {
		fprintf(stderr, "%s\n", e->msg);
		exit(1);
	}
}

/* A busybox rootfs as lab/02-lxc/mkrootfs.sh makes it, fewer applets. */
static char *make_rootfs(long vmid, bool unpriv)
{
	char *ct = xasprintf("%s/ct%ld", tmp, vmid);
	char *root = path_join(ct, "rootfs");
	static const char *const dirs[] = {"bin", "sbin", "etc",  "proc", "sys",
	                                   "dev", "tmp",  "root", "run"};
	mkdir(ct, 0755);
	mkdir(root, 0755);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = path_join(root, dirs[i]);
		mkdir(d, 0755);
	}
	_cleanup_free_ char *bb = NULL;
	size_t len;
	if (read_file("/bin/busybox", 16 << 20, &bb, &len, NULL) < 0)
		exit(77);
	_cleanup_free_ char *dst = path_join(root, "bin/busybox");
	struct error *e = NULL;
	if (write_file_atomic(dst, bb, len, 0755, &e) < 0)
		exit(1);
	static const char *const applets[] = {"sbin/init", "bin/sh",   "bin/sleep",
	                                      "bin/mount", "bin/echo", "bin/hostname"};
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		_cleanup_free_ char *l = path_join(root, applets[i]);
		symlink("/bin/busybox", l);
	}
	_cleanup_free_ char *inittab = path_join(root, "etc/inittab");
	write_text(inittab,
	           "::sysinit:/bin/mount -t tmpfs tmpfs /tmp\n"
	           "::respawn:/bin/sleep 86400\n"
	           "::shutdown:/bin/echo shutting down\n",
	           0644);
	_cleanup_free_ char *passwd = path_join(root, "etc/passwd");
	write_text(passwd, "root:x:0:0:root:/root:/bin/sh\n", 0644);
	if (unpriv) {
		chown_to = 100000;
		nftw(root, chown_one, 16, FTW_PHYS);
	}
	free(ct);
	return root;
}

static const struct lxc_idmap unpriv_map = {
    .e = {{'u', 0, 100000, 65536}, {'g', 0, 100000, 65536}},
    .n = 2,
};

static char *config_of(long vmid, const char *rootfs, bool unpriv, json_t *raw)
{
	json_t *conf = json_object();
	json_object_set_new(conf, "hostname", json_string("ct-test"));
	json_object_set_new(conf, "ostype", json_string("alpine"));
	json_object_set_new(conf, "memory", json_string("128"));
	json_object_set_new(conf, "swap", json_string("64"));
	json_object_set_new(conf, "cpulimit", json_string("0.5"));
	json_object_set_new(conf, "cpuunits", json_string("512"));
	char net[128];
	snprintf(net, sizeof(net), "name=eth0,bridge=%s,hwaddr=BC:24:11:00:%02lX:%02lX", bridge,
	         (vmid >> 8) & 0xff, vmid & 0xff);
	json_object_set_new(conf, "net0", json_string(net));
	_cleanup_free_ char *dir = xasprintf("%s/lxc/%ld", run_root, vmid);
	struct lxc_cmd_opts o = {
	    .vmid = vmid,
	    .rootfs_path = rootfs,
	    .idmap = unpriv ? &unpriv_map : NULL,
	    .raw = raw,
	    .console_dir = dir,
	    .memsw = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0,
	};
	char *text = NULL;
	struct error *e = NULL;
	if (lxc_cmd_build(conf, &o, &text, &e) < 0) {
		fprintf(stderr, "lxc_cmd_build: %s\n", e->msg);
		exit(1);
	}
	json_decref(conf);
	return text;
}

static uint64_t cg_read(const char *ctl, long vmid, const char *file)
{
	_cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s/lxc/%ld/%s", ctl, vmid, file);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 256, &s, NULL, NULL) < 0)
		return UINT64_MAX;
	return strtoull(s, NULL, 10);
}

static bool exists_f(const char *fmt, ...) _printf_(1, 2);
static bool exists_f(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return access(p, F_OK) == 0;
}

/* Until the run lock of vmid is free: a stop's detached cleanup holds it
 * (lxc-run.c, finish_stop()) until it is done. */
static void wait_run_lock(const struct lxc_run_env *e, long vmid)
{
	_cleanup_free_ char *p = xasprintf("%s/lxc/%ld", e->run_root, vmid);
	struct error *err = NULL;
	int fd = lock_file(p, 40000, &err);
	CHECK(fd >= 0, "run lock of %ld: %s", vmid, err ? err->msg : "");
	error_free(err);
	unlock_file(fd);
}

/* nothing of vmid left, once the cleanup is done: veth, cgroups, run dir,
 * .pid file */
static void check_clean(long vmid)
{
	wait_run_lock(&env, vmid);
	CHECK(!exists_f("/sys/class/net/veth%ldi0", vmid), "veth of %ld left", vmid);
	static const char *const ctls[] = {"memory", "cpu", "cpuacct", "pids", "freezer", "blkio"};
	for (size_t i = 0; i < ARRAY_SIZE(ctls); i++) {
		CHECK(!exists_f("/sys/fs/cgroup/%s/lxc/%ld", ctls[i], vmid),
		      "cgroup %s/lxc/%ld left", ctls[i], vmid);
		CHECK(!exists_f("/sys/fs/cgroup/%s/lxc.monitor/%ld", ctls[i], vmid),
		      "cgroup %s/lxc.monitor/%ld left", ctls[i], vmid);
	}
	CHECK(!exists_f("%s/lxc/%ld", run_root, vmid), "run dir of %ld left", vmid);
	CHECK(!exists_f("%s/lxc/%ld.pid", run_root, vmid), "pid file of %ld left", vmid);
}

static int start(long vmid, const char *rootfs, bool unpriv, json_t *raw, struct error **e)
{
	_cleanup_free_ char *text = config_of(vmid, rootfs, unpriv, raw);
	int64_t t0 = now_ms();
	int r = lxc_run_start(&env, vmid, text, 20, e);
	fprintf(stderr, "# CT %ld start: %" PRId64 " ms (%s)\n", vmid, now_ms() - t0,
	        r < 0 ? (*e)->msg : "ok");
	return r;
}

static void check_status(long vmid, pid_t pid)
{
	json_t *st = NULL;
	struct error *e = NULL;
	CHECK(lxc_run_status(&env, vmid, &st, &e) == 0, "status: %s", e ? e->msg : "");
	if (!st)
		return;
	CHECK(streq(json_string_value(json_object_get(st, "status")) ?: "", "running"), "status");
	CHECK(json_integer_value(json_object_get(st, "pid")) == pid, "pid");
	static const char *const ints[] = {"uptime",  "mem",      "maxmem",   "swap",
	                                   "maxswap", "disk",     "maxdisk",  "netin",
	                                   "netout",  "diskread", "diskwrite"};
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		json_t *v = json_object_get(st, ints[i]);
		CHECK(json_is_integer(v) && json_integer_value(v) >= 0, "%s not an integer >= 0",
		      ints[i]);
	}
	CHECK(json_is_real(json_object_get(st, "cpu")), "cpu not a real");
	json_int_t mem = json_integer_value(json_object_get(st, "mem"));
	CHECK(json_integer_value(json_object_get(st, "maxmem")) == 128 << 20, "maxmem");
	CHECK(mem > 0 && mem < 128 << 20, "mem %lld", (long long)mem);
	CHECK(json_integer_value(json_object_get(st, "maxdisk")) > 0, "maxdisk");
	CHECK(json_integer_value(json_object_get(st, "uptime")) < 60, "uptime");
	if (exists_f("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))
		CHECK(json_integer_value(json_object_get(st, "maxswap")) == 64 << 20, "maxswap");
	/* a second sample: cpu is a share */
	json_decref(st);
	st = NULL;
	poll(NULL, 0, 100);
	lxc_run_status(&env, vmid, &st, &e);
	double cpu = json_real_value(json_object_get(st, "cpu"));
	CHECK(cpu >= 0 && cpu <= 1, "cpu %f", cpu);
	json_decref(st);
}

static void check_limits(long vmid)
{
	CHECK(cg_read("memory", vmid, "memory.limit_in_bytes") == 128 << 20, "memory limit");
	if (exists_f("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"))
		CHECK(cg_read("memory", vmid, "memory.memsw.limit_in_bytes") == 192 << 20, "memsw");
	CHECK(cg_read("cpu", vmid, "cpu.cfs_quota_us") == 50000, "cfs quota");
	CHECK(cg_read("cpu", vmid, "cpu.cfs_period_us") == 100000, "cfs period");
	CHECK(cg_read("cpu", vmid, "cpu.shares") == 512, "cpu shares");
}

static bool running(long vmid, pid_t *pid)
{
	bool r = false;
	struct error *e = NULL;
	if (lxc_run_is_running(&env, vmid, &r, pid, &e) < 0) {
		fprintf(stderr, "is_running: %s\n", e->msg);
		error_free(e);
	}
	return r;
}

static void test_privileged(long vmid)
{
	_cleanup_free_ char *rootfs = make_rootfs(vmid, false);
	struct error *e = NULL;
	CHECK(start(vmid, rootfs, false, NULL, &e) == 0, "start");
	pid_t pid = 0;
	CHECK(running(vmid, &pid) && pid > 1, "running");
	_cleanup_free_ char *comm = NULL;
	_cleanup_free_ char *commp = xasprintf("/proc/%d/comm", (int)pid);
	read_file(commp, 64, &comm, NULL, NULL);
	CHECK(comm && str_startswith(comm, "init"), "init: %s", comm ?: "?");
	CHECK(exists_f("/sys/class/net/veth%ldi0/brif", vmid) ||
	          exists_f("/sys/class/net/%s/brif/veth%ldi0", bridge, vmid),
	      "veth in bridge");
	check_limits(vmid);
	check_status(vmid, pid);

	/* twice: refused */
	e = NULL;
	CHECK(start(vmid, rootfs, false, NULL, &e) == -EEXIST, "second start");
	if (e) {
		_cleanup_free_ char *want = xasprintf("CT %ld already running", vmid);
		CHECK(streq(e->msg, want), "%s", e->msg);
		error_free(e);
		e = NULL;
	}

	CHECK(lxc_run_freeze(&env, vmid, true, &e) == 0, "freeze");
	_cleanup_free_ char *fz = xasprintf("/sys/fs/cgroup/freezer/lxc/%ld/freezer.state", vmid);
	_cleanup_free_ char *s = NULL;
	read_file(fz, 64, &s, NULL, NULL);
	CHECK(s && str_startswith(s, "FROZEN"), "frozen: %s", s ?: "?");
	CHECK(lxc_run_freeze(&env, vmid, false, &e) == 0, "thaw");
	free(s);
	s = NULL;
	read_file(fz, 64, &s, NULL, NULL);
	CHECK(s && str_startswith(s, "THAWED"), "thawed: %s", s ?: "?");

	int64_t t0 = now_ms();
	CHECK(lxc_run_shutdown(&env, vmid, 15, false, &e) == 0, "shutdown: %s", e ? e->msg : "");
	fprintf(stderr, "# CT %ld shutdown: %" PRId64 " ms\n", vmid, now_ms() - t0);
	CHECK(!running(vmid, NULL), "stopped");
	check_clean(vmid);
}

static void test_unprivileged(long vmid)
{
	_cleanup_free_ char *rootfs = make_rootfs(vmid, true);
	struct error *e = NULL;
	CHECK(start(vmid, rootfs, true, NULL, &e) == 0, "start");
	pid_t pid = 0;
	CHECK(running(vmid, &pid) && pid > 1, "running");
	_cleanup_free_ char *sp = xasprintf("/proc/%d/status", (int)pid);
	_cleanup_free_ char *s = NULL;
	read_file(sp, 64 * 1024, &s, NULL, NULL);
	CHECK(s && strstr(s, "\nUid:\t100000\t"), "init runs as 100000");
	check_limits(vmid);
	check_status(vmid, pid);
	/* a frozen container stops too */
	CHECK(lxc_run_freeze(&env, vmid, true, &e) == 0, "freeze");
	int64_t t0 = now_ms();
	CHECK(lxc_run_stop(&env, vmid, &e) == 0, "stop");
	fprintf(stderr, "# CT %ld hard stop: %" PRId64 " ms\n", vmid, now_ms() - t0);
	CHECK(!running(vmid, NULL), "stopped");
	check_clean(vmid);
}

/* halt ignored: shutdown times out (the CT keeps running), forceStop kills */
static void test_shutdown_timeout(long vmid)
{
	_cleanup_free_ char *rootfs = make_rootfs(vmid, false);
	json_t *raw = json_pack("[[ss]]", "lxc.signal.halt", "SIGWINCH");
	struct error *e = NULL;
	CHECK(start(vmid, rootfs, false, raw, &e) == 0, "start");
	json_decref(raw);
	CHECK(lxc_run_shutdown(&env, vmid, 1, false, &e) == -ETIMEDOUT, "shutdown must time out");
	if (e) {
		CHECK(streq(e->msg, "container did not stop"), "%s", e->msg);
		error_free(e);
		e = NULL;
	}
	CHECK(running(vmid, NULL), "still running");
	CHECK(lxc_run_shutdown(&env, vmid, 1, true, &e) == 0, "forced shutdown");
	CHECK(!running(vmid, NULL), "stopped");
	check_clean(vmid);
}

static void test_failed_start(long vmid)
{
	_cleanup_free_ char *rootfs = xasprintf("%s/missing/rootfs", tmp);
	struct error *e = NULL;
	CHECK(start(vmid, rootfs, false, NULL, &e) < 0, "start without rootfs");
	if (e)
		error_free(e);
	CHECK(!running(vmid, NULL), "not running");
	check_clean(vmid);

	/* an include that is not there (no lxc-templates): named, not liblxc's
	 * bare "Failed to load config" */
	_cleanup_free_ char *good = xasprintf("%s/rootfs", tmp);
	_cleanup_free_ char *text = config_of(vmid, good, false, NULL);
	_cleanup_free_ char *bad =
	    xasprintf("%s\nlxc.include = %s/no-such.common.conf\n", text, tmp);
	e = NULL;
	CHECK(lxc_run_start(&env, vmid, bad, 20, &e) == -ENOENT, "start with a missing include");
	CHECK(e && strstr(e->msg, "no-such.common.conf' is missing") &&
	          strstr(e->msg, "lxc-templates"),
	      "missing include named: %s", e ? e->msg : "?");
	if (e)
		error_free(e);
	CHECK(!running(vmid, NULL), "not running");
	check_clean(vmid);
}

static long watch_vmid;
static int watch_fd = -1;

static void report(long v, void *ud)
{
	if (v == watch_vmid && write(watch_fd, "x", 1) < 0)
		_exit(1);
}

/* A process that watches as ctvmd does and writes to fds[1] when vmid
 * stops; fds[0] is the caller's. */
static pid_t spawn_watcher(long vmid, int fds[2])
{
	if (pipe(fds) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		struct lxc_run_env we = {.run_root = run_root};
		watch_vmid = vmid;
		watch_fd = fds[1];
		if (lxc_run_watch_start(&we, report, NULL) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	return pid;
}

/* Started by a process that exits; found by this one; the watch (another
 * process, as ctvmd) reports the stop at once. */
static void test_other_process(long vmid)
{
	_cleanup_free_ char *rootfs = make_rootfs(vmid, true);
	/* one watch from before the start (inotify), one from after (the
	 * scan of a restarted ctvmd) */
	int fds[2], fds2[2];
	watcher = spawn_watcher(vmid, fds);

	pid_t child = fork();
	if (child == 0) {
		struct error *e = NULL;
		_exit(start(vmid, rootfs, true, NULL, &e) == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "start in a child");
	pid_t pid = 0;
	CHECK(running(vmid, &pid) && pid > 1, "found again");
	check_status(vmid, pid);
	pid_t watcher2 = spawn_watcher(vmid, fds2);
	poll(NULL, 0, 300); /* its scan */

	struct error *e = NULL;
	int64_t t0 = now_ms();
	/* behind the runtime's back: the init dies, the watch sees it */
	kill(pid, SIGKILL);
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	CHECK(poll(&p, 1, 5000) == 1, "watch reported the stop");
	fprintf(stderr, "# CT %ld: the watch saw the stop after %" PRId64 " ms\n", vmid,
	        now_ms() - t0);
	p.fd = fds2[0];
	CHECK(poll(&p, 1, 5000) == 1, "the later watch reported the stop");
	close(fds[0]);
	close(fds2[0]);
	kill(watcher2, SIGKILL);
	waitpid(watcher2, NULL, 0);
	CHECK(!running(vmid, NULL), "stopped");
	CHECK(lxc_run_cleanup(&env, vmid, &e) == 0, "cleanup");
	check_clean(vmid);
}

static bool alive(pid_t pid)
{
	char st = 0;
	_cleanup_free_ char *p = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 4096, &s, NULL, NULL) < 0)
		return false;
	const char *rp = strrchr(s, ')');
	if (rp && rp[1] == ' ')
		st = rp[2];
	return st && st != 'Z' && st != 'X';
}

static unsigned long long start_of(pid_t pid)
{
	_cleanup_free_ char *p = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *s = NULL;
	unsigned long long v = 0;
	if (read_file(p, 4096, &s, NULL, NULL) < 0)
		return 0;
	char *t = strrchr(s, ')');
	for (int field = 2; t && field < 22; field++)
		t = strchr(t + 1, ' ');
	if (t)
		v = strtoull(t + 1, NULL, 10);
	return v;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/*
 * A hard stop ends once the init is dead, not once liblxc's monitor has
 * finished its teardown: the rest of the cleanup runs detached, holding
 * the run lock, and what it could not do is reported by the next holder.
 * Without liblxc: an init and a "monitor" that are sleeping children, a
 * cgroup tree of plain directories (which rmdir cannot remove: the
 * failure that must be reported).
 */
static void test_stop_detached(long vmid)
{
	_cleanup_free_ char *cg = xasprintf("%s/cg-%ld", tmp, vmid);
	struct lxc_run_env fe = {.run_root = run_root, .cgroup_root = cg};
	_cleanup_free_ char *mondir = xasprintf("%s/pids/lxc.monitor/%ld", cg, vmid);
	CHECK(mkdir_p(mondir, 0755) == 0, "fake cgroup");
	pid_t init = sleeper(), mon = sleeper();
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", mondir);
	_cleanup_free_ char *pt = xasprintf("%d\n", (int)mon);
	write_text(procs, pt, 0644);
	_cleanup_free_ char *dir = xasprintf("%s/lxc/%ld", run_root, vmid);
	mkdir_p(dir, 0700);
	_cleanup_free_ char *pidf = xasprintf("%s/lxc/%ld.pid", run_root, vmid);
	_cleanup_free_ char *ids =
	    xasprintf("%d %llu %d %llu\n", (int)init, start_of(init), (int)mon, start_of(mon));
	write_text(pidf, ids, 0600);

	bool r = false;
	struct error *e = NULL;
	CHECK(lxc_run_is_running(&fe, vmid, &r, NULL, &e) == 0 && r, "fake CT runs");
	CHECK(lxc_run_stop(&fe, vmid, &e) == 0, "stop: %s", e ? e->msg : "");
	/* the stop returned with the monitor still there (the old code waited
	 * 15 s for it, then killed it) and the cleanup pending */
	CHECK(alive(mon), "the stop waited for the monitor");
	CHECK(lxc_run_is_running(&fe, vmid, &r, NULL, &e) == 0 && !r, "reads stopped");
	_cleanup_free_ char *lockp = xasprintf("%s/lxc/%ld", run_root, vmid);
	int fd = lock_file(lockp, 0, NULL);
	CHECK(fd < 0, "the cleanup holds the run lock");
	unlock_file(fd);

	kill(mon, SIGKILL);
	waitpid(mon, NULL, 0);
	waitpid(init, NULL, WNOHANG);
	wait_run_lock(&fe, vmid);
	CHECK(access(dir, F_OK) < 0, "run dir left");
	CHECK(access(pidf, F_OK) < 0, "pid file left");
	/* the cgroup it could not remove: noted, reported by the next holder
	 * of the lock (here to stderr: no task), then forgotten */
	_cleanup_free_ char *note = xasprintf("%s/lxc/%ld.cleanup", run_root, vmid);
	_cleanup_free_ char *text = NULL;
	CHECK(read_file(note, 4096, &text, NULL, NULL) == 0 && text &&
	          strstr(text, "unable to remove the cgroups"),
	      "the failed cleanup was noted: %s", text ?: "(nothing)");
	CHECK(lxc_run_cleanup(&fe, vmid, &e) == 0, "cleanup");
	CHECK(access(note, F_OK) < 0, "the note was reported");
	unlink(procs);
	rmdir(mondir);
}

/* A note of a detached cleanup that appears (renamed into place) goes to
 * the watch's log (ctvmd.log) at once and is removed; so does one found
 * by a watch that starts. */
static void test_watch_reports_notes(long vmid)
{
	_cleanup_free_ char *tmpp = xasprintf("%s/lxc/%ld.cleanup.tmp", run_root, vmid);
	_cleanup_free_ char *note = xasprintf("%s/lxc/%ld.cleanup", run_root, vmid);
	mkdir_p(run_root, 0755);
	_cleanup_free_ char *base = xasprintf("%s/lxc", run_root);
	mkdir_p(base, 0755);
	write_text(note, "found at the start of a watch\n", 0600);
	struct lxc_run_env we = {.run_root = run_root};
	CHECK(lxc_run_watch_start(&we, NULL, NULL) == 0, "watch started");
	for (int i = 0; i < 100 && access(note, F_OK) == 0; i++)
		poll(NULL, 0, 20);
	CHECK(access(note, F_OK) < 0, "the watch reported the note found");
	write_text(tmpp, "unable to remove the cgroups of CT (test)\n", 0600);
	CHECK(rename(tmpp, note) == 0, "rename");
	for (int i = 0; i < 100 && access(note, F_OK) == 0; i++)
		poll(NULL, 0, 20);
	CHECK(access(note, F_OK) < 0, "the watch reported the new note");
	lxc_run_watch_stop();
}

/* ctvmd stops its watch before it frees what the callback uses: the
 * thread is joined, and a watch can start again afterwards. */
static void test_watch_stop(void)
{
	struct lxc_run_env we = {.run_root = run_root};
	CHECK(lxc_run_watch_start(&we, report, NULL) == 0, "watch started");
	CHECK(lxc_run_watch_start(&we, report, NULL) == -EALREADY, "one watch per process");
	int64_t t0 = now_ms();
	lxc_run_watch_stop();
	CHECK(now_ms() - t0 < 2000, "the watch stopped at once");
	CHECK(lxc_run_watch_start(&we, report, NULL) == 0, "started again after a stop");
	lxc_run_watch_stop();
	lxc_run_watch_stop(); /* a second stop does nothing */
}

int main(void)
{
	if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0 ||
	    access(LXC_CMD_CONFIG_DIR "/common.conf", F_OK) < 0 ||
	    access("/sys/fs/cgroup/memory", F_OK) < 0) {
		fprintf(stderr, "skip: needs root, busybox-static, lxc and cgroup v1 memory\n");
		return 77;
	}
	signal(SIGALRM, on_alarm);
	/* as ctvmd: liblxc's monitors re-parent to us and are reaped at once */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (reaper_start() < 0)
		return 1;
	alarm(TEST_TIMEOUT_S);
	if (!mkdtemp(tmp))
		return 1;
	chmod(tmp, 0755); /* the mapped root walks to its rootfs */
	run_root = path_join(tmp, "run");
	mkdir(run_root, 0755);
	env.run_root = run_root;
	/* ids of this run: veth<vmid>i0 fits IFNAMSIZ, cgroups are unique */
	vmid_base = 800000 + (getpid() % 10000) * 10;
	snprintf(bridge, sizeof(bridge), "ctvmt%d", (int)(getpid() % 100000));
	atexit(teardown);
	if (run("ip", "link", "add", "name", bridge, "type", "bridge", NULL) < 0 ||
	    run("ip", "link", "set", bridge, "up", NULL) < 0) {
		bridge[0] = '\0';
		fprintf(stderr, "cannot create bridge\n");
		return 1;
	}

	/* liblxc moves a process calling start into the monitor's cgroup:
	 * lxc-run must not let that happen to its caller */
	_cleanup_free_ char *cg_before = NULL, *cg_after = NULL;
	read_file("/proc/self/cgroup", 64 * 1024, &cg_before, NULL, NULL);

	test_watch_stop();
	test_stop_detached(vmid_base + 5);
	test_watch_reports_notes(vmid_base + 6);
	test_privileged(vmid_base);
	test_unprivileged(vmid_base + 1);
	test_shutdown_timeout(vmid_base + 2);
	test_failed_start(vmid_base + 3);
	test_other_process(vmid_base + 4);

	read_file("/proc/self/cgroup", 64 * 1024, &cg_after, NULL, NULL);
	CHECK(cg_before && cg_after && streq(cg_before, cg_after), "our cgroups changed: %s",
	      cg_after ?: "?");

	fprintf(stderr, failures ? "FAILED: %d checks\n" : "OK\n", failures);
	return failures ? 1 : 0;
}
