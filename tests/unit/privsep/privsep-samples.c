/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "error.h"
#include "privsep-samples.h"
#include "xalloc.h"

static struct error *sample_error(int code, int status, const char *msg, const char *params)
{
	struct error *e = xnew(struct error, 1);
	e->code = code;
	e->http_status = status;
	e->msg = xstrdup(msg);
	if (params)
		e->params = json_loads(params, 0, NULL);
	return e;
}

static void request(struct privsep_msg *m, enum privsep_type t, bool full)
{
	struct privsep_request *q = &m->request;
	q->method = xstrdup(full ? "POST" : "GET");
	q->path = xstrdup(full ? "/api2/json/nodes/n1/storage/local/upload" : "/api2/json/version");
	snprintf(q->peer_addr, sizeof(q->peer_addr), "%s", full ? "unix" : "::ffff:192.0.2.1");
	if (!full) {
		q->flags = PRIVSEP_REQ_TLS;
		return;
	}
	q->flags = PRIVSEP_REQ_LOCAL_SOCKET | PRIVSEP_REQ_PEER_CRED | PRIVSEP_REQ_BODY_JSON;
	if (t == PRIVSEP_REQUEST) {
		q->flags |= PRIVSEP_REQ_UPLOAD;
		q->upload_size = 1ull << 33;
	}
	q->peer_uid = 0;
	q->peer_pid = 4242;
	q->body_len = t == PRIVSEP_UPLOAD_OPEN ? UINT64_MAX : 123;
	const char *h[][2] = {
	    {"Cookie", "PVEAuthCookie=PVE%3Aroot@pam%3A65F0::sig; other=1"},
	    {"Authorization", "PVEAPIToken=root@pam!t=aaaaaaaa-bbbb"},
	    {"CSRFPreventionToken", "65F0:abc\tdef"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
		q->headers[i].name = xstrdup(h[i][0]);
		q->headers[i].value = xstrdup(h[i][1]);
	}
	q->n_headers = ARRAY_SIZE(h);
	q->params = json_loads("{\"node\":\"n1\",\"vmid\":100,\"x\":[\"a\",\"b\"],\"r\":0.1,"
	                       "\"o\":{\"k\":null,\"t\":true},\"u\":\"\\u00e9\\n\"}",
	                       0, NULL);
	q->parse_error = sample_error(-EINVAL, 400, "Parameter verification failed.",
	                              "{\"vmid\":\"value must be at least 100\"}");
}

int privsep_sample_has_fd(size_t i)
{
	return i == 7 || i == 9;
}

static const enum privsep_type types[PRIVSEP_SAMPLES] = {
    PRIVSEP_HELLO,       PRIVSEP_REQUEST,     PRIVSEP_REQUEST,  PRIVSEP_UPLOAD_OPEN,
    PRIVSEP_RESPONSE,    PRIVSEP_RESPONSE,    PRIVSEP_RESPONSE, PRIVSEP_RESPONSE,
    PRIVSEP_UPLOAD_FILE, PRIVSEP_UPLOAD_FILE, PRIVSEP_ERROR,    PRIVSEP_AUTHENTICATED,
    PRIVSEP_CANCEL,
};

enum privsep_type privsep_sample_type(size_t i)
{
	return types[i];
}

void privsep_sample(size_t i, int fd, struct privsep_msg *m)
{
	privsep_msg_init(m, types[i], types[i] == PRIVSEP_HELLO ? 0 : 1000 + i);
	switch (i) {
	case 0:
		m->hello.version = PRIVSEP_VERSION;
		m->hello.pid = 1234;
		break;
	case 1:
		request(m, PRIVSEP_REQUEST, false);
		break;
	case 2:
		request(m, PRIVSEP_REQUEST, true);
		break;
	case 3:
		request(m, PRIVSEP_UPLOAD_OPEN, true);
		break;
	case 4: /* the smallest answer */
		m->response.status = 204;
		break;
	case 5: /* an error answer, its message as reason */
		m->response.status = 401;
		m->response.reason = xstrdup("Authentication failed!");
		m->response.delay_ms = 2000;
		break;
	case 6: {
		static const char body[] = "{\"data\":\"\0binary\"}"; /* a NUL inside */
		m->flags = PRIVSEP_F_AUTHENTICATED;
		m->response.status = 200;
		m->response.content_type = xstrdup("application/json;charset=UTF-8");
		m->response.headers[0] = xstrdup("Location: /x");
		m->response.headers[1] = xstrdup("X-Bin: a\tb");
		m->response.n_headers = 2;
		m->response.log_user = xstrdup("root@pam!tok");
		m->response.body = xmalloc(sizeof(body));
		memcpy(m->response.body, body, sizeof(body));
		m->response.body_len = sizeof(body) - 1;
		break;
	}
	case 7: /* a body read from a descriptor */
		m->response.status = 200;
		m->response.content_type = xstrdup("text/plain");
		m->response.body_len = 5;
		break;
	case 8:
		m->upload.verdict = PRIVSEP_UPLOAD_REFUSE;
		m->upload.error = sample_error(-EACCES, 403, "Permission check failed", NULL);
		break;
	case 9:
		m->flags = PRIVSEP_F_AUTHENTICATED;
		m->upload.verdict = PRIVSEP_UPLOAD_CLAIM;
		m->upload.max_size = 1ull << 40;
		break;
	case 10:
		m->error = sample_error(-EPIPE, 503, "privileged process gone", NULL);
		break;
	default:
		break;
	}
	if (privsep_sample_has_fd(i))
		m->fd = fd;
	else if (fd >= 0)
		close(fd);
}

void wire_u8(struct strbuf *sb, uint8_t v)
{
	strbuf_addch(sb, v);
}

void wire_u16(struct strbuf *sb, uint16_t v)
{
	wire_u8(sb, v & 0xff);
	wire_u8(sb, v >> 8);
}

void wire_u32(struct strbuf *sb, uint32_t v)
{
	wire_u16(sb, v & 0xffff);
	wire_u16(sb, v >> 16);
}

void wire_u64(struct strbuf *sb, uint64_t v)
{
	wire_u32(sb, v & 0xffffffff);
	wire_u32(sb, v >> 32);
}

void wire_begin(struct strbuf *sb, uint16_t type, uint16_t flags, uint64_t id)
{
	strbuf_reset(sb);
	wire_u32(sb, 0);
	wire_u16(sb, type);
	wire_u16(sb, flags);
	wire_u64(sb, id);
}

void wire_end(struct strbuf *sb)
{
	uint32_t n = sb->len - PRIVSEP_HDR_SIZE;
	for (int i = 0; i < 4; i++)
		sb->buf[i] = (n >> (8 * i)) & 0xff;
}

void wire_fill(struct strbuf *sb, size_t n, char c)
{
	if (n == SIZE_MAX) {
		wire_u32(sb, UINT32_MAX);
		return;
	}
	wire_u32(sb, n);
	for (size_t i = 0; i < n; i++)
		strbuf_addch(sb, c);
}

void wire_str(struct strbuf *sb, const char *s)
{
	wire_u32(sb, strlen(s));
	strbuf_addstr(sb, s);
}
