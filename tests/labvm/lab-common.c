/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "lab-common.h"
#include "strv.h"
#include "xalloc.h"

#define GiB (1ull << 30)

static bool lab_disk_ok(const char *dev)
{
	/* /dev/vdX or /dev/vdXN only, and the disk is 4 GiB */
	if (strncmp(dev, "/dev/vd", 7) != 0 || !dev[7])
		return false;
	_cleanup_free_ char *path = xasprintf("/sys/block/vd%c/size", dev[7]);
	_cleanup_free_ char *s = NULL;
	size_t len;
	if (read_file(path, 64, &s, &len, NULL) < 0)
		return false;
	return strtoull(s, NULL, 10) * 512 == 4 * GiB;
}

char **lab_disks_from_env(void)
{
	const char *v = getenv("CTVM_LAB_DISKS");
	char **disks = strv_split(v ? v : "", " ");
	if (strv_length(disks) != 3) {
		printf("CTVM_LAB_DISKS is not set: this runs in the lab VM only\n");
		return strv_free(disks);
	}
	for (size_t i = 0; i < 3; i++)
		if (!lab_disk_ok(disks[i])) {
			printf("%s is not a lab VM disk: refusing to touch it\n", disks[i]);
			return strv_free(disks);
		}
	return disks;
}
