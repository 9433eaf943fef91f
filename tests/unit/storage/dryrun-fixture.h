/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the backends' dry-run tests (test-lvm-dryrun.c, test-zfs-dryrun.c)
 * share around tests/lib/cmd-dryrun.h: a lock directory of their own, a
 * storage opened from a one-section storage.cfg, and the recorded command
 * output under $CTVM_TEST_DATA/storage/.  Failures are cmocka assertions.
 */
#pragma once

struct storage;

/* A new /tmp/ctvm-<name>-dryrun-XXXXXX as the storage lock directory
 * (storage_set_lock_dir()), for a group setup; the teardown removes it. */
void dryrun_fixture_setup(const char *name);
void dryrun_fixture_teardown(void);

/* Storage id of type, from a section whose keys are kv: key, value, ...,
 * NULL (a NULL key ends it early, so optional pairs may come last). */
struct storage *dryrun_open_store(const char *type, const char *id, const char *const *kv);

/* $CTVM_TEST_DATA/storage/<dir>/<name>, malloc'd. */
char *dryrun_recorded(const char *dir, const char *name);
