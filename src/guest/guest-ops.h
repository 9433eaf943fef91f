/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-ops: the guest layer's task operations.  There are no guests yet
 * (the guest issue brings QEMU and LXC); what exists is the node's bulk
 * start and stop, which Proxmox answers with a task even on an empty node:
 *
 *   startall  {[vms]}   vms: the caller's comma list of VMIDs, as given
 *   stopall   {[vms]}
 *
 * They live here, not in src/task or src/api, because walking the guests
 * (onboot order, running ones) is this layer's work once guests exist: the
 * registration and the argument objects stay as they are, only the bodies
 * grow.
 */
#pragma once

struct error;
struct task_ops;

/* Registers startall and stopall, once per registry. */
int guest_task_ops_register(struct task_ops *reg, struct error **err);
