/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <string.h>

#include "cmd.h"
#include "copy-cmd.h"

void storage_convert_build_cmd(struct cmd *c, const char *src, const char *src_fmt, const char *dst,
                               const char *dst_fmt, bool target_is_zero)
{
	storage_convert_snapshot_build_cmd(c, src, src_fmt, NULL, dst, dst_fmt, target_is_zero);
}

void storage_convert_snapshot_build_cmd(struct cmd *c, const char *src, const char *src_fmt,
                                        const char *snap, const char *dst, const char *dst_fmt,
                                        bool target_is_zero)
{
	cmd_init(c, "qemu-img");
	cmd_add(c, "convert");
	cmd_add(c, "-n");
	if (target_is_zero)
		cmd_add(c, "--target-is-zero");
	cmd_add(c, "-t");
	cmd_add(c, "writeback");
	cmd_add(c, "-f");
	cmd_add(c, src_fmt);
	cmd_add(c, "-O");
	cmd_add(c, dst_fmt);
	if (snap) {
		cmd_add(c, "-l");
		cmd_addf(c, "snapshot.name=%s", snap);
	}
	cmd_add(c, src);
	cmd_add(c, dst);
	cmd_set_timeout(c, STORAGE_COPY_TIMEOUT_MS);
}

/* dir with exactly one trailing '/' */
static void add_dir(struct cmd *c, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	cmd_addf(c, "%.*s/", (int)n, dir);
}

void storage_rsync_build_cmd(struct cmd *c, const char *src_dir, const char *dst_dir)
{
	static const char *const opts[] = {
	    "--archive",     "--hard-links",      "--acls",       "--xattrs", "--sparse",
	    "--numeric-ids", "--one-file-system", "--whole-file", "--",
	};

	cmd_init(c, "rsync");
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		cmd_add(c, opts[i]);
	add_dir(c, src_dir);
	add_dir(c, dst_dir);
	cmd_set_timeout(c, STORAGE_COPY_TIMEOUT_MS);
}
