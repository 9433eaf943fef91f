/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The container config's rules beyond the conformance data: the API's
 * check of one value (PVE's 400 reasons), the file's rules (raw keys in
 * order, [pve:pending], values kept with a warning), and the typed views
 * the other container code reads (NICs, mount points, features).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf.h"
#include "strbuf.h"
#include "strutil.h"
#include "strv.h"
#include "xalloc.h"

struct value_case {
	const char *key, *value;
	const char *want; /* the stored value, or NULL: refused */
	const char *reason;
};

static const struct value_case value_cases[] = {
    {"memory", "1024", "1024", NULL},
    {"memory", "8", NULL, "value must have a minimum value of 16"},
    {"memory", "x", NULL, "type check ('integer') failed - got 'x'"},
    {"swap", "0", "0", NULL},
    {"cores", "0", NULL, "value must have a minimum value of 1"},
    {"cores", "8193", NULL, "value must have a maximum value of 8192"},
    {"cpulimit", "1.5", "1.5", NULL},
    {"cpuunits", "500001", NULL, "value must have a maximum value of 500000"},
    {"tty", "7", NULL, "value must have a maximum value of 6"},
    {"onboot", "yes", "1", NULL},
    {"onboot", "maybe", NULL, "type check ('boolean') failed - got 'maybe'"},
    {"arch", "amd64", "amd64", NULL},
    {"arch", "sparc", NULL,
     "value 'sparc' does not have a value in the enumeration 'amd64, i386, "
     "arm64, armhf, riscv32, riscv64'"},
    {"ostype", "debian", "debian", NULL},
    {"cmode", "shell", "shell", NULL},
    {"hostname", "ct1.example.com", "ct1.example.com", NULL},
    {"hostname", "-bad", NULL, "value does not look like a valid DNS name"},
    {"hostname", "a_b", NULL, "value does not look like a valid DNS name"},
    {"nameserver", "1.1.1.1,2001:db8::1", "1.1.1.1 2001:db8::1", NULL},
    {"nameserver", "fe80::1%eth0", "fe80::1%eth0", NULL},
    {"nameserver", "1.1.1", NULL, "value does not look like a valid IP address"},
    {"nameserver", ", ;", NULL, "value does not look like a valid IP address"},
    {"searchdomain", ",", NULL, "value does not look like a valid DNS name"},
    {"searchdomain", "a.example;b.example", "a.example b.example", NULL},
    {"searchdomain", "a..b", NULL, "value does not look like a valid DNS name"},
    {"timezone", "Europe/Vienna", "Europe/Vienna", NULL},
    {"timezone", "host", "host", NULL},
    {"timezone", "../etc/passwd", NULL, "invalid time zone '../etc/passwd'"},
    {"tags", "web;prod", "web;prod", NULL},
    {"tags", "a$b", NULL, "invalid tag 'a$b'"},
    {"startup", "order=1,up=30", "order=1,up=30", NULL},
    {"startup", "order=x", NULL, "invalid format - order=x"},
    {"lock", "backup", "backup", NULL},
    {"lock", "bogus", NULL,
     "value 'bogus' does not have a value in the enumeration 'backup, "
     "create, destroyed, disk, fstrim, migrate, mounted, rollback, "
     "snapshot, snapshot-delete'"},
    {"rootfs", "local:8", "local:8", NULL},
    {"rootfs", "local:100/vm-100-disk-0.raw,size=8G,acl=1",
     "local:100/vm-100-disk-0.raw,size=8G,acl=1", NULL},
    {"rootfs", "local:8,mountoptions=noatime;nodev", "local:8,mountoptions=noatime;nodev", NULL},
    {"rootfs", "local:8,mountoptions=exec", NULL,
     "invalid format - format error - mountoptions: value does not match the regex pattern"},
    {"rootfs", "local:8,size=big", NULL,
     "invalid format - format error - size: unable to parse size 'big'"},
    {"mp0", "local:4,mp=/data", "local:4,mp=/data", NULL},
    {"mp0", "/srv/data,mp=/data", "/srv/data,mp=/data", NULL},
    {"mp0", "local:4", NULL,
     "invalid format - format error - mp: property is missing and it is not optional"},
    {"mp0", "local:4,mp=/data/../etc", NULL,
     "invalid format - format error - mp: /data/../etc contains illegal character sequences"},
    {"mp0", "/srv/../etc,mp=/x", NULL,
     "invalid format - format error - volume: /srv/../etc contains illegal character sequences"},
    {"mp256", "local:4,mp=/x", NULL,
     "property is not defined in schema and the schema does not allow additional properties"},
    {"net0", "name=eth0,bridge=vmbr0,ip=dhcp,hwaddr=BC:24:11:00:00:01",
     "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth", NULL},
    {"net31",
     "name=eth0,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto,tag=5,firewall=1,hwaddr=BC:24:11:"
     "00:00:01",
     "name=eth0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.2/24,ip6=auto,tag=5,"
     "type=veth",
     NULL},
    {"net32", "name=eth0", NULL,
     "property is not defined in schema and the schema does not allow additional properties"},
    {"net0", "bridge=vmbr0", NULL,
     "invalid format - format error - name: property is missing and it is not optional"},
    {"net0", "name=eth0,ip=300.1.1.1/24", NULL,
     "invalid format - format error - ip: value does not look like a valid ipv4 network "
     "configuration"},
    {"net0", "name=eth0,ip6=fe80::1/129", NULL,
     "invalid format - format error - ip6: value does not look like a valid ipv6 network "
     "configuration"},
    {"net0", "name=eth0,gw=x", NULL,
     "invalid format - format error - gw: value does not look like a valid IPv4 address"},
    {"net0", "name=eth0,tag=4095", NULL,
     "invalid format - format error - tag: value must have a maximum value of 4094"},
    {"net0", "name=eth0,type=macvlan", NULL,
     "invalid format - format error - type: value 'macvlan' does not have a value in the "
     "enumeration 'veth'"},
    {"net0", "name=eth0,hwaddr=01:00:00:00:00:01", NULL,
     "invalid format - format error - hwaddr: value does not look like a valid unicast MAC "
     "address"},
    {"net0", "name=averyveryverylongname", NULL,
     "invalid format - name: value is too long (at most 15 characters)"},
    {"features", "nesting=1,keyctl=1", "nesting=1,keyctl=1", NULL},
    {"features", "mount=nfs;cifs", "mount=nfs;cifs", NULL},
    {"features", "bogus=1", NULL,
     "invalid format - invalid key in comma-separated list property: bogus"},
    {"dev0", "/dev/ttyUSB0,mode=0660", "/dev/ttyUSB0,mode=0660", NULL},
    {"dev0", "/etc/passwd", NULL,
     "invalid format - format error - path: /etc/passwd is not a valid device path"},
    {"hookscript", "local:snippets/hook.pl", "local:snippets/hook.pl", NULL},
    {"unused0", "local:100/vm-100-disk-1.raw", "local:100/vm-100-disk-1.raw", NULL},
    {"entrypoint", "/sbin/init --foo", "/sbin/init --foo", NULL},
    {"description", "line one\nline two", "line one\nline two", NULL},
    {"unprivileged", "1", "1", NULL},
    {"parent", "snap1", NULL,
     "property is not defined in schema and the schema does not allow additional properties"},
    {"lxc.idmap", "u 0 100000 65536", NULL,
     "property is not defined in schema and the schema does not allow additional properties"},
    {"args", "-foo", NULL,
     "property is not defined in schema and the schema does not allow additional properties"},
};

/* Through the kind (guest_config_check_value()), as the API checks. */
static void test_values(void **state)
{
	const struct guest_kind_ops *k = guest_kind_find("lxc");
	assert_non_null(k);
	for (size_t i = 0; i < ARRAY_SIZE(value_cases); i++) {
		const struct value_case *c = &value_cases[i];
		char *v = NULL;
		struct error *e = NULL;
		int r = guest_config_check_value(k, c->key, c->value, &v, &e);
		if (c->want) {
			if (r < 0)
				fail_msg("%s=%s: refused: %s %s", c->key, c->value, e->msg,
				         e->params ? json_dumps(e->params, 0) : "");
			if (!streq(v, c->want))
				fail_msg("%s=%s: stored '%s', want '%s'", c->key, c->value, v,
				         c->want);
			free(v);
			continue;
		}
		if (r >= 0)
			fail_msg("%s=%s: accepted as '%s', want '%s'", c->key, c->value, v,
			         c->reason);
		assert_int_equal(e->http_status, 400);
		const char *why = json_string_value(json_object_get(e->params, c->key));
		if (!why || !streq(why, c->reason))
			fail_msg("%s=%s: '%s', want '%s'", c->key, c->value, why ? why : e->msg,
			         c->reason);
		error_free(e);
	}
}

/* A NIC without a MAC gets one with Proxmox's prefix. */
static void test_net_mac(void **state)
{
	const struct guest_kind_ops *k = guest_kind_find("lxc");
	_cleanup_free_ char *v = NULL;
	assert_int_equal(guest_config_check_value(k, "net0", "name=eth0,bridge=vmbr0", &v, NULL),
	                 0);
	assert_true(str_startswith(v, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:"));
	assert_true(strstr(v, ",type=veth") != NULL);
	struct lxc_net n;
	assert_int_equal(lxc_conf_net_parse(0, v, &n, NULL), 0);
	assert_string_equal(n.name, "eth0");
	assert_string_equal(n.bridge, "vmbr0");
	assert_string_equal(n.type, "veth");
	assert_int_equal(strlen(n.hwaddr), 17);
}

static const char file_text[] = "#a CT\n"
                                "arch: amd64\n"
                                "hostname: ct1\n"
                                "memory: 512\n"
                                "onboot: 1\n"
                                "rootfs: local:100/vm-100-disk-0.raw,size=8G\n"
                                "unprivileged: 1\n"
                                "lxc.idmap: u 0 100000 65536\n"
                                "lxc.apparmor.profile: unconfined\n"
                                "lxc.idmap: g 0 100000 65536\n"
                                "lxc.mount.entry: \n"
                                "\n[pve:pending]\n"
                                "memory: 1024\n"
                                "\n[s1]\n"
                                "hostname: ct1\n"
                                "snaptime: 1\n"
                                "lxc.idmap: u 0 100000 65536\n";

static void test_file_rules(void **state)
{
	_cleanup_guest_conf_ struct guest_conf *c = NULL;
	char **warn = NULL;
	assert_int_equal(
	    lxc_conf_parse(file_text, strlen(file_text), 100, GUEST_CONF_STRICT, &c, &warn, NULL),
	    0);
	assert_null(warn);
	assert_string_equal(guest_conf_get(c->pending, "memory"), "1024");
	assert_string_equal(guest_conf_get(c->conf, "description"), "a CT");
	/* the raw keys in file order, an empty value kept */
	_cleanup_json_ json_t *raw = lxc_conf_raw_keys(c);
	_cleanup_free_ char *dump = json_dumps(raw, JSON_COMPACT);
	assert_string_equal(dump,
	                    "[[\"lxc.idmap\",\"u 0 100000 65536\"],[\"lxc.apparmor.profile\","
	                    "\"unconfined\"],[\"lxc.idmap\",\"g 0 100000 65536\"],[\"lxc.mount."
	                    "entry\",\"\"]]");
	assert_true(lxc_conf_unprivileged(c->conf));
	/* written back to itself: [pve:pending], the raw keys after the sorted ones */
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(lxc_conf_write(c, &sb, NULL), 0);
	assert_string_equal(sb.buf, "#a CT\n"
	                            "arch: amd64\n"
	                            "hostname: ct1\n"
	                            "memory: 512\n"
	                            "onboot: 1\n"
	                            "rootfs: local:100/vm-100-disk-0.raw,size=8G\n"
	                            "unprivileged: 1\n"
	                            "lxc.idmap: u 0 100000 65536\n"
	                            "lxc.apparmor.profile: unconfined\n"
	                            "lxc.idmap: g 0 100000 65536\n"
	                            "lxc.mount.entry: \n"
	                            "\n[pve:pending]\n"
	                            "memory: 1024\n"
	                            "\n[s1]\n"
	                            "hostname: ct1\n"
	                            "snaptime: 1\n"
	                            "lxc.idmap: u 0 100000 65536\n");
	strbuf_release(&sb);
	/* a snapshot's copy of the main section takes its raw keys along */
	struct guest_snapshot_opts o = {.snaptime = 5};
	assert_int_equal(guest_conf_snapshot_prepare(&lxc_snapshot_rules, c, "s2", &o, NULL), 0);
	json_t *s2 = json_object_get(c->snapshots, "s2");
	assert_int_equal(json_array_size(json_object_get(s2, GUEST_CONF_RAW_KEY)), 4);
	/* "[PENDING]" reads as the pending section too */
	static const char old[] = "memory: 512\n[PENDING]\nmemory: 256\n";
	_cleanup_guest_conf_ struct guest_conf *c2 = NULL;
	assert_int_equal(lxc_conf_parse(old, strlen(old), 100, GUEST_CONF_STRICT, &c2, NULL, NULL),
	                 0);
	assert_string_equal(guest_conf_get(c2->pending, "memory"), "256");
}

/* What PVE's parser warns about: kept (a bad value, an unknown key), or
 * dropped (a refused or unknown lxc.* key, a line that is no key). */
static void test_file_problems(void **state)
{
	static const char text[] = "memory: lots\n"
	                           "vmstate: x\n"
	                           "lxc.rootfs.path: /somewhere\n"
	                           "lxc.bogus: 1\n"
	                           "lxc.cgroup.memory.limit_in_bytes = 1\n"
	                           "lxc: x\n"
	                           "what is this\n"
	                           "delete: memory\n"
	                           "args: -no\n";
	_cleanup_guest_conf_ struct guest_conf *c = NULL;
	_cleanup_strv_free_ char **warn = NULL;
	assert_int_equal(lxc_conf_parse(text, strlen(text), 100, 0, &c, &warn, NULL), 0);
	static const char *const want[] = {
	    "vm 100 - unable to parse value of 'memory' - type check ('integer') failed - got "
	    "'lots'",
	    "vm 100 - unable to parse value of 'vmstate' - unknown setting 'vmstate'",
	    "vm 100 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs",
	    "vm 100 - unable to parse config: lxc.bogus: 1",
	    "vm 100 - lxc.cgroup.memory.limit_in_bytes is deprecated, this will be a hard error in "
	    "the future!",
	    "vm 100 - unable to parse value of 'lxc' - unknown setting 'lxc'",
	    "vm 100 - unable to parse config: what is this",
	    "vm 100 - property 'delete' is only allowed in [PENDING]",
	    "vm 100 - unable to parse value of 'args' - unknown setting 'args'",
	};
	assert_int_equal(strv_length(warn), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(warn[i], want[i]);
	assert_string_equal(guest_conf_get(c->conf, "memory"), "lots");
	assert_string_equal(guest_conf_get(c->conf, "vmstate"), "x");
	assert_string_equal(guest_conf_get(c->conf, "args"), "-no");
	_cleanup_json_ json_t *raw = lxc_conf_raw_keys(c);
	assert_int_equal(json_array_size(raw), 1);
	assert_string_equal(json_string_value(json_array_get(json_array_get(raw, 0), 0)),
	                    "lxc.cgroup.memory.limit_in_bytes");
	/* strict: the first problem fails the parse with its message */
	struct guest_conf *s = NULL;
	struct error *e = NULL;
	assert_int_equal(lxc_conf_parse(text, strlen(text), 100, GUEST_CONF_STRICT, &s, NULL, &e),
	                 -EINVAL);
	assert_string_equal(e->msg, want[0]);
	error_free(e);
}

static void test_mounts(void **state)
{
	struct lxc_mount m;
	assert_int_equal(lxc_conf_mount_parse("rootfs",
	                                      "local:100/vm-100-disk-0.raw,size=8G,ro=1,acl=0,"
	                                      "mountoptions=noatime",
	                                      &m, NULL),
	                 0);
	assert_string_equal(m.key, "rootfs");
	assert_string_equal(m.volume, "local:100/vm-100-disk-0.raw");
	assert_string_equal(m.mp, "/");
	assert_true(m.size == 8ull << 30);
	assert_true(m.ro && m.acl_set && !m.acl && m.replicate && !m.backup);
	assert_string_equal(m.mountoptions, "noatime");
	assert_int_equal(lxc_mount_classify(m.volume), LXC_MOUNT_VOLUME);
	lxc_mount_done(&m);
	assert_int_equal(lxc_conf_mount_parse("mp3", "volume=/srv/x,mp=/x,backup=1", &m, NULL), 0);
	assert_string_equal(m.volume, "/srv/x");
	assert_string_equal(m.mp, "/x");
	assert_true(m.backup && !m.acl_set && !m.mountoptions);
	assert_int_equal(lxc_mount_classify(m.volume), LXC_MOUNT_BIND);
	lxc_mount_done(&m);
	assert_int_equal(lxc_mount_classify("/dev/sdb1"), LXC_MOUNT_DEVICE);
	struct error *e = NULL;
	assert_int_equal(lxc_conf_mount_parse("net0", "local:1", &m, &e), -EINVAL);
	error_free(e);

	struct lxc_features f;
	assert_int_equal(lxc_conf_features_parse("nesting=1,fuse=on,mount=nfs;cifs", &f, NULL), 0);
	assert_true(f.nesting && f.fuse && !f.keyctl && !f.force_rw_sys);
	assert_string_equal(f.mount, "nfs;cifs");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),     cmocka_unit_test(test_net_mac),
	    cmocka_unit_test(test_file_rules), cmocka_unit_test(test_file_problems),
	    cmocka_unit_test(test_mounts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
