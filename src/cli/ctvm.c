/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvm: the command line client.  Every command is an API call over the
 * daemon's local socket (root on this host acts as root@pam); the CLI holds
 * no logic of its own.
 *
 *   ctvm [--root DIR] api get|create|set|delete PATH [--key value ...]
 *        [--output-format json|json-pretty|text]
 *   ctvm api usage PATH [METHOD]
 *
 * is the equivalent of pvesh: get = GET, create = POST, set = PUT,
 * delete = DELETE; usage prints a method's parameters from the method
 * table's data (api-rows.h), without the daemon.
 */
#include "common.h"

#include <ctype.h>

#include <jansson.h>

#include "cli-http.h"
#include "cli-usage.h"
#include "error.h"
#include "jsonutil.h"
#include "paths.h"
#include "strbuf.h"
#include "xalloc.h"

enum output_format { OUT_JSON, OUT_JSON_PRETTY, OUT_TEXT };

static const struct {
	const char *cmd;
	const char *method;
} verbs[] = {
    {"get", "GET"}, {"ls", "GET"}, {"create", "POST"}, {"set", "PUT"}, {"delete", "DELETE"},
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: ctvm [--root DIR] api get|create|set|delete PATH [--KEY VALUE ...]\n"
	        "            [--output-format json|json-pretty|text]\n"
	        "       ctvm api usage PATH [GET|POST|PUT|DELETE]\n"
	        "\n"
	        "Calls the ctvm API (the same paths as /api2/json/PATH) over ctvmd's local socket\n"
	        "as root@pam. A --KEY given several times is sent several times.\n"
	        "'usage' prints the parameters of PATH's methods (a path or a template such\n"
	        "as /storage/{storage}) from the API's method table.\n"
	        "\n"
	        "  --root DIR   talk to the ctvmd started with --root DIR\n");
}

/* Percent-encodes everything outside RFC 3986 unreserved (plus extra). */
static void url_encode(struct strbuf *sb, const char *s, const char *extra)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p) || (extra && strchr(extra, *p)))
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_scalar(json_t *v)
{
	if (json_is_string(v))
		printf("%s", json_string_value(v));
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		printf("%g", json_real_value(v));
	else if (json_is_true(v))
		printf("1");
	else if (json_is_false(v))
		printf("0");
	else if (!json_is_null(v)) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s", s);
		free(s);
	}
}

/* text: scalars as they are; an object as "key: value" lines; an array of
 * objects as a tab-separated table with a header of all keys. */
static void print_text(json_t *data)
{
	if (json_is_object(data)) {
		const char **keys = xnew(const char *, json_object_size(data) + 1);
		size_t n = 0;
		const char *k;
		json_t *v;
		json_object_foreach (data, k, v)
			keys[n++] = k;
		qsort(keys, n, sizeof(*keys), cmp_str);
		for (size_t i = 0; i < n; i++) {
			printf("%s: ", keys[i]);
			print_scalar(json_object_get(data, keys[i]));
			printf("\n");
		}
		free(keys);
		return;
	}
	if (!json_is_array(data)) {
		print_scalar(data);
		if (!json_is_null(data))
			printf("\n");
		return;
	}
	_cleanup_json_ json_t *cols = json_object();
	size_t i;
	json_t *row;
	json_array_foreach (data, i, row) {
		if (!json_is_object(row)) {
			print_scalar(row);
			printf("\n");
			continue;
		}
		const char *k;
		json_t *v;
		json_object_foreach (row, k, v)
			json_object_set_new(cols, k, json_true());
	}
	if (!json_object_size(cols))
		return;
	size_t ncol = json_object_size(cols), c = 0;
	const char **names = xnew(const char *, ncol);
	const char *k;
	json_t *v;
	json_object_foreach (cols, k, v)
		names[c++] = k;
	qsort(names, ncol, sizeof(*names), cmp_str);
	for (c = 0; c < ncol; c++)
		printf("%s%s", c ? "\t" : "", names[c]);
	printf("\n");
	json_array_foreach (data, i, row) {
		if (!json_is_object(row))
			continue;
		for (c = 0; c < ncol; c++) {
			if (c)
				printf("\t");
			print_scalar(json_object_get(row, names[c]));
		}
		printf("\n");
	}
	free(names);
}

static int cmd_api(const char *root, int argc, char **argv)
{
	if (argc >= 1 && streq(argv[0], "usage"))
		return cli_api_usage(argc - 1, argv + 1, stdout, stderr);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *method = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(argv[0], verbs[i].cmd))
			method = verbs[i].method;
	if (!method) {
		fprintf(stderr, "ctvm: unknown api command '%s'\n", argv[0]);
		usage(stderr);
		return 2;
	}
	const char *path = argv[1];
	enum output_format fmt = OUT_JSON_PRETTY;
	struct strbuf params = STRBUF_INIT;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!str_startswith(a, "--")) {
			fprintf(stderr, "ctvm: unexpected argument '%s'\n", a);
			return 2;
		}
		a += 2;
		_cleanup_free_ char *key = NULL;
		const char *value;
		const char *eq = strchr(a, '=');
		if (eq) {
			key = xstrndup(a, (size_t)(eq - a));
			value = eq + 1;
		} else {
			if (i + 1 >= argc) {
				fprintf(stderr, "ctvm: option '--%s' needs a value\n", a);
				return 2;
			}
			key = xstrdup(a);
			value = argv[++i];
		}
		if (streq(key, "output-format")) {
			if (streq(value, "json"))
				fmt = OUT_JSON;
			else if (streq(value, "json-pretty"))
				fmt = OUT_JSON_PRETTY;
			else if (streq(value, "text"))
				fmt = OUT_TEXT;
			else {
				fprintf(stderr, "ctvm: unknown output format '%s'\n", value);
				return 2;
			}
			continue;
		}
		if (params.len)
			strbuf_addch(&params, '&');
		url_encode(&params, key, NULL);
		strbuf_addch(&params, '=');
		url_encode(&params, value, NULL);
	}

	struct strbuf target = STRBUF_INIT;
	strbuf_addstr(&target, "/api2/json");
	if (path[0] != '/')
		strbuf_addch(&target, '/');
	url_encode(&target, path, "/:@!");
	bool in_body = streq(method, "POST") || streq(method, "PUT");
	if (!in_body && params.len) {
		strbuf_addch(&target, '?');
		strbuf_add(&target, params.buf, params.len);
	}

	struct ctvm_paths *paths = ctvm_paths_new(root);
	struct cli_response resp = {0};
	_cleanup_error_ struct error *err = NULL;
	int r =
	    cli_http_request(paths->socket, method, target.buf, "application/x-www-form-urlencoded",
	                     in_body ? params.buf : NULL, in_body ? params.len : 0, &resp, &err);
	strbuf_release(&target);
	strbuf_release(&params);
	ctvm_paths_free(paths);
	if (r < 0) {
		fprintf(stderr, "ctvm: %s\n", err->msg);
		return 1;
	}

	json_error_t jerr;
	_cleanup_json_ json_t *body =
	    resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &jerr) : NULL;
	int rc = 0;
	if (resp.status != 200) {
		fprintf(stderr, "%d %s\n", resp.status, resp.reason);
		json_t *errors = body ? json_object_get(body, "errors") : NULL;
		const char *k;
		json_t *v;
		json_object_foreach (errors, k, v)
			fprintf(stderr, "%s: %s\n", k, json_string_value(v));
		rc = 1;
	} else {
		json_t *data = body ? json_object_get(body, "data") : NULL;
		if (fmt == OUT_TEXT) {
			print_text(data ? data : json_null());
		} else {
			char *s = json_dumps(data ? data : json_null(),
			                     JSON_ENCODE_ANY | JSON_SORT_KEYS |
			                         (fmt == OUT_JSON ? JSON_COMPACT : JSON_INDENT(4)));
			printf("%s\n", s);
			free(s);
		}
	}
	cli_response_clear(&resp);
	return rc;
}

int main(int argc, char **argv)
{
	const char *root = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (streq(argv[i], "--root") && i + 1 < argc)
			root = argv[++i];
		else if (str_startswith(argv[i], "--root="))
			root = argv[i] + 7;
		else if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (streq(argv[i], "--version")) {
			printf("ctvm %s\n", CTVM_VERSION);
			return 0;
		} else
			break;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (streq(argv[i], "api"))
		return cmd_api(root, argc - i - 1, argv + i + 1);
	fprintf(stderr, "ctvm: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
