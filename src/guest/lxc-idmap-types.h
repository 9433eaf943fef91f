/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The container's uid/gid map as the wave's contract (lxc-idmap.h of
 * wt-ct-conf) declares it, for the users that need only the type
 * (lxc-cmd.c, lxc-run.c) while lxc-idmap.h is written on another branch.
 * When the two meet, lxc-idmap.h includes this file (or takes these
 * definitions and this file goes).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct lxc_idmap_entry {
	char type; /* 'u' or 'g' */
	uint32_t ct, host, count;
};

struct lxc_idmap {
	struct lxc_idmap_entry e[32];
	size_t n; /* 0: privileged */
};
