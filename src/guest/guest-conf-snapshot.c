/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A snapshot's bookkeeping in a guest config (guest-conf.h): what PVE's
 * AbstractConfig (and QemuConfig's and LXC::Config's hooks, through the
 * kind's rules) do to the config around the volume operations of snapshot
 * create, delete and rollback, step by step, with their messages.  Pure:
 * the caller holds the file's lock, runs the volume and QEMU operations
 * between the steps and writes the config after each.
 */
#include "common.h"

#include <sys/random.h>

#include "error.h"
#include "qemu-conf.h"
#include "strv.h"
#include "xalloc.h"

/* PVE dies with these: 500, as any other task failure */
#define fail(err, ...) error_set(err, -EINVAL, 500, __VA_ARGS__)

static int check_lock(const struct guest_snapshot_rules *k, const json_t *conf, struct error **err)
{
	const char *lock = guest_conf_get(conf, "lock");
	return lock ? fail(err, "%s is locked (%s)", k->noun, lock) : 0;
}

static bool is_unused_key(const char *k)
{
	if (strncmp(k, "unused", 6) != 0 || !k[6])
		return false;
	for (const char *p = k + 6; *p; p++)
		if (!(*p >= '0' && *p <= '9'))
			return false;
	return true;
}

/* QemuConfig's __snapshot_copy_config() */
static void copy_config(const json_t *src, json_t *dst)
{
	static const char *const skip[] = {"snapstate", "snaptime", "vmstate",
	                                   "lock",      "digest",   "description"};
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)src, k, v) {
		bool skipped = is_unused_key(k);
		for (size_t i = 0; i < ARRAY_SIZE(skip) && !skipped; i++)
			skipped = streq(k, skip[i]);
		if (!skipped)
			json_object_set(dst, k, v);
	}
}

static json_t *snapshot_of(const struct guest_conf *c, const char *name, struct error **err)
{
	json_t *s = json_object_get(c->snapshots, name);
	if (!s)
		fail(err, "snapshot '%s' does not exist", name);
	return s;
}

int guest_conf_snapshot_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                const char *name, const struct guest_snapshot_opts *o,
                                struct error **err)
{
	if (streq_ptr(guest_conf_get(c->conf, "template"), "1"))
		return fail(err, "you can't take a snapshot if it's a template");
	int r = check_lock(k, c->conf, err);
	if (r < 0)
		return r;
	if (json_object_get(c->snapshots, name))
		return fail(err, "snapshot name '%s' already used", name);
	if (k->no_vmstate && o->vmstate)
		return fail(err, "implement me - snapshot_save_vmstate");
	json_t *snap = json_object();
	guest_conf_set(snap, "vmstate", o->vmstate);
	guest_conf_set(snap, "runningmachine", o->runningmachine);
	guest_conf_set(snap, "runningcpu", o->runningcpu);
	copy_config(c->conf, snap);
	guest_conf_set(snap, "snapstate", "prepare");
	char t[24];
	snprintf(t, sizeof(t), "%lld", (long long)o->snaptime);
	guest_conf_set(snap, "snaptime", t);
	if (o->comment && *o->comment)
		guest_conf_set(snap, "description", o->comment);
	json_object_set_new(c->snapshots, name, snap);
	guest_conf_set(c->conf, "lock", "snapshot");
	return 0;
}

int guest_conf_snapshot_commit(const struct guest_snapshot_rules *k, struct guest_conf *c,
                               const char *name, struct error **err)
{
	if (!streq_ptr(guest_conf_get(c->conf, "lock"), "snapshot"))
		return fail(err, "missing snapshot lock");
	json_t *snap = snapshot_of(c, name, err);
	if (!snap)
		return -EINVAL;
	if (!streq_ptr(guest_conf_get(snap, "snapstate"), "prepare"))
		return fail(err, "wrong snapshot state");
	guest_conf_set(snap, "snapstate", NULL);
	guest_conf_set(c->conf, "lock", NULL);
	guest_conf_set(c->conf, "parent", name);
	return 0;
}

int guest_conf_snapshot_delete_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                       const char *name, struct error **err)
{
	int r = check_lock(k, c->conf, err);
	if (r < 0)
		return r;
	if (streq_ptr(guest_conf_get(c->conf, "template"), "1"))
		return fail(err, "you can't delete a snapshot if vm is a template");
	json_t *snap = snapshot_of(c, name, err);
	if (!snap)
		return -EINVAL;
	guest_conf_set(snap, "snapstate", "delete");
	return 0;
}

/* PVE's $unlink_parent */
static void unlink_parent(json_t *section, const char *name, const char *new_parent)
{
	if (streq_ptr(guest_conf_get(section, "parent"), name))
		guest_conf_set(section, "parent", new_parent);
}

int guest_conf_snapshot_delete_finish(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                      const char *name, struct error **err)
{
	int r = check_lock(k, c->conf, err);
	if (r < 0)
		return r;
	json_t *snap = snapshot_of(c, name, err);
	if (!snap)
		return -EINVAL;
	_cleanup_free_ char *parent =
	    guest_conf_get(snap, "parent") ? xstrdup(guest_conf_get(snap, "parent")) : NULL;
	unlink_parent(c->conf, name, parent);
	const char *sn;
	json_t *v;
	json_object_foreach (c->snapshots, sn, v)
		if (!streq(sn, name))
			unlink_parent(v, name, parent);
	json_object_del(c->snapshots, name);
	return 0;
}

int guest_conf_snapshot_rollback_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                         const char *name, struct error **err)
{
	json_t *snap = snapshot_of(c, name, err);
	if (!snap)
		return -EINVAL;
	if (streq_ptr(guest_conf_get(c->conf, "template"), "1"))
		return fail(err, "you can't rollback if vm is a template");
	const char *state = guest_conf_get(snap, "snapstate");
	if (state)
		return fail(err, "unable to rollback to incomplete snapshot (snapstate = %s)",
		            state);
	int r = check_lock(k, c->conf, err);
	if (r < 0)
		return r;
	if (k->no_vmstate && guest_conf_get(snap, "vmstate"))
		return fail(err, "implement me - save vmstate");
	guest_conf_set(c->conf, "lock", "rollback");
	return 0;
}

/* PVE's add_unused_volume(): the first free unusedN, unless volid is
 * unused already. */
static void add_unused(json_t *conf, const char *volid)
{
	int free_slot = -1;
	for (int i = 0; i <= 255; i++) {
		char key[24];
		snprintf(key, sizeof(key), "unused%d", i);
		const char *v = guest_conf_get(conf, key);
		if (v && streq(v, volid))
			return;
		if (!v && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		char key[24];
		snprintf(key, sizeof(key), "unused%d", free_slot);
		guest_conf_set(conf, key, volid);
	}
}

int guest_conf_snapshot_rollback_finish(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                        const char *name, struct error **err)
{
	json_t *snap = snapshot_of(c, name, err);
	if (!snap)
		return -EINVAL;
	if (!streq_ptr(guest_conf_get(c->conf, "lock"), "rollback"))
		return error_set(err, -EINVAL, 500,
		                 "unable to rollback: the config is not locked for it");

	/* volumes the current config uses and the snapshot does not become unused */
	_cleanup_strv_free_ char **now = NULL, **then = NULL;
	int r = k->volumes(c->conf, &now, err);
	if (r < 0 || (r = k->volumes(snap, &then, err)) < 0)
		return r;

	/* __snapshot_apply_config(): keep the description and the unused
	 * volumes, take the rest from the snapshot; pending changes and special
	 * sections do not survive (PVE keeps only the snapshot list) */
	json_t *conf = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (c->conf, key, v)
		if (is_unused_key(key) || streq(key, "description"))
			json_object_set(conf, key, v);
	copy_config(snap, conf);
	guest_conf_set(conf, "parent", name);

	if (k->rollback_hook)
		k->rollback_hook(conf, c->conf, snap);
	for (char **n = now; n && *n; n++)
		if (!strv_contains(then, *n))
			add_unused(conf, *n);

	json_decref(c->conf);
	c->conf = conf;
	json_object_clear(c->pending);
	json_object_clear(c->special);
	return 0;
}

/* --- qemu-server --- */

static int collect_volid(const struct qemu_drive *d, void *userdata, struct error **err)
{
	if (!d->cdrom)
		strv_extend(userdata, d->file);
	return 0;
}

static int qemu_volumes(const json_t *section, char ***ret, struct error **err)
{
	return qemu_conf_foreach_drive(section, false, collect_volid, ret, err);
}

static void random_uuid(char out[40])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		abort();
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* QemuConfig's rollback hook: the machine QEMU ran with; another
 * generation for the guest. */
static void qemu_rollback_hook(json_t *conf, const json_t *old, const json_t *snap)
{
	bool had_machine = guest_conf_get(old, "machine") != NULL;
	if (guest_conf_get(conf, "runningmachine")) {
		guest_conf_set(conf, "runningmachine", NULL);
		guest_conf_set(conf, "runningcpu", NULL);
	} else if (guest_conf_get(snap, "vmstate") && !had_machine) {
		guest_conf_set(conf, "machine", NULL);
	}
	const char *genid = guest_conf_get(conf, "vmgenid");
	if (genid && !streq(genid, "0")) {
		char uuid[40];
		random_uuid(uuid);
		guest_conf_set(conf, "vmgenid", uuid);
	}
}

const struct guest_snapshot_rules qemu_snapshot_rules = {
    .noun = "VM",
    .volumes = qemu_volumes,
    .rollback_hook = qemu_rollback_hook,
};

int qemu_conf_snapshot_prepare(struct guest_conf *c, const char *name,
                               const struct guest_snapshot_opts *o, struct error **err)
{
	return guest_conf_snapshot_prepare(&qemu_snapshot_rules, c, name, o, err);
}

int qemu_conf_snapshot_commit(struct guest_conf *c, const char *name, struct error **err)
{
	return guest_conf_snapshot_commit(&qemu_snapshot_rules, c, name, err);
}

int qemu_conf_snapshot_delete_prepare(struct guest_conf *c, const char *name, struct error **err)
{
	return guest_conf_snapshot_delete_prepare(&qemu_snapshot_rules, c, name, err);
}

int qemu_conf_snapshot_delete_finish(struct guest_conf *c, const char *name, struct error **err)
{
	return guest_conf_snapshot_delete_finish(&qemu_snapshot_rules, c, name, err);
}

int qemu_conf_snapshot_rollback_prepare(struct guest_conf *c, const char *name, struct error **err)
{
	return guest_conf_snapshot_rollback_prepare(&qemu_snapshot_rules, c, name, err);
}

int qemu_conf_snapshot_rollback_finish(struct guest_conf *c, const char *name, struct error **err)
{
	return guest_conf_snapshot_rollback_finish(&qemu_snapshot_rules, c, name, err);
}
