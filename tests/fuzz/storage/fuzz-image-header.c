/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A qcow2 header is bytes inside a file that holds a guest's disk.  Checks:
 * no crash or out-of-bounds read; an accepted backing file lies inside the
 * first cluster and after the fixed header; a name given back is exactly
 * backing_len bytes without control characters.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "image-header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
