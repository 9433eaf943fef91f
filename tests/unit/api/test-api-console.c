/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The console rows at the choke point (docs/consoles.md), as data: who gets
 * a ticket for the node shell through vncshell (termproxy's realm rule) and
 * for a container's console (VM.Console, a running container).  Opening
 * the consoles needs a daemon: tests/integration/test_node_shell.py and
 * test_ct_console.py.  The users:
 *   alice@pve   Administrator on /      carol@pam  PVESysAdmin on /nodes
 *   bob@pve     PVEVMUser on /vms/100   root@pam has a token "ci"
 * CT 100 and VM 105 exist and do not run; CT 102 does not exist.
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
#include "usercfg.h"
#include "access.h"
#include "xalloc.h"

#define CRLF "\r\n"
#define AS(user, verb, path, body)                                                          \
	verb " /api2/json" path " HTTP/1.1" CRLF "Cookie: PVEAuthCookie={T:" user "}" CRLF  \
	     "CSRFPreventionToken: {C:" user "}" CRLF "Content-Type: application/json" CRLF \
	     "Content-Length: {LEN}" CRLF CRLF body
#define TOKEN(verb, path, body)                                       \
	verb " /api2/json" path " HTTP/1.1" CRLF                      \
	     "Authorization: PVEAPIToken=root@pam!ci={V:SECRET}" CRLF \
	     "Content-Type: application/json" CRLF "Content-Length: {LEN}" CRLF CRLF body

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:alice@pve:1:0::::::\n"
                               "user:bob@pve:1:0::::::\n"
                               "user:carol@pam:1:0::::::\n"
                               "\n"
                               "acl:1:/:alice@pve:Administrator:\n"
                               "acl:1:/nodes:carol@pam:PVESysAdmin:\n"
                               "acl:1:/vms/100:bob@pve:PVEVMUser:\n";

static const struct dcase vncshell_cases[] = {
    /* the node shell is for the host's accounts: a pve Administrator is not one */
    {AS("alice@pve", "POST", "/nodes/{NODE}/vncshell", "{}"), 403,
     "Permission check failed (realm != pam)", NULL},
    {AS("alice@pve", "POST", "/nodes/{NODE}/vncshell", "{\"websocket\":1}"), 403,
     "Permission check failed (realm != pam)", NULL},
    /* a token, even root's */
    {TOKEN("POST", "/nodes/{NODE}/vncshell", "{}"), 403, NULL, NULL},
    /* cmd is root@pam's alone, even login */
    {AS("carol@pam", "POST", "/nodes/{NODE}/vncshell", "{\"cmd\":\"login\"}"), 403,
     "Permission check failed (user != root@pam)", NULL},
    {AS("carol@pam", "POST", "/nodes/{NODE}/vncshell", "{}"), 200, NULL,
     "{\"data\":{\"user\":\"carol@pam\",\"cert\":\"\",\"upid\":\"\"}}"},
    {AS("bob@pve", "POST", "/nodes/{NODE}/vncshell", "{}"), 403, NULL, NULL},
    {AS("root@pam", "POST", "/nodes/{NODE}/vncshell", "{\"cmd\":\"upgrade\"}"), 501,
     "command 'upgrade' is not available on ctvm", NULL},
    {AS("root@pam", "POST", "/nodes/{NODE}/vncshell", "{\"websocket\":1,\"width\":800}"), 200, NULL,
     "{\"data\":{\"user\":\"root@pam\",\"cert\":\"\",\"upid\":\"\"}}"},
    {AS("root@pam", "POST", "/nodes/{NODE}/vncshell", "{\"width\":8}"), 400,
     "Parameter verification failed.", NULL},
    /* termproxy keeps its rule */
    {AS("alice@pve", "POST", "/nodes/{NODE}/termproxy", "{}"), 403,
     "Permission check failed (realm != pam)", NULL},
};

static const struct dcase ct_cases[] = {
    /* VM.Console on the container's path */
    {AS("bob@pve", "POST", "/nodes/{NODE}/lxc/101/termproxy", "{}"), 403,
     "Permission check failed (/vms/101, VM.Console)", NULL},
    {AS("bob@pve", "POST", "/nodes/{NODE}/lxc/101/vncproxy", "{}"), 403,
     "Permission check failed (/vms/101, VM.Console)", NULL},
    /* a container that does not run has no console (PVE's words) */
    {AS("bob@pve", "POST", "/nodes/{NODE}/lxc/100/termproxy", "{}"), 500, "CT 100 not running",
     NULL},
    {AS("alice@pve", "POST", "/nodes/{NODE}/lxc/100/vncproxy", "{\"websocket\":1}"), 500,
     "CT 100 not running", NULL},
    {AS("alice@pve", "POST", "/nodes/{NODE}/lxc/102/termproxy", "{}"), 500, NULL, NULL},
    {AS("alice@pve", "POST", "/nodes/{NODE}/lxc/100/vncproxy", "{\"height\":9999}"), 400,
     "Parameter verification failed.", NULL},
};

/* ctvm's screen extensions: screenshot, sendkey's text */
static const struct dcase vm_cases[] = {
    {AS("bob@pve", "GET", "/nodes/{NODE}/qemu/105/screenshot", ""), 403,
     "Permission check failed (/vms/105, VM.Console)", NULL},
    {AS("alice@pve", "GET", "/nodes/{NODE}/qemu/105/screenshot", ""), 500, "VM 105 not running",
     NULL},
    {AS("bob@pve", "PUT", "/nodes/{NODE}/qemu/105/sendkey", "{\"text\":\"a\"}"), 403,
     "Permission check failed (/vms/105, VM.Console)", NULL},
    /* what en-us cannot type is named, before anything runs */
    {AS("alice@pve", "PUT", "/nodes/{NODE}/qemu/105/sendkey", "{\"text\":\"1\u00e9\"}"), 400,
     "Parameter verification failed.",
     "{\"errors\":{\"text\":\"cannot type U+00E9 with keyboard en-us\"}}"},
    {AS("alice@pve", "PUT", "/nodes/{NODE}/qemu/105/sendkey", "{\"text\":\"a\",\"key\":\"a\"}"),
     400, "Parameter verification failed.", NULL},
    {AS("alice@pve", "PUT", "/nodes/{NODE}/qemu/105/sendkey", "{}"), 400,
     "Parameter verification failed.", "{\"errors\":{\"key\":\"property is missing\"}}"},
    {AS("alice@pve", "PUT", "/nodes/{NODE}/qemu/105/sendkey", "{\"text\":\"ab\"}"), 500,
     "VM 105 not running", NULL},
    /* showcmd names host paths: root@pam's alone, even for an Administrator */
    {AS("alice@pve", "GET", "/nodes/{NODE}/qemu/105/showcmd", ""), 403, NULL, NULL},
    {TOKEN("GET", "/nodes/{NODE}/qemu/105/showcmd", ""), 403, NULL, NULL},
    {AS("root@pam", "GET", "/nodes/{NODE}/qemu/106/showcmd", ""), 500, NULL, NULL},
    {AS("root@pam", "GET", "/nodes/{NODE}/qemu/105/showcmd", ""), 200, NULL, NULL},
};

static void test_vm(void **state)
{
	dispatch_run_cases(vm_cases, ARRAY_SIZE(vm_cases));
}

static void test_vncshell(void **state)
{
	dispatch_run_cases(vncshell_cases, ARRAY_SIZE(vncshell_cases));
}

static void test_ct(void **state)
{
	dispatch_run_cases(ct_cases, ARRAY_SIZE(ct_cases));
}

static int setup(void **state)
{
	dispatch_setup(user_cfg, dispatch_seed_root_token, NULL);
	const char *etc = dispatch_context()->paths->etc;
	_cleanup_free_ char *dir = path_join(etc, "lxc");
	_cleanup_free_ char *conf = path_join(dir, "100.conf");
	static const char text[] = "arch: amd64\nhostname: ct100\nostype: debian\n";
	assert_int_equal(mkdir_p(dir, 0755), 0);
	assert_int_equal(write_file_atomic(conf, text, strlen(text), 0640, NULL), 0);
	_cleanup_free_ char *qdir = path_join(etc, "qemu-server");
	_cleanup_free_ char *qconf = path_join(qdir, "105.conf");
	/* kvm: 0, so showcmd answers alike on hosts with and without /dev/kvm */
	static const char qtext[] = "kvm: 0\nmemory: 64\n";
	assert_int_equal(mkdir_p(qdir, 0755), 0);
	assert_int_equal(write_file_atomic(qconf, qtext, strlen(qtext), 0640, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	dispatch_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vncshell),
	    cmocka_unit_test(test_ct),
	    cmocka_unit_test(test_vm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
