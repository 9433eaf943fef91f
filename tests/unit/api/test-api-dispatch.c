/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The choke point end to end, without sockets: each case is a raw HTTP
 * request (parsed by the real http parser) and the answer Proxmox clients
 * expect: status, reason phrase and body.  Placeholders in requests:
 *   {ROOT}   a root@pam ticket        {ROOTCSRF}   its CSRF token
 *   {ALICE}  a ticket of alice@pve    {ALICECSRF}  hers
 *   {TOKEN}  alice@pve!ci=<secret>    {NODE}       the node name
 *   {OLD}    an expired root ticket   {BAD}        a tampered root ticket
 *   {LEN}    the length of the body (after expansion)
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "access.h"
#include "api.h"
#include "auth.h"
#include "error.h"
#include "guest.h"
#include "fileio.h"
#include "http-parse.h"
#include "http.h"
#include "node-stats.h"
#include "paths.h"
#include "strbuf.h"
#include "task.h"
#include "usercfg.h"
#include "xalloc.h"

struct dcase {
	const char *request;
	int status;
	const char *reason; /* exact reason phrase, or NULL to skip */
	const char *body;   /* "" = empty body; else a JSON object that must be a subset */
	unsigned min_delay; /* delay_ms at least */
};

#define CRLF "\r\n"

static const struct dcase cases[] = {
    /* envelope */
    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 200, "OK",
     "{\"data\":{\"version\":\"" CTVM_PVE_VERSION "\"}}", 0},
    {"GET /api2/json/cluster/nextid HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 200,
     NULL, "{\"data\":\"100\"}", 0},
    {"GET /api2/json/ HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 200, NULL,
     "{\"data\":[{\"subdir\":\"version\"}]}", 0},
    /* the ticket in the Authorization header (Telmate) and a tolerated CSRF on GET */
    {"GET /api2/json/nodes HTTP/1.1" CRLF "Authorization: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF CRLF,
     200, NULL, "{\"data\":[{\"node\":\"{NODE}\",\"status\":\"online\"}]}", 0},
    /* 401s from authentication have an empty body */
    {"GET /api2/json/version HTTP/1.1" CRLF CRLF, 401, "No ticket", "", 0},
    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={BAD}" CRLF CRLF, 401,
     "Authentication failed!", "", 0},
    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={OLD}" CRLF CRLF, 401,
     "Authentication failed!", "", 0},
    {"POST /api2/json/nodes/{NODE}/startall HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "Content-Length: 0" CRLF CRLF,
     401, "Permission denied - invalid csrf token", "", 0},
    {"POST /api2/json/nodes/{NODE}/startall HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Length: 0" CRLF CRLF,
     401, "Permission denied - invalid csrf token", "", 0},
    /* a wrong token secret is slowed down */
    {"GET /api2/json/version HTTP/1.1" CRLF
     "Authorization: PVEAPIToken=alice@pve!ci=00000000-0000-0000-0000-000000000000" CRLF CRLF,
     401, "Authentication failed!", "", 50},
    {"GET /api2/json/version HTTP/1.1" CRLF "Authorization: PVEAPIToken={TOKEN}" CRLF CRLF, 200,
     NULL, "{\"data\":{}}", 0},
    /* failed login: 401 with {"data":null}, delayed */
    {"POST /api2/json/access/ticket HTTP/1.1" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "username=alice@pve&password=wrongpw",
     401, "authentication failure", "{\"data\":null}", 50},
    /* a good login, and renewal with the ticket as password */
    {"POST /api2/json/access/ticket HTTP/1.1" CRLF "Content-Type: application/json" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "{\"username\":\"alice\",\"realm\":\"pve\",\"password\":\"s3cret!!\"}",
     200, NULL, "{\"data\":{\"username\":\"alice@pve\"}}", 0},
    {"POST /api2/json/access/ticket HTTP/1.1" CRLF "Content-Length: 0" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF CRLF,
     400, "Parameter verification failed.",
     "{\"data\":null,\"errors\":{\"username\":\"property is missing and it is not optional\"}}", 0},
    /* 501 for unknown routes and formats */
    {"GET /api2/json/nosuch HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 501,
     "Method 'GET /nosuch' not implemented", "{\"data\":null}", 0},
    {"PUT /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Length: 0" CRLF CRLF,
     501, "Method 'PUT /version' not implemented", "{\"data\":null}", 0},
    {"GET /api2/xml/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 501,
     "no such uri", NULL, 0},
    /* 400: bad values, unknown params, booleans only 0/1, path duplicates */
    {"GET /api2/json/cluster/nextid?vmid=abc HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, "Parameter verification failed.",
     "{\"errors\":{\"vmid\":\"type check ('integer') failed - got 'abc'\"}}", 0},
    {"GET /api2/json/cluster/nextid?foo=1 HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, NULL,
     "{\"errors\":{\"foo\":\"property is not defined in schema and the schema does not allow "
     "additional properties\"}}",
     0},
    {"GET /api2/json/nodes/{NODE}/tasks?errors=true HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, NULL, "{\"errors\":{\"errors\":\"type check ('boolean') failed - got 'true'\"}}", 0},
    {"GET /api2/json/nodes/{NODE}/status?node=other HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, NULL,
     "{\"errors\":{\"node\":\"duplicate parameter (already defined in URI) with conflicting "
     "values!\"}}",
     0},
    {"GET /api2/json/nodes/{NODE}/status?node={NODE} HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     200, NULL, "{\"data\":{}}", 0},
    /* path unescaping */
    {"GET /api2/json/nodes/%74estnode/status HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     200, NULL, "{\"data\":{\"cpuinfo\":{}}}", 0},
    {"GET /api2/json/nodes/othernode/status HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     500, "no such node 'othernode'", NULL, 0},
    /* the node index: Proxmox's subdirectories, in its order, that ctvm serves */
    {"GET /api2/json/nodes/{NODE} HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF, 200,
     NULL,
     "{\"data\":[{\"name\":\"disks\"},{\"name\":\"lxc\"},{\"name\":\"network\"},"
     "{\"name\":\"qemu\"},{\"name\":\"rrd\"},{\"name\":\"rrddata\"},{\"name\":\"scan\"},"
     "{\"name\":\"startall\"},{\"name\":\"status\"},{\"name\":\"stopall\"},"
     "{\"name\":\"storage\"},{\"name\":\"tasks\"},{\"name\":\"termproxy\"},"
     "{\"name\":\"vncshell\"}]}",
     0},
    {"GET /api2/json/nodes/{NODE}/tasks/garbage/status HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, NULL, "{\"errors\":{\"upid\":\"unable to parse worker upid\"}}", 0},
    /* a body on GET is refused by the http layer and answered in the envelope */
    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "Content-Length: {LEN}" CRLF CRLF "a=b",
     501, "Unexpected content for method 'GET'", "{\"data\":null}", 0},
    /* VMs (api-qemu.c): an empty list, never 501; PVE's messages */
    {"GET /api2/json/nodes/{NODE}/qemu HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 200,
     NULL, "{\"data\":[]}", 0},
    {"GET /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/qemu-server/100.conf' does not exist", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/qemu/101/status/current HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Audit)", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "args=-no-reboot",
     403, "only root can set 'args' config", NULL, 0},
    /* a host file as import-from (qm disk import): root@pam's alone, an
     * absolute path without ".." */
    {"PUT /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "unused0=vms%3A0%2Cimport-from%3D%2Fsrv%2Fimg.qcow2",
     403, "only root can set 'unused0' config", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "scsi1=vms%3A0%2Cimport-from%3D%2Fsrv%2Fimg.qcow2",
     403, "only root can set 'scsi1' config", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "scsi1=vms%3A0%2Cimport-from%3D%2Fsrv%2F..%2Fetc%2Fshadow",
     400, "Parameter verification failed.",
     "{\"errors\":{\"scsi1\":\"invalid format - import-from: '/srv/../etc/shadow' is not an "
     "absolute path without '..'\"}}",
     0},
    {"PUT /api2/json/nodes/{NODE}/qemu/100/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "unused0=vms%3A1%2Cimport-from%3D%2Fsrv%2Fimg.raw",
     400, "Parameter verification failed.",
     "{\"errors\":{\"unused0\":\"import-from needs a new disk: <storage>:0\"}}", 0},
    {"POST /api2/json/nodes/{NODE}/qemu HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "vmid=100&ostype=dos",
     400, "Parameter verification failed.", NULL, 0},
    {"DELETE /api2/json/nodes/{NODE}/qemu/100 HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/qemu-server/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/qemu/100/status/start HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/qemu-server/100.conf' does not exist", NULL, 0},
    /* containers (api-lxc.c): the shared handlers under /lxc, PVE's words */
    {"GET /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, 200,
     NULL, "{\"data\":[]}", 0},
    {"GET /api2/json/nodes/{NODE}/lxc/100/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/100/pending HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/101/status/current HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Audit)", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/101/rrddata?timeframe=hour HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Audit)", NULL, 0},
    {"DELETE /api2/json/nodes/{NODE}/lxc/100 HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"DELETE /api2/json/nodes/{NODE}/lxc/100 HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF CRLF,
     403, "Permission check failed (/vms/100, VM.Allocate)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/start HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/start HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/stop HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/stop HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/shutdown HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/shutdown HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/reboot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/reboot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/suspend HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/suspend HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/status/resume HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     500, "Configuration file 'nodes/testnode/lxc/100.conf' does not exist", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/status/resume HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.PowerMgmt)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "vmid=100&ostemplate=local%3Avztmpl%2Ft.tar.gz&password=abc",
     400, "Parameter verification failed.", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "vmid=100",
     400, "Parameter verification failed.", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "vmid=100&ostemplate=local%3Avztmpl%2Ft.tar.gz&lxc.apparmor.profile=unconfined",
     400, "Parameter verification failed.", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "vmid=101&ostemplate=local%3Avztmpl%2Ft.tar.gz",
     403, NULL, NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "vmid=102&ostemplate=local%3Avztmpl%2Ft.tar.gz&unprivileged=0",
     403, "Permission check failed (/, Sys.Modify)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "vmid=102&ostemplate=local%3Avztmpl%2Ft.tar.gz&mp0=%2Fsrv%2Cmp%3D%2Fsrv",
     403, "permission check failed (mount point type bind is only allowed for root@pam)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "vmid=102&ostemplate=local%3Avztmpl%2Ft.tar.gz&features=keyctl%3D1",
     403,
     "permission check failed (changing feature flags (except nesting) is only allowed for "
     "root@pam)",
     NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF
     "vmid=102&ostemplate=local%3Avztmpl%2Ft.tar.gz&dev0=%2Fdev%2Fnull",
     403, "permission check failed (configuring device passthrough is only allowed for root@pam)",
     NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "mp0=%2Fsrv%2Cmp%3D%2Fsrv",
     403, "permission check failed (mount point type bind is only allowed for root@pam)", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "features=fuse%3D1",
     403,
     "permission check failed (changing feature flags (except nesting) is only allowed for "
     "root@pam)",
     NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "lxc.cgroup.pids.max=64",
     400, "Parameter verification failed.", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "hostname=ok",
     200, NULL, "{\"data\":null}", 0},
    {"GET /api2/json/nodes/{NODE}/lxc/102/interfaces HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     500, "CT 102 not running", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/101/interfaces HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Audit)", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/101/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Audit)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "snapname=s1",
     403, "Permission check failed (/vms/100, VM.Snapshot)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "snapname=s1&vmstate=1",
     400, "Parameter verification failed.", NULL, 0},
    {"DELETE /api2/json/nodes/{NODE}/lxc/102/snapshot/s1 HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF CRLF,
     500, "snapshot 's1' does not exist", NULL, 0},
    /* snapshot names are pve-configid: a letter first, then [a-zA-Z0-9_-] */
    {"POST /api2/json/nodes/{NODE}/lxc/100/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "snapname=-bad",
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '-bad'\"}}", 0},
    {"POST /api2/json/nodes/{NODE}/qemu/100/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "snapname=-bad",
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '-bad'\"}}", 0},
    {"POST /api2/json/nodes/{NODE}/qemu/100/snapshot HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "snapname=1st",
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '1st'\"}}", 0},
    {"DELETE /api2/json/nodes/{NODE}/qemu/100/snapshot/_x HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF CRLF,
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '_x'\"}}", 0},
    {"POST /api2/json/nodes/{NODE}/lxc/100/snapshot/-bad/rollback HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '-bad'\"}}", 0},
    {"POST /api2/json/nodes/{NODE}/qemu/100/clone HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "newid=103&snapname=-bad",
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapname\":\"invalid format - invalid configuration ID '-bad'\"}}", 0},
    {"GET /api2/json/nodes/{NODE}/qemu/100/config?snapshot=-bad HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     400, "Parameter verification failed.",
     "{\"errors\":{\"snapshot\":\"invalid format - invalid configuration ID '-bad'\"}}", 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/100/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "delete=memory,-x",
     400, "Parameter verification failed.",
     "{\"errors\":{\"delete\":\"invalid format - invalid configuration ID '-x'\"}}", 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/resize HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "disk=mp0&size=%2B1G",
     500, "you can't resize a disk that is not a volume", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/clone HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "newid=103",
     403, "Permission check failed (/vms/101, VM.Clone)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/102/clone HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "newid=103",
     403, "Permission check failed (/vms/103, VM.Allocate)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/102/clone HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF
     "CSRFPreventionToken: {ROOTCSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "newid=103&name=x",
     400, "Parameter verification failed.", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/template HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Length: 0" CRLF CRLF,
     403, "Permission check failed (/vms/101, VM.Allocate)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/101/move_volume HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF "CSRFPreventionToken: {ALICECSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "volume=rootfs&storage=local",
     403, "Permission check failed (/vms/101, VM.Config.Disk)", NULL, 0},
    {"POST /api2/json/nodes/{NODE}/lxc/102/move_volume HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ROOT}" CRLF "CSRFPreventionToken: {ROOTCSRF}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "volume=mp0&storage=local",
     500, "you can't move a disk that is not a volume", NULL, 0},
    /* root@pam's bind mount is neither replaced nor deleted by anyone else */
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "delete=mp0",
     403, "permission check failed (mount point type bind is only allowed for root@pam)", NULL, 0},
    {"PUT /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF
     "CSRFPreventionToken: {ALICECSRF}" CRLF "Content-Type: application/x-www-form-urlencoded" CRLF
     "Content-Length: {LEN}" CRLF CRLF "delete=unprivileged",
     403, "permission check failed (privileged containers are only allowed for root@pam)", NULL, 0},
    {"GET /api2/json/nodes/{NODE}/lxc/102/config HTTP/1.1" CRLF
     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     200, NULL, "{\"data\":{\"hostname\":\"ok\",\"mp0\":\"/srv,mp=/srv\",\"unprivileged\":1}}", 0},
    {"GET /api2/json/nodes/{NODE}/network HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF,
     200, NULL, "{\"data\":[]}", 0},
    /* 403: alice may audit /vms/100 only */
    {"GET /api2/json/nodes/{NODE}/status HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
     403, "Permission check failed (/nodes/{NODE}, Sys.Audit)", "{\"data\":null}", 0},
    {"GET /api2/json/cluster/status HTTP/1.1" CRLF "Authorization: PVEAPIToken={TOKEN}" CRLF CRLF,
     403, "Permission check failed (/, Sys.Audit)", NULL, 0},
    /* ...and sees the node without its figures */
    {"GET /api2/json/nodes HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF, 200, NULL,
     "{\"data\":[{\"node\":\"{NODE}\"}]}", 0},
    /* tokens are refused where Proxmox refuses them */
    {"POST /api2/json/access/ticket HTTP/1.1" CRLF "Authorization: PVEAPIToken={TOKEN}" CRLF
     "Content-Type: application/x-www-form-urlencoded" CRLF "Content-Length: {LEN}" CRLF CRLF
     "username=alice@pve&password=wrongpw",
     401, "authentication failure", NULL, 0},
};

static struct {
	char dir[64];
	struct ctvm_paths *paths;
	struct api_context ctx;
	char *root, *root_csrf, *alice, *alice_csrf, *token, *old, *bad;
} g;

static int add_alice(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	struct usercfg_user *u;
	int r = usercfg_add_user(cfg, "alice@pve", &u, err);
	if (r < 0)
		return r;
	u->enable = true;
	r = access_secrets_set_password(sec, "alice@pve", "s3cret!!", err);
	if (r < 0)
		return r;
	struct usercfg_token *t;
	r = usercfg_add_token(cfg, "alice@pve", "ci", &t, err);
	if (r < 0)
		return r;
	t->privsep = false;
	char *secret = access_secrets_new_token(sec, "alice@pve!ci");
	*(char **)arg = secret;
	r = usercfg_acl_set(cfg, "/vms/100", ACL_SUBJECT_USER, "alice@pve", "PVEVMUser", true, err);
	/* every VM privilege on 102, to meet the root@pam-only rules */
	if (r == 0)
		r = usercfg_acl_set(cfg, "/vms/102", ACL_SUBJECT_USER, "alice@pve", "PVEVMAdmin",
		                    true, err);
	return r;
}

static int setup(void **state)
{
	struct error *e = NULL;
	snprintf(g.dir, sizeof(g.dir), "/tmp/ctvm-dispatch-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	g.paths = ctvm_paths_new(g.dir);
	assert_int_equal(ctvm_paths_create(g.paths), 0);
	g.ctx.paths = g.paths;
	g.ctx.node = xstrdup("testnode");
	g.ctx.pam_service = xstrdup("ctvm");
	g.ctx.login_fail_delay_ms = 100;
	assert_int_equal(auth_keys_load(g.paths->etc, g.paths->priv, &g.ctx.keys, &e), 0);
	g.ctx.access = access_store_new(g.paths, &e);
	assert_non_null(g.ctx.access);
	char *secret = NULL;
	assert_int_equal(access_store_update(g.ctx.access, NULL, add_alice, &secret, &e), 0);
	struct task_manager_config tc = {.node = "testnode", .dir = g.paths->tasks};
	g.ctx.tasks = task_manager_new(&tc, &e);
	assert_non_null(g.ctx.tasks);
	g.ctx.stats = node_stats_new("/", 1000);
	g.ctx.guests = guest_store_new(g.paths, "testnode", NULL);
	api_context_init(&g.ctx);
	/* container 102 (alice's, PVEVMAdmin) with root@pam's bind mount */
	char *ctdir = xasprintf("%s/lxc", g.paths->etc), *ct = xasprintf("%s/102.conf", ctdir);
	assert_int_equal(mkdir_p(ctdir, 0755), 0);
	static const char ct102[] = "hostname: ct102\nmp0: /srv,mp=/srv\n"
	                            "rootfs: local:102/subvol-102-disk-0.subvol,size=0T\n"
	                            "unprivileged: 1\n";
	assert_int_equal(write_file_atomic(ct, ct102, sizeof(ct102) - 1, 0640, NULL), 0);
	free(ct);
	free(ctdir);

	time_t now = time(NULL);
	g.root = auth_ticket_create(g.ctx.keys, "root@pam", now);
	g.root_csrf = auth_csrf_create(g.ctx.keys, "root@pam", now);
	g.alice = auth_ticket_create(g.ctx.keys, "alice@pve", now);
	g.alice_csrf = auth_csrf_create(g.ctx.keys, "alice@pve", now);
	g.old = auth_ticket_create(g.ctx.keys, "root@pam", now - 7300);
	g.bad = xstrdup(g.root);
	size_t l = strlen(g.bad);
	g.bad[l - 3] = g.bad[l - 3] == 'A' ? 'B' : 'A';
	g.token = xasprintf("alice@pve!ci=%s", secret);
	free(secret);
	return 0;
}

static int teardown(void **state)
{
	api_context_release(&g.ctx);
	node_stats_free(g.ctx.stats);
	guest_store_free(g.ctx.guests);
	task_manager_free(g.ctx.tasks);
	access_store_free(g.ctx.access);
	auth_keys_free(g.ctx.keys);
	free(g.ctx.node);
	free(g.ctx.pam_service);
	ctvm_paths_free(g.paths);
	free(g.root);
	free(g.root_csrf);
	free(g.alice);
	free(g.alice_csrf);
	free(g.old);
	free(g.bad);
	free(g.token);
	return 0;
}

static char *expand(const char *s)
{
	const struct {
		const char *key, *value;
	} vars[] = {
	    {"{ROOTCSRF}", g.root_csrf},
	    {"{ROOT}", g.root},
	    {"{ALICECSRF}", g.alice_csrf},
	    {"{ALICE}", g.alice},
	    {"{TOKEN}", g.token},
	    {"{NODE}", g.ctx.node},
	    {"{OLD}", g.old},
	    {"{BAD}", g.bad},
	};
	struct strbuf sb = STRBUF_INIT;
	while (*s) {
		bool done = false;
		for (size_t i = 0; i < ARRAY_SIZE(vars) && !done; i++)
			if (str_startswith(s, vars[i].key)) {
				strbuf_addstr(&sb, vars[i].value);
				s += strlen(vars[i].key);
				done = true;
			}
		if (!done)
			strbuf_addch(&sb, *s++);
	}
	char *out = strbuf_detach(&sb, NULL);
	char *len = strstr(out, "{LEN}");
	char *body = strstr(out, "\r\n\r\n");
	if (len && body) {
		char *fixed =
		    xasprintf("%.*s%zu%s", (int)(len - out), out, strlen(body + 4), len + 5);
		free(out);
		out = fixed;
	}
	return out;
}

/* Every key of want is in got with an equal value (recursively; arrays:
 * element-wise prefix). */
static bool json_subset(json_t *want, json_t *got)
{
	if (json_is_object(want)) {
		const char *k;
		json_t *v;
		json_object_foreach (want, k, v) {
			if (!json_subset(v, json_object_get(got, k)))
				return false;
		}
		return json_is_object(got);
	}
	if (json_is_array(want)) {
		size_t i;
		json_t *v;
		json_array_foreach (want, i, v) {
			if (!json_subset(v, json_array_get(got, i)))
				return false;
		}
		return json_is_array(got);
	}
	return json_equal(want, got);
}

static void test_cases(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct dcase *c = &cases[i];
		_cleanup_free_ char *raw = expand(c->request);
		/* fix up Content-Length for cases whose body length changed by expansion */
		struct http_request *req = NULL;
		struct error *e = NULL;
		size_t used;
		int r = http_request_parse(raw, strlen(raw), NULL, &req, &used, &e);
		if (r < 0)
			fail_msg("case %zu: request does not parse: %s", i, e ? e->msg : "?");
		snprintf(req->peer_addr, sizeof(req->peer_addr), "192.0.2.%zu", i + 1);
		struct http_response resp = {0};
		api_handle_request(req, &resp, &g.ctx);

		_cleanup_free_ char *want_reason = c->reason ? expand(c->reason) : NULL;
		if (resp.status != c->status)
			fail_msg("case %zu: status %d (%s), want %d; body %.*s", i, resp.status,
			         resp.reason ? resp.reason : "", c->status, (int)resp.body_len,
			         resp.body ? resp.body : "");
		if (want_reason) {
			const char *got = resp.reason ? resp.reason : http_status_text(resp.status);
			if (!streq(got, want_reason))
				fail_msg("case %zu: reason '%s', want '%s'", i, got, want_reason);
		}
		if (c->body && !c->body[0] && resp.body_len != 0)
			fail_msg("case %zu: body should be empty, got %.*s", i, (int)resp.body_len,
			         resp.body);
		if (c->body && c->body[0]) {
			_cleanup_free_ char *wb = expand(c->body);
			json_error_t je;
			json_t *want = json_loads(wb, 0, &je);
			json_t *got = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &je);
			if (!got || !json_subset(want, got))
				fail_msg("case %zu: body %.*s, want at least %s", i,
				         (int)resp.body_len, resp.body ? resp.body : "", wb);
			json_decref(want);
			json_decref(got);
		}
		if (resp.delay_ms < c->min_delay)
			fail_msg("case %zu: delay %u, want >= %u", i, resp.delay_ms, c->min_delay);
		http_response_release(&resp);
		http_request_free(req);
		error_free(e);
	}
}

/* The reason phrase and the message carry the handler's text exactly. */
static void test_login_answer(void **state)
{
	_cleanup_free_ char *raw = expand("POST /api2/json/access/ticket HTTP/1.1\r\n"
	                                  "Content-Type: application/x-www-form-urlencoded\r\n"
	                                  "Content-Length: {LEN}\r\n\r\n"
	                                  "username=alice@pve&password=s3cret%21%21");
	struct http_request *req = NULL;
	size_t used;
	assert_int_equal(http_request_parse(raw, strlen(raw), NULL, &req, &used, NULL), 0);
	struct http_response resp = {0};
	api_handle_request(req, &resp, &g.ctx);
	assert_int_equal(resp.status, 200);
	json_error_t je;
	json_t *body = json_loadb(resp.body, resp.body_len, 0, &je);
	json_t *data = json_object_get(body, "data");
	const char *ticket = json_string_value(json_object_get(data, "ticket"));
	assert_non_null(ticket);
	assert_true(str_startswith(ticket, "PVE:alice@pve:"));
	assert_non_null(json_string_value(json_object_get(data, "CSRFPreventionToken")));
	assert_true(json_is_object(json_object_get(data, "cap")));
	/* the cap reflects PVEVMUser on /vms/100 */
	json_t *vms = json_object_get(json_object_get(data, "cap"), "vms");
	assert_true(json_is_object(vms));
	json_decref(body);
	http_response_release(&resp);
	http_request_free(req);
}

/* The choke point tells the http layer which requests carried valid
 * credentials: only their connections are spared under a connection flood. */
static void test_marks_authenticated(void **state)
{
	static const struct {
		const char *request;
		bool authenticated;
		int local_uid; /* >= 0: on the unix socket, from this uid */
	} marks[] = {
	    {"GET /api2/json/version HTTP/1.1" CRLF CRLF, true, 0},
	    {"GET /api2/json/version HTTP/1.1" CRLF CRLF, false, 1000},
	    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={ROOT}" CRLF CRLF, true,
	     -1},
	    {"GET /api2/json/version HTTP/1.1" CRLF "Authorization: PVEAPIToken={TOKEN}" CRLF CRLF,
	     true, -1},
	    /* authenticated, even when the method then fails */
	    {"GET /api2/json/nodes/{NODE}/status HTTP/1.1" CRLF
	     "Cookie: PVEAuthCookie={ALICE}" CRLF CRLF,
	     true, -1},
	    {"GET /api2/json/version HTTP/1.1" CRLF CRLF, false, -1},
	    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={BAD}" CRLF CRLF, false,
	     -1},
	    {"GET /api2/json/version HTTP/1.1" CRLF "Cookie: PVEAuthCookie={OLD}" CRLF CRLF, false,
	     -1},
	    {"GET /api2/json/version HTTP/1.1" CRLF
	     "Authorization: PVEAPIToken=alice@pve!ci=00000000-0000-0000-0000-000000000000" CRLF
	         CRLF,
	     false, -1},
	    /* a ticket without its CSRF token on a change */
	    {"POST /api2/json/nodes/{NODE}/startall HTTP/1.1" CRLF
	     "Cookie: PVEAuthCookie={ROOT}" CRLF "Content-Length: 0" CRLF CRLF,
	     false, -1},
	    /* a login (even a good one) proves nothing about the connection yet */
	    {"POST /api2/json/access/ticket HTTP/1.1" CRLF "Content-Type: application/json" CRLF
	     "Content-Length: {LEN}" CRLF CRLF
	     "{\"username\":\"alice\",\"realm\":\"pve\",\"password\":\"s3cret!!\"}",
	     false, -1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		_cleanup_free_ char *raw = expand(marks[i].request);
		struct http_request *req = NULL;
		size_t used;
		assert_int_equal(http_request_parse(raw, strlen(raw), NULL, &req, &used, NULL), 0);
		snprintf(req->peer_addr, sizeof(req->peer_addr), "192.0.2.%zu", 100 + i);
		if (marks[i].local_uid >= 0) {
			req->local_socket = req->has_peer_cred = true;
			req->peer_uid = (uid_t)marks[i].local_uid;
		}
		assert_false(http_request_authenticated(req));
		struct http_response resp = {0};
		api_handle_request(req, &resp, &g.ctx);
		if (http_request_authenticated(req) != marks[i].authenticated)
			fail_msg("mark %zu: authenticated %d, want %d", i,
			         http_request_authenticated(req), marks[i].authenticated);
		http_response_release(&resp);
		http_request_free(req);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_login_answer),
	    cmocka_unit_test(test_marks_authenticated),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
