/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The WebSocket frame decoder on arbitrary bytes: the first byte picks how
 * the input is split and whether frames must be masked, the rest is the
 * stream.  Whatever the split, the result, the close code and the events
 * must be the same.  Then the data messages seen are encoded again and
 * must decode to the same events.
 */
#include "common.h"

#include "http-websocket.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The events as text; a message's letter once, however it is split. */
struct rec {
	struct strbuf log;
	bool mid;
};

static int on_data(void *ud, int op, const uint8_t *d, size_t n, bool fin)
{
	struct rec *r = ud;
	if (n == 0 && !fin)
		abort();
	if (!r->mid)
		strbuf_addch(&r->log, op == WS_OP_TEXT ? 'T' : 'B');
	r->mid = !fin;
	strbuf_add(&r->log, (const char *)d, n);
	if (fin)
		strbuf_addch(&r->log, '|');
	return 0;
}

static int on_control(void *ud, int op, const uint8_t *d, size_t n)
{
	if (n > WS_MAX_CONTROL || (op != WS_OP_PING && op != WS_OP_PONG))
		abort();
	struct strbuf *log = &((struct rec *)ud)->log;
	strbuf_addch(log, op == WS_OP_PING ? 'P' : 'O');
	strbuf_add(log, (const char *)d, n);
	return 0;
}

static int on_close(void *ud, unsigned code, const char *reason)
{
	if (code != WS_CLOSE_NO_STATUS && !ws_close_code_valid(code))
		abort();
	strbuf_addf(&((struct rec *)ud)->log, "C%u%s", code, reason);
	return 0;
}

static const struct ws_decoder_callbacks cbs = {on_data, on_control, on_close};

/* The round trip: payload bytes only, and a '|' per message end. */
static int on_raw(void *ud, int op, const uint8_t *d, size_t n, bool fin)
{
	if (op != WS_OP_BINARY)
		abort();
	strbuf_add(ud, (const char *)d, n);
	if (fin)
		strbuf_addch(ud, '|');
	return 0;
}

static const struct ws_decoder_callbacks raw_cbs = {on_raw, NULL, NULL};

static int run(const uint8_t *in, size_t len, size_t step, bool mask, struct strbuf *log,
               unsigned *code)
{
	struct rec rc = {*log, false};
	struct ws_decoder *d = ws_decoder_new(&cbs, &rc, mask, 4096);
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i += step)
		r = ws_decoder_feed(d, in + i, len - i < step ? len - i : step);
	*code = ws_decoder_close_code(d);
	ws_decoder_free(d);
	*log = rc.log;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] & 0x3f) + 1;
	bool mask = data[0] & 0x40;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	unsigned ca, cb;
	int ra = run(in, len, len ? len : 1, mask, &a, &ca);
	int rb = run(in, len, step, mask, &b, &cb);
	/* Same result; same events, except that after a failure one run may
	 * have delivered more of the valid prefix (pieces are streamed). */
	if (ra != rb || ca != cb)
		abort();
	size_t common = a.len < b.len ? a.len : b.len;
	if ((ra >= 0 && a.len != b.len) || (common && memcmp(a.buf, b.buf, common) != 0))
		abort();
	if (ra < 0 && ca == WS_CLOSE_NORMAL)
		abort();
	strbuf_release(&a);
	strbuf_release(&b);

	/* the encoder: the input as one binary message in frames of step
	 * bytes (masked when mask), decoded back whole */
	struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
	static const uint8_t key[4] = {1, 2, 3, 4};
	size_t n = len < 4096 ? len : 4096;
	size_t off = 0;
	do {
		size_t k = n - off < step ? n - off : step;
		uint8_t h[WS_MAX_HEADER];
		size_t hl = ws_frame_header(h, off ? WS_OP_CONT : WS_OP_BINARY, off + k == n, k,
		                            mask ? key : NULL);
		strbuf_add(&enc, (const char *)h, hl);
		uint8_t piece[64];
		memcpy(piece, in + off, k);
		if (mask)
			ws_mask(piece, k, key, 0);
		strbuf_add(&enc, (const char *)piece, k);
		off += k;
	} while (off < n);
	struct ws_decoder *d = ws_decoder_new(&raw_cbs, &dec, mask, 4096);
	if (ws_decoder_feed(d, enc.buf, enc.len) != 0)
		abort();
	ws_decoder_free(d);
	if (dec.len != n + 1 || dec.buf[n] != '|' || (n && memcmp(dec.buf, in, n) != 0))
		abort();
	strbuf_release(&enc);
	strbuf_release(&dec);
	return 0;
}
