/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The privsep channel's decoder faces a process that may be compromised
 * (the front, for the privileged side).  The first input byte picks:
 *
 *   0: the rest is one frame for privsep_msg_decode() (with a descriptor
 *      when its header announces one);
 *   1: the rest is a byte stream through a real socket pair into
 *      privsep_recv(), frame after frame;
 *   2: the rest drives the building of a message, which is encoded.
 *
 * Checks: no crash and no allocation past the bounds (ASan, libFuzzer's
 * -malloc_limit_mb); a refused frame's descriptor is closed; whatever
 * decodes re-encodes, decodes back equal, and encodes to the same bytes
 * again (the encoding is canonical); whatever encodes decodes back equal;
 * a refused encoding leaves the buffer as it was.
 */
#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "error.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int devnull(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

static void expect_closed(int fd)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) >= 0)
		abort();
}

/* given: the bytes m must encode to (NULL: not known) */
static void round_trip(const struct privsep_msg *m, const char *given, size_t given_len)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct privsep_msg d;
	if (privsep_msg_encode(m, &a, NULL) < 0)
		abort();
	if (a.len - PRIVSEP_HDR_SIZE > privsep_type_max_len(m->type))
		abort();
	if (given && (given_len != a.len || memcmp(given, a.buf, a.len) != 0))
		abort();
	int fd = m->fd >= 0 ? devnull() : -1;
	if (privsep_msg_decode(a.buf, a.len, fd, &d, NULL) < 0 || !privsep_msg_equal(m, &d))
		abort();
	if (privsep_msg_encode(&d, &b, NULL) < 0 || a.len != b.len ||
	    memcmp(a.buf, b.buf, a.len) != 0)
		abort();
	privsep_msg_clear(&d);
	expect_closed(fd);
	strbuf_release(&a);
	strbuf_release(&b);
}

static void fuzz_frame(const uint8_t *p, size_t n)
{
	int fd = n >= PRIVSEP_HDR_SIZE && (p[6] & PRIVSEP_F_FD) ? devnull() : -1;
	struct privsep_msg m;
	if (privsep_msg_decode(p, n, fd, &m, NULL) < 0) {
		expect_closed(fd);
		return;
	}
	round_trip(&m, NULL, 0);
	privsep_msg_clear(&m);
	expect_closed(fd);
}

static void fuzz_stream(const uint8_t *p, size_t n)
{
	int sv[2];
	if (n > 65536 || privsep_socketpair(sv, NULL) < 0)
		return;
	if (n && write(sv[0], p, n) != (ssize_t)n)
		abort();
	shutdown(sv[0], SHUT_WR);
	struct privsep_reader rd;
	privsep_reader_init(&rd, PRIVSEP_FRONT | PRIVSEP_PRIV);
	for (;;) {
		struct privsep_msg m;
		struct error *e = NULL;
		int r = privsep_recv(&rd, sv[1], 0, &m, &e);
		if (r <= 0) {
			/* everything is there: the stream ends in a frame or an error */
			if (r == 0 || !e)
				abort();
			error_free(e);
			break;
		}
		round_trip(&m, NULL, 0);
		privsep_msg_clear(&m);
	}
	privsep_reader_release(&rd);
	close(sv[0]);
	close(sv[1]);
}

/* --- building a message from the input --- */

struct src {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct src *s, size_t bytes)
{
	uint64_t v = 0;
	for (size_t i = 0; i < bytes && s->n; i++, s->p++, s->n--)
		v |= (uint64_t)*s->p << (8 * i);
	return v;
}

/* A string of up to max bytes: from the input while it lasts, then 'a's
 * (so lengths near the bounds do not need inputs that long).  NULL now and
 * then.  A NUL in the input just ends the C string early. */
static char *take_str(struct src *s, size_t max)
{
	uint16_t sel = take(s, 2);
	if (sel == 0xffff)
		return NULL;
	size_t len = sel % (max + 2); /* reaches one past the bound */
	char *str = xmalloc(len + 1);
	size_t from_input = len < s->n ? len : s->n;
	memcpy(str, s->p, from_input);
	memset(str + from_input, 'a', len - from_input);
	str[len] = '\0';
	s->p += from_input;
	s->n -= from_input;
	return str;
}

static json_t *take_json(struct src *s)
{
	size_t len = take(s, 1);
	if (len == 0)
		return NULL;
	len = len < s->n ? len : s->n;
	json_t *v = json_loadb((const char *)s->p, len, 0, NULL);
	s->p += len;
	s->n -= len;
	if (v && !json_is_object(v)) {
		json_t *o = json_object();
		json_object_set_new(o, "v", v);
		v = o;
	}
	return v;
}

static struct error *take_error(struct src *s)
{
	if (take(s, 1) % 4 == 0)
		return NULL;
	struct error *e = xnew(struct error, 1);
	e->code = (int32_t)take(s, 4) % 5000;
	e->http_status = take(s, 2) % 700;
	e->msg = take_str(s, PRIVSEP_MAX_ERROR_MSG);
	if (!e->msg)
		e->msg = xstrdup("");
	e->params = take_json(s);
	return e;
}

static void build(struct src *s, struct privsep_msg *m)
{
	enum privsep_type t = 1 + take(s, 1) % (_PRIVSEP_TYPE_MAX - 1);
	uint8_t bits = take(s, 1);
	privsep_msg_init(m, t, bits & 1 ? 0 : take(s, 8) | 1);
	if (t == PRIVSEP_HELLO && !(bits & 2))
		m->id = 0;
	m->flags = bits & 4 ? PRIVSEP_F_AUTHENTICATED : 0;
	if (bits & 8)
		m->fd = devnull();
	switch (t) {
	case PRIVSEP_HELLO:
		m->hello.version = take(s, 4);
		m->hello.pid = (int32_t)take(s, 4);
		break;
	case PRIVSEP_REQUEST:
	case PRIVSEP_UPLOAD_OPEN: {
		struct privsep_request *q = &m->request;
		q->method = take_str(s, PRIVSEP_MAX_METHOD);
		q->path = take_str(s, PRIVSEP_MAX_PATH);
		q->flags = take(s, 1) & (bits & 16 ? 0xff : _PRIVSEP_REQ_ALL);
		if (q->flags & PRIVSEP_REQ_PEER_CRED) {
			q->peer_uid = take(s, 4);
			q->peer_pid = (int32_t)take(s, 4);
		}
		char *addr = take_str(s, PRIVSEP_MAX_PEER_ADDR - 1);
		snprintf(q->peer_addr, sizeof(q->peer_addr), "%s", addr ? addr : "");
		free(addr);
		q->body_len = take(s, 8);
		if (q->flags & PRIVSEP_REQ_UPLOAD)
			q->upload_size = take(s, 8);
		size_t nh = take(s, 1) % (PRIVSEP_MAX_HEADERS + 2);
		for (size_t i = 0; i < nh && i < PRIVSEP_MAX_HEADERS; i++) {
			q->headers[i].name = take_str(s, PRIVSEP_MAX_HEADER_NAME);
			q->headers[i].value = take_str(s, 16000);
			if (!q->headers[i].name)
				q->headers[i].name = xstrdup("X");
			if (!q->headers[i].value)
				q->headers[i].value = xstrdup("");
		}
		q->n_headers = nh > PRIVSEP_MAX_HEADERS ? PRIVSEP_MAX_HEADERS : nh;
		if (nh > PRIVSEP_MAX_HEADERS && !(bits & 32))
			q->n_headers = nh; /* one too many: the encoder refuses it */
		q->params = take_json(s);
		q->parse_error = take_error(s);
		break;
	}
	case PRIVSEP_RESPONSE: {
		struct privsep_response *p = &m->response;
		p->status = take(s, 2) % 700;
		p->reason = take_str(s, PRIVSEP_MAX_REASON);
		p->content_type = take_str(s, PRIVSEP_MAX_CONTENT_TYPE);
		p->delay_ms = take(s, 4) % (PRIVSEP_MAX_DELAY_MS + 2);
		size_t nh = take(s, 1) % (PRIVSEP_MAX_HEADERS + 1);
		for (size_t i = 0; i < nh; i++) {
			p->headers[i] = take_str(s, 9000);
			if (!p->headers[i])
				p->headers[i] = xstrdup("X: y");
		}
		p->n_headers = nh;
		p->log_user = take_str(s, PRIVSEP_MAX_LOG_USER);
		if (m->fd >= 0) {
			p->body_len = take(s, 8);
		} else {
			char *b = take_str(s, 65533);
			p->body_len = b ? strlen(b) : 0;
			p->body = b;
		}
		break;
	}
	case PRIVSEP_UPLOAD_FILE:
		m->upload.verdict = take(s, 1) % 4;
		if (bits & 64)
			m->upload.max_size = take(s, 8);
		m->upload.error = take_error(s);
		break;
	case PRIVSEP_ERROR:
		m->error = take_error(s);
		break;
	default:
		break;
	}
}

static void fuzz_build(const uint8_t *p, size_t n)
{
	struct src s = {p, n};
	struct privsep_msg m;
	build(&s, &m);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "kept");
	struct error *e = NULL;
	int fd = m.fd;
	if (privsep_msg_encode(&m, &sb, &e) < 0) {
		if (!e || sb.len != 4 || memcmp(sb.buf, "kept", 4) != 0)
			abort();
		error_free(e);
	} else {
		round_trip(&m, sb.buf + 4, sb.len - 4);
	}
	privsep_msg_clear(&m);
	expect_closed(fd);
	strbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65537)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_frame(data + 1, size - 1);
		break;
	case 1:
		fuzz_stream(data + 1, size - 1);
		break;
	default:
		fuzz_build(data + 1, size - 1);
		break;
	}
	return 0;
}
