/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Volume ids and names arrive in every disk, backup and upload request.
 * Checks: no crash; an accepted volid formats back to itself; an accepted
 * volume name gives a path strictly below the storage, without ".", ".."
 * or empty components or control bytes, and that path maps back to a
 * volume with the same path; a mapped path parses and goes back to itself.
 */
#include "common.h"

#include "error.h"
#include "volid.h"
#include "xalloc.h"

#define BASE "/srv/store"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool path_is_clean(const char *p)
{
	if (strncmp(p, BASE "/", strlen(BASE "/")) != 0)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	const char *s = p + 1;
	for (;;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!*e)
			return true;
		s = e + 1;
	}
}

static void check_volid(const char *s)
{
	struct volid v;
	if (volid_parse(s, &v, NULL) < 0)
		return;
	char *f = volid_format(v.storeid, v.volname);
	if (!streq(f, s))
		abort();
	struct volid w;
	if (volid_parse(f, &w, NULL) < 0 || !streq(w.storeid, v.storeid) ||
	    !streq(w.volname, v.volname))
		abort();
	volid_clear(&w);
	volid_clear(&v);
	free(f);
}

static void check_volname(const char *s)
{
	struct volname_info i;
	struct error *e = NULL;
	if (volname_parse(s, &i, &e) < 0) {
		if (!e || e->http_status != 400 || strchr(e->msg, '\n'))
			abort();
		error_free(e);
		char *p = volname_path(BASE, s, NULL, NULL);
		if (p)
			abort();
		return;
	}
	char *p = volname_path(BASE, s, NULL, NULL);
	if (!p || !path_is_clean(p))
		abort();
	char *vn = NULL;
	if (path_to_volname(BASE, p, &vn, NULL, NULL) == 0) {
		char *q = volname_path(BASE, vn, NULL, NULL);
		if (!q || !streq(p, q))
			abort();
		free(q);
		free(vn);
	}
	free(p);
	volname_info_clear(&i);
}

static void check_path(const char *s)
{
	char *vn = NULL;
	enum vtype t;
	if (path_to_volname(BASE, s, &vn, &t, NULL) < 0)
		return;
	struct volname_info i;
	if (volname_parse(vn, &i, NULL) < 0 || i.vtype != t)
		abort();
	char *p = volname_path(BASE, vn, NULL, NULL);
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	if (!p || strlen(p) != n || strncmp(p, s, n) != 0 || !path_is_clean(p))
		abort();
	free(p);
	free(vn);
	volname_info_clear(&i);
}

static void check_archive(const char *s)
{
	struct archive_info a;
	if (archive_info_parse(s, &a, NULL) < 0)
		return;
	if (strchr(a.filename, '/') || (a.is_std_name && (!a.logfilename || a.vmid < 100)))
		abort();
	archive_info_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = xstrndup((const char *)data, size);
	check_volid(s);
	check_volname(s);
	check_path(s);
	check_archive(s);
	/* the same text as the volume name of a volid and as a path below the store */
	char *v = xasprintf("local:%s", s);
	check_volid(v);
	char *p = xasprintf(BASE "/%s", s);
	check_path(p);
	free(p);
	free(v);
	free(s);
	return 0;
}
