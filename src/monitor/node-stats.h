/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-stats: the node's live figures, refreshed by a collector thread so
 * that status and list calls answer from memory and never block on /proc or
 * a slow filesystem (DESIGN.md "Never block the API").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct node_stats;

struct node_stats_summary {
	double cpu; /* 0..1 over the last interval */
	unsigned maxcpu;
	uint64_t mem, maxmem;
	uint64_t disk, maxdisk; /* root filesystem */
	uint64_t uptime;
};

/* rootfs: the path whose filesystem is reported (normally "/"). */
struct node_stats *node_stats_new(const char *rootfs, unsigned interval_ms);
struct node_stats *node_stats_free(struct node_stats *s);

void node_stats_summary(struct node_stats *s, struct node_stats_summary *ret);
/* The GET /nodes/{node}/status object. */
json_t *node_stats_status_json(struct node_stats *s);

/* The figures Proxmox's pvestatd records in a node's usage history, with its
 * units: cpu and iowait fractions of all CPUs (0..1), load average (1 min),
 * bytes, and netin/netout the byte counters of the physical interfaces
 * (stored as rates).  NAN where unknown. */
struct node_stats_rrd {
	double loadavg, maxcpu, cpu, iowait;
	double memtotal, memused, swaptotal, swapused;
	double roottotal, rootused;
	double netin, netout;
};
void node_stats_rrd_sample(struct node_stats *s, struct node_stats_rrd *ret);

/* The usage history (rrd-collector.h) hangs off the node's figures so that
 * whoever is handed the figures (the API's handlers) reaches it too; not
 * owned. */
struct rrd_collector;
void node_stats_set_history(struct node_stats *s, struct rrd_collector *history);
struct rrd_collector *node_stats_history(struct node_stats *s);

/* For tests: /proc/net/dev's receive and transmit byte totals over the
 * interfaces keep() accepts (all when NULL); -EINVAL when no line parses. */
int node_stats_parse_net_dev(const char *text, bool (*keep)(const char *dev), uint64_t *ret_in,
                             uint64_t *ret_out);
