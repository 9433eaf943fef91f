/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Proxmox's terminal framing on arbitrary bytes: the first byte picks how
 * the rest is split.  Whatever the split, the result and the events must
 * be the same (after a failure, one run may have delivered more input
 * bytes of the failing message's valid prefix).
 */
#include "common.h"

#include "http-termframe.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_auth(void *ud, const char *line)
{
	if (strlen(line) > TERMFRAME_MAX_AUTH)
		abort();
	strbuf_addf(ud, "A%s;", line);
	return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
	if (n == 0)
		abort();
	strbuf_add(ud, d, n);
	return 0;
}

static int on_resize(void *ud, unsigned c, unsigned r)
{
	if (!c || !r || c > TERMFRAME_MAX_SIZE || r > TERMFRAME_MAX_SIZE)
		abort();
	strbuf_addf(ud, "R%u,%u;", c, r);
	return 0;
}

static int on_ping(void *ud)
{
	strbuf_addstr(ud, "P;");
	return 0;
}

static const struct termframe_callbacks cbs = {on_auth, on_data, on_resize, on_ping};

static int run(const char *in, size_t len, size_t step, struct strbuf *log)
{
	struct termframe *t = termframe_new(&cbs, log);
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i += step)
		r = termframe_feed(t, in + i, len - i < step ? len - i : step);
	termframe_free(t);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int ra = run(in, len, len ? len : 1, &a);
	int rb = run(in, len, step, &b);
	if (ra != rb)
		abort();
	size_t common = a.len < b.len ? a.len : b.len;
	if ((ra == 0 && a.len != b.len) || (common && memcmp(a.buf, b.buf, common) != 0))
		abort();
	strbuf_release(&a);
	strbuf_release(&b);
	return 0;
}
