/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-hostpath: the host directories no storage may use.
 *
 * ctvm writes uploads, downloads, disks and backups as root below a
 * storage's directories, so a storage placed in a system directory would let
 * whoever may fill it change the host (an "iso" in /etc/logrotate.d is a
 * root script).  Setting those directories is root@pam's alone (the root_only
 * keys of storage-config.h); this refuses the system directories to everyone,
 * root@pam included, so a slip or a replayed request cannot do it either:
 *
 *   /  (itself)   /etc /usr /bin /sbin /lib* /boot /dev /proc /sys /run
 *   the daemon's config root, state, log and run directories (ctvm_paths),
 *   except <state>/vz, the home of the implicit `local` storage
 *
 * A path is compared where it leads, not as written: the existing part is
 * resolved through symbolic links, "." and ".." and repeated '/' (what the
 * kernel will follow when ctvm creates and writes it), and the part that does
 * not exist yet is appended as mkdir -p would create it.  A symbolic link
 * that cannot be resolved (dangling, a loop) is refused: its target could
 * appear later.  The check is made when the API sets a value; a link made
 * afterwards by root on the host is root's business, and so is a storage.cfg
 * written by hand (it is read as it is).
 */
#pragma once

struct ctvm_paths;
struct error;
struct section;

/*
 * Where path (absolute) leads, resolved as above; malloc'd in *ret.
 * -EINVAL for a relative path, -ELOOP/-ENOENT/... for a component that
 * cannot be followed (each with a 400 message naming path).
 */
int storage_host_path_resolve(const char *path, char **ret, struct error **err);

/*
 * 0 if path may hold storage data, else 400 with errors {param: reason}
 * ("path '/srv/../etc' lies in the system directory '/etc'").  paths gives the
 * daemon's own directories (NULL: only the fixed list).
 */
int storage_host_path_check(const char *param, const char *path, const struct ctvm_paths *paths,
                            struct error **err);

/*
 * Checks every host path of a section the API is about to write: `path`, an
 * `is_mountpoint` that names a path, a zfspool `mountpoint`, and for dir and
 * btrfs the directory of every content type (its content-dirs override or
 * its default), each with storage_host_path_check().  The parameter blamed
 * is the key that placed the directory ("content-dirs" for an override).
 */
int storage_section_check_host_paths(const struct section *s, const struct ctvm_paths *paths,
                                     struct error **err);
