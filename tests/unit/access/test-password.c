/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* pve realm password hashes (pve-api.md 3.3) and random secrets. */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "auth.h"
#include "xalloc.h"

/* Made with python3 crypt.crypt and checked with `openssl passwd -5/-6`. */
#define PASSWORD    "s3cret pass"
#define HASH_SHA256 "$5$Xn8q2Lr0$VirUu.mgMR3.KpSAccBbTjEokXzH4VO8tugMyRE8Rt7"
#define HASH_SHA512                                                 \
	"$6$Zq7vW1pA$tEsmM8yB6894a0T5wRqV.WUCWWR.vKG98sBtM9zQd4OB/" \
	"aggZG4qSgYORynA43MRAxwA6heY58UAm9PLucq4u0"
#define HASH_SHA256_LONG_SALT "$5$hhyVrBoOrXeFpZBP$GhwSRxSuiONuKZl5XNW2KT4ct59ZCIxiB/7Nw2tRfX1"
#define HASH_YESCRYPT         "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$9D5RovS/HuknGI0.ktF/JBj1lhaH1xkbCFp3CJ3OVL/"

static void test_hash_verify(void **state)
{
	_cleanup_free_ char *h1 = auth_password_hash(PASSWORD);
	_cleanup_free_ char *h2 = auth_password_hash(PASSWORD);
	assert_non_null(h1);
	assert_true(str_startswith(h1, "$y$"));
	assert_string_not_equal(h1, h2); /* fresh salt each time */
	assert_true(auth_password_verify(PASSWORD, h1));
	assert_true(auth_password_verify(PASSWORD, h2));
	assert_false(auth_password_verify("s3cret pasS", h1));
	assert_false(auth_password_verify("", h1));
	assert_false(auth_password_verify(PASSWORD "x", h1));

	_cleanup_free_ char *empty = auth_password_hash("");
	assert_true(auth_password_verify("", empty));
	assert_false(auth_password_verify("x", empty));
}

static void test_known_hashes(void **state)
{
	static const char *const hashes[] = {HASH_SHA256, HASH_SHA512, HASH_SHA256_LONG_SALT,
	                                     HASH_YESCRYPT};
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++) {
		assert_true(auth_password_verify(PASSWORD, hashes[i]));
		assert_false(auth_password_verify("wrong", hashes[i]));
		assert_false(auth_password_verify("s3cret pas", hashes[i]));
	}
}

static void test_bad_hashes(void **state)
{
	static const char *const bad[] = {
	    "",
	    "*",
	    "!",
	    ("!" HASH_SHA256), /* usermod -L */
	    "x",
	    "$5$",
	    "$5$Xn8q2Lr0$VirUu.mgMR3.KpSAccBbTjEokXzH4VO8tugMyRE8Rt",
	    "$99$abc$def",
	    "$y$",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(auth_password_verify(PASSWORD, bad[i]));
	assert_false(auth_password_verify(NULL, HASH_SHA256));
	assert_false(auth_password_verify(PASSWORD, NULL));

	char *huge = xmalloc(5000);
	memset(huge, 'p', 4999);
	huge[4999] = '\0';
	assert_null(auth_password_hash(huge));
	assert_false(auth_password_verify(huge, HASH_SHA256));
	free(huge);
}

static void test_random(void **state)
{
	_cleanup_free_ char *u1 = auth_random_uuid();
	_cleanup_free_ char *u2 = auth_random_uuid();
	assert_int_equal(strlen(u1), 36);
	assert_string_not_equal(u1, u2);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u1[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u1[i]));
	}
	assert_int_equal(u1[14], '4');
	assert_non_null(strchr("89ab", u1[19]));

	uint8_t a[32] = {0}, b[32] = {0};
	auth_random_bytes(a, sizeof(a));
	auth_random_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	auth_random_bytes(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_verify),
	    cmocka_unit_test(test_known_hashes),
	    cmocka_unit_test(test_bad_hashes),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
