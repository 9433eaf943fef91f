/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tickets and CSRF prevention tokens, wire-compatible with PVE::Ticket
 * (pve-api.md 2.3, 2.6):
 *
 *   ticket  PVE:<userid, ':' and '%' as %3A, %25>:<%08X time>::<base64 sig>
 *           sig = RSA-PKCS#1 v1.5 SHA-256 over "PVE:<data>:<HEXTIME>"
 *   CSRF    <%08X time>:<base64nopad HMAC-SHA256(secret, "<HEXTIME>:<userid>")>
 *
 * Both are valid while -300 < now - time < 7200.  Verification follows
 * verify_rsa_ticket's two regexes, written out as plain string checks.
 */
#define LOG_CATEGORY "access"
#include "common.h"

#include <nettle/sha2.h>

#include <gnutls/gnutls.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "auth-priv.h"
#include "auth.h"
#include "error.h"
#include "log.h"
#include "xalloc.h"

/* A 2048-bit signature is 344 base64 characters; userids are short. */
#define TICKET_MAX    4096
#define CSRF_MAX      128
#define CSRF_SIG_LEN  43 /* base64 of 32 bytes without padding */
#define HEXTIME_LEN   8
#define TICKET_PREFIX "PVE:"

static bool age_ok(time_t now, uint32_t t)
{
	long long age = (long long)now - (long long)t;
	return age > -AUTH_TICKET_SKEW && age < AUTH_TICKET_LIFETIME;
}

/* Perl's \s (ASCII): the characters a ticket or CSRF token may never hold. */
static bool is_perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Exactly 8 upper-case hex digits.  PVE's regex admits [A-Z0-9]{8} and then
 * calls hex(); only hex digits are ever signed, so the rest is refused. */
static bool parse_hextime(const char *s, uint32_t *ret)
{
	uint32_t v = 0;
	for (int i = 0; i < HEXTIME_LEN; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*ret = v;
	return true;
}

char *auth_ticket_create(const struct auth_keys *k, const char *userid, time_t now)
{
	if (!k || !userid || !*userid)
		return NULL;
	_cleanup_free_ char *data = auth_uri_escape_data(userid);
	_cleanup_free_ char *plain =
	    xasprintf(TICKET_PREFIX "%s:%08X", data, (unsigned)(uint32_t)now);
	gnutls_datum_t in = {(unsigned char *)plain, (unsigned)strlen(plain)};
	gnutls_datum_t sig = {NULL, 0};

	/* The keys are const to their users; the lock is the one mutable part. */
	pthread_mutex_t *lock = &((struct auth_keys *)k)->sign_lock;
	pthread_mutex_lock(lock);
	int gr = gnutls_privkey_sign_data(k->priv, GNUTLS_DIG_SHA256, 0, &in, &sig);
	pthread_mutex_unlock(lock);
	if (gr < 0) {
		log_debug("unable to sign ticket - %s", gnutls_strerror(gr));
		return NULL;
	}
	_cleanup_free_ char *b64 = auth_base64_encode(sig.data, sig.size, true);
	gnutls_free(sig.data);
	return xasprintf("%s::%s", plain, b64);
}

static int ticket_fail(struct error **err, const char *why)
{
	log_debug("ticket verification failed: %s", why);
	return error_set(err, -EACCES, 401, "authentication failure");
}

/* FNV-1a from a keyed start: spreads tickets over the slots. */
static size_t cache_slot(const struct auth_ticket_cache *c, const char *ticket, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037) ^ c->seed;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)ticket[i];
		h *= UINT64_C(1099511628211);
	}
	return (size_t)((h ^ (h >> 32)) % AUTH_TICKET_CACHE_SLOTS);
}

static bool cache_hit(struct auth_ticket_cache *c, size_t slot, const char *ticket, size_t len)
{
	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	/* in constant time: how much of a cached ticket a guess matches is
	 * nobody's business */
	bool hit =
	    c->ticket[slot] && c->len[slot] == len && memeql_sec(c->ticket[slot], ticket, len);
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void cache_store(struct auth_ticket_cache *c, size_t slot, const char *ticket, size_t len)
{
	if (!c)
		return;
	char *copy = xstrndup(ticket, len);
	pthread_mutex_lock(&c->lock);
	char *old = c->ticket[slot];
	c->ticket[slot] = copy;
	c->len[slot] = len;
	pthread_mutex_unlock(&c->lock);
	free(old);
}

int auth_ticket_verify(const struct auth_keys *k, const char *ticket, time_t now, char **ret_userid,
                       time_t *ret_time, struct error **err)
{
	if (!k || !ticket)
		return ticket_fail(err, "no ticket");
	size_t len = strnlen(ticket, TICKET_MAX + 1);
	if (len > TICKET_MAX)
		return ticket_fail(err, "ticket too long");
	for (size_t i = 0; i < len; i++)
		if (is_perl_space(ticket[i]))
			return ticket_fail(err, "whitespace in ticket");

	/* ^(PVE:\S+)::([^:\s]+)$ : the signature follows the last ':', which
	 * must be the second of a "::" with at least one byte before it. */
	if (!str_startswith(ticket, TICKET_PREFIX))
		return ticket_fail(err, "wrong prefix");
	const char *last = strrchr(ticket, ':');
	const char *sig = last + 1;
	size_t plain_len = (size_t)(last - ticket) - 1;
	if (*sig == '\0' || last[-1] != ':' || (size_t)(last - ticket) < strlen(TICKET_PREFIX) + 2)
		return ticket_fail(err, "malformed ticket");

	/* ^PVE:(?:(\S+):)?([A-Z0-9]{8})$ on the plain part; the data (userid)
	 * is required here. */
	const size_t prefix_len = strlen(TICKET_PREFIX);
	if (plain_len < prefix_len + 1 + 1 + HEXTIME_LEN)
		return ticket_fail(err, "no user in ticket");
	const char *hextime = ticket + plain_len - HEXTIME_LEN;
	if (hextime[-1] != ':')
		return ticket_fail(err, "malformed ticket");
	uint32_t t;
	if (!parse_hextime(hextime, &t))
		return ticket_fail(err, "malformed ticket time");
	if (!age_ok(now, t))
		return ticket_fail(err, "ticket expired");

	size_t slot = k->cache ? cache_slot(k->cache, ticket, len) : 0;
	if (!cache_hit(k->cache, slot, ticket, len)) {
		_cleanup_free_ uint8_t *raw = NULL;
		size_t raw_len = 0;
		if (auth_base64_decode(sig, strlen(sig), &raw, &raw_len) < 0 || raw_len == 0)
			return ticket_fail(err, "malformed signature");
		gnutls_datum_t plain_d = {(unsigned char *)ticket, (unsigned)plain_len};
		gnutls_datum_t sig_d = {raw, (unsigned)raw_len};
		int gr =
		    gnutls_pubkey_verify_data2(k->pub, GNUTLS_SIGN_RSA_SHA256, 0, &plain_d, &sig_d);
		if (gr < 0)
			return ticket_fail(err, "bad signature");
		cache_store(k->cache, slot, ticket, len);
	}

	const char *data = ticket + prefix_len;
	size_t data_len = (size_t)(hextime - 1 - data);
	char *userid = auth_uri_unescape(data, data_len);
	if (!*userid) {
		free(userid);
		return ticket_fail(err, "empty user in ticket");
	}
	if (ret_userid)
		*ret_userid = userid;
	else
		free(userid);
	if (ret_time)
		*ret_time = (time_t)t;
	return 0;
}

/* sig must hold CSRF_SIG_LEN + 1 bytes. */
static void csrf_sign(const struct auth_keys *k, const char *hextime, const char *userid, char *sig)
{
	struct hmac_sha256_ctx ctx;
	uint8_t mac[SHA256_DIGEST_SIZE];
	hmac_sha256_set_key(&ctx, k->csrf_secret_len, k->csrf_secret);
	hmac_sha256_update(&ctx, HEXTIME_LEN, (const uint8_t *)hextime);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)":");
	hmac_sha256_update(&ctx, strlen(userid), (const uint8_t *)userid);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	explicit_bzero(&ctx, sizeof(ctx));
	_cleanup_free_ char *b64 = auth_base64_encode(mac, sizeof(mac), false);
	memcpy(sig, b64, CSRF_SIG_LEN + 1);
}

char *auth_csrf_create(const struct auth_keys *k, const char *userid, time_t now)
{
	if (!k || !userid)
		return NULL;
	char hextime[HEXTIME_LEN + 1];
	snprintf(hextime, sizeof(hextime), "%08X", (unsigned)(uint32_t)now);
	char sig[CSRF_SIG_LEN + 1];
	csrf_sign(k, hextime, userid, sig);
	return xasprintf("%s:%s", hextime, sig);
}

bool auth_csrf_verify(const struct auth_keys *k, const char *userid, const char *token, time_t now)
{
	if (!k || !userid || !token)
		return false;
	/* ^([A-Z0-9]{8}):(\S+)$, and only the 43-character SHA-256 form. */
	size_t len = strnlen(token, CSRF_MAX + 1);
	if (len != HEXTIME_LEN + 1 + CSRF_SIG_LEN || token[HEXTIME_LEN] != ':')
		return false;
	uint32_t t;
	if (!parse_hextime(token, &t) || !age_ok(now, t))
		return false;
	char expect[CSRF_SIG_LEN + 1];
	csrf_sign(k, token, userid, expect);
	return memeql_sec(expect, token + HEXTIME_LEN + 1, CSRF_SIG_LEN) != 0;
}
