/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvmd: the daemon split in two processes (docs/dev/PRIVSEP.md).
 *
 *   priv   (ctvmd, root): everything it always did, minus TCP and TLS.  It
 *          binds the TCP listener, keeps serving api.sock itself, starts the
 *          front by exec and restarts it when it dies; it answers the front's
 *          requests through api_handle_request() on a bounded thread pool.
 *   front  (ctvmd --front, then an unprivileged user under seccomp): TLS,
 *          HTTP, uploads streamed into files priv opened, connection budgets;
 *          every parsed request goes to priv as one REQUEST message.
 */
#pragma once

#include <stdbool.h>

#include "http.h"
#include "privsep-drop.h"

struct api_context;
struct error;

/* The descriptors a front is started with. */
#define FRONT_FD_CHANNEL    3
#define FRONT_FD_LISTEN     4
#define FRONT_FD_ACCESS_LOG 5
/* The request channels: FRONT_FD_REQUEST onwards, as many as priv made
 * (at most FRONT_MAX_CHANNELS); the front finds them at start. */
#define FRONT_FD_REQUEST   6
#define FRONT_MAX_CHANNELS 64
#define FRONT_MAX_LOOPS    4

/* How long a front whose privileged process died keeps answering 503 before
 * it exits (and frees the port for a restarted ctvmd). */
#define FRONT_GRACE_S 5

struct front_options {
	const char *user; /* the unprivileged user to become */
	const char *cert; /* read as root, before the drop */
	const char *key;
	struct http_limits limits;
	enum privsep_seccomp seccomp;
	const char *www_dir; /* the console pages (http-www.h); NULL: none */
	/* event loops serving TCP (http-loop.c): -1 one per CPU (at most
	 * FRONT_MAX_LOOPS), 0 a thread per connection */
	int loops;
};

/* The console pages in dir (NULL: the build's when this ctvmd runs from its
 * build tree, else the installed ones), loaded into memory; NULL, with a log
 * line, when there are none. */
struct www *pages_load(const char *dir);

/* ctvmd --front: never returns. */
_noreturn_ void front_main(const struct front_options *o);

struct priv_config {
	struct api_context *ctx;
	int listen_fd;        /* the bound TCP listener; stays priv's */
	int access_log_fd;    /* handed to each front; stays priv's */
	const char *log_path; /* the front's stderr (ctvmd.log), NULL: priv's stderr */
	/* the front's command line after "ctvmd --front" (user, cert, limits, ...) */
	char **front_args;
	/* request channels, each with its thread: requests served at once
	 * (ctvmd --request-channels; default and at most FRONT_MAX_CHANNELS).
	 * A front connection thread that finds none free sleeps until one
	 * comes back: one more sleep and wake-up a request.  bench/api at 64
	 * connections: 4.6 context switches a request with 16 channels, 3.4
	 * with 64; the 48 more idle threads cost 0.2 MiB resident. */
	unsigned pool_threads;
};

struct priv;
struct priv *priv_start(const struct priv_config *cfg, struct error **err);
/* Stops the front (SIGTERM, then SIGKILL), waits for its channels' threads, frees. */
struct priv *priv_stop(struct priv *p);
