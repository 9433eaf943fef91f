/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * task: long operations as Proxmox "workers" (pve-api.md section 5).
 *
 * Every task is a process forked from ctvmd, named by a UPID
 *   UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:
 * with a log file under <tasks>/<last hex digit of starttime>/<UPID>, whose
 * last line is "TASK OK", "TASK WARNINGS: <n>" or "TASK ERROR: <message>".
 * Finished tasks are appended to <tasks>/index ("<UPID> <endtime %08X>
 * <status>"); running ones are listed in <tasks>/active, so after a daemon
 * restart a surviving worker is found again (pid + pstart) and one that
 * vanished is reported stopped with an error, never running forever.
 *
 * At most max_workers tasks run at once; later ones are forked at once (so
 * their UPID exists) but wait, with a line in their log, until a slot frees.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

struct error;
struct task_manager;
struct task_worker;

struct upid {
	char *node;
	pid_t pid;
	uint64_t pstart;
	time_t starttime;
	char *type;
	char *id;   /* may be "" */
	char *user; /* userid or full token id "u@r!t" */
};

/* The node name grammar of UPIDs and of every {node} parameter:
 * ^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$ (len bytes of s). */
bool upid_node_valid(const char *s, size_t len);

/* Parses a UPID string exactly (the regex of pve-api.md 5.1). 0 or -EINVAL. */
int upid_parse(const char *s, struct upid *ret);
/* Formats; the result ends with ':' */
char *upid_format(const struct upid *u);
void upid_clear(struct upid *u);

/*
 * The body of a task: runs in the forked worker process.  Return 0 for
 * success (TASK OK, or TASK WARNINGS: n when task_warn() was called), or a
 * negative errno with *err set: its message becomes "TASK ERROR: <msg>" and
 * the task's exitstatus.  arg is the value passed to task_start() (the child
 * has its own copy of memory).
 */
typedef int task_fn(struct task_worker *w, void *arg, struct error **err);

struct task_manager_config {
	const char *node;       /* node name, in every UPID */
	const char *dir;        /* <log>/tasks */
	unsigned max_workers;   /* default 4 */
	unsigned max_log_bytes; /* per task log; default 16 MiB, then truncated with a note */
};

/* Creates the manager and recovers the state of tasks left by an earlier run
 * (the active list). Starts one internal thread that learns of worker exits
 * through pidfds (never polls). */
struct task_manager *task_manager_new(const struct task_manager_config *cfg, struct error **err);
struct task_manager *task_manager_free(struct task_manager *tm);

/* Forks a worker running fn(arg).  *ret_upid receives the UPID string. */
int task_start(struct task_manager *tm, const char *type, const char *id, const char *user,
               task_fn *fn, void *arg, char **ret_upid, struct error **err);

/* In the worker: append a line to the task log (timestamps are not added,
 * like Proxmox). */
void task_log(struct task_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In the worker: log a "WARN: " line and count it. */
void task_warn(struct task_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In the worker: true once a stop was requested (SIGTERM received). */
bool task_stop_requested(struct task_worker *w);

/* Status object as GET /nodes/{node}/tasks/{upid}/status returns it:
 * {upid,node,pid,pstart,starttime,type,id,user,[tokenid],status,[exitstatus]}.
 * Unknown task: 400 "no such task". */
int task_status(struct task_manager *tm, const char *upid, json_t **ret, struct error **err);

/* Lines of the log: [{n,t}], starting at line `start` (0-based), at most
 * limit; *ret_total is the number of lines.  Empty log: [{"n":1,"t":"no content"}]. */
int task_read_log(struct task_manager *tm, const char *upid, unsigned start, unsigned limit,
                  json_t **ret, unsigned *ret_total, struct error **err);

struct task_filter {
	unsigned start, limit;    /* limit 0: 50 */
	const char *userfilter;   /* substring of user */
	const char *typefilter;   /* exact type */
	const char *vmid;         /* exact id */
	bool errors;              /* only tasks that did not end OK */
	const char *source;       /* "archive" (default), "active", "all" */
	const char *statusfilter; /* comma list of ok,warning,error,unknown */
	time_t since, until;      /* 0: unset */
	/* Visibility: when not NULL, only tasks whose user is this userid or one of
	 * its tokens (or exactly this token id when it contains '!'). */
	const char *only_user;
};

/* Newest first: [{upid,node,pid,pstart,starttime,type,id,user,[tokenid],[endtime,status]}] */
int task_list(struct task_manager *tm, const struct task_filter *f, json_t **ret,
              unsigned *ret_total, struct error **err);

/* The path of the task's log file (for a raw download); 400 "no such task"
 * when it does not exist.  (Addition to the first contract.) */
int task_log_file(struct task_manager *tm, const char *upid, char **ret_path, struct error **err);

/* Sends SIGTERM to a running worker (SIGKILL after 5 s). Stopped task: no-op. */
int task_stop(struct task_manager *tm, const char *upid, struct error **err);

/* Blocks until the task ended (tests and the CLI), at most timeout_ms. */
int task_wait(struct task_manager *tm, const char *upid, int timeout_ms, struct error **err);
