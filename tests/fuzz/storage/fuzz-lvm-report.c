/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lvs and vgs reports are read back by the lvm backends; their names and
 * tags can be set by whoever else administers the host.  Both parsers read
 * every input.  Checks: no crash, no leak; a row given back has a VG and LV
 * name, a NUL-terminated lv_attr and a NULL-terminated tag list; percents
 * are -1 or a number in [0, 1000].
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "backend-lvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lvm_lv *lvs = NULL;
	struct lvm_vg *vgs = NULL;
	size_t n = 0;

	if (lvm_lvs_parse((const char *)data, size, &lvs, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!lvs[i].name || !lvs[i].vg || !*lvs[i].name || !lvs[i].tags ||
			    strlen(lvs[i].attr) >= sizeof(lvs[i].attr))
				abort();
			if ((lvs[i].data_pct != -1 &&
			     (lvs[i].data_pct < 0 || lvs[i].data_pct > 1000)) ||
			    (lvs[i].meta_pct != -1 &&
			     (lvs[i].meta_pct < 0 || lvs[i].meta_pct > 1000)))
				abort();
			(void)lvm_lv_has_tag(&lvs[i], "pve-vm-100");
		}
		lvm_lv_list_free(lvs, n);
	}
	if (lvm_vgs_parse((const char *)data, size, &vgs, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!vgs[i].name || !*vgs[i].name || vgs[i].lv_count < 0)
				abort();
		lvm_vg_list_free(vgs, n);
	}
	return 0;
}
