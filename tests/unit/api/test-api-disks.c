/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * /nodes/{node}/disks through the choke point, the disks being those of the
 * recorded lsblk and pvs output (tests/data/storage/disks/) under the
 * command runner's dry run: the list in Proxmox's fields, the permissions
 * (Sys.Audit to look, Sys.Modify to create, add_storage root@pam's), and
 * every refusal a client gets as a 400 before any task starts: a disk in
 * use, a storage id taken, a raid level with too few disks, a bad path.
 * Users: root@pam, alice@pve (Administrator on /), bob@pve (no role).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "api.h"
#include "cmd-dryrun.h"
#include "dispatch-harness.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "paths.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

#define CRLF "\r\n"
#define AS(user, verb, path, body)                                                              \
	verb " /api2/json/nodes/{NODE}/disks" path " HTTP/1.1" CRLF                             \
	     "Cookie: PVEAuthCookie={T:" user "}" CRLF "CSRFPreventionToken: {C:" user "}" CRLF \
	     "Content-Type: application/json" CRLF "Content-Length: {LEN}" CRLF CRLF body
#define AS0(user, verb, path)                                                          \
	verb " /api2/json/nodes/{NODE}/disks" path " HTTP/1.1" CRLF                    \
	     "Cookie: PVEAuthCookie={T:" user "}" CRLF "CSRFPreventionToken: {C:" user \
	     "}" CRLF CRLF

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:alice@pve:1:0::::::\n"
                               "user:bob@pve:1:0::::::\n"
                               "acl:1:/:alice@pve:Administrator:\n";

static const struct dcase cases[] = {
    {AS0("root@pam", "GET", ""), 200, NULL, NULL},
    {AS0("bob@pve", "GET", "/list"), 403, NULL, NULL},
    {AS0("alice@pve", "GET", "/list"), 200, NULL, NULL},
    /* creating needs Sys.Modify */
    {AS("bob@pve", "POST", "/lvm", "{\"name\":\"vmdata\",\"device\":\"/dev/sdb\"}"), 403, NULL,
     NULL},
    /* add_storage is root@pam's */
    {AS("alice@pve", "POST", "/lvm",
        "{\"name\":\"vmdata\",\"device\":\"/dev/sdb\",\"add_storage\":1}"),
     403, "Permission check failed (only root@pam may add a storage)", NULL},
    /* a disk in use, in each way */
    {AS("root@pam", "POST", "/lvm", "{\"name\":\"vmdata\",\"device\":\"/dev/sdc\"}"), 400,
     "device '/dev/sdc' is already in use (ZFS)", NULL},
    {AS("root@pam", "POST", "/lvmthin", "{\"name\":\"vmdata\",\"device\":\"/dev/sda3\"}"), 400,
     "device '/dev/sda3' is already in use (LVM)", NULL},
    {AS("root@pam", "POST", "/directory", "{\"name\":\"bk\",\"device\":\"/dev/sdd\"}"), 400,
     "device '/dev/sdd' is already in use (mounted)", NULL},
    {AS("root@pam", "POST", "/directory", "{\"name\":\"bk\",\"device\":\"/dev/sda\"}"), 400,
     "device '/dev/sda' is already in use (partitions)", NULL},
    {AS("root@pam", "POST", "/zfs",
        "{\"name\":\"tank\",\"devices\":\"/dev/sdb,/dev/sde\",\"raidlevel\":\"mirror\"}"),
     400, "device '/dev/sde' is already in use (xfs)", NULL},
    {AS("root@pam", "POST", "/lvm", "{\"name\":\"vmdata\",\"device\":\"/dev/sdx\"}"), 400,
     "unable to find device '/dev/sdx'", NULL},
    /* the request's own rules */
    {AS("root@pam", "POST", "/zfs",
        "{\"name\":\"tank\",\"devices\":\"/dev/sdb\",\"raidlevel\":\"mirror\"}"),
     400, "mirror needs at least 2 disks", NULL},
    {AS("root@pam", "POST", "/zfs",
        "{\"name\":\"tank\",\"devices\":\"/dev/sdb /dev/nvme0n1\",\"raidlevel\":\"raidz\"}"),
     400, "raidz needs at least 3 disks", NULL},
    {AS("root@pam", "POST", "/zfs",
        "{\"name\":\"tank\",\"devices\":\"/dev/sdb\",\"raidlevel\":\"single\",\"ashift\":20}"),
     400, NULL, "{\"errors\":{\"ashift\":\"value must have a maximum value of 16\"}}"},
    {AS("root@pam", "POST", "/zfs",
        "{\"name\":\"tank\",\"devices\":\"/dev/sdb\",\"raidlevel\":\"raid5\"}"),
     400, NULL, NULL},
    {AS("root@pam", "POST", "/directory",
        "{\"name\":\"bk\",\"device\":\"/dev/sdb\",\"filesystem\":\"btrfs\"}"),
     400, NULL, NULL},
    {AS("root@pam", "POST", "/directory", "{\"name\":\"bk\",\"device\":\"/dev/../etc/passwd\"}"),
     400, "invalid device path '/dev/../etc/passwd'", NULL},
    {AS("root@pam", "POST", "/lvm", "{\"name\":\"vmdata\",\"device\":\"/dev/sdb,/dev/sdf\"}"), 400,
     NULL, NULL},
    /* a storage id that exists */
    {AS("root@pam", "POST", "/lvm", "{\"name\":\"vg0\",\"device\":\"/dev/sdb\",\"add_storage\":1}"),
     400, "storage ID 'vg0' already defined", NULL},
};

static void test_cases(void **state)
{
	dispatch_run_cases(cases, ARRAY_SIZE(cases));
}

/* The list's rows: Proxmox's fields and JSON types, partitions only when
 * asked, type=unused only the blank ones. */
static void test_list(void **state)
{
	_cleanup_free_ char *req = dispatch_expand(AS0("root@pam", "GET", "/list"));
	_cleanup_free_ char *body = NULL, *reason = NULL;
	assert_int_equal(dispatch_run(req, &reason, &body), 200);
	_cleanup_json_ json_t *j = json_loads(body, 0, NULL);
	json_t *a = json_object_get(j, "data");
	assert_int_equal(json_array_size(a), 9); /* the disks, no partition */
	json_t *sdb = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(sdb, "devpath")), "/dev/sdb");
	assert_true(json_is_integer(json_object_get(sdb, "size")));
	assert_true(json_is_integer(json_object_get(sdb, "gpt")));
	assert_string_equal(json_string_value(json_object_get(sdb, "type")), "hdd");
	assert_null(json_object_get(sdb, "used"));

	_cleanup_free_ char *req2 =
	    dispatch_expand(AS0("root@pam", "GET", "/list?include-partitions=1"));
	_cleanup_free_ char *body2 = NULL;
	assert_int_equal(dispatch_run(req2, NULL, &body2), 200);
	_cleanup_json_ json_t *j2 = json_loads(body2, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j2, "data")), 12);

	_cleanup_free_ char *req3 = dispatch_expand(AS0("root@pam", "GET", "/list?type=unused"));
	_cleanup_free_ char *body3 = NULL;
	assert_int_equal(dispatch_run(req3, NULL, &body3), 200);
	_cleanup_json_ json_t *j3 = json_loads(body3, 0, NULL);
	json_t *unused = json_object_get(j3, "data");
	assert_int_equal(json_array_size(unused), 2); /* sdb and nvme0n1 */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(unused, 1), "devpath")),
	    "/dev/nvme0n1");
}

static char *lsblk, *pvs;

static char *recorded(const char *name)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = xasprintf("%s/storage/%s%s", data ? data : ".",
	                                      strchr(name, '/') ? "" : "disks/", name);
	char *out = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &out, &len, NULL), 0);
	return out;
}

static int setup(void **state)
{
	struct error *e = NULL;
	dispatch_setup(user_cfg, NULL, NULL);
	struct api_context *ctx = dispatch_context();
	ctx->storage = storage_config_store_new(ctx->paths);
	_cleanup_free_ char *cfg = path_join(ctx->paths->etc, "storage.cfg");
	static const char text[] = "lvm: vg0\n\tvgname pve\n\tcontent images\n";
	assert_int_equal(write_file_atomic(cfg, text, strlen(text), 0640, &e), 0);
	lsblk = recorded("lsblk.json");
	pvs = recorded("pvs.json");
	cmd_dryrun_begin();
	cmd_dryrun_on("lsblk", 0, lsblk, NULL);
	cmd_dryrun_on("pvs", 0, pvs, NULL);
	cmd_dryrun_on("blkid -c", 0, "", NULL);
	return 0;
}

static int teardown(void **state)
{
	/* nothing but the inventory ran: no request got to a task */
	_cleanup_free_ char *ran = cmd_dryrun_take();
	for (const char *p = ran; *p;) {
		assert_true(strncmp(p, "lsblk ", 6) == 0 || strncmp(p, "pvs ", 4) == 0 ||
		            strncmp(p, "blkid -c ", 9) == 0);
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(cmd_dryrun_end(), 0);
	storage_config_store_free(dispatch_context()->storage);
	dispatch_teardown();
	free(lsblk);
	free(pvs);
	return 0;
}

#define SCAN(user, path)                                                                          \
	"GET /api2/json/nodes/{NODE}/scan" path " HTTP/1.1" CRLF "Cookie: PVEAuthCookie={T:" user \
	"}" CRLF CRLF

static json_t *scan_data(const char *path)
{
	_cleanup_free_ char *req = dispatch_expand(path);
	_cleanup_free_ char *body = NULL, *reason = NULL;
	assert_int_equal(dispatch_run(req, &reason, &body), 200);
	json_t *j = json_loads(body, 0, NULL);
	json_t *d = json_incref(json_object_get(j, "data"));
	json_decref(j);
	return d;
}

/* pvesm scan: what the recorded vgs, lvs and zpool list report, in PVE's
 * fields; Datastore.Allocate on /storage to look; lvs never gets a vg
 * that could be an option. */
static void test_scan(void **state)
{
	_cleanup_free_ char *vgs = recorded("lvm/vgs.json");
	_cleanup_free_ char *lvs = recorded("lvm/lvs-thin.json");
	_cleanup_free_ char *zpool = recorded("zpool-list.txt");
	cmd_dryrun_on("vgs", 0, vgs, NULL);
	cmd_dryrun_on("lvs", 0, lvs, NULL);
	cmd_dryrun_on("zpool list", 0, zpool, NULL);

	_cleanup_json_ json_t *vg = scan_data(SCAN("root@pam", "/lvm"));
	assert_int_equal(json_array_size(vg), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(vg, 1), "vg")),
	                    "vmdata");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(vg, 1), "free")),
	                 477554606080LL);

	_cleanup_json_ json_t *thin = scan_data(SCAN("alice@pve", "/lvmthin?vg=pve"));
	assert_int_equal(json_array_size(thin), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(thin, 0), "lv")),
	                    "data");

	_cleanup_json_ json_t *pools = scan_data(SCAN("root@pam", "/zfs"));
	assert_int_equal(json_array_size(pools), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 0), "pool")),
	                    "rpool");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(pools, 0), "free")),
	                 476741369856LL);

	_cleanup_json_ json_t *idx = scan_data(SCAN("bob@pve", ""));
	assert_int_equal(json_array_size(idx), 3);

	static const struct dcase refused[] = {
	    {SCAN("bob@pve", "/lvm"), 403, NULL, NULL},
	    {SCAN("bob@pve", "/zfs"), 403, NULL, NULL},
	    {SCAN("root@pam", "/lvmthin"), 400, NULL, NULL},
	    {SCAN("root@pam", "/lvmthin?vg=-a"), 400, NULL,
	     "{\"errors\":{\"vg\":\"value does not match the regex pattern\"}}"},
	    /* lvm(8) has no VG "..": refused before any command runs */
	    {SCAN("root@pam", "/lvmthin?vg=.."), 400, NULL,
	     "{\"errors\":{\"vg\":\"value does not match the regex pattern\"}}"},
	};
	dispatch_run_cases(refused, ARRAY_SIZE(refused));
	_cleanup_free_ char *ran = cmd_dryrun_take();
	/* vgs, lvs of the one vg asked for, zpool list: nothing else ran */
	assert_int_equal(strncmp(ran, "vgs ", 4), 0);
	const char *lvs_line = strstr(ran, "\nlvs ");
	assert_non_null(lvs_line);
	assert_non_null(strstr(lvs_line, " pve\nzpool list "));
	size_t lines = 0;
	for (const char *p = ran; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 3);
}

/* A host without lvm2 or zfsutils: empty lists, as one without any. */
static void test_scan_not_installed(void **state)
{
	cmd_dryrun_on("vgs", -ENOENT, NULL, NULL);
	cmd_dryrun_on("lvs", -ENOENT, NULL, NULL);
	cmd_dryrun_on("zpool", -ENOENT, NULL, NULL);
	_cleanup_json_ json_t *vg = scan_data(SCAN("root@pam", "/lvm"));
	_cleanup_json_ json_t *thin = scan_data(SCAN("root@pam", "/lvmthin?vg=pve"));
	_cleanup_json_ json_t *pools = scan_data(SCAN("root@pam", "/zfs"));
	assert_int_equal(json_array_size(vg), 0);
	assert_int_equal(json_array_size(thin), 0);
	assert_int_equal(json_array_size(pools), 0);
	free(cmd_dryrun_take());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scan_not_installed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
