/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The storage layer's task operations (storage-ops.h): the bodies of
 * imgdel, the snapshot tasks, imgcopy, download and prunebackups.  They run
 * in a worker (forked from the daemon, or a program exec'd with only the
 * operation's arguments) and get nothing but plain data: every storage is
 * opened again here from its id, so what a worker does follows storage.cfg
 * as it is when the worker runs, never a pointer into the daemon.
 */
#include "common.h"

#include <errno.h>

#include "disks-ops.h"
#include "error.h"
#include "prune.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-import.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

/* ---- finding a storage -------------------------------------------------- */

int storage_load_open_enabled(struct storage_config_store *store, const char *node, const char *id,
                              struct storage **ret_st, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(store, &snap, err);
	if (r < 0)
		return r;
	return storage_open_enabled(snap, id, node, ret_st, err);
}

int storage_prune_open(struct storage_config_store *store, const char *node, const char *storeid,
                       const struct prune_options *given,
                       const struct storage_config_snapshot **ret_snap, struct storage **ret_st,
                       struct prune_options *ret_opts, struct error **err)
{
	const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(store, &snap, err);
	if (r < 0)
		return r;
	const struct section *s =
	    section_config_find(storage_config_snapshot_config(snap), storeid);
	if (!s)
		r = error_set(err, -ENOENT, 500, "storage '%s' does not exist", storeid);
	else if (!storage_section_enabled_on(s, node))
		r = error_set(err, -EINVAL, 500, "storage '%s' is disabled", storeid);
	else if (!storage_section_has_content(s, "backup"))
		r = error_set(err, -EINVAL, 500, "storage '%s' does not support backups", storeid);
	if (r == 0 && given) {
		*ret_opts = *given;
	} else if (r == 0) {
		const char *v = section_get(s, "prune-backups");
		if (!v)
			r = error_set(err, -EINVAL, 500,
			              "no prune-backups options configured for storage '%s'",
			              storeid);
		else if ((r = prune_options_parse(v, ret_opts, err)) < 0 && err && *err)
			(*err)->http_status = 500; /* the configuration's fault, not the call's */
	}
	if (r == 0)
		r = storage_open(snap, storeid, ret_st, err);
	if (r < 0) {
		storage_config_snapshot_unref(snap);
		return r;
	}
	*ret_snap = snap;
	return 0;
}

int storage_prune_plan(struct storage *st, long vmid, const char *type,
                       const struct prune_options *o, struct prune_item **ret, size_t *ret_n,
                       struct error **err)
{
	struct storage_volume *vols = NULL;
	size_t n = 0;
	int r = storage_activate(st, err);
	if (r == 0)
		r = storage_list(st, vmid, "backup", &vols, &n, err);
	if (r == 0)
		prune_plan(st->id, vols, n, vmid, type, o, ret, ret_n);
	storage_volume_list_free(vols, n);
	return r;
}

/* ---- arguments ---------------------------------------------------------- */

static const char *arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static long arg_long(const json_t *args, const char *key)
{
	return (long)json_integer_value(json_object_get(args, key));
}

/* The storage ids of args are storage ids; every volume name is checked by
 * the backend that gets it, which knows its own grammar. */
static int check_storage_ids(const json_t *args, struct error **err)
{
	static const char *const keys[] = {"storage", "target-storage"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *id = arg_str(args, keys[i]);
		int r = id ? storage_verify_id(id, err) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_snapshot_args(const json_t *args, struct error **err)
{
	int r = check_storage_ids(args, err);
	if (r < 0)
		return r;
	if (!storage_snapname_valid(arg_str(args, "snapname")))
		return error_set(err, -EINVAL, 500, "invalid snapshot name '%s'",
		                 arg_str(args, "snapname"));
	return 0;
}

/* An uploaded or downloaded file (storage-import.h), from args of that
 * shape; the strings point into args. */
static void import_from_args(const json_t *args, struct storage_import *ret)
{
	json_t *port = json_object_get(args, "api-port");
	*ret = (struct storage_import){
	    .storage = arg_str(args, "storage"),
	    .content = arg_str(args, "content"),
	    .filename = arg_str(args, "filename"),
	    .tmp = arg_str(args, "tmp"),
	    .checksum = arg_str(args, "checksum"),
	    .checksum_algorithm = arg_str(args, "checksum-algorithm"),
	    .url = arg_str(args, "url"),
	    .insecure = json_is_false(json_object_get(args, "verify-certificates")),
	    .api_port = port ? (unsigned)json_integer_value(port) : 0,
	};
}

/* imgcopy copies a volume between storages, or moves an uploaded file (a
 * temporary file, "tmp") into place: args are of exactly one kind. */
static const char *const copy_volume_keys[] = {"volume", "target-storage", "target-name", "vmid"};
static const char *const copy_upload_keys[] = {"content", "filename", "tmp", "checksum",
                                               "checksum-algorithm"};

/* required[0] names the kind */
static int check_kind(const json_t *args, const char *const *required, size_t n_required,
                      const char *const *foreign, size_t n_foreign, struct error **err)
{
	for (size_t i = 0; i < n_required; i++)
		if (!json_object_get(args, required[i]))
			return error_set(err, -EINVAL, 500,
			                 "missing argument '%s' of task type 'imgcopy'",
			                 required[i]);
	for (size_t i = 0; i < n_foreign; i++)
		if (json_object_get(args, foreign[i]))
			return error_set(
			    err, -EINVAL, 500,
			    "argument '%s' of task type 'imgcopy' does not go with '%s'",
			    foreign[i], required[0]);
	return 0;
}

static int check_copy_args(const json_t *args, struct error **err)
{
	int r = check_storage_ids(args, err);
	if (r < 0)
		return r;
	if (json_object_get(args, "tmp")) {
		static const char *const required[] = {"tmp", "content", "filename"};
		struct storage_import imp;
		r = check_kind(args, required, ARRAY_SIZE(required), copy_volume_keys,
		               ARRAY_SIZE(copy_volume_keys), err);
		if (r < 0)
			return r;
		import_from_args(args, &imp);
		return storage_import_check(&imp, false, err);
	}
	static const char *const required[] = {"volume", "target-storage", "vmid"};
	r = check_kind(args, required, ARRAY_SIZE(required), copy_upload_keys,
	               ARRAY_SIZE(copy_upload_keys), err);
	if (r < 0)
		return r;
	if (arg_long(args, "vmid") <= 0)
		return error_set(err, -EINVAL, 500, "invalid owner of a copy");
	return 0;
}

static int check_download_args(const json_t *args, struct error **err)
{
	struct storage_import imp;
	json_t *port = json_object_get(args, "api-port");
	if (port && (json_integer_value(port) < 0 || json_integer_value(port) > 65535))
		return error_set(err, -EINVAL, 500, "invalid port");
	import_from_args(args, &imp);
	return storage_import_check(&imp, true, err);
}

static int check_prune_args(const json_t *args, struct error **err)
{
	int r = check_storage_ids(args, err);
	const char *type = arg_str(args, "type");
	const char *opts = arg_str(args, "prune-backups");
	struct prune_options o;
	if (r < 0)
		return r;
	if (type && !streq(type, "qemu") && !streq(type, "lxc"))
		return error_set(err, -EINVAL, 500, "invalid guest type '%s'", type);
	if (arg_long(args, "vmid") < 0)
		return error_set(err, -EINVAL, 500, "invalid vmid");
	return opts ? prune_options_parse(opts, &o, err) : 0;
}

/* Opens args' "storage" (or another key) from the environment's store. */
static int open_arg(struct task_worker *w, const json_t *args, const char *key,
                    struct storage **ret_st, struct error **err)
{
	const struct storage_task_env *env = task_worker_env(w);
	return storage_load_open_enabled(env->store, env->node, arg_str(args, key), ret_st, err);
}

/* ---- imgdel ------------------------------------------------------------- */

static int op_imgdel(struct task_worker *w, const json_t *args, struct error **err)
{
	const char *storeid = arg_str(args, "storage"), *volname = arg_str(args, "volume");
	struct storage *st = NULL;
	int r = open_arg(w, args, "storage", &st, err);
	if (r < 0)
		return r;
	task_log(w, "removing volume '%s:%s'", storeid, volname);
	r = storage_free_volume(st, volname, w, err);
	storage_free(st);
	return r;
}

/* ---- snapshots ---------------------------------------------------------- */

enum snap_op { SNAP_CREATE, SNAP_DELETE, SNAP_ROLLBACK };

static int snapshot_run(struct task_worker *w, const json_t *args, enum snap_op op,
                        struct error **err)
{
	const char *storeid = arg_str(args, "storage"), *volname = arg_str(args, "volume");
	const char *snap = arg_str(args, "snapname");
	struct storage *st = NULL;
	int r = open_arg(w, args, "storage", &st, err);
	if (r < 0)
		return r;
	switch (op) {
	case SNAP_CREATE:
		task_log(w, "create snapshot '%s' of volume '%s:%s'", snap, storeid, volname);
		r = storage_snapshot_create(st, volname, snap, w, err);
		break;
	case SNAP_DELETE:
		task_log(w, "delete snapshot '%s' of volume '%s:%s'", snap, storeid, volname);
		r = storage_snapshot_delete(st, volname, snap, w, err);
		break;
	case SNAP_ROLLBACK:
		task_log(w, "rollback volume '%s:%s' to snapshot '%s'", storeid, volname, snap);
		r = storage_snapshot_rollback_flags(
		    st, volname, snap,
		    json_is_true(json_object_get(args, "destroy-newer"))
		        ? STORAGE_ROLLBACK_DESTROY_NEWER
		        : 0,
		    w, err);
		break;
	}
	storage_free(st);
	return r;
}

static int op_imgsnapshot(struct task_worker *w, const json_t *args, struct error **err)
{
	return snapshot_run(w, args, SNAP_CREATE, err);
}

static int op_imgdelsnapshot(struct task_worker *w, const json_t *args, struct error **err)
{
	return snapshot_run(w, args, SNAP_DELETE, err);
}

static int op_imgrollback(struct task_worker *w, const json_t *args, struct error **err)
{
	return snapshot_run(w, args, SNAP_ROLLBACK, err);
}

/* ---- imgcopy, download ------------------------------------------------- */

static int op_imgcopy(struct task_worker *w, const json_t *args, struct error **err)
{
	if (json_object_get(args, "tmp")) {
		const struct storage_task_env *env = task_worker_env(w);
		struct storage_import imp;
		import_from_args(args, &imp);
		return storage_import_upload_run(env->store, env->node, &imp, w, err);
	}
	const char *src_storeid = arg_str(args, "storage"), *src_volname = arg_str(args, "volume");
	const char *dst_storeid = arg_str(args, "target-storage");
	_cleanup_free_ char *newvol = NULL;
	struct storage *src = NULL, *dst = NULL;
	int r;

	r = open_arg(w, args, "storage", &src, err);
	if (r >= 0)
		r = open_arg(w, args, "target-storage", &dst, err);
	if (r >= 0)
		r = storage_copy(src, src_volname, dst, arg_str(args, "target-name"),
		                 arg_long(args, "vmid"), w, &newvol, err);
	if (r >= 0)
		task_log(w, "copied '%s:%s' to '%s:%s'", src_storeid, src_volname, dst_storeid,
		         newvol);
	storage_free(src);
	storage_free(dst);
	return r;
}

static int op_download(struct task_worker *w, const json_t *args, struct error **err)
{
	const struct storage_task_env *env = task_worker_env(w);
	struct storage_import imp;
	import_from_args(args, &imp);
	return storage_import_download_run(env->store, env->node, &imp, w, err);
}

/* ---- prunebackups ------------------------------------------------------- */

/* vzdump's log is "<stem>.log" beside the archive (PVE's archive_info
 * logfilename); the backends remove "<archive>.notes", so this one is
 * removed here, as PVE's archive_auxiliaries_remove does. */
static void remove_vzdump_log(struct storage *st, const char *volname)
{
	struct archive_info ai = {0};
	_cleanup_free_ char *path = NULL;
	if (archive_info_parse(volname, &ai, NULL) < 0)
		return;
	if (ai.logfilename && storage_path(st, volname, &path, NULL) == 0) {
		char *slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *log = xasprintf("%s/%s", path, ai.logfilename);
			(void)unlink(log);
		}
	}
	archive_info_clear(&ai);
}

/* The marks are computed afresh here: backups may have come and gone since
 * the request was checked. */
static int op_prunebackups(struct task_worker *w, const json_t *args, struct error **err)
{
	const struct storage_task_env *env = task_worker_env(w);
	const char *opts = arg_str(args, "prune-backups");
	long vmid = arg_long(args, "vmid");
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	struct storage *st = NULL;
	struct prune_options given, o;
	struct prune_item *items = NULL;
	size_t n = 0;
	bool failed = false;

	int r = opts ? prune_options_parse(opts, &given, err) : 0;
	if (r < 0)
		return r;
	r = storage_prune_open(env->store, env->node, arg_str(args, "storage"),
	                       opts ? &given : NULL, &snap, &st, &o, err);
	if (r < 0)
		return r;
	r = storage_prune_plan(st, vmid, arg_str(args, "type"), &o, &items, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (items[i].mark != PRUNE_MARK_REMOVE)
			continue;
		struct error *e = NULL;
		task_log(w, "removing backup '%s'", items[i].volid);
		if (storage_free_volume(st, items[i].volname, w, &e) < 0) {
			task_log(w, "error when removing backup '%s' - %s", items[i].volid,
			         e ? e->msg : "unknown error");
			failed = true;
		} else {
			remove_vzdump_log(st, items[i].volname);
		}
		error_free(e);
	}
	storage_free(st);
	prune_items_free(items, n);
	if (r == 0 && failed)
		r = error_set(err, -EIO, 500, "error pruning backups - check log");
	return r;
}

/* ---- the table ---------------------------------------------------------- */

#define ARG_STORAGE                                        \
	{                                                  \
		.name = "storage", .type = TASK_ARG_STRING \
	}
#define ARG_VOLUME                                        \
	{                                                 \
		.name = "volume", .type = TASK_ARG_STRING \
	}
#define ARG_SNAP                                            \
	{                                                   \
		.name = "snapname", .type = TASK_ARG_STRING \
	}

static const struct task_op_arg volume_args[] = {ARG_STORAGE, ARG_VOLUME, {.name = NULL}};
static const struct task_op_arg snapshot_args[] = {
    ARG_STORAGE, ARG_VOLUME, ARG_SNAP, {.name = NULL}};
static const struct task_op_arg rollback_args[] = {
    ARG_STORAGE,
    ARG_VOLUME,
    ARG_SNAP,
    {.name = "destroy-newer", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL}};
/* Either kind's keys, each optional here: check_copy_args() requires
 * those of the kind args are of. */
static const struct task_op_arg copy_args[] = {
    ARG_STORAGE,
    /* a volume copied to another storage */
    {.name = "volume", .type = TASK_ARG_STRING, .optional = true},
    {.name = "target-storage", .type = TASK_ARG_STRING, .optional = true},
    {.name = "target-name", .type = TASK_ARG_STRING, .optional = true},
    {.name = "vmid", .type = TASK_ARG_INTEGER, .optional = true},
    /* an uploaded file moved into place */
    {.name = "content", .type = TASK_ARG_STRING, .optional = true},
    {.name = "filename", .type = TASK_ARG_STRING, .optional = true},
    {.name = "tmp", .type = TASK_ARG_STRING, .optional = true},
    {.name = "checksum", .type = TASK_ARG_STRING, .optional = true},
    {.name = "checksum-algorithm", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};
static const struct task_op_arg download_args[] = {
    ARG_STORAGE,
    {.name = "content", .type = TASK_ARG_STRING},
    {.name = "filename", .type = TASK_ARG_STRING},
    {.name = "tmp", .type = TASK_ARG_STRING},
    {.name = "url", .type = TASK_ARG_STRING},
    {.name = "checksum", .type = TASK_ARG_STRING, .optional = true},
    {.name = "checksum-algorithm", .type = TASK_ARG_STRING, .optional = true},
    {.name = "verify-certificates", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "api-port", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = NULL},
};
static const struct task_op_arg prune_args[] = {
    ARG_STORAGE,
    {.name = "vmid", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = "type", .type = TASK_ARG_STRING, .optional = true},
    {.name = "prune-backups", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

static const struct task_op storage_task_ops[] = {
    {.type = "imgdel", .args = volume_args, .check = check_storage_ids, .run = op_imgdel},
    {.type = "imgsnapshot",
     .args = snapshot_args,
     .check = check_snapshot_args,
     .run = op_imgsnapshot},
    {.type = "imgdelsnapshot",
     .args = snapshot_args,
     .check = check_snapshot_args,
     .run = op_imgdelsnapshot},
    {.type = "imgrollback",
     .args = rollback_args,
     .check = check_snapshot_args,
     .run = op_imgrollback},
    {.type = "imgcopy", .args = copy_args, .check = check_copy_args, .run = op_imgcopy},
    {.type = "download", .args = download_args, .check = check_download_args, .run = op_download},
    {.type = "prunebackups", .args = prune_args, .check = check_prune_args, .run = op_prunebackups},
    {.type = NULL},
};

int storage_task_ops_register(struct task_ops *reg, struct storage_task_env *env,
                              struct error **err)
{
	int r = task_ops_register(reg, storage_task_ops, env, err);
	return r < 0 ? r : disks_task_ops_register(reg, env, err);
}
