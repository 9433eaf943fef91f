/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A running VM's disk copied live into a new volume (qemu-run.h,
 * qemu_run_mirror): PVE's qemu_drive_mirror for a clone of a running VM.
 *
 * drive-mirror of the drive's node (drive-<key>) into the target's path
 * (mode existing: the storage allocated it, with its naming and owner;
 * sync full), then query-block-jobs until the job is ready (source and
 * target in step, guest writes going to both), then block-job-cancel: for
 * a mirror in ready state that completes the copy as it is at that moment
 * without pivoting, so the VM keeps running on its own disk, as PVE does
 * for clones.  The job is started with auto-dismiss off so that its error
 * can be read once it concludes; every path dismisses it.  Any failure
 * cancels the job (force) and leaves the target to the caller to free.
 */
#include "common.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-run.h"
#include "task.h"
#include "xalloc.h"

/* One QMP connection per call (qemu_run_qmp): a poll every POLL_MS. */
#define POLL_MS 100

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The job's entry of query-block-jobs (a new reference), NULL when none. */
static int job_get(const struct qemu_run_env *env, long vmid, const char *job, json_t **ret,
                   struct error **err)
{
	_cleanup_json_ json_t *jobs = NULL;
	int r = qemu_run_qmp(env, vmid, "query-block-jobs", NULL, 0, &jobs, err);
	if (r < 0)
		return r;
	*ret = NULL;
	size_t i;
	json_t *j;
	json_array_foreach (jobs, i, j) {
		if (streq_ptr(json_string_value(json_object_get(j, "device")), job)) {
			*ret = json_incref(j);
			break;
		}
	}
	return 0;
}

/* Waits until the job is ready (want_ready) or concluded; 0, or the job's
 * error as a 500.  A job that vanished is an error too. */
static int job_wait(const struct qemu_run_env *env, long vmid, const char *key, const char *job,
                    bool want_ready, int timeout_ms, struct error **err)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		_cleanup_json_ json_t *j = NULL;
		int r = job_get(env, vmid, job, &j, err);
		if (r < 0)
			return r;
		if (!j)
			return error_set(err, -EIO, 500, "mirroring of drive '%s' failed: job gone",
			                 key);
		const char *status = json_string_value(json_object_get(j, "status"));
		if (streq_ptr(status, "concluded")) {
			const char *e = json_string_value(json_object_get(j, "error"));
			if (e)
				return error_set(err, -EIO, 500,
				                 "mirroring of drive '%s' failed: %s", key, e);
			if (want_ready)
				return error_set(
				    err, -EIO, 500,
				    "mirroring of drive '%s' ended before it was ready", key);
			return 0;
		}
		if (want_ready && json_is_true(json_object_get(j, "ready")))
			return 0;
		if (env->w && task_stop_requested(env->w))
			return error_set(err, -ECANCELED, 500, "interrupted by signal");
		if (now_ms() >= deadline)
			return error_set(err, -ETIMEDOUT, 500, "mirroring of drive '%s' timed out",
			                 key);
		usleep(POLL_MS * 1000);
	}
}

static void job_dismiss(const struct qemu_run_env *env, long vmid, const char *job)
{
	_cleanup_json_ json_t *a = json_pack("{s:s}", "id", job);
	qemu_run_qmp(env, vmid, "job-dismiss", a, 0, NULL, NULL);
}

int qemu_run_mirror(const struct qemu_run_env *env, long vmid, const char *key,
                    const char *target_path, const char *target_fmt, int timeout_ms,
                    struct error **err)
{
	_cleanup_free_ char *node = xasprintf("drive-%s", key);
	_cleanup_free_ char *job = xasprintf("mirror-%s", key);
	_cleanup_json_ json_t *a =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "job-id", job, "device", node,
	              "target", target_path, "format", target_fmt, "mode", "existing", "sync",
	              "full", "auto-dismiss", false);
	if (env->w)
		task_log(env->w, "drive mirror of '%s' to '%s' (%s)", key, target_path, target_fmt);
	int r = qemu_run_qmp(env, vmid, "drive-mirror", a, 0, NULL, err);
	if (r < 0)
		return r;
	r = job_wait(env, vmid, key, job, true, timeout_ms, err);
	if (r == 0) {
		if (env->w)
			task_log(env->w, "drive '%s' ready: completing the copy", key);
		/* ready: cancel completes the copy without pivoting */
		_cleanup_json_ json_t *c = json_pack("{s:s}", "device", job);
		r = qemu_run_qmp(env, vmid, "block-job-cancel", c, 0, NULL, err);
		if (r == 0)
			r = job_wait(env, vmid, key, job, false, timeout_ms, err);
		if (r == 0) {
			job_dismiss(env, vmid, job);
			return 0;
		}
	}
	/* failed: the job goes; what it wrote is the caller's to free */
	_cleanup_json_ json_t *c = json_pack("{s:s, s:b}", "device", job, "force", true);
	qemu_run_qmp(env, vmid, "block-job-cancel", c, 0, NULL, NULL);
	job_wait(env, vmid, key, job, false, 30 * 1000, NULL);
	job_dismiss(env, vmid, job);
	return r;
}
