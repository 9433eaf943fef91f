/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Compact JSON text of a jansson value in one pass (jsonutil.h).
 *
 * Why not json_dumpb(): jansson's encoder guards against reference loops
 * by keeping a hash table of the containers it is inside, keyed by their
 * printed address, so each object or array of an answer costs a
 * snprintf, a hash insert and a malloc.  For GET /cluster/resources that
 * was half the instructions of the whole request.  ctvm builds its answers
 * as trees, so a depth bound is guard enough.  The text is byte for byte
 * jansson's JSON_COMPACT text (test-jsonwrite compares the two on random
 * values), so clients and golden files see no difference.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>

#include "jsonutil.h"
#include "strbuf.h"
#include "utf8.h"

struct writer {
	struct strbuf *sb;
	size_t start, max;
};

static bool over(const struct writer *w)
{
	return w->max && w->sb->len - w->start > w->max;
}

static int write_string(struct writer *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	struct strbuf *sb = w->sb;
	strbuf_addch(sb, '"');
	size_t run = 0; /* bytes at s[i - run, i) copied as they are */
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			size_t len = c < 0x80 ? 1 : utf8_seq_len(s + i, n - i);
			if (!len)
				return -EINVAL;
			i += len;
			run += len;
			continue;
		}
		strbuf_add(sb, s + i - run, run);
		run = 0;
		switch (c) {
		case '"':
			strbuf_add(sb, "\\\"", 2);
			break;
		case '\\':
			strbuf_add(sb, "\\\\", 2);
			break;
		case '\b':
			strbuf_add(sb, "\\b", 2);
			break;
		case '\f':
			strbuf_add(sb, "\\f", 2);
			break;
		case '\n':
			strbuf_add(sb, "\\n", 2);
			break;
		case '\r':
			strbuf_add(sb, "\\r", 2);
			break;
		case '\t':
			strbuf_add(sb, "\\t", 2);
			break;
		default:
			strbuf_addf(sb, "\\u%04X", c);
		}
		i++;
	}
	strbuf_add(sb, s + n - run, run);
	strbuf_addch(sb, '"');
	return over(w) ? -EMSGSIZE : 0;
}

/* jansson's real format: "%.17g", ".0" when that reads as an integer, and
 * an exponent without '+' or leading zeros. */
static int write_real(struct writer *w, double d)
{
	if (!isfinite(d))
		return -EINVAL;
	char buf[48];
	int n = snprintf(buf, sizeof(buf) - 2, "%.17g", d);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		return -EINVAL;
	size_t len = (size_t)n;
	char *e = strchr(buf, 'e');
	if (!strchr(buf, '.') && !e) {
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	if (e) {
		char *start = e + 1, *end = e + 2;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	strbuf_add(w->sb, buf, len);
	return 0;
}

static int write_value(struct writer *w, const json_t *v, unsigned depth)
{
	struct strbuf *sb = w->sb;
	if (depth > JSON_WRITE_DEPTH)
		return -EINVAL;
	int r = 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		const json_t *item;
		bool first = true;
		strbuf_addch(sb, '{');
		/* insertion order, as jansson's encoder without JSON_SORT_KEYS */
		json_object_foreach ((json_t *)v, key, item) {
			if (!first)
				strbuf_addch(sb, ',');
			first = false;
			if ((r = write_string(w, key, strlen(key))) < 0)
				return r;
			strbuf_addch(sb, ':');
			if ((r = write_value(w, item, depth + 1)) < 0)
				return r;
		}
		strbuf_addch(sb, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		const json_t *item;
		strbuf_addch(sb, '[');
		json_array_foreach (v, i, item) {
			if (i)
				strbuf_addch(sb, ',');
			if ((r = write_value(w, item, depth + 1)) < 0)
				return r;
		}
		strbuf_addch(sb, ']');
		break;
	}
	case JSON_STRING:
		return write_string(w, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		r = write_real(w, json_real_value(v));
		break;
	case JSON_TRUE:
		strbuf_add(sb, "true", 4);
		break;
	case JSON_FALSE:
		strbuf_add(sb, "false", 5);
		break;
	case JSON_NULL:
		strbuf_add(sb, "null", 4);
		break;
	}
	if (r == 0 && over(w))
		r = -EMSGSIZE;
	return r;
}

int json_write(struct strbuf *sb, const json_t *v, size_t max)
{
	struct writer w = {sb, sb->len, max};
	if (!v)
		return -EINVAL;
	return write_value(&w, v, 0);
}
