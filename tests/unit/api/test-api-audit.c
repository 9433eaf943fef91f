/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The audit log as the choke point writes it: one line per request that
 * may change something (not GET), logins included, byte for byte, with
 * secret parameters as "***", the user (or, for a login, the name it
 * tried), the token, the status and the result; and the chain intact.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>
#include <jansson.h>

#include "access.h"
#include "api.h"
#include "audit.h"
#include "dispatch-harness.h"
#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "usercfg.h"
#include "xalloc.h"

#define CRLF "\r\n"
#define AS(user, verb, path, body)                                                          \
	verb " /api2/json" path " HTTP/1.1" CRLF "Cookie: PVEAuthCookie={T:" user "}" CRLF  \
	     "CSRFPreventionToken: {C:" user "}" CRLF "Content-Type: application/json" CRLF \
	     "Content-Length: {LEN}" CRLF CRLF body
#define TOKEN(verb, path, body)                                       \
	verb " /api2/json" path " HTTP/1.1" CRLF                      \
	     "Authorization: PVEAPIToken=root@pam!ci={V:SECRET}" CRLF \
	     "Content-Type: application/json" CRLF "Content-Length: {LEN}" CRLF CRLF body
#define JSON_POST(path, body)                                                         \
	"POST /api2/json" path " HTTP/1.1" CRLF "Content-Type: application/json" CRLF \
	"Content-Length: {LEN}" CRLF CRLF body

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:bob@pve:1:0::::::\n"
                               "\n"
                               "acl:1:/:bob@pve:PVEAuditor:\n";

static int seed(struct usercfg *cfg, struct access_secrets *sec, void *arg, struct error **err)
{
	int r = dispatch_seed_root_token(cfg, sec, arg, err);
	if (r < 0)
		return r;
	return access_secrets_set_password(sec, "bob@pve", "bob-pw-1", err);
}

/* The line with its time and hash replaced by T and H. */
static char *normalise(const char *line)
{
	_cleanup_free_ char *s = xstrdup(line);
	char *t = strstr(s, "\"time\":");
	assert_non_null(t);
	t += strlen("\"time\":");
	size_t digits = strspn(t, "0123456789");
	assert_true(digits > 0);
	char *p = strstr(s, "\"prev\":\"");
	assert_non_null(p);
	p += strlen("\"prev\":\"");
	assert_int_equal(strspn(p, "0123456789abcdef"), 64);
	return xasprintf("%.*sT%.*sH%s", (int)(t - s), s, (int)(p - (t + digits)), t + digits,
	                 p + 64);
}

static void test_audit_lines(void **state)
{
	struct api_context *ctx = NULL;
	struct error *e = NULL;

	dispatch_setup(user_cfg, seed, NULL);
	ctx = dispatch_context();
	_cleanup_free_ char *path = path_join(ctx->paths->log, "audit.log");
	ctx->audit = audit_log_open(path, &e);
	assert_non_null(ctx->audit);

	static const struct dcase cases[] = {
	    /* a failed login names the user it tried; the password is hidden */
	    {JSON_POST("/access/ticket", "{\"username\":\"bob@pve\",\"password\":\"wrong-pw\"}"),
	     401, NULL, NULL},
	    {JSON_POST("/access/ticket", "{\"username\":\"bob@pve\",\"password\":\"bob-pw-1\"}"),
	     200, NULL, NULL},
	    /* a token's change names the user and the token */
	    {TOKEN("POST", "/access/users",
	           "{\"userid\":\"carl@pve\",\"password\":\"carl-pw-1\",\"comment\":\"x\"}"),
	     200, NULL, NULL},
	    /* reads are not recorded */
	    {TOKEN("GET", "/access/users", ""), 200, NULL, NULL},
	    /* refused calls are, with their message */
	    {AS("bob@pve", "PUT", "/access/users/carl@pve", "{\"comment\":\"y\"}"), 403, NULL,
	     NULL},
	    {AS("bob@pve", "PUT", "/access/password",
	        "{\"userid\":\"bob@pve\",\"password\":\"bob-pw-2\",\"confirmation-password\":"
	        "\"bob-pw-1\"}"),
	     200, NULL, NULL},
	};
	dispatch_run_cases(cases, ARRAY_SIZE(cases));
	audit_log_close(ctx->audit);
	ctx->audit = NULL;

	static const char *const want[] = {
	    "{\"time\":T,\"addr\":\"192.0.2.2\",\"method\":\"POST\",\"path\":\"/access/ticket\","
	    "\"params\":{\"username\":\"bob@pve\",\"password\":\"***\"},\"status\":401,"
	    "\"user\":\"bob@pve\",\"result\":\"authentication failure\",\"prev\":\"H\"}",
	    "{\"time\":T,\"addr\":\"192.0.2.3\",\"method\":\"POST\",\"path\":\"/access/ticket\","
	    "\"params\":{\"username\":\"bob@pve\",\"password\":\"***\"},\"status\":200,"
	    "\"user\":\"bob@pve\",\"result\":\"OK\",\"prev\":\"H\"}",
	    "{\"time\":T,\"addr\":\"192.0.2.4\",\"method\":\"POST\",\"path\":\"/access/users\","
	    "\"params\":{\"userid\":\"carl@pve\",\"password\":\"***\",\"comment\":\"x\"},"
	    "\"status\":200,\"user\":\"root@pam\",\"token\":\"root@pam!ci\",\"result\":\"OK\","
	    "\"prev\":\"H\"}",
	    "{\"time\":T,\"addr\":\"192.0.2.6\",\"method\":\"PUT\","
	    "\"path\":\"/access/users/carl@pve\",\"params\":{\"comment\":\"y\","
	    "\"userid\":\"carl@pve\"},\"status\":403,\"user\":\"bob@pve\","
	    "\"result\":\"Permission check failed (/access/groups, User.Modify)\",\"prev\":\"H\"}",
	    "{\"time\":T,\"addr\":\"192.0.2.7\",\"method\":\"PUT\",\"path\":\"/access/password\","
	    "\"params\":{\"userid\":\"bob@pve\",\"password\":\"***\","
	    "\"confirmation-password\":\"***\"},\"status\":200,"
	    "\"user\":\"bob@pve\",\"result\":\"OK\",\"prev\":\"H\"}",
	};
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(path, 1 << 20, &data, &len, NULL), 0);
	char *line = data;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		_cleanup_free_ char *got = normalise(line);
		if (!streq(got, want[i]))
			fail_msg("line %zu:\n got %s\nwant %s", i + 1, got, want[i]);
		line = nl + 1;
	}
	assert_string_equal(line, "");
	/* no secret reached the file */
	assert_null(strstr(data, "pw-1"));
	assert_null(strstr(data, "wrong-pw"));
	assert_non_null(dispatch_var("SECRET"));
	assert_null(strstr(data, dispatch_var("SECRET")));

	unsigned long bad = 0;
	assert_int_equal(audit_log_verify(path, &bad, NULL), 0);
	dispatch_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
