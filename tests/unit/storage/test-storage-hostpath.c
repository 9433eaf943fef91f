/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-hostpath: where a path leads (symbolic links, "..", "//") and the
 * system directories no storage may use, the daemon's own included.
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-hostpath.h"
#include "xalloc.h"

static struct {
	char *dir; /* a daemon's --root, with links in it */
	struct ctvm_paths *paths;
} g;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static char *at(const char *rel)
{
	return xasprintf("%s/%s", g.dir, rel);
}

static void make_link(const char *target, const char *rel)
{
	_cleanup_free_ char *p = at(rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	g.dir = xstrdup("/tmp/ctvm-hostpath-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	g.paths = ctvm_paths_new(g.dir);
	assert_int_equal(ctvm_paths_create(g.paths), 0);
	_cleanup_free_ char *srv = at("srv");
	_cleanup_free_ char *real = at("srv/real");
	assert_int_equal(mkdir(srv, 0755), 0);
	assert_int_equal(mkdir(real, 0755), 0);
	make_link("/etc", "srv/etc-link");
	make_link("real", "srv/ok-link");
	make_link("../etc", "srv/conf-link"); /* the daemon's config root */
	make_link("/nonexistent-ctvm-target/x", "srv/dangling");
	make_link("loop", "srv/loop");
	make_link("/", "srv/root-link");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(g.paths);
	free(g.dir);
	return 0;
}

/* Resolution: the existing part through links, the rest as written. */
static void test_resolve(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out; /* "@" stands for the test root */
	} cases[] = {
	    {"/", "/"},
	    {"//", "/"},
	    {"/etc/", "/etc"},
	    {"//etc//logrotate.d/", "/etc/logrotate.d"},
	    {"/./etc/.", "/etc"},
	    {"/..", "/"},
	    {"/../../etc", "/etc"},
	    {"/srv-ctvm-missing/../etc", "/etc"},
	    {"/srv-ctvm-missing/a/b", "/srv-ctvm-missing/a/b"},
	    {"@/srv/etc-link", "/etc"},
	    {"@/srv/etc-link/logrotate.d", "/etc/logrotate.d"},
	    {"@/srv/ok-link/x", "@/srv/real/x"},
	    {"@/srv/conf-link/priv", "@/etc/priv"},
	    {"@/srv/new/../etc-link/cron.d", "/etc/cron.d"},
	    {"@/srv/real/../../etc", "@/etc"},
	    {"@/srv/root-link/usr", "/usr"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *in =
		    str_startswith(cases[i].in, "@") ? at(cases[i].in + 2) : xstrdup(cases[i].in);
		_cleanup_free_ char *want = str_startswith(cases[i].out, "@")
		                                ? at(cases[i].out + 2)
		                                : xstrdup(cases[i].out);
		char *got = NULL;
		struct error *e = NULL;
		if (storage_host_path_resolve(in, &got, &e) < 0)
			fail_msg("'%s': %s", in, e->msg);
		if (!streq(got, want))
			fail_msg("'%s' resolved to '%s', want '%s'", in, got, want);
		free(got);
	}
	/* a link that cannot be followed, a relative path, a file as a dir */
	static const char *const bad[] = {
	    "@/srv/dangling", "@/srv/dangling/x", "@/srv/loop/x", "relative", "", "/etc/passwd/x"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *in =
		    str_startswith(bad[i], "@") ? at(bad[i] + 2) : xstrdup(bad[i]);
		char *got = NULL;
		struct error *e = NULL;
		if (storage_host_path_resolve(in, &got, &e) == 0)
			fail_msg("'%s' resolved to '%s'", in, got);
		assert_int_equal(e->http_status, 400);
		error_free(e);
	}
}

/* The system directories, written any way, and the daemon's own. */
static void test_check(void **state)
{
	(void)state;
	static const struct {
		/* dir: the system directory named, "*": refused (which one
		 * depends on the host's /usr merge), "": allowed */
		const char *path, *dir;
	} cases[] = {
	    {"/", "/"},
	    {"//", "/"},
	    {"/etc", "/etc"},
	    {"/etc/logrotate.d", "/etc"},
	    {"/srv/../etc", "/etc"},
	    {"/srv/./../etc/cron.d", "/etc"},
	    {"/usr/local/isos", "/usr"},
	    {"/bin", "*"},
	    {"/sbin/x", "*"},
	    {"/lib/modules", "*"},
	    {"/lib64", "*"},
	    {"/libx32/y", "*"},
	    {"/boot/grub", "/boot"},
	    {"/dev/shm", "/dev"},
	    {"/proc/self", "/proc"},
	    {"/sys/kernel", "/sys"},
	    {"/run/x", "/run"},
	    {"@/srv/etc-link", "/etc"},
	    {"@/srv/etc-link/logrotate.d", "/etc"},
	    {"@/srv/root-link", "/"},
	    {"@/etc", "@/etc"},
	    {"@/etc/priv", "@/etc"},
	    {"@/srv/conf-link", "@/etc"},
	    {"@/srv/real/../../etc/x", "@/etc"},
	    {"@/lib", "@/lib"},
	    {"@/lib/rrd", "@/lib"},
	    {"@/log", "@/log"},
	    {"@/log/tasks", "@/log"},
	    {"@/run", "@/run"},
	    /* allowed: the local storage's own directory, the rest of the
	     * root, /tmp, names that only begin like a system directory */
	    {"@/lib/vz", ""},
	    {"@/lib/vz/template/iso", ""},
	    {"@", ""},
	    {"@/srv/vols", ""},
	    {"@/srv/ok-link", ""},
	    {"/tmp", ""},
	    {"/srv/iso", ""},
	    {"/var/lib/vz", ""},
	    {"/etcetera", ""},
	    {"/usrdata/x", ""},
	    {"/mnt/run", ""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = str_startswith(cases[i].path, "@")
		                                ? xasprintf("%s%s", g.dir, cases[i].path + 1)
		                                : xstrdup(cases[i].path);
		const char *d = cases[i].dir;
		struct error *e = NULL;
		int r = storage_host_path_check("path", path, g.paths, &e);
		if (!*d) {
			if (r < 0)
				fail_msg("'%s' refused: %s", path, e->msg);
			continue;
		}
		if (r >= 0)
			fail_msg("'%s' accepted", path);
		assert_int_equal(e->http_status, 400);
		const char *why = json_string_value(json_object_get(e->params, "path"));
		assert_non_null(why);
		if (!streq(d, "*")) {
			_cleanup_free_ char *want =
			    str_startswith(d, "@")
			        ? xasprintf("system directory '%s%s'", g.dir, d + 1)
			        : xasprintf("system directory '%s'", d);
			if (!strstr(why, want))
				fail_msg("'%s': '%s', want '%s'", path, why, want);
		}
		error_free(e);
	}
	/* without the daemon's paths only the fixed list applies */
	_cleanup_free_ char *own = at("lib/rrd");
	assert_int_equal(storage_host_path_check("path", own, NULL, NULL), 0);
	assert_int_equal(storage_host_path_check("path", "/etc", NULL, NULL), -EINVAL);
}

static struct section *dir_section(struct section_config *c, const char *id, const char *path)
{
	struct section *s = NULL;
	assert_int_equal(section_config_add(c, "dir", id, &s, NULL), 0);
	assert_int_equal(storage_section_set(s, "path", path, true, NULL), 0);
	return s;
}

static void expect_refused(const struct section *s, const char *param, const char *needle)
{
	struct error *e = NULL;
	int r = storage_section_check_host_paths(s, g.paths, &e);
	if (r >= 0)
		fail_msg("storage '%s' accepted", s->id);
	assert_int_equal(e->http_status, 400);
	const char *why = json_string_value(json_object_get(e->params, param));
	if (!why || !strstr(why, needle))
		fail_msg("storage '%s': %s (%s), want %s: %s", s->id, e->msg, why ? why : "-",
		         param, needle);
	error_free(e);
}

/* A section: its path, every content directory, the mount points. */
static void test_section(void **state)
{
	(void)state;
	_cleanup_section_config_ struct section_config *c = section_config_new();
	_cleanup_free_ char *srv = at("srv/st");
	struct section *ok = dir_section(c, "ok", srv);
	assert_int_equal(storage_section_set(ok, "content-dirs", "iso=isos", false, NULL), 0);
	assert_int_equal(storage_section_check_host_paths(ok, g.paths, NULL), 0);

	/* the report's storage: /etc with iso in logrotate.d */
	struct section *etc = dir_section(c, "etc", "/etc");
	assert_int_equal(storage_section_set(etc, "content-dirs", "iso=logrotate.d", false, NULL),
	                 0);
	expect_refused(etc, "path", "system directory '/etc'");

	/* a harmless path whose override leads through a link into /etc */
	_cleanup_free_ char *srv2 = at("srv");
	struct section *via = dir_section(c, "via", srv2);
	assert_int_equal(
	    storage_section_set(via, "content-dirs", "iso=etc-link/logrotate.d", false, NULL), 0);
	expect_refused(via, "content-dirs", "system directory '/etc'");
	/* ...or into the daemon's config root */
	assert_int_equal(storage_section_set(via, "content-dirs", "iso=conf-link", false, NULL), 0);
	expect_refused(via, "content-dirs", "system directory");

	/* a storage at the test root: its defaults are fine, an override onto
	 * the daemon's state is not */
	struct section *top = dir_section(c, "top", g.dir);
	assert_int_equal(storage_section_check_host_paths(top, g.paths, NULL), 0);
	assert_int_equal(storage_section_set(top, "content-dirs", "backup=lib", false, NULL), 0);
	expect_refused(top, "content-dirs", "system directory");

	/* is_mountpoint naming a path, and a zfspool mountpoint */
	assert_int_equal(storage_section_set(ok, "is_mountpoint", "/proc", false, NULL), 0);
	expect_refused(ok, "is_mountpoint", "system directory '/proc'");
	assert_int_equal(storage_section_set(ok, "is_mountpoint", "yes", false, NULL), 0);
	assert_int_equal(storage_section_check_host_paths(ok, g.paths, NULL), 0);
	struct section *z = NULL;
	assert_int_equal(section_config_add(c, "zfspool", "z", &z, NULL), 0);
	assert_int_equal(storage_section_set(z, "pool", "tank", true, NULL), 0);
	assert_int_equal(storage_section_check_host_paths(z, g.paths, NULL), 0);
	assert_int_equal(storage_section_set(z, "mountpoint", "/boot/tank", false, NULL), 0);
	expect_refused(z, "mountpoint", "system directory '/boot'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_section),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
