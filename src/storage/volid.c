/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Volume ids and file-storage volume names in Proxmox's grammar.  Each
 * matcher below names the PVE regex it stands for; they are written out by
 * hand (no regex engine) so that the accepted language is exactly what is
 * listed, with the extra refusals described in volid.h.
 */
#include "common.h"

#include "error.h"
#include "volid.h"
#include "xalloc.h"

static const char *const vtype_names[_VTYPE_MAX] = {
    [VTYPE_IMAGES] = "images", [VTYPE_ROOTDIR] = "rootdir", [VTYPE_ISO] = "iso",
    [VTYPE_VZTMPL] = "vztmpl", [VTYPE_BACKUP] = "backup",   [VTYPE_SNIPPETS] = "snippets",
    [VTYPE_IMPORT] = "import",
};

static const char *const vtype_subdirs[_VTYPE_MAX] = {
    [VTYPE_IMAGES] = "images",         [VTYPE_ROOTDIR] = "private", [VTYPE_ISO] = "template/iso",
    [VTYPE_VZTMPL] = "template/cache", [VTYPE_BACKUP] = "dump",     [VTYPE_SNIPPETS] = "snippets",
    [VTYPE_IMPORT] = "import",
};

static const char *const image_format_names[_IMAGE_FORMAT_MAX] = {
    [IMAGE_FORMAT_RAW] = "raw",
    [IMAGE_FORMAT_QCOW2] = "qcow2",
    [IMAGE_FORMAT_VMDK] = "vmdk",
    [IMAGE_FORMAT_SUBVOL] = "subvol",
};

const char *image_format_to_string(enum image_format f)
{
	if ((int)f < 0 || f >= _IMAGE_FORMAT_MAX)
		return NULL;
	return image_format_names[f];
}

enum image_format image_format_from_string(const char *s)
{
	for (int i = 0; s && i < _IMAGE_FORMAT_MAX; i++)
		if (streq(s, image_format_names[i]))
			return (enum image_format)i;
	return IMAGE_FORMAT_INVALID;
}

const char *vtype_to_string(enum vtype t)
{
	if ((int)t < 0 || t >= _VTYPE_MAX)
		return NULL;
	return vtype_names[t];
}

enum vtype vtype_from_string(const char *s)
{
	for (int i = 0; s && i < _VTYPE_MAX; i++)
		if (streq(s, vtype_names[i]))
			return (enum vtype)i;
	return VTYPE_INVALID;
}

const char *vtype_subdir(enum vtype t)
{
	if ((int)t < 0 || t >= _VTYPE_MAX)
		return NULL;
	return vtype_subdirs[t];
}

/* ---- small string helpers ---- */

static bool is_ctrl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if (is_ctrl((unsigned char)*s))
			return true;
	return false;
}

/* A copy safe to put in a one-line message: control bytes become \xNN. */
static char *esc(const char *s)
{
	size_t n = strlen(s);
	char *r = xmalloc(n * 4 + 1), *p = r;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (is_ctrl(c))
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return r;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* A guest id written canonically: 1-9 digits, no leading zero.  PVE's \d+
 * would also take "0100", which names another directory than 100. */
static bool parse_vmid(const char *s, size_t n, long *ret)
{
	if (!all_digits(s, n) || n > 9 || s[0] == '0')
		return false;
	long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*ret = v;
	return true;
}

/* Perl's \s on the bytes we let through (control bytes are refused first). */
static bool has_space_or_slash(const char *s, size_t n, bool slash)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || (slash && s[i] == '/'))
			return true;
	return false;
}

static bool has_slash(const char *s)
{
	return strchr(s, '/') != NULL;
}

/* s ends with "." + ext and has at least one byte before the dot. */
static bool has_ext(const char *s, const char *ext, bool icase)
{
	size_t n = strlen(s), e = strlen(ext);
	if (n < e + 2 || s[n - e - 1] != '.')
		return false;
	return icase ? strcasecmp(s + n - e, ext) == 0 : strcmp(s + n - e, ext) == 0;
}

/* The first of exts that s ends with, or NULL. */
static const char *match_ext(const char *s, const char *const *exts, bool icase)
{
	for (; *exts; exts++)
		if (has_ext(s, *exts, icase))
			return *exts;
	return NULL;
}

static bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- storage ids and volume ids ---- */

bool storeid_is_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || is_digit(c);
		if (!alnum && !(i < n - 1 && (c == '-' || c == '_' || c == '.')))
			return false;
	}
	return true;
}

int volid_parse(const char *s, struct volid *ret, struct error **err)
{
	const char *colon = s ? strchr(s, ':') : NULL;
	if (!colon || !colon[1] || strlen(colon + 1) > VOLNAME_MAX || has_ctrl(s)) {
		_cleanup_free_ char *e = esc(s ? s : "");
		return error_set(err, -EINVAL, 400, "unable to parse volume ID '%s'", e);
	}
	_cleanup_free_ char *storeid = xstrndup(s, (size_t)(colon - s));
	if (!storeid_is_valid(storeid)) {
		_cleanup_free_ char *e = esc(s);
		return error_set(err, -EINVAL, 400, "unable to parse volume ID '%s'", e);
	}
	ret->storeid = TAKE_PTR(storeid);
	ret->volname = xstrdup(colon + 1);
	return 0;
}

int volname_check(const char *v, struct error **err)
{
	size_t n = v ? strlen(v) : 0;
	bool ok = n > 0 && n <= VOLNAME_MAX && !has_ctrl(v) && v[0] != '/';

	for (const char *c = v; ok;) {
		const char *e = strchrnul(c, '/');
		size_t len = (size_t)(e - c);

		ok = len > 0 && !(len == 1 && c[0] == '.') &&
		     !(len == 2 && c[0] == '.' && c[1] == '.');
		if (!*e)
			break;
		c = e + 1;
	}
	if (!ok) {
		_cleanup_free_ char *e = esc(v ? v : "");
		return error_set(err, -EINVAL, 400, "unable to parse volume name '%s'", e);
	}
	return 0;
}

void volid_clear(struct volid *v)
{
	if (!v)
		return;
	free(v->storeid);
	free(v->volname);
	v->storeid = v->volname = NULL;
}

char *volid_format(const char *storeid, const char *volname)
{
	return xasprintf("%s:%s", storeid, volname);
}

/* ---- volume names ---- */

void volname_info_clear(struct volname_info *i)
{
	if (!i)
		return;
	free(i->name);
	free(i->basename);
	free(i->format);
	*i = (struct volname_info){.vtype = VTYPE_INVALID};
}

static int bad_volname(struct error **err, const char *volname)
{
	_cleanup_free_ char *e = esc(volname);
	return error_set(err, -EINVAL, 400, "unable to parse directory volume name '%s'", e);
}

/* The image format name's extension names, or NULL. */
static const char *image_ext(const char *name)
{
	for (int f = 0; f < _IMAGE_FORMAT_MAX; f++)
		if (has_ext(name, image_format_names[f], false))
			return image_format_names[f];
	return NULL;
}

/* PVE's parse_name_dir: ^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$ */
static int parse_name_dir(const char *name, const char **ret_fmt, bool *ret_base,
                          struct error **err)
{
	const char *fmt = image_ext(name);
	if (!fmt || has_space_or_slash(name, strlen(name), true)) {
		_cleanup_free_ char *e = esc(name);
		return error_set(err, -EINVAL, 400, "unable to parse volume filename '%s'", e);
	}
	*ret_fmt = fmt;
	/* (base-)? only counts when a non-empty stem is left before the dot */
	*ret_base = startswith(name, "base-") && strlen(name) > strlen("base-") + strlen(fmt) + 1;
	return 0;
}

/* ^(\d+)/(\S+)/(\d+)/(\S+)$ with Perl's backtracking: the second number is
 * the last "/<digits>/" that leaves both names non-empty. */
static bool split_linked_clone(const char *v, size_t *ret_b, size_t *ret_p, size_t *ret_q)
{
	size_t n = strlen(v), b = 0;
	while (is_digit(v[b]))
		b++;
	if (b == 0 || v[b] != '/' || has_space_or_slash(v, n, false))
		return false;
	/* $2 starts at b + 1 and is non-empty, so '/' of the second number is at p >= b + 2 */
	for (size_t p = n; p-- > b + 2;) {
		if (v[p] != '/')
			continue;
		size_t q = p + 1;
		while (is_digit(v[q]))
			q++;
		if (q > p + 1 && v[q] == '/' && v[q + 1]) {
			*ret_b = b;
			*ret_p = p;
			*ret_q = q;
			return true;
		}
	}
	return false;
}

/* SAFE_CHAR_WITH_WHITESPACE_CLASS_RE: [ a-zA-Z0-9\-\.\+\=\_] (without the
 * space when !space) */
static bool all_safe(const char *s, size_t n, bool space)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
		    c == '.' || c == '+' || c == '=' || c == '_' || (space && c == ' '))
			continue;
		return false;
	}
	return true;
}

static const char *const iso_exts[] = {"iso", "img", NULL};
static const char *const vztmpl_exts[] = {"tar.gz", "tar.xz", "tar.zst", "tar.bz2", "tar", NULL};
static const char *const backup_exts[] = {
    "tgz",    "tar.gz",  "tar.lzo", "tar.zst", "tar.bz2", "tar",
    "vma.gz", "vma.lzo", "vma.zst", "vma.bz2", "vma",     NULL,
};
static const char *const import_exts[] = {"ova", "ovf", "qcow2", "raw", "vmdk", NULL};
static const char *const ova_member_exts[] = {"qcow2", "raw", "vmdk", NULL};

/* ^vzdump-(openvz|lxc|qemu)-(\d+)-.+ : the owner of a backup, or 0 */
static long backup_owner(const char *fn)
{
	static const char *const types[] = {"vzdump-openvz-", "vzdump-lxc-", "vzdump-qemu-"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (!startswith(fn, types[i]))
			continue;
		const char *d = fn + strlen(types[i]), *e = d;
		while (is_digit(*e))
			e++;
		if (e == d || *e != '-' || !e[1] || e - d > 18)
			return 0;
		return strtol(d, NULL, 10);
	}
	return 0;
}

static int fill(struct volname_info *ret, enum vtype t, const char *name, size_t name_len,
                long vmid, const char *fmt)
{
	*ret = (struct volname_info){
	    .vtype = t,
	    .name = xstrndup(name, name_len),
	    .vmid = vmid,
	    .format = fmt ? xstrdup(fmt) : NULL,
	};
	return 0;
}

int volname_parse(const char *v, struct volname_info *ret, struct error **err)
{
	size_t b, p, q;
	long vmid, basevmid;
	const char *fmt;
	bool is_base;
	int r;

	if (!v || !*v || has_ctrl(v))
		return bad_volname(err, v ? v : "");

	if (split_linked_clone(v, &b, &p, &q)) {
		_cleanup_free_ char *basename = xstrndup(v + b + 1, p - b - 1);
		const char *name = v + q + 1;
		bool base_is_base;
		r = parse_name_dir(basename, &fmt, &base_is_base, err);
		if (r < 0)
			return r;
		r = parse_name_dir(name, &fmt, &is_base, err);
		if (r < 0)
			return r;
		if (!parse_vmid(v, b, &basevmid) || !parse_vmid(v + p + 1, q - p - 1, &vmid))
			return bad_volname(err, v);
		fill(ret, VTYPE_IMAGES, name, strlen(name), vmid, fmt);
		ret->basename = TAKE_PTR(basename);
		ret->basevmid = basevmid;
		ret->is_base = is_base;
		return 0;
	}

	b = 0;
	while (is_digit(v[b]))
		b++;
	if (b > 0 && v[b] == '/' && v[b + 1] && !has_space_or_slash(v, strlen(v), false)) {
		const char *name = v + b + 1;
		r = parse_name_dir(name, &fmt, &is_base, err);
		if (r < 0)
			return r;
		if (!parse_vmid(v, b, &vmid))
			return bad_volname(err, v);
		fill(ret, VTYPE_IMAGES, name, strlen(name), vmid, fmt);
		ret->is_base = is_base;
		return 0;
	}

	const char *rest;
	if (startswith(v, "iso/")) {
		rest = v + 4;
		if (!has_slash(rest) && match_ext(rest, iso_exts, true))
			return fill(ret, VTYPE_ISO, rest, strlen(rest), 0, "raw");
	} else if (startswith(v, "vztmpl/")) {
		rest = v + 7;
		if (!has_slash(rest) && match_ext(rest, vztmpl_exts, true))
			return fill(ret, VTYPE_VZTMPL, rest, strlen(rest), 0, "raw");
	} else if (startswith(v, "rootdir/")) {
		rest = v + 8;
		if (parse_vmid(rest, strlen(rest), &vmid))
			return fill(ret, VTYPE_ROOTDIR, rest, strlen(rest), vmid, NULL);
	} else if (startswith(v, "backup/")) {
		rest = v + 7;
		if (!has_slash(rest) && match_ext(rest, backup_exts, false))
			return fill(ret, VTYPE_BACKUP, rest, strlen(rest), backup_owner(rest),
			            "raw");
	} else if (startswith(v, "snippets/")) {
		rest = v + 9;
		/* PVE: [^/]+, which lets "." and ".." name the directories above */
		if (*rest && !has_slash(rest) && !streq(rest, ".") && !streq(rest, ".."))
			return fill(ret, VTYPE_SNIPPETS, rest, strlen(rest), 0, "raw");
	} else if (startswith(v, "import/")) {
		rest = v + 7;
		const char *slash = strchr(rest, '/');
		if (slash) {
			/* ^import/(SAFE+\.ova/SAFE+\.(qcow2|raw|vmdk))$ */
			size_t olen = (size_t)(slash - rest);
			const char *member = slash + 1;
			if (olen > 4 && strncmp(slash - 4, ".ova", 4) == 0 &&
			    all_safe(rest, olen, true) && !has_slash(member) &&
			    all_safe(member, strlen(member), true) &&
			    (fmt = match_ext(member, ova_member_exts, false))) {
				_cleanup_free_ char *f = xasprintf("ova+%s", fmt);
				return fill(ret, VTYPE_IMPORT, rest, strlen(rest), 0, f);
			}
		} else if (all_safe(rest, strlen(rest), true) &&
		           (fmt = match_ext(rest, import_exts, false))) {
			return fill(ret, VTYPE_IMPORT, rest, strlen(rest), 0, fmt);
		}
	}
	return bad_volname(err, v);
}

/* base_path without trailing slashes; refuses relative or odd bases */
static char *clean_base(const char *base_path, struct error **err)
{
	if (!base_path || base_path[0] != '/' || has_ctrl(base_path)) {
		error_set(err, -EINVAL, 400, "storage definition has no valid path");
		return NULL;
	}
	size_t n = strlen(base_path);
	while (n > 0 && base_path[n - 1] == '/')
		n--;
	return xstrndup(base_path, n);
}

char *volname_path(const char *base_path, const char *volname, const char *snapname,
                   struct error **err)
{
	_cleanup_free_ char *base = clean_base(base_path, err);
	if (!base)
		return NULL;
	struct volname_info info;
	if (volname_parse(volname, &info, err) < 0)
		return NULL;
	char *path = NULL;
	/* qcow2 snapshots are internal: the file is the same with or without one */
	if (snapname && !streq_ptr(info.format, "qcow2"))
		error_set(err, -EINVAL, 400, "can't snapshot this image format");
	else if (info.vtype == VTYPE_IMAGES)
		path =
		    xasprintf("%s/%s/%ld/%s", base, vtype_subdir(info.vtype), info.vmid, info.name);
	else
		path = xasprintf("%s/%s/%s", base, vtype_subdir(info.vtype), info.name);
	volname_info_clear(&info);
	return path;
}

/* "." or ".." or empty components anywhere in rel */
static bool has_dot_component(const char *rel)
{
	const char *s = rel;
	for (;;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return true;
		if (!*e)
			return false;
		s = e + 1;
	}
}

/* rel = dir + "/" + X, X without '/'; returns X or NULL */
static const char *below(const char *rel, const char *dir)
{
	size_t n = strlen(dir);
	if (strncmp(rel, dir, n) != 0 || rel[n] != '/' || !rel[n + 1] || has_slash(rel + n + 1))
		return NULL;
	return rel + n + 1;
}

static char *map_rel(const char *rel, enum vtype *ret_vtype)
{
	const char *x;
	long vmid;

	/* ^$imagedir/(\d+)/([^/\s]+)$, listed by list_images when the
	 * extension is an image format */
	if (startswith(rel, "images/")) {
		const char *d = rel + 7, *slash = strchr(d, '/');
		if (slash && parse_vmid(d, (size_t)(slash - d), &vmid) && slash[1] &&
		    !has_space_or_slash(slash + 1, strlen(slash + 1), true) &&
		    image_ext(slash + 1)) {
			*ret_vtype = VTYPE_IMAGES;
			return xasprintf("%ld/%s", vmid, slash + 1);
		}
		return NULL;
	}
	if ((x = below(rel, "template/iso")) && match_ext(x, iso_exts, true)) {
		*ret_vtype = VTYPE_ISO;
		return xasprintf("iso/%s", x);
	}
	if ((x = below(rel, "template/cache")) && match_ext(x, vztmpl_exts, true)) {
		*ret_vtype = VTYPE_VZTMPL;
		return xasprintf("vztmpl/%s", x);
	}
	if ((x = below(rel, "private")) && parse_vmid(x, strlen(x), &vmid)) {
		*ret_vtype = VTYPE_ROOTDIR;
		return xasprintf("rootdir/%ld", vmid);
	}
	if ((x = below(rel, "dump")) && match_ext(x, backup_exts, false)) {
		*ret_vtype = VTYPE_BACKUP;
		return xasprintf("backup/%s", x);
	}
	if ((x = below(rel, "snippets"))) {
		*ret_vtype = VTYPE_SNIPPETS;
		return xasprintf("snippets/%s", x);
	}
	/* SAFE_CHAR_CLASS_RE here: no whitespace */
	if ((x = below(rel, "import")) && all_safe(x, strlen(x), false) &&
	    match_ext(x, import_exts, false)) {
		*ret_vtype = VTYPE_IMPORT;
		return xasprintf("import/%s", x);
	}
	return NULL;
}

int path_to_volname(const char *base_path, const char *path, char **ret_volname,
                    enum vtype *ret_vtype, struct error **err)
{
	_cleanup_free_ char *base = clean_base(base_path, err);
	if (!base)
		return -EINVAL;
	if (!path || has_ctrl(path)) {
		_cleanup_free_ char *e = esc(path ? path : "");
		return error_set(err, -EINVAL, 400, "invalid path '%s'", e);
	}
	size_t bn = strlen(base), pn = strlen(path);
	while (pn > 0 && path[pn - 1] == '/')
		pn--;
	_cleanup_free_ char *p = xstrndup(path, pn);
	if (strncmp(p, base, bn) != 0 || p[bn] != '/' || has_dot_component(p + bn + 1)) {
		if (strncmp(p, base, bn) == 0 && p[bn] == '/')
			return error_set(err, -EINVAL, 400, "invalid path '%s'", p);
		return error_set(err, -ENOENT, 400,
		                 "unable to map path '%s' to a volume of this storage", p);
	}
	enum vtype t = VTYPE_INVALID;
	_cleanup_free_ char *volname = map_rel(p + bn + 1, &t);
	struct volname_info info;
	/* what we hand out must parse back: one grammar, not two */
	if (!volname || volname_parse(volname, &info, NULL) < 0)
		return error_set(err, -ENOENT, 400,
		                 "unable to map path '%s' to a volume of this storage", p);
	volname_info_clear(&info);
	*ret_volname = TAKE_PTR(volname);
	if (ret_vtype)
		*ret_vtype = t;
	return 0;
}

/* ^(base|vm|subvol)-<vmid>-disk-(\d+)(\..*)?$ : N, or -1 */
static long disk_number(const char *name, long vmid)
{
	static const char *const prefixes[] = {"vm-", "base-", "subvol-"};
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		if (!startswith(name, prefixes[i]))
			continue;
		char want[64];
		snprintf(want, sizeof(want), "%s%ld-disk-", prefixes[i], vmid);
		if (!startswith(name, want))
			return -1;
		const char *d = name + strlen(want), *e = d;
		while (is_digit(*e))
			e++;
		if (e == d || (*e && *e != '.') || e - d > 6)
			return -1;
		return strtol(d, NULL, 10);
	}
	return -1;
}

char *volname_alloc(long vmid, const char *fmt, const char *const *existing, size_t n_existing,
                    bool subvol, struct error **err)
{
	bool used[VOLNAME_MAX_DISKS] = {false};
	if (subvol)
		fmt = "subvol";
	const char *prefix = streq_ptr(fmt, "subvol") ? "subvol" : "vm";
	for (size_t i = 0; i < n_existing; i++) {
		long n = existing[i] ? disk_number(existing[i], vmid) : -1;
		if (n >= 0 && n < VOLNAME_MAX_DISKS)
			used[n] = true;
	}
	for (int i = 0; i < VOLNAME_MAX_DISKS; i++) {
		if (used[i])
			continue;
		if (fmt)
			return xasprintf("%s-%ld-disk-%d.%s", prefix, vmid, i, fmt);
		return xasprintf("%s-%ld-disk-%d", prefix, vmid, i);
	}
	error_set(err, -ENOSPC, 400, "unable to allocate an image name for VM %ld", vmid);
	return NULL;
}

int volname_check_owner(long vmid, const char *name, struct error **err)
{
	char vm[64], sv[64];
	snprintf(vm, sizeof(vm), "vm-%ld-", vmid);
	snprintf(sv, sizeof(sv), "subvol-%ld-", vmid);
	if (name && !has_ctrl(name) && (startswith(name, vm) || startswith(name, sv)))
		return 0;
	_cleanup_free_ char *e = esc(name ? name : "");
	return error_set(err, -EINVAL, 400, "illegal name '%s' - should be 'vm-%ld-*'", e, vmid);
}

/* ---- backup archives ---- */

static const char *const dec_tar_gz[] = {"tar", "-z", NULL};
static const char *const dec_tar_lzo[] = {"tar", "--lzop", NULL};
static const char *const dec_tar_zst[] = {"tar", "--zstd", NULL};
static const char *const dec_tar_bz2[] = {"tar", "--bzip2", NULL};
static const char *const dec_vma_gz[] = {"zcat", NULL};
static const char *const dec_vma_lzo[] = {"lzop", "-d", "-c", NULL};
static const char *const dec_vma_zst[] = {"zstd", "-q", "-d", "-c", NULL};
static const char *const dec_vma_bz2[] = {"bzcat", "-q", NULL};

static const char *const *decompressor(const char *format, const char *comp)
{
	static const struct {
		const char *format, *comp;
		const char *const *argv;
	} table[] = {
	    {"tar", "gz", dec_tar_gz},   {"tar", "lzo", dec_tar_lzo}, {"tar", "zst", dec_tar_zst},
	    {"tar", "bz2", dec_tar_bz2}, {"vma", "gz", dec_vma_gz},   {"vma", "lzo", dec_vma_lzo},
	    {"vma", "zst", dec_vma_zst}, {"vma", "bz2", dec_vma_bz2},
	};
	for (size_t i = 0; comp && i < ARRAY_SIZE(table); i++)
		if (streq(format, table[i].format) && streq(comp, table[i].comp))
			return table[i].argv;
	return NULL;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned num(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* "YYYY_MM_DD-HH_MM_SS" at s (exactly 19 bytes) → seconds, false if not a date */
static bool parse_stamp(const char *s, int64_t *ret)
{
	static const char pat[] = "dddd_dd_dd-dd_dd_dd";
	for (size_t i = 0; i < sizeof(pat) - 1; i++)
		if (pat[i] == 'd' ? !is_digit(s[i]) : s[i] != pat[i])
			return false;
	unsigned y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	unsigned h = num(s + 11, 2), mi = num(s + 14, 2), se = num(s + 17, 2);
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || se > 59)
		return false;
	*ret = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

void archive_info_clear(struct archive_info *a)
{
	if (!a)
		return;
	free(a->filename);
	free(a->logfilename);
	free(a->notesfilename);
	free(a->type);
	free(a->format);
	free(a->compression);
	*a = (struct archive_info){0};
}

int archive_info_parse(const char *archive, struct archive_info *ret, struct error **err)
{
	static const char *const types[] = {"lxc", "openvz", "qemu"};
	const char *fn = archive ? strrchr(archive, '/') : NULL;
	fn = fn ? fn + 1 : archive;
	const char *type = NULL, *ext = NULL;

	/* ^(vzdump-(lxc|openvz|qemu)-.+$BACKUP_EXT_RE_2)$ */
	if (fn && !has_ctrl(archive) && startswith(fn, "vzdump-")) {
		for (size_t i = 0; i < ARRAY_SIZE(types) && !type; i++) {
			const char *t = fn + 7;
			size_t tl = strlen(types[i]);
			if (strncmp(t, types[i], tl) == 0 && t[tl] == '-')
				type = types[i];
		}
		ext = match_ext(fn, backup_exts, false);
		/* ".+" needs a byte between "vzdump-<type>-" and ".<ext>" */
		if (type && ext && strlen(fn) < 7 + strlen(type) + 1 + 1 + 1 + strlen(ext))
			ext = NULL;
	}
	if (!type || !ext) {
		_cleanup_free_ char *e = esc(archive ? archive : "");
		return error_set(err, -EINVAL, 400,
		                 "ERROR: couldn't determine archive info from '%s'", e);
	}

	const char *dot = strchr(ext, '.');
	_cleanup_free_ char *format = dot ? xstrndup(ext, (size_t)(dot - ext)) : xstrdup(ext);
	const char *comp = dot ? dot + 1 : NULL;
	if (streq(format, "tgz")) {
		free(format);
		format = xstrdup("tar");
		comp = "gz";
	}

	*ret = (struct archive_info){
	    .filename = xstrdup(fn),
	    .type = xstrdup(type),
	    .format = TAKE_PTR(format),
	    .compression = comp ? xstrdup(comp) : NULL,
	};
	ret->decompressor = decompressor(ret->format, comp);

	/* ^(vzdump-<type>-([1-9][0-9]{2,8})-<stamp>)\.<ext>$ */
	size_t n = strlen(fn), el = strlen(ext);
	const char *d = fn + 7 + strlen(type) + 1, *e = d;
	while (is_digit(*e))
		e++;
	size_t dl = (size_t)(e - d);
	int64_t ctime;
	if (dl >= 3 && dl <= 9 && d[0] != '0' && *e == '-' &&
	    (size_t)(e + 1 - fn) + 19 + 1 + el == n && parse_stamp(e + 1, &ctime)) {
		size_t stem = n - el - 1;
		ret->logfilename = xasprintf("%.*s.log", (int)stem, fn);
		ret->notesfilename = xasprintf("%s.notes", fn);
		ret->vmid = strtol(d, NULL, 10);
		ret->ctime = ctime;
		ret->is_std_name = true;
	}
	return 0;
}
