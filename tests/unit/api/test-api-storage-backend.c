/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The volume calls on a storage whose backend is not dir's: the storage
 * "vg0" is of type lvm, served by the LVM-like test backend of
 * tests/lib/storage-fake.h (registered here only), whose volumes are named
 * "vm-100-disk-0", without an extension.  Every {volume} and copy target is
 * parsed in the grammar of its storage's backend, so such names are never
 * answered with the dir grammar's 400, and dir's names are refused there.
 * The users: root@pam, and bob@pve with no role anywhere.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api.h"
#include "dispatch-harness.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "storage-config.h"
#include "storage-fake.h"
#include "storage.h"
#include "xalloc.h"

#define CRLF "\r\n"
#define AS(user, verb, path, body)                                                          \
	verb " /api2/json" path " HTTP/1.1" CRLF "Cookie: PVEAuthCookie={T:" user "}" CRLF  \
	     "CSRFPreventionToken: {C:" user "}" CRLF "Content-Type: application/json" CRLF \
	     "Content-Length: {LEN}" CRLF CRLF body
#define AS0(user, verb, path)                                                              \
	verb " /api2/json" path " HTTP/1.1" CRLF "Cookie: PVEAuthCookie={T:" user "}" CRLF \
	     "CSRFPreventionToken: {C:" user "}" CRLF CRLF
#define ROOT(verb, path)      AS0("root@pam", verb, "/nodes/{NODE}/storage" path)
#define ROOT_POST(path, body) AS("root@pam", "POST", "/nodes/{NODE}/storage" path, body)
#define BOB(verb, path)       AS0("bob@pve", verb, "/nodes/{NODE}/storage" path)

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:bob@pve:1:0::::::\n";

static const struct dcase cases[] = {
    /* LVM's names reach the backend, as volids and as bare names */
    {ROOT("GET", "/vg0/content/vg0:vm-100-disk-0"), 200, NULL,
     "{\"data\":{\"path\":\"/dev/pve/vm-100-disk-0\",\"format\":\"raw\",\"size\":1048576}}"},
    {ROOT("GET", "/vg0/content/vm-100-disk-0"), 200, NULL,
     "{\"data\":{\"path\":\"/dev/pve/vm-100-disk-0\"}}"},
    {ROOT("GET", "/vg0/snapshots/vg0:vm-100-disk-0"), 200, NULL, "{\"data\":[]}"},
    /* a volume that is not there is the backend's 404, not a parse error */
    {ROOT("GET", "/vg0/content/vg0:vm-100-disk-9"), 404,
     "volume 'vg0:vm-100-disk-9' does not exist", NULL},
    {ROOT("DELETE", "/vg0/content/vg0:vm-100-disk-9"), 404, NULL, NULL},
    {ROOT("GET", "/vg0/snapshots/vm-100-disk-9"), 404, NULL, NULL},
    /* and the backend's capabilities answer, not the name */
    {ROOT_POST("/vg0/template/vg0:vm-100-disk-0", "{}"), 500,
     "operation 'template' is not supported by storage type 'lvm'", NULL},
    /* a copy target is parsed in its own storage's grammar: here the
     * source is missing (404), which is checked after the target */
    {ROOT_POST("/vg0/content/vg0:vm-100-disk-9", "{\"target\":\"vg0:vm-101-disk-0\"}"), 404, NULL,
     NULL},
    {ROOT_POST("/vg0/content/vg0:vm-100-disk-0", "{\"target\":\"vg0:101/vm-101-disk-0.raw\"}"), 400,
     NULL, "{\"errors\":{\"target\":\"unable to parse lvm volume name '101/vm-101-disk-0.raw'\"}}"},
    {ROOT_POST("/vg0/content/vg0:vm-100-disk-0", "{\"target\":\"vg0:base-101-disk-0\"}"), 400, NULL,
     NULL},
    /* dir's names are refused by LVM's grammar, and LVM's by dir's */
    {ROOT("GET", "/vg0/content/vg0:100/vm-100-disk-0.raw"), 400,
     "unable to parse lvm volume name '100/vm-100-disk-0.raw'", NULL},
    {ROOT("DELETE", "/vg0/content/vg0:iso/x.iso"), 400, NULL, NULL},
    {ROOT("GET", "/local/content/local:vm-100-disk-0"), 400,
     "unable to parse directory volume name 'vm-100-disk-0'", NULL},
    /* the owner comes from LVM's grammar: 403 before anything else */
    {BOB("GET", "/vg0/content/vg0:vm-100-disk-0"), 403, NULL, NULL},
    {BOB("DELETE", "/vg0/content/vg0:vm-100-disk-9"), 403, NULL, NULL},
    /* a storage that does not exist: only the common rules, then the
     * permission check, then the storage's absence */
    {ROOT("GET", "/nosuch/content/nosuch:vm-100-disk-0"), 500, "storage 'nosuch' does not exist",
     NULL},
    {BOB("GET", "/nosuch/content/nosuch:vm-100-disk-0"), 403, NULL, NULL},
    /* a pool's own figures in its status (1 MiB of 10 GiB used); a dir
     * storage's status has none of them */
    {ROOT("GET", "/vg0/status"), 200, NULL,
     "{\"data\":{\"active\":1,\"data_percent\":0.009765625,\"metadata_percent\":0.5,"
     "\"health\":\"ok\",\"provisioned\":1048576}}"},
};

static void test_lvm_names(void **state)
{
	dispatch_run_cases(cases, ARRAY_SIZE(cases));
}

static int setup(void **state)
{
	struct error *e = NULL;

	storage_fake_register();
	storage_fake_reset();
	storage_fake_add("vm-100-disk-0", 100, 1 << 20, NULL);
	dispatch_setup(user_cfg, NULL, NULL);
	struct api_context *ctx = dispatch_context();
	ctx->storage = storage_config_store_new(ctx->paths);
	/* a status activates the storage, under its lock */
	assert_int_equal(mkdir_p(ctx->paths->run, 0700), 0);
	storage_set_lock_dir(ctx->paths->run);
	_cleanup_free_ char *cfg = path_join(ctx->paths->etc, "storage.cfg");
	static const char text[] = "lvm: vg0\n\tvgname pve\n\tcontent images\n";
	assert_int_equal(write_file_atomic(cfg, text, strlen(text), 0640, &e), 0);
	return 0;
}

static int teardown(void **state)
{
	storage_set_lock_dir(NULL);
	storage_config_store_free(dispatch_context()->storage);
	dispatch_teardown();
	storage_fake_reset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lvm_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
