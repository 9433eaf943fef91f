/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * volid: volume ids ("storeid:volname") and the volume names of file-based
 * storages, in Proxmox's grammar (reference/storage.md 1.4-1.5; PVE's
 * parse_volume_id, Plugin::parse_volname, filesystem_path,
 * path_to_volume_id, get_next_vm_diskname and archive_info).
 *
 * Pure string code, no I/O.  Everything here is fed by API input, so every
 * parser refuses what could leave the storage directory: "." and ".."
 * components, absolute or empty parts, and control characters (which PVE's
 * Perl regexes partly let through).  Refusals are 400 errors with -EINVAL,
 * worded like Proxmox's; user text in messages has control bytes escaped as
 * \xNN, since messages end up in the HTTP reason phrase.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;

/* Maximum numbered disks per guest, as PVE's MAX_VOLUMES_PER_GUEST. */
#define VOLNAME_MAX_DISKS 1024
/* Longest volume name of any storage, in bytes.  The longest a dir storage
 * can hold is a linked clone's "<vmid>/<name>/<vmid>/<name>", about 530
 * with 255-byte file names. */
#define VOLNAME_MAX 1024

enum vtype {
	VTYPE_IMAGES,
	VTYPE_ROOTDIR,
	VTYPE_ISO,
	VTYPE_VZTMPL,
	VTYPE_BACKUP,
	VTYPE_SNIPPETS,
	VTYPE_IMPORT,
	_VTYPE_MAX,
	VTYPE_INVALID = -1,
};

/* "images", "rootdir", ...; NULL for an invalid value. */
const char *vtype_to_string(enum vtype t);
/* VTYPE_INVALID for an unknown name. */
enum vtype vtype_from_string(const char *s);
/* The default subdirectory below a file storage's path (vtype_subdirs.tsv):
 * images, private, template/iso, template/cache, dump, snippets, import.
 * NULL for an invalid value.  A storage's content-dirs may override it. */
const char *vtype_subdir(enum vtype t);

/* The image formats of disk and container volumes: the one list.  A storage
 * backend declares the ones it takes as a set of IMAGE_FORMAT_BIT()s, the
 * dir grammar takes them as file name extensions, and listings print them
 * in this order (Proxmox's). */
enum image_format {
	IMAGE_FORMAT_RAW,
	IMAGE_FORMAT_QCOW2,
	IMAGE_FORMAT_VMDK,
	IMAGE_FORMAT_SUBVOL, /* a directory: a container volume, not an image file */
	_IMAGE_FORMAT_MAX,
	IMAGE_FORMAT_INVALID = -1,
};

#define IMAGE_FORMAT_BIT(f) (1u << (f))

/* "raw", "qcow2", "vmdk", "subvol"; NULL for an invalid value. */
const char *image_format_to_string(enum image_format f);
/* IMAGE_FORMAT_INVALID for NULL or an unknown name. */
enum image_format image_format_from_string(const char *s);

/* Proxmox storage id: [a-z][a-z0-9._-]*[a-z0-9], at least 2 characters. */
bool storeid_is_valid(const char *s);

struct volid {
	char *storeid;
	char *volname;
};

/* Splits "local:iso/x.iso" at the first ':'.  The storage id must be valid,
 * the volume name non-empty, at most VOLNAME_MAX bytes and free of control
 * characters; the volume name's grammar is the backend's business
 * (storage_parse_volname(); volname_parse for file-based storages).
 * Error: "unable to parse volume ID '<s>'". */
int volid_parse(const char *s, struct volid *ret, struct error **err);

/* The rules every volume name keeps, whatever its storage's grammar: 1 to
 * VOLNAME_MAX bytes, no control characters, not absolute, and no empty,
 * "." or ".." component (so a backend can never be led out of its storage
 * by a name it accepted).  storage_parse_volname() checks every name its
 * backend accepts against them; alone they are all that can be checked of
 * a name of a storage that does not exist.  Error: 400 "unable to parse
 * volume name '<v>'". */
int volname_check(const char *volname, struct error **err);
void volid_clear(struct volid *v);
/* "storeid:volname" (no checks). */
char *volid_format(const char *storeid, const char *volname);

struct volname_info {
	enum vtype vtype;
	char *name;     /* file name below the vtype's directory ("vm-100-disk-0.qcow2") */
	long vmid;      /* owner, 0 when none (iso, vztmpl, snippets, import, odd backups) */
	char *basename; /* linked clone: the base's name, else NULL */
	long basevmid;  /* linked clone: the base's owner, else 0 */
	bool is_base;   /* name starts with "base-" */
	char *format;   /* raw, qcow2, vmdk, subvol, ova, ovf, ova+vmdk, ...; NULL for rootdir */
};

/* Proxmox's parse_volname for dir-like storages.  Accepted forms:
 *   <vmid>/<name>.{raw,qcow2,vmdk,subvol}
 *   <basevmid>/<basename>/<vmid>/<name>        (linked clone)
 *   iso/<x>.{iso,img}        vztmpl/<x>.tar[.{gz,xz,zst,bz2}]
 *   backup/<x>.{tgz,tar,vma}[.{gz,lzo,zst,bz2}]          snippets/<x>
 *   import/<x>.{ova,ovf,qcow2,raw,vmdk}   import/<x>.ova/<y>.{qcow2,raw,vmdk}
 *   rootdir/<vmid>
 * Errors: "unable to parse directory volume name '<v>'" or
 * "unable to parse volume filename '<name>'", like PVE. */
int volname_parse(const char *volname, struct volname_info *ret, struct error **err);
void volname_info_clear(struct volname_info *i);

/* PVE's filesystem_path for a dir storage at base_path: the file of a volume
 * (linked clones: the clone's own file).  With a snapshot name the format
 * must have internal snapshots (qcow2): else "can't snapshot this image
 * format".  The result always lies strictly below base_path. */
char *volname_path(const char *base_path, const char *volname, const char *snapname,
                   struct error **err);

/* PVE's path_to_volume_id, restricted to one dir storage at base_path and
 * without I/O: maps an absolute path below base_path (a trailing '/' is
 * allowed, for subvol directories) to its volume name and vtype.  A linked
 * clone maps to its plain "<vmid>/<name>" form, since the base is only
 * known from the qcow2 header.  -ENOENT (400 "unable to map path '<p>' to a
 * volume of this storage") when it names no volume; -EINVAL for "." or ".."
 * components or control characters. */
int path_to_volname(const char *base_path, const char *path, char **ret_volname,
                    enum vtype *ret_vtype, struct error **err);

/* PVE's get_next_vm_diskname: the lowest free "vm-<vmid>-disk-N[.fmt]"
 * ("subvol-..." when subvol or fmt is "subvol").  existing holds names or
 * volume names (anything up to the last '/' is ignored); any of
 * vm-/base-/subvol-<vmid>-disk-N takes N.  fmt NULL: no suffix (block
 * storages).  NULL with "unable to allocate an image name for VM <vmid>"
 * once all VOLNAME_MAX_DISKS are taken. */
char *volname_alloc(long vmid, const char *fmt, const char *const *existing, size_t n_existing,
                    bool subvol, struct error **err);

/* The ownership rule of PVE's alloc_image: a name asked for by a client for
 * guest vmid must start with "vm-<vmid>-" ("subvol-<vmid>-" is accepted
 * too).  Error: "illegal name '<name>' - should be 'vm-<vmid>-*'". */
int volname_check_owner(long vmid, const char *name, struct error **err);

/* PVE's archive_info for a backup archive name or path (only the part after
 * the last '/' is looked at). */
struct archive_info {
	char *filename;                  /* the base name */
	char *logfilename;               /* standard names only, else NULL */
	char *notesfilename;             /* standard names only, else NULL */
	char *type;                      /* lxc, openvz, qemu */
	char *format;                    /* tar, vma */
	char *compression;               /* gz, lzo, zst, bz2, or NULL */
	const char *const *decompressor; /* NULL-terminated argv prefix, or NULL; static */
	long vmid;                       /* standard names only, else 0 */
	int64_t ctime;                   /* the name's timestamp as UTC; standard names only */
	bool is_std_name;
};

/* Error: "ERROR: couldn't determine archive info from '<archive>'" (PVE's
 * text).  A standard-looking name with an impossible date (month 13) is
 * taken as non-standard, where PVE's timegm would die. */
int archive_info_parse(const char *archive, struct archive_info *ret, struct error **err);
void archive_info_clear(struct archive_info *a);
