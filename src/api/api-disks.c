/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/disks: the node's disks and storage created on a blank one,
 * after PVE::API2::Disks (list, and the lvm, lvmthin, zfs and directory
 * endpoints).  The inventory and the listings are the storage layer's
 * (src/storage/disks-ops.c); creating is its lvmcreate, lvmthincreate,
 * zfscreate and dircreate operations.
 *
 * Beyond Proxmox: a disk in use and a storage id that exists are refused
 * here with a 400 before a task starts (the task checks again), and
 * add_storage is root@pam's alone, as every storage that names a place on
 * the host is in ctvm (api-storage-config.c).  Without systemd as PID 1 the
 * directory's mount is an /etc/fstab line instead of PVE's mount unit.
 * Not here (yet): health from SMART, wearout, the smart/initgpt/wipedisk
 * methods, raid10 and draid.
 *
 * Also /nodes/{node}/scan (PVE::API2::Storage::Scan) for the local kinds:
 * the volume groups, thin pools and zpools a new storage could use
 * (`pvesm scan lvm|lvmthin|zfs`).  The remote scans (nfs, cifs, iscsi,
 * glusterfs, pbs) are for storage types ctvm does not have.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <errno.h>
#include <string.h>

#include "api-internal.h"
#include "api.h"
#include "disks-ops.h"
#include "disks.h"
#include "error.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "strv.h"
#include "xalloc.h"

static int api_disks_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"directory", "list", "lvm", "lvmthin", "zfs", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "name", *n));
	*ret = a;
	return 0;
}

static int api_disks_list(struct api_call *call, json_t **ret, struct error **err)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	bool parts = api_param_bool(call, "include-partitions", false);
	const char *type = api_param_str(call, "type");
	int r = disks_inventory(&d, &n, err);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		if (d[i].partition && !parts)
			continue;
		/* journal_disks: what Ceph could use, which ctvm does not do:
		 * answered as unused disks, the nearest meaning */
		if (type && d[i].used)
			continue;
		json_array_append_new(a, disk_info_json(&d[i]));
	}
	disk_info_list_free(d, n);
	*ret = a;
	return 0;
}

static int api_disks_list_lvm(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_list_lvm(ret, err);
}

static int api_disks_list_lvmthin(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_list_lvmthin(ret, err);
}

static int api_disks_list_zfs(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_list_zfs(ret, err);
}

static int api_scan_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"lvm", "lvmthin", "zfs", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "method", *n));
	*ret = a;
	return 0;
}

static int api_scan_lvm(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_scan_lvm(ret, err);
}

static int api_scan_lvmthin(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_scan_lvmthin(api_param_str(call, "vg"), ret, err);
}

static int api_scan_zfs(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_scan_zfs(ret, err);
}

static int api_disks_list_directory(struct api_call *call, json_t **ret, struct error **err)
{
	return disks_list_directory(ret, err);
}

/* What the task would refuse, answered now. */
static int create(struct api_call *call, enum disks_kind kind, json_t **ret, struct error **err)
{
	const char *devs = api_param_str(call, kind == DISKS_ZFS ? "devices" : "device");
	struct disks_request rq = {
	    .kind = kind,
	    .name = api_param_str(call, "name"),
	    .devices = strv_split(devs ? devs : "", ", ;"),
	    .raidlevel = api_param_str(call, "raidlevel"),
	    .compression = api_param_str(call, "compression"),
	    .ashift = (unsigned)api_param_int(call, "ashift", 12),
	    .filesystem = api_param_str(call, "filesystem"),
	    .add_storage = api_param_bool(call, "add_storage", false),
	};
	if (kind == DISKS_ZFS && !rq.compression)
		rq.compression = "on";
	if (kind == DISKS_DIR && !rq.filesystem)
		rq.filesystem = "ext4";
	int r = 0;
	if (rq.add_storage && (!streq(call->authid, "root@pam") ||
	                       !api_call_has_priv(call, "/storage", "Datastore.Allocate")))
		r = error_set(err, -EPERM, 403,
		              "Permission check failed (only root@pam may add a storage)");
	if (r == 0)
		r = disks_request_check(&rq, err);
	if (r == 0 && rq.add_storage) {
		_cleanup_section_config_ struct section_config *c = NULL;
		r = storage_config_store_load(call->ctx->storage, &c, err);
		if (r == 0 && section_config_find(c, rq.name))
			r = error_set(err, -EEXIST, 400, "storage ID '%s' already defined",
			              rq.name);
	}
	if (r == 0)
		r = disks_check_devices_unused(rq.devices, err);
	if (r == 0) {
		_cleanup_json_ json_t *args = disks_request_args(&rq);
		r = api_start_op(call, disks_task_type(kind), rq.name, args, ret, err);
	}
	disks_request_clear(&rq);
	return r;
}

static int api_disks_create_lvm(struct api_call *call, json_t **ret, struct error **err)
{
	return create(call, DISKS_LVM, ret, err);
}

static int api_disks_create_lvmthin(struct api_call *call, json_t **ret, struct error **err)
{
	return create(call, DISKS_LVMTHIN, ret, err);
}

static int api_disks_create_zfs(struct api_call *call, json_t **ret, struct error **err)
{
	return create(call, DISKS_ZFS, ret, err);
}

static int api_disks_create_directory(struct api_call *call, json_t **ret, struct error **err)
{
	return create(call, DISKS_DIR, ret, err);
}

/* ---- the rows ----------------------------------------------------------- */

static const char *const list_types[] = {"unused", "journal_disks", NULL};
static const char *const raidlevels[] = {"single", "mirror", "raidz", "raidz2", "raidz3", NULL};
static const char *const compressions[] = {"on", "off", "gzip", "lz4", "lzjb", "zle", "zstd", NULL};
static const char *const filesystems[] = {"ext4", "xfs", NULL};

#define P_NAME                                                                       \
	{                                                                            \
		.name = "name", .type = API_TYPE_STRING, .format = "pve-storage-id", \
		.max_length = 100, .description = "The storage identifier."          \
	}
#define P_DEVICE                                                                     \
	{                                                                            \
		.name = "device", .type = API_TYPE_STRING, .max_length = 255,        \
		.description = "The block device you want to create the storage on." \
	}
#define P_ADD_STORAGE                                                                     \
	{                                                                                 \
		.name = "add_storage", .type = API_TYPE_BOOLEAN, .optional = true,        \
		.default_text = "0",                                                      \
		.description = "Configure storage using the new storage (root@pam only)." \
	}

#define DISKS_GET(p, n, desc, ret_type, fn)                                                        \
	{                                                                                          \
		.path = (p), .verb = "GET", .name = (n), .description = (desc),                    \
		.params = (const struct api_param[]){API_PARAM_NODE, API_END},                     \
		.returns = {.type = (ret_type), .items = API_TYPE_OBJECT},                         \
		.perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")), .flags = API_PROTECTED, \
		.handler = (fn),                                                                   \
	}

#define DISKS_POST(p, desc, fn, ...)                                                        \
	{                                                                                   \
		.path = (p), .verb = "POST", .name = "create", .description = (desc),       \
		.params = (const struct api_param[]){API_PARAM_NODE, __VA_ARGS__, API_END}, \
		.returns = {.type = API_TYPE_STRING},                                       \
		.perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Modify")),                 \
		.flags = API_ASYNC | API_PROTECTED, .handler = (fn),                        \
	}

#define SCAN_GET(p, n, desc, fn, ...)                                                      \
	{                                                                                  \
		.path = (p), .verb = "GET", .name = (n), .description = (desc),            \
		.params = (const struct api_param[]){API_PARAM_NODE, __VA_ARGS__ API_END}, \
		.returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},             \
		.perm = API_CHECK(API_PERM("/storage", "Datastore.Allocate")),             \
		.flags = API_PROTECTED, .handler = (fn),                                   \
	}

const struct api_method api_methods_disks[] = {
    {
        .path = "/nodes/{node}/scan",
        .verb = "GET",
        .name = "index",
        .description = "Index of available scan methods",
        .params = (const struct api_param[]){API_PARAM_NODE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_scan_index,
    },
    SCAN_GET("/nodes/{node}/scan/lvm", "lvmscan", "List local LVM volume groups.", api_scan_lvm),
    SCAN_GET("/nodes/{node}/scan/lvmthin", "lvmthinscan", "List local LVM Thin Pools.",
             api_scan_lvmthin,
             {.name = "vg",
              .type = API_TYPE_STRING,
              .max_length = 100,
              .description = "The LVM volume group name."}, ),
    SCAN_GET("/nodes/{node}/scan/zfs", "zfsscan", "Scan zfs pool list on local node.",
             api_scan_zfs),
    {
        .path = "/nodes/{node}/disks",
        .verb = "GET",
        .name = "index",
        .description = "Node index.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_disks_index,
    },
    {
        .path = "/nodes/{node}/disks/list",
        .verb = "GET",
        .name = "list",
        .description = "List local disks.",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             {.name = "include-partitions",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Also include partitions."},
                                             {.name = "skipsmart",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .default_text = "0",
                                              .description = "Skip smart checks."},
                                             {.name = "type",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .enum_values = list_types,
                                              .description = "Only list specific types of disks."},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")),
        .flags = API_PROTECTED,
        .handler = api_disks_list,
    },
    DISKS_GET("/nodes/{node}/disks/lvm", "index", "List LVM Volume Groups", API_TYPE_OBJECT,
              api_disks_list_lvm),
    DISKS_POST("/nodes/{node}/disks/lvm", "Create an LVM Volume Group", api_disks_create_lvm,
               P_NAME, P_DEVICE, P_ADD_STORAGE),
    DISKS_GET("/nodes/{node}/disks/lvmthin", "index", "List LVM thinpools", API_TYPE_ARRAY,
              api_disks_list_lvmthin),
    DISKS_POST("/nodes/{node}/disks/lvmthin", "Create an LVM thinpool", api_disks_create_lvmthin,
               P_NAME, P_DEVICE, P_ADD_STORAGE),
    DISKS_GET("/nodes/{node}/disks/zfs", "index", "List Zpools.", API_TYPE_ARRAY,
              api_disks_list_zfs),
    DISKS_POST("/nodes/{node}/disks/zfs", "Create a ZFS pool.", api_disks_create_zfs, P_NAME,
               {.name = "devices",
                .type = API_TYPE_STRING,
                .max_length = 4096,
                .description = "The block devices you want to create the zpool on."},
               {.name = "raidlevel",
                .type = API_TYPE_STRING,
                .enum_values = raidlevels,
                .description = "The RAID level to use."},
               {.name = "ashift",
                .type = API_TYPE_INTEGER,
                .optional = true,
                .has_min = true,
                .minimum = 9,
                .has_max = true,
                .maximum = 16,
                .default_text = "12",
                .description = "Pool sector size exponent."},
               {.name = "compression",
                .type = API_TYPE_STRING,
                .optional = true,
                .enum_values = compressions,
                .default_text = "on",
                .description = "The compression algorithm to use."},
               P_ADD_STORAGE),
    DISKS_GET("/nodes/{node}/disks/directory", "index",
              "PVE Managed Directory storages (here: their /etc/fstab lines).", API_TYPE_ARRAY,
              api_disks_list_directory),
    DISKS_POST("/nodes/{node}/disks/directory",
               "Create a Filesystem on an unused disk. Will be mounted under '/mnt/pve/NAME'.",
               api_disks_create_directory, P_NAME, P_DEVICE,
               {.name = "filesystem",
                .type = API_TYPE_STRING,
                .optional = true,
                .enum_values = filesystems,
                .default_text = "ext4",
                .description = "The desired filesystem."},
               P_ADD_STORAGE),
    {.path = NULL},
};
