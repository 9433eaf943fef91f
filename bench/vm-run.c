/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench-vm-run: the VM start/stop timings of bench/vm, measured in one
 * process so both columns pay the same costs (bench/README.md).
 *
 *   bench-vm-run RUN_ROOT VMID ROUNDS ISO [BRIDGE]
 *
 * For each round, with the same QEMU command line, the one ctvm builds
 * (qemu_cmd_build) for a config with the test guest ISO as cdrom, kvm: 0,
 * 256 MiB, serial0 on a socket, and a NIC on BRIDGE when given:
 *
 *   floor: QEMU spawned by hand (-daemonize, then QMP greeting and
 *          qmp_capabilities), system_powerdown -> exit, quit -> exit;
 *   ctvm:  qemu_run_start_argv() -> return (QMP ready), qemu_run_shutdown()
 *          and qemu_run_stop() -> return (QEMU gone, everything cleaned up),
 *          qemu_run_status() of a running VM.
 *
 * The graceful stop waits for the guest's CTVM-GUEST-BOOTED first (ACPI
 * needs a booted guest).  Prints one JSON object: key -> [ms, ...].  Must
 * run as root, as a child subreaper (it makes itself one).
 */
#include "common.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "jsonutil.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "qemu-run.h"
#include "qmp.h"
#include "reaper.h"
#include "strv.h"
#include "xalloc.h"

static json_t *results;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void rec(const char *key, double ms)
{
	json_t *a = json_object_get(results, key);
	if (!a) {
		a = json_array();
		json_object_set_new(results, key, a);
	}
	json_array_append_new(a, json_real(ms));
}

static _noreturn_ void die(const char *what, struct error *e)
{
	fprintf(stderr, "bench-vm-run: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

static int bridge_mtu(const char *name, void *userdata)
{
	return 1500;
}

/* The command line ctvm builds (qemu_cmd_build) for a config with the ISO
 * as cdrom, kvm: 0, 256 MiB, serial0 on a socket, and net0 on bridge. */
static char **vm_argv(const char *dir, long vmid, const char *iso, const char *bridge)
{
	_cleanup_free_ char *net =
	    bridge ? xasprintf("net0: virtio=BC:24:11:00:00:02,bridge=%s\n", bridge) : xstrdup("");
	_cleanup_free_ char *text = xasprintf(
	    "boot: order=ide2\nide2: %s,media=cdrom\nkvm: 0\nmemory: 256\n%sserial0: socket\n", iso,
	    net);
	_cleanup_error_ struct error *e = NULL;
	struct guest_conf *conf = NULL;
	if (guest_conf_parse(&qemu_conf_schema, (unsigned)vmid, text, strlen(text),
	                     GUEST_CONF_STRICT, &conf, NULL, &e) < 0)
		die("config", e);
	struct qemu_cmd_env cenv = {
	    .vmid = (unsigned)vmid, .rundir = dir, .bridge_mtu = bridge_mtu};
	char **argv = NULL;
	if (qemu_cmd_build(&cenv, conf, &argv, &e) < 0)
		die("qemu_cmd_build", e);
	guest_conf_free(conf);
	return argv;
}

static void serial_wait(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/serial0.sock", dir);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("serial connect", NULL);
	char buf[8192];
	size_t len = 0;
	double t0 = now_ms();
	while (now_ms() - t0 < 120000) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (len > sizeof(buf) - 512)
			len = 0;
		ssize_t k = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		if (memmem(buf, len, "CTVM-GUEST-BOOTED", 17))
			return;
	}
	die("guest did not boot", NULL);
}

static int pidfd_of(const char *dir)
{
	_cleanup_free_ char *p = path_join(dir, "pid"), *s = NULL;
	if (read_file(p, 64, &s, NULL, NULL) < 0)
		die("pidfile", NULL);
	return (int)syscall(SYS_pidfd_open, atoi(s), 0);
}

static void pidfd_wait(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 60000) != 1)
		die("QEMU did not exit", NULL);
	close(fd);
}

/* The floor: what a script does by hand with the same command line. */
static struct qmp *floor_start(char **argv, const char *dir, double *ret_ms)
{
	_cleanup_free_ char *sock = path_join(dir, "qmp.sock");
	double t0 = now_ms();
	struct cmd c;
	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	_cleanup_error_ struct error *e = NULL;
	if (cmd_run(&c, NULL, &e) < 0)
		die("qemu", e);
	cmd_release(&c);
	struct qmp *q = NULL;
	if (qmp_connect(sock, "floor", 30000, &q, &e) < 0)
		die("qmp", e);
	*ret_ms = now_ms() - t0;
	return q;
}

static void round_floor(char **argv, const char *dir)
{
	double ms;
	/* ctvm's cleanup of the previous round removed the directory */
	mkdir(dir, 0700);
	struct qmp *q = floor_start(argv, dir, &ms);
	rec("start -> QMP ready", ms);
	serial_wait(dir);
	int fd = pidfd_of(dir);
	double t0 = now_ms();
	if (qmp_execute(q, "system_powerdown", NULL, 5000, NULL, NULL) < 0)
		die("powerdown", NULL);
	pidfd_wait(fd);
	rec("graceful stop (ACPI) -> exited", now_ms() - t0);
	qmp_free(q);

	q = floor_start(argv, dir, &ms);
	fd = pidfd_of(dir);
	t0 = now_ms();
	qmp_execute(q, "quit", NULL, 5000, NULL, NULL);
	pidfd_wait(fd);
	rec("hard stop (quit) -> exited", now_ms() - t0);
	qmp_free(q);
}

static void round_ctvm(const struct qemu_run_env *env, long vmid, char **argv, const char *dir,
                       const char *bridge)
{
	const char *sfx = bridge ? " (1 NIC)" : "";
	char key[128];
	struct qemu_run_nic nic = {.index = 0, .bridge = bridge};
	struct qemu_run_start_opts o = {.argv = argv, .nics = &nic, .n_nics = bridge ? 1 : 0};
	_cleanup_error_ struct error *e = NULL;
	double t0 = now_ms();
	if (qemu_run_start_argv(env, vmid, &o, &e) < 0)
		die("start", e);
	snprintf(key, sizeof(key), "ctvm:start -> QMP ready%s", sfx);
	rec(key, now_ms() - t0);
	for (int i = 0; i < 20; i++) {
		json_t *st = NULL;
		t0 = now_ms();
		if (qemu_run_status(env, vmid, &st, &e) < 0)
			die("status", e);
		rec("ctvm:status (running VM)", now_ms() - t0);
		json_decref(st);
	}
	serial_wait(dir);
	t0 = now_ms();
	if (qemu_run_shutdown(env, vmid, 60, false, &e) < 0)
		die("shutdown", e);
	snprintf(key, sizeof(key), "ctvm:graceful stop (ACPI) -> exited%s", sfx);
	rec(key, now_ms() - t0);

	if (qemu_run_start_argv(env, vmid, &o, &e) < 0)
		die("start", e);
	t0 = now_ms();
	if (qemu_run_stop(env, vmid, 60, &e) < 0)
		die("stop", e);
	snprintf(key, sizeof(key), "ctvm:hard stop (quit) -> exited%s", sfx);
	rec(key, now_ms() - t0);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: bench-vm-run RUN_ROOT VMID ROUNDS ISO [BRIDGE]\n");
		return 2;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	reaper_start();
	results = json_object();
	struct qemu_run_env env = {.run_root = argv[1]};
	long vmid = atol(argv[2]);
	int rounds = atoi(argv[3]);
	const char *iso = argv[4], *bridge = argc > 5 ? argv[5] : NULL;
	_cleanup_free_ char *dir = NULL;
	_cleanup_error_ struct error *e = NULL;
	if (qemu_run_dir(&env, vmid, true, &dir, &e) < 0)
		die("run dir", e);
	char **a = vm_argv(dir, vmid, iso, NULL);
	char **an = bridge ? vm_argv(dir, vmid, iso, bridge) : NULL;
	for (int i = 0; i < rounds; i++) {
		/* interleaved, so drifts of a shared machine hit both */
		round_floor(a, dir);
		round_ctvm(&env, vmid, a, dir, NULL);
		if (an)
			round_ctvm(&env, vmid, an, dir, bridge);
	}
	strv_free(a);
	strv_free(an);
	qemu_run_cleanup(&env, vmid, true, NULL);
	char *s = json_dumps(results, JSON_COMPACT);
	puts(s);
	free(s);
	json_decref(results);
	return 0;
}
