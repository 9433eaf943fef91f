/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The QMP client against recorded sessions (tests/data/qmp/) played by a
 * fake server on a unix socket, and against misbehaving peers: oversized
 * and invalid lines, silence, a close in the middle of a command, late
 * replies, an event flood. */
#include "common.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "qemu-run.h"
#include "qmp.h"
#include "strbuf.h"
#include "xalloc.h"

/*
 * A script, one step per line:
 *   "< TEXT"  the server sends TEXT, with @ID@ replaced by the id of the
 *             last command received
 *   "> JSON"  the server reads one line and checks it equals JSON (with
 *             the id set to @ID@)
 *   "! close" the server closes the connection
 *   "! raw N" the server sends N bytes of 'x' without a newline
 * At the end of the script the server reads until the client closes.
 */
struct server {
	char dir[64];
	char path[96];
	int lfd;
	char *script;
	pthread_t thread;
	int failures;
};

static char *read_line_fd(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char c;
	for (;;) {
		ssize_t k = read(fd, &c, 1);
		if (k <= 0) {
			strbuf_release(&sb);
			return NULL;
		}
		if (c == '\n')
			return strbuf_detach(&sb, NULL);
		strbuf_addch(&sb, c);
	}
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t k = send(fd, s, len, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		s += k;
		len -= (size_t)k;
	}
}

static void *server_main(void *userdata)
{
	struct server *s = userdata;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0) {
		s->failures++;
		return NULL;
	}
	char id[64] = "";
	char *save = NULL;
	_cleanup_free_ char *script = xstrdup(s->script);
	for (char *line = strtok_r(script, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (str_startswith(line, "< ")) {
			struct strbuf out = STRBUF_INIT;
			const char *p = line + 2, *at;
			while ((at = strstr(p, "@ID@"))) {
				strbuf_add(&out, p, (size_t)(at - p));
				strbuf_addstr(&out, id);
				p = at + 4;
			}
			strbuf_addstr(&out, p);
			strbuf_addch(&out, '\n');
			send_str(fd, out.buf);
			strbuf_release(&out);
		} else if (str_startswith(line, "> ")) {
			_cleanup_free_ char *got = read_line_fd(fd);
			if (!got) {
				s->failures++;
				break;
			}
			_cleanup_json_ json_t *g = json_loads(got, 0, NULL);
			_cleanup_json_ json_t *want = json_loads(line + 2, 0, NULL);
			const char *gid = json_string_value(json_object_get(g, "id"));
			if (!g || !want || !gid) {
				s->failures++;
				break;
			}
			snprintf(id, sizeof(id), "%s", gid);
			json_object_set_new(g, "id", json_string("@ID@"));
			if (!json_equal(g, want)) {
				fprintf(stderr, "server: got %s, want %s\n", got, line + 2);
				s->failures++;
			}
		} else if (streq(line, "! close")) {
			break;
		} else if (str_startswith(line, "! raw ")) {
			size_t n = strtoul(line + 6, NULL, 10);
			char *buf = xmalloc(n);
			memset(buf, 'x', n);
			for (size_t off = 0; off < n;) {
				ssize_t k = send(fd, buf + off, n - off, MSG_NOSIGNAL);
				if (k <= 0)
					break;
				off += (size_t)k;
			}
			free(buf);
		}
	}
	size_t sl = strlen(s->script), cl = strlen("! close\n");
	if (sl < cl || !streq(s->script + sl - cl, "! close\n")) {
		char buf[4096];
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	close(fd);
	return NULL;
}

static void server_start(struct server *s, const char *script)
{
	*s = (struct server){0};
	snprintf(s->dir, sizeof(s->dir), "/tmp/ctvm-test-qmp.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/qmp.sock", s->dir);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	s->script = xstrdup(script);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_end(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
	free(s->script);
	assert_int_equal(s->failures, 0);
}

static char *read_data(const char *name)
{
	const char *dir = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = xasprintf("%s/qmp/%s", dir ? dir : "tests/data", name);
	char *data = NULL;
	assert_int_equal(read_file(path, 1 << 20, &data, NULL, NULL), 0);
	return data;
}

#define GREETING                                                                             \
	"< {\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
	"\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n"                                \
	"> {\"execute\": \"qmp_capabilities\", \"id\": \"@ID@\"}\n"                          \
	"< {\"return\": {}, \"id\": \"@ID@\"}\n"

static const char *event_name(json_t *ev)
{
	return json_string_value(json_object_get(ev, "event"));
}

/* The session recorded from Debian's QEMU 7.2: commands, replies, events
 * in the order QEMU sent them, an error reply. */
static void test_recorded_session(void **state)
{
	_cleanup_free_ char *script = read_data("session-qemu72.txt");
	struct server s;
	server_start(&s, script);
	struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 100", 5000, &q, &err), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(qmp_greeting(q), "version"), "qemu"), "major")),
	    7);

	_cleanup_json_ json_t *st = NULL;
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &st, &err), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "running");
	assert_int_equal(qmp_execute(q, "stop", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_events_queued(q), 1);
	json_decref(st);
	st = NULL;
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &st, &err), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "paused");
	assert_int_equal(qmp_execute(q, "cont", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_execute(q, "query-version", NULL, 5000, NULL, &err), 0);

	assert_int_equal(qmp_execute(q, "no-such-command", NULL, 5000, NULL, &err), -EIO);
	assert_string_equal(err->msg, "VM 100 qmp command 'no-such-command' failed - The command "
	                              "no-such-command has not been found");
	assert_int_equal(err->http_status, 500);
	err = error_free(err);

	assert_int_equal(qmp_execute(q, "query-name", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_execute(q, "system_reset", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL, &err), 0);

	/* events in order; a name filter drops the others */
	json_t *ev = NULL;
	assert_int_equal(qmp_next_event(q, NULL, 0, &ev, &err), 0);
	assert_string_equal(event_name(ev), "STOP");
	json_decref(ev);
	assert_int_equal(qmp_next_event(q, "SHUTDOWN", 0, &ev, &err), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(ev, "data"), "reason")),
	    "host-qmp-quit");
	json_decref(ev);
	assert_int_equal(qmp_events_queued(q), 0);
	qmp_free(q);
	server_end(&s);
}

static void test_arguments_sent(void **state)
{
	struct server s;
	server_start(&s, GREETING "> {\"execute\": \"human-monitor-command\", \"id\": \"@ID@\", "
	                          "\"arguments\": {\"command-line\": \"info version\"}}\n"
	                          "< {\"return\": \"7.2.22\\r\\n\", \"id\": \"@ID@\"}\n");
	_cleanup_qmp_ struct qmp *q = NULL;
	assert_int_equal(qmp_connect(s.path, NULL, 5000, &q, NULL), 0);
	_cleanup_json_ json_t *args = json_pack("{s:s}", "command-line", "info version");
	_cleanup_json_ json_t *r = NULL;
	assert_int_equal(qmp_execute(q, "human-monitor-command", args, 5000, &r, NULL), 0);
	assert_string_equal(json_string_value(r), "7.2.22\r\n");
	q = qmp_free(q);
	server_end(&s);
}

/* A reply to an earlier command that timed out arrives late: it is not
 * taken for the reply of the next one. */
static void test_late_reply_discarded(void **state)
{
	struct server s;
	server_start(&s, GREETING "> {\"execute\": \"query-status\", \"id\": \"@ID@\"}\n"
	                          "> {\"execute\": \"query-name\", \"id\": \"@ID@\"}\n"
	                          "< {\"return\": {\"status\": \"late\"}, \"id\": \"ctvm-2\"}\n"
	                          "< {\"return\": {\"name\": \"vm\"}, \"id\": \"@ID@\"}\n");
	_cleanup_qmp_ struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 101", 5000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "query-status", NULL, 100, NULL, &err), -ETIMEDOUT);
	assert_string_equal(err->msg, "VM 101 qmp command 'query-status' failed - got timeout");
	err = error_free(err);
	_cleanup_json_ json_t *r = NULL;
	assert_int_equal(qmp_execute(q, "query-name", NULL, 5000, &r, &err), 0);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "vm");
	q = qmp_free(q);
	server_end(&s);
}

static void test_close_during_command(void **state)
{
	struct server s;
	server_start(&s, GREETING "> {\"execute\": \"quit\", \"id\": \"@ID@\"}\n! close\n");
	_cleanup_qmp_ struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 102", 5000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL, &err), -ECONNRESET);
	err = error_free(err);
	assert_int_equal(qmp_wait_closed(q, 1000), 0);
	/* and the connection is not used again */
	assert_int_equal(qmp_execute(q, "query-status", NULL, 100, NULL, &err), -ECONNRESET);
	q = qmp_free(q);
	server_end(&s);
}

/* A line over QMP_MAX_LINE ends the connection instead of growing the
 * buffer without bound. */
static void test_oversized_line(void **state)
{
	struct server s;
	_cleanup_free_ char *script =
	    xasprintf(GREETING "> {\"execute\": \"query-status\", \"id\": \"@ID@\"}\n! raw %u\n",
	              QMP_MAX_LINE + 70000);
	server_start(&s, script);
	_cleanup_qmp_ struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 103", 5000, &q, &err), 0);
	assert_int_equal(qmp_execute(q, "query-status", NULL, 10000, NULL, &err), -EPROTO);
	assert_string_equal(err->msg,
	                    "VM 103 qmp command 'query-status' failed - qmp message too long");
	q = qmp_free(q);
	server_end(&s);
}

/* An event of the previous session written before this one's greeting (QEMU's
 * one-client socket does that right after a hang-up) is dropped, not taken
 * for a missing greeting; a reply before the greeting is still refused. */
static void test_event_before_greeting(void **state)
{
	struct server s;
	server_start(&s,
	             "< {\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"mirror-scsi0\", "
	             "\"status\": \"concluded\"}, \"timestamp\": {\"seconds\": 1, "
	             "\"microseconds\": 2}}\n" GREETING
	             "> {\"execute\": \"query-status\", \"id\": \"@ID@\"}\n"
	             "< {\"return\": {\"status\": \"running\"}, \"id\": \"@ID@\"}\n");
	_cleanup_qmp_ struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 105", 5000, &q, &err), 0);
	_cleanup_json_ json_t *ret = NULL;
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &ret, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "running");
	q = qmp_free(q);
	server_end(&s);
}

static void test_garbage_and_no_greeting(void **state)
{
	struct server s;
	server_start(&s, "< {\"return\": {}}\n");
	struct qmp *q = NULL;
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 104", 5000, &q, &err), -EPROTO);
	assert_string_equal(err->msg, "VM 104 qmp greeting failed - no greeting");
	assert_null(q);
	server_end(&s);
	err = error_free(err);

	server_start(&s, "< this is not json\n");
	assert_int_equal(qmp_connect(s.path, "VM 104", 5000, &q, &err), -EPROTO);
	server_end(&s);
	err = error_free(err);

	/* silence: the deadline holds */
	server_start(&s, "");
	assert_int_equal(qmp_connect(s.path, "VM 104", 100, &q, &err), -ETIMEDOUT);
	server_end(&s);
	err = error_free(err);

	assert_int_equal(qmp_connect("/nonexistent/qmp.sock", "VM 104", 100, &q, &err), -ENOENT);
	assert_string_equal(err->msg,
	                    "unable to connect to VM 104 qmp socket - No such file or directory");
}

/* More events than the queue holds: the oldest are dropped and counted. */
static void test_event_flood(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, GREETING "> {\"execute\": \"query-status\", \"id\": \"@ID@\"}\n");
	for (int i = 0; i < QMP_MAX_EVENTS + 10; i++)
		strbuf_addf(&sb, "< {\"event\": \"E%d\", \"data\": {}}\n", i);
	strbuf_addstr(&sb, "< {\"return\": {}, \"id\": \"@ID@\"}\n");
	struct server s;
	server_start(&s, sb.buf);
	strbuf_release(&sb);
	_cleanup_qmp_ struct qmp *q = NULL;
	assert_int_equal(qmp_connect(s.path, NULL, 5000, &q, NULL), 0);
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_events_queued(q), QMP_MAX_EVENTS);
	assert_int_equal(qmp_events_dropped(q), 10);
	json_t *ev = NULL;
	assert_int_equal(qmp_next_event(q, NULL, 0, &ev, NULL), 0);
	assert_string_equal(event_name(ev), "E10");
	json_decref(ev);
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(qmp_next_event(q, "NONE", 50, &ev, &err), -ETIMEDOUT);
	q = qmp_free(q);
	server_end(&s);
}

static void test_parse(void **state)
{
	struct qmp_msg m;
	_cleanup_error_ struct error *err = NULL;
	const char *ok = "{\"event\": \"POWERDOWN\", \"timestamp\": {}}\r\n";
	assert_int_equal(qmp_parse_message(ok, strlen(ok), &m, NULL), 0);
	assert_int_equal(m.kind, QMP_MSG_EVENT);
	assert_string_equal(m.event, "POWERDOWN");
	assert_null(m.value);
	qmp_msg_clear(&m);

	const char *e = "{\"error\": {\"desc\": \"d\"}, \"id\": 5}";
	assert_int_equal(qmp_parse_message(e, strlen(e), &m, NULL), 0);
	assert_int_equal(m.kind, QMP_MSG_ERROR);
	assert_null(m.id);
	assert_string_equal(m.error_class, "GenericError");
	qmp_msg_clear(&m);

	const char *bad[] = {"[]",
	                     "{}",
	                     "{\"event\": 1}",
	                     "{\"error\": \"x\"}",
	                     "{\"QMP\": []}",
	                     "{\"return\": 1, \"return\": 2}",
	                     "",
	                     "{"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(qmp_parse_message(bad[i], strlen(bad[i]), &m, &err), -EPROTO);
		err = error_free(err);
	}
	/* nesting is bounded before the tree is built */
	struct strbuf deep = STRBUF_INIT;
	strbuf_addstr(&deep, "{\"return\": ");
	for (int i = 0; i < QMP_MAX_DEPTH + 1; i++)
		strbuf_addch(&deep, '[');
	for (int i = 0; i < QMP_MAX_DEPTH + 1; i++)
		strbuf_addch(&deep, ']');
	strbuf_addch(&deep, '}');
	assert_int_equal(qmp_parse_message(deep.buf, deep.len, &m, &err), -EPROTO);
	assert_string_equal(err->msg, "qmp message nested too deeply");
	strbuf_release(&deep);
}

/* The live clone's mirror (qemu-mirror.c) on one connection: the job's
 * events are read on the session that started it, no new connection. */
#define MIRROR_START                                                                              \
	"> {\"execute\": \"drive-mirror\", \"id\": \"@ID@\", \"arguments\": {\"job-id\": "        \
	"\"mirror-scsi0\", \"device\": \"drive-scsi0\", \"target\": \"/t/vm-101-disk-0.qcow2\", " \
	"\"format\": \"qcow2\", \"mode\": \"existing\", \"sync\": \"full\", \"auto-dismiss\": "   \
	"false}}\n"                                                                               \
	"< {\"return\": {}, \"id\": \"@ID@\"}\n"
#define MIRROR_EVENT(name, dev, extra)                                               \
	"< {\"event\": \"" name "\", \"data\": {\"device\": \"" dev "\", \"type\": " \
	"\"mirror\"" extra "}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n"
#define MIRROR_DISMISS                                                                \
	"> {\"execute\": \"job-dismiss\", \"id\": \"@ID@\", \"arguments\": {\"id\": " \
	"\"mirror-scsi0\"}}\n"                                                        \
	"< {\"return\": {}, \"id\": \"@ID@\"}\n"
#define MIRROR_FORCE_CANCEL                                                                    \
	"> {\"execute\": \"block-job-cancel\", \"id\": \"@ID@\", \"arguments\": {\"device\": " \
	"\"mirror-scsi0\", \"force\": true}}\n"                                                \
	"< {\"return\": {}, \"id\": \"@ID@\"}\n" MIRROR_EVENT("BLOCK_JOB_CANCELLED",           \
	                                                      "mirror-scsi0", "")

static int mirror_run(const char *script, int timeout_ms, struct error **err)
{
	struct server s;
	server_start(&s, script);
	_cleanup_qmp_ struct qmp *q = NULL;
	assert_int_equal(qmp_connect(s.path, "VM 100", 5000, &q, NULL), 0);
	int r = qemu_mirror(q, NULL, "scsi0", "/t/vm-101-disk-0.qcow2", "qcow2", timeout_ms, err);
	q = qmp_free(q);
	server_end(&s);
	return r;
}

/* Ready (another job's events ignored), then cancel completes the copy. */
static void test_mirror_ready(void **state)
{
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(
	    mirror_run(
	        GREETING MIRROR_START MIRROR_EVENT("BLOCK_JOB_READY", "mirror-scsi1", "")
	            MIRROR_EVENT("BLOCK_JOB_COMPLETED", "mirror-scsi1", "") MIRROR_EVENT(
	                "BLOCK_JOB_READY", "mirror-scsi0",
	                ", \"len\": 4, \"offset\": 4") "> {\"execute\": \"block-job-cancel\", "
	                                               "\"id\": \"@ID@\", "
	                                               "\"arguments\": {\"device\": "
	                                               "\"mirror-scsi0\"}}\n"
	                                               "< {\"return\": {}, \"id\": "
	                                               "\"@ID@\"}\n" MIRROR_EVENT(
	                                                   "BLOCK_JOB_COMPLETED", "mirror-scsi0",
	                                                   "") MIRROR_DISMISS,
	        10000, &err),
	    0);
}

/* An I/O error fails the clone at once; the job is cancelled and dismissed. */
static void test_mirror_error(void **state)
{
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(mirror_run(GREETING MIRROR_START MIRROR_EVENT(
	                                "BLOCK_JOB_ERROR", "mirror-scsi0",
	                                ", \"operation\": \"write\", \"action\": \"report\"")
	                                MIRROR_FORCE_CANCEL MIRROR_DISMISS,
	                            10000, &err),
	                 -EIO);
	assert_string_equal(err->msg, "mirroring of drive 'scsi0' failed: write error");
}

/* QEMU (or its socket) goes mid-copy: an answer at once, not the deadline. */
static void test_mirror_peer_gone(void **state)
{
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(mirror_run(GREETING MIRROR_START "! close\n", 60000, &err), -ECONNRESET);
	assert_string_equal(err->msg, "mirroring of drive 'scsi0' failed: QMP connection lost");
}

/* No event before the deadline: timed out, the job cancelled and dismissed. */
static void test_mirror_deadline(void **state)
{
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(
	    mirror_run(GREETING MIRROR_START MIRROR_FORCE_CANCEL MIRROR_DISMISS, 300, &err),
	    -ETIMEDOUT);
	assert_string_equal(err->msg, "mirroring of drive 'scsi0' timed out");
}

/* Silence (the event dropped): query-block-jobs on the same connection
 * reads the state; a job concluded with an error fails the clone. */
static void test_mirror_query(void **state)
{
	_cleanup_error_ struct error *err = NULL;
	assert_int_equal(
	    mirror_run(GREETING MIRROR_START
	               "> {\"execute\": \"query-block-jobs\", \"id\": \"@ID@\"}\n"
	               "< {\"return\": [{\"device\": \"mirror-scsi0\", \"status\": \"ready\", "
	               "\"ready\": true, \"len\": 8, \"offset\": 8}], \"id\": \"@ID@\"}\n"
	               "> {\"execute\": \"block-job-cancel\", \"id\": \"@ID@\", "
	               "\"arguments\": {\"device\": \"mirror-scsi0\"}}\n"
	               "< {\"return\": {}, \"id\": \"@ID@\"}\n"
	               "> {\"execute\": \"query-block-jobs\", \"id\": \"@ID@\"}\n"
	               "< {\"return\": [{\"device\": \"mirror-scsi0\", \"status\": "
	               "\"concluded\", \"ready\": false, \"error\": \"No space left on device\", "
	               "\"len\": 8, \"offset\": 8}], \"id\": \"@ID@\"}\n" MIRROR_FORCE_CANCEL
	                   MIRROR_DISMISS,
	               10000, &err),
	    -EIO);
	assert_string_equal(err->msg, "mirroring of drive 'scsi0' failed: No space left on device");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_recorded_session),
	    cmocka_unit_test(test_arguments_sent),
	    cmocka_unit_test(test_late_reply_discarded),
	    cmocka_unit_test(test_close_during_command),
	    cmocka_unit_test(test_oversized_line),
	    cmocka_unit_test(test_event_before_greeting),
	    cmocka_unit_test(test_garbage_and_no_greeting),
	    cmocka_unit_test(test_event_flood),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_mirror_ready),
	    cmocka_unit_test(test_mirror_error),
	    cmocka_unit_test(test_mirror_peer_gone),
	    cmocka_unit_test(test_mirror_deadline),
	    cmocka_unit_test(test_mirror_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
