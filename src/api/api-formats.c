/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The registry of named formats the API validates with: each layer's own
 * table (property.h), in one explicit list.  A row of the method table, or
 * a key of a config schema the API writes, that names a format no table has
 * stops ctvmd at start (api_formats_check()); a unit test runs the same
 * check, so a typo fails the build's tests instead of passing values.
 */
#include "common.h"

#include "access-formats.h"
#include "api-internal.h"
#include "api.h"
#include "domains.h"
#include "error.h"
#include "property.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-formats.h"
#include "task-formats.h"

const struct conf_format *const api_format_tables[] = {
    conf_formats, task_formats, access_formats, storage_formats, NULL,
};

static int check_param(const struct api_method *m, const struct api_param *p, struct error **err)
{
	if (!p->format || conf_format_find(api_format_tables, p->format, NULL))
		return 0;
	return error_set(err, -ENOENT, 500, "%s %s: parameter '%s' names unknown format '%s'",
	                 m->verb, m->path, p->name ? p->name : "(returns)", p->format);
}

int api_formats_check(struct error **err)
{
	/* each name once: a second table must not shadow the first */
	for (const struct conf_format *const *t = api_format_tables; *t; t++)
		for (const struct conf_format *f = *t; f->name; f++)
			for (const struct conf_format *const *u = api_format_tables; *u; u++)
				for (const struct conf_format *g = *u; g->name; g++)
					if (g != f && streq(f->name, g->name))
						return error_set(err, -EEXIST, 500,
						                 "format '%s' is defined twice",
						                 f->name);
	api_foreach_method(m)
	{
		for (const struct api_param *p = m->params; p && p->name; p++) {
			int r = check_param(m, p, err);
			if (r < 0)
				return r;
		}
		int r = check_param(m, &m->returns, err);
		if (r < 0)
			return r;
	}
	/* the config files the API changes */
	const struct section_schema *schemas[] = {storage_schema(), domains_schema()};
	for (size_t i = 0; i < ARRAY_SIZE(schemas); i++) {
		int r = section_schema_check(schemas[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
