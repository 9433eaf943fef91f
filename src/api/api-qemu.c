/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/qemu: VMs (pve-api.md 7.1, PVE::API2::Qemu).  Handlers check
 * permissions beyond the row's (each config key's VM.Config.* group, root
 * for root-only keys, the storages a disk uses), refuse early what the
 * guest layer would refuse, and call guest_*() only: configs change through
 * the guest layer's locked update, everything that touches the host runs as
 * a task of the guest layer (qmcreate, qmdestroy, qmstart, ...).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "api-guest-rows.h"
#include "api-guest.h"
#include "api-internal.h"
#include "api-qemu-params.h"
#include "api.h"
#include "error.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "property.h"
#include "qemu-console.h"
#include "usercfg.h"
#include "volid.h"
#include "xalloc.h"

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

/* Parameters of the create row that are not config keys. */
static const char *const create_meta[] = {"archive", "bwlimit", "live-restore",
                                          "storage", "unique",  NULL};

/* ---- create ------------------------------------------------------------- */

static int api_create_vm(struct api_call *call, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = qemu_kind();
	long long vmid = api_param_int(call, "vmid", 0);
	if (api_param_has(call, "archive"))
		return error_param(err, "archive", "restoring a backup is not supported yet");
	/* PVE's check_pool_exist, and Pool.Allocate as for any change of a
	 * pool's members (PUT /pools/{poolid}; PVE's create_vm of lxc) */
	const char *pool = NULL;
	int r = api_guest_check_pool(call, &pool, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *set = NULL;
	r = api_guest_config_params(call, k, create_meta, &set, err);
	if (r < 0)
		return r;
	r = api_guest_check_new_keys(call, k, vmid, set, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *conf = NULL;
	r = api_guest_create_conf(k, set, &conf, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *args =
	    json_pack("{s:s, s:b}", "conf", conf, "start", api_param_bool(call, "start", false));
	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	return api_guest_create_task(call, k, vmid, args, ret, err);
}

/* ---- the VM's directory and status -------------------------------------- */

/* PVE's vmdiridx (API2/Qemu.pm), in its order; api_guest_diridx() keeps
 * those ctvm has rows for. */
static int api_vmdiridx(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {
	    "config",    "cloudinit",      "pending",  "status",     "unlink",  "vncproxy",
	    "termproxy", "migrate",        "resize",   "move",       "rrd",     "rrddata",
	    "monitor",   "agent",          "snapshot", "spiceproxy", "sendkey", "firewall",
	    "mtunnel",   "remote_migrate", NULL};
	return api_guest_diridx(call, names, ret, err);
}

static int api_vm_status_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"current", "start",   "stop",   "reset", "shutdown",
	                                    "reboot",  "suspend", "resume", NULL};
	return api_guest_subdirs(call, names, ret, err);
}

/* ---- monitor and sendkey ------------------------------------------------ */

static int api_vm_monitor(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	_cleanup_free_ char *out = NULL;
	int r = guest_monitor(call->ctx->guests, qemu_kind(), (long)vmid,
	                      api_param_str(call, "command"), &out, err);
	if (r < 0)
		return r;
	*ret = json_string(out);
	return 0;
}

/* qm showcmd: PVE has it in the CLI alone (vm_commandline); here a method
 * of its own, answering the line as cmd2string writes it. */
static int api_vm_showcmd(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_free_ char *line = NULL;
	int r = guest_showcmd(call->ctx->guests, qemu_kind(), (long)api_param_int(call, "vmid", 0),
	                      &line, err);
	if (r < 0)
		return r;
	*ret = json_string(line);
	return 0;
}

/* key is PVE's; text (ctvm's extension) types a string with the VM's
 * keyboard layout (qemu-console.h).  Exactly one of them. */
static int api_vm_sendkey(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	bool key = api_param_has(call, "key"), text = api_param_has(call, "text");
	if (key == text)
		return error_param(err, key ? "text" : "key",
		                   key ? "not together with 'key'" : "property is missing");
	unsigned flags = 0;
	int r = api_guest_skiplock_flags(call, &flags, err);
	if (r == 0 && text)
		r = qemu_console_type(call->ctx->guests, (long)vmid, api_param_str(call, "text"),
		                      flags & GUEST_SKIPLOCK, NULL, err);
	else if (r == 0)
		r = guest_sendkey(call->ctx->guests, qemu_kind(), (long)vmid,
		                  api_param_str(call, "key"), flags, err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

#define VM_PARAMS      API_PARAM_NODE, API_PARAM_VMID
#define POWER_ROW(...) GUEST_POWER_ROW("qemu", __VA_ARGS__)

static const char *const config_privs_text =
    "You need 'VM.Config.*' on /vms/{vmid} for the keys you change (Disk, CDROM, CPU, Memory, "
    "Network, HWType, Options, Cloudinit); root@pam only for args, hookscript and other "
    "host-level keys.";

const struct api_method api_methods_qemu[] = {
    {
        .path = "/nodes/{node}/qemu",
        .verb = "GET",
        .name = "vmlist",
        .description = "Virtual machine index (per node).",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             {.name = "full",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Determine the full status of "
                                                             "active VMs."},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Only list VMs where you have VM.Audit permissions on "
                             "/vms/<vmid>."),
        .handler = api_guest_list,
    },
    {
        .path = "/nodes/{node}/qemu",
        .verb = "POST",
        .name = "create_vm",
        .description = "Create a virtual machine.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_VMID,
                {.name = "pool",
                 .type = API_TYPE_STRING,
                 .format = "pve-poolid",
                 .optional = true,
                 .description = "Add the VM to the specified pool."},
                {.name = "start",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Start VM after it was created successfully."},
                {.name = "archive",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 255,
                 .description = "The backup archive (not supported yet)."},
                {.name = "unique",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Assign a unique random ethernet address."},
                API_QEMU_CONFIG_PARAMS API_END},
        .returns = UPID_RETURN,
        .perm = PERM_CREATE(
            "You need 'VM.Allocate' permissions on /vms/{vmid} or on the VM pool /pool/{pool}. "
            "For disks you need 'Datastore.AllocateSpace' on any used storage."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_create_vm,
    },
    GUEST_DIRIDX_ROW("qemu", api_vmdiridx),
    {
        .path = "/nodes/{node}/qemu/{vmid}",
        .verb = "DELETE",
        .name = "destroy_vm",
        .description = "Destroy the VM and  all used/owned volumes. Removes any VM specific "
                       "permissions and firewall rules",
        .params = (const struct api_param[]){VM_PARAMS,
                                             P_SKIPLOCK,
                                             {.name = "purge",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Remove VMID from configurations, "
                                                             "like backup & replication jobs "
                                                             "and HA."},
                                             {.name = "destroy-unreferenced-disks",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "1",
                                              .description = "If set, destroy additionally all "
                                                             "disks not referenced in the "
                                                             "config but with a matching VMID "
                                                             "from all enabled storages."},
                                             API_END},
        .returns = UPID_RETURN,
        .perm = PERM_VM("VM.Allocate"),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_destroy,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "GET",
        .name = "vm_config",
        .description = "Get the virtual machine configuration with pending configuration "
                       "changes applied. Set the 'current' parameter to get the current "
                       "configuration instead.",
        .params = (const struct api_param[]){VM_PARAMS, P_CONFIG_GET, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_guest_config_get,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "PUT",
        .name = "update_vm",
        .description = "Set virtual machine options (synchronous API) - You should consider "
                       "using the POST method instead for any actions involving hotplug or "
                       "storage allocation.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             API_PARAM_DELETE,
                                             API_PARAM_DIGEST,
                                             P_SKIPLOCK,
                                             P_REVERT,
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Force physical removal. Without "
                                                             "this, we simple remove the disk "
                                                             "from the config file and create "
                                                             "an additional configuration "
                                                             "entry called 'unused[n]', which "
                                                             "contains the volume ID."},
                                             API_QEMU_CONFIG_PARAMS API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_CHECK_DESC(API_PERM_ANY("/vms/{vmid}", "VM.Config.Disk", "VM.Config.CDROM",
                                            "VM.Config.CPU", "VM.Config.Memory",
                                            "VM.Config.Network", "VM.Config.HWType",
                                            "VM.Config.Options", "VM.Config.Cloudinit"),
                               config_privs_text),
        .flags = API_PROTECTED,
        .handler = api_guest_config_put,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/config",
        .verb = "POST",
        .name = "update_vm_async",
        .description = "Set virtual machine options (asynchronous API).",
        .params = (const struct api_param[]){VM_PARAMS,
                                             API_PARAM_DELETE,
                                             API_PARAM_DIGEST,
                                             P_SKIPLOCK,
                                             P_REVERT,
                                             {.name = "force",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Force physical removal."},
                                             {.name = "background_delay",
                                              .type = API_TYPE_INTEGER,
                                              .optional = true,
                                              .has_min = true,
                                              .minimum = 1,
                                              .has_max = true,
                                              .maximum = 30,
                                              .description = "Time to wait for the task to "
                                                             "finish (ignored)."},
                                             API_QEMU_CONFIG_PARAMS API_END},
        .returns = UPID_RETURN,
        .perm = API_CHECK_DESC(API_PERM_ANY("/vms/{vmid}", "VM.Config.Disk", "VM.Config.CDROM",
                                            "VM.Config.CPU", "VM.Config.Memory",
                                            "VM.Config.Network", "VM.Config.HWType",
                                            "VM.Config.Options", "VM.Config.Cloudinit"),
                               config_privs_text),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_guest_config_post,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/pending",
        .verb = "GET",
        .name = "vm_pending",
        .description = "Get the virtual machine configuration with both current and pending "
                       "values.",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Audit"),
        .handler = api_guest_pending,
    },
    GUEST_STATUS_ROWS("qemu", api_vm_status_index),
    POWER_ROW("start", "vm_start", "Start virtual machine.", api_guest_start, P_SKIPLOCK,
              P_TIMEOUT("Wait maximal timeout seconds."), ),
    POWER_ROW("stop", "vm_stop",
              "Stop virtual machine. The qemu process will exit immediately. This is akin to "
              "pulling the power plug of a running computer and may damage the VM data.",
              api_guest_stop, P_SKIPLOCK, P_TIMEOUT("Wait maximal timeout seconds."),
              {.name = "keepActive",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Do not deactivate storage volumes."},
              {.name = "overrule-shutdown",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Try to abort active 'qmshutdown' tasks before stopping."}, ),
    POWER_ROW("shutdown", "vm_shutdown",
              "Shutdown virtual machine. This is similar to pressing the power button on a "
              "physical machine. This will send an ACPI event for the guest OS, which should "
              "then proceed to a clean shutdown.",
              api_guest_shutdown, P_SKIPLOCK, P_TIMEOUT("Wait maximal timeout seconds."),
              {.name = "forceStop",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .default_text = "0",
               .description = "Make sure the VM stops."},
              {.name = "keepActive",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .description = "Do not deactivate storage volumes."}, ),
    POWER_ROW("reboot", "vm_reboot",
              "Reboot the VM by shutting it down, and starting it again. Applies pending "
              "changes.",
              api_guest_reboot, P_TIMEOUT("Wait maximal timeout seconds for the shutdown."), ),
    POWER_ROW("reset", "vm_reset", "Reset virtual machine.", api_guest_reset, P_SKIPLOCK, ),
    POWER_ROW("suspend", "vm_suspend", "Suspend virtual machine.", api_guest_suspend, P_SKIPLOCK,
              {.name = "todisk",
               .type = API_TYPE_BOOLEAN,
               .optional = true,
               .default_text = "0",
               .description = "If set, suspends the VM to disk. Will be resumed on next VM "
                              "start."},
              {.name = "statestorage",
               .type = API_TYPE_STRING,
               .format = "pve-storage-id",
               .optional = true,
               .max_length = 100,
               .description = "The storage for the VM state"}, ),
    POWER_ROW("resume", "vm_resume", "Resume virtual machine.", api_guest_resume, P_SKIPLOCK,
              {.name = "nocheck", .type = API_TYPE_BOOLEAN, .optional = true}, ),
    {
        .path = "/nodes/{node}/qemu/{vmid}/sendkey",
        .verb = "PUT",
        .name = "vm_sendkey",
        .description = "Send key event to virtual machine.",
        .params =
            (const struct api_param[]){VM_PARAMS,
                                       {.name = "key",
                                        .type = API_TYPE_STRING,
                                        .optional = true,
                                        .max_length = 64,
                                        .description = "The key (qemu monitor encoding)."},
                                       {.name = "text",
                                        .type = API_TYPE_STRING,
                                        .optional = true,
                                        .max_length = QEMU_TYPE_TEXT_MAX,
                                        .description = "Text to type as key presses with the VM's "
                                                       "keyboard layout, instead of key (ctvm's "
                                                       "extension; en-us)."},
                                       P_SKIPLOCK,
                                       API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = PERM_VM("VM.Console"),
        .flags = API_PROTECTED,
        .handler = api_vm_sendkey,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/monitor",
        .verb = "POST",
        .name = "monitor",
        .description = "Execute QEMU monitor commands.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "command",
                                              .type = API_TYPE_STRING,
                                              .max_length = 4096,
                                              .description = "The monitor command."},
                                             API_END},
        .returns = {.type = API_TYPE_STRING},
        /* the monitor reaches the host (files, devices, migration to a
         * command): root@pam's alone, stricter than PVE's Sys.Modify */
        .perm = {.user = API_PERM_ROOT, .description = "Only root@pam may use the monitor."},
        .flags = API_PROTECTED,
        .handler = api_vm_monitor,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/showcmd",
        .verb = "GET",
        .name = "showcmd",
        .description = "The QEMU command line that starting the VM would run, as 'qm showcmd' "
                       "prints it (ctvm's extension).",
        .params = (const struct api_param[]){VM_PARAMS, API_END},
        .returns = {.type = API_TYPE_STRING},
        /* it names host paths (volumes, sockets, firmware): root@pam's
         * alone, as qm showcmd is root's on a PVE host */
        .perm = {.user = API_PERM_ROOT, .description = "Only root@pam may see the command line."},
        .flags = API_PROTECTED,
        .handler = api_vm_showcmd,
    },
    {.path = NULL},
};
