/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The lvm2 commands of the lvm and lvmthin backends as pure builders (golden
 * tests pin their argv), and the parsers of the JSON reports of lvs and vgs.
 * Arguments are LV and VG names the backend has checked (PVE's grammar, no
 * leading '-'), so no "--" is needed and older lvm2 versions that do not
 * take one after options still parse every command.
 */
#include "common.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend-lvm.h"
#include "cmd.h"
#include "jsonutil.h"
#include "strv.h"
#include "xalloc.h"

/* The fields lvm_lvs_parse() reads, in its order. */
#define LVM_LVS_FIELDS                                                                          \
	"vg_name,lv_name,lv_size,lv_attr,pool_lv,origin,data_percent,metadata_percent,lv_tags," \
	"lv_time,lv_metadata_size,lv_when_full"

/* LVM takes sizes in KiB here: round up, so a volume is never smaller than
 * asked (LVM rounds up to whole extents itself). */
static void add_kib(struct cmd *c, uint64_t bytes)
{
	cmd_addf(c, "%" PRIu64 "k", bytes / 1024 + (bytes % 1024 != 0));
}

static void add_lv(struct cmd *c, const char *vg, const char *lv)
{
	cmd_addf(c, "%s/%s", vg, lv);
}

static void add_owner_tag(struct cmd *c, long vmid)
{
	cmd_add(c, "--addtag");
	cmd_addf(c, "pve-vm-%ld", vmid);
}

void lvm_lvcreate_build_cmd(struct cmd *c, const char *vg, const char *lv, long vmid,
                            uint64_t bytes)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "-aly");
	cmd_add(c, "-Wy");
	cmd_add(c, "--yes");
	cmd_add(c, "--size");
	add_kib(c, bytes);
	cmd_add(c, "--name");
	cmd_add(c, lv);
	cmd_add(c, "--setautoactivation");
	cmd_add(c, "n");
	add_owner_tag(c, vmid);
	cmd_add(c, vg);
}

void lvm_lvcreate_thin_build_cmd(struct cmd *c, const char *vg, const char *pool, const char *lv,
                                 long vmid, uint64_t bytes)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "-aly");
	cmd_add(c, "-V");
	add_kib(c, bytes);
	cmd_add(c, "--name");
	cmd_add(c, lv);
	add_owner_tag(c, vmid);
	cmd_add(c, "--thinpool");
	add_lv(c, vg, pool);
}

void lvm_thinpool_create_build_cmd(struct cmd *c, const char *vg, const char *pool,
                                   uint64_t data_bytes, uint64_t meta_bytes)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "--yes");
	cmd_add(c, "--type");
	cmd_add(c, "thin-pool");
	cmd_add(c, "-L");
	add_kib(c, data_bytes);
	cmd_add(c, "--poolmetadatasize");
	add_kib(c, meta_bytes);
	cmd_add(c, "-n");
	cmd_add(c, pool);
	cmd_add(c, vg);
}

void lvm_errorwhenfull_build_cmd(struct cmd *c, const char *vg, const char *pool)
{
	cmd_init(c, "lvchange");
	cmd_add(c, "--errorwhenfull");
	cmd_add(c, "y");
	add_lv(c, vg, pool);
}

void lvm_noautoactivation_build_cmd(struct cmd *c, const char *vg, const char *lv)
{
	cmd_init(c, "lvchange");
	cmd_add(c, "--setautoactivation");
	cmd_add(c, "n");
	add_lv(c, vg, lv);
}

void lvm_snapshot_build_cmd(struct cmd *c, const char *vg, const char *lv, const char *snaplv)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "-n");
	cmd_add(c, snaplv);
	cmd_add(c, "-pr");
	cmd_add(c, "-ky");
	cmd_add(c, "-s");
	add_lv(c, vg, lv);
}

void lvm_rollback_build_cmd(struct cmd *c, const char *vg, const char *snaplv, const char *lv,
                            long vmid)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "-n");
	cmd_add(c, lv);
	cmd_add(c, "-kn");
	add_owner_tag(c, vmid);
	cmd_add(c, "-s");
	add_lv(c, vg, snaplv);
}

void lvm_clone_build_cmd(struct cmd *c, const char *vg, const char *base, const char *newlv,
                         long vmid)
{
	cmd_init(c, "lvcreate");
	cmd_add(c, "-n");
	cmd_add(c, newlv);
	cmd_add(c, "-prw");
	cmd_add(c, "-kn");
	add_owner_tag(c, vmid);
	cmd_add(c, "-s");
	add_lv(c, vg, base);
}

void lvm_lvremove_build_cmd(struct cmd *c, const char *vg, const char *lv)
{
	cmd_init(c, "lvremove");
	cmd_add(c, "-f");
	add_lv(c, vg, lv);
}

void lvm_lvextend_build_cmd(struct cmd *c, const char *vg, const char *lv, uint64_t bytes)
{
	cmd_init(c, "lvextend");
	cmd_add(c, "--size");
	add_kib(c, bytes);
	add_lv(c, vg, lv);
}

void lvm_lvrename_build_cmd(struct cmd *c, const char *vg, const char *from, const char *to)
{
	cmd_init(c, "lvrename");
	cmd_add(c, vg);
	cmd_add(c, from);
	cmd_add(c, to);
}

void lvm_readonly_build_cmd(struct cmd *c, const char *vg, const char *lv)
{
	cmd_init(c, "lvchange");
	cmd_add(c, "-pr");
	cmd_add(c, "-ky");
	add_lv(c, vg, lv);
}

void lvm_lvchange_activate_build_cmd(struct cmd *c, const char *vg, const char *lv, bool active,
                                     bool ignore_skip)
{
	cmd_init(c, "lvchange");
	cmd_add(c, active ? "-ay" : "-an");
	if (active && ignore_skip)
		cmd_add(c, "-K");
	add_lv(c, vg, lv);
}

void lvm_zero_build_cmd(struct cmd *c, const char *device)
{
	cmd_init(c, "blkdiscard");
	cmd_add(c, "--zeroout");
	cmd_add(c, device);
}

static void report_opts(struct cmd *c)
{
	cmd_add(c, "--reportformat");
	cmd_add(c, "json");
	cmd_add(c, "--units");
	cmd_add(c, "b");
	cmd_add(c, "--nosuffix");
}

void lvm_lvs_build_cmd(struct cmd *c, const char *vg, const char *lv)
{
	cmd_init(c, "lvs");
	report_opts(c);
	cmd_add(c, "--config");
	cmd_add(c, "report/time_format=\"%s\"");
	cmd_add(c, "-o");
	cmd_add(c, LVM_LVS_FIELDS);
	if (lv)
		add_lv(c, vg, lv);
	else
		cmd_add(c, vg);
}

void lvm_vgs_build_cmd(struct cmd *c, const char *vg)
{
	cmd_init(c, "vgs");
	report_opts(c);
	cmd_add(c, "-o");
	cmd_add(c, "vg_name,vg_size,vg_free,lv_count");
	if (vg)
		cmd_add(c, vg);
}

void lvm_pvcreate_build_cmd(struct cmd *c, const char *device)
{
	cmd_init(c, "pvcreate");
	/* puts pe_start on a 128k boundary, as PVE */
	cmd_add(c, "--metadatasize");
	cmd_add(c, "250k");
	cmd_add(c, device);
}

void lvm_vgcreate_build_cmd(struct cmd *c, const char *vg, const char *device)
{
	cmd_init(c, "vgcreate");
	cmd_add(c, vg);
	cmd_add(c, device);
}

/* --- the reports --- */

/* {"report": [{"<kind>": [rows]}]}: the rows, or NULL. */
static json_t *report_rows(json_t *root, const char *kind)
{
	json_t *report = json_object_get(root, "report");
	json_t *first = json_is_array(report) ? json_array_get(report, 0) : NULL;
	json_t *rows = json_is_object(first) ? json_object_get(first, kind) : NULL;

	return json_is_array(rows) ? rows : NULL;
}

/* A field as a string: absent or "" gives NULL.  Numbers are accepted too,
 * for lvm2 versions that would print them unquoted. */
static const char *field(json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));

	return s && *s ? s : NULL;
}

static int field_u64(json_t *row, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(row, key);
	const char *s = json_string_value(v);
	uint64_t n = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!s || !*s) {
		*ret = 0;
		return 0;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*ret = n;
	return 0;
}

/* "12.34" (data_percent): -1 when absent; -EINVAL for anything but a
 * decimal in [0, 100] and a bit (LVM prints 100.00 for a full pool). */
static int field_pct(json_t *row, const char *key, double *ret)
{
	const char *s = field(row, key);
	char *end = NULL;
	double d;

	if (!s) {
		*ret = -1;
		return 0;
	}
	if (!(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d > 1000)
		return -EINVAL;
	*ret = d;
	return 0;
}

void lvm_lv_list_free(struct lvm_lv *lvs, size_t n)
{
	for (size_t i = 0; lvs && i < n; i++) {
		free(lvs[i].vg);
		free(lvs[i].name);
		free(lvs[i].pool);
		free(lvs[i].origin);
		strv_free(lvs[i].tags);
	}
	free(lvs);
}

void lvm_vg_list_free(struct lvm_vg *vgs, size_t n)
{
	for (size_t i = 0; vgs && i < n; i++)
		free(vgs[i].name);
	free(vgs);
}

bool lvm_lv_has_tag(const struct lvm_lv *lv, const char *tag)
{
	return strv_contains(lv->tags, tag);
}

static int lv_from_row(json_t *row, struct lvm_lv *lv)
{
	const char *name = field(row, "lv_name"), *vg = field(row, "vg_name");
	const char *attr = field(row, "lv_attr"), *s;
	uint64_t t;

	if (!json_is_object(row) || !name || !vg)
		return -EINVAL;
	*lv = (struct lvm_lv){.vg = xstrdup(vg), .name = xstrdup(name), .when_full = -1};
	if (attr) {
		if (strlen(attr) >= sizeof(lv->attr))
			return -EINVAL;
		strcpy(lv->attr, attr);
	}
	if ((s = field(row, "pool_lv")))
		lv->pool = xstrdup(s);
	if ((s = field(row, "origin")))
		lv->origin = xstrdup(s);
	lv->tags = strv_split(field(row, "lv_tags") ? field(row, "lv_tags") : "", ",");
	if ((s = field(row, "lv_when_full")))
		lv->when_full = streq(s, "error") ? 1 : streq(s, "queue") ? 0 : -1;
	if (field_u64(row, "lv_size", &lv->size) < 0 ||
	    field_u64(row, "lv_metadata_size", &lv->meta_size) < 0 ||
	    field_pct(row, "data_percent", &lv->data_pct) < 0 ||
	    field_pct(row, "metadata_percent", &lv->meta_pct) < 0 ||
	    field_u64(row, "lv_time", &t) < 0 || t > INT64_MAX)
		return -EINVAL;
	lv->ctime = (long long)t;
	return 0;
}

static int vg_from_row(json_t *row, struct lvm_vg *vg)
{
	const char *name = field(row, "vg_name");
	uint64_t count;

	if (!json_is_object(row) || !name)
		return -EINVAL;
	*vg = (struct lvm_vg){.name = xstrdup(name)};
	if (field_u64(row, "vg_size", &vg->size) < 0 || field_u64(row, "vg_free", &vg->free) < 0 ||
	    field_u64(row, "lv_count", &count) < 0 || count > LVM_REPORT_MAX_ROWS)
		return -EINVAL;
	vg->lv_count = (long)count;
	return 0;
}

static int load_rows(const char *json, size_t len, const char *kind, json_t **ret_root,
                     json_t **ret_rows)
{
	json_t *root = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *rows = root ? report_rows(root, kind) : NULL;

	if (!rows) {
		json_decref(root);
		return -EINVAL;
	}
	if (json_array_size(rows) > LVM_REPORT_MAX_ROWS) {
		json_decref(root);
		return -E2BIG;
	}
	*ret_root = root;
	*ret_rows = rows;
	return 0;
}

int lvm_lvs_parse(const char *json, size_t len, struct lvm_lv **ret, size_t *ret_n)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *rows = NULL;
	struct lvm_lv *lvs;
	size_t n;
	int r = load_rows(json, len, "lv", &root, &rows);

	if (r < 0)
		return r;
	n = json_array_size(rows);
	lvs = xnew(struct lvm_lv, n + 1);
	for (size_t i = 0; i < n; i++)
		if ((r = lv_from_row(json_array_get(rows, i), &lvs[i])) < 0) {
			lvm_lv_list_free(lvs, i + 1);
			return r;
		}
	*ret = lvs;
	*ret_n = n;
	return 0;
}

int lvm_vgs_parse(const char *json, size_t len, struct lvm_vg **ret, size_t *ret_n)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *rows = NULL;
	struct lvm_vg *vgs;
	size_t n;
	int r = load_rows(json, len, "vg", &root, &rows);

	if (r < 0)
		return r;
	n = json_array_size(rows);
	vgs = xnew(struct lvm_vg, n + 1);
	for (size_t i = 0; i < n; i++)
		if ((r = vg_from_row(json_array_get(rows, i), &vgs[i])) < 0) {
			lvm_vg_list_free(vgs, i + 1);
			return r;
		}
	*ret = vgs;
	*ret_n = n;
	return 0;
}
