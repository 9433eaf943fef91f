/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "reaper.h"

static pid_t seen; /* the zombie noted by the previous tick */

int reaper_tick(void)
{
	int n = 0;
	for (;;) {
		/* WNOWAIT: look without reaping, so an owner can still wait */
		siginfo_t si = {0};
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) {
			seen = 0;
			return n;
		}
		if (si.si_pid != seen) {
			seen = si.si_pid;
			return n;
		}
		/* a zombie for a whole tick: nobody waits for it */
		siginfo_t done = {0};
		if (waitid(P_PID, (id_t)si.si_pid, &done, WEXITED | WNOHANG) == 0 && done.si_pid)
			n++;
		seen = 0;
	}
}

static void *reaper_main(void *userdata)
{
	for (;;) {
		reaper_tick();
		poll(NULL, 0, REAPER_INTERVAL_MS);
	}
	return NULL;
}

int reaper_start(void)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int r = pthread_create(&t, &attr, reaper_main, NULL);
	pthread_attr_destroy(&attr);
	return -r;
}
