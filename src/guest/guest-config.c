/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reading and changing guest configs (guest.h, "reading and changing
 * configs"): the same for every kind, from the kind's property table and
 * the sections of its parsed file.  PVE: update_vm_api, vmconfig_*_pending.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "guest.h"
#include "jsonutil.h"
#include "log.h"
#include "property.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- values ------------------------------------------------------------- */

int guest_config_check_value(const struct guest_kind_ops *k, const char *key, const char *value,
                             char **ret_value, struct error **err)
{
	if (k->check_value)
		return k->check_value(key, value, ret_value, err);
	const struct conf_prop *p = conf_props_find(k->props, key, NULL);
	if (!p)
		return error_param(
		    err, key,
		    "property is not defined in schema and the schema does not allow "
		    "additional properties");
	_cleanup_free_ char *norm = NULL;
	int r = conf_prop_check_value(p, k->formats, key, value, NULL, &norm, err);
	if (r < 0)
		return r;
	if (k->prepare_value)
		return k->prepare_value(key, norm, ret_value, err);
	*ret_value = TAKE_PTR(norm);
	return 0;
}

static json_t *typed(const struct conf_prop *p, const char *v)
{
	char *end = NULL;
	switch (p ? p->type : CONF_TYPE_STRING) {
	case CONF_TYPE_INTEGER:
	case CONF_TYPE_BOOLEAN: {
		long long n = strtoll(v, &end, 10);
		if (end && end != v && !*end)
			return json_integer(n);
		break;
	}
	case CONF_TYPE_NUMBER: {
		double d = strtod(v, &end);
		if (end && end != v && !*end)
			return json_real(d);
		break;
	}
	default:
		break;
	}
	return json_string(v);
}

json_t *guest_config_to_api(const struct guest_kind_ops *k, const json_t *section)
{
	json_t *o = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)section, key, v) {
		if (streq(key, GUEST_CONF_RAW_KEY) && json_is_array(v)) {
			/* PVE: the raw keys as [[key, value], ...] */
			json_object_set_new(o, key, json_deep_copy(v));
			continue;
		}
		if (!json_is_string(v))
			continue;
		json_object_set_new(
		    o, key, typed(conf_props_find(k->props, key, NULL), json_string_value(v)));
	}
	return o;
}

/* ---- the pending "delete" list ------------------------------------------ */

/* Whether list ("k1,!k2") names key; *ret_force when it is marked '!'. */
static bool list_has(const char *list, const char *key, bool *ret_force)
{
	size_t n = strlen(key);
	for (const char *p = list ? list : ""; *p;) {
		size_t len = strcspn(p, ",; ");
		bool force = *p == '!';
		const char *name = force ? p + 1 : p;
		size_t nlen = force ? len - 1 : len;
		if (len && nlen == n && !memcmp(name, key, n)) {
			if (ret_force)
				*ret_force = force;
			return true;
		}
		p += len;
		p += strspn(p, ",; ");
	}
	return false;
}

/* list with key added (force: '!'), or removed (add false); malloc'd, NULL
 * when empty. */
static char *list_change(const char *list, const char *key, bool add, bool force)
{
	size_t cap = (list ? strlen(list) : 0) + strlen(key) + 3;
	char *out = xmalloc(cap);
	out[0] = '\0';
	size_t n = strlen(key);
	for (const char *p = list ? list : ""; *p;) {
		size_t len = strcspn(p, ",; ");
		const char *name = *p == '!' ? p + 1 : p;
		size_t nlen = *p == '!' ? len - 1 : len;
		if (len && !(nlen == n && !memcmp(name, key, n))) {
			if (*out)
				strcat(out, ",");
			strncat(out, p, len);
		}
		p += len;
		p += strspn(p, ",; ");
	}
	if (add) {
		if (*out)
			strcat(out, ",");
		if (force)
			strcat(out, "!");
		strcat(out, key);
	}
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- reading ------------------------------------------------------------ */

int guest_config_read(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      bool current, const char *snapname, json_t **ret, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	const void *parsed = conf_snapshot_data(g.snap);
	json_t *out = NULL;
	if (snapname) {
		json_t *snaps = k->snapshot_sections ? k->snapshot_sections(parsed) : NULL;
		json_t *s = json_object_get(snaps, snapname);
		if (!s) {
			guest_release(&g);
			return error_set(err, -ENOENT, 500, "snapshot '%s' does not exist",
			                 snapname);
		}
		out = guest_config_to_api(k, s);
	} else {
		_cleanup_json_ json_t *merged = json_deep_copy(g.conf);
		json_t *pending = k->pending_section ? k->pending_section(parsed) : NULL;
		if (!current && pending) {
			const char *del = json_string_value(json_object_get(pending, "delete"));
			const char *key;
			json_t *v;
			json_object_foreach (pending, key, v) {
				if (!streq(key, "delete"))
					json_object_set(merged, key, v);
			}
			void *tmp;
			json_object_foreach_safe (merged, tmp, key, v) {
				if (list_has(del, key, NULL))
					json_object_del(merged, key);
			}
		}
		out = guest_config_to_api(k, merged);
	}
	json_object_set_new(out, "digest", json_string(conf_snapshot_digest(g.snap)));
	guest_release(&g);
	*ret = out;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int guest_config_pending(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         json_t **ret, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	const void *parsed = conf_snapshot_data(g.snap);
	json_t *pending = k->pending_section ? k->pending_section(parsed) : NULL;
	const char *del = json_string_value(json_object_get(pending, "delete"));
	/* every key of the config and of the pending section, sorted */
	_cleanup_json_ json_t *keys = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)g.conf, key, v)
		if (json_is_string(v)) /* not the raw keys */
			json_object_set_new(keys, key, json_true());
	json_object_foreach (pending, key, v) {
		if (!streq(key, "delete") && json_is_string(v))
			json_object_set_new(keys, key, json_true());
	}
	size_t n = json_object_size(keys), i = 0;
	const char **names = xmalloc((n + 1) * sizeof(*names));
	json_object_foreach (keys, key, v)
		names[i++] = key;
	qsort(names, n, sizeof(*names), cmp_key);
	json_t *a = json_array();
	for (i = 0; i < n; i++) {
		const struct conf_prop *p = conf_props_find(k->props, names[i], NULL);
		json_t *e = json_pack("{s:s}", "key", names[i]);
		const char *cur = json_string_value(json_object_get(g.conf, names[i]));
		const char *pend = json_string_value(json_object_get(pending, names[i]));
		if (cur)
			json_object_set_new(e, "value", typed(p, cur));
		if (pend)
			json_object_set_new(e, "pending", typed(p, pend));
		bool force = false;
		if (list_has(del, names[i], &force))
			json_object_set_new(e, "delete", json_integer(force ? 2 : 1));
		json_array_append_new(a, e);
	}
	free(names);
	guest_release(&g);
	*ret = a;
	return 0;
}

/* ---- changing ----------------------------------------------------------- */

typedef int key_fn(const char *key, void *arg, struct error **err);

static int foreach_list(const char *list, key_fn *fn, void *arg, struct error **err)
{
	for (const char *p = list ? list : ""; *p;) {
		size_t len = strcspn(p, ",; ");
		if (len) {
			_cleanup_free_ char *key = xstrndup(p, len);
			int r = fn(key, arg, err);
			if (r < 0)
				return r;
		}
		p += len;
		p += strspn(p, ",; ");
	}
	return 0;
}

static int add_key(const char *key, void *arg, struct error **err)
{
	json_object_set_new(arg, key, json_true());
	return 0;
}

json_t *guest_config_change_keys(const struct guest_config_change *c)
{
	json_t *keys = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)c->set, key, v)
		json_object_set_new(keys, key, json_true());
	foreach_list(c->delete, add_key, keys, NULL);
	foreach_list(c->revert, add_key, keys, NULL);
	return keys;
}

struct change_check {
	const struct guest_kind_ops *k;
	const struct guest_config_change *c;
	const char *param; /* "delete" or "revert" */
};

static int check_listed(const char *key, void *arg, struct error **err)
{
	const struct change_check *cc = arg;
	if (!conf_props_find(cc->k->props, key, NULL))
		return error_param(err, cc->param, "invalid option: %s", key);
	if (json_object_get(cc->c->set, key))
		return error_param(err, cc->param,
		                   "you can't use '-%s' and '-%s %s' at the same time", key,
		                   cc->param, key);
	if (streq(cc->param, "revert") && list_has(cc->c->delete, key, NULL))
		return error_param(err, "revert",
		                   "you can't use '-delete %s' and '-revert %s' at the same time",
		                   key, key);
	return 0;
}

int guest_config_change_check(const struct guest_kind_ops *k, const struct guest_config_change *c,
                              struct error **err)
{
	struct change_check cc = {.k = k, .c = c, .param = "delete"};
	int r = foreach_list(c->delete, check_listed, &cc, err);
	if (r == 0) {
		cc.param = "revert";
		r = foreach_list(c->revert, check_listed, &cc, err);
	}
	if (r == 0 && !json_object_size(c->set) && !c->delete &&!c->revert)
		r = error_set(err, -EINVAL, 400, "no options specified");
	return r;
}

static bool fast_plug(const struct guest_kind_ops *k, const char *key)
{
	for (const char *const *f = k->fast_plug; f && *f; f++)
		if (streq(*f, key))
			return true;
	return false;
}

/* The first free unusedN of conf (and pending). */
static void add_unused(const struct guest_kind_ops *k, json_t *conf, json_t *pending, char *volid)
{
	for (unsigned i = 0; i < 256; i++) {
		char key[16];
		snprintf(key, sizeof(key), "unused%u", i);
		if (json_object_get(conf, key) || (pending && json_object_get(pending, key)))
			continue;
		/* the volume may already be listed as unused */
		json_object_set_new(conf, key, json_string(volid));
		break;
	}
	free(volid);
}

static bool volume_listed_unused(const json_t *conf, const char *volid)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)conf, key, v) {
		if (str_startswith(key, "unused") && streq_ptr(json_string_value(v), volid))
			return true;
	}
	return false;
}

struct apply {
	struct guest_store *gs;
	long vmid;
	const struct guest_kind_ops *k;
	const struct guest_config_change *c;
	void *obj; /* the parsed config: its snapshots */
	json_t *conf, *pending;
	json_t *free_vols; /* volumes forced deletes free, once all are applied */
	bool running;
};

/* Whether a snapshot of the config references volid. */
static bool volume_in_snapshots(const struct apply *a, const char *volid)
{
	json_t *snaps = a->k->snapshot_sections ? a->k->snapshot_sections(a->obj) : NULL;
	const char *name, *key;
	json_t *s, *v;
	json_object_foreach (snaps, name, s) {
		json_object_foreach (s, key, v) {
			_cleanup_free_ char *vol =
			    json_is_string(v) ? a->k->detached_volume(key, json_string_value(v))
			                      : NULL;
			if (streq_ptr(vol, volid))
				return true;
		}
	}
	return false;
}

/*
 * Deletes key from conf now.  A disk's volume is kept as unusedN; with
 * force (PVE's vmconfig_delete_or_detach_drive -> try_deallocate_drive) a
 * volume the guest owns is freed instead (queued in a->free_vols), refused
 * while a snapshot uses it, and one it does not own only leaves the config.
 */
static int delete_now(struct apply *a, json_t *pending, const char *key, bool force,
                      struct error **err)
{
	const struct guest_kind_ops *k = a->k;
	json_t *conf = a->conf;
	const char *v = json_string_value(json_object_get(conf, key));
	char *vol = v && k->detached_volume ? k->detached_volume(key, v) : NULL;
	if (vol && force) {
		int r = 0;
		if (guest_volume_owned(a->gs, a->vmid, vol)) {
			if (volume_in_snapshots(a, vol))
				r = error_set(
				    err, -EBUSY, 500,
				    "unable to delete '%s' - volume is still in use (snapshot?)",
				    vol);
			else
				json_array_append_new(a->free_vols, json_string(vol));
		}
		free(vol);
		if (r == 0)
			json_object_del(conf, key);
		return r;
	}
	json_object_del(conf, key);
	if (vol && !volume_listed_unused(conf, vol))
		add_unused(k, conf, pending, vol);
	else
		free(vol);
	return 0;
}

/* The volumes forced deletes queued, freed before the config is written
 * (PVE frees them first too): a failure leaves the config as it was. */
static int free_queued(struct apply *a, struct error **err)
{
	for (size_t i = 0; i < json_array_size(a->free_vols); i++) {
		const char *volid = json_string_value(json_array_get(a->free_vols, i));
		int r = guest_volume_free(a->gs, volid, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static void pending_set_delete(json_t *pending, char *list)
{
	if (list)
		json_object_set_new(pending, "delete", json_string(list));
	else
		json_object_del(pending, "delete");
	free(list);
}

/* Whether the running guest took key's new value at once (the kind's
 * hotplug slot).  A failure leaves the change pending and is reported in
 * c->hotplug_errors, as PVE's vmconfig_hotplug_pending keeps it and adds
 * it to $errors. */
static bool hotplugged(struct apply *a, const char *key, const char *value)
{
	if (!a->k->hotplug)
		return false;
	const char *old = json_string_value(json_object_get(a->conf, key));
	if (streq_ptr(old, value))
		return false;
	struct error *e = NULL;
	int r = a->k->hotplug(a->gs, a->vmid, a->conf, key, old, value, &e);
	if (r < 0 && r != -EOPNOTSUPP) {
		log_debug("%s %ld: hot-plugging %s failed, left pending: %s", a->k->noun, a->vmid,
		          key, e ? e->msg : strerror(-r));
		if (a->c->hotplug_errors) {
			_cleanup_free_ char *msg =
			    xasprintf("hotplug problem - %s", e ? e->msg : strerror(-r));
			json_object_set_new(a->c->hotplug_errors, key, json_string(msg));
		}
	}
	error_free(e);
	return r == 0;
}

static int apply_delete(const char *key, void *arg, struct error **err)
{
	struct apply *a = arg;
	if (a->running && !fast_plug(a->k, key) && !hotplugged(a, key, NULL)) {
		/* kept until the next start; a pending value of it goes */
		if (!a->pending)
			return error_set(err, -EOPNOTSUPP, 500,
			                 "cannot delete '%s' while the guest runs", key);
		json_object_del(a->pending, key);
		if (json_object_get(a->conf, key)) {
			const char *del = json_string_value(json_object_get(a->pending, "delete"));
			pending_set_delete(a->pending, list_change(del, key, true, a->c->force));
		}
		return 0;
	}
	if (a->pending) {
		json_object_del(a->pending, key);
		const char *del = json_string_value(json_object_get(a->pending, "delete"));
		pending_set_delete(a->pending, list_change(del, key, false, false));
	}
	return delete_now(a, a->pending, key, a->c->force, err);
}

static int apply_revert(const char *key, void *arg, struct error **err)
{
	struct apply *a = arg;
	if (!a->pending)
		return 0;
	json_object_del(a->pending, key);
	const char *del = json_string_value(json_object_get(a->pending, "delete"));
	pending_set_delete(a->pending, list_change(del, key, false, false));
	return 0;
}

static int apply_set(struct apply *a, struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)a->c->set, key, v) {
		if (a->running && !fast_plug(a->k, key) &&
		    !hotplugged(a, key, json_string_value(v))) {
			if (!a->pending)
				return error_set(err, -EOPNOTSUPP, 500,
				                 "cannot change '%s' while the guest runs", key);
			json_object_set(a->pending, key, v);
			const char *del = json_string_value(json_object_get(a->pending, "delete"));
			pending_set_delete(a->pending, list_change(del, key, false, false));
			continue;
		}
		/* a disk replaced by another volume keeps the old one as unused */
		const char *old = json_string_value(json_object_get(a->conf, key));
		char *vol = old && a->k->detached_volume ? a->k->detached_volume(key, old) : NULL;
		char *newvol =
		    a->k->detached_volume ? a->k->detached_volume(key, json_string_value(v)) : NULL;
		json_object_set(a->conf, key, v);
		if (vol && !streq_ptr(vol, newvol) && !volume_listed_unused(a->conf, vol))
			add_unused(a->k, a->conf, a->pending, vol);
		else
			free(vol);
		free(newvol);
		if (a->pending) {
			json_object_del(a->pending, key);
			const char *del = json_string_value(json_object_get(a->pending, "delete"));
			pending_set_delete(a->pending, list_change(del, key, false, false));
		}
	}
	return 0;
}

static int check_delete(const char *key, void *arg, struct error **err)
{
	struct apply *a = arg;
	return a->k->check_update(a->vmid, a->conf, key, NULL, err);
}

/* The kind's rules for every key deleted, then set. */
static int check_update(struct apply *a, struct error **err)
{
	int r = foreach_list(a->c->delete, check_delete, a, err);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)a->c->set, key, v) {
		if (r < 0)
			break;
		r = a->k->check_update(a->vmid, a->conf, key, json_string_value(v), err);
	}
	return r;
}

int guest_config_update(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        const struct guest_config_change *c, struct error **err)
{
	struct conf_file *f = NULL;
	char key[24];
	snprintf(key, sizeof(key), "%ld", vmid);
	int r = conf_family_file(guest_family(gs, k), key, &f, err);
	if (r < 0)
		return r;
	int fd = conf_file_lock(f, err);
	if (fd < 0) {
		conf_file_unref(f);
		return fd;
	}
	void *obj = NULL;
	char digest[41];
	r = conf_file_load(f, &obj, digest, err);
	if (r == -ENOENT && err) {
		*err = error_free(*err);
		r = error_set(err, -ENOENT, 500,
		              "Configuration file 'nodes/%s/%s/%ld.conf' does not exist",
		              guest_store_node(gs), k->confdir, vmid);
	}
	if (r == 0)
		r = conf_check_digest(f, c->digest, digest, err);
	bool running = false;
	if (r == 0)
		r = guest_is_running(gs, k, vmid, &running, NULL, err);
	_cleanup_json_ json_t *free_vols = json_array();
	struct apply a = {.gs = gs,
	                  .vmid = vmid,
	                  .k = k,
	                  .c = c,
	                  .obj = obj,
	                  .free_vols = free_vols,
	                  .running = running};
	if (r == 0) {
		a.conf = k->main_section(obj);
		a.pending = k->pending_section ? k->pending_section(obj) : NULL;
		struct guest_state st = {.conf = a.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_CONFIG, c->flags, err);
	}
	if (r == 0 && k->check_update)
		r = check_update(&a, err);
	if (r == 0)
		r = foreach_list(c->revert, apply_revert, &a, err);
	if (r == 0)
		r = foreach_list(c->delete, apply_delete, &a, err);
	if (r == 0)
		r = apply_set(&a, err);
	if (r == 0)
		r = free_queued(&a, err);
	if (r == 0)
		r = conf_file_write(f, digest, obj, err);
	if (obj)
		k->conf_ops->free(obj);
	unlock_file(fd);
	conf_file_unref(f);
	return r;
}

int guest_config_hotplug_error(const json_t *hotplug_errors, bool task, struct error **err)
{
	if (!json_object_size(hotplug_errors))
		return 0;
	const char *key;
	json_t *v;
	if (!task) {
		int r = 0;
		json_object_foreach ((json_t *)hotplug_errors, key, v)
			r = error_param(err, key, "%s", json_string_value(v));
		return r;
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "400 Parameter verification failed.");
	json_object_foreach ((json_t *)hotplug_errors, key, v)
		strbuf_addf(&sb, " %s: %s", key, json_string_value(v));
	int r = error_set(err, -EIO, 400, "%s", sb.buf);
	strbuf_release(&sb);
	return r;
}

static int apply_pending_key(const char *key, void *arg, struct error **err)
{
	struct apply *a = arg;
	/* "!key": a delete forced while the guest ran */
	bool force = key[0] == '!';
	return delete_now(a, NULL, key + force, force, err);
}

int guest_config_apply_pending_locked(struct guest_store *gs, const struct guest_kind_ops *k,
                                      long vmid, struct error **err)
{
	if (!k->pending_section)
		return 0;
	struct conf_file *f = NULL;
	char key[24];
	snprintf(key, sizeof(key), "%ld", vmid);
	int r = conf_family_file(guest_family(gs, k), key, &f, err);
	if (r < 0)
		return r;
	void *obj = NULL;
	char digest[41];
	r = conf_file_load(f, &obj, digest, err);
	if (r == 0) {
		json_t *conf = k->main_section(obj);
		json_t *pending = k->pending_section(obj);
		if (json_object_size(pending)) {
			_cleanup_json_ json_t *free_vols = json_array();
			struct apply a = {.gs = gs,
			                  .vmid = vmid,
			                  .k = k,
			                  .obj = obj,
			                  .conf = conf,
			                  .free_vols = free_vols};
			r = foreach_list(json_string_value(json_object_get(pending, "delete")),
			                 apply_pending_key, &a, err);
			const char *pk;
			json_t *v;
			json_object_foreach (pending, pk, v) {
				if (!streq(pk, "delete"))
					json_object_set(conf, pk, v);
			}
			json_object_clear(pending);
			if (r == 0)
				r = free_queued(&a, err);
			if (r == 0)
				r = conf_file_write(f, digest, obj, err);
		}
	}
	if (obj)
		k->conf_ops->free(obj);
	conf_file_unref(f);
	return r;
}
