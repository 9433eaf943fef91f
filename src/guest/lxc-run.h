/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-run: a container's process from start to exit, through liblxc's C
 * API (docs/dev/GUESTS.md, "Containers: running").
 *
 * liblxc's lxcpath is <run>/lxc and the container's name its vmid, so a
 * container has
 *
 *   <run>/lxc/<vmid>/config   the config lxc_cmd_build() wrote (0600;
 *                             written by start; the directory is 0700)
 *   <run>/lxc/<vmid>.pid      the identity of its init and of liblxc's
 *                             monitor: "<pid> <starttime>" twice, the
 *                             starttime field of /proc/<pid>/stat
 *   <run>/lxc/<vmid>.lock     held by start and cleanup
 *
 * A container runs when its .pid file names a live init (not a zombie)
 * with that start time: a recycled pid is another process, and nothing
 * else is kept, so a ctvmd that restarts finds its containers again.
 *
 * liblxc's monitor (a daemon forked twice by start) is the init's parent;
 * it re-parents to ctvmd (a child subreaper, src/util/reaper.h), which
 * reaps it.  When the init exits the monitor removes the container's
 * cgroups and veths and exits; lxc_run_cleanup() removes whatever a
 * killed monitor left (veth<vmid>i<N>, cgroups lxc/<vmid> and
 * lxc.monitor/<vmid> in every v1 hierarchy and the unified one, the run
 * directory and .pid file).
 *
 * Starts, stops, shutdowns and freezes run in task workers (root,
 * single-threaded: liblxc forks).  Status runs in the threaded daemon and
 * only reads files (the cgroup, /proc, /sys/class/net): no process and no
 * liblxc call per request.  lxc_run_watch_start() is how ctvmd learns at
 * once that a container stopped: a pidfd per running init, no polling.
 *
 * Messages are Proxmox's where it has one ("CT 100 already running",
 * "container did not stop").  Progress goes to env->w's task log.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct error;
struct task_worker;

#define LXC_RUN_START_TIMEOUT_S 30 /* start to RUNNING, when timeout_s is 0 */
#define LXC_RUN_STOP_TIMEOUT_S  10 /* a hard stop: SIGKILL to the monitor gone */
#define LXC_RUN_MAX_NICS        32 /* net0..net31 */

struct lxc_run_env {
	const char *run_root;    /* ctvm's run directory (struct ctvm_paths.run) */
	const char *cgroup_root; /* NULL: /sys/fs/cgroup */
	struct task_worker *w;   /* task log; NULL: none */
};

/*
 * Starts container vmid with config_text (lxc_cmd_build()): leftovers
 * removed, config written, liblxc start (daemonized), RUNNING within
 * timeout_s (0: LXC_RUN_START_TIMEOUT_S), identity recorded.  On any
 * failure the container is stopped and nothing is left: no veth, cgroup,
 * process or run directory; liblxc's messages (lxc.log.file, when the
 * config names one in the run directory) go to the task log.  -EEXIST
 * "CT 100 already running" when it runs.
 */
int lxc_run_start(const struct lxc_run_env *env, long vmid, const char *config_text,
                  unsigned timeout_s, struct error **err);

/* *ret (and *ret_pid, the init's pid on the host; may be NULL) from the
 * .pid file and /proc alone. */
int lxc_run_is_running(const struct lxc_run_env *env, long vmid, bool *ret, pid_t *ret_pid,
                       struct error **err);

/* Hard stop: SIGKILL to the init (a frozen container thawed after it),
 * wait for it to exit.  It returns with the container stopped to every
 * reader; the monitor's exit and the cleanup finish in a detached process
 * holding <vmid>.lock (a next start, cleanup or destroy waits for it;
 * what it could not do, ctvmd's watch or the next holder of the lock
 * reports).  A
 * container that does not run is only cleaned up, before the return. */
int lxc_run_stop(const struct lxc_run_env *env, long vmid, struct error **err);

/*
 * Clean shutdown: the config's lxc.signal.halt to the init, wait
 * timeout_s for it to exit (then the cleanup as lxc_run_stop()'s); then
 * with force_stop a hard stop, else -ETIMEDOUT "container did not stop"
 * (it keeps running).  A container that does not run is only cleaned up.
 */
int lxc_run_shutdown(const struct lxc_run_env *env, long vmid, unsigned timeout_s, bool force_stop,
                     struct error **err);

/* Proxmox's reboot is a shutdown (killed after timeout_s) and a new start
 * from the config (pending changes applied): this is the first half; the
 * caller starts it again. */
int lxc_run_reboot(const struct lxc_run_env *env, long vmid, unsigned timeout_s,
                   struct error **err);

/* Freezes (suspend) or thaws (resume) every process of the container
 * (the freezer cgroup).  -ESRCH "CT 100 not running". */
int lxc_run_freeze(const struct lxc_run_env *env, long vmid, bool frozen, struct error **err);

/*
 * status/current's live fields, from files: status ("running" |
 * "stopped"), and when running pid, uptime (s), cpu (share of its CPUs --
 * cpulimit's, else the host's -- busy since the previous call for vmid in
 * this process; 0 on the first), mem / maxmem (memory cgroup usage
 * without page cache / limit), swap / maxswap (memsw minus memory), disk
 * / maxdisk (the filesystem of its root), netin / netout (its veths,
 * seen from the container), diskread / diskwrite (blkio).
 * Integers as JSON integers, cpu as a real.
 */
int lxc_run_status(const struct lxc_run_env *env, long vmid, json_t **ret, struct error **err);

/* Removes what a dead container left (veths, mounts, cgroups, run dir,
 * .pid file).  0 when clean or when it runs (nothing is touched). */
int lxc_run_cleanup(const struct lxc_run_env *env, long vmid, struct error **err);

/*
 * ctvmd's watch over its containers: a detached thread holding a pidfd on
 * every running container's init (found from the .pid files at start, and
 * from new ones as start writes them, through inotify on <run>/lxc).
 * When an init exits, the container is cleaned up once its monitor is
 * done and stopped(vmid, userdata) runs (may be NULL) on that thread.
 * The strings of env are copied; env->w must be NULL.
 */
int lxc_run_watch_start(const struct lxc_run_env *env, void (*stopped)(long vmid, void *userdata),
                        void *userdata);
/* Stops the watch (one per process: a second start is -EALREADY) and
 * waits for its thread: once this returns, stopped() runs no more and
 * userdata may go.  Nothing when no watch runs. */
void lxc_run_watch_stop(void);
