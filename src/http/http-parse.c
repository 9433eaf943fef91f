/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request parsing and parameter decoding (see http-parse.h).  Every byte here
 * comes from an unauthenticated client: check bounds before touching memory,
 * bound every count, and prefer rejecting to guessing.
 */
#include "common.h"

#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include "error.h"
#include "http-parse.h"
#include "http.h"
#include "strbuf.h"
#include "xalloc.h"
#include "strutil.h"

struct http_header {
	char *name;
	char *value;
};

struct http_cookie {
	char *name;
	char *value; /* unescaped */
};

/* The request's own state behind req->impl. */
struct http_request_priv {
	char *method;
	char *raw_url;
	char *query; /* after '?', NULL when there is none */
	struct http_header *headers;
	size_t n_headers;
	struct http_cookie *cookies; /* cache of http_request_cookie() answers */
	size_t n_cookies;
	bool authenticated; /* http_request_set_authenticated() */
};

static struct http_request_priv *priv(const struct http_request *req)
{
	return req->impl;
}

void http_limits_fill(const struct http_limits *lim, struct http_limits *ret)
{
	struct http_limits l = lim ? *lim : (struct http_limits){0};
	if (!l.max_header_bytes)
		l.max_header_bytes = 16 * 1024;
	if (!l.max_body_bytes)
		l.max_body_bytes = 1024 * 1024;
	if (!l.max_params)
		l.max_params = 1024;
	if (!l.max_json_depth)
		l.max_json_depth = 32;
	if (!l.max_connections)
		l.max_connections = 512;
	if (!l.max_unauth)
		l.max_unauth = l.max_connections > 1 ? l.max_connections / 2 : 1;
	if (l.max_unauth > l.max_connections)
		l.max_unauth = l.max_connections;
	if (!l.max_per_addr)
		l.max_per_addr = 64;
	if (!l.max_local)
		l.max_local = 128;
	if (!l.timeout_s)
		l.timeout_s = 30;
	if (!l.handshake_timeout_s)
		l.handshake_timeout_s = 5;
	if (!l.idle_timeout_s)
		l.idle_timeout_s = 10;
	/* the deadlines before a request are never longer than within one */
	if (l.handshake_timeout_s > l.timeout_s)
		l.handshake_timeout_s = l.timeout_s;
	if (l.idle_timeout_s > l.timeout_s)
		l.idle_timeout_s = l.timeout_s;
	*ret = l;
}

void http_request_set_authenticated(const struct http_request *req)
{
	if (req->impl)
		priv(req)->authenticated = true;
}

bool http_request_authenticated(const struct http_request *req)
{
	return req->impl && priv(req)->authenticated;
}

/* --- small character classes --- */

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* --- percent decoding and parameters --- */

char *http_unescape(const char *s, size_t len, bool plus_is_space)
{
	_cleanup_free_ char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return NULL;
		if (c == '%') {
			if (len - i < 3)
				return NULL;
			int hi = hex_digit_value((unsigned char)s[i + 1]),
			    lo = hex_digit_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			out[o++] = ' ';
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return TAKE_PTR(out);
}

/* Adds value under key; a repeated key turns into an array, in order. */
static void form_add(json_t *obj, const char *key, const char *value)
{
	json_t *old = json_object_get(obj, key);
	json_t *v = json_string(value);
	if (!v)
		abort(); /* callers validated UTF-8: only OOM gets here */
	if (!old) {
		json_object_set_new(obj, key, v);
	} else if (json_is_array(old)) {
		json_array_append_new(old, v);
	} else {
		json_t *arr = json_array();
		json_array_append(arr, old);
		json_array_append_new(arr, v);
		json_object_set_new(obj, key, arr);
	}
}

int http_decode_form(const char *data, size_t len, json_t *obj, size_t max_params,
                     struct error **err)
{
	size_t n = 0, i = 0;
	while (i < len) {
		const char *pair = data + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		if (++n > max_params)
			return error_set(err, -E2BIG, 400, "too many parameters");
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		_cleanup_free_ char *key = http_unescape(pair, klen, true);
		_cleanup_free_ char *value =
		    eq ? http_unescape(eq + 1, plen - klen - 1, true) : xstrdup("");
		if (!key || !value)
			return error_set(err, -EINVAL, 400,
			                 "malformed form data: invalid percent-encoding");
		if (!http_utf8_valid(key, strlen(key)) || !http_utf8_valid(value, strlen(value)))
			return error_set(err, -EILSEQ, 400, "malformed form data: invalid UTF-8");
		if (key[0] == '\0')
			continue;
		form_add(obj, key, value);
	}
	return 0;
}

/* jansson recurses per nesting level with a limit of 2048; check ours first
 * with a scan that knows just enough JSON to skip strings. */
static bool json_depth_ok(const char *data, size_t len, unsigned max_depth)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return false;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return true;
}

int http_decode_json(const char *data, size_t len, unsigned max_depth, json_t **ret_obj,
                     struct error **err)
{
	if (!json_depth_ok(data, len, max_depth))
		return error_set(err, -ELOOP, 400,
		                 "JSON body nested too deeply (more than %u levels)", max_depth);
	json_error_t jerr;
	json_t *v = json_loadb(data, len, 0, &jerr);
	if (!v)
		return error_set(err, -EINVAL, 400, "unable to parse JSON body - %s", jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return error_set(err, -EINVAL, 400, "JSON body is not an object");
	}
	*ret_obj = v;
	return 0;
}

/* --- the head --- */

size_t http_skip_empty_lines(const char *buf, size_t len)
{
	size_t i = 0;
	for (;;) {
		if (i < len && buf[i] == '\n')
			i++;
		else if (len - i >= 2 && buf[i] == '\r' && buf[i + 1] == '\n')
			i += 2;
		else
			return i;
	}
}

size_t http_head_length(const char *buf, size_t len)
{
	/* The head ends at the first line that is empty: "\n\n" or "\n\r\n". */
	for (size_t i = 0; i < len; i++) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			return 0;
		i = (size_t)(nl - buf) + 1;
		if (i < len && buf[i] == '\n')
			return i + 1;
		if (len - i >= 2 && buf[i] == '\r' && buf[i + 1] == '\n')
			return i + 2;
		i--; /* the loop's i++ moves past the newline */
	}
	return 0;
}

/* Splits off the next line of [*pos, end); strips "\r\n" or "\n".  Returns
 * false at the end of the buffer. */
static bool next_line(const char *buf, size_t end, size_t *pos, const char **ret_line,
                      size_t *ret_len)
{
	if (*pos >= end)
		return false;
	const char *line = buf + *pos;
	const char *nl = memchr(line, '\n', end - *pos);
	size_t l = nl ? (size_t)(nl - line) : end - *pos;
	*pos += l + (nl ? 1 : 0);
	if (l > 0 && line[l - 1] == '\r')
		l--;
	*ret_line = line;
	*ret_len = l;
	return true;
}

static bool has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ',')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0)
			return true;
	}
	return false;
}

/* Content-Length: digits, or a list of equal values ("5, 5"). */
static int parse_content_length(const char *v, bool *have, size_t *len)
{
	const char *p = v;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			return -EBADMSG;
		uint64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n > (UINT64_MAX - 9) / 10)
				return -EBADMSG;
			n = n * 10 + (uint64_t)(*p++ - '0');
		}
		if (n > SIZE_MAX / 2)
			n = SIZE_MAX / 2; /* far beyond any limit; keeps size_t arithmetic safe */
		if (*have && *len != (size_t)n)
			return -EBADMSG;
		*have = true;
		*len = (size_t)n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			return -EBADMSG;
	}
}

static struct http_request *request_new(void)
{
	struct http_request *req = xnew(struct http_request, 1);
	req->impl = xnew(struct http_request_priv, 1);
	return req;
}

static int parse_request_line(struct http_request *req, struct http_head_info *info,
                              const char *line, size_t len, struct error **err)
{
	struct http_request_priv *p = priv(req);
	if (len > HTTP_MAX_REQUEST_LINE)
		return error_set(err, -EMSGSIZE, 414, "URI Too Long");
	const char *sp1 = memchr(line, ' ', len);
	if (!sp1 || sp1 == line || sp1 - line > 32)
		return error_set(err, -EBADMSG, 400, "Bad Request");
	for (const char *c = line; c < sp1; c++)
		if (!is_tchar((unsigned char)*c))
			return error_set(err, -EBADMSG, 400, "Bad Request");
	const char *target = sp1 + 1;
	const char *end = line + len;
	const char *sp2 = memchr(target, ' ', (size_t)(end - target));
	if (!sp2 || sp2 == target)
		return error_set(err, -EBADMSG, 400, "Bad Request");
	size_t vlen = (size_t)(end - sp2 - 1);
	if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
		info->http10 = false;
	else if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
		info->http10 = true;
	else
		return error_set(err, -EBADMSG, 400, "Bad Request");
	/* origin-form only: "/path?query", visible ASCII */
	if (*target != '/')
		return error_set(err, -EBADMSG, 400, "Bad Request");
	for (const char *c = target; c < sp2; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return error_set(err, -EBADMSG, 400, "Bad Request");
	size_t tlen = (size_t)(sp2 - target);
	const char *frag = memchr(target, '#', tlen); /* clients should not send one */
	if (frag)
		tlen = (size_t)(frag - target);
	const char *q = memchr(target, '?', tlen);
	p->method = xstrndup(line, (size_t)(sp1 - line));
	if (q) {
		p->raw_url = xstrndup(target, (size_t)(q - target));
		p->query = xstrndup(q + 1, tlen - (size_t)(q - target) - 1);
	} else {
		p->raw_url = xstrndup(target, tlen);
	}
	req->method = p->method;
	req->raw_url = p->raw_url;
	return 0;
}

static int parse_header_line(struct http_request *req, const char *line, size_t len,
                             struct error **err)
{
	struct http_request_priv *p = priv(req);
	if (line[0] == ' ' || line[0] == '\t') /* obs-fold */
		return error_set(err, -EBADMSG, 400, "Bad Request");
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return error_set(err, -EBADMSG, 400, "Bad Request");
	for (const char *c = line; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return error_set(err, -EBADMSG, 400, "Bad Request");
	const char *v = colon + 1, *e = line + len;
	for (const char *c = v; c < e; c++) {
		unsigned char u = (unsigned char)*c;
		if ((u < 0x20 && u != '\t') || u == 0x7f)
			return error_set(err, -EBADMSG, 400, "Bad Request");
	}
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (p->n_headers >= HTTP_MAX_HEADERS)
		return error_set(err, -E2BIG, 431, "Request Header Fields Too Large");
	if (!p->headers)
		p->headers = xnew(struct http_header, HTTP_MAX_HEADERS);
	p->headers[p->n_headers].name = xstrndup(line, (size_t)(colon - line));
	p->headers[p->n_headers].value = xstrndup(v, (size_t)(e - v));
	p->n_headers++;
	return 0;
}

/* Works out body framing and connection semantics from the headers. */
static int head_semantics(struct http_request *req, struct http_head_info *info,
                          const struct http_limits *lim, struct error **err)
{
	struct http_request_priv *p = priv(req);
	bool have_cl = false, have_te = false, chunked = false;
	size_t cl = 0;
	info->keep_alive = !info->http10;
	for (size_t i = 0; i < p->n_headers; i++) {
		const char *n = p->headers[i].name, *v = p->headers[i].value;
		if (strcasecmp(n, "Content-Length") == 0) {
			if (parse_content_length(v, &have_cl, &cl) < 0)
				return error_set(err, -EBADMSG, 400, "Bad Request");
		} else if (strcasecmp(n, "Transfer-Encoding") == 0) {
			if (have_te || info->http10)
				return error_set(err, -EBADMSG, 400, "Bad Request");
			have_te = true;
			if (strcasecmp(v, "chunked") != 0)
				return error_set(err, -EOPNOTSUPP, 501, "Not Implemented");
			chunked = true;
		} else if (strcasecmp(n, "Connection") == 0) {
			if (has_token(v, "close"))
				info->keep_alive = false;
			else if (info->http10 && has_token(v, "keep-alive"))
				info->keep_alive = true;
		} else if (strcasecmp(n, "Expect") == 0) {
			if (!info->http10 && strcasecmp(v, "100-continue") == 0)
				info->expect_continue = true;
		}
	}
	if (have_cl && have_te)
		return error_set(err, -EBADMSG, 400, "Bad Request");
	if (chunked) {
		info->body_kind = HTTP_BODY_CHUNKED;
	} else if (have_cl && cl > 0) {
		info->body_kind = HTTP_BODY_LENGTH;
		info->content_length = cl;
		if (cl > lim->max_body_bytes)
			error_set(&req->parse_error, -EFBIG, 413, "request entity too large");
	}
	if (info->body_kind == HTTP_BODY_NONE)
		info->expect_continue = false;
	return 0;
}

int http_parse_head(const char *buf, size_t len, const struct http_limits *lim_in,
                    struct http_request **ret_req, struct http_head_info *ret_info,
                    struct error **err)
{
	struct http_limits lim;
	http_limits_fill(lim_in, &lim);
	if (memchr(buf, '\0', len))
		return error_set(err, -EBADMSG, 400, "Bad Request");
	/* A CR anywhere but right before LF is a bare CR. */
	for (const char *c = buf; (c = memchr(c, '\r', len - (size_t)(c - buf))); c++)
		if ((size_t)(c - buf) + 1 >= len || c[1] != '\n')
			return error_set(err, -EBADMSG, 400, "Bad Request");

	struct http_request *req = request_new();
	struct http_head_info info = {0};
	size_t pos = 0, rl_end;
	const char *line;
	size_t llen;
	int r;
	if (!next_line(buf, len, &pos, &line, &llen)) {
		r = error_set(err, -EBADMSG, 400, "Bad Request");
		goto fail;
	}
	r = parse_request_line(req, &info, line, llen, err);
	if (r < 0)
		goto fail;
	rl_end = pos;
	if (len - rl_end > lim.max_header_bytes + 2) {
		r = error_set(err, -E2BIG, 431, "Request Header Fields Too Large");
		goto fail;
	}
	while (next_line(buf, len, &pos, &line, &llen)) {
		if (llen == 0)
			break; /* the empty line ending the head */
		r = parse_header_line(req, line, llen, err);
		if (r < 0)
			goto fail;
	}
	r = head_semantics(req, &info, &lim, err);
	if (r < 0)
		goto fail;
	*ret_req = req;
	if (ret_info)
		*ret_info = info;
	return 0;
fail:
	http_request_free(req);
	return r;
}

/* --- chunked bodies --- */

enum {
	CH_SIZE,    /* hex digits of the chunk size */
	CH_EXT,     /* chunk extension up to the end of the line */
	CH_SIZE_LF, /* after CR of the size line */
	CH_DATA,    /* chunk data */
	CH_DATA_CR, /* CRLF after chunk data */
	CH_DATA_LF,
	CH_TRAILER,    /* start of a trailer line (or the final empty line) */
	CH_TRAILER_IN, /* inside a trailer line */
	CH_TRAILER_LF, /* after CR of a trailer line */
	CH_END_LF,     /* after CR of the final empty line */
	CH_DONE,
};

#define CH_MAX_LINE    4096
#define CH_MAX_TRAILER 8192

int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, struct strbuf *out,
                      size_t max_body, size_t *ret_consumed)
{
	size_t i = 0;
	int r = 0;
	while (i < len && c->state != CH_DONE) {
		unsigned char ch = (unsigned char)in[i];
		switch (c->state) {
		case CH_SIZE: {
			int h = hex_digit_value(ch);
			if (h >= 0) {
				if (++c->digits > 16)
					return -EBADMSG;
				c->remaining = c->remaining << 4 | (uint64_t)h;
				i++;
				break;
			}
			if (c->digits == 0)
				return -EBADMSG;
			if (c->remaining > max_body || out->len + c->remaining > max_body)
				return -EFBIG;
			if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
				c->line_len = c->digits;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				goto size_line_done;
			} else {
				return -EBADMSG;
			}
			i++;
			break;
		}
		case CH_EXT:
			if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				goto size_line_done;
			} else if (ch == '\0' || ++c->line_len > CH_MAX_LINE) {
				return -EBADMSG;
			}
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -EBADMSG;
		size_line_done:
			i++;
			c->digits = 0;
			c->line_len = 0;
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			strbuf_add(out, in + i, n);
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			i++;
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return -EBADMSG;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -EBADMSG;
			i++;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER:
			i++;
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (ch == '\n')
				c->state = CH_DONE;
			else if (ch == '\0')
				return -EBADMSG;
			else
				c->state = CH_TRAILER_IN;
			c->trailer_bytes++;
			break;
		case CH_TRAILER_IN:
			i++;
			if (++c->trailer_bytes > CH_MAX_TRAILER || ch == '\0')
				return -EBADMSG;
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (ch == '\n')
				c->state = CH_TRAILER;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -EBADMSG;
			i++;
			c->state = CH_TRAILER;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -EBADMSG;
			i++;
			c->state = CH_DONE;
			break;
		default:
			return -EBADMSG;
		}
	}
	if (c->state == CH_DONE)
		r = 1;
	*ret_consumed = i;
	return r;
}

/* --- parameters --- */

static bool is_json_content_type(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strcspn(ct, "; \t");
	return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

void http_request_decode(struct http_request *req, const char *body, size_t body_len,
                         const struct http_limits *lim_in)
{
	struct http_request_priv *p = priv(req);
	struct http_limits lim;
	http_limits_fill(lim_in, &lim);
	req->body_len = body_len;
	if (!req->params)
		req->params = json_object();
	if (!req->path) {
		char *path = http_unescape(p->raw_url, strlen(p->raw_url), false);
		if (!path || !http_utf8_valid(path, strlen(path))) {
			error_set(&req->parse_error, -EINVAL, 400, "invalid URI");
			free(path);
			path = xstrdup(p->raw_url);
		}
		req->path = path;
	}
	if (req->parse_error)
		return;

	bool with_body = streq(p->method, "POST") || streq(p->method, "PUT");
	if (body_len > 0 && !with_body) {
		error_set(&req->parse_error, -EINVAL, 501, "Unexpected content for method '%s'",
		          p->method);
		return;
	}
	json_t *params = NULL;
	if (with_body && body_len > 0 &&
	    is_json_content_type(http_request_header(req, "Content-Type"))) {
		if (http_decode_json(body, body_len, lim.max_json_depth, &params,
		                     &req->parse_error) < 0)
			return;
		req->body_is_json = true;
	} else {
		params = json_object();
		if (with_body && body_len > 0 &&
		    http_decode_form(body, body_len, params, lim.max_params, &req->parse_error) <
		        0) {
			json_decref(params);
			return;
		}
	}
	if (p->query) {
		json_t *q = json_object();
		if (http_decode_form(p->query, strlen(p->query), q, lim.max_params,
		                     &req->parse_error) < 0) {
			json_decref(q);
			json_decref(params);
			return;
		}
		json_object_update(params, q); /* the query wins */
		json_decref(q);
	}
	if (json_object_size(params) > lim.max_params) {
		error_set(&req->parse_error, -E2BIG, 400, "too many parameters");
		json_decref(params);
		return;
	}
	json_decref(req->params);
	req->params = params;
}

int http_request_parse(const char *buf, size_t len, const struct http_limits *lim_in,
                       struct http_request **ret_req, size_t *ret_consumed, struct error **err)
{
	struct http_limits lim;
	http_limits_fill(lim_in, &lim);
	size_t off = http_skip_empty_lines(buf, len);
	size_t hl = http_head_length(buf + off, len - off);
	if (hl == 0) {
		if (len - off > HTTP_MAX_REQUEST_LINE + lim.max_header_bytes + 2)
			return error_set(err, -E2BIG, 431, "Request Header Fields Too Large");
		return -EAGAIN;
	}
	struct http_request *req = NULL;
	struct http_head_info info;
	int r = http_parse_head(buf + off, hl, &lim, &req, &info, err);
	if (r < 0)
		return r;
	off += hl;
	if (req->parse_error) {
		/* the body is not read: the server closes after answering */
		http_request_decode(req, NULL, 0, &lim);
		*ret_req = req;
		*ret_consumed = off;
		return 0;
	}
	if (info.body_kind == HTTP_BODY_LENGTH) {
		if (len - off < info.content_length) {
			http_request_free(req);
			return -EAGAIN;
		}
		http_request_decode(req, buf + off, info.content_length, &lim);
		off += info.content_length;
	} else if (info.body_kind == HTTP_BODY_CHUNKED) {
		_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
		struct http_chunked ch = {0};
		size_t used = 0;
		r = http_chunked_feed(&ch, buf + off, len - off, &body, lim.max_body_bytes, &used);
		if (r == 0) {
			http_request_free(req);
			return -EAGAIN;
		}
		if (r == -EFBIG) {
			error_set(&req->parse_error, -EFBIG, 413, "request entity too large");
			http_request_decode(req, NULL, 0, &lim);
		} else if (r < 0) {
			http_request_free(req);
			return error_set(err, -EBADMSG, 400, "Bad Request");
		} else {
			http_request_decode(req, body.buf, body.len, &lim);
		}
		off += used;
	} else {
		http_request_decode(req, NULL, 0, &lim);
	}
	*ret_req = req;
	*ret_consumed = off;
	return 0;
}

struct http_request *http_request_free(struct http_request *req)
{
	if (!req)
		return NULL;
	struct http_request_priv *p = priv(req);
	if (p) {
		free(p->method);
		free(p->raw_url);
		free(p->query);
		for (size_t i = 0; i < p->n_headers; i++) {
			free(p->headers[i].name);
			free(p->headers[i].value);
		}
		free(p->headers);
		for (size_t i = 0; i < p->n_cookies; i++) {
			free(p->cookies[i].name);
			free(p->cookies[i].value);
		}
		free(p->cookies);
		free(p);
	}
	free(req->path);
	free(req->upload_path);
	json_decref(req->params);
	error_free(req->parse_error);
	free(req);
	return NULL;
}

struct http_request *http_request_new_forwarded(const char *method, const char *path)
{
	struct http_request *req = request_new();
	priv(req)->method = xstrdup(method);
	priv(req)->raw_url = xstrdup(path);
	req->method = priv(req)->method;
	req->raw_url = priv(req)->raw_url;
	req->path = xstrdup(path);
	return req;
}

void http_request_add_header(struct http_request *req, const char *name, const char *value)
{
	struct http_request_priv *p = priv(req);
	if (p->n_headers >= HTTP_MAX_HEADERS)
		return;
	if (!p->headers)
		p->headers = xnew(struct http_header, HTTP_MAX_HEADERS);
	p->headers[p->n_headers].name = xstrdup(name);
	p->headers[p->n_headers].value = xstrdup(value);
	p->n_headers++;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	struct http_request_priv *p = priv(req);
	for (size_t i = 0; i < p->n_headers; i++)
		if (strcasecmp(p->headers[i].name, name) == 0)
			return p->headers[i].value;
	return NULL;
}

/* Finds name=value in one Cookie header ("a=b; c=d"). */
static bool cookie_find(const char *hdr, const char *name, const char **ret_v, size_t *ret_len)
{
	size_t nl = strlen(name);
	const char *s = hdr;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		const char *end = strchr(s, ';');
		if (!end)
			end = s + strlen(s);
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (eq && (size_t)(eq - s) == nl && memcmp(s, name, nl) == 0) {
			*ret_v = eq + 1;
			*ret_len = (size_t)(end - eq - 1);
			return true;
		}
		s = end;
	}
	return false;
}

const char *http_request_cookie(const struct http_request *req, const char *name)
{
	struct http_request_priv *p = priv(req);
	for (size_t i = 0; i < p->n_cookies; i++)
		if (streq(p->cookies[i].name, name))
			return p->cookies[i].value;
	for (size_t i = 0; i < p->n_headers; i++) {
		const char *v;
		size_t vl;
		if (strcasecmp(p->headers[i].name, "Cookie") != 0 ||
		    !cookie_find(p->headers[i].value, name, &v, &vl))
			continue;
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
			v++, vl -= 2;
		char *value = http_unescape(v, vl, false);
		if (!value)
			return NULL;
		p->cookies = xrealloc(p->cookies, (p->n_cookies + 1) * sizeof(*p->cookies));
		p->cookies[p->n_cookies].name = xstrdup(name);
		p->cookies[p->n_cookies].value = value;
		p->n_cookies++;
		return value;
	}
	return NULL;
}

/* --- responses --- */

const char *http_status_text(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Request Entity Too Large";
	case 414:
		return "Request-URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Requested Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	case 595:
		return "Connection Timed Out";
	case 596:
		return "Broken Pipe";
	default:
		return "Unknown";
	}
}

char *http_reason_sanitize(const char *reason, int status)
{
	if (!reason)
		return xstrdup(http_status_text(status));
	size_t n = strcspn(reason, "\r\n");
	if (n > HTTP_MAX_REASON) {
		n = HTTP_MAX_REASON;
		/* do not cut a UTF-8 sequence: back up to its lead byte */
		while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
			n--;
	}
	char *out = xstrndup(reason, n);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = ' ';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	size_t lead = strspn(out, " ");
	if (lead == n) {
		free(out);
		return xstrdup(http_status_text(status));
	}
	if (lead)
		memmove(out, out + lead, n - lead + 1);
	return out;
}

void http_response_set_body(struct http_response *resp, int status, const char *content_type,
                            char *body, size_t len)
{
	if (resp->body != body)
		free(resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = body ? len : 0;
}

void http_response_add_header(struct http_response *resp, const char *fmt, ...)
{
	if (resp->n_headers >= ARRAY_SIZE(resp->headers))
		return; /* documented limit: extra headers are dropped */
	va_list ap;
	va_start(ap, fmt);
	resp->headers[resp->n_headers++] = xvasprintf(fmt, ap);
	va_end(ap);
}

void http_response_release(struct http_response *resp)
{
	free(resp->reason);
	free(resp->body);
	for (size_t i = 0; i < resp->n_headers && i < ARRAY_SIZE(resp->headers); i++)
		free(resp->headers[i]);
	free(resp->log_user);
	if (resp->upgrade && resp->upgrade_fd >= 0)
		close(resp->upgrade_fd);
	*resp = (struct http_response){0};
}
