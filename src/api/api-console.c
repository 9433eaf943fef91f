/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Consoles (docs/consoles.md): POST .../qemu/{vmid}/vncproxy hands out a
 * one-time ticket, GET .../qemu/{vmid}/vncwebsocket checks it and upgrades
 * the connection to a WebSocket relayed to the VM's VNC socket.  A VM's
 * serial port, a container's console and the node shell go the same way
 * with Proxmox's terminal framing.
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
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "api-console-rows.h"
#include "api-internal.h"
#include "api.h"
#include "audit.h"
#include "error.h"
#include "guest.h"
#include "http-websocket.h"
#include "log.h"
#include "lxc-power.h"
#include "qemu-console.h"
#include "ttyshell.h"
#include "xalloc.h"

#define CONSOLE_TICKET_TTL_S 30
/* Tickets alive at once; the oldest is forgotten when full. */
#define CONSOLE_MAX_TICKETS 64
#define CONSOLE_TICKET_LEN  32
/* Ports handed out: nominal (the relay needs none), as Proxmox's 5900+. */
#define CONSOLE_PORT_BASE  5900
#define CONSOLE_PORT_SPAN  100
#define CONSOLE_ROOT_SHELL (-2) /* /bin/login -f root */
#define CONSOLE_LOGIN      (-3) /* /bin/login: the host asks who */
#define CONSOLE_CT         (-4) /* a container's console (lxc-console) */

struct console_ticket {
	char ticket[CONSOLE_TICKET_LEN + 1]; /* "" when the slot is free */
	char userid[128];
	long vmid;
	/* -1: the VNC screen; N: serialN (termproxy); CONSOLE_CT a
	 * container's; with vmid 0 the node shell, CONSOLE_ROOT_SHELL or
	 * CONSOLE_LOGIN */
	int serial;
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
	                 (int)t.port, "cert", api_console_cert(call), "upid", "");
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
	                 api_param_int(call, "port", -1), &serial) ||
	    serial < -1)
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

/* ---- the node shell (POST /nodes/{node}/termproxy is in api-acl.c) ---- */

const char *api_console_cert(const struct api_call *call)
{
	return call->ctx->cert_pem ? call->ctx->cert_pem : "";
}

int api_console_node_ticket(struct api_call *call, bool root_shell, json_t **ret,
                            struct error **err)
{
	struct console_ticket t;
	int r = ticket_issue(call->userid, 0, root_shell ? CONSOLE_ROOT_SHELL : CONSOLE_LOGIN, &t);
	if (r < 0)
		return error_set(err, r, 500, "unable to create a console ticket");
	*ret = json_pack("{s:s,s:s,s:i,s:s}", "user", call->userid, "ticket", t.ticket, "port",
	                 (int)t.port, "upid", "");
	return 0;
}

struct shell_watch {
	pid_t pid;
	int slave;               /* held open while the shell lives (see shell_start) */
	struct audit_log *audit; /* NULL: no audit log */
	char *what;              /* "node shell", "console of CT 100" */
	char *ended;             /* the audit line's result at the end */
	char *user, *peer, *path;
};

static void shell_audit(struct audit_log *audit, const char *user, const char *peer,
                        const char *path, const char *result)
{
	struct audit_record rec = {.time = time(NULL),
	                           .user = user,
	                           .addr = peer,
	                           .method = "GET",
	                           .path = path,
	                           .status = 101,
	                           .result = result};
	audit_log_record(audit, &rec);
}

/* Reaps the shell: it ends when the client goes (the relay closes the pty's
 * master, the kernel hangs up the session) or by itself (the relay then
 * sees the master's EOF and closes the WebSocket).  What the shell left
 * in its process group is killed, and the end goes to the audit log. */
static void *shell_watch_thread(void *arg)
{
	struct shell_watch *w = arg;
	/* wait without reaping: while login is a zombie its pid, and so its
	 * process group's id, cannot be reused by another process */
	siginfo_t si;
	while (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	kill(-w->pid, SIGKILL);
	int st = 0;
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	close(w->slave); /* the master reads EOF (EIO): the relay ends */
	log_info("%s of %s from %s ended (pid %d, %s %d)", w->what, w->user, w->peer, (int)w->pid,
	         WIFSIGNALED(st) ? "signal" : "exit code",
	         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	if (w->audit)
		shell_audit(w->audit, w->user, w->peer, w->path, w->ended);
	free(w->what);
	free(w->ended);
	free(w->user);
	free(w->peer);
	free(w->path);
	free(w);
	return NULL;
}

/* Watches a console's process started on a pty (ttyshell.h), whose master
 * goes to *ret_fd: a thread reaps it.  vmid 0 is the node shell, else
 * container vmid's console in cmode.  Both ends go to the audit log: who,
 * from where, what was opened (its pid), and when it ended. */
static int watch_start(struct api_call *call, long vmid, bool root_shell, const char *cmode,
                       int master, int slave, pid_t pid, int *ret_fd, struct error **err)
{
	const char *node = api_param_str(call, "node");
	struct shell_watch *w = xnew(struct shell_watch, 1);
	*w = (struct shell_watch){
	    .pid = pid,
	    .slave = slave,
	    .audit = call->ctx->audit,
	    .what = vmid ? xasprintf("console of CT %ld", vmid) : xstrdup("node shell"),
	    .ended = vmid ? xasprintf("console ended (CT %ld)", vmid) : xstrdup("shell ended"),
	    .user = xstrdup(call->authid),
	    .peer = xstrdup(call->peer ? call->peer : ""),
	    .path = vmid ? xasprintf("/nodes/%s/lxc/%ld/vncwebsocket", node, vmid)
	                 : xasprintf("/nodes/%s/vncwebsocket", node)};
	log_info("%s of %s from %s opened (pid %d)", w->what, w->user, w->peer, (int)pid);
	if (w->audit) {
		_cleanup_free_ char *what =
		    vmid ? xasprintf("console opened (CT %ld, %s, pid %d)", vmid, cmode, (int)pid)
		         : xasprintf("shell opened (%s, pid %d)",
		                     root_shell ? "login -f root" : "login", (int)pid);
		shell_audit(w->audit, w->user, w->peer, w->path, what);
	}
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, shell_watch_thread, w) != 0) {
		/* cannot watch it: do not leave it running unreaped */
		kill(-pid, SIGKILL);
		shell_watch_thread(w);
		pthread_attr_destroy(&attr);
		close(master);
		return error_set(err, -EAGAIN, 500, "unable to start the shell's watcher");
	}
	pthread_attr_destroy(&attr);
	*ret_fd = master;
	return 0;
}

/* Starts the node shell; the master in *ret_fd. */
static int shell_start(struct api_call *call, bool root_shell, int *ret_fd, struct error **err)
{
	int master = -1, slave = -1;
	pid_t pid;
	int r = ttyshell_start(root_shell, &master, &slave, &pid, err);
	if (r < 0)
		return r;
	return watch_start(call, 0, root_shell, NULL, master, slave, pid, ret_fd, err);
}

/* GET /nodes/{node}/vncwebsocket: the node shell of a termproxy ticket. */
static int api_node_vncwebsocket(struct api_call *call, json_t **ret, struct error **err)
{
	int kind = 0;
	if (!ticket_take(api_param_str(call, "vncticket"), call->userid, 0,
	                 api_param_int(call, "port", -1), &kind) ||
	    (kind != CONSOLE_ROOT_SHELL && kind != CONSOLE_LOGIN))
		return error_set(err, -EACCES, 403, "permission denied - invalid vnc ticket");
	int fd = -1;
	int r = shell_start(call, kind == CONSOLE_ROOT_SHELL, &fd, err);
	if (r < 0)
		return r;
	call->upgrade_fd = fd;
	call->upgrade_terminal = true;
	*ret = json_null();
	return 0;
}

/* GET .../qemu/{vmid}/screenshot: ctvm's extension (docs/consoles.md),
 * what the VM's screen shows now, as PNG. */
static int api_vm_screenshot(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	char *png = NULL;
	size_t len = 0;
	int r = qemu_console_screenshot(call->ctx->guests, vmid, &png, &len, err);
	if (r < 0)
		return r;
	call->raw_body = png;
	call->raw_len = len;
	call->raw_type = "image/png";
	*ret = json_null();
	return 0;
}

/* ---- a container's console ---- */

static const struct guest_kind_ops *lxc_kind(void)
{
	return guest_kind_find("lxc");
}

/* POST .../lxc/{vmid}/termproxy: a ticket for the running container's
 * console (lxc_power_console() opens it on vncwebsocket). */
static int api_ct_termproxy(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	bool running = false;
	int r = guest_find(call->ctx->guests, lxc_kind(), vmid, NULL, err);
	if (r == 0)
		r = guest_is_running(call->ctx->guests, lxc_kind(), vmid, &running, NULL, err);
	if (r < 0)
		return r;
	if (!running)
		return error_set(err, -ESRCH, 500, "CT %ld not running", vmid);
	struct console_ticket t;
	r = ticket_issue(call->userid, vmid, CONSOLE_CT, &t);
	if (r < 0)
		return error_set(err, r, 500, "unable to create a console ticket");
	*ret = json_pack("{s:s,s:s,s:i,s:s}", "user", call->userid, "ticket", t.ticket, "port",
	                 (int)t.port, "upid", "");
	return 0;
}

/* POST .../lxc/{vmid}/vncproxy: PVE's runs vncterm (a VNC server drawing
 * the terminal), which Debian does not ship.  ctvm's ticket opens the same
 * terminal as termproxy's, in the terminal framing (docs/consoles.md);
 * width and height size a VNC screen there is none of. */
static int api_ct_vncproxy(struct api_call *call, json_t **ret, struct error **err)
{
	int r = api_ct_termproxy(call, ret, err);
	if (r < 0)
		return r;
	json_object_set_new(*ret, "cert", json_string(api_console_cert(call)));
	return 0;
}

/* GET .../lxc/{vmid}/vncwebsocket */
static int api_ct_vncwebsocket(struct api_call *call, json_t **ret, struct error **err)
{
	long vmid = (long)api_param_int(call, "vmid", 0);
	int kind = 0;
	if (!ticket_take(api_param_str(call, "vncticket"), call->userid, vmid,
	                 api_param_int(call, "port", -1), &kind) ||
	    kind != CONSOLE_CT)
		return error_set(err, -EACCES, 403, "permission denied - invalid vnc ticket");
	int master = -1, slave = -1;
	pid_t pid;
	_cleanup_free_ char *cmode = NULL;
	int r = lxc_power_console(call->ctx->guests, vmid, &master, &slave, &pid, &cmode, err);
	if (r < 0)
		return r;
	int fd = -1;
	r = watch_start(call, vmid, false, cmode, master, slave, pid, &fd, err);
	if (r < 0)
		return r;
	call->upgrade_fd = fd;
	call->upgrade_terminal = true;
	*ret = json_null();
	return 0;
}

const struct api_method api_methods_console[] = {
    GUEST_CONSOLE_ROW("qemu", "vncproxy", "POST", API_PROTECTED,
                      "A one-time ticket for the VM's screen (vncwebsocket).", api_vm_vncproxy,
                      P_WEBSOCKET("Prepare for websocket upgrade."),
                      {.name = "generate-password",
                       .type = API_TYPE_BOOLEAN,
                       .optional = true,
                       .description = "Not supported; ignored."}, ),
    GUEST_CONSOLE_ROW(
        "qemu", "termproxy", "POST", API_PROTECTED,
        "A one-time ticket for a VM's serial terminal (vncwebsocket).", api_vm_termproxy,
        {.name = "serial",
         .type = API_TYPE_STRING,
         .optional = true,
         .enum_values = (const char *const[]){"serial0", "serial1", "serial2", "serial3", NULL},
         .description = "The serial port (serial0)."}, ),
    GUEST_CONSOLE_ROW("qemu", "vncwebsocket", "GET", API_WEBSOCKET,
                      "The VM's screen as a WebSocket (RFB), with a vncproxy ticket.",
                      api_vm_vncwebsocket, P_VNCWEBSOCKET("vncproxy"), ),
    {
        .path = "/nodes/{node}/vncwebsocket",
        .verb = "GET",
        .name = "vncwebsocket",
        .description = "The node shell as a WebSocket (terminal framing), with a termproxy "
                       "ticket.",
        .params = (const struct api_param[]){API_PARAM_NODE, P_VNCWEBSOCKET("termproxy"), API_END},
        .returns = {.type = API_TYPE_OBJECT},
        .perm = PERM_NODE_CONSOLE,
        .flags = API_WEBSOCKET | API_NO_TOKEN,
        .handler = api_node_vncwebsocket,
    },
    {
        .path = "/nodes/{node}/qemu/{vmid}/screenshot",
        .verb = "GET",
        .name = "screenshot",
        .description = "The VM's screen now, as PNG (image/png; ctvm's extension).",
        .params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID, API_END},
        .returns = {.type = API_TYPE_STRING},
        .perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Console")),
        .handler = api_vm_screenshot,
    },
    GUEST_CONSOLE_ROW("lxc", "termproxy", "POST", API_PROTECTED,
                      "A one-time ticket for the container's console (vncwebsocket).",
                      api_ct_termproxy, ),
    GUEST_CONSOLE_ROW("lxc", "vncproxy", "POST", API_PROTECTED,
                      "A one-time ticket for the container's console (on ctvm: the terminal, "
                      "as termproxy).",
                      api_ct_vncproxy, P_WEBSOCKET("Prepare for websocket upgrade."),
                      P_TERM_SIZE, ),
    GUEST_CONSOLE_ROW("lxc", "vncwebsocket", "GET", API_WEBSOCKET,
                      "The container's console as a WebSocket (terminal framing), with a "
                      "termproxy or vncproxy ticket.",
                      api_ct_vncwebsocket, P_VNCWEBSOCKET("termproxy"), ),
    {.path = NULL},
};
