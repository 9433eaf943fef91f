/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qmp: a blocking client for QEMU's machine protocol (QMP) on a unix socket.
 *
 * QEMU sends one JSON object per line: a greeting ({"QMP": ...}) when the
 * connection opens, then for each command a reply ({"return": ...} or
 * {"error": {"class", "desc"}}, carrying the "id" we sent) and, at any
 * time, events ({"event", "data", "timestamp"}).  qmp_connect() reads the
 * greeting and negotiates capabilities; qmp_execute() sends one command and
 * waits for the reply with its id, queueing the events that arrive
 * meanwhile (at most QMP_MAX_EVENTS, the oldest dropped) and discarding
 * replies to earlier commands that timed out.
 *
 * Every wait has a deadline and every line is bounded (QMP_MAX_LINE): a
 * peer that sends more is cut off and the connection is unusable from then
 * on (-EPROTO).  Messages follow Proxmox's wording so the API can pass
 * them on: "VM 100 qmp command 'quit' failed - got timeout".
 *
 * Not thread-safe: one connection per user.  Library code: logs at most at
 * debug level.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct error;
struct qmp;

#define QMP_MAX_LINE   (4u << 20) /* one message, bytes */
#define QMP_MAX_EVENTS 64
#define QMP_MAX_DEPTH  64 /* JSON nesting */

enum qmp_msg_kind {
	QMP_MSG_GREETING,
	QMP_MSG_RETURN,
	QMP_MSG_ERROR,
	QMP_MSG_EVENT,
};

/* One parsed message.  Pointers borrow from root. */
struct qmp_msg {
	enum qmp_msg_kind kind;
	json_t *root;           /* the whole object (owned) */
	const char *id;         /* RETURN/ERROR: the "id" when it is a string, else NULL */
	json_t *value;          /* RETURN: "return"; EVENT: "data" (may be NULL); GREETING: "QMP" */
	const char *event;      /* EVENT: its name */
	const char *error_desc; /* ERROR: "desc" */
	const char *error_class;
};

/*
 * Parses one line (no newline needed; len bytes, need not be NUL-terminated)
 * into *ret.  Anything that is not a JSON object of one of the four kinds,
 * or nests deeper than QMP_MAX_DEPTH, is -EPROTO.  The fuzzed surface.
 */
int qmp_parse_message(const char *line, size_t len, struct qmp_msg *ret, struct error **err);
void qmp_msg_clear(struct qmp_msg *m);

/*
 * Connects to the socket at path, reads the greeting and sends
 * qmp_capabilities, all within timeout_ms.  label names the peer in
 * messages ("VM 100"); NULL: "QEMU".
 */
int qmp_connect(const char *path, const char *label, int timeout_ms, struct qmp **ret,
                struct error **err);
struct qmp *qmp_free(struct qmp *q);
static inline void qmp_freep(struct qmp **q)
{
	qmp_free(*q);
}
#define _cleanup_qmp_ __attribute__((cleanup(qmp_freep)))

/* The greeting's "QMP" object (borrowed): version, capabilities. */
json_t *qmp_greeting(const struct qmp *q);

/*
 * Runs cmd with args (borrowed, an object or NULL).  On success *ret (may be
 * NULL) gets the "return" value (a new reference).  QEMU's error reply is
 * -EIO "<label> qmp command '<cmd>' failed - <desc>" (HTTP 500); no reply
 * within timeout_ms is -ETIMEDOUT "... failed - got timeout"; the socket
 * closing first is -ECONNRESET (for "quit" that is how QEMU answers when it
 * exits before replying: callers of quit accept it).
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret,
                struct error **err);
/* The same with fd passed along (SCM_RIGHTS) for QEMU to keep: "getfd"
 * with an fdname, which "migrate" and "migrate-incoming" then use as
 * "fd:<fdname>".  fd stays open here. */
int qmp_execute_fd(struct qmp *q, const char *cmd, json_t *args, int fd, int timeout_ms,
                   json_t **ret, struct error **err);

/*
 * The oldest queued event, or the next one to arrive within timeout_ms
 * (0: only what is queued or already readable).  name non-NULL: skips
 * (and drops) events with another name.  -ETIMEDOUT when none came,
 * -ECONNRESET when the socket closed.  *ret: the whole event object.
 */
int qmp_next_event(struct qmp *q, const char *name, int timeout_ms, json_t **ret,
                   struct error **err);

/* Number of events queued, and how many were dropped for lack of room. */
size_t qmp_events_queued(const struct qmp *q);
size_t qmp_events_dropped(const struct qmp *q);

/* Waits until QEMU closes the socket (it exits), reading and queueing what
 * comes meanwhile.  0 when closed, -ETIMEDOUT. */
int qmp_wait_closed(struct qmp *q, int timeout_ms);
