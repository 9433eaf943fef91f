/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Consoles (docs/consoles.md): POST .../qemu/{vmid}/vncproxy hands out a
 * one-time ticket, GET .../qemu/{vmid}/vncwebsocket checks it and upgrades
 * the connection to a WebSocket relayed to the VM's VNC socket.
 *
 * Tickets live in memory in this (the privileged) process: a restart
 * forgets them, which only costs an open console page a reload.  A ticket
 * is bound to the user, the guest and the port it was issued with, expires
 * after CONSOLE_TICKET_TTL_S and is gone once used.  Proxmox signs its VNC
 * tickets with the auth key instead; ctvm does not need them to survive a
 * restart or to travel to another node.
 */
#include "common.h"

#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "guest.h"
#include "http-websocket.h"
#include "log.h"
#include "xalloc.h"

#define CONSOLE_TICKET_TTL_S 30
/* Tickets alive at once; the oldest is forgotten when full. */
#define CONSOLE_MAX_TICKETS 64
#define CONSOLE_TICKET_LEN  32
/* Ports handed out: nominal (the relay needs none), as Proxmox's 5900+. */
#define CONSOLE_PORT_BASE 5900
#define CONSOLE_PORT_SPAN 100

struct console_ticket {
	char ticket[CONSOLE_TICKET_LEN + 1]; /* "" when the slot is free */
	char userid[128];
	long vmid;
	int serial; /* -1: the VNC screen; N: serialN (termproxy) */
	unsigned port;
	int64_t expires; /* CLOCK_MONOTONIC seconds */
};

static pthread_mutex_t tickets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct console_ticket tickets[CONSOLE_MAX_TICKETS];
static unsigned next_port;

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A fresh ticket for userid on vmid; its first 8 characters are also the
 * VNC password (VNC authentication uses 8 bytes). */
static int ticket_issue(const char *userid, long vmid, int serial, struct console_ticket *ret)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t rnd[CONSOLE_TICKET_LEN];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	struct console_ticket t = {
	    .vmid = vmid, .serial = serial, .expires = mono_s() + CONSOLE_TICKET_TTL_S};
	for (size_t i = 0; i < CONSOLE_TICKET_LEN; i++)
		t.ticket[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	snprintf(t.userid, sizeof(t.userid), "%s", userid);

	pthread_mutex_lock(&tickets_lock);
	t.port = CONSOLE_PORT_BASE + next_port++ % CONSOLE_PORT_SPAN;
	size_t slot = 0;
	for (size_t i = 0; i < CONSOLE_MAX_TICKETS; i++) {
		if (!tickets[i].ticket[0] || tickets[i].expires < mono_s()) {
			slot = i;
			break;
		}
		if (tickets[i].expires < tickets[slot].expires)
			slot = i;
	}
	tickets[slot] = t;
	pthread_mutex_unlock(&tickets_lock);
	*ret = t;
	return 0;
}

/* Takes the ticket: true when it exists, has not expired and was issued to
 * userid for vmid and port; *ret_serial says which console.  A found ticket
 * is used up either way. */
static bool ticket_take(const char *ticket, const char *userid, long vmid, long long port,
                        int *ret_serial)
{
	bool ok = false;
	if (!ticket || strlen(ticket) != CONSOLE_TICKET_LEN)
		return false;
	pthread_mutex_lock(&tickets_lock);
	for (size_t i = 0; i < CONSOLE_MAX_TICKETS; i++) {
		struct console_ticket *t = &tickets[i];
		if (!t->ticket[0] || strcmp(t->ticket, ticket) != 0)
			continue;
		ok = t->expires >= mono_s() && streq(t->userid, userid) && t->vmid == vmid &&
		     (long long)t->port == port;
		*ret_serial = t->serial;
		*t = (struct console_ticket){0};
		break;
	}
	pthread_mutex_unlock(&tickets_lock);
	return ok;
}

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

/* POST .../qemu/{vmid}/vncproxy */
static int api_vm_vncproxy(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	struct console_ticket t;
	int r = ticket_issue(call->userid, vmid, -1, &t);
	if (r < 0)
		return error_set(err, r, 500, "unable to create a console ticket");
	/* The VNC password is the ticket's head (docs/consoles.md): the page
	 * sends the ticket as the VNC password, as Proxmox's does.  This also
	 * fails when the VM does not run. */
	_cleanup_free_ char *cmd = xasprintf("set_password vnc %.8s", t.ticket);
	_cleanup_free_ char *out = NULL;
	r = guest_monitor(call->ctx->guests, qemu_kind(), vmid, cmd, &out, err);
	if (r < 0)
		return r;
	if (out && *out) {
		log_warn("VM %ld: set_password: %s", vmid, out);
		return error_set(err, -EIO, 500, "unable to set the VNC password of VM %ld", vmid);
	}
	*ret = json_pack("{s:s,s:s,s:i,s:s,s:s}", "user", call->userid, "ticket", t.ticket, "port",
	                 (int)t.port, "cert", "", "upid", "");
	return 0;
}

/* POST .../qemu/{vmid}/termproxy: a ticket for a serial port's terminal.
 * The port must be a socket (serialN: socket) of a running VM. */
static int api_vm_termproxy(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	const char *s = api_param_has(call, "serial") ? api_param_str(call, "serial") : "serial0";
	int serial = s[6] - '0'; /* the enum is serial0..serial3 */
	_cleanup_free_ char *path = xasprintf("%s/qemu-server/%ld/serial%d.sock",
	                                      guest_store_run_dir(call->ctx->guests), vmid, serial);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return error_set(err, -ENOENT, 500, "VM %ld has no running %s socket", vmid, s);
	struct console_ticket t;
	int r = ticket_issue(call->userid, vmid, serial, &t);
	if (r < 0)
		return error_set(err, r, 500, "unable to create a console ticket");
	*ret = json_pack("{s:s,s:s,s:i,s:s}", "user", call->userid, "ticket", t.ticket, "port",
	                 (int)t.port, "upid", "");
	return 0;
}

/* GET .../qemu/{vmid}/vncwebsocket */
static int api_vm_vncwebsocket(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	int serial = -1;
	if (!ticket_take(api_param_str(call, "vncticket"), call->userid, vmid,
	                 api_param_int(call, "port", -1), &serial))
		return error_set(err, -EACCES, 403, "permission denied - invalid vnc ticket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = serial < 0
	            ? snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qemu-server/%ld/vnc.sock",
	                       guest_store_run_dir(call->ctx->guests), vmid)
	            : snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qemu-server/%ld/serial%d.sock",
	                       guest_store_run_dir(call->ctx->guests), vmid, serial);
	/* a serial port speaks the terminal framing (the xterm.js page) */
	call->upgrade_terminal = serial >= 0;
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, 500, "VNC socket path too long");
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return error_set(err, -errno, 500, "VM %ld not running", vmid);
	call->upgrade_fd = TAKE_FD(fd);
	*ret = json_null();
	return 0;
}

#define VM_PARAMS     API_PARAM_NODE, API_PARAM_VMID
#define PERM_VM(priv) API_CHECK(API_PERM("/vms/{vmid}", priv))

const struct api_method api_methods_console[] = {
    {
        .path = "/nodes/{node}/qemu/{vmid}/vncproxy",
        .verb = "POST",
        .name = "vncproxy",
        .description = "A one-time ticket for the VM's screen (vncwebsocket).",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "websocket",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Prepare for websocket upgrade."},
                                             {.name = "generate-password",
                                              .type = API_TYPE_BOOLEAN,
                                              .optional = true,
                                              .description = "Not supported; ignored."},
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Console"),
        .flags = API_PROTECTED,
        .handler = api_vm_vncproxy,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/termproxy",
        .verb = "POST",
        .name = "termproxy",
        .description = "A one-time ticket for a VM's serial terminal (vncwebsocket).",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "serial",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .enum_values =
                                                  (const char *const[]){"serial0", "serial1",
                                                                        "serial2", "serial3", NULL},
                                              .description = "The serial port (serial0)."},
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Console"),
        .flags = API_PROTECTED,
        .handler = api_vm_termproxy,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/vncwebsocket",
        .verb = "GET",
        .name = "vncwebsocket",
        .description = "The VM's screen as a WebSocket (RFB), with a vncproxy ticket.",
        .params = (const struct api_param[]){VM_PARAMS,
                                             {.name = "port",
                                              .type = API_TYPE_INTEGER,
                                              .minimum = 5900,
                                              .maximum = 5999,
                                              .has_min = true,
                                              .has_max = true,
                                              .description = "The port vncproxy answered."},
                                             {.name = "vncticket",
                                              .type = API_TYPE_STRING,
                                              .max_length = 512,
                                              .description = "The ticket vncproxy answered."},
                                             API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_VM("VM.Console"),
        .flags = API_WEBSOCKET,
        .handler = api_vm_vncwebsocket,
    },
    {.path = NULL},
};
