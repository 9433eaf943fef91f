/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Serving request channels (docs/dev/PRIVSEP.md, "How priv serves the
 * channels"): the privileged side's half of a request channel, where the
 * peer sends one frame and waits for its answer before the next.
 *
 * A thread per channel costs a sleep and a wake-up per request, which on
 * these virtual machines is the most expensive part of a short request.
 * So a few pollers wait on one epoll over every channel and answer a read
 * (a GET or HEAD REQUEST without a body or upload) on their own thread:
 * when requests queue up a poller goes from one to the next without
 * sleeping.  Everything else (a write, a login, an upload, a CANCEL) is
 * handed to a thread of its own at once, so it never holds up the reads.
 * A read that turns out slow (a storage listing running lvs, a guest that
 * does not answer) is noticed by a watchdog within one or two ticks of
 * takeover_ms, which starts a new poller in its place; the slow one
 * finishes its request and ends.  Requests queued behind a slow read wait
 * at most that long.
 *
 * Each channel is watched one-shot: whoever took its frame owns it (its
 * reader, its socket) until the answer is written and the watch re-armed,
 * so the serve callback may write to fd without a lock.
 *
 * Threads: at most pollers + channels + 1 at once (a replaced poller and a
 * hand-off thread each hold one channel's request).
 */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "privsep.h"

struct privsep_serve;

struct privsep_serve_ops {
	/* Answers m, read from channel index (descriptor fd), on whatever
	 * thread: the channel is this call's alone until it returns.  m is
	 * cleared after the call (take what is to be kept). */
	void (*serve)(void *userdata, unsigned index, int fd, struct privsep_msg *m);
	/* Channel index broke the protocol (not end of file): e says how.  It
	 * is served no more; the others go on. */
	void (*broken)(void *userdata, unsigned index, const struct error *e);
};

struct privsep_serve_config {
	const int *fds; /* the channels (this side's ends), n of them; the caller's */
	unsigned n;
	unsigned pollers;     /* 0: one; at most PRIVSEP_SERVE_MAX_POLLERS */
	unsigned takeover_ms; /* the watchdog's tick; 0: PRIVSEP_SERVE_TAKEOVER_MS */
	unsigned from;        /* the reader's accepted sides (PRIVSEP_FRONT) */
	const struct privsep_serve_ops *ops;
	void *userdata;
};
#define PRIVSEP_SERVE_MAX_POLLERS 8
#define PRIVSEP_SERVE_TAKEOVER_MS 5

/* Starts serving every channel.  Returns 0, or a negative errno with *err
 * (no thread was left running). */
int privsep_serve_start(const struct privsep_serve_config *cfg, struct privsep_serve **ret,
                        struct error **err);

/* Waits until every channel has ended (end of file, or broken: the caller
 * shuts them down to end them) and every thread has finished, then frees
 * s.  The descriptors stay open (the caller's). */
void privsep_serve_wait(struct privsep_serve *s);

/* How many times a slow read's poller was replaced, and how many requests
 * went to a thread of their own (for tests). */
unsigned privsep_serve_takeovers(struct privsep_serve *s);
unsigned privsep_serve_handoffs(struct privsep_serve *s);

/* Whether a poller answers m on its own thread: a REQUEST for GET or HEAD,
 * without a body, an upload or a descriptor. */
bool privsep_serve_inline(const struct privsep_msg *m);
