/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Proxmox's terminal framing, fed whole and split at every size. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http-termframe.h"
#include "strbuf.h"

/* Events as text: "A(line)" "D(bytes)" "R(c,r)" "P"; data pieces merged. */
struct rec {
	struct strbuf log;
	bool in_data;
};

static int on_auth(void *ud, const char *line)
{
	struct rec *r = ud;
	strbuf_addf(&r->log, "A(%s)", line);
	r->in_data = false;
	return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
	struct rec *r = ud;
	assert_true(n > 0);
	if (r->in_data) {
		r->log.len--; /* reopen the last D(...) */
		r->log.buf[r->log.len] = '\0';
	} else {
		strbuf_addstr(&r->log, "D(");
	}
	strbuf_add(&r->log, d, n);
	strbuf_addch(&r->log, ')');
	r->in_data = true;
	return 0;
}

static int on_resize(void *ud, unsigned c, unsigned rows)
{
	struct rec *r = ud;
	strbuf_addf(&r->log, "R(%u,%u)", c, rows);
	r->in_data = false;
	return 0;
}

static int on_ping(void *ud)
{
	struct rec *r = ud;
	strbuf_addstr(&r->log, "P");
	r->in_data = false;
	return 0;
}

static const struct termframe_callbacks cbs = {on_auth, on_data, on_resize, on_ping};

static void check(const char *in, int want_r, const char *want)
{
	size_t len = strlen(in);
	for (size_t step = 1; step <= len; step++) {
		struct rec r = {STRBUF_INIT, false};
		struct termframe *t = termframe_new(&cbs, &r);
		int res = 0;
		for (size_t i = 0; i < len && res == 0; i += step)
			res = termframe_feed(t, in + i, len - i < step ? len - i : step);
		termframe_free(t);
		strbuf_addch(&r.log, '\0');
		assert_int_equal(res, want_r);
		if (want_r == 0)
			assert_string_equal(r.log.buf, want);
		else
			assert_memory_equal(r.log.buf, want, strlen(want));
		strbuf_release(&r.log);
	}
}

static void test_frames(void **state)
{
	(void)state;
	check("root@pam:PVEVNC:abc\n0:3:ls\n1:80:24:20:0:0:5:a:b:c", 0,
	      "A(root@pam:PVEVNC:abc)D(ls\n)R(80,24)PD(a:b:c)");
	/* a number split anywhere, a message whose data has every byte */
	check("u:t\n0:12:\x01\x02"
	      "0:3:x\n:1\xff\n1:1:1:",
	      0,
	      "A(u:t)D(\x01\x02"
	      "0:3:x\n:1\xff\n)R(1,1)");
	check("\n", 0, "A()");
}

static void test_bad(void **state)
{
	(void)state;
	check("u:t\n3", -EBADMSG, "A(u:t)");
	check("u:t\n0x", -EBADMSG, "A(u:t)");
	check("u:t\n0::", -EBADMSG, "A(u:t)");
	check("u:t\n0:1a", -EBADMSG, "A(u:t)");
	check("u:t\n0:2000000:", -EBADMSG, "A(u:t)");
	check("u:t\n1:0:24:", -EBADMSG, "A(u:t)");
	check("u:t\n1:80:5000:", -EBADMSG, "A(u:t)");
	check("u:t\n1:12345678", -EBADMSG, "A(u:t)");
	char *long_line = malloc(TERMFRAME_MAX_AUTH + 3);
	memset(long_line, 'a', TERMFRAME_MAX_AUTH + 1);
	strcpy(long_line + TERMFRAME_MAX_AUTH + 1, "\n");
	struct termframe *t = termframe_new(&cbs, NULL);
	assert_int_equal(termframe_feed(t, long_line, strlen(long_line)), -EBADMSG);
	assert_int_equal(termframe_feed(t, "2", 1), -EBADMSG);
	termframe_free(t);
	free(long_line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
