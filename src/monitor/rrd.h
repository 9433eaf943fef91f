/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd: a round-robin usage history in memory, with Proxmox VE 8's layout
 * (pve-cluster's pve2-node and pve2-storage definitions): one primary data
 * point (PDP) per step (60 s), and for each of AVERAGE and MAX five archives
 * of 70 rows consolidating 1, 30, 180, 720 and 10080 PDPs, which is what
 * rrddata's hour, day, week, month and year read.
 *
 * Consolidation follows rrdtool: an update at time t with value v covers the
 * seconds since the previous update (unknown when more than two steps ago,
 * the heartbeat); a PDP is the time-weighted average of its known seconds,
 * unknown when it has none; an archive row is the average (or maximum) of its
 * known PDPs, unknown when more than half of them are unknown (xff 0.5).
 * GAUGE values must be >= 0; DERIVE values are counters whose per-second rate
 * is stored (a counter that goes back is an unknown rate).  Row times are the
 * end of the row's interval, aligned to the archive's resolution.
 *
 * Pure: no threads, no clock, no I/O except rrd_load() and rrd_save().  Not
 * thread safe: the owner locks.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct error;

#define RRD_ROWS         70 /* rows per archive, and rows answered by a fetch */
#define RRD_STEP_DEFAULT 60 /* seconds per PDP */

enum rrd_ds_type {
	RRD_GAUGE,
	RRD_DERIVE,
};

enum rrd_cf {
	RRD_CF_AVERAGE,
	RRD_CF_MAX,
	_RRD_CF_MAX,
};

enum rrd_timeframe {
	RRD_HOUR,
	RRD_DAY,
	RRD_WEEK,
	RRD_MONTH,
	RRD_YEAR,
	_RRD_TIMEFRAME_MAX,
};

struct rrd_ds {
	const char *name; /* at most 15 characters */
	enum rrd_ds_type type;
};

struct rrd_def {
	const char *name; /* "pve2-node" */
	const struct rrd_ds *ds;
	unsigned n_ds;
};

/* loadavg maxcpu cpu iowait memtotal memused swaptotal swapused roottotal
 * rootused netin netout, in this order (the update's values array) */
extern const struct rrd_def rrd_def_node;
/* total used */
extern const struct rrd_def rrd_def_storage;
/* maxcpu cpu maxmem mem maxdisk disk netin netout diskread diskwrite (the
 * last four counters) */
extern const struct rrd_def rrd_def_guest;
#define RRD_GUEST_N_DS 10

struct rrd;

/* step: seconds per PDP, RRD_STEP_DEFAULT but for tests (1..3600). */
struct rrd *rrd_new(const struct rrd_def *def, unsigned step);
struct rrd *rrd_free(struct rrd *r);

const struct rrd_def *rrd_get_def(const struct rrd *r);
unsigned rrd_get_step(const struct rrd *r);
/* Time of the last update, 0 before the first. */
time_t rrd_last_update(const struct rrd *r);
/* Bytes one series of def holds in memory (and on disk, within a few). */
size_t rrd_memory_size(const struct rrd_def *def);

/* values: def->n_ds numbers, NAN for unknown.  t must be later than the last
 * update (-EINVAL otherwise, like rrdtool) and > 0. */
int rrd_update(struct rrd *r, time_t t, const double *values, struct error **err);

/* "hour".."year", "AVERAGE"/"MAX"; -EINVAL for anything else. */
int rrd_timeframe_from_string(const char *s);
int rrd_cf_from_string(const char *s);
/* Seconds per row of the timeframe's archive. */
unsigned rrd_resolution(const struct rrd *r, enum rrd_timeframe tf);

/* The RRD_ROWS rows ending at now rounded down to the resolution, as
 * Proxmox's rrddata reads them: ret_values gets RRD_ROWS * n_ds numbers (row
 * major, NAN unknown), *ret_first the time of the first row. */
void rrd_fetch(const struct rrd *r, enum rrd_timeframe tf, enum rrd_cf cf, time_t now,
               time_t *ret_first, double *ret_values);
/* The same as rrddata's answer: [{time, <ds>: value, ...}], unknown values
 * left out of their row's object. */
json_t *rrd_fetch_json(const struct rrd *r, enum rrd_timeframe tf, enum rrd_cf cf, time_t now);

/*
 * The file: a fixed-size little-endian binary image ("CTVMRRD1", version,
 * layout, state, archives) ending in a 64-bit FNV-1a checksum of everything
 * before it.  A file is refused unless it has exactly the size def and step
 * give, the checksum matches, the layout is def's, and every field is in
 * range, so a loaded series always behaves like one built by updates.
 */
void *rrd_serialize(const struct rrd *r, size_t *ret_len);
int rrd_deserialize(const struct rrd_def *def, unsigned step, const void *buf, size_t len,
                    struct rrd **ret, struct error **err);
/* Rewrites the checksum of a serialized image (tests and the fuzzer). */
void rrd_image_seal(void *buf, size_t len);
/* Written atomically (write_file_atomic). */
int rrd_save(const struct rrd *r, const char *path, struct error **err);
/* -ENOENT when the file does not exist, -EINVAL when it is refused. */
int rrd_load(const struct rrd_def *def, unsigned step, const char *path, struct rrd **ret,
             struct error **err);
