/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* WebSocket handshake, frame decoder and encoder (RFC 6455); see http-websocket.h. */
#include "common.h"

#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "error.h"
#include "http-websocket.h"
#include "http.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* The key must be the base64 of 16 bytes: 22 characters and "==". */
static bool key_valid(const char *key)
{
	if (strlen(key) != 24 || strcmp(key + 22, "==") != 0)
		return false;
	for (size_t i = 0; i < 22; i++)
		if (!strchr(b64, key[i]) || key[i] == '\0')
			return false;
	/* the last character before the padding carries 2 bits only */
	return (strchr(b64, key[21]) - b64) % 16 == 0;
}

int ws_accept_key(const char *key, char ret[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	char buf[24 + sizeof(guid)];
	uint8_t digest[20];

	if (!key || !key_valid(key))
		return -EINVAL;
	memcpy(buf, key, 24);
	memcpy(buf + 24, guid, sizeof(guid) - 1);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, 24 + sizeof(guid) - 1, digest) < 0)
		return -EIO;
	base64_encode(digest, sizeof(digest), ret);
	return 0;
}

int ws_client_key(char ret[25])
{
	uint8_t raw[16];
	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) < 0)
		return -EIO;
	base64_encode(raw, sizeof(raw), ret);
	return 0;
}

/* True when the comma-separated header list hdr has token tok (any case). */
static bool has_token(const char *hdr, const char *tok)
{
	size_t tl = strlen(tok);
	const char *s = hdr;
	while (s && *s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *e = s;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - s) == tl && strncasecmp(s, tok, tl) == 0)
			return true;
		s = e;
	}
	return false;
}

int ws_check_upgrade(const struct http_request *req, struct ws_upgrade *ret, struct error **err)
{
	if (strcmp(req->method, "GET") != 0)
		return error_set(err, -EINVAL, 405, "websocket upgrade needs GET");
	const char *up = http_request_header(req, "Upgrade");
	if (!up || !has_token(up, "websocket"))
		return error_set(err, -EINVAL, 400, "expected a websocket upgrade");
	const char *conn = http_request_header(req, "Connection");
	if (!conn || !has_token(conn, "upgrade"))
		return error_set(err, -EINVAL, 400, "expected Connection: upgrade");
	const char *ver = http_request_header(req, "Sec-WebSocket-Version");
	if (!ver || strcmp(ver, "13") != 0)
		return error_set(err, -EINVAL, 426, "unsupported websocket version");
	struct ws_upgrade u = {.protocol = NULL};
	const char *key = http_request_header(req, "Sec-WebSocket-Key");
	if (!key || ws_accept_key(key, u.accept) < 0)
		return error_set(err, -EINVAL, 400, "invalid Sec-WebSocket-Key");
	const char *proto = http_request_header(req, "Sec-WebSocket-Protocol");
	if (proto && has_token(proto, "binary"))
		u.protocol = "binary";
	*ret = u;
	return 0;
}

/* Incremental UTF-8 check: need continuation bytes still expected, each in
 * [lo, hi] (narrower after E0, ED, F0, F4: no overlongs, surrogates, or
 * code points past U+10FFFF). */
struct utf8 {
	unsigned need;
	uint8_t lo, hi;
};

static bool utf8_step(struct utf8 *u, uint8_t c)
{
	if (u->need > 0) {
		if (c < u->lo || c > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c < 0x80)
		return true;
	if (c >= 0xc2 && c <= 0xdf)
		u->need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		if (c == 0xe0)
			u->lo = 0xa0;
		else if (c == 0xed)
			u->hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		if (c == 0xf0)
			u->lo = 0x90;
		else if (c == 0xf4)
			u->hi = 0x8f;
	} else
		return false;
	return true;
}

static bool utf8_run(struct utf8 *u, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!utf8_step(u, s[i]))
			return false;
	return true;
}

enum state { ST_HEADER, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

struct ws_decoder {
	const struct ws_decoder_callbacks *cb;
	void *userdata;
	bool require_mask;
	size_t max_message;

	enum state state;
	int error;      /* the failure, once ST_FAILED */
	unsigned close; /* the close code matching error */

	/* the frame being read */
	uint8_t hdr[WS_MAX_HEADER];
	size_t hdr_len;
	int opcode;
	bool fin;
	bool masked;
	uint8_t mask[4];
	uint64_t length; /* payload length */
	uint64_t offset; /* payload bytes consumed */

	/* the data message in progress (across fragments) */
	bool in_message;
	int msg_opcode;
	uint64_t msg_len;
	struct utf8 utf8;

	/* a control frame's payload */
	uint8_t ctl[WS_MAX_CONTROL + 1];
};

struct ws_decoder *ws_decoder_new(const struct ws_decoder_callbacks *cb, void *userdata,
                                  bool require_mask, size_t max_message)
{
	struct ws_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cb = cb;
	d->userdata = userdata;
	d->require_mask = require_mask;
	d->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
	d->close = WS_CLOSE_NORMAL;
	return d;
}

struct ws_decoder *ws_decoder_free(struct ws_decoder *d)
{
	free(d);
	return NULL;
}

unsigned ws_decoder_close_code(const struct ws_decoder *d)
{
	return d->close;
}

static int fail(struct ws_decoder *d, int error, unsigned code)
{
	d->state = ST_FAILED;
	d->error = error;
	d->close = code;
	return error;
}

static int cb_fail(struct ws_decoder *d, int r)
{
	return fail(d, r, WS_CLOSE_INTERNAL);
}

bool ws_close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	switch (code) {
	case 1000:
	case 1001:
	case 1002:
	case 1003:
	case 1007:
	case 1008:
	case 1009:
	case 1010:
	case 1011:
	case 1012:
	case 1013:
	case 1014:
		return true;
	default:
		return false;
	}
}

/* Bytes of header needed so far: 2, then more once the length kind and
 * the mask bit are known. */
static size_t header_need(const struct ws_decoder *d)
{
	if (d->hdr_len < 2)
		return 2;
	size_t n = 2;
	uint8_t l7 = d->hdr[1] & 0x7f;
	if (l7 == 126)
		n += 2;
	else if (l7 == 127)
		n += 8;
	if (d->hdr[1] & 0x80)
		n += 4;
	return n;
}

/* The whole header is in d->hdr: validates it and starts the frame. */
static int header_done(struct ws_decoder *d)
{
	uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
	d->fin = b0 & 0x80;
	d->opcode = b0 & 0x0f;
	d->masked = b1 & 0x80;
	if (b0 & 0x70)
		return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL); /* no extension negotiated */
	if (d->masked != d->require_mask)
		return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);

	size_t p = 2;
	uint64_t len = b1 & 0x7f;
	if (len == 126) {
		len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
		p = 4;
	} else if (len == 127) {
		len = 0;
		for (size_t i = 0; i < 8; i++)
			len = len << 8 | d->hdr[2 + i];
		p = 10;
		if (len >> 63)
			return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
	}
	if (d->masked)
		memcpy(d->mask, d->hdr + p, 4);
	d->length = len;
	d->offset = 0;

	switch (d->opcode) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!d->fin || len > WS_MAX_CONTROL)
			return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
		break;
	case WS_OP_CONT:
		if (!d->in_message)
			return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (d->in_message)
			return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
		d->in_message = true;
		d->msg_opcode = d->opcode;
		d->msg_len = 0;
		d->utf8 = (struct utf8){0, 0x80, 0xbf};
		break;
	default:
		return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
	}
	if (d->opcode < WS_OP_CLOSE) {
		if (len > d->max_message || d->msg_len + len > d->max_message)
			return fail(d, -EMSGSIZE, WS_CLOSE_TOO_BIG);
		d->msg_len += len;
	}
	d->state = ST_PAYLOAD;
	return 0;
}

/* Hands a piece of a data frame's payload to the caller. */
static int data_piece(struct ws_decoder *d, uint8_t *buf, size_t n)
{
	bool last = d->offset == d->length;
	bool fin = last && d->fin;
	if (d->msg_opcode == WS_OP_TEXT) {
		if (!utf8_run(&d->utf8, buf, n) || (fin && d->utf8.need))
			return fail(d, -EBADMSG, WS_CLOSE_BAD_DATA);
	}
	if (fin)
		d->in_message = false;
	if ((n > 0 || fin) && d->cb->data) {
		int r = d->cb->data(d->userdata, d->msg_opcode, buf, n, fin);
		if (r < 0)
			return cb_fail(d, r);
	}
	return 0;
}

/* The whole control frame payload is in d->ctl. */
static int control_done(struct ws_decoder *d)
{
	size_t n = (size_t)d->length;
	int r;
	if (d->opcode == WS_OP_CLOSE) {
		unsigned code = WS_CLOSE_NO_STATUS;
		if (n == 1)
			return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
		if (n >= 2) {
			code = (unsigned)d->ctl[0] << 8 | d->ctl[1];
			if (!ws_close_code_valid(code))
				return fail(d, -EBADMSG, WS_CLOSE_PROTOCOL);
			struct utf8 u = {0, 0x80, 0xbf};
			if (!utf8_run(&u, d->ctl + 2, n - 2) || u.need)
				return fail(d, -EBADMSG, WS_CLOSE_BAD_DATA);
		}
		char reason[WS_MAX_CONTROL];
		size_t rl = n >= 2 ? n - 2 : 0;
		memcpy(reason, d->ctl + 2, rl);
		reason[rl] = '\0';
		d->state = ST_CLOSED;
		if (d->cb->close && (r = d->cb->close(d->userdata, code, reason)) < 0)
			return cb_fail(d, r);
		return 1;
	}
	if (d->cb->control && (r = d->cb->control(d->userdata, d->opcode, d->ctl, n)) < 0)
		return cb_fail(d, r);
	return 0;
}

int ws_decoder_feed(struct ws_decoder *d, const void *data, size_t len)
{
	const uint8_t *s = data;
	size_t i = 0;
	int r;

	if (d->state == ST_FAILED)
		return d->error;
	if (d->state == ST_CLOSED)
		return 1;
	/* An empty frame ends when its header does, without any payload byte. */
	for (;;) {
		if (d->state == ST_HEADER) {
			if (i == len)
				return 0;
			d->hdr[d->hdr_len++] = s[i++];
			if (d->hdr_len < header_need(d))
				continue;
			d->hdr_len = 0;
			if ((r = header_done(d)) < 0)
				return r;
			continue;
		}
		/* ST_PAYLOAD */
		uint64_t left = d->length - d->offset;
		size_t n = (size_t)(left < len - i ? left : len - i);
		if (d->opcode >= WS_OP_CLOSE) {
			memcpy(d->ctl + d->offset, s + i, n);
			if (d->masked)
				ws_mask(d->ctl + d->offset, n, d->mask, d->offset);
			d->offset += n;
			i += n;
			if (d->offset < d->length)
				return 0;
			d->state = ST_HEADER;
			if ((r = control_done(d)) != 0)
				return r;
			continue;
		}
		if (n == 0 && left > 0)
			return 0;
		/* data: in bounded pieces through a local buffer (unmasking
		 * needs a writable copy, and the input is the caller's) */
		do {
			uint8_t buf[4096];
			size_t k = n < sizeof(buf) ? n : sizeof(buf);
			memcpy(buf, s + i, k);
			if (d->masked)
				ws_mask(buf, k, d->mask, d->offset);
			d->offset += k;
			i += k;
			n -= k;
			if (d->offset == d->length)
				d->state = ST_HEADER;
			if ((r = data_piece(d, buf, k)) < 0)
				return r;
		} while (n > 0);
	}
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(off + i) & 3];
}

size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, bool fin, uint64_t len,
                       const uint8_t *mask)
{
	size_t p = 2;
	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	uint8_t m = mask ? 0x80 : 0;
	if (len < 126)
		out[1] = (uint8_t)(m | len);
	else if (len <= 0xffff) {
		out[1] = m | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		p = 4;
	} else {
		out[1] = m | 127;
		for (size_t i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		p = 10;
	}
	if (mask) {
		memcpy(out + p, mask, 4);
		p += 4;
	}
	return p;
}

size_t ws_close_frame(uint8_t out[2 + WS_MAX_CONTROL], unsigned code, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > WS_MAX_CONTROL - 2)
		rl = WS_MAX_CONTROL - 2;
	/* do not cut a UTF-8 sequence: back up to a character start */
	while (rl > 0 && reason[rl] && ((uint8_t)reason[rl] & 0xc0) == 0x80)
		rl--;
	size_t p = ws_frame_header(out, WS_OP_CLOSE, true, 2 + rl, NULL);
	out[p++] = (uint8_t)(code >> 8);
	out[p++] = (uint8_t)code;
	if (rl)
		memcpy(out + p, reason, rl);
	return p + rl;
}
