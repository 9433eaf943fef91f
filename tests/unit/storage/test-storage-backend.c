/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The dispatcher with backends whose volume names are not dir's
 * (tests/lib/storage-fake.h): each backend parses its own names, the common
 * rules hold whatever a grammar lets through, a backend keeps its state in
 * its own struct, and a name's owner and base come from the grammar.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "error.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-fake.h"
#include "storage-priv.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

static const char cfg_text[] = "lvm: vg0\n\tvgname pve\n\tcontent images\n\n"
                               "zfspool: lax\n\tpool tank\n\n"
                               "dir: dd\n\tpath /nonexistent/ctvm-test\n";

static const struct storage_config_snapshot *snap;
static char lockdir[] = "/tmp/ctvm-backend-XXXXXX";

static int setup(void **state)
{
	struct section_config *c = NULL;

	storage_fake_register();
	struct error *e = NULL;
	if (storage_config_parse(cfg_text, strlen(cfg_text), 0, &c, &e) < 0)
		fail_msg("%s", e->msg);
	assert_int_equal(c->n_warnings, 0);
	/* what the file could not say: an lvm section without its vgname */
	struct section *s = NULL;
	assert_int_equal(section_config_add(c, "lvm", "novg", &s, NULL), 0);
	snap = storage_config_snapshot_new(c);
	if (!mkdtemp(lockdir))
		return -1;
	storage_set_lock_dir(lockdir);
	return 0;
}

static int teardown(void **state)
{
	storage_config_snapshot_unref(snap);
	storage_fake_reset();
	_cleanup_free_ char *lock = xasprintf("%s/storage-vg0.lock", lockdir);
	(void)unlink(lock);
	(void)rmdir(lockdir);
	storage_set_lock_dir(NULL);
	return 0;
}

static struct storage *open_st(const char *id)
{
	struct storage *st = NULL;
	struct error *e = NULL;

	if (storage_open(snap, id, &st, &e) < 0)
		fail_msg("open %s: %s", id, e ? e->msg : "?");
	return st;
}

/* Refused with 400 and a message that contains want. */
static void refused(const struct storage *st, const char *volname, const char *want)
{
	struct volname_info vi = {0};
	struct error *e = NULL;

	if (storage_parse_volname(st, volname, &vi, &e) != -EINVAL)
		fail_msg("'%s' accepted on %s", volname, st->id);
	assert_int_equal(e->http_status, 400);
	if (!strstr(e->msg, want))
		fail_msg("'%s': message '%s', want '%s'", volname, e->msg, want);
	error_free(e);
}

static void test_own_grammar(void **state)
{
	_cleanup_(storage_freep) struct storage *lvm = open_st("vg0");
	_cleanup_(storage_freep) struct storage *dir = open_st("dd");
	struct volname_info vi = {0};

	/* LVM's names, without an extension: the dir grammar never sees them */
	assert_int_equal(storage_parse_volname(lvm, "vm-100-disk-0", &vi, NULL), 0);
	assert_int_equal(vi.vtype, VTYPE_IMAGES);
	assert_int_equal(vi.vmid, 100);
	assert_string_equal(vi.name, "vm-100-disk-0");
	assert_string_equal(vi.format, "raw");
	assert_false(vi.is_base);
	volname_info_clear(&vi);
	assert_int_equal(storage_parse_volname(lvm, "base-101-disk-2", &vi, NULL), 0);
	assert_int_equal(vi.vmid, 101);
	assert_true(vi.is_base);
	volname_info_clear(&vi);
	refused(dir, "vm-100-disk-0", "unable to parse directory volume name");

	/* and dir's names are not LVM's */
	refused(lvm, "100/vm-100-disk-0.raw", "unable to parse lvm volume name");
	refused(lvm, "iso/x.iso", "unable to parse lvm volume name"); /* no file content */
	refused(lvm, "vm-100-disk-0.qcow2", "unable to parse lvm volume name");
	refused(lvm, "", "unable to parse");
	assert_int_equal(storage_parse_volname(dir, "100/vm-100-disk-0.raw", &vi, NULL), 0);
	assert_int_equal(vi.vmid, 100);
	volname_info_clear(&vi);
	assert_int_equal(storage_parse_volname(dir, "iso/x.iso", &vi, NULL), 0);
	assert_int_equal(vi.vtype, VTYPE_ISO);
	volname_info_clear(&vi);
}

/* A grammar that takes anything still gets nothing that could leave the
 * storage past the dispatcher. */
static void test_common_rules(void **state)
{
	_cleanup_(storage_freep) struct storage *lax = open_st("lax");
	struct volname_info vi = {0};
	char *p = NULL;
	struct error *e = NULL;
	static const char *const bad[] = {"../x", "a/../b", "a/./b", "/abs", "a//b",   "a/",
	                                  "..",   ".",      "",      "x\ny", "x\x7fy", "a/.."};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		refused(lax, bad[i], "unable to parse volume name");
		/* every entry point, not only the parser */
		if (storage_path(lax, bad[i], &p, &e) != -EINVAL || e->http_status != 400)
			fail_msg("path of '%s' not refused", bad[i]);
		e = error_free(e);
	}
	_cleanup_free_ char *huge = xmalloc(VOLNAME_MAX + 2);
	memset(huge, 'a', VOLNAME_MAX + 1);
	huge[VOLNAME_MAX + 1] = '\0';
	refused(lax, huge, "unable to parse volume name");
	huge[VOLNAME_MAX] = '\0';
	assert_int_equal(storage_parse_volname(lax, huge, &vi, NULL), 0);
	volname_info_clear(&vi);
	assert_int_equal(storage_parse_volname(lax, "a.b/c..d/.e", &vi, NULL), 0);
	volname_info_clear(&vi);
}

/* The entry points answer in the backend's grammar and ask it for bases. */
static void test_dispatch(void **state)
{
	_cleanup_(storage_freep) struct storage *st = open_st("vg0");
	struct storage_volume v = {0};
	struct error *e = NULL;
	char *path = NULL, *vol = NULL;

	storage_fake_reset();
	assert_int_equal(storage_alloc(st, 100, NULL, NULL, 1 << 20, NULL, &vol, NULL), 0);
	assert_string_equal(vol, "vm-100-disk-0");
	assert_int_equal(storage_info(st, vol, &v, NULL), 0);
	assert_int_equal(v.vmid, 100);
	storage_volume_clear(&v);
	assert_int_equal(storage_path(st, vol, &path, NULL), 0);
	assert_string_equal(path, "/dev/pve/vm-100-disk-0");
	free(path);
	assert_int_equal(storage_volume_exists(st, "vm-100-disk-1", &e), -ENOENT);
	assert_int_equal(e->http_status, 404);
	e = error_free(e);
	assert_int_equal(storage_info(st, "100/vm-100-disk-0.raw", &v, &e), -EINVAL);
	assert_int_equal(e->http_status, 400);
	e = error_free(e);

	/* a base with a linked clone: the grammar says it is a base */
	storage_fake_add("base-200-disk-0", 200, 1 << 20, NULL);
	storage_fake_add("vm-201-disk-0", 201, 1 << 20, "base-200-disk-0");
	assert_int_equal(storage_free_volume(st, "base-200-disk-0", NULL, &e), -EBUSY);
	assert_non_null(strstr(e->msg, "base with linked clones"));
	e = error_free(e);
	assert_int_equal(storage_free_volume(st, "vm-201-disk-0", NULL, NULL), 0);
	assert_int_equal(storage_free_volume(st, "base-200-disk-0", NULL, NULL), 0);
	assert_int_equal(storage_free_volume(st, vol, NULL, NULL), 0);
	assert_int_equal(storage_free_volume(st, vol, NULL, &e), -ENOENT);
	e = error_free(e);
	free(vol);
}

/* Its own state: read at open, back through the checked downcast; an open
 * that fails leaves nothing (ASan builds see a leak). */
static void test_state(void **state)
{
	_cleanup_(storage_freep) struct storage *st = open_st("vg0");
	struct storage *bad = NULL;
	struct error *e = NULL;

	assert_string_equal(storage_fake_vgname(st), "pve");
	assert_int_equal(storage_open(snap, "novg", &bad, &e), -EINVAL);
	assert_null(bad);
	assert_string_equal(e->msg, "storage 'novg' has no volume group");
	error_free(e);
}

/* Before the storage is opened (the API's permission check needs the
 * owner): the grammar of the storage's type, or only the common rules. */
static void test_parse_of(void **state)
{
	struct volname_info vi = {0};
	struct error *e = NULL;

	assert_int_equal(storage_parse_volname_of(snap, "vg0", "vm-100-disk-0", &vi, NULL), 0);
	assert_int_equal(vi.vmid, 100);
	volname_info_clear(&vi);
	assert_int_equal(storage_parse_volname_of(snap, "vg0", "100/x.raw", &vi, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "unable to parse lvm volume name"));
	e = error_free(e);
	assert_int_equal(storage_parse_volname_of(snap, "dd", "100/vm-100-disk-0.raw", &vi, NULL),
	                 0);
	assert_int_equal(vi.vmid, 100);
	volname_info_clear(&vi);
	/* no such storage: nothing is known but that the name is not hostile */
	assert_int_equal(storage_parse_volname_of(snap, "nosuch", "vm-100-disk-0", &vi, NULL), 0);
	assert_int_equal(vi.vtype, VTYPE_INVALID);
	assert_int_equal(vi.vmid, 0);
	assert_null(vi.name);
	assert_int_equal(storage_parse_volname_of(snap, "nosuch", "../x", &vi, &e), -EINVAL);
	assert_int_equal(e->http_status, 400);
	e = error_free(e);
	/* a storage whose open fails says why */
	assert_int_equal(storage_parse_volname_of(snap, "novg", "vm-100-disk-0", &vi, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "no volume group"));
	error_free(e);
}

static void test_register(void **state)
{
	const struct storage_backend *lvm = storage_backend_find("lvm");
	struct storage_backend copy = *lvm;

	assert_int_equal(storage_backend_register(lvm), -EEXIST);
	assert_int_equal(storage_backend_register(&storage_backend_dir), -EEXIST);
	copy.type = "nfs";
	copy.parse_volname = NULL;
	assert_int_equal(storage_backend_register(&copy), -EINVAL);
	assert_null(storage_backend_find("nfs"));
	assert_int_equal(storage_type_caps("lvm"), STORAGE_CAP_THIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_grammar), cmocka_unit_test(test_common_rules),
	    cmocka_unit_test(test_dispatch),    cmocka_unit_test(test_state),
	    cmocka_unit_test(test_parse_of),    cmocka_unit_test(test_register),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
