/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * copy-cmd: the commands storage_copy() runs to fill a new volume, built
 * without running anything so golden tests pin them.  Each *_build_cmd()
 * initialises c; the caller releases it.
 */
#pragma once

#include <stdbool.h>

struct cmd;

/* How long one copy command may run: a copy takes as long as the data. */
#define STORAGE_COPY_TIMEOUT_MS (24 * 3600 * 1000)

/*
 * qemu-img convert -n [--target-is-zero] -t writeback -f <src_fmt> -O <dst_fmt> <src> <dst>
 *
 * -n: the target exists already (the destination's alloc made it, with its
 * naming, ownership and preallocation).  target_is_zero: the new target
 * reads as zeros (a fresh file or thin volume, not a thick LV), so qemu-img
 * skips zero regions instead of writing them; with the default -S 4k the
 * target stays as sparse as the source.  -t writeback: the page cache, then
 * the flush qemu-img does on close, so the data is on disk when the task
 * says OK without O_DIRECT (which tmpfs and small writes do badly).
 */
void storage_convert_build_cmd(struct cmd *c, const char *src, const char *src_fmt, const char *dst,
                               const char *dst_fmt, bool target_is_zero);
/* The same reading qcow2 internal snapshot snap of src (`-l
 * snapshot.name=<snap>` before the source, as PVE's qemu_img_convert);
 * snap NULL: storage_convert_build_cmd().  snap is a checked snapshot name
 * (no ',' that qemu-img's option syntax would read). */
void storage_convert_snapshot_build_cmd(struct cmd *c, const char *src, const char *src_fmt,
                                        const char *snap, const char *dst, const char *dst_fmt,
                                        bool target_is_zero);

/*
 * rsync --archive --hard-links --acls --xattrs --sparse --numeric-ids
 *   --one-file-system --whole-file -- <src_dir>/ <dst_dir>/
 *
 * As PVE copies container volumes: owners by number (the ids belong to the
 * container, not to this host), modes, times, ACLs, xattrs, hard links,
 * devices and holes; --one-file-system keeps mounts inside the source out;
 * --whole-file since both sides are local.  The trailing '/' copies the
 * directory's content and attributes into the existing destination.
 */
void storage_rsync_build_cmd(struct cmd *c, const char *src_dir, const char *dst_dir);
