/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * multipart/form-data, incrementally (see http-multipart.h).  The body is
 * read as if it started with CRLF, so the first delimiter is found with the
 * same "\r\n--boundary" search as every later one.  Every byte is client
 * input: all buffers are bounded and every scan checks its length.
 */
#include "common.h"

#include <ctype.h>
#include <strings.h>

#include "http-multipart.h"
#include "strbuf.h"
#include "xalloc.h"

enum mp_state {
	MP_PREAMBLE,    /* looking for the first delimiter */
	MP_AFTER_DELIM, /* "--" (the end) or padding + CRLF (a part) */
	MP_HEADERS,     /* a part's header block */
	MP_DATA,        /* a part's data, up to the next delimiter */
	MP_DONE,
	MP_FAILED,
};

struct http_multipart {
	enum mp_state state;
	char *delim; /* "\r\n--" boundary */
	size_t dlen;
	struct strbuf pend; /* input not consumed yet */
	const struct http_multipart_callbacks *cb;
	void *userdata;
	int err;
};

static bool is_bchar(unsigned char c)
{
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

static bool boundary_valid(const char *b, size_t len)
{
	if (len == 0 || len > HTTP_MULTIPART_MAX_BOUNDARY || b[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_bchar((unsigned char)b[i]))
			return false;
	return true;
}

/* Parses one "name=value" or "name=\"quoted\"" parameter starting at *pp
 * (after the ';' and any space).  Returns false on a syntax error. */
static bool next_param(const char **pp, char **ret_name, char **ret_value)
{
	const char *p = *pp;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t nl = strcspn(p, "=; \t");
	if (nl == 0)
		return false;
	*ret_name = xstrndup(p, nl);
	p += nl;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=') {
		*ret_value = xstrdup("");
	} else {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		struct strbuf v = STRBUF_INIT;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				strbuf_addch(&v, *p++);
			}
			if (*p != '"') {
				strbuf_release(&v);
				free(*ret_name);
				*ret_name = NULL;
				return false;
			}
			p++;
		} else {
			size_t vl = strcspn(p, "; \t");
			strbuf_add(&v, p, vl);
			p += vl;
		}
		*ret_value = strbuf_detach(&v, NULL);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ';')
		p++;
	else if (*p)
		goto bad;
	*pp = p;
	return true;
bad:
	free(*ret_name);
	free(*ret_value);
	*ret_name = *ret_value = NULL;
	return false;
}

char *http_multipart_boundary(const char *ct)
{
	if (!ct)
		return NULL;
	const char *type = "multipart/form-data";
	size_t tl = strlen(type);
	if (strncasecmp(ct, type, tl) != 0)
		return NULL;
	const char *p = ct + tl;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ';')
		return NULL;
	p++;
	char *boundary = NULL;
	while (*p) {
		char *n = NULL, *v = NULL;
		if (!next_param(&p, &n, &v))
			break;
		if (strcasecmp(n, "boundary") == 0 && !boundary)
			boundary = TAKE_PTR(v);
		free(n);
		free(v);
	}
	if (boundary && !boundary_valid(boundary, strlen(boundary))) {
		free(boundary);
		boundary = NULL;
	}
	return boundary;
}

struct http_multipart *http_multipart_new(const char *boundary,
                                          const struct http_multipart_callbacks *cb, void *userdata)
{
	if (!boundary || !boundary_valid(boundary, strlen(boundary)))
		return NULL;
	struct http_multipart *mp = xnew(struct http_multipart, 1);
	mp->delim = xasprintf("\r\n--%s", boundary);
	mp->dlen = strlen(mp->delim);
	mp->pend = (struct strbuf)STRBUF_INIT;
	strbuf_add(&mp->pend, "\r\n", 2);
	mp->cb = cb;
	mp->userdata = userdata;
	return mp;
}

struct http_multipart *http_multipart_free(struct http_multipart *mp)
{
	if (!mp)
		return NULL;
	free(mp->delim);
	strbuf_release(&mp->pend);
	free(mp);
	return NULL;
}

bool http_multipart_done(const struct http_multipart *mp)
{
	return mp->state == MP_DONE;
}

/* Parses a part's header block (lines without the final empty line) and
 * starts the part. */
static int start_part(struct http_multipart *mp, const char *hdr, size_t len)
{
	_cleanup_free_ char *name = NULL, *filename = NULL;
	bool have_cd = false;
	size_t i = 0;
	while (i < len) {
		const char *line = hdr + i;
		const char *eol = memmem(line, len - i, "\r\n", 2);
		size_t ll = eol ? (size_t)(eol - line) : len - i;
		i += ll + 2;
		if (memchr(line, '\0', ll))
			return -EBADMSG;
		const char *colon = memchr(line, ':', ll);
		if (!colon || colon == line)
			return -EBADMSG;
		size_t nl = (size_t)(colon - line);
		if (nl != strlen("Content-Disposition") ||
		    strncasecmp(line, "Content-Disposition", nl) != 0)
			continue; /* Content-Type and others: not needed */
		if (have_cd)
			return -EBADMSG;
		have_cd = true;
		_cleanup_free_ char *value = xstrndup(colon + 1, ll - nl - 1);
		const char *p = value;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t dl = strcspn(p, "; \t");
		if (dl != strlen("form-data") || strncasecmp(p, "form-data", dl) != 0)
			return -EBADMSG;
		p += dl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ';')
			p++;
		else if (*p)
			return -EBADMSG;
		while (*p) {
			_cleanup_free_ char *n = NULL, *v = NULL;
			if (!next_param(&p, &n, &v))
				return -EBADMSG;
			if (strcasecmp(n, "name") == 0) {
				if (name)
					return -EBADMSG;
				name = TAKE_PTR(v);
			} else if (strcasecmp(n, "filename") == 0) {
				if (filename)
					return -EBADMSG;
				filename = TAKE_PTR(v);
			}
		}
	}
	if (!name)
		return -EBADMSG;
	return mp->cb->part_begin ? mp->cb->part_begin(mp->userdata, name, filename) : 0;
}

static int emit_data(struct http_multipart *mp, const char *data, size_t len)
{
	if (len == 0 || !mp->cb->part_data)
		return 0;
	return mp->cb->part_data(mp->userdata, data, len);
}

/* Runs the state machine over pend; returns how many bytes it used, or < 0. */
static int process(struct http_multipart *mp, size_t *ret_used)
{
	const char *buf = mp->pend.buf;
	size_t len = mp->pend.len, pos = 0;
	int r = 0;
	for (;;) {
		const char *p = buf + pos;
		size_t avail = len - pos;
		if (mp->state == MP_PREAMBLE || mp->state == MP_DATA) {
			const char *d =
			    avail >= mp->dlen ? memmem(p, avail, mp->delim, mp->dlen) : NULL;
			if (!d) {
				/* keep what could still start a delimiter */
				size_t keep = avail < mp->dlen - 1 ? avail : mp->dlen - 1;
				if (mp->state == MP_DATA)
					r = emit_data(mp, p, avail - keep);
				pos += avail - keep;
				break;
			}
			if (mp->state == MP_DATA) {
				r = emit_data(mp, p, (size_t)(d - p));
				if (r >= 0 && mp->cb->part_end)
					r = mp->cb->part_end(mp->userdata);
				if (r < 0)
					break;
			}
			pos += (size_t)(d - p) + mp->dlen;
			mp->state = MP_AFTER_DELIM;
		} else if (mp->state == MP_AFTER_DELIM) {
			if (avail < 2)
				break;
			if (p[0] == '-' && p[1] == '-') {
				mp->state = MP_DONE;
				pos = len;
				break;
			}
			/* transport padding, then CRLF */
			size_t i = 0;
			while (i < avail && i < 64 && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (i == 64) {
				r = -EBADMSG;
				break;
			}
			if (avail - i < 2)
				break;
			if (p[i] != '\r' || p[i + 1] != '\n') {
				r = -EBADMSG;
				break;
			}
			pos += i + 2;
			mp->state = MP_HEADERS;
		} else if (mp->state == MP_HEADERS) {
			size_t hl;
			if (avail >= 2 && p[0] == '\r' && p[1] == '\n') {
				hl = 0; /* no headers at all */
			} else {
				const char *e = avail >= 4 ? memmem(p, avail, "\r\n\r\n", 4) : NULL;
				if (!e) {
					if (avail > HTTP_MULTIPART_MAX_HEADER)
						r = -EBADMSG;
					break;
				}
				hl = (size_t)(e - p) + 2;
			}
			if (hl > HTTP_MULTIPART_MAX_HEADER) {
				r = -EBADMSG;
				break;
			}
			/* "\r\n" of the empty line, whose CRLF counts for the data */
			r = start_part(mp, p, hl >= 2 ? hl - 2 : 0);
			if (r < 0)
				break;
			pos += hl + 2;
			mp->state = MP_DATA;
		} else {
			pos = len;
			break;
		}
	}
	*ret_used = pos;
	return r;
}

int http_multipart_feed(struct http_multipart *mp, const char *data, size_t len)
{
	if (mp->state == MP_FAILED)
		return mp->err;
	if (mp->state == MP_DONE)
		return 1;
	strbuf_add(&mp->pend, data, len);
	size_t used = 0;
	int r = process(mp, &used);
	if (r < 0) {
		mp->state = MP_FAILED;
		mp->err = r;
		strbuf_release(&mp->pend);
		return r;
	}
	memmove(mp->pend.buf, mp->pend.buf + used, mp->pend.len - used);
	mp->pend.len -= used;
	mp->pend.buf[mp->pend.len] = '\0';
	return mp->state == MP_DONE ? 1 : 0;
}
