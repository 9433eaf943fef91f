/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http: the HTTP/1.1 front door, on GnuTLS.  Knows nothing of Proxmox
 * semantics beyond request decoding: the api layer turns a request into a
 * response.
 *
 * Why not libmicrohttpd (DESIGN.md's first choice): it always writes its own
 * reason phrase, and Proxmox clients read error messages from the reason
 * phrase (pve-api.md 1.3).  A connection is served by one thread with blocking
 * I/O and deadlines; a delayed answer (failed login) sleeps in that thread
 * only, so it never slows other clients.
 *
 * One server serves any number of listeners: TCP with TLS (port 8006) and a
 * plain unix socket for local root (peer credentials).  Every size a client
 * controls is bounded (see struct http_limits); a request that breaks a limit
 * or cannot be decoded still reaches the handler, with parse_error set, so the
 * api layer answers it in Proxmox's envelope.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

struct error;
struct http_server;

struct http_limits {
	size_t max_header_bytes; /* all headers together (default 16 KiB) */
	size_t max_body_bytes;   /* request body (default 1 MiB) */
	size_t max_params;       /* decoded parameters (default 1024) */
	unsigned max_json_depth; /* nesting of a JSON body (default 32) */
	/*
	 * Connection budgets (docs/dev/HTTP.md, "Connection budget").  TCP and
	 * the unix socket count apart.  Beyond a limit an unauthenticated idle
	 * connection is shed to make room; if none can be, the new one is
	 * answered 503 and closed.
	 */
	unsigned max_connections;     /* TCP connections at once (default 512) */
	unsigned max_unauth;          /* of which not authenticated (default half of
	                               * max_connections): the rest is a reserve
	                               * only authenticated connections reach */
	unsigned max_per_addr;        /* TCP connections of one client: an IPv4
	                               * address or an IPv6 /64 (default 64) */
	unsigned max_local;           /* unix socket connections (default 128) */
	unsigned timeout_s;           /* read/write deadline per request, and the keep-alive
	                               * idle time of an authenticated connection (default 30) */
	unsigned handshake_timeout_s; /* TLS handshake, from accept (default 5) */
	unsigned idle_timeout_s;      /* wait for the first byte of a request while the
	                               * connection is not authenticated (default 10) */
};

struct http_request {
	const char *method;  /* "GET", "POST", "PUT", "DELETE", ... */
	const char *raw_url; /* as received, without the query string */
	char *path;          /* raw_url percent-decoded ('+' kept) */
	/*
	 * Merged parameters: query string and body (form or JSON), query wins on
	 * conflict.  Form values are JSON strings; a key given N > 1 times is an
	 * array of strings in order.  A JSON body's values keep their JSON types.
	 */
	json_t *params;
	bool body_is_json;
	size_t body_len;

	/* Transport facts. */
	bool tls;           /* arrived on a TLS listener */
	bool local_socket;  /* arrived on the unix socket */
	bool has_peer_cred; /* local_socket: SO_PEERCRED below is valid */
	uid_t peer_uid;
	pid_t peer_pid;
	char peer_addr[64]; /* "127.0.0.1", "::1" or "unix" */

	/*
	 * Set when the request could not be decoded or broke a limit: the handler
	 * must answer with this error (status 400, 413, 501, ...) and ignore
	 * params.  Owned by the request.
	 */
	struct error *parse_error;

	/*
	 * A streamed upload (see http_stream_fn): the temporary file holding the
	 * multipart file part, and its size.  The other fields of the form are
	 * in params (the file part's field as its filename).  The server deletes
	 * this file once the handler returns: a handler that keeps the data
	 * renames it away first.  NULL when the request was not streamed or had
	 * no file part.
	 */
	char *upload_path;
	unsigned long long upload_size;
	/*
	 * A file part was streamed: into upload_path, or into the descriptor
	 * the stream hook gave (spec->fd, then upload_path stays NULL).
	 * stream_cookie is the hook's spec->cookie, for the handler.
	 */
	bool uploaded;
	unsigned long long stream_cookie;

	void *impl; /* the http layer's own state */
};

/*
 * For the handler (the api layer's choke point): req carried valid credentials
 * (ticket, API token, root on the local socket).  Its connection then counts
 * as authenticated from now on: it leaves the unauthenticated budget and is
 * never shed to make room for others.  Cheap; call it once authentication
 * succeeded, before the work.  Also honoured from the stream hook.
 */
void http_request_set_authenticated(const struct http_request *req);
bool http_request_authenticated(const struct http_request *req);

/*
 * A request that did not come from this server's parser: the privileged
 * process rebuilds the front's forwarded request with it.  Transport facts,
 * params and the rest are the caller's to fill in; free with
 * http_request_free() (http-parse.h; declared here for that use).
 */
struct http_request *http_request_new_forwarded(const char *method, const char *path);
void http_request_add_header(struct http_request *req, const char *name, const char *value);
struct http_request *http_request_free(struct http_request *req);

/* Header lookup, case-insensitive; NULL if absent. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Cookie value from the Cookie header, URI-unescaped ('+' kept); NULL if absent.
 * Returned string is owned by the request. */
const char *http_request_cookie(const struct http_request *req, const char *name);

struct http_response {
	int status;               /* HTTP status code */
	char *reason;             /* reason phrase (one line); NULL: the standard text */
	const char *content_type; /* static string; NULL: no Content-Type */
	char *body;               /* malloc'd; may be NULL (empty body) */
	size_t body_len;
	/*
	 * Answer only after this many milliseconds, without holding a thread or
	 * slowing other clients (failed logins).
	 */
	unsigned delay_ms;
	/* Extra headers, "Name: value" lines without CRLF, at most 8. */
	char *headers[8];
	size_t n_headers;
	/* Written to the access log instead of the real user, e.g. "root@pam". */
	char *log_user;
	/*
	 * A WebSocket upgrade (status 101): the handler checked the request
	 * with ws_check_upgrade() and put Sec-WebSocket-Accept (and
	 * Sec-WebSocket-Protocol) into headers.  The server answers, then
	 * relays the connection's messages to and from upgrade_fd (a stream
	 * socket it takes; http_response_release() closes it when the answer
	 * is not sent) on the connection's thread until either side ends.
	 * Without upgrade, upgrade_fd means nothing.
	 */
	bool upgrade;
	int upgrade_fd;
	/* The client speaks Proxmox's terminal framing (http-termframe.h):
	 * its first line is answered "OK", its input is unframed, resizes go
	 * to upgrade_fd when it is a pty, pings are dropped. */
	bool upgrade_terminal;
};

void http_response_set_body(struct http_response *resp, int status, const char *content_type,
                            char *body, size_t len);
void http_response_add_header(struct http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Called on an internal thread for every request; must not block for long. */
typedef void http_handler_fn(const struct http_request *req, struct http_response *resp,
                             void *userdata);

/* Where a streamed upload goes. */
struct http_stream_spec {
	char *dir;                   /* directory of the temporary file; the server frees it */
	unsigned long long max_size; /* most bytes the file part may hold */
	/*
	 * Instead of dir: a file opened for writing by someone else (the
	 * privileged process, docs/dev/PRIVSEP.md) that the file part is
	 * written into; the server closes it.  -1 (set by the server before it
	 * calls the hook): create a file in dir.
	 */
	int fd;
	/* The hook's own value, given back in req->stream_cookie and to
	 * http_stream_abort_fn. */
	unsigned long long cookie;
};

/*
 * Optional.  Called on the connection's thread for every POST with a body,
 * after the head is parsed and the path and query decoded (params holds the
 * query only), before any of the body is read.  Returns 0 to leave the
 * request alone (its body is read into memory within max_body_bytes), 1 to
 * claim it: the body must then be multipart/form-data, and is streamed with
 * its file part written to a new temporary file ".upload-XXXXXX.tmp" (0600,
 * O_EXCL) in spec->dir, bounded by spec->max_size, and its other fields
 * (at most 64 KiB together) decoded into params.  A negative errno with
 * *err refuses the request: the handler sees *err as parse_error and the
 * body is not read.  An interrupted, malformed or oversized upload deletes
 * the temporary file before the handler runs (with parse_error set, unless
 * the connection was lost: then the handler is not called at all).
 */
typedef int http_stream_fn(const struct http_request *req, struct http_stream_spec *spec,
                           void *userdata, struct error **err);

/*
 * Optional: a request the stream hook claimed ended without reaching the
 * handler (the connection was lost mid-body); cookie is the hook's.
 */
typedef void http_stream_abort_fn(unsigned long long cookie, void *userdata);

/*
 * Event loops (http-loop.c, docs/dev/HTTP.md): with n_loops > 0 the TCP
 * connections are served by that many loop threads instead of a thread
 * each, and a request without a body goes to submit(), its answer coming
 * back through http_async_done().  Whatever may block (a body, an upload, a
 * WebSocket upgrade, an answer to delay, the unix socket) is served the
 * blocking way in a thread of its own, with the handler, and a keep-alive
 * connection then goes back to a loop.
 */
struct http_loop;
struct http_async; /* a request in flight in a loop */
struct http_loop_ops {
	unsigned n_loops;
	/* In loop thread i, before it serves anything: the backend's state
	 * for that loop (which watches its descriptors with
	 * http_loop_watch()).  NULL: the loop does not start. */
	void *(*init)(unsigned i, struct http_loop *loop, void *userdata);
	void (*fini)(void *lctx);
	/* Starts req.  0: the answer comes later through http_async_done(a),
	 * once, in this loop's thread; req stays valid until then.  1: resp
	 * holds the answer already. */
	int (*submit)(void *lctx, const struct http_request *req, struct http_async *a,
	              struct http_response *resp);
	/* A watched descriptor is readable, or broken. */
	void (*ready)(void *lctx, void *cookie);
};
/* In init(): watch fd (level-triggered, readable) and call ready(cookie). */
int http_loop_watch(struct http_loop *loop, int fd, void *cookie);
/* Stops watching fd (before the backend closes it, or once it is broken). */
void http_loop_unwatch(struct http_loop *loop, int fd);
/* Takes resp's contents as a's answer; only in a's loop's thread. */
void http_async_done(struct http_async *a, struct http_response *resp);

struct http_server_config {
	struct http_limits limits;   /* zeros: defaults */
	const char *access_log_path; /* NULL: no access log */
	/* Without a path: an access log opened by someone else (> 2; the
	 * server owns it).  http_server_reopen_logs() leaves it alone. */
	int access_log_fd;
	http_handler_fn *handler;
	http_stream_fn *stream; /* NULL: bodies are always read into memory */
	http_stream_abort_fn *stream_abort;
	void *userdata;
	/*
	 * Listeners bind (and load their certificate) at once but accept
	 * nothing until http_server_start(): the front process binds and
	 * loads as root with one thread, drops its privileges (which needs a
	 * single-threaded process), and only then starts threads.
	 */
	bool start_later;
	struct http_loop_ops loops; /* zeros: a thread per connection */
};

struct http_server *http_server_new(const struct http_server_config *cfg, struct error **err);
/* Starts the acceptor threads of a server made with start_later. */
int http_server_start(struct http_server *srv, struct error **err);

/* A bound, listening TCP socket on host:port (close-on-exec), for
 * http_server_listen_tls_fd() in another process.  Address forms and port 0
 * as http_server_listen_tls(). */
int http_listen_tcp(const char *host, unsigned port, unsigned *ret_port, struct error **err);
/* Serves TLS on a listening socket fd someone else bound; the server takes
 * fd (closed on failure too). */
int http_server_listen_tls_fd(struct http_server *srv, int fd, const char *cert_path,
                              const char *key_path, struct error **err);

/* Listen on host:port with TLS.  cert and key are PEM file paths. host may be
 * "127.0.0.1", "::", "0.0.0.0", "localhost", "[::1]". port 0 chooses a free
 * port; the chosen one is returned in *ret_port. */
int http_server_listen_tls(struct http_server *srv, const char *host, unsigned port,
                           const char *cert_path, const char *key_path, unsigned *ret_port,
                           struct error **err);
/* Listen on a unix socket (created 0600, replacing a stale one). */
int http_server_listen_unix(struct http_server *srv, const char *path, struct error **err);

/* Reopens the access log (SIGHUP). */
int http_server_reopen_logs(struct http_server *srv, struct error **err);
/* Stops listening, finishes in-flight requests, frees everything. */
struct http_server *http_server_free(struct http_server *srv);

/* Creates a self-signed certificate (RSA 2048 or better, CN = hostname, valid
 * 10 years) and its key at the given paths when either is missing.  The key is
 * written 0600 and atomically. */
int http_tls_ensure_cert(const char *cert_path, const char *key_path, const char *hostname,
                         struct error **err);
/* SHA-256 fingerprint "AA:BB:..." of the certificate (for GET /nodes). */
char *http_tls_cert_fingerprint(const char *cert_path, struct error **err);

/* --- pure decoding helpers, exported for unit tests and fuzzers --- */

/* Percent-decodes s (len bytes); '+' becomes ' ' iff plus_is_space.
 * Returns NULL on an embedded NUL (%00) or bad escape. */
char *http_unescape(const char *s, size_t len, bool plus_is_space);
/* Decodes application/x-www-form-urlencoded data into obj (merge rules
 * above).  Fails with a 400 error on bad escapes, NUL, invalid UTF-8, or more
 * than max_params pairs. */
int http_decode_form(const char *data, size_t len, json_t *obj, size_t max_params,
                     struct error **err);
/* Decodes a JSON body (must be an object) bounded by max_depth. */
int http_decode_json(const char *data, size_t len, unsigned max_depth, json_t **ret_obj,
                     struct error **err);
