/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <inttypes.h>
#include <stdarg.h>

#include "error.h"
#include "privileges.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

/* --- sorted pointer arrays --- */

/*
 * Every model struct starts with its id (char *), so one lower-bound search
 * serves users, tokens, groups, pools and roles; string sets (members, vms,
 * storage) hold the strings themselves.
 */
static const char *key_of(void *elem, bool is_str)
{
	return is_str ? (const char *)elem : *(char **)elem;
}

static size_t lower_bound(void *const *v, size_t n, const char *key, bool is_str, bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(key_of(v[mid], is_str), key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && streq(key_of(v[lo], is_str), key);
	return lo;
}

static void array_insert(void ***v, size_t *n, size_t idx, void *elem)
{
	/* grow in powers of two: n is the only size we keep */
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;
		*v = xrealloc(*v, cap * sizeof(**v));
	}
	memmove(*v + idx + 1, *v + idx, (*n - idx) * sizeof(**v));
	(*v)[idx] = elem;
	(*n)++;
}

static void *array_take(void **v, size_t *n, size_t idx)
{
	void *e = v[idx];
	memmove(v + idx, v + idx + 1, (*n - idx - 1) * sizeof(*v));
	(*n)--;
	return e;
}

static void *obj_find(void *const *v, size_t n, const char *key)
{
	bool found;
	size_t i = lower_bound(v, n, key, false, &found);
	return found ? v[i] : NULL;
}

/* Adds s to a sorted string set; false if it was there. */
static bool strset_add(char ***v, size_t *n, const char *s)
{
	bool found;
	size_t i = lower_bound((void **)*v, *n, s, true, &found);
	if (found)
		return false;
	array_insert((void ***)v, n, i, xstrdup(s));
	return true;
}

static bool strset_has(char *const *v, size_t n, const char *s)
{
	bool found;
	lower_bound((void *const *)v, n, s, true, &found);
	return found;
}

static bool strset_remove(char **v, size_t *n, const char *s)
{
	bool found;
	size_t i = lower_bound((void **)v, *n, s, true, &found);
	if (!found)
		return false;
	free(array_take((void **)v, n, i));
	return true;
}

static void strset_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- lifecycle --- */

static struct usercfg_token *token_free(struct usercfg_token *t)
{
	if (t) {
		free(t->name);
		free(t->comment);
		free(t);
	}
	return NULL;
}

static void user_clear_fields(struct usercfg_user *u)
{
	free(u->firstname);
	free(u->lastname);
	free(u->email);
	free(u->comment);
	free(u->keys);
	u->firstname = u->lastname = u->email = u->comment = u->keys = NULL;
	for (size_t i = 0; i < u->n_tokens; i++)
		token_free(u->tokens[i]);
	free(u->tokens);
	u->tokens = NULL;
	u->n_tokens = 0;
}

static struct usercfg_user *user_free(struct usercfg_user *u)
{
	if (u) {
		user_clear_fields(u);
		free(u->userid);
		free(u);
	}
	return NULL;
}

static struct usercfg_group *group_free(struct usercfg_group *g)
{
	if (g) {
		free(g->groupid);
		free(g->comment);
		strset_free(g->members, g->n_members);
		free(g);
	}
	return NULL;
}

static struct usercfg_pool *pool_free(struct usercfg_pool *p)
{
	if (p) {
		free(p->poolid);
		free(p->comment);
		strset_free(p->vms, p->n_vms);
		strset_free(p->storage, p->n_storage);
		free(p);
	}
	return NULL;
}

static struct usercfg_role *role_free(struct usercfg_role *r)
{
	if (r) {
		free(r->roleid);
		free(r);
	}
	return NULL;
}

static struct usercfg_acl *acl_free(struct usercfg_acl *a)
{
	if (a) {
		free(a->path);
		free(a->ugid);
		free(a->roleid);
		free(a);
	}
	return NULL;
}

struct usercfg *usercfg_new(void)
{
	return xnew(struct usercfg, 1);
}

struct usercfg *usercfg_free(struct usercfg *cfg)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->n_users; i++)
		user_free(cfg->users[i]);
	free(cfg->users);
	for (size_t i = 0; i < cfg->n_groups; i++)
		group_free(cfg->groups[i]);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->n_pools; i++)
		pool_free(cfg->pools[i]);
	free(cfg->pools);
	for (size_t i = 0; i < cfg->n_roles; i++)
		role_free(cfg->roles[i]);
	free(cfg->roles);
	for (size_t i = 0; i < cfg->n_acls; i++)
		acl_free(cfg->acls[i]);
	free(cfg->acls);
	strset_free(cfg->warnings, cfg->n_warnings);
	free(cfg);
	return NULL;
}

static bool is_perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *acl_subject_to_string(enum acl_subject t)
{
	switch (t) {
	case ACL_SUBJECT_GROUP:
		return "group";
	case ACL_SUBJECT_USER:
		return "user";
	case ACL_SUBJECT_TOKEN:
		return "token";
	default:
		return NULL;
	}
}

/* --- lookups --- */

struct usercfg_user *usercfg_find_user(const struct usercfg *cfg, const char *userid)
{
	return obj_find((void *const *)cfg->users, cfg->n_users, userid);
}

struct usercfg_token *usercfg_find_token(const struct usercfg *cfg, const char *userid,
                                         const char *name)
{
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	return u ? obj_find((void *const *)u->tokens, u->n_tokens, name) : NULL;
}

struct usercfg_token *usercfg_find_tokenid(const struct usercfg *cfg, const char *tokenid)
{
	_cleanup_free_ char *userid = NULL, *name = NULL;
	if (!usercfg_split_tokenid(tokenid, &userid, &name))
		return NULL;
	return usercfg_find_token(cfg, userid, name);
}

struct usercfg_group *usercfg_find_group(const struct usercfg *cfg, const char *groupid)
{
	return obj_find((void *const *)cfg->groups, cfg->n_groups, groupid);
}

struct usercfg_pool *usercfg_find_pool(const struct usercfg *cfg, const char *poolid)
{
	return obj_find((void *const *)cfg->pools, cfg->n_pools, poolid);
}

struct usercfg_role *usercfg_find_role(const struct usercfg *cfg, const char *roleid)
{
	return obj_find((void *const *)cfg->roles, cfg->n_roles, roleid);
}

bool usercfg_role_privs(const struct usercfg *cfg, const char *roleid, uint64_t *ret_privs)
{
	const struct special_role *sr = special_role_find(roleid);
	if (sr) {
		if (ret_privs)
			*ret_privs = sr->privs;
		return true;
	}
	const struct usercfg_role *r = usercfg_find_role(cfg, roleid);
	if (!r)
		return false;
	if (ret_privs)
		*ret_privs = r->privs;
	return true;
}

bool usercfg_group_has_member(const struct usercfg_group *g, const char *userid)
{
	return strset_has(g->members, g->n_members, userid);
}

struct usercfg_pool *usercfg_find_vm_pool(const struct usercfg *cfg, const char *vmid)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (strset_has(cfg->pools[i]->vms, cfg->pools[i]->n_vms, vmid))
			return cfg->pools[i];
	return NULL;
}

char *usercfg_user_groups(const struct usercfg *cfg, const char *userid)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < cfg->n_groups; i++) {
		if (!usercfg_group_has_member(cfg->groups[i], userid))
			continue;
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, cfg->groups[i]->groupid);
	}
	return strbuf_detach(&sb, NULL);
}

/* --- changes --- */

static struct usercfg_user *user_insert(struct usercfg *cfg, const char *userid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->users, cfg->n_users, userid, false, &found);
	if (found)
		return cfg->users[i];
	struct usercfg_user *u = xnew(struct usercfg_user, 1);
	u->userid = xstrdup(userid);
	array_insert((void ***)&cfg->users, &cfg->n_users, i, u);
	return u;
}

int usercfg_add_user(struct usercfg *cfg, const char *userid, struct usercfg_user **ret,
                     struct error **err)
{
	if (!usercfg_verify_userid(userid, NULL, NULL))
		return error_param(err, "userid", "value '%s' does not look like a valid user name",
		                   userid);
	if (usercfg_find_user(cfg, userid))
		return error_set(err, -EEXIST, 500, "user '%s' already exists", userid);
	struct usercfg_user *u = user_insert(cfg, userid);
	u->enable = true;
	if (ret)
		*ret = u;
	return 0;
}

/* Drops ACL entries matching (type, ugid) or, with ugid NULL, those whose
 * role (roleid) or path prefix (path) matches. */
static void acl_filter(struct usercfg *cfg, bool (*drop)(const struct usercfg_acl *, const void *),
                       const void *arg)
{
	size_t j = 0;
	for (size_t i = 0; i < cfg->n_acls; i++) {
		if (drop(cfg->acls[i], arg))
			acl_free(cfg->acls[i]);
		else
			cfg->acls[j++] = cfg->acls[i];
	}
	cfg->n_acls = j;
}

struct subject_match {
	enum acl_subject type;
	const char *ugid;
};

static bool drop_subject(const struct usercfg_acl *a, const void *arg)
{
	const struct subject_match *m = arg;
	return a->type == m->type && streq(a->ugid, m->ugid);
}

static bool drop_token_of_user(const struct usercfg_acl *a, const void *arg)
{
	const char *userid = arg;
	size_t n = strlen(userid);
	return a->type == ACL_SUBJECT_TOKEN && strncmp(a->ugid, userid, n) == 0 &&
	       a->ugid[n] == '!';
}

static bool drop_role(const struct usercfg_acl *a, const void *arg)
{
	return streq(a->roleid, (const char *)arg);
}

static bool drop_path(const struct usercfg_acl *a, const void *arg)
{
	return streq(a->path, (const char *)arg);
}

/* path itself and every path below it */
static bool drop_path_tree(const struct usercfg_acl *a, const void *arg)
{
	const char *path = arg;
	size_t n = strlen(path);
	return strncmp(a->path, path, n) == 0 && (a->path[n] == '\0' || a->path[n] == '/');
}

bool usercfg_remove_user(struct usercfg *cfg, const char *userid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->users, cfg->n_users, userid, false, &found);
	if (!found)
		return false;
	user_free(array_take((void **)cfg->users, &cfg->n_users, i));
	for (size_t g = 0; g < cfg->n_groups; g++)
		usercfg_group_remove_member(cfg->groups[g], userid);
	struct subject_match m = {ACL_SUBJECT_USER, userid};
	acl_filter(cfg, drop_subject, &m);
	acl_filter(cfg, drop_token_of_user, userid);
	return true;
}

static struct usercfg_token *token_insert(struct usercfg_user *u, const char *name)
{
	bool found;
	size_t i = lower_bound((void **)u->tokens, u->n_tokens, name, false, &found);
	if (found)
		return u->tokens[i];
	struct usercfg_token *t = xnew(struct usercfg_token, 1);
	t->name = xstrdup(name);
	array_insert((void ***)&u->tokens, &u->n_tokens, i, t);
	return t;
}

int usercfg_add_token(struct usercfg *cfg, const char *userid, const char *name,
                      struct usercfg_token **ret, struct error **err)
{
	if (!usercfg_verify_token_name(name))
		return error_param(err, "tokenid", "invalid token name '%s'", name);
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return error_set(err, -ENOENT, 500, "no such user ('%s')", userid);
	if (obj_find((void *const *)u->tokens, u->n_tokens, name))
		return error_set(err, -EEXIST, 500, "Token already exists.");
	struct usercfg_token *t = token_insert(u, name);
	t->privsep = true;
	if (ret)
		*ret = t;
	return 0;
}

bool usercfg_remove_token(struct usercfg *cfg, const char *userid, const char *name)
{
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	bool found;
	if (!u)
		return false;
	size_t i = lower_bound((void **)u->tokens, u->n_tokens, name, false, &found);
	if (!found)
		return false;
	token_free(array_take((void **)u->tokens, &u->n_tokens, i));
	_cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, name);
	struct subject_match m = {ACL_SUBJECT_TOKEN, tokenid};
	acl_filter(cfg, drop_subject, &m);
	return true;
}

static struct usercfg_group *group_insert(struct usercfg *cfg, const char *groupid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->groups, cfg->n_groups, groupid, false, &found);
	if (found)
		return cfg->groups[i];
	struct usercfg_group *g = xnew(struct usercfg_group, 1);
	g->groupid = xstrdup(groupid);
	array_insert((void ***)&cfg->groups, &cfg->n_groups, i, g);
	return g;
}

int usercfg_add_group(struct usercfg *cfg, const char *groupid, struct usercfg_group **ret,
                      struct error **err)
{
	if (!usercfg_verify_groupid(groupid))
		return error_param(err, "groupid", "group name '%s' contains invalid characters",
		                   groupid);
	if (usercfg_find_group(cfg, groupid))
		return error_set(err, -EEXIST, 500, "group '%s' already exists", groupid);
	struct usercfg_group *g = group_insert(cfg, groupid);
	if (ret)
		*ret = g;
	return 0;
}

bool usercfg_remove_group(struct usercfg *cfg, const char *groupid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->groups, cfg->n_groups, groupid, false, &found);
	if (!found)
		return false;
	group_free(array_take((void **)cfg->groups, &cfg->n_groups, i));
	struct subject_match m = {ACL_SUBJECT_GROUP, groupid};
	acl_filter(cfg, drop_subject, &m);
	return true;
}

void usercfg_group_add_member(struct usercfg_group *g, const char *userid)
{
	strset_add(&g->members, &g->n_members, userid);
}

bool usercfg_group_remove_member(struct usercfg_group *g, const char *userid)
{
	return strset_remove(g->members, &g->n_members, userid);
}

static struct usercfg_pool *pool_insert(struct usercfg *cfg, const char *poolid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->pools, cfg->n_pools, poolid, false, &found);
	if (found)
		return cfg->pools[i];
	struct usercfg_pool *p = xnew(struct usercfg_pool, 1);
	p->poolid = xstrdup(poolid);
	array_insert((void ***)&cfg->pools, &cfg->n_pools, i, p);
	/* nested pools: make sure every parent exists */
	_cleanup_free_ char *parent = xstrdup(poolid);
	char *slash;
	while ((slash = strrchr(parent, '/'))) {
		*slash = '\0';
		pool_insert(cfg, parent);
	}
	return usercfg_find_pool(cfg, poolid);
}

int usercfg_add_pool(struct usercfg *cfg, const char *poolid, struct usercfg_pool **ret,
                     struct error **err)
{
	if (!usercfg_verify_poolid(poolid))
		return error_param(err, "poolid", "pool name '%s' contains invalid characters",
		                   poolid);
	if (usercfg_find_pool(cfg, poolid))
		return error_set(err, -EEXIST, 500, "pool '%s' already exists", poolid);
	struct usercfg_pool *p = pool_insert(cfg, poolid);
	if (ret)
		*ret = p;
	return 0;
}

bool usercfg_remove_pool(struct usercfg *cfg, const char *poolid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->pools, cfg->n_pools, poolid, false, &found);
	if (!found)
		return false;
	pool_free(array_take((void **)cfg->pools, &cfg->n_pools, i));
	_cleanup_free_ char *path = xasprintf("/pool/%s", poolid);
	acl_filter(cfg, drop_path, path);
	return true;
}

int usercfg_pool_add_vm(struct usercfg *cfg, struct usercfg_pool *p, const char *vmid,
                        struct error **err)
{
	struct usercfg_pool *other = usercfg_find_vm_pool(cfg, vmid);
	if (other && other != p)
		return error_set(err, -EEXIST, 400, "VM %s belongs already to pool '%s'", vmid,
		                 other->poolid);
	strset_add(&p->vms, &p->n_vms, vmid);
	return 0;
}

bool usercfg_pool_remove_vm(struct usercfg_pool *p, const char *vmid)
{
	return strset_remove(p->vms, &p->n_vms, vmid);
}

bool usercfg_forget_vm(struct usercfg *cfg, const char *vmid)
{
	_cleanup_free_ char *path = xasprintf("/vms/%s", vmid);
	size_t n = cfg->n_acls;
	acl_filter(cfg, drop_path_tree, path);
	bool changed = cfg->n_acls != n;
	struct usercfg_pool *p = usercfg_find_vm_pool(cfg, vmid);
	if (p)
		changed |= usercfg_pool_remove_vm(p, vmid);
	return changed;
}

void usercfg_pool_add_storage(struct usercfg_pool *p, const char *storeid)
{
	strset_add(&p->storage, &p->n_storage, storeid);
}

bool usercfg_pool_remove_storage(struct usercfg_pool *p, const char *storeid)
{
	return strset_remove(p->storage, &p->n_storage, storeid);
}

static struct usercfg_role *role_insert(struct usercfg *cfg, const char *roleid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->roles, cfg->n_roles, roleid, false, &found);
	if (found)
		return cfg->roles[i];
	struct usercfg_role *r = xnew(struct usercfg_role, 1);
	r->roleid = xstrdup(roleid);
	array_insert((void ***)&cfg->roles, &cfg->n_roles, i, r);
	return r;
}

int usercfg_add_role(struct usercfg *cfg, const char *roleid, struct usercfg_role **ret,
                     struct error **err)
{
	if (!usercfg_verify_roleid(roleid))
		return error_param(err, "roleid", "role name '%s' contains invalid characters",
		                   roleid);
	if (special_role_find(roleid))
		return error_set(err, -EPERM, 400, "cannot modify special role '%s'", roleid);
	if (usercfg_find_role(cfg, roleid))
		return error_set(err, -EEXIST, 500, "role '%s' already exists", roleid);
	struct usercfg_role *r = role_insert(cfg, roleid);
	if (ret)
		*ret = r;
	return 0;
}

bool usercfg_remove_role(struct usercfg *cfg, const char *roleid)
{
	bool found;
	size_t i = lower_bound((void **)cfg->roles, cfg->n_roles, roleid, false, &found);
	if (!found)
		return false;
	role_free(array_take((void **)cfg->roles, &cfg->n_roles, i));
	acl_filter(cfg, drop_role, roleid);
	return true;
}

static int acl_cmp(const struct usercfg_acl *a, const char *path, enum acl_subject type,
                   const char *ugid, const char *roleid)
{
	int c = acl_path_cmp(a->path, path);
	if (c)
		return c;
	if (a->type != type)
		return a->type < type ? -1 : 1;
	c = strcmp(a->ugid, ugid);
	if (c)
		return c;
	return strcmp(a->roleid, roleid);
}

static size_t acl_lower_bound(const struct usercfg *cfg, const char *path, enum acl_subject type,
                              const char *ugid, const char *roleid, bool *found)
{
	size_t lo = 0, hi = cfg->n_acls;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (acl_cmp(cfg->acls[mid], path, type, ugid, roleid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < cfg->n_acls && acl_cmp(cfg->acls[lo], path, type, ugid, roleid) == 0;
	return lo;
}

/* path must be normalised */
static void acl_put(struct usercfg *cfg, const char *path, enum acl_subject type, const char *ugid,
                    const char *roleid, bool propagate)
{
	bool found;
	size_t i = acl_lower_bound(cfg, path, type, ugid, roleid, &found);
	if (found) {
		cfg->acls[i]->propagate = propagate;
		return;
	}
	struct usercfg_acl *a = xnew(struct usercfg_acl, 1);
	a->path = xstrdup(path);
	a->type = type;
	a->ugid = xstrdup(ugid);
	a->roleid = xstrdup(roleid);
	a->propagate = propagate;
	array_insert((void ***)&cfg->acls, &cfg->n_acls, i, a);
}

int usercfg_acl_set(struct usercfg *cfg, const char *path, enum acl_subject type, const char *ugid,
                    const char *roleid, bool propagate, struct error **err)
{
	_cleanup_free_ char *norm = acl_path_normalize(path);
	if (!norm)
		return error_param(err, "path", "invalid ACL path '%s'", path ? path : "");
	if (!usercfg_verify_roleid(roleid))
		return error_param(err, "roles", "role name '%s' contains invalid characters",
		                   roleid);
	bool ok = false;
	switch (type) {
	case ACL_SUBJECT_GROUP:
		ok = usercfg_verify_groupid(ugid);
		break;
	case ACL_SUBJECT_USER:
		ok = usercfg_verify_userid(ugid, NULL, NULL);
		break;
	case ACL_SUBJECT_TOKEN:
		ok = usercfg_split_tokenid(ugid, NULL, NULL);
		break;
	default:
		break;
	}
	if (!ok)
		return error_param(err, "ugid", "invalid ACL subject '%s'", ugid);
	acl_put(cfg, norm, type, ugid, roleid, propagate);
	return 0;
}

bool usercfg_acl_remove(struct usercfg *cfg, const char *path, enum acl_subject type,
                        const char *ugid, const char *roleid)
{
	_cleanup_free_ char *norm = acl_path_normalize(path);
	bool found;
	if (!norm)
		return false;
	size_t i = acl_lower_bound(cfg, norm, type, ugid, roleid, &found);
	if (!found)
		return false;
	acl_free(array_take((void **)cfg->acls, &cfg->n_acls, i));
	return true;
}

/* --- parser --- */

struct parse_state {
	struct usercfg *cfg;
};

static void warnf(struct usercfg *cfg, const char *fmt, ...) _printf_(2, 3);
static void warnf(struct usercfg *cfg, const char *fmt, ...)
{
	if (cfg->n_warnings >= USERCFG_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	cfg->warnings = xrealloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(char *));
	cfg->warnings[cfg->n_warnings++] = m;
}

/* Perl truthiness of a string field: undef, "" and "0" are false. */
static bool perl_true(const char *s)
{
	return s && *s && !streq(s, "0");
}

/* PVE::Tools::split_list: items separated by ',', ';' or blanks. */
static size_t split_list(char *s, char ***ret)
{
	size_t n = 0, alloc = 0;
	char **v = NULL;
	char *save = NULL;
	for (char *tok = strtok_r(s, ",; \t\r\n\f\v", &save); tok;
	     tok = strtok_r(NULL, ",; \t\r\n\f\v", &save)) {
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[n++] = tok;
	}
	*ret = v;
	return n;
}

/* A decimal number per ^\d+$ (after an empty value became 0), as int64. */
static bool parse_expire(const char *s, int64_t *ret)
{
	if (!perl_true(s)) {
		*ret = 0;
		return true;
	}
	if (strspn(s, "0123456789") != strlen(s))
		return false;
	/* PVE keeps big numbers as floats; we saturate */
	unsigned long long v = strtoull(s, NULL, 10);
	*ret = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	return true;
}

static char *decoded_or_null(const char *s)
{
	return perl_true(s) ? usercfg_decode_text(s) : NULL;
}

#define MAX_FIELDS 16

static void parse_user(struct usercfg *cfg, char **f, int n)
{
	const char *userid = n > 0 ? f[0] : "";
	int64_t expire;
	if (!usercfg_verify_userid(userid, NULL, NULL)) {
		warnf(cfg, "user config - ignore user '%s' - invalid user name", userid);
		return;
	}
	if (!parse_expire(n > 2 ? f[2] : NULL, &expire)) {
		warnf(cfg, "user config - ignore user '%s' - (illegal characters in expire '%s')",
		      userid, f[2]);
		return;
	}
	/* a repeated user line replaces the earlier one, tokens included */
	struct usercfg_user *u = user_insert(cfg, userid);
	user_clear_fields(u);
	u->enable = perl_true(n > 1 ? f[1] : NULL);
	u->expire = expire;
	u->firstname = decoded_or_null(n > 3 ? f[3] : NULL);
	u->lastname = decoded_or_null(n > 4 ? f[4] : NULL);
	u->email = n > 5 && perl_true(f[5]) ? xstrdup(f[5]) : NULL;
	u->comment = decoded_or_null(n > 6 ? f[6] : NULL);
	u->keys = n > 7 && perl_true(f[7]) ? xstrdup(f[7]) : NULL;
}

static void parse_group(struct usercfg *cfg, char **f, int n)
{
	const char *groupid = n > 0 ? f[0] : "";
	if (!usercfg_verify_groupid(groupid)) {
		warnf(cfg, "user config - ignore group '%s' - invalid characters in group name",
		      groupid);
		return;
	}
	struct usercfg_group *g = group_insert(cfg, groupid);
	if (n > 2 && perl_true(f[2])) {
		free(g->comment);
		g->comment = usercfg_decode_text(f[2]);
	}
	_cleanup_free_ char **members = NULL;
	size_t nm = split_list(n > 1 ? f[1] : (char[]){""}, &members);
	for (size_t i = 0; i < nm; i++) {
		if (!usercfg_verify_userid(members[i], NULL, NULL)) {
			warnf(cfg, "user config - ignore invalid group member '%s'", members[i]);
			continue;
		}
		/* PVE keeps members that do not exist (yet), with a warning */
		if (!usercfg_find_user(cfg, members[i]))
			warnf(cfg, "user config - ignore invalid group member '%s'", members[i]);
		usercfg_group_add_member(g, members[i]);
	}
}

static void parse_role(struct usercfg *cfg, char **f, int n)
{
	const char *roleid = n > 0 ? f[0] : "";
	if (!usercfg_verify_roleid(roleid)) {
		warnf(cfg, "user config - ignore role '%s' - invalid characters in role name",
		      roleid);
		return;
	}
	if (special_role_find(roleid)) {
		warnf(cfg, "user config - ignore role '%s' - built-in role", roleid);
		return;
	}
	struct usercfg_role *r = role_insert(cfg, roleid);
	_cleanup_free_ char **privs = NULL;
	size_t np = split_list(n > 1 ? f[1] : (char[]){""}, &privs);
	for (size_t i = 0; i < np; i++) {
		int p = priv_lookup(privs[i]);
		if (p >= 0)
			r->privs |= UINT64_C(1) << p;
		else if (priv_is_legacy(privs[i]))
			warnf(cfg, "user config - ignore legacy privilege '%s' (PVE 8)", privs[i]);
		else
			warnf(cfg, "user config - ignore invalid privilege '%s'", privs[i]);
	}
}

static void parse_acl(struct usercfg *cfg, char **f, int n)
{
	bool propagate = perl_true(n > 0 ? f[0] : NULL);
	const char *pathtxt = n > 1 ? f[1] : "";
	_cleanup_free_ char *path = acl_path_normalize(pathtxt);
	if (!path) {
		warnf(cfg, "user config - ignore invalid path in acl '%s'", pathtxt);
		return;
	}
	_cleanup_free_ char *uglist = xstrdup(n > 2 ? f[2] : "");
	_cleanup_free_ char **roles = NULL;
	size_t nr = split_list(n > 3 ? f[3] : (char[]){""}, &roles);
	for (size_t r = 0; r < nr; r++) {
		const char *role = roles[r];
		if (!usercfg_verify_roleid(role)) {
			warnf(cfg, "user config - ignore invalid role name '%s' in acl", role);
			continue;
		}
		if (!usercfg_role_privs(cfg, role, NULL)) {
			warnf(cfg, "user config - ignore invalid acl role '%s'", role);
			continue;
		}
		/* split_list modifies its input: split a fresh copy per role */
		_cleanup_free_ char *copy = xstrdup(uglist);
		_cleanup_free_ char **ugs = NULL;
		size_t nu = split_list(copy, &ugs);
		for (size_t u = 0; u < nu; u++) {
			const char *ug = ugs[u];
			if (ug[0] == '@' && usercfg_verify_groupid(ug + 1)) {
				if (!usercfg_find_group(cfg, ug + 1))
					warnf(cfg, "user config - ignore invalid acl group '%s'",
					      ug + 1);
				acl_put(cfg, path, ACL_SUBJECT_GROUP, ug + 1, role, propagate);
			} else if (usercfg_verify_userid(ug, NULL, NULL)) {
				if (!usercfg_find_user(cfg, ug))
					warnf(cfg, "user config - ignore invalid acl member '%s'",
					      ug);
				acl_put(cfg, path, ACL_SUBJECT_USER, ug, role, propagate);
			} else if (usercfg_split_tokenid(ug, NULL, NULL)) {
				_cleanup_free_ char *uid = NULL, *name = NULL;
				usercfg_split_tokenid(ug, &uid, &name);
				/* check_token_exist also applies the user name rules */
				if (usercfg_verify_userid(uid, NULL, NULL) &&
				    usercfg_find_token(cfg, uid, name))
					acl_put(cfg, path, ACL_SUBJECT_TOKEN, ug, role, propagate);
				else
					warnf(cfg, "user config - ignore invalid acl token '%s'",
					      ug);
			} else {
				warnf(cfg, "user config - invalid user/group '%s' in acl", ug);
			}
		}
	}
}

static void parse_pool(struct usercfg *cfg, char **f, int n)
{
	const char *poolid = n > 0 ? f[0] : "";
	if (!usercfg_verify_poolid(poolid)) {
		warnf(cfg, "user config - ignore pool '%s' - invalid characters in pool name",
		      poolid);
		return;
	}
	struct usercfg_pool *p = pool_insert(cfg, poolid);
	if (n > 1 && perl_true(f[1])) {
		free(p->comment);
		p->comment = usercfg_decode_text(f[1]);
	}
	_cleanup_free_ char **vms = NULL, **stores = NULL;
	size_t nv = split_list(n > 2 ? f[2] : (char[]){""}, &vms);
	for (size_t i = 0; i < nv; i++) {
		const char *v = vms[i];
		if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 18) {
			warnf(cfg, "user config - ignore invalid vmid '%s' in pool '%s'", v,
			      poolid);
			continue;
		}
		char num[24];
		snprintf(num, sizeof(num), "%llu", strtoull(v, NULL, 10));
		if (usercfg_find_vm_pool(cfg, num)) {
			warnf(cfg, "user config - ignore duplicate vmid '%s' in pool '%s'", num,
			      poolid);
			continue;
		}
		strset_add(&p->vms, &p->n_vms, num);
	}
	size_t ns = split_list(n > 3 ? f[3] : (char[]){""}, &stores);
	for (size_t i = 0; i < ns; i++) {
		if (!usercfg_verify_storeid(stores[i])) {
			warnf(cfg, "user config - ignore invalid storage '%s' in pool '%s'",
			      stores[i], poolid);
			continue;
		}
		strset_add(&p->storage, &p->n_storage, stores[i]);
	}
}

static void parse_token(struct usercfg *cfg, char **f, int n)
{
	const char *tokenid = n > 0 ? f[0] : "";
	_cleanup_free_ char *userid = NULL, *name = NULL;
	int64_t expire;
	if (!usercfg_split_tokenid(tokenid, &userid, &name)) {
		warnf(cfg, "user config - ignore invalid tokenid '%s'", tokenid);
		return;
	}
	if (!parse_expire(n > 1 ? f[1] : NULL, &expire)) {
		warnf(cfg, "user config - ignore token '%s' - (illegal characters in expire '%s')",
		      tokenid, f[1]);
		return;
	}
	struct usercfg_user *u = usercfg_find_user(cfg, userid);
	if (!u) {
		warnf(cfg, "user config - ignore token '%s' - user does not exist", tokenid);
		return;
	}
	struct usercfg_token *t = token_insert(u, name);
	t->privsep = perl_true(n > 2 ? f[2] : NULL);
	t->expire = expire;
	if (n > 3 && perl_true(f[3])) {
		free(t->comment);
		t->comment = usercfg_decode_text(f[3]);
	}
}

static char *trim(char *s)
{
	while (is_perl_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_perl_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void parse_line(struct usercfg *cfg, char *line)
{
	/* Perl's split(/:/): fields trimmed, trailing empty fields dropped */
	char *f[MAX_FIELDS];
	int n = 0;
	_cleanup_free_ char *orig = xstrdup(line);
	char *s = line;
	for (;;) {
		char *colon = strchr(s, ':');
		if (colon)
			*colon = '\0';
		if (n < MAX_FIELDS)
			f[n++] = trim(s);
		if (!colon)
			break;
		s = colon + 1;
	}
	while (n > 0 && !*f[n - 1])
		n--;
	if (n == 0) {
		warnf(cfg, "user config - ignore config line: %s", orig);
		return;
	}
	const char *et = f[0];
	char **d = f + 1;
	int nd = n - 1;
	if (streq(et, "user"))
		parse_user(cfg, d, nd);
	else if (streq(et, "group"))
		parse_group(cfg, d, nd);
	else if (streq(et, "role"))
		parse_role(cfg, d, nd);
	else if (streq(et, "acl"))
		parse_acl(cfg, d, nd);
	else if (streq(et, "pool"))
		parse_pool(cfg, d, nd);
	else if (streq(et, "token"))
		parse_token(cfg, d, nd);
	else
		warnf(cfg, "user config - ignore config line: %s", orig);
}

static bool drop_missing_token(const struct usercfg_acl *a, const void *arg)
{
	const struct usercfg *cfg = arg;
	return a->type == ACL_SUBJECT_TOKEN && !usercfg_find_tokenid(cfg, a->ugid);
}

static void force_defaults(struct usercfg *cfg)
{
	/* A later user: line replaces the user and its tokens (as in PVE), which
	 * can orphan token ACL entries accepted before it.  PVE would write
	 * them once and drop them on the next read; we drop them now so that
	 * writing is a fixed point. */
	size_t before = cfg->n_acls;
	acl_filter(cfg, drop_missing_token, cfg);
	if (cfg->n_acls != before)
		warnf(cfg, "user config - ignore %zu acl entries of removed tokens",
		      before - cfg->n_acls);

	if (!usercfg_find_user(cfg, "root@pam"))
		user_insert(cfg, "root@pam")->enable = true;
}

int usercfg_parse(const char *data, size_t len, struct usercfg **ret, struct error **err)
{
	if (len > USERCFG_MAX_SIZE)
		return error_set(err, -EFBIG, 400, "user config too large (%zu bytes)", len);
	if (memchr(data, '\0', len))
		return error_set(err, -EINVAL, 400, "user config contains a NUL byte");
	_cleanup_usercfg_ struct usercfg *cfg = usercfg_new();
	size_t pos = 0;
	while (pos < len) {
		const char *start = data + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n > USERCFG_MAX_LINE)
			return error_set(err, -E2BIG, 400, "user config line too long");
		_cleanup_free_ char *line = xstrndup(start, n);
		char *l = trim(line);
		if (*l)
			parse_line(cfg, l);
	}
	force_defaults(cfg);
	*ret = TAKE_PTR(cfg);
	return 0;
}

/* --- writer --- */

static void add_text(struct strbuf *out, const char *s)
{
	if (perl_true(s)) {
		_cleanup_free_ char *e = usercfg_encode_text(s);
		strbuf_addstr(out, e);
	}
}

static void add_raw(struct strbuf *out, const char *s)
{
	if (perl_true(s))
		strbuf_addstr(out, s);
}

static void add_list(struct strbuf *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(out, ',');
		strbuf_addstr(out, v[i]);
	}
}

struct acl_line {
	bool propagate;
	char *roles;  /* "A,B" */
	char *member; /* "@group", "user@realm", "user@realm!token" */
};

static int cmp_acl_line(const void *a, const void *b)
{
	const struct acl_line *x = a, *y = b;
	if (x->propagate != y->propagate)
		return x->propagate ? 1 : -1;
	int c = strcmp(x->roles, y->roles);
	if (c)
		return c;
	return strcmp(x->member, y->member);
}

/* Writes the ACL lines of one path: per member, its propagated and its
 * non-propagated roles form two role lists; members with equal lists share
 * one line. */
static void write_acl_path(const struct usercfg *cfg, size_t from, size_t to, struct strbuf *out)
{
	const char *path = cfg->acls[from]->path;
	size_t alloc = 2 * (to - from), n = 0;
	_cleanup_free_ struct acl_line *lines = xnew(struct acl_line, alloc + 1);
	/* entries are sorted by (type, ugid, roleid) within the path */
	for (size_t i = from; i < to;) {
		const struct usercfg_acl *a = cfg->acls[i];
		size_t j = i;
		while (j < to && cfg->acls[j]->type == a->type &&
		       streq(cfg->acls[j]->ugid, a->ugid))
			j++;
		if (!(a->type == ACL_SUBJECT_USER && streq(a->ugid, "root@pam"))) {
			for (int prop = 0; prop <= 1; prop++) {
				struct strbuf roles = STRBUF_INIT;
				for (size_t k = i; k < j; k++) {
					if (cfg->acls[k]->propagate != (prop == 1))
						continue;
					if (roles.len)
						strbuf_addch(&roles, ',');
					strbuf_addstr(&roles, cfg->acls[k]->roleid);
				}
				if (!roles.len) {
					strbuf_release(&roles);
					continue;
				}
				lines[n].propagate = prop;
				lines[n].roles = strbuf_detach(&roles, NULL);
				lines[n].member = xasprintf(
				    "%s%s", a->type == ACL_SUBJECT_GROUP ? "@" : "", a->ugid);
				n++;
			}
		}
		i = j;
	}
	qsort(lines, n, sizeof(*lines), cmp_acl_line);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		strbuf_addf(out, "acl:%d:%s:", lines[i].propagate ? 1 : 0, path);
		while (j < n && lines[j].propagate == lines[i].propagate &&
		       streq(lines[j].roles, lines[i].roles)) {
			if (j > i)
				strbuf_addch(out, ',');
			strbuf_addstr(out, lines[j].member);
			j++;
		}
		strbuf_addf(out, ":%s:\n", lines[i].roles);
		i = j;
	}
	for (size_t i = 0; i < n; i++) {
		free(lines[i].roles);
		free(lines[i].member);
	}
}

void usercfg_write(const struct usercfg *cfg, struct strbuf *out)
{
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct usercfg_user *u = cfg->users[i];
		strbuf_addf(out, "user:%s:%d:%" PRId64 ":", u->userid, u->enable ? 1 : 0,
		            u->expire);
		add_text(out, u->firstname);
		strbuf_addch(out, ':');
		add_text(out, u->lastname);
		strbuf_addch(out, ':');
		add_raw(out, u->email);
		strbuf_addch(out, ':');
		add_text(out, u->comment);
		strbuf_addch(out, ':');
		add_raw(out, u->keys);
		strbuf_addstr(out, ":\n");
		for (size_t t = 0; t < u->n_tokens; t++) {
			const struct usercfg_token *tk = u->tokens[t];
			strbuf_addf(out, "token:%s!%s:%" PRId64 ":%d:", u->userid, tk->name,
			            tk->expire, tk->privsep ? 1 : 0);
			add_text(out, tk->comment);
			strbuf_addstr(out, ":\n");
		}
	}
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct usercfg_group *g = cfg->groups[i];
		strbuf_addf(out, "group:%s:", g->groupid);
		add_list(out, g->members, g->n_members);
		strbuf_addch(out, ':');
		add_text(out, g->comment);
		strbuf_addstr(out, ":\n");
	}
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct usercfg_pool *p = cfg->pools[i];
		strbuf_addf(out, "pool:%s:", p->poolid);
		add_text(out, p->comment);
		strbuf_addch(out, ':');
		add_list(out, p->vms, p->n_vms);
		strbuf_addch(out, ':');
		add_list(out, p->storage, p->n_storage);
		strbuf_addstr(out, ":\n");
	}
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < cfg->n_roles; i++) {
		const struct usercfg_role *r = cfg->roles[i];
		if (special_role_find(r->roleid))
			continue;
		struct privset ps = {r->privs, 0};
		_cleanup_free_ char *privs = privset_to_string(&ps);
		strbuf_addf(out, "role:%s:%s:\n", r->roleid, privs);
	}
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < cfg->n_acls;) {
		size_t j = i;
		while (j < cfg->n_acls && streq(cfg->acls[j]->path, cfg->acls[i]->path))
			j++;
		write_acl_path(cfg, i, j, out);
		i = j;
	}
}

struct usercfg *usercfg_dup(const struct usercfg *cfg)
{
	struct usercfg *c = usercfg_new();
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct usercfg_user *u = cfg->users[i];
		struct usercfg_user *n = user_insert(c, u->userid);
		n->enable = u->enable;
		n->expire = u->expire;
		n->firstname = u->firstname ? xstrdup(u->firstname) : NULL;
		n->lastname = u->lastname ? xstrdup(u->lastname) : NULL;
		n->email = u->email ? xstrdup(u->email) : NULL;
		n->comment = u->comment ? xstrdup(u->comment) : NULL;
		n->keys = u->keys ? xstrdup(u->keys) : NULL;
		for (size_t t = 0; t < u->n_tokens; t++) {
			struct usercfg_token *nt = token_insert(n, u->tokens[t]->name);
			nt->expire = u->tokens[t]->expire;
			nt->privsep = u->tokens[t]->privsep;
			nt->comment = u->tokens[t]->comment ? xstrdup(u->tokens[t]->comment) : NULL;
		}
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct usercfg_group *g = cfg->groups[i];
		struct usercfg_group *n = group_insert(c, g->groupid);
		n->comment = g->comment ? xstrdup(g->comment) : NULL;
		for (size_t m = 0; m < g->n_members; m++)
			usercfg_group_add_member(n, g->members[m]);
	}
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct usercfg_pool *p = cfg->pools[i];
		struct usercfg_pool *n = pool_insert(c, p->poolid);
		n->comment = p->comment ? xstrdup(p->comment) : NULL;
		for (size_t v = 0; v < p->n_vms; v++)
			strset_add(&n->vms, &n->n_vms, p->vms[v]);
		for (size_t s = 0; s < p->n_storage; s++)
			strset_add(&n->storage, &n->n_storage, p->storage[s]);
	}
	for (size_t i = 0; i < cfg->n_roles; i++)
		role_insert(c, cfg->roles[i]->roleid)->privs = cfg->roles[i]->privs;
	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct usercfg_acl *a = cfg->acls[i];
		acl_put(c, a->path, a->type, a->ugid, a->roleid, a->propagate);
	}
	return c;
}
