/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "task-priv.h"
#include "task.h"

static void test_roundtrip(void **state)
{
	static const char *const ok[] = {
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2B4:0254C6F9:6712AB40:vzcreate:101:ci@pve!deploy:",
	    "UPID:n:00000001:00000000:00000000:x::u@pve:",
	    "UPID:node-1:7FFFFFFF:123456789:FFFFFFFF:vncproxy:100:root@pam:",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct upid u;
		assert_int_equal(upid_parse(ok[i], &u), 0);
		char *s = upid_format(&u);
		assert_string_equal(s, ok[i]);
		free(s);
		upid_clear(&u);
	}
}

static void test_fields(void **state)
{
	struct upid u;
	assert_int_equal(
	    upid_parse("UPID:pve1:0001A2B4:0254C6F9:6712AB40:vzcreate:101:ci@pve!deploy:", &u), 0);
	assert_string_equal(u.node, "pve1");
	assert_int_equal(u.pid, 0x1A2B4);
	assert_int_equal(u.pstart, 0x0254C6F9);
	assert_int_equal(u.starttime, 0x6712AB40);
	assert_string_equal(u.type, "vzcreate");
	assert_string_equal(u.id, "101");
	assert_string_equal(u.user, "ci@pve!deploy");

	json_t *j =
	    upid_to_json("UPID:pve1:0001A2B4:0254C6F9:6712AB40:vzcreate:101:ci@pve!deploy:", &u);
	assert_string_equal(json_string_value(json_object_get(j, "user")), "ci@pve");
	assert_string_equal(json_string_value(json_object_get(j, "tokenid")), "deploy");
	assert_true(json_is_integer(json_object_get(j, "pid")));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 0x1A2B4);
	assert_int_equal(json_integer_value(json_object_get(j, "pstart")), 0x0254C6F9);
	assert_int_equal(json_integer_value(json_object_get(j, "starttime")), 0x6712AB40);
	assert_true(json_is_string(json_object_get(j, "id")));
	json_decref(j);
	upid_clear(&u);

	/* lower-case hex is accepted; formatting is upper case */
	assert_int_equal(upid_parse("UPID:a:0001a2b3:0254c6f1:6712ab3c:t:1:u:", &u), 0);
	char *s = upid_format(&u);
	assert_string_equal(s, "UPID:a:0001A2B3:0254C6F1:6712AB3C:t:1:u:");

	/* user without token: no tokenid */
	j = upid_to_json(s, &u);
	assert_null(json_object_get(j, "tokenid"));
	json_decref(j);
	free(s);
	upid_clear(&u);
}

static void test_format_widths(void **state)
{
	struct upid u = {.node = "n",
	                 .pid = 5,
	                 .pstart = 0x100000000ULL,
	                 .starttime = 1,
	                 .type = "t",
	                 .id = NULL,
	                 .user = "root@pam"};
	char *s = upid_format(&u);
	assert_string_equal(s, "UPID:n:00000005:100000000:00000001:t::root@pam:");
	free(s);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "UPID",
	    "UPID:",
	    "upid:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    /* trailing colon required, nothing after it */
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:\n",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam::",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:x",
	    /* hex widths */
	    "UPID:pve1:001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:00001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2B3:254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2B3:00254C6F10:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:06712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:0001A2BG:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve1:+001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    /* node grammar */
	    "UPID::0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:-pve:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve-:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve_1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    "UPID:pve.lan:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    /* type and user non-empty; no '/', whitespace */
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C::100:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100::",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qm/start:100:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:1 0:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam\t:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:../x:root@pam:",
	    /* too few or many segments */
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:root@pam:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:extra:",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct upid u = {0};
		if (upid_parse(bad[i], &u) == 0)
			fail_msg("accepted '%s'", bad[i]);
	}
	struct upid u;
	assert_int_equal(upid_parse(NULL, &u), -EINVAL);
}

static void test_accepts(void **state)
{
	static const char *const good[] = {
	    "UPID:a:00000000:00000000:00000000:t::u:",
	    "UPID:a-b-c:00000000:00000000:00000000:t:x:u:",
	    "UPID:9:00000000:000000000:00000000:t:x:u@pve!tok-1:",
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:qmstart:100:root@pam:",
	    /* anything but ':', '/' and whitespace in type/id/user */
	    "UPID:pve1:0001A2B3:0254C6F1:6712AB3C:a@b!c.d:x=y,z:\xc3\xa4@pve:",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct upid u;
		if (upid_parse(good[i], &u) != 0)
			fail_msg("rejected '%s'", good[i]);
		upid_clear(&u);
	}
}

static void test_status_lines(void **state)
{
	char *s;
	assert_true(task_status_from_line("TASK OK", &s));
	assert_string_equal(s, "OK");
	free(s);
	assert_true(task_status_from_line("TASK WARNINGS: 3", &s));
	assert_string_equal(s, "WARNINGS: 3");
	free(s);
	assert_true(task_status_from_line("TASK ERROR: disk full", &s));
	assert_string_equal(s, "disk full");
	free(s);
	assert_false(task_status_from_line("TASK ERROR: ", &s));
	assert_string_equal(s, "unexpected status");
	free(s);
	assert_false(task_status_from_line("some line", &s));
	assert_string_equal(s, "unexpected status");
	free(s);
	assert_false(task_status_from_line("", &s));
	free(s);

	assert_string_equal(task_status_type(NULL), "running");
	assert_string_equal(task_status_type("OK"), "ok");
	assert_string_equal(task_status_type("WARNINGS: 2"), "warning");
	assert_string_equal(task_status_type("unexpected status"), "unknown");
	assert_string_equal(task_status_type("boom"), "error");
}

static void test_json_string_lossy(void **state)
{
	json_t *j = task_json_string("a\xff"
	                             "b\xc3\xa4",
	                             5);
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "a\xef\xbf\xbd"
	                                          "b\xc3\xa4");
	json_decref(j);
}

static void test_proc_starttime(void **state)
{
	uint64_t a, b;
	assert_int_equal(proc_pid_starttime(getpid(), &a), 0);
	assert_int_equal(proc_pid_starttime(getpid(), &b), 0);
	assert_true(a == b);
	assert_true(a > 0);
	assert_int_not_equal(proc_pid_starttime(0x7ffffff0, &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),         cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_format_widths),     cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_accepts),           cmocka_unit_test(test_status_lines),
	    cmocka_unit_test(test_json_string_lossy), cmocka_unit_test(test_proc_starttime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
