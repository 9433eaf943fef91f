/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-tmpl: a container's root file system from a vztmpl archive.
 *
 * GNU tar does the unpacking, run through the command runner; for an
 * unprivileged container it runs under lxc-usernsexec with the
 * container's id map, so the parser of the untrusted archive never runs
 * as the host's root, every id it sets is shifted by the kernel, and it
 * cannot create device nodes.  The archive is opened here and handed to
 * tar as its stdin; tar's working directory is the rootfs (opened here
 * too), so neither path is resolved inside the user namespace.
 */
#pragma once

#include <stddef.h>

struct cmd;
struct error;
struct lxc_idmap;
struct task_worker;

/* One unpack may take as long as the template is big. */
#define LXC_TMPL_TIMEOUT_MS (3600 * 1000)

enum lxc_tmpl_compression {
	LXC_TMPL_PLAIN,
	LXC_TMPL_GZIP,
	LXC_TMPL_XZ,
	LXC_TMPL_ZSTD,
};

/* The compression of an archive from its first bytes (at least 512 for a
 * plain tar); -EINVAL when it is none of them. */
int lxc_tmpl_detect(const unsigned char *head, size_t len, enum lxc_tmpl_compression *ret);

/*
 * The unpack command, pure (golden tests):
 *   [lxc-usernsexec -m u:CT:HOST:N ... --] tar xpf - [-z|-J|--zstd] --totals
 *   --numeric-owner -p --one-file-system --sparse --xattrs
 *   --xattrs-include=user.* --xattrs-include=security.capability --acls
 *   --warning=no-file-ignored --warning=no-xattr-write --anchored
 *   --exclude=./dev/[*] --exclude=dev/[*]  (everything below dev)
 * map NULL or n 0: privileged.  The caller sets stdin (the archive) and
 * the working directory (the rootfs).
 */
void lxc_tmpl_build_cmd(struct cmd *c, enum lxc_tmpl_compression comp, const struct lxc_idmap *map);

/* lxc-tmpl.h: unpack a vztmpl archive (tar, .tar.gz, .tar.xz, .tar.zst;
 * compression detected from the content, not the name) into rootfs, an
 * existing empty directory.  Unprivileged (map->n > 0): ids shifted by
 * the map, device nodes skipped; nothing ever lands outside rootfs
 * (member names with "..", absolute names, writes through symlinks --
 * absolute or relative -- that leave it).  Progress and skipped members
 * go to w's log.  On failure rootfs may hold a partial tree; the caller
 * frees the volume.
 *
 * Unprivileged: rootfs itself is chowned here to the map's root (the host
 * ids container uid/gid 0 map to), mode 0755, before tar runs, so the
 * mapped root owns and can traverse it whoever created it.  Its parent
 * directories need not be traversable by the mapped ids (tar starts inside
 * it).  lxc-usernsexec needs root's subordinate ranges for the map in
 * /etc/subuid and /etc/subgid when newuidmap is installed (PVE's hosts
 * carry root:100000:65536; tools/setup-deps adds it).
 *
 * A member tar refuses (a name with "..", a link out, an unresolvable hard
 * link, a write through a symlink) fails the unpack with its line in the
 * log; in an unprivileged container device nodes are skipped with a
 * warning each, and the unpack succeeds.  w may be NULL (no log). */
int lxc_tmpl_unpack(const char *archive, const char *rootfs, const struct lxc_idmap *map,
                    struct task_worker *w, struct error **err);
