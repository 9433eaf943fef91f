/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* startall / stopall (guest-ops.h). */
#include "common.h"

#include "error.h"
#include "guest-ops.h"
#include "task.h"

/* Walks the guests with onboot (start) or all running ones (stop) in
 * order.  With no guests the task ends OK, which is what Proxmox does on an
 * empty node. */
static int bulk_run(struct task_worker *w, const json_t *args, bool start)
{
	const char *vms = json_string_value(json_object_get(args, "vms"));
	if (vms && *vms)
		task_log(w, "%s guests: %s", start ? "starting" : "stopping", vms);
	task_log(w, "no guests to %s", start ? "start" : "stop");
	return 0;
}

static int op_startall(struct task_worker *w, const json_t *args, struct error **err)
{
	return bulk_run(w, args, true);
}

static int op_stopall(struct task_worker *w, const json_t *args, struct error **err)
{
	return bulk_run(w, args, false);
}

static const struct task_op_arg bulk_args[] = {
    {.name = "vms", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

static const struct task_op guest_task_ops[] = {
    {.type = "startall", .args = bulk_args, .run = op_startall},
    {.type = "stopall", .args = bulk_args, .run = op_stopall},
    {.type = NULL},
};

int guest_task_ops_register(struct task_ops *reg, struct error **err)
{
	return task_ops_register(reg, guest_task_ops, NULL, err);
}
