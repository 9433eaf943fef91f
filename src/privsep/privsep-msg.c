/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The channel's codec (privsep.h): one encoder, one decoder, one table of
 * types.  Pure: no I/O, so the fuzzer drives it on raw bytes.
 *
 * The encoder and the decoder check every field with the same functions
 * (check_bytes(), check_json_text(), check_error_fields()), so whatever encodes
 * decodes to an equal message, and the decoder checks a field's length
 * against its bound before it copies anything.
 */
#include "common.h"

#include "error.h"
#include "jsonutil.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

#define ABSENT UINT32_MAX

/* Encoded size of a string field of at most n bytes. */
#define STR(n)               (4 + (size_t)(n))
#define ERROR_MAX_LEN        (1 + 4 + 2 + STR(PRIVSEP_MAX_ERROR_MSG) + STR(PRIVSEP_MAX_ERROR_PARAMS))
#define HEADERS_MAX_LEN(per) (1 + PRIVSEP_MAX_HEADERS * (per) + PRIVSEP_MAX_HEADER_BYTES)
#define REQUEST_MAX_LEN                                                                      \
	(STR(PRIVSEP_MAX_METHOD) + STR(PRIVSEP_MAX_PATH) + 4 + 4 + 4 +                       \
	 STR(PRIVSEP_MAX_PEER_ADDR) + 8 + 8 + HEADERS_MAX_LEN(8) + STR(PRIVSEP_MAX_PARAMS) + \
	 ERROR_MAX_LEN)
#define RESPONSE_MAX_LEN                                                                        \
	(2 + STR(PRIVSEP_MAX_REASON) + STR(PRIVSEP_MAX_CONTENT_TYPE) + 4 + HEADERS_MAX_LEN(4) + \
	 STR(PRIVSEP_MAX_LOG_USER) + 8 + PRIVSEP_MAX_BODY)
#define UPLOAD_MAX_LEN (1 + 8 + ERROR_MAX_LEN)

_Static_assert(REQUEST_MAX_LEN < UINT32_MAX / 2 && RESPONSE_MAX_LEN < UINT32_MAX / 2,
               "frame lengths fit the header's u32");

enum id_rule { ID_ZERO, ID_NONZERO, ID_ANY };

static const struct type_info {
	const char *name;
	size_t max_len;
	unsigned senders; /* enum privsep_side */
	uint16_t flags;   /* allowed header flags */
	enum id_rule id;
} types[_PRIVSEP_TYPE_MAX] = {
    [PRIVSEP_HELLO] = {"HELLO", 8, PRIVSEP_FRONT | PRIVSEP_PRIV, 0, ID_ZERO},
    [PRIVSEP_REQUEST] = {"REQUEST", REQUEST_MAX_LEN, PRIVSEP_FRONT, 0, ID_NONZERO},
    [PRIVSEP_UPLOAD_OPEN] = {"UPLOAD_OPEN", REQUEST_MAX_LEN, PRIVSEP_FRONT, 0, ID_NONZERO},
    [PRIVSEP_UPLOAD_FILE] = {"UPLOAD_FILE", UPLOAD_MAX_LEN, PRIVSEP_PRIV,
                             PRIVSEP_F_FD | PRIVSEP_F_AUTHENTICATED, ID_NONZERO},
    [PRIVSEP_AUTHENTICATED] = {"AUTHENTICATED", 0, PRIVSEP_PRIV, 0, ID_NONZERO},
    [PRIVSEP_RESPONSE] = {"RESPONSE", RESPONSE_MAX_LEN, PRIVSEP_PRIV,
                          PRIVSEP_F_FD | PRIVSEP_F_AUTHENTICATED | PRIVSEP_F_TERMINAL, ID_NONZERO},
    [PRIVSEP_CANCEL] = {"CANCEL", 0, PRIVSEP_FRONT, 0, ID_NONZERO},
    [PRIVSEP_ERROR] = {"ERROR", ERROR_MAX_LEN, PRIVSEP_FRONT | PRIVSEP_PRIV, 0, ID_ANY},
};

static const struct type_info *type_info(unsigned t)
{
	return t > 0 && t < _PRIVSEP_TYPE_MAX ? &types[t] : NULL;
}

const char *privsep_type_name(enum privsep_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->name : "?";
}

unsigned privsep_type_senders(enum privsep_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->senders : 0;
}

size_t privsep_type_max_len(enum privsep_type t)
{
	const struct type_info *ti = type_info(t);
	return ti ? ti->max_len : 0;
}

/* --- messages --- */

void privsep_msg_init(struct privsep_msg *m, enum privsep_type t, uint64_t id)
{
	*m = (struct privsep_msg){.type = t, .id = id, .fd = -1};
}

void privsep_msg_clear(struct privsep_msg *m)
{
	switch (m->type) {
	case PRIVSEP_REQUEST:
	case PRIVSEP_UPLOAD_OPEN: {
		struct privsep_request *q = &m->request;
		free(q->method);
		free(q->path);
		json_decref(q->params);
		for (size_t i = 0; i < q->n_headers && i < PRIVSEP_MAX_HEADERS; i++) {
			free(q->headers[i].name);
			free(q->headers[i].value);
		}
		error_free(q->parse_error);
		break;
	}
	case PRIVSEP_RESPONSE: {
		struct privsep_response *p = &m->response;
		free(p->reason);
		free(p->content_type);
		for (size_t i = 0; i < p->n_headers && i < PRIVSEP_MAX_HEADERS; i++)
			free(p->headers[i]);
		free(p->log_user);
		free(p->body);
		break;
	}
	case PRIVSEP_UPLOAD_FILE:
		error_free(m->upload.error);
		break;
	case PRIVSEP_ERROR:
		error_free(m->error);
		break;
	default:
		break;
	}
	if (m->fd >= 0)
		close(m->fd);
	privsep_msg_init(m, m->type, m->id);
}

/* --- field checks, shared by the encoder and the decoder --- */

enum field_class {
	FC_TOKEN, /* HTTP token characters (RFC 9110 tchar), non-empty */
	FC_TEXT,  /* no control bytes but tab (header values, addresses) */
	FC_LINE,  /* no NUL, CR or LF (messages, reasons) */
	FC_PATH,  /* no NUL, non-empty */
	FC_BYTES, /* anything (bodies) */
};

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int check_bytes(const char *what, const char *s, size_t n, size_t max, enum field_class fc,
                       struct error **err)
{
	if (n > max)
		return error_set(err, -EMSGSIZE, 500, "privsep: %s longer than %zu bytes", what,
		                 max);
	if ((fc == FC_TOKEN || fc == FC_PATH) && n == 0)
		return error_set(err, -EBADMSG, 500, "privsep: %s is empty", what);
	for (size_t i = 0; i < n && fc != FC_BYTES; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = fc == FC_TOKEN  ? is_tchar(c)
		          : fc == FC_TEXT ? (c >= 0x20 && c != 0x7f) || c == '\t'
		          : fc == FC_LINE ? c != '\0' && c != '\r' && c != '\n'
		                          : c != '\0';
		if (!ok)
			return error_set(err, -EBADMSG, 500, "privsep: %s holds byte 0x%02x", what,
			                 c);
	}
	return 0;
}

/*
 * Knows just enough JSON to skip strings: the nesting must stay within the
 * bound (jansson recurses per level) and no string may hold "\u0000"
 * (jansson refuses it without JSON_ALLOW_NUL, and a C string cannot hold it).
 */
static bool json_text_ok(const char *s, size_t n)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\') {
				if (i + 5 < n && memcmp(s + i + 1, "u0000", 5) == 0)
					return false;
				i++;
			} else if (c == '"') {
				in_string = false;
			}
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > PRIVSEP_MAX_JSON_DEPTH)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

static int check_json_text(const char *what, const char *s, size_t n, size_t max,
                           struct error **err)
{
	int r = check_bytes(what, s, n, max, FC_PATH, err);
	if (r < 0)
		return r;
	if (!json_text_ok(s, n))
		return error_set(err, -EBADMSG, 500,
		                 "privsep: %s nested deeper than %d levels or holds \\u0000", what,
		                 PRIVSEP_MAX_JSON_DEPTH);
	return 0;
}

static int check_error_fields(int code, int status, struct error **err)
{
	if (code < -4095 || code > 0)
		return error_set(err, -EBADMSG, 500, "privsep: error code %d out of range", code);
	if (status != 0 && (status < 100 || status > 599))
		return error_set(err, -EBADMSG, 500, "privsep: HTTP status %d out of range",
		                 status);
	return 0;
}

/* --- the encoder --- */

static void put_u8(struct strbuf *sb, uint8_t v)
{
	strbuf_addch(sb, v);
}

static void put_u16(struct strbuf *sb, uint16_t v)
{
	uint8_t b[2] = {v & 0xff, v >> 8};
	strbuf_add(sb, b, 2);
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (v >> (8 * i)) & 0xff;
	strbuf_add(sb, b, 4);
}

static void put_u64(struct strbuf *sb, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (v >> (8 * i)) & 0xff;
	strbuf_add(sb, b, 8);
}

/* s NULL: absent, which only an optional field may be. */
static int put_str(struct strbuf *sb, const char *what, const char *s, size_t max,
                   enum field_class fc, bool optional, struct error **err)
{
	if (!s) {
		if (!optional)
			return error_set(err, -EINVAL, 500, "privsep: %s missing", what);
		put_u32(sb, ABSENT);
		return 0;
	}
	size_t n = strlen(s);
	int r = check_bytes(what, s, n, max, fc, err);
	if (r < 0)
		return r;
	put_u32(sb, n);
	strbuf_add(sb, s, n);
	return 0;
}

/* A JSON object as compact text; stops as soon as the text passes max. */
static int put_json(struct strbuf *sb, const char *what, const json_t *v, size_t max,
                    struct error **err)
{
	if (!v) {
		put_u32(sb, ABSENT);
		return 0;
	}
	if (!json_is_object(v))
		return error_set(err, -EINVAL, 500, "privsep: %s is not a JSON object", what);
	size_t at = sb->len;
	put_u32(sb, 0);
	size_t start = sb->len;
	int r = json_write(sb, v, max);
	if (r == -EMSGSIZE)
		return error_set(err, r, 500, "privsep: %s longer than %zu bytes", what, max);
	if (r < 0)
		return error_set(err, r, 500, "privsep: %s cannot be encoded", what);
	size_t n = sb->len - start;
	r = check_json_text(what, sb->buf + start, n, max, err);
	if (r < 0)
		return r;
	for (int i = 0; i < 4; i++)
		sb->buf[at + i] = (n >> (8 * i)) & 0xff;
	return 0;
}

static int put_error(struct strbuf *sb, const struct error *e, struct error **err)
{
	if (!e) {
		put_u8(sb, 0);
		return 0;
	}
	int r = check_error_fields(e->code, e->http_status, err);
	if (r < 0)
		return r;
	put_u8(sb, 1);
	put_u32(sb, (uint32_t)e->code);
	put_u16(sb, e->http_status);
	r = put_str(sb, "error message", e->msg, PRIVSEP_MAX_ERROR_MSG, FC_LINE, false, err);
	if (r < 0)
		return r;
	return put_json(sb, "error parameters", e->params, PRIVSEP_MAX_ERROR_PARAMS, err);
}

static int put_request(struct strbuf *sb, const struct privsep_msg *m, struct error **err)
{
	const struct privsep_request *q = &m->request;
	if (q->flags & ~(uint32_t)_PRIVSEP_REQ_ALL)
		return error_set(err, -EINVAL, 500, "privsep: unknown request flags 0x%x",
		                 q->flags);
	if (m->type == PRIVSEP_UPLOAD_OPEN && (q->flags & PRIVSEP_REQ_UPLOAD))
		return error_set(err, -EINVAL, 500, "privsep: upload flag on UPLOAD_OPEN");
	if (!(q->flags & PRIVSEP_REQ_UPLOAD) && q->upload_size)
		return error_set(err, -EINVAL, 500, "privsep: upload size without an upload");
	if (!(q->flags & PRIVSEP_REQ_PEER_CRED) && (q->peer_uid || q->peer_pid))
		return error_set(err, -EINVAL, 500, "privsep: peer credentials without the flag");
	if (q->n_headers > PRIVSEP_MAX_HEADERS)
		return error_set(err, -EMSGSIZE, 500, "privsep: more than %d headers",
		                 PRIVSEP_MAX_HEADERS);
	int r;
	if ((r = put_str(sb, "method", q->method, PRIVSEP_MAX_METHOD, FC_TOKEN, false, err)) < 0 ||
	    (r = put_str(sb, "path", q->path, PRIVSEP_MAX_PATH, FC_PATH, false, err)) < 0)
		return r;
	put_u32(sb, q->flags);
	put_u32(sb, q->peer_uid);
	put_u32(sb, (uint32_t)q->peer_pid);
	if (memchr(q->peer_addr, '\0', sizeof(q->peer_addr)) == NULL)
		return error_set(err, -EMSGSIZE, 500, "privsep: peer address not terminated");
	r = put_str(sb, "peer address", q->peer_addr, PRIVSEP_MAX_PEER_ADDR, FC_TEXT, false, err);
	if (r < 0)
		return r;
	put_u64(sb, q->body_len);
	put_u64(sb, q->upload_size);
	put_u8(sb, q->n_headers);
	size_t total = 0;
	for (size_t i = 0; i < q->n_headers; i++) {
		const struct privsep_header *h = &q->headers[i];
		if ((r = put_str(sb, "header name", h->name, PRIVSEP_MAX_HEADER_NAME, FC_TOKEN,
		                 false, err)) < 0 ||
		    (r = put_str(sb, "header value", h->value, PRIVSEP_MAX_HEADER_BYTES, FC_TEXT,
		                 false, err)) < 0)
			return r;
		total += strlen(h->name) + strlen(h->value);
	}
	if (total > PRIVSEP_MAX_HEADER_BYTES)
		return error_set(err, -EMSGSIZE, 500, "privsep: headers longer than %d bytes",
		                 PRIVSEP_MAX_HEADER_BYTES);
	if ((r = put_json(sb, "parameters", q->params, PRIVSEP_MAX_PARAMS, err)) < 0)
		return r;
	return put_error(sb, q->parse_error, err);
}

static int put_response(struct strbuf *sb, const struct privsep_msg *m, struct error **err)
{
	const struct privsep_response *p = &m->response;
	if (p->status < 100 || p->status > 599)
		return error_set(err, -EINVAL, 500, "privsep: HTTP status %d out of range",
		                 p->status);
	if (p->delay_ms > PRIVSEP_MAX_DELAY_MS)
		return error_set(err, -EMSGSIZE, 500, "privsep: delay over %d ms",
		                 PRIVSEP_MAX_DELAY_MS);
	if (p->n_headers > PRIVSEP_MAX_HEADERS)
		return error_set(err, -EMSGSIZE, 500, "privsep: more than %d headers",
		                 PRIVSEP_MAX_HEADERS);
	if (m->fd >= 0 ? p->body != NULL || p->body_len > INT64_MAX
	               : p->body_len > PRIVSEP_MAX_BODY || (p->body_len && !p->body))
		return error_set(err, p->body_len > PRIVSEP_MAX_BODY ? -EMSGSIZE : -EINVAL, 500,
		                 "privsep: body of %llu bytes %s a descriptor",
		                 (unsigned long long)p->body_len, m->fd >= 0 ? "with" : "without");
	put_u16(sb, p->status);
	int r;
	if ((r = put_str(sb, "reason", p->reason, PRIVSEP_MAX_REASON, FC_LINE, true, err)) < 0 ||
	    (r = put_str(sb, "content type", p->content_type, PRIVSEP_MAX_CONTENT_TYPE, FC_TEXT,
	                 true, err)) < 0)
		return r;
	put_u32(sb, p->delay_ms);
	put_u8(sb, p->n_headers);
	size_t total = 0;
	for (size_t i = 0; i < p->n_headers; i++) {
		r = put_str(sb, "header line", p->headers[i], PRIVSEP_MAX_HEADER_BYTES, FC_TEXT,
		            false, err);
		if (r < 0)
			return r;
		total += strlen(p->headers[i]);
	}
	if (total > PRIVSEP_MAX_HEADER_BYTES)
		return error_set(err, -EMSGSIZE, 500, "privsep: headers longer than %d bytes",
		                 PRIVSEP_MAX_HEADER_BYTES);
	r = put_str(sb, "log user", p->log_user, PRIVSEP_MAX_LOG_USER, FC_TEXT, true, err);
	if (r < 0)
		return r;
	put_u64(sb, p->body_len);
	if (m->fd < 0 && p->body_len)
		strbuf_add(sb, p->body, p->body_len);
	return 0;
}

static int put_upload(struct strbuf *sb, const struct privsep_msg *m, struct error **err)
{
	const struct privsep_upload *u = &m->upload;
	bool claim = u->verdict == PRIVSEP_UPLOAD_CLAIM;
	bool refuse = u->verdict == PRIVSEP_UPLOAD_REFUSE;
	if ((unsigned)u->verdict > PRIVSEP_UPLOAD_REFUSE || claim != (m->fd >= 0) ||
	    (!claim && u->max_size) || refuse != (u->error != NULL))
		return error_set(err, -EINVAL, 500, "privsep: inconsistent UPLOAD_FILE");
	put_u8(sb, u->verdict);
	put_u64(sb, u->max_size);
	return put_error(sb, u->error, err);
}

int privsep_msg_encode(const struct privsep_msg *m, struct strbuf *out, struct error **err)
{
	const struct type_info *ti = type_info(m->type);
	if (!ti)
		return error_set(err, -EINVAL, 500, "privsep: unknown message type %d", m->type);
	uint16_t flags = m->flags | (m->fd >= 0 ? PRIVSEP_F_FD : 0);
	if (flags & ~ti->flags)
		return error_set(err, -EINVAL, 500, "privsep: flags 0x%x not allowed on %s", flags,
		                 ti->name);
	if ((ti->id == ID_ZERO && m->id) || (ti->id == ID_NONZERO && !m->id))
		return error_set(err, -EINVAL, 500, "privsep: bad id on %s", ti->name);

	size_t start = out->len;
	put_u32(out, 0);
	put_u16(out, m->type);
	put_u16(out, flags);
	put_u64(out, m->id);
	int r = 0;
	switch (m->type) {
	case PRIVSEP_HELLO:
		if (m->hello.pid <= 0)
			r = error_set(err, -EINVAL, 500, "privsep: HELLO without a pid");
		put_u32(out, m->hello.version);
		put_u32(out, (uint32_t)m->hello.pid);
		break;
	case PRIVSEP_REQUEST:
	case PRIVSEP_UPLOAD_OPEN:
		r = put_request(out, m, err);
		break;
	case PRIVSEP_RESPONSE:
		r = put_response(out, m, err);
		break;
	case PRIVSEP_UPLOAD_FILE:
		r = put_upload(out, m, err);
		break;
	case PRIVSEP_ERROR:
		r = m->error ? put_error(out, m->error, err)
		             : error_set(err, -EINVAL, 500, "privsep: ERROR without an error");
		break;
	default: /* AUTHENTICATED, CANCEL: no payload */
		break;
	}
	size_t n = out->len - start - PRIVSEP_HDR_SIZE;
	if (r >= 0 && n > ti->max_len) /* cannot happen: the fields are bounded */
		r = error_set(err, -EMSGSIZE, 500, "privsep: %s over its bound", ti->name);
	if (r < 0) {
		out->len = start;
		out->buf[start] = '\0';
		return r;
	}
	for (int i = 0; i < 4; i++)
		out->buf[start + i] = (n >> (8 * i)) & 0xff;
	return 0;
}

/* --- the decoder --- */

struct rd {
	const uint8_t *p;
	size_t left;
};

static int need(struct rd *r, size_t n, struct error **err)
{
	if (r->left < n)
		return error_set(err, -EBADMSG, 500, "privsep: message truncated");
	return 0;
}

static uint64_t take_le(struct rd *r, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	r->left -= n;
	return v;
}

/* Fixed-width integers; *v is 0 when the frame ends first. */
static int get_uint(struct rd *r, size_t n, uint64_t *v, struct error **err)
{
	*v = 0;
	int e = need(r, n, err);
	if (e == 0)
		*v = take_le(r, n);
	return e;
}

static int get_u8(struct rd *r, uint8_t *v, struct error **err)
{
	uint64_t x;
	int e = get_uint(r, 1, &x, err);
	*v = x;
	return e;
}

static int get_u16(struct rd *r, uint16_t *v, struct error **err)
{
	uint64_t x;
	int e = get_uint(r, 2, &x, err);
	*v = x;
	return e;
}

static int get_u32(struct rd *r, uint32_t *v, struct error **err)
{
	uint64_t x;
	int e = get_uint(r, 4, &x, err);
	*v = x;
	return e;
}

static int get_i32(struct rd *r, int32_t *v, struct error **err)
{
	uint64_t x;
	int e = get_uint(r, 4, &x, err);
	*v = (int32_t)(uint32_t)x;
	return e;
}

/* A string field: its bytes stay in the frame until the checks passed. */
static int get_span(struct rd *r, const char *what, size_t max, enum field_class fc, bool optional,
                    const char **ret_s, size_t *ret_n, struct error **err)
{
	uint32_t n;
	int e = get_u32(r, &n, err);
	if (e < 0)
		return e;
	if (n == ABSENT) {
		if (!optional)
			return error_set(err, -EBADMSG, 500, "privsep: %s missing", what);
		*ret_s = NULL;
		*ret_n = 0;
		return 0;
	}
	if (n > max) /* before anything else: the length alone is refused */
		return error_set(err, -EMSGSIZE, 500, "privsep: %s longer than %zu bytes", what,
		                 max);
	if ((e = need(r, n, err)) < 0 ||
	    (e = check_bytes(what, (const char *)r->p, n, max, fc, err)) < 0)
		return e;
	*ret_s = (const char *)r->p;
	*ret_n = n;
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_str(struct rd *r, const char *what, size_t max, enum field_class fc, bool optional,
                   char **ret, struct error **err)
{
	const char *s = NULL;
	size_t n = 0;
	int e = get_span(r, what, max, fc, optional, &s, &n, err);
	if (e < 0)
		return e;
	*ret = s ? xstrndup(s, n) : NULL;
	return 0;
}

static int get_json(struct rd *r, const char *what, size_t max, json_t **ret, struct error **err)
{
	const char *s = NULL;
	size_t n = 0;
	int e = get_span(r, what, max, FC_PATH, true, &s, &n, err);
	if (e < 0)
		return e;
	if (!s) {
		*ret = NULL;
		return 0;
	}
	if ((e = check_json_text(what, s, n, max, err)) < 0)
		return e;
	json_error_t jerr;
	json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		return error_set(err, -EBADMSG, 500, "privsep: %s is not a JSON object", what);
	}
	*ret = v;
	return 0;
}

static int get_error(struct rd *r, bool required, struct error **ret, struct error **err)
{
	uint8_t present;
	uint32_t code;
	uint16_t status;
	int e = get_u8(r, &present, err);
	if (e < 0)
		return e;
	if (present > 1 || (required && !present))
		return error_set(err, -EBADMSG, 500, "privsep: bad error marker %u", present);
	if (!present) {
		*ret = NULL;
		return 0;
	}
	if ((e = get_u32(r, &code, err)) < 0 || (e = get_u16(r, &status, err)) < 0 ||
	    (e = check_error_fields((int32_t)code, status, err)) < 0)
		return e;
	_cleanup_free_ char *msg = NULL;
	_cleanup_json_ json_t *params = NULL;
	if ((e = get_str(r, "error message", PRIVSEP_MAX_ERROR_MSG, FC_LINE, false, &msg, err)) <
	        0 ||
	    (e = get_json(r, "error parameters", PRIVSEP_MAX_ERROR_PARAMS, &params, err)) < 0)
		return e;
	struct error *x = xnew(struct error, 1);
	x->code = (int32_t)code;
	x->http_status = status;
	x->msg = TAKE_PTR(msg);
	x->params = TAKE_PTR(params);
	*ret = x;
	return 0;
}

static int get_request(struct rd *r, struct privsep_msg *m, struct error **err)
{
	struct privsep_request *q = &m->request;
	const char *addr;
	size_t addr_len;
	uint8_t nh;
	int e;
	if ((e = get_str(r, "method", PRIVSEP_MAX_METHOD, FC_TOKEN, false, &q->method, err)) < 0 ||
	    (e = get_str(r, "path", PRIVSEP_MAX_PATH, FC_PATH, false, &q->path, err)) < 0 ||
	    (e = get_u32(r, &q->flags, err)) < 0 || (e = get_u32(r, &q->peer_uid, err)) < 0 ||
	    (e = get_i32(r, &q->peer_pid, err)) < 0 ||
	    (e = get_span(r, "peer address", PRIVSEP_MAX_PEER_ADDR, FC_TEXT, false, &addr,
	                  &addr_len, err)) < 0 ||
	    (e = get_uint(r, 8, &q->body_len, err)) < 0 ||
	    (e = get_uint(r, 8, &q->upload_size, err)) < 0 || (e = get_u8(r, &nh, err)) < 0)
		return e;
	memcpy(q->peer_addr, addr, addr_len);
	q->peer_addr[addr_len] = '\0';
	if (q->flags & ~(uint32_t)_PRIVSEP_REQ_ALL)
		return error_set(err, -EBADMSG, 500, "privsep: unknown request flags 0x%x",
		                 q->flags);
	if ((m->type == PRIVSEP_UPLOAD_OPEN && (q->flags & PRIVSEP_REQ_UPLOAD)) ||
	    (!(q->flags & PRIVSEP_REQ_UPLOAD) && q->upload_size) ||
	    (!(q->flags & PRIVSEP_REQ_PEER_CRED) && (q->peer_uid || q->peer_pid)))
		return error_set(err, -EBADMSG, 500, "privsep: inconsistent request flags");
	if (nh > PRIVSEP_MAX_HEADERS)
		return error_set(err, -EMSGSIZE, 500, "privsep: more than %d headers",
		                 PRIVSEP_MAX_HEADERS);
	size_t total = 0;
	for (; q->n_headers < nh; q->n_headers++) {
		struct privsep_header *h = &q->headers[q->n_headers];
		const char *name, *value;
		size_t nn, vn;
		if ((e = get_span(r, "header name", PRIVSEP_MAX_HEADER_NAME, FC_TOKEN, false, &name,
		                  &nn, err)) < 0 ||
		    (e = get_span(r, "header value", PRIVSEP_MAX_HEADER_BYTES, FC_TEXT, false,
		                  &value, &vn, err)) < 0)
			return e;
		total += nn + vn;
		if (total > PRIVSEP_MAX_HEADER_BYTES)
			return error_set(err, -EMSGSIZE, 500,
			                 "privsep: headers longer than %d bytes",
			                 PRIVSEP_MAX_HEADER_BYTES);
		h->name = xstrndup(name, nn);
		h->value = xstrndup(value, vn);
	}
	if ((e = get_json(r, "parameters", PRIVSEP_MAX_PARAMS, &q->params, err)) < 0)
		return e;
	return get_error(r, false, &q->parse_error, err);
}

static int get_response(struct rd *r, struct privsep_msg *m, bool has_fd, struct error **err)
{
	struct privsep_response *p = &m->response;
	uint8_t nh;
	int e;
	if ((e = get_u16(r, &p->status, err)) < 0)
		return e;
	if (p->status < 100 || p->status > 599)
		return error_set(err, -EBADMSG, 500, "privsep: HTTP status %d out of range",
		                 p->status);
	if ((e = get_str(r, "reason", PRIVSEP_MAX_REASON, FC_LINE, true, &p->reason, err)) < 0 ||
	    (e = get_str(r, "content type", PRIVSEP_MAX_CONTENT_TYPE, FC_TEXT, true,
	                 &p->content_type, err)) < 0 ||
	    (e = get_u32(r, &p->delay_ms, err)) < 0 || (e = get_u8(r, &nh, err)) < 0)
		return e;
	if (p->delay_ms > PRIVSEP_MAX_DELAY_MS)
		return error_set(err, -EMSGSIZE, 500, "privsep: delay over %d ms",
		                 PRIVSEP_MAX_DELAY_MS);
	if (nh > PRIVSEP_MAX_HEADERS)
		return error_set(err, -EMSGSIZE, 500, "privsep: more than %d headers",
		                 PRIVSEP_MAX_HEADERS);
	size_t total = 0;
	for (; p->n_headers < nh; p->n_headers++) {
		const char *line;
		size_t n;
		e = get_span(r, "header line", PRIVSEP_MAX_HEADER_BYTES, FC_TEXT, false, &line, &n,
		             err);
		if (e < 0)
			return e;
		total += n;
		if (total > PRIVSEP_MAX_HEADER_BYTES)
			return error_set(err, -EMSGSIZE, 500,
			                 "privsep: headers longer than %d bytes",
			                 PRIVSEP_MAX_HEADER_BYTES);
		p->headers[p->n_headers] = xstrndup(line, n);
	}
	if ((e = get_str(r, "log user", PRIVSEP_MAX_LOG_USER, FC_TEXT, true, &p->log_user, err)) <
	        0 ||
	    (e = get_uint(r, 8, &p->body_len, err)) < 0)
		return e;
	if (has_fd) {
		if (p->body_len > INT64_MAX)
			return error_set(err, -EMSGSIZE, 500, "privsep: body length out of range");
		return 0;
	}
	if (p->body_len > PRIVSEP_MAX_BODY)
		return error_set(err, -EMSGSIZE, 500, "privsep: body longer than %u bytes",
		                 PRIVSEP_MAX_BODY);
	if ((e = need(r, p->body_len, err)) < 0)
		return e;
	if (p->body_len) {
		p->body = xmalloc(p->body_len + 1);
		memcpy(p->body, r->p, p->body_len);
		p->body[p->body_len] = '\0';
		r->p += p->body_len;
		r->left -= p->body_len;
	}
	return 0;
}

static int get_upload(struct rd *r, struct privsep_msg *m, bool has_fd, struct error **err)
{
	struct privsep_upload *u = &m->upload;
	uint8_t v;
	int e;
	if ((e = get_u8(r, &v, err)) < 0 || (e = get_uint(r, 8, &u->max_size, err)) < 0)
		return e;
	if (v > PRIVSEP_UPLOAD_REFUSE)
		return error_set(err, -EBADMSG, 500, "privsep: unknown upload verdict %u", v);
	u->verdict = v;
	bool claim = v == PRIVSEP_UPLOAD_CLAIM, refuse = v == PRIVSEP_UPLOAD_REFUSE;
	if (claim != has_fd || (!claim && u->max_size))
		return error_set(err, -EBADMSG, 500, "privsep: inconsistent UPLOAD_FILE");
	if ((e = get_error(r, refuse, &u->error, err)) < 0)
		return e;
	if (!refuse && u->error)
		return error_set(err, -EBADMSG, 500, "privsep: an error with an upload claim");
	return 0;
}

int privsep_hdr_parse(const void *buf, struct privsep_hdr *ret, struct error **err)
{
	/* one field after the other: the order of initialisers is unspecified */
	struct rd r = {buf, PRIVSEP_HDR_SIZE};
	struct privsep_hdr h;
	h.len = take_le(&r, 4);
	h.type = take_le(&r, 2);
	h.flags = take_le(&r, 2);
	h.id = take_le(&r, 8);
	const struct type_info *ti = type_info(h.type);
	if (!ti)
		return error_set(err, -EBADMSG, 500, "privsep: unknown message type %u", h.type);
	if (h.len > ti->max_len)
		return error_set(err, -EMSGSIZE, 500, "privsep: %s of %u bytes, more than %zu",
		                 ti->name, h.len, ti->max_len);
	if (h.flags & ~ti->flags)
		return error_set(err, -EBADMSG, 500, "privsep: flags 0x%x not allowed on %s",
		                 h.flags, ti->name);
	if ((ti->id == ID_ZERO && h.id) || (ti->id == ID_NONZERO && !h.id))
		return error_set(err, -EBADMSG, 500, "privsep: bad id on %s", ti->name);
	*ret = h;
	return 0;
}

int privsep_msg_decode(const void *frame, size_t len, int fd, struct privsep_msg *ret,
                       struct error **err)
{
	_cleanup_close_ int owned = fd;
	struct privsep_hdr h;
	if (len < PRIVSEP_HDR_SIZE)
		return error_set(err, -EBADMSG, 500, "privsep: message truncated");
	int e = privsep_hdr_parse(frame, &h, err);
	if (e < 0)
		return e;
	if (h.len != len - PRIVSEP_HDR_SIZE)
		return error_set(err, -EBADMSG, 500, "privsep: %s of %u bytes in a frame of %zu",
		                 privsep_type_name(h.type), h.len, len - PRIVSEP_HDR_SIZE);
	bool has_fd = h.flags & PRIVSEP_F_FD;
	if (has_fd != (fd >= 0))
		return error_set(err, -EBADMSG, 500, "privsep: %s %s a descriptor",
		                 privsep_type_name(h.type), has_fd ? "without" : "with");

	_cleanup_privsep_msg_ struct privsep_msg m;
	privsep_msg_init(&m, h.type, h.id);
	m.flags = h.flags & ~PRIVSEP_F_FD;
	struct rd r = {(const uint8_t *)frame + PRIVSEP_HDR_SIZE, h.len};
	switch (h.type) {
	case PRIVSEP_HELLO:
		if ((e = get_u32(&r, &m.hello.version, err)) < 0 ||
		    (e = get_i32(&r, &m.hello.pid, err)) < 0)
			return e;
		if (m.hello.pid <= 0)
			return error_set(err, -EBADMSG, 500, "privsep: HELLO without a pid");
		break;
	case PRIVSEP_REQUEST:
	case PRIVSEP_UPLOAD_OPEN:
		e = get_request(&r, &m, err);
		break;
	case PRIVSEP_RESPONSE:
		e = get_response(&r, &m, has_fd, err);
		break;
	case PRIVSEP_UPLOAD_FILE:
		e = get_upload(&r, &m, has_fd, err);
		break;
	case PRIVSEP_ERROR:
		e = get_error(&r, true, &m.error, err);
		break;
	default:
		break;
	}
	if (e < 0)
		return e;
	if (r.left)
		return error_set(err, -EBADMSG, 500, "privsep: %zu bytes after a %s", r.left,
		                 privsep_type_name(h.type));
	m.fd = TAKE_FD(owned);
	*ret = m;
	privsep_msg_init(&m, 0, 0);
	return 0;
}

/* --- equality --- */

static bool json_eq(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b));
}

static bool error_eq(const struct error *a, const struct error *b)
{
	if (!a || !b)
		return a == b;
	return a->code == b->code && a->http_status == b->http_status &&
	       streq_ptr(a->msg, b->msg) && json_eq(a->params, b->params);
}

static bool request_eq(const struct privsep_request *a, const struct privsep_request *b)
{
	if (!streq_ptr(a->method, b->method) || !streq_ptr(a->path, b->path) ||
	    !json_eq(a->params, b->params) || a->n_headers != b->n_headers ||
	    a->flags != b->flags || a->peer_uid != b->peer_uid || a->peer_pid != b->peer_pid ||
	    !streq(a->peer_addr, b->peer_addr) || a->body_len != b->body_len ||
	    a->upload_size != b->upload_size || !error_eq(a->parse_error, b->parse_error))
		return false;
	for (size_t i = 0; i < a->n_headers && i < PRIVSEP_MAX_HEADERS; i++)
		if (!streq_ptr(a->headers[i].name, b->headers[i].name) ||
		    !streq_ptr(a->headers[i].value, b->headers[i].value))
			return false;
	return true;
}

static bool response_eq(const struct privsep_response *a, const struct privsep_response *b,
                        bool has_fd)
{
	if (a->status != b->status || !streq_ptr(a->reason, b->reason) ||
	    !streq_ptr(a->content_type, b->content_type) || a->delay_ms != b->delay_ms ||
	    a->n_headers != b->n_headers || !streq_ptr(a->log_user, b->log_user) ||
	    a->body_len != b->body_len)
		return false;
	for (size_t i = 0; i < a->n_headers && i < PRIVSEP_MAX_HEADERS; i++)
		if (!streq_ptr(a->headers[i], b->headers[i]))
			return false;
	if (has_fd || a->body_len == 0)
		return true;
	return a->body && b->body && memcmp(a->body, b->body, a->body_len) == 0;
}

bool privsep_msg_equal(const struct privsep_msg *a, const struct privsep_msg *b)
{
	if (a->type != b->type || a->flags != b->flags || a->id != b->id ||
	    (a->fd >= 0) != (b->fd >= 0))
		return false;
	switch (a->type) {
	case PRIVSEP_HELLO:
		return a->hello.version == b->hello.version && a->hello.pid == b->hello.pid;
	case PRIVSEP_REQUEST:
	case PRIVSEP_UPLOAD_OPEN:
		return request_eq(&a->request, &b->request);
	case PRIVSEP_RESPONSE:
		return response_eq(&a->response, &b->response, a->fd >= 0);
	case PRIVSEP_UPLOAD_FILE:
		return a->upload.verdict == b->upload.verdict &&
		       a->upload.max_size == b->upload.max_size &&
		       error_eq(a->upload.error, b->upload.error);
	case PRIVSEP_ERROR:
		return error_eq(a->error, b->error);
	default:
		return true;
	}
}
