/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage: one interface over every kind of storage (dir, btrfs, lvm,
 * lvmthin, zfspool; later the network ones).  Method names follow Proxmox's storage plugins
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
 * part after "storeid:", in the grammar of the storage's backend (its
 * parse_volname slot; storage_parse_volname()); volid.h has the generic
 * volume id, the rules every name keeps and the file grammar.  Docs:
 * docs/dev/ADDING-A-STORAGE-BACKEND.md.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "fileio.h"
#include "volid.h"

struct error;
struct section;
struct section_config;
struct storage_config_snapshot;
struct task_worker;

enum storage_caps {
	STORAGE_CAP_SNAPSHOT = 1 << 0, /* snapshot create/rollback/delete */
	STORAGE_CAP_CLONE = 1 << 1,    /* linked clone of a base volume */
	STORAGE_CAP_TEMPLATE = 1 << 2, /* create_base */
	STORAGE_CAP_RESIZE = 1 << 3,
	STORAGE_CAP_THIN = 1 << 4,   /* space is used as written */
	STORAGE_CAP_SUBVOL = 1 << 5, /* directory volumes for containers */
	/* a subvol's size is a limit (btrfs qgroup); without it a subvol has
	 * no size and alloc refuses one */
	STORAGE_CAP_SUBVOL_SIZE = 1 << 6,
	/* holds iso, vztmpl, backup, snippets and import files below its path:
	 * the dispatcher routes those volumes to storage-files.c, so the
	 * backend's info, path and free_volume slots see only its own volumes */
	STORAGE_CAP_FILES = 1 << 7,
	/* lives in the directory `path` on this host (dir, btrfs; later nfs,
	 * cifs): st->path is set, activation creates it and its content
	 * directories (storage_dir_prepare()), stale temporary files are swept
	 * from them, and they are checked against the system directories */
	STORAGE_CAP_PATH = 1 << 8,
	/* a qcow2 volume's snapshots live inside its image (qcow2 internal
	 * snapshots), so a full copy can read one of them with qemu-img's
	 * `-l snapshot.name=` (storage_copy_snapshot()) */
	STORAGE_CAP_COPY_SNAPSHOT = 1 << 9,
	/* a snapshot is a volume of its own (btrfs: the read-only subvolume
	 * "<name>@<snap>"; lvmthin: the thin LV "snap_<lv>_<snap>"), which the
	 * snapshot_source slot makes readable, so a full copy can read it as
	 * it reads the volume (storage_copy_snapshot()); PVE's
	 * volume_has_feature 'copy' with a snapname */
	STORAGE_CAP_COPY_SNAPSHOT_VOLUME = 1 << 10,
};

/* The use at which a pool's status warns (and the daemon log says so once
 * per level reached): as dmeventd, which watches LVM thin pools. */
#define STORAGE_WARN_LEVELS \
	{                   \
		80, 90, 95  \
	}

struct storage_status {
	uint64_t total, used, avail; /* bytes */
	bool active;
	/* beyond Proxmox: the sum of the volumes' virtual sizes, so overcommit shows */
	uint64_t provisioned;
	/*
	 * Beyond Proxmox, for pools (lvmthin, zfspool; lvm: the VG): whether
	 * the figures below are set; the percentage of the pool's data space
	 * in use and of its metadata space (thin pools; -1 when the pool has
	 * none), its health ("" when unknown: ONLINE, DEGRADED, ... for a
	 * zpool, "ok"/"needs check"/"read-only"/"failed" for a thin pool), the
	 * highest of STORAGE_WARN_LEVELS the data or metadata use reached (0:
	 * none), and a sentence for the user: the warning, or why the storage
	 * is not active.  Plain values, so the struct copies as it is.
	 */
	bool has_pool;
	double data_pct, meta_pct;
	char health[16];
	int warn_level;
	char message[256];
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

/* A snapshot of a volume, oldest first in lists. */
struct storage_snapshot {
	char *name;
	time_t ctime; /* when it was taken; 0 when unknown */
};

void storage_snapshot_list_free(struct storage_snapshot *s, size_t n);

/* An opened storage: the backend plus its storage.cfg section.  It holds a
 * reference to the config snapshot it was opened from, so cfg stays valid
 * for as long as the storage does, whatever the caller does with its own
 * reference or the store publishes meanwhile. */
struct storage {
	const struct storage_backend *be;
	char *id;                                   /* section id */
	const struct section *cfg;                  /* in snap's config */
	const struct storage_config_snapshot *snap; /* the reference it holds */
	char *path; /* file-based storages: the base path, else NULL */
};

/* Each slot: return 0 or a negative errno with *err.  w may be NULL (no task
 * log); backends write the commands they run to it. */
/* PVE's parse_volname: what a volume name of this backend says (content
 * type, owner, format, a linked clone's base, whether it is a base) in the
 * backend's own grammar, without looking at the host: "100/vm-100-disk-0.raw"
 * on dir, "vm-100-disk-0" on LVM.  400 for a name the grammar refuses. */
typedef int storage_parse_volname_fn(const struct storage *st, const char *volname,
                                     struct volname_info *ret, struct error **err);
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
/* Rollback with flags (STORAGE_ROLLBACK_*), for backends that can only roll
 * back to the latest snapshot unless told to destroy the newer ones. */
enum storage_rollback_flags {
	/* destroy the snapshots newer than the one rolled back to, where the
	 * storage keeps none of them (ZFS); without it such a rollback is
	 * refused with an error naming them */
	STORAGE_ROLLBACK_DESTROY_NEWER = 1 << 0,
};
typedef int storage_snapshot_rollback_flags_fn(struct storage *st, const char *volname,
                                               const char *snap, unsigned flags,
                                               struct task_worker *w, struct error **err);
/* The snapshots of a volume, oldest first; a volume whose format has none
 * (raw or vmdk on dir) has an empty list. */
typedef int storage_snapshot_list_fn(struct storage *st, const char *volname,
                                     struct storage_snapshot **ret, size_t *ret_n,
                                     struct error **err);
/* Linked clone of a base volume for vmid; returns the new volume name. */
typedef int storage_clone_fn(struct storage *st, const char *base_volname, long vmid,
                             const char *snap, struct task_worker *w, char **ret_volname,
                             struct error **err);
/*
 * Where a full copy reads snapshot snap of volname (STORAGE_CAP_COPY_SNAPSHOT_VOLUME):
 * a path of the same kind as the path slot's (an image file or a block
 * device; a directory for a subvol), read-only, activated when the storage
 * needs that (an lvmthin snapshot is created activation-skipped).  404 when
 * the snapshot does not exist.  No lock: the caller keeps writers away.
 */
typedef int storage_snapshot_source_fn(struct storage *st, const char *volname, const char *snap,
                                       struct task_worker *w, char **ret_path, struct error **err);
/* Undoes what snapshot_source activated, once the copy is done (optional).
 * Best effort: a failure is logged to w, the copy stands. */
typedef void storage_snapshot_source_release_fn(struct storage *st, const char *volname,
                                                const char *snap, struct task_worker *w);
/* Turns vm-N-disk-M into base-N-disk-M; returns the new name. */
typedef int storage_create_base_fn(struct storage *st, const char *volname, struct task_worker *w,
                                   char **ret_volname, struct error **err);

struct storage_backend {
	const char *type; /* "dir", "btrfs", ... */
	enum storage_caps caps;
	unsigned formats;                 /* IMAGE_FORMAT_BIT()s of the formats it takes */
	enum image_format default_format; /* one of them */

	/*
	 * The backend's own state.  An opened storage of this backend is a
	 * struct of state_size bytes (0: just struct storage) whose first
	 * member is the struct storage the dispatcher hands out; the backend
	 * gets back to its struct with storage_state(), which checks st->be.
	 * open (optional) fills it from st->cfg once the common fields are
	 * set (a failure fails storage_open()); close (optional) frees what
	 * open allocated, not the struct.
	 */
	size_t state_size;
	int (*open)(struct storage *st, struct error **err);
	void (*close)(struct storage *st);

	/* required */
	storage_parse_volname_fn *parse_volname;
	storage_activate_fn *activate;
	storage_status_fn *status;
	storage_alloc_fn *alloc;
	storage_free_fn *free_volume;
	storage_list_fn *list;
	storage_info_fn *info;
	storage_path_fn *path;

	/*
	 * optional: what a storage.cfg section of this type needs from the
	 * host, checked when the API adds or changes an enabled storage, so a
	 * mistake shows then and not at the first allocation: its volume
	 * group, thin pool or pool exists, its path is on the right file
	 * system.  Queries only, never changes the host.  400 through
	 * error_param() on the key at fault, naming the problem.
	 */
	int (*check)(const struct section *s, struct error **err);

	/* optional: NULL when the capability is missing */
	storage_resize_fn *resize;
	storage_snapshot_fn *snapshot_create;
	storage_snapshot_fn *snapshot_rollback;
	/* optional: takes the place of snapshot_rollback when set */
	storage_snapshot_rollback_flags_fn *snapshot_rollback_flags;
	storage_snapshot_fn *snapshot_delete;
	storage_snapshot_list_fn *snapshot_list;
	storage_clone_fn *clone;
	storage_create_base_fn *create_base;
	/* with STORAGE_CAP_COPY_SNAPSHOT_VOLUME */
	storage_snapshot_source_fn *snapshot_source;
	storage_snapshot_source_release_fn *snapshot_source_release;
};

/* The registry: backends by type; NULL if unknown.  Only the registry and
 * the backends know type names: code that depends on what a storage can do
 * asks for its capabilities. */
const struct storage_backend *storage_backend_find(const char *type);
/* The capabilities of the backend of storage.cfg type `type`; 0 for a type
 * without a backend (lvm before it has one, nfs, ...). */
enum storage_caps storage_type_caps(const char *type);
/* Whether be takes image format fmt (a name: "raw", "qcow2", ...). */
bool storage_backend_has_format(const struct storage_backend *be, const char *fmt);

/*
 * A volume name of st in its backend's grammar (the backend's parse_volname;
 * for file content of a STORAGE_CAP_FILES storage the file grammar of
 * volid.h), then checked against the rules every name keeps
 * (volname_check()).  Every entry point below that takes a volume name
 * does this before a slot sees it.  400 on refusal; *ret is written only
 * on success (volname_info_clear() it).
 */
int storage_parse_volname(const struct storage *st, const char *volname, struct volname_info *ret,
                          struct error **err);
/*
 * The same for callers that must know what a name says before they may
 * tell whether its storage exists or is enabled (the API checks
 * permissions, which need the owner, first): the grammar of the backend of
 * storage id in snap, enabled or not.  When snap has no storage id or its
 * type has no backend, only volname_check() applies and *ret has vtype
 * VTYPE_INVALID, vmid 0 and no name: opening the storage then fails and
 * says why.
 */
int storage_parse_volname_of(const struct storage_config_snapshot *snap, const char *id,
                             const char *volname, struct volname_info *ret, struct error **err);

/* The backend's check slot for section s (nothing when its type has no
 * backend or the backend no check): see storage_backend.check. */
int storage_section_check_backend(const struct section *s, struct error **err);

/* Opens storage `id` of the config snapshot snap, enabled here or not
 * (storage_open_enabled() checks), taking a reference to snap.  -ENOENT
 * (500 "storage 'x' does not exist") when snap has no such section,
 * -EOPNOTSUPP (500) when its type has no backend. */
int storage_open(const struct storage_config_snapshot *snap, const char *id, struct storage **ret,
                 struct error **err);

/*
 * What every caller that uses a configured storage checks first, with
 * Proxmox's messages (500 both, as Proxmox answers them): id is a storage
 * of cfg, else -ENOENT "storage 'x' does not exist"; it is enabled on node
 * (not disabled, and node is in its nodes list if it has one), else -ENODEV
 * "storage 'x' is disabled".  The code is the kind a caller may act on.
 * *ret points into cfg.
 */
int storage_lookup_enabled(const struct section_config *cfg, const char *id, const char *node,
                           const struct section **ret, struct error **err);
/* storage_lookup_enabled() in snap's config, then storage_open(). */
int storage_open_enabled(const struct storage_config_snapshot *snap, const char *id,
                         const char *node, struct storage **ret, struct error **err);
/* Closes st and drops its reference to the config snapshot; NULL is fine.
 * Returns NULL. */
struct storage *storage_free(struct storage *st);
static inline void storage_freep(struct storage **st)
{
	storage_free(*st);
}

/* The journal of volumes being filled (storage-pending.c): a copy records its
 * target in dir while it fills it, under an flock the kernel drops when the
 * process dies, so a target left half-written by a crash or a killed worker
 * is found and freed by storage_pending_recover().  Set once at start; NULL
 * (the default): no journal. */
void storage_set_pending_dir(const char *dir);
/* r is 0 when the volume was freed (or was not there), else the error. */
typedef void storage_pending_report_fn(const char *storeid, const char *volname, int r,
                                       const struct error *e, void *userdata);
/* Frees the volume of every entry whose filler is gone and removes the
 * entry; entries still locked (their copy runs) are left alone, as are
 * entries whose volume could not be freed (tried again next time).
 * Returns how many entries were handled. */
int storage_pending_recover(const struct storage_config_snapshot *snap,
                            storage_pending_report_fn *report, void *userdata);

/*
 * Temporary files in a file storage (dir, btrfs): the HTTP layer streams an
 * upload into "<path>/.upload-XXXXXX.tmp", the upload and download tasks
 * fill ".imgcopy-XXXXXX.tmp" / ".download-XXXXXX.tmp" in the path or a
 * content directory, and write_file_atomic writes a backup's sidecars
 * through "<file>.notes.tmp.<pid>.<random>".  Each is flock'ed by the
 * process that works on it (a task on a temporary it did not create takes
 * the lock with tmpfile_hold()).  storage_tmp_name() tells these names.
 */
bool storage_tmp_name(const char *name, pid_t *ret_pid);
/* Removes the stale ones of storage s (see remove_stale_tmp(): unlocked and
 * last modified before `before`) from its path and content directories.
 * Returns how many. */
int storage_remove_stale_tmp(const struct section *s, const struct timespec *before,
                             tmp_removed_fn *report, void *userdata);
/* The same for every storage with a path (STORAGE_CAP_PATH) of cfg enabled
 * on node, on a detached thread of its own (a hung mount must not hang the
 * caller), which calls report for each file removed and logs (debug) when
 * it is done.  0, or a negative errno when no thread could be started. */
int storage_sweep_tmp_start(const struct section_config *cfg, const char *node,
                            const struct timespec *before, tmp_removed_fn *report, void *userdata);

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
/* 0 when the volume exists, else -ENOENT with a 404.  Cheaper than
 * storage_info() on file storages (a stat instead of `qemu-img info`), for
 * handlers that refuse early what a task would refuse. */
int storage_volume_exists(struct storage *st, const char *volname, struct error **err);
int storage_path(struct storage *st, const char *volname, char **ret_path, struct error **err);
/*
 * A volume's notes and protection flag (PVE's update_volume_attribute), as
 * "<file>.notes" and "<file>.protected" beside its file (PVE's dir plugin
 * layout), which is what storage_info() reads back.  notes NULL leaves them,
 * "" removes them; protected_ < 0 leaves the flag, 0 clears, 1 sets it.
 * Others may write to a storage, so a sidecar that is a symbolic link (or
 * anything but a regular file) is refused, not replaced (500); a removal
 * takes a link itself, never its target.  500 for a storage without a path.
 */
int storage_set_attributes(struct storage *st, const char *volname, const char *notes,
                           int protected_, struct error **err);
int storage_resize(struct storage *st, const char *volname, uint64_t size, struct task_worker *w,
                   struct error **err);
int storage_snapshot_create(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err);
int storage_snapshot_rollback(struct storage *st, const char *volname, const char *snap,
                              struct task_worker *w, struct error **err);
/* The same with STORAGE_ROLLBACK_* flags (storage_snapshot_rollback(): 0);
 * backends without snapshot_rollback_flags ignore them (they keep newer
 * snapshots anyway). */
int storage_snapshot_rollback_flags(struct storage *st, const char *volname, const char *snap,
                                    unsigned flags, struct task_worker *w, struct error **err);
int storage_snapshot_delete(struct storage *st, const char *volname, const char *snap,
                            struct task_worker *w, struct error **err);
/* No lock (reading only); a storage without the slot answers an empty list
 * for a volume that exists. */
int storage_snapshot_list(struct storage *st, const char *volname, struct storage_snapshot **ret,
                          size_t *ret_n, struct error **err);
/* PVE's snapshot name grammar, [a-zA-Z][a-zA-Z0-9_-]{1,39}: the snapshot
 * entry points refuse anything else (400), callers may check early. */
bool storage_snapname_valid(const char *snap);
int storage_clone(struct storage *st, const char *base_volname, long vmid, const char *snap,
                  struct task_worker *w, char **ret_volname, struct error **err);
int storage_create_base(struct storage *st, const char *volname, struct task_worker *w,
                        char **ret_volname, struct error **err);

/*
 * A full copy of src_volname on src to a new volume of dst (any backend, the
 * same storage or another) owned by vmid.  The new volume is allocated
 * through dst's alloc under dst's lock (so dst names and owns it as any
 * other), with the source's virtual size and a format chosen in this order:
 * the one dst_name's extension names, the source's if dst supports it, dst's
 * default.  Then it is filled: images with `qemu-img convert -n`, subvols
 * (container directories) with rsync, keeping owners, modes, xattrs, ACLs,
 * hard links and holes.  dst_name NULL: the next free name.
 *
 * The source is read without its storage's lock: the lock is per storage
 * and a copy takes as long as the data, so holding it would block every
 * other change there; whoever copies a volume must keep writers away (as
 * PVE, which copies only disks of stopped guests).
 *
 * Any failure after the allocation frees the new volume: nothing
 * half-written is left.  A dst_name that exists is an error and the
 * existing volume is not touched.  Returns the new volume name.
 */
int storage_copy(struct storage *src, const char *src_volname, struct storage *dst,
                 const char *dst_name, long vmid, struct task_worker *w, char **ret_volname,
                 struct error **err);
/*
 * PVE's volume_has_feature('copy', volname, snap): whether storage_copy_snapshot()
 * can read snapshot `snap` of volname on st; snap NULL: the volume itself.
 * From the volume's name and the backend's capabilities only (nothing on the
 * host is read): a snapshot is readable where the backend keeps qcow2
 * snapshots inside the image (STORAGE_CAP_COPY_SNAPSHOT) and the volume is
 * a qcow2, or where a snapshot is a volume of its own
 * (STORAGE_CAP_COPY_SNAPSHOT_VOLUME: btrfs raw images and subvols, lvmthin)
 * and the volume is a disk image or container volume.  Nowhere else, as
 * PVE: lvm has no snapshots, and a zfspool's cannot be copied from (its
 * volume_has_feature 'copy' has no 'snap').
 */
bool storage_can_copy_snapshot(const struct storage *st, const char *volname, const char *snap);
/* storage_copy() of snapshot snap of src_volname (snap NULL: the volume
 * itself, as storage_copy()): the new volume holds the data as it was when
 * the snapshot was taken.  500 "snapshot copy is not supported for
 * 'store:volname'" where storage_can_copy_snapshot() says no. */
int storage_copy_snapshot(struct storage *src, const char *src_volname, const char *snap,
                          struct storage *dst, const char *dst_name, long vmid,
                          struct task_worker *w, char **ret_volname, struct error **err);
/*
 * Host file path (root's import-from) to a new volume of dst owned by vmid:
 * the file is checked first (image_check_host_file(): regular, raw, qcow2
 * or vmdk naming nothing outside itself), then a volume of its virtual
 * size is allocated (want_fmt, else its format if dst has it, else dst's
 * default) and
 * filled with `qemu-img convert -n`; a failure frees it again.  Returns
 * the new volume name and its size.
 */
int storage_import_file(struct storage *dst, const char *path, const char *want_fmt, long vmid,
                        struct task_worker *w, char **ret_volname, uint64_t *ret_size,
                        struct error **err);
