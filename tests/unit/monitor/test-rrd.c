/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* rrd.c: consolidation over synthetic series, fetch rows as Proxmox's
 * rrddata answers them, and the file format (round trip, refusals); plus
 * node-stats' /proc/net/dev parser. */
#include "common.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "error.h"
#include "node-stats.h"
#include "rrd.h"
#include "xalloc.h"

#define WEEK 604800
/* a time aligned to every archive's resolution (a week boundary) */
static const time_t B = (time_t)(1700000000 / WEEK + 1) * WEEK;

static void upd(struct rrd *r, time_t t, double a, double b)
{
	double v[2] = {a, b};
	struct error *e = NULL;
	int k = rrd_update(r, t, v, &e);
	if (k < 0)
		fail_msg("update at %lld: %s", (long long)t, e->msg);
}

/* The value of ds i in the fetched row with time t (NAN unknown); fails
 * when no row has that time. */
static double at(const struct rrd *r, enum rrd_timeframe tf, enum rrd_cf cf, time_t now, time_t t,
                 unsigned i)
{
	unsigned n = rrd_get_def(r)->n_ds;
	double *v = xnew(double, RRD_ROWS *n);
	time_t first;
	rrd_fetch(r, tf, cf, now, &first, v);
	unsigned res = rrd_resolution(r, tf);
	if (t < first || (t - first) % res || (t - first) / res >= RRD_ROWS)
		fail_msg("no row at %lld", (long long)t);
	double x = v[(size_t)((t - first) / res) * n + i];
	free(v);
	return x;
}

static void close_to(double a, double b, int line)
{
	if (!(fabs(a - b) < 1e-9 * (1 + fabs(b))))
		fail_msg("line %d: %.12g, want %.12g", line, a, b);
}
#define assert_close(a, b) close_to((a), (b), __LINE__)

/* Updates every 10 s: a PDP is the time-weighted mean of its seconds. */
static void test_pdp_average(void **state)
{
	struct rrd *r = rrd_new(&rrd_def_storage, 60);
	(void)state;
	upd(r, B, 100, 0); /* the first update covers nothing */
	for (int k = 1; k <= 12; k++)
		upd(r, B + 10 * k, 100, k);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 125, B + 60, 1), 3.5);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 125, B + 120, 1), 9.5);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 125, B + 120, 0), 100);
	/* before the first update: unknown */
	assert_true(isnan(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 125, B, 1)));
	/* the 1-minute MAX archive holds the same PDPs */
	assert_close(at(r, RRD_HOUR, RRD_CF_MAX, B + 125, B + 60, 1), 3.5);
	rrd_free(r);

	/* unaligned updates are split across the step boundary by time */
	r = rrd_new(&rrd_def_storage, 60);
	upd(r, B + 5, 1, 1);
	upd(r, B + 65, 1, 10); /* (B+5, B+65]: 55 s in the first PDP, 5 in the next */
	upd(r, B + 125, 1, 20);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 130, B + 60, 1), 10);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 130, B + 120, 1),
	             (5 * 10 + 55 * 20) / 60.0);
	rrd_free(r);
}

/* The day archive: 30 PDPs per row, AVERAGE vs MAX, and xff 0.5. */
static void test_consolidation(void **state)
{
	struct rrd *r = rrd_new(&rrd_def_storage, 60);
	(void)state;
	upd(r, B, 0, 0);
	for (int m = 1; m <= 90; m++) {
		double v = m;
		if (m >= 31 && m <= 44) /* 14 of 30 unknown: the row stays known */
			v = NAN;
		if (m >= 61 && m <= 76) /* 16 of 30 unknown: the row is unknown */
			v = NAN;
		upd(r, B + 60 * m, 1, v);
	}
	time_t now = B + 5400 + 7;
	assert_close(at(r, RRD_DAY, RRD_CF_AVERAGE, now, B + 1800, 1), 15.5);
	assert_close(at(r, RRD_DAY, RRD_CF_MAX, now, B + 1800, 1), 30);
	assert_close(at(r, RRD_DAY, RRD_CF_AVERAGE, now, B + 3600, 1), (45 + 60) / 2.0);
	assert_close(at(r, RRD_DAY, RRD_CF_MAX, now, B + 3600, 1), 60);
	assert_true(isnan(at(r, RRD_DAY, RRD_CF_AVERAGE, now, B + 5400, 1)));
	assert_true(isnan(at(r, RRD_DAY, RRD_CF_MAX, now, B + 5400, 1)));
	assert_close(at(r, RRD_DAY, RRD_CF_AVERAGE, now, B + 5400, 0), 1); /* total known */
	/* the minute rows of the gap are unknown */
	assert_true(isnan(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60 * 70, 1)));
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60 * 80, 1), 80);
	/* week (180 PDPs): 90 minutes so far, the row is still open: unknown */
	assert_true(isnan(at(r, RRD_WEEK, RRD_CF_AVERAGE, B + 10801, B + 10800, 1)));
	rrd_free(r);
}

/* A gap longer than the heartbeat (2 steps) is unknown. */
static void test_heartbeat(void **state)
{
	struct rrd *r = rrd_new(&rrd_def_storage, 60);
	(void)state;
	upd(r, B, 1, 1);
	upd(r, B + 60, 1, 1);
	upd(r, B + 300, 1, 5); /* 240 s after the last: covers nothing */
	upd(r, B + 360, 1, 6);
	time_t now = B + 400;
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60, 1), 1);
	for (int m = 2; m <= 5; m++)
		assert_true(isnan(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60 * m, 1)));
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 360, 1), 6);
	/* 120 s is still within the heartbeat */
	upd(r, B + 480, 1, 8);
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, B + 500, B + 420, 1), 8);
	rrd_free(r);
}

/* DERIVE stores the per-second rate; a counter that goes back is unknown. */
static void test_derive(void **state)
{
	struct rrd *r = rrd_new(&rrd_def_node, 60);
	double v[12];
	(void)state;
	for (int k = 0; k <= 18; k++) {
		for (int i = 0; i < 12; i++)
			v[i] = 1;
		v[10] = 600.0 * k;                             /* netin: 60 bytes/s */
		v[11] = k < 9 ? 1200.0 * k : 1200.0 * (k - 9); /* netout: 120/s, reset at 9 */
		assert_int_equal(rrd_update(r, B + 10 * k, v, NULL), 0);
	}
	time_t now = B + 185;
	for (int m = 1; m <= 3; m++) {
		assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60 * m, 10), 60);
		/* the reset's two intervals are unknown; the rest averages 120 */
		assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60 * m, 11), 120);
	}
	/* gauges are as given */
	assert_close(at(r, RRD_HOUR, RRD_CF_AVERAGE, now, B + 60, 0), 1);
	rrd_free(r);
}

/* Row times as PVE::RRD's fetch: 70 rows ending at now rounded down. */
static void test_fetch_rows(void **state)
{
	static const unsigned res[] = {60, 1800, 10800, 43200, 604800};
	static const char *const names[] = {"hour", "day", "week", "month", "year"};
	struct rrd *r = rrd_new(&rrd_def_storage, 60);
	time_t now = B + 3 * WEEK + 12345;
	(void)state;
	for (unsigned tf = 0; tf < 5; tf++) {
		assert_int_equal(rrd_timeframe_from_string(names[tf]), (int)tf);
		assert_int_equal(rrd_resolution(r, tf), res[tf]);
		json_t *a = rrd_fetch_json(r, tf, RRD_CF_AVERAGE, now);
		assert_int_equal(json_array_size(a), RRD_ROWS);
		json_int_t last = (json_int_t)(now / res[tf] * res[tf]);
		for (size_t j = 0; j < RRD_ROWS; j++) {
			json_t *o = json_array_get(a, j);
			assert_int_equal(json_integer_value(json_object_get(o, "time")),
			                 last - (json_int_t)(RRD_ROWS - 1 - j) * res[tf]);
			assert_int_equal(json_object_size(o), 1); /* no values: time only */
		}
		json_decref(a);
	}
	assert_int_equal(rrd_timeframe_from_string("decade"), -EINVAL);
	assert_int_equal(rrd_timeframe_from_string(NULL), -EINVAL);
	assert_int_equal(rrd_cf_from_string("MAX"), RRD_CF_MAX);
	assert_int_equal(rrd_cf_from_string("AVERAGE"), RRD_CF_AVERAGE);
	assert_int_equal(rrd_cf_from_string("LAST"), -EINVAL);

	/* values appear in the JSON, unknown ones are left out; integral
	 * values are integers as in Proxmox's answers */
	upd(r, B, 1, 1);
	upd(r, B + 60, 1000, NAN);
	upd(r, B + 120, 1000, 2.5);
	json_t *a = rrd_fetch_json(r, RRD_HOUR, RRD_CF_AVERAGE, B + 130);
	json_t *o = json_array_get(a, RRD_ROWS - 1);
	assert_int_equal(json_integer_value(json_object_get(o, "time")), B + 120);
	assert_true(json_is_integer(json_object_get(o, "total")));
	assert_int_equal(json_integer_value(json_object_get(o, "total")), 1000);
	assert_true(json_is_real(json_object_get(o, "used")));
	o = json_array_get(a, RRD_ROWS - 2);
	assert_int_equal(json_integer_value(json_object_get(o, "time")), B + 60);
	assert_non_null(json_object_get(o, "total"));
	assert_null(json_object_get(o, "used"));
	json_decref(a);
	rrd_free(r);
}

/* Updates must move forward; a long gap (years) is cheap and unknown. */
static void test_time(void **state)
{
	struct rrd *r = rrd_new(&rrd_def_storage, 60);
	struct error *e = NULL;
	double v[2] = {1, 1};
	(void)state;
	upd(r, B, 1, 1);
	upd(r, B + 60, 1, 1);
	assert_int_equal(rrd_update(r, B + 60, v, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "minimum one second step"));
	e = error_free(e);
	assert_int_equal(rrd_update(r, B + 30, v, NULL), -EINVAL);
	assert_int_equal(rrd_update(r, 0, v, NULL), -EINVAL);
	assert_int_equal(rrd_last_update(r), B + 60);

	time_t later = B + 3 * 365 * 86400L;
	upd(r, later, 7, 7);
	for (int k = 1; k <= 12; k++)
		upd(r, later + 10 * k, 7, 7);
	time_t now = later + 125;
	for (unsigned tf = 0; tf < 5; tf++) {
		json_t *a = rrd_fetch_json(r, tf, RRD_CF_MAX, now);
		size_t known = 0;
		for (size_t j = 0; j < RRD_ROWS; j++)
			known += json_object_get(json_array_get(a, j), "used") != NULL;
		/* only the two new minutes; nothing of three years ago */
		assert_int_equal(known, tf == RRD_HOUR ? 2 : 0);
		json_decref(a);
	}
	rrd_free(r);
}

/* ---- the file -------------------------------------------------------------- */

static struct rrd *busy_series(const struct rrd_def *def, unsigned step, int hours)
{
	struct rrd *r = rrd_new(def, step);
	double v[16];
	for (int k = 0; k <= hours * 360; k++) {
		for (unsigned i = 0; i < def->n_ds; i++)
			v[i] = (k % 97 == 5) ? NAN : (double)((k * (i + 3)) % 1000) + i;
		if (def->n_ds > 10)
			v[10] = 1000.0 * k;
		rrd_update(r, B + 10 * k + 3, v, NULL);
	}
	return r;
}

static bool same_image(const struct rrd *a, const struct rrd *b)
{
	size_t la, lb;
	void *ia = rrd_serialize(a, &la), *ib = rrd_serialize(b, &lb);
	bool same = la == lb && memcmp(ia, ib, la) == 0;
	free(ia);
	free(ib);
	return same;
}

static void test_round_trip(void **state)
{
	const struct rrd_def *defs[] = {&rrd_def_node, &rrd_def_storage};
	(void)state;
	for (unsigned d = 0; d < 2; d++) {
		struct rrd *r = busy_series(defs[d], 60, 30);
		size_t len;
		void *img = rrd_serialize(r, &len);
		struct rrd *back = NULL;
		assert_int_equal(rrd_deserialize(defs[d], 60, img, len, &back, NULL), 0);
		assert_true(same_image(r, back));
		assert_int_equal(rrd_last_update(back), rrd_last_update(r));
		for (unsigned tf = 0; tf < 5; tf++)
			for (unsigned cf = 0; cf < 2; cf++) {
				time_t now = rrd_last_update(r) + 5;
				json_t *x = rrd_fetch_json(r, tf, cf, now);
				json_t *y = rrd_fetch_json(back, tf, cf, now);
				assert_true(json_equal(x, y));
				json_decref(x);
				json_decref(y);
			}
		/* the open PDP and rows carry on identically */
		double v[16] = {0};
		for (int k = 1; k <= 400; k++) {
			for (unsigned i = 0; i < defs[d]->n_ds; i++)
				v[i] = k * 3.0 + i;
			rrd_update(r, rrd_last_update(r) + 7, v, NULL);
			rrd_update(back, rrd_last_update(back) + 7, v, NULL);
		}
		assert_true(same_image(r, back));
		free(img);
		rrd_free(r);
		rrd_free(back);
	}
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void refused(const void *img, size_t len, const struct rrd_def *def, unsigned step,
                    const char *what)
{
	struct rrd *r = NULL;
	struct error *e = NULL;
	int k = rrd_deserialize(def, step, img, len, &r, &e);
	if (k != -EINVAL || r || !e)
		fail_msg("%s: not refused (%d)", what, k);
	error_free(e);
}

static void test_refused(void **state)
{
	struct rrd *r = busy_series(&rrd_def_storage, 60, 2);
	size_t len;
	uint8_t *img = rrd_serialize(r, &len);
	uint8_t *bad = xmalloc(len + 1);
	(void)state;

	/* storage: header 40, 2 ds defs (48), 2 pdp states (48), first rra at 136 */
	const size_t rra0 = 40 + 48 + 48, row0 = rra0 + 16 + 2 * 16;

	refused(img, len - 1, &rrd_def_storage, 60, "truncated");
	refused(img, 0, &rrd_def_storage, 60, "empty");
	memcpy(bad, img, len);
	bad[len] = 0;
	refused(bad, len + 1, &rrd_def_storage, 60, "oversized");
	refused(img, len, &rrd_def_node, 60, "another definition");
	refused(img, len, &rrd_def_storage, 1, "another step");

	memcpy(bad, img, len);
	bad[row0 + 3] ^= 0x10;
	refused(bad, len, &rrd_def_storage, 60, "a flipped bit");

	static const struct {
		size_t off;
		enum { U32, F64 } kind;
		double v;
		const char *what;
	} cases[] = {
	    {0, U32, 0x4c4c4c4c, "magic"},
	    {8, U32, 2, "version"},
	    {16, U32, 3, "n_ds"},
	    {24, U32, 71, "rows"},
	    {28, U32, 1, "flags"},
	    {40, U32, 0x41414141, "ds name"},
	    {40 + 16, U32, RRD_DERIVE, "ds type"},
	    {88, F64, INFINITY, "pdp sum"},
	    {96, F64, 61, "pdp known seconds beyond the step"},
	    {104, F64, -1, "negative counter"},
	    {rra0, U32, RRD_CF_MAX, "archive order"},
	    {rra0 + 4, U32, 2, "pdp per row"},
	    {rra0 + 8, U32, RRD_ROWS, "current row"},
	    {rra0 + 16 + 8, U32, 1, "known PDPs of a 1-PDP row"},
	    {row0, F64, INFINITY, "infinite value"},
	    {row0 + 8, F64, -5, "negative value"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(bad, img, len);
		if (cases[i].kind == U32)
			put_u32(bad + cases[i].off, (uint32_t)cases[i].v);
		else
			put_f64(bad + cases[i].off, cases[i].v);
		rrd_image_seal(bad, len);
		refused(bad, len, &rrd_def_storage, 60, cases[i].what);
	}
	/* a sealed unchanged copy still loads */
	memcpy(bad, img, len);
	rrd_image_seal(bad, len);
	struct rrd *ok = NULL;
	assert_int_equal(rrd_deserialize(&rrd_def_storage, 60, bad, len, &ok, NULL), 0);
	rrd_free(ok);
	free(bad);
	free(img);
	rrd_free(r);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/test-rrd-XXXXXX";
	(void)state;
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = xasprintf("%s/node", dir);
	struct rrd *r = busy_series(&rrd_def_node, 60, 3), *back = NULL;
	struct error *e = NULL;

	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, &e), -ENOENT);
	e = error_free(e);
	assert_int_equal(rrd_save(r, path, NULL), 0);
	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, NULL), 0);
	assert_true(same_image(r, back));
	back = rrd_free(back);

	/* oversized: refused without reading it all */
	size_t len;
	uint8_t *img = rrd_serialize(r, &len);
	uint8_t *big = xcalloc(1, len * 4);
	memcpy(big, img, len);
	write_bytes(path, big, len * 4);
	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, &e), -EINVAL);
	assert_null(back);
	e = error_free(e);
	write_bytes(path, img, len / 2);
	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, &e), -EINVAL);
	assert_non_null(strstr(e->msg, path));
	e = error_free(e);
	write_bytes(path, "", 0);
	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, &e), -EINVAL);
	e = error_free(e);
	/* a storage series is no node series */
	struct rrd *s = busy_series(&rrd_def_storage, 60, 1);
	assert_int_equal(rrd_save(s, path, NULL), 0);
	assert_int_equal(rrd_load(&rrd_def_node, 60, path, &back, &e), -EINVAL);
	e = error_free(e);
	assert_true(rrd_memory_size(&rrd_def_node) < 72 * 1024);
	assert_true(rrd_memory_size(&rrd_def_storage) < 13 * 1024);

	unlink(path);
	rmdir(dir);
	free(big);
	free(img);
	rrd_free(s);
	rrd_free(r);
}

static bool not_lo(const char *dev)
{
	return !streq(dev, "lo");
}

static void test_net_dev(void **state)
{
	const char *text =
	    "Inter-|   Receive                                                |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
	    "errs drop fifo colls carrier compressed\n"
	    "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
	    "  eth0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n"
	    "enp1s0:12 1 0 0 0 0 0 0 34 1 0 0 0 0 0 0\n"
	    "  bad: 1 2 3\n";
	uint64_t in = 0, out = 0;
	(void)state;
	assert_int_equal(node_stats_parse_net_dev(text, not_lo, &in, &out), 0);
	assert_int_equal(in, 5012);
	assert_int_equal(out, 7034);
	assert_int_equal(node_stats_parse_net_dev(text, NULL, &in, &out), 0);
	assert_int_equal(in, 6012);
	assert_int_equal(node_stats_parse_net_dev("garbage\n", NULL, &in, &out), -EINVAL);
	assert_int_equal(node_stats_parse_net_dev("", NULL, &in, &out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pdp_average), cmocka_unit_test(test_consolidation),
	    cmocka_unit_test(test_heartbeat),   cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_fetch_rows),  cmocka_unit_test(test_time),
	    cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_files),       cmocka_unit_test(test_net_dev),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
