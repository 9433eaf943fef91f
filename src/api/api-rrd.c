/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Usage history: GET /nodes/{node}/rrddata and
 * /nodes/{node}/storage/{storage}/rrddata, after pve-manager's Nodes.pm and
 * pve-storage's Storage/Status.pm (PVE::RRD::create_rrd_data), answered from
 * the collector's series (rrd-collector.h).  The PNG variants (rrd) answer
 * 501: ctvm draws no images, clients (the web UI too) draw from rrddata.
 */
#include "common.h"

#include "api-guest.h"
#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "guest.h"
#include "node-stats.h"
#include "rrd-collector.h"
#include "section-config.h"
#include "storage-config.h"

static const char *const timeframes[] = {"hour", "day", "week", "month", "year", NULL};
static const char *const cfs[] = {"AVERAGE", "MAX", NULL};

static int history(struct api_call *call, struct rrd_collector **ret, enum rrd_timeframe *tf,
                   enum rrd_cf *cf, struct error **err)
{
	struct rrd_collector *c = call->ctx->stats ? node_stats_history(call->ctx->stats) : NULL;
	if (!c)
		return error_set(err, -ENOSYS, 500, "RRD error: no usage history is collected");
	/* validated against the enums already */
	*tf = (enum rrd_timeframe)rrd_timeframe_from_string(api_param_str(call, "timeframe"));
	int k = api_param_has(call, "cf") ? rrd_cf_from_string(api_param_str(call, "cf"))
	                                  : RRD_CF_AVERAGE;
	if ((int)*tf < 0 || k < 0)
		return error_param(err, (int)*tf < 0 ? "timeframe" : "cf", "value not allowed");
	*cf = (enum rrd_cf)k;
	*ret = c;
	return 0;
}

static int api_node_rrddata(struct api_call *call, json_t **ret, struct error **err)
{
	struct rrd_collector *c = NULL;
	enum rrd_timeframe tf = 0;
	enum rrd_cf cf = RRD_CF_AVERAGE;
	int r = history(call, &c, &tf, &cf, err);
	if (r < 0)
		return r;
	*ret = rrd_collector_node_json(c, tf, cf, call->now ? call->now : time(NULL));
	return 0;
}

static int api_storage_rrddata(struct api_call *call, json_t **ret, struct error **err)
{
	const char *id = api_param_str(call, "storage");
	struct rrd_collector *c = NULL;
	enum rrd_timeframe tf = 0;
	enum rrd_cf cf = RRD_CF_AVERAGE;
	int r = history(call, &c, &tf, &cf, err);
	if (r < 0)
		return r;
	const struct storage_config_snapshot *snap = NULL;
	r = storage_config_store_get(call->ctx->storage, &snap, err);
	if (r < 0)
		return r;
	bool exists = section_config_find(storage_config_snapshot_config(snap), id) != NULL;
	storage_config_snapshot_unref(snap);
	if (!exists)
		return error_set(err, -ENOENT, 500, "storage '%s' does not exist", id);
	*ret = rrd_collector_storage_json(c, id, tf, cf, call->now ? call->now : time(NULL));
	return 0;
}

static int api_guest_rrddata(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", 0);
	struct rrd_collector *c = NULL;
	enum rrd_timeframe tf = 0;
	enum rrd_cf cf = RRD_CF_AVERAGE;
	int r = history(call, &c, &tf, &cf, err);
	if (r == 0)
		r = guest_find(call->ctx->guests, api_guest_kind(call), (long)vmid, NULL, err);
	if (r < 0)
		return r;
	*ret = rrd_collector_guest_json(c, (long)vmid, tf, cf, call->now ? call->now : time(NULL));
	return 0;
}

static int api_rrd_png(struct api_call *call, json_t **ret, struct error **err)
{
	return error_set(err, -ENOSYS, 501,
	                 "RRD graphs are not available: ctvm draws no images, use rrddata");
}

#define P_TIMEFRAME                                                                      \
	{                                                                                \
		.name = "timeframe", .type = API_TYPE_STRING, .enum_values = timeframes, \
		.description = "Specify the time frame you are interested in."           \
	}
#define P_CF                                                                                 \
	{                                                                                    \
		.name = "cf", .type = API_TYPE_STRING, .enum_values = cfs, .optional = true, \
		.default_text = "AVERAGE", .description = "The RRD consolidation function"   \
	}
#define P_DS                                                                          \
	{                                                                             \
		.name = "ds", .type = API_TYPE_STRING, .format = "pve-configid-list", \
		.max_length = 1024,                                                   \
		.description = "The list of datasources you want to "                 \
		               "display."                                             \
	}
#define P_STORAGE                                                                       \
	{                                                                               \
		.name = "storage", .type = API_TYPE_STRING, .format = "pve-storage-id", \
		.max_length = 100, .description = "The storage identifier."             \
	}
#define PERM_STORAGE \
	API_CHECK(API_PERM_ANY("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace"))

const struct api_method api_methods_rrd[] = {
    {
        .path = "/nodes/{node}/rrddata",
        .verb = "GET",
        .name = "rrddata",
        .description = "Read node RRD statistics",
        .params = (const struct api_param[]){API_PARAM_NODE, P_TIMEFRAME, P_CF, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")),
        .handler = api_node_rrddata,
    },
    {
        .path = "/nodes/{node}/rrd",
        .verb = "GET",
        .name = "rrd",
        .description = "Read node RRD statistics (returns PNG). Not available in ctvm (501): "
                       "ctvm draws no images; clients draw from rrddata.",
        .params = (const struct api_param[]){API_PARAM_NODE, P_TIMEFRAME, P_DS, P_CF, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")),
        .handler = api_rrd_png,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/rrddata",
        .verb = "GET",
        .name = "rrddata",
        .description = "Read storage RRD statistics.",
        .params = (const struct api_param[]){API_PARAM_NODE, P_STORAGE, P_TIMEFRAME, P_CF, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = PERM_STORAGE,
        .handler = api_storage_rrddata,
    },
    {
        .path = "/nodes/{node}/storage/{storage}/rrd",
        .verb = "GET",
        .name = "rrd",
        .description = "Read storage RRD statistics (returns PNG). Not available in ctvm "
                       "(501): ctvm draws no images; clients draw from rrddata.",
        .params =
            (const struct api_param[]){API_PARAM_NODE, P_STORAGE, P_TIMEFRAME, P_DS, P_CF, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_STORAGE,
        .handler = api_rrd_png,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/rrddata",
        .verb = "GET",
        .name = "rrddata",
        .description = "Read VM RRD statistics",
        .params =
            (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, P_TIMEFRAME, P_CF, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Audit")),
        .handler = api_guest_rrddata,
    },
    {
        .path = "/nodes/{node}/lxc/{vmid}/rrddata",
        .verb = "GET",
        .name = "rrddata",
        .description = "Read VM RRD statistics",
        .params =
            (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, P_TIMEFRAME, P_CF, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Audit")),
        .handler = api_guest_rrddata,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/rrd",
        .verb = "GET",
        .name = "rrd",
        .description = "Read VM RRD statistics (returns PNG). Not available in ctvm (501): "
                       "ctvm draws no images; clients draw from rrddata.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, P_TIMEFRAME, P_DS,
                                             P_CF, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Audit")),
        .handler = api_rrd_png,
    },
    {.path = NULL},
};
