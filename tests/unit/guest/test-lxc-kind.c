/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The lxc kind through the guest layer: its registration beside qemu (one
 * VMID namespace, lists, next id), its refusals' words (guest_check_op()
 * with "CT"), the privilege of each key and what only root@pam may set
 * (PVE's check_ct_modify_config_perm), a config change of a stopped
 * container, its list figures and its disks.
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf.h"
#include "paths.h"
#include "strutil.h"
#include "xalloc.h"

static const struct guest_kind_ops *lxc(void)
{
	const struct guest_kind_ops *k = guest_kind_find("lxc");
	assert_non_null(k);
	return k;
}

static void test_registry(void **state)
{
	const struct guest_kind_ops *k = lxc();
	assert_ptr_equal(guest_kinds[0], guest_kind_find("qemu"));
	assert_ptr_equal(guest_kinds[1], k);
	assert_null(guest_kinds[2]);
	assert_string_equal(k->confdir, "lxc");
	assert_string_equal(k->noun, "CT");
	assert_string_equal(k->task_pfx, "vz");
	assert_int_equal(k->caps, GUEST_CAP_SNAPSHOT | GUEST_CAP_SUSPEND | GUEST_CAP_CLONE |
	                              GUEST_CAP_TEMPLATE);
	/* the runtime slots (lxc-power.c) */
	assert_non_null(k->start);
	assert_non_null(k->is_running);
	assert_non_null(k->format_volume);
}

struct rule_case {
	const char *conf;
	bool running;
	enum guest_op op;
	const char *refusal;
};

static const struct rule_case rule_cases[] = {
    {"{\"lock\":\"backup\"}", false, GUEST_OP_START, "CT is locked (backup)"},
    {"{}", true, GUEST_OP_START, "CT 100 already running"},
    {"{\"template\":\"1\"}", false, GUEST_OP_START, "you can't start a CT if it's a template"},
    {"{}", false, GUEST_OP_REBOOT, "CT 100 not running"},
    {"{}", false, GUEST_OP_SUSPEND, "CT 100 not running"},
    {"{\"lock\":\"snapshot\"}", false, GUEST_OP_CONFIG, "CT is locked (snapshot)"},
    {"{}", true, GUEST_OP_DESTROY, "unable to destroy CT 100 - container is running"},
    /* PVE's container destroy: protection, then the lock, then running */
    {"{\"protection\":\"1\",\"lock\":\"backup\"}", true, GUEST_OP_DESTROY,
     "can't remove CT 100 - protection mode enabled"},
    {"{\"lock\":\"backup\"}", true, GUEST_OP_DESTROY, "CT is locked (backup)"},
    {"{}", false, GUEST_OP_DESTROY, NULL},
    {"{}", true, GUEST_OP_TEMPLATE, "you can't convert a CT to template if the CT is running"},
    {"{\"lock\":\"backup\"}", false, GUEST_OP_DELSNAPSHOT, "CT is locked (backup)"},
    {"{}", true, GUEST_OP_SNAPSHOT, NULL},
    {"{}", false, GUEST_OP_RESET, "reset of a lxc guest is not supported"},
};

static void test_rules(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(rule_cases); i++) {
		const struct rule_case *c = &rule_cases[i];
		_cleanup_json_ json_t *conf = json_loads(c->conf, 0, NULL);
		struct guest_state st = {.conf = conf, .running = c->running};
		struct error *e = NULL;
		int r = guest_check_op(lxc(), 100, &st, c->op, 0, &e);
		if (!c->refusal) {
			if (r < 0)
				fail_msg("case %zu: refused: %s", i, e->msg);
			continue;
		}
		if (r >= 0)
			fail_msg("case %zu: allowed, want '%s'", i, c->refusal);
		if (!streq(e->msg, c->refusal))
			fail_msg("case %zu: '%s', want '%s'", i, e->msg, c->refusal);
		error_free(e);
	}
}

static void test_key_priv(void **state)
{
	static const char *const table[][2] = {
	    {"cores", "VM.Config.CPU"},
	    {"cpulimit", "VM.Config.CPU"},
	    {"cpuunits", "VM.Config.CPU"},
	    {"memory", "VM.Config.Memory"},
	    {"swap", "VM.Config.Memory"},
	    {"net0", "VM.Config.Network"},
	    {"net31", "VM.Config.Network"},
	    {"nameserver", "VM.Config.Network"},
	    {"searchdomain", "VM.Config.Network"},
	    {"hostname", "VM.Config.Network"},
	    {"rootfs", "VM.Config.Disk"},
	    {"mp0", "VM.Config.Disk"},
	    {"mp255", "VM.Config.Disk"},
	    {"features", "VM.Allocate"},
	    {"description", "VM.Config.Options"},
	    {"onboot", "VM.Config.Options"},
	    {"startup", "VM.Config.Options"},
	    {"tags", "VM.Config.Options"},
	    {"protection", "VM.Config.Options"},
	    {"ostype", "VM.Config.Options"},
	    {"unprivileged", "VM.Config.Options"},
	    {"unused0", "VM.Config.Options"},
	    {"timezone", "VM.Config.Options"},
	    {"lxc.idmap", NULL},
	    {"lxc.mount.entry", NULL},
	    {"dev0", NULL},
	    {"hookscript", NULL},
	    {"lock", NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		const char *got = lxc()->key_priv(table[i][0]);
		if (!streq_ptr(got, table[i][1]))
			fail_msg("%s: %s, want %s", table[i][0], got ? got : "root only",
			         table[i][1] ? table[i][1] : "root only");
	}
}

static void test_needs_root(void **state)
{
	static const struct {
		const char *key, *value;
		bool root;
	} table[] = {
	    {"mp0", "/srv/data,mp=/data", true},
	    {"mp0", "volume=/srv/data,mp=/data", true},
	    {"mp0", "/dev/sdb1,mp=/data", true},
	    {"mp0", "local:8,mp=/data", false},
	    {"mp0", "local:100/vm-100-disk-1.raw,mp=/data,size=8G", false},
	    {"rootfs", "local:8", false},
	    {"rootfs", "/srv/rootfs", true},
	    {"mp0", "not parsable", true},
	    {"unprivileged", "0", true},
	    {"unprivileged", "1", false},
	    {"features", "nesting=1", false},
	    {"features", "nesting=0", false},
	    {"features", "keyctl=1", true},
	    {"features", "nesting=1,fuse=1", true},
	    {"features", "mount=nfs", true},
	    {"features", "nesting=1,keyctl=0", true}, /* PVE: any other flag named */
	    {"lxc.idmap", "u 0 100000 65536", true},
	    {"lxc.apparmor.profile", "unconfined", true},
	    {"dev0", "/dev/ttyUSB0", true},
	    {"hookscript", "local:snippets/x.pl", true},
	    {"memory", "1024", false},
	    {"net0", "name=eth0,bridge=vmbr0", false},
	    /* deletes */
	    {"unprivileged", NULL, true},
	    {"features", NULL, true},
	    {"memory", NULL, false},
	    {"mp0", NULL, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		bool got = lxc()->needs_root(table[i].key, table[i].value);
		if (got != table[i].root)
			fail_msg("%s=%s: needs root %d, want %d", table[i].key, table[i].value, got,
			         table[i].root);
	}
}

static void test_disks(void **state)
{
	const struct guest_kind_ops *k = lxc();
	_cleanup_free_ char *f1 = k->disk_file("rootfs", "local:8,acl=1");
	assert_string_equal(f1, "local:8");
	_cleanup_free_ char *f2 = k->disk_file("mp1", "volume=local:4,mp=/x");
	assert_string_equal(f2, "local:4");
	assert_null(k->disk_file("mp1", "/srv/x,mp=/x"));
	assert_null(k->disk_file("net0", "name=eth0"));
	_cleanup_free_ char *v = k->disk_set_file("local:8,mp=/x,acl=1,size=1G",
	                                          "local:100/vm-100-disk-0.raw", 8ull << 30);
	assert_string_equal(v, "local:100/vm-100-disk-0.raw,acl=1,mp=/x,size=8G");
	_cleanup_free_ char *d1 = k->detached_volume("mp0", "local:100/vm-100-disk-1.raw,mp=/x");
	assert_string_equal(d1, "local:100/vm-100-disk-1.raw");
	assert_null(k->detached_volume("mp0", "/srv/x,mp=/x"));
	_cleanup_free_ char *d2 = k->detached_volume("unused3", "local:100/vm-100-disk-2.raw");
	assert_string_equal(d2, "local:100/vm-100-disk-2.raw");
}

/* ---- with a store ---- */

struct env {
	char dir[64];
	struct ctvm_paths *paths;
	struct guest_store *gs;
};

static void put(struct env *v, const char *confdir, long vmid, const char *text)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", v->paths->etc, confdir);
	assert_int_equal(mkdir_p(dir, 0755), 0);
	_cleanup_free_ char *p = xasprintf("%s/%ld.conf", dir, vmid);
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0640, NULL), 0);
}

static char *get(struct env *v, const char *confdir, long vmid)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/%ld.conf", v->paths->etc, confdir, vmid);
	char *data = NULL;
	size_t len;
	assert_int_equal(read_file(p, 1 << 20, &data, &len, NULL), 0);
	return data;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	return remove(path);
}

static int setup(void **state)
{
	struct env *v = xcalloc(1, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "/tmp/test-lxc-kind.XXXXXX");
	assert_non_null(mkdtemp(v->dir));
	v->paths = ctvm_paths_new(v->dir);
	assert_int_equal(ctvm_paths_create(v->paths), 0);
	v->gs = guest_store_new(v->paths, "testnode", NULL);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;
	guest_store_free(v->gs);
	nftw(v->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ctvm_paths_free(v->paths);
	free(v);
	return 0;
}

static const char ct100[] = "arch: amd64\n"
                            "cores: 2\n"
                            "hostname: web1\n"
                            "memory: 1024\n"
                            "rootfs: local:100/vm-100-disk-0.raw,size=8G\n"
                            "swap: 256\n"
                            "unprivileged: 1\n"
                            "lxc.apparmor.profile: unconfined\n"
                            "lxc.idmap: u 0 100000 65536\n";

static void test_namespace(void **state)
{
	struct env *v = *state;
	put(v, "qemu-server", 100, "memory: 512\n");
	put(v, "lxc", 101, ct100);
	put(v, "lxc", 102, "arch: amd64\n");
	struct error *e = NULL;
	assert_int_equal(guest_vmid_unused(v->gs, 101, &e), -EEXIST);
	assert_string_equal(e->msg, "CT 101 already exists on node 'testnode'");
	e = error_free(e);
	assert_int_equal(guest_vmid_unused(v->gs, 100, &e), -EEXIST);
	assert_string_equal(e->msg, "VM 100 already exists on node 'testnode'");
	e = error_free(e);
	/* a VM cannot take a container's id */
	assert_int_equal(guest_create_reserve(v->gs, guest_kind_find("qemu"), 101, &e), -EEXIST);
	e = error_free(e);
	long next = 0;
	assert_int_equal(guest_next_id(v->gs, &next, NULL), 0);
	assert_int_equal(next, 103);
	_cleanup_free_ struct guest_id *ids = NULL;
	size_t n = 0;
	assert_int_equal(guest_list(v->gs, NULL, &ids, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(ids[0].kind, guest_kind_find("qemu"));
	assert_ptr_equal(ids[1].kind, lxc());
	free(ids);
	ids = NULL;
	assert_int_equal(guest_list(v->gs, lxc(), &ids, &n, NULL), 0);
	assert_int_equal(n, 2);
	const struct guest_kind_ops *found = NULL;
	assert_int_equal(guest_find(v->gs, NULL, 102, &found, NULL), 0);
	assert_ptr_equal(found, lxc());
	assert_int_equal(guest_find(v->gs, lxc(), 100, NULL, &e), -ENOENT);
	assert_string_equal(e->msg,
	                    "Configuration file 'nodes/testnode/lxc/100.conf' does not exist");
	error_free(e);

	/* the list figures */
	struct guest g = {0};
	assert_int_equal(guest_get(v->gs, lxc(), 101, &g, NULL), 0);
	_cleanup_json_ json_t *s = NULL;
	assert_int_equal(guest_summary(v->gs, &g, &s, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "cpus")), 2);
	assert_int_equal(json_integer_value(json_object_get(s, "maxmem")), 1024ll << 20);
	assert_int_equal(json_integer_value(json_object_get(s, "maxswap")), 256ll << 20);
	assert_int_equal(json_integer_value(json_object_get(s, "maxdisk")), 8ll << 30);
	assert_string_equal(json_string_value(json_object_get(s, "name")), "web1");
	assert_string_equal(json_string_value(json_object_get(s, "status")), "stopped");
	assert_string_equal(json_string_value(json_object_get(s, "type")), "lxc");
	guest_release(&g);
	assert_int_equal(guest_get(v->gs, lxc(), 102, &g, NULL), 0);
	json_decref(s);
	assert_int_equal(guest_summary(v->gs, &g, &s, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(s, "name")), "CT102");
	assert_int_equal(json_integer_value(json_object_get(s, "maxmem")), 512ll << 20);
	guest_release(&g);
}

static void test_config_update(void **state)
{
	struct env *v = *state;
	put(v, "lxc", 100, ct100);
	/* GET config: typed, the raw keys as pairs, a digest */
	_cleanup_json_ json_t *conf = NULL;
	assert_int_equal(guest_config_read(v->gs, lxc(), 100, false, NULL, &conf, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(conf, "memory")), 1024);
	assert_int_equal(json_integer_value(json_object_get(conf, "unprivileged")), 1);
	_cleanup_free_ char *raw = json_dumps(json_object_get(conf, "lxc"), JSON_COMPACT);
	assert_string_equal(raw, "[[\"lxc.apparmor.profile\",\"unconfined\"],[\"lxc.idmap\",\"u 0 "
	                         "100000 65536\"]]");
	const char *digest = json_string_value(json_object_get(conf, "digest"));
	assert_non_null(digest);

	/* a stale digest is refused */
	_cleanup_json_ json_t *set = json_pack("{s:s}", "memory", "2048");
	struct guest_config_change c = {.set = set, .digest = "0123"};
	struct error *e = NULL;
	assert_int_equal(guest_config_update(v->gs, lxc(), 100, &c, &e), -ESTALE);
	assert_int_equal(e->http_status, 400);
	e = error_free(e);

	/* stopped: straight into the config, raw keys kept in their order */
	_cleanup_free_ char *net = NULL;
	assert_int_equal(
	    guest_config_check_value(lxc(), "net0", "name=eth0,bridge=vmbr0,ip=dhcp", &net, NULL),
	    0);
	json_object_set_new(set, "net0", json_string(net));
	c = (struct guest_config_change){.set = set, .delete = "swap", .digest = digest};
	if (guest_config_update(v->gs, lxc(), 100, &c, &e) < 0)
		fail_msg("update: %s", e->msg);
	_cleanup_free_ char *text = get(v, "lxc", 100);
	_cleanup_free_ char *want = xasprintf("arch: amd64\n"
	                                      "cores: 2\n"
	                                      "hostname: web1\n"
	                                      "memory: 2048\n"
	                                      "net0: %s\n"
	                                      "rootfs: local:100/vm-100-disk-0.raw,size=8G\n"
	                                      "unprivileged: 1\n"
	                                      "lxc.apparmor.profile: unconfined\n"
	                                      "lxc.idmap: u 0 100000 65536\n",
	                                      net);
	assert_string_equal(text, want);
	_cleanup_json_ json_t *pending = NULL;
	assert_int_equal(guest_config_pending(v->gs, lxc(), 100, &pending, NULL), 0);
	for (size_t i = 0; i < json_array_size(pending); i++) {
		const char *key =
		    json_string_value(json_object_get(json_array_get(pending, i), "key"));
		assert_string_not_equal(key, "lxc");
		assert_null(json_object_get(json_array_get(pending, i), "pending"));
	}

	/* PVE's update_pct_config rules, root's changes included */
	static const struct {
		const char *set_key, *set_value, *del, *msg;
	} refused[] = {
	    {"unprivileged", "0", NULL, "unable to modify read-only option: 'unprivileged'"},
	    {NULL, NULL, "unprivileged", "unable to delete read-only option: 'unprivileged'"},
	    {NULL, NULL, "memory", "unable to delete required option 'memory'"},
	    {NULL, NULL, "rootfs", "unable to delete required option 'rootfs'"},
	    {NULL, NULL, "ostype", "unable to delete required option 'ostype'"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		json_t *s1 = refused[i].set_key
		                 ? json_pack("{s:s}", refused[i].set_key, refused[i].set_value)
		                 : json_object();
		c = (struct guest_config_change){.set = s1, .delete = refused[i].del};
		assert_true(guest_config_update(v->gs, lxc(), 100, &c, &e) < 0);
		assert_string_equal(e->msg, refused[i].msg);
		e = error_free(e);
		json_decref(s1);
	}
	put(v, "lxc", 100,
	    "memory: 512\nmp0: local:100/vm-100-disk-1.raw,mp=/x\nprotection: 1\n"
	    "unused0: local:100/vm-100-disk-2.raw\n");
	json_t *s3 = json_pack("{s:s}", "mp1", "local:1,mp=/y");
	c = (struct guest_config_change){.set = s3};
	assert_true(guest_config_update(v->gs, lxc(), 100, &c, &e) < 0);
	assert_string_equal(e->msg, "can't update CT 100 drive 'mp1' - protection mode enabled");
	e = error_free(e);
	json_decref(s3);
	c = (struct guest_config_change){.delete = "unused0"};
	assert_true(guest_config_update(v->gs, lxc(), 100, &c, &e) < 0);
	assert_string_equal(e->msg,
	                    "can't remove CT 100 drive 'unused0' - protection mode enabled");
	e = error_free(e);
	c = (struct guest_config_change){.delete = "protection"};
	assert_int_equal(guest_config_update(v->gs, lxc(), 100, &c, NULL), 0);

	/* a locked container refuses the change with the CT's words */
	put(v, "lxc", 100, "lock: backup\nmemory: 512\n");
	json_t *set2 = json_pack("{s:s}", "memory", "1024");
	c = (struct guest_config_change){.set = set2};
	assert_int_equal(guest_config_update(v->gs, lxc(), 100, &c, &e), -EBUSY);
	assert_string_equal(e->msg, "CT is locked (backup)");
	error_free(e);
	json_decref(set2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_key_priv),
	    cmocka_unit_test(test_needs_root),
	    cmocka_unit_test(test_disks),
	    cmocka_unit_test_setup_teardown(test_namespace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_update, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
