/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The real server on 127.0.0.1 (port 0) and a unix socket, with a generated
 * certificate in a temporary directory, talked to by a small GnuTLS client
 * (and once by curl).
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "error.h"
#include "fileio.h"
#include "http-websocket.h"
#include "http.h"
#include "strbuf.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/ctvm-test-http-XXXXXX";
static char *cert_path, *key_path, *sock_path, *log_path;
static struct http_server *srv;
static unsigned port;

/* --- the handler --- */

/* The "console" behind /ws: echoes what it reads until "quit" or the end. */
static void *echo_console(void *p)
{
	int fd = (int)(intptr_t)p;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (n == 4 && memcmp(buf, "quit", 4) == 0)
			break;
		if (write(fd, buf, (size_t)n) != n)
			break;
	}
	close(fd);
	return NULL;
}

static void ws_handler(const struct http_request *req, struct http_response *resp)
{
	struct ws_upgrade u;
	struct error *err = NULL;
	if (ws_check_upgrade(req, &u, &err) < 0) {
		http_response_set_body(resp, err->http_status, "text/plain", xstrdup(err->msg),
		                       strlen(err->msg));
		error_free(err);
		return;
	}
	int sv[2];
	pthread_t t;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pthread_create(&t, NULL, echo_console, (void *)(intptr_t)sv[1]), 0);
	pthread_detach(t);
	resp->status = 101;
	http_response_add_header(resp, "Sec-WebSocket-Accept: %s", u.accept);
	if (u.protocol)
		http_response_add_header(resp, "Sec-WebSocket-Protocol: %s", u.protocol);
	resp->upgrade = true;
	resp->upgrade_fd = sv[0];
}

static void handler(const struct http_request *req, struct http_response *resp, void *userdata)
{
	if (req->parse_error) {
		resp->reason = xstrdup(req->parse_error->msg);
		http_response_set_body(resp, req->parse_error->http_status,
		                       "application/json;charset=UTF-8", xstrdup("{\"data\":null}"),
		                       13);
		return;
	}
	if (streq(req->path, "/error")) {
		resp->reason = xstrdup("unable to find configuration file for VM 100\nsecond line");
		http_response_set_body(resp, 500, "application/json;charset=UTF-8",
		                       xstrdup("{\"data\":null}"), 13);
		return;
	}
	if (streq(req->path, "/ws")) {
		ws_handler(req, resp);
		return;
	}
	if (streq(req->path, "/auth"))
		http_request_set_authenticated(req); /* as the api layer does for a ticket */
	if (streq(req->path, "/slow")) {
		resp->delay_ms = 1500;
		http_response_set_body(resp, 200, "text/plain", xstrdup("slow"), 4);
		return;
	}
	json_t *o = json_pack("{s:O,s:s,s:s,s:b,s:b,s:s}", "params", req->params, "path", req->path,
	                      "method", req->method, "tls", req->tls, "local", req->local_socket,
	                      "peer", req->peer_addr);
	if (req->has_peer_cred)
		json_object_set_new(o, "uid", json_integer(req->peer_uid));
	char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	http_response_set_body(resp, 200, "application/json;charset=UTF-8", s, strlen(s));
	http_response_add_header(resp, "X-Test: yes");
	resp->log_user = xstrdup("root@pam");
}

/* --- a small client --- */

struct client {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	struct strbuf in;
	bool head_only; /* the next answer is to a HEAD request */
};

static void client_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TCP connection to 127.0.0.1:p from the loopback address src (NULL: any). */
static int tcp_connect(unsigned p, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	client_timeouts(fd);
	if (src) {
		struct sockaddr_in from = {.sin_family = AF_INET};
		assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Connects over TLS from src (NULL: any); returns false if the handshake fails. */
static bool client_open_tls_from(struct client *c, unsigned p, const char *src)
{
	*c = (struct client){.fd = -1, .in = STRBUF_INIT};
	c->fd = tcp_connect(p, src);
	assert_int_equal(gnutls_certificate_allocate_credentials(&c->cred), 0);
	assert_int_equal(gnutls_init(&c->tls, GNUTLS_CLIENT), 0);
	gnutls_set_default_priority(c->tls);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
	gnutls_transport_set_int(c->tls, c->fd);
	int r;
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	return r >= 0;
}

static bool client_open_tls(struct client *c, unsigned p)
{
	return client_open_tls_from(c, p, NULL);
}

static void client_open_unix(struct client *c, const char *path)
{
	*c = (struct client){.fd = -1, .in = STRBUF_INIT};
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	client_timeouts(c->fd);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void client_close(struct client *c)
{
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->in);
	*c = (struct client){.fd = -1};
}

static void client_send(struct client *c, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n =
		    c->tls ? gnutls_record_send(c->tls, p, len) : send(c->fd, p, len, MSG_NOSIGNAL);
		if (c->tls && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED))
			continue;
		if (n <= 0)
			return; /* the server may have closed: the answer tells */
		p += n;
		len -= (size_t)n;
	}
}

static void client_sends(struct client *c, const char *s)
{
	client_send(c, s, strlen(s));
}

/* Reads more input; false at end of stream or on error. */
static bool client_fill(struct client *c)
{
	char buf[16384];
	ssize_t n;
	do {
		n = c->tls ? gnutls_record_recv(c->tls, buf, sizeof(buf))
		           : recv(c->fd, buf, sizeof(buf), 0);
	} while (c->tls && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED));
	if (n <= 0)
		return false;
	strbuf_add(&c->in, buf, (size_t)n);
	return true;
}

static void client_consume(struct client *c, size_t n)
{
	memmove(c->in.buf, c->in.buf + n, c->in.len - n);
	c->in.len -= n;
	c->in.buf[c->in.len] = '\0';
}

struct reply {
	char *head; /* status line and headers */
	char *body;
	size_t body_len;
};

static void reply_free(struct reply *r)
{
	free(r->head);
	free(r->body);
	*r = (struct reply){0};
}

/* Reads one answer (head plus Content-Length body); false when the
 * connection ends first. */
static bool client_reply(struct client *c, struct reply *ret)
{
	char *end;
	while (!(end = strstr(c->in.buf, "\r\n\r\n")))
		if (!client_fill(c))
			return false;
	size_t hl = (size_t)(end - c->in.buf) + 4;
	ret->head = xstrndup(c->in.buf, hl);
	client_consume(c, hl);
	const char *cl = strcasestr(ret->head, "\r\nContent-Length: ");
	size_t len = cl ? strtoul(cl + 18, NULL, 10) : 0;
	if (strncmp(ret->head, "HTTP/1.1 100 ", 13) == 0 || c->head_only)
		len = 0;
	while (c->in.len < len)
		if (!client_fill(c))
			return false;
	ret->body = xstrndup(c->in.buf, len);
	ret->body_len = len;
	client_consume(c, len);
	return true;
}

static const char *reply_header(const struct reply *r, const char *name)
{
	static char v[256];
	_cleanup_free_ char *needle = xasprintf("\r\n%s: ", name);
	const char *p = strcasestr(r->head, needle);
	if (!p)
		return NULL;
	p += strlen(needle);
	snprintf(v, sizeof(v), "%.*s", (int)strcspn(p, "\r\n"), p);
	return v;
}

static bool client_eof(struct client *c)
{
	return c->in.len == 0 && !client_fill(c);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- setup --- */

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	cert_path = path_join(tmpdir, "node.pem");
	key_path = path_join(tmpdir, "node.key");
	sock_path = path_join(tmpdir, "api.sock");
	log_path = path_join(tmpdir, "access.log");
	struct error *err = NULL;
	if (http_tls_ensure_cert(cert_path, key_path, "testnode", &err) < 0) {
		fprintf(stderr, "cert: %s\n", err->msg);
		return -1;
	}
	struct http_server_config cfg = {
	    .limits = {.max_body_bytes = 4096, .timeout_s = 2},
	    .access_log_path = log_path,
	    .handler = handler,
	};
	srv = http_server_new(&cfg, &err);
	if (!srv ||
	    http_server_listen_tls(srv, "127.0.0.1", 0, cert_path, key_path, &port, &err) < 0) {
		fprintf(stderr, "server: %s\n", err->msg);
		return -1;
	}
	if (http_server_listen_unix(srv, sock_path, &err) < 0) {
		fprintf(stderr, "unix: %s\n", err->msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	srv = http_server_free(srv);
	unlink(cert_path);
	unlink(key_path);
	unlink(log_path);
	unlink(sock_path);
	rmdir(tmpdir);
	free(cert_path);
	free(key_path);
	free(sock_path);
	free(log_path);
	return 0;
}

/* --- tests --- */

static void test_reason_phrase(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /error HTTP/1.1\r\nHost: x\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 500 unable to find configuration file for "
	                                   "VM 100\r\n"));
	assert_string_equal(reply_header(&r, "Server"), "pve-api-daemon/3.0");
	assert_string_equal(reply_header(&r, "Content-Type"), "application/json;charset=UTF-8");
	assert_string_equal(reply_header(&r, "Cache-Control"), "max-age=0");
	assert_string_equal(reply_header(&r, "Pragma"), "no-cache");
	assert_non_null(reply_header(&r, "Date"));
	assert_string_equal(r.body, "{\"data\":null}");
	reply_free(&r);
	client_close(&c);
}

static void test_keepalive(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /echo?a=1&a=2&b=x+y HTTP/1.1\r\nHost: x\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 OK\r\n"));
	assert_string_equal(reply_header(&r, "Connection"), "Keep-Alive");
	assert_string_equal(reply_header(&r, "X-Test"), "yes");
	assert_non_null(strstr(r.body, "\"params\":{\"a\":[\"1\",\"2\"],\"b\":\"x y\"}"));
	assert_non_null(strstr(r.body, "\"tls\":true"));
	assert_non_null(strstr(r.body, "\"peer\":\"127.0.0.1\""));
	reply_free(&r);

	/* the second request on the same connection; form body + query */
	client_sends(&c, "POST /echo?b=q HTTP/1.1\r\nHost: x\r\nContent-Type: "
	                 "application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r.body, "\"params\":{\"a\":\"1\",\"b\":\"q\"}"));
	reply_free(&r);

	/* pipelined: a JSON body and a HEAD, then Connection: close */
	client_sends(&c, "PUT /echo HTTP/1.1\r\nContent-Type: application/json\r\n"
	                 "Content-Length: 8\r\n\r\n{\"n\":42}"
	                 "HEAD /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_true(client_reply(&c, &r));
	assert_non_null(strstr(r.body, "\"params\":{\"n\":42}"));
	reply_free(&r);
	c.head_only = true;
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 OK\r\n"));
	assert_string_equal(reply_header(&r, "Connection"), "close");
	assert_true(atoi(reply_header(&r, "Content-Length")) > 0);
	reply_free(&r);
	assert_true(client_eof(&c));
	client_close(&c);
}

static void test_delay_isolated(void **state)
{
	struct client a, b;
	assert_true(client_open_tls(&a, port));
	int64_t start = now_ms();
	client_sends(&a, "GET /slow HTTP/1.1\r\n\r\n");
	/* another client is served at once meanwhile */
	assert_true(client_open_tls(&b, port));
	client_sends(&b, "GET /echo HTTP/1.1\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&b, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 "));
	assert_true(now_ms() - start < 1300); /* not held up by the 1500 ms delay */
	reply_free(&r);
	assert_true(client_reply(&a, &r));
	assert_true(now_ms() - start >= 1400);
	assert_string_equal(r.body, "slow");
	reply_free(&r);
	client_close(&a);
	client_close(&b);
}

static void test_too_large(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	char junk[8192];
	memset(junk, 'a', sizeof(junk));
	client_send(&c, junk, sizeof(junk));
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 413 "));
	assert_string_equal(reply_header(&r, "Connection"), "close");
	reply_free(&r);
	client_close(&c);

	/* the same with a chunked body that grows past the limit */
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		client_sends(&c, "800\r\n");
		client_send(&c, junk, 0x800);
		client_sends(&c, "\r\n");
	}
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 413 "));
	reply_free(&r);
	client_close(&c);
}

static void test_continue(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
	                 "Content-Length: 7\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_string_equal(r.head, "HTTP/1.1 100 Continue\r\n\r\n");
	reply_free(&r);
	client_sends(&c, "a=1&b=2");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 "));
	assert_non_null(strstr(r.body, "\"params\":{\"a\":\"1\",\"b\":\"2\"}"));
	reply_free(&r);

	/* no 100 for a body already too large: the final answer instead */
	client_sends(&c, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
	                 "Content-Length: 1000000\r\n\r\n");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 413 "));
	reply_free(&r);
	client_close(&c);
}

static void test_unix_socket(void **state)
{
	struct stat st;
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	struct client c;
	client_open_unix(&c, sock_path);
	client_sends(&c, "GET /echo HTTP/1.1\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	_cleanup_free_ char *uid = xasprintf("\"uid\":%u", (unsigned)getuid());
	assert_non_null(strstr(r.body, uid));
	assert_non_null(strstr(r.body, "\"local\":true"));
	assert_non_null(strstr(r.body, "\"tls\":false"));
	assert_non_null(strstr(r.body, "\"peer\":\"unix\""));
	reply_free(&r);
	client_close(&c);

	/* a second server cannot take over a live socket */
	struct error *err = NULL;
	struct http_server_config cfg = {.handler = handler};
	struct http_server *s2 = http_server_new(&cfg, &err);
	assert_non_null(s2);
	assert_int_equal(http_server_listen_unix(s2, sock_path, &err), -EADDRINUSE);
	error_free(err);
	http_server_free(s2);
	assert_int_equal(lstat(sock_path, &st), 0);
}

static void test_bad_request(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GARBAGE\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 400 Bad Request\r\n"));
	reply_free(&r);
	assert_true(client_eof(&c));
	client_close(&c);

	/* content on GET reaches the handler as a 501 */
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\na=1");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 501 Unexpected content for method 'GET'\r\n"));
	reply_free(&r);
	/* ... and the connection stays usable */
	client_sends(&c, "GET /echo HTTP/1.1\r\n\r\n");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 "));
	reply_free(&r);
	client_close(&c);
}

static void test_slow_client(void **state)
{
	/* timeout_s is 2: a client that never finishes its head is dropped */
	struct client c;
	assert_true(client_open_tls(&c, port));
	int64_t start = now_ms();
	client_sends(&c, "GET /echo HTTP/1.1\r\nHost: x\r\n");
	struct reply r = {0};
	if (client_reply(&c, &r))
		assert_true(str_startswith(r.head, "HTTP/1.1 408 "));
	reply_free(&r);
	int64_t took = now_ms() - start;
	assert_true(took >= 1500 && took < 6000);
	client_close(&c);
}

static void test_connection_limit(void **state)
{
	struct error *err = NULL;
	struct http_server_config cfg = {
	    .limits = {.max_connections = 2, .max_unauth = 2, .timeout_s = 5},
	    .handler = handler,
	};
	struct http_server *s = http_server_new(&cfg, &err);
	assert_non_null(s);
	unsigned p = 0;
	assert_int_equal(http_server_listen_tls(s, "[::]", 0, cert_path, key_path, &p, &err), 0);
	assert_true(p > 0);

	struct client c[3];
	struct reply r = {0};
	for (int i = 0; i < 2; i++) {
		assert_true(client_open_tls(&c[i], p));
		client_sends(&c[i], "GET /echo HTTP/1.1\r\n\r\n");
		assert_true(client_reply(&c[i], &r));
		assert_true(str_startswith(r.head, "HTTP/1.1 200 "));
		/* IPv4 through a dual-stack listener */
		assert_non_null(strstr(r.body, "\"peer\":\"::ffff:127.0.0.1\""));
		reply_free(&r);
	}
	assert_true(client_open_tls(&c[2], p));
	client_sends(&c[2], "GET /echo HTTP/1.1\r\n\r\n");
	assert_true(client_reply(&c[2], &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 503 "));
	reply_free(&r);
	client_close(&c[2]);

	/* a slot frees when a connection closes */
	client_close(&c[0]);
	bool ok = false;
	for (int tries = 0; tries < 50 && !ok; tries++) {
		struct client d;
		assert_true(client_open_tls(&d, p));
		client_sends(&d, "GET /echo HTTP/1.1\r\n\r\n");
		assert_true(client_reply(&d, &r));
		ok = str_startswith(r.head, "HTTP/1.1 200 ");
		reply_free(&r);
		client_close(&d);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	/* shutdown with a connection still open and idle */
	int64_t start = now_ms();
	s = http_server_free(s);
	assert_true(now_ms() - start < 2000);
	assert_true(client_eof(&c[1]));
	client_close(&c[1]);
}

static void test_per_addr_limit(void **state)
{
	struct error *err = NULL;
	struct http_server_config cfg = {
	    .limits = {.max_per_addr = 1},
	    .handler = handler,
	};
	struct http_server *s = http_server_new(&cfg, &err);
	unsigned p = 0;
	assert_int_equal(http_server_listen_tls(s, "localhost", 0, cert_path, key_path, &p, &err),
	                 0);
	struct client a, b;
	struct reply r = {0};
	assert_true(client_open_tls(&a, p));
	client_sends(&a, "GET /echo HTTP/1.1\r\n\r\n");
	assert_true(client_reply(&a, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 200 "));
	reply_free(&r);
	assert_true(client_open_tls(&b, p));
	client_sends(&b, "GET /echo HTTP/1.1\r\n\r\n");
	assert_true(client_reply(&b, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 503 "));
	reply_free(&r);
	client_close(&b);
	client_close(&a);
	http_server_free(s);
}

/* One request on c; true when answered with status. */
static bool client_get(struct client *c, const char *path, int status)
{
	_cleanup_free_ char *req = xasprintf("GET %s HTTP/1.1\r\n\r\n", path);
	_cleanup_free_ char *want = xasprintf("HTTP/1.1 %d ", status);
	client_sends(c, req);
	struct reply r = {0};
	bool ok = client_reply(c, &r) && str_startswith(r.head, want);
	reply_free(&r);
	return ok;
}

/* A full budget sheds the oldest idle unauthenticated connection of the
 * client holding the most, never an authenticated one; the unix socket
 * counts apart. */
static void test_shedding(void **state)
{
	struct error *err = NULL;
	_cleanup_free_ char *sock = path_join(tmpdir, "shed.sock");
	struct http_server_config cfg = {
	    .limits = {.max_connections = 4, .max_unauth = 2, .max_local = 1, .timeout_s = 10},
	    .handler = handler,
	};
	struct http_server *s = http_server_new(&cfg, &err);
	unsigned p = 0;
	assert_int_equal(http_server_listen_tls(s, "127.0.0.1", 0, cert_path, key_path, &p, &err),
	                 0);
	assert_int_equal(http_server_listen_unix(s, sock, &err), 0);

	/* a flooder takes the unauthenticated budget */
	struct client f[4];
	assert_true(client_open_tls_from(&f[0], p, "127.0.0.2"));
	assert_true(client_open_tls_from(&f[1], p, "127.0.0.2"));
	/* a client still gets in: the flooder's oldest connection goes */
	struct client a;
	assert_true(client_open_tls_from(&a, p, "127.0.0.1"));
	assert_true(client_get(&a, "/auth", 200));
	assert_true(client_eof(&f[0]));
	assert_true(client_get(&f[1], "/echo", 200));
	/* the flooder fills its share again; then it is refused, without
	 * shedding anyone: the client is authenticated, and the flooder's own
	 * connections do not make room for each other */
	assert_true(client_open_tls_from(&f[2], p, "127.0.0.2"));
	assert_true(client_get(&f[2], "/echo", 200));
	assert_true(client_open_tls_from(&f[3], p, "127.0.0.2"));
	assert_true(client_get(&f[3], "/echo", 503));
	client_close(&f[3]);
	assert_true(client_get(&a, "/echo", 200));
	/* a new client takes a share: the flooder holds 2, it none */
	struct client b;
	assert_true(client_open_tls_from(&b, p, "127.0.0.3"));
	assert_true(client_get(&b, "/echo", 200));
	assert_true(client_eof(&f[1]));
	assert_true(client_get(&f[2], "/echo", 200));
	client_close(&b);
	/* the unix socket has its own budget */
	struct client u, u2;
	client_open_unix(&u, sock);
	assert_true(client_get(&u, "/echo", 200));
	client_open_unix(&u2, sock);
	assert_true(client_get(&u2, "/echo", 503));
	client_close(&u2);
	assert_true(client_get(&a, "/echo", 200));
	client_close(&u);
	client_close(&a);
	for (int i = 0; i < 3; i++)
		client_close(&f[i]);
	http_server_free(s);
}

/* A handshake or an unauthenticated connection idle before its request is
 * cut soon; an authenticated one may idle for timeout_s. */
static void test_idle_deadlines(void **state)
{
	struct error *err = NULL;
	struct http_server_config cfg = {
	    .limits = {.handshake_timeout_s = 1, .idle_timeout_s = 1, .timeout_s = 5},
	    .handler = handler,
	};
	struct http_server *s = http_server_new(&cfg, &err);
	unsigned p = 0;
	assert_int_equal(http_server_listen_tls(s, "127.0.0.1", 0, cert_path, key_path, &p, &err),
	                 0);
	int64_t start = now_ms();
	struct client silent = {.fd = tcp_connect(p, NULL), .in = STRBUF_INIT};
	assert_true(client_eof(&silent));
	int64_t took = now_ms() - start;
	assert_true(took >= 800 && took < 3000);
	client_close(&silent);

	struct client quiet, authed;
	assert_true(client_open_tls(&quiet, p));
	assert_true(client_open_tls(&authed, p));
	assert_true(client_get(&authed, "/auth", 200));
	start = now_ms();
	assert_true(client_eof(&quiet));
	took = now_ms() - start;
	assert_true(took >= 500 && took < 3000);
	usleep(500 * 1000);
	assert_true(client_get(&authed, "/echo", 200));
	client_close(&quiet);
	client_close(&authed);
	http_server_free(s);
}

static void test_curl(void **state)
{
	if (access("/usr/bin/curl", X_OK) < 0) {
		skip();
		return;
	}
	char url[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/error", port);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		char *const argv[] = {"curl", "-k", "-s", "-i", "--max-time", "10", url, NULL};
		execv("/usr/bin/curl", argv);
		_exit(127);
	}
	close(fds[1]);
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		strbuf_add(&out, buf, (size_t)n);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(str_startswith(
	    out.buf, "HTTP/1.1 500 unable to find configuration file for VM 100\r\n"));
}

static void test_access_log(void **state)
{
	struct client c;
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /echo/logged?password=secret HTTP/1.1\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	reply_free(&r);
	client_close(&c);

	/* rotate: the old file keeps the line, the reopened one gets new lines */
	struct error *err = NULL;
	_cleanup_free_ char *old = xasprintf("%s.1", log_path);
	assert_int_equal(rename(log_path, old), 0);
	assert_int_equal(http_server_reopen_logs(srv, &err), 0);
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /after HTTP/1.1\r\n\r\n");
	assert_true(client_reply(&c, &r));
	reply_free(&r);
	client_close(&c);
	_cleanup_free_ char *fresh = NULL;
	assert_int_equal(read_file(log_path, 1 << 20, &fresh, NULL, &err), 0);
	assert_non_null(strstr(fresh, "\"GET /after HTTP/1.1\" 200 "));
	assert_null(strstr(fresh, "/echo/logged"));
	_cleanup_free_ char *data = NULL;
	assert_int_equal(read_file(old, 1 << 20, &data, NULL, &err), 0);
	unlink(old);
	assert_null(strstr(data, "secret"));
	const char *line = strstr(data, "\"GET /echo/logged HTTP/1.1\" 200 ");
	assert_non_null(line);
	/* "127.0.0.1 - root@pam [dd/Mon/yyyy:HH:MM:SS +0000] ..." */
	const char *bol = line;
	while (bol > data && bol[-1] != '\n')
		bol--;
	assert_true(str_startswith(bol, "127.0.0.1 - root@pam ["));
	assert_non_null(strstr(bol, " +0000] \"GET"));
}

static void test_cert(void **state)
{
	struct stat st;
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(cert_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	ino_t ino = st.st_ino;

	struct error *err = NULL;
	/* present: not regenerated */
	assert_int_equal(http_tls_ensure_cert(cert_path, key_path, "testnode", &err), 0);
	assert_int_equal(stat(cert_path, &st), 0);
	assert_int_equal(st.st_ino, ino);

	char *fp = http_tls_cert_fingerprint(cert_path, &err);
	assert_non_null(fp);
	assert_int_equal(strlen(fp), 32 * 3 - 1);
	for (size_t i = 0; i < strlen(fp); i++) {
		if (i % 3 == 2)
			assert_int_equal(fp[i], ':');
		else
			assert_true(strchr("0123456789ABCDEF", fp[i]) != NULL);
	}
	free(fp);
	assert_null(http_tls_cert_fingerprint(key_path, &err));
	assert_non_null(err);
	error_free(err);
}

/* --- WebSocket --- */

static const char ws_request[] = "GET /ws HTTP/1.1\r\nHost: x\r\n"
                                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Protocol: binary\r\n"
                                 "Sec-WebSocket-Version: 13\r\n\r\n";

/* Sends one masked client frame. */
static void ws_send(struct client *c, int op, const char *data, size_t len)
{
	static const uint8_t key[4] = {9, 8, 7, 6};
	uint8_t h[WS_MAX_HEADER];
	size_t hl = ws_frame_header(h, op, true, len, key);
	struct strbuf b = STRBUF_INIT;
	strbuf_add(&b, (const char *)h, hl);
	strbuf_add(&b, data, len);
	ws_mask((uint8_t *)b.buf + hl, len, key, 0);
	client_send(c, b.buf, b.len);
	strbuf_release(&b);
}

/* What the server sent, as text: "B(bytes)" per message, "O(x)" pongs,
 * "C(code)". */
struct ws_log {
	struct strbuf s;
	bool mid, closed;
};

static int wl_data(void *ud, int op, const uint8_t *d, size_t n, bool fin)
{
	struct ws_log *l = ud;
	assert_int_equal(op, WS_OP_BINARY);
	if (!l->mid)
		strbuf_addstr(&l->s, "B(");
	l->mid = !fin;
	strbuf_add(&l->s, (const char *)d, n);
	if (fin)
		strbuf_addch(&l->s, ')');
	return 0;
}

static int wl_control(void *ud, int op, const uint8_t *d, size_t n)
{
	struct ws_log *l = ud;
	strbuf_addf(&l->s, "%c(%.*s)", op == WS_OP_PONG ? 'O' : 'P', (int)n, (const char *)d);
	return 0;
}

static int wl_close(void *ud, unsigned code, const char *reason)
{
	struct ws_log *l = ud;
	(void)reason;
	strbuf_addf(&l->s, "C(%u)", code);
	l->closed = true;
	return 0;
}

static const struct ws_decoder_callbacks wl_cbs = {wl_data, wl_control, wl_close};

/* Reads server frames until the log holds want (or the stream ends). */
static void ws_expect(struct client *c, struct ws_decoder *d, struct ws_log *l, const char *want)
{
	while (strlen(want) > l->s.len || strcmp(l->s.buf, want) != 0) {
		if (c->in.len == 0 && !client_fill(c))
			break;
		int r = ws_decoder_feed(d, c->in.buf, c->in.len);
		client_consume(c, c->in.len);
		if (r != 0)
			break;
	}
	assert_string_equal(l->s.buf ? l->s.buf : "", want);
}

static void ws_open(struct client *c)
{
	assert_true(client_open_tls(c, port));
	client_sends(c, ws_request);
	struct reply r = {0};
	assert_true(client_reply(c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 101 "));
	assert_string_equal(reply_header(&r, "Upgrade"), "websocket");
	assert_string_equal(reply_header(&r, "Sec-WebSocket-Accept"),
	                    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_string_equal(reply_header(&r, "Sec-WebSocket-Protocol"), "binary");
	assert_null(reply_header(&r, "Content-Length"));
	reply_free(&r);
}

static void test_websocket(void **state)
{
	(void)state;
	struct client c;
	struct ws_log l = {STRBUF_INIT, false, false};
	struct ws_decoder *d = ws_decoder_new(&wl_cbs, &l, false, 0);

	/* relayed both ways, a ping answered, a close answered with its code */
	ws_open(&c);
	ws_send(&c, WS_OP_BINARY, "hello", 5);
	ws_expect(&c, d, &l, "B(hello)");
	ws_send(&c, WS_OP_PING, "p1", 2);
	ws_expect(&c, d, &l, "B(hello)O(p1)");
	ws_send(&c, WS_OP_TEXT, "text", 4);
	ws_expect(&c, d, &l, "B(hello)O(p1)B(text)");
	ws_send(&c, WS_OP_CLOSE, "\x0f\xa0", 2); /* 4000 */
	ws_expect(&c, d, &l, "B(hello)O(p1)B(text)C(4000)");
	assert_true(client_eof(&c));
	client_close(&c);

	/* the console ends: a normal close */
	ws_decoder_free(d);
	strbuf_release(&l.s);
	l = (struct ws_log){STRBUF_INIT, false, false};
	d = ws_decoder_new(&wl_cbs, &l, false, 0);
	ws_open(&c);
	ws_send(&c, WS_OP_BINARY, "quit", 4);
	ws_expect(&c, d, &l, "C(1000)");
	client_close(&c);

	/* an unmasked frame from the client: 1002 */
	ws_decoder_free(d);
	strbuf_release(&l.s);
	l = (struct ws_log){STRBUF_INIT, false, false};
	d = ws_decoder_new(&wl_cbs, &l, false, 0);
	ws_open(&c);
	client_send(&c, "\x82\x01x", 3);
	ws_expect(&c, d, &l, "C(1002)");
	client_close(&c);
	ws_decoder_free(d);
	strbuf_release(&l.s);

	/* not an upgrade: an ordinary answer; a wrong version: 426 */
	assert_true(client_open_tls(&c, port));
	client_sends(&c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
	struct reply r = {0};
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 400 "));
	reply_free(&r);
	client_sends(&c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	                 "Connection: upgrade\r\nSec-WebSocket-Version: 8\r\n"
	                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
	assert_true(client_reply(&c, &r));
	assert_true(str_startswith(r.head, "HTTP/1.1 426 "));
	reply_free(&r);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cert),           cmocka_unit_test(test_reason_phrase),
	    cmocka_unit_test(test_keepalive),      cmocka_unit_test(test_delay_isolated),
	    cmocka_unit_test(test_too_large),      cmocka_unit_test(test_continue),
	    cmocka_unit_test(test_unix_socket),    cmocka_unit_test(test_bad_request),
	    cmocka_unit_test(test_slow_client),    cmocka_unit_test(test_connection_limit),
	    cmocka_unit_test(test_per_addr_limit), cmocka_unit_test(test_shedding),
	    cmocka_unit_test(test_idle_deadlines), cmocka_unit_test(test_curl),
	    cmocka_unit_test(test_access_log),     cmocka_unit_test(test_websocket),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
