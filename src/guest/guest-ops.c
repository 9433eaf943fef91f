/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The guest layer's task operations (guest-ops.h). */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "task.h"

static const char *arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static long long arg_int(const json_t *args, const char *key, long long def)
{
	json_t *v = json_object_get(args, key);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

static bool arg_bool(const json_t *args, const char *key, bool def)
{
	json_t *v = json_object_get(args, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	return json_is_integer(v) ? json_integer_value(v) != 0 : def;
}

/* ---- the per-guest power operations ------------------------------------- */

/* The guest's running state as the rules see it; paused from the kind's
 * status (qmpstatus) when it runs. */
static int guest_state_of(struct guest_store *gs, const struct guest *g, enum guest_op op,
                          bool *ret_running, bool *ret_paused, struct error **err)
{
	int r = guest_is_running(gs, g->kind, g->vmid, ret_running, NULL, err);
	*ret_paused = false;
	/* only the rules of shutdown and reboot read paused: the others
	 * start at once, without a round trip to the guest */
	if (r < 0 || !*ret_running || (op != GUEST_OP_SHUTDOWN && op != GUEST_OP_REBOOT))
		return r;
	if (g->kind->is_paused) {
		struct error *e = NULL;
		if (g->kind->is_paused(gs, g->vmid, ret_paused, &e) < 0)
			*ret_paused = false;
		error_free(e);
		return 0;
	}
	if (!g->kind->status)
		return r;
	json_t *st = NULL;
	struct error *e = NULL;
	if (g->kind->status(gs, g, &st, &e) == 0) {
		const char *q = json_string_value(json_object_get(st, "qmpstatus"));
		*ret_paused = q && (streq(q, "paused") || streq(q, "suspended"));
	}
	json_decref(st);
	error_free(e);
	return 0;
}

static int not_supported(const struct guest_kind_ops *k, enum guest_op op, struct error **err)
{
	return error_set(err, -EOPNOTSUPP, 500, "%s of a %s guest is not supported",
	                 guest_op_name(op), k->type);
}

/*
 * One power operation on guest args.vmid: under the config's file lock (as
 * PVE's lock_config), the config as it is now, the rules, then the kind's
 * slot.  A stop or shutdown of a stopped guest ends OK with a line.
 */
/* Pending changes apply at the next start (PVE); *g is read again after. */
static int start_pending(struct guest_store *gs, const struct guest_kind_ops *k, struct guest *g,
                         struct error **err)
{
	int r = guest_config_apply_pending_locked(gs, k, g->vmid, err);
	if (r < 0)
		return r;
	long vmid = g->vmid;
	guest_release(g);
	return guest_get(gs, k, vmid, g, err);
}

static int power_op_env(struct task_worker *w, const struct guest_ops_env *env, const json_t *args,
                        enum guest_op op, struct error **err)
{
	const struct guest_kind_ops *k = env->kind;
	long vmid = (long)arg_int(args, "vmid", 0);
	unsigned flags = 0;
	if (arg_bool(args, "skiplock", false))
		flags |= GUEST_SKIPLOCK;
	if (arg_bool(args, "force-stop", false))
		flags |= GUEST_FORCE;
	if (arg_bool(args, "todisk", false))
		flags |= GUEST_TODISK;
	long long timeout = arg_int(args, "timeout", -1);
	const char *statestorage = arg_str(args, "statestorage");

	int fd = guest_config_lock(env->gs, k, vmid, err);
	if (fd < 0)
		return fd;
	struct guest g = {0};
	bool running = false, paused = false;
	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r == 0)
		r = guest_state_of(env->gs, &g, op, &running, &paused, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running, .paused = paused};
		r = guest_check_op(k, vmid, &st, op, flags, err);
	}
	if (r < 0)
		goto out;
	if ((op == GUEST_OP_STOP || op == GUEST_OP_SHUTDOWN) && !running) {
		task_log(w, "%s %ld is not running", k->noun, vmid);
		goto out;
	}
	/* a guest suspended to disk resumes by a start from its state (PVE's
	 * vm_resume), which leaves pending changes for the next cold start */
	bool from_state = (op == GUEST_OP_START || op == GUEST_OP_RESUME) && !running &&
	                  streq_ptr(guest_conf_get(g.conf, "lock"), "suspended") &&
	                  guest_conf_get(g.conf, "vmstate");
	if (from_state) {
		r = guest_start_state_locked(env->gs, &g, w, err);
		goto out;
	}
	if (op == GUEST_OP_SUSPEND && (flags & GUEST_TODISK)) {
		r = guest_suspend_todisk_locked(env->gs, &g, statestorage, w, err);
		goto out;
	}
	/* a paused guest asked to shut down with forceStop is stopped */
	if (op == GUEST_OP_SHUTDOWN && paused) {
		task_warn(w, "%s is paused - stop instead of shutdown", k->noun);
		op = GUEST_OP_STOP;
	}
	if (op == GUEST_OP_START) {
		r = start_pending(env->gs, k, &g, err);
		if (r < 0)
			goto out;
	}
	switch (op) {
	case GUEST_OP_START:
		r = k->start ? k->start(env->gs, &g, timeout < 0 ? 0 : (unsigned)timeout, w, err)
		             : not_supported(k, op, err);
		break;
	case GUEST_OP_STOP:
		r = k->stop ? k->stop(env->gs, &g, timeout < 0 ? 0 : (unsigned)timeout, w, err)
		            : not_supported(k, op, err);
		break;
	case GUEST_OP_SHUTDOWN:
		r = k->shutdown ? k->shutdown(env->gs, &g, timeout < 0 ? 0 : (unsigned)timeout,
		                              flags & GUEST_FORCE, w, err)
		                : not_supported(k, op, err);
		break;
	case GUEST_OP_REBOOT:
		/* the kind's half is the shutdown; the start that follows applies
		 * the pending changes like any start */
		r = k->reboot && k->start
		        ? k->reboot(env->gs, &g, timeout < 0 ? 0 : (unsigned)timeout, w, err)
		        : not_supported(k, op, err);
		if (r == 0)
			r = start_pending(env->gs, k, &g, err);
		if (r == 0)
			r = k->start(env->gs, &g, 0, w, err);
		break;
	case GUEST_OP_RESET:
		r = k->reset ? k->reset(env->gs, &g, w, err) : not_supported(k, op, err);
		break;
	case GUEST_OP_SUSPEND:
		r = k->suspend ? k->suspend(env->gs, &g, w, err) : not_supported(k, op, err);
		break;
	case GUEST_OP_RESUME:
		r = k->resume ? k->resume(env->gs, &g, w, err) : not_supported(k, op, err);
		break;
	default:
		r = not_supported(k, op, err);
	}
out:
	guest_release(&g);
	unlock_file(fd);
	return r;
}

static int power_op(struct task_worker *w, const json_t *args, enum guest_op op, struct error **err)
{
	return power_op_env(w, task_worker_env(w), args, op, err);
}

#define POWER_OP(name, OP)                                                                  \
	static int op_##name(struct task_worker *w, const json_t *args, struct error **err) \
	{                                                                                   \
		return power_op(w, args, OP, err);                                          \
	}
POWER_OP(start, GUEST_OP_START)
POWER_OP(stop, GUEST_OP_STOP)
POWER_OP(shutdown, GUEST_OP_SHUTDOWN)
POWER_OP(reboot, GUEST_OP_REBOOT)
POWER_OP(reset, GUEST_OP_RESET)
POWER_OP(suspend, GUEST_OP_SUSPEND)
POWER_OP(resume, GUEST_OP_RESUME)

/*
 * Destroy: the rules under the file lock (not running, not protected, not
 * locked), then the kind frees what the guest owns, user.cfg forgets the
 * guest (its ACL entries and pool membership) and the config goes.
 * The config is removed only when everything else went: a volume that
 * could not be freed stays referenced and the task fails.
 */
static int op_destroy(struct task_worker *w, const json_t *args, struct error **err)
{
	struct guest_ops_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = (long)arg_int(args, "vmid", 0);
	unsigned flags = arg_bool(args, "skiplock", false) ? GUEST_SKIPLOCK : 0;
	int fd = guest_config_lock(env->gs, k, vmid, err);
	if (fd < 0)
		return fd;
	struct guest g = {0};
	bool running = false;
	int r = guest_get(env->gs, k, vmid, &g, err);
	if (r == 0)
		r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	/* lxc's force: a running container is stopped first (PVE) */
	if (r == 0 && running && arg_bool(args, "force", false) && k->stop) {
		struct guest_state st = {.conf = g.conf, .running = true};
		r = guest_check_op(k, vmid, &st, GUEST_OP_STOP, flags, err);
		if (r == 0)
			r = k->stop(env->gs, &g, 0, w, err);
		if (r == 0)
			r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	}
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_DESTROY, flags, err);
	}
	/* the run state first: a container's image is unmounted before its
	 * volume goes */
	if (r == 0 && k->destroy)
		r = k->destroy(env->gs, &g, w, err);
	if (r == 0)
		r = guest_disks_destroy(env->gs, &g,
		                        arg_bool(args, "destroy-unreferenced-disks", true), w, err);
	/* before the config goes, as PVE: once the id is free a new guest may
	 * take it, and must not find the old one's ACLs or pool */
	if (r == 0)
		r = guest_access_forget(env->gs, vmid, err);
	guest_release(&g);
	unlock_file(fd);
	if (r == 0)
		r = guest_config_remove(env->gs, k, vmid, err);
	if (r == 0 && arg_bool(args, "purge", false))
		task_log(w, "purge: no backup jobs, replication or HA resources reference %s %ld",
		         k->noun, vmid);
	return r;
}

/* The set object of a create or config task ("conf"/"set": JSON text of
 * key -> string); every value checked again against the kind's table, as
 * an exec'd worker must not trust what it is given. */
static int set_arg(const struct guest_kind_ops *k, const json_t *args, const char *name,
                   json_t **ret, struct error **err)
{
	const char *text = arg_str(args, name);
	json_t *o = text ? json_loads(text, 0, NULL) : json_object();
	if (!json_is_object(o)) {
		json_decref(o);
		return error_set(err, -EINVAL, 400, "invalid '%s' argument", name);
	}
	const char *key;
	json_t *v;
	json_object_foreach (o, key, v) {
		char *norm = NULL;
		int r = json_is_string(v)
		            ? guest_config_check_value(k, key, json_string_value(v), &norm, err)
		            : error_param(err, key, "invalid value");
		if (r < 0) {
			json_decref(o);
			return r;
		}
		json_object_set_new(o, key, json_string(norm));
		free(norm);
	}
	*ret = o;
	return 0;
}

/* The config of a new guest, written over its `lock: create` reservation. */
struct create_write {
	const struct guest_kind_ops *k;
	const json_t *set;
};

static int write_created(void *obj, void *arg, struct error **err)
{
	const struct create_write *c = arg;
	json_t *conf = c->k->main_section(obj);
	if (!streq_ptr(json_string_value(json_object_get(conf, "lock")), "create"))
		return error_set(err, -EBUSY, 500, "%s config lost its create lock", c->k->noun);
	json_object_update(conf, (json_t *)c->set);
	json_object_del(conf, "lock");
	return 0;
}

void guest_op_create_undo(struct task_worker *w, struct guest_store *gs,
                          const struct guest_kind_ops *k, long vmid, const json_t *allocated,
                          const char *pool)
{
	for (size_t i = json_array_size(allocated); i-- > 0;) {
		const char *volid = json_string_value(json_array_get(allocated, i));
		struct error *e = NULL;
		if (guest_volume_free(gs, volid, w, &e) < 0)
			task_warn(w, "unable to free volume '%s': %s", volid, e ? e->msg : "?");
		error_free(e);
	}
	struct error *e = NULL;
	if (pool && guest_access_pool_remove(gs, vmid, pool, &e) < 0)
		task_warn(w, "unable to remove %s %ld from pool '%s': %s", k->noun, vmid, pool,
		          e ? e->msg : "?");
	error_free(e);
	e = NULL;
	guest_config_remove(gs, k, vmid, &e);
	error_free(e);
}

/*
 * qmcreate {vmid, conf, [start], [pool]}: the API reserved <vmid>.conf with
 * `lock: create`; the VM joins its pool, the disks are allocated (or
 * imported), the config written without the lock, and the VM started when
 * asked.  Any failure before the config is written frees what was
 * allocated, takes the VM out of the pool again and removes the
 * reservation: a failed create leaves no config, no volume and no pool
 * member.
 */
int guest_op_create(struct task_worker *w, const json_t *args, guest_create_fill_fn *fill,
                    struct error **err)
{
	struct guest_ops_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = (long)arg_int(args, "vmid", 0);
	_cleanup_json_ json_t *set = NULL;
	_cleanup_json_ json_t *allocated = json_array();
	const char *pool = arg_str(args, "pool");
	bool pooled = false;
	int r = set_arg(k, args, "conf", &set, err);
	/* the pool first, while <vmid>.conf holds only the reservation: a pool
	 * gone meanwhile fails the create before anything is allocated */
	if (r == 0 && pool) {
		r = guest_access_pool_add(env->gs, vmid, pool, err);
		pooled = r == 0;
	}
	if (r == 0)
		r = guest_disks_allocate(env->gs, k, vmid, set, w, allocated, err);
	if (r == 0 && fill)
		r = fill(env->gs, k, vmid, args, set, w, err);
	if (r == 0) {
		char key[24];
		snprintf(key, sizeof(key), "%ld", vmid);
		struct create_write c = {.k = k, .set = set};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_created, &c, err);
	}
	if (r < 0) {
		guest_op_create_undo(w, env->gs, k, vmid, allocated, pooled ? pool : NULL);
		return r;
	}
	task_log(w, "%s %ld created", k->noun, vmid);
	if (arg_bool(args, "start", false)) {
		_cleanup_json_ json_t *a = json_pack("{s:I}", "vmid", (json_int_t)vmid);
		return power_op_env(w, env, a, GUEST_OP_START, err);
	}
	return 0;
}

static int op_create(struct task_worker *w, const json_t *args, struct error **err)
{
	return guest_op_create(w, args, NULL, err);
}

/* qmconfig {vmid, set, [delete], [revert], [digest], [force], [skiplock]}:
 * POST .../config, the same update as PUT's, with new disks allocated
 * first (freed again if the update is refused). */
static int op_config(struct task_worker *w, const json_t *args, struct error **err)
{
	struct guest_ops_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = (long)arg_int(args, "vmid", 0);
	_cleanup_json_ json_t *set = NULL;
	int r = set_arg(k, args, "set", &set, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *hotplug_errors = json_object();
	struct guest_config_change c = {
	    .set = set,
	    .delete = arg_str(args, "delete"),
	    .revert = arg_str(args, "revert"),
	    .digest = arg_str(args, "digest"),
	    .force = arg_bool(args, "force", false),
	    .flags = arg_bool(args, "skiplock", false) ? GUEST_SKIPLOCK : 0,
	    .hotplug_errors = hotplug_errors,
	};
	r = guest_config_change_check(k, &c, err);
	if (r == 0)
		r = guest_config_change_apply(env->gs, k, vmid, set, &c, w, err);
	if (r < 0)
		return r;
	const char *key;
	json_t *v;
	json_object_foreach (set, key, v)
		task_log(w, "update %s: %s", key, json_string_value(v));
	/* the config is written; what the running guest refused stays pending
	 * and fails the task, as PVE's worker dies of update_vm_api's errors */
	json_object_foreach (hotplug_errors, key, v)
		task_warn(w, "%s: %s", key, json_string_value(v));
	return guest_config_hotplug_error(hotplug_errors, true, err);
}

static int check_vmid(const json_t *args, struct error **err)
{
	long long vmid = arg_int(args, "vmid", 0);
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %lld", vmid);
	return 0;
}

static const struct task_op_arg power_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "timeout", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = "skiplock", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "force-stop", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "todisk", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "statestorage", .type = TASK_ARG_STRING, .optional = true, .max_len = 100},
    {.name = NULL},
};

static const struct task_op_arg destroy_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "skiplock", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "purge", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "destroy-unreferenced-disks", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "force", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

static const struct task_op_arg create_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "conf", .type = TASK_ARG_STRING, .max_len = GUEST_CONF_ARG_MAX},
    {.name = "start", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "pool", .type = TASK_ARG_STRING, .optional = true},
    {.name = NULL},
};

static const struct task_op_arg config_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "set", .type = TASK_ARG_STRING, .max_len = GUEST_CONF_ARG_MAX},
    {.name = "delete", .type = TASK_ARG_STRING, .optional = true},
    {.name = "revert", .type = TASK_ARG_STRING, .optional = true},
    {.name = "digest", .type = TASK_ARG_STRING, .optional = true},
    {.name = "force", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "skiplock", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

/* The operations every kind has (Proxmox's UPID types: the kind's prefix
 * and the name); qemu's reset and its asynchronous config are its own. */
static const struct guest_op_def power_op_defs[] = {
    {.name = "start", .args = power_args, .check = check_vmid, .run = op_start},
    {.name = "stop", .args = power_args, .check = check_vmid, .run = op_stop},
    {.name = "shutdown", .args = power_args, .check = check_vmid, .run = op_shutdown},
    {.name = "reboot", .args = power_args, .check = check_vmid, .run = op_reboot},
    {.name = "reset",
     .caps = GUEST_CAP_RESET,
     .args = power_args,
     .check = check_vmid,
     .run = op_reset},
    {.name = "suspend",
     .caps = GUEST_CAP_SUSPEND,
     .args = power_args,
     .check = check_vmid,
     .run = op_suspend},
    {.name = "resume",
     .caps = GUEST_CAP_SUSPEND,
     .args = power_args,
     .check = check_vmid,
     .run = op_resume},
    {.name = "destroy", .args = destroy_args, .check = check_vmid, .run = op_destroy},
    {.name = "create", .kind = "qemu", .args = create_args, .check = check_vmid, .run = op_create},
    {.name = "config", .kind = "qemu", .args = config_args, .check = check_vmid, .run = op_config},
    {.run = NULL},
};

/* ---- startall / stopall ------------------------------------------------- */

struct bulk_item {
	struct guest_id id;
	struct guest_startup su;
	bool onboot;
};

/* Proxmox's order: guests with an order first, by order, then the rest,
 * each group by vmid.  stopall walks it backwards. */
static int cmp_startup(const void *a, const void *b)
{
	const struct bulk_item *x = a, *y = b;
	long ox = x->su.order < 0 ? LONG_MAX : x->su.order;
	long oy = y->su.order < 0 ? LONG_MAX : y->su.order;
	if (ox != oy)
		return ox < oy ? -1 : 1;
	return (x->id.vmid > y->id.vmid) - (x->id.vmid < y->id.vmid);
}

/* vms: PVE's pve-vmid-list, comma, semicolon or blank separated. */
static bool in_list(const char *vms, long vmid)
{
	if (!vms || !*vms)
		return true;
	char buf[24];
	snprintf(buf, sizeof(buf), "%ld", vmid);
	size_t n = strlen(buf);
	for (const char *p = vms; *p;) {
		size_t len = strcspn(p, ",; \t");
		if (len == n && !memcmp(p, buf, n))
			return true;
		p += len;
		p += strspn(p, ",; \t");
	}
	return false;
}

#define BULK_MAX 4096

static int bulk_collect(struct guest_store *gs, const char *vms, struct bulk_item **ret,
                        size_t *ret_n, struct error **err)
{
	_cleanup_free_ struct guest_id *ids = NULL;
	size_t n = 0;
	int r = guest_list(gs, NULL, &ids, &n, err);
	if (r < 0)
		return r;
	if (n > BULK_MAX)
		n = BULK_MAX;
	struct bulk_item *items = calloc(n + 1, sizeof(*items));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!in_list(vms, ids[i].vmid))
			continue;
		struct guest g = {0};
		if (guest_get(gs, ids[i].kind, ids[i].vmid, &g, NULL) < 0)
			continue;
		struct bulk_item it = {.id = ids[i], .su = {.order = -1, .up = -1, .down = -1}};
		const char *su = json_string_value(json_object_get(g.conf, "startup"));
		if (su)
			guest_startup_parse(su, &it.su, NULL);
		const char *ob = json_string_value(json_object_get(g.conf, "onboot"));
		it.onboot = ob && streq(ob, "1");
		guest_release(&g);
		items[m++] = it;
	}
	qsort(items, m, sizeof(*items), cmp_startup);
	*ret = items;
	*ret_n = m;
	return 0;
}

/* Sleeps s seconds in steps, ending early on a stop request. */
static void bulk_sleep(struct task_worker *w, long s)
{
	for (long i = 0; i < s * 10 && !task_stop_requested(w); i++)
		usleep(100 * 1000);
}

/*
 * Starts the guests with onboot (all with force) one at a time in startup
 * order, waiting `up` seconds after each that has it, as PVE's startall.
 * One at a time is the bound: a start that fails is logged and the walk
 * goes on; the task then ends with warnings.
 */
static int op_startall(struct task_worker *w, const json_t *args, struct error **err)
{
	struct guest_ops_env *env = task_worker_env(w);
	bool force = arg_bool(args, "force", false);
	const char *vms = arg_str(args, "vms");
	if (vms && *vms)
		task_log(w, "starting guests: %s", vms);
	_cleanup_free_ struct bulk_item *items = NULL;
	size_t n = 0;
	int r = bulk_collect(env->gs, arg_str(args, "vms"), &items, &n, err);
	if (r < 0)
		return r;
	size_t started = 0;
	for (size_t i = 0; i < n && !task_stop_requested(w); i++) {
		const struct guest_kind_ops *k = items[i].id.kind;
		long vmid = items[i].id.vmid;
		if (!force && !items[i].onboot)
			continue;
		bool running = false;
		if (guest_is_running(env->gs, k, vmid, &running, NULL, NULL) == 0 && running)
			continue;
		task_log(w, "Starting %s %ld", k->noun, vmid);
		struct guest_ops_env one = {.gs = env->gs, .kind = k};
		_cleanup_json_ json_t *a = json_pack("{s:I}", "vmid", (json_int_t)vmid);
		struct error *e = NULL;
		r = power_op_env(w, &one, a, GUEST_OP_START, &e);
		if (r < 0) {
			task_warn(w, "Starting %s %ld failed: %s", k->noun, vmid,
			          e ? e->msg : "unknown error");
			error_free(e);
			continue;
		}
		started++;
		if (items[i].su.up > 0) {
			task_log(w, "Waiting for %ld seconds (startup delay)", items[i].su.up);
			bulk_sleep(w, items[i].su.up);
		}
	}
	if (!started)
		task_log(w, "no guests to start");
	return task_stop_requested(w) ? error_set(err, -EINTR, 500, "received interrupt") : 0;
}

/* Shuts the running guests down in reverse startup order, one at a time,
 * each with its `down` timeout (else the call's, default 180 s) and a hard
 * stop after it unless force-stop=0. */
static int op_stopall(struct task_worker *w, const json_t *args, struct error **err)
{
	struct guest_ops_env *env = task_worker_env(w);
	long long timeout = arg_int(args, "timeout", 180);
	bool force_stop = arg_bool(args, "force-stop", true);
	const char *vms = arg_str(args, "vms");
	if (vms && *vms)
		task_log(w, "stopping guests: %s", vms);
	_cleanup_free_ struct bulk_item *items = NULL;
	size_t n = 0;
	int r = bulk_collect(env->gs, arg_str(args, "vms"), &items, &n, err);
	if (r < 0)
		return r;
	size_t stopped = 0;
	for (size_t i = n; i-- > 0 && !task_stop_requested(w);) {
		const struct guest_kind_ops *k = items[i].id.kind;
		long vmid = items[i].id.vmid;
		bool running = false;
		if (guest_is_running(env->gs, k, vmid, &running, NULL, NULL) < 0 || !running)
			continue;
		task_log(w, "Stopping %s %ld (timeout = %lld seconds)", k->noun, vmid,
		         items[i].su.down >= 0 ? (long long)items[i].su.down : timeout);
		struct guest_ops_env one = {.gs = env->gs, .kind = k};
		_cleanup_json_ json_t *a =
		    json_pack("{s:I, s:I, s:b}", "vmid", (json_int_t)vmid, "timeout",
		              (json_int_t)(items[i].su.down >= 0 ? items[i].su.down : timeout),
		              "force-stop", force_stop);
		struct error *e = NULL;
		r = power_op_env(w, &one, a, GUEST_OP_SHUTDOWN, &e);
		if (r < 0) {
			task_warn(w, "Stopping %s %ld failed: %s", k->noun, vmid,
			          e ? e->msg : "unknown error");
			error_free(e);
			continue;
		}
		stopped++;
	}
	if (!stopped)
		task_log(w, "no guests to stop");
	return task_stop_requested(w) ? error_set(err, -EINTR, 500, "received interrupt") : 0;
}

static const struct task_op_arg bulk_args[] = {
    {.name = "vms", .type = TASK_ARG_STRING, .optional = true},
    {.name = "force", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "force-stop", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = "timeout", .type = TASK_ARG_INTEGER, .optional = true},
    {.name = NULL},
};

static const struct task_op guest_task_ops[] = {
    {.type = "startall", .args = bulk_args, .run = op_startall},
    {.type = "stopall", .args = bulk_args, .run = op_stopall},
    {.type = NULL},
};

/* ---- the tables of the kinds, generated from the rows ------------------- */

#define KINDS_MAX 4
#define DEFS_MAX  48
#define TYPE_MAX  24

/*
 * The registry keeps pointers into the tables, so they are static, filled
 * in the same way by every registration (a test may make several
 * registries; the daemon makes one).  Each kind's rows come first, then
 * one table of the rows whose type serves every kind.
 */
static struct task_op kind_tables[KINDS_MAX + 1][DEFS_MAX + 1];
static char kind_types[KINDS_MAX + 1][DEFS_MAX][TYPE_MAX];
static struct guest_ops_env kind_envs[KINDS_MAX + 1];

static const struct guest_op_def *const all_defs[] = {
    power_op_defs,       guest_snapshot_op_defs, guest_disk_op_defs,
    guest_clone_op_defs, guest_lxc_op_defs,
};

static bool def_applies(const struct guest_op_def *d, const struct guest_kind_ops *k)
{
	if (!k)
		return d->type && !d->kind; /* the shared table */
	if (d->type && !d->kind)
		return false;
	if (d->kind && !streq(d->kind, k->type))
		return false;
	return (k->caps & d->caps) == d->caps;
}

static int build_table(size_t slot, const struct guest_kind_ops *k, struct error **err)
{
	size_t n = 0;
	for (size_t t = 0; t < ARRAY_SIZE(all_defs); t++)
		for (const struct guest_op_def *d = all_defs[t]; d->run; d++) {
			if (!def_applies(d, k))
				continue;
			if (n >= DEFS_MAX)
				return error_set(err, -E2BIG, 500, "too many guest operations");
			char *type = kind_types[slot][n];
			int len = d->type ? snprintf(type, TYPE_MAX, "%s", d->type)
			                  : snprintf(type, TYPE_MAX, "%s%s", k->task_pfx, d->name);
			if (len < 0 || len >= TYPE_MAX)
				return error_set(err, -E2BIG, 500, "task type too long");
			kind_tables[slot][n++] = (struct task_op){
			    .type = type, .args = d->args, .check = d->check, .run = d->run};
		}
	kind_tables[slot][n] = (struct task_op){.type = NULL};
	return 0;
}

int guest_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err)
{
	/* static: the registry keeps the pointers for the daemon's life */
	static struct guest_ops_env node_env;
	node_env = (struct guest_ops_env){.gs = gs};
	int r = task_ops_register(reg, guest_task_ops, gs ? &node_env : NULL, err);
	size_t slot = 0;
	for (; r == 0 && guest_kinds[slot]; slot++) {
		if (slot >= KINDS_MAX)
			return error_set(err, -E2BIG, 500, "too many guest kinds");
		kind_envs[slot] = (struct guest_ops_env){.gs = gs, .kind = guest_kinds[slot]};
		r = build_table(slot, guest_kinds[slot], err);
		if (r == 0)
			r = task_ops_register(reg, kind_tables[slot], gs ? &kind_envs[slot] : NULL,
			                      err);
	}
	if (r == 0) {
		kind_envs[slot] = (struct guest_ops_env){.gs = gs};
		r = build_table(slot, NULL, err);
	}
	if (r == 0)
		r = task_ops_register(reg, kind_tables[slot], gs ? &kind_envs[slot] : NULL, err);
	return r;
}
