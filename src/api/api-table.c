/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The registry of method rows: one line per area. */
#include "common.h"

#include "api-internal.h"

/* clang-format off */
const struct api_method *const api_method_tables[] = {
	api_methods_core,
	api_methods_nodes,
	api_methods_tasks,
	api_methods_access,
	api_methods_users,
	api_methods_groups_roles,
	api_methods_acl,
	api_methods_domains,
	api_methods_pools,
	api_methods_storage_config,
	api_methods_storage_upload,
	api_methods_storage,
	api_methods_storage_volume,
	api_methods_storage_prune,
	api_methods_rrd,
	api_methods_network,
	api_methods_qemu,
	api_methods_lxc,
	api_methods_lxc_snapshot,
	api_methods_disks,
	api_methods_qemu_snapshot,
	api_methods_qemu_disk,
	api_methods_console,
	NULL,
};
/* clang-format on */
