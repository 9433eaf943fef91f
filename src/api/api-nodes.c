/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* /nodes and /nodes/{node}: a standalone node (pve-api.md section 6). */
#include "common.h"

#include <pthread.h>
#include <string.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "node-stats.h"
#include "xalloc.h"

/* The node's entry: its figures (s) only for a caller who may audit it. */
static json_t *node_entry_build(struct api_context *ctx, bool resource, bool audit,
                                const struct node_stats_summary *s)
{
	json_t *n = json_pack("{s:s, s:s, s:s, s:s}", "node", ctx->node, "status", "online", "id",
	                      "", "type", "node");
	json_object_set_new(n, "id", json_sprintf("node/%s", ctx->node));
	if (!resource && ctx->cert_fingerprint)
		json_object_set_new(n, "ssl_fingerprint", json_string(ctx->cert_fingerprint));
	json_object_set_new(n, "level", json_string(""));
	if (!audit)
		return n;
	json_object_set_new(n, "cpu", json_real(s->cpu));
	json_object_set_new(n, "maxcpu", json_integer(s->maxcpu));
	json_object_set_new(n, "mem", json_integer((json_int_t)s->mem));
	json_object_set_new(n, "maxmem", json_integer((json_int_t)s->maxmem));
	json_object_set_new(n, "disk", json_integer((json_int_t)s->disk));
	json_object_set_new(n, "maxdisk", json_integer((json_int_t)s->maxdisk));
	json_object_set_new(n, "uptime", json_integer((json_int_t)s->uptime));
	if (resource)
		json_object_set_new(n, "cgroup-mode", json_integer(2));
	return n;
}

/* Whether the caller may audit the node, and then its figures (all bytes
 * set, padding included, so that two summaries compare with memcmp). */
static bool node_audit(struct api_call *call, struct node_stats_summary *s)
{
	_cleanup_free_ char *path = xasprintf("/nodes/%s", call->ctx->node);
	memset(s, 0, sizeof(*s));
	/* figures only for those who may audit the node */
	if (!api_call_has_priv(call, path, "Sys.Audit"))
		return false;
	node_stats_summary(call->ctx->stats, s);
	return true;
}

static json_t *node_entry(struct api_call *call, bool resource)
{
	struct node_stats_summary s;
	bool audit = node_audit(call, &s);
	return node_entry_build(call->ctx, resource, audit, &s);
}

/*
 * The node's /cluster/resources row depends only on the node's name, whether
 * the caller may audit it (decided per request) and the collector's summary,
 * which changes once a sample: it is built once per sample and shared
 * read-only, like the storage rows (api-storage.c).
 */
static struct {
	pthread_rwlock_t lock;
	char *node;
	struct node_stats_summary s; /* of row[1] */
	json_t *row[2];              /* [may audit] */
} node_rows = {.lock = PTHREAD_RWLOCK_INITIALIZER};

json_t *api_node_resource(struct api_call *call);
json_t *api_node_resource(struct api_call *call)
{
	const char *node = call->ctx->node;
	struct node_stats_summary s;
	bool audit = node_audit(call, &s);
	json_t *r = NULL;

	pthread_rwlock_rdlock(&node_rows.lock);
	if (node_rows.node && streq(node_rows.node, node) && node_rows.row[audit] &&
	    (!audit || memcmp(&node_rows.s, &s, sizeof(s)) == 0))
		r = json_incref(node_rows.row[audit]);
	pthread_rwlock_unlock(&node_rows.lock);
	if (r)
		return r;

	r = node_entry_build(call->ctx, true, audit, &s);
	pthread_rwlock_wrlock(&node_rows.lock);
	if (!node_rows.node || !streq(node_rows.node, node)) {
		for (size_t i = 0; i < ARRAY_SIZE(node_rows.row); i++) {
			json_decref(node_rows.row[i]);
			node_rows.row[i] = NULL;
		}
		free(node_rows.node);
		node_rows.node = xstrdup(node);
	}
	if (audit)
		memcpy(&node_rows.s, &s, sizeof(s));
	json_decref(node_rows.row[audit]);
	node_rows.row[audit] = json_incref(r);
	pthread_rwlock_unlock(&node_rows.lock);
	return r;
}

static int api_nodes(struct api_call *call, json_t **ret, struct error **err)
{
	*ret = json_pack("[o]", node_entry(call, false));
	return 0;
}

static int api_node_index(struct api_call *call, json_t **ret, struct error **err)
{
	/* Proxmox's index (Nodes.pm, alphabetical), less what ctvm does not
	 * serve */
	static const char *const names[] = {"disks",   "lxc",   "network",   "qemu",     "rrd",
	                                    "rrddata", "scan",  "startall",  "status",   "stopall",
	                                    "storage", "tasks", "termproxy", "vncshell", NULL};
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", "name", *n));
	*ret = a;
	return 0;
}

static int api_node_status(struct api_call *call, json_t **ret, struct error **err)
{
	*ret = node_stats_status_json(call->ctx->stats);
	return 0;
}

/* startall / stopall: the guest layer's operations (src/guest/guest-ops.c).
 * vms is passed as given, cut at 1023 bytes as it always was; force,
 * timeout and force-stop as given. */
static int bulk(struct api_call *call, bool start, json_t **ret, struct error **err)
{
	const char *vms = api_param_str(call, "vms");
	_cleanup_json_ json_t *args = json_object();
	if (vms)
		json_object_set_new(args, "vms", json_stringn(vms, strnlen(vms, 1023)));
	if (start && api_param_has(call, "force"))
		json_object_set_new(args, "force",
		                    json_boolean(api_param_bool(call, "force", false)));
	if (!start && api_param_has(call, "force-stop"))
		json_object_set_new(args, "force-stop",
		                    json_boolean(api_param_bool(call, "force-stop", true)));
	if (!start && api_param_has(call, "timeout"))
		json_object_set_new(args, "timeout",
		                    json_integer(api_param_int(call, "timeout", 180)));
	return api_start_op(call, start ? "startall" : "stopall", "", args, ret, err);
}

static int api_startall(struct api_call *call, json_t **ret, struct error **err)
{
	return bulk(call, true, ret, err);
}

static int api_stopall(struct api_call *call, json_t **ret, struct error **err)
{
	return bulk(call, false, ret, err);
}

const struct api_method api_methods_nodes[] = {
    {
        .path = "/nodes",
        .verb = "GET",
        .name = "index",
        .description = "Cluster node index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user; figures need Sys.Audit on the node."),
        .handler = api_nodes,
    },
    {
        .path = "/nodes/{node}",
        .verb = "GET",
        .name = "index",
        .description = "Node index.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_node_index,
    },
    {
        .path = "/nodes/{node}/status",
        .verb = "GET",
        .name = "status",
        .description = "Read node status.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")),
        .handler = api_node_status,
    },
    {
        .path = "/nodes/{node}/startall",
        .verb = "POST",
        .name = "startall",
        .description = "Start all VMs and containers located on this node (by default only "
                       "those with onboot=1).",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                {.name = "force",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "off",
                 .description = "Issue start command even if virtual guest have "
                                "'onboot' not set or set to off."},
                {.name = "vms",
                 .type = API_TYPE_STRING,
                 .format = "pve-vmid-list",
                 .optional = true,
                 .description = "Only consider guests from this comma separated list "
                                "of VMIDs."},
                API_END},
        .returns = {.type = API_TYPE_STRING, .description = "The task UPID."},
        .perm = API_CHECK(API_PERM("/", "VM.PowerMgmt")),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_startall,
    },
    {
        .path = "/nodes/{node}/stopall",
        .verb = "POST",
        .name = "stopall",
        .description = "Stop all VMs and Containers.",
        .params =
            (const struct api_param[]){API_PARAM_NODE,
                                       {.name = "vms",
                                        .type = API_TYPE_STRING,
                                        .format = "pve-vmid-list",
                                        .optional = true,
                                        .description = "Only consider Guests with these IDs."},
                                       {.name = "force-stop",
                                        .type = API_TYPE_BOOLEAN,
                                        .optional = true,
                                        .default_text = "1",
                                        .description = "Force a hard-stop after the timeout."},
                                       {.name = "timeout",
                                        .type = API_TYPE_INTEGER,
                                        .optional = true,
                                        .has_min = true,
                                        .minimum = 0,
                                        .has_max = true,
                                        .maximum = 7200,
                                        .default_text = "180",
                                        .description = "Timeout for each guest shutdown task."},
                                       API_END},
        .returns = {.type = API_TYPE_STRING, .description = "The task UPID."},
        .perm = API_CHECK(API_PERM("/", "VM.PowerMgmt")),
        .flags = API_ASYNC | API_PROTECTED,
        .handler = api_stopall,
    },
    {.path = NULL},
};
