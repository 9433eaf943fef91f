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
/* POST /nodes/{node}/<type>/{vmid}/status/<suffix>: a task (UPID) under
 * VM.PowerMgmt; the parameters after node and vmid are the rest, each
 * followed by a comma. */
#define GUEST_POWER_ROW(type, suffix, nm, desc, fn, ...)                                \
	{                                                                               \
		.path = "/nodes/{node}/" type "/{vmid}/status/" suffix, .verb = "POST", \
		.name = nm, .description = desc,                                        \
		.params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID,    \
		                                     __VA_ARGS__ API_END},              \
		.returns = UPID_RETURN, .perm = PERM_VM("VM.PowerMgmt"),                \
		.flags = API_ASYNC | API_PROTECTED, .handler = fn,                      \
	}
