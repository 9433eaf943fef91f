/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * image-header against qemu-img itself: images made by qemu-img (qcow2 v2
 * and v3, with and without a backing file, extended L2, after a resize)
 * must read back the virtual size and backing file `qemu-img info` reports;
 * headers this reader must leave to qemu-img or refuse are built by hand.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"
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
	    cmocka_unit_test(test_qemu_made),
	    cmocka_unit_test(test_crafted),
	    cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
