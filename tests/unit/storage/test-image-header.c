/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * image-header against qemu-img itself: images made by qemu-img (qcow2 v2
 * and v3, with and without a backing file, extended L2, after a resize)
 * must read back the virtual size and backing file `qemu-img info` reports;
 * headers this reader must leave to qemu-img or refuse are built by hand.
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
#include "error.h"
#include "image-header.h"
#include "xalloc.h"

static char dir[] = "/tmp/ctvm-imghdr-XXXXXX";

static void run(const char *const *argv)
{
	struct cmd c;
	cmd_init(&c, argv[0]);
	for (size_t i = 1; argv[i]; i++)
		cmd_add(&c, argv[i]);
	assert_int_equal(cmd_run(&c, NULL, NULL), 0);
	cmd_release(&c);
}

static char *img(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void expect(const char *name, const char *fmt, uint64_t size, const char *backing)
{
	_cleanup_free_ char *p = img(name), *b = NULL;
	uint64_t got = 0;
	assert_int_equal(image_header_read(p, fmt, &got, &b), 0);
	assert_int_equal(got, size);
	if (backing)
		assert_string_equal(b, backing);
	else
		assert_null(b);
}

static void test_qemu_made(void **state)
{
	_cleanup_free_ char *v3 = img("v3.qcow2"), *v2 = img("v2.qcow2"), *raw = img("r.raw"),
	                    *ov = img("ov.qcow2"), *xl2 = img("xl2.qcow2");
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", v3, "1G", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10",
	                          v2, "3M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "raw", raw, "5M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
	                          "v3.qcow2", ov, NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o",
	                          "extended_l2=on,cluster_size=128k", "-u", "-F", "qcow2", "-b",
	                          "../100/base-100-disk-0.qcow2", xl2, "2G", NULL});
	expect("v3.qcow2", "qcow2", 1ull << 30, NULL);
	expect("v2.qcow2", "qcow2", 3ull << 20, NULL);
	expect("r.raw", "raw", 5ull << 20, NULL);
	expect("ov.qcow2", "qcow2", 1ull << 30, "v3.qcow2");
	expect("xl2.qcow2", "qcow2", 2ull << 30, "../100/base-100-disk-0.qcow2");
	run((const char *const[]){"qemu-img", "resize", "-q", "-f", "qcow2", v3, "3G", NULL});
	expect("v3.qcow2", "qcow2", 3ull << 30, NULL);
}

/* A v3 header with the given fields, the rest zero. */
static void header(uint8_t *b, size_t len, uint32_t version, uint64_t boff, uint32_t blen,
                   uint32_t cbits, uint64_t size, uint64_t incompat)
{
	memset(b, 0, len);
	const uint64_t f[][3] = {{0, 4, 0x514649fb}, {4, 4, version}, {8, 8, boff},
	                         {16, 4, blen},      {20, 4, cbits},  {24, 8, size},
	                         {72, 8, incompat},  {100, 4, 104}};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		for (uint64_t k = 0; k < f[i][1]; k++)
			b[f[i][0] + k] = (uint8_t)(f[i][2] >> (8 * (f[i][1] - 1 - k)));
}

static void test_crafted(void **state)
{
	uint8_t b[4096];
	struct image_header h;

	header(b, sizeof(b), 3, 0, 0, 16, 1 << 20, 0);
	assert_int_equal(qcow2_header_parse(b, sizeof(b), &h), 0);
	assert_int_equal(h.virtual_size, 1 << 20);
	assert_int_equal(qcow2_header_parse(b, 50, &h), -EINVAL); /* short */
	assert_int_equal(qcow2_header_parse(b, 80, &h), -EINVAL); /* v3 short */
	b[0] = 'X';
	assert_int_equal(qcow2_header_parse(b, sizeof(b), &h), -EINVAL); /* not qcow2 */

	static const struct {
		uint32_t version, blen, cbits;
		uint64_t boff, size, incompat;
	} leave[] = {
	    {4, 0, 16, 0, 1, 0},               /* unknown version */
	    {3, 0, 8, 0, 1, 0},                /* cluster too small */
	    {3, 0, 22, 0, 1, 0},               /* cluster too large */
	    {3, 0, 16, 0, 1, 1 << 2},          /* external data file */
	    {3, 0, 16, 0, 1, 1 << 1},          /* corrupt */
	    {3, 0, 16, 0, 1, 1ull << 40},      /* a future feature */
	    {3, 0, 16, 0, 1ull << 63, 0},      /* size beyond int64 */
	    {3, 1024, 16, 200, 1, 0},          /* backing name too long */
	    {3, 0, 16, 200, 1, 0},             /* empty backing name */
	    {3, 10, 9, 508, 1, 0},             /* name leaves the first cluster */
	    {3, 10, 16, 10, 1, 0},             /* name inside the header */
	    {3, 10, 16, UINT64_MAX - 4, 1, 0}, /* offset overflow */
	};
	for (size_t i = 0; i < ARRAY_SIZE(leave); i++) {
		header(b, sizeof(b), leave[i].version, leave[i].boff, leave[i].blen, leave[i].cbits,
		       leave[i].size, leave[i].incompat);
		assert_int_equal(qcow2_header_parse(b, sizeof(b), &h), -EOPNOTSUPP);
	}

	/* a name with a NUL or a control character is no name */
	header(b, sizeof(b), 3, 200, 5, 16, 1, 0);
	memcpy(b + 200, "ab\0cd", 5);
	assert_int_equal(qcow2_header_parse(b, sizeof(b), &h), 0);
	assert_null(qcow2_backing_name(b, sizeof(b), &h));
	memcpy(b + 200, "ab\ncd", 5);
	assert_null(qcow2_backing_name(b, sizeof(b), &h));
	memcpy(b + 200, "abcde", 5);
	_cleanup_free_ char *n = qcow2_backing_name(b, sizeof(b), &h);
	assert_string_equal(n, "abcde");
	assert_null(qcow2_backing_name(b, 203, &h)); /* not all inside the buffer */
}

static void test_files(void **state)
{
	_cleanup_free_ char *shortf = img("short.qcow2"), *fake = img("fake.qcow2"),
	                    *vmdk = img("d.vmdk"), *b = NULL;
	uint64_t size;
	FILE *f = fopen(shortf, "w");
	assert_non_null(f);
	fputs("QFI", f);
	fclose(f);
	assert_int_equal(image_header_read(shortf, "qcow2", &size, &b), -EOPNOTSUPP);
	f = fopen(fake, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputc('x', f);
	fclose(f);
	assert_int_equal(image_header_read(fake, "qcow2", &size, &b), -EOPNOTSUPP);
	assert_int_equal(image_header_read(fake, "vmdk", &size, &b), -EOPNOTSUPP);
	assert_int_equal(image_header_read(vmdk, "raw", &size, &b), -ENOENT);
	assert_int_equal(image_header_read(dir, "raw", &size, &b), -EOPNOTSUPP); /* a dir */
}

/* --- references (image_check_untrusted, image_check_confined) --- */

static void put(const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *p = img(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The file's bytes (the test images are small). */
static size_t get(const char *name, uint8_t *buf, size_t size)
{
	_cleanup_free_ char *p = img(name);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

/* image_check_untrusted's result, and its message containing want. */
static void untrusted(const char *name, const char *fmt, int code, const char *want)
{
	_cleanup_free_ char *p = img(name);
	_cleanup_error_ struct error *e = NULL;
	int r = image_check_untrusted(p, fmt, &e);
	if (r != code)
		fail_msg("%s (%s): %d, want %d: %s", name, fmt, r, code, e ? e->msg : "-");
	if (want)
		assert_non_null(strstr(e->msg, want));
}

static void confined(const char *name, const char *fmt, const char *root, int code)
{
	_cleanup_free_ char *p = img(name), *rootp = root ? img(root) : NULL;
	_cleanup_error_ struct error *e = NULL;
	int r = image_check_confined(p, fmt, rootp, &e);
	if (r != code)
		fail_msg("%s (%s) in %s: %d, want %d: %s", name, fmt, root ? root : "-", r, code,
		         e ? e->msg : "-");
}

static const char flat_shadow[] = "# Disk DescriptorFile\n"
                                  "version=1\n"
                                  "CID=fffffffe\n"
                                  "parentCID=ffffffff\n"
                                  "createType=\"monolithicFlat\"\n"
                                  "\n"
                                  "RW 2048 FLAT \"/etc/shadow\" 0\n";

static void test_untrusted_qemu_made(void **state)
{
	_cleanup_free_ char *plain = img("u-plain.qcow2"), *v2 = img("u-v2.qcow2"),
	                    *raw = img("u.raw"), *sparse = img("u-sparse.vmdk"),
	                    *stream = img("u-stream.vmdk"), *back = img("u-back.qcow2"),
	                    *df = img("u-df.qcow2"),
	                    *dfo = xasprintf("data_file=%s/u-df.data", dir);
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", plain, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10",
	                          v2, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "raw", raw, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "vmdk", sparse, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "vmdk", "-o",
	                          "subformat=streamOptimized", stream, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw",
	                          "-b", "/etc/shadow", back, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", dfo, df, "1M",
	                          NULL});

	untrusted("u-plain.qcow2", "qcow2", 0, NULL);
	untrusted("u-v2.qcow2", "qcow2", 0, NULL);
	untrusted("u.raw", "raw", 0, NULL);
	untrusted("u-sparse.vmdk", "vmdk", 0, NULL);
	untrusted("u-stream.vmdk", "vmdk", 0, NULL);
	untrusted("u-plain.qcow2", "raw", 0, NULL); /* raw is what it says: bytes */
	untrusted("u-back.qcow2", "qcow2", -EPERM, "backing file");
	untrusted("u-df.qcow2", "qcow2", -EPERM, "data-file");
	/* the content must be the format the name says */
	untrusted("u.raw", "qcow2", -EINVAL, "not a qcow2 image");
	untrusted("u-sparse.vmdk", "qcow2", -EINVAL, NULL);
	untrusted("u-plain.qcow2", "vmdk", -EPERM, "extent"); /* a "descriptor" to qemu */
	untrusted("u-plain.qcow2", "vdi", -EOPNOTSUPP, NULL);
	untrusted("u-plain.qcow2", "qed", -EOPNOTSUPP, NULL);
	untrusted("missing.qcow2", "qcow2", -ENOENT, NULL);

	/* a VMDK descriptor whose FLAT extent is a host file */
	put("u-flat.vmdk", flat_shadow, strlen(flat_shadow));
	untrusted("u-flat.vmdk", "vmdk", -EPERM, "extent");

	/* a sparse VMDK with capacity 0 and a descriptor offset: qemu opens the
	 * embedded descriptor and its extents */
	static uint8_t b[1 << 18];
	size_t n = get("u-sparse.vmdk", b, sizeof(b));
	assert_true(n > 0x200 + sizeof(flat_shadow) && n < sizeof(b));
	memset(b + 12, 0, 8);
	memset(b + 0x200, 0, 2048);
	memcpy(b + 0x200, flat_shadow, strlen(flat_shadow));
	put("u-emb.vmdk", b, n);
	untrusted("u-emb.vmdk", "vmdk", -EPERM, "extent");

	/* a sparse VMDK whose embedded descriptor names a parent */
	static const char parent[] = "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
	                             "parentCID=ffffffff\nparentFileNameHint=\"/etc/hostname\"\n"
	                             "createType=\"monolithicSparse\"\n";
	n = get("u-sparse.vmdk", b, sizeof(b));
	memset(b + 0x200, 0, 2048);
	memcpy(b + 0x200, parent, strlen(parent));
	put("u-parent.vmdk", b, n);
	untrusted("u-parent.vmdk", "vmdk", -EPERM, "backing file");

	/* the data-file extension alone, without the feature bit */
	n = get("u-df.qcow2", b, sizeof(b));
	assert_true(n > 104);
	b[79] &= (uint8_t)~4u;
	put("u-dfext.qcow2", b, n);
	untrusted("u-dfext.qcow2", "qcow2", -EPERM, "data-file");

	/* only regular files, never through a symlink */
	_cleanup_free_ char *link = img("u-link.qcow2"), *fifo = img("u-fifo.qcow2");
	assert_int_equal(symlink(plain, link), 0);
	untrusted("u-link.qcow2", "qcow2", -ELOOP, NULL);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	untrusted("u-fifo.qcow2", "qcow2", -EINVAL, "regular file");
}

/* A v3 header (cluster 64 KiB) with extensions from byte 104 on. */
static size_t qcow2_with(uint8_t *b, size_t size, const uint32_t *ext, size_t n_ext)
{
	header(b, size, 3, 0, 0, 16, 1 << 20, 0);
	size_t off = 104;
	for (size_t i = 0; i < n_ext; i += 2) {
		for (int k = 0; k < 4; k++) {
			b[off + k] = (uint8_t)(ext[i] >> (24 - 8 * k));
			b[off + 4 + k] = (uint8_t)(ext[i + 1] >> (24 - 8 * k));
		}
		off += 8 + ((ext[i + 1] + 7) & ~7u);
	}
	return off;
}

static void test_refs_crafted(void **state)
{
	static uint8_t b[1 << 16];
	struct image_refs r;
	_cleanup_error_ struct error *e = NULL;

	/* the end marker ends the walk; what follows is not looked at */
	const uint32_t end_first[] = {0, 0, 0x44415441, 8};
	size_t n = qcow2_with(b, sizeof(b), end_first, 4);
	assert_int_equal(image_refs_parse(b, n, "qcow2", &r, NULL), 0);
	assert_false(r.data_file);
	image_refs_clear(&r);
	/* a data file name anywhere in the walk */
	const uint32_t df[] = {0x6803f857, 48, 0x44415441, 11};
	n = qcow2_with(b, sizeof(b), df, 4);
	assert_int_equal(image_refs_parse(b, n, "qcow2", &r, NULL), 0);
	assert_true(r.data_file);
	image_refs_clear(&r);
	/* the feature bit alone */
	header(b, sizeof(b), 3, 0, 0, 16, 1, 1 << 2);
	assert_int_equal(image_refs_parse(b, sizeof(b), "qcow2", &r, NULL), 0);
	assert_true(r.data_file);
	image_refs_clear(&r);
	/* an extension longer than the cluster, an unknown feature, a bad header length */
	const uint32_t huge[] = {0x12345678, 1u << 20};
	n = qcow2_with(b, sizeof(b), huge, 2);
	assert_int_equal(image_refs_parse(b, n, "qcow2", &r, &e), -EINVAL);
	header(b, sizeof(b), 3, 0, 0, 16, 1, 1ull << 5);
	assert_int_equal(image_refs_parse(b, sizeof(b), "qcow2", &r, NULL), -EINVAL);
	header(b, sizeof(b), 3, 0, 0, 16, 1, 0);
	b[103] = 100;
	assert_int_equal(image_refs_parse(b, sizeof(b), "qcow2", &r, NULL), -EINVAL);
	/* the backing format extension, and a backing name read back */
	const uint32_t bf[] = {0xe2792aca, 5};
	n = qcow2_with(b, sizeof(b), bf, 2);
	memcpy(b + 112, "qcow2", 5);
	b[8 + 7] = 200; /* backing offset 200, length 9 */
	b[16 + 3] = 9;
	memcpy(b + 200, "../x.qcow2", 9);
	assert_int_equal(image_refs_parse(b, sizeof(b), "qcow2", &r, NULL), 0);
	assert_true(r.backing);
	assert_string_equal(r.backing_name, "../x.qcow");
	assert_string_equal(r.backing_fmt, "qcow2");
	image_refs_clear(&r);
	/* a backing name past the end of the first cluster */
	b[8 + 5] = 1;
	assert_int_equal(image_refs_parse(b, sizeof(b), "qcow2", &r, NULL), -EINVAL);
	/* bytes past the buffer read as zeros: a short buffer is no crash */
	for (size_t len = 0; len < 200; len++) {
		if (image_refs_parse(b, len, "qcow2", &r, NULL) == 0)
			image_refs_clear(&r);
		if (image_refs_parse(b, len, "vmdk", &r, NULL) == 0)
			image_refs_clear(&r);
	}
	/* vmdk: the parent key right at the end of the descriptor window */
	memset(b, 0, sizeof(b));
	memcpy(b, "KDMV", 4);
	b[12] = 1; /* capacity */
	memset(b + 0x200, 'x', 10240);
	memcpy(b + 0x200 + 10240 - 18, "parentFileNameHint", 18);
	assert_int_equal(image_refs_parse(b, sizeof(b), "vmdk", &r, NULL), 0);
	assert_true(r.backing);
	assert_null(r.backing_name);
	image_refs_clear(&r);
	/* ... and one byte further, where qemu does not look */
	memset(b + 0x200, 'x', 10240);
	memcpy(b + 0x200 + 10240 - 17, "parentFileNameHint", 18);
	assert_int_equal(image_refs_parse(b, sizeof(b), "vmdk", &r, NULL), 0);
	assert_false(r.backing);
	image_refs_clear(&r);
	/* ... or after a NUL */
	memset(b + 0x200, 0, 10240);
	memcpy(b + 0x200, "x\0parentFileNameHint=\"y\"", 25);
	assert_int_equal(image_refs_parse(b, sizeof(b), "vmdk", &r, NULL), 0);
	assert_false(r.backing);
	image_refs_clear(&r);
	assert_int_equal(image_refs_parse(b, sizeof(b), "raw", &r, NULL), 0);
	image_refs_clear(&r);
	assert_int_equal(image_refs_parse(b, sizeof(b), "vhdx", &r, NULL), -EOPNOTSUPP);
}

/* Turns the backing format extension into an unknown one (qemu skips
 * those), as in images made before qemu-img required -F: qemu probes. */
static void hide_backing_fmt(const char *name)
{
	uint8_t b[65536];
	size_t n = get(name, b, sizeof(b));
	for (size_t i = 104; i + 4 < n && i < 4096; i += 8)
		if (b[i] == 0xe2 && b[i + 1] == 0x79 && b[i + 2] == 0x2a && b[i + 3] == 0xca) {
			b[i] = 0x01;
			put(name, b, n);
			return;
		}
	fail_msg("no backing format extension in %s", name);
}

static void test_confined(void **state)
{
	_cleanup_free_ char *root = img("st"), *vm100 = img("st/100"), *vm101 = img("st/101"),
	                    *base = img("st/100/base-100-disk-0.qcow2"),
	                    *ov = img("st/101/vm-101-disk-0.qcow2"),
	                    *ov2 = img("st/101/vm-101-disk-1.qcow2"),
	                    *probed = img("st/101/vm-101-disk-2.qcow2"),
	                    *out = img("st/101/vm-101-disk-3.qcow2"),
	                    *abs = img("st/101/vm-101-disk-4.qcow2"),
	                    *viasym = img("st/101/vm-101-disk-5.qcow2"),
	                    *sym = img("st/100/escape.qcow2"),
	                    *proto = img("st/101/vm-101-disk-6.qcow2"),
	                    *outside = img("outside.qcow2"),
	                    *df = img("st/101/vm-101-disk-7.qcow2"),
	                    *dfo = xasprintf("data_file=%s/st/101/d.data", dir);
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(mkdir(vm100, 0755), 0);
	assert_int_equal(mkdir(vm101, 0755), 0);
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", base, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", outside, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
	                          "../100/base-100-disk-0.qcow2", ov, NULL});
	/* a chain of two, and a backing format qemu would probe */
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
	                          "vm-101-disk-0.qcow2", ov2, NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2",
	                          "-b", "../100/base-100-disk-0.qcow2", probed, "1M", NULL});
	hide_backing_fmt("st/101/vm-101-disk-2.qcow2");
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2",
	                          "-b", "../../outside.qcow2", out, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw",
	                          "-b", "/etc/hostname", abs, "1M", NULL});
	assert_int_equal(symlink(outside, sym), 0);
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2",
	                          "-b", "../100/escape.qcow2", viasym, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw",
	                          "-b", "nbd:127.0.0.1:1", proto, "1M", NULL});
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-o", dfo, df, "1M",
	                          NULL});

	confined("st/100/base-100-disk-0.qcow2", "qcow2", "st", 0);
	confined("st/101/vm-101-disk-0.qcow2", "qcow2", "st", 0);
	confined("st/101/vm-101-disk-1.qcow2", "qcow2", "st", 0);
	confined("st/101/vm-101-disk-2.qcow2", "qcow2", "st", 0);
	confined("st/101/vm-101-disk-3.qcow2", "qcow2", "st", -EPERM);
	confined("st/101/vm-101-disk-4.qcow2", "qcow2", "st", -EPERM);
	confined("st/101/vm-101-disk-5.qcow2", "qcow2", "st", -EPERM);
	confined("st/101/vm-101-disk-6.qcow2", "qcow2", "st", -EPERM);
	confined("st/101/vm-101-disk-7.qcow2", "qcow2", "st", -EPERM);
	/* the base itself below a narrower root is outside it */
	confined("st/101/vm-101-disk-0.qcow2", "qcow2", "st/101", -EPERM);
	/* without a root only what qemu-img info opens counts */
	confined("st/101/vm-101-disk-4.qcow2", "qcow2", NULL, 0);
	confined("st/101/vm-101-disk-7.qcow2", "qcow2", NULL, -EPERM);
	put("st/101/vm-101-disk-8.vmdk", flat_shadow, strlen(flat_shadow));
	confined("st/101/vm-101-disk-8.vmdk", "vmdk", NULL, -EPERM);
	/* a backing file that probes as a format with references */
	put("st/100/qed.raw", "QED\0xxxxxxxxxxxx", 16);
	_cleanup_free_ char *toqed = img("st/101/vm-101-disk-9.qcow2");
	run((const char *const[]){"qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw",
	                          "-b", "../100/qed.raw", toqed, "1M", NULL});
	hide_backing_fmt("st/101/vm-101-disk-9.qcow2");
	confined("st/101/vm-101-disk-9.qcow2", "qcow2", "st", -EPERM);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	struct cmd c;
	cmd_init(&c, "rm");
	cmd_add(&c, "-rf");
	cmd_add(&c, "--");
	cmd_add(&c, dir);
	int r = cmd_run(&c, NULL, NULL);
	cmd_release(&c);
	return r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qemu_made),    cmocka_unit_test(test_crafted),
	    cmocka_unit_test(test_files),        cmocka_unit_test(test_untrusted_qemu_made),
	    cmocka_unit_test(test_refs_crafted), cmocka_unit_test(test_confined),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
