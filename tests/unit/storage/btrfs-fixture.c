/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "backend-btrfs.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "xalloc.h"

#include "btrfs-fixture.h"

#define FIXTURE_SIZE (512ll << 20)

static int run(struct cmd *c)
{
	struct error *err = NULL;
	int r = cmd_run(c, NULL, &err);
	if (r < 0)
		fprintf(stderr, "btrfs fixture: %s\n", err ? err->msg : "command failed");
	error_free(err);
	cmd_release(c);
	return r;
}

static bool have_program(const char *name)
{
	static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

int btrfs_fixture_setup(const char *id, struct btrfs_fixture **ret)
{
	if (geteuid() != 0 || !have_program("mkfs.btrfs") || !have_program("btrfs") ||
	    access("/dev/loop-control", F_OK) < 0)
		return -EOPNOTSUPP;

	struct btrfs_fixture *f = xnew(struct btrfs_fixture, 1);
	char tmpl[] = "/tmp/ctvm-btrfs-XXXXXX";
	if (!mkdtemp(tmpl)) {
		free(f);
		return -errno;
	}
	f->dir = xstrdup(tmpl);
	f->image = path_join(f->dir, "btrfs.img");
	f->mnt = path_join(f->dir, "mnt");

	int r = 0;
	int fd = open(f->image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FIXTURE_SIZE) < 0 || mkdir(f->mnt, 0755) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);

	struct cmd c;
	if (r >= 0) {
		btrfs_mkfs_build_cmd(&c, f->image);
		r = run(&c);
	}
	if (r >= 0) {
		cmd_init(&c, "mount");
		cmd_add(&c, "-o");
		cmd_add(&c, "loop");
		cmd_add(&c, "--");
		cmd_add(&c, f->image);
		cmd_add(&c, f->mnt);
		r = run(&c);
		if (r < 0)
			r = -EOPNOTSUPP; /* no free loop device, or no btrfs in the kernel */
		else
			f->mounted = true;
	}
	if (r >= 0) {
		btrfs_quota_enable_build_cmd(&c, f->mnt);
		r = run(&c);
	}
	if (r >= 0) {
		struct error *err = NULL;
		_cleanup_free_ char *store = path_join(f->mnt, "store");
		f->cfg = section_config_new();
		r = section_config_add(f->cfg, "btrfs", id, &f->section, &err);
		error_free(err);
		if (r >= 0) {
			section_set(f->section, "path", store);
			section_set(f->section, "content", "images,rootdir");
		}
	}
	if (r < 0) {
		btrfs_fixture_teardown(f);
		return r;
	}
	*ret = f;
	return 0;
}

void btrfs_fixture_teardown(struct btrfs_fixture *f)
{
	if (!f)
		return;
	if (f->mounted) {
		/* umount(2) of a loop mount set up by mount(8) frees the loop
		 * device (autoclear) */
		if (umount2(f->mnt, 0) < 0)
			(void)umount2(f->mnt, MNT_DETACH);
	}
	if (f->mnt)
		(void)rmdir(f->mnt);
	if (f->image)
		(void)unlink(f->image);
	if (f->dir)
		(void)rmdir(f->dir);
	section_config_free(f->cfg);
	free(f->dir);
	free(f->image);
	free(f->mnt);
	free(f);
}
