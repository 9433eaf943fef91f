/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The CLI's copy of the method table's data (api-rows.h) is the table: row
 * for row the same path, verb, name and schema (parameters, permissions,
 * returns, flags), without a handler, and the CLI finds rows in it the way
 * the daemon finds its own.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api-internal.h"
#include "api-method.h"
#include "api-route.h"
#include "api-rows.h"

static void test_same_rows(void **state)
{
	const struct api_method *const *dt = api_row_tables;
	const struct api_method *d = *dt;
	size_t n = 0;
	api_foreach_method(m)
	{
		if (!d || !d->path)
			fail_msg("the copy ends before %s %s", m->verb, m->path);
		n++;
		assert_null(d->handler);
		assert_string_equal(d->path, m->path);
		assert_string_equal(d->verb, m->verb);
		assert_int_equal(d->flags, m->flags);
		json_t *want = api_method_schema(m), *got = api_method_schema(d);
		_cleanup_free_ char *w = json_dumps(want, JSON_COMPACT);
		_cleanup_free_ char *g = json_dumps(got, JSON_COMPACT);
		if (!streq(w, g))
			fail_msg("%s %s differs:\n%s\n%s", m->verb, m->path, w, g);
		json_decref(want);
		json_decref(got);
		d++;
		if (!d->path && dt[1])
			d = *++dt;
	}
	assert_null(d->path);
	assert_true(n > 50);

	/* routing the copy finds the copy's row of the same template */
	struct api_route_table *t = api_route_table_new(api_row_tables);
	const struct api_method *m = api_route_lookup(t, "POST", "/storage", NULL);
	assert_non_null(m);
	assert_string_equal(m->name, "create");
	assert_null(m->handler);
	json_t *cap = NULL;
	m = api_route_lookup(t, "PUT", "/storage/{storage}", &cap);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(cap, "storage")), "{storage}");
	json_decref(cap);
	api_route_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
