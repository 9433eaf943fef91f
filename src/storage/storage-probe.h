/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-probe: a storage's status with a deadline (DESIGN.md "Never block
 * the API").  A status can hang for as long as the kernel likes (statvfs on
 * a dead NFS mount), so each probe runs in a detached thread of its own and
 * the caller waits only until its deadline.  The thread may outlive the
 * caller: the probe owns its own snapshot of storage.cfg and is freed by
 * whoever lets go of it last, so a hung thread is never joined and costs
 * one thread and one probe until the kernel lets it go.
 *
 * Like Proxmox's storage_info, a probe activates the storage first (which
 * creates the base path and content subdirectories of a file storage); a
 * failed activation is a status that is not active, with the reason in its
 * message (and the daemon log, once).
 *
 * Used by the status calls (a probe per storage, all within one deadline)
 * and by the usage history collector (which starts no second probe of a
 * storage beside one that still hangs).
 */
#pragma once

#include <stdbool.h>
#include <time.h>

struct storage_config_store;
struct storage_status;

/* The deadline every caller uses today, in milliseconds. */
#define STORAGE_PROBE_TIMEOUT_MS 2000

struct storage_probe;

/* Starts probing storage id of the store's current snapshot.  Never fails:
 * a probe that cannot start (no snapshot, no thread) is done at once with
 * the error that wait() returns. */
struct storage_probe *storage_probe_start(struct storage_config_store *store, const char *id);

/* CLOCK_MONOTONIC now + ms, the clock wait()'s deadline is on. */
struct timespec storage_probe_deadline(unsigned ms);

/* Waits for the probe until deadline (CLOCK_MONOTONIC).  0 with *ret the
 * status; -ETIMEDOUT when the probe has not answered by then (it goes on);
 * else the negative errno the probe failed with.  *ret is only written on
 * success.  The caller logs: a storage that does not answer in time is
 * worth a warning, a failure that the storage's status would show is not. */
int storage_probe_wait(struct storage_probe *p, const struct timespec *deadline,
                       struct storage_status *ret);

/* Whether the probe's thread has ended (so a caller need not start a second
 * probe beside a hung one). */
bool storage_probe_done(struct storage_probe *p);

/* Lets go of the probe; its thread holds a reference of its own. */
void storage_probe_unref(struct storage_probe *p);
