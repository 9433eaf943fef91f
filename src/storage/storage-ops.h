/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-ops: the storage layer's task operations (task.h "named
 * operations") and what both they and the API's early checks use to find a
 * storage by id.
 *
 * The operations and their argument objects (volume: a volume name of that
 * storage, "100/vm-100-disk-0.qcow2", not a volid):
 *
 *   imgdel          {storage, volume}
 *   imgsnapshot     {storage, volume, snapname}
 *   imgdelsnapshot  {storage, volume, snapname}
 *   imgrollback     {storage, volume, snapname, destroy-newer (optional)}
 *   imgcopy         {storage, volume, target-storage, [target-name], vmid}
 *                   or {storage, content, filename, tmp,
 *                       [checksum, checksum-algorithm]}
 *   download        {storage, content, filename, tmp, url,
 *                    [checksum, checksum-algorithm], [verify-certificates],
 *                    [api-port]}
 *   prunebackups    {storage, [vmid], [type], [prune-backups]}
 *   lvmcreate, lvmthincreate, zfscreate, dircreate: disks-ops.h (registered
 *                   here too)
 *
 * prune-backups is prune_options_format()'s canonical text of the options
 * (none: the storage's own).  imgcopy's second kind moves an uploaded file
 * into place, download fetches one (storage-import.h): tmp is the name of
 * the temporary file storage_import_take_upload() or _new_download() made,
 * url may hold credentials (the log shows it without them; an exec'd
 * worker reads it on stdin, never in its argv), api-port is the daemon's
 * own port, which no redirect may go to.
 * Each opens what it needs from those ids itself (the storage.cfg of the
 * environment's store, as it is when the worker runs), logs what it does
 * and fails with the storage layer's error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct error;
struct prune_item;
struct prune_options;
struct section_config;
struct storage;
struct storage_config_snapshot;
struct storage_config_store;
struct task_ops;

/* What the operations need of the process they run in: this node's name
 * (a storage may be enabled on some nodes only) and storage.cfg.  The daemon
 * passes its own; an exec'd worker builds one from --root and --node. */
struct storage_task_env {
	const char *node;
	struct storage_config_store *store;
};

/* Registers the operations above, once per registry; env must outlive it. */
int storage_task_ops_register(struct task_ops *reg, struct storage_task_env *env,
                              struct error **err);

/*
 * storage_open_enabled() (storage.h) on the store's current storage.cfg:
 * storage id if it exists (500 "storage 'x' does not exist", -ENOENT) and is
 * enabled on node (500 "storage 'x' is disabled", -ENODEV).  The storage
 * holds its own reference to the config snapshot.
 */
int storage_load_open_enabled(struct storage_config_store *store, const char *node, const char *id,
                              struct storage **ret_st, struct error **err);

/*
 * PVE's prune_backups up to the listing: the storage exists, is enabled on
 * node (beyond PVE), holds backups, and the options are `given` or else the
 * storage's prune-backups (500 when it has none or they do not parse).
 * Opens the storage, which points into *ret_snap: free it before releasing
 * the snapshot.
 */
int storage_prune_open(struct storage_config_store *store, const char *node, const char *storeid,
                       const struct prune_options *given,
                       const struct storage_config_snapshot **ret_snap, struct storage **ret_st,
                       struct prune_options *ret_opts, struct error **err);
/* The marks of every backup of st (vmid's only when > 0, guests of type
 * only when not NULL): activate, list, prune_plan(). */
int storage_prune_plan(struct storage *st, long vmid, const char *type,
                       const struct prune_options *o, struct prune_item **ret, size_t *ret_n,
                       struct error **err);
