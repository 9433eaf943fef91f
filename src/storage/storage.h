/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage: one interface over every kind of storage (dir, btrfs, and later
 * lvm, lvmthin, zfspool).  Method names follow Proxmox's storage plugins
 * (reference/storage.md 1.2) so behaviour can be compared call by call.
 *
 * A backend is a `static const struct storage_backend` with designated
 * initializers; the registry in storage.c lists them.  Handlers and tasks
 * never call a backend slot directly: they call the storage_*() functions
 * below, which check the capability, take the per-storage lock around every
 * change, and answer "not supported by storage type 'X'" the same way for
 * every missing capability.
 *
 * Sizes are in bytes everywhere in this interface.  Volume names are the
 * part after "storeid:" (volid.h parses and checks them).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct error;
struct section;
struct task_worker;

enum storage_caps {
	STORAGE_CAP_SNAPSHOT = 1 << 0, /* snapshot create/rollback/delete */
	STORAGE_CAP_CLONE = 1 << 1,    /* linked clone of a base volume */
	STORAGE_CAP_TEMPLATE = 1 << 2, /* create_base */
	STORAGE_CAP_RESIZE = 1 << 3,
	STORAGE_CAP_THIN = 1 << 4,   /* space is used as written */
	STORAGE_CAP_SUBVOL = 1 << 5, /* directory volumes for containers */
};

struct storage_status {
	uint64_t total, used, avail; /* bytes */
	bool active;
	/* beyond Proxmox: the sum of the volumes' virtual sizes, so overcommit shows */
	uint64_t provisioned;
};

struct storage_volume {
	char *volname; /* "100/vm-100-disk-0.qcow2" */
	char *format;  /* raw, qcow2, vmdk, subvol, iso, tgz, ... */
	char *vtype;   /* images, rootdir, iso, vztmpl, backup, snippets, import */
	long vmid;     /* 0 when none */
	uint64_t size; /* virtual size */
	uint64_t used; /* bytes actually used, when known */
	char *parent;  /* base volume of a linked clone, or NULL */
	time_t ctime;
	bool protected_;
	char *notes;
};

void storage_volume_clear(struct storage_volume *v);
void storage_volume_list_free(struct storage_volume *v, size_t n);

/* An opened storage: the backend plus its storage.cfg section. */
struct storage {
	const struct storage_backend *be;
	char *id;                  /* section id */
	const struct section *cfg; /* not owned; valid while the caller holds the config */
	char *path;                /* file-based storages: the base path, else NULL */
};

/* Each slot: return 0 or a negative errno with *err.  w may be NULL (no task
 * log); backends write the commands they run to it. */
typedef int storage_activate_fn(struct storage *st, struct error **err);
typedef int storage_status_fn(struct storage *st, struct storage_status *ret, struct error **err);
/* fmt "raw", "qcow2", "vmdk" or "subvol"; name NULL: the next free
 * vm-<vmid>-disk-N (or subvol-...).  Returns the new volume name. */
typedef int storage_alloc_fn(struct storage *st, long vmid, const char *fmt, const char *name,
                             uint64_t size, struct task_worker *w, char **ret_volname,
                             struct error **err);
typedef int storage_free_fn(struct storage *st, const char *volname, struct task_worker *w,
                            struct error **err);
/* vmid 0: all; content NULL: every kind the storage holds. */
typedef int storage_list_fn(struct storage *st, long vmid, const char *content,
                            struct storage_volume **ret, size_t *ret_n, struct error **err);
typedef int storage_info_fn(struct storage *st, const char *volname, struct storage_volume *ret,
                            struct error **err);
typedef int storage_path_fn(struct storage *st, const char *volname, char **ret_path,
                            struct error **err);
typedef int storage_resize_fn(struct storage *st, const char *volname, uint64_t size,
                              struct task_worker *w, struct error **err);
typedef int storage_snapshot_fn(struct storage *st, const char *volname, const char *snap,
                                struct task_worker *w, struct error **err);
/* Linked clone of a base volume for vmid; returns the new volume name. */
typedef int storage_clone_fn(struct storage *st, const char *base_volname, long vmid,
                             const char *snap, struct task_worker *w, char **ret_volname,
                             struct error **err);
/* Turns vm-N-disk-M into base-N-disk-M; returns the new name. */
typedef int storage_create_base_fn(struct storage *st, const char *volname, struct task_worker *w,
                                   char **ret_volname, struct error **err);

struct storage_backend {
	const char *type; /* "dir", "btrfs", ... */
	enum storage_caps caps;
	const char *const *formats; /* valid image formats, NULL-terminated; [0] is the default */

	/* required */
	storage_activate_fn *activate;
	storage_status_fn *status;
	storage_alloc_fn *alloc;
	storage_free_fn *free_volume;
	storage_list_fn *list;
	storage_info_fn *info;
	storage_path_fn *path;

	/* optional: NULL when the capability is missing */
	storage_resize_fn *resize;
	storage_snapshot_fn *snapshot_create;
	storage_snapshot_fn *snapshot_rollback;
	storage_snapshot_fn *snapshot_delete;
	storage_clone_fn *clone;
	storage_create_base_fn *create_base;
};

/* The registry: backends by type; NULL if unknown. */
const struct storage_backend *storage_backend_find(const char *type);

/* Opens storage `id` of the given config section (type from the section). */
int storage_open(const struct section *cfg, const char *id, struct storage **ret,
                 struct error **err);
struct storage *storage_free(struct storage *st);

/* The entry points: capability check, per-storage lock (flock on
 * <run>/storage-<id>.lock, set with storage_set_lock_dir()) around changes. */
void storage_set_lock_dir(const char *dir);
int storage_activate(struct storage *st, struct error **err);
int storage_status(struct storage *st, struct storage_status *ret, struct error **err);
int storage_alloc(struct storage *st, long vmid, const char *fmt, const char *name, uint64_t size,
                  struct task_worker *w, char **ret_volname, struct error **err);
/* Refuses protected volumes and bases that linked clones still use. */
int storage_free_volume(struct storage *st, const char *volname, struct task_worker *w,
                        struct error **err);
int storage_list(struct storage *st, long vmid, const char *content, struct storage_volume **ret,
                 size_t *ret_n, struct error **err);
int storage_info(struct storage *st, const char *volname, struct storage_volume *ret,
                 struct error **err);
int storage_path(struct storage *st, const char *volname, char **ret_path, struct error **err);
int storage_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                   struct error **err);
int storage_snapshot_create(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err);
int storage_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                              struct task_worker *w, struct error **err);
int storage_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err);
int storage_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                  struct task_worker *w, char **ret_volname, struct error **err);
int storage_create_base(struct storage *st, const char *volname, struct task_worker *w,
                        char **ret_volname, struct error **err);
