/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The usage history file loader (rrd_deserialize).  The first byte picks the
 * definition (bit 0: node, else storage) and whether the checksum is fixed
 * up first (bit 1), so the fuzzer also reaches the checks behind it.  An
 * accepted image must serialize back to the same bytes, fetch to JSON with
 * only finite numbers, and take updates.
 */
#include "common.h"

#include <math.h>

#include "error.h"
#include "rrd.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct rrd_def *def = data[0] & 1 ? &rrd_def_node : &rrd_def_storage;
	size_t len = size - 1;
	uint8_t *buf = xmalloc(len + 1);
	memcpy(buf, data + 1, len);
	if (data[0] & 2)
		rrd_image_seal(buf, len);

	struct rrd *r = NULL;
	struct error *e = NULL;
	if (rrd_deserialize(def, 60, buf, len, &r, &e) < 0) {
		if (!e || r)
			abort();
		error_free(e);
		free(buf);
		return 0;
	}
	size_t len2;
	void *img = rrd_serialize(r, &len2);
	if (len2 != len || memcmp(img, buf, len) != 0)
		abort();
	free(img);

	time_t now = rrd_last_update(r) + 1;
	for (int tf = 0; tf < _RRD_TIMEFRAME_MAX; tf++)
		for (int cf = 0; cf < _RRD_CF_MAX; cf++) {
			json_t *a = rrd_fetch_json(r, (enum rrd_timeframe)tf, (enum rrd_cf)cf, now);
			char *s = json_dumps(a, JSON_COMPACT);
			if (!s || json_array_size(a) != RRD_ROWS)
				abort();
			free(s);
			json_decref(a);
		}
	double v[16];
	for (unsigned i = 0; i < def->n_ds; i++)
		v[i] = i % 3 ? (double)i * 1e6 : NAN;
	rrd_update(r, now + 30, v, NULL);
	rrd_update(r, now + 100000, v, NULL);
	rrd_free(r);
	free(buf);
	return 0;
}
