/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/storage/{storage}/prunebackups: what a retention policy
 * keeps (GET, a dry run) and removing the rest (DELETE, a task), after
 * PVE::API2::Storage::PruneBackups and PVE::Storage::prune_backups.  The
 * marks themselves are src/storage/prune.c, the removal the storage layer's
 * prunebackups operation (src/storage/storage-ops.c).
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

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "log.h"
#include "prune.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "xalloc.h"

/* What a call asks for; every string is the caller's (not owned). */
struct prune_request {
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

/* PVE's prune_backups up to the listing (storage_prune_open()). */
static int open_for_prune(struct api_call *call, const struct prune_request *q,
                          const struct storage_config_snapshot **ret_snap, struct storage **ret_st,
                          struct prune_options *ret_opts, struct error **err)
{
	return storage_prune_open(call->ctx->storage, call->ctx->node, q->storeid,
	                          q->has_options ? &q->options : NULL, ret_snap, ret_st, ret_opts,
	                          err);
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
	r = open_for_prune(call, &q, &snap, &st, &o, err);
	if (r < 0)
		return r;
	r = storage_prune_plan(st, q.vmid, q.type, &o, &items, &n, err);
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
	r = open_for_prune(call, &q, &snap, &st, &o, err);
	storage_free(st);
	if (r < 0)
		return r;

	_cleanup_free_ char *id =
	    q.vmid > 0 ? xasprintf("%ld@%s", q.vmid, q.storeid) : xstrdup(q.storeid);
	_cleanup_json_ json_t *args = json_pack("{s:s}", "storage", q.storeid);
	if (q.vmid > 0)
		json_object_set_new(args, "vmid", json_integer(q.vmid));
	if (q.type)
		json_object_set_new(args, "type", json_string(q.type));
	/* the options as parsed, in their canonical text: the task gets what
	 * was checked here, whatever blanks the caller's text had */
	if (q.has_options) {
		_cleanup_free_ char *opts = prune_options_format(&q.options);
		json_object_set_new(args, "prune-backups", json_string(opts));
	}
	r = api_start_op(call, "prunebackups", id, args, ret, err);
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
