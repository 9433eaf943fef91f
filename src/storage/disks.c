/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pure part of disks.h: the parsers of lsblk, pvs, blkid and zpool list
 * output, the classification of devices, the sizes of a new thin pool and
 * the command builders.  Nothing here runs a command or touches the host.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "disks.h"
#include "error.h"
#include "jsonutil.h"
#include "strv.h"
#include "xalloc.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ---- lsblk -------------------------------------------------------------- */

/* A string field; lsblk writes null for an unknown one, and some versions
 * pad model and vendor with blanks. */
static char *str_field(json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));
	if (!s)
		return NULL;
	size_t len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		len--;
	return len > 0 ? xstrndup(s, len) : NULL;
}

/* lsblk 2.33+ writes size as a number with --bytes, older ones as a string;
 * rota as a boolean, or "0"/"1". */
static int u64_field(json_t *row, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(row, key);
	*ret = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s)
		return -EINVAL;
	uint64_t n = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*ret = n;
	return 0;
}

static bool bool_field(json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	const char *s = json_string_value(v);
	return s && streq(s, "1");
}

static bool skipped_disk(const char *name)
{
	static const char *const prefixes[] = {"zram", "ram", "fd", "loop", "sr"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

void disk_info_list_free(struct disk_info *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++) {
		free(d[i].name);
		free(d[i].devpath);
		free(d[i].parent);
		free(d[i].model);
		free(d[i].serial);
		free(d[i].wwn);
		free(d[i].vendor);
		free(d[i].tran);
		free(d[i].fstype);
		free(d[i].mountpoint);
		free(d[i].pttype);
		free(d[i].used);
	}
	free(d);
}

static struct disk_info *find_by_name(struct disk_info *d, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(d[i].name, name))
			return &d[i];
	return NULL;
}

int disks_lsblk_parse(const char *json, size_t len, struct disk_info **ret, size_t *ret_n)
{
	_cleanup_json_ json_t *root =
	    json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *rows = json_object_get(root, "blockdevices");
	if (!json_is_array(rows))
		return -EINVAL;
	size_t n_rows = json_array_size(rows);
	if (n_rows > DISKS_MAX_DEVICES)
		return -E2BIG;

	struct disk_info *d = xnew(struct disk_info, n_rows + 1);
	size_t n = 0;
	/* held: names of the parents of device-mapper and other rows, marked
	 * once every disk is known (lsblk --list may write a child first) */
	_cleanup_strv_free_ char **held = NULL;
	for (size_t i = 0; i < n_rows; i++) {
		json_t *row = json_array_get(rows, i);
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *path = json_string_value(json_object_get(row, "path"));
		const char *type = json_string_value(json_object_get(row, "type"));
		const char *pk = json_string_value(json_object_get(row, "pkname"));
		if (!json_is_object(row) || !name || !path || !type || !*name) {
			disk_info_list_free(d, n);
			return -EINVAL;
		}
		bool part = streq(type, "part");
		if (!part && !streq(type, "disk")) {
			if (pk && !strv_contains(held, pk))
				strv_extend(&held, pk);
			continue;
		}
		if (!part && skipped_disk(name))
			continue;
		struct disk_info *x = &d[n];
		*x = (struct disk_info){
		    .name = xstrdup(name),
		    .devpath = xstrdup(path),
		    .partition = part,
		    .rotational = bool_field(row, "rota"),
		    .model = str_field(row, "model"),
		    .serial = str_field(row, "serial"),
		    .wwn = str_field(row, "wwn"),
		    .vendor = str_field(row, "vendor"),
		    .tran = str_field(row, "tran"),
		    .fstype = str_field(row, "fstype"),
		    .mountpoint = str_field(row, "mountpoint"),
		    .pttype = str_field(row, "pttype"),
		};
		n++;
		if (u64_field(row, "size", &x->size) < 0) {
			disk_info_list_free(d, n);
			return -EINVAL;
		}
		if (part && pk)
			x->parent = xasprintf("/dev/%s", pk);
	}
	/* a disk that holds a device-mapper device (a LUKS or multipath
	 * layer) is in use, as PVE's holders check says */
	for (size_t i = 0; held && held[i]; i++) {
		struct disk_info *p = find_by_name(d, n, held[i]);
		if (p)
			p->held = true;
	}
	*ret = d;
	*ret_n = n;
	return 0;
}

/* ---- pvs, blkid --------------------------------------------------------- */

int disks_pvs_parse(const char *json, size_t len, char ***ret)
{
	_cleanup_json_ json_t *root =
	    json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *report = json_object_get(root, "report");
	json_t *first = json_array_get(report, 0);
	json_t *rows = json_object_get(first, "pv");
	if (!json_is_array(report) || !json_is_array(rows))
		return -EINVAL;
	if (json_array_size(rows) > DISKS_MAX_DEVICES)
		return -E2BIG;
	char **v = xnew(char *, 1);
	for (size_t i = 0; i < json_array_size(rows); i++) {
		const char *name =
		    json_string_value(json_object_get(json_array_get(rows, i), "pv_name"));
		if (!name || !*name) {
			strv_free(v);
			return -EINVAL;
		}
		strv_extend(&v, name);
	}
	*ret = v;
	return 0;
}

int disks_blkid_get(const char *out, const char *key, char **ret)
{
	size_t klen = strlen(key);
	for (const char *p = out; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (len > 0 && !eq)
			return -EINVAL;
		if (eq && (size_t)(eq - p) == klen && strncmp(p, key, klen) == 0) {
			*ret = xstrndup(eq + 1, len - klen - 1);
			return 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

static int blkid_apply_block(char **lines, struct disk_info *d, size_t n)
{
	const char *dev = NULL, *type = NULL;
	for (size_t i = 0; lines && lines[i]; i++) {
		if (strncmp(lines[i], "DEVNAME=", 8) == 0)
			dev = lines[i] + 8;
		else if (strncmp(lines[i], "TYPE=", 5) == 0)
			type = lines[i] + 5;
	}
	for (size_t i = 0; dev && type && *type && i < n; i++)
		if (streq(d[i].devpath, dev) && !d[i].fstype)
			d[i].fstype = xstrdup(type);
	return 0;
}

int disks_blkid_all_apply(const char *out, struct disk_info *d, size_t n)
{
	_cleanup_strv_free_ char **lines = strv_split(out ? out : "", "\n");
	for (size_t i = 0; lines[i]; i++)
		if (!strchr(lines[i], '='))
			return -EINVAL;
	/* strv_split drops empty fields, so the blocks are told apart by
	 * DEVNAME, which starts each one */
	size_t start = 0;
	for (size_t i = 0; lines[i]; i++) {
		if (i > start && strncmp(lines[i], "DEVNAME=", 8) == 0) {
			char *save = lines[i];
			lines[i] = NULL;
			blkid_apply_block(lines + start, d, n);
			lines[i] = save;
			start = i;
		}
	}
	return blkid_apply_block(lines + start, d, n);
}

/* ---- classification ----------------------------------------------------- */

static const char *usage_of(const struct disk_info *x, char *const *pvs)
{
	if (strv_contains(pvs, x->devpath) || (x->fstype && streq(x->fstype, "LVM2_member")))
		return "LVM";
	if (x->fstype && streq(x->fstype, "zfs_member"))
		return "ZFS";
	if (x->mountpoint)
		return "mounted";
	if (x->held)
		return "Device Mapper";
	return x->fstype; /* "ext4", "linux_raid_member", "swap", ... */
}

void disks_classify(struct disk_info *d, size_t n, char *const *pvs)
{
	for (size_t i = 0; i < n; i++) {
		const char *u = usage_of(&d[i], pvs);
		free(d[i].used);
		d[i].used = NULL;
		if (u)
			d[i].used = xstrdup(u);
	}
	/* a disk with partitions is "partitions" (PVE), whatever is on them,
	 * unless the disk itself is used as a whole */
	for (size_t i = 0; i < n; i++) {
		if (!d[i].partition || !d[i].parent)
			continue;
		for (size_t j = 0; j < n; j++)
			if (!d[j].partition && streq(d[j].devpath, d[i].parent) && !d[j].used)
				d[j].used = xstrdup("partitions");
	}
	/* a partition table without partitions still says someone meant
	 * this disk for something */
	for (size_t i = 0; i < n; i++)
		if (!d[i].partition && !d[i].used && d[i].pttype)
			d[i].used = xstrdup("partitions");
}

static const char *disk_type(const struct disk_info *d)
{
	if (d->tran && streq(d->tran, "usb"))
		return "usb";
	if (d->tran && streq(d->tran, "nvme"))
		return "nvme";
	return d->rotational ? "hdd" : "ssd";
}

json_t *disk_info_json(const struct disk_info *d)
{
	json_t *o = json_pack(
	    "{s:s, s:I, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "devpath", d->devpath,
	    "size", (json_int_t)d->size, "gpt", d->pttype && streq(d->pttype, "gpt"), "mounted",
	    !!d->mountpoint, "model", d->model ? d->model : "", "serial",
	    d->serial ? d->serial : "unknown", "vendor", d->vendor ? d->vendor : "unknown", "wwn",
	    d->wwn ? d->wwn : "unknown", "health", "UNKNOWN", "wearout", "N/A", "rpm",
	    d->rotational ? -1 : 0, "osdid", -1);
	json_object_set_new(o, "type", json_string(d->partition ? "partition" : disk_type(d)));
	if (d->used)
		json_object_set_new(o, "used", json_string(d->used));
	if (d->parent)
		json_object_set_new(o, "parent", json_string(d->parent));
	return o;
}

const struct disk_info *disks_find(const struct disk_info *d, size_t n, const char *path)
{
	for (size_t i = 0; path && i < n; i++)
		if (streq(d[i].devpath, path))
			return &d[i];
	return NULL;
}

int disks_check_unused(const struct disk_info *d, size_t n, const char *path, struct error **err)
{
	const struct disk_info *x = disks_find(d, n, path);
	if (!x)
		return error_set(err, -ENOENT, 400, "unable to find device '%s'", path);
	if (x->used)
		return error_set(err, -EBUSY, 400, "device '%s' is already in use (%s)", path,
		                 x->used);
	return 0;
}

bool disks_devpath_valid(const char *path)
{
	if (!path || strncmp(path, "/dev/", 5) != 0 || !path[5] || strlen(path) > 255 ||
	    strstr(path, ".."))
		return false;
	for (const char *p = path + 5; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:+/-", *p)))
			return false;
	return true;
}

/* ---- sizes, raid levels ------------------------------------------------- */

#define EXTENT (4 * MiB)

static uint64_t extents_up(uint64_t b)
{
	return (b + EXTENT - 1) / EXTENT * EXTENT;
}

int disks_thin_sizes(uint64_t vg_bytes, uint64_t *ret_data, uint64_t *ret_meta)
{
	if (vg_bytes < 64 * MiB)
		return -ENOSPC;
	uint64_t meta = vg_bytes / 100;
	/* 1 GiB of metadata where it costs at most ~6 % of the VG (twice:
	 * the pool's and LVM's spare), so a small disk still gets a pool */
	if (meta < GiB && vg_bytes >= 16 * GiB)
		meta = GiB;
	if (meta > 16 * GiB)
		meta = 16 * GiB; /* the most a thin pool's metadata can use */
	meta = extents_up(meta);
	uint64_t slack = extents_up(vg_bytes / 100 > EXTENT ? vg_bytes / 100 : EXTENT);
	uint64_t reserved = 2 * meta + slack;
	if (reserved + EXTENT > vg_bytes)
		return -ENOSPC;
	*ret_data = (vg_bytes - reserved) / EXTENT * EXTENT;
	*ret_meta = meta;
	return 0;
}

int disks_zfs_check_devices(const char *level, size_t n, struct error **err)
{
	static const struct {
		const char *level;
		size_t min, max;
	} rules[] = {
	    {"single", 1, 1}, {"mirror", 2, 0}, {"raidz", 3, 0}, {"raidz2", 4, 0}, {"raidz3", 5, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		if (!streq(rules[i].level, level))
			continue;
		if (n < rules[i].min)
			return error_set(err, -EINVAL, 400, "%s needs at least %zu disks", level,
			                 rules[i].min);
		if (rules[i].max && n > rules[i].max)
			return error_set(err, -EINVAL, 400, "%s should have a maximum of %zu disks",
			                 level, rules[i].max);
		if (n > DISKS_ZFS_MAX_DEVICES)
			return error_set(err, -EINVAL, 400, "at most %d disks",
			                 DISKS_ZFS_MAX_DEVICES);
		return 0;
	}
	return error_set(err, -EINVAL, 400, "invalid raid level '%s'", level);
}

/* ---- fstab -------------------------------------------------------------- */

char *disks_fstab_line(const char *uuid, const char *mountpoint, const char *fstype)
{
	/* nofail: a missing disk must not stop the host from booting */
	return xasprintf("UUID=%s %s %s defaults,nofail 0 2\n", uuid, mountpoint, fstype);
}

json_t *disks_fstab_dirs(const char *fstab)
{
	json_t *a = json_array();
	_cleanup_strv_free_ char **lines = strv_split(fstab ? fstab : "", "\n");
	for (size_t i = 0; lines[i] && json_array_size(a) < DISKS_MAX_DEVICES; i++) {
		_cleanup_strv_free_ char **f = strv_split(lines[i], " \t");
		if (strv_length(f) < 4 || f[0][0] == '#' ||
		    strncmp(f[1], DISKS_MOUNT_BASE "/", strlen(DISKS_MOUNT_BASE) + 1) != 0)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "path", f[1],
		                                   "device", f[0], "type", f[2], "options", f[3],
		                                   "unitfile", "/etc/fstab"));
	}
	return a;
}

/* ---- zpool list --------------------------------------------------------- */

int disks_zpool_list_parse(const char *out, json_t **ret)
{
	_cleanup_json_ json_t *a = json_array();
	_cleanup_strv_free_ char **lines = strv_split(out ? out : "", "\n");
	if (strv_length(lines) > DISKS_MAX_DEVICES)
		return -E2BIG;
	for (size_t i = 0; lines[i]; i++) {
		_cleanup_strv_free_ char **f = strv_split(lines[i], "\t");
		uint64_t num[4];
		if (strv_length(f) != 7)
			return -EINVAL;
		for (size_t k = 0; k < 4; k++) {
			/* size, alloc, free, frag ("-" for no fragmentation figure) */
			const char *s = f[k + 1];
			char *end = NULL;
			if (k == 3 && streq(s, "-")) {
				num[k] = 0;
				continue;
			}
			if (*s < '0' || *s > '9')
				return -EINVAL;
			errno = 0;
			num[k] = strtoull(s, &end, 10);
			if (errno || *end || num[k] > INT64_MAX)
				return -EINVAL;
		}
		char *end = NULL;
		errno = 0;
		double dedup = strtod(f[5], &end);
		if (errno || end == f[5] || (*end && !streq(end, "x")) || !(dedup >= 0) ||
		    dedup > 1e6)
			return -EINVAL;
		json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:s}", "name",
		                                   f[0], "size", (json_int_t)num[0], "alloc",
		                                   (json_int_t)num[1], "free", (json_int_t)num[2],
		                                   "frag", (json_int_t)num[3], "dedup", dedup,
		                                   "health", f[6]));
	}
	*ret = json_incref(a);
	return 0;
}

/* ---- builders ----------------------------------------------------------- */

void disks_lsblk_build_cmd(struct cmd *c)
{
	cmd_init(c, "lsblk");
	cmd_add(c, "--json");
	cmd_add(c, "--list");
	cmd_add(c, "--bytes");
	cmd_add(c, "-o");
	cmd_add(c, DISKS_LSBLK_FIELDS);
}

void disks_pvs_build_cmd(struct cmd *c)
{
	cmd_init(c, "pvs");
	cmd_add(c, "--reportformat");
	cmd_add(c, "json");
	cmd_add(c, "-o");
	cmd_add(c, "pv_name,vg_name");
}

void disks_blkid_build_cmd(struct cmd *c, const char *dev)
{
	cmd_init(c, "blkid");
	cmd_add(c, "-o");
	cmd_add(c, "export");
	cmd_add(c, dev);
}

void disks_blkid_all_build_cmd(struct cmd *c)
{
	cmd_init(c, "blkid");
	/* no cache: what is on the disks now, not what was seen before */
	cmd_add(c, "-c");
	cmd_add(c, "/dev/null");
	cmd_add(c, "-o");
	cmd_add(c, "export");
}

void disks_thinpool_create_build_cmd(struct cmd *c, const char *vg, const char *pool,
                                     uint64_t data_bytes, uint64_t meta_bytes)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "--yes");
	cmd_add(c, "--type");
	cmd_add(c, "thin-pool");
	cmd_add(c, "-L");
	cmd_addf(c, "%" PRIu64 "k", data_bytes / 1024 + (data_bytes % 1024 != 0));
	cmd_add(c, "--poolmetadatasize");
	cmd_addf(c, "%" PRIu64 "k", meta_bytes / 1024 + (meta_bytes % 1024 != 0));
	cmd_add(c, "-n");
	cmd_add(c, pool);
	cmd_add(c, vg);
}

void disks_pvremove_build_cmd(struct cmd *c, const char *dev)
{
	cmd_init(c, "pvremove");
	cmd_add(c, "-y");
	cmd_add(c, dev);
}

void disks_vgremove_build_cmd(struct cmd *c, const char *vg)
{
	cmd_init(c, "vgremove");
	cmd_add(c, "-y");
	cmd_add(c, vg);
}

void disks_zpool_create_build_cmd(struct cmd *c, const char *pool, unsigned ashift,
                                  const char *compression, const char *level, char *const *devices)
{
	cmd_init(c, "zpool");
	cmd_add(c, "create");
	cmd_add(c, "-o");
	cmd_addf(c, "ashift=%u", ashift);
	/* set at creation: there is no moment when the pool exists without
	 * it, and nothing to undo when a second command fails */
	cmd_add(c, "-O");
	cmd_addf(c, "compression=%s", compression);
	cmd_add(c, pool);
	if (level && !streq(level, "single"))
		cmd_add(c, level);
	for (size_t i = 0; devices && devices[i]; i++)
		cmd_add(c, devices[i]);
}

void disks_zpool_list_build_cmd(struct cmd *c)
{
	cmd_init(c, "zpool");
	cmd_add(c, "list");
	cmd_add(c, "-Hp");
	cmd_add(c, "-o");
	cmd_add(c, "name,size,alloc,free,frag,dedupratio,health");
}

void disks_mkfs_build_cmd(struct cmd *c, const char *fstype, const char *dev)
{
	bool xfs = streq(fstype, "xfs");
	cmd_init(c, xfs ? "mkfs.xfs" : "mkfs.ext4");
	cmd_add(c, "-q");
	/* the device was checked to hold no signature: mke2fs would ask
	 * about a whole disk, with no one to answer */
	cmd_add(c, xfs ? "-f" : "-F");
	cmd_add(c, dev);
}

void disks_mount_build_cmd(struct cmd *c, const char *fstype, const char *dev, const char *dir)
{
	cmd_init(c, "mount");
	cmd_add(c, "-t");
	cmd_add(c, fstype);
	cmd_add(c, dev);
	cmd_add(c, dir);
}

void disks_umount_build_cmd(struct cmd *c, const char *dir)
{
	cmd_init(c, "umount");
	cmd_add(c, dir);
}

void disks_wipefs_build_cmd(struct cmd *c, const char *dev)
{
	cmd_init(c, "wipefs");
	cmd_add(c, "-a");
	cmd_add(c, dev);
}
