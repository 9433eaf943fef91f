/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The round-robin store (rrd.h). */
#include "common.h"

#include <math.h>

#include "error.h"
#include "fileio.h"
#include "rrd.h"
#include "xalloc.h"

#define N_TF        _RRD_TIMEFRAME_MAX
#define N_RRA       (_RRD_CF_MAX * N_TF)
#define XFF         0.5
#define MAX_TIME    ((int64_t)1 << 40) /* far beyond any clock; keeps sums exact */
#define MAX_STEP    3600
#define NAME_BYTES  16
#define FILE_MAGIC  "CTVMRRD1"
#define FILE_VERSON 1
#define RRD_MAX_DS  32

static const struct rrd_ds node_ds[] = {
    {"loadavg", RRD_GAUGE},   {"maxcpu", RRD_GAUGE},   {"cpu", RRD_GAUGE},
    {"iowait", RRD_GAUGE},    {"memtotal", RRD_GAUGE}, {"memused", RRD_GAUGE},
    {"swaptotal", RRD_GAUGE}, {"swapused", RRD_GAUGE}, {"roottotal", RRD_GAUGE},
    {"rootused", RRD_GAUGE},  {"netin", RRD_DERIVE},   {"netout", RRD_DERIVE},
};
static const struct rrd_ds storage_ds[] = {
    {"total", RRD_GAUGE},
    {"used", RRD_GAUGE},
};
static const struct rrd_ds guest_ds[] = {
    {"maxcpu", RRD_GAUGE},     {"cpu", RRD_GAUGE},     {"maxmem", RRD_GAUGE},
    {"mem", RRD_GAUGE},        {"maxdisk", RRD_GAUGE}, {"disk", RRD_GAUGE},
    {"netin", RRD_DERIVE},     {"netout", RRD_DERIVE}, {"diskread", RRD_DERIVE},
    {"diskwrite", RRD_DERIVE},
};
const struct rrd_def rrd_def_node = {"pve2-node", node_ds, ARRAY_SIZE(node_ds)};
const struct rrd_def rrd_def_guest = {"pve2-vm", guest_ds, ARRAY_SIZE(guest_ds)};
const struct rrd_def rrd_def_storage = {"pve2-storage", storage_ds, ARRAY_SIZE(storage_ds)};

/* PDPs per row of hour, day, week, month, year (pve-cluster's RRA lines) */
static const unsigned pdp_per_row[N_TF] = {1, 30, 180, 720, 10080};

struct rra {
	enum rrd_cf cf;
	unsigned pdp_cnt;
	unsigned cur_row; /* the newest row */
	double *acc;      /* n_ds: sum (AVERAGE) or maximum (MAX) of the open row's PDPs */
	uint32_t *known;  /* n_ds: known PDPs in the open row */
	double *rows;     /* RRD_ROWS * n_ds */
};

struct rrd {
	const struct rrd_def *def;
	unsigned step;
	int64_t last_update; /* 0: none yet */
	/* the open PDP, per data source */
	double *pdp_acc;   /* value * seconds */
	double *pdp_known; /* known seconds */
	double *last_raw;  /* DERIVE: the previous counter value, NAN if none */
	struct rra rra[N_RRA];
};

static struct rra *rra_of(struct rrd *r, enum rrd_cf cf, enum rrd_timeframe tf)
{
	return &r->rra[(unsigned)cf * N_TF + (unsigned)tf];
}

struct rrd *rrd_new(const struct rrd_def *def, unsigned step)
{
	struct rrd *r = xnew(struct rrd, 1);
	unsigned n = def->n_ds;

	if (n < 1 || n > RRD_MAX_DS)
		abort(); /* a programming error: the definitions are static */

	r->def = def;
	r->step = step ? step : RRD_STEP_DEFAULT;
	r->pdp_acc = xnew(double, n);
	r->pdp_known = xnew(double, n);
	r->last_raw = xnew(double, n);
	for (unsigned i = 0; i < n; i++)
		r->last_raw[i] = NAN;
	for (unsigned c = 0; c < _RRD_CF_MAX; c++)
		for (unsigned t = 0; t < N_TF; t++) {
			struct rra *a = rra_of(r, (enum rrd_cf)c, (enum rrd_timeframe)t);
			a->cf = (enum rrd_cf)c;
			a->pdp_cnt = pdp_per_row[t];
			a->acc = xnew(double, n);
			a->known = xnew(uint32_t, n);
			a->rows = xnew(double, (size_t)RRD_ROWS *n);
			for (size_t k = 0; k < (size_t)RRD_ROWS * n; k++)
				a->rows[k] = NAN;
		}
	return r;
}

struct rrd *rrd_free(struct rrd *r)
{
	if (!r)
		return NULL;
	for (unsigned i = 0; i < N_RRA; i++) {
		free(r->rra[i].acc);
		free(r->rra[i].known);
		free(r->rra[i].rows);
	}
	free(r->pdp_acc);
	free(r->pdp_known);
	free(r->last_raw);
	free(r);
	return NULL;
}

const struct rrd_def *rrd_get_def(const struct rrd *r)
{
	return r->def;
}

unsigned rrd_get_step(const struct rrd *r)
{
	return r->step;
}

time_t rrd_last_update(const struct rrd *r)
{
	return (time_t)r->last_update;
}

size_t rrd_memory_size(const struct rrd_def *def)
{
	size_t per_rra = def->n_ds * (sizeof(double) + sizeof(uint32_t)) +
	                 (size_t)RRD_ROWS * def->n_ds * sizeof(double);
	return sizeof(struct rrd) + 3 * def->n_ds * sizeof(double) + N_RRA * per_rra;
}

/* ---- consolidation ------------------------------------------------------ */

static void rra_close_row(struct rra *a, unsigned n_ds)
{
	a->cur_row = (a->cur_row + 1) % RRD_ROWS;
	double *row = a->rows + (size_t)a->cur_row * n_ds;
	for (unsigned i = 0; i < n_ds; i++) {
		double v = NAN;
		uint32_t unknown = a->pdp_cnt - a->known[i];
		if (a->known[i] > 0 && (double)unknown <= (double)a->pdp_cnt * XFF)
			v = a->cf == RRD_CF_AVERAGE ? a->acc[i] / a->known[i] : a->acc[i];
		row[i] = isfinite(v) ? v : NAN;
		a->acc[i] = 0;
		a->known[i] = 0;
	}
}

static void rra_unknown_rows(struct rra *a, unsigned n_ds, int64_t count)
{
	if (count > RRD_ROWS)
		count = RRD_ROWS; /* the whole ring is unknown */
	for (int64_t k = 0; k < count; k++) {
		a->cur_row = (a->cur_row + 1) % RRD_ROWS;
		for (unsigned i = 0; i < n_ds; i++)
			a->rows[(size_t)a->cur_row * n_ds + i] = NAN;
	}
}

/* Adds the PDP ending at t; the PDPs between prev (the last one added) and t
 * are unknown, and rows that ended among them are closed first. */
static void rra_add_pdp(struct rra *a, unsigned n_ds, int64_t step, int64_t prev, int64_t t,
                        const double *vals)
{
	int64_t width = (int64_t)a->pdp_cnt * step;
	int64_t first_end = (prev / width + 1) * width; /* end of the row prev + step is in */

	if (first_end <= t - step) {
		rra_close_row(a, n_ds);
		rra_unknown_rows(a, n_ds, (t - step - first_end) / width);
	}
	for (unsigned i = 0; i < n_ds; i++) {
		if (isnan(vals[i]))
			continue;
		if (a->cf == RRD_CF_AVERAGE)
			a->acc[i] += vals[i];
		else if (a->known[i] == 0 || vals[i] > a->acc[i])
			a->acc[i] = vals[i];
		a->known[i]++;
	}
	if (t % width == 0)
		rra_close_row(a, n_ds);
}

static void close_pdp(struct rrd *r, int64_t prev, int64_t t)
{
	unsigned n = r->def->n_ds;
	double vals[RRD_MAX_DS];

	for (unsigned i = 0; i < n; i++) {
		double v = r->pdp_known[i] > 0 ? r->pdp_acc[i] / r->pdp_known[i] : NAN;
		vals[i] = isfinite(v) ? v : NAN;
		r->pdp_acc[i] = 0;
		r->pdp_known[i] = 0;
	}
	for (unsigned k = 0; k < N_RRA; k++)
		rra_add_pdp(&r->rra[k], n, r->step, prev, t, vals);
}

int rrd_update(struct rrd *r, time_t t_, const double *values, struct error **err)
{
	unsigned n = r->def->n_ds;
	int64_t t = (int64_t)t_, step = r->step;
	double rate[RRD_MAX_DS];
	bool any_known = false;

	if (t <= 0 || t >= MAX_TIME)
		return error_set(err, -EINVAL, 500, "illegal update time %lld", (long long)t);
	if (r->last_update && t <= r->last_update)
		return error_set(err, -EINVAL, 500,
		                 "illegal attempt to update using time %lld when last update time "
		                 "is %lld (minimum one second step)",
		                 (long long)t, (long long)r->last_update);

	int64_t interval = t - r->last_update;
	for (unsigned i = 0; i < n; i++) {
		double v = isfinite(values[i]) ? values[i] : NAN;
		double x = NAN;
		if (r->def->ds[i].type == RRD_DERIVE) {
			if (r->last_update && !isnan(v) && !isnan(r->last_raw[i]))
				x = (v - r->last_raw[i]) / (double)interval;
			r->last_raw[i] = v;
		} else {
			x = v;
		}
		/* the first update and one after more than a heartbeat cover nothing */
		if (!r->last_update || interval > 2 * step || !isfinite(x) || x < 0)
			x = NAN;
		rate[i] = x;
		any_known = any_known || !isnan(x);
	}

	int64_t a = r->last_update;
	int64_t prev = a - a % step; /* the last PDP closed */
	int64_t end = prev + step;   /* the open PDP's end */
	if (!a) {
		r->last_update = t;
		return 0;
	}
	while (end <= t) {
		int64_t from = a > end - step ? a : end - step;
		for (unsigned i = 0; i < n; i++)
			if (!isnan(rate[i])) {
				r->pdp_acc[i] += rate[i] * (double)(end - from);
				r->pdp_known[i] += (double)(end - from);
			}
		close_pdp(r, prev, end);
		prev = end;
		/* nothing known: skip to the last PDP that ends by t (the archives
		 * treat the PDPs in between as unknown) */
		if (!any_known && t - t % step > end + step)
			end = t - t % step;
		else
			end += step;
	}
	int64_t from = a > end - step ? a : end - step;
	for (unsigned i = 0; i < n; i++)
		if (!isnan(rate[i])) {
			r->pdp_acc[i] += rate[i] * (double)(t - from);
			r->pdp_known[i] += (double)(t - from);
		}
	r->last_update = t;
	return 0;
}

/* ---- fetch -------------------------------------------------------------- */

int rrd_timeframe_from_string(const char *s)
{
	static const char *const names[N_TF] = {"hour", "day", "week", "month", "year"};
	for (unsigned i = 0; s && i < N_TF; i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}

int rrd_cf_from_string(const char *s)
{
	if (s && streq(s, "AVERAGE"))
		return RRD_CF_AVERAGE;
	if (s && streq(s, "MAX"))
		return RRD_CF_MAX;
	return -EINVAL;
}

unsigned rrd_resolution(const struct rrd *r, enum rrd_timeframe tf)
{
	return pdp_per_row[tf] * r->step;
}

void rrd_fetch(const struct rrd *r, enum rrd_timeframe tf, enum rrd_cf cf, time_t now,
               time_t *ret_first, double *ret_values)
{
	const struct rra *a = &r->rra[(unsigned)cf * N_TF + (unsigned)tf];
	unsigned n = r->def->n_ds;
	int64_t width = (int64_t)a->pdp_cnt * r->step;
	int64_t t_now = now > 0 ? (int64_t)now : 0;
	int64_t ctime = t_now - t_now % width;
	int64_t first = ctime - (RRD_ROWS - 1) * width;
	/* the newest row's time: the last row closed by the last closed PDP */
	int64_t pdp = r->last_update - r->last_update % r->step;
	int64_t newest = pdp - pdp % width;

	for (unsigned j = 0; j < RRD_ROWS; j++) {
		int64_t t = first + (int64_t)j * width;
		double *out = ret_values + (size_t)j * n;
		int64_t back = (newest - t) / width;
		bool have = r->last_update && t <= newest && back < RRD_ROWS;
		const double *row =
		    have ? a->rows + (size_t)((a->cur_row + RRD_ROWS - back) % RRD_ROWS) * n : NULL;
		for (unsigned i = 0; i < n; i++)
			out[i] = row && isfinite(row[i]) ? row[i] : NAN;
	}
	*ret_first = (time_t)first;
}

/* Integral values as JSON integers, as Proxmox's Perl prints them. */
static json_t *number(double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *rrd_fetch_json(const struct rrd *r, enum rrd_timeframe tf, enum rrd_cf cf, time_t now)
{
	unsigned n = r->def->n_ds;
	_cleanup_free_ double *v = xnew(double, (size_t)RRD_ROWS *(n ? n : 1));
	time_t first;
	json_t *a = json_array();

	rrd_fetch(r, tf, cf, now, &first, v);
	for (unsigned j = 0; j < RRD_ROWS; j++) {
		json_t *o = json_object();
		json_object_set_new(
		    o, "time",
		    json_integer((json_int_t)first + (json_int_t)j * rrd_resolution(r, tf)));
		for (unsigned i = 0; i < n; i++)
			if (!isnan(v[(size_t)j * n + i]))
				json_object_set_new(o, r->def->ds[i].name,
				                    number(v[(size_t)j * n + i]));
		json_array_append_new(a, o);
	}
	return a;
}

/* ---- the file ----------------------------------------------------------- */

/* Layout (little endian):
 *   header  magic[8] version:u32 step:u32 n_ds:u32 n_rra:u32 rows:u32 flags:u32
 *           last_update:i64                                              40 bytes
 *   per ds  name[16] type:u32 pad:u32                                    24
 *   per ds  pdp_acc:f64 pdp_known:f64 last_raw:f64                       24
 *   per rra cf:u32 pdp_cnt:u32 cur_row:u32 pad:u32                       16
 *           per ds acc:f64 known:u32 pad:u32                             16
 *           rows: RRD_ROWS * n_ds f64
 *   trailer fnv1a-64 of everything before                                8 */
#define HDR_BYTES     40
#define DSDEF_BYTES   24
#define PDP_BYTES     24
#define RRA_HDR_BYTES 16
#define RRA_DS_BYTES  16

static size_t image_size(unsigned n_ds)
{
	size_t rra = RRA_HDR_BYTES + (size_t)n_ds * RRA_DS_BYTES + (size_t)RRD_ROWS * n_ds * 8;
	return HDR_BYTES + (size_t)n_ds * (DSDEF_BYTES + PDP_BYTES) + N_RRA * rra + 8;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct writer {
	uint8_t *p;
};

static void put_u32(struct writer *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

static void put_u64(struct writer *w, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

static void put_f64(struct writer *w, double d)
{
	uint64_t v;
	memcpy(&v, &d, sizeof(v));
	put_u64(w, v);
}

void rrd_image_seal(void *buf, size_t len)
{
	if (len < 8)
		return;
	struct writer w = {(uint8_t *)buf + len - 8};
	put_u64(&w, fnv1a(buf, len - 8));
}

void *rrd_serialize(const struct rrd *r, size_t *ret_len)
{
	unsigned n = r->def->n_ds;
	size_t len = image_size(n);
	uint8_t *buf = xcalloc(1, len);
	struct writer w = {buf};

	memcpy(w.p, FILE_MAGIC, 8);
	w.p += 8;
	put_u32(&w, FILE_VERSON);
	put_u32(&w, r->step);
	put_u32(&w, n);
	put_u32(&w, N_RRA);
	put_u32(&w, RRD_ROWS);
	put_u32(&w, 0);
	put_u64(&w, (uint64_t)r->last_update);
	for (unsigned i = 0; i < n; i++) {
		strncpy((char *)w.p, r->def->ds[i].name, NAME_BYTES - 1);
		w.p += NAME_BYTES;
		put_u32(&w, r->def->ds[i].type);
		put_u32(&w, 0);
	}
	for (unsigned i = 0; i < n; i++) {
		put_f64(&w, r->pdp_acc[i]);
		put_f64(&w, r->pdp_known[i]);
		put_f64(&w, r->last_raw[i]);
	}
	for (unsigned k = 0; k < N_RRA; k++) {
		const struct rra *a = &r->rra[k];
		put_u32(&w, a->cf);
		put_u32(&w, a->pdp_cnt);
		put_u32(&w, a->cur_row);
		put_u32(&w, 0);
		for (unsigned i = 0; i < n; i++) {
			put_f64(&w, a->acc[i]);
			put_u32(&w, a->known[i]);
			put_u32(&w, 0);
		}
		for (size_t i = 0; i < (size_t)RRD_ROWS * n; i++)
			put_f64(&w, a->rows[i]);
	}
	rrd_image_seal(buf, len);
	*ret_len = len;
	return buf;
}

struct reader {
	const uint8_t *p;
};

static uint32_t get_u32(struct reader *rd)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)*rd->p++ << (8 * i);
	return v;
}

static uint64_t get_u64(struct reader *rd)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)*rd->p++ << (8 * i);
	return v;
}

static double get_f64(struct reader *rd)
{
	uint64_t v = get_u64(rd);
	double d;
	memcpy(&d, &v, sizeof(d));
	return d;
}

/* NAN or finite and >= 0 (every stored figure is) */
static bool ok_value(double d)
{
	return isnan(d) || (isfinite(d) && d >= 0);
}

int rrd_deserialize(const struct rrd_def *def, unsigned step, const void *buf, size_t len,
                    struct rrd **ret, struct error **err)
{
	unsigned n = def->n_ds;
	struct reader rd = {buf};
	char name[NAME_BYTES + 1] = "";

#define REFUSE(...) error_set(err, -EINVAL, 500, __VA_ARGS__)
	if (step < 1 || step > MAX_STEP)
		return REFUSE("invalid rrd step %u", step);
	if (len != image_size(n))
		return REFUSE("wrong size %zu (want %zu)", len, image_size(n));
	rd.p = (const uint8_t *)buf + len - 8;
	if (get_u64(&rd) != fnv1a(buf, len - 8))
		return REFUSE("checksum mismatch");
	rd.p = buf;
	if (memcmp(rd.p, FILE_MAGIC, 8) != 0)
		return REFUSE("not a ctvm rrd file");
	rd.p += 8;
	if (get_u32(&rd) != FILE_VERSON)
		return REFUSE("unsupported version");
	if (get_u32(&rd) != step)
		return REFUSE("step differs");
	if (get_u32(&rd) != n || get_u32(&rd) != N_RRA || get_u32(&rd) != RRD_ROWS ||
	    get_u32(&rd) != 0)
		return REFUSE("layout differs from %s", def->name);
	int64_t last = (int64_t)get_u64(&rd);
	if (last < 0 || last >= MAX_TIME)
		return REFUSE("invalid last update time");
	for (unsigned i = 0; i < n; i++) {
		memset(name, 0, sizeof(name));
		strncpy(name, def->ds[i].name, NAME_BYTES - 1);
		bool same = memcmp(name, rd.p, NAME_BYTES) == 0; /* padding included */
		rd.p += NAME_BYTES;
		if (!same || get_u32(&rd) != def->ds[i].type || get_u32(&rd) != 0)
			return REFUSE("data sources differ from %s", def->name);
	}

	struct rrd *r = rrd_new(def, step);
	r->last_update = last;
	for (unsigned i = 0; i < n; i++) {
		r->pdp_acc[i] = get_f64(&rd);
		r->pdp_known[i] = get_f64(&rd);
		r->last_raw[i] = get_f64(&rd);
		if (!isfinite(r->pdp_acc[i]) || r->pdp_acc[i] < 0 || !isfinite(r->pdp_known[i]) ||
		    r->pdp_known[i] < 0 || r->pdp_known[i] > (double)step ||
		    !ok_value(r->last_raw[i]))
			goto bad;
	}
	for (unsigned k = 0; k < N_RRA; k++) {
		struct rra *a = &r->rra[k];
		if (get_u32(&rd) != a->cf || get_u32(&rd) != a->pdp_cnt)
			goto bad;
		a->cur_row = get_u32(&rd);
		if (a->cur_row >= RRD_ROWS || get_u32(&rd) != 0)
			goto bad;
		for (unsigned i = 0; i < n; i++) {
			a->acc[i] = get_f64(&rd);
			a->known[i] = get_u32(&rd);
			if (!isfinite(a->acc[i]) || a->acc[i] < 0 || a->known[i] >= a->pdp_cnt ||
			    get_u32(&rd) != 0)
				goto bad;
		}
		for (size_t i = 0; i < (size_t)RRD_ROWS * n; i++) {
			a->rows[i] = get_f64(&rd);
			if (!ok_value(a->rows[i]))
				goto bad;
		}
	}
	*ret = r;
	return 0;
bad:
	rrd_free(r);
	return REFUSE("value out of range");
#undef REFUSE
}

int rrd_save(const struct rrd *r, const char *path, struct error **err)
{
	size_t len;
	_cleanup_free_ void *buf = rrd_serialize(r, &len);
	return write_file_atomic(path, buf, len, 0644, err);
}

int rrd_load(const struct rrd_def *def, unsigned step, const char *path, struct rrd **ret,
             struct error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct error *e = NULL;
	int r = read_file(path, image_size(def->n_ds), &buf, &len, &e);

	if (r < 0) {
		/* too large is a refused file, like every other bad one */
		int code = r == -ENOENT ? -ENOENT : r == -EFBIG ? -EINVAL : r;
		error_set(err, code, 500, "%s", e->msg);
		error_free(e);
		return code;
	}
	r = rrd_deserialize(def, step, buf, len, ret, err);
	if (r < 0 && err && *err)
		error_prefix(*err, "rrd file '%s'", path);
	return r;
}
