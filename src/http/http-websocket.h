/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-websocket: WebSocket (RFC 6455) for the consoles.  Pure: the upgrade
 * check works on a parsed request, the frame decoder takes bytes and calls
 * back, the encoder writes into the caller's buffer; no I/O, so the relay
 * can run in any event loop and the unit tests and the fuzzer drive the
 * decoder on input split anywhere.
 *
 * The decoder streams data frames: payload bytes are unmasked and handed
 * to the caller in pieces as they arrive, so memory stays bounded by a
 * small fixed buffer whatever the message size.  Only control frames
 * (at most 125 bytes by the RFC) are collected whole.  Every limit a
 * client controls is checked: frame and message sizes, masking, reserved
 * bits and opcodes, control frame rules, fragmentation order, UTF-8 in
 * text messages and close reasons, close codes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct error;

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close codes (RFC 6455 section 7.4.1) the decoder reports. */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005, /* never sent: a close frame without code */
	WS_CLOSE_BAD_DATA = 1007,  /* text that is not UTF-8 */
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Largest control frame payload (RFC 6455 5.5). */
#define WS_MAX_CONTROL 125
/* Longest frame header: 2 + 8 length bytes + 4 mask bytes. */
#define WS_MAX_HEADER 14
/* Default message limit when the caller passes 0. */
#define WS_DEFAULT_MAX_MESSAGE (1u << 20)

/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64 of
 * SHA-1(key + GUID), 28 characters and a NUL.  -EINVAL when key is not
 * the base64 of 16 bytes (RFC 6455 4.1: the key is exactly that). */
int ws_accept_key(const char *key, char ret[29]);

/* A fresh Sec-WebSocket-Key for a client's opening handshake: base64 of
 * 16 random bytes, 24 characters and a NUL.  -EIO without randomness. */
int ws_client_key(char ret[25]);

/* What an upgrade request asked for. */
struct ws_upgrade {
	char accept[29];      /* for the Sec-WebSocket-Accept header */
	const char *protocol; /* "binary" when offered (noVNC, xterm.js), else NULL */
};

/* Checks that req is a valid WebSocket opening handshake (GET, Upgrade:
 * websocket, Connection: upgrade among its tokens, Sec-WebSocket-Version:
 * 13, a valid key) and fills ret.  Errors: 400 for a malformed or missing
 * header, 426 for another version (the caller then answers with
 * "Sec-WebSocket-Version: 13"), 405 for a method other than GET. */
int ws_check_upgrade(const struct http_request *req, struct ws_upgrade *ret, struct error **err);

/* Callbacks of the decoder.  Each may return < 0 to stop it; that value is
 * returned by ws_decoder_feed and the decoder stays failed. */
struct ws_decoder_callbacks {
	/* Some payload bytes of the current data message (len > 0 unless it
	 * is an empty message).  opcode is WS_OP_TEXT or WS_OP_BINARY, the
	 * message's first frame opcode; fin is true on the message's last
	 * piece (then len may be 0).  Text is UTF-8 checked so far. */
	int (*data)(void *userdata, int opcode, const uint8_t *data, size_t len, bool fin);
	/* A ping (the caller answers with a pong of the same payload) or an
	 * unsolicited pong. */
	int (*control)(void *userdata, int opcode, const uint8_t *data, size_t len);
	/* The peer's close frame: code is WS_CLOSE_NO_STATUS when it had no
	 * payload; reason (UTF-8 checked, NUL-terminated) may be empty.  The
	 * decoder ignores any later input. */
	int (*close)(void *userdata, unsigned code, const char *reason);
};

struct ws_decoder;

/* A decoder for frames from a client (masked: require_mask) or from a
 * server (unmasked: !require_mask, for tests and clients).  max_message
 * bounds one data message across its fragments (0: the default). */
struct ws_decoder *ws_decoder_new(const struct ws_decoder_callbacks *cb, void *userdata,
                                  bool require_mask, size_t max_message);
struct ws_decoder *ws_decoder_free(struct ws_decoder *d);

/* Feeds the next len bytes.  Returns 0 when more input is welcome, 1 once
 * a close frame was seen, -EBADMSG on a protocol violation (see
 * ws_decoder_close_code for the code to close with), -EMSGSIZE when a
 * frame or message exceeds its limit, or a callback's negative value.
 * After an error the decoder stays failed. */
int ws_decoder_feed(struct ws_decoder *d, const void *data, size_t len);

/* The close code matching the decoder's failure (1002, 1007, 1009), or
 * 1000 when it has not failed. */
unsigned ws_decoder_close_code(const struct ws_decoder *d);

/* Writes the header of one frame into out (WS_MAX_HEADER bytes) and
 * returns its length.  mask (4 bytes) is NULL for server frames; with a
 * mask the caller masks the payload with ws_mask. */
size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], int opcode, bool fin, uint64_t len,
                       const uint8_t *mask);

/* XORs data with mask, as if it started at payload offset off. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off);

/* A whole unmasked close frame with code and reason (truncated to fit the
 * 125-byte control limit) into out; returns its length (<= 127). */
size_t ws_close_frame(uint8_t out[2 + WS_MAX_CONTROL], unsigned code, const char *reason);

/* True when code may appear in a close frame on the wire. */
bool ws_close_code_valid(unsigned code);
