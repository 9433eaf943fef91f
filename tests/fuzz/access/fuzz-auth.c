/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzzes everything that reads credentials off the wire.  The input is split
 * at '\n' into a Cookie header, an Authorization header, a ticket and a CSRF
 * token; the extracted ticket is verified too.  Inputs starting with '!'
 * instead sign a ticket for the rest (a userid) and check it round-trips.
 */
#include "common.h"

#include <ftw.h>
#include <sys/stat.h>

#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "xalloc.h"

#define NOW ((time_t)1728000000)

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* One key pair per process, made in a temporary directory removed at once. */
static struct auth_keys *keys(void)
{
	static struct auth_keys *k;
	if (k)
		return k;
	char tmpl[] = "/tmp/ctvm-fuzz-auth-XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	_cleanup_free_ char *priv = path_join(tmpl, "priv");
	if (mkdir(priv, 0700) < 0 || auth_keys_load(tmpl, priv, &k, NULL) < 0)
		abort();
	nftw(tmpl, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return k;
}

/* The next '\n'-terminated piece of [*p, end), NUL-terminated (malloc'd). */
static char *next_part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *start = *p;
	const uint8_t *nl = memchr(start, '\n', (size_t)(end - start));
	const uint8_t *stop = nl ? nl : end;
	*p = nl ? nl + 1 : end;
	return xstrndup((const char *)start, (size_t)(stop - start));
}

static void roundtrip(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *userid = xstrndup((const char *)data, size);
	if (!*userid || strlen(userid) > 256)
		return;
	for (const char *c = userid; *c; c++)
		if (strchr(" \t\n\v\f\r", *c))
			return; /* no ticket can carry whitespace */
	struct auth_keys *k = keys();
	_cleanup_free_ char *ticket = auth_ticket_create(k, userid, NOW);
	if (!ticket)
		abort();
	_cleanup_free_ char *got = NULL;
	time_t t = 0;
	if (auth_ticket_verify(k, ticket, NOW + 1, &got, &t, NULL) != 0 || !streq(got, userid) ||
	    t != NOW)
		abort();
	_cleanup_free_ char *csrf = auth_csrf_create(k, userid, NOW);
	if (!auth_csrf_verify(k, userid, csrf, NOW + 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	if (size > 0 && data[0] == '!') {
		roundtrip(data + 1, size - 1);
		return 0;
	}
	const uint8_t *p = data, *end = data + size;
	_cleanup_free_ char *cookie = next_part(&p, end);
	_cleanup_free_ char *authz = next_part(&p, end);
	_cleanup_free_ char *ticket = next_part(&p, end);
	_cleanup_free_ char *csrf = next_part(&p, end);

	struct auth_keys *k = keys();
	struct auth_credentials c;
	auth_extract_credentials(*cookie ? cookie : NULL, *authz ? authz : NULL, &c);
	if (c.ticket && (c.tokenid || c.token_secret))
		abort();
	if (!c.tokenid != !c.token_secret)
		abort();
	if (c.ticket) {
		char *user = NULL;
		struct error *err = NULL;
		if (auth_ticket_verify(k, c.ticket, NOW, &user, NULL, &err) == 0)
			abort(); /* nobody can forge a signature */
		error_free(err);
		free(user);
	}
	auth_credentials_clear(&c);

	char *user = NULL;
	time_t t;
	struct error *err = NULL;
	if (auth_ticket_verify(k, ticket, NOW, &user, &t, &err) == 0)
		abort();
	error_free(err);
	free(user);
	if (auth_csrf_verify(k, cookie, csrf, NOW))
		abort();
	return 0;
}
