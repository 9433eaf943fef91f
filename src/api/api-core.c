/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The root index, /version, /schema and /cluster (pve-api.md section 6). */
#include "common.h"

#include <pthread.h>
#include <sys/stat.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "fileio.h"
#include "guest.h"
#include "node-stats.h"
#include "paths.h"
#include "strbuf.h"
#include "xalloc.h"

static json_t *subdirs(const char *key, const char *const *names)
{
	json_t *a = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(a, json_pack("{s:s}", key, *n));
	return a;
}

static int api_root_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"version", "cluster", "nodes", "storage",
	                                    "access",  "pools",   NULL};
	*ret = subdirs("subdir", names);
	return 0;
}

/* The answer never changes: built once, then shared read-only by every
 * request (jansson's reference counts are atomic; nothing modifies it). */
static json_t *version_data;
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_build(void)
{
	/* "release" is the major.minor part of the PVE version we speak */
	const char *v = CTVM_PVE_VERSION;
	const char *dot = strchr(v, '.');
	const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
	_cleanup_free_ char *release = dot2 ? xstrndup(v, (size_t)(dot2 - v)) : xstrdup(v);
	version_data = json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", v, "release", release,
	                         "repoid", "c7c7a5f1", "console", "xtermjs", "ctvm", CTVM_VERSION);
}

static int api_version(struct api_call *call, json_t **ret, struct error **err)
{
	pthread_once(&version_once, version_build);
	*ret = json_incref(version_data);
	return 0;
}

/* Apidoc tree: [{path, text, leaf, info: {VERB: method}, children: [...]}] */
static json_t *tree_node(json_t *parent_children, const char *path, const char *text)
{
	size_t i;
	json_t *c;
	json_array_foreach (parent_children, i, c) {
		if (streq(json_string_value(json_object_get(c, "text")), text))
			return c;
	}
	json_t *n = json_pack("{s:s, s:s, s:i, s:{}, s:[]}", "path", path, "text", text, "leaf", 1,
	                      "info", "children");
	json_array_append_new(parent_children, n);
	return n;
}

json_t *api_schema_tree(void)
{
	json_t *root = json_array();
	api_foreach_method(m)
	{
		if (streq(m->path, "/"))
			continue;
		json_t *children = root, *node = NULL;
		_cleanup_free_ char *copy = xstrdup(m->path);
		struct strbuf acc = STRBUF_INIT;
		char *save = NULL;
		for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
			strbuf_addf(&acc, "/%s", s);
			if (node)
				json_object_set_new(node, "leaf", json_integer(0));
			node = tree_node(children, acc.buf, s);
			children = json_object_get(node, "children");
		}
		strbuf_release(&acc);
		if (node)
			json_object_set_new(json_object_get(node, "info"), m->verb,
			                    api_method_schema(m));
	}
	return root;
}

static int api_schema(struct api_call *call, json_t **ret, struct error **err)
{
	*ret = api_schema_tree();
	return 0;
}

static int api_cluster_index(struct api_call *call, json_t **ret, struct error **err)
{
	static const char *const names[] = {"nextid", "resources", "status", "tasks", NULL};
	*ret = subdirs("name", names);
	return 0;
}

static int api_cluster_status(struct api_call *call, json_t **ret, struct error **err)
{
	/* a standalone node: no cluster entry, just this node (nodeid 0, local) */
	*ret = json_pack("[{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s}]", "type", "node", "id",
	                 "node/", "name", call->ctx->node, "ip", "127.0.0.1", "local", 1, "nodeid",
	                 0, "online", 1, "level", "");
	json_object_set_new(json_array_get(*ret, 0), "id",
	                    json_sprintf("node/%s", call->ctx->node));
	return 0;
}

/* The VMID namespace is the guest layer's: a VMID is taken when any guest
 * kind has a config for it. */
static int api_nextid(struct api_call *call, json_t **ret, struct error **err)
{
	long long vmid = api_param_int(call, "vmid", -1);
	if (vmid >= 0) {
		if (guest_find(call->ctx->guests, NULL, (long)vmid, NULL, NULL) == 0)
			return error_param(err, "vmid", "VM %lld already exists", vmid);
		*ret = json_sprintf("%lld", vmid);
		return 0;
	}
	long next = 0;
	if (guest_next_id(call->ctx->guests, &next, NULL) < 0)
		return error_set(err, -ENOSPC, 500,
		                 "unable to get any free VMID in range [100, 999999]");
	/* a JSON string: Telmate type-asserts it (pve-api.md 9.3) */
	*ret = json_sprintf("%ld", next);
	return 0;
}

json_t *api_node_resource(struct api_call *call);

static int api_cluster_resources(struct api_call *call, json_t **ret, struct error **err)
{
	const char *type = api_param_str(call, "type");
	json_t *a = json_array();
	if (!type || streq(type, "node")) {
		json_t *n = api_node_resource(call);
		if (n)
			json_array_append_new(a, n);
	}
	if (!type || streq(type, "vm")) {
		json_t *g = api_guest_resources(call);
		json_array_extend(a, g);
		json_decref(g);
	}
	if (!type || streq(type, "storage")) {
		json_t *s = api_storage_resources(call);
		json_array_extend(a, s);
		json_decref(s);
	}
	*ret = a;
	return 0;
}

static const char *const resource_types[] = {"vm", "storage", "node", "sdn", NULL};

const struct api_method api_methods_core[] = {
    {
        .path = "/",
        .verb = "GET",
        .name = "index",
        .description = "Directory index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_root_index,
    },
    {
        .path = "/version",
        .verb = "GET",
        .name = "version",
        .description = "API version details, including some parts of the global datacenter "
                       "config.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_version,
    },
    {
        .path = "/schema",
        .verb = "GET",
        .name = "schema",
        .description = "The schema of every API method (Proxmox apidoc shape), generated from "
                       "ctvm's method table. ctvm extension.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_schema,
    },
    {
        .path = "/cluster",
        .verb = "GET",
        .name = "index",
        .description = "Cluster index.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_cluster_index,
    },
    {
        .path = "/cluster/status",
        .verb = "GET",
        .name = "get_status",
        .description = "Get cluster status information.",
        .params = (const struct api_param[]){API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/", "Sys.Audit")),
        .handler = api_cluster_status,
    },
    {
        .path = "/cluster/nextid",
        .verb = "GET",
        .name = "nextid",
        .description = "Get next free VMID. Pass a VMID to assert that it's free "
                       "(at time of check).",
        .params = (const struct api_param[]){API_PARAM_VMID_AS(true, "The (unique) ID of the VM."),
                                             API_END},
        .returns = {.type = API_TYPE_STRING, .description = "The next free VMID."},
        .perm = API_ANY_USER("Any authenticated user."),
        .handler = api_nextid,
    },
    {
        .path = "/cluster/resources",
        .verb = "GET",
        .name = "resources",
        .description = "Resources index (cluster wide).",
        .params = (const struct api_param[]){{.name = "type",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .enum_values = resource_types,
                                              .description = "Resource type."},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("Any authenticated user; entries are filtered by VM.Audit, "
                             "Datastore.Audit and Sys.Audit."),
        .handler = api_cluster_resources,
    },
    {.path = NULL},
};
