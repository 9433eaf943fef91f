/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The audit log's hash chain: intact after appends (also across reopening),
 * and any edited or removed line is found. */
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
