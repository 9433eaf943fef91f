/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privileges: PVE 9's 47 privileges and the built-in ("special") roles
 * (pve-api.md 4.4), and a privilege set with one propagate bit per privilege.
 *
 * Privileges are numbered in bytewise order of their names, so walking a set
 * from bit 0 up lists them sorted, as PVE's `sort keys` does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRIV_COUNT 47

/* A set of privileges; propagate is only meaningful for bits in set. */
struct privset {
	uint64_t set;
	uint64_t propagate;
};

#define PRIVSET_EMPTY ((struct privset){0, 0})

/* Name of privilege i (0 <= i < PRIV_COUNT). */
const char *priv_name(int i);
/* Index of a privilege name, or -EINVAL. */
int priv_lookup(const char *name);
/* Privileges PVE dropped in 9.0 that user.cfg files from 8.x may still name
 * ("VM.Monitor"); parsers ignore them with a warning. */
bool priv_is_legacy(const char *name);

static inline bool privset_has(const struct privset *s, int i)
{
	return i >= 0 && (s->set >> i) & 1;
}
static inline void privset_add(struct privset *s, int i, bool propagate)
{
	s->set |= UINT64_C(1) << i;
	if (propagate)
		s->propagate |= UINT64_C(1) << i;
}
static inline bool privset_propagates(const struct privset *s, int i)
{
	return i >= 0 && (s->propagate >> i) & 1;
}
static inline bool privset_is_empty(const struct privset *s)
{
	return s->set == 0;
}
static inline size_t privset_count(const struct privset *s)
{
	return (size_t)__builtin_popcountll(s->set);
}
/* Privileges in a (propagate bits ANDed where both have the priv) that b also has. */
struct privset privset_intersect(struct privset a, struct privset b);
/* Union; a priv's propagate bit is set if either side propagates it. */
struct privset privset_union(struct privset a, struct privset b);
/* "A,B,C" sorted; malloc'd ("" when empty). */
char *privset_to_string(const struct privset *s);

/* The built-in roles, sorted by name. */
struct special_role {
	const char *name;
	uint64_t privs; /* bits over priv indexes */
};
size_t special_role_count(void);
const struct special_role *special_role_get(size_t i);
/* NULL if name is not a built-in role. */
const struct special_role *special_role_find(const char *name);
