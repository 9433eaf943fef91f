/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "acl.h"
#include "error.h"
#include "strbuf.h"
#include "strv.h"
#include "usercfg.h"
#include "xalloc.h"

void acl_roles_clear(struct acl_roles *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->alloc = 0;
}

bool acl_roles_has(const struct acl_roles *r, const char *roleid)
{
	for (size_t i = 0; i < r->n; i++)
		if (streq(r->v[i].roleid, roleid))
			return true;
	return false;
}

/* Adds a role; when present already, its propagate bit is ORed. */
static void roles_add(struct acl_roles *r, const char *roleid, bool propagate)
{
	for (size_t i = 0; i < r->n; i++) {
		if (streq(r->v[i].roleid, roleid)) {
			r->v[i].propagate |= propagate;
			return;
		}
	}
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 8;
		r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
	}
	r->v[r->n].roleid = roleid;
	r->v[r->n].propagate = propagate;
	r->n++;
}

static void roles_move(struct acl_roles *dst, struct acl_roles *src)
{
	acl_roles_clear(dst);
	*dst = *src;
	*src = (struct acl_roles){0};
}

/* The ACL entries on exactly path: [*from, *to). */
static void acl_range(const struct usercfg *cfg, const char *path, size_t *from, size_t *to)
{
	size_t lo = 0, hi = cfg->n_acls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (acl_path_cmp(cfg->acls[mid]->path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < cfg->n_acls && streq(cfg->acls[end]->path, path))
		end++;
	*from = lo;
	*to = end;
}

/* What applies to subject at one node; true if anything did. */
static bool node_roles(const struct usercfg *cfg, const char *subject, const char *node, bool final,
                       struct acl_roles *ret)
{
	size_t from, to;
	acl_range(cfg, node, &from, &to);
	if (from == to)
		return false;
	static const enum acl_subject order[] = {ACL_SUBJECT_TOKEN, ACL_SUBJECT_USER};
	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		struct acl_roles r = {0};
		for (size_t i = from; i < to; i++) {
			const struct usercfg_acl *a = cfg->acls[i];
			if (a->type == order[o] && streq(a->ugid, subject) &&
			    (final || a->propagate))
				roles_add(&r, a->roleid, a->propagate);
		}
		if (r.n) {
			roles_move(ret, &r);
			return true;
		}
	}
	struct acl_roles r = {0};
	for (size_t i = from; i < to; i++) {
		const struct usercfg_acl *a = cfg->acls[i];
		if (a->type != ACL_SUBJECT_GROUP || !(final || a->propagate))
			continue;
		const struct usercfg_group *g = usercfg_find_group(cfg, a->ugid);
		if (g && usercfg_group_has_member(g, subject))
			roles_add(&r, a->roleid, a->propagate);
	}
	if (r.n) {
		roles_move(ret, &r);
		return true;
	}
	return false;
}

/* PVE's walk in roles(): components of split("/", path) (trailing empty
 * ones dropped; "/" is one empty component), empty ones stay on the node. */
static void walk_roles(const struct usercfg *cfg, const char *subject, const char *path,
                       struct acl_roles *ret)
{
	/* fields of split("/", path) without the trailing empty ones */
	size_t len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	if (len == 0 && !streq(path, "/"))
		return;
	struct strbuf node = STRBUF_INIT;
	const char *s = path, *stop = path + len;
	for (;;) {
		const char *end = s;
		while (end < stop && *end != '/')
			end++;
		bool final = end >= stop;
		if (end > s) {
			strbuf_addch(&node, '/');
			strbuf_add(&node, s, (size_t)(end - s));
		}
		node_roles(cfg, subject, node.len ? node.buf : "/", final, ret);
		if (final)
			break;
		s = end + 1;
	}
	strbuf_release(&node);
	for (size_t i = 0; i < ret->n; i++) {
		if (streq(ret->v[i].roleid, "NoAccess")) {
			struct acl_roles na = {0};
			roles_add(&na, ret->v[i].roleid, ret->v[i].propagate);
			roles_move(ret, &na);
			break;
		}
	}
}

int access_roles(const struct usercfg *cfg, const char *authid, const char *path,
                 struct acl_roles *ret)
{
	acl_roles_clear(ret);
	if (streq(authid, "root@pam")) {
		roles_add(ret, "Administrator", true);
		return 1;
	}
	if (!path)
		return 0;
	_cleanup_free_ char *userid = NULL, *name = NULL;
	if (usercfg_split_tokenid(authid, &userid, &name)) {
		const struct usercfg_token *t = usercfg_find_token(cfg, userid, name);
		if (!t)
			return 0;
		if (!t->privsep)
			return access_roles(cfg, userid, path, ret);
	}
	walk_roles(cfg, authid, path, ret);
	return (int)ret->n;
}

/* Roles subject gets on path through the pools holding the vm or storage. */
static void pool_roles(const struct usercfg *cfg, const char *subject, const char *path,
                       struct acl_roles *ret)
{
	const char *id;
	bool vm;
	if (str_startswith(path, "/vms/"))
		vm = true, id = path + 5;
	else if (str_startswith(path, "/storage/"))
		vm = false, id = path + 9;
	else
		return;
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct usercfg_pool *p = cfg->pools[i];
		bool member = false;
		char *const *v = vm ? p->vms : p->storage;
		size_t n = vm ? p->n_vms : p->n_storage;
		for (size_t k = 0; k < n && !member; k++)
			member = streq(v[k], id);
		if (!member)
			continue;
		_cleanup_free_ char *pp = xasprintf("/pool/%s", p->poolid);
		struct acl_roles pr = {0};
		access_roles(cfg, subject, pp, &pr);
		for (size_t k = 0; k < pr.n; k++)
			roles_add(ret, pr.v[k].roleid, true);
		acl_roles_clear(&pr);
	}
}

/* RPCEnvironment's compile_acl_path for a user or a privsep token id. */
static struct privset compile(const struct usercfg *cfg, const char *subject, const char *path)
{
	struct acl_roles roles = {0}, pr = {0};
	walk_roles(cfg, subject, path, &roles);
	pool_roles(cfg, subject, path, &pr);
	if (pr.n && !acl_roles_has(&roles, "NoAccess")) {
		if (acl_roles_has(&pr, "NoAccess")) {
			struct acl_roles na = {0};
			roles_add(&na, "NoAccess", false);
			roles_move(&roles, &na);
		} else {
			for (size_t i = 0; i < pr.n; i++)
				if (!acl_roles_has(&roles, pr.v[i].roleid))
					roles_add(&roles, pr.v[i].roleid, false);
		}
	}
	struct privset ps = PRIVSET_EMPTY;
	for (size_t i = 0; i < roles.n; i++) {
		uint64_t bits;
		if (!usercfg_role_privs(cfg, roles.v[i].roleid, &bits))
			continue;
		ps.set |= bits;
		if (roles.v[i].propagate)
			ps.propagate |= bits;
	}
	acl_roles_clear(&roles);
	acl_roles_clear(&pr);
	return ps;
}

void access_permissions(const struct usercfg *cfg, const char *authid, const char *path,
                        struct privset *ret)
{
	*ret = PRIVSET_EMPTY;
	if (streq(authid, "root@pam")) {
		ret->set = ret->propagate = (UINT64_C(1) << PRIV_COUNT) - 1;
		return;
	}
	if (!path)
		return;
	_cleanup_free_ char *userid = NULL, *name = NULL;
	if (usercfg_split_tokenid(authid, &userid, &name)) {
		const struct usercfg_token *t = usercfg_find_token(cfg, userid, name);
		if (!t)
			return;
		struct privset user;
		access_permissions(cfg, userid, path, &user);
		if (!t->privsep) {
			*ret = user;
			return;
		}
		*ret = privset_intersect(compile(cfg, authid, path), user);
		return;
	}
	if (!usercfg_verify_userid(authid, NULL, NULL))
		return;
	*ret = compile(cfg, authid, path);
}

bool access_check(const struct usercfg *cfg, const char *authid, const char *path, const char *priv)
{
	int i = priv_lookup(priv);
	if (i < 0)
		return false;
	struct privset ps;
	access_permissions(cfg, authid, path, &ps);
	return privset_has(&ps, i);
}

bool access_check_privs(const struct usercfg *cfg, const char *authid, const char *path,
                        const char *const *privs, bool any)
{
	struct privset ps;
	access_permissions(cfg, authid, path, &ps);
	bool all = true, some = false;
	for (; privs && *privs; privs++) {
		bool has = privset_has(&ps, priv_lookup(*privs));
		all &= has;
		some |= has;
	}
	return any ? some : all;
}

static json_t *privset_json(const struct privset *ps)
{
	json_t *o = json_object();
	for (int i = 0; i < PRIV_COUNT; i++)
		if (privset_has(ps, i))
			json_object_set_new(o, priv_name(i),
			                    json_integer(privset_propagates(ps, i) ? 1 : 0));
	return o;
}

struct pathset {
	char **v;
	size_t n, alloc;
};

static void pathset_add(struct pathset *s, const char *path, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && strncmp(s->v[i], path, len) == 0)
			return;
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 16;
		s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
	}
	s->v[s->n++] = xstrndup(path, len);
}

static void pathset_clear(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int cmp_path(const void *a, const void *b)
{
	return acl_path_cmp(*(char *const *)a, *(char *const *)b);
}

/* Every node of PVE's ACL tree: each ACL path and its ancestors. */
static void add_tree_nodes(const struct usercfg *cfg, struct pathset *s)
{
	for (size_t i = 0; i < cfg->n_acls; i++) {
		if (i > 0 && streq(cfg->acls[i]->path, cfg->acls[i - 1]->path))
			continue;
		const char *p = cfg->acls[i]->path;
		pathset_add(s, "/", 1);
		for (const char *q = p + 1; *q; q++)
			if (*q == '/')
				pathset_add(s, p, (size_t)(q - p));
		if (strlen(p) > 1)
			pathset_add(s, p, strlen(p));
	}
}

json_t *access_permissions_json(const struct usercfg *cfg, const char *authid, const char *path)
{
	json_t *res = json_object();
	struct privset ps;
	if (path && *path) {
		access_permissions(cfg, authid, path, &ps);
		json_object_set_new(res, path, privset_json(&ps));
		return res;
	}
	static const char *const fixed[] = {"/",     "/access", "/access/groups", "/nodes",
	                                    "/pool", "/sdn",    "/storage",       "/vms"};
	struct pathset s = {0};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		pathset_add(&s, fixed[i], strlen(fixed[i]));
	add_tree_nodes(cfg, &s);
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct usercfg_pool *p = cfg->pools[i];
		for (size_t k = 0; k < p->n_vms; k++) {
			_cleanup_free_ char *v = xasprintf("/vms/%s", p->vms[k]);
			pathset_add(&s, v, strlen(v));
		}
		for (size_t k = 0; k < p->n_storage; k++) {
			_cleanup_free_ char *v = xasprintf("/storage/%s", p->storage[k]);
			pathset_add(&s, v, strlen(v));
		}
	}
	qsort(s.v, s.n, sizeof(*s.v), cmp_path);
	for (size_t i = 0; i < s.n; i++) {
		access_permissions(cfg, authid, s.v[i], &ps);
		if (!privset_is_empty(&ps))
			json_object_set_new(res, s.v[i], privset_json(&ps));
	}
	pathset_clear(&s);
	return res;
}

static bool valid_authid(const char *id)
{
	return usercfg_verify_userid(id, NULL, NULL) || usercfg_split_tokenid(id, NULL, NULL);
}

int access_permissions_query(const struct usercfg *cfg, const char *caller, const char *userid,
                             const char *path, json_t **ret, struct error **err)
{
	if (!userid)
		userid = caller;
	if (!valid_authid(userid))
		return error_param(err, "userid", "value does not match the regex pattern");
	_cleanup_free_ char *owner = NULL;
	usercfg_split_tokenid(userid, &owner, NULL);
	bool self = streq(userid, caller);
	bool owned_token = owner && streq(owner, caller);
	if (!self && !owned_token && !access_check(cfg, caller, "/access", "Sys.Audit"))
		return error_set(err, -EACCES, 403, "Permission check failed (/access, Sys.Audit)");
	*ret = access_permissions_json(cfg, userid, path);
	return 0;
}

json_t *acl_cap_json(const struct usercfg *cfg, const char *authid)
{
	static const struct {
		const char *bucket;
		const char *prefixes[4];
	} buckets[] = {
	    {"vms", {"VM.", "Permissions.Modify"}},
	    {"access", {"User.", "Group.", "Permissions.Modify"}},
	    {"storage", {"Datastore.", "Permissions.Modify"}},
	    {"nodes", {"Sys.", "Permissions.Modify"}},
	    {"sdn", {"SDN.", "Permissions.Modify"}},
	    {"dc", {"Sys.Audit", "Sys.Modify", "SDN."}},
	    {"mapping", {"Mapping.", "Permissions.Modify"}},
	};
	static const char *const required[] = {"/",        "/nodes", "/access/groups", "/vms",
	                                       "/storage", "/sdn",   "/mapping"};
	json_t *res = json_object();
	for (size_t b = 0; b < ARRAY_SIZE(buckets); b++)
		json_object_set_new(res, buckets[b].bucket, json_object());

	struct pathset s = {0};
	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		pathset_add(&s, required[i], strlen(required[i]));
	add_tree_nodes(cfg, &s);
	for (size_t i = 0; i < s.n; i++) {
		const char *path = s.v[i];
		struct privset ps;
		access_permissions(cfg, authid, path, &ps);
		/* the top level: ^/(\w+), else "dc" */
		char top[64] = "dc";
		size_t n = 0;
		while (path[1 + n] && n < sizeof(top) - 1 &&
		       ((path[1 + n] >= 'a' && path[1 + n] <= 'z') ||
		        (path[1 + n] >= 'A' && path[1 + n] <= 'Z') ||
		        (path[1 + n] >= '0' && path[1 + n] <= '9') || path[1 + n] == '_'))
			n++;
		if (n) {
			memcpy(top, path + 1, n);
			top[n] = '\0';
		}
		for (int p = 0; p < PRIV_COUNT; p++) {
			if (!privset_has(&ps, p))
				continue;
			const char *priv = priv_name(p);
			if (streq(top, "pool")) {
				if (str_startswith(priv, "VM.") ||
				    streq(priv, "Permissions.Modify"))
					json_object_set_new(json_object_get(res, "vms"), priv,
					                    json_integer(1));
				if (str_startswith(priv, "Datastore.") ||
				    streq(priv, "Permissions.Modify"))
					json_object_set_new(json_object_get(res, "storage"), priv,
					                    json_integer(1));
				continue;
			}
			for (size_t b = 0; b < ARRAY_SIZE(buckets); b++) {
				if (!streq(buckets[b].bucket, top))
					continue;
				for (size_t k = 0; buckets[b].prefixes[k]; k++)
					if (str_startswith(priv, buckets[b].prefixes[k]))
						json_object_set_new(json_object_get(res, top), priv,
						                    json_integer(1));
			}
		}
	}
	pathset_clear(&s);
	return res;
}

/* PVE::Tools::split_list into a NULL-terminated vector of copies. */
static char **split_list(const char *list)
{
	return strv_split(list, ",; \t\r\n");
}

bool access_check_userid_group(const struct usercfg *cfg, const char *authid, const char *userid,
                               const char *groups, const char *const *privs,
                               const char *groups_param)
{
	bool check_existing = !groups_param || !streq(groups_param, "create");
	if (check_existing && (!userid || !usercfg_find_user(cfg, userid)))
		return false;
	if (access_check_privs(cfg, authid, "/access/groups", privs, true))
		return true;
	if (groups_param) {
		char **list = split_list(groups);
		/* a new user needs a group the caller administers; an update
		 * without groups changes no membership (see acl.h) */
		bool ok = list[0] != NULL || streq(groups_param, "update");
		for (size_t i = 0; ok && list[i]; i++) {
			_cleanup_free_ char *path = xasprintf("/access/groups/%s", list[i]);
			ok = usercfg_find_group(cfg, list[i]) &&
			     access_check_privs(cfg, authid, path, privs, true);
		}
		strv_free(list);
		if (!ok)
			return false;
	}
	if (check_existing) {
		for (size_t i = 0; i < cfg->n_groups; i++) {
			const struct usercfg_group *g = cfg->groups[i];
			if (!usercfg_group_has_member(g, userid))
				continue;
			_cleanup_free_ char *path = xasprintf("/access/groups/%s", g->groupid);
			if (access_check_privs(cfg, authid, path, privs, true))
				return true;
		}
		return false;
	}
	return true;
}
