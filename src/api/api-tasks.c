/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* /nodes/{node}/tasks (pve-api.md 5.2). */
#include "common.h"

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "task.h"
#include "xalloc.h"

/* Owners see their tasks (a user also those of its tokens, a token only its
 * own); Sys.Audit on the node sees all.  Returns NULL for "all". */
static const char *visible_to(struct api_call *call)
{
	_cleanup_free_ char *path = xasprintf("/nodes/%s", call->ctx->node);
	if (api_call_has_priv(call, path, "Sys.Audit"))
		return NULL;
	return call->authid;
}

/* The task's user (and token) from its UPID; the caller must own it or have
 * priv on the node. */
static int check_task_access(struct api_call *call, const char *upid_str, const char *priv,
                             struct error **err)
{
	struct upid u;
	if (upid_parse(upid_str, &u) < 0)
		return error_param(err, "upid", "unable to parse worker upid");
	bool own = streq(u.user, call->authid);
	if (!own && !call->is_token) {
		/* a user may see the tasks of its own tokens */
		size_t l = strlen(call->userid);
		own = strncmp(u.user, call->userid, l) == 0 && u.user[l] == '!';
	}
	bool node_ok = !streq(u.node, call->ctx->node) ? false : true;
	upid_clear(&u);
	if (!node_ok)
		return error_set(err, -ENOENT, 500, "no such node in UPID");
	if (own)
		return 0;
	_cleanup_free_ char *path = xasprintf("/nodes/%s", call->ctx->node);
	if (api_call_has_priv(call, path, priv))
		return 0;
	return error_set(err, -EPERM, 403, "Permission check failed (%s, %s)", path, priv);
}

static int api_tasks_list(struct api_call *call, json_t **ret, struct error **err)
{
	struct task_filter f = {
	    .start = (unsigned)api_param_int(call, "start", 0),
	    .limit = (unsigned)api_param_int(call, "limit", 50),
	    .userfilter = api_param_str(call, "userfilter"),
	    .typefilter = api_param_str(call, "typefilter"),
	    .errors = api_param_bool(call, "errors", false),
	    .source = api_param_str(call, "source"),
	    .statusfilter = api_param_str(call, "statusfilter"),
	    .since = (time_t)api_param_int(call, "since", 0),
	    .until = (time_t)api_param_int(call, "until", 0),
	    .only_user = visible_to(call),
	};
	char vmid[32];
	if (api_param_has(call, "vmid")) {
		snprintf(vmid, sizeof(vmid), "%lld", api_param_int(call, "vmid", 0));
		f.vmid = vmid;
	}
	unsigned total = 0;
	int r = task_list(call->ctx->tasks, &f, ret, &total, err);
	if (r < 0)
		return r;
	call->total = total;
	return 0;
}

static int api_task_index(struct api_call *call, json_t **ret, struct error **err)
{
	int r = check_task_access(call, api_param_str(call, "upid"), "Sys.Audit", err);
	if (r < 0)
		return r;
	*ret = json_pack("[{s:s},{s:s}]", "name", "log", "name", "status");
	return 0;
}

static int api_task_status(struct api_call *call, json_t **ret, struct error **err)
{
	const char *upid = api_param_str(call, "upid");
	int r = check_task_access(call, upid, "Sys.Audit", err);
	if (r < 0)
		return r;
	return task_status(call->ctx->tasks, upid, ret, err);
}

static int api_task_log(struct api_call *call, json_t **ret, struct error **err)
{
	const char *upid = api_param_str(call, "upid");
	int r = check_task_access(call, upid, "Sys.Audit", err);
	if (r < 0)
		return r;
	unsigned total = 0;
	r = task_read_log(call->ctx->tasks, upid, (unsigned)api_param_int(call, "start", 0),
	                  (unsigned)api_param_int(call, "limit", 50), ret, &total, err);
	if (r < 0)
		return r;
	call->total = total;
	return 0;
}

static int api_task_stop(struct api_call *call, json_t **ret, struct error **err)
{
	const char *upid = api_param_str(call, "upid");
	int r = check_task_access(call, upid, "Sys.Modify", err);
	if (r < 0)
		return r;
	r = task_stop(call->ctx->tasks, upid, err);
	if (r < 0)
		return r;
	*ret = json_null();
	return 0;
}

int api_start_op(struct api_call *call, const char *type, const char *id, const json_t *args,
                 json_t **ret, struct error **err)
{
	char *upid = NULL;
	int r = task_start_op(call->ctx->tasks, type, id, call->authid, args, &upid, err);
	if (r < 0)
		return r;
	*ret = json_string(upid);
	free(upid);
	return 0;
}

static const char *const sources[] = {"archive", "active", "all", NULL};

#define API_PARAM_UPID                                                              \
	{                                                                           \
		.name = "upid", .type = API_TYPE_STRING, .format = "pve-task-upid", \
		.max_length = 256, .description = "The task's unique ID."           \
	}

const struct api_method api_methods_tasks[] = {
    {
        .path = "/nodes/{node}/tasks",
        .verb = "GET",
        .name = "node_tasks",
        .description = "Read task list for one node (finished tasks).",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                {.name = "start",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .has_min = true,
                 .minimum = 0,
                 .has_max = true,
                 .maximum = 1000000,
                 .default_text = "0",
                 .description = "List tasks beginning from this offset."},
                {.name = "limit",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .has_min = true,
                 .minimum = 0,
                 .has_max = true,
                 .maximum = 10000,
                 .default_text = "50",
                 .description = "Only list this amount of tasks."},
                {.name = "userfilter",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 128,
                 .description = "Only list tasks from this user."},
                {.name = "typefilter",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 64,
                 .description = "Only list tasks of this type (e.g., vzstart, vzdump)."},
                API_PARAM_VMID_AS(true, "Only list tasks for this VM."),
                {.name = "errors",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .default_text = "0",
                 .description = "Only list tasks with a status of ERROR."},
                {.name = "source",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .enum_values = sources,
                 .default_text = "archive",
                 .description = "List archived, active or all tasks."},
                {.name = "statusfilter",
                 .type = API_TYPE_STRING,
                 .optional = true,
                 .max_length = 64,
                 .description = "List of Task States that should be returned "
                                "(ok, warning, error, unknown)."},
                {.name = "since",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .description = "Only list tasks since this UNIX epoch."},
                {.name = "until",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .description = "Only list tasks until this UNIX epoch."},
                API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("List your own tasks, or all with Sys.Audit on /nodes/<node>."),
        .handler = api_tasks_list,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}",
        .verb = "GET",
        .name = "upid_index",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_UPID, API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The task's owner, or Sys.Audit on the node."),
        .handler = api_task_index,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}/status",
        .verb = "GET",
        .name = "read_task_status",
        .description = "Read task status.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_UPID, API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The task's owner, or Sys.Audit on the node."),
        .handler = api_task_status,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}/log",
        .verb = "GET",
        .name = "read_task_log",
        .description = "Read task log.",
        .params =
            (const struct api_param[]){
                API_PARAM_NODE,
                API_PARAM_UPID,
                {.name = "start",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .has_min = true,
                 .minimum = 0,
                 .default_text = "0",
                 .description = "Start at this line when reading the tasklog"},
                {.name = "limit",
                 .type = API_TYPE_INTEGER,
                 .optional = true,
                 .has_min = true,
                 .minimum = 0,
                 .has_max = true,
                 .maximum = 100000,
                 .default_text = "50",
                 .description = "The amount of lines to read from the tasklog."},
                {.name = "download",
                 .type = API_TYPE_BOOLEAN,
                 .optional = true,
                 .description = "Whether the tasklog file should be downloaded."},
                API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_ANY_USER("The task's owner, or Sys.Audit on the node."),
        .handler = api_task_log,
    },
    {
        .path = "/nodes/{node}/tasks/{upid}",
        .verb = "DELETE",
        .name = "stop_task",
        .description = "Stop a task.",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_UPID, API_END},
        .returns = {.type = API_TYPE_NULL},
        .perm = API_ANY_USER("The task's owner, or Sys.Modify on the node."),
        .handler = api_task_stop,
    },
    {.path = NULL},
};
