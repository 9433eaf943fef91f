/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Volume ids and names arrive in every disk, backup and upload request.
 * Checks: no crash; an accepted volid formats back to itself and its
 * volume name is bounded and free of control bytes; an accepted volume
 * name gives a path strictly below the storage, without ".", ".." or empty
 * components or control bytes, and that path maps back to a volume with
 * the same path; a mapped path parses and goes back to itself.  The common
 * rules every backend's names keep (volname_check()) accept nothing that
 * could leave a storage, and accept every name of the dir grammar; through
 * the dispatcher (storage_parse_volname()) the dir grammar answers as
 * volname_parse() and the LVM-like and take-anything test backends
 * (tests/lib/storage-fake.h) accept nothing the common rules refuse; the
 * real lvmthin grammar accepts only plain LV names.
 */
#include "common.h"

#include "error.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-fake.h"
#include "storage.h"
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
	if (strlen(v.volname) > VOLNAME_MAX || !*v.volname)
		abort();
	for (const char *c = v.volname; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
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

/* What volname_check() accepts cannot leave a storage, whatever the grammar. */
static void check_common(const char *s)
{
	struct error *e = NULL;
	if (volname_check(s, &e) < 0) {
		if (!e || e->http_status != 400 || strchr(e->msg, '\n'))
			abort();
		error_free(e);
		return;
	}
	size_t n = strlen(s);
	if (n == 0 || n > VOLNAME_MAX || s[0] == '/')
		abort();
	_cleanup_free_ char *p = xasprintf(BASE "/%s", s);
	if (!path_is_clean(p))
		abort();
}

/* The same name through the dispatcher on storages of three grammars. */
static void check_dispatch(const char *s)
{
	static struct storage *dir, *lvm, *lax, *thin;
	if (!dir) {
		static const char text[] = "dir: d1\n\tpath " BASE "\n\n"
		                           "lvm: l1\n\tvgname vg\n\n"
		                           "zfspool: z1\n\tpool tank\n\n"
		                           "lvmthin: t1\n\tvgname vg\n\tthinpool data\n";
		struct section_config *c = NULL;
		storage_fake_register();
		if (storage_config_parse(text, strlen(text), 0, &c, NULL) < 0)
			abort();
		const struct storage_config_snapshot *snap = storage_config_snapshot_new(c);
		if (storage_open(snap, "d1", &dir, NULL) < 0 ||
		    storage_open(snap, "l1", &lvm, NULL) < 0 ||
		    storage_open(snap, "z1", &lax, NULL) < 0 ||
		    storage_open(snap, "t1", &thin, NULL) < 0)
			abort();
		storage_config_snapshot_unref(snap); /* the storages hold it, for good */
	}
	struct volname_info a, b;
	bool common = volname_check(s, NULL) == 0;
	int r = storage_parse_volname(dir, s, &a, NULL);
	int q = volname_parse(s, &b, NULL);
	if ((r == 0) != (q == 0 && strlen(s) <= VOLNAME_MAX) || (r == 0 && !common))
		abort();
	if (r == 0) {
		if (a.vtype != b.vtype || a.vmid != b.vmid || !streq(a.name, b.name) ||
		    a.is_base != b.is_base || !streq_ptr(a.format, b.format))
			abort();
		volname_info_clear(&a);
	}
	if (q == 0)
		volname_info_clear(&b);
	/* the real lvmthin grammar: a name is an LV name, which becomes
	 * "/dev/<vg>/<name>" and an argument of lvm2 commands */
	{
		struct error *e = NULL;
		if (storage_parse_volname(thin, s, &a, &e) == 0) {
			if (!common || a.vmid <= 0 || !streq(a.name, s) || s[0] == '-' ||
			    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567"
			              "89+_.-") != strlen(s))
				abort();
			volname_info_clear(&a);
		} else if (!e || e->http_status != 400) {
			abort();
		}
		error_free(e);
	}
	struct storage *others[] = {lvm, lax};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		struct error *e = NULL;
		if (storage_parse_volname(others[i], s, &a, &e) == 0) {
			if (!common || a.vmid <= 0 || !a.name)
				abort();
			volname_info_clear(&a);
		} else if (!e || e->http_status != 400) {
			abort();
		}
		error_free(e);
	}
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
	check_common(s);
	check_dispatch(s);
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
