/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-ops: the guest layer's task operations, registered once at start
 * with the guest store their bodies use (task_worker_env()).
 *
 * Node-wide (PVE's startall/stopall):
 *   startall  {[vms], [force]}                      onboot guests in startup order
 *   stopall   {[vms], [timeout], [force-stop]}       running ones, reverse order
 * Per guest, for each kind (the kind's task_pfx: qm for qemu, vz for lxc):
 *   <pfx>start, stop, shutdown, reboot, suspend, resume (qmreset: qemu)
 *             {vmid, [timeout], [skiplock], [force-stop], [todisk]}
 *   <pfx>destroy {vmid, [skiplock], [purge], [destroy-unreferenced-disks]}
 *   <pfx>create  {vmid, conf, [start], [pool]}   conf: JSON text of key -> value
 *   qmconfig  {vmid, set, [delete], [revert], [digest], [force], [skiplock]}
 *   <pfx>snapshot, <pfx>rollback, <pfx>delsnapshot, <pfx>clone,
 *   <pfx>template, qmmove / move_volume, resize (one type for all kinds)
 *
 * conf and set are checked again against the kind's table in the worker;
 * being one task argument each they are bounded by GUEST_CONF_ARG_MAX.
 *
 * Every body takes the guest's config lock, loads its config as it is now,
 * applies the dispatcher's rules (guest_check_op()) and only then calls
 * the kind's slot, so a refusal reads the same from the API (which checks
 * early) and from the task.
 */
#pragma once

#include "task.h"

/* The most a new config (qmcreate's conf) or one change (qmconfig's set)
 * may be as compact JSON text.  A config of every disk and NIC slot with
 * their options and an 8 KiB description (QEMU_CONF_DESCRIPTION_MAX) fits
 * in less than half; the API refuses more with 400 (PUT the rest). */
#define GUEST_CONF_ARG_MAX TASK_ARG_TEXT_MAX

struct error;
struct guest_store;
struct task_ops;

/* What every guest operation gets from task_worker_env(): the store and
 * the kind its row was registered for; NULL for the node-wide operations
 * and for those whose one type serves every kind (Proxmox's "resize"),
 * which find the kind from the vmid (guest_find()). */
struct guest_ops_env {
	struct guest_store *gs;
	const struct guest_kind_ops *kind;
};

/*
 * One operation of the guest layer, written once for every kind: it is
 * registered for each kind in guest_kinds[] that has the capabilities
 * `caps` (and is `kind`, when given) as the type task_pfx + name (qmstart,
 * vzstart), or as `type` when Proxmox names it otherwise ("move_volume";
 * "resize", one type for every kind, registered once without a kind).
 */
struct guest_op_def {
	const char *name; /* "start": qmstart, vzstart */
	const char *type; /* instead of task_pfx + name */
	const char *kind; /* only this kind ("qemu"); NULL: every kind */
	unsigned caps;    /* enum guest_caps the kind must have */
	const struct task_op_arg *args;
	task_op_check_fn *check;
	task_op_run_fn *run;
};

/* The rows of each part (each ends with {.run = NULL}). */
extern const struct guest_op_def guest_snapshot_op_defs[]; /* guest-snapshot.c */
extern const struct guest_op_def guest_disk_op_defs[];     /* guest-disk-ops.c */
extern const struct guest_op_def guest_clone_op_defs[];    /* guest-clone.c */
extern const struct guest_op_def guest_lxc_op_defs[];      /* lxc-create.c */

/*
 * The body of <pfx>create {vmid, conf, [start], [pool], ...}: the pool,
 * the new disks, then fill (may be NULL: the kind's own step, such as a
 * container's template unpacked into its new rootfs; set is the config
 * about to be written, which fill may complete), the config over the
 * reservation, the start.  Any failure frees what was allocated and
 * removes the reservation.
 */
typedef int guest_create_fill_fn(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                                 const json_t *args, json_t *set, struct task_worker *w,
                                 struct error **err);
struct guest_kind_ops;
int guest_op_create(struct task_worker *w, const json_t *args, guest_create_fill_fn *fill,
                    struct error **err);
/* What a failed create or clone of guest vmid leaves goes, as the task
 * that reserved vmid found it: the volumes of allocated (volids, freed
 * last first), its membership of pool (NULL: none was added) and the
 * reservation (its config).  What cannot go is a warning of w's. */
void guest_op_create_undo(struct task_worker *w, struct guest_store *gs,
                          const struct guest_kind_ops *k, long vmid, const json_t *allocated,
                          const char *pool);

/* Registers every guest operation of every kind, once per registry; gs may
 * be NULL in tests that only look at the table (the envs are NULL then). */
int guest_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err);
