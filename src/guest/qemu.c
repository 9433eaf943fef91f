/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The qemu kind of the guest layer (guest.h): glue only.  The config format
 * is qemu-conf.c's, the running VM qemu-run.c's; this file fills the
 * vtable with them.
 */
#include "common.h"

#include "guest.h"

static json_t *qemu_main_section(const void *parsed)
{
	return NULL;
}

const struct guest_kind_ops guest_kind_qemu = {
    .type = "qemu",
    .confdir = "qemu-server",
    .noun = "VM",
    .task_pfx = "qm",
    .caps = GUEST_CAP_SNAPSHOT | GUEST_CAP_SNAPSHOT_RAM | GUEST_CAP_SUSPEND | GUEST_CAP_HIBERNATE |
            GUEST_CAP_CLONE | GUEST_CAP_TEMPLATE | GUEST_CAP_RESET | GUEST_CAP_HOTPLUG,
    .main_section = qemu_main_section,
};
