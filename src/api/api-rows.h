/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The method table's data for the CLI (library ctvm-api-data): every row of
 * api_method_tables with its path, verb, name, description, parameters,
 * permissions and returns, and no handler (handler is NULL).  It is copied
 * from the rows at build time (src/api/gen/gen-api-rows.c), so it is the
 * same table the daemon serves, and linking it brings in no handler and no
 * layer below the api (tests/integration/test_exports.py checks ctvm).
 * Route it with api-route.h.
 */
#pragma once

struct api_method;

/* NULL-terminated, like api_method_tables. */
extern const struct api_method *const api_row_tables[];
