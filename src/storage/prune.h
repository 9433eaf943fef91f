/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prune: which backups a retention policy keeps, after PVE's
 * prune_mark_backup_group (Storage.pm), Plugin::prune_backups and the
 * `prune-backups` property string (storage.md, pve-api.md).
 *
 * Pure code: no I/O.  Time buckets (hour, day, ISO week, month, year) are
 * taken in local time (localtime_r, so TZ decides), as PVE does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct storage_volume;

/* A parsed prune-backups value.  0 means "not set" for every keep_*. */
struct prune_options {
	bool keep_all;
	unsigned keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
};

/*
 * Parses "keep-all=1" or "keep-last=N,keep-hourly=N,...", with PVE's rules
 * and messages (400, -EINVAL; the text is what PVE puts in the parameter's
 * error, "invalid format - ..."): unknown, duplicate and missing keys,
 * integers >= 0, keep-all a boolean (1/0/yes/no/on/off/true/false).  Like
 * PVE's validator, a value that sets no positive keep-* means keep-all, and
 * keep-all=1 with a positive keep-* is refused.  s NULL or "": keep-all.
 */
int prune_options_parse(const char *s, struct prune_options *ret, struct error **err);
/* The canonical text of o ("keep-all=1", or the positive keep-* in the
 * parser's order): parsing it gives o back.  Never NULL. */
char *prune_options_format(const struct prune_options *o);

enum prune_mark {
	PRUNE_MARK_NONE = 0, /* not decided yet */
	PRUNE_MARK_KEEP,
	PRUNE_MARK_REMOVE,
	PRUNE_MARK_PROTECTED, /* never removed, does not count towards any keep-* */
	PRUNE_MARK_RENAMED,   /* not a standard vzdump name: left alone */
};

/* "keep", "remove", "protected", "renamed"; NULL for PRUNE_MARK_NONE. */
const char *prune_mark_to_string(enum prune_mark m);

/* One backup of a group (same guest type and vmid). */
struct prune_entry {
	int64_t ctime;
	enum prune_mark mark; /* in: a preset mark (protected) is kept and not counted */
};

/*
 * PVE's prune_mark_backup_group: marks every entry of one group keep or
 * remove.  Newest first, keep-last, then keep-hourly, -daily, -weekly (ISO
 * week and its year), -monthly and -yearly each keep the newest backup of
 * the N newest buckets not already covered; what no option keeps is removed.
 * Entries whose mark is preset are skipped; with keep-all (or no positive
 * option) everything not preset (or preset remove) is kept.  Ties in ctime
 * keep the order of e.
 */
void prune_mark_group(struct prune_entry *e, size_t n, const struct prune_options *o);

/* One line of the prunebackups answer. */
struct prune_item {
	char *volid;   /* "storeid:backup/vzdump-..." */
	char *volname; /* "backup/vzdump-..." */
	int64_t ctime; /* standard names: the name's time read as local time */
	char *type;    /* qemu, lxc, openvz or unknown */
	long vmid;     /* 0: none */
	enum prune_mark mark;
};

/*
 * PVE's Plugin::prune_backups on a listing: vols are the storage's backups
 * (other vtypes are skipped).  vmid 0 and type NULL: all.  Backups with a
 * standard name are grouped by type and vmid and marked; the others are
 * "renamed"; protected ones "protected".  The items keep the order of vols.
 */
void prune_plan(const char *storeid, const struct storage_volume *vols, size_t n, long vmid,
                const char *type, const struct prune_options *o, struct prune_item **ret,
                size_t *ret_n);
void prune_items_free(struct prune_item *items, size_t n);
