/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Security regressions at the choke point (issue 8), as data: each case is a
 * raw request and the answer a Proxmox client must get.  The users:
 *   alice@pve   PVEAuditor on /           ALICE@pve   Administrator on /
 *   (two users whose names differ only in case)
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>
#include <jansson.h>

#include "dispatch-harness.h"
#include "xalloc.h"

#define CRLF "\r\n"
#define JSON_POST(path, body)                                                         \
	"POST /api2/json" path " HTTP/1.1" CRLF "Content-Type: application/json" CRLF \
	"Content-Length: {LEN}" CRLF CRLF body

static const char user_cfg[] = "user:root@pam:1:0::::::\n"
                               "user:alice@pve:1:0::::::\n"
                               "user:ALICE@pve:1:0::::::\n"
                               "\n"
                               "acl:1:/:alice@pve:PVEAuditor:\n"
                               "acl:1:/:ALICE@pve:Administrator:\n";

/* Ticket renewal (POST /access/ticket with a ticket as the password) hands
 * out a ticket for the ticket's own user only, named as stored. */
static const struct dcase renewal_cases[] = {
    /* alice's ticket does not renew into ALICE's, however it is spelled */
    {JSON_POST("/access/ticket", "{\"username\":\"ALICE@pve\",\"password\":\"{T:alice@pve}\"}"),
     401, "authentication failure", "{\"data\":null}"},
    {JSON_POST("/access/ticket",
               "{\"username\":\"ALICE\",\"realm\":\"pve\",\"password\":\"{T:alice@pve}\"}"),
     401, "authentication failure", "{\"data\":null}"},
    {JSON_POST("/access/ticket", "{\"username\":\"Alice@PVE\",\"password\":\"{T:alice@pve}\"}"),
     401, "authentication failure", "{\"data\":null}"},
    /* ...nor verifies ALICE's privileges */
    {JSON_POST("/access/ticket", "{\"username\":\"ALICE@pve\",\"password\":\"{T:alice@pve}\","
                                 "\"path\":\"/\",\"privs\":\"Sys.Modify\"}"),
     401, "authentication failure", "{\"data\":null}"},
    /* and the other way round */
    {JSON_POST("/access/ticket", "{\"username\":\"alice@pve\",\"password\":\"{T:ALICE@pve}\"}"),
     401, "authentication failure", "{\"data\":null}"},
    /* her own ticket renews; the realm's spelling is canonical */
    {JSON_POST("/access/ticket", "{\"username\":\"alice@pve\",\"password\":\"{T:alice@pve}\"}"),
     200, NULL, "{\"data\":{\"username\":\"alice@pve\"}}"},
    {JSON_POST("/access/ticket", "{\"username\":\"alice@PVE\",\"password\":\"{T:alice@pve}\"}"),
     200, NULL, "{\"data\":{\"username\":\"alice@pve\"}}"},
    {JSON_POST("/access/ticket",
               "{\"username\":\"alice\",\"realm\":\"Pve\",\"password\":\"{T:alice@pve}\"}"),
     200, NULL, "{\"data\":{\"username\":\"alice@pve\"}}"},
    /* root@pam may renew into anyone, named as stored */
    {JSON_POST("/access/ticket", "{\"username\":\"ALICE@pVe\",\"password\":\"{T:root@pam}\"}"), 200,
     NULL, "{\"data\":{\"username\":\"ALICE@pve\"}}"},
    /* a user that does not exist gets nothing, not even from root */
    {JSON_POST("/access/ticket", "{\"username\":\"Alice@pve\",\"password\":\"{T:root@pam}\"}"), 401,
     "authentication failure", "{\"data\":null}"},
};

static void test_renewal(void **state)
{
	dispatch_run_cases(renewal_cases, ARRAY_SIZE(renewal_cases));
}

/* The renewed ticket itself names the user as stored. */
static void test_renewed_ticket_names_stored_user(void **state)
{
	_cleanup_free_ char *raw = dispatch_expand(JSON_POST(
	    "/access/ticket", "{\"username\":\"alice@PVE\",\"password\":\"{T:alice@pve}\"}"));
	_cleanup_free_ char *body = NULL;
	assert_int_equal(dispatch_run(raw, NULL, &body), 200);
	json_error_t je;
	json_t *o = json_loads(body, 0, &je);
	json_t *data = json_object_get(o, "data");
	const char *ticket = json_string_value(json_object_get(data, "ticket"));
	assert_non_null(ticket);
	assert_true(str_startswith(ticket, "PVE:alice@pve:"));
	json_decref(o);
}

static int setup(void **state)
{
	dispatch_setup(user_cfg, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	dispatch_teardown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_renewal),
	    cmocka_unit_test(test_renewed_ticket_names_stored_user),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
