/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * zfs and zpool -Hp output is read back by the zfspool backend; dataset and
 * snapshot names in it may have been made by anybody with zfs rights on the
 * host.  Every parser reads every input (as the C string the runner hands
 * over).  Checks: no crash, no leak; datasets have names, snapshots a name
 * without '@', a pool a name and a health.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "backend-zfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct zfs_dataset *d = NULL;
	struct zfs_snapshot *snaps = NULL;
	struct zpool_info p = {0};
	uint64_t v;
	size_t n = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (zfs_list_parse(s, &d, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!d[i].name || !*d[i].name || (d[i].origin && !*d[i].origin))
				abort();
		zfs_dataset_list_free(d, n);
	}
	if (zfs_snapshots_parse(s, &snaps, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!snaps[i].name || !*snaps[i].name || snaps[i].creation < 0)
				abort();
		zfs_snapshot_list_free(snaps, n);
	}
	(void)zfs_get_parse_u64(s, "used", &v);
	if (zpool_list_parse(s, &p) == 0) {
		if (!p.name || !*p.name || !p.health || !*p.health || p.frag < -1 || p.cap < -1)
			abort();
		zpool_info_clear(&p);
	}
	free(s);
	return 0;
}
