/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The types of a container's uid/gid map, apart from lxc-idmap.h's functions
 * so that the pure config generator (lxc-cmd.h) needs no parser.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LXC_IDMAP_MAX 32 /* entries of one container's map */

struct lxc_idmap_entry {
	char type; /* 'u' or 'g' */
	uint32_t ct, host, count;
};

struct lxc_idmap {
	struct lxc_idmap_entry e[LXC_IDMAP_MAX];
	size_t n; /* 0: privileged */
};
