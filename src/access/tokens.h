/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tokens: priv/token.cfg, the API token secrets, one line
 * "<user@realm!name> <value>" each (0600).
 *
 * PVE stores the secret (a random UUID) in clear; ctvm stores the SHA-256 of
 * it in hex.  The UUID carries 122 random bits, so a plain hash is as strong
 * as a slow one here, and a leaked file no longer grants access.  A value
 * that is not 64 hex digits is taken as a clear secret copied from a PVE
 * node and still verifies (constant time either way).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct error;
struct strbuf;
struct token_secrets;

struct token_secrets *token_secrets_new(void);
struct token_secrets *token_secrets_free(struct token_secrets *t);
struct token_secrets *token_secrets_dup(const struct token_secrets *t);
/* Invalid lines are skipped; fails only over the size limit (4 MiB). */
int token_secrets_parse(const char *data, size_t len, struct token_secrets **ret,
                        struct error **err);
void token_secrets_write(const struct token_secrets *t, struct strbuf *out);

/* Stores sha256(secret) for tokenid (replacing any earlier one). */
void token_secrets_set(struct token_secrets *t, const char *tokenid, const char *secret);
bool token_secrets_remove(struct token_secrets *t, const char *tokenid);
bool token_secrets_has(const struct token_secrets *t, const char *tokenid);
bool token_secrets_verify(const struct token_secrets *t, const char *tokenid, const char *secret);

/* Lowercase hex SHA-256 of s; ret: 65 bytes. */
void token_secret_hash(const char *s, char ret[65]);
