/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc_cmd_build(): one golden case per feature
 * (tests/data/golden/lxc-cmd/<case>.conf -> <case>.lxc; regenerate with
 * TEST_REGENERATE_OUTPUT=1) and the refusals.  The .conf files hold the
 * main section as "key: value" lines, lxc.* raw keys among them (in file
 * order), as Proxmox writes them; the host facts of each case are below.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "lxc-cmd.h"
#include "xalloc.h"

static const struct lxc_idmap default_map = {
    .e = {{'u', 0, 100000, 65536}, {'g', 0, 100000, 65536}},
    .n = 2,
};
static const struct lxc_idmap custom_map = {
    .e = {{'u', 0, 100000, 1000},
          {'g', 0, 100000, 1000},
          {'u', 1000, 1000, 1},
          {'g', 1000, 1000, 1},
          {'u', 1001, 101001, 64535},
          {'g', 1001, 101001, 64535}},
    .n = 6,
};

/* "key: value" lines to a main section and the lxc.* keys in order */
static json_t *conf_of(const char *text, json_t **ret_raw)
{
	json_t *conf = json_object(), *raw = json_array();
	_cleanup_free_ char *copy = xstrdup(text);
	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(l, ':');
		assert_non_null(colon);
		*colon = '\0';
		const char *v = colon + 1 + (colon[1] == ' ');
		if (str_startswith(l, "lxc."))
			json_array_append_new(raw, json_pack("[ss]", l, v));
		else
			json_object_set_new(conf, l, json_string(v));
	}
	*ret_raw = raw;
	return conf;
}

static int build(const char *text, struct lxc_cmd_opts *o, char **ret, struct error **err)
{
	json_t *raw;
	json_t *conf = conf_of(text, &raw);
	o->raw = raw;
	int r = lxc_cmd_build(conf, o, ret, err);
	json_decref(conf);
	json_decref(raw);
	return r;
}

static void test_golden(void **state)
{
	static const char *const mp_keys[] = {"mp0", "mp1", "mp2", NULL};
	static const char *const mp_paths[] = {"/srv/data", "/srv/logs", "/srv/data/sub", NULL};
	static const struct {
		const char *name;
		struct lxc_cmd_opts o;
	} cases[] = {
	    {"minimal", {.vmid = 100}},
	    {"basic", {.vmid = 100, .memsw = true, .idmap = &default_map}},
	    {"privileged", {.vmid = 101, .memsw = true}},
	    {"unprivileged", {.vmid = 102, .idmap = &default_map}},
	    {"custom-idmap", {.vmid = 103, .idmap = &custom_map}},
	    {"cgroup-v1", {.vmid = 104, .memsw = true}},
	    {"cgroup-v1-no-memsw", {.vmid = 104}},
	    {"cgroup-v2", {.vmid = 105, .cgroup_v2 = true, .idmap = &default_map}},
	    {"nets", {.vmid = 106, .idmap = &default_map}},
	    {"vlan", {.vmid = 107}},
	    {"apparmor", {.vmid = 108, .apparmor = true, .idmap = &default_map}},
	    {"nesting-unpriv", {.vmid = 109, .idmap = &default_map}},
	    {"nesting-priv", {.vmid = 110}},
	    {"fuse", {.vmid = 111, .idmap = &default_map}},
	    {"keyctl-force-rw-sys", {.vmid = 112, .idmap = &default_map}},
	    {"mountpoints", {.vmid = 113, .mp_keys = mp_keys, .mp_paths = mp_paths}},
	    {"console-tty", {.vmid = 114}},
	    {"busybox", {.vmid = 115, .idmap = &default_map}},
	    {"unknown-ostype", {.vmid = 116}},
	    {"raw-keys", {.vmid = 117}},
	    {"log", {.vmid = 118, .console_dir = "/run/ctvm/lxc/118"}},
	    {"lxcfs", {.vmid = 119, .lxcfs = true, .idmap = &default_map}},
	};
	const char *data = getenv("CTVM_TEST_DATA");
	assert_non_null(data);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path =
		    xasprintf("%s/golden/lxc-cmd/%s.conf", data, cases[i].name);
		_cleanup_free_ char *text = NULL;
		size_t len;
		assert_int_equal(read_file(path, 1 << 20, &text, &len, NULL), 0);
		struct lxc_cmd_opts o = cases[i].o;
		_cleanup_free_ char *rootfs = xasprintf("/var/lib/vz/images/%ld/rootfs", o.vmid);
		o.rootfs_path = rootfs;
		_cleanup_free_ char *out = NULL;
		struct error *e = NULL;
		if (build(text, &o, &out, &e) < 0)
			fail_msg("%s: %s", cases[i].name, e->msg);
		_cleanup_free_ char *golden = xasprintf("lxc-cmd/%s.lxc", cases[i].name);
		golden_check_text(golden, out);
	}
}

static void assert_refused(const char *text, struct lxc_cmd_opts o, int status)
{
	if (!o.rootfs_path)
		o.rootfs_path = "/var/lib/vz/images/100/rootfs";
	_cleanup_free_ char *out = NULL;
	struct error *e = NULL;
	if (build(text, &o, &out, &e) == 0)
		fail_msg("built: %s\n%s", text, out);
	assert_int_equal(e->http_status, status);
	error_free(e);
}

static void test_refusals(void **state)
{
	struct lxc_cmd_opts o = {.vmid = 100};
	assert_refused("net0: bridge=vmbr0\n", o, 400);                       /* no name */
	assert_refused("net0: name=eth0 x,bridge=vmbr0\n", o, 400);           /* blank */
	assert_refused("net0: name=eth0,bridge=vmbr0,type=phys\n", o, 400);   /* type */
	assert_refused("net0: name=eth0,hwaddr=zz:00:00:00:00:00\n", o, 400); /* mac */
	assert_refused("net0: name=eth0,tag=4095\n", o, 400);
	assert_refused("net0: name=eth0,mtu=20\n", o, 400);
	assert_refused("hostname: a b\n", o, 400);
	assert_refused("memory: 0\n", o, 400);
	assert_refused("memory: -1\n", o, 400);
	assert_refused("cpulimit: 1e9\n", o, 400);
	assert_refused("cpuunits: x\n", o, 400);
	assert_refused("tty: 7\n", o, 400);
	/* a raw key or value can never add a line */
	assert_refused("lxc.cap.drop: a\rlxc.idmap = u 0 0 1\n", o, 400);
	assert_refused("lxc.cap drop: a\n", o, 400);
	assert_refused("lxc.a=b: c\n", o, 400);

	static const char *const keys[] = {"mp0", NULL};
	static const char *const good[] = {"/srv/a", NULL};
	static const char *const dotdot[] = {"/srv/../etc", NULL};
	static const char *const blank[] = {"/srv/a b", NULL};
	struct lxc_cmd_opts m = {.vmid = 100, .mp_keys = keys, .mp_paths = good};
	assert_refused("mp0: /srv/a,mp=/../etc\n", m, 400);
	assert_refused("mp0: /srv/a,mp=relative\n", m, 400);
	assert_refused("mp0: /srv/a,mp=/\n", m, 400);
	assert_refused("mp0: /srv/a,mp=/x,mountoptions=remount\n", m, 400);
	assert_refused("rootfs: local:100/x.raw\n", m, 500); /* mp0 not in the config */
	m.mp_paths = dotdot;
	assert_refused("mp0: /srv/a,mp=/x\n", m, 400);
	m.mp_paths = blank;
	assert_refused("mp0: /srv/a,mp=/x\n", m, 400);
	struct lxc_cmd_opts r = {.vmid = 100, .rootfs_path = "rel/rootfs"};
	assert_refused("", r, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
