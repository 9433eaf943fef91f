/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <inttypes.h>

#include "backend-dir-cmd.h"
#include "cmd.h"

const char *dir_preallocation(const char *fmt, const char *key)
{
	if (streq(fmt, "qcow2"))
		return key ? key : "metadata";
	if (streq(fmt, "raw")) {
		/* PVE: metadata means nothing for raw, so it is off */
		if (!key || streq(key, "metadata") || streq(key, "off"))
			return NULL;
		return key;
	}
	return NULL;
}

void dir_create_build_cmd(struct cmd *c, const char *path, const char *fmt, uint64_t size,
                          const char *prealloc_key)
{
	const char *prealloc = dir_preallocation(fmt, prealloc_key);

	cmd_init(c, "qemu-img");
	cmd_add(c, "create");
	if (prealloc) {
		cmd_add(c, "-o");
		cmd_addf(c, "preallocation=%s", prealloc);
	}
	cmd_add(c, "-f");
	cmd_add(c, fmt);
	cmd_add(c, path);
	cmd_addf(c, "%" PRIu64 "K", size / 1024 + (size % 1024 ? 1 : 0));
}

void dir_clone_build_cmd(struct cmd *c, const char *path, const char *backing, const char *base_fmt,
                         const char *prealloc_key)
{
	const char *prealloc = dir_preallocation("qcow2", prealloc_key);

	cmd_init(c, "qemu-img");
	cmd_add(c, "create");
	cmd_add(c, "-F");
	cmd_add(c, base_fmt);
	cmd_add(c, "-b");
	cmd_add(c, backing);
	cmd_add(c, "-f");
	cmd_add(c, "qcow2");
	cmd_add(c, path);
	cmd_add(c, "-o");
	/* a clone never preallocates metadata: PVE passes it only for
	 * falloc/full, where the data must be reserved */
	if (prealloc && !streq(prealloc, "metadata") && !streq(prealloc, "off"))
		cmd_addf(c, "extended_l2=on,cluster_size=128k,preallocation=%s", prealloc);
	else
		cmd_add(c, "extended_l2=on,cluster_size=128k");
}

void dir_info_build_cmd(struct cmd *c, const char *path, const char *fmt)
{
	cmd_init(c, "qemu-img");
	cmd_add(c, "info");
	cmd_add(c, "--output=json");
	cmd_add(c, "-f");
	cmd_add(c, fmt);
	cmd_add(c, path);
}

void dir_resize_build_cmd(struct cmd *c, const char *path, const char *fmt, uint64_t size,
                          const char *prealloc_key)
{
	const char *prealloc = dir_preallocation(fmt, prealloc_key);

	cmd_init(c, "qemu-img");
	cmd_add(c, "resize");
	if (prealloc && !streq(prealloc, "metadata"))
		cmd_addf(c, "--preallocation=%s", prealloc);
	cmd_add(c, "-f");
	cmd_add(c, fmt);
	cmd_add(c, path);
	cmd_addf(c, "%" PRIu64, size);
	cmd_set_timeout(c, 10 * 1000);
}

void dir_snapshot_build_cmd(struct cmd *c, char op, const char *path, const char *snap)
{
	cmd_init(c, "qemu-img");
	cmd_add(c, "snapshot");
	cmd_addf(c, "-%c", op);
	cmd_add(c, snap);
	cmd_add(c, path);
}
