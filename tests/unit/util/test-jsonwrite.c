/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * json_write() against jansson's own encoder: random values (strings with
 * every escape, multi-byte UTF-8 and NULs, extreme integers, reals of
 * every magnitude, nested containers) must come out byte for byte as
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes them; and the refusals
 * (invalid UTF-8, depth, the size bound).
 */
#include "common.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsonutil.h"
#include "strbuf.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const pieces[] = {
    "a",
    "Z",
    " ",
    "\"",
    "\\",
    "/",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    "\xc3\xa9",         /* é */
    "\xe2\x82\xac",     /* € */
    "\xf0\x9f\x98\x80", /* an emoji: 4 bytes */
    "\xef\xbf\xbf",     /* U+FFFF */
    "vm-100-disk-0",
    "local:iso/x.iso",
};

static json_t *random_string(void)
{
	char buf[256];
	size_t len = 0;
	unsigned n = next() % 12;
	for (unsigned i = 0; i < n; i++) {
		const char *p = pieces[next() % ARRAY_SIZE(pieces)];
		size_t pl = strlen(p);
		if (len + pl + 1 > sizeof(buf))
			break;
		memcpy(buf + len, p, pl);
		len += pl;
		if (next() % 16 == 0 && len + 1 < sizeof(buf))
			buf[len++] = '\0'; /* jansson strings may hold NULs */
	}
	return json_stringn(buf, len);
}

static double random_real(void)
{
	static const double special[] = {0.0,
	                                 -0.0,
	                                 1.0,
	                                 -1.0,
	                                 0.1,
	                                 100.0,
	                                 1e16,
	                                 1e17,
	                                 1e21,
	                                 1e22,
	                                 1e-5,
	                                 1e-7,
	                                 1e300,
	                                 -1e-300,
	                                 5e-324,
	                                 DBL_MAX,
	                                 DBL_MIN,
	                                 123456789.125,
	                                 0.30000000000000004,
	                                 2.5e-10,
	                                 4096.0,
	                                 1.5e300};
	if (next() % 2)
		return special[next() % ARRAY_SIZE(special)];
	for (;;) {
		uint64_t bits = next();
		double d;
		memcpy(&d, &bits, sizeof(d));
		if (isfinite(d))
			return d;
	}
}

static json_t *random_value(unsigned depth)
{
	unsigned kind = next() % (depth < 5 ? 9 : 7);
	switch (kind) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(next() % 2);
	case 2: {
		static const json_int_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN, 4294967296LL};
		return json_integer(next() % 2 ? ints[next() % ARRAY_SIZE(ints)]
		                               : (json_int_t)(next() >> (next() % 64)));
	}
	case 3:
		return json_real(random_real());
	case 4:
	case 5:
	case 6:
		return random_string();
	case 7: {
		json_t *a = json_array();
		for (unsigned i = next() % 5; i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = next() % 5; i > 0; i--) {
			json_t *k = random_string();
			/* object keys are C strings: up to the first NUL */
			json_object_set_new(o, json_string_value(k), random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	}
}

static void expect_same(const json_t *v)
{
	_cleanup_free_ char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(want);
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "prefix");
	assert_int_equal(json_write(&sb, v, 0), 0);
	if (strcmp(sb.buf + 6, want) != 0)
		fail_msg("json_write: %s\njansson:    %s", sb.buf + 6, want);
}

static void test_random_values_as_jansson(void **state)
{
	for (int i = 0; i < 20000; i++) {
		json_t *v = random_value(0);
		expect_same(v);
		json_decref(v);
	}
}

static void test_reals_as_jansson(void **state)
{
	for (int i = 0; i < 20000; i++) {
		json_t *v = json_real(random_real());
		expect_same(v);
		json_decref(v);
	}
}

static void test_refusals(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	/* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate,
	 * past U+10FFFF, a cut sequence; jansson refuses them too */
	static const char *const bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	                                  "ab\xe2\x82"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *s = json_stringn_nocheck(bad[i], strlen(bad[i]));
		json_t *o = json_pack("{s:o}", "k", s);
		strbuf_reset(&sb);
		assert_int_equal(json_write(&sb, o, 0), -EINVAL);
		assert_null(json_dumps(o, JSON_COMPACT));
		json_decref(o);
	}
	/* nesting past the bound */
	json_t *deep = json_array();
	for (int i = 0; i < JSON_WRITE_DEPTH + 1; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, deep);
		deep = outer;
	}
	strbuf_reset(&sb);
	assert_int_equal(json_write(&sb, deep, 0), -EINVAL);
	json_decref(deep);
	/* the size bound: exactly the text's length passes, one byte less not */
	_cleanup_json_ json_t *o = json_pack("{s:s,s:[i,i]}", "a", "bcd", "e", 1, 2);
	strbuf_reset(&sb);
	assert_int_equal(json_write(&sb, o, 0), 0);
	size_t len = sb.len;
	strbuf_reset(&sb);
	assert_int_equal(json_write(&sb, o, len), 0);
	strbuf_reset(&sb);
	assert_int_equal(json_write(&sb, o, len - 1), -EMSGSIZE);
	assert_int_equal(json_write(&sb, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_values_as_jansson),
	    cmocka_unit_test(test_reals_as_jansson),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
