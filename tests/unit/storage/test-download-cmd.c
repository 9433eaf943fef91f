/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * download-url's curl command (golden: tests/data/golden/storage/
 * download-<case>.argv), the config it reads on stdin, and the pure checks
 * around it: credentials out of logs, curl's result line, and which
 * redirect targets may be fetched.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "download-cmd.h"
#include "error.h"
#include "golden.h"
#include "strbuf.h"
#include "xalloc.h"

static void test_build(void **state)
{
	struct cmd c;
	_cleanup_strbuf_ struct strbuf config = STRBUF_INIT;
	struct download_spec d = {.url = "https://user:pw@mirror.example/{a,b}.iso",
	                          .max_size = 123456789};

	download_build_cmd(&c, &config, &d);
	/* the URL (and its credentials) only in the config, never in argv */
	_cleanup_free_ char *line = cmd_to_string(&c);
	assert_null(strstr(line, "pw"));
	assert_null(strstr(line, "mirror"));
	assert_string_equal(c.argv[1], "-q"); /* must come first */
	golden_check_cmd("storage/download.argv", &c);
	assert_string_equal(config.buf, "url = \"https://user:pw@mirror.example/{a,b}.iso\"\n");

	strbuf_reset(&config);
	d = (struct download_spec){.url = "http://h/a\"b\\c",
	                           .resolve = "h:80:192.0.2.7",
	                           .insecure = true,
	                           .max_size = 1};
	download_build_cmd(&c, &config, &d);
	golden_check_cmd("storage/download-pinned-insecure.argv", &c);
	assert_string_equal(config.buf, "url = \"http://h/a\\\"b\\\\c\"\n");
}

static void test_redact(void **state)
{
	static const char *const cases[][2] = {
	    {"http://user:pw@host/x.iso", "http://host/x.iso"},
	    {"https://u@h:8443/p?q=1", "https://h:8443/p?q=1"},
	    {"https://a@b@h/x", "https://h/x"},
	    {"http://host/x@y.iso", "http://host/x@y.iso"}, /* '@' in the path */
	    {"http://host/?u=a@b", "http://host/?u=a@b"},
	    {"http://host", "http://host"},
	    {"not a url", "not a url"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *r = download_url_redact(cases[i][0]);
		assert_string_equal(r, cases[i][1]);
	}
}

static void test_result(void **state)
{
	long code;
	char *loc;
	static const char redirect[] = "\nctvm-result 302 http://mirror/x.iso\n";
	assert_int_equal(download_parse_result(redirect, strlen(redirect), &code, &loc, NULL), 0);
	assert_int_equal(code, 302);
	assert_string_equal(loc, "http://mirror/x.iso");
	free(loc);

	static const char fail[] = "curl: (22) The requested URL returned error: 404\n"
	                           "\nctvm-result 404 \n";
	assert_int_equal(download_parse_result(fail, strlen(fail), &code, &loc, NULL), 0);
	assert_int_equal(code, 404);
	assert_null(loc);
	_cleanup_free_ char *why = download_error_line(fail, strlen(fail));
	assert_string_equal(why, "curl: (22) The requested URL returned error: 404");

	/* only a line of its own counts, and the last one */
	static const char fake[] = "x ctvm-result 302 http://a/\nctvm-result 200 \n";
	assert_int_equal(download_parse_result(fake, strlen(fake), &code, &loc, NULL), 0);
	assert_int_equal(code, 200);
	assert_null(loc);
	assert_int_equal(download_parse_result("", 0, &code, &loc, NULL), -EINVAL);
	assert_int_equal(download_parse_result("ctvm-result 30", 14, &code, &loc, NULL), -EINVAL);
	assert_null(download_error_line("ctvm-result 200 \n", 17));
}

static void test_target(void **state)
{
	struct download_target t;
	static const struct {
		const char *url, *host;
		unsigned port;
		bool literal;
	} ok[] = {
	    {"http://mirror.example/x", "mirror.example", 80, false},
	    {"HTTPS://Mirror.Example:8443/x?y#z", "Mirror.Example", 8443, false},
	    {"https://u:p@h.example", "h.example", 443, false},
	    {"http://192.0.2.1:81", "192.0.2.1", 81, true},
	    {"http://[2001:db8::1]:8080/", "2001:db8::1", 8080, true},
	    {"http://localhost/", "localhost", 80, false},
	    {"http://h.example:/", "h.example", 80, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(download_parse_target(ok[i].url, &t, NULL), 0);
		assert_string_equal(t.host, ok[i].host);
		assert_int_equal(t.port, ok[i].port);
		assert_int_equal(t.literal, ok[i].literal);
	}
	static const char *const bad[] = {
	    "ftp://h/x",                /* scheme */
	    "file:///etc/shadow",       /* scheme */
	    "http://a@b@h/",            /* two userinfos: which host? */
	    "http://h\\@evil/",         /* backslash */
	    "http://127.1/",            /* short numeric forms */
	    "http://2130706433/",       /* a number */
	    "http://0x7f000001/",       /* a hex number */
	    "http://h.0x7f/",           /* last label starts with a digit */
	    "http://h.example./",       /* trailing dot */
	    "http://[fe80::1%25eth0]/", /* zone id */
	    "http://[::1/",             /* unclosed */
	    "http:///x",                /* no host */
	    "http://h:65536/",          /* port */
	    "http://h:8x/",             /* port */
	    "http://h x/",              /* space */
	    "http://h\x01/",            /* control character */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (download_parse_target(bad[i], &t, NULL) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage a = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1)
		a4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
		a6->sin6_family = AF_INET6;
	else
		fail_msg("bad address '%s'", s);
	return a;
}

static int check(unsigned port, const char *target, const char *local)
{
	struct download_target t = {.port = port};
	struct sockaddr_storage a = addr(target), l = addr(local);
	struct error *e = NULL;
	int r = download_check_addrs(&t, &a, 1, &l, 1, 8006, &e);
	error_free(e);
	return r;
}

static void test_addrs(void **state)
{
	static const char *const always[] = {
	    "127.0.0.1", "127.1.2.3",        "0.0.0.0",        "0.1.2.3",
	    "::1",       "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::",
	};
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		if (check(80, always[i], "198.51.100.200") != -EPERM)
			fail_msg("'%s' is this host", always[i]);
	/* an address of one of this host's interfaces */
	assert_int_equal(check(80, "192.0.2.9", "192.0.2.9"), -EPERM);
	assert_int_equal(check(80, "::ffff:192.0.2.9", "192.0.2.9"), -EPERM);
	assert_int_equal(check(80, "2001:db8::9", "2001:db8::9"), -EPERM);
	assert_int_equal(check(80, "192.0.2.10", "192.0.2.9"), 0);
	assert_int_equal(check(443, "2001:db8::10", "2001:db8::9"), 0);
	assert_int_equal(check(443, "::ffff:198.51.100.1", "192.0.2.9"), 0);
	/* ctvmd's port, on any host */
	assert_int_equal(check(8006, "198.51.100.1", "192.0.2.9"), -EPERM);
	/* no address at all */
	struct download_target t = {.port = 80};
	assert_int_equal(download_check_addrs(&t, NULL, 0, NULL, 0, 8006, NULL), -EHOSTUNREACH);
}

static void test_check_redirect(void **state)
{
	char *pin = NULL;
	/* resolved through the system's resolver: localhost is this host */
	assert_int_equal(download_check_redirect("http://localhost:8080/x", 8006, &pin, NULL),
	                 -EPERM);
	assert_int_equal(download_check_redirect("http://127.0.0.1/x", 8006, &pin, NULL), -EPERM);
	assert_int_equal(download_check_redirect("http://[::1]/x", 8006, &pin, NULL), -EPERM);
	/* a literal elsewhere needs no pin */
	assert_int_equal(download_check_redirect("http://192.0.2.1/x", 8006, &pin, NULL), 0);
	assert_null(pin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build),  cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_result), cmocka_unit_test(test_target),
	    cmocka_unit_test(test_addrs),  cmocka_unit_test(test_check_redirect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
