/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* storage-priv: what backends share with the dispatcher; not for callers. */
#pragma once

#include "storage.h"

struct cmd;
struct cmd_result;

extern const struct storage_backend storage_backend_dir;

/* Adds a backend to the registry beside the built-in ones (storage.c's
 * backends[]): for tests, which bring backends of their own (a fake "lvm"
 * takes the place of the built-in one of its type), and later for
 * backends loaded at start.  Call before anything opens a storage; not
 * thread-safe.  -EINVAL for a backend without a type or a required slot,
 * -EEXIST when be is registered or built in already or another registered
 * backend has its type, -ENOSPC when the table is full. */
int storage_backend_register(const struct storage_backend *be);

/* The file grammar of volid.h (volname_parse()) as a parse_volname slot:
 * dir and btrfs share it, as PVE's plugins share Plugin::parse_volname. */
int storage_parse_volname_files(const struct storage *st, const char *volname,
                                struct volname_info *ret, struct error **err);

/* The checked downcast of an opened storage to the state struct of backend
 * be (storage_backend.state_size), as systemd's UNIT() or libvirt's
 * virObjectIsClass() do: st->be is the type tag, and a storage of another
 * backend aborts here instead of being read as this one's state. */
void *storage_state(const struct storage *st, const struct storage_backend *be);

/* Runs c, first writing it to the task log of w (NULL: none).  Returns
 * cmd_run()'s result; r (optional) as with cmd_run(). */
int storage_run_cmd(const struct cmd *c, struct task_worker *w, struct cmd_result *r,
                    struct error **err);

/* Before qemu-img opens the image file at path (format fmt) of the file
 * storage st: image_check_confined() with st's images directory as root,
 * so neither the image nor its backing chain makes qemu open a path
 * outside the storage (a data file, vmdk extents, a backing file). */
int storage_image_confined(const struct storage *st, const char *path, const char *fmt,
                           struct error **err);

/* Fills the pool figures of s (has_pool, data_pct, meta_pct; meta_pct -1
 * when the pool has no metadata space of its own) and, from the higher of
 * the two, warn_level and the warning in s->message naming what ("thin
 * pool 'pve/data'").  storage_status() logs the warning once per level. */
void storage_status_pool(struct storage_status *s, const char *what, double data_pct,
                         double meta_pct);

/* Tells the daemon log what s says once per change (storage_status()
 * calls it): a warning level newly reached, or the storage going inactive
 * with a reason in s->message. */
void storage_status_note(const struct storage *st, const struct storage_status *s);

/* The error every entry point answers for a missing capability. */
int storage_error_unsupported(const struct storage *st, const char *op, struct error **err);

/* Records volname of storeid as being filled (see storage_set_pending_dir);
 * returns the locked journal fd and its path, or -errno (-ENOENT: no
 * journal configured).  storage_pending_end() releases it and frees path;
 * done: the volume is complete or freed, so the record goes too (else it
 * stays for storage_pending_recover()). */
int storage_pending_begin(const char *storeid, const char *volname, char **ret_path);
void storage_pending_end(char *path, int fd, bool done);
