/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The encodings tickets and tokens travel in: base64 (signatures, CSRF MACs,
 * the CSRF secret file) and the URI escaping of PVE::Ticket and
 * extract_auth_value.  The decoders take attacker-controlled input.
 */
#include "common.h"

#include "auth-priv.h"
#include "xalloc.h"
#include "strutil.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *auth_base64_encode(const void *data, size_t n, bool pad)
{
	const uint8_t *in = data;
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		*o++ = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64_alphabet[v >> 18 & 63];
		*o++ = b64_alphabet[v >> 12 & 63];
		*o++ = b64_alphabet[v >> 6 & 63];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int auth_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t padded = len;
	while (len > 0 && s[len - 1] == '=' && padded - len < 2)
		len--;
	if (len != padded && padded % 4 != 0)
		return -EINVAL;
	if (len % 4 == 1)
		return -EINVAL;

	_cleanup_free_ uint8_t *out = xmalloc(len / 4 * 3 + 3);
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* canonical encodings only: the unused low bits of the last character
	 * must be zero, so one signature has exactly one spelling */
	if (bits && (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL;
	*ret = TAKE_PTR(out);
	*ret_len = n;
	return 0;
}

char *auth_uri_escape_data(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += (*p == ':' || *p == '%') ? 3 : 1;
	char *out = xmalloc(n + 1);
	char *o = out;
	for (const char *p = s; *p; p++) {
		if (*p == ':' || *p == '%') {
			*o++ = '%';
			*o++ = *p == ':' ? '3' : '2';
			*o++ = *p == ':' ? 'A' : '5';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

char *auth_uri_unescape(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len) {
			int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
			if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
				out[n++] = (char)(hi << 4 | lo);
				i += 2;
				continue;
			}
		}
		out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}
