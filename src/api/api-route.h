/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Routing: the method rows' path templates ("/nodes/{node}/tasks/{upid}"),
 * split into segments once, when the table is built, and matched against a
 * request's path without allocating per row.  Pure data code: the daemon
 * routes its rows with it, the CLI looks up the rows' data with it.
 */
#pragma once

#include <jansson.h>

struct api_method;
struct api_route_table;

/* The routes of every row of tables (NULL-terminated list of row arrays,
 * each ended by {.path = NULL}).  The rows must outlive the table. */
struct api_route_table *api_route_table_new(const struct api_method *const *tables);
struct api_route_table *api_route_table_free(struct api_route_table *t);

/*
 * The row for verb + path (path relative to /api2/json, unescaped; empty
 * segments do not count): the template with the most literal segments that
 * matches.  A template whose last placeholder is a volume id (format
 * pve-volume-id or pve-volume-id-or-name) takes the rest of the path there,
 * '/' included.  On a match, *ret_params (may be NULL) is an object of the
 * captured {params} as strings.  NULL when nothing matches.
 */
const struct api_method *api_route_lookup(const struct api_route_table *t, const char *verb,
                                          const char *path, json_t **ret_params);
