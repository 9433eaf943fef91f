/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node-stats: the node's live figures, refreshed by a collector thread so
 * that status and list calls answer from memory and never block on /proc or
 * a slow filesystem (DESIGN.md "Never block the API").
 */
#pragma once

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
