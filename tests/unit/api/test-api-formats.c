/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Named formats: every format any row of the method table names (all of
 * api_method_tables, parameters and returns) is in the registry, and so is
 * every format of the config schemas the API writes; the formats that used
 * to pass any string (pve-volume-id, pve-storage-content-list,
 * prune-backups) refuse bad values with Proxmox's words; and a format no
 * table has fails the value instead of passing it.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "property.h"

static void test_every_format_registered(void **state)
{
	size_t named = 0;
	api_foreach_method(m)
	{
		for (const struct api_param *p = m->params; p && p->name; p++) {
			if (!p->format)
				continue;
			named++;
			if (!conf_format_find(api_format_tables, p->format, NULL))
				fail_msg("%s %s: parameter '%s' has unknown format '%s'", m->verb,
				         m->path, p->name, p->format);
		}
		if (m->returns.format &&
		    !conf_format_find(api_format_tables, m->returns.format, NULL))
			fail_msg("%s %s: returns unknown format '%s'", m->verb, m->path,
			         m->returns.format);
	}
	assert_true(named > 20);
	struct error *e = NULL;
	if (api_formats_check(&e) < 0)
		fail_msg("%s", e->msg);
}

static const struct api_method row = {
    .path = "/test",
    .verb = "POST",
    .name = "test",
    .params =
        (const struct api_param[]){
            {.name = "volid", .type = API_TYPE_STRING, .format = "pve-volume-id", .optional = true},
            {.name = "volume",
             .type = API_TYPE_STRING,
             .format = "pve-volume-id-or-name",
             .optional = true},
            {.name = "content",
             .type = API_TYPE_STRING,
             .format = "pve-storage-content-list",
             .optional = true},
            {.name = "prune", .type = API_TYPE_STRING, .format = "prune-backups", .optional = true},
            {.name = "typo", .type = API_TYPE_STRING, .format = "pve-nodee", .optional = true},
            API_END},
    .returns = {.type = API_TYPE_NULL},
};

static const struct {
	const char *param, *value;
	const char *why; /* NULL: valid */
} cases[] = {
    {"volid", "local:100/vm-100-disk-0.raw", NULL},
    {"volid", "local:iso/x.iso", NULL},
    {"volid", "100/vm-100-disk-0.raw",
     "invalid format - unable to parse volume ID '100/vm-100-disk-0.raw'"},
    {"volid", "local:", "invalid format - unable to parse volume ID 'local:'"},
    {"volid", "1local:x", "invalid format - unable to parse volume ID '1local:x'"},
    {"volume", "local:100/vm-100-disk-0.raw", NULL},
    {"volume", "100/vm-100-disk-0.raw", NULL},
    {"volume", "vm-100-disk-0", NULL},
    {"volume", "x:", "invalid format - unable to parse volume ID 'x:'"},
    {"volume", "a\tb", "invalid format - volume name contains control characters"},
    {"content", "images,rootdir,iso,vztmpl,backup,snippets,import", NULL},
    {"content", "none", NULL},
    {"content", "images;iso backup", NULL},
    {"content", "images,bogus", "invalid format - invalid content type 'bogus'"},
    {"content", "Images", "invalid format - invalid content type 'Images'"},
    {"prune", "keep-last=3,keep-daily=7", NULL},
    {"prune", "keep-all=1", NULL},
    {"prune", "keep-forever=1",
     "invalid format - invalid key in comma-separated list property: keep-forever"},
    {"prune", "keep-all=1,keep-last=1",
     "invalid format - keep-all cannot be set together with other options."},
    {"prune", "keep-last=x",
     "invalid format - format error - keep-last: type check ('integer') failed - got 'x'"},
    /* fail closed */
    {"typo", "pve1", "unknown format 'pve-nodee'"},
};

static void test_checked_formats(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *params = json_pack("{s:s}", cases[i].param, cases[i].value);
		struct error *e = NULL;
		int r = api_validate_params(&row, params, &e);
		if (!cases[i].why) {
			if (r < 0)
				fail_msg("case %zu: '%s' refused: %s", i, cases[i].value,
				         json_dumps(e->params, 0));
		} else {
			if (r >= 0)
				fail_msg("case %zu: '%s' accepted", i, cases[i].value);
			const char *why =
			    json_string_value(json_object_get(e->params, cases[i].param));
			if (!why || !streq(why, cases[i].why))
				fail_msg("case %zu: got '%s'", i, why ? why : e->msg);
		}
		error_free(e);
		json_decref(params);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_format_registered),
	    cmocka_unit_test(test_checked_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
