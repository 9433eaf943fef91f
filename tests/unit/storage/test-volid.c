/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Volume ids and names: every row of Proxmox's derived conformance tables,
 * then the refusals that keep a volume name inside its storage. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "volid.h"
#include "xalloc.h"

#define MAX_FIELDS 16

struct row {
	char *line;
	char *f[MAX_FIELDS];
	size_t n;
};

/* Splits a TSV line in place; empty fields stay (as ""). */
static void split_row(struct row *r)
{
	r->n = 0;
	char *s = r->line;
	for (;;) {
		assert_true(r->n < MAX_FIELDS);
		r->f[r->n++] = s;
		char *t = strchr(s, '\t');
		if (!t)
			break;
		*t = '\0';
		s = t + 1;
	}
}

/* Calls fn for every data row (comments and the header skipped); returns
 * the number of rows. */
static size_t for_each_row(const char *name, size_t min_fields, void (*fn)(struct row *r))
{
	const char *dir = getenv("CTVM_CONFORMANCE");
	if (!dir)
		dir = "tests/data/conformance";
	_cleanup_free_ char *path = xasprintf("%s/storage/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char *line = NULL;
	size_t cap = 0, rows = 0;
	bool header = true;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[0] == '#' || len == 0)
			continue;
		if (header) {
			header = false;
			continue;
		}
		struct row r = {.line = line};
		split_row(&r);
		if (r.n < min_fields)
			fail_msg("%s: short row '%s'", name, line);
		fn(&r);
		rows++;
	}
	free(line);
	fclose(f);
	return rows;
}

static long field_long(const char *s)
{
	return *s ? strtol(s, NULL, 10) : 0;
}

static void expect_str(const char *what, const char *row, const char *want, const char *got)
{
	if (!*want && !got)
		return;
	if (!got || !streq(want, got))
		fail_msg("%s: %s: want '%s', got '%s'", row, what, want, got ? got : "(null)");
}

/* The note column of an error row ends with " | <PVE message>". */
static const char *note_message(const char *note)
{
	const char *bar = strstr(note, " | ");
	return bar ? bar + 3 : note;
}

/* volname status vtype name vmid basename basevmid isBase format note */
static void check_parse_volname(struct row *r)
{
	struct volname_info i;
	struct error *e = NULL;
	int ret = volname_parse(r->f[0], &i, &e);
	if (streq(r->f[1], "error")) {
		if (ret >= 0)
			fail_msg("%s: parsed but must fail", r->f[0]);
		assert_int_equal(ret, -EINVAL);
		assert_int_equal(e->http_status, 400);
		expect_str("error", r->f[0], note_message(r->f[9]), e->msg);
		error_free(e);
		return;
	}
	if (ret < 0)
		fail_msg("%s: %s", r->f[0], e->msg);
	expect_str("vtype", r->f[0], r->f[2], vtype_to_string(i.vtype));
	expect_str("name", r->f[0], r->f[3], i.name);
	assert_int_equal(i.vmid, field_long(r->f[4]));
	expect_str("basename", r->f[0], r->f[5], i.basename);
	assert_int_equal(i.basevmid, field_long(r->f[6]));
	assert_int_equal(i.is_base, r->f[7][0] != '\0');
	expect_str("format", r->f[0], r->f[8], i.format);
	/* a volid made of it parses back to the same name */
	_cleanup_free_ char *volid = volid_format("local", r->f[0]);
	struct volid v;
	assert_int_equal(volid_parse(volid, &v, NULL), 0);
	assert_string_equal(v.storeid, "local");
	assert_string_equal(v.volname, r->f[0]);
	volid_clear(&v);
	volname_info_clear(&i);
}

static void test_parse_volname(void **state)
{
	(void)state;
	assert_int_equal(for_each_row("parse_volname-dir.tsv", 10, check_parse_volname), 52);
}

/* volname snapname status path_or_error vmid vtype */
static void check_filesystem_path(struct row *r)
{
	struct error *e = NULL;
	const char *snap = *r->f[1] ? r->f[1] : NULL;
	_cleanup_free_ char *p = volname_path("/some/path", r->f[0], snap, &e);
	if (streq(r->f[2], "error")) {
		if (p)
			fail_msg("%s@%s: got path %s, want error", r->f[0], r->f[1], p);
		assert_int_equal(e->http_status, 400);
		expect_str("error", r->f[0], r->f[3], e->msg);
		error_free(e);
		return;
	}
	if (!p)
		fail_msg("%s: %s", r->f[0], e->msg);
	expect_str("path", r->f[0], r->f[3], p);
	struct volname_info i;
	assert_int_equal(volname_parse(r->f[0], &i, NULL), 0);
	assert_int_equal(i.vmid, field_long(r->f[4]));
	expect_str("vtype", r->f[0], r->f[5], vtype_to_string(i.vtype));
	volname_info_clear(&i);
	/* a trailing slash on the base changes nothing */
	_cleanup_free_ char *p2 = volname_path("/some/path//", r->f[0], snap, NULL);
	assert_non_null(p2);
	assert_string_equal(p, p2);
}

static void test_filesystem_path(void **state)
{
	(void)state;
	assert_int_equal(for_each_row("filesystem_path-dir.tsv", 6, check_filesystem_path), 6);
}

/* path_relative_to_storage vtype volid */
static void check_path_to_volume_id(struct row *r)
{
	_cleanup_free_ char *path = xasprintf("/var/lib/vz/%s", r->f[0]);
	_cleanup_free_ char *volname = NULL;
	enum vtype t;
	struct error *e = NULL;
	int ret = path_to_volname("/var/lib/vz", path, &volname, &t, &e);
	if (!*r->f[2]) {
		if (ret >= 0)
			fail_msg("%s: mapped to %s, want no match", r->f[0], volname);
		assert_int_equal(ret, -ENOENT);
		assert_int_equal(e->http_status, 400);
		error_free(e);
		return;
	}
	if (ret < 0)
		fail_msg("%s: %s", r->f[0], e->msg);
	_cleanup_free_ char *volid = volid_format("local", volname);
	expect_str("volid", r->f[0], r->f[2], volid);
	expect_str("vtype", r->f[0], r->f[1], vtype_to_string(t));
	/* and the path of that volume is where we started (no trailing '/') */
	_cleanup_free_ char *back = volname_path("/var/lib/vz", volname, NULL, NULL);
	assert_non_null(back);
	size_t n = strlen(path);
	if (path[n - 1] == '/')
		path[n - 1] = '\0';
	assert_string_equal(back, path);
}

static void test_path_to_volume_id(void **state)
{
	(void)state;
	assert_int_equal(for_each_row("path_to_volume_id-dir.tsv", 3, check_path_to_volume_id), 28);
}

static void check_vtype_subdir(struct row *r)
{
	enum vtype t = vtype_from_string(r->f[0]);
	assert_int_not_equal(t, VTYPE_INVALID);
	assert_string_equal(vtype_to_string(t), r->f[0]);
	assert_string_equal(vtype_subdir(t), r->f[1]);
}

static void test_vtype_subdirs(void **state)
{
	(void)state;
	assert_int_equal(for_each_row("vtype_subdirs.tsv", 2, check_vtype_subdir), _VTYPE_MAX);
	assert_int_equal(vtype_from_string("none"), VTYPE_INVALID);
	assert_null(vtype_subdir(VTYPE_INVALID));
	assert_null(vtype_to_string(_VTYPE_MAX));
}

/* archive status filename logfilename notesfilename type format decompressor
 * compression vmid ctime is_std_name note_or_error */
static void check_archive_info(struct row *r)
{
	struct archive_info a;
	struct error *e = NULL;
	int ret = archive_info_parse(r->f[0], &a, &e);
	if (streq(r->f[1], "error")) {
		if (ret >= 0)
			fail_msg("%s: parsed but must fail", r->f[0]);
		assert_int_equal(e->http_status, 400);
		expect_str("error", r->f[0], r->f[12], e->msg);
		error_free(e);
		return;
	}
	if (ret < 0)
		fail_msg("%s: %s", r->f[0], e->msg);
	expect_str("filename", r->f[0], r->f[2], a.filename);
	expect_str("logfilename", r->f[0], r->f[3], a.logfilename);
	expect_str("notesfilename", r->f[0], r->f[4], a.notesfilename);
	expect_str("type", r->f[0], r->f[5], a.type);
	expect_str("format", r->f[0], r->f[6], a.format);
	char dec[128] = "";
	for (size_t i = 0; a.decompressor && a.decompressor[i]; i++) {
		if (i)
			strcat(dec, " ");
		strcat(dec, a.decompressor[i]);
	}
	expect_str("decompressor", r->f[0], r->f[7], dec);
	expect_str("compression", r->f[0], r->f[8], a.compression);
	assert_int_equal(a.vmid, field_long(r->f[9]));
	if (*r->f[10])
		assert_int_equal(a.ctime, strtoll(r->f[10], NULL, 10));
	assert_int_equal(a.is_std_name, streq(r->f[11], "1"));
	archive_info_clear(&a);
}

static void test_archive_info(void **state)
{
	(void)state;
	assert_int_equal(for_each_row("archive_info.tsv", 13, check_archive_info), 31);
}

static void test_archive_info_more(void **state)
{
	(void)state;
	struct archive_info a;
	/* plain tar: no compression, no decompressor */
	assert_int_equal(archive_info_parse("vzdump-lxc-100-2024_02_29-23_59_59.tar", &a, NULL), 0);
	assert_string_equal(a.format, "tar");
	assert_null(a.compression);
	assert_null(a.decompressor);
	assert_true(a.is_std_name);
	assert_int_equal(a.ctime, 1709251199);
	archive_info_clear(&a);
	/* impossible dates and vmids out of range: non-standard names */
	static const char *const odd[] = {
	    "vzdump-qemu-100-2023_02_29-00_00_00.vma",
	    "vzdump-qemu-100-2023_13_01-00_00_00.vma",
	    "vzdump-qemu-100-2023_01_01-24_00_00.vma",
	    "vzdump-qemu-99-2023_01_01-00_00_00.vma",
	    "vzdump-qemu-0100-2023_01_01-00_00_00.vma",
	    "vzdump-qemu-1000000000-2023_01_01-00_00_00.vma",
	};
	for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
		assert_int_equal(archive_info_parse(odd[i], &a, NULL), 0);
		assert_false(a.is_std_name);
		assert_null(a.logfilename);
		assert_int_equal(a.vmid, 0);
		archive_info_clear(&a);
	}
	/* ".+" needs a byte; a control byte is escaped in the message */
	struct error *e = NULL;
	assert_int_equal(archive_info_parse("vzdump-qemu-.vma", &a, &e), -EINVAL);
	error_free(e);
	e = NULL;
	assert_int_equal(archive_info_parse("vzdump-qemu-1\n.vma", &a, &e), -EINVAL);
	assert_null(strchr(e->msg, '\n'));
	assert_non_null(strstr(e->msg, "\\x0a"));
	error_free(e);
}

static void test_volid(void **state)
{
	(void)state;
	struct volid v;
	struct error *e = NULL;
	assert_int_equal(volid_parse("local:iso/x.iso", &v, NULL), 0);
	assert_string_equal(v.storeid, "local");
	assert_string_equal(v.volname, "iso/x.iso");
	volid_clear(&v);
	/* the first ':' splits; the volume name may hold more */
	assert_int_equal(volid_parse("local-zfs.2:a:b", &v, NULL), 0);
	assert_string_equal(v.storeid, "local-zfs.2");
	assert_string_equal(v.volname, "a:b");
	volid_clear(&v);

	static const char *const bad[] = {
	    "",         ":",        "local",     "local:",   ":iso/x.iso", "l:iso/x.iso",
	    "Local:x",  "local-:x", "1local:x",  "lo cal:x", "local:x\n",  "local:\x01x",
	    "loc/al:x", "local.:x", "local\n:x",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		e = NULL;
		if (volid_parse(bad[i], &v, &e) >= 0)
			fail_msg("accepted volid '%s'", bad[i]);
		assert_int_equal(e->code, -EINVAL);
		assert_int_equal(e->http_status, 400);
		assert_null(strchr(e->msg, '\n'));
		error_free(e);
	}
	e = NULL;
	assert_int_equal(volid_parse("x", &v, &e), -EINVAL);
	assert_string_equal(e->msg, "unable to parse volume ID 'x'");
	error_free(e);

	assert_true(storeid_is_valid("local"));
	assert_true(storeid_is_valid("a1"));
	assert_true(storeid_is_valid("a-b_c.d9"));
	assert_false(storeid_is_valid("a"));
	assert_false(storeid_is_valid("a_"));
	assert_false(storeid_is_valid(NULL));
	_cleanup_free_ char *s = volid_format("local", "iso/x.iso");
	assert_string_equal(s, "local:iso/x.iso");
}

/* Anything that could name a file outside the storage is refused, by the
 * name parser and by the path builder. */
static void test_traversal(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "../../etc/passwd",
	    "iso/../../x.iso",
	    "/etc/passwd",
	    "/iso/x.iso",
	    "iso//x.iso",
	    "iso/a/x.iso",
	    "iso/.iso",
	    "snippets/..",
	    "snippets/.",
	    "snippets/",
	    "snippets/a/b",
	    "snippets/../x",
	    "snippets/x\n",
	    "snippets/x\ny",
	    "snippets/\x1b[31m",
	    "iso/x.iso\n",
	    "100/vm-100-disk-0.raw\n",
	    "100/../vm-100-disk-0.raw",
	    "100/vm-100-disk-0.raw/../../../x.raw",
	    "100/base-100-disk-0.raw/101/../vm-101-disk-0.raw",
	    "../100/vm-100-disk-0.raw",
	    "0100/vm-100-disk-0.raw",
	    "1234567890/vm-1-disk-0.raw",
	    "100/vm 100.raw",
	    "100/.raw",
	    "vztmpl/../x.tar",
	    "backup/../x.vma",
	    "import/../x.ova",
	    "import/x.ova/../y.raw",
	    "import/x.ova/sub/y.raw",
	    "import/a\tb.ova",
	    "rootdir/../1",
	    "rootdir/0",
	    "",
	    "%2e%2e/%2e%2e/etc/passwd",
	    "iso/%2e%2e/x.iso",
	    "snippets/%2e%2e/x",
	    "100/vm-100-disk-0.raw\x7f",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct volname_info info;
		struct error *e = NULL;
		if (volname_parse(bad[i], &info, &e) >= 0)
			fail_msg("accepted volname '%s'", bad[i]);
		assert_int_equal(e->code, -EINVAL);
		assert_int_equal(e->http_status, 400);
		assert_null(strchr(e->msg, '\n'));
		assert_null(strchr(e->msg, '\x1b'));
		error_free(e);
		e = NULL;
		char *p = volname_path("/var/lib/vz", bad[i], NULL, &e);
		if (p)
			fail_msg("'%s' gave path %s", bad[i], p);
		error_free(e);
	}
	/* whole volids */
	static const char *const bad_volids[] = {"local:../../etc/passwd", "local:iso/../../x.iso",
	                                         "local:/etc/passwd"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_volids); i++) {
		struct volid v;
		struct volname_info info;
		assert_int_equal(volid_parse(bad_volids[i], &v, NULL), 0);
		assert_int_equal(volname_parse(v.volname, &info, NULL), -EINVAL);
		volid_clear(&v);
	}
	/* percent signs are just bytes: the file is literally "%2e%2e" */
	_cleanup_free_ char *p = volname_path("/var/lib/vz", "snippets/%2e%2e", NULL, NULL);
	assert_string_equal(p, "/var/lib/vz/snippets/%2e%2e");
	/* the message escapes control bytes */
	struct volname_info info;
	struct error *e = NULL;
	assert_int_equal(volname_parse("snippets/a\nb", &info, &e), -EINVAL);
	assert_string_equal(e->msg, "unable to parse directory volume name 'snippets/a\\x0ab'");
	error_free(e);
	/* relative or missing bases */
	e = NULL;
	assert_null(volname_path("var/lib/vz", "iso/x.iso", NULL, &e));
	error_free(e);
	assert_null(volname_path(NULL, "iso/x.iso", NULL, NULL));
}

static void test_path_to_volname_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		int code;
	} cases[] = {
	    {"/var/lib/vz/template/iso/../../../../etc/x.iso", -EINVAL},
	    {"/var/lib/vz/images/100/../101/vm-101-disk-0.raw", -EINVAL},
	    {"/var/lib/vz/./template/iso/x.iso", -EINVAL},
	    {"/var/lib/vz//template/iso/x.iso", -EINVAL},
	    {"/var/lib/vz/snippets/..", -EINVAL},
	    {"/var/lib/vz/snippets/x\n", -EINVAL},
	    {"/var/lib/vzz/template/iso/x.iso", -ENOENT},
	    {"/var/lib/vz", -ENOENT},
	    {"/var/lib/vz/", -ENOENT},
	    {"/etc/passwd", -ENOENT},
	    {"/var/lib/vz/images/100/sub/vm-100-disk-0.raw", -ENOENT},
	    {"/var/lib/vz/images/100/vm 1.raw", -ENOENT},
	    {"/var/lib/vz/import/a b.ova", -ENOENT},
	    {"/var/lib/vz/template/iso/x.iso/y", -ENOENT},
	    {"/var/lib/vz/private/0100", -ENOENT},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *volname = NULL;
		struct error *e = NULL;
		int r = path_to_volname("/var/lib/vz/", cases[i].path, &volname, NULL, &e);
		if (r != cases[i].code)
			fail_msg("%s: got %d (%s)", cases[i].path, r, volname ? volname : "");
		assert_int_equal(e->http_status, 400);
		assert_null(strchr(e->msg, '\n'));
		error_free(e);
	}
	char *volname = NULL;
	enum vtype t;
	assert_int_equal(
	    path_to_volname("/var/lib/vz", "/var/lib/vz/private/101", &volname, &t, NULL), 0);
	assert_string_equal(volname, "rootdir/101");
	assert_int_equal(t, VTYPE_ROOTDIR);
	free(volname);
	/* import with a space is a valid volume name but PVE does not map the path */
	struct volname_info info;
	assert_int_equal(volname_parse("import/a b.ova", &info, NULL), 0);
	volname_info_clear(&info);
}

static void test_more_names(void **state)
{
	(void)state;
	struct volname_info i;
	assert_int_equal(volname_parse("rootdir/101", &i, NULL), 0);
	assert_int_equal(i.vtype, VTYPE_ROOTDIR);
	assert_int_equal(i.vmid, 101);
	assert_null(i.format);
	volname_info_clear(&i);
	_cleanup_free_ char *p = volname_path("/d", "rootdir/101", NULL, NULL);
	assert_string_equal(p, "/d/private/101");
	struct error *e = NULL;
	assert_null(volname_path("/d", "rootdir/101", "snap", &e));
	assert_string_equal(e->msg, "can't snapshot this image format");
	error_free(e);

	/* linked clone: the path is the clone's own file */
	_cleanup_free_ char *lc =
	    volname_path("/d", "100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2", "s", NULL);
	assert_string_equal(lc, "/d/images/101/vm-101-disk-0.qcow2");
	/* iso extension is case-insensitive, backups are not */
	assert_int_equal(volname_parse("iso/X.ISO", &i, NULL), 0);
	volname_info_clear(&i);
	assert_int_equal(volname_parse("vztmpl/x.TAR.ZST", &i, NULL), 0);
	volname_info_clear(&i);
	assert_int_equal(volname_parse("backup/vzdump-qemu-1-x.VMA", &i, NULL), -EINVAL);
	/* import disk images directly, and a snippet with spaces */
	assert_int_equal(volname_parse("import/disk.qcow2", &i, NULL), 0);
	assert_string_equal(i.format, "qcow2");
	volname_info_clear(&i);
	assert_int_equal(volname_parse("snippets/my hook.pl", &i, NULL), 0);
	volname_info_clear(&i);
	/* "base-" with nothing after it is not a base */
	assert_int_equal(volname_parse("100/base-.raw", &i, NULL), 0);
	assert_false(i.is_base);
	volname_info_clear(&i);
	assert_int_equal(volname_parse("100/subvol-100-disk-1.subvol", &i, NULL), 0);
	assert_string_equal(i.format, "subvol");
	volname_info_clear(&i);
}

static void test_alloc(void **state)
{
	(void)state;
	char *n = volname_alloc(100, "qcow2", NULL, 0, false, NULL);
	assert_string_equal(n, "vm-100-disk-0.qcow2");
	free(n);
	static const char *const ex[] = {
	    "vm-100-disk-0.qcow2", "100/base-100-disk-1.raw", "subvol-100-disk-2.subvol",
	    "vm-1000-disk-3.raw",  "vm-100-disk-4",           "vm-100-disk-x.raw",
	};
	n = volname_alloc(100, "raw", ex, ARRAY_SIZE(ex), false, NULL);
	assert_string_equal(n, "vm-100-disk-3.raw");
	free(n);
	n = volname_alloc(100, NULL, ex, ARRAY_SIZE(ex), false, NULL);
	assert_string_equal(n, "vm-100-disk-3");
	free(n);
	n = volname_alloc(101, NULL, ex, ARRAY_SIZE(ex), true, NULL);
	assert_string_equal(n, "subvol-101-disk-0.subvol");
	free(n);
	n = volname_alloc(101, "subvol", NULL, 0, false, NULL);
	assert_string_equal(n, "subvol-101-disk-0.subvol");
	free(n);

	char **all = xcalloc(VOLNAME_MAX_DISKS, sizeof(char *));
	for (int i = 0; i < VOLNAME_MAX_DISKS; i++)
		all[i] = xasprintf("vm-7-disk-%d.raw", i);
	struct error *e = NULL;
	assert_null(
	    volname_alloc(7, "raw", (const char *const *)all, VOLNAME_MAX_DISKS, false, &e));
	assert_string_equal(e->msg, "unable to allocate an image name for VM 7");
	error_free(e);
	free(all[500]);
	all[500] = xstrdup("other");
	n = volname_alloc(7, "raw", (const char *const *)all, VOLNAME_MAX_DISKS, false, NULL);
	assert_string_equal(n, "vm-7-disk-500.raw");
	free(n);
	for (int i = 0; i < VOLNAME_MAX_DISKS; i++)
		free(all[i]);
	free(all);
	/* every allocated name is a valid dir volume of its owner */
	n = volname_alloc(123, "qcow2", NULL, 0, false, NULL);
	_cleanup_free_ char *vn = xasprintf("123/%s", n);
	struct volname_info i;
	assert_int_equal(volname_parse(vn, &i, NULL), 0);
	assert_int_equal(i.vmid, 123);
	assert_int_equal(volname_check_owner(123, i.name, NULL), 0);
	volname_info_clear(&i);
	free(n);
}

/* The one list of image formats, and the dir grammar's extensions from it. */
static void test_image_formats(void **state)
{
	static const char *const names[] = {"raw", "qcow2", "vmdk", "subvol"};
	struct volname_info i;

	for (int f = 0; f < _IMAGE_FORMAT_MAX; f++) {
		assert_string_equal(image_format_to_string((enum image_format)f), names[f]);
		assert_int_equal(image_format_from_string(names[f]), f);
		_cleanup_free_ char *v = xasprintf("100/vm-100-disk-0.%s", names[f]);
		assert_int_equal(volname_parse(v, &i, NULL), 0);
		assert_string_equal(i.format, names[f]);
		volname_info_clear(&i);
	}
	assert_null(image_format_to_string(_IMAGE_FORMAT_MAX));
	assert_null(image_format_to_string(IMAGE_FORMAT_INVALID));
	assert_int_equal(image_format_from_string("qed"), IMAGE_FORMAT_INVALID);
	assert_int_equal(image_format_from_string("RAW"), IMAGE_FORMAT_INVALID);
	assert_int_equal(image_format_from_string(NULL), IMAGE_FORMAT_INVALID);
	assert_int_equal(volname_parse("100/vm-100-disk-0.qed", &i, NULL), -EINVAL);
}

static void test_owner(void **state)
{
	(void)state;
	assert_int_equal(volname_check_owner(100, "vm-100-disk-0.raw", NULL), 0);
	assert_int_equal(volname_check_owner(100, "subvol-100-disk-0.subvol", NULL), 0);
	struct error *e = NULL;
	assert_int_equal(volname_check_owner(100, "vm-1000-disk-0.raw", &e), -EINVAL);
	assert_string_equal(e->msg, "illegal name 'vm-1000-disk-0.raw' - should be 'vm-100-*'");
	error_free(e);
	assert_int_equal(volname_check_owner(100, "base-100-disk-0.raw", NULL), -EINVAL);
	assert_int_equal(volname_check_owner(100, "vm-100-\n", NULL), -EINVAL);
	assert_int_equal(volname_check_owner(100, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_volname),
	    cmocka_unit_test(test_filesystem_path),
	    cmocka_unit_test(test_path_to_volume_id),
	    cmocka_unit_test(test_vtype_subdirs),
	    cmocka_unit_test(test_archive_info),
	    cmocka_unit_test(test_archive_info_more),
	    cmocka_unit_test(test_volid),
	    cmocka_unit_test(test_traversal),
	    cmocka_unit_test(test_path_to_volname_refusals),
	    cmocka_unit_test(test_more_names),
	    cmocka_unit_test(test_alloc),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test(test_image_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
