/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pam realm's password check (pve-api.md 3.2): pam_authenticate then
 * pam_acct_mgmt, every prompt answered with the password.
 *
 * PAM modules keep global state and are not thread-safe, so checks run one at
 * a time under pam_lock.  Each check is short because PAM's own failure delay
 * (pam_unix asks for 2 s) is replaced by a no-op: ctvm delays failed logins
 * itself without holding this lock or a thread.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <pthread.h>
#include <security/pam_appl.h>

#include "auth.h"
#include "error.h"
#include "log.h"
#include "xalloc.h"

#define PAM_USER_MAX     256
#define PAM_PASSWORD_MAX 4096

static pthread_mutex_t pam_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pam_confdir; /* NULL: /etc/pam.d; under pam_lock */

void auth_pam_set_confdir(const char *dir)
{
	pthread_mutex_lock(&pam_lock);
	free(pam_confdir);
	pam_confdir = dir ? xstrdup(dir) : NULL;
	pthread_mutex_unlock(&pam_lock);
}

/* Answers password prompts (echo off and on) with the password and ignores
 * messages.  PAM frees the responses, so they are plain malloc copies. */
static int conversation(int n, const struct pam_message **msgs, struct pam_response **ret,
                        void *appdata)
{
	const char *password = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));
	if (!resp)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msgs[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			resp[i].resp = strdup(password);
			if (!resp[i].resp)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*ret = resp;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (resp[i].resp) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
	return PAM_CONV_ERR;
}

static void no_fail_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static bool valid_user(const char *user)
{
	size_t len = strnlen(user, PAM_USER_MAX + 1);
	if (len == 0 || len > PAM_USER_MAX)
		return false;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int pam_fail(struct error **err, const char *user, const char *why)
{
	log_debug("pam authentication of '%s' failed: %s", user ? user : "", why);
	return error_set(err, -EACCES, 401, "authentication failure");
}

/* Runs one PAM transaction; called with pam_lock held. */
static int pam_check_locked(const char *service, const char *user, const char *password,
                            const char *rhost, const char **why)
{
	struct pam_conv conv = {conversation, (void *)password};
	pam_handle_t *pamh = NULL;
	int r = pam_start_confdir(service, user, &conv, pam_confdir, &pamh);
	if (r != PAM_SUCCESS) {
		*why = "pam_start failed";
		return r;
	}
	r = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);
	if (r == PAM_SUCCESS && rhost)
		r = pam_set_item(pamh, PAM_RHOST, rhost);
	if (r != PAM_SUCCESS) {
		*why = "pam_set_item failed";
	} else {
		r = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
		if (r != PAM_SUCCESS) {
			*why = pam_strerror(pamh, r);
		} else {
			/* Locked, expired, and expired-password (NEW_AUTHTOK_REQD)
			 * accounts all end here: no way to change it over the API. */
			r = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
			if (r != PAM_SUCCESS)
				*why = pam_strerror(pamh, r);
		}
	}
	pam_end(pamh, r);
	return r;
}

int auth_pam_check(const char *service, const char *user, const char *password, const char *rhost,
                   struct error **err)
{
	if (!service)
		service = CTVM_PAM_SERVICE;
	if (!user || !valid_user(user))
		return pam_fail(err, NULL, "invalid user name");
	if (!password || !*password)
		return pam_fail(err, user, "empty password");
	if (strnlen(password, PAM_PASSWORD_MAX + 1) > PAM_PASSWORD_MAX)
		return pam_fail(err, user, "password too long");

	const char *why = "unknown";
	pthread_mutex_lock(&pam_lock);
	int r = pam_check_locked(service, user, password, rhost, &why);
	/* why may point into PAM's static strings: log before unlocking. */
	if (r != PAM_SUCCESS)
		pam_fail(NULL, user, why);
	pthread_mutex_unlock(&pam_lock);
	if (r != PAM_SUCCESS)
		return error_set(err, -EACCES, 401, "authentication failure");
	return 0;
}
