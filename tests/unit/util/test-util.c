/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* util: errors, strbuf, atomic files and locks, /proc parsers. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "strv.h"
#include "sysinfo.h"
#include "xalloc.h"

static void test_error(void **state)
{
	struct error *e = NULL;
	assert_int_equal(error_set(&e, -ENOENT, 500, "no such\nthing '%s'", "x"), -ENOENT);
	assert_string_equal(e->msg, "no such thing 'x'"); /* one line: it is a reason phrase */
	assert_int_equal(e->http_status, 500);
	/* the first error wins */
	error_set(&e, -EINVAL, 400, "second");
	assert_string_equal(e->msg, "no such thing 'x'");
	error_prefix(e, "ctx");
	assert_string_equal(e->msg, "ctx: no such thing 'x'");
	e = error_free(e);

	error_param(&e, "a", "bad %d", 1);
	error_param(&e, "b", "worse");
	error_param(&e, "a", "ignored: first reason per param wins");
	assert_int_equal(e->http_status, 400);
	assert_string_equal(e->msg, "Parameter verification failed.");
	assert_string_equal(json_string_value(json_object_get(e->params, "a")), "bad 1");
	assert_string_equal(json_string_value(json_object_get(e->params, "b")), "worse");
	error_free(e);
	assert_int_equal(error_set(NULL, -EIO, 500, "nobody listens"), -EIO);
}

static void test_error_propagate(void **state)
{
	struct error *e = NULL, *mine = NULL;

	/* moved into an empty err */
	error_set(&e, -ENOENT, 404, "gone");
	error_propagate(&mine, e);
	assert_ptr_equal(mine, e);
	assert_int_equal(mine->code, -ENOENT);
	assert_int_equal(mine->http_status, 404);
	/* an error already there wins; the new one is freed (ASan checks) */
	e = NULL;
	error_param(&e, "x", "bad");
	error_propagate(&mine, e);
	assert_string_equal(mine->msg, "gone");
	/* nobody listens: freed */
	e = NULL;
	error_set(&e, -EIO, 500, "dropped");
	error_propagate(NULL, e);
	/* nothing to hand over: err untouched */
	error_propagate(&mine, NULL);
	assert_string_equal(mine->msg, "gone");
	error_free(mine);
}

static void test_strv(void **state)
{
	char **v = NULL;
	assert_int_equal(strv_length(v), 0);
	assert_false(strv_contains(v, "a"));
	assert_null(strv_copy(v));
	strv_extend(&v, "a");
	strv_push(&v, xstrdup("b"));
	assert_int_equal(strv_length(v), 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	assert_true(strv_contains(v, "b"));
	assert_false(strv_contains(v, "c"));
	_cleanup_strv_free_ char **c = strv_copy(v);
	v = strv_free(v);
	assert_int_equal(strv_length(c), 2);
	assert_string_equal(c[1], "b");

	/* PVE's split_list: any run of separators, empty items dropped */
	_cleanup_strv_free_ char **s = strv_split(" a,b;;c \t\nd,", ",; \t\r\n");
	assert_int_equal(strv_length(s), 4);
	assert_string_equal(s[0], "a");
	assert_string_equal(s[3], "d");
	_cleanup_strv_free_ char **empty = strv_split(NULL, ",");
	assert_non_null(empty);
	assert_null(empty[0]);
	_cleanup_strv_free_ char **seps = strv_split(",,,", ",");
	assert_null(seps[0]);
	/* many items: one pass, grows geometrically */
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 5000; i++)
		strbuf_addf(&sb, "%d,", i);
	_cleanup_strv_free_ char **many = strv_split(sb.buf, ",");
	strbuf_release(&sb);
	assert_int_equal(strv_length(many), 5000);
	assert_string_equal(many[4999], "4999");
}

static void test_strbuf(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	assert_string_equal(sb.buf, "");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&sb, "%d,", i);
	assert_true(sb.len > 3000);
	assert_int_equal(sb.buf[sb.len], '\0');
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "ab");
	strbuf_addch(&sb, 'c');
	size_t len;
	char *s = strbuf_detach(&sb, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	free(s);
	assert_string_equal(sb.buf, "");
}

static void test_files(void **state)
{
	char dir[] = "/tmp/ctvm-util-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *deep = path_join(dir, "a/b/c");
	assert_int_equal(mkdir_p(deep, 0700), 0);
	_cleanup_free_ char *f = path_join(deep, "secret.cfg");
	assert_int_equal(write_file_atomic(f, "x:y:\n", 5, 0600, NULL), 0);
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char *data;
	size_t len;
	assert_int_equal(read_file(f, 100, &data, &len, NULL), 0);
	assert_string_equal(data, "x:y:\n");
	free(data);
	struct error *e = NULL;
	assert_int_equal(read_file(f, 2, &data, &len, &e), -EFBIG);
	e = error_free(e);
	_cleanup_free_ char *missing = path_join(dir, "nope");
	assert_int_equal(read_file(missing, 10, &data, &len, &e), -ENOENT);
	e = error_free(e);

	int l1 = lock_file(f, 0, NULL);
	assert_true(l1 >= 0);
	assert_int_equal(lock_file(f, 50, &e), -ETIMEDOUT);
	e = error_free(e);
	unlock_file(l1);
	int l2 = lock_file(f, 0, NULL);
	assert_true(l2 >= 0);
	unlock_file(l2);

	_cleanup_free_ char *j = path_join("/a//", "//b");
	assert_string_equal(j, "/a/b");
}

static void test_sysinfo(void **state)
{
	struct sysinfo_mem m;
	assert_int_equal(sysinfo_parse_meminfo("MemTotal:       1000 kB\nMemFree:   200 kB\n"
	                                       "MemAvailable:    600 kB\nSwapTotal: 50 kB\n"
	                                       "SwapFree: 10 kB\n",
	                                       &m),
	                 0);
	assert_int_equal(m.total, 1000 * 1024);
	assert_int_equal(m.available, 600 * 1024);
	assert_int_equal(m.swap_free, 10 * 1024);
	assert_int_equal(sysinfo_parse_meminfo("garbage", &m), -EINVAL);
	/* the ZFS ARC is a cache: not "used" by guests and services */
	uint64_t arc = 0;
	assert_int_equal(sysinfo_parse_arcstats("13 1 0x01 123 33456 1 2\n"
	                                        "name                            type data\n"
	                                        "hits                            4    1000\n"
	                                        "size                            4    262144\n"
	                                        "c                               4    524288\n",
	                                        &arc),
	                 0);
	assert_int_equal(arc, 262144);
	assert_int_equal(sysinfo_parse_arcstats("hits 4 1\n", &arc), -ENOENT);
	m = (struct sysinfo_mem){.total = 1000, .available = 600};
	assert_int_equal(sysinfo_mem_used(&m), 400);
	m.arc = 100;
	assert_int_equal(sysinfo_mem_used(&m), 300);
	m.arc = 900; /* never below 0 */
	assert_int_equal(sysinfo_mem_used(&m), 0);

	struct sysinfo_cpu_times t;
	assert_int_equal(sysinfo_parse_stat_cpu("cpu  10 0 5 80 5 0 0 0 0 0\ncpu0 ...", &t), 0);
	assert_int_equal(t.busy, 15);
	assert_int_equal(t.idle, 80);
	assert_int_equal(t.total, 100);
	assert_int_equal(sysinfo_parse_stat_cpu("intr 1 2 3", &t), -EINVAL);

	struct sysinfo_cpuinfo c;
	const char *ci = "processor\t: 0\nmodel name\t: Test CPU\nphysical id\t: 0\n"
	                 "cpu cores\t: 2\ncpu MHz\t\t: 2000.000\nflags\t\t: fpu vmx sse\n\n"
	                 "processor\t: 1\nmodel name\t: Test CPU\nphysical id\t: 0\n"
	                 "cpu cores\t: 2\n\n";
	assert_int_equal(sysinfo_parse_cpuinfo(ci, &c), 0);
	assert_int_equal(c.cpus, 2);
	assert_int_equal(c.sockets, 1);
	assert_int_equal(c.cores, 2);
	assert_string_equal(c.model, "Test CPU");
	assert_string_equal(c.mhz, "2000.000");
	assert_true(c.hvm);

	char load[3][16];
	assert_int_equal(sysinfo_parse_loadavg("0.10 0.05 0.01 1/123 4567\n", load), 0);
	assert_string_equal(load[0], "0.10");
	assert_string_equal(load[2], "0.01");

	uint64_t ps;
	assert_int_equal(sysinfo_read_pstart((int)getpid(), &ps), 0);
	assert_true(ps > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error), cmocka_unit_test(test_error_propagate),
	    cmocka_unit_test(test_strv),  cmocka_unit_test(test_strbuf),
	    cmocka_unit_test(test_files), cmocka_unit_test(test_sysinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
