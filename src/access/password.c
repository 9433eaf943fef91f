/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Password hashes of the pve realm (pve-api.md 3.3, priv/shadow.cfg).  New
 * hashes are yescrypt; verification accepts any scheme libxcrypt knows, so
 * a shadow.cfg copied from Proxmox ($5$) keeps working.  Only the reentrant
 * crypt_ra/crypt_rn are used: plain crypt() shares one static buffer.
 */
#include "common.h"

#include <crypt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <nettle/memops.h>

#include "auth.h"
#include "xalloc.h"

#define PASSWORD_MAX 4096

/*
 * yescrypt is memory-hard: Debian's default cost takes 16 MiB per hash.  A
 * burst of concurrent logins must not multiply that without bound, so at
 * most this many hashes are computed at once; others wait their turn.  (PAM
 * checks are serialised separately in pam.c.)
 */
#define HASHES_AT_ONCE 2

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_free = PTHREAD_COND_INITIALIZER;
static unsigned slots_used;

static void slot_take(void)
{
	pthread_mutex_lock(&slots_lock);
	while (slots_used >= HASHES_AT_ONCE)
		pthread_cond_wait(&slots_free, &slots_lock);
	slots_used++;
	pthread_mutex_unlock(&slots_lock);
}

static void slot_give(void)
{
	pthread_mutex_lock(&slots_lock);
	slots_used--;
	pthread_cond_signal(&slots_free);
	pthread_mutex_unlock(&slots_lock);
}

static atomic_ulong verifications;

unsigned long auth_password_verifications(void)
{
	return atomic_load(&verifications);
}

char *auth_password_hash(const char *password)
{
	if (!password || strnlen(password, PASSWORD_MAX + 1) > PASSWORD_MAX)
		return NULL;
	/* NULL rbytes: libxcrypt draws the salt from the OS generator. */
	_cleanup_free_ char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (!setting)
		abort(); /* only on OOM or a libxcrypt without yescrypt */
	void *data = NULL;
	int size = 0;
	slot_take();
	const char *hash = crypt_ra(password, setting, &data, &size);
	slot_give();
	char *ret = NULL;
	if (hash && hash[0] != '*')
		ret = xstrdup(hash);
	if (data) {
		explicit_bzero(data, (size_t)size);
		free(data);
	}
	if (!ret)
		abort();
	return ret;
}

/* A setting ("$y$<cost>$<salt>") of the scheme and cost new hashes get:
 * crypt() against it does the work of verifying such a hash, and its
 * output (setting plus hash) never equals it. */
static char *dummy_setting;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
	dummy_setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (!dummy_setting)
		abort(); /* only on OOM or a libxcrypt without yescrypt */
}

void auth_password_verify_dummy(const char *password)
{
	pthread_once(&dummy_once, dummy_init);
	if (auth_password_verify(password ? password : "", dummy_setting))
		abort(); /* cannot happen: crypt's output is longer than its setting */
}

bool auth_password_verify(const char *password, const char *hash)
{
	if (!password || !hash)
		return false;
	if (strnlen(password, PASSWORD_MAX + 1) > PASSWORD_MAX)
		return false;
	/* Locked ("!...") and disabled ("*") entries never match: crypt would
	 * fail on them at once, so they cost a dummy hash instead (no telling
	 * them apart by timing). */
	if (hash[0] == '\0' || hash[0] == '!' || hash[0] == '*') {
		auth_password_verify_dummy(password);
		return false;
	}
	struct crypt_data *cd = xnew(struct crypt_data, 1);
	slot_take();
	const char *out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	slot_give();
	atomic_fetch_add(&verifications, 1);
	bool ok = false;
	if (out && out[0] != '*') {
		size_t n = strlen(hash);
		ok = strlen(out) == n && memeql_sec(out, hash, n);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
