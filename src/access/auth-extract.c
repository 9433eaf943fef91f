/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Credentials out of request headers, as PVE::APIServer's auth handler and
 * PVE::APIServer::Formatter::extract_auth_value find them (pve-api.md 2.5,
 * 2.7).  The headers are untrusted: every scan is bounded and nothing here
 * judges whether a credential is valid.
 */
#include "common.h"

#include "auth-priv.h"
#include "auth.h"
#include "xalloc.h"

/* Larger headers are ignored; the HTTP layer bounds them anyway. */
#define AUTH_HEADER_MAX (16 * 1024)
/* A value longer than this is no credential ctvm could have issued. */
#define AUTH_VALUE_MAX 8192

#define TICKET_COOKIE "PVEAuthCookie"
#define TOKEN_NAME    "PVEAPIToken"

static bool is_perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * The first match of (?:^|\s)NAME(?:=| )([^;]*), URI-unescaped with '+'
 * kept.  NULL when there is no match or the value is empty (Perl's false)
 * or too long.
 */
static char *extract_auth_value(const char *header, const char *name)
{
	if (!header)
		return NULL;
	size_t hlen = strnlen(header, AUTH_HEADER_MAX + 1);
	if (hlen > AUTH_HEADER_MAX)
		return NULL;
	size_t nlen = strlen(name);
	for (size_t i = 0; i + nlen < hlen; i++) {
		if (i > 0 && !is_perl_space(header[i - 1]))
			continue;
		if (memcmp(header + i, name, nlen) != 0)
			continue;
		char sep = header[i + nlen];
		if (sep != '=' && sep != ' ')
			continue;
		const char *v = header + i + nlen + 1;
		size_t vlen = strcspn(v, ";");
		if (vlen == 0 || vlen > AUTH_VALUE_MAX)
			return NULL;
		return auth_uri_unescape(v, vlen);
	}
	return NULL;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

void auth_extract_credentials(const char *cookie_header, const char *authorization_header,
                              struct auth_credentials *ret)
{
	*ret = (struct auth_credentials){NULL, NULL, NULL};

	/* The cookie wins; Telmate sends the ticket in Authorization instead. */
	ret->ticket = extract_auth_value(cookie_header, TICKET_COOKIE);
	if (!ret->ticket)
		ret->ticket = extract_auth_value(authorization_header, TICKET_COOKIE);
	if (ret->ticket)
		return;

	/* verify_token's ^(.*)=(.*)$ splits at the last '='; '.' stops at a
	 * newline, so values with control characters never match. */
	_cleanup_free_ char *token = extract_auth_value(authorization_header, TOKEN_NAME);
	if (!token || has_control(token))
		return;
	char *eq = strrchr(token, '=');
	if (!eq || eq == token || eq[1] == '\0') {
		explicit_bzero(token, strlen(token));
		return;
	}
	ret->tokenid = xstrndup(token, (size_t)(eq - token));
	ret->token_secret = xstrdup(eq + 1);
	explicit_bzero(token, strlen(token));
}

void auth_credentials_clear(struct auth_credentials *c)
{
	if (!c)
		return;
	if (c->ticket)
		explicit_bzero(c->ticket, strlen(c->ticket));
	if (c->token_secret)
		explicit_bzero(c->token_secret, strlen(c->token_secret));
	free(c->ticket);
	free(c->tokenid);
	free(c->token_secret);
	*c = (struct auth_credentials){NULL, NULL, NULL};
}
