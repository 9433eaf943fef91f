/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The choke point (pve-api.md 2.8): every /api2/json request passes here, in
 * this order, and no handler can skip a step:
 *
 *   format -> authenticate (ticket, token, local root)
 *   -> CSRF for non-GET tickets -> find the method (501) -> token allowed?
 *   -> node -> permission expression (403) -> body decoding errors
 *   -> validate parameters (400)
 *   -> handler
 *   -> envelope, with the error message as the HTTP reason phrase.
 */
#define LOG_CATEGORY "api"
#include "common.h"

#include <pthread.h>
#include <strings.h>

#include "access.h"
#include "api-internal.h"
#include "api-route.h"
#include "api.h"
#include "audit.h"
#include "auth.h"
#include "error.h"
#include "http-websocket.h"
#include "http.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#define API_PREFIX "/api2/"

/* ---- routing ------------------------------------------------------------ */

/* The method table's templates, split once (api-route.h), by the first
 * lookup; the table lives as long as the process. */
static struct api_route_table *routes;
static pthread_once_t routes_once = PTHREAD_ONCE_INIT;

static void routes_build(void)
{
	routes = api_route_table_new(api_method_tables);
}

const struct api_method *api_method_lookup(const char *verb, const char *path,
                                           json_t **ret_path_params)
{
	pthread_once(&routes_once, routes_build);
	return api_route_lookup(routes, verb, path, ret_path_params);
}

/* ---- responses ---------------------------------------------------------- */

/* One pass of ctvm's own encoder (json_write(): jansson's text without its
 * per-container loop-detection hash, half the cost of a large answer). */
static void respond_json(struct http_response *resp, int status, const char *reason, json_t *body)
{
	struct strbuf sb;
	strbuf_init(&sb, 1024);
	if (json_write(&sb, body, 0) < 0) {
		/* only a value built unchecked could get here: say so, whole */
		log_error("cannot encode the answer to JSON");
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "{\"data\":null,\"message\":\"cannot encode the answer\\n\"}");
		status = 500;
		reason = "cannot encode the answer";
	}
	size_t len;
	char *buf = strbuf_detach(&sb, &len);
	http_response_set_body(resp, status, "application/json;charset=UTF-8", buf, len);
	if (reason)
		resp->reason = xstrdup(reason);
}

static void respond_error(struct http_response *resp, const struct error *e)
{
	_cleanup_json_ json_t *body = json_pack("{s:n}", "data");
	if (e->params)
		json_object_set(body, "errors", e->params);
	json_object_set_new(body, "message", json_sprintf("%s\n", e->msg));
	respond_json(resp, e->http_status ? e->http_status : 500, e->msg, body);
}

/* 401 from the authentication step: no body at all, like pveproxy.  resp
 * NULL: only checking (the upload hook), nothing to answer. */
static void respond_unauthorized(struct http_response *resp, const char *msg, unsigned delay)
{
	if (!resp)
		return;
	http_response_set_body(resp, 401, NULL, NULL, 0);
	resp->reason = xstrdup(msg);
	resp->delay_ms = delay;
}

/* ---- authentication ----------------------------------------------------- */

struct auth_result {
	char *authid; /* user or full token id */
	char *userid;
	bool is_token;
	bool by_ticket;
};

static void auth_result_clear(struct auth_result *a)
{
	free(a->authid);
	free(a->userid);
	*a = (struct auth_result){0};
}

static bool is_safe_method(const char *verb)
{
	return streq(verb, "GET") || streq(verb, "HEAD");
}

/* 0 on success; otherwise the response (when not NULL) is filled in.  Success
 * also tells the http layer, which then stops counting the connection as
 * unauthenticated (it is never shed under a connection flood). */
static int authenticate(struct api_context *ctx, const struct http_request *req,
                        const struct access_db *db, time_t now, bool no_csrf,
                        struct auth_result *ret, struct http_response *resp)
{
	if (req->local_socket) {
		/* The socket is 0600 root; peer credentials decide, never a header. */
		if (req->has_peer_cred && req->peer_uid == 0) {
			ret->authid = xstrdup("root@pam");
			ret->userid = xstrdup("root@pam");
			http_request_set_authenticated(req);
			return 0;
		}
		respond_unauthorized(resp, "Authentication failed!", 0);
		return -EACCES;
	}

	struct auth_credentials cred = {0};
	auth_extract_credentials(http_request_header(req, "Cookie"),
	                         http_request_header(req, "Authorization"), &cred);
	int r = -EACCES;
	if (cred.ticket) {
		_cleanup_free_ char *userid = NULL;
		_cleanup_error_ struct error *e = NULL;
		time_t t;
		if (auth_ticket_verify(ctx->keys, cred.ticket, now, &userid, &t, &e) < 0 ||
		    access_user_check(db, userid, now, &e) < 0) {
			log_debug("ticket refused for %s: %s", req->peer_addr, e ? e->msg : "?");
			respond_unauthorized(resp, "Authentication failed!", 0);
			goto out;
		}
		if (!is_safe_method(req->method) && !no_csrf) {
			const char *csrf = http_request_header(req, "CSRFPreventionToken");
			if (!csrf || !auth_csrf_verify(ctx->keys, userid, csrf, now)) {
				respond_unauthorized(resp, "Permission denied - invalid csrf token",
				                     0);
				goto out;
			}
		}
		ret->authid = xstrdup(userid);
		ret->userid = TAKE_PTR(userid);
		ret->by_ticket = true;
		r = 0;
	} else if (cred.tokenid) {
		_cleanup_error_ struct error *e = NULL;
		if (access_token_check(db, cred.tokenid, cred.token_secret, now, &e) < 0) {
			/* a wrong secret is a guess: slow the guesser down, not others
			 * (counted once, when the request is answered) */
			unsigned d =
			    resp ? login_limiter_fail(ctx->limiter, cred.tokenid, req->peer_addr,
			                              ctx->login_fail_delay_ms)
			         : 0;
			log_info("API token '%s' refused from %s", cred.tokenid, req->peer_addr);
			respond_unauthorized(resp, "Authentication failed!", d);
			goto out;
		}
		ret->authid = xstrdup(cred.tokenid);
		ret->userid = xstrndup(cred.tokenid, strcspn(cred.tokenid, "!"));
		ret->is_token = true;
		r = 0;
	} else {
		respond_unauthorized(resp, "No ticket", 0);
	}
out:
	auth_credentials_clear(&cred);
	if (r == 0)
		http_request_set_authenticated(req);
	return r;
}

char *api_request_authid(struct api_context *ctx, const struct http_request *req,
                         const struct access_db *db, time_t now)
{
	struct auth_result a = {0};
	if (authenticate(ctx, req, db, now, true, &a, NULL) < 0)
		return NULL;
	free(a.userid);
	return a.authid;
}

/* ---- audit ---------------------------------------------------------------- */

/* Every request that may change something (any verb but GET) is recorded once
 * it is answered, logins included, with secret parameters replaced. */
static void audit_request(struct api_context *ctx, const struct api_method *m,
                          const struct http_request *req, const char *verb, const char *path,
                          const json_t *params, const struct auth_result *auth,
                          const struct http_response *resp, const char *upid)
{
	if (!ctx->audit || streq(verb, "GET") || !m)
		return;
	size_t n = 0;
	for (const struct api_param *d = m->params; d && d->name; d++)
		n++;
	_cleanup_free_ const char **secret = xnew(const char *, n + 1);
	n = 0;
	for (const struct api_param *d = m->params; d && d->name; d++)
		if (d->secret)
			secret[n++] = d->name;
	const char *user = auth->userid;
	if (!user && m->perm.user == API_PERM_WORLD)
		user = json_string_value(json_object_get(params, "username"));
	struct audit_record rec = {
	    .time = time(NULL),
	    .user = user,
	    .token = auth->is_token ? auth->authid : NULL,
	    .addr = req->peer_addr,
	    .method = verb,
	    .path = path,
	    .params = params,
	    .secret = secret,
	    .status = resp->status,
	    .result = resp->status == 200 ? "OK" : (resp->reason ? resp->reason : ""),
	    .upid = upid,
	};
	audit_log_record(ctx->audit, &rec);
}

/* ---- the choke point ---------------------------------------------------- */

static json_t *merge_params(const struct http_request *req, json_t *path_params, struct error **err)
{
	json_t *params = json_deep_copy(req->params ? req->params : json_object());
	if (!params)
		params = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (path_params, key, v) {
		json_t *given = json_object_get(params, key);
		if (given) {
			/* equal duplicates are fine (Ansible repeats node and vmid) */
			bool same = json_is_string(given) &&
			            streq(json_string_value(given), json_string_value(v));
			if (!same && json_is_integer(given)) {
				char buf[32];
				snprintf(buf, sizeof(buf), "%lld",
				         (long long)json_integer_value(given));
				same = streq(buf, json_string_value(v));
			}
			if (!same)
				error_param(err, key,
				            "duplicate parameter (already defined in URI) "
				            "with conflicting values!");
		}
		json_object_set(params, key, v);
	}
	return params;
}

static void dispatch(struct api_context *ctx, const struct http_request *req,
                     struct http_response *resp)
{
	_cleanup_error_ struct error *err = NULL;
	time_t now = time(NULL);

	/* /api2/<format>/<path> */
	if (!str_startswith(req->path, API_PREFIX)) {
		error_set(&err, -ENOENT, 501, "no such uri");
		respond_error(resp, err);
		return;
	}
	const char *fmt = req->path + strlen(API_PREFIX);
	size_t fmt_len = strcspn(fmt, "/");
	if (fmt_len != 4 || strncmp(fmt, "json", 4) != 0) {
		error_set(&err, -ENOENT, 501, "no such uri");
		respond_error(resp, err);
		return;
	}
	const char *path = fmt + fmt_len;
	if (!*path)
		path = "/";

	const char *verb = streq(req->method, "HEAD") ? "GET" : req->method;
	_cleanup_json_ json_t *path_params = NULL;
	const struct api_method *m = api_method_lookup(verb, path, &path_params);

	const struct access_db *db = access_store_get(ctx->access);
	struct auth_result auth = {0};
	json_t *params = NULL;
	_cleanup_free_ char *upid = NULL;

	if (!m || m->perm.user != API_PERM_WORLD) {
		bool no_csrf = m && (m->flags & API_NO_CSRF);
		if (authenticate(ctx, req, db, now, no_csrf, &auth, resp) < 0)
			goto out;
	}
	if (resp->log_user == NULL && auth.authid)
		resp->log_user = xstrdup(auth.authid);

	if (!m) {
		error_set(&err, -ENOSYS, 501, "Method '%s %s' not implemented", verb, path);
		goto fail;
	}
	if (auth.is_token && (m->flags & API_NO_TOKEN)) {
		error_set(&err, -EPERM, 403,
		          "URI '%s' not available with API token, need proper ticket.", path);
		goto fail;
	}

	/* A body that could not be decoded is reported once we know who asks and
	 * whether they may call the method at all (401 and 403 come first). */
	if (req->parse_error)
		params = json_deep_copy(path_params);
	else
		params = merge_params(req, path_params, &err);
	if (err)
		goto fail;

	/* A standalone node: a request for another node cannot be proxied and
	 * fails the way a Proxmox proxy failure reads. */
	const char *node = json_string_value(json_object_get(params, "node"));
	if (node && strstr(m->path, "{node}") && !streq(node, ctx->node)) {
		error_set(&err, -ENOENT, 500, "no such node '%s'", node);
		goto fail;
	}

	struct api_call call = {
	    .ctx = ctx,
	    .method = m,
	    .params = params,
	    .authid = auth.authid,
	    .userid = auth.userid,
	    .is_token = auth.is_token,
	    .peer = req->peer_addr,
	    .db = db,
	    .now = now,
	    .total = -1,
	    .upload_path = req->upload_path,
	    .upload_size = req->upload_size,
	    .upgrade_fd = -1,
	};
	struct ws_upgrade ws;
	/*
	 * Permissions before validation, as Proxmox does: a caller without the
	 * privilege learns nothing about what its parameters should look like.
	 * The check reads the raw values (a malformed one just matches no ACL).
	 */
	if (m->perm.user != API_PERM_WORLD && api_check_permissions(&call, &err) < 0) {
		log_info("permission denied for '%s' on %s %s: %s", auth.authid, verb, path,
		         err->msg);
		goto fail;
	}
	if (req->parse_error) {
		respond_error(resp, req->parse_error);
		goto out;
	}
	if (api_validate_params(m, params, &err) < 0)
		goto fail;

	if (m->flags & API_WEBSOCKET) {
		if (ws_check_upgrade(req, &ws, &err) < 0) {
			if (err->http_status == 426)
				http_response_add_header(resp, "Sec-WebSocket-Version: 13");
			goto fail;
		}
		call.ws = &ws;
	}

	json_t *data = NULL;
	int r = m->handler(&call, &data, &err);
	if (r >= 0 && call.upgrade_fd >= 0) {
		/* the http layer answers 101 and relays (docs/dev/HTTP.md) */
		json_decref(data);
		resp->status = 101;
		http_response_add_header(resp, "Sec-WebSocket-Accept: %s", ws.accept);
		if (ws.protocol)
			http_response_add_header(resp, "Sec-WebSocket-Protocol: %s", ws.protocol);
		resp->upgrade = true;
		resp->upgrade_fd = TAKE_FD(call.upgrade_fd);
		resp->upgrade_terminal = call.upgrade_terminal;
		if (call.authid && !resp->log_user)
			resp->log_user = xstrdup(call.authid);
		goto out;
	}
	if (call.upgrade_fd >= 0)
		close(call.upgrade_fd);
	if (r >= 0 && call.raw_body) {
		json_decref(data);
		http_response_set_body(resp, 200, call.raw_type, TAKE_PTR(call.raw_body),
		                       call.raw_len);
		if (call.authid && !resp->log_user)
			resp->log_user = xstrdup(call.authid);
		goto out;
	}
	free(call.raw_body);
	if (r >= 0 && (m->flags & API_ASYNC) && json_is_string(data))
		upid = xstrdup(json_string_value(data));
	/* the handler may have asked for a delay (failed login) or a log user */
	resp->delay_ms = call.delay_ms;
	if (call.authid && !resp->log_user)
		resp->log_user = xstrdup(call.authid);
	if (r < 0) {
		if (!err)
			error_set(&err, r, 500, "%s", strerror(-r));
		if (data) {
			/* a handler-provided body with its error (failed login: {"data":null}) */
			respond_json(resp, err->http_status, err->msg, data);
			json_decref(data);
			goto out;
		}
		goto fail;
	}
	json_t *body = json_object();
	json_object_set_new(body, "data", data ? data : json_null());
	if (call.total >= 0)
		json_object_set_new(body, "total", json_integer(call.total));
	respond_json(resp, 200, NULL, body);
	json_decref(body);
	goto out;

fail:
	respond_error(resp, err);
out:
	if (params)
		audit_request(ctx, m, req, verb, path, params, &auth, resp, upid);
	json_decref(params);
	auth_result_clear(&auth);
	access_db_unref(db);
}

void api_handle_request(const struct http_request *req, struct http_response *resp, void *userdata)
{
	dispatch(userdata, req, resp);
}
