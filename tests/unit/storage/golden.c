/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "golden.h"
#include "xalloc.h"

void golden_check_cmd(const char *name, struct cmd *c)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *line = NULL, *expect = NULL, *path = NULL, *got = NULL;
	struct error *err = NULL;
	size_t len;

	assert_non_null(data);
	path = xasprintf("%s/golden/storage/%s.argv", data, name);
	line = cmd_to_string(c);
	got = xasprintf("%s\n", line);
	cmd_release(c);
	if (getenv("TEST_REGENERATE_OUTPUT")) {
		assert_int_equal(write_file_atomic(path, got, strlen(got), 0644, &err), 0);
		return;
	}
	if (read_file(path, 1 << 16, &expect, &len, &err) < 0) {
		print_error("%s: %s\n", path, err ? err->msg : "unreadable");
		error_free(err);
		fail();
	}
	assert_string_equal(got, expect);
}
