/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The btrfs commands the backend (and its test fixture) runs, as pure
 * builders so golden tests pin their argv, and the parser of qgroup output.
 * The text output is parsed because btrfs-progs 6.2's `--format json qgroup
 * show` aborts on --raw.
 */
#include "common.h"

#include <inttypes.h>

#include "backend-btrfs.h"
#include "cmd.h"

void btrfs_qgroup_limit_build_cmd(struct cmd *c, const char *path, uint64_t bytes)
{
	cmd_init(c, "btrfs");
	cmd_add(c, "-q");
	cmd_add(c, "qgroup");
	cmd_add(c, "limit");
	cmd_add(c, "--");
	if (bytes)
		cmd_addf(c, "%" PRIu64, bytes);
	else
		cmd_add(c, "none");
	cmd_add(c, path);
}

void btrfs_qgroup_show_build_cmd(struct cmd *c, const char *path)
{
	cmd_init(c, "btrfs");
	cmd_add(c, "qgroup");
	cmd_add(c, "show");
	cmd_add(c, "-re");
	cmd_add(c, "--raw");
	cmd_add(c, "-f");
	cmd_add(c, "--");
	cmd_add(c, path);
}

void btrfs_quota_enable_build_cmd(struct cmd *c, const char *mountpoint)
{
	cmd_init(c, "btrfs");
	cmd_add(c, "-q");
	cmd_add(c, "quota");
	cmd_add(c, "enable");
	/* no "--": btrfs-progs 6.2 counts it as an argument here */
	cmd_add(c, mountpoint);
}

void btrfs_mkfs_build_cmd(struct cmd *c, const char *device)
{
	cmd_init(c, "mkfs.btrfs");
	cmd_add(c, "-q");
	cmd_add(c, "-f");
	cmd_add(c, "--");
	cmd_add(c, device);
}

static int parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* Splits the next whitespace-separated word of the line [*p, end). */
static bool next_word(const char **p, const char *end, const char **ret_w, size_t *ret_n)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*p = s;
	*ret_w = w;
	*ret_n = (size_t)(s - w);
	return s > w;
}

int btrfs_qgroup_show_parse(const char *out, uint64_t subvolid, uint64_t *ret_rfer,
                            uint64_t *ret_max_rfer)
{
	char want[32];
	snprintf(want, sizeof(want), "0/%" PRIu64, subvolid);

	for (const char *line = out; line && *line;) {
		const char *eol = strchr(line, '\n');
		const char *end = eol ? eol : line + strlen(line);
		const char *p = line, *w;
		size_t n;

		if (next_word(&p, end, &w, &n) && n == strlen(want) && memcmp(w, want, n) == 0) {
			/* qgroupid rfer excl max_rfer max_excl [path] */
			uint64_t rfer, max_rfer = 0;
			const char *wr, *wm;
			size_t nr, nm;
			if (!next_word(&p, end, &wr, &nr) || parse_u64(wr, nr, &rfer) < 0)
				return -EINVAL;
			if (!next_word(&p, end, &w, &n)) /* excl */
				return -EINVAL;
			if (!next_word(&p, end, &wm, &nm))
				return -EINVAL;
			if (!(nm == 4 && memcmp(wm, "none", 4) == 0) &&
			    parse_u64(wm, nm, &max_rfer) < 0)
				return -EINVAL;
			*ret_rfer = rfer;
			*ret_max_rfer = max_rfer;
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}
