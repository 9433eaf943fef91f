/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "lxc-setup-internal.h"
#include "lxc-tmpl.h"
#include "task.h"
#include "xalloc.h"

/* At most this many of tar's lines reach the task log; the rest is counted. */
#define LOG_LINES_MAX 200

int lxc_tmpl_detect(const unsigned char *h, size_t len, enum lxc_tmpl_compression *ret)
{
	if (len >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		*ret = LXC_TMPL_GZIP;
	else if (len >= 6 && !memcmp(h,
	                             "\xfd"
	                             "7zXZ\0",
	                             6))
		*ret = LXC_TMPL_XZ;
	else if (len >= 4 && !memcmp(h, "\x28\xb5\x2f\xfd", 4))
		*ret = LXC_TMPL_ZSTD;
	else if (len >= 262 && !memcmp(h + 257, "ustar", 5)) /* POSIX and GNU tar */
		*ret = LXC_TMPL_PLAIN;
	else
		return -EINVAL;
	return 0;
}

void lxc_tmpl_build_cmd(struct cmd *c, enum lxc_tmpl_compression comp, const struct lxc_idmap *map)
{
	static const char *const opts[] = {
	    "--totals",
	    "--numeric-owner",
	    "-p",
	    "--one-file-system",
	    "--sparse",
	    "--xattrs",
	    "--xattrs-include=user.*",
	    "--xattrs-include=security.capability",
	    "--acls",
	    "--warning=no-file-ignored",
	    "--warning=no-xattr-write",
	    "--anchored",
	    "--exclude=./dev/*",
	    "--exclude=dev/*", /* --anchored: the same members without "./" */
	};

	if (map && map->n > 0) {
		cmd_init(c, "lxc-usernsexec");
		for (size_t i = 0; i < map->n; i++) {
			cmd_add(c, "-m");
			cmd_addf(c, "%c:%u:%u:%u", map->e[i].type, map->e[i].ct, map->e[i].host,
			         map->e[i].count);
		}
		cmd_add(c, "--");
		cmd_add(c, "tar");
	} else {
		cmd_init(c, "tar");
	}
	cmd_add(c, "xpf");
	cmd_add(c, "-");
	switch (comp) {
	case LXC_TMPL_GZIP:
		cmd_add(c, "-z");
		break;
	case LXC_TMPL_XZ:
		cmd_add(c, "-J");
		break;
	case LXC_TMPL_ZSTD:
		cmd_add(c, "--zstd");
		break;
	case LXC_TMPL_PLAIN:
		break;
	}
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		cmd_add(c, opts[i]);
	cmd_set_timeout(c, LXC_TMPL_TIMEOUT_MS);
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && !memcmp(s + len - n, suffix, n);
}

/*
 * Goes through tar's stderr line by line: every line to the log (bounded),
 * device nodes tar could not create in an unprivileged container as
 * warnings, and anything else tar called an error counted in *ret_errors
 * with the first one in *ret_first.
 */
static void classify(struct task_worker *w, const char *text, bool unpriv, unsigned *ret_errors,
                     char **ret_first)
{
	unsigned logged = 0, more = 0;

	*ret_errors = 0;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool benign = has_suffix(p, len, "from member names") ||
		              has_suffix(p, len, "from hard link targets") ||
		              !strncmp(p, "Total bytes read", 16) ||
		              !strncmp(p, "tar: Exiting with failure status", 32) ||
		              /* tar's warnings (exit status 0) about times */
		              has_suffix(p, len, " s in the future") ||
		              memmem(p, len, ": implausibly old time stamp ", 29);
		bool dev = unpriv && has_suffix(p, len, ": Cannot mknod: Operation not permitted");

		if (!benign && !dev) {
			if (!*ret_first)
				*ret_first = xstrndup(p, len);
			(*ret_errors)++;
		}
		if (w && logged < LOG_LINES_MAX) {
			logged++;
			if (dev)
				task_warn(w, "skipped device node: %.*s", (int)len, p);
			else
				task_log(w, "%.*s", (int)len, p);
		} else {
			more++;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (w && more)
		task_log(w, "... %u more lines of tar's output not shown", more);
}

int lxc_tmpl_unpack(const char *archive, const char *rootfs, const struct lxc_idmap *map,
                    struct task_worker *w, struct error **err)
{
	bool unpriv = map && map->n > 0;
	uint32_t uid = 0, gid = 0;
	unsigned char head[512];
	enum lxc_tmpl_compression comp;
	struct cmd c;
	struct cmd_result res = {0};
	_cleanup_error_ struct error *e = NULL;
	_cleanup_free_ char *first = NULL;
	unsigned errors = 0;
	int r;

	if (unpriv && (!ct_idmap_root(map, 'u', &uid) || !ct_idmap_root(map, 'g', &gid)))
		return error_set(err, -EINVAL, 400, "the id map does not map the container's root");

	_cleanup_close_ int fd = open(archive, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open template '%s' - %s", archive,
		                 strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, -EINVAL, 400, "template '%s' is not a regular file", archive);
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return error_set(err, -errno, 500, "unable to read template '%s' - %s", archive,
		                 strerror(errno));
	if (lxc_tmpl_detect(head, (size_t)n, &comp) < 0)
		return error_set(err, -EINVAL, 400,
		                 "template '%s' is not a tar archive (plain, gzip, xz or zstd)",
		                 archive);

	_cleanup_close_ int dfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return error_set(err, -errno, 500, "unable to open rootfs '%s' - %s", rootfs,
		                 strerror(errno));
	if (unpriv && (fchown(dfd, uid, gid) < 0 || fchmod(dfd, 0755) < 0))
		return error_set(err, -errno, 500, "unable to chown rootfs '%s' - %s", rootfs,
		                 strerror(errno));

	lxc_tmpl_build_cmd(&c, comp, map);
	cmd_set_stdin_fd(&c, fd);
	cmd_set_cwd(&c, rootfs);
	if (w)
		task_log(w, "extracting archive '%s'", archive);
	r = cmd_run(&c, &res, &e);
	cmd_release(&c);
	if (res.err)
		classify(w, res.err, unpriv, &errors, &first);
	bool tar_failed = r < 0 && !res.signal && !res.timed_out && res.exit_code == 2;
	cmd_result_clear(&res);
	/* exit 0: what tar printed were warnings, logged above; exit 2 with no
	 * line counted as an error: only device nodes skipped */
	if (r == 0 || (tar_failed && errors == 0))
		return 0;
	if (tar_failed && first)
		return error_set(err, -EIO, 500, "unable to unpack template: %s", first);
	error_propagate(err, e);
	e = NULL;
	return r;
}
