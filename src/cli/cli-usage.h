/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvm api usage PATH [METHOD]: a method's parameters, permissions and
 * return type, read from the method table's data (api-rows.h) without
 * asking the daemon.  PATH is a concrete path or a template
 * ("/storage/local" or "/storage/{storage}"); METHOD is GET, POST, PUT,
 * DELETE or ctvm's get, create, set, delete (every method of PATH when
 * left out).
 */
#pragma once

#include <stdio.h>

/* Prints to out, each usage line starting with prefix ("ctvm api",
 * "pvesh"); 0, 1 when PATH has no such method, 2 on bad arguments
 * (with a message on err). */
int cli_api_usage(const char *prefix, int argc, char **argv, FILE *out, FILE *err);

struct api_method;
/* One method's usage: "USAGE: prefix get PATH ...", parameters,
 * permissions, returns. */
void cli_usage_method(FILE *out, const char *prefix, const struct api_method *m);
