/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A running VM's disk copied live into a new volume (qemu-run.h,
 * qemu_run_mirror): PVE's qemu_drive_mirror for a clone of a running VM.
 *
 * drive-mirror of the drive's node (drive-<key>) into the target's path
 * (mode existing: the storage allocated it, with its naming and owner;
 * sync full), then wait for the job's BLOCK_JOB_READY event (source and
 * target in step, guest writes going to both), then block-job-cancel: for
 * a mirror in ready state that completes the copy as it is at that moment
 * without pivoting (QEMU then sends BLOCK_JOB_COMPLETED, not CANCELLED), so
 * the VM keeps running on its own disk, as PVE does for clones.  The job
 * is started with auto-dismiss off so that its error can be read once it
 * concludes; every path dismisses it.  Any failure cancels the job (force)
 * and leaves the target to the caller to free.
 *
 * Everything happens on one QMP connection: the job's events are queued
 * by the qmp client from the moment drive-mirror is sent, so none is lost
 * between commands, and no new session can meet the tail of an old one.
 * query-block-jobs is asked on the same connection only when no event
 * came for a while: it reads the progress for the task log and catches a
 * state change whose event was dropped (the queue is bounded).
 */
#include "common.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-run.h"
#include "qmp.h"
#include "task.h"
#include "xalloc.h"

/* One wait for an event: short, so a task stop is seen quickly. */
#define SLICE_MS 250
/* Silence after which query-block-jobs reads the job's state. */
#define QUERY_MS 1000
/* The forced cancel of a failed job. */
#define ABORT_TIMEOUT_MS (30 * 1000)

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum job_state {
	JOB_RUNNING,
	JOB_READY,
	JOB_DONE, /* concluded without an error */
};

/* The job's state from its entry of query-block-jobs; -EIO (500) when it
 * concluded with an error or is gone. */
static int job_query(struct qmp *q, const char *key, const char *job, enum job_state *ret,
                     struct task_worker *w, struct error **err)
{
	_cleanup_json_ json_t *jobs = NULL;
	int r = qmp_execute(q, "query-block-jobs", NULL, QEMU_RUN_QMP_TIMEOUT_MS, &jobs, err);
	if (r < 0)
		return r;
	size_t i;
	json_t *j, *found = NULL;
	json_array_foreach (jobs, i, j) {
		if (streq_ptr(json_string_value(json_object_get(j, "device")), job)) {
			found = j;
			break;
		}
	}
	if (!found)
		return error_set(err, -EIO, 500, "mirroring of drive '%s' failed: job gone", key);
	if (streq_ptr(json_string_value(json_object_get(found, "status")), "concluded")) {
		const char *e = json_string_value(json_object_get(found, "error"));
		if (e)
			return error_set(err, -EIO, 500, "mirroring of drive '%s' failed: %s", key,
			                 e);
		*ret = JOB_DONE;
		return 0;
	}
	if (w) {
		json_int_t off = json_integer_value(json_object_get(found, "offset"));
		json_int_t len = json_integer_value(json_object_get(found, "len"));
		task_log(w, "drive-%s: transferred %lld of %lld bytes (%lld%%)", key,
		         (long long)off, (long long)len,
		         len > 0 ? (long long)(off * 100 / len) : 0LL);
	}
	*ret = json_is_true(json_object_get(found, "ready")) ? JOB_READY : JOB_RUNNING;
	return 0;
}

/*
 * Waits for the job to be ready (want_ready) or to conclude, from its
 * events: BLOCK_JOB_READY; BLOCK_JOB_COMPLETED (its "error" a failure);
 * BLOCK_JOB_CANCELLED; BLOCK_JOB_ERROR (an I/O error: a failure at once,
 * whatever QEMU's action).  Ending while ready was wanted is a failure.
 * 0, or -EIO/-ETIMEDOUT/-ECANCELED/-ECONNRESET with a 500.
 */
static int job_wait(struct qmp *q, struct task_worker *w, const char *key, const char *job,
                    bool want_ready, int timeout_ms, struct error **err)
{
	long long deadline = now_ms() + timeout_ms;
	long long last = now_ms();
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return error_set(err, -ETIMEDOUT, 500, "mirroring of drive '%s' timed out",
			                 key);
		if (w && task_stop_requested(w))
			return error_set(err, -ECANCELED, 500, "interrupted by signal");
		_cleanup_json_ json_t *ev = NULL;
		_cleanup_error_ struct error *e = NULL;
		int r = qmp_next_event(q, NULL, left < SLICE_MS ? (int)left : SLICE_MS, &ev, &e);
		if (r == -ETIMEDOUT) {
			if (now_ms() - last < QUERY_MS || deadline - now_ms() <= 0)
				continue;
			last = now_ms();
			enum job_state st;
			r = job_query(q, key, job, &st, w, err);
			if (r < 0)
				return r;
			if (st == JOB_DONE && want_ready)
				return error_set(
				    err, -EIO, 500,
				    "mirroring of drive '%s' ended before it was ready", key);
			if (st == JOB_DONE || (st == JOB_READY && want_ready))
				return 0;
			continue;
		}
		if (r < 0) {
			if (r == -ECONNRESET)
				return error_set(
				    err, r, 500,
				    "mirroring of drive '%s' failed: QMP connection lost", key);
			error_propagate(err, TAKE_PTR(e));
			return r;
		}
		json_t *data = json_object_get(ev, "data");
		if (!streq_ptr(json_string_value(json_object_get(data, "device")), job))
			continue;
		last = now_ms();
		const char *name = json_string_value(json_object_get(ev, "event"));
		if (streq_ptr(name, "BLOCK_JOB_READY")) {
			if (want_ready)
				return 0;
		} else if (streq_ptr(name, "BLOCK_JOB_ERROR")) {
			const char *op = json_string_value(json_object_get(data, "operation"));
			return error_set(err, -EIO, 500, "mirroring of drive '%s' failed: %s error",
			                 key, op ? op : "I/O");
		} else if (streq_ptr(name, "BLOCK_JOB_COMPLETED") ||
		           streq_ptr(name, "BLOCK_JOB_CANCELLED")) {
			const char *msg = json_string_value(json_object_get(data, "error"));
			if (msg)
				return error_set(err, -EIO, 500,
				                 "mirroring of drive '%s' failed: %s", key, msg);
			if (streq(name, "BLOCK_JOB_CANCELLED"))
				return error_set(err, -EIO, 500,
				                 "mirroring of drive '%s' was cancelled", key);
			if (want_ready)
				return error_set(
				    err, -EIO, 500,
				    "mirroring of drive '%s' ended before it was ready", key);
			return 0;
		}
	}
}

static void job_dismiss(struct qmp *q, const char *job)
{
	_cleanup_json_ json_t *a = json_pack("{s:s}", "id", job);
	qmp_execute(q, "job-dismiss", a, QEMU_RUN_QMP_TIMEOUT_MS, NULL, NULL);
}

void qemu_mirror_abort(struct qmp *q, const char *key)
{
	_cleanup_free_ char *job = xasprintf("mirror-%s", key);
	_cleanup_json_ json_t *c = json_pack("{s:s, s:b}", "device", job, "force", true);
	if (qmp_execute(q, "block-job-cancel", c, QEMU_RUN_QMP_TIMEOUT_MS, NULL, NULL) == 0) {
		/* a job cancelled before it was ready ends CANCELLED: expected */
		_cleanup_error_ struct error *e = NULL;
		job_wait(q, NULL, key, job, false, ABORT_TIMEOUT_MS, &e);
	}
	job_dismiss(q, job);
}

int qemu_mirror(struct qmp *q, struct task_worker *w, const char *key, const char *target_path,
                const char *target_fmt, int timeout_ms, struct error **err)
{
	_cleanup_free_ char *node = xasprintf("drive-%s", key);
	_cleanup_free_ char *job = xasprintf("mirror-%s", key);
	_cleanup_json_ json_t *a =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "job-id", job, "device", node,
	              "target", target_path, "format", target_fmt, "mode", "existing", "sync",
	              "full", "auto-dismiss", false);
	if (w)
		task_log(w, "drive mirror of '%s' to '%s' (%s)", key, target_path, target_fmt);
	int r = qmp_execute(q, "drive-mirror", a, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
	if (r < 0)
		return r;
	r = job_wait(q, w, key, job, true, timeout_ms, err);
	if (r == 0) {
		if (w)
			task_log(w, "drive '%s' ready: completing the copy", key);
		/* ready: cancel completes the copy without pivoting */
		_cleanup_json_ json_t *c = json_pack("{s:s}", "device", job);
		r = qmp_execute(q, "block-job-cancel", c, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
		if (r == 0)
			r = job_wait(q, w, key, job, false, timeout_ms, err);
		if (r == 0) {
			job_dismiss(q, job);
			return 0;
		}
	}
	/* failed: the job goes; what it wrote is the caller's to free */
	if (r != -ECONNRESET)
		qemu_mirror_abort(q, key);
	return r;
}

int qemu_run_mirror(const struct qemu_run_env *env, long vmid, const char *key,
                    const char *target_path, const char *target_fmt, int timeout_ms,
                    struct error **err)
{
	_cleanup_qmp_ struct qmp *q = NULL;
	int r = qemu_run_qmp_connect(env, vmid, QEMU_RUN_QMP_TIMEOUT_MS, &q, err);
	if (r < 0)
		return r;
	r = qemu_mirror(q, env->w, key, target_path, target_fmt, timeout_ms, err);
	if (r == -ECONNRESET) {
		/* the connection went, maybe not QEMU: a job left running would
		 * keep writing to the target the caller frees */
		_cleanup_qmp_ struct qmp *q2 = NULL;
		if (qemu_run_qmp_connect(env, vmid, QEMU_RUN_QMP_TIMEOUT_MS, &q2, NULL) == 0)
			qemu_mirror_abort(q2, key);
	}
	return r;
}
