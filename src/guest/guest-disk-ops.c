/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Operations on one disk of a VM (guest.h, "disk operations"): the resize
 * task (PVE 8's PUT .../resize answers a UPID).
 *
 * resize {vmid, disk, size, [digest], [skiplock]}: size is absolute or,
 * with a leading '+', added to the volume's current size (PVE's
 * parse_size grammar: a number with an optional K, M, G or T).  Grow only:
 * "shrinking disks is not supported"; the same size is a no-op.  A stopped
 * VM's volume grows through the storage layer, a running VM's through QMP
 * block_resize on the drive's node (QEMU holds the image open and locked).
 * The drive's size= in the config follows, written only when the volume
 * grew and the drive still names the same volume.
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config-store.h"
#include "error.h"
#include "guest-conf.h"
#include "guest-ops.h"
#include "guest.h"
#include "jsonutil.h"
#include "qemu-conf.h"
#include "qemu-run.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "volid.h"
#include "xalloc.h"

struct disk_env {
	struct guest_store *gs;
	const struct guest_kind_ops *kind;
};

static const char *arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static long arg_vmid(const json_t *args)
{
	json_t *v = json_object_get(args, "vmid");
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

int guest_resize_parse(const char *s, bool *ret_relative, uint64_t *ret_size, struct error **err)
{
	bool rel = s && *s == '+';
	if (s && rel)
		s++;
	uint64_t v = 0;
	/* a plain number is bytes, as PVE's parse_size */
	if (!s || !*s || strchr(s, '-') || qemu_parse_size(s, &v) < 0)
		return error_param(err, "size", "invalid format - value does not match the regex");
	*ret_relative = rel;
	*ret_size = v;
	return 0;
}

int guest_resize_check(const struct guest_kind_ops *k, const json_t *conf, const char *disk,
                       struct error **err)
{
	const char *value = json_string_value(json_object_get(conf, disk));
	struct qemu_drive d = {0};
	if (!value || !qemu_conf_is_drive_key(disk, false) ||
	    qemu_drive_parse(disk, value, &d, NULL) < 0)
		return error_set(err, -ENOENT, 500, "disk '%s' does not exist", disk);
	int r = 0;
	if (d.cdrom)
		r = error_set(err, -EINVAL, 500, "you can't resize a cdrom");
	else if (!d.file || !strchr(d.file, ':') || d.file[0] == '/')
		r = error_set(err, -EINVAL, 500, "you can't resize a disk that is not a volume");
	qemu_drive_clear(&d);
	(void)k;
	return r;
}

/* The size= of the drive: written only if it still names volid. */
struct size_write {
	const struct guest_kind_ops *k;
	const char *disk, *volid;
	uint64_t size;
};

static int write_size(void *obj, void *arg, struct error **err)
{
	const struct size_write *s = arg;
	json_t *conf = s->k->main_section(obj);
	const char *value = json_string_value(json_object_get(conf, s->disk));
	_cleanup_free_ char *file = value ? s->k->disk_file(s->disk, value) : NULL;
	if (!file || !streq(file, s->volid))
		return error_set(err, -EBUSY, 500, "disk '%s' changed during the resize", s->disk);
	_cleanup_free_ char *nv = s->k->disk_set_file(value, s->volid, s->size);
	json_object_set_new(conf, s->disk, json_string(nv));
	return 0;
}

static int op_resize(struct task_worker *w, const json_t *args, struct error **err)
{
	struct disk_env *env = task_worker_env(w);
	const struct guest_kind_ops *k = env->kind;
	long vmid = arg_vmid(args);
	const char *disk = arg_str(args, "disk");
	unsigned flags = json_is_true(json_object_get(args, "skiplock")) ? GUEST_SKIPLOCK : 0;
	bool rel = false;
	uint64_t want = 0;
	int r = guest_resize_parse(arg_str(args, "size"), &rel, &want, err);
	if (r < 0)
		return r;

	struct guest g = {0};
	bool running = false;
	r = guest_get(env->gs, k, vmid, &g, err);
	if (r < 0)
		return r;
	const char *digest = arg_str(args, "digest");
	if (digest && !streq(digest, conf_snapshot_digest(g.snap)))
		r = error_set(err, -ESTALE, 500,
		              "detected modified configuration - file changed by other user? "
		              "Try again.");
	if (r == 0)
		r = guest_is_running(env->gs, k, vmid, &running, NULL, err);
	if (r == 0) {
		struct guest_state st = {.conf = g.conf, .running = running};
		r = guest_check_op(k, vmid, &st, GUEST_OP_RESIZE, flags, err);
	}
	if (r == 0)
		r = guest_resize_check(k, g.conf, disk, err);
	_cleanup_free_ char *volid =
	    r == 0 ? k->disk_file(disk, json_string_value(json_object_get(g.conf, disk))) : NULL;
	guest_release(&g);
	if (r < 0)
		return r;

	struct volid v = {0};
	_cleanup_(storage_freep) struct storage *st = NULL;
	struct storage_volume info = {0};
	r = volid_parse(volid, &v, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(env->gs),
		                              guest_store_node(env->gs), v.storeid, &st, err);
	if (r == 0)
		r = storage_info(st, v.volname, &info, err);
	uint64_t cur = info.size;
	storage_volume_clear(&info);
	if (r < 0)
		goto out;
	uint64_t size = rel ? cur + want : want;
	if (rel && size < cur) {
		r = error_param(err, "size", "value too large");
		goto out;
	}
	if (size < cur) {
		r = error_set(err, -EINVAL, 500, "shrinking disks is not supported");
		goto out;
	}
	if (size == cur) {
		task_log(w, "disk '%s' already has size %llu - nothing to do", disk,
		         (unsigned long long)cur);
		goto out;
	}
	task_log(w, "resize '%s' (%s) from %llu to %llu bytes", disk, volid,
	         (unsigned long long)cur, (unsigned long long)size);
	if (running) {
		/* QEMU has the image open: it grows it and the guest sees the
		 * new size at once */
		struct qemu_run_env renv = {.run_root = guest_store_run_dir(env->gs), .w = w};
		char node[32];
		snprintf(node, sizeof(node), "drive-%s", disk);
		_cleanup_json_ json_t *qa =
		    json_pack("{s:s, s:I}", "node-name", node, "size", (json_int_t)size);
		r = qemu_run_qmp(&renv, vmid, "block_resize", qa, 60 * 1000, NULL, err);
	} else {
		r = storage_resize(st, v.volname, size, w, err);
	}
	if (r == 0) {
		char key[24];
		snprintf(key, sizeof(key), "%ld", vmid);
		struct size_write sw = {.k = k, .disk = disk, .volid = volid, .size = size};
		r = conf_family_update(guest_family(env->gs, k), key, NULL, write_size, &sw, err);
	}
out:
	volid_clear(&v);
	return r;
}

static int check_args(const json_t *args, struct error **err)
{
	long vmid = arg_vmid(args);
	if (vmid < GUEST_VMID_MIN || vmid > GUEST_VMID_MAX)
		return error_set(err, -EINVAL, 400, "invalid vmid %ld", vmid);
	const char *disk = arg_str(args, "disk");
	if (!disk || !qemu_conf_is_drive_key(disk, false))
		return error_param(err, "disk", "invalid disk");
	bool rel;
	uint64_t size;
	return guest_resize_parse(arg_str(args, "size"), &rel, &size, err);
}

static const struct task_op_arg resize_args[] = {
    {.name = "vmid", .type = TASK_ARG_INTEGER},
    {.name = "disk", .type = TASK_ARG_STRING},
    {.name = "size", .type = TASK_ARG_STRING},
    {.name = "digest", .type = TASK_ARG_STRING, .optional = true},
    {.name = "skiplock", .type = TASK_ARG_BOOLEAN, .optional = true},
    {.name = NULL},
};

static const struct task_op disk_ops[] = {
    {.type = "resize", .args = resize_args, .check = check_args, .run = op_resize},
    {.type = NULL},
};

int guest_disk_task_ops_register(struct task_ops *reg, struct guest_store *gs, struct error **err)
{
	static struct disk_env qemu_env;
	qemu_env = (struct disk_env){.gs = gs, .kind = guest_kind_find("qemu")};
	return task_ops_register(reg, disk_ops, gs ? &qemu_env : NULL, err);
}
