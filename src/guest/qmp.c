/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#define LOG_CATEGORY "qmp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "error.h"
#include "jsonutil.h"
#include "log.h"
#include "qmp.h"
#include "strbuf.h"
#include "xalloc.h"

struct qmp {
	int fd;
	char *label;
	json_t *greeting;  /* "QMP" object */
	struct strbuf in;  /* bytes read, not yet a whole line */
	size_t in_scanned; /* no newline in in.buf[0..in_scanned) */
	bool broken;       /* a protocol error or EOF: no further use */
	bool eof;
	unsigned long next_id;
	json_t *events[QMP_MAX_EVENTS]; /* ring */
	size_t ev_head, ev_len, ev_dropped;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* Nesting depth of a JSON text, strings skipped; a cheap bound checked
 * before jansson builds the tree. */
static bool depth_ok(const char *s, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

void qmp_msg_clear(struct qmp_msg *m)
{
	if (!m)
		return;
	json_decref(m->root);
	*m = (struct qmp_msg){0};
}

int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret, struct error **err)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len > QMP_MAX_LINE)
		return error_set(err, -EPROTO, 500, "qmp message too long");
	if (!depth_ok(line, len, QMP_MAX_DEPTH))
		return error_set(err, -EPROTO, 500, "qmp message nested too deeply");
	json_error_t je;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return error_set(err, -EPROTO, 500, "invalid qmp message - %s", je.text);
	struct qmp_msg m = {.root = root};
	if (!json_is_object(root))
		goto bad;
	json_t *v;
	if ((v = json_object_get(root, "QMP"))) {
		if (!json_is_object(v))
			goto bad;
		m.kind = QMP_MSG_GREETING;
		m.value = v;
	} else if ((v = json_object_get(root, "event"))) {
		if (!json_is_string(v))
			goto bad;
		m.kind = QMP_MSG_EVENT;
		m.event = json_string_value(v);
		m.value = json_object_get(root, "data");
	} else if (json_object_get(root, "return")) {
		m.kind = QMP_MSG_RETURN;
		m.value = json_object_get(root, "return");
	} else if ((v = json_object_get(root, "error"))) {
		if (!json_is_object(v))
			goto bad;
		m.kind = QMP_MSG_ERROR;
		json_t *d = json_object_get(v, "desc"), *c = json_object_get(v, "class");
		m.error_desc = json_is_string(d) ? json_string_value(d) : "unknown error";
		m.error_class = json_is_string(c) ? json_string_value(c) : "GenericError";
	} else {
		goto bad;
	}
	if (m.kind == QMP_MSG_RETURN || m.kind == QMP_MSG_ERROR) {
		json_t *id = json_object_get(root, "id");
		m.id = json_is_string(id) ? json_string_value(id) : NULL;
	}
	*ret = m;
	return 0;
bad:
	json_decref(root);
	return error_set(err, -EPROTO, 500, "unexpected qmp message");
}

/* ------------------------------------------------------------------ */
/* The connection                                                      */

static void event_push(struct qmp *q, json_t *ev)
{
	if (q->ev_len == QMP_MAX_EVENTS) {
		json_decref(q->events[q->ev_head]);
		q->ev_head = (q->ev_head + 1) % QMP_MAX_EVENTS;
		q->ev_len--;
		q->ev_dropped++;
	}
	q->events[(q->ev_head + q->ev_len) % QMP_MAX_EVENTS] = json_incref(ev);
	q->ev_len++;
}

static json_t *event_pop(struct qmp *q)
{
	if (q->ev_len == 0)
		return NULL;
	json_t *ev = q->events[q->ev_head];
	q->events[q->ev_head] = NULL;
	q->ev_head = (q->ev_head + 1) % QMP_MAX_EVENTS;
	q->ev_len--;
	return ev;
}

size_t qmp_events_queued(const struct qmp *q)
{
	return q->ev_len;
}

size_t qmp_events_dropped(const struct qmp *q)
{
	return q->ev_dropped;
}

json_t *qmp_greeting(const struct qmp *q)
{
	return q->greeting;
}

struct qmp *qmp_free(struct qmp *q)
{
	if (!q)
		return NULL;
	if (q->fd >= 0)
		close(q->fd);
	free(q->label);
	json_decref(q->greeting);
	strbuf_release(&q->in);
	while (q->ev_len)
		json_decref(event_pop(q));
	free(q);
	return NULL;
}

static int fail(struct qmp *q, struct error **err, int code, const char *what, const char *reason)
{
	if (code == -EPROTO || code == -ECONNRESET)
		q->broken = true;
	return error_set(err, code, 500, "%s qmp command '%s' failed - %s", q->label, what, reason);
}

/*
 * Reads the next message (any kind) before deadline (absolute, ms; a
 * deadline in the past still takes what is already readable).  -ETIMEDOUT,
 * -ECONNRESET (EOF), -EPROTO (bad or oversized line), other -errno.
 */
static int read_msg(struct qmp *q, int64_t deadline, struct qmp_msg *ret, struct error **err)
{
	if (q->broken && !q->eof)
		return error_set(err, -EPROTO, 500, "connection unusable after an error");
	for (;;) {
		char *nl = memchr(q->in.buf + q->in_scanned, '\n', q->in.len - q->in_scanned);
		if (nl) {
			size_t n = (size_t)(nl - q->in.buf) + 1;
			struct qmp_msg m;
			int r = qmp_parse_message(q->in.buf, n, &m, err);
			memmove(q->in.buf, q->in.buf + n, q->in.len - n);
			q->in.len -= n;
			q->in.buf[q->in.len] = '\0';
			q->in_scanned = 0;
			if (r < 0) {
				q->broken = true;
				return r;
			}
			*ret = m;
			return 0;
		}
		q->in_scanned = q->in.len;
		if (q->in.len > QMP_MAX_LINE) {
			q->broken = true;
			return error_set(err, -EPROTO, 500, "qmp message too long");
		}
		if (q->eof)
			return error_set(err, -ECONNRESET, 500, "connection closed");
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		int pr = poll(&p, 1, left < 0 ? 0 : (int)(left > INT32_MAX ? INT32_MAX : left));
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return error_set(err, -errno, 500, "poll: %m");
		}
		if (pr == 0)
			return error_set(err, -ETIMEDOUT, 500, "got timeout");
		strbuf_grow(&q->in, 65536);
		ssize_t k = read(q->fd, q->in.buf + q->in.len, 65536);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET) {
				q->eof = q->broken = true;
				continue;
			}
			return error_set(err, -errno, 500, "read: %m");
		}
		if (k == 0) {
			q->eof = q->broken = true;
			continue;
		}
		q->in.len += (size_t)k;
		q->in.buf[q->in.len] = '\0';
	}
}

/* Sends msg as one line; fd >= 0 goes along with its first byte
 * (SCM_RIGHTS), which is how QEMU's getfd receives a descriptor. */
static int send_line(struct qmp *q, json_t *msg, int fd, struct error **err)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		abort();
	size_t len = strlen(s);
	s[len] = '\n'; /* replaces the NUL: write len + 1 bytes */
	/* send(MSG_NOSIGNAL): a QEMU that exited must not kill a worker
	 * with SIGPIPE */
	for (size_t off = 0; off < len + 1;) {
		ssize_t k;
		if (fd >= 0 && off == 0) {
			union {
				struct cmsghdr h;
				char buf[CMSG_SPACE(sizeof(int))];
			} c = {0};
			struct iovec iov = {.iov_base = s, .iov_len = len + 1};
			struct msghdr mh = {.msg_iov = &iov,
			                    .msg_iovlen = 1,
			                    .msg_control = c.buf,
			                    .msg_controllen = sizeof(c.buf)};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
			k = sendmsg(q->fd, &mh, MSG_NOSIGNAL);
		} else {
			k = send(q->fd, s + off, len + 1 - off, MSG_NOSIGNAL);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = errno == EPIPE ? -ECONNRESET : -errno;
			q->broken = true;
			return error_set(err, r, 500, "write: %s", strerror(-r));
		}
		off += (size_t)k;
	}
	return 0;
}

static int execute(struct qmp *q, const char *cmd, json_t *args, int fd, int timeout_ms,
                   json_t **ret, struct error **err)
{
	if (q->broken)
		return fail(q, err, -ECONNRESET, cmd, "not connected");
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	char id[32];
	snprintf(id, sizeof(id), "ctvm-%lu", ++q->next_id);
	_cleanup_json_ json_t *msg = json_pack("{s:s, s:s}", "execute", cmd, "id", id);
	if (args)
		json_object_set(msg, "arguments", args);
	_cleanup_error_ struct error *e = NULL;
	if (send_line(q, msg, fd, &e) < 0)
		return fail(q, err, e->code, cmd, e->msg);
	for (;;) {
		struct qmp_msg m = {0};
		int r = read_msg(q, deadline, &m, &e);
		if (r < 0)
			return fail(q, err, r, cmd, e->msg);
		if (m.kind == QMP_MSG_EVENT) {
			event_push(q, m.root);
		} else if ((m.kind == QMP_MSG_RETURN || m.kind == QMP_MSG_ERROR) &&
		           streq_ptr(m.id, id)) {
			if (m.kind == QMP_MSG_ERROR) {
				r = fail(q, err, -EIO, cmd, m.error_desc);
				qmp_msg_clear(&m);
				return r;
			}
			if (ret)
				*ret = json_incref(m.value);
			qmp_msg_clear(&m);
			return 0;
		} else {
			/* a late reply to a command that timed out, or a stray greeting */
			log_debug("%s: discarding an unexpected qmp message", q->label);
		}
		qmp_msg_clear(&m);
	}
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret,
                struct error **err)
{
	return execute(q, cmd, args, -1, timeout_ms, ret, err);
}

int qmp_execute_fd(struct qmp *q, const char *cmd, json_t *args, int fd, int timeout_ms,
                   json_t **ret, struct error **err)
{
	return execute(q, cmd, args, fd, timeout_ms, ret, err);
}

int qmp_next_event(struct qmp *q, const char *name, int timeout_ms, json_t **ret,
                   struct error **err)
{
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		json_t *ev;
		while ((ev = event_pop(q))) {
			if (!name || streq(json_string_value(json_object_get(ev, "event")), name)) {
				*ret = ev;
				return 0;
			}
			json_decref(ev);
		}
		struct qmp_msg m = {0};
		_cleanup_error_ struct error *e = NULL;
		int r = read_msg(q, deadline, &m, &e);
		if (r < 0) {
			error_propagate(err, TAKE_PTR(e));
			return r;
		}
		if (m.kind == QMP_MSG_EVENT)
			event_push(q, m.root);
		qmp_msg_clear(&m);
	}
}

int qmp_wait_closed(struct qmp *q, int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		struct qmp_msg m = {0};
		_cleanup_error_ struct error *e = NULL;
		int r = read_msg(q, deadline, &m, &e);
		if (r == -ECONNRESET)
			return 0;
		if (r < 0 && r != -EPROTO)
			return r;
		if (r == -EPROTO) {
			/* skip the garbage: only the close matters here */
			q->in.len = 0;
			q->in_scanned = 0;
			q->broken = false;
			continue;
		}
		if (m.kind == QMP_MSG_EVENT)
			event_push(q, m.root);
		qmp_msg_clear(&m);
	}
}

int qmp_connect(const char *path, const char *label, int timeout_ms, struct qmp **ret,
                struct error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *who = label ? label : "QEMU";
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, -ENAMETOOLONG, 500, "%s qmp socket path too long", who);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(err, -errno, 500, "socket: %m");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return error_set(err, -errno, 500, "unable to connect to %s qmp socket - %m", who);

	struct qmp *q = xcalloc(1, sizeof(*q));
	q->fd = TAKE_FD(fd);
	q->label = xstrdup(who);
	strbuf_init(&q->in, 4096);
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	_cleanup_error_ struct error *e = NULL;
	struct qmp_msg m = {0};
	int r = read_msg(q, deadline, &m, &e);
	/* QEMU's socket takes one client at a time and may write an event of the
	 * previous session (a job's status change right after it hung up) to the
	 * next client before that one's greeting: events before the greeting are
	 * dropped, at most QMP_MAX_EVENTS of them. */
	for (int n = 0; r >= 0 && m.kind == QMP_MSG_EVENT && n < QMP_MAX_EVENTS; n++) {
		qmp_msg_clear(&m);
		r = read_msg(q, deadline, &m, &e);
	}
	if (r >= 0 && m.kind != QMP_MSG_GREETING) {
		qmp_msg_clear(&m);
		r = error_set(&e, -EPROTO, 500, "no greeting");
	}
	if (r < 0) {
		error_set(err, r, 500, "%s qmp greeting failed - %s", who, e->msg);
		qmp_free(q);
		return r;
	}
	q->greeting = json_incref(m.value);
	qmp_msg_clear(&m);
	int64_t left = deadline - now_ms();
	r = qmp_execute(q, "qmp_capabilities", NULL, left < 1 ? 1 : (int)left, NULL, err);
	if (r < 0) {
		qmp_free(q);
		return r;
	}
	*ret = q;
	return 0;
}
