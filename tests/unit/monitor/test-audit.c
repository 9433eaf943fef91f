/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The audit log's hash chain: intact after appends (also across reopening),
 * and any edited or removed line is found; a record's line, with the
 * caller's secret parameters hidden. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "audit.h"
#include "error.h"
#include "fileio.h"
#include "xalloc.h"

static char *tmp_path(void)
{
	char dir[] = "/tmp/ctvm-audit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	return path_join(dir, "audit.log");
}

/* Removes the file and the directory of tmp_path(). */
static void tmp_remove(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void append_n(const char *path, int n)
{
	struct error *e = NULL;
	struct audit_log *a = audit_log_open(path, &e);
	assert_non_null(a);
	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:i}", "path", "/access/users", "n", i);
		assert_int_equal(audit_log_append(a, o), 0);
		json_decref(o);
	}
	audit_log_close(a);
}

static void test_chain(void **state)
{
	_cleanup_free_ char *path = tmp_path();
	append_n(path, 3);
	append_n(path, 2); /* reopening continues the chain */
	unsigned long bad = 0;
	assert_int_equal(audit_log_verify(path, &bad, NULL), 0);

	/* edit line 2: line 3's prev no longer matches */
	char *data;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &data, &len, NULL), 0);
	char *second = strchr(data, '\n') + 1;
	char *digit = strstr(second, "\"n\":1");
	assert_non_null(digit);
	digit[4] = '7';
	assert_int_equal(write_file_atomic(path, data, len, 0640, NULL), 0);
	assert_int_equal(audit_log_verify(path, &bad, NULL), -EBADMSG);
	assert_int_equal(bad, 3);

	/* remove line 1 instead */
	digit[4] = '1';
	char *rest = strchr(data, '\n') + 1;
	assert_int_equal(write_file_atomic(path, rest, len - (size_t)(rest - data), 0640, NULL), 0);
	assert_int_equal(audit_log_verify(path, &bad, NULL), -EBADMSG);
	assert_int_equal(bad, 1);
	free(data);
	tmp_remove(path);
}

static void test_record(void **state)
{
	_cleanup_free_ char *path = tmp_path();
	struct audit_log *a = audit_log_open(path, NULL);
	assert_non_null(a);
	json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "userid", "carl@pve", "password", "pw-1",
	                           "expire", 0, "confirmation-password", "pw-0");
	static const char *const secret[] = {"password", "confirmation-password", "absent", NULL};
	struct audit_record rec = {
	    .time = 1700000000,
	    .user = "root@pam",
	    .token = "root@pam!ci",
	    .addr = "192.0.2.1",
	    .method = "POST",
	    .path = "/access/users",
	    .params = params,
	    .secret = secret,
	    .status = 200,
	    .result = "OK",
	    .upid = "UPID:n:00000001:00000002:00000003:x:y:root@pam:",
	};
	assert_int_equal(audit_log_record(a, &rec), 0);
	/* the caller's params are not changed */
	assert_string_equal(json_string_value(json_object_get(params, "password")), "pw-1");
	/* no user, token, params or upid; a path that is not UTF-8 */
	struct audit_record login = {
	    .time = 1700000001,
	    .addr = "unix",
	    .method = "DELETE",
	    .path = "/bad\xff",
	    .status = 401,
	    .result = "authentication failure",
	};
	assert_int_equal(audit_log_record(a, &login), 0);
	assert_int_equal(audit_log_record(NULL, &login), 0);
	audit_log_close(a);
	json_decref(params);

	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(path, 1 << 20, &data, &len, NULL), 0);
	const char *want1 =
	    "{\"time\":1700000000,\"addr\":\"192.0.2.1\",\"method\":\"POST\","
	    "\"path\":\"/access/users\",\"params\":{\"userid\":\"carl@pve\","
	    "\"password\":\"***\",\"expire\":0,\"confirmation-password\":\"***\"},"
	    "\"status\":200,\"user\":\"root@pam\",\"token\":\"root@pam!ci\",\"result\":\"OK\","
	    "\"upid\":\"UPID:n:00000001:00000002:00000003:x:y:root@pam:\",\"prev\":\"";
	assert_memory_equal(data, want1, strlen(want1));
	const char *line2 = strchr(data, '\n') + 1;
	const char *want2 = "{\"time\":1700000001,\"addr\":\"unix\",\"method\":\"DELETE\","
	                    "\"path\":null,\"params\":{},\"status\":401,\"user\":null,"
	                    "\"result\":\"authentication failure\",\"prev\":\"";
	assert_memory_equal(line2, want2, strlen(want2));
	assert_null(strstr(data, "pw-"));
	assert_int_equal(audit_log_verify(path, NULL, NULL), 0);
	tmp_remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
