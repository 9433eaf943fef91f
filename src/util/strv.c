/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include "strv.h"
#include "xalloc.h"

char **strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
	return NULL;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

void strv_push(char ***v, char *s)
{
	size_t n = strv_length(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(**v));
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

void strv_extend(char ***v, const char *s)
{
	strv_push(v, xstrdup(s));
}

char **strv_copy(char *const *v)
{
	if (!v)
		return NULL;
	size_t n = strv_length(v);
	char **c = xnew(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

char **strv_split(const char *s, const char *seps)
{
	size_t n = 0, alloc = 1;
	char **v = xnew(char *, alloc);
	for (const char *p = s ? s : ""; *p;) {
		p += strspn(p, seps);
		size_t len = strcspn(p, seps);
		if (!len)
			break;
		if (n + 2 > alloc) {
			alloc = alloc * 2 + 2;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[n++] = xstrndup(p, len);
		p += len;
	}
	v[n] = NULL;
	return v;
}
