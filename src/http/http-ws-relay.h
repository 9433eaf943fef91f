/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-ws-relay: the WebSocket side of an upgraded connection, relayed to a
 * byte stream (a console's socket).  Internal to src/http: the server hands
 * it the connection's I/O as callbacks, so the relay does not need the
 * connection's internals and http-server.c stays about serving HTTP.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ws_relay_io {
	void *conn;
	int client_fd; /* polled for input from the client */
	int stop_fd;   /* readable once the server stops */
	/* Reads what the client sent (after the poll says so): bytes, 0 at
	 * end, < 0 on error. */
	ssize_t (*recv)(void *conn, void *buf, size_t len);
	/* Writes all of buf to the client, or < 0. */
	int (*send_all)(void *conn, const void *buf, size_t len);
	/* Bytes already received and buffered (TLS records), readable without
	 * waiting for client_fd. */
	size_t (*pending)(void *conn);
};

/* Relays until either side ends or the server stops: binary or text
 * messages from the client go to fd as bytes, bytes from fd go to the
 * client as binary messages, pings are answered, and a close is answered
 * with the peer's code (or the decoder's, after a protocol error).  initial
 * holds client bytes read past the request head.  With terminal, client
 * bytes are Proxmox's terminal framing (http-termframe.h).  Takes fd. */
void ws_relay_run(const struct ws_relay_io *io, int fd, bool terminal, const void *initial,
                  size_t initial_len);
