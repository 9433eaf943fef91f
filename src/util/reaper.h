/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * reaper: reaps the children of a child subreaper that nobody waits for.
 *
 * ctvmd is a child subreaper (PR_SET_CHILD_SUBREAPER), so a process that
 * daemonizes below it (QEMU with -daemonize, started by a task worker)
 * re-parents to ctvmd instead of PID 1, which on these hosts reaps
 * orphans 1.2-1.6 s late.  Such an adopted child must be reaped by ctvmd,
 * or its zombie lingers and looks alive to kill(pid, 0).
 *
 * The other children of ctvmd (task workers, the front, commands of the
 * runner) have owners that wait for them at once.  A zombie seen on two
 * consecutive ticks has no such owner: reaper_tick() reaps it.  An owner
 * that was slower than a tick finds its child gone (ECHILD); the task
 * manager reads how a task ended from its log then, as after a restart.
 */
#pragma once

#include <sys/types.h>

/* The tick of the reaper thread, ms. */
#define REAPER_INTERVAL_MS 100

/* One look: reaps the zombie child seen on the previous call too, if any,
 * and notes the next one.  Returns how many were reaped.  Single caller. */
int reaper_tick(void);

/* Starts a detached thread calling reaper_tick() every REAPER_INTERVAL_MS.
 * 0 or a negative errno. */
int reaper_start(void);
