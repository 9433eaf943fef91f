/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <nettle/sha2.h>

#include "error.h"
#include "kvlist.h"
#include "strbuf.h"
#include "tokens.h"
#include "usercfg.h"
#include "xalloc.h"

#define TOKENS_MAX_SIZE (4u << 20)

struct token_secrets {
	struct kvlist tokens;
};

void token_secret_hash(const char *s, char ret[65])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(s), (const uint8_t *)s);
	sha256_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(ret + 2 * i, 3, "%02x", d[i]);
}

struct token_secrets *token_secrets_new(void)
{
	return xnew(struct token_secrets, 1);
}

struct token_secrets *token_secrets_free(struct token_secrets *t)
{
	if (t) {
		kvlist_clear(&t->tokens);
		free(t);
	}
	return NULL;
}

struct token_secrets *token_secrets_dup(const struct token_secrets *t)
{
	struct token_secrets *n = token_secrets_new();
	kvlist_copy(&n->tokens, &t->tokens);
	return n;
}

int token_secrets_parse(const char *data, size_t len, struct token_secrets **ret,
                        struct error **err)
{
	if (len > TOKENS_MAX_SIZE)
		return error_set(err, -EFBIG, 500, "token file too large");
	struct token_secrets *t = token_secrets_new();
	size_t pos = 0;
	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		_cleanup_free_ char *l = xstrndup(line, n);
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		const char *value = sp + 1;
		if (!usercfg_split_tokenid(l, NULL, NULL) || !*value || strpbrk(value, " \t\r"))
			continue;
		kvlist_set(&t->tokens, l, value);
	}
	*ret = t;
	return 0;
}

void token_secrets_write(const struct token_secrets *t, struct strbuf *out)
{
	for (size_t i = 0; i < t->tokens.n; i++)
		strbuf_addf(out, "%s %s\n", t->tokens.v[i].key, t->tokens.v[i].value);
}

void token_secrets_set(struct token_secrets *t, const char *tokenid, const char *secret)
{
	char h[65];
	token_secret_hash(secret, h);
	kvlist_set(&t->tokens, tokenid, h);
}

bool token_secrets_remove(struct token_secrets *t, const char *tokenid)
{
	return kvlist_remove(&t->tokens, tokenid);
}

bool token_secrets_has(const struct token_secrets *t, const char *tokenid)
{
	return kvlist_get(&t->tokens, tokenid) != NULL;
}

static bool is_sha256_hex(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Compares a and b in time depending only on their lengths. */
static bool const_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	size_t n = la < lb ? la : lb;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool token_secrets_verify(const struct token_secrets *t, const char *tokenid, const char *secret)
{
	const char *stored = kvlist_get(&t->tokens, tokenid);
	if (!stored || !secret || !*secret)
		return false;
	if (!is_sha256_hex(stored)) /* a clear secret from a PVE token.cfg */
		return const_eq(stored, secret);
	char h[65];
	token_secret_hash(secret, h);
	return const_eq(stored, h);
}
