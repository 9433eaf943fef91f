/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The guest layer's registry and dispatcher (guest.h). */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "guest.h"
#include "paths.h"
#include "xalloc.h"

/* ---- the registry ------------------------------------------------------- */

extern const struct guest_kind_ops guest_kind_qemu;
extern const struct guest_kind_ops guest_kind_lxc;

const struct guest_kind_ops *const guest_kinds[] = {
    &guest_kind_qemu,
    &guest_kind_lxc,
    NULL,
};

#define N_KINDS (ARRAY_SIZE(guest_kinds) - 1)

const struct guest_kind_ops *guest_kind_find(const char *type)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (streq(guest_kinds[i]->type, type))
			return guest_kinds[i];
	return NULL;
}

static size_t kind_index(const struct guest_kind_ops *k)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (guest_kinds[i] == k)
			return i;
	abort(); /* a kind that is not registered: a programming error */
}

const char *const guest_lock_values[] = {
    "backup",   "clone",           "create",     "migrate",   "rollback",
    "snapshot", "snapshot-delete", "suspending", "suspended", NULL,
};

bool guest_lock_value_valid(const char *v)
{
	for (const char *const *l = guest_lock_values; *l; l++)
		if (streq(*l, v))
			return true;
	return false;
}

/* ---- the rules ---------------------------------------------------------- */

static const char *const op_names[_GUEST_OP_MAX] = {
    [GUEST_OP_START] = "start",       [GUEST_OP_STOP] = "stop",
    [GUEST_OP_SHUTDOWN] = "shutdown", [GUEST_OP_REBOOT] = "reboot",
    [GUEST_OP_RESET] = "reset",       [GUEST_OP_SUSPEND] = "suspend",
    [GUEST_OP_RESUME] = "resume",     [GUEST_OP_DESTROY] = "destroy",
    [GUEST_OP_CONFIG] = "config",     [GUEST_OP_CLONE] = "clone",
    [GUEST_OP_TEMPLATE] = "template", [GUEST_OP_SNAPSHOT] = "snapshot",
    [GUEST_OP_ROLLBACK] = "rollback", [GUEST_OP_DELSNAPSHOT] = "delsnapshot",
    [GUEST_OP_RESIZE] = "resize",     [GUEST_OP_MOVE_DISK] = "move_disk",
    [GUEST_OP_MIGRATE] = "migrate",
};

const char *guest_op_name(enum guest_op op)
{
	return op >= 0 && op < _GUEST_OP_MAX ? op_names[op] : "unknown";
}

static const char *conf_str(const json_t *conf, const char *key)
{
	return json_string_value(json_object_get(conf, key));
}

/* A boolean key as the file holds it ("1"/"0", normalised by the parser). */
static bool conf_true(const json_t *conf, const char *key)
{
	const char *v = conf_str(conf, key);
	return v && (streq(v, "1") || streq(v, "on") || streq(v, "yes") || streq(v, "true"));
}

/* The capability an operation needs, 0 for none. */
static unsigned op_cap(enum guest_op op, unsigned flags)
{
	switch (op) {
	case GUEST_OP_SUSPEND:
		return flags & GUEST_TODISK ? GUEST_CAP_HIBERNATE : GUEST_CAP_SUSPEND;
	case GUEST_OP_RESUME:
		return GUEST_CAP_SUSPEND;
	case GUEST_OP_RESET:
		return GUEST_CAP_RESET;
	case GUEST_OP_CLONE:
		return GUEST_CAP_CLONE;
	case GUEST_OP_TEMPLATE:
		return GUEST_CAP_TEMPLATE;
	case GUEST_OP_SNAPSHOT:
	case GUEST_OP_ROLLBACK:
	case GUEST_OP_DELSNAPSHOT:
		return GUEST_CAP_SNAPSHOT;
	default:
		return 0;
	}
}

/* PVE::AbstractConfig::check_lock, with the exceptions of each operation:
 * a start or resume of a suspended guest is how it leaves that lock, and a
 * resume is allowed under a backup's lock (vm_resume). */
static int check_lock(const struct guest_kind_ops *k, const char *lock, enum guest_op op,
                      unsigned flags, struct error **err)
{
	if (!lock || !*lock || (flags & GUEST_SKIPLOCK))
		return 0;
	if ((op == GUEST_OP_START || op == GUEST_OP_RESUME) && streq(lock, "suspended"))
		return 0;
	if (op == GUEST_OP_RESUME && streq(lock, "backup"))
		return 0;
	return error_set(err, -EBUSY, 500, "%s is locked (%s)", k->noun, lock);
}

static int not_running(const struct guest_kind_ops *k, long vmid, struct error **err)
{
	return error_set(err, -EINVAL, 500, "%s %ld not running", k->noun, vmid);
}

/* A container: PVE's container API words some refusals its own way. */
static bool is_ct(const struct guest_kind_ops *k)
{
	return streq(k->noun, "CT");
}

int guest_check_op(const struct guest_kind_ops *k, long vmid, const struct guest_state *st,
                   enum guest_op op, unsigned flags, struct error **err)
{
	const char *lock = conf_str(st->conf, "lock");
	bool tmpl = conf_true(st->conf, "template");
	int r;

	if (op < 0 || op >= _GUEST_OP_MAX)
		return error_set(err, -EINVAL, 500, "unknown guest operation");
	unsigned cap = op_cap(op, flags);
	if (cap && !(k->caps & cap))
		return error_set(err, -EOPNOTSUPP, 500, "%s of a %s guest is not supported",
		                 guest_op_name(op), k->type);

	switch (op) {
	case GUEST_OP_START:
		/* vm_start: the template first, then the lock, then running */
		if (tmpl)
			return error_set(err, -EPERM, 500,
			                 "you can't start a %s if it's a template",
			                 streq(k->noun, "VM") ? "vm" : k->noun);
		if ((r = check_lock(k, lock, op, flags, err)) < 0)
			return r;
		if (st->running)
			return error_set(err, -EBUSY, 500, "%s %ld already running", k->noun, vmid);
		return 0;
	case GUEST_OP_STOP:
		/* stopping a stopped guest is a no-op that ends OK */
		return check_lock(k, lock, op, flags, err);
	case GUEST_OP_SHUTDOWN:
	case GUEST_OP_REBOOT:
		if ((r = check_lock(k, lock, op, flags, err)) < 0)
			return r;
		if (op == GUEST_OP_REBOOT && !st->running)
			return not_running(k, vmid, err);
		/* a paused guest would shut down only when resumed, long after
		 * the timeout: refuse, or stop it when forced */
		if (st->running && st->paused &&
		    !(op == GUEST_OP_SHUTDOWN && (flags & GUEST_FORCE)))
			return error_set(err, -EBUSY, 500, "%s is paused - cannot shutdown",
			                 k->noun);
		return 0;
	case GUEST_OP_RESET:
	case GUEST_OP_SUSPEND:
		if (!st->running)
			return not_running(k, vmid, err);
		return check_lock(k, lock, op, flags, err);
	case GUEST_OP_RESUME:
		/* a guest suspended to disk is resumed by starting it */
		if (!st->running && !streq_ptr(lock, "suspended"))
			return not_running(k, vmid, err);
		return check_lock(k, lock, op, flags, err);
	case GUEST_OP_DESTROY:
		if (conf_true(st->conf, "protection"))
			return error_set(err, -EPERM, 500,
			                 "can't remove %s %ld - protection mode enabled", k->noun,
			                 vmid);
		if (is_ct(k)) {
			/* PVE's container destroy: the lock before running, its words */
			if ((r = check_lock(k, lock, op, flags, err)) < 0)
				return r;
			if (st->running)
				return error_set(err, -EBUSY, 500,
				                 "unable to destroy CT %ld - container is running",
				                 vmid);
			return 0;
		}
		if (st->running)
			return error_set(err, -EBUSY, 500, "%s %ld is running - destroy failed",
			                 k->noun, vmid);
		return check_lock(k, lock, op, flags, err);
	case GUEST_OP_TEMPLATE:
		if ((r = check_lock(k, lock, op, flags, err)) < 0)
			return r;
		if (tmpl)
			return error_set(err, -EINVAL, 500,
			                 "you can't convert a template to a template");
		if (st->running)
			return error_set(err, -EBUSY, 500,
			                 "you can't convert a %s to template if %s%s is running",
			                 k->noun, is_ct(k) ? "the " : "", k->noun);
		return 0;
	case GUEST_OP_SNAPSHOT:
		if ((r = check_lock(k, lock, op, flags, err)) < 0)
			return r;
		if (tmpl)
			return error_set(err, -EPERM, 500,
			                 "you can't take a snapshot if it's a template");
		return 0;
	case GUEST_OP_ROLLBACK:
		if (tmpl)
			return error_set(err, -EPERM, 500,
			                 "you can't rollback if vm is a template");
		return check_lock(k, lock, op, flags, err);
	case GUEST_OP_MIGRATE:
		return error_set(err, -EOPNOTSUPP, 500, "no cluster: migration is not possible");
	case GUEST_OP_CONFIG:
	case GUEST_OP_CLONE:
	case GUEST_OP_DELSNAPSHOT:
	case GUEST_OP_RESIZE:
	case GUEST_OP_MOVE_DISK:
	default:
		return check_lock(k, lock, op, flags, err);
	}
}

/* ---- the store ---------------------------------------------------------- */

struct guest_store {
	char *node;
	char *etc;
	char *run;
	struct storage_config_store *storage;
	struct conf_family *fams[N_KINDS > 0 ? N_KINDS : 1];
	struct guest_access_hooks access;
};

struct guest_store *guest_store_new(const struct ctvm_paths *paths, const char *node,
                                    struct storage_config_store *storage)
{
	struct guest_store *gs = xcalloc(1, sizeof(*gs));
	gs->node = xstrdup(node);
	gs->etc = xstrdup(paths->etc);
	gs->run = xstrdup(paths->run);
	gs->storage = storage;
	for (size_t i = 0; i < N_KINDS; i++) {
		_cleanup_free_ char *dir = path_join(paths->etc, guest_kinds[i]->confdir);
		gs->fams[i] = conf_family_new(dir, ".conf", guest_kinds[i]->conf_ops, NULL);
	}
	return gs;
}

struct guest_store *guest_store_free(struct guest_store *gs)
{
	if (!gs)
		return NULL;
	for (size_t i = 0; i < N_KINDS; i++)
		conf_family_free(gs->fams[i]);
	free(gs->node);
	free(gs->etc);
	free(gs->run);
	free(gs);
	return NULL;
}

const char *guest_store_node(const struct guest_store *gs)
{
	return gs->node;
}

const char *guest_store_run_dir(const struct guest_store *gs)
{
	return gs->run;
}

struct storage_config_store *guest_store_storage(const struct guest_store *gs)
{
	return gs->storage;
}

void guest_store_set_access_hooks(struct guest_store *gs, const struct guest_access_hooks *h)
{
	gs->access = h ? *h : (struct guest_access_hooks){0};
}

int guest_access_pool_add(struct guest_store *gs, long vmid, const char *pool, struct error **err)
{
	if (!gs->access.pool_add)
		return error_set(err, -EOPNOTSUPP, 500, "can't add VM %ld to pool '%s'", vmid,
		                 pool);
	return gs->access.pool_add(gs->access.userdata, vmid, pool, err);
}

int guest_access_pool_remove(struct guest_store *gs, long vmid, const char *pool,
                             struct error **err)
{
	if (!gs->access.pool_remove)
		return 0;
	return gs->access.pool_remove(gs->access.userdata, vmid, pool, err);
}

int guest_access_forget(struct guest_store *gs, long vmid, struct error **err)
{
	if (!gs->access.forget)
		return 0;
	return gs->access.forget(gs->access.userdata, vmid, err);
}

int guest_monitor(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  const char *command, char **ret_output, struct error **err)
{
	int r = guest_find(gs, k, vmid, NULL, err);
	if (r < 0)
		return r;
	if (!k->monitor)
		return error_set(err, -EOPNOTSUPP, 501, "not supported for %s", k->noun);
	return k->monitor(gs, vmid, command, ret_output, err);
}

int guest_interfaces(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     json_t **ret, struct error **err)
{
	int r = guest_find(gs, k, vmid, NULL, err);
	if (r < 0)
		return r;
	if (!k->interfaces)
		return error_set(err, -EOPNOTSUPP, 501, "not supported for %s", k->noun);
	return k->interfaces(gs, vmid, ret, err);
}

int guest_showcmd(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  char **ret_line, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	if (!k->showcmd)
		r = error_set(err, -EOPNOTSUPP, 501, "not supported for %s", k->noun);
	else
		r = k->showcmd(gs, &g, ret_line, err);
	guest_release(&g);
	return r;
}

#define GUEST_SENDKEY_MAX 64

static bool sendkey_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > GUEST_SENDKEY_MAX || key[0] == '-' || key[n - 1] == '-' ||
	    strstr(key, "--"))
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

int guest_sendkey(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  const char *key, unsigned flags, struct error **err)
{
	/* checked here, not only by the API: the monitor takes a command line */
	if (!sendkey_valid(key))
		return error_param(err, "key", "invalid key name");
	int fd = guest_config_lock(gs, k, vmid, err);
	if (fd < 0)
		return fd;
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r == 0)
		r = check_lock(k, json_string_value(json_object_get(g.conf, "lock")), _GUEST_OP_MAX,
		               flags, err);
	guest_release(&g);
	_cleanup_free_ char *cmd = xasprintf("sendkey %s", key);
	_cleanup_free_ char *out = NULL;
	if (r == 0)
		r = guest_monitor(gs, k, vmid, cmd, &out, err);
	unlock_file(fd);
	if (r == 0 && out && *out)
		r = error_set(err, -EINVAL, 500, "%s", out);
	return r;
}

void guest_store_set_recheck_ms(struct guest_store *gs, unsigned ms)
{
	for (size_t i = 0; i < N_KINDS; i++)
		conf_family_set_recheck_ms(gs->fams[i], ms);
}

struct conf_family *guest_family(struct guest_store *gs, const struct guest_kind_ops *k)
{
	return gs->fams[kind_index(k)];
}

/* ---- finding guests ----------------------------------------------------- */

static void vmid_key(long vmid, char buf[static 24])
{
	snprintf(buf, 24, "%ld", vmid);
}

/* Whether the file <vmid>.conf of kind index i exists: a get (the store
 * caches it; a missing member leaves nothing behind). */
static int kind_has(struct guest_store *gs, size_t i, long vmid, bool *ret, struct error **err)
{
	char key[24];
	vmid_key(vmid, key);
	const struct conf_snapshot *snap = NULL;
	struct error *e = NULL;
	int r = conf_family_get(gs->fams[i], key, &snap, &e);
	if (r == -ENOENT) {
		error_free(e);
		*ret = false;
		return 0;
	}
	if (r < 0) {
		error_propagate(err, e);
		return r;
	}
	conf_snapshot_unref(snap);
	*ret = true;
	return 0;
}

static int missing(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                   struct error **err)
{
	if (k)
		return error_set(err, -ENOENT, 500,
		                 "Configuration file 'nodes/%s/%s/%ld.conf' does not exist",
		                 gs->node, k->confdir, vmid);
	return error_set(err, -ENOENT, 500, "no such VM ('%ld')", vmid);
}

int guest_find(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
               const struct guest_kind_ops **ret_kind, struct error **err)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (k && guest_kinds[i] != k)
			continue;
		bool has = false;
		int r = kind_has(gs, i, vmid, &has, err);
		if (r < 0)
			return r;
		if (has) {
			if (ret_kind)
				*ret_kind = guest_kinds[i];
			return 0;
		}
	}
	return missing(gs, k, vmid, err);
}

int guest_get(struct guest_store *gs, const struct guest_kind_ops *k, long vmid, struct guest *ret,
              struct error **err)
{
	const struct guest_kind_ops *kind = k;
	if (!kind) {
		int r = guest_find(gs, NULL, vmid, &kind, err);
		if (r < 0)
			return r;
	}
	char key[24];
	vmid_key(vmid, key);
	const struct conf_snapshot *snap = NULL;
	struct error *e = NULL;
	int r = conf_family_get(guest_family(gs, kind), key, &snap, &e);
	if (r == -ENOENT) {
		error_free(e);
		return missing(gs, k, vmid, err);
	}
	if (r < 0) {
		error_propagate(err, e);
		return r;
	}
	*ret = (struct guest){
	    .vmid = vmid,
	    .kind = kind,
	    .snap = snap,
	    .conf = kind->main_section(conf_snapshot_data(snap)),
	};
	return 0;
}

void guest_release(struct guest *g)
{
	conf_snapshot_unref(g->snap);
	g->snap = NULL;
	g->conf = NULL;
}

int guest_is_running(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     bool *ret_running, pid_t *ret_pid, struct error **err)
{
	pid_t pid = 0;
	bool running = false;
	if (k->is_running) {
		int r = k->is_running(gs, vmid, &running, &pid, err);
		if (r < 0)
			return r;
	}
	*ret_running = running;
	if (ret_pid)
		*ret_pid = running ? pid : 0;
	return 0;
}

/* A key of a family that is a VMID: digits only, no leading zero, in range. */
static bool key_vmid(const char *key, long *ret)
{
	if (!key[0] || key[0] == '0' || strlen(key) > 9)
		return false;
	for (const char *p = key; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	long v = strtol(key, NULL, 10);
	if (v < GUEST_VMID_MIN)
		return false;
	*ret = v;
	return true;
}

static int cmp_id(const void *a, const void *b)
{
	const struct guest_id *x = a, *y = b;
	return (x->vmid > y->vmid) - (x->vmid < y->vmid);
}

int guest_list(struct guest_store *gs, const struct guest_kind_ops *k, struct guest_id **ret,
               size_t *ret_n, struct error **err)
{
	struct guest_id *ids = NULL;
	size_t n = 0;
	for (size_t i = 0; i < N_KINDS; i++) {
		if (k && guest_kinds[i] != k)
			continue;
		char **keys = NULL;
		size_t nk = 0;
		int r = conf_family_list(gs->fams[i], &keys, &nk, err);
		if (r < 0) {
			free(ids);
			return r;
		}
		ids = xrealloc(ids, (n + nk + 1) * sizeof(*ids));
		for (size_t j = 0; j < nk; j++) {
			long vmid;
			if (key_vmid(keys[j], &vmid))
				ids[n++] = (struct guest_id){.vmid = vmid, .kind = guest_kinds[i]};
			free(keys[j]);
		}
		free(keys);
	}
	if (n)
		qsort(ids, n, sizeof(*ids), cmp_id);
	*ret = ids;
	*ret_n = n;
	return 0;
}

int guest_vmid_unused(struct guest_store *gs, long vmid, struct error **err)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		bool has = false;
		int r = kind_has(gs, i, vmid, &has, err);
		if (r < 0)
			return r;
		if (has)
			return error_set(err, -EEXIST, 500, "%s %ld already exists on node '%s'",
			                 guest_kinds[i]->noun, vmid, gs->node);
	}
	return 0;
}

#define NEXTID_UPPER 1000000L

int guest_next_id(struct guest_store *gs, long *ret, struct error **err)
{
	_cleanup_free_ struct guest_id *ids = NULL;
	size_t n = 0;
	int r = guest_list(gs, NULL, &ids, &n, err);
	if (r < 0)
		return r;
	/* ids are sorted: the first gap from 100 on */
	long next = GUEST_VMID_MIN;
	for (size_t i = 0; i < n && ids[i].vmid <= next; i++)
		if (ids[i].vmid == next)
			next++;
	if (next >= NEXTID_UPPER)
		return error_set(err, -ENOSPC, 500,
		                 "unable to get any free VMID in range [%ld, %ld)",
		                 (long)GUEST_VMID_MIN, NEXTID_UPPER);
	*ret = next;
	return 0;
}

/* ---- changing a guest's config ------------------------------------------ */

/* The member file of vmid, locked: *ret_f and the lock fd. */
static int member_lock(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                       struct conf_file **ret_f, struct error **err)
{
	char key[24];
	vmid_key(vmid, key);
	struct conf_file *f = NULL;
	int r = conf_family_file(guest_family(gs, k), key, &f, err);
	if (r < 0)
		return r;
	int fd = conf_file_lock(f, err);
	if (fd < 0) {
		conf_file_unref(f);
		return fd;
	}
	*ret_f = f;
	return fd;
}

int guest_config_lock(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      struct error **err)
{
	struct conf_file *f = NULL;
	int fd = member_lock(gs, k, vmid, &f, err);
	if (fd >= 0)
		conf_file_unref(f);
	return fd;
}

int guest_create_reserve(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         struct error **err)
{
	_cleanup_free_ char *dir = path_join(gs->etc, k->confdir);
	mkdir_p(dir, 0755);
	struct conf_file *f = NULL;
	int fd = member_lock(gs, k, vmid, &f, err);
	if (fd < 0)
		return fd;
	struct error *e = NULL;
	void *obj = NULL;
	/* under this guest's lock, no kind may have the id (another kind's
	 * create could race only by taking the same id in its own directory,
	 * which the next get of either sees) */
	int r = guest_vmid_unused(gs, vmid, &e);
	if (r == 0) {
		static const char text[] = "lock: create\n";
		char buf[sizeof(text)];
		memcpy(buf, text, sizeof(text));
		r = k->conf_ops->parse(buf, sizeof(text) - 1, NULL, &obj, &e);
	}
	if (r == 0)
		r = conf_file_write(f, NULL, obj, &e);
	if (obj)
		k->conf_ops->free(obj);
	unlock_file(fd);
	conf_file_unref(f);
	if (r < 0 && e)
		r = error_set(err, r, e->http_status, "unable to create %s %ld - %s", k->noun, vmid,
		              e->msg);
	error_free(e);
	return r;
}

struct lock_change {
	const struct guest_kind_ops *k;
	long vmid;
	const char *lock; /* to take; NULL: clear `expect` */
	const char *expect;
	enum guest_op op;
	bool running;
	unsigned flags;
};

static int lock_change_locked(struct guest_store *gs, const struct lock_change *c,
                              struct error **err)
{
	struct conf_file *f = NULL;
	int fd = member_lock(gs, c->k, c->vmid, &f, err);
	if (fd < 0)
		return fd;
	void *obj = NULL;
	char digest[41];
	int r = conf_file_load(f, &obj, digest, err);
	if (r == -ENOENT && err) {
		*err = error_free(*err);
		r = missing(gs, c->k, c->vmid, err);
	}
	if (r == 0) {
		json_t *conf = c->k->main_section(obj);
		if (c->lock) {
			struct guest_state st = {.conf = conf, .running = c->running};
			r = guest_check_op(c->k, c->vmid, &st, c->op, c->flags, err);
			if (r == 0 && json_object_get(conf, "lock"))
				/* skiplock passed a lock: it is replaced, as PVE
				 * sets its own over it */
				json_object_del(conf, "lock");
			if (r == 0)
				json_object_set_new(conf, "lock", json_string(c->lock));
		} else if (streq_ptr(conf_str(conf, "lock"), c->expect)) {
			json_object_del(conf, "lock");
		}
		if (r == 0)
			r = conf_file_write(f, digest, obj, err);
	}
	if (obj)
		c->k->conf_ops->free(obj);
	unlock_file(fd);
	conf_file_unref(f);
	return r;
}

int guest_lock_take(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                    const char *lock, enum guest_op op, bool running, unsigned flags,
                    struct error **err)
{
	if (!guest_lock_value_valid(lock))
		return error_set(err, -EINVAL, 500, "invalid lock value '%s'", lock);
	struct lock_change c = {
	    .k = k, .vmid = vmid, .lock = lock, .op = op, .running = running, .flags = flags};
	return lock_change_locked(gs, &c, err);
}

int guest_lock_clear(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     const char *lock, struct error **err)
{
	struct lock_change c = {.k = k, .vmid = vmid, .expect = lock};
	return lock_change_locked(gs, &c, err);
}

int guest_config_remove(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        struct error **err)
{
	char key[24];
	vmid_key(vmid, key);
	return conf_family_remove(guest_family(gs, k), key, err);
}

/* ---- startup order ------------------------------------------------------ */

static bool parse_count(const char *s, size_t len, long *ret)
{
	if (len == 0 || len > 9)
		return false;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int guest_startup_parse(const char *s, struct guest_startup *ret, struct error **err)
{
	struct guest_startup o = {.order = -1, .up = -1, .down = -1};
	const char *p = s;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		long v = 0;
		long *slot = NULL;
		if (eq) {
			size_t klen = (size_t)(eq - p);
			if (klen == 5 && !memcmp(p, "order", 5))
				slot = &o.order;
			else if (klen == 2 && !memcmp(p, "up", 2))
				slot = &o.up;
			else if (klen == 4 && !memcmp(p, "down", 4))
				slot = &o.down;
		} else if (len > 0) {
			/* the default key of PVE's startup format is order */
			slot = &o.order;
			eq = p - 1;
		}
		if (len > 0 && (!slot || !parse_count(eq + 1, (size_t)(p + len - eq - 1), &v)))
			return error_set(err, -EINVAL, 400, "invalid format - %.*s", (int)len, p);
		if (slot)
			*slot = v;
		p += len;
		if (*p == ',')
			p++;
	}
	*ret = o;
	return 0;
}

/* ---- summaries ---------------------------------------------------------- */

int guest_summary(struct guest_store *gs, const struct guest *g, json_t **ret, struct error **err)
{
	const struct guest_kind_ops *k = g->kind;
	bool running = false;
	pid_t pid = 0;
	int r = guest_is_running(gs, k, g->vmid, &running, &pid, err);
	if (r < 0)
		return r;
	json_t *e =
	    json_pack("{s:I, s:s, s:i, s:I, s:i, s:I, s:i, s:i, s:i, s:i, s:i, s:i}", "vmid",
	              (json_int_t)g->vmid, "status", running ? "running" : "stopped", "cpus", 1,
	              "maxmem", (json_int_t)0, "mem", 0, "maxdisk", (json_int_t)0, "disk", 0,
	              "uptime", 0, "netin", 0, "netout", 0, "diskread", 0, "diskwrite", 0);
	k->summary(g->vmid, g->conf, e);
	const char *name = conf_str(g->conf, "name");
	if (name)
		json_object_set_new(e, "name", json_string(name));
	json_object_set_new(e, "template", json_integer(conf_true(g->conf, "template") ? 1 : 0));
	const char *tags = conf_str(g->conf, "tags");
	if (tags)
		json_object_set_new(e, "tags", json_string(tags));
	const char *lock = conf_str(g->conf, "lock");
	if (lock)
		json_object_set_new(e, "lock", json_string(lock));
	if (running) {
		json_object_set_new(e, "pid", json_integer(pid));
		json_t *st = NULL;
		struct error *se = NULL;
		if (k->status && k->status(gs, g, &st, &se) == 0 && json_is_object(st)) {
			const char *key;
			json_t *v;
			json_object_foreach (st, key, v) {
				/* the config's words win over the run state's */
				if (!streq(key, "name") && !streq(key, "vmid") &&
				    !streq(key, "template"))
					json_object_set(e, key, v);
			}
		}
		json_decref(st);
		error_free(se);
	}
	*ret = e;
	return 0;
}
