/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What http-server.c (connection threads) and http-loop.c (event loops)
 * share: the server, its listeners and connections, and the steps of
 * serving a request that both use.  Not part of the http layer's interface.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "http-conn-budget.h"
#include "http-parse.h"
#include "http.h"
#include "strbuf.h"

#if defined(__SANITIZE_ADDRESS__)
#define CONN_STACK_SIZE (1024 * 1024) /* ASan's redzones need room */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONN_STACK_SIZE (1024 * 1024)
#endif
#endif
#ifndef CONN_STACK_SIZE
#define CONN_STACK_SIZE (256 * 1024)
#endif

#define MAX_LISTENERS  16
#define HTTP_MAX_LOOPS 16
/* Threads that only answer 503 to connections beyond the limits (TCP, unix
 * socket); past this many, extra connections are closed without an answer. */
#define MAX_REJECTERS       16
#define MAX_LOCAL_REJECTERS 4
#define REJECT_TIMEOUT_S    5
/* Shed connections whose threads have not left yet; while this many exist,
 * nothing more is shed (a new connection is refused instead). */
#define MAX_DYING  64
#define READ_CHUNK 16384
/* After an answer that leaves a request body unread, drain the client for at
 * most this long so it sees the answer instead of a reset. */
#define LINGER_MS 2000

struct http_listener {
	struct http_server *srv;
	int fd;
	bool tls;
	char *unix_path;
	gnutls_certificate_credentials_t creds;
	pthread_t thread;
	bool running;
};

enum conn_state {
	CONN_THREAD,    /* served by a thread of its own (http-server.c) */
	CONN_HANDSHAKE, /* in a loop: the TLS handshake */
	CONN_READ,      /* in a loop: idle, or reading a request's head */
	CONN_AWAIT,     /* in a loop: the request went to the backend */
	CONN_WRITE,     /* in a loop: writing the answer */
};

struct http_conn {
	struct http_server *srv;
	struct http_listener *l;
	int fd;
	bool reject; /* beyond the limits: answer 503 and close */
	/* Its place in its listener's budget.  Shed connections (evicted, set
	 * under srv->lock) have lost it, and their fd is shut down. */
	struct conn_budget_entry budget;
	bool evicted;
	bool authenticated; /* the budget knows: a request carried credentials */
	int64_t accepted_ms;
	gnutls_session_t tls;
	bool watch_stop; /* reads give up when the server stops */
	int io_err;      /* why the last I/O failed (ETIMEDOUT, ECANCELED, ...) */
	int64_t deadline_ms;
	char peer[64];
	bool has_cred;
	uid_t uid;
	pid_t pid;
	struct strbuf rbuf; /* bytes read but not parsed yet start at rpos */
	size_t rpos;
	struct http_conn *prev, *next;

	/* In an event loop (http-loop.c); loop is NULL for a connection that
	 * was never in one.  Only the loop's thread touches these, or the
	 * one thread a connection was handed to while it is there. */
	struct http_loop *loop;
	bool nonblock; /* TLS transport: EAGAIN back to the loop, no waiting */
	enum conn_state state;
	bool head_started; /* the request's first byte came: its deadline runs */
	bool keep_alive;
	struct http_request *req; /* in flight (AWAIT) or handed to a thread */
	struct http_response resp;
	struct strbuf wbuf; /* the answer being written from wpos */
	size_t wpos;
	struct http_conn *lprev, *lnext; /* the loop's list */
	struct http_conn *qnext;         /* a loop's queue: adopted, answered */
	/* Raw TLS bytes read ahead in the loop: one recv() takes what the
	 * socket holds instead of GnuTLS's two (record header, then the
	 * rest).  Drained before the socket, in either mode. */
	uint8_t *tin;
	size_t tin_pos, tin_len;
};

struct http_server {
	struct http_limits lim;
	http_handler_fn *handler;
	http_stream_fn *stream;
	http_stream_abort_fn *stream_abort;
	void *userdata;
	bool start_later, started; /* started: acceptors run (under lock) */

	char *access_log_path;
	int log_fd;
	pthread_mutex_t log_lock;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t idle;
	/* Threads: admitted connections (shed ones until they leave, n_dying of
	 * them), and those answering 503 (TCP, unix socket). */
	unsigned n_conns, n_dying, n_rejecters, n_local_rejecters;
	struct http_conn *conns;
	struct conn_budget tcp, local; /* the budgets of TCP and the unix socket */
	bool stopping;

	int stop_pipe[2]; /* written once by http_server_free(); never drained */
	struct http_listener *listeners[MAX_LISTENERS];
	size_t n_listeners;
	gnutls_priority_t prio;

	struct http_loop_ops loop_ops; /* n_loops 0: a thread per connection */
	struct http_loop **loops;
	unsigned next_loop; /* round robin, under lock */
};

struct http_loop;

int64_t http_now_ms(void);
/* gnutls_init() with the listener's credentials and the transport over c
 * (which waits, or returns EAGAIN when c->nonblock). */
int http_conn_tls_init(struct http_conn *c);
/* The response's bytes: head and, unless head_only, body. */
void http_conn_format_response(struct strbuf *sb, const struct http_response *resp, bool keep_alive,
                               bool head_only);
void http_conn_access_log(struct http_server *srv, const struct http_conn *c,
                          const struct http_request *req, const struct http_response *resp);
/* The access log's line for req, appended to sb; and lines written at once. */
void http_conn_access_line(struct strbuf *sb, const struct http_conn *c,
                           const struct http_request *req, const struct http_response *resp);
void http_server_log_write(struct http_server *srv, const struct strbuf *lines);
/* The peer's facts the request carries (TLS, address, credentials). */
void http_conn_fill_request(struct http_conn *c, struct http_request *req);
bool http_conn_begin_work(struct http_conn *c);
/* Returns whether the server is stopping. */
bool http_conn_end_work(struct http_conn *c, const struct http_request *req);
ssize_t http_conn_fill(struct http_conn *c, size_t max);
/* Input already read from the socket (decrypted or raw) that no poll sees. */
bool http_conn_has_input(const struct http_conn *c);
size_t http_conn_avail(const struct http_conn *c);
/* Blocking steps, in a connection's own thread. */
bool http_conn_serve_one(struct http_conn *c);
bool http_conn_answer(struct http_conn *c, struct http_request *req, struct http_response *resp,
                      bool keep_alive, bool body_unread);
void http_conn_send_plain(struct http_conn *c, int status);
/* A detached thread with a connection thread's stack; pthread_create()'s
 * result. */
int http_conn_thread_start(void *(*fn)(void *), void *arg);
/* Unlinks c from the server and frees it; after it srv may be gone. */
void http_conn_finish(struct http_conn *c);
/* The thread's goodbye: close_notify unless the connection failed. */
void http_conn_bye(struct http_conn *c);

/* http-loop.c */
struct http_loop *http_loop_new(struct http_server *srv, unsigned index, struct error **err);
/* Stops and frees the loop; its connections are gone already. */
void http_loop_free(struct http_loop *loop);
/* Hands a connection (admitted, counted in srv->n_conns) to a loop. */
void http_loop_adopt(struct http_loop *loop, struct http_conn *c);
