/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth: the credentials a request can carry (pve-api.md 2.2-2.8).
 *
 *  - tickets   "PVE:<userid>:<HEXTIME>::<base64 RSA-PKCS1v15-SHA256 signature>",
 *              valid for age in (-300, 7200) seconds;
 *  - CSRF      "<HEXTIME>:<base64nopad HMAC-SHA256(secret, "<HEXTIME>:<userid>")>",
 *              bound to the userid, same age window;
 *  - API token "Authorization: PVEAPIToken=<user@realm!tokenid>=<secret>";
 *  - passwords checked through PAM (pam realm) or crypt(3) hashes (pve realm).
 *
 * The node's keys are generated on first start: <priv>/authkey.key (RSA 2048,
 * 0600), <etc>/authkey.pub, and <priv>/csrf.key (32 random bytes, 0600).
 */
#pragma once

#include <stdbool.h>
#include <time.h>

struct error;
struct auth_keys;

#define AUTH_TICKET_LIFETIME 7200
#define AUTH_TICKET_SKEW     300

/* Loads the keys, creating any that are missing (atomically, 0600). */
int auth_keys_load(const char *etc_dir, const char *priv_dir, struct auth_keys **ret,
                   struct error **err);
struct auth_keys *auth_keys_free(struct auth_keys *k);

/* A new ticket for userid at time now (malloc'd).  ':' and '%' in userid are
 * %-escaped, so any userid round-trips.  NULL for a NULL or empty userid (or a
 * signing failure, never expected). */
char *auth_ticket_create(const struct auth_keys *k, const char *userid, time_t now);
/* Verifies signature and age.  On success *ret_userid (malloc'd) and
 * *ret_time.  Any failure: -EACCES, 401 "authentication failure" (the reason
 * is in the error message only at debug level; clients never learn it). */
int auth_ticket_verify(const struct auth_keys *k, const char *ticket, time_t now, char **ret_userid,
                       time_t *ret_time, struct error **err);

char *auth_csrf_create(const struct auth_keys *k, const char *userid, time_t now);
bool auth_csrf_verify(const struct auth_keys *k, const char *userid, const char *token, time_t now);

/*
 * Pulls credentials out of request headers, as PVE's extract_auth_value does:
 * the ticket from "Cookie: PVEAuthCookie=<v>" or else "Authorization:
 * PVEAuthCookie=<v>" (value URI-unescaped, '+' kept); only when there is no
 * ticket, an API token from "Authorization: PVEAPIToken=<tokenid>=<secret>"
 * (or "PVEAPIToken <tokenid>=<secret>", split at the last '=').
 * Header values may be NULL.  Outputs are malloc'd or NULL (*ret is
 * overwritten, not freed); an empty value counts as absent.
 */
struct auth_credentials {
	char *ticket;
	char *tokenid; /* "user@realm!name" */
	char *token_secret;
};
void auth_extract_credentials(const char *cookie_header, const char *authorization_header,
                              struct auth_credentials *ret);
void auth_credentials_clear(struct auth_credentials *c);

/*
 * PAM check for a host account: pam_authenticate then pam_acct_mgmt with the
 * given service, PAM_RHOST set; locked or expired accounts fail.  Each check
 * runs in a child process with a deadline (10 s): a PAM module that hangs
 * fails that check only, and is killed with what it started.  Never sleeps
 * on failure (ctvm applies its own delay without holding a thread).
 * Returns 0, or -EACCES with *err 401 "authentication failure".
 */
int auth_pam_check(const char *service, const char *user, const char *password, const char *rhost,
                   struct error **err);
/* Where PAM reads service files: dir, or /etc/pam.d when NULL (the default).
 * Process-wide, for tests that bring their own service file.  A NULL service
 * in auth_pam_check() means CTVM_PAM_SERVICE ("ctvm"). */
void auth_pam_set_confdir(const char *dir);
/* The deadline of one PAM check; 0 restores the default.  Process-wide, for
 * tests. */
void auth_pam_set_timeout_ms(unsigned ms);

/* yescrypt hash of password (crypt(3) "$y$..."), malloc'd; NULL when the
 * password is NULL or longer than 4096 bytes. */
char *auth_password_hash(const char *password);
/* Constant-time comparison of crypt(password, hash) with hash. Any scheme libc
 * knows; locked ("!") or disabled ("*") hashes never match, and cost what
 * auth_password_verify_dummy() does. */
bool auth_password_verify(const char *password, const char *hash);

/* The work of one auth_password_verify() against a hash of the scheme and
 * cost new hashes get, matching nothing: a login whose user, realm or
 * hash is missing does it, so it takes as long as a wrong password for an
 * existing user (no user enumeration by timing). */
void auth_password_verify_dummy(const char *password);
/* How many hashes auth_password_verify() computed in this process (for
 * tests: which paths pay for a hash). */
unsigned long auth_password_verifications(void);

/* Random secrets: a UUID v4 string (token secrets, like Proxmox). */
char *auth_random_uuid(void);
/* Fills buf with n cryptographically random bytes (aborts on failure). */
void auth_random_bytes(void *buf, size_t n);
