/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Request parsing and parameter decoding, without sockets. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "error.h"
#include "http-parse.h"
#include "http.h"
#include "strbuf.h"
#include "xalloc.h"

/* Parses a complete request; asserts success and that all bytes were used. */
static struct http_request *parse_ok(const char *raw)
{
	struct http_request *req = NULL;
	size_t used = 0;
	struct error *err = NULL;
	int r = http_request_parse(raw, strlen(raw), NULL, &req, &used, &err);
	if (r < 0)
		fail_msg("parse failed (%d): %s", r, err ? err->msg : "-");
	assert_int_equal(used, strlen(raw));
	assert_non_null(req->params);
	return req;
}

/* Parses a request that must fail; returns the status to answer with. */
static int parse_fail(const char *raw, size_t len, const struct http_limits *lim)
{
	struct http_request *req = NULL;
	size_t used = 0;
	_cleanup_error_ struct error *err = NULL;
	int r = http_request_parse(raw, len, lim, &req, &used, &err);
	assert_true(r < 0);
	assert_null(req);
	if (r == -EAGAIN)
		return 0;
	assert_non_null(err);
	return err->http_status;
}

static char *params_str(const struct http_request *req)
{
	return json_dumps(req->params, JSON_SORT_KEYS | JSON_COMPACT);
}

static void test_unescape(void **state)
{
	char *s = http_unescape("a%20b+c%2Bd", 11, true);
	assert_string_equal(s, "a b c+d");
	free(s);
	s = http_unescape("a%20b+c", 7, false);
	assert_string_equal(s, "a b+c");
	free(s);
	s = http_unescape("root%40pam", 10, false);
	assert_string_equal(s, "root@pam");
	free(s);
	s = http_unescape("%c3%A4", 6, false);
	assert_string_equal(s, "\xc3\xa4");
	free(s);
	s = http_unescape("", 0, true);
	assert_string_equal(s, "");
	free(s);
	assert_null(http_unescape("%00", 3, false));
	assert_null(http_unescape("%0", 2, false));
	assert_null(http_unescape("%", 1, false));
	assert_null(http_unescape("%zz", 3, false));
	assert_null(http_unescape("a\0b", 3, false));
	/* only len bytes are read */
	s = http_unescape("ab%", 2, false);
	assert_string_equal(s, "ab");
	free(s);
}

static void test_utf8(void **state)
{
	assert_true(http_utf8_valid("plain", 5));
	assert_true(http_utf8_valid("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	assert_false(http_utf8_valid("\xc3", 1));
	assert_false(http_utf8_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(http_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(http_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(http_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(http_utf8_valid("\xff", 1));
	assert_false(http_utf8_valid("\x80", 1));
}

static void test_form(void **state)
{
	json_t *o = json_object();
	_cleanup_error_ struct error *err = NULL;
	const char *f = "a=1&b=x+y%21&a=2&&c&a=3&d=&tags=%E2%82%AC&=ignored";
	assert_int_equal(http_decode_form(f, strlen(f), o, 100, &err), 0);
	char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"a\":[\"1\",\"2\",\"3\"],\"b\":\"x y!\",\"c\":\"\",\"d\":\"\","
	                       "\"tags\":\"\xe2\x82\xac\"}");
	free(s);
	json_decref(o);

	/* '=' inside a value stays in the value */
	o = json_object();
	assert_int_equal(http_decode_form("k=a=b", 5, o, 10, &err), 0);
	assert_string_equal(json_string_value(json_object_get(o, "k")), "a=b");
	json_decref(o);

	const char *bad[] = {"a=%zz", "a=%0",     "a=%00",      "a%00=1",
	                     "a=%ff", "a=%c3%28", "a=%ed%a0%80"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error *e = NULL;
		o = json_object();
		assert_true(http_decode_form(bad[i], strlen(bad[i]), o, 10, &e) < 0);
		assert_non_null(e);
		assert_int_equal(e->http_status, 400);
		error_free(e);
		json_decref(o);
	}
	struct error *e = NULL;
	o = json_object();
	assert_int_equal(http_decode_form("a=1&b=2&c=3", 11, o, 2, &e), -E2BIG);
	assert_int_equal(e->http_status, 400);
	error_free(e);
	json_decref(o);
}

static void test_json(void **state)
{
	json_t *o = NULL;
	struct error *err = NULL;
	const char *j = "{\"a\":1,\"b\":[true,{\"c\":\"]}\\\"[[[\"}],\"n\":null}";
	assert_int_equal(http_decode_json(j, strlen(j), 3, &o, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "a")), 1);
	json_decref(o);
	o = NULL;
	assert_true(http_decode_json(j, strlen(j), 2, &o, &err) < 0);
	assert_int_equal(err->http_status, 400);
	err = error_free(err);

	/* deep nesting is refused before jansson sees it */
	_cleanup_strbuf_ struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&deep, '[');
	assert_true(http_decode_json(deep.buf, deep.len, 32, &o, &err) < 0);
	err = error_free(err);

	const char *bad[] = {"[1]", "\"s\"", "{", "{\"a\":\"\\u0000\"}", "{\"a\":\"\xff\"}", ""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(http_decode_json(bad[i], strlen(bad[i]), 32, &o, &err) < 0);
		assert_int_equal(err->http_status, 400);
		err = error_free(err);
	}
}

static void test_request_basic(void **state)
{
	struct http_request *req =
	    parse_ok("GET /api2/json/access/users%40x/root%40pam?a=1&b=%2B+x "
	             "HTTP/1.1\r\nHost: h\r\nX-Thing:  v  \r\n\r\n");
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->raw_url, "/api2/json/access/users%40x/root%40pam");
	assert_string_equal(req->path, "/api2/json/access/users@x/root@pam");
	char *s = params_str(req);
	assert_string_equal(s, "{\"a\":\"1\",\"b\":\"+ x\"}");
	free(s);
	assert_string_equal(http_request_header(req, "x-thing"), "v");
	assert_string_equal(http_request_header(req, "HOST"), "h");
	assert_null(http_request_header(req, "Cookie"));
	assert_null(req->parse_error);
	http_request_free(req);

	/* '+' in the path stays */
	req = parse_ok("GET /a+b%20c HTTP/1.0\n\n");
	assert_string_equal(req->path, "/a+b c");
	http_request_free(req);
}

static void test_request_body(void **state)
{
	/* form body, query overrides */
	struct http_request *req =
	    parse_ok("POST /x?b=q HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	             "Content-Length: 14\r\n\r\na=1&b=2&net0=x");
	char *s = params_str(req);
	assert_string_equal(s, "{\"a\":\"1\",\"b\":\"q\",\"net0\":\"x\"}");
	free(s);
	assert_false(req->body_is_json);
	assert_int_equal(req->body_len, 14);
	http_request_free(req);

	/* JSON body keeps types */
	req = parse_ok("PUT /x?z=1 HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\n"
	               "Content-Length: 17\r\n\r\n{\"a\":1,\"b\":false}");
	s = params_str(req);
	assert_string_equal(s, "{\"a\":1,\"b\":false,\"z\":\"1\"}");
	free(s);
	assert_true(req->body_is_json);
	http_request_free(req);

	/* chunked body */
	req = parse_ok("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	               "4;ext=1\r\na=1&\r\n3\r\nb=2\r\n0\r\nTrailer: x\r\n\r\n");
	s = params_str(req);
	assert_string_equal(s, "{\"a\":\"1\",\"b\":\"2\"}");
	free(s);
	http_request_free(req);

	/* content on GET: 501 */
	req = parse_ok("GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\na=1");
	assert_non_null(req->parse_error);
	assert_int_equal(req->parse_error->http_status, 501);
	assert_string_equal(req->parse_error->msg, "Unexpected content for method 'GET'");
	http_request_free(req);

	/* bad form in body: 400 via parse_error */
	req = parse_ok("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\na=%zz");
	assert_int_equal(req->parse_error->http_status, 400);
	assert_int_equal(json_object_size(req->params), 0);
	http_request_free(req);

	/* bad JSON body */
	req = parse_ok("POST /x HTTP/1.1\r\nContent-Type: application/json\r\n"
	               "Content-Length: 3\r\n\r\n[1]");
	assert_int_equal(req->parse_error->http_status, 400);
	http_request_free(req);

	/* bad escape in the path */
	req = parse_ok("GET /a%zz HTTP/1.1\r\n\r\n");
	assert_int_equal(req->parse_error->http_status, 400);
	assert_string_equal(req->path, "/a%zz");
	http_request_free(req);

	/* too large: 413, the body is not consumed */
	struct http_limits lim = {.max_body_bytes = 4};
	const char *big = "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
	size_t used;
	struct error *err = NULL;
	assert_int_equal(http_request_parse(big, strlen(big), &lim, &req, &used, &err), 0);
	assert_int_equal(req->parse_error->http_status, 413);
	assert_int_equal(used, strlen(big));
	http_request_free(req);
	const char *bigch = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
	                    "3\r\nabc\r\n0\r\n\r\n";
	assert_int_equal(http_request_parse(bigch, strlen(bigch), &lim, &req, &used, &err), 0);
	assert_int_equal(req->parse_error->http_status, 413);
	http_request_free(req);
	assert_null(err);
}

static void test_request_incomplete(void **state)
{
	assert_int_equal(parse_fail("GET / HTTP/1.1\r\nHost: x\r\n", 25, NULL), 0);
	const char *r = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
	assert_int_equal(parse_fail(r, strlen(r), NULL), 0);
	r = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
	assert_int_equal(parse_fail(r, strlen(r), NULL), 0);
}

static void test_request_bad(void **state)
{
	const char *bad[] = {
	    "GET\r\n\r\n",
	    "GET / HTTP/1.1 x\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / http/1.1\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET x HTTP/1.1\r\n\r\n",
	    "GET http://h/ HTTP/1.1\r\n\r\n",
	    "G(T / HTTP/1.1\r\n\r\n",
	    "GET /\x7f HTTP/1.1\r\n\r\n",
	    "GET /\xc3\xa4 HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
	    "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
	    "GET / HTTP/1.1\r\nName : space\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	    "GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nab",
	    "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int st = parse_fail(bad[i], strlen(bad[i]), NULL);
		if (st != 400)
			fail_msg("case %zu: status %d", i, st);
	}
	const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
	assert_int_equal(parse_fail(nul, sizeof(nul) - 1, NULL), 400);
	const char *gz = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
	assert_int_equal(parse_fail(gz, strlen(gz), NULL), 501);

	/* equal duplicates are fine */
	struct http_request *req =
	    parse_ok("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1, 1\r\n\r\na");
	http_request_free(req);
}

static void test_request_limits(void **state)
{
	struct http_limits lim = {.max_header_bytes = 64};
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "GET / HTTP/1.1\r\nX: ");
	for (int i = 0; i < 100; i++)
		strbuf_addch(&sb, 'a');
	strbuf_addstr(&sb, "\r\n\r\n");
	assert_int_equal(parse_fail(sb.buf, sb.len, &lim), 431);

	/* too many header lines */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		strbuf_addf(&sb, "X%d: y\r\n", i);
	strbuf_addstr(&sb, "\r\n");
	assert_int_equal(parse_fail(sb.buf, sb.len, NULL), 431);

	/* an endless head without its empty line */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "GET / HTTP/1.1\r\n");
	while (sb.len < HTTP_MAX_REQUEST_LINE + 64 + 16)
		strbuf_addstr(&sb, "X: y\r\n");
	assert_int_equal(parse_fail(sb.buf, sb.len, &lim), 431);

	/* request line too long */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "GET /");
	for (int i = 0; i < HTTP_MAX_REQUEST_LINE; i++)
		strbuf_addch(&sb, 'a');
	strbuf_addstr(&sb, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse_fail(sb.buf, sb.len, NULL), 414);

	/* too many parameters */
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "GET /?");
	for (int i = 0; i < 20; i++)
		strbuf_addf(&sb, "k%d=v&", i);
	strbuf_addstr(&sb, " HTTP/1.1\r\n\r\n");
	struct http_limits lp = {.max_params = 10};
	struct http_request *req = NULL;
	size_t used;
	struct error *err = NULL;
	assert_int_equal(http_request_parse(sb.buf, sb.len, &lp, &req, &used, &err), 0);
	assert_int_equal(req->parse_error->http_status, 400);
	http_request_free(req);
}

static void test_head_info(void **state)
{
	struct {
		const char *head;
		bool keep_alive, expect;
		enum http_body_kind kind;
	} cases[] = {
	    {"GET / HTTP/1.1\r\n\r\n", true, false, HTTP_BODY_NONE},
	    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, false, HTTP_BODY_NONE},
	    {"GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", false, false, HTTP_BODY_NONE},
	    {"GET / HTTP/1.0\r\n\r\n", false, false, HTTP_BODY_NONE},
	    {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, false, HTTP_BODY_NONE},
	    {"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", true, true,
	     HTTP_BODY_LENGTH},
	    {"POST / HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n", true, false,
	     HTTP_BODY_NONE},
	    {"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", false, false,
	     HTTP_BODY_LENGTH},
	    {"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", true, false,
	     HTTP_BODY_CHUNKED},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *h = cases[i].head;
		assert_int_equal(http_head_length(h, strlen(h)), strlen(h));
		struct http_request *req = NULL;
		struct http_head_info info;
		struct error *err = NULL;
		assert_int_equal(http_parse_head(h, strlen(h), NULL, &req, &info, &err), 0);
		assert_int_equal(info.keep_alive, cases[i].keep_alive);
		assert_int_equal(info.expect_continue, cases[i].expect);
		assert_int_equal(info.body_kind, cases[i].kind);
		http_request_free(req);
	}
	assert_int_equal(http_head_length("GET / HTTP/1.1\r\n\r", 17), 0);
	assert_int_equal(http_head_length("GET / HTTP/1.1\n\nxyz", 19), 16);
	assert_int_equal(http_skip_empty_lines("\r\n\n\r\nGET", 8), 5);
}

static void test_chunked_split(void **state)
{
	/* feeding byte by byte gives the same result */
	const char *body =
	    "5\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\nNEXT";
	struct http_chunked ch = {0};
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	size_t i = 0;
	int r = 0;
	while (i < strlen(body) && r == 0) {
		size_t used = 0;
		r = http_chunked_feed(&ch, body + i, 1, &out, 1000, &used);
		i += used;
	}
	assert_int_equal(r, 1);
	assert_string_equal(body + i, "NEXT");
	assert_string_equal(out.buf, "helloabcdefghijklmnopqrstuvwxyz");

	struct http_chunked c2 = {0};
	_cleanup_strbuf_ struct strbuf o2 = STRBUF_INIT;
	size_t used;
	assert_int_equal(http_chunked_feed(&c2, "ffffffffffffffff\r\n", 18, &o2, 1000, &used),
	                 -EFBIG);
}

static void test_cookie(void **state)
{
	struct http_request *req =
	    parse_ok("GET / HTTP/1.1\r\nCookie: a=1; PVEAuthCookie=PVE%3Aroot%40pam%3A+x; "
	             "q=\"v\"\r\nCookie: late=2\r\n\r\n");
	assert_string_equal(http_request_cookie(req, "PVEAuthCookie"), "PVE:root@pam:+x");
	assert_string_equal(http_request_cookie(req, "PVEAuthCookie"), "PVE:root@pam:+x");
	assert_string_equal(http_request_cookie(req, "a"), "1");
	assert_string_equal(http_request_cookie(req, "q"), "v");
	assert_string_equal(http_request_cookie(req, "late"), "2");
	assert_null(http_request_cookie(req, "PVEAuth"));
	assert_null(http_request_cookie(req, "nope"));
	http_request_free(req);
}

static void test_reason(void **state)
{
	struct {
		const char *in;
		int status;
		const char *out;
	} cases[] = {
	    {NULL, 200, "OK"},
	    {NULL, 501, "Not Implemented"},
	    {NULL, 799, "Unknown"},
	    {"unable to find configuration file for VM 100", 500,
	     "unable to find configuration file for VM 100"},
	    {"first line\nsecond line", 500, "first line"},
	    {"first\r\nHTTP/1.1 200 OK", 500, "first"},
	    {"tab\there\x01x\x7f", 400, "tab here x"},
	    {"  padded  ", 400, "padded"},
	    {"\nonly later", 403, "Forbidden"},
	    {"", 401, "Unauthorized"},
	    {"caf\xc3\xa9", 500, "caf\xc3\xa9"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *r = http_reason_sanitize(cases[i].in, cases[i].status);
		assert_string_equal(r, cases[i].out);
		free(r);
	}
	/* long reasons are cut on a character boundary */
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	strbuf_addch(&sb, 'x');
	for (int i = 0; i < HTTP_MAX_REASON; i++)
		strbuf_addstr(&sb, "\xc3\xa9");
	char *r = http_reason_sanitize(sb.buf, 500);
	assert_true(strlen(r) <= HTTP_MAX_REASON);
	assert_true(http_utf8_valid(r, strlen(r)));
	free(r);
}

static void test_response_helpers(void **state)
{
	struct http_response resp = {0};
	http_response_set_body(&resp, 200, "text/plain", xstrdup("hello"), 5);
	http_response_set_body(&resp, 201, "text/plain", xstrdup("bye"), 3);
	assert_int_equal(resp.status, 201);
	assert_int_equal(resp.body_len, 3);
	for (int i = 0; i < 10; i++)
		http_response_add_header(&resp, "X-N%d: %d", i, i);
	assert_int_equal(resp.n_headers, 8);
	assert_string_equal(resp.headers[7], "X-N7: 7");
	resp.reason = xstrdup("r");
	resp.log_user = xstrdup("root@pam");
	http_response_release(&resp);
	assert_null(resp.body);
	assert_int_equal(resp.n_headers, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unescape),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_form),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_request_basic),
	    cmocka_unit_test(test_request_body),
	    cmocka_unit_test(test_request_incomplete),
	    cmocka_unit_test(test_request_bad),
	    cmocka_unit_test(test_request_limits),
	    cmocka_unit_test(test_head_info),
	    cmocka_unit_test(test_chunked_split),
	    cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_reason),
	    cmocka_unit_test(test_response_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
