/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/storage/{storage}/prunebackups: what a retention policy
 * keeps (GET, a dry run) and removing the rest (DELETE, a task), after
 * PVE::API2::Storage::PruneBackups and PVE::Storage::prune_backups.  The
 * marks themselves are src/storage/prune.c.
 *
 * One difference from Proxmox on purpose: DELETE checks up front what the
 * task would fail on (storage missing, disabled, without backups, no
 * retention options), so a client sees the reason instead of a UPID whose
 * task fails; the task still computes the marks afresh when it runs.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "prune.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

/* What a call asks for; every string is the caller's (not owned). */
struct prune_request {
	struct api_context *ctx;
	const char *storeid;
	long vmid;        /* 0: all guests */
	const char *type; /* qemu, lxc or NULL */
	bool has_options; /* the prune-backups parameter was given */
	struct prune_options options;
};

/* The prune-backups parameter, checked like PVE's schema does before any
 * other work: 400 with errors {prune-backups: ...}. */
static int request_from_call(struct api_call *call, struct prune_request *ret, struct error **err)
{
	*ret = (struct prune_request){
	    .ctx = call->ctx,
	    .storeid = api_param_str(call, "storage"),
	    .vmid = (long)api_param_int(call, "vmid", 0),
	    .type = api_param_str(call, "type"),
	};
	if (!api_param_has(call, "prune-backups"))
		return 0;
	struct error *e = NULL;
	int r = prune_options_parse(api_param_str(call, "prune-backups"), &ret->options, &e);
	if (r < 0) {
		error_param(err, "prune-backups", "%s", e->msg);
		error_free(e);
		return r;
	}
	ret->has_options = true;
	return 0;
}

/*
 * PVE's prune_backups up to the listing: the storage exists (and, beyond
 * PVE, is enabled here), holds backups, and the options come from the call
 * or else the storage's prune-backups.  Opens the storage on success; the
 * storage keeps pointing into snap, which the caller releases after it.
 */
static int open_for_prune(const struct prune_request *q,
                          const struct storage_config_snapshot **ret_snap, struct storage **ret_st,
                          struct prune_options *ret_opts, struct error **err)
{
	const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(q->ctx->storage, &snap, err);
	if (r < 0)
		return r;
	const struct section *s = NULL;
	r = storage_lookup_enabled(storage_config_snapshot_config(snap), q->storeid, q->ctx->node,
	                           &s, err);
	if (r == 0 && !storage_section_has_content(s, "backup"))
		r = error_set(err, -EINVAL, 500, "storage '%s' does not support backups",
		              q->storeid);
	if (r == 0 && q->has_options) {
		*ret_opts = q->options;
	} else if (r == 0) {
		const char *v = section_get(s, "prune-backups");
		if (!v)
			r = error_set(err, -EINVAL, 500,
			              "no prune-backups options configured for storage '%s'",
			              q->storeid);
		else if ((r = prune_options_parse(v, ret_opts, err)) < 0 && err && *err)
			(*err)->http_status = 500; /* the configuration's fault, not the call's */
	}
	if (r == 0)
		r = storage_open(snap, q->storeid, ret_st, err);
	if (r < 0) {
		storage_config_snapshot_unref(snap);
		return r;
	}
	*ret_snap = snap;
	return 0;
}

/* The marks of every backup of the opened storage (the vmid's only when
 * given), like PVE's prune_backups: activate, list, mark. */
static int plan(const struct prune_request *q, struct storage *st, const struct prune_options *o,
                struct prune_item **ret, size_t *ret_n, struct error **err)
{
	struct storage_volume *vols = NULL;
	size_t n = 0;
	int r = storage_activate(st, err);
	if (r == 0)
		r = storage_list(st, q->vmid, "backup", &vols, &n, err);
	if (r == 0)
		prune_plan(q->storeid, vols, n, q->vmid, q->type, o, ret, ret_n);
	storage_volume_list_free(vols, n);
	return r;
}

/* ---- GET: the dry run -------------------------------------------------- */

static int api_prune_dryrun(struct api_call *call, json_t **ret, struct error **err)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	struct storage *st = NULL;
	struct prune_request q;
	struct prune_options o;
	struct prune_item *items = NULL;
	size_t n = 0;
	int r = request_from_call(call, &q, err);
	if (r < 0)
		return r;
	r = open_for_prune(&q, &snap, &st, &o, err);
	if (r < 0)
		return r;
	r = plan(&q, st, &o, &items, &n, err);
	storage_free(st);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_pack("{s:s, s:I, s:s, s:s}", "volid", items[i].volid, "ctime",
		                      (json_int_t)items[i].ctime, "mark",
		                      prune_mark_to_string(items[i].mark), "type", items[i].type);
		if (items[i].vmid > 0)
			json_object_set_new(e, "vmid", json_integer(items[i].vmid));
		json_array_append_new(a, e);
	}
	prune_items_free(items, n);
	*ret = a;
	return 0;
}

/* ---- DELETE: the task --------------------------------------------------- */

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

/* Runs in the forked worker. */
static int prune_run(struct task_worker *w, void *arg, struct error **err)
{
	const struct prune_request *q = arg;
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	struct storage *st = NULL;
	struct prune_options o;
	struct prune_item *items = NULL;
	size_t n = 0;
	bool failed = false;

	int r = open_for_prune(q, &snap, &st, &o, err);
	if (r < 0)
		return r;
	r = plan(q, st, &o, &items, &n, err);
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

static bool has_storage_priv(const struct api_call *call, const char *storeid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	return api_call_has_priv(call, path, priv);
}

static bool has_vm_priv(const struct api_call *call, long vmid, const char *priv)
{
	_cleanup_free_ char *path = xasprintf("/vms/%ld", vmid);
	return api_call_has_priv(call, path, priv);
}

static int api_prune_delete(struct api_call *call, json_t **ret, struct error **err)
{
	struct prune_request q;
	int r = request_from_call(call, &q, err);
	if (r < 0)
		return r;
	/* PVE: a vmid narrows the job to that guest's backups */
	bool allowed = q.vmid > 0 ? has_storage_priv(call, q.storeid, "Datastore.AllocateSpace") &&
	                                has_vm_priv(call, q.vmid, "VM.Backup")
	                          : has_storage_priv(call, q.storeid, "Datastore.Allocate");
	if (!allowed)
		return error_set(err, -EPERM, 403, "Permission check failed");

	/* refuse now what the task would refuse */
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	struct storage *st = NULL;
	struct prune_options o;
	r = open_for_prune(&q, &snap, &st, &o, err);
	storage_free(st);
	if (r < 0)
		return r;

	_cleanup_free_ char *id =
	    q.vmid > 0 ? xasprintf("%ld@%s", q.vmid, q.storeid) : xstrdup(q.storeid);
	r = api_start_task(call, "prunebackups", id, prune_run, &q, ret, err);
	if (r < 0)
		return r;
	log_info("pruning of backups on storage '%s' started by '%s'", q.storeid, call->authid);
	return 0;
}

/* ---- the rows ----------------------------------------------------------- */

static const char *const guest_types[] = {"qemu", "lxc", NULL};

#define P_PRUNE_PARAMS(vmid_desc)                                                                \
	API_PARAM_NODE, API_PARAM_STORAGE,                                                       \
	    {.name = "prune-backups",                                                            \
	     .type = API_TYPE_STRING,                                                            \
	     .format = "prune-backups",                                                          \
	     .optional = true,                                                                   \
	     .max_length = 1024,                                                                 \
	     .description = "Use these retention options instead of those from the storage "     \
	                    "configuration (keep-all=1, or keep-last, keep-hourly, keep-daily, " \
	                    "keep-weekly, keep-monthly, keep-yearly =N)."},                      \
	    {.name = "type",                                                                     \
	     .type = API_TYPE_STRING,                                                            \
	     .optional = true,                                                                   \
	     .enum_values = guest_types,                                                         \
	     .description = "Either 'qemu' or 'lxc'. Only consider backups for guests of "       \
	                    "this type."},                                                       \
	    API_PARAM_VMID_AS(true, (vmid_desc)), API_END

const struct api_method api_methods_storage_prune[] = {
    {
        .path = "/nodes/{node}/storage/{storage}/prunebackups",
        .verb = "GET",
        .name = "dryrun",
        .description = "Get prune information for backups. NOTE: this is only a preview and "
                       "might not be what a subsequent prune call does if backups are "
                       "removed/added in the meantime.",
        .params =
            (const struct api_param[]){P_PRUNE_PARAMS("Only consider backups for this guest.")},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(
            API_PERM_ANY("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace")),
        .flags = API_PROTECTED,
        .handler = api_prune_dryrun,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/prunebackups",
        .verb = "DELETE",
        .name = "delete",
        .description = "Prune backups. Only those using the standard naming scheme are "
                       "considered.",
        .params = (const struct api_param[]){P_PRUNE_PARAMS("Only prune backups for this VM.")},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_ANY_USER("You need the 'Datastore.Allocate' privilege on the storage (or "
                             "if a VM ID is specified, 'Datastore.AllocateSpace' and "
                             "'VM.Backup' for the VM)."),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_prune_delete,
    },
    {.path = NULL},
};
