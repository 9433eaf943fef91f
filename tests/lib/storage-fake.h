/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-fake: storage backends for tests, registered by the test that uses
 * them (storage_backend_register()), never by ctvmd.  Their volumes live in
 * memory, so the dispatcher and the API can be tested with a backend whose
 * volume names are not dir's, without root, LVM or ZFS:
 *
 *   "lvm"      LVM's grammar: "vm-<vmid>-disk-<n>" and "base-<vmid>-disk-<n>",
 *              no extension, raw only; state: the section's vgname (open
 *              fails without one), paths /dev/<vgname>/<name>.
 *   "zfspool"  a grammar that takes any name as a disk of guest 1: shows
 *              that the dispatcher's common rules (volname_check()) hold
 *              whatever a backend's grammar lets through.
 *
 * Both are storage.cfg types with a key table (vgname; pool), so their
 * sections parse; neither has a path or file content.
 */
#pragma once

#include <stdint.h>

struct storage;

/* Registers both backends (again: nothing). */
void storage_fake_register(void);
/* Adds a volume (in every fake storage); parent: the base of a clone. */
void storage_fake_add(const char *name, long vmid, uint64_t size, const char *parent);
/* Forgets every volume. */
void storage_fake_reset(void);
/* The vgname an "lvm" storage keeps in its own state (the checked downcast). */
const char *storage_fake_vgname(const struct storage *st);
