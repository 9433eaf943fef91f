/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * auth-priv.h: what the auth-*.c files share and tests may use; not part of
 * the access API (callers include auth.h only).
 */
#pragma once

#include <gnutls/abstract.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_CSRF_SECRET_MIN 16
#define AUTH_CSRF_SECRET_MAX 64

/*
 * Read-only after auth_keys_load(), shared by every worker thread.
 * GnuTLS only promises thread safety for objects used by one thread at a
 * time, so signing goes through sign_lock.  Verification uses the public key
 * only through gnutls_pubkey_verify_data2(), which copies the key parameters
 * and does not modify the object, so it runs without the lock.
 */
/*
 * Tickets whose RSA signature was verified recently, whole, in a
 * direct-mapped table: a hit is byte equality with a verified ticket.  The
 * slot comes from a hash keyed with a random seed (the key is only there so
 * that nobody can aim tickets at one slot; equality decides), which is a few
 * percent of the SHA-256 of the whole ticket the table was keyed by before.
 * A hit only skips the signature check: the age window is still checked
 * from the ticket text on every request, so the cache never extends a
 * ticket's life.  Nothing secret is stored (a ticket is a bearer token, but
 * it lives in this process anyway).  At most SLOTS tickets of TICKET_MAX.
 */
#define AUTH_TICKET_CACHE_SLOTS 512
struct auth_ticket_cache {
	pthread_mutex_t lock;
	uint64_t seed;
	char *ticket[AUTH_TICKET_CACHE_SLOTS]; /* NULL: free */
	size_t len[AUTH_TICKET_CACHE_SLOTS];
};

struct auth_keys {
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	struct auth_ticket_cache *cache; /* mutable, though the keys are const */
	pthread_mutex_t sign_lock;
	uint8_t csrf_secret[AUTH_CSRF_SECRET_MAX];
	size_t csrf_secret_len;
};

/* Standard base64 of n bytes, with '=' padding when pad (malloc'd). */
char *auth_base64_encode(const void *data, size_t n, bool pad);
/* Decodes standard base64 (padding optional, no whitespace) into a malloc'd
 * buffer; -EINVAL on malformed input. */
int auth_base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len);

/* URI escaping as the ticket uses it: ':' and '%' become %3A and %25. */
char *auth_uri_escape_data(const char *s);
/* Perl's uri_unescape: every valid %XX is decoded, '+' is kept; %00 stays
 * literal so the result never has an embedded NUL. */
char *auth_uri_unescape(const char *s, size_t len);
