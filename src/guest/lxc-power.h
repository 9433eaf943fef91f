/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-power: the lxc kind's runtime slots (struct guest_kind_ops in
 * lxc.c), the glue of the config (lxc-conf), the distribution setup
 * (lxc-setup), the LXC config generator (lxc-cmd) and the runtime
 * (lxc-run), with volume paths from the storage layer.
 *
 * A container's rootfs and volume mount points are directories: a subvol
 * (dir, btrfs, zfspool) is used where it lies; an image (a raw file on
 * dir, a block device on lvm/lvmthin: ext4, made by create) is mounted at
 * <run>/lxc-mnt/<vmid>/<key> before the start and unmounted after the
 * stop; when the container stops by itself (poweroff inside, its init
 * killed), ctvmd's watch unmounts them (lxc_power_watch_start()), and
 * the next start or the destroy does what a watch that did not run left.  Bind mounts of host paths
 * are given to lxc-cmd as they are.
 *
 * Every start runs lxc_setup_pre_start() on the mounted rootfs first
 * (hostname, network, resolv.conf...), as PVE's pre-start hook.
 * Docs: docs/dev/GUESTS.md, "Containers: API and tasks".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct error;
struct guest;
struct guest_store;
struct task_worker;

int lxc_power_is_running(struct guest_store *gs, long vmid, bool *ret_running, pid_t *ret_pid,
                         struct error **err);
int lxc_power_status(struct guest_store *gs, const struct guest *g, json_t **ret,
                     struct error **err);
int lxc_power_start(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                    struct task_worker *w, struct error **err);
int lxc_power_stop(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                   struct task_worker *w, struct error **err);
int lxc_power_shutdown(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                       bool force_stop, struct task_worker *w, struct error **err);
int lxc_power_reboot(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                     struct task_worker *w, struct error **err);
int lxc_power_suspend(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                      struct error **err);
int lxc_power_resume(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                     struct error **err);
/* [{name, hwaddr, inet, inet6}] of the running container's network
 * namespace (PVE's get_interfaces: `ip -j addr show` inside it, at most
 * LXC_POWER_IFACES_MAX); 500 "CT 100 not running" otherwise. */
#define LXC_POWER_IFACES_MAX 1024
int lxc_power_interfaces(struct guest_store *gs, long vmid, json_t **ret, struct error **err);
/*
 * The running container's console on a new pty, for termproxy and
 * vncproxy (ttyshell_spawn()'s contract for the descriptors and the pid),
 * as PVE's get_console_command() by the config's cmode: tty (the default)
 * "lxc-console -e -1" (a free tty of the container), console "lxc-console
 * -e -1 -t 0" (/dev/console), shell "lxc-attach --clear-env" (a shell in
 * it).  500 "CT 100 not running" when it does not run.  *ret_cmode (may be
 * NULL): the cmode used, for the audit log.
 */
int lxc_power_console(struct guest_store *gs, long vmid, int *ret_master, int *ret_slave,
                      pid_t *ret_pid, char **ret_cmode, struct error **err);
/* The run state a stopped container left (mounts, run dir); its volumes
 * go through guest_disks_destroy(). */
int lxc_power_destroy(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                      struct error **err);

/* ctvmd's watch over its containers (lxc_run_watch_start()) that also
 * unmounts the images of a container that stopped by itself, under its
 * config lock.  gs lives as long as the daemon (it is freed at its exit). */
int lxc_power_watch_start(struct guest_store *gs);
/* Stops it and waits for the unmounts it started: before gs is freed. */
void lxc_power_watch_stop(void);

/* --- volumes as directories (also create's) --- */

/* The host directory of volume volid: a subvol's path, or the image
 * mounted at <run>/lxc-mnt/<vmid>/<key> (*ret_mounted then true).
 * *ret_path malloc'd. */
int lxc_volume_mount(struct guest_store *gs, long vmid, const char *key, const char *volid,
                     char **ret_path, bool *ret_mounted, struct task_worker *w, struct error **err);
/* Unmounts whatever is mounted below <run>/lxc-mnt/<vmid> and removes it;
 * 0 when nothing is. */
int lxc_volume_umount_all(struct guest_store *gs, long vmid, struct task_worker *w,
                          struct error **err);
/* Makes an ext4 filesystem on the image or block device path. */
int lxc_volume_mkfs(const char *path, struct task_worker *w, struct error **err);
/* Grows the ext4 filesystem on path to its size after a resize: checked
 * (e2fsck) and grown (resize2fs) while the container is stopped.  While
 * it runs the task warns and the filesystem keeps its size (PVE grows it
 * online through the loop device; ctvm does not yet). */
int lxc_volume_grow(const char *path, bool running, struct task_worker *w, struct error **err);
