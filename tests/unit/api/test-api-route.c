/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Routing over templates split once (api-route.h), on a table of its own:
 * literal segments beat placeholders, a volume id placeholder at the end
 * takes the rest of the path, captures come in the order the choke point
 * has always merged them, and bounds hold.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api-method.h"
#include "api-route.h"
#include "jsonutil.h"
#include "strbuf.h"

#define P(n)                                         \
	{                                            \
		.name = (n), .type = API_TYPE_STRING \
	}
#define V(n)                                                                            \
	{                                                                               \
		.name = (n), .type = API_TYPE_STRING, .format = "pve-volume-id-or-name" \
	}

static const struct api_method rows[] = {
    {.path = "/", .verb = "GET", .name = "root", .params = (const struct api_param[]){API_END}},
    {.path = "/nodes/{node}",
     .verb = "GET",
     .name = "node",
     .params = (const struct api_param[]){P("node"), API_END}},
    {.path = "/nodes/{node}/status",
     .verb = "GET",
     .name = "status",
     .params = (const struct api_param[]){P("node"), API_END}},
    {.path = "/nodes/{node}/{what}",
     .verb = "GET",
     .name = "what",
     .params = (const struct api_param[]){P("node"), P("what"), API_END}},
    {.path = "/nodes/{node}/storage/{storage}/content/{volume}",
     .verb = "GET",
     .name = "vol",
     .params = (const struct api_param[]){P("node"), P("storage"), V("volume"), API_END}},
    {.path = "/nodes/{node}/storage/{storage}/content/{volume}",
     .verb = "DELETE",
     .name = "vol-del",
     .params = (const struct api_param[]){P("node"), P("storage"), V("volume"), API_END}},
    {.path = "/a/{x}",
     .verb = "GET",
     .name = "plain",
     .params = (const struct api_param[]){P("x"), API_END}},
    {.path = NULL},
};
static const struct api_method *const tables[] = {rows, NULL};

static void test_lookup(void **state)
{
	static const struct {
		const char *verb, *path;
		const char *name;     /* NULL: no match */
		const char *captures; /* JSON, in order */
	} cases[] = {
	    {"GET", "/", "root", "{}"},
	    {"GET", "", "root", "{}"},
	    {"GET", "//nodes//pve1/", "node", "{\"node\":\"pve1\"}"},
	    {"GET", "/nodes/pve1/status", "status", "{\"node\":\"pve1\"}"},
	    {"GET", "/nodes/pve1/other", "what", "{\"node\":\"pve1\",\"what\":\"other\"}"},
	    {"POST", "/nodes/pve1/status", NULL, NULL},
	    {"GET", "/nodes/pve1/storage/local/content/local:100/vm-100-disk-0.raw", "vol",
	     "{\"volume\":\"local:100/vm-100-disk-0.raw\",\"node\":\"pve1\",\"storage\":"
	     "\"local\"}"},
	    {"GET", "/nodes/pve1/storage/local/content/iso", "vol",
	     "{\"node\":\"pve1\",\"storage\":\"local\",\"volume\":\"iso\"}"},
	    {"DELETE", "/nodes/pve1/storage/local/content/a/b/c", "vol-del",
	     "{\"volume\":\"a/b/c\",\"node\":\"pve1\",\"storage\":\"local\"}"},
	    {"GET", "/nodes/pve1/storage/local/content", NULL, NULL},
	    /* only a volume placeholder takes the rest */
	    {"GET", "/a/b", "plain", "{\"x\":\"b\"}"},
	    {"GET", "/a/b/c", NULL, NULL},
	    {"GET", "/nodes", NULL, NULL},
	};
	struct api_route_table *t = api_route_table_new(tables);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *cap = NULL;
		const struct api_method *m =
		    api_route_lookup(t, cases[i].verb, cases[i].path, &cap);
		if (!cases[i].name) {
			if (m)
				fail_msg("case %zu: matched %s", i, m->name);
			assert_null(cap);
			continue;
		}
		if (!m)
			fail_msg("case %zu: no match", i);
		assert_string_equal(m->name, cases[i].name);
		_cleanup_free_ char *text = json_dumps(cap, JSON_COMPACT);
		assert_string_equal(text, cases[i].captures);
		json_decref(cap);
	}
	assert_non_null(api_route_lookup(t, "GET", "/nodes/x", NULL));

	/* 32 segments at most */
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "/nodes/pve1/storage/local/content/v");
	for (int i = 0; i < 25; i++)
		strbuf_addstr(&sb, "/x");
	assert_non_null(api_route_lookup(t, "GET", sb.buf, NULL)); /* 31 */
	strbuf_addstr(&sb, "/x");
	assert_non_null(api_route_lookup(t, "GET", sb.buf, NULL)); /* 32 */
	strbuf_addstr(&sb, "/x");
	assert_null(api_route_lookup(t, "GET", sb.buf, NULL)); /* 33 */
	strbuf_release(&sb);
	api_route_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
