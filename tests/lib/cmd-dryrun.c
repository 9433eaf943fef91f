/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "cmd-dryrun.h"
#include "cmd.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

struct reply {
	char *prefix; /* NULL: any command */
	int exit_code;
	char *out, *err;
};

/* All of it under lock: cmd_dryrun_hook() runs in whatever thread runs a
 * command (cmd-dryrun.h, "Threads"). */
static struct {
	pthread_mutex_t lock;
	bool on;
	struct cmd_dryrun_record **recs;
	size_t n_recs, taken;
	struct reply *queue;
	size_t n_queue, head;
	struct reply *rules;
	size_t n_rules;
	char *alias, *alias_as;
	int problems;
} dr = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void reply_clear(struct reply *r)
{
	free(r->prefix);
	free(r->out);
	free(r->err);
}

static void record_free(struct cmd_dryrun_record *rec)
{
	free(rec->line);
	strv_free(rec->argv);
	strv_free(rec->env);
	free(rec->stdin_data);
	free(rec->cwd);
	free(rec);
}

/* Under lock. */
static void reset_locked(void)
{
	for (size_t i = 0; i < dr.n_recs; i++)
		record_free(dr.recs[i]);
	free(dr.recs);
	for (size_t i = 0; i < dr.n_queue; i++)
		reply_clear(&dr.queue[i]);
	free(dr.queue);
	for (size_t i = 0; i < dr.n_rules; i++)
		reply_clear(&dr.rules[i]);
	free(dr.rules);
	free(dr.alias);
	free(dr.alias_as);
	dr.recs = NULL;
	dr.queue = dr.rules = NULL;
	dr.n_recs = dr.taken = dr.n_queue = dr.head = dr.n_rules = 0;
	dr.alias = dr.alias_as = NULL;
	dr.problems = 0;
	dr.on = false;
}

void cmd_dryrun_begin(void)
{
	pthread_mutex_lock(&dr.lock);
	reset_locked();
	dr.on = true;
	pthread_mutex_unlock(&dr.lock);
}

int cmd_dryrun_end(void)
{
	pthread_mutex_lock(&dr.lock);
	for (size_t i = dr.head; i < dr.n_queue; i++) {
		fprintf(stderr, "cmd-dryrun: expected a command '%s' that never ran\n",
		        dr.queue[i].prefix ? dr.queue[i].prefix : "(any)");
		dr.problems++;
	}
	int problems = dr.problems;
	reset_locked();
	pthread_mutex_unlock(&dr.lock);
	return problems;
}

static void add_reply(struct reply **v, size_t *n, const char *prefix, int exit_code,
                      const char *out, const char *err)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct reply){
	    .prefix = prefix && *prefix ? xstrdup(prefix) : NULL,
	    .exit_code = exit_code,
	    .out = xstrdup(out ? out : ""),
	    .err = xstrdup(err ? err : ""),
	};
}

void cmd_dryrun_expect(const char *prefix, int exit_code, const char *out, const char *err)
{
	pthread_mutex_lock(&dr.lock);
	add_reply(&dr.queue, &dr.n_queue, prefix, exit_code, out, err);
	pthread_mutex_unlock(&dr.lock);
}

void cmd_dryrun_on(const char *prefix, int exit_code, const char *out, const char *err)
{
	pthread_mutex_lock(&dr.lock);
	add_reply(&dr.rules, &dr.n_rules, prefix, exit_code, out, err);
	pthread_mutex_unlock(&dr.lock);
}

size_t cmd_dryrun_count(void)
{
	pthread_mutex_lock(&dr.lock);
	size_t n = dr.n_recs;
	pthread_mutex_unlock(&dr.lock);
	return n;
}

const struct cmd_dryrun_record *cmd_dryrun_get(size_t i)
{
	pthread_mutex_lock(&dr.lock);
	const struct cmd_dryrun_record *rec = i < dr.n_recs ? dr.recs[i] : NULL;
	pthread_mutex_unlock(&dr.lock);
	return rec;
}

void cmd_dryrun_alias(const char *s, const char *as)
{
	pthread_mutex_lock(&dr.lock);
	free(dr.alias);
	free(dr.alias_as);
	dr.alias = s && *s ? xstrdup(s) : NULL;
	dr.alias_as = dr.alias ? xstrdup(as) : NULL;
	pthread_mutex_unlock(&dr.lock);
}

/* Under lock: line with the alias applied, added to sb. */
static void add_line_locked(struct strbuf *sb, const char *line)
{
	const char *p = line, *hit;
	size_t n = dr.alias ? strlen(dr.alias) : 0;

	while (n && (hit = strstr(p, dr.alias))) {
		strbuf_add(sb, p, (size_t)(hit - p));
		strbuf_addstr(sb, dr.alias_as);
		p = hit + n;
	}
	strbuf_addstr(sb, p);
	strbuf_addch(sb, '\n');
}

char *cmd_dryrun_take(void)
{
	struct strbuf sb = STRBUF_INIT;

	pthread_mutex_lock(&dr.lock);
	for (; dr.taken < dr.n_recs; dr.taken++)
		add_line_locked(&sb, dr.recs[dr.taken]->line);
	pthread_mutex_unlock(&dr.lock);
	return strbuf_detach(&sb, NULL);
}

void cmd_dryrun_assert_at(const char *expected, const char *file, int line)
{
	_cleanup_free_ char *got = cmd_dryrun_take();

	if (!streq(got, expected))
		print_error("commands run:\n%s-- expected:\n%s--\n", got, expected);
	_assert_string_equal(got, expected, file, line);
}

static bool matches(const char *prefix, const char *line)
{
	if (!prefix)
		return true;
	size_t n = strlen(prefix);
	return strncmp(line, prefix, n) == 0 &&
	       (line[n] == '\0' || line[n] == ' ' || prefix[n - 1] == ' ');
}

static char *bounded(const char *s, size_t max, size_t *ret_len, bool *ret_truncated)
{
	size_t n = strlen(s);

	*ret_truncated = n > max;
	*ret_len = n > max ? max : n;
	return xstrndup(s, *ret_len);
}

int cmd_dryrun_hook(const struct cmd *c, struct cmd_result *ret)
{
	pthread_mutex_lock(&dr.lock);
	if (!dr.on) {
		pthread_mutex_unlock(&dr.lock);
		return 0;
	}

	struct cmd_dryrun_record *rec = xnew(struct cmd_dryrun_record, 1);
	rec->line = cmd_to_string(c);
	rec->argv = strv_copy(c->argv);
	rec->env = c->envc ? strv_copy(c->env) : NULL;
	if (c->stdin_data) {
		rec->stdin_data = xmalloc(c->stdin_len + 1);
		memcpy(rec->stdin_data, c->stdin_data, c->stdin_len);
		rec->stdin_data[c->stdin_len] = '\0';
		rec->stdin_len = c->stdin_len;
	}
	rec->cwd = c->cwd ? xstrdup(c->cwd) : NULL;
	rec->timeout_ms = c->timeout_ms;
	dr.recs = xrealloc(dr.recs, (dr.n_recs + 1) * sizeof(*dr.recs));
	dr.recs[dr.n_recs++] = rec;

	const struct reply *r = NULL;
	if (dr.head < dr.n_queue && matches(dr.queue[dr.head].prefix, rec->line))
		r = &dr.queue[dr.head++];
	for (size_t i = 0; !r && i < dr.n_rules; i++)
		if (matches(dr.rules[i].prefix, rec->line))
			r = &dr.rules[i];

	int rc = 1;
	*ret = (struct cmd_result){0};
	if (!r) {
		fprintf(stderr, "cmd-dryrun: no reply for '%s'%s%s%s\n", rec->line,
		        dr.head < dr.n_queue ? " (next expected: '" : "",
		        dr.head < dr.n_queue
		            ? (dr.queue[dr.head].prefix ? dr.queue[dr.head].prefix : "(any)")
		            : "",
		        dr.head < dr.n_queue ? "')" : "");
		dr.problems++;
		ret->exit_code = 127;
		ret->out = xstrdup("");
		ret->err = xasprintf("cmd-dryrun: no reply for '%s'\n", rec->line);
		ret->err_len = strlen(ret->err);
	} else if (r->exit_code < 0) {
		rc = r->exit_code;
	} else {
		ret->exit_code = r->exit_code;
		ret->out = bounded(r->out, CMD_MAX_STDOUT, &ret->out_len, &ret->out_truncated);
		ret->err = bounded(r->err, CMD_MAX_STDERR, &ret->err_len, &ret->err_truncated);
	}
	pthread_mutex_unlock(&dr.lock);
	return rc;
}
