/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "access.h"
#include "api.h"
#include "auth.h"
#include "dispatch-harness.h"
#include "error.h"
#include "fileio.h"
#include "guest.h"
#include "http-parse.h"
#include "http.h"
#include "node-stats.h"
#include "paths.h"
#include "strbuf.h"
#include "task.h"
#include "usercfg.h"
#include "xalloc.h"

#define MAX_VARS 16

static struct {
	char dir[64];
	struct ctvm_paths *paths;
	struct api_context ctx;
	char *var_names[MAX_VARS], *var_values[MAX_VARS];
	unsigned peer; /* each request from its own address: no shared login delay */
} g;

int dispatch_seed_root_token(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                             struct error **err)
{
	struct usercfg_token *t = NULL;
	int r = usercfg_add_token(cfg, "root@pam", "ci", &t, err);
	if (r < 0)
		return r;
	t->privsep = false; /* root's own rights */
	_cleanup_free_ char *secret = access_secrets_new_token(sec, "root@pam!ci");
	dispatch_set_var("SECRET", secret);
	return 0;
}

void dispatch_setup(const char *user_cfg, dispatch_seed_fn seed, void *arg)
{
	struct error *e = NULL;
	snprintf(g.dir, sizeof(g.dir), "/tmp/ctvm-dispatch-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	g.paths = ctvm_paths_new(g.dir);
	assert_int_equal(ctvm_paths_create(g.paths), 0);
	_cleanup_free_ char *ucfg = path_join(g.paths->etc, "user.cfg");
	assert_int_equal(write_file_atomic(ucfg, user_cfg, strlen(user_cfg), 0640, &e), 0);
	g.ctx.paths = g.paths;
	g.ctx.node = xstrdup("testnode");
	g.ctx.pam_service = xstrdup("ctvm");
	g.ctx.login_fail_delay_ms = 100;
	assert_int_equal(auth_keys_load(g.paths->etc, g.paths->priv, &g.ctx.keys, &e), 0);
	g.ctx.access = access_store_new(g.paths, &e);
	assert_non_null(g.ctx.access);
	if (seed && access_store_update(g.ctx.access, NULL, seed, arg, &e) < 0)
		fail_msg("seeding the access store: %s", e ? e->msg : "?");
	struct task_manager_config tc = {.node = "testnode", .dir = g.paths->tasks};
	g.ctx.tasks = task_manager_new(&tc, &e);
	assert_non_null(g.ctx.tasks);
	g.ctx.stats = node_stats_new("/", 1000);
	g.ctx.guests = guest_store_new(g.paths, "testnode", NULL);
	api_context_init(&g.ctx);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void dispatch_teardown(void)
{
	api_context_release(&g.ctx);
	node_stats_free(g.ctx.stats);
	guest_store_free(g.ctx.guests);
	task_manager_free(g.ctx.tasks);
	access_store_free(g.ctx.access);
	auth_keys_free(g.ctx.keys);
	free(g.ctx.node);
	free(g.ctx.pam_service);
	nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(g.paths);
	for (size_t i = 0; i < MAX_VARS; i++) {
		free(g.var_names[i]);
		free(g.var_values[i]);
	}
	memset(&g, 0, sizeof(g));
}

struct api_context *dispatch_context(void)
{
	return &g.ctx;
}

void dispatch_set_var(const char *name, const char *value)
{
	for (size_t i = 0; i < MAX_VARS; i++) {
		if (g.var_names[i] && !streq(g.var_names[i], name))
			continue;
		if (!g.var_names[i])
			g.var_names[i] = xstrdup(name);
		free(g.var_values[i]);
		g.var_values[i] = xstrdup(value);
		return;
	}
	fail_msg("too many variables");
}

const char *dispatch_var(const char *name)
{
	for (size_t i = 0; i < MAX_VARS && g.var_names[i]; i++)
		if (streq(g.var_names[i], name))
			return g.var_values[i];
	return NULL;
}

/* The value of one {KIND:arg} or {NODE} placeholder (malloc'd), or NULL. */
static char *placeholder(const char *key, size_t len)
{
	_cleanup_free_ char *k = xstrndup(key, len);
	time_t now = time(NULL);
	if (streq(k, "NODE"))
		return xstrdup(g.ctx.node);
	if (str_startswith(k, "T:"))
		return auth_ticket_create(g.ctx.keys, k + 2, now);
	if (str_startswith(k, "C:"))
		return auth_csrf_create(g.ctx.keys, k + 2, now);
	if (str_startswith(k, "V:")) {
		const char *v = dispatch_var(k + 2);
		return v ? xstrdup(v) : NULL;
	}
	return NULL;
}

char *dispatch_expand(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	while (*s) {
		const char *close = *s == '{' ? strchr(s, '}') : NULL;
		_cleanup_free_ char *v = close ? placeholder(s + 1, (size_t)(close - s - 1)) : NULL;
		if (v) {
			strbuf_addstr(&sb, v);
			s = close + 1;
		} else {
			strbuf_addch(&sb, *s++);
		}
	}
	char *out = strbuf_detach(&sb, NULL);
	char *len = strstr(out, "{LEN}");
	char *body = strstr(out, "\r\n\r\n");
	if (len && body) {
		char *fixed =
		    xasprintf("%.*s%zu%s", (int)(len - out), out, strlen(body + 4), len + 5);
		free(out);
		out = fixed;
	}
	return out;
}

int dispatch_run(const char *raw, char **ret_reason, char **ret_body)
{
	struct http_request *req = NULL;
	struct error *e = NULL;
	size_t used;
	if (http_request_parse(raw, strlen(raw), NULL, &req, &used, &e) < 0)
		fail_msg("request does not parse: %s\n%s", e ? e->msg : "?", raw);
	snprintf(req->peer_addr, sizeof(req->peer_addr), "192.0.2.%u", ++g.peer % 250 + 1);
	struct http_response resp = {0};
	api_handle_request(req, &resp, &g.ctx);
	int status = resp.status;
	if (ret_reason)
		*ret_reason = xstrdup(resp.reason ? resp.reason : http_status_text(resp.status));
	if (ret_body)
		*ret_body = xstrndup(resp.body ? resp.body : "", resp.body_len);
	http_response_release(&resp);
	http_request_free(req);
	return status;
}

/* Every key of want is in got with an equal value (recursively; arrays:
 * element-wise prefix). */
static bool json_subset(json_t *want, json_t *got)
{
	if (json_is_object(want)) {
		const char *k;
		json_t *v;
		json_object_foreach (want, k, v) {
			if (!json_subset(v, json_object_get(got, k)))
				return false;
		}
		return json_is_object(got);
	}
	if (json_is_array(want)) {
		size_t i;
		json_t *v;
		json_array_foreach (want, i, v) {
			if (!json_subset(v, json_array_get(got, i)))
				return false;
		}
		return json_is_array(got);
	}
	return json_equal(want, got);
}

void dispatch_run_cases(const struct dcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct dcase *c = &cases[i];
		_cleanup_free_ char *raw = dispatch_expand(c->request);
		_cleanup_free_ char *reason = NULL, *body = NULL;
		int status = dispatch_run(raw, &reason, &body);
		if (status != c->status)
			fail_msg("case %zu: status %d (%s), want %d; body %.300s\n%.300s", i,
			         status, reason, c->status, body, c->request);
		_cleanup_free_ char *want_reason = c->reason ? dispatch_expand(c->reason) : NULL;
		if (want_reason && !streq(reason, want_reason))
			fail_msg("case %zu: reason '%s', want '%s'", i, reason, want_reason);
		if (c->body && !c->body[0] && *body)
			fail_msg("case %zu: body should be empty, got %s", i, body);
		if (c->body && c->body[0]) {
			_cleanup_free_ char *wb = dispatch_expand(c->body);
			json_error_t je;
			json_t *want = json_loads(wb, 0, &je);
			if (!want)
				fail_msg("case %zu: bad expected body %s: %s", i, wb, je.text);
			json_t *got = json_loads(body, 0, &je);
			bool ok = got && json_subset(want, got);
			json_decref(want);
			json_decref(got);
			if (!ok)
				fail_msg("case %zu: body %s, want at least %s", i, body, wb);
		}
	}
}
