/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-run: a VM's QEMU process from start to exit (Contract 3 of the VM
 * work, docs/dev/GUESTS.md "Running VMs: processes, QMP, taps").
 *
 * Every VM has a run directory, <run>/qemu-server/<vmid>/ (0700), which
 * holds what QEMU serves and what ctvm needs to find it again after a
 * restart of ctvmd:
 *
 *   qmp.sock      QMP (the identity check below looks for this path in
 *                 the process's command line)
 *   vnc.sock, serialN.sock
 *   pid           QEMU's -pidfile (QEMU removes it when it exits)
 *   taps          the tap devices ctvm created for it, one per line
 *   swtpm.sock, swtpm.pid, swtpm.log
 *                 the VM's TPM (tpmstate0): swtpm, started before QEMU
 *                 and stopped by the cleanup after it
 *
 * and a lock file beside it (<vmid>.lock) that start and cleanup hold, so
 * a status request never cleans up under a VM being started.
 *
 * A VM runs when its pidfile names a live process (not a zombie) whose
 * command line names this qmp.sock.  When it does not, whatever the run
 * directory still holds (taps, sockets, cgroup) is left over and
 * qemu_run_cleanup() removes it; start does that first, stop and shutdown
 * after QEMU exits, status when it finds a dead VM.
 *
 * Start runs in a task worker (root).  QEMU daemonizes: its process
 * re-parents to ctvmd, a child subreaper that reaps it when it exits
 * (src/daemon/ctvmd.c), so a dead QEMU is never mistaken for a running
 * one.  Waiting for an exit uses a pidfd, which works for processes that
 * are not our children.
 *
 * Messages are Proxmox's where it has one ("VM 100 already running",
 * "VM quit/powerdown failed - got timeout").  Progress goes to the task
 * log of env->w (may be NULL); library code logs nothing above debug.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct error;
struct qmp;
struct task_worker;

#define QEMU_RUN_START_TIMEOUT_MS (30 * 1000)  /* spawn to QMP ready */
#define QEMU_RUN_QMP_TIMEOUT_MS   (5 * 1000)   /* one QMP command */
#define QEMU_RUN_STOP_TIMEOUT_S   60           /* quit, before SIGTERM */
#define QEMU_RUN_TERM_TIMEOUT_S   5            /* SIGTERM, before SIGKILL */
#define QEMU_RUN_STATE_TIMEOUT_MS (600 * 1000) /* saving or loading a VM state */
#define QEMU_RUN_MAX_NICS         32           /* net0..net31 */

struct qemu_run_env {
	const char *run_root;    /* ctvm's run directory (struct ctvm_paths.run) */
	const char *cgroup_root; /* NULL: /sys/fs/cgroup (v1: <root>/cpu/...) */
	const char *cgroup_name; /* NULL: "ctvm-qemu": <root>/cpu/<name>/<vmid> */
	struct task_worker *w;   /* task log; NULL: none */
};

/* One NIC's host side: tap<vmid>i<index> joined to bridge.  A NIC without
 * a bridge (QEMU user networking) has no tap and is not listed. */
struct qemu_run_nic {
	unsigned index;     /* N of netN */
	const char *bridge; /* vmbr0 */
	unsigned tag;       /* VLAN 1..4094, 0: none */
	unsigned mtu;       /* 0: the bridge's */
	double rate;        /* rate= in MB/s, 0: unlimited */
	bool link_down;     /* link_down=1: QMP set_link net<N> off before the guest runs */
};

struct qemu_run_start_opts {
	/* QEMU's whole command line (qemu_cmd_build()): with -daemonize,
	 * -pidfile <dir>/pid and -qmp unix:<dir>/qmp.sock,server=on,wait=off */
	char *const *argv;
	const struct qemu_run_nic *nics;
	size_t n_nics;
	double cpulimit;   /* cores of CPU time, 0: unlimited */
	unsigned cpuunits; /* relative weight (cgroup v1 cpu.shares), 0: default */
	int timeout_ms;    /* spawn to QMP ready, 0: QEMU_RUN_START_TIMEOUT_MS */
	bool paused;       /* argv has -S: leave the VM paused (else: cont) */
	/* argv has -S and -incoming defer: the VM's state is first loaded
	 * from state_fd (a saved state, qemu_run_save_state()) */
	bool load_state;
	int state_fd;
	/* tpmstate0: the state volume's path (a raw file or block device);
	 * swtpm serves it on <dir>/swtpm.sock (argv's -chardev) from before
	 * QEMU starts until QEMU ends.  NULL: no TPM. */
	const char *tpm_state;
	bool tpm2; /* version=v2.0, else a TPM 1.2 */
};

/* <run_root>/qemu-server/<vmid>; created 0700 (parents 0755) when create. */
int qemu_run_dir(const struct qemu_run_env *env, long vmid, bool create, char **ret,
                 struct error **err);

/*
 * Starts VM vmid with opts->argv: leftovers cleaned up, run directory made,
 * taps created and plugged, QEMU run (-daemonize), QMP ready within the
 * timeout, CPU limits applied (a warning in the task log where the cgroup
 * v1 cpu hierarchy is not writable), then resumed if argv has -S and not
 * opts->paused.  On any failure QEMU is killed and nothing is left: no
 * process, tap, socket, pidfile or cgroup.  -EEXIST "VM 100 already
 * running" when it runs.
 */
int qemu_run_start_argv(const struct qemu_run_env *env, long vmid,
                        const struct qemu_run_start_opts *opts, struct error **err);

/*
 * Saves the state of running VM vmid into fd (a file open for writing):
 * the VM is paused (QMP stop), QEMU gets fd (getfd) and migrates into it
 * ("fd:" URI), and the MIGRATION events say when it completed.  Then with
 * quit QEMU quits and everything is cleaned up as after a stop; without
 * it the VM stays paused for the caller (disk snapshots), which resumes
 * it with qemu_run_resume().  On failure the VM runs again if it ran.
 */
int qemu_run_save_state(const struct qemu_run_env *env, long vmid, int fd, bool quit,
                        struct error **err);

/* 1 (and *ret_pid) when VM vmid runs, 0 when not, a negative errno when
 * its state cannot be read. */
int qemu_run_is_running(const struct qemu_run_env *env, long vmid, pid_t *ret_pid);

/*
 * The process side of Proxmox's status/current: status ("running" |
 * "stopped"), qmpstatus (QEMU's run state: "running", "paused",
 * "prelaunch", ...; "stopped"), pid (running only), uptime (s), cpu
 * (the share of the VM's vCPUs it used since the previous call for this
 * process, as PVE: 1.0 is all vCPUs busy; 0 on the first call), mem (resident bytes), netin/netout
 * (bytes through its taps, seen from the guest), diskread/diskwrite (QEMU's block stats),
 * running-qemu (version).  Integers as JSON integers, cpu as a real.  A VM found dead is cleaned up
 * (when nobody holds its lock).
 */
int qemu_run_status(const struct qemu_run_env *env, long vmid, json_t **ret, struct error **err);

/* The same without talking to QEMU, for listings of many VMs: no qmpstatus,
 * no running-qemu, diskread/diskwrite 0; cpus (the config's vCPU count, 0:
 * unknown, then cpu is the host's share) scales cpu as PVE does. */
int qemu_run_status_brief(const struct qemu_run_env *env, long vmid, unsigned cpus, json_t **ret,
                          struct error **err);

/*
 * Hard stop: QMP quit, then after timeout_s (0: QEMU_RUN_STOP_TIMEOUT_S)
 * SIGTERM, then SIGKILL; then cleanup.  A VM that does not run is only
 * cleaned up.
 */
int qemu_run_stop(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                  struct error **err);

/*
 * ACPI shutdown: system_powerdown, wait timeout_s for QEMU to exit; then
 * with force_stop, stop it (SIGTERM, SIGKILL), else fail with -ETIMEDOUT
 * "VM quit/powerdown failed - got timeout" (the VM keeps running).
 */
int qemu_run_shutdown(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                      bool force_stop, struct error **err);

/* Proxmox's reboot is a shutdown and a new start (pending changes
 * applied): this is the shutdown half, without force; the caller starts
 * the VM again from its config. */
int qemu_run_reboot(const struct qemu_run_env *env, long vmid, unsigned timeout_s,
                    struct error **err);

/* QMP system_reset, stop (pause), cont.  -ESRCH (500 "VM 100 not
 * running") when it does not run. */
int qemu_run_reset(const struct qemu_run_env *env, long vmid, struct error **err);
int qemu_run_suspend(const struct qemu_run_env *env, long vmid, struct error **err);
int qemu_run_resume(const struct qemu_run_env *env, long vmid, struct error **err);

/* One QMP command to a running VM (sendkey, human-monitor-command,
 * hotplug...): args borrowed, *ret (may be NULL) the return value. */
int qemu_run_qmp(const struct qemu_run_env *env, long vmid, const char *cmd, json_t *args,
                 int timeout_ms, json_t **ret, struct error **err);
/* A QMP connection to running VM vmid, for a caller that needs several
 * commands and their events on one session (-ESRCH: not running). */
int qemu_run_qmp_connect(const struct qemu_run_env *env, long vmid, int timeout_ms,
                         struct qmp **ret, struct error **err);

/*
 * qemu-mirror.c: copies running VM vmid's drive `key` live into the
 * existing volume at target_path (format target_fmt, at least the drive's
 * size): drive-mirror with sync full, then, once ready, block-job-cancel,
 * which completes the copy without pivoting, so the VM keeps its disk (PVE's
 * clone of a running VM).  timeout_ms bounds each wait.  On failure the job
 * is cancelled; the target is the caller's to free.
 */
int qemu_run_mirror(const struct qemu_run_env *env, long vmid, const char *key,
                    const char *target_path, const char *target_fmt, int timeout_ms,
                    struct error **err);
/*
 * The same on connection q, which it keeps for the whole copy (w: task
 * log, may be NULL): waits for the job's events, with timeout_ms bounding
 * each wait.  -ECONNRESET: the connection went (the job was not cancelled
 * on it).  qemu_mirror_abort() force-cancels and dismisses key's job.
 */
int qemu_mirror(struct qmp *q, struct task_worker *w, const char *key, const char *target_path,
                const char *target_fmt, int timeout_ms, struct error **err);
void qemu_mirror_abort(struct qmp *q, const char *key);

/*
 * Hot-plugs NIC nic into running VM vmid: its tap created, recorded for
 * cleanup and joined to the bridge (rate applied), QMP netdev_add (id
 * net<N>, the tap by name), then device_add with device (the -device
 * options as QMP arguments, borrowed), then set_link off for link_down.  On
 * failure before the device is in, the netdev and the tap go again and the
 * VM is as it was.
 */
int qemu_run_nic_hotplug(const struct qemu_run_env *env, long vmid, const struct qemu_run_nic *nic,
                         json_t *device, struct error **err);

/*
 * Removes what a VM that no longer runs left behind: taps, sockets,
 * pidfile, its cgroup and the run directory.  0 when clean (or when it
 * runs: nothing is touched); -EBUSY when another process holds the VM's
 * run lock and wait is false.
 */
int qemu_run_cleanup(const struct qemu_run_env *env, long vmid, bool wait, struct error **err);
