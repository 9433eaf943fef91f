/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /nodes/{node}/storage/{storage}/upload and .../download-url: ISO
 * images, container templates and import sources into a file storage, after
 * PVE::API2::Storage::Status.  An upload is streamed by the http layer into
 * a temporary file in the storage's directory (api_stream_request below
 * claims it); a download is fetched by curl into one.  The handlers check
 * the parameters, let the storage layer make the temporary file the task
 * will own (storage-import.h), and start an operation: imgcopy with the
 * uploaded file, or download.  The task verifies, checks and renames the
 * file into place; every failure removes the temporary file, so a volume
 * only ever appears complete and verified.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <strings.h>

#include "access.h"
#include "api-internal.h"
#include "api.h"
#include "auth.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "storage-import.h"
#include "task.h"
#include "xalloc.h"

static const char *const content_values[] = {"iso", "vztmpl", "import", NULL};
static const char *const algo_values[] = {"md5",    "sha1",   "sha224", "sha256",
                                          "sha384", "sha512", NULL};

/* --- parameters --- */

/* The storage layer's 400s about a file name are the filename parameter's;
 * anything else passes as it is. */
static int filename_error(int r, struct error *e, struct error **err)
{
	if (e && e->http_status == 400) {
		r = error_param(err, "filename", "%s", e->msg);
		error_free(e);
		return r;
	}
	error_propagate(err, e);
	return r;
}

static int check_checksum_params(const struct api_call *call, struct error **err)
{
	bool has_sum = api_param_has(call, "checksum");
	bool has_algo = api_param_has(call, "checksum-algorithm");
	if (has_sum != has_algo)
		return error_param(err, has_sum ? "checksum-algorithm" : "checksum",
		                   "'checksum' and 'checksum-algorithm' go together");
	if (has_sum) {
		const char *sum = api_param_str(call, "checksum");
		for (const char *p = sum; *p; p++)
			if (!isxdigit((unsigned char)*p))
				return error_param(err, "checksum", "not a hex checksum");
	}
	return 0;
}

/* PVE's upload name rules (storage_import_check_name()) and the checksum
 * parameters. */
static int check_file_params(const struct api_call *call, struct error **err)
{
	struct error *e = NULL;
	int r = storage_import_check_name(api_param_str(call, "content"),
	                                  api_param_str(call, "filename"), &e);
	if (r < 0)
		return filename_error(r, e, err);
	return check_checksum_params(call, err);
}

/* The arguments of either operation: the file, where it is, its checksum. */
static json_t *import_args(const struct api_call *call, const char *tmp)
{
	json_t *args = json_pack("{s:s, s:s, s:s, s:s}", "storage", api_param_str(call, "storage"),
	                         "content", api_param_str(call, "content"), "filename",
	                         api_param_str(call, "filename"), "tmp", tmp);
	if (api_param_has(call, "checksum")) {
		json_object_set_new(args, "checksum", json_string(api_param_str(call, "checksum")));
		json_object_set_new(args, "checksum-algorithm",
		                    json_string(api_param_str(call, "checksum-algorithm")));
	}
	return args;
}

/* --- the handlers --- */

static int api_storage_upload(struct api_call *call, json_t **ret, struct error **err)
{
	if (!call->upload_path)
		return error_param(err, "filename", "missing file upload");
	const char *storeid = api_param_str(call, "storage");
	const char *content = api_param_str(call, "content");
	_cleanup_(storage_import_target_clear) struct storage_import_target t = {0};
	int r = storage_import_target_get(call->ctx->storage, call->ctx->node, storeid, content, &t,
	                                  err);
	if (r < 0)
		return r;
	r = check_file_params(call, err);
	if (r < 0)
		return r;
	/* take the file from the http layer (which deletes what is left at
	 * upload_path): a new name the task owns */
	_cleanup_free_ char *tmp = NULL;
	struct error *e = NULL;
	r = storage_import_take_upload(&t, api_param_str(call, "filename"), call->upload_path, &tmp,
	                               &e);
	if (r < 0)
		return filename_error(r, e, err);
	json_t *args = import_args(call, tmp);
	r = api_start_op(call, "imgcopy", "", args, ret, err);
	json_decref(args);
	if (r < 0)
		storage_import_discard(&t, tmp);
	return r;
}

static int api_storage_download_url(struct api_call *call, json_t **ret, struct error **err)
{
	const char *storeid = api_param_str(call, "storage");
	const char *content = api_param_str(call, "content");
	const char *url = api_param_str(call, "url");
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return error_param(err, "url", "only http and https URLs are supported");
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return error_param(err, "url", "invalid URL");
	_cleanup_(storage_import_target_clear) struct storage_import_target t = {0};
	int r = storage_import_target_get(call->ctx->storage, call->ctx->node, storeid, content, &t,
	                                  err);
	if (r < 0)
		return r;
	if (strlen(url) > TASK_ARG_STRING_MAX)
		return error_param(err, "url", "URL too long");
	r = check_file_params(call, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = NULL;
	struct error *e = NULL;
	r = storage_import_new_download(&t, api_param_str(call, "filename"), &tmp, &e);
	if (r < 0)
		return filename_error(r, e, err);
	/* the URL may carry credentials: the task gets it as data (an exec'd
	 * worker on stdin) and logs it without them */
	json_t *args = import_args(call, tmp);
	json_object_set_new(args, "url", json_string(url));
	json_object_set_new(args, "verify-certificates",
	                    json_boolean(api_param_bool(call, "verify-certificates", true)));
	/* no redirect may go to this daemon's own port */
	json_object_set_new(args, "api-port",
	                    json_integer(__atomic_load_n(&call->ctx->port, __ATOMIC_RELAXED)));
	r = api_start_op(call, "download", "", args, ret, err);
	json_decref(args);
	if (r < 0)
		storage_import_discard(&t, tmp);
	return r;
}

/* --- the stream hook --- */

/* "/api2/json/nodes/<node>/storage/<storage>/upload": the storage id, or NULL. */
static char *upload_storage_of(const char *path)
{
	static const char prefix[] = "/api2/json/nodes/";
	if (!str_startswith(path, prefix))
		return NULL;
	const char *p = path + strlen(prefix);
	size_t n = strcspn(p, "/");
	if (n == 0 || !str_startswith(p + n, "/storage/"))
		return NULL;
	p += n + strlen("/storage/");
	n = strcspn(p, "/");
	if (n == 0 || !streq(p + n, "/upload"))
		return NULL;
	return xstrndup(p, n);
}

/*
 * Only a caller who may write templates to this storage gets a body streamed
 * to disk: anybody else's upload is read like any request (bounded in memory)
 * and refused by the choke point, so it cannot fill the storage meanwhile.
 * The same credential checks as the choke point (which repeats them, with
 * the permission).
 */
static bool caller_may_upload(struct api_context *ctx, const struct http_request *req,
                              const char *storeid)
{
	const struct access_db *db = access_store_get(ctx->access);
	_cleanup_free_ char *authid = api_request_authid(ctx, req, db, time(NULL));
	_cleanup_free_ char *path = xasprintf("/storage/%s", storeid);
	bool ok = authid && (streq(authid, "root@pam") ||
	                     access_db_check(db, authid, path, "Datastore.AllocateTemplate"));
	access_db_unref(db);
	return ok;
}

int api_stream_request(const struct http_request *req, struct http_stream_spec *spec,
                       void *userdata, struct error **err)
{
	struct api_context *ctx = userdata;
	_cleanup_free_ char *storeid = upload_storage_of(req->path);
	if (!storeid)
		return 0;
	if (!caller_may_upload(ctx, req, storeid))
		return 0; /* the choke point answers 401/403 (or 413 for a large body) */
	_cleanup_error_ struct error *e = NULL;
	_cleanup_(storage_import_target_clear) struct storage_import_target t = {0};
	if (storage_import_target_get(ctx->storage, ctx->node, storeid, NULL, &t, &e) < 0)
		return 0; /* the handler reports it */
	(void)err;
	spec->max_size = storage_import_free_bytes(t.path);
	spec->dir = TAKE_PTR(t.path);
	return 1;
}

/* clang-format off */
static const struct api_param upload_params[] = {
	API_PARAM_NODE,
	API_PARAM_STORAGE,
	{.name = "content", .type = API_TYPE_STRING, .enum_values = content_values,
	 .description = "Content type."},
	{.name = "filename", .type = API_TYPE_STRING, .max_length = 255,
	 .description = "The name of the file to create. Caution: This will be normalized!"},
	{.name = "checksum", .type = API_TYPE_STRING, .optional = true, .max_length = 128,
	 .description = "The expected checksum of the file."},
	{.name = "checksum-algorithm", .type = API_TYPE_STRING, .optional = true,
	 .enum_values = algo_values, .description = "The algorithm to calculate the checksum of the file."},
	{.name = "tmpfilename", .type = API_TYPE_STRING, .optional = true,
	 .description = "The source file name. This parameter is usually set by the REST handler. "
	                "You can only overwrite it when connecting to the trusted port on localhost."},
	API_END,
};

static const struct api_param download_params[] = {
	API_PARAM_NODE,
	API_PARAM_STORAGE,
	{.name = "url", .type = API_TYPE_STRING, .max_length = 4000, .secret = true,
	 .description = "The URL to download the file from."},
	{.name = "content", .type = API_TYPE_STRING, .enum_values = content_values,
	 .description = "Content type."},
	{.name = "filename", .type = API_TYPE_STRING, .max_length = 255,
	 .description = "The name of the file to create. Caution: This will be normalized!"},
	{.name = "checksum", .type = API_TYPE_STRING, .optional = true, .max_length = 128,
	 .description = "The expected checksum of the file."},
	{.name = "checksum-algorithm", .type = API_TYPE_STRING, .optional = true,
	 .enum_values = algo_values, .description = "The algorithm to calculate the checksum of the file."},
	{.name = "verify-certificates", .type = API_TYPE_BOOLEAN, .optional = true,
	 .default_text = "1", .description = "If false, no SSL/TLS certificates will be verified."},
	{.name = "compression", .type = API_TYPE_STRING, .optional = true,
	 .description = "Decompress the downloaded file (not supported)."},
	API_END,
};

const struct api_method api_methods_storage_upload[] = {
	{
		.path = "/nodes/{node}/storage/{storage}/upload",
		.verb = "POST",
		.name = "upload",
		.description = "Upload templates, ISO images and import sources.",
		.params = upload_params,
		.returns = {.type = API_TYPE_STRING},
		.perm = API_CHECK(API_PERM("/storage/{storage}", "Datastore.AllocateTemplate")),
		.flags = API_ASYNC | API_NO_CSRF,
		.handler = api_storage_upload,
	},
	{
		.path = "/nodes/{node}/storage/{storage}/download-url",
		.verb = "POST",
		.name = "download_url",
		.description = "Download templates, ISO images and import sources by using an URL.",
		.params = download_params,
		.returns = {.type = API_TYPE_STRING},
		.perm = API_CHECK_DESC(API_AND(API_PERM("/storage/{storage}", "Datastore.AllocateTemplate"),
		                               API_PERM("/nodes/{node}", "Sys.Audit", "Sys.Modify")),
		                       "Requires allocation access on the storage and as this allows one to "
		                       "probe the (local!) host network indirectly it also requires one of "
		                       "Sys.Modify on / (for backwards compatibility) or the newer "
		                       "Sys.AccessNetwork privilege on the node."),
		.flags = API_ASYNC,
		.handler = api_storage_download_url,
	},
	{.path = NULL},
};
/* clang-format on */
