/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "error.h"
#include "property.h"
#include "task-formats.h"
#include "task.h"

/* ^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$ */
static int check_node(const char *s, struct error **err)
{
	return upid_node_valid(s, strlen(s)) ? 0 : -EINVAL;
}

static int check_upid(const char *s, struct error **err)
{
	struct upid u;
	if (upid_parse(s, &u) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse worker upid"); /* Proxmox's */
	upid_clear(&u);
	return 0;
}

const struct conf_format task_formats[] = {
    {"pve-node", check_node, "node name"},
    {"pve-task-upid", check_upid, NULL},
    {NULL, NULL, NULL},
};
