/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* privsep tests: one filled-in message of every type, and a raw frame
 * writer that knows the wire format independently of the encoder. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "privsep.h"
#include "strbuf.h"

/* Sample i (0 <= i < PRIVSEP_SAMPLES) into m; fd: the descriptor for the
 * samples that carry one (RESPONSE by descriptor, UPLOAD_FILE claim), which
 * m then owns; other samples close it.  Covers every type, optional fields
 * present and absent. */
#define PRIVSEP_SAMPLES 13
void privsep_sample(size_t i, int fd, struct privsep_msg *m);
enum privsep_type privsep_sample_type(size_t i);
/* Whether sample i carries a descriptor. */
int privsep_sample_has_fd(size_t i);

/* A frame by hand: wire_begin() writes a header with a length to patch,
 * wire_end() patches it. */
void wire_begin(struct strbuf *sb, uint16_t type, uint16_t flags, uint64_t id);
void wire_end(struct strbuf *sb);
void wire_u8(struct strbuf *sb, uint8_t v);
void wire_u16(struct strbuf *sb, uint16_t v);
void wire_u32(struct strbuf *sb, uint32_t v);
void wire_u64(struct strbuf *sb, uint64_t v);
/* A string field of n bytes (all c), or absent with n == SIZE_MAX. */
void wire_fill(struct strbuf *sb, size_t n, char c);
void wire_str(struct strbuf *sb, const char *s);
