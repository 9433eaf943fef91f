/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A real VM's life through qemu-run, as root: the test guest ISO
 * (tests/fixtures/guest-iso) boots under TCG with a NIC on a VLAN-aware
 * bridge the test creates, says CTVM-GUEST-BOOTED on serial0's socket,
 * and powers off on qemu_run_shutdown()'s ACPI request; afterwards no
 * process, tap, socket, pidfile or run directory is left.  A start that
 * fails (a missing disk) leaves nothing either; stop, a shutdown timeout
 * with and without forceStop, reset/suspend/resume and status on a VM
 * without a guest OS.
 *
 * Skips unless root with qemu-system-x86_64 installed.  The test process
 * is a child subreaper with the reaper (src/util/reaper.h), as ctvmd is.
 * Bridge and VMIDs carry the test's pid, so parallel runs do not meet.
 */
#include "common.h"

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "guest-conf.h"
#include "netdev.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "qemu-run.h"
#include "reaper.h"
#include "strv.h"
#include "xalloc.h"

#define QEMU "/usr/bin/qemu-system-x86_64"

static char root[64];
static char bridge[16];
static long vmid_base;
static char *iso;
static struct qemu_run_env env;
static bool vlan_aware;

static int run(const char *const *argv, char **ret_out)
{
	struct cmd c;
	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	cmd_set_timeout(&c, 900 * 1000);
	struct cmd_result res = {0};
	_cleanup_error_ struct error *err = NULL;
	int r = cmd_run(&c, &res, &err);
	cmd_release(&c);
	if (r < 0)
		print_error("%s\n", err->msg);
	else if (ret_out)
		*ret_out = xstrndup(res.out, res.out_len);
	cmd_result_clear(&res);
	return r;
}

static int run_quiet(const char *const *argv)
{
	struct cmd c;
	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	int r = cmd_run(&c, NULL, NULL);
	cmd_release(&c);
	return r;
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || access(QEMU, X_OK) < 0)
		return 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	reaper_start();
	snprintf(root, sizeof(root), "/tmp/ctvm-test-qrun.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	env.run_root = root;
	/* cgroups of this test's own: under the test root's name */
	env.cgroup_name = strrchr(root, '/') + 1;
	snprintf(bridge, sizeof(bridge), "vmbrt%d", (int)(getpid() % 1000000));
	vmid_base = 900000 + (getpid() % 90000) * 10;
	const char *add[] = {"ip", "link", "add", "name", bridge, "type", "bridge", NULL};
	const char *up[] = {"ip", "link", "set", bridge, "up", NULL};
	if (run(add, NULL) < 0 || run(up, NULL) < 0)
		return -1;
	/* VLAN-aware where the kernel can (not on the CI hosts:
	 * CONFIG_BRIDGE_VLAN_FILTERING is off there) */
	const char *vf[] = {"ip",     "link",           "set", bridge, "type",
	                    "bridge", "vlan_filtering", "1",   NULL};
	vlan_aware = run_quiet(vf) == 0;
	const char *src = getenv("CTVM_SOURCE_ROOT");
	_cleanup_free_ char *script =
	    xasprintf("%s/tests/fixtures/guest-iso/build-guest-iso.sh", src ? src : ".");
	const char *build[] = {script, NULL};
	char *out = NULL;
	if (run(build, &out) < 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	iso = out;
	return 0;
}

static int group_teardown(void **state)
{
	if (bridge[0]) {
		const char *del[] = {"ip", "link", "del", bridge, NULL};
		run(del, NULL);
	}
	if (root[0]) {
		_cleanup_free_ char *cg = xasprintf("/sys/fs/cgroup/cpu/%s", env.cgroup_name);
		rmdir(cg);
		const char *rm[] = {"rm", "-rf", root, NULL};
		run(rm, NULL);
	}
	free(iso);
	return 0;
}

#define REQUIRE_ROOT()                                        \
	do {                                                  \
		if (geteuid() != 0 || access(QEMU, X_OK) < 0) \
			skip();                               \
	} while (0)

/* The command line qemu_cmd_build() makes, by hand: the run directory's
 * sockets and pidfile, TCG, optional disk/cdrom/NIC. */
static char **vm_argv(long vmid, const char *cdrom, const char *disk, bool nic)
{
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(qemu_run_dir(&env, vmid, false, &dir, NULL), 0);
	char **a = NULL;
	const char *base[] = {QEMU,   "-machine",    "q35",      "-accel", "tcg",
	                      "-cpu", "qemu64",      "-m",       "256",    "-smp",
	                      "1",    "-nodefaults", "-display", "none",   "-daemonize"};
	for (size_t i = 0; i < ARRAY_SIZE(base); i++)
		strv_push(&a, xstrdup(base[i]));
	strv_push(&a, xstrdup("-pidfile"));
	strv_push(&a, xasprintf("%s/pid", dir));
	strv_push(&a, xstrdup("-qmp"));
	strv_push(&a, xasprintf("unix:%s/qmp.sock,server=on,wait=off", dir));
	strv_push(&a, xstrdup("-chardev"));
	strv_push(&a, xasprintf("socket,id=serial0,path=%s/serial0.sock,server=on,wait=off", dir));
	strv_push(&a, xstrdup("-device"));
	strv_push(&a, xstrdup("isa-serial,chardev=serial0"));
	if (cdrom) {
		strv_push(&a, xstrdup("-drive"));
		strv_push(
		    &a, xasprintf("file=%s,if=none,id=drive-ide2,media=cdrom,readonly=on", cdrom));
		strv_push(&a, xstrdup("-device"));
		strv_push(&a, xstrdup("ide-cd,bus=ide.1,unit=0,drive=drive-ide2,bootindex=100"));
	}
	if (disk) {
		strv_push(&a, xstrdup("-drive"));
		strv_push(&a, xasprintf("file=%s,if=none,id=drive-scsi0,format=raw", disk));
		strv_push(&a, xstrdup("-device"));
		strv_push(&a, xstrdup("virtio-blk-pci,drive=drive-scsi0"));
	}
	if (nic) {
		strv_push(&a, xstrdup("-netdev"));
		strv_push(&a, xasprintf("type=tap,id=net0,ifname=tap%ldi0,script=no,downscript=no",
		                        vmid));
		strv_push(&a, xstrdup("-device"));
		strv_push(
		    &a,
		    xstrdup("virtio-net-pci,netdev=net0,id=net0,mac=BC:24:11:00:00:01,romfile="));
	}
	return a;
}

/* Nothing of VM vmid is left on the host. */
static void assert_gone(long vmid, pid_t pid)
{
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(qemu_run_dir(&env, vmid, false, &dir, NULL), 0);
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0);
	char tap[NETDEV_TAP_NAME_MAX];
	assert_int_equal(netdev_tap_name(tap, vmid, 0), 0);
	assert_false(netdev_exists(tap));
	assert_int_equal(qemu_run_is_running(&env, vmid, NULL), 0);
	_cleanup_free_ char *cg = xasprintf("/sys/fs/cgroup/cpu/%s/%ld", env.cgroup_name, vmid);
	assert_int_not_equal(stat(cg, &st), 0);
	if (pid > 0) {
		/* reaped by us (the subreaper), not lingering as a zombie */
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d", (int)pid);
		for (int i = 0; i < 100 && access(p, F_OK) == 0; i++)
			usleep(20000);
		assert_int_not_equal(access(p, F_OK), 0);
	}
}

/* Reads the serial socket until marker, within timeout_ms. */
static bool serial_wait(long vmid, const char *marker, int timeout_ms)
{
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(qemu_run_dir(&env, vmid, false, &dir, NULL), 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/serial0.sock", dir);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char buf[65536];
	size_t len = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > timeout_ms)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(timeout_ms - ms)) <= 0)
			continue;
		if (len == sizeof(buf) - 1)
			len = 0;
		ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return false;
		len += (size_t)k;
		buf[len] = '\0';
		if (memmem(buf, len, marker, strlen(marker)))
			return true;
	}
}

static pid_t start_ok(long vmid, char **argv, const struct qemu_run_nic *nics, size_t n)
{
	struct qemu_run_start_opts o = {.argv = argv, .nics = nics, .n_nics = n, .cpulimit = 1};
	_cleanup_error_ struct error *err = NULL;
	if (qemu_run_start_argv(&env, vmid, &o, &err) < 0)
		fail_msg("start: %s", err->msg);
	pid_t pid = 0;
	assert_int_equal(qemu_run_is_running(&env, vmid, &pid), 1);
	/* cpulimit 1: one core's worth of CFS quota, QEMU in its cgroup */
	_cleanup_free_ char *cg = xasprintf("/sys/fs/cgroup/cpu/%s/%ld", env.cgroup_name, vmid);
	_cleanup_free_ char *quota_path = xasprintf("%s/cpu.cfs_quota_us", cg);
	_cleanup_free_ char *procs_path = xasprintf("%s/cgroup.procs", cg);
	_cleanup_free_ char *quota = NULL, *procs = NULL;
	if (read_file(quota_path, 64, &quota, NULL, NULL) == 0) {
		assert_int_equal(atol(quota), 100000);
		assert_int_equal(read_file(procs_path, 4096, &procs, NULL, NULL), 0);
		assert_int_equal(atol(procs), pid);
	} else {
		print_message("no cgroup v1 cpu hierarchy: CPU limits not checked\n");
	}
	return pid;
}

static void test_boot_and_acpi_shutdown(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 1;
	char **argv = vm_argv(vmid, iso, NULL, true);
	struct qemu_run_nic nic = {.index = 0, .bridge = bridge, .tag = vlan_aware ? 5 : 0};
	pid_t pid = start_ok(vmid, argv, &nic, 1);
	strv_free(argv);

	/* the tap is on the bridge, with the bridge's MTU, up; on a
	 * VLAN-aware bridge an untagged member of VLAN 5 only */
	char tap[NETDEV_TAP_NAME_MAX];
	assert_int_equal(netdev_tap_name(tap, vmid, 0), 0);
	_cleanup_free_ char *master = xasprintf("/sys/class/net/%s/master", tap);
	char link[64] = "";
	assert_true(readlink(master, link, sizeof(link) - 1) > 0);
	assert_string_equal(strrchr(link, '/') + 1, bridge);
	_cleanup_free_ char *flags = NULL;
	_cleanup_free_ char *fpath = xasprintf("/sys/class/net/%s/flags", tap);
	assert_int_equal(read_file(fpath, 64, &flags, NULL, NULL), 0);
	assert_true(strtoul(flags, NULL, 16) & 1); /* IFF_UP */
	if (vlan_aware) {
		const char *show[] = {"bridge", "-j", "vlan", "show", "dev", tap, NULL};
		_cleanup_free_ char *vl = NULL;
		assert_int_equal(run(show, &vl), 0);
		assert_non_null(strstr(vl, "\"vlan\":5"));
		assert_null(strstr(vl, "\"vlan\":1,"));
	}

	_cleanup_json_ json_t *st = NULL;
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "running");
	assert_string_equal(json_string_value(json_object_get(st, "qmpstatus")), "running");
	assert_int_equal(json_integer_value(json_object_get(st, "pid")), pid);
	assert_true(json_is_integer(json_object_get(st, "uptime")));
	assert_true(json_is_real(json_object_get(st, "cpu")));
	assert_true(json_integer_value(json_object_get(st, "mem")) > 0);
	_cleanup_json_ json_t *brief = NULL;
	assert_int_equal(qemu_run_status_brief(&env, vmid, 1, &brief, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(brief, "status")), "running");
	assert_int_equal(json_integer_value(json_object_get(brief, "pid")), pid);
	assert_null(json_object_get(brief, "qmpstatus"));
	assert_true(json_is_real(json_object_get(brief, "cpu")));

	/* a second start is refused */
	char **again = vm_argv(vmid, iso, NULL, true);
	struct qemu_run_start_opts o = {.argv = again, .nics = &nic, .n_nics = 1};
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qemu_run_start_argv(&env, vmid, &o, &err), -EEXIST);
	_cleanup_free_ char *want = xasprintf("VM %ld already running", vmid);
	assert_string_equal(err->msg, want);
	err = error_free(err);
	strv_free(again);

	assert_true(serial_wait(vmid, "CTVM-GUEST-BOOTED", 120 * 1000));
	if (qemu_run_shutdown(&env, vmid, 60, false, &err) < 0)
		fail_msg("shutdown: %s", err->msg);
	assert_gone(vmid, pid);
	json_decref(st);
	st = NULL;
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "stopped");
	assert_null(json_object_get(st, "pid"));
}

/* A disk that does not exist: QEMU fails after the tap was made; nothing
 * stays. */
static void test_failed_start_leaves_nothing(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 2;
	_cleanup_free_ char *missing = xasprintf("%s/no-such-disk.raw", root);
	char **argv = vm_argv(vmid, NULL, missing, true);
	struct qemu_run_nic nic = {.index = 0, .bridge = bridge};
	struct qemu_run_start_opts o = {.argv = argv, .nics = &nic, .n_nics = 1};
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qemu_run_start_argv(&env, vmid, &o, &err), -EIO);
	assert_string_equal(err->msg, "start failed: QEMU exited with code 1");
	strv_free(argv);
	assert_gone(vmid, 0);

	/* QMP fails after QEMU runs (set_link of a NIC QEMU does not have):
	 * QEMU is killed, both taps go */
	{
		argv = vm_argv(vmid, NULL, NULL, true);
		struct qemu_run_nic two[] = {{.index = 0, .bridge = bridge},
		                             {.index = 5, .bridge = bridge, .link_down = true}};
		struct qemu_run_start_opts o2 = {.argv = argv, .nics = two, .n_nics = 2};
		err = error_free(err);
		assert_int_equal(qemu_run_start_argv(&env, vmid, &o2, &err), -EIO);
		_cleanup_free_ char *want = xasprintf(
		    "VM %ld qmp command 'set_link' failed - Device 'net5' not found", vmid);
		assert_string_equal(err->msg, want);
		strv_free(argv);
		assert_gone(vmid, 0);
		char tap5[NETDEV_TAP_NAME_MAX];
		assert_int_equal(netdev_tap_name(tap5, vmid, 5), 0);
		assert_false(netdev_exists(tap5));
		_cleanup_free_ char *pat = xasprintf("%s/qemu-server/%ld/", root, vmid);
		const char *pg[] = {"pgrep", "-f", pat, NULL};
		assert_int_not_equal(run_quiet(pg), 0); /* no QEMU left */
	}

	/* a tag on a bridge that does not filter VLANs: refused */
	if (!vlan_aware) {
		argv = vm_argv(vmid, NULL, NULL, true);
		nic.tag = 5;
		o.argv = argv;
		err = error_free(err);
		assert_int_equal(qemu_run_start_argv(&env, vmid, &o, &err), -EINVAL);
		_cleanup_free_ char *want =
		    xasprintf("bridge '%s' is not VLAN aware - unable to use tag 5", bridge);
		assert_string_equal(err->msg, want);
		assert_int_equal(err->http_status, 400);
		strv_free(argv);
		assert_gone(vmid, 0);
		nic.tag = 0;
	}

	/* a bridge that does not exist: refused before QEMU runs */
	argv = vm_argv(vmid, NULL, NULL, true);
	nic.bridge = "vmbr-nonexist";
	o.argv = argv;
	err = error_free(err);
	assert_int_equal(qemu_run_start_argv(&env, vmid, &o, &err), -ENOENT);
	assert_string_equal(err->msg, "bridge 'vmbr-nonexist' does not exist");
	strv_free(argv);
	assert_gone(vmid, 0);
}

/* No guest OS: ACPI goes unanswered. */
static void test_stop_and_shutdown_timeout(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 3;
	char **argv = vm_argv(vmid, NULL, NULL, false);
	pid_t pid = start_ok(vmid, argv, NULL, 0);

	_cleanup_error_ struct error *err = NULL;
	/* cpu: 0 on the first look, then the share of the one vCPU in use
	 * (SeaBIOS spinning under TCG keeps it busy) */
	_cleanup_json_ json_t *st = NULL;
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	assert_true(json_real_value(json_object_get(st, "cpu")) == 0.0);
	json_decref(st);
	usleep(300 * 1000);
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	double cpu = json_real_value(json_object_get(st, "cpu"));
	if (!(cpu > 0.05 && cpu < 4))
		fail_msg("cpu %f", cpu);
	json_decref(st);
	st = NULL;

	assert_int_equal(qemu_run_suspend(&env, vmid, NULL), 0);
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(st, "qmpstatus")), "paused");
	assert_int_equal(qemu_run_resume(&env, vmid, NULL), 0);
	assert_int_equal(qemu_run_reset(&env, vmid, NULL), 0);

	assert_int_equal(qemu_run_shutdown(&env, vmid, 1, false, &err), -ETIMEDOUT);
	assert_string_equal(err->msg, "VM quit/powerdown failed - got timeout");
	err = error_free(err);
	assert_int_equal(qemu_run_is_running(&env, vmid, NULL), 1);
	/* forceStop: SIGTERM after the timeout */
	assert_int_equal(qemu_run_shutdown(&env, vmid, 1, true, &err), 0);
	assert_gone(vmid, pid);

	assert_int_equal(qemu_run_suspend(&env, vmid, &err), -ESRCH);
	_cleanup_free_ char *want = xasprintf("VM %ld not running", vmid);
	assert_string_equal(err->msg, want);

	/* hard stop: QMP quit */
	pid = start_ok(vmid, argv, NULL, 0);
	assert_int_equal(qemu_run_stop(&env, vmid, 10, NULL), 0);
	assert_gone(vmid, pid);
	/* stopping a stopped VM only cleans up */
	assert_int_equal(qemu_run_stop(&env, vmid, 10, NULL), 0);
	strv_free(argv);
}

/* QEMU killed behind our back: not running at once (no zombie), and the
 * next status cleans up its tap and run directory. */
static void test_dead_vm_cleaned_up(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 4;
	char **argv = vm_argv(vmid, NULL, NULL, true);
	struct qemu_run_nic nic = {.index = 0, .bridge = bridge, .rate = 1.5, .link_down = true};
	pid_t pid = start_ok(vmid, argv, &nic, 1);
	strv_free(argv);

	/* rate=1.5 (MB/s): htb towards the guest, as PVE's tap_rate_limit */
	char tap[NETDEV_TAP_NAME_MAX];
	assert_int_equal(netdev_tap_name(tap, vmid, 0), 0);
	const char *show[] = {"tc", "class", "show", "dev", tap, NULL};
	_cleanup_free_ char *cls = NULL;
	assert_int_equal(run(show, &cls), 0);
	assert_non_null(strstr(cls, "htb 1:1"));
	assert_non_null(strstr(cls, "rate 12582Kbit"));
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && qemu_run_is_running(&env, vmid, NULL) == 1; i++)
		usleep(10000);
	assert_int_equal(qemu_run_is_running(&env, vmid, NULL), 0);
	_cleanup_json_ json_t *st = NULL;
	assert_int_equal(qemu_run_status(&env, vmid, &st, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "stopped");
	assert_gone(vmid, pid);
}

/* A process running with some argument, until killed. */
static pid_t spawn_with_arg(const char *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "sleep 30", arg, (char *)NULL);
		_exit(127);
	}
	/* until exec has replaced the forked copy's command line */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *s = NULL;
		size_t len = 0;
		if (read_file(path, 4096, &s, &len, NULL) == 0 && memmem(s, len, arg, strlen(arg)))
			break;
		usleep(5000);
	}
	return pid;
}

/* The pidfile alone proves nothing: the process must name this VM's
 * qmp.sock as a whole value (a recycled pid, VM 10 beside VM 100, or a
 * test root whose path ends with ours are other processes). */
static void test_identity(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 5;
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(qemu_run_dir(&env, vmid, true, &dir, NULL), 0);
	_cleanup_free_ char *pidf = xasprintf("%s/pid", dir);
	_cleanup_free_ char *qmp = xasprintf("%s/qmp.sock", dir);
	const char *args[] = {"", "xx", "unix:/other", "unix:", "unix:"};
	const char *tails[] = {"", "", "", "0", ",server=on"};
	for (size_t i = 0; i < ARRAY_SIZE(args); i++) {
		_cleanup_free_ char *arg = NULL;
		if (i == 0)
			arg = xstrdup("no-qmp-here");
		else
			arg = xasprintf("%s%s%s", args[i], qmp, tails[i]);
		pid_t pid = spawn_with_arg(arg);
		_cleanup_free_ char *p = xasprintf("%d\n", (int)pid);
		assert_int_equal(write_file_atomic(pidf, p, strlen(p), 0600, NULL), 0);
		int want = i == 4 ? 1 : 0;
		if (qemu_run_is_running(&env, vmid, NULL) != want)
			fail_msg("'%s': running should be %d", arg, want);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	/* and a dead pid */
	assert_int_equal(qemu_run_is_running(&env, vmid, NULL), 0);
	assert_int_equal(qemu_run_cleanup(&env, vmid, true, NULL), 0);
	assert_gone(vmid, 0);
}

static int bridge_mtu(const char *name, void *userdata)
{
	unsigned mtu;
	return netdev_bridge_info(name, &mtu, NULL, NULL) < 0 ? -ENOENT : (int)mtu;
}

static int no_volumes(const char *volid, void *userdata, struct qemu_volume *ret,
                      struct error **err)
{
	return error_set(err, -ENOENT, 500, "no storage in this test ('%s')", volid);
}

/* The whole path the guest layer takes: a qemu-server config, parsed
 * (guest-conf), turned into argv (qemu_cmd_build), run (qemu-run): the
 * test guest boots from its cdrom, its NIC on the bridge. */
static void test_config_to_boot(void **state)
{
	REQUIRE_ROOT();
	long vmid = vmid_base + 6;
	_cleanup_free_ char *text =
	    xasprintf("boot: order=ide2\nide2: %s,media=cdrom\nkvm: 0\nmemory: 256\n"
	              "net0: virtio=BC:24:11:00:00:06,bridge=%s\nserial0: socket\n",
	              iso, bridge);
	_cleanup_guest_conf_ struct guest_conf *conf = NULL;
	_cleanup_error_ struct error *err = NULL;
	if (guest_conf_parse(&qemu_conf_schema, (unsigned)vmid, text, strlen(text),
	                     GUEST_CONF_STRICT, &conf, NULL, &err) < 0)
		fail_msg("parse: %s", err->msg);
	_cleanup_free_ char *dir = NULL;
	assert_int_equal(qemu_run_dir(&env, vmid, true, &dir, NULL), 0);
	struct qemu_cmd_env cenv = {
	    .vmid = (unsigned)vmid,
	    .rundir = dir,
	    .resolve = no_volumes,
	    .bridge_mtu = bridge_mtu,
	};
	char **argv = NULL;
	if (qemu_cmd_build(&cenv, conf, &argv, &err) < 0)
		fail_msg("qemu_cmd_build: %s", err->msg);
	struct qemu_run_nic nic = {.index = 0, .bridge = bridge};
	struct qemu_run_start_opts o = {.argv = argv, .nics = &nic, .n_nics = 1};
	if (qemu_run_start_argv(&env, vmid, &o, &err) < 0) {
		_cleanup_free_ char *line = qemu_cmd_to_string(argv);
		fail_msg("start: %s\n%s", err->msg, line);
	}
	strv_free(argv);
	pid_t pid = 0;
	assert_int_equal(qemu_run_is_running(&env, vmid, &pid), 1);
	assert_true(serial_wait(vmid, "CTVM-GUEST-BOOTED", 120 * 1000));
	if (qemu_run_shutdown(&env, vmid, 60, false, &err) < 0)
		fail_msg("shutdown: %s", err->msg);
	assert_gone(vmid, pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boot_and_acpi_shutdown),
	    cmocka_unit_test(test_failed_start_leaves_nothing),
	    cmocka_unit_test(test_stop_and_shutdown_timeout),
	    cmocka_unit_test(test_dead_vm_cleaned_up),
	    cmocka_unit_test(test_identity),
	    cmocka_unit_test(test_config_to_boot),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
