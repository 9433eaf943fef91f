/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * rrd-collector: the usage history of the node and of each storage, what
 * Proxmox's pvestatd feeds into rrdcached.  A thread samples every 10 s: the
 * node's figures from node-stats (memory only, never blocks), and each
 * enabled storage's total/used from a status probe with a deadline (a storage
 * that does not answer in time records unknown; no second probe is started
 * beside one that still hangs).  Handlers read the series under a lock and
 * never wait for a sample.
 *
 * Files: DIR/pve2-node/NODE and DIR/pve2-storage/NODE/STORAGE (rrd.h's
 * format), saved every 5 minutes and at free(), loaded at new().  A storage
 * removed from storage.cfg loses its series and file.
 *
 * Memory: rrd_memory_size() per series, about 68 KiB for the node and 11 KiB
 * per storage.
 */
#pragma once

#include <time.h>

#include <jansson.h>

#include "rrd.h"

struct storage_status;

struct error;
struct node_stats;
struct storage_config_store;

/* One guest's figures at a sample, in rrd_def_guest's order. */
struct rrd_guest_sample {
	long vmid;
	double v[RRD_GUEST_N_DS];
};
/* Every guest's figures now (*ret malloc'd), or -1 when they cannot be
 * read (the histories then stay as they are). */
typedef int (*rrd_guests_fn)(void *userdata, struct rrd_guest_sample **ret, size_t *ret_n);

struct rrd_collector_config {
	const char *node;
	const char *dir; /* created if missing */
	struct node_stats *stats;
	struct storage_config_store *storage;
	/* 0: the defaults (60 s step, a sample every 10 s, a save every 5 min).
	 * Tests shorten the step; sample and save intervals scale with it. */
	unsigned step;
	/* The guests (NULL: none): each gets a series DIR/pve2-vm/VMID, which
	 * goes when the guest is no longer listed (destroyed: a new guest with
	 * its id starts a new history). */
	rrd_guests_fn guests;
	void *guests_userdata;
};

struct rrd_collector *rrd_collector_new(const struct rrd_collector_config *cfg);
/* Stops the thread and saves every series. */
struct rrd_collector *rrd_collector_free(struct rrd_collector *c);

/* rrddata's answer for the node, or for storage storeid (rows without values
 * when the storage has no history yet). */
json_t *rrd_collector_node_json(struct rrd_collector *c, enum rrd_timeframe tf, enum rrd_cf cf,
                                time_t now);
json_t *rrd_collector_storage_json(struct rrd_collector *c, const char *storeid,
                                   enum rrd_timeframe tf, enum rrd_cf cf, time_t now);

/* rrddata's answer for guest vmid (rows without values when it has no
 * history yet). */
json_t *rrd_collector_guest_json(struct rrd_collector *c, long vmid, enum rrd_timeframe tf,
                                 enum rrd_cf cf, time_t now);

/* The status of storage storeid as the collector's last sample found it
 * (inactive when the probe failed or hung), if that sample is at most three
 * sample intervals old; false otherwise.  /cluster/resources answers from
 * this, as Proxmox's does from pvestatd's figures, instead of probing every
 * storage on every request. */
bool rrd_collector_storage_status(struct rrd_collector *c, const char *storeid,
                                  struct storage_status *ret);
