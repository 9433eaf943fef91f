/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep: the codec.  Every type round-trips; every bound is accepted at
 * the bound and refused one past it, by the encoder and (from frames
 * written by hand, independently of the encoder) by the decoder, which
 * refuses an oversized field from its length alone; truncated, trailing,
 * inconsistent and random frames are refused; descriptors are owned or
 * closed on every path.
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "error.h"
#include "privsep-samples.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

static int devnull(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void encode_ok(const struct privsep_msg *m, struct strbuf *sb)
{
	struct error *e = NULL;
	strbuf_reset(sb);
	int r = privsep_msg_encode(m, sb, &e);
	if (r < 0)
		fail_msg("encode %s: %s", privsep_type_name(m->type), e->msg);
}

/* Decodes frame; returns the error code (0 on success) and clears the message. */
static int decode_code(const struct strbuf *sb, int fd)
{
	struct privsep_msg m;
	struct error *e = NULL;
	int r = privsep_msg_decode(sb->buf, sb->len, fd, &m, &e);
	if (r == 0)
		privsep_msg_clear(&m);
	else
		assert_non_null(e);
	error_free(e);
	return r;
}

/* --- round trips --- */

static void test_round_trip(void **state)
{
	bool seen[_PRIVSEP_TYPE_MAX] = {false};
	for (size_t i = 0; i < PRIVSEP_SAMPLES; i++) {
		struct privsep_msg m, d;
		privsep_sample(i, privsep_sample_has_fd(i) ? devnull() : -1, &m);
		seen[m.type] = true;
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		encode_ok(&m, &a);
		int fd = m.fd >= 0 ? devnull() : -1;
		struct error *e = NULL;
		if (privsep_msg_decode(a.buf, a.len, fd, &d, &e) < 0)
			fail_msg("decode sample %zu: %s", i, e->msg);
		assert_true(privsep_msg_equal(&m, &d));
		assert_int_equal(d.fd, fd);
		/* the encoding is canonical */
		encode_ok(&d, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.buf, b.buf, a.len);
		privsep_msg_clear(&d);
		assert_false(fd >= 0 && fd_open(fd));
		privsep_msg_clear(&m);
		strbuf_release(&a);
		strbuf_release(&b);
	}
	for (int t = 1; t < _PRIVSEP_TYPE_MAX; t++)
		if (!seen[t])
			fail_msg("no sample of %s", privsep_type_name(t));
}

/* A field changed in one sample is a different message. */
static void test_equal_sees_differences(void **state)
{
	struct privsep_msg a, b;
	privsep_sample(2, -1, &a);
	privsep_sample(2, -1, &b);
	assert_true(privsep_msg_equal(&a, &b));
	b.request.headers[2].value[0] ^= 1;
	assert_false(privsep_msg_equal(&a, &b));
	privsep_msg_clear(&b);
	privsep_sample(2, -1, &b);
	json_object_set_new(b.request.params, "vmid", json_integer(101));
	assert_false(privsep_msg_equal(&a, &b));
	privsep_msg_clear(&a);
	privsep_msg_clear(&b);
	privsep_sample(6, -1, &a);
	privsep_sample(6, -1, &b);
	b.response.body[12] ^= 1; /* after the NUL */
	assert_false(privsep_msg_equal(&a, &b));
	privsep_msg_clear(&a);
	privsep_msg_clear(&b);
}

/* --- bounds in the encoder --- */

static char *fill(size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, 'a', n);
	s[n] = '\0';
	return s;
}

/* {"a":"..."} of exactly n bytes */
static json_t *json_of_size(size_t n)
{
	char *s = fill(n - 8);
	json_t *o = json_pack("{s:s}", "a", s);
	free(s);
	return o;
}

struct bound {
	const char *what;
	size_t sample, bound;
	void (*set)(struct privsep_msg *m, size_t n);
};

static void set_method(struct privsep_msg *m, size_t n)
{
	free(m->request.method);
	m->request.method = fill(n);
}

static void set_path(struct privsep_msg *m, size_t n)
{
	free(m->request.path);
	m->request.path = fill(n);
	m->request.path[0] = '/';
}

static void set_header_name(struct privsep_msg *m, size_t n)
{
	m->request.headers[0].name = fill(n);
	m->request.headers[0].value = xstrdup("");
	m->request.n_headers = 1;
}

/* headers total: two of them, so each alone stays within the bound */
static void set_header_total(struct privsep_msg *m, size_t n)
{
	m->request.headers[0].name = xstrdup("Cookie");
	m->request.headers[0].value = fill(n / 2 - 6);
	m->request.headers[1].name = xstrdup("Authorization");
	m->request.headers[1].value = fill(n - n / 2 - 13);
	m->request.n_headers = 2;
}

static void set_n_headers(struct privsep_msg *m, size_t n)
{
	for (size_t i = 0; i < n && i < PRIVSEP_MAX_HEADERS; i++) {
		m->request.headers[i].name = xstrdup("X");
		m->request.headers[i].value = xstrdup("y");
	}
	m->request.n_headers = n;
}

static void set_params(struct privsep_msg *m, size_t n)
{
	json_decref(m->request.params);
	m->request.params = json_of_size(n);
}

static void set_error_msg(struct privsep_msg *m, size_t n)
{
	free(m->request.parse_error->msg);
	m->request.parse_error->msg = fill(n);
}

static void set_error_params(struct privsep_msg *m, size_t n)
{
	json_decref(m->request.parse_error->params);
	m->request.parse_error->params = json_of_size(n);
}

static void set_reason(struct privsep_msg *m, size_t n)
{
	free(m->response.reason);
	m->response.reason = fill(n);
}

static void set_content_type(struct privsep_msg *m, size_t n)
{
	free(m->response.content_type);
	m->response.content_type = fill(n);
}

static void set_log_user(struct privsep_msg *m, size_t n)
{
	free(m->response.log_user);
	m->response.log_user = fill(n);
}

static void set_delay(struct privsep_msg *m, size_t n)
{
	m->response.delay_ms = n;
}

static void set_lines_total(struct privsep_msg *m, size_t n)
{
	for (size_t i = 0; i < m->response.n_headers; i++)
		free(m->response.headers[i]);
	m->response.headers[0] = fill(n / 2);
	m->response.headers[1] = fill(n - n / 2);
	m->response.n_headers = 2;
}

static void set_n_lines(struct privsep_msg *m, size_t n)
{
	for (size_t i = 0; i < m->response.n_headers; i++)
		free(m->response.headers[i]);
	for (size_t i = 0; i < n && i < PRIVSEP_MAX_HEADERS; i++)
		m->response.headers[i] = xstrdup("X: y");
	m->response.n_headers = n;
}

static void set_body(struct privsep_msg *m, size_t n)
{
	free(m->response.body);
	m->response.body = fill(n);
	m->response.body_len = n;
}

static void set_upload_error_msg(struct privsep_msg *m, size_t n)
{
	free(m->upload.error->msg);
	m->upload.error->msg = fill(n);
}

static const struct bound bounds[] = {
    {"method", 1, PRIVSEP_MAX_METHOD, set_method},
    {"path", 1, PRIVSEP_MAX_PATH, set_path},
    {"header name", 1, PRIVSEP_MAX_HEADER_NAME, set_header_name},
    {"headers", 1, PRIVSEP_MAX_HEADER_BYTES, set_header_total},
    {"header count", 1, PRIVSEP_MAX_HEADERS, set_n_headers},
    {"parameters", 1, PRIVSEP_MAX_PARAMS, set_params},
    {"upload-open parameters", 3, PRIVSEP_MAX_PARAMS, set_params},
    {"error message", 2, PRIVSEP_MAX_ERROR_MSG, set_error_msg},
    {"error parameters", 2, PRIVSEP_MAX_ERROR_PARAMS, set_error_params},
    {"reason", 5, PRIVSEP_MAX_REASON, set_reason},
    {"content type", 6, PRIVSEP_MAX_CONTENT_TYPE, set_content_type},
    {"log user", 6, PRIVSEP_MAX_LOG_USER, set_log_user},
    {"delay", 5, PRIVSEP_MAX_DELAY_MS, set_delay},
    {"header lines", 6, PRIVSEP_MAX_HEADER_BYTES, set_lines_total},
    {"header line count", 6, PRIVSEP_MAX_HEADERS, set_n_lines},
    {"body", 6, PRIVSEP_MAX_BODY, set_body},
    {"refusal message", 8, PRIVSEP_MAX_ERROR_MSG, set_upload_error_msg},
};

static void test_encode_bounds(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bounds); i++) {
		const struct bound *b = &bounds[i];
		struct privsep_msg m, d;
		struct strbuf sb = STRBUF_INIT;
		struct error *e = NULL;

		/* at the bound: encodes, decodes, equal */
		privsep_sample(b->sample, -1, &m);
		b->set(&m, b->bound);
		encode_ok(&m, &sb);
		if (privsep_msg_decode(sb.buf, sb.len, -1, &d, &e) < 0)
			fail_msg("%s at its bound: %s", b->what, e->msg);
		assert_true(privsep_msg_equal(&m, &d));
		privsep_msg_clear(&d);
		privsep_msg_clear(&m);

		/* one past: refused, and the buffer is left as it was */
		privsep_sample(b->sample, -1, &m);
		b->set(&m, b->bound + 1);
		strbuf_reset(&sb);
		strbuf_addstr(&sb, "kept");
		int r = privsep_msg_encode(&m, &sb, &e);
		if (r != -EMSGSIZE)
			fail_msg("%s over its bound: %d", b->what, r);
		assert_non_null(strstr(e->msg, "privsep:"));
		assert_string_equal(sb.buf, "kept");
		assert_int_equal(sb.len, 4);
		e = error_free(e);
		privsep_msg_clear(&m);
		strbuf_release(&sb);
	}
}

/* Messages a type cannot have: refused, nothing written. */
static void test_encode_refuses_inconsistent(void **state)
{
	static const size_t sample_of[] = {0, 2, 2, 2, 2, 2, 2, 2, 5, 5, 5, 8, 8, 8, 10, 10};
	struct strbuf sb = STRBUF_INIT;
	for (size_t c = 0; c < ARRAY_SIZE(sample_of); c++) {
		struct privsep_msg m;
		struct error *e = NULL;
		privsep_sample(sample_of[c], -1, &m);
		switch (c) {
		case 0:
			m.hello.pid = 0;
			break;
		case 1:
			m.id = 0;
			break;
		case 2:
			m.request.flags |= 1u << 20;
			break;
		case 3: /* an upload size without the upload */
			m.request.flags &= ~PRIVSEP_REQ_UPLOAD;
			break;
		case 4: /* credentials without the flag */
			m.request.flags &= ~PRIVSEP_REQ_PEER_CRED;
			break;
		case 5:
			free(m.request.method);
			m.request.method = xstrdup("GE T");
			break;
		case 6:
			m.request.parse_error->code = 5;
			break;
		case 7:
			m.flags = PRIVSEP_F_AUTHENTICATED;
			break;
		case 8:
			m.response.status = 99;
			break;
		case 9:
			free(m.response.reason);
			m.response.reason = xstrdup("two\nlines");
			break;
		case 10: /* a length without a body */
			m.response.body_len = 3;
			break;
		case 11: /* a claim without a descriptor */
			m.upload.verdict = PRIVSEP_UPLOAD_CLAIM;
			break;
		case 12: /* no claim, but an error */
			m.upload.verdict = PRIVSEP_UPLOAD_LEAVE;
			break;
		case 13: /* a refusal with a descriptor */
			m.fd = devnull();
			break;
		case 14:
			m.error->http_status = 600;
			break;
		default:
			m.type = _PRIVSEP_TYPE_MAX;
			break;
		}
		int r = privsep_msg_encode(&m, &sb, &e);
		if (r >= 0)
			fail_msg("case %zu encoded", c);
		assert_non_null(e);
		assert_int_equal(sb.len, 0);
		error_free(e);
		m.type = privsep_sample_type(sample_of[c]);
		privsep_msg_clear(&m);
	}
	strbuf_release(&sb);
}

/* --- frames by hand, for the decoder --- */

struct raw_request {
	const char *method, *path, *addr;
	uint32_t flags, uid;
	int32_t pid;
	uint64_t upload;
	size_t n_headers, name_len, value_len;
	size_t params_claim; /* a length without the bytes (SIZE_MAX: none) */
	const char *params;  /* or this text (NULL: absent) */
	int error;           /* 1: a parse error */
	size_t error_msg_claim;
	size_t error_params_claim;
};

static void raw_request(struct strbuf *sb, const struct raw_request *q, uint16_t type)
{
	wire_begin(sb, type, 0, 7);
	wire_str(sb, q->method ? q->method : "GET");
	wire_str(sb, q->path ? q->path : "/");
	wire_u32(sb, q->flags);
	wire_u32(sb, q->uid);
	wire_u32(sb, (uint32_t)q->pid);
	wire_str(sb, q->addr ? q->addr : "127.0.0.1");
	wire_u64(sb, 0);
	wire_u64(sb, q->upload);
	wire_u8(sb, q->n_headers);
	for (size_t i = 0; i < q->n_headers && i < 16; i++) {
		wire_fill(sb, q->name_len ? q->name_len : 1, 'N');
		wire_fill(sb, q->value_len, 'v');
	}
	if (q->params_claim && q->params_claim != SIZE_MAX)
		wire_u32(sb, q->params_claim);
	else if (q->params)
		wire_str(sb, q->params);
	else
		wire_u32(sb, UINT32_MAX);
	wire_u8(sb, q->error ? 1 : 0);
	if (q->error) {
		wire_u32(sb, (uint32_t)-EINVAL);
		wire_u16(sb, 400);
		if (q->error_msg_claim) {
			wire_u32(sb, q->error_msg_claim);
		} else {
			wire_str(sb, "bad");
			if (q->error_params_claim)
				wire_u32(sb, q->error_params_claim);
			else
				wire_u32(sb, UINT32_MAX);
		}
	}
	wire_end(sb);
}

struct raw_response {
	uint16_t status;
	size_t reason, ctype, n_lines, line_len, log_user; /* lengths; 0 absent */
	uint32_t delay;
	uint64_t body_claim;
};

static void raw_response(struct strbuf *sb, const struct raw_response *p)
{
	wire_begin(sb, PRIVSEP_RESPONSE, 0, 7);
	wire_u16(sb, p->status ? p->status : 200);
	wire_fill(sb, p->reason ? p->reason : SIZE_MAX, 'r');
	wire_fill(sb, p->ctype ? p->ctype : SIZE_MAX, 'c');
	wire_u32(sb, p->delay);
	wire_u8(sb, p->n_lines);
	for (size_t i = 0; i < p->n_lines && i < 16; i++)
		wire_fill(sb, p->line_len, 'h');
	wire_fill(sb, p->log_user ? p->log_user : SIZE_MAX, 'u');
	wire_u64(sb, p->body_claim);
	wire_end(sb);
}

static void test_raw_frames_match_the_encoder(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct raw_request q = {.params = "{\"a\":1}", .error = 1, .n_headers = 2, .value_len = 3};
	raw_request(&sb, &q, PRIVSEP_REQUEST);
	assert_int_equal(decode_code(&sb, -1), 0);
	struct raw_response p = {
	    .reason = 5, .ctype = 3, .n_lines = 2, .line_len = 4, .log_user = 8};
	raw_response(&sb, &p);
	assert_int_equal(decode_code(&sb, -1), 0);
	strbuf_release(&sb);
}

static void test_decode_bounds(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *method = fill(PRIVSEP_MAX_METHOD + 1);
	char *path = fill(PRIVSEP_MAX_PATH + 1);
	char *addr = fill(PRIVSEP_MAX_PEER_ADDR + 1);
	path[0] = '/';
	const struct raw_request over[] = {
	    {.method = method},
	    {.path = path},
	    {.addr = addr},
	    {.n_headers = PRIVSEP_MAX_HEADERS + 1},
	    {.n_headers = 1, .name_len = PRIVSEP_MAX_HEADER_NAME + 1},
	    {.n_headers = 1, .value_len = PRIVSEP_MAX_HEADER_BYTES + 1},
	    {.n_headers = 2, .value_len = PRIVSEP_MAX_HEADER_BYTES / 2}, /* with the names */
	    {.params_claim = PRIVSEP_MAX_PARAMS + 1},
	    {.params_claim = UINT32_MAX - 1},
	    {.error = 1, .error_msg_claim = PRIVSEP_MAX_ERROR_MSG + 1},
	    {.error = 1, .error_params_claim = PRIVSEP_MAX_ERROR_PARAMS + 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(over); i++) {
		raw_request(&sb, &over[i], PRIVSEP_REQUEST);
		int r = decode_code(&sb, -1);
		if (r != -EMSGSIZE)
			fail_msg("request case %zu: %d", i, r);
	}
	/* the same lengths one less are fine (where the frame holds the bytes) */
	method[PRIVSEP_MAX_METHOD] = '\0';
	path[PRIVSEP_MAX_PATH] = '\0';
	addr[PRIVSEP_MAX_PEER_ADDR] = '\0';
	const struct raw_request at[] = {
	    {.method = method},
	    {.path = path},
	    {.addr = addr},
	    {.n_headers = PRIVSEP_MAX_HEADERS},
	    {.n_headers = 1, .name_len = PRIVSEP_MAX_HEADER_NAME},
	    {.n_headers = 1, .value_len = PRIVSEP_MAX_HEADER_BYTES - 1},
	    {.n_headers = 2, .value_len = PRIVSEP_MAX_HEADER_BYTES / 2 - 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		raw_request(&sb, &at[i], PRIVSEP_REQUEST);
		int r = decode_code(&sb, -1);
		if (r != 0)
			fail_msg("request case %zu at its bound: %d", i, r);
	}

	const struct raw_response rover[] = {
	    {.reason = PRIVSEP_MAX_REASON + 1},
	    {.ctype = PRIVSEP_MAX_CONTENT_TYPE + 1},
	    {.delay = PRIVSEP_MAX_DELAY_MS + 1},
	    {.n_lines = PRIVSEP_MAX_HEADERS + 1, .line_len = 1},
	    {.n_lines = 2, .line_len = PRIVSEP_MAX_HEADER_BYTES / 2 + 1},
	    {.log_user = PRIVSEP_MAX_LOG_USER + 1},
	    {.body_claim = PRIVSEP_MAX_BODY + 1},
	    {.body_claim = UINT64_MAX},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rover); i++) {
		raw_response(&sb, &rover[i]);
		int r = decode_code(&sb, -1);
		if (r != -EMSGSIZE)
			fail_msg("response case %zu: %d", i, r);
	}
	free(method);
	free(path);
	free(addr);
	strbuf_release(&sb);
}

/* The header check refuses a length over the type's bound by itself. */
static void test_header_bounds(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	for (int t = 1; t < _PRIVSEP_TYPE_MAX; t++) {
		size_t max = privsep_type_max_len(t);
		struct privsep_hdr h;
		struct error *e = NULL;
		wire_begin(&sb, t, 0, t == PRIVSEP_HELLO ? 0 : 1);
		sb.buf[0] = max & 0xff, sb.buf[1] = (max >> 8) & 0xff,
		sb.buf[2] = (max >> 16) & 0xff, sb.buf[3] = (max >> 24) & 0xff;
		assert_int_equal(privsep_hdr_parse(sb.buf, &h, &e), 0);
		assert_int_equal(h.len, max);
		max++;
		sb.buf[0] = max & 0xff, sb.buf[1] = (max >> 8) & 0xff,
		sb.buf[2] = (max >> 16) & 0xff, sb.buf[3] = (max >> 24) & 0xff;
		assert_int_equal(privsep_hdr_parse(sb.buf, &h, &e), -EMSGSIZE);
		e = error_free(e);
	}
	strbuf_release(&sb);
}

/* Frames no sender may write. */
static void test_decode_refusals(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	const char *bad_params[] = {
	    "[1]", "{\"a\":1,\"a\":2}", "{\"a\":\"\\u0000\"}", "{\"a\":", "{}x", "1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_params); i++) {
		struct raw_request q = {.params = bad_params[i]};
		raw_request(&sb, &q, PRIVSEP_REQUEST);
		assert_int_equal(decode_code(&sb, -1), -EBADMSG);
	}
	/* 33 levels of nesting; 32 are fine */
	struct strbuf deep = STRBUF_INIT;
	for (int depth = 32; depth <= 33; depth++) {
		strbuf_reset(&deep);
		strbuf_addstr(&deep, "{\"a\":");
		for (int i = 1; i < depth; i++)
			strbuf_addch(&deep, '[');
		strbuf_addch(&deep, '1');
		for (int i = 1; i < depth; i++)
			strbuf_addch(&deep, ']');
		strbuf_addch(&deep, '}');
		struct raw_request q = {.params = deep.buf};
		raw_request(&sb, &q, PRIVSEP_REQUEST);
		assert_int_equal(decode_code(&sb, -1), depth == 32 ? 0 : -EBADMSG);
	}
	strbuf_release(&deep);

	const struct raw_request bad[] = {
	    {.method = "GE T"},  {.method = ""},
	    {.path = ""},        {.addr = "a\nb"},
	    {.flags = 1u << 20}, {.upload = 5}, /* an upload size without the flag */
	    {.uid = 1},                         /* credentials without the flag */
	    {.pid = 1},          {.n_headers = 1, .name_len = 0, .value_len = 0, .method = "G\x01"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		raw_request(&sb, &bad[i], PRIVSEP_REQUEST);
		int r = decode_code(&sb, -1);
		if (r != -EBADMSG)
			fail_msg("request refusal %zu: %d", i, r);
	}
	/* an upload flag on the upload's own question */
	struct raw_request up = {.flags = PRIVSEP_REQ_UPLOAD, .upload = 1};
	raw_request(&sb, &up, PRIVSEP_REQUEST);
	assert_int_equal(decode_code(&sb, -1), 0);
	raw_request(&sb, &up, PRIVSEP_UPLOAD_OPEN);
	assert_int_equal(decode_code(&sb, -1), -EBADMSG);

	/* a NUL in the path, a newline in a header value */
	wire_begin(&sb, PRIVSEP_REQUEST, 0, 1);
	wire_str(&sb, "GET");
	wire_u32(&sb, 3);
	strbuf_add(&sb, "/\0a", 3);
	wire_end(&sb);
	assert_int_equal(decode_code(&sb, -1), -EBADMSG);

	/* headers: unknown type, flags, ids */
	const struct {
		uint16_t type, flags;
		uint64_t id;
	} hdrs[] = {
	    {0, 0, 1},
	    {_PRIVSEP_TYPE_MAX, 0, 1},
	    {0xffff, 0, 1},
	    {PRIVSEP_CANCEL, PRIVSEP_F_AUTHENTICATED, 1},
	    {PRIVSEP_RESPONSE, 1 << 5, 1},
	    {PRIVSEP_UPLOAD_FILE, PRIVSEP_F_TERMINAL, 1}, /* a RESPONSE's alone */
	    {PRIVSEP_CANCEL, 0, 0},
	    {PRIVSEP_HELLO, 0, 1},
	    {PRIVSEP_REQUEST, PRIVSEP_F_FD, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(hdrs); i++) {
		wire_begin(&sb, hdrs[i].type, hdrs[i].flags, hdrs[i].id);
		wire_end(&sb);
		assert_int_equal(decode_code(&sb, -1), -EBADMSG);
	}

	/* HELLO without a pid; statuses; verdicts; error markers and ranges */
	wire_begin(&sb, PRIVSEP_HELLO, 0, 0);
	wire_u32(&sb, 1);
	wire_u32(&sb, 0);
	wire_end(&sb);
	assert_int_equal(decode_code(&sb, -1), -EBADMSG);
	for (int status = 98; status <= 601; status++) {
		struct raw_response p = {.status = status};
		raw_response(&sb, &p);
		int r = decode_code(&sb, -1);
		assert_int_equal(r, status >= 100 && status <= 599 ? 0 : -EBADMSG);
		if (status == 101)
			status = 598;
	}
	const struct {
		uint8_t verdict;
		uint64_t max;
		uint8_t marker;
		bool fd;
	} ups[] = {
	    {3, 0, 0, false},
	    {PRIVSEP_UPLOAD_CLAIM, 1, 0, false},
	    {PRIVSEP_UPLOAD_LEAVE, 1, 0, false},
	    {PRIVSEP_UPLOAD_LEAVE, 0, 0, true},
	    {PRIVSEP_UPLOAD_REFUSE, 0, 0, false},
	    {PRIVSEP_UPLOAD_LEAVE, 0, 2, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ups); i++) {
		wire_begin(&sb, PRIVSEP_UPLOAD_FILE, ups[i].fd ? PRIVSEP_F_FD : 0, 1);
		wire_u8(&sb, ups[i].verdict);
		wire_u64(&sb, ups[i].max);
		wire_u8(&sb, ups[i].marker);
		wire_end(&sb);
		int fd = ups[i].fd ? devnull() : -1;
		assert_int_equal(decode_code(&sb, fd), -EBADMSG);
		assert_false(fd >= 0 && fd_open(fd));
	}
	/* an error that comes with a claim or a "leave it" */
	for (int v = PRIVSEP_UPLOAD_LEAVE; v <= PRIVSEP_UPLOAD_REFUSE; v++) {
		wire_begin(&sb, PRIVSEP_UPLOAD_FILE, v == PRIVSEP_UPLOAD_CLAIM ? PRIVSEP_F_FD : 0,
		           1);
		wire_u8(&sb, v);
		wire_u64(&sb, 0);
		wire_u8(&sb, 1);
		wire_u32(&sb, (uint32_t)-EACCES);
		wire_u16(&sb, 403);
		wire_str(&sb, "no");
		wire_u32(&sb, UINT32_MAX);
		wire_end(&sb);
		int r = decode_code(&sb, v == PRIVSEP_UPLOAD_CLAIM ? devnull() : -1);
		assert_int_equal(r, v == PRIVSEP_UPLOAD_REFUSE ? 0 : -EBADMSG);
	}
	const struct {
		uint8_t marker;
		int32_t code;
		uint16_t status;
		const char *msg;
	} errs[] = {
	    {0, 0, 0, NULL},    {2, 0, 0, NULL},     {1, 1, 500, "x"},       {1, -5000, 500, "x"},
	    {1, -EIO, 99, "x"}, {1, -EIO, 600, "x"}, {1, -EIO, 500, "a\rb"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		wire_begin(&sb, PRIVSEP_ERROR, 0, 0);
		wire_u8(&sb, errs[i].marker);
		if (errs[i].marker == 1) {
			wire_u32(&sb, (uint32_t)errs[i].code);
			wire_u16(&sb, errs[i].status);
			wire_str(&sb, errs[i].msg);
			wire_u32(&sb, UINT32_MAX);
		}
		wire_end(&sb);
		int r = decode_code(&sb, -1);
		if (r != -EBADMSG)
			fail_msg("error case %zu: %d", i, r);
	}
	strbuf_release(&sb);
}

/* Every proper prefix of a frame and every frame with a byte too many fail. */
static void test_truncated_and_trailing(void **state)
{
	for (size_t i = 0; i < PRIVSEP_SAMPLES; i++) {
		struct privsep_msg m;
		privsep_sample(i, privsep_sample_has_fd(i) ? devnull() : -1, &m);
		bool has_fd = m.fd >= 0;
		struct strbuf sb = STRBUF_INIT, cut = STRBUF_INIT;
		encode_ok(&m, &sb);
		for (size_t n = 0; n < sb.len; n++) {
			/* the header still says the whole length */
			struct error *e = NULL;
			struct privsep_msg d;
			int fd = has_fd ? devnull() : -1;
			assert_true(privsep_msg_decode(sb.buf, n, fd, &d, &e) < 0);
			assert_false(fd >= 0 && fd_open(fd));
			e = error_free(e);
			/* the header says the cut length */
			if (n < PRIVSEP_HDR_SIZE)
				continue;
			strbuf_reset(&cut);
			strbuf_add(&cut, sb.buf, n);
			wire_end(&cut);
			assert_true(decode_code(&cut, has_fd ? devnull() : -1) < 0);
		}
		strbuf_reset(&cut);
		strbuf_add(&cut, sb.buf, sb.len);
		strbuf_addch(&cut, 0);
		wire_end(&cut);
		assert_true(decode_code(&cut, has_fd ? devnull() : -1) < 0);
		privsep_msg_clear(&m);
		strbuf_release(&sb);
		strbuf_release(&cut);
	}
}

/* A descriptor the frame does not announce is refused and closed, and one it
 * announces is required. */
static void test_descriptor_ownership(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct privsep_msg m;
	privsep_sample(6, -1, &m);
	encode_ok(&m, &sb);
	int fd = devnull();
	assert_int_equal(decode_code(&sb, fd), -EBADMSG);
	assert_false(fd_open(fd));
	privsep_msg_clear(&m);

	privsep_sample(7, devnull(), &m);
	encode_ok(&m, &sb);
	assert_int_equal(decode_code(&sb, -1), -EBADMSG);
	fd = devnull();
	struct privsep_msg d;
	assert_int_equal(privsep_msg_decode(sb.buf, sb.len, fd, &d, NULL), 0);
	assert_int_equal(d.fd, fd);
	assert_true(fd_open(fd));
	privsep_msg_clear(&d);
	assert_false(fd_open(fd));
	privsep_msg_clear(&m);
	strbuf_release(&sb);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bytes and random mutations of valid frames: no crash, no leak,
 * descriptors closed; what decodes re-encodes to an equal message. */
static void test_garbage(void **state)
{
	struct strbuf sb = STRBUF_INIT, base = STRBUF_INIT, again = STRBUF_INIT;
	for (int round = 0; round < 20000; round++) {
		strbuf_reset(&sb);
		bool has_fd = false;
		if (round % 2) {
			size_t n = next() % 300;
			for (size_t i = 0; i < n; i++)
				strbuf_addch(&sb, next());
			if (n >= PRIVSEP_HDR_SIZE) {
				sb.buf[4] = next() % (_PRIVSEP_TYPE_MAX + 1);
				sb.buf[5] = 0;
				wire_end(&sb);
			}
		} else {
			struct privsep_msg m;
			size_t s = next() % PRIVSEP_SAMPLES;
			privsep_sample(s, privsep_sample_has_fd(s) ? devnull() : -1, &m);
			has_fd = m.fd >= 0;
			encode_ok(&m, &base);
			privsep_msg_clear(&m);
			strbuf_add(&sb, base.buf, base.len);
			for (int k = 1 + next() % 3; k > 0; k--)
				sb.buf[next() % sb.len] ^= 1u << (next() % 8);
		}
		int fd = has_fd ? devnull() : -1;
		struct privsep_msg d, d2;
		if (privsep_msg_decode(sb.buf, sb.len, fd, &d, NULL) < 0) {
			assert_false(fd >= 0 && fd_open(fd));
			continue;
		}
		encode_ok(&d, &again);
		assert_int_equal(
		    privsep_msg_decode(again.buf, again.len, d.fd >= 0 ? devnull() : -1, &d2, NULL),
		    0);
		assert_true(privsep_msg_equal(&d, &d2));
		privsep_msg_clear(&d);
		privsep_msg_clear(&d2);
	}
	strbuf_release(&sb);
	strbuf_release(&base);
	strbuf_release(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_equal_sees_differences),
	    cmocka_unit_test(test_encode_bounds),
	    cmocka_unit_test(test_encode_refuses_inconsistent),
	    cmocka_unit_test(test_raw_frames_match_the_encoder),
	    cmocka_unit_test(test_decode_bounds),
	    cmocka_unit_test(test_header_bounds),
	    cmocka_unit_test(test_decode_refusals),
	    cmocka_unit_test(test_truncated_and_trailing),
	    cmocka_unit_test(test_descriptor_ownership),
	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
