/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <stdarg.h>

#include "error.h"
#include "xalloc.h"

/* Messages travel in the HTTP reason phrase, so they must stay on one line. */
static void flatten(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

int error_set(struct error **err, int code, int http_status, const char *fmt, ...)
{
	if (!err || *err)
		return code;
	struct error *e = xnew(struct error, 1);
	va_list ap;
	va_start(ap, fmt);
	e->msg = xvasprintf(fmt, ap);
	va_end(ap);
	flatten(e->msg);
	e->code = code;
	e->http_status = http_status;
	*err = e;
	return code;
}

int error_param(struct error **err, const char *param, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	if (!*err) {
		error_set(err, -EINVAL, 400, "Parameter verification failed.");
		(*err)->params = json_object();
	}
	if (!(*err)->params) /* a different error is already set: keep it */
		return (*err)->code;
	va_list ap;
	va_start(ap, fmt);
	char *reason = xvasprintf(fmt, ap);
	va_end(ap);
	flatten(reason);
	if (!json_object_get((*err)->params, param))
		json_object_set_new((*err)->params, param, json_string(reason));
	free(reason);
	return (*err)->code;
}

void error_prefix(struct error *e, const char *fmt, ...)
{
	if (!e)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	char *m = xasprintf("%s: %s", p, e->msg);
	free(p);
	free(e->msg);
	e->msg = m;
	flatten(e->msg);
}

void error_propagate(struct error **err, struct error *e)
{
	if (err && !*err)
		*err = e;
	else
		error_free(e);
}

struct error *error_free(struct error *e)
{
	if (!e)
		return NULL;
	free(e->msg);
	json_decref(e->params);
	free(e);
	return NULL;
}
