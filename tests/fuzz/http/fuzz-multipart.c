/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The multipart parser on arbitrary bodies: the first byte picks how the
 * input is split, the rest is the body with boundary "b0".  Whatever the
 * split, the events must be the same.
 */
#include "common.h"

#include "http-multipart.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_begin(void *ud, const char *name, const char *filename)
{
	strbuf_addf(ud, "B%s/%s;", name, filename ? filename : "");
	return 0;
}

static int on_data(void *ud, const char *d, size_t len)
{
	if (len == 0)
		abort();
	strbuf_add(ud, d, len);
	return 0;
}

static int on_end(void *ud)
{
	strbuf_addch(ud, 'E');
	return 0;
}

static const struct http_multipart_callbacks cbs = {on_begin, on_data, on_end};

static int run(const char *body, size_t len, size_t step, struct strbuf *log)
{
	struct http_multipart *mp = http_multipart_new("b0", &cbs, log);
	int r = 0;
	for (size_t i = 0; i < len && r == 0; i += step)
		r = http_multipart_feed(mp, body + i, len - i < step ? len - i : step);
	http_multipart_free(mp);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int ra = run(body, len, len ? len : 1, &a);
	int rb = run(body, len, step, &b);
	if (ra != rb && !(ra < 0 && rb < 0))
		abort();
	if (ra == 1 && (a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0)))
		abort();
	strbuf_release(&a);
	strbuf_release(&b);
	/* the Content-Type parser too */
	char *ct = strndup(body, len < 200 ? len : 200);
	if (ct) {
		free(http_multipart_boundary(ct));
		free(ct);
	}
	return 0;
}
