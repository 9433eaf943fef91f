/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-termframe: Proxmox's terminal framing inside a console WebSocket
 * (termproxy, xterm.js pages).  Pure: bytes in, callbacks out, so a relay
 * runs it in any loop and the tests and the fuzzer split the input anywhere.
 *
 * From the client, as one byte stream (message boundaries do not matter):
 *   "USER:TICKET\n"     once, first (at most TERMFRAME_MAX_AUTH bytes)
 *   "0:LEN:DATA"        LEN bytes of input for the terminal
 *   "1:COLS:ROWS:"      the terminal's size
 *   "2"                 a keep-alive ping
 * The server answers "OK" to the first line, then sends the terminal's
 * output as plain bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The first line, "user:ticket", newline excluded. */
#define TERMFRAME_MAX_AUTH 4096
/* One input message: more digits than this is -EBADMSG. */
#define TERMFRAME_MAX_DATA (1u << 20)
/* Terminal sizes up to this (cols and rows). */
#define TERMFRAME_MAX_SIZE 4096

struct termframe_callbacks {
	/* The first line without its newline (NUL-terminated). */
	int (*auth)(void *userdata, const char *line);
	/* Input bytes (len > 0), possibly in several pieces per message. */
	int (*data)(void *userdata, const char *data, size_t len);
	int (*resize)(void *userdata, unsigned cols, unsigned rows);
	int (*ping)(void *userdata);
};

struct termframe;

struct termframe *termframe_new(const struct termframe_callbacks *cb, void *userdata);
struct termframe *termframe_free(struct termframe *t);

/* Feeds the next len bytes: 0, -EBADMSG on a malformed stream (unknown
 * type, bad number, size out of range, an over-long first line), or a
 * callback's negative value.  After an error it stays failed. */
int termframe_feed(struct termframe *t, const char *data, size_t len);
