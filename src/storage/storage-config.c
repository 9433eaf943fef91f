/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage.cfg: the schema of the five local storage types (after
 * pve-storage's Plugin.pm, DirPlugin, LVMPlugin, LvmThinPlugin,
 * ZFSPoolPlugin and BTRFSPlugin), the API-side validation and the store.
 */
#include "common.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-lvm.h"
#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "prune.h"
#include "property.h"
#include "storage-config.h"
#include "storage-formats.h"
#include "storage.h"
#include "strbuf.h"
#include "task-formats.h"
#include "volid.h"
#include "xalloc.h"

/* --- value checks --- */

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

int storage_verify_id(const char *id, struct error **err)
{
	size_t n = id ? strlen(id) : 0;
	bool ok = n >= 2 && isalpha((unsigned char)id[0]) && isalnum((unsigned char)id[n - 1]);
	for (size_t i = 0; ok && i < n; i++)
		ok = is_word_char(id[i]);
	if (!ok)
		return error_set(err, -EINVAL, 400, "storage ID '%s' contains illegal characters",
		                 id ? id : "");
	return 0;
}

static int validate_id_hook(const char *id, struct error **err)
{
	return storage_verify_id(id, err);
}

static int validate_path(const char *v, struct error **err)
{
	if (v[0] != '/')
		return error_set(err, -EINVAL, 400,
		                 "value does not look like a valid absolute path");
	return 0;
}

/* pve-storage-vgname (also LV names): lvm(8)'s grammar, the backend's */
static int validate_lvm_name(const char *v, struct error **err)
{
	if (!lvm_name_valid(v))
		return error_set(err, -EINVAL, 400,
		                 "value '%s' does not look like a valid LVM name", v);
	return 0;
}

/* A ZFS pool or dataset: rpool/data */
static int validate_zfs_name(const char *v, struct error **err)
{
	bool ok = isalnum((unsigned char)*v) && v[strlen(v) - 1] != '/' && !strstr(v, "//");
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("_-.:/", *p);
	if (!ok)
		return error_set(err, -EINVAL, 400,
		                 "value '%s' does not look like a valid ZFS pool or dataset", v);
	return 0;
}

/* pve-node names, comma separated */
static int validate_nodes(const char *v, struct error **err)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	size_t n = 0;
	for (char *t = strtok_r(copy, ", ;", &save); t; t = strtok_r(NULL, ", ;", &save)) {
		size_t len = strlen(t);
		bool ok = isalnum((unsigned char)t[0]) && isalnum((unsigned char)t[len - 1]);
		for (size_t i = 0; ok && i < len; i++)
			ok = isalnum((unsigned char)t[i]) || t[i] == '-';
		if (!ok)
			return error_set(err, -EINVAL, 400,
			                 "value '%s' does not look like a valid node name", t);
		n++;
	}
	if (!n)
		return error_set(err, -EINVAL, 400, "empty node list");
	return 0;
}

static bool parse_uint(const char *s, unsigned long long *ret)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	*ret = strtoull(s, NULL, 10);
	return true;
}

/* keep-all=1 or keep-{last,hourly,daily,weekly,monthly,yearly}=N,...: one
 * parser for storage.cfg and the prunebackups API (prune.c) */
static int validate_prune(const char *v, struct error **err)
{
	struct prune_options o;
	return prune_options_parse(v, &o, err);
}

/* zvol volblocksize: a power of two from 512 bytes to 16 MiB, "8k", "16K", "1M" */
static int validate_blocksize(const char *v, struct error **err)
{
	_cleanup_free_ char *num = xstrdup(v);
	size_t n = strlen(num);
	unsigned long long mult = 1, size;
	if (n && strchr("kK", num[n - 1]))
		mult = 1024;
	else if (n && strchr("mM", num[n - 1]))
		mult = 1024 * 1024;
	if (mult > 1)
		num[n - 1] = '\0';
	if (!parse_uint(num, &size) || size > (1ull << 40) || (size *= mult) < 512 ||
	    size > 16 * 1024 * 1024 || (size & (size - 1)))
		return error_set(err, -EINVAL, 400,
		                 "block size must be a power of two from 512 to 16M, got '%s'", v);
	return 0;
}

/* is_mountpoint: a boolean (the storage path itself) or an absolute path */
static int validate_mountpoint_flag(const char *v, struct error **err)
{
	static const char *const words[] = {"0", "1", "yes", "no", "on", "off", "true", "false"};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(v, words[i]) == 0)
			return 0;
	return validate_path(v, err);
}

static const char *const dir_content[] = {"images",   "rootdir", "vztmpl", "iso", "backup",
                                          "snippets", "import",  "none",   NULL};
static const char *const vol_content[] = {"images", "rootdir", NULL};

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (streq(list[i], s))
			return true;
	return false;
}

static int check_content(const char *v, const char *const *valid, struct error **err)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	size_t n = 0;
	bool none = false;
	for (char *t = strtok_r(copy, ", ;", &save); t; t = strtok_r(NULL, ", ;", &save)) {
		if (!in_list(valid, t))
			return error_set(err, -EINVAL, 400,
			                 "storage does not support content type '%s'", t);
		none |= streq(t, "none");
		n++;
	}
	if (none && n > 1)
		return error_set(err, -EINVAL, 400,
		                 "unable to combine 'none' with other content types");
	return 0;
}

static int validate_dir_content(const char *v, struct error **err)
{
	return check_content(v, dir_content, err);
}

static int validate_vol_content(const char *v, struct error **err)
{
	return check_content(v, vol_content, err);
}

/* --- content-dirs: per-content subdirectories (PVE's pve-dir-override-list) --- */

#define CONTENT_DIRS_MAX 16

struct content_dir {
	char content[16];
	char *dir; /* relative, without a trailing '/' */
};

static void content_dirs_clear(struct content_dir *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].dir);
}

/* One relative directory below the storage path: no leading '/', no empty,
 * "." or ".." component (a trailing '/' is dropped first), components of at
 * most 254 bytes and 1022 in all, as PVE's verify_dir_override. */
static int check_override_dir(const char *content, char *dir, struct error **err)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if (n == 0)
		return error_set(err, -EINVAL, 400, "empty directory for content type '%s'",
		                 content);
	if (dir[0] == '/')
		return error_set(err, -EINVAL, 400,
		                 "directory '%s' for content type '%s' must be relative to the "
		                 "storage path",
		                 dir, content);
	if (n >= 1023)
		return error_set(err, -EINVAL, 400, "directory for content type '%s' is too long",
		                 content);
	for (const char *p = dir; *p;) {
		size_t l = strcspn(p, "/");
		if (l == 0 || (l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(err, -EINVAL, 400,
			                 "directory '%s' for content type '%s' has an empty, '.' "
			                 "or '..' component",
			                 dir, content);
		if (l >= 255)
			return error_set(err, -EINVAL, 400,
			                 "directory for content type '%s' has a component longer "
			                 "than 254 bytes",
			                 content);
		p += l + (p[l] == '/');
	}
	return 0;
}

/*
 * Parses "iso=isos,backup=my/dumps" (items separated by ',', ';' or blanks)
 * into ret (at most CONTENT_DIRS_MAX).  Refuses control characters, items
 * without '=', content types a dir storage cannot hold, bad directories
 * (check_override_dir), a content type given twice and one directory for two
 * content types.
 */
static int content_dirs_parse(const char *v, struct content_dir *ret, size_t *ret_n,
                              struct error **err)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return error_set(err, -EINVAL, 400, "value contains control characters");
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	size_t n = 0;
	int r = 0;
	for (char *t = strtok_r(copy, ", ;", &save); t && r >= 0;
	     t = strtok_r(NULL, ", ;", &save)) {
		char *eq = strchr(t, '=');
		if (!eq) {
			r = error_set(err, -EINVAL, 400,
			              "invalid override '%s' - expected "
			              "'<content>=<directory>'",
			              t);
			break;
		}
		*eq = '\0';
		if (!in_list(dir_content, t) || streq(t, "none")) {
			r = error_set(err, -EINVAL, 400,
			              "storage does not support content type '%s'", t);
			break;
		}
		r = check_override_dir(t, eq + 1, err);
		for (size_t i = 0; r >= 0 && i < n; i++) {
			if (streq(ret[i].content, t))
				r = error_set(err, -EINVAL, 400,
				              "duplicate override for content type '%s'", t);
			else if (streq(ret[i].dir, eq + 1))
				r = error_set(
				    err, -EINVAL, 400,
				    "directory '%s' is used for content types '%s' and '%s'",
				    eq + 1, ret[i].content, t);
		}
		if (r >= 0 && n == CONTENT_DIRS_MAX)
			r = error_set(err, -EINVAL, 400, "too many overrides");
		if (r >= 0) {
			snprintf(ret[n].content, sizeof(ret[n].content), "%s", t);
			ret[n++].dir = xstrdup(eq + 1);
		}
	}
	if (r >= 0 && n == 0)
		r = error_set(err, -EINVAL, 400, "empty list of content directories");
	if (r < 0) {
		content_dirs_clear(ret, n);
		return r;
	}
	*ret_n = n;
	return 0;
}

static int validate_content_dirs(const char *v, struct error **err)
{
	struct content_dir d[CONTENT_DIRS_MAX];
	size_t n = 0;
	int r = content_dirs_parse(v, d, &n, err);
	if (r >= 0)
		content_dirs_clear(d, n);
	return r;
}

static int cmp_content_dir(const void *a, const void *b)
{
	return strcmp(((const struct content_dir *)a)->content,
	              ((const struct content_dir *)b)->content);
}

/* "backup=my/dumps,iso=isos": sorted by content type, as PVE writes it */
static char *normalize_content_dirs(const char *v)
{
	struct content_dir d[CONTENT_DIRS_MAX];
	size_t n = 0;
	if (content_dirs_parse(v, d, &n, NULL) < 0)
		return xstrdup(v); /* validated before; not reached */
	qsort(d, n, sizeof(d[0]), cmp_content_dir);
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&out, "%s%s=%s", i ? "," : "", d[i].content, d[i].dir);
	content_dirs_clear(d, n);
	return strbuf_detach(&out, NULL);
}

/*
 * No content type's directory may be or lie inside another's, counting the
 * default directories of the types v does not name: one type could
 * otherwise list, overwrite or delete another's files (an "iso" upload into
 * a guest's images/, a prune inside template/).  For the API only: a
 * storage.cfg written by hand is read as it is, and activation still
 * refuses two content types in one directory (check_dirs_distinct).
 */
static int check_content_dirs_disjoint(const char *v, struct error **err)
{
	struct content_dir d[CONTENT_DIRS_MAX];
	size_t n = 0;
	struct error *e = NULL;
	if (content_dirs_parse(v, d, &n, &e) < 0) {
		int r = error_param(err, "content-dirs", "%s", e ? e->msg : "invalid value");
		error_free(e);
		return r;
	}
	const char *dir[_VTYPE_MAX];
	for (int t = 0; t < _VTYPE_MAX; t++) {
		dir[t] = vtype_subdir((enum vtype)t);
		for (size_t i = 0; i < n; i++)
			if (streq(d[i].content, vtype_to_string((enum vtype)t)))
				dir[t] = d[i].dir;
	}
	int r = 0;
	for (int t = 0; t < _VTYPE_MAX && r >= 0; t++)
		for (int u = 0; u < _VTYPE_MAX && r >= 0; u++) {
			size_t l = strlen(dir[u]);
			if (u > t && streq(dir[t], dir[u]))
				r = error_param(err, "content-dirs",
				                "directory '%s' is used for content types '%s' and "
				                "'%s'",
				                dir[t], vtype_to_string((enum vtype)t),
				                vtype_to_string((enum vtype)u));
			else if (u != t && strncmp(dir[t], dir[u], l) == 0 && dir[t][l] == '/')
				r = error_param(err, "content-dirs",
				                "directory '%s' of content type '%s' lies inside "
				                "directory '%s' of content type '%s'",
				                dir[t], vtype_to_string((enum vtype)t), dir[u],
				                vtype_to_string((enum vtype)u));
		}
	content_dirs_clear(d, n);
	return r;
}

/* --- the keys, each described once --- */

/* max-protected-backups: the API documents no maximum (as PVE), the file
 * keeps an int */
static int validate_int32(const char *v, struct error **err)
{
	if (strtoll(v, NULL, 10) > INT32_MAX)
		return error_set(err, -EINVAL, 400, "value must have a maximum value of %d",
		                 INT32_MAX);
	return 0;
}

/* saferemove-stepsize: MiB, a power of two up to 32 (a string in the API) */
static int validate_stepsize(const char *v, struct error **err)
{
	static const char *const sizes[] = {"1", "2", "4", "8", "16", "32", NULL};
	if (!in_list(sizes, v))
		return error_set(err, -EINVAL, 400,
		                 "value '%s' does not have a value in the enumeration", v);
	return 0;
}

static const char *const image_formats[] = {"raw", "qcow2", "vmdk", "subvol", NULL};
static const char *const btrfs_formats[] = {"raw", "subvol", NULL};
static const char *const prealloc_values[] = {"off", "metadata", "falloc", "full", NULL};

enum storage_key {
	K_PATH,
	K_VGNAME,
	K_THINPOOL,
	K_POOL,
	K_BASE,
	K_CONTENT,
	K_NODES,
	K_DISABLE,
	K_SHARED,
	K_COMMENT,
	K_BWLIMIT,
	K_PRUNE_BACKUPS,
	K_MAX_PROTECTED,
	K_IS_MOUNTPOINT,
	K_MKDIR,
	K_CREATE_BASE_PATH,
	K_CREATE_SUBDIRS,
	K_PREALLOCATION,
	K_FORMAT,
	K_CONTENT_DIRS,
	K_SNAPSHOT_CHAIN,
	K_NOCOW,
	K_SAFEREMOVE,
	K_SAFEREMOVE_STEPSIZE,
	K_SAFEREMOVE_THROUGHPUT,
	K_TAGGED_ONLY,
	K_BLOCKSIZE,
	K_SPARSE,
	K_MOUNTPOINT,
	K_OVERCOMMIT_LIMIT,
	_K_MAX,
};

/* The bound of a storage.cfg string that names none of its own. */
#define STORAGE_MAX_STRING 4096

#define K_STR(n, chk, d)                                                                 \
	{                                                                                \
		.name = (n), .type = CONF_TYPE_STRING, .max_length = STORAGE_MAX_STRING, \
		.check = (chk), .description = (d)                                       \
	}
/*
 * Host keys (root_only): where a storage puts its data on this host.  Whoever
 * sets them decides where ctvm writes files as root, so only root@pam may
 * (storage.md, "Who may set what"); every other key only tunes a storage
 * that root placed.
 */
#define K_HOST(n, chk, d)                                                            \
	{                                                                            \
		.name = (n), .type = CONF_TYPE_STRING, .flags = CONF_PROP_ROOT_ONLY, \
		.max_length = STORAGE_MAX_STRING, .check = (chk), .description = (d) \
	}
#define K_BOOL(n, fl, d)                                                                  \
	{                                                                                 \
		.name = (n), .type = CONF_TYPE_BOOLEAN, .flags = (fl), .description = (d) \
	}

/*
 * Every storage.cfg key, once (after pve-storage's Plugin.pm and the
 * plugins' properties): the config parser and writer see them through each
 * type's list below, and the API's parameter rows of POST /storage and PUT
 * /storage/{storage} are generated from this table in this order
 * (src/api/gen-storage-params.c).  A key's check runs when the file is read
 * and when the API sets it, after the API's own checks of type, bounds and
 * format.
 */
static const struct conf_prop storage_keys[_K_MAX + 1] = {
    [K_PATH] = K_HOST("path", validate_path, "File system path."),
    [K_VGNAME] = K_HOST("vgname", validate_lvm_name, "Volume group name."),
    [K_THINPOOL] = K_HOST("thinpool", validate_lvm_name, "LVM thin pool LV name."),
    [K_POOL] = K_HOST("pool", validate_zfs_name, "ZFS pool or dataset."),
    [K_BASE] = K_HOST("base", NULL, "Base volume (iSCSI LUN) of an LVM volume group."),
    [K_CONTENT] = {.name = "content",
                   .type = CONF_TYPE_STRING,
                   .format = "pve-storage-content-list",
                   .max_length = 1024,
                   .description = "Allowed content types. 'none' for no content."},
    [K_NODES] = {.name = "nodes",
                 .type = CONF_TYPE_STRING,
                 .format = "pve-node-list",
                 .max_length = STORAGE_MAX_STRING,
                 .check = validate_nodes,
                 .description = "List of nodes for which the storage configuration applies."},
    [K_DISABLE] = K_BOOL("disable", 0, "Flag to disable the storage."),
    [K_SHARED] = K_BOOL("shared", 0,
                        "Indicate that this is a single storage with the same contents on "
                        "all nodes."),
    [K_COMMENT] = K_STR("comment", NULL, "Description."),
    [K_BWLIMIT] = K_STR("bwlimit", NULL, "I/O bandwidth limits."),
    /* the prune-backups format's parser, as the config's own check: the API
     * rows have always shown this key without a format */
    [K_PRUNE_BACKUPS] = K_STR("prune-backups", validate_prune,
                              "The retention options (keep-all=1 or keep-last=N,...)."),
    [K_MAX_PROTECTED] = {.name = "max-protected-backups",
                         .type = CONF_TYPE_INTEGER,
                         .has_min = true,
                         .min = -1,
                         .check = validate_int32,
                         .description = "Maximal number of protected backups per guest. "
                                        "-1: unlimited."},
    [K_IS_MOUNTPOINT] = K_HOST("is_mountpoint", validate_mountpoint_flag,
                               "The path (or the storage path, 'yes') must be a mounted file "
                               "system."),
    [K_MKDIR] = K_BOOL("mkdir", CONF_PROP_ROOT_ONLY,
                       "Deprecated: use create-base-path and create-subdirs."),
    [K_CREATE_BASE_PATH] = K_BOOL("create-base-path", CONF_PROP_ROOT_ONLY,
                                  "Create the base directory if it doesn't exist."),
    [K_CREATE_SUBDIRS] = K_BOOL("create-subdirs", CONF_PROP_ROOT_ONLY,
                                "Populate the directory with the default structure."),
    [K_PREALLOCATION] = {.name = "preallocation",
                         .type = CONF_TYPE_ENUM,
                         .enum_values = prealloc_values,
                         .description = "Preallocation mode for raw and qcow2 images."},
    [K_FORMAT] = {.name = "format",
                  .type = CONF_TYPE_ENUM,
                  .enum_values = image_formats,
                  .description = "Default image format."},
    [K_CONTENT_DIRS] = K_HOST("content-dirs", validate_content_dirs,
                              "Overrides for default content type directories."),
    [K_SNAPSHOT_CHAIN] =
        K_BOOL("snapshot-as-volume-chain", 0, "Use qcow2 backing chains for snapshots."),
    [K_NOCOW] = K_BOOL("nocow", 0, "Set the NOCOW flag on files (btrfs)."),
    [K_SAFEREMOVE] = K_BOOL("saferemove", 0, "Zero-out data when removing LVs."),
    [K_SAFEREMOVE_STEPSIZE] = {.name = "saferemove-stepsize",
                               .type = CONF_TYPE_STRING,
                               .max_length = 4,
                               .check = validate_stepsize,
                               .description = "Wipe step size in MiB (1, 2, 4, 8, 16, 32)."},
    [K_SAFEREMOVE_THROUGHPUT] =
        K_STR("saferemove_throughput", NULL, "Wipe throughput (cstream -t parameter value)."),
    [K_TAGGED_ONLY] = K_BOOL("tagged_only", 0, "Only use logical volumes tagged with 'pve-vm-ID'."),
    [K_BLOCKSIZE] = K_STR("blocksize", validate_blocksize, "ZFS volume block size."),
    [K_SPARSE] = K_BOOL("sparse", 0, "Use ZFS thin-provisioning."),
    [K_MOUNTPOINT] = K_HOST("mountpoint", validate_path, "Mount point of the ZFS pool or dataset."),
    /* ctvm's own: Proxmox lets thin pools be overcommitted without a word */
    [K_OVERCOMMIT_LIMIT] = {.name = "overcommit-limit",
                            .type = CONF_TYPE_NUMBER,
                            .has_min = true,
                            .min = 1,
                            .has_max = true,
                            .max = 1000,
                            .description = "ctvm: refuse new thin volumes when the sum of the "
                                           "pool's virtual disk sizes would exceed this "
                                           "multiple of the pool's size (1: no overcommit). "
                                           "Unset: no limit."},
    [_K_MAX] = {.name = NULL},
};

/* --- the types: which keys each takes (PVE's plugin "options") --- */

#define OPT(k)                                             \
	{                                                  \
		.prop = &storage_keys[k], .optional = true \
	}
/* required and fixed at creation */
#define FIXED(k)                                        \
	{                                               \
		.prop = &storage_keys[k], .fixed = true \
	}
#define OPT_CHECK(k, chk)                                                  \
	{                                                                  \
		.prop = &storage_keys[k], .optional = true, .check = (chk) \
	}
#define COMMON(content_check)                                                              \
	OPT(K_COMMENT), OPT(K_DISABLE), OPT_CHECK(K_CONTENT, content_check), OPT(K_NODES), \
	    OPT(K_BWLIMIT)
#define BACKUP                                                                          \
	OPT(K_PRUNE_BACKUPS), OPT(K_MAX_PROTECTED), OPT(K_IS_MOUNTPOINT), OPT(K_MKDIR), \
	    OPT(K_CREATE_BASE_PATH), OPT(K_CREATE_SUBDIRS), OPT(K_PREALLOCATION), OPT(K_SHARED)

static const struct section_prop dir_props[] = {
    FIXED(K_PATH),
    COMMON(validate_dir_content),
    BACKUP,
    OPT(K_FORMAT),
    OPT(K_CONTENT_DIRS),
    {.prop = &storage_keys[K_SNAPSHOT_CHAIN], .optional = true, .fixed = true},
};

static const struct section_prop btrfs_props[] = {
    FIXED(K_PATH),
    COMMON(validate_dir_content),
    BACKUP,
    {.prop = &storage_keys[K_FORMAT], .optional = true, .enum_values = btrfs_formats},
    OPT(K_NOCOW),
};

static const struct section_prop lvm_props[] = {
    FIXED(K_VGNAME),
    COMMON(validate_vol_content),
    {.prop = &storage_keys[K_BASE], .optional = true, .fixed = true},
    OPT(K_SHARED),
    OPT(K_SAFEREMOVE),
    OPT(K_SAFEREMOVE_STEPSIZE),
    OPT(K_SAFEREMOVE_THROUGHPUT),
    OPT(K_TAGGED_ONLY),
    OPT(K_SNAPSHOT_CHAIN),
};

static const struct section_prop lvmthin_props[] = {
    FIXED(K_VGNAME),
    FIXED(K_THINPOOL),
    COMMON(validate_vol_content),
    OPT(K_OVERCOMMIT_LIMIT),
};

static const struct section_prop zfspool_props[] = {
    FIXED(K_POOL),     COMMON(validate_vol_content), OPT(K_BLOCKSIZE), OPT(K_SPARSE),
    OPT(K_MOUNTPOINT), OPT(K_OVERCOMMIT_LIMIT),
};

static const struct section_type storage_types[] = {
    {"dir", dir_props, ARRAY_SIZE(dir_props)},
    {"lvm", lvm_props, ARRAY_SIZE(lvm_props)},
    {"lvmthin", lvmthin_props, ARRAY_SIZE(lvmthin_props)},
    {"zfspool", zfspool_props, ARRAY_SIZE(zfspool_props)},
    {"btrfs", btrfs_props, ARRAY_SIZE(btrfs_props)},
};

/* what storage.cfg's keys may name: pve-node (task), the storage formats */
static const struct conf_format *const storage_config_formats[] = {
    conf_formats,
    task_formats,
    storage_formats,
    NULL,
};

static const struct section_schema schema = {
    .types = storage_types,
    .n_types = ARRAY_SIZE(storage_types),
    .formats = storage_config_formats,
    .allow_unknown = true,
    .lowercase_type = true,
    .validate_id = validate_id_hook,
};

const struct section_schema *storage_schema(void)
{
	return &schema;
}

const struct conf_prop *storage_config_keys(void)
{
	return storage_keys;
}

bool storage_type_known(const char *type)
{
	return type && section_schema_find_type(&schema, type) != NULL;
}

double storage_overcommit_limit(const struct section *s)
{
	const char *v = s ? section_get(s, "overcommit-limit") : NULL;
	char *end = NULL;
	double d;

	if (!v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	/* the config's check refused anything else; be safe all the same */
	return errno || end == v || *end || !(d >= 1) || d > 1000 ? 0 : d;
}

bool storage_key_root_only(const char *key)
{
	const struct conf_prop *p = conf_props_find(storage_keys, key, NULL);
	return p && (p->flags & CONF_PROP_ROOT_ONLY);
}

/* The default content of a type when `content` is unset (PVE plugindata). */
static const char *default_content(const char *type)
{
	if (streq(type, "lvm"))
		return "images";
	if (storage_type_known(type))
		return "images,rootdir";
	return NULL;
}

int storage_config_parse(const char *data, size_t len, unsigned flags, struct section_config **ret,
                         struct error **err)
{
	return section_config_parse(data, len, &schema, flags, ret, err);
}

int storage_config_write(const struct section_config *c, struct strbuf *out, struct error **err)
{
	return section_config_write(c, &schema, out, err);
}

bool storage_config_ensure_local(struct section_config *c, const char *state_dir)
{
	if (section_config_find(c, "local"))
		return false;
	struct section *s = NULL;
	if (section_config_add(c, "dir", "local", &s, NULL) < 0)
		return false;
	_cleanup_free_ char *path = path_join(state_dir, "vz");
	section_set(s, "path", path);
	section_set(s, "content", "iso,vztmpl,backup,images,rootdir");
	return true;
}

/* --- API-side changes --- */

/* content without duplicates, in the given order */
static char *normalize_content(const char *v)
{
	_cleanup_free_ char *copy = xstrdup(v);
	struct strbuf out = STRBUF_INIT;
	char *save = NULL;
	for (char *t = strtok_r(copy, ", ;", &save); t; t = strtok_r(NULL, ", ;", &save)) {
		bool dup = false;
		size_t tl = strlen(t);
		for (const char *p = out.buf; *p && !dup; p += strcspn(p, ","), p += *p == ',')
			dup = strncmp(p, t, tl) == 0 && (p[tl] == ',' || !p[tl]);
		if (dup)
			continue;
		if (out.len)
			strbuf_addch(&out, ',');
		strbuf_addstr(&out, t);
	}
	if (!out.len)
		strbuf_addstr(&out, "none");
	return strbuf_detach(&out, NULL);
}

int storage_section_set(struct section *s, const char *key, const char *value, bool create,
                        struct error **err)
{
	const struct section_type *t = section_schema_find_type(&schema, s->type);
	if (!t)
		return error_set(err, -EOPNOTSUPP, 400, "storage type '%s' is not supported",
		                 s->type);
	const struct section_prop *p = section_type_find_prop(t, key);
	if (!p)
		return error_param(err, key, "unexpected property");
	if (p->fixed && !create)
		return error_param(err, key, "can't change value of fixed parameter '%s'", key);
	_cleanup_free_ char *norm = NULL;
	int r = section_schema_check_value(&schema, s->type, key, value, &norm, err);
	if (r < 0)
		return r;
	if (streq(key, "content-dirs")) {
		r = check_content_dirs_disjoint(norm, err);
		if (r < 0)
			return r;
	}
	if (streq(key, "content") || streq(key, "content-dirs")) {
		char *c =
		    streq(key, "content") ? normalize_content(norm) : normalize_content_dirs(norm);
		free(norm);
		norm = c;
	}
	section_set(s, key, norm);
	return 0;
}

int storage_section_delete(struct section *s, const char *key, struct error **err)
{
	const struct section_type *t = section_schema_find_type(&schema, s->type);
	const struct section_prop *p = t ? section_type_find_prop(t, key) : NULL;
	if (!p)
		return error_param(err, "delete", "unexpected property '%s'", key);
	if (p->fixed || !p->optional)
		return error_param(err, "delete", "cannot delete fixed or required option '%s'",
		                   key);
	section_unset(s, key);
	return 0;
}

int storage_section_check_complete(const struct section *s, struct error **err)
{
	const struct section_type *t = section_schema_find_type(&schema, s->type);
	for (size_t i = 0; t && i < t->n_props; i++)
		if (!t->props[i].optional && !section_has(s, t->props[i].prop->name))
			error_param(err, t->props[i].prop->name,
			            "property is missing and it is not optional");
	return err && *err ? -EINVAL : 0;
}

json_t *storage_section_json(const struct section *s, const char *digest)
{
	const struct section_type *t = section_schema_find_type(&schema, s->type);
	json_t *o = json_pack("{s:s, s:s}", "storage", s->id, "type", s->type);
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct section_kv *kv = &s->kv[i];
		if (json_object_get(o, kv->key))
			continue; /* repeated key: the first wins */
		const struct section_prop *p = t ? section_type_find_prop(t, kv->key) : NULL;
		json_t *v;
		if (p && p->prop->type == CONF_TYPE_BOOLEAN)
			v = json_integer(!kv->value || !streq(kv->value, "0"));
		else if (p && p->prop->type == CONF_TYPE_INTEGER && kv->value)
			v = json_integer(strtoll(kv->value, NULL, 10));
		else if (!kv->value)
			v = json_integer(1); /* a bare flag of an unknown type */
		else
			v = json_string(kv->value);
		json_object_set_new(o, kv->key, v);
	}
	const char *dc = default_content(s->type);
	if (!json_object_get(o, "content") && dc)
		json_object_set_new(o, "content", json_string(dc));
	if (digest)
		json_object_set_new(o, "digest", json_string(digest));
	return o;
}

static bool comma_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list ? list : ""; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, item, n) == 0)
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

bool storage_section_enabled_on(const struct section *s, const char *node)
{
	const char *dis = section_get(s, "disable");
	const char *nodes = section_get(s, "nodes");
	bool disabled = section_has(s, "disable") && !(dis && streq(dis, "0"));
	return !disabled && (!nodes || comma_list_has(nodes, node));
}

bool storage_section_has_content(const struct section *s, const char *content)
{
	const char *list = section_get(s, "content");
	return comma_list_has(list ? list : default_content(s->type), content);
}

/* --- dir activation --- */

static bool flag(const struct section *s, const char *key, bool def)
{
	if (!section_has(s, key))
		return def;
	const char *v = section_get(s, key);
	return !v || !streq(v, "0");
}

static bool is_mounted(const char *mp)
{
	struct stat st, parent;
	_cleanup_free_ char *up = path_join(mp, "..");
	if (stat(mp, &st) < 0 || stat(up, &parent) < 0)
		return false;
	return st.st_dev != parent.st_dev || st.st_ino == parent.st_ino;
}

/* is_mountpoint: unset or false: NULL; true: the path; else its value. */
static const char *mountpoint_of(const struct section *s, const char *path)
{
	static const char *const yes[] = {"1", "yes", "on", "true"};
	if (!section_has(s, "is_mountpoint"))
		return NULL;
	const char *v = section_get(s, "is_mountpoint");
	if (!v)
		return path;
	if (v[0] == '/')
		return v;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return path;
	return NULL;
}

char *storage_content_dir(const struct section *s, const char *vtype, struct error **err)
{
	const char *path = section_get(s, "path");
	const char *sub = vtype_subdir(vtype_from_string(vtype));
	const char *cd = section_get(s, "content-dirs");
	struct content_dir d[CONTENT_DIRS_MAX];
	size_t n = 0;

	if (!path || path[0] != '/') {
		error_set(err, -EINVAL, 500, "storage '%s' has no path", s->id);
		return NULL;
	}
	if (!sub) {
		error_set(err, -EINVAL, 500, "unknown content type '%s'", vtype ? vtype : "");
		return NULL;
	}
	if (cd) {
		/* storage.cfg is validated when read and written; a section
		 * built by hand is checked here, since the result becomes a
		 * path */
		struct error *e = NULL;
		if (content_dirs_parse(cd, d, &n, &e) < 0) {
			error_set(err, e ? e->code : -EINVAL, 500,
			          "storage '%s' has an invalid content-dirs: %s", s->id,
			          e ? e->msg : "invalid value");
			error_free(e);
			return NULL;
		}
	}
	char *ret = NULL;
	for (size_t i = 0; i < n && !ret; i++)
		if (streq(d[i].content, vtype))
			ret = path_join(path, d[i].dir);
	content_dirs_clear(d, n);
	return ret ? ret : path_join(path, sub);
}

static bool has_content(const char *content, const char *ct)
{
	size_t n = strlen(ct);
	for (const char *p = content; *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, ct, n) == 0 && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* PVE's check that no two content types in use share a directory (after
 * symlinks), so one content type cannot list or delete another's files. */
static int check_dirs_distinct(const struct section *s, const char *content, struct error **err)
{
	char *real[_VTYPE_MAX] = {0};
	int r = 0;
	for (int t = 0; t < _VTYPE_MAX && r >= 0; t++) {
		const char *vt = vtype_to_string((enum vtype)t);
		if (!has_content(content, vt))
			continue;
		_cleanup_free_ char *d = storage_content_dir(s, vt, err);
		if (!d) {
			r = -EINVAL;
			break;
		}
		real[t] = realpath(d, NULL);
		for (int u = 0; real[t] && u < t && r >= 0; u++)
			if (real[u] && streq(real[u], real[t]))
				r = error_set(err, -EINVAL, 500,
				              "storage '%s' uses directory %s for multiple content "
				              "types",
				              s->id, real[t]);
	}
	for (int t = 0; t < _VTYPE_MAX; t++)
		free(real[t]);
	return r;
}

int storage_dir_prepare(const struct section *s, struct error **err)
{
	if (!(storage_type_caps(s->type) & STORAGE_CAP_PATH))
		return 0;
	const char *path = section_get(s, "path");
	if (!path)
		return error_set(err, -EINVAL, 500, "storage '%s' has no path", s->id);
	const char *where = mountpoint_of(s, path);
	if (where && !is_mounted(where))
		return error_set(err, -ENODEV, 500,
		                 "unable to activate storage '%s' - directory is expected to "
		                 "be a mount point but is not mounted: '%s'",
		                 s->id, where);
	bool mk = flag(s, "mkdir", true);
	bool base = flag(s, "create-base-path", mk);
	bool sub = flag(s, "create-subdirs", mk);
	struct stat st;
	int r = base ? mkdir_p(path, 0755) : 0;
	if (r < 0) {
		int e = -r;
		return error_set(err, r, 500, "unable to activate storage '%s' - %s: %s", s->id,
		                 path, strerror(e));
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return error_set(err, -ENOENT, 500,
		                 "unable to activate storage '%s' - directory '%s' does not exist",
		                 s->id, path);
	const char *content = section_get(s, "content");
	if (!content)
		content = default_content(s->type);
	for (int t = 0; sub && t < _VTYPE_MAX; t++) {
		const char *vt = vtype_to_string((enum vtype)t);
		/* like PVE: rootdir content also gets the backup directory */
		if (!has_content(content, vt) &&
		    !(t == VTYPE_BACKUP && has_content(content, "rootdir")))
			continue;
		_cleanup_free_ char *d = storage_content_dir(s, vt, err);
		if (!d)
			return -EINVAL;
		r = mkdir_p(d, 0755);
		if (r < 0) {
			int e = -r;
			return error_set(err, r, 500,
			                 "unable to activate storage '%s' - failed to create "
			                 "content directory '%s' for content '%s': %s",
			                 s->id, d, vt, strerror(e));
		}
	}
	return check_dirs_distinct(s, content, err);
}

/* --- the store --- */

/*
 * storage.cfg in the one config store (config-store.h): readers share its
 * parsed snapshot, outside edits are found by the file's identity (and a
 * racy file by content) at most every recheck_ms, writes publish at once,
 * and forked task workers read the file themselves.  A
 * storage_config_snapshot is the store's conf_snapshot of a section_config;
 * the type only keeps storage callers from mixing up snapshots.
 */

struct storage_config_store {
	struct conf_file *file;
	char *state; /* for the implicit local storage */
};

static int parse_config(const char *data, size_t len, void *ctx, void **ret, struct error **err)
{
	struct section_config *c = NULL;
	int r = storage_config_parse(data, len, 0, &c, err);
	if (r < 0)
		return r;
	storage_config_ensure_local(c, ctx);
	*ret = c;
	return 0;
}

static int write_config(const void *obj, struct strbuf *out, struct error **err)
{
	return storage_config_write(obj, out, err);
}

static void free_config(void *obj)
{
	section_config_free(obj);
}

static const struct conf_ops storage_cfg_ops = {
    .max_size = SECTION_CONFIG_MAX_SIZE,
    .mode = 0640,
    /* missing: no storage but the implicit local; an uppercase digest has
     * always been accepted here */
    .flags = CONF_MISSING_EMPTY | CONF_DIGEST_ANY_CASE,
    .parse = parse_config,
    .write = write_config,
    .free = free_config,
};

struct storage_config_store *storage_config_store_new(const struct ctvm_paths *paths)
{
	struct storage_config_store *s = xnew(struct storage_config_store, 1);
	_cleanup_free_ char *path = path_join(paths->etc, STORAGE_CONFIG_FILE);
	s->state = xstrdup(paths->state);
	s->file = conf_file_new(path, &storage_cfg_ops, s->state);
	return s;
}

struct storage_config_store *storage_config_store_free(struct storage_config_store *s)
{
	if (s) {
		conf_file_unref(s->file);
		free(s->state);
		free(s);
	}
	return NULL;
}

const char *storage_config_store_path(const struct storage_config_store *s)
{
	return conf_file_path(s->file);
}

void storage_config_store_set_recheck_ms(struct storage_config_store *s, unsigned ms)
{
	conf_file_set_recheck_ms(s->file, ms);
}

void storage_config_snapshot_unref(const struct storage_config_snapshot *snap)
{
	conf_snapshot_unref((const struct conf_snapshot *)snap);
}

const struct storage_config_snapshot *
storage_config_snapshot_ref(const struct storage_config_snapshot *snap)
{
	return (const struct storage_config_snapshot *)conf_snapshot_ref(
	    (const struct conf_snapshot *)snap);
}

const struct storage_config_snapshot *storage_config_snapshot_new(struct section_config *c)
{
	return (const struct storage_config_snapshot *)conf_snapshot_new(&storage_cfg_ops, c,
	                                                                 c->digest);
}

const struct section_config *
storage_config_snapshot_config(const struct storage_config_snapshot *snap)
{
	return conf_snapshot_data((const struct conf_snapshot *)snap);
}

int storage_config_store_get(struct storage_config_store *s,
                             const struct storage_config_snapshot **ret, struct error **err)
{
	const struct conf_snapshot *snap = NULL;
	int r = conf_file_get(s->file, &snap, err);
	if (r == 0)
		*ret = (const struct storage_config_snapshot *)snap;
	return r;
}

/* A deep copy (callers of _load may change theirs). */
static struct section_config *config_dup(const struct section_config *c)
{
	struct section_config *n = section_config_new();
	memcpy(n->digest, c->digest, sizeof(n->digest));
	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *from = c->sections[i];
		struct section *to = NULL;
		section_config_add(n, from->type, from->id, &to, NULL);
		to->unknown = from->unknown;
		for (size_t k = 0; k < from->n_kv; k++)
			section_append(to, from->kv[k].key, from->kv[k].value);
	}
	if (c->n_warnings) {
		n->warnings = xnew(char *, c->n_warnings);
		for (size_t i = 0; i < c->n_warnings; i++)
			n->warnings[i] = xstrdup(c->warnings[i]);
		n->n_warnings = c->n_warnings;
	}
	return n;
}

int storage_config_store_load(struct storage_config_store *s, struct section_config **ret,
                              struct error **err)
{
	const struct storage_config_snapshot *snap = NULL;
	int r = storage_config_store_get(s, &snap, err);
	if (r < 0)
		return r;
	*ret = config_dup(storage_config_snapshot_config(snap));
	storage_config_snapshot_unref(snap);
	return 0;
}

struct update_call {
	storage_update_fn fn;
	void *arg;
};

static int update_cb(void *obj, void *arg, struct error **err)
{
	struct update_call *u = arg;
	return u->fn(obj, u->arg, err);
}

int storage_config_store_update(struct storage_config_store *s, const char *digest,
                                storage_update_fn fn, void *arg, struct error **err)
{
	/* the store reads the file itself, not the snapshot: the digest check
	 * must see an outside edit made within the recheck interval */
	struct update_call u = {fn, arg};
	return conf_file_update(s->file, digest, update_cb, &u, err);
}
