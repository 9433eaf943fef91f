/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#define LOG_CATEGORY "qemu-run"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "log.h"
#include "netdev.h"
#include "qemu-run.h"
#include "qmp.h"
#include "strbuf.h"
#include "task.h"
#include "xalloc.h"

#define TAPS_FILE  "taps"
#define SWTPM_SOCK "swtpm.sock" /* qemu-cmd's -chardev of the TPM */
#define SWTPM_PID  "swtpm.pid"
#define SWTPM_LOG  "swtpm.log"

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

int qemu_run_dir(const struct qemu_run_env *env, long vmid, bool create, char **ret,
                 struct error **err)
{
	if (!vmid_ok(vmid))
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	_cleanup_free_ char *base = path_join(env->run_root, "qemu-server");
	_cleanup_free_ char *dir = xasprintf("%s/%ld", base, vmid);
	if (create) {
		int r = mkdir_p(base, 0755);
		if (r < 0)
			return error_set(err, r, 500, "unable to create '%s' - %s", base,
			                 strerror(-r));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return error_set(err, -errno, 500, "unable to create '%s' - %m", dir);
		/* a directory left with another mode (or made by someone else)
		 * must not keep it: QMP and VNC are behind it */
		if (chmod(dir, 0700) < 0)
			return error_set(err, -errno, 500, "unable to chmod '%s' - %m", dir);
	}
	*ret = TAKE_PTR(dir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Waits until the process of pidfd has exited (a zombie counts).
 * 0, or -ETIMEDOUT. */
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

/* The process state letter of /proc/<pid>/stat, or 0 when it is gone. */
static char proc_state(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file(path, 4096, &s, NULL, NULL) < 0)
		return 0;
	const char *rp = strrchr(s, ')');
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

/* Whether arg names path as a whole option value: "unix:PATH,...",
 * "path=PATH,...", or PATH itself (a root whose name ends with ours, or
 * VM 10 beside VM 100, never match). */
static bool arg_names_path(const char *arg, const char *path)
{
	size_t n = strlen(path);
	for (const char *p = arg; (p = strstr(p, path)); p++) {
		bool start = p == arg || p[-1] == ':' || p[-1] == '=';
		bool end = p[n] == '\0' || p[n] == ',';
		if (start && end)
			return true;
	}
	return false;
}

/* Whether pid's command line has an argument naming path. */
static bool cmdline_has(pid_t pid, const char *needle)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	if (read_file(path, 1 << 20, &s, &len, NULL) < 0)
		return false;
	for (size_t off = 0; off < len; off += strlen(s + off) + 1)
		if (arg_names_path(s + off, needle))
			return true;
	return false;
}

static int read_pid_at(const char *dir, const char *name, pid_t *ret)
{
	_cleanup_free_ char *p = path_join(dir, name);
	_cleanup_free_ char *s = NULL;
	int r = read_file(p, 64, &s, NULL, NULL);
	if (r < 0)
		return r;
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || (*end && *end != '\n') || v <= 1 || v > INT32_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

static int read_pidfile(const char *dir, pid_t *ret)
{
	return read_pid_at(dir, "pid", ret);
}

/* The identity check: the pidfile's process lives, is not a zombie, and
 * is the QEMU serving this directory's qmp.sock (a recycled pid is some
 * other program). */
static int running_in(const char *dir, pid_t *ret_pid)
{
	pid_t pid;
	int r = read_pidfile(dir, &pid);
	if (r == -ENOENT || r == -EINVAL)
		return 0;
	if (r < 0)
		return r;
	char st = proc_state(pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return 0;
	_cleanup_free_ char *qmp = path_join(dir, "qmp.sock");
	if (!cmdline_has(pid, qmp))
		return 0;
	if (ret_pid)
		*ret_pid = pid;
	return 1;
}

int qemu_run_is_running(const struct qemu_run_env *env, long vmid, pid_t *ret_pid)
{
	_cleanup_free_ char *dir = NULL;
	if (qemu_run_dir(env, vmid, false, &dir, NULL) < 0)
		return -EINVAL;
	return running_in(dir, ret_pid);
}

/* A pidfd for the running VM's QEMU, taken so that the identity check
 * and the pidfd refer to one process. */
static int open_vm(const char *dir, pid_t *ret_pid)
{
	for (int tries = 0; tries < 3; tries++) {
		pid_t pid;
		int r = running_in(dir, &pid);
		if (r <= 0)
			return r == 0 ? -ESRCH : r;
		int fd = pidfd_open_(pid);
		if (fd < 0)
			continue; /* exited in between */
		if (running_in(dir, NULL) == 1) {
			if (ret_pid)
				*ret_pid = pid;
			return fd;
		}
		close(fd);
	}
	return -ESRCH;
}

/* ------------------------------------------------------------------ */
/* cgroup v1 cpu limits                                                */

static char *cgroup_dir(const struct qemu_run_env *env, long vmid)
{
	return xasprintf("%s/cpu/%s/%ld", env->cgroup_root ? env->cgroup_root : "/sys/fs/cgroup",
	                 env->cgroup_name ? env->cgroup_name : "ctvm-qemu", vmid);
}

static int write_small(const char *dir, const char *file, const char *value)
{
	_cleanup_free_ char *p = path_join(dir, file);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_full(fd, value, strlen(value));
}

static int apply_cpu_limits(const struct qemu_run_env *env, long vmid, pid_t pid,
                            const struct qemu_run_start_opts *o)
{
	_cleanup_free_ char *cg = cgroup_dir(env, vmid);
	_cleanup_free_ char *parent = xstrdup(cg);
	*strrchr(parent, '/') = '\0';
	/* one level at a time: mkdir on the cgroup fs's own directories
	 * fails with other errors than EEXIST */
	int r = 0;
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		r = -errno;
	if (r >= 0 && mkdir(cg, 0755) < 0 && errno != EEXIST)
		r = -errno;
	char buf[64];
	if (r >= 0 && o->cpuunits) {
		snprintf(buf, sizeof(buf), "%u", o->cpuunits);
		r = write_small(cg, "cpu.shares", buf);
	}
	if (r >= 0 && o->cpulimit > 0) {
		r = write_small(cg, "cpu.cfs_period_us", "100000");
		snprintf(buf, sizeof(buf), "%lld", (long long)(o->cpulimit * 100000.0));
		if (r >= 0)
			r = write_small(cg, "cpu.cfs_quota_us", buf);
	}
	if (r >= 0) {
		snprintf(buf, sizeof(buf), "%d", (int)pid);
		r = write_small(cg, "cgroup.procs", buf);
	}
	if (r < 0) {
		task_warn_or_debug(env->w,
		                   "unable to apply the CPU limits (cgroup v1 '%s': %s), ignoring",
		                   cg, strerror(-r));
		rmdir(cg);
	}
	return r;
}

/* ------------------------------------------------------------------ */
/* Cleanup                                                             */

/* Deletes the taps listed in dir; false when one could not be deleted
 * (the list then keeps it, for the next cleanup). */
static bool remove_taps(const struct qemu_run_env *env, const char *dir)
{
	_cleanup_free_ char *p = path_join(dir, TAPS_FILE);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 64 * 1024, &s, NULL, NULL) < 0)
		return true;
	struct strbuf left = STRBUF_INIT;
	char *save = NULL;
	for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		_cleanup_error_ struct error *e = NULL;
		int r = netdev_tap_delete(t, &e);
		/* EBUSY: the last of QEMU's threads still closing its fds */
		for (int i = 0; r == -EBUSY && i < 100; i++) {
			e = error_free(e);
			poll(NULL, 0, 10);
			r = netdev_tap_delete(t, &e);
		}
		if (r < 0) {
			task_warn_or_debug(env->w, "%s, ignoring", e->msg);
			strbuf_addf(&left, "%s\n", t);
		}
	}
	bool ok = left.len == 0;
	if (ok)
		unlink(p);
	else
		write_file_atomic(p, left.buf, left.len, 0600, NULL);
	strbuf_release(&left);
	return ok;
}

static int kill_and_wait(int pidfd, int timeout_ms)
{
	pidfd_kill(pidfd, SIGKILL);
	return pidfd_wait(pidfd, timeout_ms);
}

/* A QEMU killed by a signal leaves its pidfile; its main thread can be a
 * zombie while the others still exit and hold the tap fds.  Waits (1 s at
 * most) until the whole process has exited: a pidfd says so. */
static void wait_exited(const char *dir)
{
	pid_t pid;
	if (read_pidfile(dir, &pid) < 0 || proc_state(pid) != 'Z')
		return;
	int fd = pidfd_open_(pid);
	if (fd >= 0) {
		pidfd_wait(fd, 1000);
		close(fd);
	}
}

/* Removes the VM's cgroup.  A killed QEMU's threads may still be leaving
 * it for a moment after the process counts as exited (rmdir: EBUSY), so
 * that is retried for up to 2 s. */
static void cgroup_remove(const char *cg)
{
	for (int i = 0; i < 200 && rmdir(cg) < 0 && errno == EBUSY; i++)
		usleep(10000);
}

/* The VM's swtpm: the process of swtpm.pid whose command line names this
 * directory's swtpm.sock (a recycled pid is some other program).  It ends
 * by itself when QEMU disconnects (--terminate), but not when QEMU never
 * connected (a failed start): SIGTERM, then SIGKILL after 2 s.  The swtpm
 * of a running VM is never touched: cleanup runs only without QEMU. */
static void stop_swtpm(const struct qemu_run_env *env, const char *dir)
{
	pid_t pid;
	if (read_pid_at(dir, SWTPM_PID, &pid) < 0)
		return;
	_cleanup_free_ char *sock = path_join(dir, SWTPM_SOCK);
	char st = proc_state(pid);
	if (st == 0 || st == 'Z' || st == 'X' || !cmdline_has(pid, sock))
		return;
	int fd = pidfd_open_(pid);
	if (fd < 0)
		return;
	pidfd_kill(fd, SIGTERM);
	if (pidfd_wait(fd, 2000) < 0 && kill_and_wait(fd, 2000) < 0)
		task_warn_or_debug(env->w, "swtpm %d did not exit after SIGKILL", (int)pid);
	close(fd);
}

/* Everything in dir and dir itself; with the run lock held, the VM not
 * running. */
static void cleanup_locked(const struct qemu_run_env *env, long vmid, const char *dir)
{
	wait_exited(dir);
	stop_swtpm(env, dir);
	_cleanup_free_ char *cg = cgroup_dir(env, vmid);
	cgroup_remove(cg);
	if (!remove_taps(env, dir))
		return; /* the directory keeps the list of what is left */
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

int qemu_run_cleanup(const struct qemu_run_env *env, long vmid, bool wait, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	if (access(dir, F_OK) < 0) {
		_cleanup_free_ char *cg = cgroup_dir(env, vmid);
		cgroup_remove(cg);
		return 0;
	}
	_cleanup_error_ struct error *e = NULL;
	int lfd = lock_file(dir, wait ? QEMU_RUN_START_TIMEOUT_MS + 5000 : 0, &e);
	if (lfd < 0) {
		if (!wait)
			return error_set(err, -EBUSY, 500, "VM %ld is busy", vmid);
		error_propagate(err, TAKE_PTR(e));
		return lfd;
	}
	if (running_in(dir, NULL) == 0)
		cleanup_locked(env, vmid, dir);
	unlock_file(lfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Start                                                               */

static bool argv_has(char *const *argv, const char *arg)
{
	for (size_t i = 0; argv[i]; i++)
		if (streq(argv[i], arg))
			return true;
	return false;
}

static int setup_taps(const struct qemu_run_env *env, long vmid, const char *dir,
                      const struct qemu_run_start_opts *o, struct error **err)
{
	if (o->n_nics > QEMU_RUN_MAX_NICS)
		return error_set(err, -E2BIG, 400, "too many network devices");
	/* the list first: a crash half-way leaves the record of what to remove */
	struct strbuf sb = STRBUF_INIT;
	char names[QEMU_RUN_MAX_NICS][NETDEV_TAP_NAME_MAX];
	for (size_t i = 0; i < o->n_nics; i++) {
		if (netdev_tap_name(names[i], vmid, o->nics[i].index) < 0) {
			strbuf_release(&sb);
			return error_set(err, -ENAMETOOLONG, 400, "tap name for net%u too long",
			                 o->nics[i].index);
		}
		strbuf_addf(&sb, "%s\n", names[i]);
	}
	_cleanup_free_ char *p = path_join(dir, TAPS_FILE);
	int r = write_file_atomic(p, sb.buf, sb.len, 0600, err);
	strbuf_release(&sb);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->n_nics; i++) {
		const struct qemu_run_nic *n = &o->nics[i];
		if ((r = netdev_tap_create(names[i], err)) < 0 ||
		    (r = netdev_tap_plug(names[i], n->bridge, n->mtu, n->tag, err)) < 0)
			return r;
		bool both = true;
		if (n->rate > 0 && (r = netdev_tap_rate_limit(names[i], n->rate, &both, err)) < 0)
			return r;
		if (!both)
			task_warn_or_debug(
			    env->w,
			    "%s: rate limits only the traffic towards the guest (no tc policing in "
			    "this kernel)",
			    names[i]);
		task_log_or_debug(env->w, "%s: joined bridge %s%s", names[i], n->bridge,
		                  n->tag ? " (tagged)" : "");
	}
	return 0;
}

/* A command's stderr and stdout lines into the task log, each prefixed. */
static void log_output(const struct qemu_run_env *env, const char *prefix, char *text)
{
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		task_log_or_debug(env->w, "%s: %s", prefix, l);
}

static int run_tpm_cmd(const struct qemu_run_env *env, struct cmd *c, const char *name,
                       struct error **err)
{
	struct cmd_result res = {0};
	_cleanup_error_ struct error *e = NULL;
	int r = cmd_run(c, &res, &e);
	cmd_release(c);
	if (res.out && res.out_len)
		log_output(env, name, res.out);
	if (res.err && res.err_len)
		log_output(env, name, res.err);
	if (r < 0) {
		if (res.timed_out)
			r = error_set(err, -ETIMEDOUT, 500, "start failed: %s got timeout", name);
		else if (res.out || res.err)
			r = error_set(err, -EIO, 500, "start failed: %s exited with code %d", name,
			              res.exit_code);
		else
			r = error_set(err, r, 500, "start failed: %s", e->msg);
	}
	cmd_result_clear(&res);
	return r;
}

/*
 * PVE's start_swtpm(): swtpm_setup makes a fresh state the first time (an
 * EK and its certificate, a platform certificate; --not-overwrite leaves
 * an existing state alone), then swtpm serves it on <dir>/swtpm.sock until
 * QEMU disconnects (--terminate).  Both as root (--runas 0), as PVE: the
 * state volume is root's 0600.  The caller cleans up on failure
 * (stop_swtpm() through cleanup_locked()).
 */
static int start_swtpm(const struct qemu_run_env *env, const char *dir,
                       const struct qemu_run_start_opts *o, int64_t deadline, struct error **err)
{
	/* swtpm's option syntax has no quoting: a ',' would end the path */
	if (strchr(o->tpm_state, ',') || strchr(dir, ','))
		return error_set(err, -EINVAL, 500,
		                 "start failed: the TPM state path '%s' has a ','", o->tpm_state);
	if (access("/usr/bin/swtpm_setup", X_OK) < 0 || access("/usr/bin/swtpm", X_OK) < 0)
		return error_set(err, -ENOENT, 500,
		                 "a TPM needs swtpm, which is not installed (Debian packages "
		                 "swtpm and swtpm-tools)");
	_cleanup_free_ char *sock = path_join(dir, SWTPM_SOCK);
	_cleanup_free_ char *pidf = path_join(dir, SWTPM_PID);
	_cleanup_free_ char *logf = path_join(dir, SWTPM_LOG);
	struct cmd c;
	int r, left = (int)(deadline - now_ms());

	cmd_init(&c, "swtpm_setup");
	cmd_add(&c, "--tpmstate");
	cmd_addf(&c, "file://%s", o->tpm_state);
	cmd_add(&c, "--createek");
	cmd_add(&c, "--create-ek-cert");
	cmd_add(&c, "--create-platform-cert");
	cmd_add(&c, "--lock-nvram");
	cmd_add(&c, "--config");
	cmd_add(&c, "/etc/swtpm_setup.conf"); /* not the XDG configs of $HOME */
	cmd_add(&c, "--runas");
	cmd_add(&c, "0");
	cmd_add(&c, "--not-overwrite");
	if (o->tpm2) {
		cmd_add(&c, "--tpm2");
		cmd_add(&c, "--ecc");
	}
	cmd_set_timeout(&c, left > 0 ? left : 1);
	if ((r = run_tpm_cmd(env, &c, "swtpm_setup", err)) < 0)
		return r;

	cmd_init(&c, "swtpm");
	cmd_add(&c, "socket");
	cmd_add(&c, "--tpmstate");
	cmd_addf(&c, "backend-uri=file://%s,mode=0600", o->tpm_state);
	cmd_add(&c, "--ctrl");
	cmd_addf(&c, "type=unixio,path=%s,mode=0600", sock);
	cmd_add(&c, "--pid");
	cmd_addf(&c, "file=%s", pidf);
	cmd_add(&c, "--terminate");
	cmd_add(&c, "--daemon");
	cmd_add(&c, "--log");
	cmd_addf(&c, "file=%s,level=1", logf);
	if (o->tpm2)
		cmd_add(&c, "--tpm2");
	left = (int)(deadline - now_ms());
	cmd_set_timeout(&c, left > 0 ? left : 1);
	if ((r = run_tpm_cmd(env, &c, "swtpm", err)) < 0)
		return r;
	/* the pidfile comes once swtpm listens (PVE waits up to 5 s) */
	pid_t pid;
	while (read_pid_at(dir, SWTPM_PID, &pid) < 0) {
		if (now_ms() >= deadline)
			return error_set(err, -ETIMEDOUT, 500,
			                 "failed to start swtpm: pid file '%s' wasn't created",
			                 pidf);
		poll(NULL, 0, 20);
	}
	task_log_or_debug(env->w, "swtpm %d serves the TPM state", (int)pid);
	return 0;
}

/* Runs QEMU, which daemonizes once it is set up (or fails). */
static int spawn_qemu(const struct qemu_run_env *env, const struct qemu_run_start_opts *o,
                      int timeout_ms, struct error **err)
{
	struct cmd c;
	cmd_init(&c, o->argv[0]);
	for (size_t i = 1; o->argv[i]; i++)
		cmd_add(&c, o->argv[i]);
	cmd_set_timeout(&c, timeout_ms);
	struct cmd_result res = {0};
	_cleanup_error_ struct error *e = NULL;
	int r = cmd_run(&c, &res, &e);
	cmd_release(&c);
	if (r < 0) {
		/* QEMU's own words go to the task log, Proxmox's summary to
		 * the caller */
		if (res.err && res.err_len) {
			char *save = NULL;
			for (char *l = strtok_r(res.err, "\n", &save); l;
			     l = strtok_r(NULL, "\n", &save))
				task_log_or_debug(env->w, "%s", l);
		}
		if (res.timed_out)
			r = error_set(err, -ETIMEDOUT, 500, "start failed: got timeout");
		else if (res.signal)
			r = error_set(err, -EIO, 500, "start failed: QEMU killed by signal %d",
			              res.signal);
		else if (res.out || res.err)
			r = error_set(err, -EIO, 500, "start failed: QEMU exited with code %d",
			              res.exit_code);
		else
			r = error_set(err, r, 500, "start failed: %s", e->msg);
	}
	cmd_result_clear(&res);
	return r;
}

/* ------------------------------------------------------------------ */
/* VM state: QEMU's migration into a file and back                     */

#define STATE_FDNAME "ctvm-vmstate"

/* MIGRATION events on, and fd in QEMU as STATE_FDNAME. */
static int migration_setup(struct qmp *q, int fd, bool outgoing, struct error **err)
{
	_cleanup_json_ json_t *caps =
	    json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", "events", "state", 1);
	int r =
	    qmp_execute(q, "migrate-set-capabilities", caps, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
	if (r == 0 && outgoing) {
		/* the guest is paused: the default limit (32 MiB/s) would
		 * only make the pause longer */
		_cleanup_json_ json_t *par =
		    json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 34);
		r = qmp_execute(q, "migrate-set-parameters", par, QEMU_RUN_QMP_TIMEOUT_MS, NULL,
		                err);
	}
	if (r == 0) {
		_cleanup_json_ json_t *a = json_pack("{s:s}", "fdname", STATE_FDNAME);
		r = qmp_execute_fd(q, "getfd", a, fd, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
	}
	return r;
}

/* Waits for the migration's end from its MIGRATION events (no polling):
 * 0 when it completed, else QEMU's reason (query-migrate's error-desc). */
static int migration_wait(struct qmp *q, long vmid, const char *what, struct error **err)
{
	int64_t deadline = now_ms() + QEMU_RUN_STATE_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - now_ms();
		_cleanup_json_ json_t *ev = NULL;
		_cleanup_error_ struct error *e = NULL;
		int r = qmp_next_event(q, "MIGRATION", left > 0 ? (int)left : 1, &ev, &e);
		if (r < 0)
			return error_set(err, r, 500, "VM %ld %s failed - %s", vmid, what,
			                 r == -ETIMEDOUT ? "got timeout"
			                 : e             ? e->msg
			                                 : "?");
		const char *st =
		    json_string_value(json_object_get(json_object_get(ev, "data"), "status"));
		if (streq_ptr(st, "completed"))
			return 0;
		if (streq_ptr(st, "failed") || streq_ptr(st, "cancelled")) {
			_cleanup_json_ json_t *info = NULL;
			const char *desc = NULL;
			if (qmp_execute(q, "query-migrate", NULL, QEMU_RUN_QMP_TIMEOUT_MS, &info,
			                NULL) == 0)
				desc = json_string_value(json_object_get(info, "error-desc"));
			return error_set(err, -EIO, 500, "VM %ld %s failed - %s", vmid, what,
			                 desc ? desc : st);
		}
	}
}

static int load_state(struct qmp *q, long vmid, int fd, struct error **err)
{
	int r = migration_setup(q, fd, false, err);
	_cleanup_json_ json_t *a = json_pack("{s:s}", "uri", "fd:" STATE_FDNAME);
	if (r == 0)
		r = qmp_execute(q, "migrate-incoming", a, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
	if (r == 0)
		r = migration_wait(q, vmid, "state load", err);
	return r;
}

int qemu_run_start_argv(const struct qemu_run_env *env, long vmid,
                        const struct qemu_run_start_opts *o, struct error **err)
{
	if (!o->argv || !o->argv[0])
		return error_set(err, -EINVAL, 500, "start failed: no command line");
	int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : QEMU_RUN_START_TIMEOUT_MS;
	int64_t deadline = now_ms() + timeout_ms;
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, true, &dir, err);
	if (r < 0)
		return r;
	int lfd = lock_file(dir, timeout_ms, err);
	if (lfd < 0)
		return lfd;
	if (running_in(dir, NULL) == 1) {
		unlock_file(lfd);
		return error_set(err, -EEXIST, 500, "VM %ld already running", vmid);
	}

	_cleanup_free_ char *qmp_path = path_join(dir, "qmp.sock");
	_cleanup_free_ char *label = xasprintf("VM %ld", vmid);
	_cleanup_free_ char *again = NULL;
	_cleanup_error_ struct error *e = NULL;
	_cleanup_qmp_ struct qmp *q = NULL;
	int pidfd = -1, left;
	pid_t pid = 0;

	/* what a VM that died unseen left, then a fresh directory */
	cleanup_locked(env, vmid, dir);
	if ((r = qemu_run_dir(env, vmid, true, &again, err)) < 0)
		goto fail;
	if ((r = setup_taps(env, vmid, dir, o, err)) < 0)
		goto fail;
	if (o->tpm_state && (r = start_swtpm(env, dir, o, deadline, err)) < 0)
		goto fail;

	left = (int)(deadline - now_ms());
	if ((r = spawn_qemu(env, o, left > 0 ? left : 1, err)) < 0)
		goto fail;
	pidfd = open_vm(dir, &pid);
	if (pidfd < 0) {
		r = error_set(err, -ESRCH, 500, "start failed: QEMU exited right after its start");
		goto fail;
	}
	left = (int)(deadline - now_ms());
	if ((r = qmp_connect(qmp_path, label, left > 0 ? left : 1, &q, &e)) < 0) {
		r = error_set(err, r, 500, "start failed: %s", e->msg);
		goto fail;
	}
	if (o->load_state) {
		task_log_or_debug(env->w, "loading the VM state");
		if ((r = load_state(q, vmid, o->state_fd, err)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < o->n_nics; i++) {
		if (!o->nics[i].link_down)
			continue;
		char name[32];
		snprintf(name, sizeof(name), "net%u", o->nics[i].index);
		_cleanup_json_ json_t *args = json_pack("{s:s, s:b}", "name", name, "up", 0);
		left = (int)(deadline - now_ms());
		if ((r = qmp_execute(q, "set_link", args, left > 0 ? left : 1, NULL, err)) < 0)
			goto fail;
	}
	if (o->cpulimit > 0 || o->cpuunits)
		apply_cpu_limits(env, vmid, pid, o);
	if (argv_has(o->argv, "-S") && !o->paused) {
		left = (int)(deadline - now_ms());
		if ((r = qmp_execute(q, "cont", NULL, left > 0 ? left : 1, NULL, err)) < 0)
			goto fail;
	}
	close(pidfd);
	unlock_file(lfd);
	return 0;

fail:
	q = qmp_free(q);
	/* QEMU may have daemonized before failing, or not be ours to find
	 * by pidfile yet: anything running from this directory goes */
	if (pidfd < 0 && running_in(dir, &pid) == 1)
		pidfd = pidfd_open_(pid);
	if (pidfd >= 0) {
		if (kill_and_wait(pidfd, 10000) < 0)
			task_warn_or_debug(env->w, "QEMU %d did not exit after SIGKILL", (int)pid);
		close(pidfd);
	}
	cleanup_locked(env, vmid, dir);
	unlock_file(lfd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Commands to a running VM                                            */

static int connect_vm(const struct qemu_run_env *env, long vmid, const char *dir, int timeout_ms,
                      struct qmp **ret, struct error **err)
{
	if (running_in(dir, NULL) != 1)
		return error_set(err, -ESRCH, 500, "VM %ld not running", vmid);
	_cleanup_free_ char *path = path_join(dir, "qmp.sock");
	_cleanup_free_ char *label = xasprintf("VM %ld", vmid);
	return qmp_connect(path, label, timeout_ms, ret, err);
}

int qemu_run_qmp_connect(const struct qemu_run_env *env, long vmid, int timeout_ms,
                         struct qmp **ret, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	return connect_vm(env, vmid, dir, timeout_ms, ret, err);
}

int qemu_run_qmp(const struct qemu_run_env *env, long vmid, const char *cmd, json_t *args,
                 int timeout_ms, json_t **ret, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	if (timeout_ms <= 0)
		timeout_ms = QEMU_RUN_QMP_TIMEOUT_MS;
	_cleanup_qmp_ struct qmp *q = NULL;
	if ((r = connect_vm(env, vmid, dir, timeout_ms, &q, err)) < 0)
		return r;
	return qmp_execute(q, cmd, args, timeout_ms, ret, err);
}

/* Adds tap to the VM's taps file (once), so cleanup deletes it too. */
static int taps_file_add(const char *dir, const char *tap, struct error **err)
{
	_cleanup_free_ char *p = path_join(dir, TAPS_FILE);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 64 * 1024, &s, NULL, NULL) < 0) {
		free(s);
		s = xstrdup("");
	}
	size_t len = strlen(s);
	_cleanup_free_ char *all = xasprintf("\n%s%s", s, len && s[len - 1] != '\n' ? "\n" : "");
	_cleanup_free_ char *line = xasprintf("\n%s\n", tap);
	if (strstr(all, line))
		return 0;
	_cleanup_free_ char *text = xasprintf("%s%s\n", all + 1, tap);
	return write_file_atomic(p, text, strlen(text), 0600, err);
}

int qemu_run_nic_hotplug(const struct qemu_run_env *env, long vmid, const struct qemu_run_nic *nic,
                         json_t *device, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	pid_t pid;
	if (qemu_run_is_running(env, vmid, &pid) != 1)
		return error_set(err, -ESRCH, 500, "VM %ld not running", vmid);
	char tap[NETDEV_TAP_NAME_MAX], id[16];
	if (netdev_tap_name(tap, vmid, nic->index) < 0)
		return error_set(err, -ENAMETOOLONG, 400, "tap name for net%u too long",
		                 nic->index);
	snprintf(id, sizeof(id), "net%u", nic->index);
	/* the record first, as at start: a crash half-way leaves what to remove */
	if ((r = taps_file_add(dir, tap, err)) < 0 || (r = netdev_tap_create(tap, err)) < 0)
		return r;
	bool both = true;
	r = netdev_tap_plug(tap, nic->bridge, nic->mtu, nic->tag, err);
	if (r == 0 && nic->rate > 0)
		r = netdev_tap_rate_limit(tap, nic->rate, &both, err);
	json_t *nd = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "tap", "id", id, "ifname", tap,
	                       "script", "no", "downscript", "no");
	bool netdev = false;
	if (r == 0)
		netdev = (r = qemu_run_qmp(env, vmid, "netdev_add", nd, 0, NULL, err)) == 0;
	json_decref(nd);
	if (r == 0)
		r = qemu_run_qmp(env, vmid, "device_add", device, 0, NULL, err);
	if (r < 0) {
		/* the VM as it was */
		if (netdev) {
			json_t *a = json_pack("{s:s}", "id", id);
			qemu_run_qmp(env, vmid, "netdev_del", a, 0, NULL, NULL);
			json_decref(a);
		}
		netdev_tap_delete(tap, NULL);
		return r;
	}
	if (!both)
		task_warn_or_debug(env->w, "%s: rate limits only the traffic towards the guest",
		                   tap);
	task_log_or_debug(env->w, "%s: hot-plugged, tap %s joined bridge %s", id, tap, nic->bridge);
	if (nic->link_down) {
		/* the device is in: a failure here leaves the link up */
		json_t *l = json_pack("{s:s, s:b}", "name", id, "up", 0);
		r = qemu_run_qmp(env, vmid, "set_link", l, 0, NULL, err);
		json_decref(l);
	}
	return r;
}

int qemu_run_reset(const struct qemu_run_env *env, long vmid, struct error **err)
{
	return qemu_run_qmp(env, vmid, "system_reset", NULL, 0, NULL, err);
}

int qemu_run_suspend(const struct qemu_run_env *env, long vmid, struct error **err)
{
	return qemu_run_qmp(env, vmid, "stop", NULL, 0, NULL, err);
}

int qemu_run_resume(const struct qemu_run_env *env, long vmid, struct error **err)
{
	return qemu_run_qmp(env, vmid, "cont", NULL, 0, NULL, err);
}

/* SIGTERM, then SIGKILL (Proxmox's vm_stop after quit/powerdown). */
static int terminate(const struct qemu_run_env *env, int pidfd)
{
	task_log_or_debug(env->w, "VM still running - terminating now with SIGTERM");
	pidfd_kill(pidfd, SIGTERM);
	if (pidfd_wait(pidfd, QEMU_RUN_TERM_TIMEOUT_S * 1000) == 0)
		return 0;
	task_log_or_debug(env->w, "VM still running - terminating now with SIGKILL");
	return kill_and_wait(pidfd, 10000);
}

/* quit or system_powerdown, then wait; the QMP connection is closed while
 * waiting, so status requests get through (QEMU serves one client). */
static int stop_or_shutdown(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                            bool shutdown, bool force_stop, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	pid_t pid;
	_cleanup_close_ int pidfd = open_vm(dir, &pid);
	if (pidfd == -ESRCH) {
		qemu_run_cleanup(env, vmid, true, NULL);
		return 0;
	}
	if (pidfd < 0)
		return error_set(err, pidfd, 500, "unable to find VM %ld - %s", vmid,
		                 strerror(-pidfd));
	if (!timeout_s)
		timeout_s = QEMU_RUN_STOP_TIMEOUT_S;

	_cleanup_error_ struct error *e = NULL;
	{
		_cleanup_qmp_ struct qmp *q = NULL;
		r = connect_vm(env, vmid, dir, QEMU_RUN_QMP_TIMEOUT_MS, &q, &e);
		if (r >= 0)
			r = qmp_execute(q, shutdown ? "system_powerdown" : "quit", NULL,
			                QEMU_RUN_QMP_TIMEOUT_MS, NULL, &e);
		/* quit: QEMU may close before it answers */
		if (r == -ECONNRESET && !shutdown)
			r = 0;
	}
	if (r < 0) {
		task_log_or_debug(env->w, "%s", e->msg);
		e = error_free(e);
		if (shutdown && !force_stop)
			return error_set(err, r, 500, "VM quit/powerdown failed");
	} else if (pidfd_wait(pidfd, (int)timeout_s * 1000) == 0) {
		qemu_run_cleanup(env, vmid, true, NULL);
		return 0;
	}
	if (shutdown && !force_stop)
		return error_set(err, -ETIMEDOUT, 500, "VM quit/powerdown failed - got timeout");
	if (terminate(env, pidfd) < 0)
		return error_set(err, -ETIMEDOUT, 500, "VM %ld did not exit after SIGKILL", vmid);
	qemu_run_cleanup(env, vmid, true, NULL);
	return 0;
}

int qemu_run_stop(const struct qemu_run_env *env, long vmid, unsigned timeout_s, struct error **err)
{
	return stop_or_shutdown(env, vmid, timeout_s, false, true, err);
}

int qemu_run_shutdown(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                      bool force_stop, struct error **err)
{
	return stop_or_shutdown(env, vmid, timeout_s, true, force_stop, err);
}

int qemu_run_reboot(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                    struct error **err)
{
	return stop_or_shutdown(env, vmid, timeout_s, true, false, err);
}

int qemu_run_save_state(const struct qemu_run_env *env, long vmid, int fd, bool quit,
                        struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	_cleanup_qmp_ struct qmp *q = NULL;
	if ((r = connect_vm(env, vmid, dir, QEMU_RUN_QMP_TIMEOUT_MS, &q, err)) < 0)
		return r;
	_cleanup_json_ json_t *st = NULL;
	if ((r = qmp_execute(q, "query-status", NULL, QEMU_RUN_QMP_TIMEOUT_MS, &st, err)) < 0)
		return r;
	bool was_running = json_is_true(json_object_get(st, "running"));
	if (was_running &&
	    (r = qmp_execute(q, "stop", NULL, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err)) < 0)
		return r;
	task_log_or_debug(env->w, "saving the VM state");
	r = migration_setup(q, fd, true, err);
	_cleanup_json_ json_t *a = json_pack("{s:s}", "uri", "fd:" STATE_FDNAME);
	if (r == 0)
		r = qmp_execute(q, "migrate", a, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
	if (r == 0)
		r = migration_wait(q, vmid, "state save", err);
	if (r < 0) {
		/* QEMU keeps a named fd that no migration took */
		_cleanup_json_ json_t *c = json_pack("{s:s}", "fdname", STATE_FDNAME);
		qmp_execute(q, "closefd", c, QEMU_RUN_QMP_TIMEOUT_MS, NULL, NULL);
		if (was_running &&
		    qmp_execute(q, "cont", NULL, QEMU_RUN_QMP_TIMEOUT_MS, NULL, NULL) < 0)
			task_warn_or_debug(env->w, "unable to resume VM %ld", vmid);
		return r;
	}
	task_log_or_debug(env->w, "VM state saved");
	if (!quit)
		return 0;
	q = qmp_free(q);
	return stop_or_shutdown(env, vmid, 0, false, true, err);
}

/* ------------------------------------------------------------------ */
/* Status                                                              */

/* The previous CPU sample per process, for the cpu figure. */
struct cpu_sample {
	pid_t pid;
	unsigned long long starttime; /* identifies the process with pid */
	unsigned long long ticks;
	int64_t at_ms;
};
#define CPU_SAMPLES 256
static struct cpu_sample cpu_samples[CPU_SAMPLES];
static pthread_mutex_t cpu_lock = PTHREAD_MUTEX_INITIALIZER;

/* utime+stime and starttime (clock ticks) of pid. */
static int proc_times(pid_t pid, unsigned long long *ret_ticks, unsigned long long *ret_start)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file(path, 4096, &s, NULL, NULL) < 0)
		return -ESRCH;
	const char *p = strrchr(s, ')');
	if (!p)
		return -EINVAL;
	/* fields after ')': 3 state ... 14 utime 15 stime ... 22 starttime */
	unsigned long long f[23] = {0};
	int field = 2;
	for (p++; *p && field < 22;) {
		while (*p == ' ')
			p++;
		field++;
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end != p && field < 23)
			f[field] = v;
		while (*p && *p != ' ')
			p++;
	}
	if (field < 22)
		return -EINVAL;
	*ret_ticks = f[14] + f[15];
	*ret_start = f[22];
	return 0;
}

static double cpu_fraction(pid_t pid, unsigned long long ticks, unsigned long long start)
{
	int64_t now = now_ms();
	double frac = 0;
	long hz = sysconf(_SC_CLK_TCK), ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_mutex_lock(&cpu_lock);
	struct cpu_sample *slot = &cpu_samples[(unsigned)pid % CPU_SAMPLES];
	if (slot->pid == pid && slot->starttime == start && now > slot->at_ms && hz > 0 &&
	    ncpu > 0 && ticks >= slot->ticks)
		frac = ((double)(ticks - slot->ticks) / (double)hz) /
		       ((double)(now - slot->at_ms) / 1000.0) / (double)ncpu;
	*slot = (struct cpu_sample){.pid = pid, .starttime = start, .ticks = ticks, .at_ms = now};
	pthread_mutex_unlock(&cpu_lock);
	return frac;
}

static json_int_t proc_rss(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file(path, 4096, &s, NULL, NULL) < 0)
		return 0;
	unsigned long long size = 0, resident = 0;
	if (sscanf(s, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (json_int_t)(resident * (unsigned long long)sysconf(_SC_PAGESIZE));
}

static double host_uptime(void)
{
	_cleanup_free_ char *s = NULL;
	if (read_file("/proc/uptime", 256, &s, NULL, NULL) < 0)
		return 0;
	return strtod(s, NULL);
}

/* Bytes through the VM's taps: what the tap receives the guest sent. */
static void tap_counters(const char *dir, json_int_t *netin, json_int_t *netout)
{
	_cleanup_free_ char *p = path_join(dir, TAPS_FILE);
	_cleanup_free_ char *s = NULL;
	if (read_file(p, 64 * 1024, &s, NULL, NULL) < 0)
		return;
	char *save = NULL;
	for (char *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (!netdev_exists(t))
			continue;
		_cleanup_free_ char *rx = xasprintf("/sys/class/net/%s/statistics/rx_bytes", t);
		_cleanup_free_ char *tx = xasprintf("/sys/class/net/%s/statistics/tx_bytes", t);
		_cleanup_free_ char *a = NULL, *b = NULL;
		if (read_file(rx, 64, &a, NULL, NULL) == 0)
			*netout += (json_int_t)strtoull(a, NULL, 10);
		if (read_file(tx, 64, &b, NULL, NULL) == 0)
			*netin += (json_int_t)strtoull(b, NULL, 10);
	}
}

static json_t *stopped_status(void)
{
	return json_pack("{s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:I}", "status", "stopped",
	                 "qmpstatus", "stopped", "uptime", (json_int_t)0, "cpu", 0.0, "mem",
	                 (json_int_t)0, "netin", (json_int_t)0, "netout", (json_int_t)0, "diskread",
	                 (json_int_t)0, "diskwrite", (json_int_t)0);
}

static int status_impl(const struct qemu_run_env *env, long vmid, bool use_qmp, unsigned cpus,
                       json_t **ret, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, vmid, false, &dir, err);
	if (r < 0)
		return r;
	pid_t pid;
	r = running_in(dir, &pid);
	if (r < 0)
		return error_set(err, r, 500, "unable to read the state of VM %ld - %s", vmid,
		                 strerror(-r));
	if (r == 0) {
		/* opportunistic: a start in progress holds the lock */
		qemu_run_cleanup(env, vmid, false, NULL);
		*ret = stopped_status();
		return 0;
	}
	unsigned long long ticks = 0, start = 0;
	if (proc_times(pid, &ticks, &start) < 0) {
		*ret = stopped_status();
		return 0;
	}
	long hz = sysconf(_SC_CLK_TCK);
	double up = host_uptime() - (hz > 0 ? (double)start / (double)hz : 0);
	json_int_t netin = 0, netout = 0, rd = 0, wr = 0;
	tap_counters(dir, &netin, &netout);

	const char *qmpstatus = "unknown";
	size_t n_vcpus = cpus;
	_cleanup_json_ json_t *qst = NULL, *blk = NULL;
	_cleanup_free_ char *version = NULL;
	_cleanup_qmp_ struct qmp *q = NULL;
	/* short: a QMP connection held by a task makes this wait */
	if (use_qmp && connect_vm(env, vmid, dir, 1000, &q, NULL) == 0) {
		if (qmp_execute(q, "query-status", NULL, 1000, &qst, NULL) == 0 &&
		    json_is_string(json_object_get(qst, "status")))
			qmpstatus = json_string_value(json_object_get(qst, "status"));
		json_t *v = json_object_get(json_object_get(qmp_greeting(q), "version"), "qemu");
		if (v)
			version =
			    xasprintf("%lld.%lld.%lld",
			              (long long)json_integer_value(json_object_get(v, "major")),
			              (long long)json_integer_value(json_object_get(v, "minor")),
			              (long long)json_integer_value(json_object_get(v, "micro")));
		_cleanup_json_ json_t *vcpus = NULL;
		if (qmp_execute(q, "query-cpus-fast", NULL, 1000, &vcpus, NULL) == 0 &&
		    json_array_size(vcpus) > 0)
			n_vcpus = json_array_size(vcpus);
		if (qmp_execute(q, "query-blockstats", NULL, 1000, &blk, NULL) == 0) {
			size_t i;
			json_t *dev;
			json_array_foreach (blk, i, dev) {
				json_t *st = json_object_get(dev, "stats");
				rd += json_integer_value(json_object_get(st, "rd_bytes"));
				wr += json_integer_value(json_object_get(st, "wr_bytes"));
			}
		}
	}
	/* PVE's cpu: the share of the VM's own vCPUs (1.0: all of them busy) */
	double cpu = cpu_fraction(pid, ticks, start);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (n_vcpus > 0 && ncpu > 0)
		cpu = cpu * (double)ncpu / (double)n_vcpus;
	json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:f, s:I, s:I, s:I, s:I, s:I}", "status",
	                      "running", "qmpstatus", qmpstatus, "pid", (int)pid, "uptime",
	                      (json_int_t)(up > 0 ? up : 0), "cpu", cpu, "mem", proc_rss(pid),
	                      "netin", netin, "netout", netout, "diskread", rd, "diskwrite", wr);
	if (version)
		json_object_set_new(o, "running-qemu", json_string(version));
	if (!use_qmp)
		json_object_del(o, "qmpstatus");
	*ret = o;
	return 0;
}

int qemu_run_status(const struct qemu_run_env *env, long vmid, json_t **ret, struct error **err)
{
	return status_impl(env, vmid, true, 0, ret, err);
}

int qemu_run_status_brief(const struct qemu_run_env *env, long vmid, unsigned cpus, json_t **ret,
                          struct error **err)
{
	return status_impl(env, vmid, false, cpus, ret, err);
}
