/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>
#include <termios.h>
#include <time.h>

#include "api-method.h"
#include "api-route.h"
#include "api-rows.h"
#include "cli-http.h"
#include "cli-remote.h"
#include "cli.h"
#include "error.h"
#include "jsonutil.h"
#include "paths.h"
#include "strbuf.h"
#include "xalloc.h"

/* A task is polled this often; its log is read this many lines a call. */
#define TASK_POLL_MS   250
#define TASK_LOG_CHUNK 500
/* A task silent this long gets a progress line (on a terminal). */
#define PROGRESS_AFTER_S 2
/* A password read from stdin is at most this long (the API takes 64). */
#define PASSWORD_MAX 256

static int set_output(struct cli *c, const char *v)
{
	if (streq(v, "json"))
		c->out = CLI_OUT_JSON;
	else if (streq(v, "json-pretty"))
		c->out = CLI_OUT_JSON_PRETTY;
	else if (streq(v, "text"))
		c->out = CLI_OUT_TEXT;
	else {
		fprintf(stderr, "%s: unknown output format '%s' (json, json-pretty or text)\n",
		        c->prog, v);
		return CLI_USAGE;
	}
	return 0;
}

int cli_take_globals(struct cli *c, int *argc, char **argv)
{
	int out = 1;
	const char *env_root = getenv("CTVM_ROOT");
	if (env_root && *env_root)
		c->root = env_root;
	const char *env_host = getenv("CTVM_HOST");
	if (env_host && *env_host)
		c->host = env_host;
	int i = 1;
	for (; i < *argc; i++) {
		const char *a = argv[i];
		const char *value = NULL;
		const char *name = NULL;
		if (streq(a, "--")) {
			i++;
			break;
		}
		static const char *const with_value[] = {"--root", "--output-format", "--host"};
		for (size_t k = 0; k < ARRAY_SIZE(with_value); k++) {
			size_t l = strlen(with_value[k]);
			if (strncmp(a, with_value[k], l) == 0 && (a[l] == '=' || !a[l])) {
				name = with_value[k];
				if (a[l] == '=')
					value = a + l + 1;
				else if (i + 1 < *argc)
					value = argv[++i];
				else {
					fprintf(stderr, "%s: option '%s' needs a value\n", c->prog,
					        name);
					return CLI_USAGE;
				}
			}
		}
		if (name && streq(name, "--root")) {
			c->root = value;
			continue;
		}
		if (name && streq(name, "--host")) {
			c->host = value;
			continue;
		}
		if (name) {
			int r = set_output(c, value);
			if (r)
				return r;
			continue;
		}
		if (streq(a, "--async")) {
			c->async = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	for (; i < *argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	*argc = out;
	return 0;
}

void cli_release(struct cli *c)
{
	free(c->node);
	c->node = NULL;
	if (c->routes)
		c->routes = api_route_table_free(c->routes);
}

const struct api_method *cli_method(struct cli *c, const char *verb, const char *path)
{
	if (!c->routes)
		c->routes = api_route_table_new(api_row_tables);
	return api_route_lookup(c->routes, verb, path, NULL);
}

static const struct api_param *find_param(const struct api_method *m, const char *name)
{
	for (const struct api_param *p = m ? m->params : NULL; p && p->name; p++)
		if (streq(p->name, name))
			return p;
	return NULL;
}

static bool is_bool_word(const char *s)
{
	static const char *const words[] = {"1", "0", "yes", "no", "true", "false", "on", "off"};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

static void add_param(json_t *params, const char *key, const char *value)
{
	json_t *a = json_object_get(params, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(params, key, a);
	}
	json_array_append_new(a, json_string(value));
}

/* "-key" is an option when key starts with a letter (Proxmox's getopt
 * takes one dash as well as two); "-1" or "-" is a word. */
static bool is_option(const char *a)
{
	if (str_startswith(a, "--"))
		return a[2] != 0;
	return a[0] == '-' && isalpha((unsigned char)a[1]);
}

static bool in_words(const char *list, const char *w)
{
	size_t l = strlen(w);
	for (const char *p = list ? list : ""; *p;) {
		size_t n = strcspn(p, " ");
		if (n == l && strncmp(p, w, l) == 0)
			return true;
		p += n;
		p += *p == ' ';
	}
	return false;
}

int cli_parse_options(struct cli *c, const struct api_method *m, const char *local_bools, int argc,
                      char **argv, json_t *params, json_t *positional)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!is_option(a)) {
			if (!positional) {
				fprintf(stderr, "%s: unexpected argument '%s'\n", c->prog, a);
				return CLI_USAGE;
			}
			json_array_append_new(positional, json_string(a));
			continue;
		}
		a += a[1] == '-' ? 2 : 1;
		_cleanup_free_ char *key = NULL;
		const char *eq = strchr(a, '=');
		if (eq) {
			key = xstrndup(a, (size_t)(eq - a));
			add_param(params, key, eq + 1);
			continue;
		}
		const struct api_param *p = find_param(m, a);
		if ((p && p->type == API_TYPE_BOOLEAN) || in_words(local_bools, a)) {
			if (i + 1 < argc && is_bool_word(argv[i + 1]))
				add_param(params, a, argv[++i]);
			else
				add_param(params, a, "1");
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s: option '--%s' needs a value\n", c->prog, a);
			return CLI_USAGE;
		}
		add_param(params, a, argv[++i]);
	}
	return 0;
}

/* Percent-encodes everything outside RFC 3986 unreserved (plus extra). */
void cli_url_encode(struct strbuf *sb, const char *s, const char *extra)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p) || (extra && strchr(extra, *p)))
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

static void encode_pair(struct strbuf *sb, const char *k, const char *v)
{
	if (sb->len)
		strbuf_addch(sb, '&');
	cli_url_encode(sb, k, NULL);
	strbuf_addch(sb, '=');
	cli_url_encode(sb, v, NULL);
}

static int exit_code_for(int status)
{
	if (status == 401 || status == 403)
		return CLI_DENIED;
	if (status == 400)
		return CLI_USAGE;
	return CLI_ERROR;
}

int cli_call(struct cli *c, const char *verb, const char *path, json_t *params, json_t **ret_data)
{
	_cleanup_(strbuf_releasep) struct strbuf form = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach (params, k, v) {
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach (v, i, e)
				encode_pair(&form, k, json_string_value(e));
		} else if (json_is_string(v)) {
			encode_pair(&form, k, json_string_value(v));
		}
	}

	_cleanup_(strbuf_releasep) struct strbuf target = STRBUF_INIT;
	strbuf_addstr(&target, "/api2/json");
	if (path[0] != '/')
		strbuf_addch(&target, '/');
	cli_url_encode(&target, path, "/:@!");
	bool in_body = streq(verb, "POST") || streq(verb, "PUT");
	if (!in_body && form.len) {
		strbuf_addch(&target, '?');
		strbuf_add(&target, form.buf, form.len);
	}

	struct cli_response resp = {0};
	_cleanup_error_ struct error *err = NULL;
	int r;
	if (c->host) {
		r = cli_remote_request(c, verb, target.buf, in_body ? form.buf : NULL,
		                       in_body ? form.len : 0, &resp);
		if (r)
			return r;
	} else {
		struct ctvm_paths *paths = ctvm_paths_new(c->root);
		r = cli_http_request(paths->socket, verb, target.buf,
		                     "application/x-www-form-urlencoded", in_body ? form.buf : NULL,
		                     in_body ? form.len : 0, &resp, &err);
		ctvm_paths_free(paths);
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err->msg);
		/* the socket is root's alone (0600) */
		return r == -EACCES || r == -EPERM ? CLI_DENIED : CLI_ERROR;
	}

	json_error_t jerr;
	_cleanup_json_ json_t *body =
	    resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &jerr) : NULL;
	int rc = 0;
	if (resp.status != 200) {
		fprintf(stderr, "%d %s\n", resp.status, resp.reason);
		json_t *errors = body ? json_object_get(body, "errors") : NULL;
		json_object_foreach (errors, k, v)
			fprintf(stderr, "%s: %s\n", k, json_string_value(v));
		rc = exit_code_for(resp.status);
	} else if (ret_data) {
		json_t *data = body ? json_object_get(body, "data") : NULL;
		*ret_data = json_incref(data ? data : json_null());
	}
	cli_response_clear(&resp);
	return rc;
}

int cli_node(struct cli *c, const char **ret)
{
	if (!c->node) {
		_cleanup_json_ json_t *nodes = NULL;
		int r = cli_call(c, "GET", "/nodes", NULL, &nodes);
		if (r)
			return r;
		const char *n =
		    json_string_value(json_object_get(json_array_get(nodes, 0), "node"));
		if (!n) {
			fprintf(stderr, "%s: ctvmd names no node\n", c->prog);
			return CLI_ERROR;
		}
		c->node = xstrdup(n);
	}
	*ret = c->node;
	return 0;
}

/* "UPID:node:..." -> node */
static char *upid_node(const char *upid)
{
	if (!str_startswith(upid, "UPID:"))
		return NULL;
	const char *n = upid + 5, *end = strchr(n, ':');
	return end && end > n ? xstrndup(n, (size_t)(end - n)) : NULL;
}

/* "UPID:node:pid:pstart:starttime:type:id:user:" -> "type id" */
static char *upid_what(const char *upid)
{
	const char *p = upid;
	for (int i = 0; i < 5 && p; i++)
		p = strchr(p + 1, ':');
	if (!p)
		return xstrdup("task");
	const char *type = p + 1, *id = strchr(type, ':');
	if (!id)
		return xstrdup("task");
	size_t idlen = strcspn(id + 1, ":");
	return idlen ? xasprintf("%.*s %.*s", (int)(id - type), type, (int)idlen, id + 1)
	             : xstrndup(type, (size_t)(id - type));
}

static time_t monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int cli_wait_task(struct cli *c, const char *upid, bool quiet)
{
	_cleanup_free_ char *node = upid_node(upid);
	if (!node) {
		fprintf(stderr, "%s: not a task id: %s\n", c->prog, upid);
		return CLI_ERROR;
	}
	_cleanup_free_ char *log_path = xasprintf("/nodes/%s/tasks/%s/log", node, upid);
	_cleanup_free_ char *status_path = xasprintf("/nodes/%s/tasks/%s/status", node, upid);
	long long next = 0;
	/* On a terminal, a task that writes nothing for a while gets a progress
	 * line on stderr ("qmclone 100: running, 12 s"), erased by the next
	 * log line: long copies, clones and uploads show they are alive. */
	bool progress = !quiet && isatty(STDERR_FILENO);
	bool shown = false;
	_cleanup_free_ char *what = upid_what(upid);
	time_t started = monotonic_s(), last_line = started;
	for (;;) {
		/* the status first: a task seen stopped has its whole log written */
		_cleanup_json_ json_t *st = NULL;
		int r = cli_call(c, "GET", status_path, NULL, &st);
		if (r)
			return r;
		bool stopped =
		    streq(json_string_value(json_object_get(st, "status")) ?: "", "stopped");
		for (;;) {
			_cleanup_json_ json_t *params = json_object();
			json_object_set_new(params, "start", json_sprintf("%lld", next));
			json_object_set_new(params, "limit", json_sprintf("%d", TASK_LOG_CHUNK));
			_cleanup_json_ json_t *lines = NULL;
			r = cli_call(c, "GET", log_path, params, &lines);
			if (r)
				return r;
			size_t i;
			json_t *l;
			size_t count = json_array_size(lines);
			json_array_foreach (lines, i, l) {
				long long n = json_integer_value(json_object_get(l, "n"));
				const char *t = json_string_value(json_object_get(l, "t"));
				if (n <= next || !t)
					continue;
				/* an empty log reads as one line "no content"; the last
				 * line of a running task may be half written */
				if (n == 1 && streq(t, "no content"))
					break;
				if (!stopped && i + 1 == count)
					break;
				next = n;
				last_line = monotonic_s();
				/* as Proxmox's CLI: no "TASK OK", the error on stderr */
				if (quiet || streq(t, "TASK OK"))
					continue;
				if (shown) {
					fputs("\r\033[K", stderr);
					shown = false;
				}
				if (str_startswith(t, "TASK ERROR: ")) {
					fflush(stdout);
					fprintf(stderr, "%s\n", t);
				} else {
					printf("%s\n", t);
				}
			}
			fflush(stdout);
			if (count < TASK_LOG_CHUNK)
				break;
		}
		if (shown && stopped) {
			fputs("\r\033[K", stderr);
			shown = false;
		}
		time_t now = monotonic_s();
		if (progress && !stopped && now - last_line >= PROGRESS_AFTER_S) {
			fprintf(stderr, "\r\033[K%s: running, %lld s", what,
			        (long long)(now - started));
			shown = true;
		}
		if (stopped) {
			const char *es = json_string_value(json_object_get(st, "exitstatus")) ?: "";
			if (streq(es, "OK") || str_startswith(es, "WARNINGS"))
				return 0;
			if (quiet)
				fprintf(stderr, "TASK ERROR: %s\n", es);
			return CLI_TASK_FAILED;
		}
		struct timespec ts = {0, TASK_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void cli_print_scalar(FILE *f, json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(f, "%g", json_real_value(v));
	else if (json_is_true(v))
		fputs("1", f);
	else if (json_is_false(v))
		fputs("0", f);
	else if (v && !json_is_null(v)) {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		fputs(s, f);
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
			cli_print_scalar(stdout, json_object_get(data, keys[i]));
			printf("\n");
		}
		free(keys);
		return;
	}
	if (!json_is_array(data)) {
		cli_print_scalar(stdout, data);
		if (!json_is_null(data))
			printf("\n");
		return;
	}
	_cleanup_json_ json_t *cols = json_object();
	size_t i;
	json_t *row;
	json_array_foreach (data, i, row) {
		if (!json_is_object(row)) {
			cli_print_scalar(stdout, row);
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
			cli_print_scalar(stdout, json_object_get(row, names[c]));
		}
		printf("\n");
	}
	free(names);
}

void cli_print(struct cli *c, json_t *data, enum cli_output def)
{
	enum cli_output out = c->out == CLI_OUT_DEFAULT ? def : c->out;
	if (!data)
		data = json_null();
	if (out == CLI_OUT_TEXT) {
		print_text(data);
	} else {
		char *s =
		    json_dumps(data, JSON_ENCODE_ANY | JSON_SORT_KEYS |
		                         (out == CLI_OUT_JSON ? JSON_COMPACT : JSON_INDENT(4)));
		printf("%s\n", s);
		free(s);
	}
	fflush(stdout);
}

char *cli_read_password(const char *prog, const char *prompt)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fputs(prompt, stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char buf[PASSWORD_MAX + 2];
	char *r = fgets(buf, sizeof(buf), stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!r) {
		fprintf(stderr, "%s: no password on standard input\n", prog);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	char *pw = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return pw;
}
