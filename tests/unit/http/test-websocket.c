/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* WebSocket (RFC 6455): handshake check, frame decoder fed whole and split
 * anywhere, the limits and protocol errors, and the encoder round trip. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "error.h"
#include "http-websocket.h"
#include "http.h"
#include "strbuf.h"

/* Events as text: "T(data)" "B(hex)" pieces with "|" at fin, "P(x)" ping,
 * "O(x)" pong, "C(code,reason)". */
/* The log, and whether a message is under way (its letter is logged once,
 * however its pieces fall). */
struct rec {
	struct strbuf log;
	bool mid;
};

static int on_data(void *ud, int op, const uint8_t *d, size_t n, bool fin)
{
	struct rec *r = ud;
	if (!r->mid)
		strbuf_addch(&r->log, op == WS_OP_TEXT ? 'T' : 'B');
	r->mid = !fin;
	strbuf_add(&r->log, (const char *)d, n);
	if (fin)
		strbuf_addch(&r->log, '|');
	return 0;
}

static int on_control(void *ud, int op, const uint8_t *d, size_t n)
{
	struct strbuf *log = &((struct rec *)ud)->log;
	strbuf_addch(log, op == WS_OP_PING ? 'P' : 'O');
	strbuf_addch(log, '(');
	strbuf_add(log, (const char *)d, n);
	strbuf_addch(log, ')');
	return 0;
}

static int on_close(void *ud, unsigned code, const char *reason)
{
	strbuf_addf(&((struct rec *)ud)->log, "C(%u,%s)", code, reason);
	return 0;
}

static const struct ws_decoder_callbacks cbs = {on_data, on_control, on_close};

/* Feeds in with a piece size step; returns the last result and the log,
 * and the close code in *code. */
static int run(const void *in, size_t len, size_t step, bool mask, size_t max, char **ret_log,
               unsigned *code)
{
	struct rec rc = {STRBUF_INIT, false};
	struct ws_decoder *d = ws_decoder_new(&cbs, &rc, mask, max);
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i += step)
		r = ws_decoder_feed(d, (const uint8_t *)in + i, len - i < step ? len - i : step);
	if (code)
		*code = ws_decoder_close_code(d);
	ws_decoder_free(d);
	strbuf_addch(&rc.log, '\0');
	*ret_log = strbuf_detach(&rc.log, NULL);
	return r;
}

/* Runs whole and at every split size; all must agree. */
static int run_all(const void *in, size_t len, bool mask, size_t max, const char *expect,
                   unsigned *code)
{
	char *log;
	int r = run(in, len, len ? len : 1, mask, max, &log, code);
	assert_string_equal(log, expect);
	free(log);
	for (size_t step = 1; step < 20 && step < len; step++) {
		unsigned c2;
		int r2 = run(in, len, step, mask, max, &log, &c2);
		assert_int_equal(r2, r);
		/* on a failure, a split input may have delivered more of the
		 * valid prefix before the bad byte (the decoder streams) */
		if (r < 0)
			assert_memory_equal(log, expect, strlen(expect));
		else
			assert_string_equal(log, expect);
		if (code)
			assert_int_equal(c2, *code);
		free(log);
	}
	return r;
}

/* Appends a client frame (masked with a fixed key) to buf. */
static void frame(struct strbuf *buf, int op, bool fin, const char *data, size_t n, bool mask)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t h[WS_MAX_HEADER];
	size_t hl = ws_frame_header(h, op, fin, n, mask ? key : NULL);
	strbuf_add(buf, (const char *)h, hl);
	uint8_t *p = malloc(n ? n : 1);
	memcpy(p, data, n);
	if (mask)
		ws_mask(p, n, key, 0);
	strbuf_add(buf, (const char *)p, n);
	free(p);
}

static void test_accept_key(void **state)
{
	(void)state;
	char acc[29];
	/* RFC 6455 section 1.3 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc), 0);
	assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", acc), -EINVAL);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZR==", acc), -EINVAL);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", acc), -EINVAL);
	assert_int_equal(ws_accept_key("", acc), -EINVAL);
}

/* A client's key (qm terminal) is one the server accepts, fresh each time. */
static void test_client_key(void **state)
{
	(void)state;
	char k1[25], k2[25], acc[29];
	assert_int_equal(ws_client_key(k1), 0);
	assert_int_equal(ws_client_key(k2), 0);
	assert_int_equal(strlen(k1), 24);
	assert_int_equal(ws_accept_key(k1, acc), 0);
	assert_string_not_equal(k1, k2);
}

static struct http_request *upgrade_req(const char *method, const char *ver, const char *proto)
{
	struct http_request *req = http_request_new_forwarded(method, "/ws");
	http_request_add_header(req, "Upgrade", "WebSocket");
	http_request_add_header(req, "Connection", "keep-alive, Upgrade");
	if (ver)
		http_request_add_header(req, "Sec-WebSocket-Version", ver);
	http_request_add_header(req, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
	if (proto)
		http_request_add_header(req, "Sec-WebSocket-Protocol", proto);
	return req;
}

static void test_upgrade(void **state)
{
	(void)state;
	struct ws_upgrade u;
	struct error *err = NULL;
	struct http_request *req = upgrade_req("GET", "13", "base64, binary");
	assert_int_equal(ws_check_upgrade(req, &u, &err), 0);
	assert_string_equal(u.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_string_equal(u.protocol, "binary");
	http_request_free(req);

	req = upgrade_req("GET", "13", NULL);
	assert_int_equal(ws_check_upgrade(req, &u, &err), 0);
	assert_null(u.protocol);
	http_request_free(req);

	req = upgrade_req("GET", "8", NULL);
	assert_int_equal(ws_check_upgrade(req, &u, &err), -EINVAL);
	assert_int_equal(err->http_status, 426);
	error_free(err);
	err = NULL;
	http_request_free(req);

	req = upgrade_req("POST", "13", NULL);
	assert_int_equal(ws_check_upgrade(req, &u, &err), -EINVAL);
	assert_int_equal(err->http_status, 405);
	error_free(err);
	err = NULL;
	http_request_free(req);

	req = http_request_new_forwarded("GET", "/ws");
	http_request_add_header(req, "Upgrade", "h2c");
	assert_int_equal(ws_check_upgrade(req, &u, &err), -EINVAL);
	assert_int_equal(err->http_status, 400);
	error_free(err);
	http_request_free(req);
}

static void test_rfc_examples(void **state)
{
	(void)state;
	/* RFC 6455 5.7: a masked "Hello" from a client, an unmasked one from a
	 * server, and "Hel" "lo" fragmented */
	static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	                                 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	static const uint8_t plain[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
	static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	assert_int_equal(run_all(masked, sizeof(masked), true, 0, "THello|", NULL), 0);
	assert_int_equal(run_all(plain, sizeof(plain), false, 0, "THello|", NULL), 0);
	assert_int_equal(run_all(frag, sizeof(frag), false, 0, "THello|", NULL), 0);
	assert_int_equal(run_all(ping, sizeof(ping), false, 0, "P(Hello)", NULL), 0);
	/* a client must mask, a server must not */
	unsigned code;
	assert_int_equal(run_all(plain, sizeof(plain), true, 0, "", &code), -EBADMSG);
	assert_int_equal(code, WS_CLOSE_PROTOCOL);
	assert_int_equal(run_all(masked, sizeof(masked), false, 0, "", &code), -EBADMSG);
}

static void test_fragments_and_control(void **state)
{
	(void)state;
	struct strbuf b = STRBUF_INIT;
	frame(&b, WS_OP_BINARY, false, "ab", 2, true);
	frame(&b, WS_OP_PING, true, "p", 1, true);
	frame(&b, WS_OP_CONT, false, "", 0, true);
	frame(&b, WS_OP_PONG, true, "", 0, true);
	frame(&b, WS_OP_CONT, true, "cd", 2, true);
	frame(&b, WS_OP_TEXT, true, "", 0, true);
	frame(&b, WS_OP_CLOSE, true,
	      "\x03\xe8"
	      "bye",
	      5, true);
	frame(&b, WS_OP_TEXT, true, "ignored", 7, true);
	assert_int_equal(run_all(b.buf, b.len, true, 0, "BabP(p)O()cd|T|C(1000,bye)", NULL), 1);
	strbuf_release(&b);

	/* a close without a code */
	frame(&b, WS_OP_CLOSE, true, "", 0, true);
	assert_int_equal(run_all(b.buf, b.len, true, 0, "C(1005,)", NULL), 1);
	strbuf_release(&b);

	/* lengths in 16 and 64 bits */
	char *big = malloc(70000);
	memset(big, 'x', 70000);
	frame(&b, WS_OP_BINARY, true, big, 300, true);
	frame(&b, WS_OP_BINARY, true, big, 70000, true);
	char *log;
	assert_int_equal(run(b.buf, b.len, b.len, true, 0, &log, NULL), 0);
	assert_int_equal(strlen(log), 1 + 300 + 1 + 1 + 70000 + 1);
	free(log);
	strbuf_release(&b);
	free(big);
}

/* One violation each, with its close code. */
static void test_violations(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		unsigned code;
		int r;
		const char *log;
	} cases[] = {
	    {"\xc1\x80\0\0\0\0", 6, WS_CLOSE_PROTOCOL, -EBADMSG, ""},       /* RSV1 */
	    {"\x83\x80\0\0\0\0", 6, WS_CLOSE_PROTOCOL, -EBADMSG, ""},       /* opcode 3 */
	    {"\x8b\x80\0\0\0\0", 6, WS_CLOSE_PROTOCOL, -EBADMSG, ""},       /* opcode 11 */
	    {"\x80\x80\0\0\0\0", 6, WS_CLOSE_PROTOCOL, -EBADMSG, ""},       /* lone CONT */
	    {"\x09\x80\0\0\0\0", 6, WS_CLOSE_PROTOCOL, -EBADMSG, ""},       /* ping !fin */
	    {"\x89\xfe\0\x7e\0\0\0\0", 8, WS_CLOSE_PROTOCOL, -EBADMSG, ""}, /* ping 126 */
	    {"\x01\x80\0\0\0\0\x81\x80\0\0\0\0", 12, WS_CLOSE_PROTOCOL, -EBADMSG, ""}, /* nested */
	    {"\x82\xff\x80\0\0\0\0\0\0\0\0\0\0\0", 14, WS_CLOSE_PROTOCOL, -EBADMSG, ""}, /* 2^63 */
	    {"\x82\xfe\x01\x00\0\0\0\0", 8, WS_CLOSE_TOO_BIG, -EMSGSIZE, ""}, /* 256 > 100 */
	    {"\x02\xc0\0\0\0\0"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "\x80\xe0\0\0\0\0",
	     76, WS_CLOSE_TOO_BIG, -EMSGSIZE,
	     "Baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	    {"\x81\x82\0\0\0\0\xc0\xaf", 8, WS_CLOSE_BAD_DATA, -EBADMSG, ""},     /* overlong */
	    {"\x81\x83\0\0\0\0\xed\xa0\x80", 9, WS_CLOSE_BAD_DATA, -EBADMSG, ""}, /* surrogate */
	    {"\x81\x81\0\0\0\0\xc3", 7, WS_CLOSE_BAD_DATA, -EBADMSG, ""},         /* cut at fin */
	    {"\x88\x81\0\0\0\0\x03", 7, WS_CLOSE_PROTOCOL, -EBADMSG, ""},         /* close 1 byte */
	    {"\x88\x82\0\0\0\0\x03\xed", 8, WS_CLOSE_PROTOCOL, -EBADMSG, ""},     /* close 1005 */
	    {"\x88\x82\0\0\0\0\x03\xe7", 8, WS_CLOSE_PROTOCOL, -EBADMSG, ""},     /* close 999 */
	    {"\x88\x83\0\0\0\0\x03\xe8\xff", 9, WS_CLOSE_BAD_DATA, -EBADMSG, ""}, /* bad reason */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned code;
		print_message("case %zu\n", i);
		int r = run_all(cases[i].in, cases[i].len, true, 100, cases[i].log, &code);
		assert_int_equal(r, cases[i].r);
		assert_int_equal(code, cases[i].code);
	}
}

static int stop_data(void *ud, int op, const uint8_t *d, size_t n, bool fin)
{
	(void)ud, (void)op, (void)d, (void)n, (void)fin;
	return -EPIPE;
}

static void test_callback_error(void **state)
{
	(void)state;
	static const struct ws_decoder_callbacks c = {stop_data, NULL, NULL};
	static const uint8_t plain[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
	struct ws_decoder *d = ws_decoder_new(&c, NULL, false, 0);
	assert_int_equal(ws_decoder_feed(d, plain, sizeof(plain)), -EPIPE);
	assert_int_equal(ws_decoder_feed(d, plain, sizeof(plain)), -EPIPE);
	assert_int_equal(ws_decoder_close_code(d), WS_CLOSE_INTERNAL);
	ws_decoder_free(d);
}

static void test_encoder(void **state)
{
	(void)state;
	uint8_t h[WS_MAX_HEADER];
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 125, NULL), 2);
	assert_memory_equal(h, "\x82\x7d", 2);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 126, NULL), 4);
	assert_memory_equal(h, "\x82\x7e\x00\x7e", 4);
	assert_int_equal(ws_frame_header(h, WS_OP_TEXT, false, 65536, NULL), 10);
	assert_memory_equal(h, "\x01\x7f\0\0\0\0\0\x01\0\0", 10);
	assert_int_equal(ws_frame_header(h, WS_OP_PING, true, 0, (const uint8_t *)"abcd"), 6);
	assert_memory_equal(h,
	                    "\x89\x80"
	                    "abcd",
	                    6);

	uint8_t c[2 + WS_MAX_CONTROL];
	assert_int_equal(ws_close_frame(c, 1000, "ok"), 6);
	assert_memory_equal(c, "\x88\x04\x03\xe8ok", 6);
	/* a long reason is cut to the control limit on a character boundary */
	char reason[200];
	memset(reason, 'a', sizeof(reason));
	memcpy(reason + 122, "\xc3\xa9", 2);
	reason[199] = '\0';
	size_t n = ws_close_frame(c, 1011, reason);
	assert_int_equal(n, 2 + 2 + 122);
	char *log;
	/* and it decodes (as a server frame) */
	assert_int_equal(run(c, n, n, false, 0, &log, NULL), 1);
	free(log);
	assert_true(ws_close_code_valid(4000));
	assert_false(ws_close_code_valid(1006));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_client_key),
	    cmocka_unit_test(test_upgrade),
	    cmocka_unit_test(test_rfc_examples),
	    cmocka_unit_test(test_fragments_and_control),
	    cmocka_unit_test(test_violations),
	    cmocka_unit_test(test_callback_error),
	    cmocka_unit_test(test_encoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
