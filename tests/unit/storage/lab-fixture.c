/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "backend-lvm.h"
#include "storage.h"
#include "xalloc.h"

#include "lab-fixture.h"

/* the thin pool: most of the lab disk, metadata sized by lvcreate */
#define LAB_THIN_SIZE "256M"

static int run_out(struct cmd *c, bool quiet, char **ret_out)
{
	struct error *err = NULL;
	struct cmd_result res = {0};
	int r = cmd_run(c, &res, &err);

	if (r < 0 && !quiet)
		fprintf(stderr, "lab fixture: %s\n", err ? err->msg : "command failed");
	if (r >= 0 && ret_out)
		*ret_out = TAKE_PTR(res.out);
	cmd_result_clear(&res);
	error_free(err);
	cmd_release(c);
	return r;
}

static int run(struct cmd *c)
{
	return run_out(c, false, NULL);
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

static bool is_lvm(const char *type)
{
	return streq(type, "lvm") || streq(type, "lvmthin");
}

static void wipe(const char *disk)
{
	struct cmd c;

	cmd_init(&c, "wipefs");
	cmd_add(&c, "-a");
	cmd_add(&c, "-q");
	cmd_add(&c, "--");
	cmd_add(&c, disk);
	(void)run_out(&c, true, NULL);
}

/* Whatever an earlier, killed run left on the disk. */
static void destroy(const struct lab_fixture *f)
{
	struct cmd c;

	if (is_lvm(f->type)) {
		cmd_init(&c, "vgremove");
		cmd_add(&c, "-f");
		cmd_add(&c, "-y");
		cmd_add(&c, LAB_VG);
		(void)run_out(&c, true, NULL);
		cmd_init(&c, "pvremove");
		cmd_add(&c, "-ff");
		cmd_add(&c, "-y");
		cmd_add(&c, f->disk);
		(void)run_out(&c, true, NULL);
	} else {
		cmd_init(&c, "zpool");
		cmd_add(&c, "destroy");
		cmd_add(&c, "-f");
		cmd_add(&c, LAB_POOL);
		(void)run_out(&c, true, NULL);
	}
	wipe(f->disk);
}

static int create(const struct lab_fixture *f)
{
	struct cmd c;
	int r;

	if (is_lvm(f->type)) {
		cmd_init(&c, "pvcreate");
		cmd_add(&c, "-y");
		cmd_add(&c, "-ff");
		cmd_add(&c, f->disk);
		if ((r = run(&c)) < 0)
			return r;
		cmd_init(&c, "vgcreate");
		cmd_add(&c, LAB_VG);
		cmd_add(&c, f->disk);
		if ((r = run(&c)) < 0)
			return r;
		if (streq(f->type, "lvmthin")) {
			/* as ctvm creates thin pools: errors when full, never
			 * queues I/O of a frozen guest */
			cmd_init(&c, "lvcreate");
			cmd_add(&c, "-y");
			cmd_add(&c, "--type");
			cmd_add(&c, "thin-pool");
			cmd_add(&c, "-L");
			cmd_add(&c, LAB_THIN_SIZE);
			cmd_add(&c, "-n");
			cmd_add(&c, LAB_THIN);
			cmd_add(&c, LAB_VG);
			if ((r = run(&c)) < 0)
				return r;
			/* lvm 2.03.16 refuses --errorwhenfull on lvcreate of a
			 * thin pool: set it afterwards */
			lvm_errorwhenfull_build_cmd(&c, LAB_VG, LAB_THIN);
			if ((r = run(&c)) < 0)
				return r;
		}
		return 0;
	}
	/* mounted in the temp dir: container datasets are mounted below it */
	_cleanup_free_ char *mnt = path_join(f->dir, "zfs");
	cmd_init(&c, "zpool");
	cmd_add(&c, "create");
	cmd_add(&c, "-f");
	cmd_add(&c, "-m");
	cmd_add(&c, mnt);
	cmd_add(&c, LAB_POOL);
	cmd_add(&c, f->disk);
	return run(&c);
}

int lab_fixture_setup(const char *type, const char *id, struct lab_fixture **ret)
{
	const char *disk = getenv("CTVM_LAB_DISK");
	struct error *err = NULL;
	struct stat sb;

	if (!disk || !*disk || geteuid() != 0 || !storage_backend_find(type))
		return -EOPNOTSUPP;
	if (stat(disk, &sb) < 0 || !S_ISBLK(sb.st_mode)) {
		fprintf(stderr, "lab fixture: CTVM_LAB_DISK=%s is not a block device\n", disk);
		return -EOPNOTSUPP;
	}
	if (is_lvm(type)
	        ? !have_program("lvcreate") || !have_program("vgcreate") ||
	              access("/dev/mapper/control", F_OK) < 0
	        : !have_program("zpool") || !have_program("zfs") || access("/dev/zfs", F_OK) < 0)
		return -EOPNOTSUPP;
	if (streq(type, "lvmthin") && !have_program("thin_check"))
		return -EOPNOTSUPP;

	struct lab_fixture *f = xnew(struct lab_fixture, 1);
	char tmpl[] = "/tmp/ctvm-lab-XXXXXX";
	f->type = xstrdup(type);
	f->disk = xstrdup(disk);
	if (!mkdtemp(tmpl)) {
		int r = -errno;
		lab_fixture_teardown(f);
		return r;
	}
	f->dir = xstrdup(tmpl);

	destroy(f);
	int r = create(f);
	if (r < 0) {
		lab_fixture_teardown(f);
		return r;
	}
	f->cfg = section_config_new();
	if (section_config_add(f->cfg, type, id, &f->section, &err) < 0) {
		fprintf(stderr, "lab fixture: %s\n", err->msg);
		error_free(err);
		lab_fixture_teardown(f);
		return -EINVAL;
	}
	if (is_lvm(type))
		section_set(f->section, "vgname", LAB_VG);
	else {
		_cleanup_free_ char *mnt = path_join(f->dir, "zfs");

		section_set(f->section, "pool", LAB_POOL);
		section_set(f->section, "mountpoint", mnt);
	}
	if (streq(type, "lvmthin"))
		section_set(f->section, "thinpool", LAB_THIN);
	section_set(f->section, "content", "images,rootdir");
	*ret = f;
	return 0;
}

void lab_fixture_teardown(struct lab_fixture *f)
{
	if (!f)
		return;
	if (f->dir) {
		destroy(f);
		struct cmd c;
		cmd_init(&c, "rm");
		cmd_add(&c, "-rf");
		cmd_add(&c, "--");
		cmd_add(&c, f->dir);
		(void)run_out(&c, true, NULL);
	}
	section_config_free(f->cfg);
	free(f->type);
	free(f->disk);
	free(f->dir);
	free(f);
}

static int count_lines(const char *out)
{
	int n = 0;

	for (const char *p = out; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len)
			n++;
		p = eol ? eol + 1 : NULL;
	}
	return n;
}

int lab_fixture_count_volumes(const struct lab_fixture *f)
{
	_cleanup_free_ char *out = NULL;
	struct cmd c;
	int r, n;

	if (is_lvm(f->type)) {
		cmd_init(&c, "lvs");
		cmd_add(&c, "--noheadings");
		cmd_add(&c, "-o");
		cmd_add(&c, "lv_name");
		cmd_add(&c, LAB_VG);
	} else {
		cmd_init(&c, "zfs");
		cmd_add(&c, "list");
		cmd_add(&c, "-H");
		cmd_add(&c, "-r");
		cmd_add(&c, "-t");
		cmd_add(&c, "all");
		cmd_add(&c, "-o");
		cmd_add(&c, "name");
		cmd_add(&c, LAB_POOL);
	}
	if ((r = run_out(&c, false, &out)) < 0)
		return r;
	n = count_lines(out);
	/* the thin pool, or the pool's root dataset */
	if (streq(f->type, "lvmthin") || streq(f->type, "zfspool"))
		n--;
	return n;
}

long long lab_fixture_total(const struct lab_fixture *f)
{
	_cleanup_free_ char *out = NULL;
	long long total = 0;
	struct cmd c;
	int r;

	if (streq(f->type, "zfspool")) {
		cmd_init(&c, "zfs");
		cmd_add(&c, "get");
		cmd_add(&c, "-Hp");
		cmd_add(&c, "-o");
		cmd_add(&c, "value");
		cmd_add(&c, "available,used");
		cmd_add(&c, LAB_POOL);
	} else {
		cmd_init(&c, streq(f->type, "lvm") ? "vgs" : "lvs");
		cmd_add(&c, "--noheadings");
		cmd_add(&c, "--units");
		cmd_add(&c, "b");
		cmd_add(&c, "--nosuffix");
		cmd_add(&c, "-o");
		cmd_add(&c, streq(f->type, "lvm") ? "vg_size" : "lv_size");
		cmd_add(&c, streq(f->type, "lvm") ? LAB_VG : LAB_VG "/" LAB_THIN);
	}
	if ((r = run_out(&c, false, &out)) < 0)
		return r;
	/* one number per line: summed (zfs: available + used) */
	for (char *p = out; *p;) {
		char *end = NULL;
		long long v = strtoll(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		total += v;
		p = end;
	}
	return total;
}
