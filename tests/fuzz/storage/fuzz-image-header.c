/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A qcow2 header is bytes inside a file that holds a guest's disk, and an
 * uploaded image is bytes from anybody.  Checks: no crash or out-of-bounds
 * read; an accepted backing file lies inside the first cluster and after
 * the fixed header; a name given back is exactly backing_len bytes without
 * control characters.  The reference parser (image_refs_parse) reads the
 * same bytes as qcow2 and as vmdk: names it gives back are clean and
 * bounded, and a name or format only comes with a reference.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "image-header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool clean(const char *s, size_t max)
{
	size_t n = strlen(s);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return n > 0 && n <= max;
}

static void refs(const uint8_t *data, size_t size, const char *fmt)
{
	struct image_refs r;
	if (image_refs_parse(data, size, fmt, &r, NULL) < 0)
		return;
	if (r.backing_name && (!r.backing || !clean(r.backing_name, 1023)))
		abort();
	if (r.backing_fmt && (!r.backing_fmt[0] || !clean(r.backing_fmt, 15)))
		abort();
	if (streq(fmt, "vmdk") && r.data_file)
		abort();
	image_refs_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	refs(data, size, "qcow2");
	refs(data, size, "vmdk");
	struct image_header h;
	if (qcow2_header_parse(data, size, &h) < 0)
		return 0;
	if (h.backing_offset &&
	    (h.backing_offset < 72 || h.backing_len == 0 || h.backing_len > 1023 ||
	     h.backing_offset + h.backing_len > (2u << 20)))
		abort();
	char *name = qcow2_backing_name(data, size, &h);
	if (name) {
		if (strlen(name) != h.backing_len)
			abort();
		for (const char *c = name; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				abort();
	}
	free(name);
	return 0;
}
