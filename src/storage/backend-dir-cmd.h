/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backend-dir-cmd: the qemu-img commands of the dir backend, built without
 * running anything (reference/storage.md 1.6), so golden tests pin them.
 * Each *_build_cmd() initialises c; the caller releases it.  Sizes are
 * bytes; create rounds up to whole KiB like PVE's "<size>K".
 */
#pragma once

#include <stdint.h>

struct cmd;

/* The -o preallocation mode for a new image of fmt: the storage's
 * `preallocation` key (NULL: unset).  qcow2 defaults to metadata; raw
 * treats metadata as off; other formats get none.  NULL means no option. */
const char *dir_preallocation(const char *fmt, const char *key);

/* qemu-img create [-o preallocation=<m>] -f <fmt> <path> <K>K */
void dir_create_build_cmd(struct cmd *c, const char *path, const char *fmt, uint64_t size,
                          const char *prealloc_key);
/* qemu-img create -F <basefmt> -b <backing> -f qcow2 <path>
 *   -o extended_l2=on,cluster_size=128k[,preallocation=<m>]
 * backing is relative to path's directory ("../<basevmid>/<basename>"). */
void dir_clone_build_cmd(struct cmd *c, const char *path, const char *backing, const char *base_fmt,
                         const char *prealloc_key);
/* qemu-img info --output=json -f <fmt> <path>: never a probed format. */
void dir_info_build_cmd(struct cmd *c, const char *path, const char *fmt);
/* qemu-img resize [--preallocation=<m>] -f <fmt> <path> <bytes> */
void dir_resize_build_cmd(struct cmd *c, const char *path, const char *fmt, uint64_t size,
                          const char *prealloc_key);
/* qemu-img snapshot -c|-a|-d <snap> <path>; op is 'c', 'a' or 'd'.  qemu-img
 * snapshot has no -f: the caller has checked that path is a qcow2 without
 * references (image_check_confined), which qemu's probe takes as qcow2. */
void dir_snapshot_build_cmd(struct cmd *c, char op, const char *path, const char *snap);
