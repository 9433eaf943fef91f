/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu_console_text_keys(): text to QMP send-key key lists on en-us, as a
 * table; the refusals name each character once.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>
#include <jansson.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-console.h"
#include "xalloc.h"

static const struct {
	const char *text;
	const char *keys; /* JSON */
} cases[] = {
    {"", "[]"},
    {"az09", "[[\"a\"],[\"z\"],[\"0\"],[\"9\"]]"},
    {"Hi!", "[[\"shift\",\"h\"],[\"i\"],[\"shift\",\"1\"]]"},
    {" \t\n", "[[\"spc\"],[\"tab\"],[\"ret\"]]"},
    {"a\r\nb\rc", "[[\"a\"],[\"ret\"],[\"b\"],[\"ret\"],[\"c\"]]"},
    {"-=[]\\;',./`",
     "[[\"minus\"],[\"equal\"],[\"bracket_left\"],[\"bracket_right\"],[\"backslash\"],"
     "[\"semicolon\"],[\"apostrophe\"],[\"comma\"],[\"dot\"],[\"slash\"],[\"grave_accent\"]]"},
    {"_+{}|:\"<>?~@#$%^&*()",
     "[[\"shift\",\"minus\"],[\"shift\",\"equal\"],[\"shift\",\"bracket_left\"],"
     "[\"shift\",\"bracket_right\"],[\"shift\",\"backslash\"],[\"shift\",\"semicolon\"],"
     "[\"shift\",\"apostrophe\"],[\"shift\",\"comma\"],[\"shift\",\"dot\"],[\"shift\",\"slash\"],"
     "[\"shift\",\"grave_accent\"],[\"shift\",\"2\"],[\"shift\",\"3\"],[\"shift\",\"4\"],"
     "[\"shift\",\"5\"],[\"shift\",\"6\"],[\"shift\",\"7\"],[\"shift\",\"8\"],[\"shift\",\"9\"],"
     "[\"shift\",\"0\"]]"},
};

static void test_keys(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *got = NULL;
		struct error *e = NULL;
		assert_int_equal(qemu_console_text_keys(cases[i].text, NULL, &got, &e), 0);
		_cleanup_json_ json_t *want = json_loads(cases[i].keys, 0, NULL);
		assert_non_null(want);
		if (!json_equal(got, want)) {
			char *s = json_dumps(got, JSON_COMPACT);
			fail_msg("'%s': got %s, want %s", cases[i].text, s, cases[i].keys);
		}
		json_decref(got);
		got = NULL;
		assert_int_equal(qemu_console_text_keys(cases[i].text, "en-us", &got, &e), 0);
		json_decref(got);
	}
	/* every printable ASCII character can be typed */
	char all[0x7f - 0x20 + 1];
	for (int c = 0x20; c < 0x7f; c++)
		all[c - 0x20] = (char)c;
	all[sizeof(all) - 1] = '\0';
	json_t *got = NULL;
	assert_int_equal(qemu_console_text_keys(all, NULL, &got, NULL), 0);
	assert_int_equal(json_array_size(got), 0x7f - 0x20);
	json_decref(got);
}

static void test_refused(void **state)
{
	json_t *got = NULL;
	struct error *e = NULL;
	/* é twice, €, a control character, a stray continuation byte */
	assert_int_equal(
	    qemu_console_text_keys("ok \xc3\xa9\xe2\x82\xac\xc3\xa9\x01\x80", NULL, &got, &e),
	    -EINVAL);
	assert_null(got);
	assert_int_equal(e->http_status, 400);
	const char *why = json_string_value(json_object_get(e->params, "text"));
	assert_non_null(why);
	assert_string_equal(why, "cannot type U+00E9 U+20AC U+0001 \\x80 with keyboard en-us");
	e = error_free(e);
	/* another layout is not known */
	assert_int_equal(qemu_console_text_keys("a", "de", &got, &e), -EOPNOTSUPP);
	assert_int_equal(e->http_status, 501);
	e = error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
