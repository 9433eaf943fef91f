/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "backend-dir-cmd.h"
#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "image-header.h"
#include "jsonutil.h"
#include "xalloc.h"

#define QCOW2_MAGIC 0x514649fbu
/* qcow2: the backing file name is at most 1023 bytes and lies in the
 * first cluster; clusters are 512 B to 2 MiB */
#define QCOW2_BACKING_MAX      1023u
#define QCOW2_CLUSTER_BITS_MIN 9u
#define QCOW2_CLUSTER_BITS_MAX 21u
/* incompatible features this reader may ignore: dirty (0), corrupt (1) is
 * refused below, compression type (3), extended L2 entries (4); an
 * external data file (2) or anything newer goes to qemu-img */
#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int qcow2_header_parse(const uint8_t *buf, size_t len, struct image_header *ret)
{
	if (len < 72 || be32(buf) != QCOW2_MAGIC)
		return -EINVAL;
	uint32_t version = be32(buf + 4);
	uint64_t boff = be64(buf + 8);
	uint32_t blen = be32(buf + 16);
	uint32_t cbits = be32(buf + 20);
	uint64_t size = be64(buf + 24);
	uint32_t crypt = be32(buf + 32);

	if (version != 2 && version != 3)
		return -EOPNOTSUPP;
	if (cbits < QCOW2_CLUSTER_BITS_MIN || cbits > QCOW2_CLUSTER_BITS_MAX || crypt != 0)
		return -EOPNOTSUPP;
	if (version == 3) {
		if (len < QCOW2_HEADER_MIN)
			return -EINVAL;
		uint64_t incompat = be64(buf + 72);
		if (incompat &
		    ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2))
			return -EOPNOTSUPP;
	}
	if (size > INT64_MAX) /* what every consumer of sizes can hold */
		return -EOPNOTSUPP;
	if (boff == 0) {
		blen = 0;
	} else if (blen == 0 || blen > QCOW2_BACKING_MAX || boff > (1ull << cbits) ||
	           boff + blen > (1ull << cbits) || boff < 72) {
		return -EOPNOTSUPP;
	}
	*ret = (struct image_header){
	    .virtual_size = size, .backing_offset = boff, .backing_len = blen};
	return 0;
}

/* No NUL (xstrndup would cut there) and no control characters. */
static bool name_clean(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

char *qcow2_backing_name(const uint8_t *buf, size_t len, const struct image_header *h)
{
	if (!h->backing_offset || h->backing_offset > len ||
	    h->backing_len > len - h->backing_offset)
		return NULL;
	const uint8_t *p = buf + h->backing_offset;
	return name_clean(p, h->backing_len) ? xstrndup((const char *)p, h->backing_len) : NULL;
}

static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL; /* shorter than its header says */
		got += (size_t)n;
	}
	return 0;
}

int image_header_read(const char *path, const char *fmt, uint64_t *ret_size, char **ret_backing)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat s;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &s) < 0)
		return -errno;
	if (!S_ISREG(s.st_mode))
		return -EOPNOTSUPP;
	if (streq(fmt, "raw")) {
		*ret_size = (uint64_t)s.st_size;
		*ret_backing = NULL;
		return 0;
	}
	if (!streq(fmt, "qcow2"))
		return -EOPNOTSUPP;

	uint8_t head[QCOW2_HEADER_MIN];
	struct image_header h;
	if (s.st_size < (off_t)sizeof(head))
		return -EOPNOTSUPP;
	int r = read_at(fd, head, sizeof(head), 0);
	if (r < 0)
		return r == -EINVAL ? -EOPNOTSUPP : r;
	r = qcow2_header_parse(head, sizeof(head), &h);
	if (r < 0)
		return -EOPNOTSUPP;
	char *backing = NULL;
	if (h.backing_offset) {
		uint8_t name[QCOW2_BACKING_MAX];
		r = read_at(fd, name, h.backing_len, (off_t)h.backing_offset);
		if (r < 0)
			return r == -EINVAL ? -EOPNOTSUPP : r;
		if (!name_clean(name, h.backing_len))
			return -EOPNOTSUPP;
		backing = xstrndup((const char *)name, h.backing_len);
	}
	*ret_size = h.virtual_size;
	*ret_backing = backing;
	return 0;
}

/* --- references: what an image names besides its own file --- */

#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_KNOWN     0x1full /* dirty, corrupt, data file, compression, ext. L2 */
#define QCOW2_EXT_END            0u
#define QCOW2_EXT_BACKING_FMT    0xe2792acau
#define QCOW2_EXT_DATA_FILE      0x44415441u
#define QCOW2_BACKING_FMT_MAX    15u /* qemu's backing_format[16] */
/* qemu's vmdk_parent_open reads DESC_SIZE bytes from the descriptor offset,
 * 0x200 for a sparse file, and looks for this key anywhere before a NUL */
#define VMDK_DESC_OFFSET 0x200u
#define VMDK_DESC_SIZE   (20u * 512u)
#define VMDK_PARENT_KEY  "parentFileNameHint"
#define IMAGE_CHAIN_MAX  16

void image_refs_clear(struct image_refs *r)
{
	free(r->backing_name);
	free(r->backing_fmt);
	*r = (struct image_refs){0};
}

/* The first len bytes of a file, read as qemu reads them: zeros past the end. */
struct view {
	const uint8_t *p;
	size_t len;
};

static uint8_t view_at(const struct view *v, uint64_t off)
{
	return off < v->len ? v->p[off] : 0;
}

static uint32_t view_be32(const struct view *v, uint64_t off)
{
	uint32_t x = 0;
	for (unsigned i = 0; i < 4; i++)
		x = x << 8 | view_at(v, off + i);
	return x;
}

static uint64_t view_be64(const struct view *v, uint64_t off)
{
	return (uint64_t)view_be32(v, off) << 32 | view_be32(v, off + 4);
}

static uint64_t view_le64(const struct view *v, uint64_t off)
{
	uint64_t x = 0;
	for (unsigned i = 8; i > 0; i--)
		x = x << 8 | view_at(v, off + i - 1);
	return x;
}

/* The n bytes at off as a string when all lie inside the view and are
 * clean text (see name_clean), else NULL. */
static char *view_name(const struct view *v, uint64_t off, uint64_t n)
{
	if (n == 0 || off > v->len || n > v->len - off || !name_clean(v->p + off, (size_t)n))
		return NULL;
	return xstrndup((const char *)v->p + off, (size_t)n);
}

/*
 * As qemu's qcow2_do_open reads them: the fixed header, the backing file
 * name, and the header extensions from the end of the header up to the
 * backing file name (or the end of the first cluster).  What qemu itself
 * refuses (a version other than 2 and 3, an unknown incompatible feature, a
 * bad cluster size or extension length) is refused too, so nothing accepted
 * here means something else to qemu.
 */
static int qcow2_refs(const struct view *v, struct image_refs *r, struct error **err)
{
	if (view_be32(v, 0) != QCOW2_MAGIC)
		return error_set(err, -EINVAL, 500, "not a qcow2 image");
	uint32_t version = view_be32(v, 4);
	if (version != 2 && version != 3)
		return error_set(err, -EINVAL, 500, "unsupported qcow2 version %u", version);
	uint32_t cbits = view_be32(v, 20);
	if (cbits < QCOW2_CLUSTER_BITS_MIN || cbits > QCOW2_CLUSTER_BITS_MAX)
		return error_set(err, -EINVAL, 500, "invalid qcow2 cluster size");
	uint64_t cluster = 1ull << cbits, hlen = 72;
	if (version == 3) {
		hlen = view_be32(v, 100);
		if (hlen < QCOW2_HEADER_MIN || hlen > cluster)
			return error_set(err, -EINVAL, 500, "invalid qcow2 header length");
		uint64_t incompat = view_be64(v, 72);
		if (incompat & ~QCOW2_INCOMPAT_KNOWN)
			return error_set(err, -EINVAL, 500, "unsupported qcow2 feature");
		if (incompat & QCOW2_INCOMPAT_DATA_FILE)
			r->data_file = true;
	}
	uint64_t boff = view_be64(v, 8);
	uint32_t blen = view_be32(v, 16);
	if (boff) {
		/* qemu would take a name from anywhere in the file, with its
		 * extensions up to there; ours lie in the first cluster */
		if (boff > cluster || blen > QCOW2_BACKING_MAX || blen > cluster - boff)
			return error_set(err, -EINVAL, 500,
			                 "qcow2 backing file name outside the first cluster");
		r->backing = true;
		r->backing_name = view_name(v, boff, blen);
	}
	uint64_t end = boff ? boff : cluster;
	for (uint64_t off = hlen; off < end;) {
		uint32_t magic = view_be32(v, off), elen = view_be32(v, off + 4);
		off += 8;
		if (off > end || elen > end - off)
			return error_set(err, -EINVAL, 500, "invalid qcow2 header extension");
		if (magic == QCOW2_EXT_END)
			break;
		if (magic == QCOW2_EXT_DATA_FILE) {
			r->data_file = true;
		} else if (magic == QCOW2_EXT_BACKING_FMT) {
			if (elen > QCOW2_BACKING_FMT_MAX)
				return error_set(err, -EINVAL, 500,
				                 "invalid qcow2 backing format extension");
			free(r->backing_fmt);
			r->backing_fmt = view_name(v, off, elen);
		}
		off += ((uint64_t)elen + 7) & ~7ull;
	}
	return 0;
}

/* qemu's vmdk_parent_open: the key anywhere in the descriptor before a
 * NUL; the name starts two characters after it ('="') and ends at '"'. */
static void vmdk_parent(const struct view *v, struct image_refs *r)
{
	const size_t klen = strlen(VMDK_PARENT_KEY);
	uint64_t start = VMDK_DESC_OFFSET, end = VMDK_DESC_OFFSET + VMDK_DESC_SIZE;
	uint64_t nul = start;
	while (nul < end && view_at(v, nul))
		nul++;
	for (uint64_t p = start; p + klen <= nul; p++) {
		if (memcmp(v->p + p, VMDK_PARENT_KEY, klen) != 0)
			continue;
		r->backing = true;
		r->backing_fmt = xstrdup("vmdk");
		uint64_t name = p + klen + 2, q = name;
		while (q < nul && v->p[q] != '"')
			q++;
		if (q < nul && q - name <= QCOW2_BACKING_MAX)
			r->backing_name = view_name(v, name, q - name);
		return;
	}
}

/*
 * As qemu's vmdk_open: a file starting with the sparse magic "KDMV" (or the
 * old "COWD") is one extent, itself, unless a "KDMV" header has capacity 0
 * and a descriptor offset, when qemu opens that embedded descriptor and the
 * extent files it names.  Anything else is a text descriptor naming extent
 * files.  Either kind may name a parent.
 */
static int vmdk_refs(const struct view *v, struct image_refs *r)
{
	uint8_t m[4] = {view_at(v, 0), view_at(v, 1), view_at(v, 2), view_at(v, 3)};
	if (memcmp(m, "KDMV", 4) == 0) {
		if (view_le64(v, 12) == 0 && view_le64(v, 28) != 0)
			r->extents = true;
	} else if (memcmp(m, "COWD", 4) != 0) {
		r->extents = true;
		return 0;
	}
	vmdk_parent(v, r);
	return 0;
}

int image_refs_parse(const uint8_t *buf, size_t len, const char *fmt, struct image_refs *ret,
                     struct error **err)
{
	struct view v = {buf, len};
	struct image_refs r = {0};
	int rc;

	if (streq(fmt, "raw"))
		rc = 0;
	else if (streq(fmt, "qcow2"))
		rc = qcow2_refs(&v, &r, err);
	else if (streq(fmt, "vmdk"))
		rc = vmdk_refs(&v, &r);
	else
		rc = error_set(err, -EOPNOTSUPP, 500, "image format '%s' is not allowed", fmt);
	if (rc < 0) {
		image_refs_clear(&r);
		return rc;
	}
	*ret = r;
	return 0;
}

/* --- the checks on files --- */

/* A regular file, opened without following a symlink or blocking on a FIFO. */
static int open_image(const char *path, uint64_t *ret_size, struct error **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat s;
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open image '%s' - %s", path,
		                 strerror(errno));
	if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode)) {
		close(fd);
		return error_set(err, -EINVAL, 500, "image '%s' is not a regular file", path);
	}
	*ret_size = (uint64_t)s.st_size;
	return fd;
}

/* The first bytes of fd that image_refs_parse() looks at for fmt. */
static int read_head(int fd, uint64_t size, const char *fmt, uint8_t **ret, size_t *ret_len,
                     struct error **err)
{
	size_t want = 0;
	if (streq(fmt, "vmdk"))
		want = VMDK_DESC_OFFSET + VMDK_DESC_SIZE;
	else if (streq(fmt, "qcow2"))
		want = QCOW2_HEADER_MIN;
	if (want > size)
		want = (size_t)size;
	_cleanup_free_ uint8_t *buf = xmalloc(want ? want : 1);
	int r = read_at(fd, buf, want, 0);
	if (r == 0 && streq(fmt, "qcow2") && want >= 24 && be32(buf) == QCOW2_MAGIC) {
		/* the whole first cluster, where the extensions are */
		uint32_t cbits = be32(buf + 20);
		if (cbits >= QCOW2_CLUSTER_BITS_MIN && cbits <= QCOW2_CLUSTER_BITS_MAX) {
			size_t more = (size_t)1 << cbits;
			if (more > size)
				more = (size_t)size;
			if (more > want) {
				buf = xrealloc(buf, more);
				r = read_at(fd, buf, more, 0);
				want = more;
			}
		}
	}
	if (r < 0)
		return error_set(err, r, 500, "unable to read image header - %s", strerror(-r));
	*ret = TAKE_PTR(buf);
	*ret_len = want;
	return 0;
}

static int file_refs(const char *path, const char *fmt, struct image_refs *ret, struct error **err)
{
	uint64_t size;
	_cleanup_close_ int fd = open_image(path, &size, err);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	if (fd < 0)
		return fd;
	int r = read_head(fd, size, fmt, &buf, &len, err);
	return r < 0 ? r : image_refs_parse(buf, len, fmt, ret, err);
}

static bool allowed_format(const char *fmt)
{
	return streq(fmt, "raw") || streq(fmt, "qcow2") || streq(fmt, "vmdk");
}

/* qemu-img's own view must agree with ours: the format asked for, no
 * backing file, no data file, and a vmdk's only extent the file itself. */
static int qemu_img_agrees(const char *path, const char *fmt, uint64_t *ret_size,
                           struct error **err)
{
	struct cmd c;
	struct cmd_result res = {0};
	dir_info_build_cmd(&c, path, fmt);
	cmd_set_timeout(&c, 10 * 1000);
	int r = cmd_run(&c, &res, err);
	cmd_release(&c);
	_cleanup_json_ json_t *j = r < 0 ? NULL : json_loadb(res.out, res.out_len, 0, NULL);
	cmd_result_clear(&res);
	if (r < 0)
		return r;
	const char *got = json_string_value(json_object_get(j, "format"));
	const char *name = json_string_value(json_object_get(j, "filename"));
	json_t *data = json_object_get(json_object_get(j, "format-specific"), "data");
	json_t *extents = json_object_get(data, "extents"), *e;
	size_t i;
	if (!got || !name || !json_is_integer(json_object_get(j, "virtual-size")))
		return error_set(err, -EIO, 500, "unable to parse 'qemu-img info' output");
	if (!streq(got, fmt))
		return error_set(err, -EINVAL, 500, "image is '%s', not '%s'", got, fmt);
	if (ret_size)
		*ret_size = (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	if (json_object_get(j, "backing-filename") || json_object_get(j, "full-backing-filename"))
		return error_set(err, -EPERM, 500, "backing file not allowed for untrusted image");
	if (json_object_get(data, "data-file"))
		return error_set(err, -EPERM, 500, "'data-file' references are not allowed");
	if (json_array_size(extents) > 1)
		return error_set(err, -EPERM, 500, "multiple extents are not allowed");
	json_array_foreach (extents, i, e) {
		const char *f = json_string_value(json_object_get(e, "filename"));
		if (!f || !streq(f, name))
			return error_set(err, -EPERM, 500, "extent files are not allowed");
	}
	return 0;
}

int image_check_untrusted(const char *path, const char *fmt, struct error **err)
{
	struct image_refs refs = {0};
	if (!allowed_format(fmt))
		return error_set(err, -EOPNOTSUPP, 500, "image format '%s' is not allowed", fmt);
	int r = file_refs(path, fmt, &refs, err);
	if (r < 0)
		return r;
	if (refs.backing)
		r = error_set(err, -EPERM, 500, "backing file not allowed for untrusted image");
	else if (refs.data_file)
		r = error_set(err, -EPERM, 500, "'data-file' references are not allowed");
	else if (refs.extents)
		r = error_set(err, -EPERM, 500,
		              "vmdk descriptors naming extent files are not allowed");
	image_refs_clear(&refs);
	if (r < 0 || streq(fmt, "raw"))
		return r;
	return qemu_img_agrees(path, fmt, NULL, err);
}

/* Whether a file qemu would probe (its backing format is not recorded)
 * can only be something without references: qcow2 versions 2 and 3 are
 * "qcow2", vmdk headers or text that qemu's vmdk probe takes are "vmdk"
 * (their references checked in turn), qcow version 1 and QED (which have
 * backing files) NULL, the rest "raw". */
static const char *probe_format(const char *path, struct error **err)
{
	uint64_t size;
	_cleanup_close_ int fd = open_image(path, &size, err);
	uint8_t b[512] = {0};
	if (fd < 0)
		return NULL;
	size_t n = size < sizeof(b) ? (size_t)size : sizeof(b);
	if (read_at(fd, b, n, 0) < 0) {
		error_set(err, -EIO, 500, "unable to read image '%s'", path);
		return NULL;
	}
	if (be32(b) == QCOW2_MAGIC) {
		uint32_t version = be32(b + 4);
		if (version == 2 || version == 3)
			return "qcow2";
	} else if (memcmp(b, "KDMV", 4) == 0 || memcmp(b, "COWD", 4) == 0) {
		return "vmdk";
	} else if (memcmp(b, "QED", 4) != 0) {
		/* vmdk_probe: comment and blank lines, then "version=" */
		size_t i = 0;
		while (i < n && (b[i] == '#' || b[i] == ' ' || b[i] == '\n' || b[i] == '\r')) {
			if (b[i] == '#')
				while (i < n && b[i] != '\n')
					i++;
			else
				i++;
		}
		return i + 8 <= n && memcmp(b + i, "version=", 8) == 0 ? "vmdk" : "raw";
	}
	error_set(err, -EPERM, 500, "backing file '%s' has a format that is not allowed", path);
	return NULL;
}

/* real lies strictly below root (both canonical). */
static bool path_below(const char *real, const char *root)
{
	size_t n = strlen(root);
	if (n == 1)
		return real[0] == '/' && real[1];
	return strncmp(real, root, n) == 0 && real[n] == '/';
}

int image_check_host_file(const char *path, const char **ret_fmt, uint64_t *ret_size,
                          struct error **err)
{
	uint64_t size = 0;
	/* open_image(): O_NOFOLLOW and fstat, so no device, fifo or link */
	const char *fmt = probe_format(path, err);
	if (!fmt)
		return -EPERM;
	int r = image_check_untrusted(path, fmt, err);
	if (r < 0)
		return r;
	if (streq(fmt, "raw")) {
		_cleanup_close_ int fd = open_image(path, &size, err);
		if (fd < 0)
			return fd;
	} else {
		r = qemu_img_agrees(path, fmt, &size, err);
		if (r < 0)
			return r;
	}
	*ret_fmt = fmt;
	*ret_size = size;
	return 0;
}

int image_check_confined(const char *path, const char *fmt, const char *root, struct error **err)
{
	_cleanup_free_ char *real_root = NULL, *cur = xstrdup(path), *cur_fmt = xstrdup(fmt);
	if (root && !(real_root = realpath(root, NULL)))
		return error_set(err, -errno, 500, "unable to resolve '%s' - %s", root,
		                 strerror(errno));
	for (int depth = 0;; depth++) {
		struct image_refs refs = {0};
		int r =
		    allowed_format(cur_fmt)
		        ? file_refs(cur, cur_fmt, &refs, err)
		        : error_set(err, -EPERM, 500, "image '%s' has format '%s'", cur, cur_fmt);
		if (r < 0)
			return r;
		if (refs.data_file)
			r = error_set(err, -EPERM, 500,
			              "image '%s' references an external data file", cur);
		else if (refs.extents)
			r = error_set(err, -EPERM, 500,
			              "image '%s' is a vmdk descriptor naming extent files", cur);
		else if (!refs.backing || !root)
			r = 1;
		else if (depth == IMAGE_CHAIN_MAX)
			r = error_set(err, -ELOOP, 500, "backing chain of '%s' is too long", path);
		else if (!refs.backing_name || strchr(refs.backing_name, ':'))
			r = error_set(err, -EPERM, 500,
			              "image '%s' names a backing file that is not a plain path",
			              cur);
		if (r != 0) {
			image_refs_clear(&refs);
			return r < 0 ? r : 0;
		}
		/* qemu resolves a relative name against its image's directory */
		const char *slash = strrchr(cur, '/');
		_cleanup_free_ char *next =
		    refs.backing_name[0] == '/' ? xstrdup(refs.backing_name)
		    : slash ? xasprintf("%.*s/%s", (int)(slash - cur), cur, refs.backing_name)
		            : xstrdup(refs.backing_name);
		char *real = realpath(next, NULL);
		if (!real)
			r = error_set(err, -ENOENT, 500, "backing file of '%s' does not exist",
			              cur);
		else if (!path_below(real, real_root))
			r = error_set(err, -EPERM, 500, "backing file of '%s' lies outside '%s'",
			              cur, root);
		if (r < 0) {
			free(real);
			image_refs_clear(&refs);
			return r;
		}
		free(cur);
		cur = real;
		free(cur_fmt);
		const char *probed = refs.backing_fmt ? refs.backing_fmt : probe_format(cur, err);
		cur_fmt = probed ? xstrdup(probed) : NULL;
		image_refs_clear(&refs);
		if (!cur_fmt)
			return -EPERM;
	}
}
