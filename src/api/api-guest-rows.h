/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-guest-rows: the pieces of method rows the guest kinds' tables share
 * (api-qemu*.c, api-lxc*.c): PVE gives these parameters, returns and
 * power rows the same words for every kind, so they are written once.
 * Rows only: data for api_method tables, no handler.
 */
#pragma once

#include "api-method.h"

#define P_SKIPLOCK                                                                       \
	{                                                                                \
		.name = "skiplock", .type = API_TYPE_BOOLEAN, .optional = true,          \
		.description = "Ignore locks - only root is allowed to use this option." \
	}
#define P_TIMEOUT(d)                                                                            \
	{                                                                                       \
		.name = "timeout", .type = API_TYPE_INTEGER, .optional = true, .has_min = true, \
		.minimum = 0, .has_max = true, .maximum = 86400, .description = (d)             \
	}
#define UPID_RETURN                                                      \
	{                                                                \
		.type = API_TYPE_STRING, .description = "The task UPID." \
	}
#define PERM_VM(priv) API_CHECK(API_PERM("/vms/{vmid}", priv))
/* POST /nodes/{node}/<kind>/{vmid}/status/<suffix>: a task (UPID) under
 * VM.PowerMgmt; the parameters after node and vmid are the rest, each
 * followed by a comma. */
#define GUEST_POWER_ROW(kind, suffix, nm, desc, fn, ...)                                \
	{                                                                               \
		.path = "/nodes/{node}/" kind "/{vmid}/status/" suffix, .verb = "POST", \
		.name = nm, .description = desc,                                        \
		.params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID,    \
		                                     __VA_ARGS__ API_END},              \
		.returns = UPID_RETURN, .perm = PERM_VM("VM.PowerMgmt"),                \
		.flags = API_ASYNC | API_PROTECTED, .handler = fn,                      \
	}

/* The parameters of POST .../clone every kind has, around a kind's own
 * (its name key, qemu's format), in PVE's order: newid; description, pool,
 * snapname, storage (P_CLONE_COPY); full, target, bwlimit (P_CLONE_MODE).
 * noun is the kind's ("VM", "CT"), as PVE words them. */
#define P_CLONE_NEWID                                                            \
	{                                                                        \
		.name = "newid", .type = API_TYPE_INTEGER, .format = "pve-vmid", \
		.description = "VMID for the clone."                             \
	}
#define P_CLONE_COPY(noun)                                                              \
	{.name = "description",                                                         \
	 .type = API_TYPE_STRING,                                                       \
	 .optional = true,                                                              \
	 .max_length = 8192,                                                            \
	 .description = "Description for the new " noun "."},                           \
	    {.name = "pool",                                                            \
	     .type = API_TYPE_STRING,                                                   \
	     .format = "pve-poolid",                                                    \
	     .optional = true,                                                          \
	     .max_length = 64,                                                          \
	     .description = "Add the new " noun " to the specified pool."},             \
	    {.name = "snapname",                                                        \
	     .type = API_TYPE_STRING,                                                   \
	     .format = "pve-configid",                                                  \
	     .optional = true,                                                          \
	     .max_length = 40,                                                          \
	     .description = "The name of the snapshot."},                               \
	{                                                                               \
		.name = "storage", .type = API_TYPE_STRING, .format = "pve-storage-id", \
		.optional = true, .max_length = 100,                                    \
		.description = "Target storage for full clone."                         \
	}
#define P_CLONE_MODE(noun)                                                                        \
	{.name = "full",                                                                          \
	 .type = API_TYPE_BOOLEAN,                                                                \
	 .optional = true,                                                                        \
	 .description = "Create a full copy of all disks. This is always done when you clone "    \
	                "a normal " noun ". For " noun " templates, we try to create a linked "   \
	                "clone by default."},                                                     \
	    {.name = "target",                                                                    \
	     .type = API_TYPE_STRING,                                                             \
	     .format = "pve-node",                                                                \
	     .optional = true,                                                                    \
	     .max_length = 64,                                                                    \
	     .description = "Target node. Only allowed if the original VM is on shared "          \
	                    "storage."},                                                          \
	{                                                                                         \
		.name = "bwlimit", .type = API_TYPE_INTEGER, .optional = true, .has_min = true,   \
		.minimum = 0, .description = "Override I/O bandwidth limit (in KiB/s) (ignored)." \
	}

/* GET .../config's current and snapshot */
#define P_CONFIG_GET                                                                   \
	{.name = "current",                                                            \
	 .type = API_TYPE_BOOLEAN,                                                     \
	 .optional = true,                                                             \
	 .default_text = "0",                                                          \
	 .description = "Get current values (instead of pending values)."},            \
	{                                                                              \
		.name = "snapshot", .type = API_TYPE_STRING, .format = "pve-configid", \
		.optional = true, .max_length = 40,                                    \
		.description = "Fetch config values from given snapshot."              \
	}
/* PUT and POST .../config's revert */
#define P_REVERT                                                                                \
	{                                                                                       \
		.name = "revert", .type = API_TYPE_STRING, .format = "pve-configid-list",       \
		.optional = true, .max_length = 4096, .description = "Revert a pending change." \
	}

/* GET /nodes/{node}/<kind>/{vmid}/status (index_fn: the kind's list of
 * its power rows) and .../status/current (api_guest_status_current). */
#define GUEST_STATUS_ROWS(kind, index_fn)                                                      \
	{                                                                                      \
	    .path = "/nodes/{node}/" kind "/{vmid}/status",                                    \
	    .verb = "GET",                                                                     \
	    .name = "vmcmdidx",                                                                \
	    .description = "Directory index",                                                  \
	    .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, API_END},     \
	    .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},                     \
	    .perm = API_ANY_USER("Any authenticated user."),                                   \
	    .handler = index_fn,                                                               \
	},                                                                                     \
	{                                                                                      \
		.path = "/nodes/{node}/" kind "/{vmid}/status/current", .verb = "GET",         \
		.name = "vm_status", .description = "Get virtual machine status.",             \
		.params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, API_END}, \
		.returns = {.type = API_TYPE_OBJECT}, .perm = PERM_VM("VM.Audit"),             \
		.handler = api_guest_status_current,                                           \
	}

/* POST /nodes/{node}/<kind>'s check: VM.Allocate on the new id or on the
 * pool it joins (pool given); desc is the kind's words for it. */
#define PERM_CREATE(desc)                                                                  \
	API_CHECK_DESC(API_OR(API_PERM("/vms/{vmid}", "VM.Allocate"),                      \
	                      &(const struct api_check){.kind = API_CHECK_PERM,            \
	                                                .path = "/pool/{pool}",            \
	                                                .privs = API_PRIVS("VM.Allocate"), \
	                                                .require_param = "pool"}),         \
	               desc)
/* GET /nodes/{node}/<kind>/{vmid}: the kind's vmdiridx (fn) */
#define GUEST_DIRIDX_ROW(kind, fn)                                                             \
	{                                                                                      \
		.path = "/nodes/{node}/" kind "/{vmid}", .verb = "GET", .name = "vmdiridx",    \
		.description = "Directory index",                                              \
		.params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, API_END}, \
		.returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},                 \
		.perm = API_ANY_USER("Any authenticated user."), .handler = fn,                \
	}
