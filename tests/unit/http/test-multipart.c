/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The incremental multipart/form-data parser, fed whole and split anywhere. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http-multipart.h"
#include "strbuf.h"

/* Records events as "B(name,filename)D(data)E" text. */
struct rec {
	struct strbuf log;
};

static int on_begin(void *ud, const char *name, const char *filename)
{
	struct rec *r = ud;
	strbuf_addf(&r->log, "B(%s,%s)", name, filename ? filename : "-");
	return 0;
}

static int on_data(void *ud, const char *data, size_t len)
{
	struct rec *r = ud;
	assert_true(len > 0);
	strbuf_add(&r->log, data, len);
	return 0;
}

static int on_end(void *ud)
{
	struct rec *r = ud;
	strbuf_addstr(&r->log, "E");
	return 0;
}

static const struct http_multipart_callbacks cbs = {on_begin, on_data, on_end};

/* Feeds body in pieces of step bytes; returns the last result. */
static int run(const char *boundary, const char *body, size_t len, size_t step, char **ret_log)
{
	struct rec r = {STRBUF_INIT};
	struct http_multipart *mp = http_multipart_new(boundary, &cbs, &r);
	assert_non_null(mp);
	int res = 0;
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		res = http_multipart_feed(mp, body + i, n);
		if (res != 0)
			break;
	}
	http_multipart_free(mp);
	strbuf_addch(&r.log, '\0');
	*ret_log = strbuf_detach(&r.log, NULL);
	return res;
}

static const char form[] = "preamble\r\n"
                           "--XyZ\r\n"
                           "Content-Disposition: form-data; name=\"content\"\r\n"
                           "\r\n"
                           "iso\r\n"
                           "--XyZ  \r\n"
                           "Content-Disposition: form-data; name=\"filename\"; "
                           "filename=\"a \\\"b\\\".iso\"\r\n"
                           "Content-Type: application/octet-stream\r\n"
                           "\r\n"
                           "\r\n-XyZ\r\n--Xy\r\n\r\n"
                           "\r\n"
                           "--XyZ--\r\n"
                           "epilogue --XyZ garbage";

static const char expect[] = "B(content,-)isoEB(filename,a \"b\".iso)\r\n-XyZ\r\n--Xy\r\n\r\nE";

static void test_whole_and_split(void **state)
{
	(void)state;
	for (size_t step = 1; step <= sizeof(form); step++) {
		_cleanup_free_ char *log = NULL;
		int r = run("XyZ", form, sizeof(form) - 1, step, &log);
		assert_int_equal(r, 1);
		assert_string_equal(log, expect);
	}
}

static void test_no_preamble_empty_part(void **state)
{
	(void)state;
	static const char b[] = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--b--";
	_cleanup_free_ char *log = NULL;
	assert_int_equal(run("b", b, sizeof(b) - 1, 3, &log), 1);
	assert_string_equal(log, "B(x,-)E");
}

static void test_truncated(void **state)
{
	(void)state;
	for (size_t cut = 0; cut < sizeof(form) - 1 - strlen("--\r\nepilogue --XyZ garbage");
	     cut++) {
		_cleanup_free_ char *log = NULL;
		int r = run("XyZ", form, cut, 7, &log);
		assert_true(r == 0 || r == -EBADMSG);
	}
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "--b\r\n\r\ndata\r\n--b--",                                         /* no disposition */
	    "--b\r\nContent-Disposition: attachment; name=x\r\n\r\nd\r\n--b--", /* not form-data */
	    "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nd\r\n--b--", /* open quote */
	    "--b\r\nNoColonHere\r\n\r\nd\r\n--b--",
	    "--bX\r\n", /* garbage after the delimiter */
	    "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n\r\n--b--",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *log = NULL;
		assert_int_equal(run("b", bad[i], strlen(bad[i]), 1, &log), -EBADMSG);
	}
	/* an endless header block */
	size_t n = HTTP_MULTIPART_MAX_HEADER + 100;
	_cleanup_free_ char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "--b\r\nX: ", 8);
	_cleanup_free_ char *log = NULL;
	assert_int_equal(run("b", big, n, 1000, &log), -EBADMSG);
}

static int stop_begin(void *ud, const char *name, const char *filename)
{
	(void)ud, (void)name, (void)filename;
	return -EPERM;
}

static void test_callback_error(void **state)
{
	(void)state;
	const struct http_multipart_callbacks c = {stop_begin, NULL, NULL};
	struct http_multipart *mp = http_multipart_new("XyZ", &c, NULL);
	assert_int_equal(http_multipart_feed(mp, form, sizeof(form) - 1), -EPERM);
	assert_int_equal(http_multipart_feed(mp, "x", 1), -EPERM);
	http_multipart_free(mp);
}

static void test_boundary(void **state)
{
	(void)state;
	char *b = http_multipart_boundary("multipart/form-data; boundary=abc");
	assert_string_equal(b, "abc");
	free(b);
	b = http_multipart_boundary("Multipart/Form-Data ; charset=x; boundary=\"a b:c\"");
	assert_string_equal(b, "a b:c");
	free(b);
	assert_null(http_multipart_boundary("multipart/form-data"));
	assert_null(http_multipart_boundary("application/x-www-form-urlencoded; boundary=a"));
	assert_null(http_multipart_boundary("multipart/form-data; boundary=\"a\nb\""));
	assert_null(http_multipart_boundary("multipart/form-data; boundary=\"ends \""));
	assert_null(http_multipart_boundary(
	    "multipart/form-data; boundary="
	    "12345678901234567890123456789012345678901234567890123456789012345678901"));
	assert_null(http_multipart_boundary(NULL));
	assert_null(http_multipart_new("", &cbs, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_and_split), cmocka_unit_test(test_no_preamble_empty_part),
	    cmocka_unit_test(test_truncated),       cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_callback_error),  cmocka_unit_test(test_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
