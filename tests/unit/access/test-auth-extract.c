/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Credentials from Cookie and Authorization headers (pve-api.md 2.5, 2.7). */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "auth.h"
#include "xalloc.h"

struct expect {
	const char *cookie, *authz;
	const char *ticket, *tokenid, *secret;
};

static void check(const struct expect *e)
{
	struct auth_credentials c;
	auth_extract_credentials(e->cookie, e->authz, &c);
	if (!streq_ptr(c.ticket, e->ticket) || !streq_ptr(c.tokenid, e->tokenid) ||
	    !streq_ptr(c.token_secret, e->secret))
		fail_msg("cookie '%s' authorization '%s': got ticket '%s' token '%s' secret '%s'",
		         e->cookie ? e->cookie : "(null)", e->authz ? e->authz : "(null)",
		         c.ticket ? c.ticket : "(null)", c.tokenid ? c.tokenid : "(null)",
		         c.token_secret ? c.token_secret : "(null)");
	auth_credentials_clear(&c);
	assert_null(c.ticket);
	assert_null(c.tokenid);
	assert_null(c.token_secret);
}

#define T "PVE:root@pam:66FFC000::abc+/def=="

static void test_ticket_sources(void **state)
{
	static const struct expect cases[] = {
	    {NULL, NULL, NULL, NULL, NULL},
	    {"", "", NULL, NULL, NULL},
	    {"PVEAuthCookie=" T, NULL, T, NULL, NULL},
	    {NULL, "PVEAuthCookie=" T, T, NULL, NULL},
	    {"PVEAuthCookie " T, NULL, T, NULL, NULL},
	    /* the cookie wins over Authorization */
	    {"PVEAuthCookie=cookie", "PVEAuthCookie=authz", "cookie", NULL, NULL},
	    /* an empty cookie value is no ticket: Authorization is next */
	    {"PVEAuthCookie=", "PVEAuthCookie=authz", "authz", NULL, NULL},
	    {"PVEAuthCookie=;", "PVEAuthCookie=authz", "authz", NULL, NULL},
	    /* among other cookies (after whitespace only, like PVE) */
	    {"a=1; PVEAuthCookie=" T "; b=2", NULL, T, NULL, NULL},
	    {"a=1;\tPVEAuthCookie=x", NULL, "x", NULL, NULL},
	    {"a=1;PVEAuthCookie=x", NULL, NULL, NULL, NULL},
	    {"XPVEAuthCookie=x", NULL, NULL, NULL, NULL},
	    {"PVEAuthCookieX=x; PVEAuthCookie=y", NULL, "y", NULL, NULL},
	    {"pveauthcookie=x", NULL, NULL, NULL, NULL},
	    /* the first match counts; the value runs to ';' */
	    {"PVEAuthCookie=one; PVEAuthCookie=two", NULL, "one", NULL, NULL},
	    {"PVEAuthCookie=a b ;c", NULL, "a b ", NULL, NULL},
	    /* URI-unescaped, '+' kept, invalid escapes kept, %00 kept */
	    {"PVEAuthCookie=PVE%3Aroot%40pam%3A66FFC000%3A%3Aab%2Bc+d", NULL,
	     "PVE:root@pam:66FFC000::ab+c+d", NULL, NULL},
	    {"PVEAuthCookie=%zz%4%", NULL, "%zz%4%", NULL, NULL},
	    {"PVEAuthCookie=a%00b", NULL, "a%00b", NULL, NULL},
	    {"PVEAuthCookie=%41%61", NULL, "Aa", NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(&cases[i]);
}

static void test_tokens(void **state)
{
	static const struct expect cases[] = {
	    {NULL, "PVEAPIToken=root@pam!tok=aaaa-bbbb", NULL, "root@pam!tok", "aaaa-bbbb"},
	    {NULL, "PVEAPIToken root@pam!tok=aaaa-bbbb", NULL, "root@pam!tok", "aaaa-bbbb"},
	    /* split at the last '=' */
	    {NULL, "PVEAPIToken=a=b=c", NULL, "a=b", "c"},
	    {NULL, "PVEAPIToken=root@pam!t=x=", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken==secret", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken=nosecret", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken=", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken", NULL, NULL, NULL},
	    /* unescaped, then split */
	    {NULL, "PVEAPIToken=u%40pam!t%3Ds", NULL, "u@pam!t", "s"},
	    /* a ticket anywhere wins over a token */
	    {"PVEAuthCookie=tick", "PVEAPIToken=u@pam!t=s", "tick", NULL, NULL},
	    {NULL, "PVEAPIToken=u@pam!t=s; PVEAuthCookie=tick", "tick", NULL, NULL},
	    /* the token is only read from Authorization */
	    {"PVEAPIToken=u@pam!t=s", NULL, NULL, NULL, NULL},
	    {NULL, "Bearer PVEAPIToken=u@pam!t=s", NULL, "u@pam!t", "s"},
	    {NULL, "pveapitoken=u@pam!t=s", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken=u@pam!t=s\nx", NULL, NULL, NULL},
	    {NULL, "PVEAPIToken=u@pam!t=s;rest", NULL, "u@pam!t", "s"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(&cases[i]);
}

static void test_garbage(void **state)
{
	/* long and odd headers: no crash, no credential */
	size_t n = 20000;
	char *big = xmalloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	memcpy(big, "PVEAuthCookie=", 14);
	struct expect e1 = {big, big, NULL, NULL, NULL};
	check(&e1);

	/* a value above the bound is ignored, below it is kept */
	big[9000] = '\0';
	struct expect e2 = {big, "PVEAuthCookie=small", "small", NULL, NULL};
	check(&e2);
	big[8000] = '\0';
	struct expect e3 = {big, NULL, big + 14, NULL, NULL};
	check(&e3);
	free(big);

	static const struct expect cases[] = {
	    {"PVEAuthCookie", NULL, NULL, NULL, NULL},
	    {";;;;", "=;=;=", NULL, NULL, NULL},
	    {"\x01\x02\xff", "\xff\xfePVEAPIToken=a=b", NULL, NULL, NULL},
	    {" PVEAuthCookie=%", NULL, "%", NULL, NULL},
	    {"\tPVEAuthCookie=\x7f", NULL, "\x7f", NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(&cases[i]);

	auth_credentials_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ticket_sources),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
