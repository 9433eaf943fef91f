/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Random secrets from GnuTLS's key-grade generator. */
#include "common.h"

#include <gnutls/crypto.h>

#include "auth.h"
#include "xalloc.h"

void auth_random_bytes(void *buf, size_t n)
{
	if (n == 0)
		return;
	/* Nothing sensible can be done without randomness: a predictable
	 * key or token secret is worse than stopping. */
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, n) < 0)
		abort();
}

char *auth_random_uuid(void)
{
	uint8_t b[16];
	auth_random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
	                 b[12], b[13], b[14], b[15]);
}
