/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep: the channel between the unprivileged front process (TLS, HTTP,
 * WebSocket, static files) and the privileged process (authentication,
 * permissions, handlers, tasks).  docs/dev/PRIVSEP.md has the process layout;
 * this is the first slice: the daemon does not use it yet.
 *
 * In the spirit of OpenBSD's imsg (vmd, httpd): a fixed header, a closed set
 * of typed messages, at most one file descriptor per message (SCM_RIGHTS),
 * over a SOCK_STREAM unix socket pair.  Why a stream and not SOCK_SEQPACKET:
 * a request's parameters may be megabytes (a 1 MiB form body decodes to up to
 * ~6 MiB of JSON) and a SEQPACKET message must fit the socket's send buffer
 * in one piece (about 208 KiB by default, and one kernel allocation of the
 * whole size), so large messages would need fragments and reassembly.  A
 * stream carries any size in page-sized pieces; the length prefix frames it,
 * the receiver reads exactly one frame at a time (never into the next), and
 * a frame's descriptor arrives with the frame's first byte, which lets the
 * reader insist that it arrives nowhere else.
 *
 * Wire format, every integer little-endian:
 *
 *   header (16 bytes): u32 len (payload bytes), u16 type, u16 flags, u64 id
 *   payload: the type's fields in a fixed order (privsep-msg.c):
 *     u8/u16/u32/u64 integers
 *     strings: u32 n, then n bytes, no NUL; n = 0xffffffff is "absent"
 *     JSON: a string holding a JSON object, nesting at most 32 levels
 *     body: like a string, but any bytes
 *
 * Every field has a bound (below), every type a largest payload derived from
 * them.  The reader refuses a header whose length exceeds its type's bound
 * before it allocates anything, and the decoder refuses a field over its
 * bound before copying it; the encoder refuses the same things, so whatever
 * encodes also decodes.  Any refusal means the peer is broken or hostile:
 * the channel is torn down (the privileged side restarts the front).
 *
 * A request id ties together the messages of one HTTP request: UPLOAD_OPEN
 * -> UPLOAD_FILE -> REQUEST -> (AUTHENTICATED) -> RESPONSE, or CANCEL.  The
 * front picks ids, unique among its requests in flight, never 0.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct error;
struct strbuf;

#define PRIVSEP_VERSION 1

/* --- bounds (bytes unless said otherwise) ---
 *
 * Chosen from the http layer's own limits (docs/dev/HTTP.md "Limits"), so
 * nothing the front accepted from a client is refused here except where
 * noted: the front answers those itself, as the api layer would have. */
#define PRIVSEP_HDR_SIZE 16
/* Longer methods match no API method; the front answers 501 itself. */
#define PRIVSEP_MAX_METHOD 64
/* The decoded path is never longer than the request line (HTTP_MAX_REQUEST_LINE). */
#define PRIVSEP_MAX_PATH      8192
#define PRIVSEP_MAX_PEER_ADDR 63
/* Request: the selected headers (Cookie, Authorization, CSRFPreventionToken,
 * ...); response: extra header lines (struct http_response holds 8). */
#define PRIVSEP_MAX_HEADERS     8
#define PRIVSEP_MAX_HEADER_NAME 64
/* All headers of one message together, names and values (request) or lines
 * (response): the http layer's max_header_bytes for the whole head. */
#define PRIVSEP_MAX_HEADER_BYTES 16384
/* Decoded parameters as compact JSON.  A body is at most max_body_bytes
 * (1 MiB); form decoding can grow it: a raw control byte becomes a 6-byte
 * "\u00XX" escape.  6 MiB plus the query and the structure fit. */
#define PRIVSEP_MAX_PARAMS     (8u << 20)
#define PRIVSEP_MAX_JSON_DEPTH 32 /* http's max_json_depth */
/* struct error: its message and its parameter errors ({"param": "reason"}). */
#define PRIVSEP_MAX_ERROR_MSG    4096
#define PRIVSEP_MAX_ERROR_PARAMS 65536
/* The http layer sends at most 512 bytes of it (HTTP_MAX_REASON); the
 * privileged side cuts longer messages before encoding. */
#define PRIVSEP_MAX_REASON       4096
#define PRIVSEP_MAX_CONTENT_TYPE 128
#define PRIVSEP_MAX_LOG_USER     512
/* A failed login waits at most 30 s (api-login.c). */
#define PRIVSEP_MAX_DELAY_MS 60000
/* An answer's body in the message itself; larger answers (task log
 * downloads, big lists) travel as a descriptor (memfd or file) instead. */
#define PRIVSEP_MAX_BODY (4u << 20)

/* Which process sends a type: a reader refuses messages from the wrong side. */
enum privsep_side {
	PRIVSEP_FRONT = 1 << 0,
	PRIVSEP_PRIV = 1 << 1,
};

enum privsep_type {
	/* both, first message each way, id 0: u32 version, i32 pid */
	PRIVSEP_HELLO = 1,
	/* front -> priv: a request to answer (struct privsep_request) */
	PRIVSEP_REQUEST,
	/* front -> priv: the head of a POST with a body arrived (params: the
	 * query only); may the body be streamed into a file?  (the http
	 * layer's stream hook, http_stream_fn) */
	PRIVSEP_UPLOAD_OPEN,
	/* priv -> front: the answer to UPLOAD_OPEN; a claimed upload carries
	 * the descriptor of the file the privileged side opened for it */
	PRIVSEP_UPLOAD_FILE,
	/* priv -> front: the request authenticated, before its handler ran
	 * (http_request_set_authenticated: the connection leaves the
	 * unauthenticated budget) */
	PRIVSEP_AUTHENTICATED,
	/* priv -> front: the answer (struct privsep_response), optionally with
	 * a descriptor to read the body from */
	PRIVSEP_RESPONSE,
	/* front -> priv, no payload: the client went away; drop what is held
	 * for the request (an upload file) and answer nothing */
	PRIVSEP_CANCEL,
	/* both: the sender gives up on request id (the front then answers the
	 * client with the error's status and message), or on the whole channel
	 * when id is 0 (it closes the socket after this message) */
	PRIVSEP_ERROR,
	_PRIVSEP_TYPE_MAX,
};

/* Header flags.  PRIVSEP_F_FD is the encoder's business: it is set when the
 * message's fd is >= 0, and the decoder insists that a descriptor came with
 * the frame exactly when it is set. */
enum {
	PRIVSEP_F_FD = 1 << 0,
	/* RESPONSE, UPLOAD_FILE: the request authenticated (as AUTHENTICATED,
	 * without a message of its own) */
	PRIVSEP_F_AUTHENTICATED = 1 << 1,
	/* RESPONSE 101 (a console's stream): the client speaks Proxmox's
	 * terminal framing (http-termframe.h) over the WebSocket */
	PRIVSEP_F_TERMINAL = 1 << 2,
};

/* struct privsep_request.flags: the transport facts of struct http_request. */
enum {
	PRIVSEP_REQ_TLS = 1 << 0,          /* arrived on a TLS listener */
	PRIVSEP_REQ_LOCAL_SOCKET = 1 << 1, /* arrived on the unix socket */
	PRIVSEP_REQ_PEER_CRED = 1 << 2,    /* peer_uid and peer_pid are valid */
	PRIVSEP_REQ_BODY_JSON = 1 << 3,    /* the body was JSON */
	PRIVSEP_REQ_UPLOAD = 1 << 4,       /* upload_size bytes were streamed into the
	                                    * file of this id's UPLOAD_FILE */
	_PRIVSEP_REQ_ALL = (1 << 5) - 1,
};

struct privsep_header {
	char *name; /* an HTTP token */
	char *value;
};

/* REQUEST and UPLOAD_OPEN: what the choke point reads of struct http_request. */
struct privsep_request {
	char *method;   /* an HTTP token, never NULL */
	char *path;     /* percent-decoded, never NULL or empty */
	json_t *params; /* the merged parameters (an object), or NULL */
	struct privsep_header headers[PRIVSEP_MAX_HEADERS];
	size_t n_headers;
	uint32_t flags; /* PRIVSEP_REQ_* */
	uint32_t peer_uid;
	int32_t peer_pid;
	char peer_addr[PRIVSEP_MAX_PEER_ADDR + 1]; /* "127.0.0.1", "::1", "unix" */
	uint64_t body_len;                         /* REQUEST: the body's length; UPLOAD_OPEN: its
	                                            * Content-Length, UINT64_MAX when chunked */
	uint64_t upload_size;                      /* with PRIVSEP_REQ_UPLOAD, else 0 */
	/* What the front could not decode or what broke a limit (400, 413,
	 * 501, ...): the choke point answers it after authentication. */
	struct error *parse_error;
};

/* RESPONSE: struct http_response, plus where the body comes from. */
struct privsep_response {
	uint16_t status;                    /* 100..599 */
	char *reason;                       /* NULL: the standard text */
	char *content_type;                 /* NULL: none */
	uint32_t delay_ms;                  /* answer only after this long (failed logins) */
	char *headers[PRIVSEP_MAX_HEADERS]; /* "Name: value" lines */
	size_t n_headers;
	char *log_user; /* NULL: none */
	/* Without a descriptor: body_len bytes at body (NULL when 0).  With
	 * one: body is NULL and the descriptor holds body_len bytes from its
	 * current offset (a memfd, a file or a pipe). */
	char *body;
	uint64_t body_len;
};

enum privsep_upload_verdict {
	PRIVSEP_UPLOAD_LEAVE = 0,  /* not claimed: read the body into memory */
	PRIVSEP_UPLOAD_CLAIM = 1,  /* stream the file part into the descriptor */
	PRIVSEP_UPLOAD_REFUSE = 2, /* refused: error becomes the request's
	                            * parse_error, the body is not read */
};

/* UPLOAD_FILE */
struct privsep_upload {
	enum privsep_upload_verdict verdict;
	uint64_t max_size;   /* CLAIM: most bytes the file part may hold */
	struct error *error; /* REFUSE only */
};

struct privsep_hello {
	uint32_t version; /* PRIVSEP_VERSION */
	int32_t pid;
};

struct privsep_msg {
	enum privsep_type type;
	uint16_t flags; /* PRIVSEP_F_AUTHENTICATED; PRIVSEP_F_FD follows fd */
	uint64_t id;
	int fd; /* -1, or the descriptor that travels with the message (owned) */
	union {
		struct privsep_hello hello;
		struct privsep_request request;   /* REQUEST, UPLOAD_OPEN */
		struct privsep_response response; /* RESPONSE */
		struct privsep_upload upload;     /* UPLOAD_FILE */
		struct error *error;              /* ERROR, never NULL once decoded */
	};
};

/* An empty message of type t (fd -1).  Always start from this: a zeroed
 * struct has fd 0, which privsep_msg_clear() would close. */
void privsep_msg_init(struct privsep_msg *m, enum privsep_type t, uint64_t id);
/* Frees every field and closes the descriptor; leaves an empty message of
 * the same type. */
void privsep_msg_clear(struct privsep_msg *m);
static inline void privsep_msg_clearp(struct privsep_msg *m)
{
	privsep_msg_clear(m);
}
#define _cleanup_privsep_msg_ __attribute__((cleanup(privsep_msg_clearp)))

const char *privsep_type_name(enum privsep_type t);
/* The side(s) that may send type t (enum privsep_side bits), 0 if unknown. */
unsigned privsep_type_senders(enum privsep_type t);

/* --- the codec: pure, no I/O (fuzzed: tests/fuzz/privsep) --- */

struct privsep_hdr {
	uint32_t len; /* payload bytes */
	uint16_t type;
	uint16_t flags;
	uint64_t id;
};

/* The largest payload a type may have, 0 for an unknown type. */
size_t privsep_type_max_len(enum privsep_type t);

/* Parses and checks the first PRIVSEP_HDR_SIZE bytes of a frame: a known
 * type, a length within the type's bound, known flags the type allows, an id
 * as the type requires.  -EMSGSIZE for a length over the bound, -EBADMSG
 * for anything else. */
int privsep_hdr_parse(const void *buf, struct privsep_hdr *ret, struct error **err);

/* Appends the frame (header and payload) of m to out.  -EMSGSIZE when a
 * field is over its bound (the front answers 413 for parameters, the
 * privileged side sends a large body as a descriptor), -EINVAL when the
 * message is inconsistent (a missing required field, a flag or descriptor
 * its type does not allow, a bad status).  out is unchanged on failure. */
int privsep_msg_encode(const struct privsep_msg *m, struct strbuf *out, struct error **err);

/* Decodes one whole frame of len bytes; fd is the descriptor that came with
 * it or -1.  fd is consumed either way: owned by *ret on success, closed on
 * failure.  Nothing over a bound is allocated.  ret is initialised by the
 * call (privsep_msg_clear() it after success). */
int privsep_msg_decode(const void *frame, size_t len, int fd, struct privsep_msg *ret,
                       struct error **err);

/* Field-by-field equality (descriptors: both present or both absent), for
 * tests and the fuzzer. */
bool privsep_msg_equal(const struct privsep_msg *a, const struct privsep_msg *b);

/* --- the socket pair and I/O (privsep-io.c) ---
 *
 * One writer and one reader at a time per socket: a frame is written with
 * as many sendmsg() calls as the kernel needs, and another writer in between
 * would interleave its bytes.  Threads that share a socket serialise sends
 * with a lock; an event loop queues frames (struct privsep_outq).  Every
 * helper works on blocking and nonblocking sockets alike (MSG_DONTWAIT and
 * poll() with a deadline).  A negative return other than a timeout means the
 * channel is broken: close it. */

/* A connected AF_UNIX SOCK_STREAM pair, close-on-exec. */
int privsep_socketpair(int ret_fds[2], struct error **err);

/* Encodes m and writes the whole frame, with m->fd (if >= 0) attached to its
 * first byte; m->fd stays the caller's.  timeout_ms: -1 waits for ever.
 * -ETIMEDOUT (part of the frame may be gone: the channel is broken), -EPIPE
 * when the peer is gone, or the encoder's errors (nothing was written). */
int privsep_send(int sock, const struct privsep_msg *m, int timeout_ms, struct error **err);

/* Reads one frame at a time, keeping a partial frame between calls. */
struct privsep_reader {
	unsigned from; /* enum privsep_side bits whose messages are accepted */
	uint8_t hdr_buf[PRIVSEP_HDR_SIZE];
	struct privsep_hdr hdr;
	uint8_t *frame; /* header and payload, once the header checked out */
	size_t got;     /* bytes of the current frame received */
	int fd;         /* the descriptor that came with the current frame */
	int failed;     /* the error that broke the channel, or 0 */
	/* One frame at a time (a request channel: the peer sends nothing
	 * more until this frame is answered).  A frame's first read may then
	 * ask for up to PRIVSEP_READ_AHEAD bytes past its header, one
	 * recvmsg() a frame instead of two; a byte past the frame's end in
	 * that read breaks the protocol. */
	bool one_at_a_time;
};
#define PRIVSEP_READ_AHEAD 8192

void privsep_reader_init(struct privsep_reader *r, unsigned from);
void privsep_reader_release(struct privsep_reader *r);

/* Returns 1 with a message in *ret, 0 when no whole frame arrived within
 * timeout_ms (0: do not wait; -1: wait for ever; the partial frame is kept),
 * -EPIPE when the peer closed the channel (between frames or not), or
 * another negative errno when the peer broke the protocol: a header or field
 * over its bound, a descriptor where none may be (more than one, a truncated
 * control message, one that did not come with the frame's first byte), a
 * message from the wrong side.  Received descriptors are close-on-exec and
 * are closed on every error path.  After an error the reader keeps failing. */
int privsep_recv(struct privsep_reader *r, int sock, int timeout_ms, struct privsep_msg *ret,
                 struct error **err);

/* A queue of encoded frames for an event loop's nonblocking socket. */
struct privsep_outq {
	struct privsep_frame *head, *tail;
	size_t bytes; /* queued, not yet written */
};
#define PRIVSEP_OUTQ_INIT \
	{                 \
		0         \
	}

/* Encodes m onto the queue with a duplicate of m->fd (m keeps its own). */
int privsep_outq_push(struct privsep_outq *q, const struct privsep_msg *m, struct error **err);
/* Writes what the socket takes now: 1 when the queue is empty, 0 when the
 * socket is full (wait for POLLOUT), or a negative errno (-EPIPE). */
int privsep_outq_flush(struct privsep_outq *q, int sock, struct error **err);
/* Drops the queue, closing queued descriptors. */
void privsep_outq_release(struct privsep_outq *q);
