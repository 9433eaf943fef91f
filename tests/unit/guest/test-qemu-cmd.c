/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu_cmd_build(): one golden case per feature
 * (tests/data/golden/qemu-cmd/<case>.conf -> <case>.argv, in qm showcmd
 * --pretty's layout; regenerate with TEST_REGENERATE_OUTPUT=1), and the
 * refusals with their messages.  Runs without root: volumes resolve
 * through a table, bridges through a list.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "guest-conf.h"
#include "jsonutil.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* storage id -> type, base path (or volume group) */
static const struct {
	const char *id, *type, *base;
} storages[] = {
    {"local", "dir", "/var/lib/vz"},
    {"nfs", "nfs", "/mnt/pve/nfs"},
    {"btrfs", "btrfs", "/srv/btrfs"},
    {"lvm", "lvm", "vg0"},
};

static int resolve(const char *volid, void *userdata, struct qemu_volume *ret, struct error **err)
{
	const char *colon = strchr(volid, ':');
	for (size_t i = 0; colon && i < ARRAY_SIZE(storages); i++) {
		if (strlen(storages[i].id) != (size_t)(colon - volid) ||
		    strncmp(volid, storages[i].id, (size_t)(colon - volid)) != 0)
			continue;
		const char *name = colon + 1, *dot = strrchr(name, '.');
		*ret = (struct qemu_volume){.storage_type = storages[i].type};
		if (dot && streq(dot, ".qcow2"))
			ret->format = xstrdup("qcow2");
		if (str_startswith(name, "iso/"))
			ret->path = xasprintf("%s/template/%s", storages[i].base, name);
		else if (streq(storages[i].type, "lvm")) {
			ret->path = xasprintf("/dev/%s/%s", storages[i].base, name);
			ret->block = true;
		} else if (streq(storages[i].type, "btrfs")) {
			ret->path = xasprintf("%s/images/%.*s/disk.raw", storages[i].base,
			                      (int)(dot - name), name);
		} else {
			ret->path = xasprintf("%s/images/%s", storages[i].base, name);
		}
		return 0;
	}
	return error_set(err, -ENOENT, 400, "no such volume '%s'", volid);
}

static int bridge_mtu(const char *bridge, void *userdata)
{
	if (streq(bridge, "vmbr0"))
		return 1500;
	if (streq(bridge, "vmbr1"))
		return 9000;
	return -ENOENT;
}

static const struct qemu_cmd_env base_env = {
    .vmid = 100,
    .rundir = "/run/ctvm/qemu/100",
    .kvm_available = true,
    .swtpm_available = true,
    .vhost_net = true,
    .resolve = resolve,
    .bridge_mtu = bridge_mtu,
};

static struct guest_conf *conf_of(const char *text)
{
	struct guest_conf *c = NULL;
	struct error *e = NULL;
	if (qemu_conf_parse(text, strlen(text), 100, GUEST_CONF_STRICT, &c, NULL, &e) < 0) {
		print_error("%s\n", e->msg);
		abort();
	}
	return c;
}

/* qm showcmd --pretty: a line per option */
static char *pretty(char **argv)
{
	struct strbuf sb = STRBUF_INIT;
	for (char **a = argv; *a; a++) {
		char *one[] = {*a, NULL};
		_cleanup_free_ char *q = qemu_cmd_to_string(one);
		if (a != argv)
			strbuf_addstr(&sb, (*a)[0] == '-' ? " \\\n  " : " ");
		strbuf_addstr(&sb, q);
	}
	strbuf_addch(&sb, '\n');
	return strbuf_detach(&sb, NULL);
}

static void test_golden(void **state)
{
	static const char *const cases[] = {
	    "minimal",
	    "basic",
	    "kvm",
	    "cdrom-iso",
	    "buses",
	    "scsi-single",
	    "scsi-lsi-many",
	    "storages",
	    "nets",
	    "serial-console",
	    "vga-none",
	    "vga-virtio",
	    "vga-std-memory",
	    "agent",
	    "agent-isa",
	    "efidisk",
	    "tpm",
	    "cpu-host",
	    "cpu-v2-aes",
	    "cpu-kvm-flags",
	    "rng",
	    "args",
	    "clock",
	    "startdate",
	    "smp",
	    "no-balloon-no-tablet",
	    "boot-legacy",
	    "throttle",
	    "machine",
	};
	const char *data = getenv("CTVM_TEST_DATA");
	assert_non_null(data);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *path = xasprintf("%s/golden/qemu-cmd/%s.conf", data, cases[i]);
		_cleanup_free_ char *text = NULL;
		size_t len;
		assert_int_equal(read_file(path, 1 << 20, &text, &len, NULL), 0);
		_cleanup_guest_conf_ struct guest_conf *c = conf_of(text);
		_cleanup_strv_free_ char **argv = NULL;
		struct error *e = NULL;
		if (qemu_cmd_build(&base_env, c, &argv, &e) < 0)
			fail_msg("%s: %s %s", cases[i], e->msg,
			         e->params ? json_string_value(json_object_iter_value(
			                         json_object_iter(e->params)))
			                   : "");
		_cleanup_free_ char *out = pretty(argv);
		_cleanup_free_ char *golden = xasprintf("qemu-cmd/%s.argv", cases[i]);
		golden_check_text(golden, out);
	}
}

/* The build fails with this message (or this parameter reason). */
static void assert_refused(const struct qemu_cmd_env *env, const char *text, const char *key,
                           const char *msg)
{
	_cleanup_guest_conf_ struct guest_conf *c = conf_of(text);
	char **argv = NULL;
	struct error *e = NULL;
	if (qemu_cmd_build(env, c, &argv, &e) == 0) {
		strv_free(argv);
		fail_msg("built: %s", text);
	}
	assert_int_equal(e->http_status, 400);
	const char *got = key ? json_string_value(json_object_get(e->params, key)) : e->msg;
	if (!got || !streq(got, msg))
		fail_msg("%s: got '%s', expected '%s'", text, got ? got : e->msg, msg);
	error_free(e);
}

static void test_refusals(void **state)
{
	struct qemu_cmd_env env = base_env;
	assert_refused(&env, "kvm: 0\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr9\n", NULL,
	               "bridge 'vmbr9' does not exist");
	assert_refused(&env, "kvm: 0\nide3: local:iso/x.iso\n", NULL,
	               "ide3: explicit media parameter is required for iso images");
	assert_refused(&env, "kvm: 0\nscsi0: other:vm-100-disk-0\n", NULL,
	               "no such volume 'other:vm-100-disk-0'");
	assert_refused(&env, "kvm: 0\nnet0: virtio,bridge=vmbr0\n", "net0",
	               "no MAC address (macaddr)");
	assert_refused(&env, "kvm: 0\nbios: ovmf\n", "efidisk0",
	               "bios 'ovmf' needs an EFI disk (efidisk0) with ctvm");
	assert_refused(&env, "kvm: 0\nmachine: q35\n", "machine",
	               "machine type 'q35' is not supported by ctvm yet");
	assert_refused(&env, "kvm: 0\nhostpci0: 00:1f.0\n", "hostpci0",
	               "not supported by ctvm yet");
	assert_refused(&env, "kvm: 0\nusb0: host=1-2\n", "usb0", "not supported by ctvm yet");
	assert_refused(&env, "kvm: 0\nnuma: 1\n", "numa", "not supported by ctvm yet");
	assert_refused(&env, "kvm: 0\nvga: qxl\n", "vga",
	               "display type 'qxl' is not supported by ctvm yet");
	assert_refused(&env, "kvm: 0\ncores: 2\nvcpus: 3\n", "vcpus",
	               "the number of vcpus (3) exceeds the maximum (2)");
	assert_refused(&env, "kvm: 0\nargs: -smbios 'type=0\n", "args", "unbalanced quotes");
	env.swtpm_available = false;
	assert_refused(&env, "kvm: 0\ntpmstate0: local:100/vm-100-disk-1.raw\n", "tpmstate0",
	               "a TPM needs swtpm, which is not installed (Debian package swtpm)");
	env.kvm_available = false;
	assert_refused(&env, "name: x\n", NULL,
	               "KVM virtualisation configured, but not available. Either disable in VM "
	               "configuration or enable in BIOS.");
}

static void test_helpers(void **state)
{
	char tap[16];
	qemu_cmd_tap_name(999999999, 31, tap);
	assert_string_equal(tap, "tap999999999i31");
	qemu_cmd_tap_name(100, 0, tap);
	assert_string_equal(tap, "tap100i0");

	char *argv[] = {"/usr/bin/qemu", "-name", "a b", "-cpu", "kvm64,+sep", "-x",
	                "it's",          "",      "k=v", NULL};
	_cleanup_free_ char *s = qemu_cmd_to_string(argv);
	assert_string_equal(s, "/usr/bin/qemu -name 'a b' -cpu kvm64,+sep -x 'it'\\''s' '' 'k=v'");
}

/* The argv is a fresh vector each time and names nothing outside rundir but
 * volumes, firmware and the binary: no shell, no script. */
/* vhost-net only under KVM and when the host has it (PVE checks the device) */
static void test_vhost(void **state)
{
	static const char text[] = "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n";
	struct qemu_cmd_env env = base_env;
	for (int i = 0; i < 3; i++) {
		_cleanup_guest_conf_ struct guest_conf *c = conf_of(text);
		if (i == 1)
			guest_conf_set(c->conf, "kvm", "0");
		if (i == 2)
			env.vhost_net = false;
		_cleanup_strv_free_ char **argv = NULL;
		assert_int_equal(qemu_cmd_build(&env, c, &argv, NULL), 0);
		bool vhost = false;
		for (char **a = argv; *a; a++)
			vhost = vhost || strstr(*a, "vhost=on");
		assert_int_equal(vhost, i == 0);
	}
}

static void test_no_scripts(void **state)
{
	_cleanup_guest_conf_ struct guest_conf *c =
	    conf_of("kvm: 0\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n");
	_cleanup_strv_free_ char **argv = NULL;
	assert_int_equal(qemu_cmd_build(&base_env, c, &argv, NULL), 0);
	for (char **a = argv; *a; a++) {
		assert_null(strstr(*a, "script=/"));
		assert_null(strstr(*a, "/var/run/qemu-server"));
	}
}

/* Values the builder puts inside an option list cannot add options, even
 * when the config was built in memory without the table's checks. */
static void test_option_injection(void **state)
{
	_cleanup_guest_conf_ struct guest_conf *c =
	    conf_of("kvm: 0\nnet0: e1000=BC:24:11:00:00:01\n");
	guest_conf_set(c->conf, "name", "x,smb=/");
	guest_conf_set(c->conf, "serial0", "/dev/ttyS0,logfile=/etc/x");
	guest_conf_set(c->conf, "startdate", "now,clock=vm");
	_cleanup_strv_free_ char **argv = NULL;
	assert_int_equal(qemu_cmd_build(&base_env, c, &argv, NULL), 0);
	int seen = 0;
	for (char **a = argv; *a; a++) {
		seen += streq(*a, "type=user,id=net0,hostname=x,,smb=/");
		seen += streq(*a, "x,,smb=/");
		seen += streq(*a, "serial,id=serial0,path=/dev/ttyS0,,logfile=/etc/x");
		seen += streq(*a, "base=now,,clock=vm");
	}
	assert_int_equal(seen, 4);
}

/* qemu_cmd_drive_args(): a drive's part of the whole command line, the
 * same words in the same order (what hot-plugging it sends to QEMU). */
static void test_drive_args(void **state)
{
	static const struct {
		const char *text, *key;
		size_t n; /* words */
	} cases[] = {
	    {"scsihw: virtio-scsi-single\nscsi0: local:100/vm-100-disk-0.raw\n"
	     "scsi1: local:100/vm-100-disk-1.qcow2,iothread=1,serial=abc\n",
	     "scsi1", 10},
	    {"scsihw: virtio-scsi-pci\nscsi3: local:100/vm-100-disk-1.raw\n", "scsi3", 8},
	    {"virtio2: lvm:vm-100-disk-2,iothread=1,cache=writeback\nboot: order=virtio2\n",
	     "virtio2", 8},
	    {"ide2: none,media=cdrom\n", "ide2", 2},
	    {"ide2: local:iso/a.iso,media=cdrom\n", "ide2", 6},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_guest_conf_ struct guest_conf *c = conf_of(cases[i].text);
		_cleanup_strv_free_ char **argv = NULL, **args = NULL;
		assert_int_equal(qemu_cmd_build(&base_env, c, &argv, NULL), 0);
		assert_int_equal(qemu_cmd_drive_args(&base_env, c->conf, cases[i].key, &args, NULL),
		                 0);
		size_t n = 0, at = 0;
		for (; args[n]; n++) {
			while (argv[at] && !streq(argv[at], args[n]))
				at++;
			if (!argv[at])
				fail_msg("case %zu: '%s' not in the command line (in order)", i,
				         args[n]);
		}
		if (n != cases[i].n)
			fail_msg("case %zu: %zu words, want %zu", i, n, cases[i].n);
		assert_true(strstr(args[n - 1], "id=") != NULL);
	}
	_cleanup_guest_conf_ struct guest_conf *c = conf_of("efidisk0: local:100/e.raw\n");
	_cleanup_strv_free_ char **args = NULL;
	assert_int_equal(qemu_cmd_drive_args(&base_env, c->conf, "scsi0", &args, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden),           cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_helpers),          cmocka_unit_test(test_no_scripts),
	    cmocka_unit_test(test_option_injection), cmocka_unit_test(test_vhost),
	    cmocka_unit_test(test_drive_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
