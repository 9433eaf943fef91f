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

#define GOLDEN_MAX_SIZE (1u << 20)

void golden_check_text(const char *file, const char *text)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = NULL, *expect = NULL;
	_cleanup_error_ struct error *err = NULL;
	size_t len;

	assert_non_null(data);
	/* a test names its file; it never reaches outside the golden tree */
	assert_true(*file && file[0] != '/' && !strstr(file, ".."));
	path = xasprintf("%s/golden/%s", data, file);
	if (getenv("TEST_REGENERATE_OUTPUT")) {
		_cleanup_free_ char *dir = xstrdup(path);
		*strrchr(dir, '/') = '\0';
		assert_int_equal(mkdir_p(dir, 0755), 0);
		assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, &err), 0);
		return;
	}
	if (read_file(path, GOLDEN_MAX_SIZE, &expect, &len, &err) < 0) {
		print_error("%s: %s (TEST_REGENERATE_OUTPUT=1 writes it)\n", path, err->msg);
		fail();
	}
	if (!streq(text, expect))
		print_error("%s differs (TEST_REGENERATE_OUTPUT=1 rewrites it)\n", path);
	assert_string_equal(text, expect);
}

void golden_check_cmd(const char *file, struct cmd *c)
{
	_cleanup_free_ char *line = cmd_to_string(c);
	_cleanup_free_ char *text = xasprintf("%s\n", line);

	cmd_release(c);
	golden_check_text(file, text);
}
