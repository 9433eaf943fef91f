/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Parameter validation and routing of the method table, table-driven: each
 * case is a method row, a parameter object (as the http layer decodes it), and
 * the expected outcome (ok, or the errors map).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"

static const char *const colors[] = {"red", "green", NULL};

static const struct api_method row = {
    .path = "/test/{node}",
    .verb = "POST",
    .name = "test",
    .params =
        (const struct api_param[]){
            API_PARAM_NODE,
            {.name = "count",
             .type = API_TYPE_INTEGER,
             .optional = true,
             .has_min = true,
             .minimum = 1,
             .has_max = true,
             .maximum = 10},
            {.name = "flag", .type = API_TYPE_BOOLEAN, .optional = true},
            {.name = "name", .type = API_TYPE_STRING, .optional = true, .max_length = 8},
            {.name = "color", .type = API_TYPE_STRING, .optional = true, .enum_values = colors},
            {.name = "tags",
             .type = API_TYPE_STRING,
             .optional = true,
             .format = "pve-configid-list"},
            {.name = "vmid",
             .type = API_TYPE_INTEGER,
             .format = "pve-vmid",
             .optional = true,
             .has_min = true,
             .minimum = 100},
            {.name = "userid", .type = API_TYPE_STRING, .format = "pve-userid", .optional = true},
            {.name = "ratio", .type = API_TYPE_NUMBER, .optional = true},
            API_END},
    .returns = {.type = API_TYPE_NULL},
};

struct vcase {
	const char *params;   /* JSON object as decoded from the request */
	const char *expected; /* NULL: valid; else the JSON errors map */
	const char *typed;    /* optional: expected params after typing */
};

static const struct vcase cases[] = {
    {"{\"node\":\"n1\"}", NULL, "{\"node\":\"n1\"}"},
    {"{}", "{\"node\":\"property is missing and it is not optional\"}", NULL},
    {"{\"node\":\"n1\",\"bogus\":\"1\"}",
     "{\"bogus\":\"property is not defined in schema and the schema does not allow "
     "additional properties\"}",
     NULL},
    {"{\"node\":\"n1\",\"flag\":\"1\",\"count\":\"5\"}", NULL,
     "{\"node\":\"n1\",\"flag\":1,\"count\":5}"},
    {"{\"node\":\"n1\",\"flag\":\"true\"}",
     "{\"flag\":\"type check ('boolean') failed - got 'true'\"}", NULL},
    {"{\"node\":\"n1\",\"flag\":true}", NULL, "{\"node\":\"n1\",\"flag\":1}"},
    {"{\"node\":\"n1\",\"count\":\"abc\"}",
     "{\"count\":\"type check ('integer') failed - got 'abc'\"}", NULL},
    {"{\"node\":\"n1\",\"count\":\"11\"}", "{\"count\":\"value must have a maximum value of 10\"}",
     NULL},
    {"{\"node\":\"n1\",\"count\":\"0\"}", "{\"count\":\"value must have a minimum value of 1\"}",
     NULL},
    {"{\"node\":\"n1\",\"count\":\"1.5\"}",
     "{\"count\":\"type check ('integer') failed - got '1.5'\"}", NULL},
    {"{\"node\":\"n1\",\"name\":\"123456789\"}",
     "{\"name\":\"value may only be 8 characters long\"}", NULL},
    {"{\"node\":\"n1\",\"color\":\"blue\"}",
     "{\"color\":\"value 'blue' does not have a value in the enumeration 'red, green'\"}", NULL},
    {"{\"node\":\"n1\",\"tags\":[\"ab\",\"bc\"]}", NULL, "{\"node\":\"n1\",\"tags\":\"ab,bc\"}"},
    {"{\"node\":\"bad_node!\"}", "{\"node\":\"invalid format - \"}", NULL},
    {"{\"node\":\"n1\",\"vmid\":\"99\"}", "{\"vmid\":\"value must have a minimum value of 100\"}",
     NULL},
    {"{\"node\":\"n1\",\"userid\":\"alice@pve\"}", NULL, NULL},
    {"{\"node\":\"n1\",\"userid\":\"alice\"}", "{\"userid\":\"invalid format - \"}", NULL},
    {"{\"node\":\"n1\",\"ratio\":\"0.5\"}", NULL, "{\"node\":\"n1\",\"ratio\":0.5}"},
    {"{\"node\":\"n1\",\"_dc\":\"12345\"}", NULL, "{\"node\":\"n1\"}"},
    /* every error is reported, not only the first */
    {"{\"flag\":\"yes\",\"x\":\"1\"}",
     "{\"flag\":\"type check ('boolean') failed - got 'yes'\",\"x\":\"property is not "
     "defined in schema and the schema does not allow additional properties\",\"node\":"
     "\"property is missing and it is not optional\"}",
     NULL},
};

static void test_validate(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_error_t je;
		json_t *params = json_loads(cases[i].params, 0, &je);
		assert_non_null(params);
		struct error *err = NULL;
		int r = api_validate_params(&row, params, &err);
		if (!cases[i].expected) {
			if (r < 0)
				fail_msg("case %zu: unexpected error %s", i,
				         json_dumps(err->params, JSON_COMPACT));
			if (cases[i].typed) {
				json_t *want = json_loads(cases[i].typed, 0, &je);
				assert_non_null(want);
				if (!json_equal(want, params))
					fail_msg("case %zu: typed %s", i,
					         json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS));
				json_decref(want);
			}
		} else {
			assert_int_equal(r, -EINVAL);
			assert_non_null(err);
			assert_int_equal(err->http_status, 400);
			assert_string_equal(err->msg, "Parameter verification failed.");
			json_t *want = json_loads(cases[i].expected, 0, &je);
			assert_non_null(want);
			/* regex messages carry the value: compare by prefix */
			const char *k;
			json_t *v;
			json_object_foreach (want, k, v) {
				json_t *got = json_object_get(err->params, k);
				if (!got || strncmp(json_string_value(got), json_string_value(v),
				                    strlen(json_string_value(v))) != 0)
					fail_msg("case %zu: param %s: got %s", i, k,
					         got ? json_string_value(got) : "(none)");
			}
			assert_int_equal(json_object_size(want), json_object_size(err->params));
			json_decref(want);
		}
		error_free(err);
		json_decref(params);
	}
}

static void test_routing(void **state)
{
	json_t *cap = NULL;
	const struct api_method *m = api_method_lookup("GET", "/nodes/pve1/tasks", &cap);
	assert_non_null(m);
	assert_string_equal(m->path, "/nodes/{node}/tasks");
	assert_string_equal(json_string_value(json_object_get(cap, "node")), "pve1");
	json_decref(cap);

	cap = NULL;
	m = api_method_lookup(
	    "GET", "/nodes/pve1/tasks/UPID:pve1:00000001:00000002:00000003:x::root@pam:/status",
	    &cap);
	assert_non_null(m);
	assert_string_equal(m->name, "read_task_status");
	json_decref(cap);

	/* trailing and doubled slashes do not matter; unknown paths and verbs do */
	assert_non_null(api_method_lookup("GET", "//cluster//nextid/", NULL));
	assert_null(api_method_lookup("GET", "/nodes/pve1/nosuch", NULL));
	assert_null(api_method_lookup("PATCH", "/version", NULL));
	assert_non_null(api_method_lookup("GET", "/", NULL));
}

/* Every row is well formed: a handler, a known verb, params named once,
 * path placeholders declared as parameters, and no row without a permission
 * decision unless it means root-only. */
static void test_table_rows(void **state)
{
	size_t n = 0;
	api_foreach_method(m)
	{
		n++;
		assert_non_null(m->handler);
		assert_non_null(m->name);
		assert_true(streq(m->verb, "GET") || streq(m->verb, "POST") ||
		            streq(m->verb, "PUT") || streq(m->verb, "DELETE"));
		for (const char *p = strchr(m->path, '{'); p; p = strchr(p + 1, '{')) {
			size_t l = strcspn(p + 1, "}");
			bool found = false;
			for (const struct api_param *q = m->params; q && q->name; q++)
				found |= strlen(q->name) == l && strncmp(q->name, p + 1, l) == 0;
			if (!found)
				fail_msg("%s %s: path parameter not declared", m->verb, m->path);
		}
		if (m->perm.user == API_PERM_CHECK)
			assert_non_null(m->perm.check);
		api_foreach_method(o)
		{
			if (o != m && streq(o->path, m->path) && streq(o->verb, m->verb))
				fail_msg("duplicate row %s %s", m->verb, m->path);
		}
	}
	assert_true(n > 10);
	json_t *tree = api_schema_tree();
	assert_true(json_array_size(tree) > 0);
	json_decref(tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_routing),
	    cmocka_unit_test(test_table_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
