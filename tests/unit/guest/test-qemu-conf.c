/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The guest config parser's edge cases, the qemu property table's checks,
 * drives, network devices, MAC addresses and the API's typed view
 * (guest-conf.h, qemu-conf.h).  PVE's whole files are in
 * test-guest-conf-conformance.
 */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "jsonutil.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

static struct guest_conf *parse(const char *text, unsigned flags, char ***warnings,
                                struct error **err)
{
	struct guest_conf *c = NULL;
	if (qemu_conf_parse(text, strlen(text), 100, flags, &c, warnings, err) < 0)
		return NULL;
	return c;
}

/* A parse that must work. */
static struct guest_conf *must_parse(const char *text, unsigned flags)
{
	struct error *e = NULL;
	struct guest_conf *c = parse(text, flags, NULL, &e);
	if (!c) {
		print_error("%s\n", e->msg);
		abort();
	}
	return c;
}

static char *write_conf(const struct guest_conf *c)
{
	struct strbuf sb = STRBUF_INIT;
	struct error *e = NULL;
	if (guest_conf_write(c, &sb, &e) < 0)
		fail_msg("write: %s", e->msg);
	return strbuf_detach(&sb, NULL);
}

static void assert_rewrites(const char *in, const char *want)
{
	_cleanup_guest_conf_ struct guest_conf *c = must_parse(in, 0);
	_cleanup_free_ char *out = write_conf(c);
	assert_string_equal(out, want);
}

static void assert_strict_error(const char *in, const char *msg)
{
	struct error *e = NULL;
	assert_null(parse(in, GUEST_CONF_STRICT, NULL, &e));
	assert_non_null(e);
	assert_string_equal(e->msg, msg);
	error_free(e);
	/* lenient: the same problem is the first warning, and the parse goes on */
	_cleanup_strv_free_ char **w = NULL;
	struct guest_conf *c = parse(in, 0, &w, NULL);
	assert_non_null(c);
	guest_conf_free(c);
	assert_non_null(w);
	assert_string_equal(w[0], msg);
}

static void test_normalises_values(void **state)
{
	assert_rewrites("numa: on\ncores: 004\nname: \"web\"\nsockets:1\n",
	                "cores: 4\nname: web\nnuma: 1\nsockets: 1\n");
	/* a drive: file first, options sorted, size in PVE's units, booleans 1/0 */
	assert_rewrites("scsi0: local:100/vm-100-disk-0.qcow2,size=4096M,ssd=on,discard=on\n",
	                "scsi0: local:100/vm-100-disk-0.qcow2,discard=on,size=4G,ssd=1\n");
	/* other property strings stay as written (PVE does not rewrite them) */
	assert_rewrites(
	    "agent: enabled=1,freeze-fs-on-backup=0\nnet0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n",
	    "agent: enabled=1,freeze-fs-on-backup=0\nnet0: "
	    "virtio=BC:24:11:00:00:01,bridge=vmbr0\n");
	/* args is kept verbatim */
	assert_rewrites("args: -no-reboot  -smbios \"type=0\"\n",
	                "args: -no-reboot  -smbios \"type=0\"\n");
}

static void test_description(void **state)
{
	assert_rewrites("# TEST: a%20b\n#\n# 50%\ncores: 1\n",
	                "# TEST%3A a b\n#\n# 50%25\ncores: 1\n");
	_cleanup_guest_conf_ struct guest_conf *c = must_parse("#a%3Ab\n#%E2%82%AC\n#\n", 0);
	assert_string_equal(guest_conf_get(c->conf, "description"), "a:b\n\xe2\x82\xac");
	/* Perl's truth: an empty or "0" description is not written */
	guest_conf_set(c->conf, "description", "0");
	_cleanup_free_ char *out = write_conf(c);
	assert_string_equal(out, "");

	_cleanup_free_ char *enc = guest_conf_encode_text("a:b%c\n\x7f\xc3\xa9 ~");
	assert_string_equal(enc, "a%3Ab%25c%0A%7F%C3%A9 ~");
	_cleanup_free_ char *dec = guest_conf_decode_text("%3A%zz%4%FF", 11);
	assert_string_equal(dec, ":%zz%4\xef\xbf\xbd");
}

static void test_sections(void **state)
{
	const char *in = "cores: 1\nparent: s1\n\n"
	                 "[PENDING]\ndelete: !net0,scsi1\nmemory: 1024\n\n"
	                 "[special:cloudinit]\nname: x\n\n"
	                 "[s1]\ncores: 2\nsnapstate: prepare\nsnaptime: 1700000000\n";
	assert_rewrites(in, in);
	_cleanup_guest_conf_ struct guest_conf *c = must_parse(in, GUEST_CONF_STRICT);
	assert_string_equal(guest_conf_get(c->pending, "delete"), "!net0,scsi1");
	assert_string_equal(guest_conf_get(json_object_get(c->snapshots, "s1"), "snapstate"),
	                    "prepare");
	assert_string_equal(guest_conf_get(json_object_get(c->special, "cloudinit"), "name"), "x");

	/* snapshots are written sorted by name, the empty cloudinit left out */
	assert_rewrites("[zz]\ncores: 1\n[aa]\ncores: 2\n[special:cloudinit]\n",
	                "\n[aa]\ncores: 2\n\n[zz]\ncores: 1\n");
	/* snapstate never stays in the main section */
	assert_rewrites("snapstate: delete\ncores: 1\n", "cores: 1\n");
}

static void test_strict_errors(void **state)
{
	assert_strict_error("cores: 1\nfoo: 1\n",
	                    "vm 100 - unable to parse value of 'foo' - unknown setting 'foo'");
	assert_strict_error("cores: x\n",
	                    "vm 100 - unable to parse value of 'cores' - type check ('integer') "
	                    "failed - got 'x'");
	assert_strict_error("delete: net0\n",
	                    "vm 100 - property 'delete' is only allowed in [PENDING]");
	assert_strict_error("[s1]\n[s1]\n", "vm 100 - duplicate snapshot section: s1");
	assert_strict_error("[special:cloudinit]\n[special:cloudinit]\n",
	                    "vm 100 - duplicate special section: cloudinit");
	assert_strict_error("[special:nope]\nname: x\n",
	                    "vm 100 - skipping unknown section: 'special:nope'");
	assert_strict_error("cores 1\n", "vm 100 - unable to parse config: cores 1");
	assert_strict_error("name: a,b\n", "vm 100 - unable to parse value of 'name' - value does "
	                                   "not match the regex pattern");
	assert_strict_error("[special:fleecing]\nfleecing-images: a\rb\n",
	                    "vm 100 - unable to parse value of 'fleecing-images' - property "
	                    "contains a line feed");
	assert_strict_error("net0: virtio=01:00:00:00:00:00\n",
	                    "vm 100 - unable to parse value of 'net0' - invalid format - format "
	                    "error - virtio: value does not look like a valid unicast MAC address");
	assert_strict_error("ide2: \n",
	                    "vm 100 - unable to parse value of 'ide2' - invalid format - "
	                    "format error - file: property is missing and it is not "
	                    "optional");
	assert_strict_error("scsi0: local:x,size=3Q\n",
	                    "vm 100 - unable to parse value of 'scsi0' - invalid format - format "
	                    "error - size: unable to parse size '3Q'");
}

static void test_bounds(void **state)
{
	struct error *e = NULL;
	_cleanup_free_ char *big = xmalloc(GUEST_CONF_MAX_LINE + 16);
	memcpy(big, "name: ", 6);
	memset(big + 6, 'a', GUEST_CONF_MAX_LINE);
	big[GUEST_CONF_MAX_LINE + 6] = '\0';
	assert_null(parse(big, 0, NULL, &e));
	assert_int_equal(e->code, -E2BIG);
	e = error_free(e);

	struct strbuf sb = STRBUF_INIT;
	for (unsigned i = 0; i <= GUEST_CONF_MAX_SECTIONS; i++)
		strbuf_addf(&sb, "[s%u]\n", i);
	assert_null(parse(sb.buf, 0, NULL, &e));
	assert_int_equal(e->code, -E2BIG);
	e = error_free(e);
	strbuf_release(&sb);

	/* a NUL byte: the line is dropped, the rest parses */
	static const char nul[] = "cores: 1\nname: a\0b\nsockets: 2\n";
	struct guest_conf *c = NULL;
	_cleanup_strv_free_ char **w = NULL;
	assert_int_equal(qemu_conf_parse(nul, sizeof(nul) - 1, 100, 0, &c, &w, NULL), 0);
	assert_null(guest_conf_get(c->conf, "name"));
	assert_string_equal(guest_conf_get(c->conf, "sockets"), "2");
	assert_non_null(w);
	guest_conf_free(c);
}

static void test_writer_refuses(void **state)
{
	struct {
		const char *section, *key, *value;
	} cases[] = {
	    {"conf", "name", "a\nmemory: 1"},
	    {"conf", "name", ""},
	    {"conf", "Name", "x"},
	    {"conf", "na me", "x"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_guest_conf_ struct guest_conf *c = guest_conf_new();
		guest_conf_set(c->conf, cases[i].key, cases[i].value);
		struct strbuf sb = STRBUF_INIT;
		struct error *e = NULL;
		assert_int_equal(guest_conf_write(c, &sb, &e), -EINVAL);
		error_free(e);
		strbuf_release(&sb);
	}
	static const char *const bad_snaps[] = {"pending", "PENDING", "a", "1a", "a:b", "a]"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_snaps); i++) {
		_cleanup_guest_conf_ struct guest_conf *c = guest_conf_new();
		json_object_set_new(c->snapshots, bad_snaps[i], json_object());
		struct strbuf sb = STRBUF_INIT;
		struct error *e = NULL;
		assert_int_equal(guest_conf_write(c, &sb, &e), -EINVAL);
		error_free(e);
		strbuf_release(&sb);
	}
}

static void test_dup(void **state)
{
	_cleanup_guest_conf_ struct guest_conf *c =
	    must_parse("cores: 1\n[PENDING]\ncores: 2\n[s1]\ncores: 3\n", 0);
	_cleanup_guest_conf_ struct guest_conf *d = guest_conf_dup(c);
	guest_conf_set(c->conf, "cores", "9");
	assert_string_equal(guest_conf_get(d->conf, "cores"), "1");
	_cleanup_free_ char *a = write_conf(d);
	assert_string_equal(a, "cores: 1\n\n[PENDING]\ncores: 2\n\n[s1]\ncores: 3\n");
}

/* the API's check: one parameter error {key: reason} */
static void assert_param_error(const char *key, const char *value, const char *reason)
{
	char *out = NULL;
	struct error *e = NULL;
	if (qemu_conf_check_value(key, value, &out, &e) == 0)
		fail_msg("%s=%s: accepted as '%s'", key, value, out);
	assert_null(out);
	assert_int_equal(e->http_status, 400);
	const char *got = json_string_value(json_object_get(e->params, key));
	if (!got || !streq(got, reason))
		fail_msg("%s=%s: got '%s', expected '%s'", key, value, got ? got : e->msg, reason);
	error_free(e);
}

static void assert_checks_to(const char *key, const char *value, const char *want)
{
	_cleanup_free_ char *out = NULL;
	struct error *e = NULL;
	if (qemu_conf_check_value(key, value, &out, &e) < 0)
		fail_msg("%s=%s: %s", key, value, e->msg);
	assert_string_equal(out, want);
}

static void test_check_value(void **state)
{
	assert_checks_to("cores", "+04", "4");
	assert_checks_to("numa", "yes", "1");
	assert_checks_to("ostype", "l26", "l26");
	assert_checks_to("scsi0", "local:vm-100-disk-0,size=32768M,cache=none",
	                 "local:vm-100-disk-0,cache=none,size=32G");
	assert_checks_to("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=5",
	                 "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=5");
	assert_checks_to("startup", "order=1,up=30", "order=1,up=30");
	assert_param_error("cores", "0", "value must have a minimum value of 1");
	assert_param_error("numa", "x", "type check ('boolean') failed - got 'x'");
	assert_param_error("ostype", "dos",
	                   "value 'dos' does not have a value in the enumeration 'l24, l26, other, "
	                   "solaris, w2k, w2k3, w2k8, win10, win11, win7, win8, wvista, wxp'");
	assert_param_error("nosuchkey", "1",
	                   "property is not defined in schema and the schema does not allow "
	                   "additional properties");
	assert_param_error("scsi31", "local:x",
	                   "property is not defined in schema and the schema "
	                   "does not allow additional properties");
	assert_param_error("net0", "bridge=vmbr0",
	                   "invalid format - format error - model: property is missing and it is "
	                   "not optional");
	assert_param_error("net0", "virtio=BC:24:11:00:00:01,e1000=BC:24:11:00:00:02",
	                   "invalid format - format error - model: more than one model");
	assert_param_error("net0", "virtio,tag=5000",
	                   "invalid format - format error - tag: value must have a maximum value "
	                   "of 4094");
	assert_param_error("name", "a\nb", "property contains a line feed");
	/* what ends up inside a QEMU option list cannot carry a comma */
	assert_param_error("name", "web,smb=/", "value does not match the regex pattern");
	assert_param_error("serial0", "/dev/ttyS0,logfile=/etc/x",
	                   "value does not match the regex pattern");
	assert_param_error("vmgenid", "x,addr=0x5", "value does not match the regex pattern");
	assert_param_error("cpu", "cputype=a=b",
	                   "invalid format - format error - cputype: value does not match the "
	                   "regex pattern");
	assert_param_error("cpu", "kvm64,flags=+a=b",
	                   "invalid format - format error - flags: value does not match the "
	                   "regex pattern");
	assert_checks_to("name", "web-1.example.com", "web-1.example.com");
	assert_checks_to("description", "line one\nline: two", "line one\nline: two");
	_cleanup_free_ char *long_descr = xmalloc(QEMU_CONF_DESCRIPTION_MAX + 2);
	memset(long_descr, 'x', QEMU_CONF_DESCRIPTION_MAX + 1);
	long_descr[QEMU_CONF_DESCRIPTION_MAX + 1] = '\0';
	assert_param_error("description", long_descr, "value may only be 8192 characters long");
	assert_checks_to("vmgenid", "1", "1");
	assert_checks_to("startdate", "2020-01-11T10:00:00", "2020-01-11T10:00:00");
	assert_param_error("scsi0", "size=4G",
	                   "invalid format - format error - file: property is missing and it is "
	                   "not optional");
}

static void test_needs_root(void **state)
{
	assert_true(qemu_conf_needs_root("args", "-S"));
	assert_true(qemu_conf_needs_root("hookscript", "local:snippets/x.pl"));
	assert_true(qemu_conf_needs_root("hostpci0", "00:1f.0"));
	assert_true(qemu_conf_needs_root("usb0", "host=1-2"));
	assert_true(qemu_conf_needs_root("serial0", "/dev/ttyS0"));
	assert_false(qemu_conf_needs_root("serial0", "socket"));
	assert_true(qemu_conf_needs_root("scsi0", "/dev/sdb,size=4G"));
	assert_true(qemu_conf_needs_root("ide2", "file=/dev/sr0,media=cdrom"));
	assert_true(qemu_conf_needs_root("ide2", "cdrom,media=cdrom"));
	assert_false(qemu_conf_needs_root("scsi0", "local:100/vm-100-disk-0.raw"));
	/* the file given bare after other options, or through a bad value */
	assert_true(qemu_conf_needs_root("scsi0", "media=disk,/dev/sda"));
	assert_true(qemu_conf_needs_root("scsi0", "size=4G,file=/dev/sda"));
	assert_true(qemu_conf_needs_root("virtio0", "nonsense=1"));
	assert_true(qemu_conf_needs_root("efidisk0", "/dev/sdb"));
	assert_true(qemu_conf_needs_root("unused3", "/dev/sdc"));
	assert_false(qemu_conf_needs_root("name", "/dev/x"));
	/* every host-path key of the table says so itself */
	assert_true(qemu_conf_prop("args")->flags & CONF_PROP_ROOT_ONLY);
	assert_true(qemu_conf_prop("hookscript")->flags & CONF_PROP_ROOT_ONLY);
}

static int collect(const struct qemu_drive *d, void *userdata, struct error **err)
{
	strv_extend(userdata, d->key);
	return 0;
}

static void test_drives(void **state)
{
	struct qemu_drive d;
	assert_int_equal(qemu_drive_parse("ide2", "local:iso/x.iso,media=cdrom,size=1G", &d, NULL),
	                 0);
	assert_int_equal(d.bus, QEMU_BUS_IDE);
	assert_int_equal(d.index, 2);
	assert_string_equal(d.file, "local:iso/x.iso");
	assert_true(d.cdrom);
	assert_int_equal(d.size, 1ull << 30);
	qemu_drive_clear(&d);

	assert_int_equal(qemu_drive_parse("scsi3",
	                                  "file=lvm:vm-1-disk-0,iothread=1,backup=0,"
	                                  "cache=writeback,serial=abc",
	                                  &d, NULL),
	                 0);
	assert_true(d.iothread);
	assert_true(d.backup_off);
	assert_string_equal(d.cache, "writeback");
	assert_string_equal(d.serial, "abc");
	qemu_drive_clear(&d);

	assert_int_equal(qemu_drive_parse("efidisk0", "local:1/e.raw,efitype=4m", &d, NULL), 0);
	assert_int_equal(d.bus, QEMU_BUS_EFIDISK);
	assert_string_equal(d.efitype, "4m");
	qemu_drive_clear(&d);

	struct error *e = NULL;
	assert_int_equal(qemu_drive_parse("scsi0", "size=4G", &d, &e), -EINVAL);
	e = error_free(e);
	assert_int_equal(qemu_drive_parse("net0", "local:x", &d, &e), -EINVAL);
	e = error_free(e);
	assert_int_equal(qemu_drive_parse("ide4", "local:x", &d, &e), -EINVAL);
	e = error_free(e);

	assert_true(qemu_conf_is_drive_key("virtio15", false));
	assert_false(qemu_conf_is_drive_key("virtio16", false));
	assert_false(qemu_conf_is_drive_key("scsi01", false));
	assert_false(qemu_conf_is_drive_key("unused0", false));
	assert_true(qemu_conf_is_drive_key("unused255", true));

	/* PVE's order, not the file's */
	_cleanup_guest_conf_ struct guest_conf *c =
	    must_parse("virtio0: a:1\nunused0: a:9\ntpmstate0: a:5\nefidisk0: a:4\nscsi10: a:3\n"
	               "scsi2: a:2\nide2: none,media=cdrom\n",
	               GUEST_CONF_STRICT);
	_cleanup_strv_free_ char **keys = NULL;
	assert_int_equal(qemu_conf_foreach_drive(c->conf, false, collect, &keys, NULL), 0);
	_cleanup_free_ char *joined = NULL;
	struct strbuf sb = STRBUF_INIT;
	for (char **k = keys; *k; k++)
		strbuf_addf(&sb, "%s ", *k);
	joined = strbuf_detach(&sb, NULL);
	assert_string_equal(joined, "ide2 scsi2 scsi10 virtio0 efidisk0 tpmstate0 ");
}

static void test_sizes(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"512", "512"},    {"1024", "1K"}, {"1536K", "1536K"}, {"4096M", "4G"},
	    {"1.5G", "1536M"}, {"2T", "2T"},   {"1048576K", "1G"}, {"0", "0"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v;
		assert_int_equal(qemu_parse_size(cases[i].in, &v), 0);
		_cleanup_free_ char *s = qemu_format_size(v);
		assert_string_equal(s, cases[i].out);
	}
	static const char *const bad[] = {
	    "", "G", "1.", ".5", "1g", "1GB", "-1", "1 G", "99999999999999999999999T"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v;
		assert_true(qemu_parse_size(bad[i], &v) < 0);
	}
}

static void test_nets(void **state)
{
	struct qemu_net n;
	assert_int_equal(qemu_net_parse("net3",
	                                "virtio=BC:24:11:2C:69:EC,bridge=vmbr0,firewall=1,tag=10,"
	                                "mtu=1,queues=4,rate=12.5,link_down=1",
	                                &n, NULL),
	                 0);
	assert_int_equal(n.index, 3);
	assert_string_equal(n.model, "virtio");
	assert_string_equal(n.macaddr, "BC:24:11:2C:69:EC");
	assert_string_equal(n.bridge, "vmbr0");
	assert_true(n.firewall);
	assert_true(n.link_down);
	assert_int_equal(n.tag, 10);
	assert_int_equal(n.mtu, 1);
	assert_int_equal(n.queues, 4);
	assert_true(n.rate == 12.5);
	qemu_net_clear(&n);

	assert_int_equal(qemu_net_parse("net0", "model=e1000,macaddr=02:00:00:00:00:01", &n, NULL),
	                 0);
	assert_string_equal(n.model, "e1000");
	assert_string_equal(n.macaddr, "02:00:00:00:00:01");
	assert_null(n.bridge);
	qemu_net_clear(&n);

	assert_int_equal(qemu_net_parse("net0", "virtio", &n, NULL), 0);
	assert_string_equal(n.macaddr, "");
	qemu_net_clear(&n);

	char mac[18], other[18];
	qemu_conf_random_mac(mac);
	qemu_conf_random_mac(other);
	assert_int_equal(strlen(mac), 17);
	assert_memory_equal(mac, "BC:24:11:", 9);
	_cleanup_free_ char *v = xasprintf("virtio=%s", mac), *norm = NULL;
	assert_int_equal(qemu_conf_check_value("net0", v, &norm, NULL), 0);
	/* 24 random bits: two in a row are equal once in 16 million runs */
	assert_string_not_equal(mac, other);
}

static void test_to_api(void **state)
{
	_cleanup_guest_conf_ struct guest_conf *c =
	    must_parse("#note\ncores: 2\nnuma: 0\nname: web\ncpulimit: 1.5\nmemory: 768\n"
	               "scsi0: local:x,size=4G\n[PENDING]\ndelete: net0\n",
	               GUEST_CONF_STRICT);
	_cleanup_json_ json_t *api = qemu_conf_to_api(c->conf);
	assert_int_equal(json_integer_value(json_object_get(api, "cores")), 2);
	assert_true(json_is_integer(json_object_get(api, "numa")));
	assert_true(json_is_real(json_object_get(api, "cpulimit")));
	assert_string_equal(json_string_value(json_object_get(api, "memory")), "768");
	assert_string_equal(json_string_value(json_object_get(api, "name")), "web");
	assert_string_equal(json_string_value(json_object_get(api, "description")), "note");
	assert_string_equal(json_string_value(json_object_get(api, "scsi0")), "local:x,size=4G");
	_cleanup_json_ json_t *pending = qemu_conf_to_api(c->pending);
	assert_string_equal(json_string_value(json_object_get(pending, "delete")), "net0");
}

static void test_table(void **state)
{
	struct error *e = NULL;
	if (conf_props_check_formats(qemu_conf_props, qemu_conf_formats, &e) < 0)
		fail_msg("%s", e->msg);
	/* the families of the issue, with their ranges */
	static const char *const keys[] = {"scsi30",    "virtio15", "sata5",     "ide3",
	                                   "net31",     "serial3",  "unused255", "efidisk0",
	                                   "tpmstate0", "numa7",    "hostpci15", "usb13"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		assert_non_null(qemu_conf_prop(keys[i]));
	static const char *const not_keys[] = {"scsi31", "net32",    "serial4",
	                                       "ide4",   "efidisk1", "freeze-fs-on-backup"};
	for (size_t i = 0; i < ARRAY_SIZE(not_keys); i++)
		assert_null(qemu_conf_prop(not_keys[i]));
	/* numa (a boolean) and numa0 (a property string) are different rows */
	assert_int_equal(qemu_conf_prop("numa")->type, CONF_TYPE_BOOLEAN);
	assert_int_equal(qemu_conf_prop("numa0")->type, CONF_TYPE_PROPSTRING);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int set_cores(void *obj, void *arg, struct error **err)
{
	guest_conf_set(((struct guest_conf *)obj)->conf, "cores", arg);
	return 0;
}

/* qemu_conf_ops in the config store's keyed family: a get parses the file
 * leniently, an update writes it back in PVE's order. */
static void test_config_store(void **state)
{
	char root[] = "/tmp/ctvm-test-qemu-conf-XXXXXX";
	assert_non_null(mkdtemp(root));
	_cleanup_free_ char *file = xasprintf("%s/100.conf", root);
	static const char text[] = "name: a\nbogus: 1\ncores: 1\n";
	assert_int_equal(write_file_atomic(file, text, sizeof(text) - 1, 0640, NULL), 0);

	struct conf_family *fam = conf_family_new(root, ".conf", &qemu_conf_ops, NULL);
	const struct conf_snapshot *snap = NULL;
	assert_int_equal(conf_family_get(fam, "100", &snap, NULL), 0);
	const struct guest_conf *c = conf_snapshot_data(snap);
	assert_string_equal(guest_conf_get(c->conf, "name"), "a");
	assert_null(guest_conf_get(c->conf, "bogus"));
	conf_snapshot_unref(snap);

	assert_int_equal(conf_family_update(fam, "100", NULL, set_cores, "4", NULL), 0);
	_cleanup_free_ char *data = NULL;
	size_t len;
	assert_int_equal(read_file(file, 1 << 20, &data, &len, NULL), 0);
	assert_string_equal(data, "cores: 4\nname: a\n");
	conf_family_free(fam);
	nftw(root, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalises_values),
	    cmocka_unit_test(test_description),
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_strict_errors),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_writer_refuses),
	    cmocka_unit_test(test_dup),
	    cmocka_unit_test(test_check_value),
	    cmocka_unit_test(test_needs_root),
	    cmocka_unit_test(test_drives),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_nets),
	    cmocka_unit_test(test_to_api),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_config_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
