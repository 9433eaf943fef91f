/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* api-storage.c: the size parser of POST .../content and the routing of
 * volume ids (which contain '/') to the content/{volume} rows. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api-internal.h"

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t out;
	} cases[] = {
	    {"1024", 0, 1024 * 1024}, /* a bare number is KiB, as in Proxmox */
	    {"1024K", 0, 1024 * 1024},
	    {"512M", 0, 512ULL << 20},
	    {"4G", 0, 4ULL << 30},
	    {"2T", 0, 2ULL << 40},
	    {"0", 0, 0},
	    {"", -EINVAL, 0},
	    {"G", -EINVAL, 0},
	    {"-1", -EINVAL, 0},
	    {" 4G", -EINVAL, 0},
	    {"4GB", -EINVAL, 0},
	    {"4.5G", -EINVAL, 0},
	    {"4X", -EINVAL, 0},
	    {"99999999999999999999", -ERANGE, 0},
	    {"99999999999T", -ERANGE, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		int r = api_storage_parse_size(cases[i].in, &v);
		if (r != cases[i].r || (r == 0 && v != cases[i].out))
			fail_msg("'%s': r=%d v=%llu", cases[i].in, r, (unsigned long long)v);
	}
	assert_int_equal(api_storage_parse_size(NULL, &(uint64_t){0}), -EINVAL);
}

static void test_route_volume(void **state)
{
	json_t *cap = NULL;
	(void)state;
	const struct api_method *m = api_method_lookup(
	    "GET", "/nodes/pve1/storage/local/content/local:100/vm-100-disk-0.qcow2", &cap);
	assert_non_null(m);
	assert_string_equal(m->name, "info");
	assert_string_equal(json_string_value(json_object_get(cap, "volume")),
	                    "local:100/vm-100-disk-0.qcow2");
	assert_string_equal(json_string_value(json_object_get(cap, "storage")), "local");
	json_decref(cap);

	/* empty segments vanish: an absolute path arrives as a relative one,
	 * which the volume name grammar then refuses */
	m = api_method_lookup("DELETE", "/nodes/pve1/storage/local/content//etc/passwd", &cap);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(cap, "volume")), "etc/passwd");
	json_decref(cap);

	/* the content list itself is not swallowed */
	m = api_method_lookup("GET", "/nodes/pve1/storage/local/content", NULL);
	assert_non_null(m);
	assert_string_equal(m->path, "/nodes/{node}/storage/{storage}/content");
	/* other rows keep exact matching */
	assert_null(api_method_lookup("GET", "/nodes/pve1/storage/local/status/x", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_route_volume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
