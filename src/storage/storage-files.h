/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-files: what every storage with a path (dir, btrfs) keeps as plain
 * files in its content directories: ISO images, container templates,
 * backups with their sidecars, snippets and import sources.  PVE's btrfs
 * plugin inherits this from its dir plugin; here the dispatcher sends the
 * info, path and free of every volume name storage_files_owns() to these
 * helpers for a backend with STORAGE_CAP_FILES, and the backends' list
 * slots append storage_files_list(), so the two behave the same, call by
 * call (storage.md 1.5).
 *
 * Volume names are "<vtype>/<file>" in volid.h's grammar ("iso/x.iso",
 * "backup/vzdump-qemu-100-2025_01_01-00_00_01.vma.zst"); the file is
 * looked for in storage_content_dir() of the vtype, so content-dirs is
 * honoured.  Names that are hidden, contain a '/' (OVA members) or would
 * leave the directory are refused with 400.
 *
 * Not for callers outside src/storage: they use the storage_*() entry
 * points, which also hold the lock and refuse protected volumes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "storage.h"

struct error;
struct task_worker;

/* A growing array of volumes, as the list slots build them. */
struct volume_list {
	struct storage_volume *v;
	size_t n, alloc;
};

/* Moves *v into l (v is left zeroed). */
void volume_list_push(struct volume_list *l, struct storage_volume *v);

/* The sorted entry names of dir, hidden ones left out; a missing dir has
 * none.  Free with storage_names_free(). */
int storage_read_dir_sorted(const char *dir, char ***ret, size_t *ret_n, struct error **err);
void storage_names_free(char **names, size_t n);

/* True when volname's first component is iso, vztmpl, backup, snippets or
 * import: then the storage_files_*() functions handle it, whether or not
 * the rest parses. */
bool storage_files_owns(const char *volname);

/* Whether a list call asked for content type vtype: content is a comma
 * list; NULL means everything the storage's `content` key allows (or its
 * type's default when unset; "images,rootdir" without a config). */
bool storage_content_wanted(const struct storage *st, const char *content, const char *vtype);

/* storage_content_dir() of st's section; with no section, the default
 * subdirectory below st->path. */
char *storage_files_dir(const struct storage *st, const char *vtype, struct error **err);

int storage_files_path(const struct storage *st, const char *volname, char **ret_path,
                       struct error **err);
/* size, used, ctime (a backup's from its standard name, as PVE), the
 * listing format (iso, tar/tgz/tzst/..., vma.zst/tar.gz/..., snippet,
 * ova/...), and for backups notes and protected from "<file>.notes" and
 * "<file>.protected".  404 when the file does not exist. */
int storage_files_info(const struct storage *st, const char *volname, struct storage_volume *ret,
                       struct error **err);
/* Appends the files of the wanted content types to l, in the order iso,
 * vztmpl, backup, snippets, import, each sorted by name.  vmid != 0: iso
 * and vztmpl are left out and backups are the guest's (as PVE). */
int storage_files_list(const struct storage *st, long vmid, const char *content,
                       struct volume_list *l, struct error **err);
/* Removes the file; a backup takes its notes, protection and log files
 * (PVE's archive_auxiliaries_remove) with it.  The dispatcher has already
 * refused a protected backup.  404 when the file does not exist. */
int storage_files_free(const struct storage *st, const char *volname, struct task_worker *w,
                       struct error **err);

/*
 * Sets or clears the immutable attribute (FS_IMMUTABLE_FL, what chattr +i
 * sets) of a regular file, with the FS_IOC_GETFLAGS/SETFLAGS ioctls.
 * Setting is best effort, like PVE's create_base: a file system without the
 * attribute (tmpfs: ENOTTY, EOPNOTSUPP) or a caller without
 * CAP_LINUX_IMMUTABLE gets a warning in w's task log (debug log when w is
 * NULL) and 0.  Clearing is what must work before a base file is changed or
 * removed: nothing to do when the attribute is unsupported or unset, 500
 * when it is set and cannot be cleared.  Returns 1 when the attribute was
 * changed, 0 when not, a negative errno when the file cannot be opened.
 */
int storage_file_set_immutable(const char *path, bool on, struct task_worker *w,
                               struct error **err);
/* true when the file at path has the immutable attribute */
bool storage_file_is_immutable(const char *path);
