/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST/PUT /storage through the choke point: the keys that place a storage
 * on the host (storage-config's root_only flag) are root@pam's alone, and no
 * one may put a storage in a system directory.
 *
 * The subjects are generated, not listed: a pve user for every built-in role
 * (privileges.c) granted on '/', and the API tokens (root@pam's own with and
 * without privilege separation, an Administrator's with and without).  The
 * keys come from the storage.cfg schema's flag, for every storage type.
 */
#include "common.h"

#include <ctype.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "access.h"
#include "api.h"
#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "http-parse.h"
#include "http.h"
#include "node-stats.h"
#include "paths.h"
#include "privileges.h"
#include "section-config.h"
#include "storage-config.h"
#include "strbuf.h"
#include "task.h"
#include "usercfg.h"
#include "xalloc.h"

#define MAX_SUBJECTS 64

/* Who sends a request: a ticket (with its CSRF token) or an API token. */
struct subject {
	char *name; /* for messages: the userid or token id */
	char *ticket, *csrf;
	char *token;   /* "user@realm!name=secret" */
	bool allocate; /* holds Datastore.Allocate on '/' (from the role table) */
};

static struct {
	char dir[64];
	struct ctvm_paths *paths;
	struct api_context ctx;
	struct subject root;
	struct subject subj[MAX_SUBJECTS];
	size_t n_subj;
	/* secrets made inside the access update, by token id */
	char *secret[8];
	size_t n_secret;
} g;

static const char *const token_ids[] = {"root@pam!sep", "root@pam!full", "u-Administrator@pve!sep",
                                        "u-Administrator@pve!full"};

static char *role_user(const char *role)
{
	return xasprintf("u-%s@pve", role);
}

static int add_subjects(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                        struct error **err)
{
	(void)arg;
	for (size_t i = 0; i < special_role_count(); i++) {
		const char *role = special_role_get(i)->name;
		_cleanup_free_ char *uid = role_user(role);
		struct usercfg_user *u;
		int r = usercfg_add_user(cfg, uid, &u, err);
		if (r < 0)
			return r;
		u->enable = true;
		r = usercfg_acl_set(cfg, "/", ACL_SUBJECT_USER, uid, role, true, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(token_ids); i++) {
		const char *bang = strchr(token_ids[i], '!');
		_cleanup_free_ char *uid = xstrndup(token_ids[i], (size_t)(bang - token_ids[i]));
		struct usercfg_token *t;
		int r = usercfg_add_token(cfg, uid, bang + 1, &t, err);
		if (r < 0)
			return r;
		t->privsep = streq(bang + 1, "sep");
		/* a separated token gets the most a token can: Administrator */
		if (t->privsep) {
			r = usercfg_acl_set(cfg, "/", ACL_SUBJECT_TOKEN, token_ids[i],
			                    "Administrator", true, err);
			if (r < 0)
				return r;
		}
		g.secret[g.n_secret++] = access_secrets_new_token(sec, token_ids[i]);
	}
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	(void)state;
	struct error *e = NULL;
	snprintf(g.dir, sizeof(g.dir), "/tmp/ctvm-hostpath-api-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	g.paths = ctvm_paths_new(g.dir);
	assert_int_equal(ctvm_paths_create(g.paths), 0);
	g.ctx.paths = g.paths;
	g.ctx.node = xstrdup("testnode");
	g.ctx.pam_service = xstrdup("ctvm");
	g.ctx.login_fail_delay_ms = 100;
	assert_int_equal(auth_keys_load(g.paths->etc, g.paths->priv, &g.ctx.keys, &e), 0);
	g.ctx.access = access_store_new(g.paths, &e);
	assert_non_null(g.ctx.access);
	assert_int_equal(access_store_update(g.ctx.access, NULL, add_subjects, NULL, &e), 0);
	g.ctx.storage = storage_config_store_new(g.paths);
	struct task_manager_config tc = {.node = "testnode", .dir = g.paths->tasks};
	g.ctx.tasks = task_manager_new(&tc, &e);
	assert_non_null(g.ctx.tasks);
	g.ctx.stats = node_stats_new("/", 1000);
	api_context_init(&g.ctx);

	time_t now = time(NULL);
	g.root.name = xstrdup("root@pam");
	g.root.ticket = auth_ticket_create(g.ctx.keys, "root@pam", now);
	g.root.csrf = auth_csrf_create(g.ctx.keys, "root@pam", now);
	int alloc = priv_lookup("Datastore.Allocate");
	assert_true(alloc >= 0);
	for (size_t i = 0; i < special_role_count(); i++) {
		struct subject *s = &g.subj[g.n_subj++];
		s->name = role_user(special_role_get(i)->name);
		s->allocate = (special_role_get(i)->privs >> alloc) & 1;
		s->ticket = auth_ticket_create(g.ctx.keys, s->name, now);
		s->csrf = auth_csrf_create(g.ctx.keys, s->name, now);
	}
	for (size_t i = 0; i < ARRAY_SIZE(token_ids); i++) {
		struct subject *s = &g.subj[g.n_subj++];
		s->name = xstrdup(token_ids[i]);
		s->token = xasprintf("%s=%s", token_ids[i], g.secret[i]);
		s->allocate = true; /* root's, or an Administrator's */
	}
	assert_true(g.n_subj <= MAX_SUBJECTS);
	return 0;
}

static void subject_clear(struct subject *s)
{
	free(s->name);
	free(s->ticket);
	free(s->csrf);
	free(s->token);
}

static int teardown(void **state)
{
	(void)state;
	api_context_release(&g.ctx);
	node_stats_free(g.ctx.stats);
	task_manager_free(g.ctx.tasks);
	storage_config_store_free(g.ctx.storage);
	access_store_free(g.ctx.access);
	auth_keys_free(g.ctx.keys);
	free(g.ctx.node);
	free(g.ctx.pam_service);
	subject_clear(&g.root);
	for (size_t i = 0; i < g.n_subj; i++)
		subject_clear(&g.subj[i]);
	for (size_t i = 0; i < g.n_secret; i++)
		free(g.secret[i]);
	nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(g.paths);
	return 0;
}

/* --- requests --- */

struct answer {
	int status;
	char reason[256];
	json_t *body;
};

static void urlencode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-_.~/", c))
			strbuf_addch(sb, (char)c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

/* form: "k", "v", "k", "v", ..., NULL.  as NULL: root@pam on the local
 * socket (peer uid 0). */
static struct answer send_form(const struct subject *as, const char *verb, const char *path,
                               const char *const *form)
{
	struct strbuf body = STRBUF_INIT, raw = STRBUF_INIT;
	for (size_t i = 0; form && form[i]; i += 2) {
		if (i)
			strbuf_addch(&body, '&');
		urlencode(&body, form[i]);
		strbuf_addch(&body, '=');
		urlencode(&body, form[i + 1]);
	}
	strbuf_addf(&raw, "%s /api2/json%s HTTP/1.1\r\n", verb, path);
	if (as && as->ticket)
		strbuf_addf(&raw, "Cookie: PVEAuthCookie=%s\r\nCSRFPreventionToken: %s\r\n",
		            as->ticket, as->csrf);
	else if (as)
		strbuf_addf(&raw, "Authorization: PVEAPIToken=%s\r\n", as->token);
	if (form)
		strbuf_addf(&raw,
		            "Content-Type: application/x-www-form-urlencoded\r\n"
		            "Content-Length: %zu\r\n",
		            body.len);
	strbuf_addf(&raw, "\r\n%s", body.len ? body.buf : "");
	struct http_request *req = NULL;
	struct error *e = NULL;
	size_t used;
	if (http_request_parse(raw.buf, raw.len, NULL, &req, &used, &e) < 0)
		fail_msg("request does not parse: %s", e ? e->msg : "?");
	if (as)
		snprintf(req->peer_addr, sizeof(req->peer_addr), "127.0.0.1");
	else {
		req->local_socket = true;
		req->has_peer_cred = true;
		req->peer_uid = 0;
		snprintf(req->peer_addr, sizeof(req->peer_addr), "unix");
	}
	struct http_response resp = {0};
	api_handle_request(req, &resp, &g.ctx);
	struct answer a = {.status = resp.status};
	snprintf(a.reason, sizeof(a.reason), "%s",
	         resp.reason ? resp.reason : http_status_text(resp.status));
	json_error_t je;
	a.body = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &je);
	http_response_release(&resp);
	http_request_free(req);
	strbuf_release(&body);
	strbuf_release(&raw);
	return a;
}

static void answer_release(struct answer *a)
{
	json_decref(a->body);
}

#define FORM(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --- the keys, from the schema --- */

/* A valid value for key, so that root@pam's requests succeed.  A new
 * root_only key needs a row here (the test says so). */
static char *value_for(const char *type, const struct section_prop *p)
{
	if (p->prop->type == CONF_TYPE_BOOLEAN)
		return xstrdup("1");
	if (streq(p->prop->name, "path"))
		return xasprintf("%s/srv/%s", g.dir, type);
	if (streq(p->prop->name, "mountpoint"))
		return xasprintf("%s/srv/%s-mnt", g.dir, type);
	static const char *const fixed[][2] = {
	    {"content-dirs", "iso=isos,backup=dumps"},
	    {"is_mountpoint", "no"},
	    {"vgname", "vg0"},
	    {"thinpool", "data"},
	    {"pool", "tank/vm"},
	    {"base", "iscsi0:0.0.1.scsi-lun1"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (streq(p->prop->name, fixed[i][0]))
			return xstrdup(fixed[i][1]);
	fail_msg("no test value for root_only key '%s' of %s: add one to value_for()",
	         p->prop->name, type);
	return NULL;
}

static char *store_id(const char *type)
{
	return xasprintf("h-%s", type);
}

/* root@pam creates one storage of each type with its required keys, for the
 * PUT cases. */
static void create_stores(void)
{
	const struct section_schema *sc = storage_schema();
	for (size_t t = 0; t < sc->n_types; t++) {
		const struct section_type *ty = &sc->types[t];
		_cleanup_free_ char *id = store_id(ty->type);
		const char *form[32] = {"storage", id, "type", ty->type};
		char *vals[16] = {0};
		size_t n = 4, nv = 0;
		/* the host has no such VG, pool or btrfs: an enabled one would be
		 * refused by its backend's check, which is not what is tested here */
		if (!streq(ty->type, "dir")) {
			form[n++] = "disable";
			form[n++] = "1";
		}
		for (size_t k = 0; k < ty->n_props; k++)
			if (!ty->props[k].optional) {
				vals[nv] = value_for(ty->type, &ty->props[k]);
				form[n++] = ty->props[k].prop->name;
				form[n++] = vals[nv++];
			}
		struct answer a = send_form(&g.root, "POST", "/storage", form);
		if (a.status != 200)
			fail_msg("root@pam: create %s: %d %s", id, a.status, a.reason);
		answer_release(&a);
		for (size_t i = 0; i < nv; i++)
			free(vals[i]);
	}
}

/* Everyone but root@pam is refused every root_only key of every type, on
 * create, on update and in delete=; those who may change a storage at all
 * (Datastore.Allocate) are refused with the root@pam reason. */
static void test_refused_for_everyone_else(void **state)
{
	(void)state;
	create_stores();
	size_t holders = 0, keys = 0;
	for (size_t i = 0; i < g.n_subj; i++) {
		const struct subject *s = &g.subj[i];
		/* the control: a key that is not the host's, which whoever holds
		 * Datastore.Allocate may change */
		struct answer a = send_form(s, "PUT", "/storage/h-dir", FORM("comment", "c"));
		if (a.status != (s->allocate ? 200 : 403))
			fail_msg("%s: PUT comment: %d %s", s->name, a.status, a.reason);
		holders += s->allocate;
		answer_release(&a);
	}
	/* at least Administrator, PVEAdmin, PVEDatastoreAdmin and the tokens */
	assert_true(holders >= 3 + ARRAY_SIZE(token_ids));

	const struct section_schema *sc = storage_schema();
	for (size_t t = 0; t < sc->n_types; t++) {
		const struct section_type *ty = &sc->types[t];
		_cleanup_free_ char *id = store_id(ty->type);
		_cleanup_free_ char *put = xasprintf("/storage/%s", id);
		for (size_t k = 0; k < ty->n_props; k++) {
			const struct section_prop *p = &ty->props[k];
			if (!(p->prop->flags & CONF_PROP_ROOT_ONLY))
				continue;
			keys++;
			_cleanup_free_ char *v = value_for(ty->type, p);
			_cleanup_free_ char *want_set = xasprintf(
			    "Permission check failed (only root@pam may set storage property '%s')",
			    p->prop->name);
			_cleanup_free_ char *want_del =
			    xasprintf("Permission check failed (only root@pam may delete storage "
			              "property '%s')",
			              p->prop->name);
			for (size_t i = 0; i < g.n_subj; i++) {
				const struct subject *s = &g.subj[i];
				struct answer a[3] = {
				    send_form(
				        s, "POST", "/storage",
				        FORM("storage", "new", "type", ty->type, p->prop->name, v)),
				    send_form(s, "PUT", put, FORM(p->prop->name, v)),
				    send_form(s, "PUT", put, FORM("delete", p->prop->name)),
				};
				const char *want[3] = {want_set, want_set, want_del};
				for (int j = 0; j < 3; j++) {
					if (a[j].status != 403 ||
					    (s->allocate && !streq(a[j].reason, want[j])))
						fail_msg("%s, %s '%s' (request %d): %d %s", s->name,
						         ty->type, p->prop->name, j, a[j].status,
						         a[j].reason);
					answer_release(&a[j]);
				}
			}
		}
	}
	assert_true(keys >= 17);
	/* nothing was created */
	struct answer a = send_form(&g.root, "GET", "/storage/new", NULL);
	assert_int_equal(a.status, 500);
	answer_release(&a);
}

/* root@pam (a ticket, and the local socket) sets and deletes each of them. */
static void test_root_may(void **state)
{
	(void)state;
	const struct section_schema *sc = storage_schema();
	for (size_t t = 0; t < sc->n_types; t++) {
		const struct section_type *ty = &sc->types[t];
		_cleanup_free_ char *id = xasprintf("r-%s", ty->type);
		const char *form[64] = {"storage", id, "type", ty->type};
		char *vals[32] = {0};
		size_t n = 4, nv = 0;
		if (!streq(ty->type, "dir")) { /* as in create_stores() */
			form[n++] = "disable";
			form[n++] = "1";
		}
		for (size_t k = 0; k < ty->n_props; k++)
			if (ty->props[k].prop->flags & CONF_PROP_ROOT_ONLY) {
				vals[nv] = value_for(ty->type, &ty->props[k]);
				form[n++] = ty->props[k].prop->name;
				form[n++] = vals[nv++];
			}
		struct answer a = send_form(&g.root, "POST", "/storage", form);
		if (a.status != 200)
			fail_msg("root@pam: create %s with every host key: %d %s %s", id, a.status,
			         a.reason, json_dumps(a.body, 0));
		answer_release(&a);
		_cleanup_free_ char *put = xasprintf("/storage/%s", id);
		for (size_t k = 0; k < ty->n_props; k++) {
			const struct section_prop *p = &ty->props[k];
			if (!(p->prop->flags & CONF_PROP_ROOT_ONLY) || p->fixed)
				continue;
			for (int local = 0; local < 2; local++) {
				const struct subject *as = local ? NULL : &g.root;
				a = send_form(as, "PUT", put, FORM("delete", p->prop->name));
				if (a.status != 200)
					fail_msg("root@pam: delete %s of %s: %d %s", p->prop->name,
					         id, a.status, a.reason);
				answer_release(&a);
				_cleanup_free_ char *v = value_for(ty->type, p);
				a = send_form(as, "PUT", put, FORM(p->prop->name, v));
				if (a.status != 200)
					fail_msg("root@pam: set %s of %s: %d %s", p->prop->name, id,
					         a.status, a.reason);
				answer_release(&a);
			}
		}
		for (size_t i = 0; i < nv; i++)
			free(vals[i]);
	}
}

/* The system directories are refused to root@pam too (400, errors.path),
 * and overlapping content directories (errors.content-dirs).  disable=1:
 * without the check nothing would be created on the host, only written to
 * the test's storage.cfg. */
static void test_system_dirs_refused_to_root(void **state)
{
	(void)state;
	_cleanup_free_ char *own = xasprintf("%s/isos", g.paths->etc);
	_cleanup_free_ char *state_dir = xasprintf("%s/../lib", g.paths->etc);
	_cleanup_free_ char *srv = xasprintf("%s/srv/cd", g.dir);
	static const char *const sys[] = {"/",      "/etc",    "/srv/../etc", "//usr/lib",
	                                  "/lib64", "/boot",   "/run/ctvm",   "/proc/1",
	                                  "/sys",   "/dev/shm"};
	struct sys_case {
		const char *path, *dirs, *param;
	} cases[ARRAY_SIZE(sys) + 5];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(sys); i++)
		cases[n++] = (struct sys_case){sys[i], NULL, "path"};
	/* the report: /etc with iso=logrotate.d */
	cases[n++] = (struct sys_case){"/etc", "iso=logrotate.d", "path"};
	/* the daemon's config root and (through "..") its state */
	cases[n++] = (struct sys_case){own, NULL, "path"};
	cases[n++] = (struct sys_case){state_dir, NULL, "path"};
	/* content directories inside another type's (a default one) */
	cases[n++] = (struct sys_case){srv, "iso=images/iso", "content-dirs"};
	cases[n++] = (struct sys_case){srv, "vztmpl=dump/t", "content-dirs"};
	for (size_t i = 0; i < n; i++) {
		const char *form[16] = {"storage", "sys",         "type",    "dir",
		                        "path",    cases[i].path, "disable", "1"};
		if (cases[i].dirs) {
			form[8] = "content-dirs";
			form[9] = cases[i].dirs;
		}
		struct answer a = send_form(&g.root, "POST", "/storage", form);
		json_t *why = json_object_get(json_object_get(a.body, "errors"), cases[i].param);
		if (a.status != 400 || !json_is_string(why))
			fail_msg("root@pam: path '%s' content-dirs '%s': %d %s", cases[i].path,
			         cases[i].dirs ? cases[i].dirs : "-", a.status, a.reason);
		answer_release(&a);
	}
	struct answer a = send_form(&g.root, "GET", "/storage/sys", NULL);
	assert_int_equal(a.status, 500);
	answer_release(&a);
	/* the implicit local storage's directory is not a system directory */
	_cleanup_free_ char *vz = xasprintf("%s/vz", g.paths->state);
	a = send_form(&g.root, "POST", "/storage",
	              FORM("storage", "vz2", "type", "dir", "path", vz, "content", "iso"));
	assert_int_equal(a.status, 200);
	answer_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_for_everyone_else),
	    cmocka_unit_test(test_root_may),
	    cmocka_unit_test(test_system_dirs_refused_to_root),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
