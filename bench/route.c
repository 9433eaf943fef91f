/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench-route [ROUNDS]: the cost of finding a request's method row
 * (api_method_lookup(), with its path captures), over a mix of paths the
 * clients send most, in nanoseconds per lookup.  Run by hand; compare the
 * figure of two builds side by side (bench/README.md).
 */
#include "common.h"

#include <stdlib.h>
#include <time.h>

#include "api-method.h"
#include "jsonutil.h"

static const struct {
	const char *verb, *path;
} paths[] = {
    {"GET", "/version"},
    {"GET", "/cluster/resources"},
    {"GET", "/nodes/pve1/status"},
    {"GET", "/nodes/pve1/storage"},
    {"GET", "/nodes/pve1/storage/local/content"},
    {"GET", "/nodes/pve1/storage/local/content/local:100/vm-100-disk-0.qcow2"},
    {"GET", "/nodes/pve1/tasks/UPID:pve1:00000001:00000002:00000003:x::root@pam:/status"},
    {"PUT", "/access/users/alice@pve"},
    {"POST", "/access/ticket"},
    {"GET", "/nodes/pve1/nosuch"},
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	size_t rows = 0;
	api_foreach_method(m) rows++;
	/* the first lookup may build what later ones share */
	api_method_lookup("GET", "/version", NULL);
	unsigned found = 0;
	double t0 = now_ns();
	for (unsigned r = 0; r < rounds; r++)
		for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
			json_t *cap = NULL;
			found += api_method_lookup(paths[i].verb, paths[i].path, &cap) != NULL;
			json_decref(cap);
		}
	double per = (now_ns() - t0) / ((double)rounds * ARRAY_SIZE(paths));
	printf("route lookup: %zu rows, %u lookups (%u found): %.0f ns per lookup\n", rows,
	       rounds * (unsigned)ARRAY_SIZE(paths), found, per);
	return 0;
}
