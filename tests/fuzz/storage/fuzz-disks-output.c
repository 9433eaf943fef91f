/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Disks API reads what lsblk, pvs, blkid and zpool list print, and an
 * fstab; device names, models, serials and labels come from the disks
 * themselves.  Every parser reads every input.  Checks: no crash, no leak;
 * a device given back has a name and a /dev path, a partition names its
 * disk, and every row turns into JSON.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "disks.h"
#include "jsonutil.h"
#include "strv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disk_info *d = NULL;
	size_t n = 0;
	char **pvs = NULL;
	_cleanup_free_ char *text = xstrndup((const char *)data, size);

	if (disks_pvs_parse((const char *)data, size, &pvs) == 0 && !pvs)
		abort();
	if (disks_lsblk_parse((const char *)data, size, &d, &n) == 0) {
		disks_classify(d, n, pvs);
		for (size_t i = 0; i < n; i++) {
			if (!d[i].name || !d[i].devpath || (d[i].parent && !d[i].partition))
				abort();
			json_t *j = disk_info_json(&d[i]);
			if (!j)
				abort();
			json_decref(j);
			(void)disks_check_unused(d, n, d[i].devpath, NULL);
		}
		disk_info_list_free(d, n);
	}
	strv_free(pvs);

	char *v = NULL;
	if (disks_blkid_get(text, "UUID", &v) == 0 && !v)
		abort();
	free(v);
	json_t *a = NULL;
	if (disks_zpool_list_parse(text, &a) == 0 && !json_is_array(a))
		abort();
	json_decref(a);
	json_decref(disks_fstab_dirs(text));
	(void)disks_devpath_valid(text);
	return 0;
}
