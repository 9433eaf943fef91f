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

/* --- named operations ------------------------------------------------------
 *
 * Every task the daemon starts is an operation from a closed table: a type
 * (the UPID's type: "imgdel", "prunebackups", ...) and a JSON object of
 * plain data (ids, names, numbers, flags; never pointers or daemon state).
 * The layer that owns the work registers its table once at startup
 * (storage_task_ops_register(), guest_task_ops_register()); handlers only
 * name an operation and its arguments (task_start_op()).  Because the
 * arguments are data, a worker can be a fresh program that gets nothing but
 * them (task_op_worker_main()), which is what a privileged helper will run.
 */
struct task_ops;

enum task_arg_type {
	TASK_ARG_STRING = 1, /* at most max_len bytes, no control characters */
	TASK_ARG_INTEGER,
	TASK_ARG_BOOLEAN,
};

/* A string argument's bound unless its row says otherwise. */
#define TASK_ARG_STRING_MAX 4096
/* The most a row may allow one string argument (max_len): a whole guest
 * config as JSON text (guest-ops.h, GUEST_CONF_ARG_MAX).  An operation
 * has at most one such argument. */
#define TASK_ARG_TEXT_MAX (64 * 1024)
/* An exec'd worker reads at most this much of arguments: one text argument
 * whose every byte JSON escapes (a string argument holds no control
 * character, so a '"' or '\\' of two bytes at worst) and room for the rest. */
#define TASK_ARGS_MAX (2 * TASK_ARG_TEXT_MAX + 64 * 1024)

/* One key of an operation's argument object; unknown keys are refused. */
struct task_op_arg {
	const char *name;
	enum task_arg_type type;
	bool optional;
	/* TASK_ARG_STRING: at most this many bytes, at most TASK_ARG_TEXT_MAX
	 * (registration refuses more); 0: TASK_ARG_STRING_MAX. */
	size_t max_len;
};

/* What args must mean beyond their shape (a storage id's grammar, ...);
 * runs after the shape check.  0, or a negative errno with *err. */
typedef int task_op_check_fn(const json_t *args, struct error **err);
/* The body of a task, in the worker process, with the checked arguments.
 * Return 0 for success (TASK OK, or TASK WARNINGS: n when task_warn() was
 * called), or a negative errno with *err set: its message becomes
 * "TASK ERROR: <msg>" and the task's exitstatus.  The environment the table
 * was registered with is task_worker_env(w). */
typedef int task_op_run_fn(struct task_worker *w, const json_t *args, struct error **err);

struct task_op {
	const char *type;               /* the UPID type; one entry per type */
	const struct task_op_arg *args; /* ends with {.name = NULL}; NULL: no keys */
	task_op_check_fn *check;        /* optional */
	task_op_run_fn *run;
};

struct task_ops *task_ops_new(void);
struct task_ops *task_ops_free(struct task_ops *reg);
/* Adds every entry of table (ends with {.type = NULL}); env is what their
 * run functions get from task_worker_env().  A type registered before (in
 * this or an earlier table) is -EEXIST "task type 'x' registered twice", a
 * startup error; nothing of the table is added then. */
int task_ops_register(struct task_ops *reg, const struct task_op *table, void *env,
                      struct error **err);
/* The operation of type, or NULL; *ret_env (optional) gets its environment. */
const struct task_op *task_ops_find(const struct task_ops *reg, const char *type, void **ret_env);
/* The shape of args (an object with the op's keys and types) and op->check. */
int task_op_check_args(const struct task_op *op, const json_t *args, struct error **err);

/* In the worker: the environment op tables were registered with. */
void *task_worker_env(struct task_worker *w);

struct task_manager_config {
	const char *node;       /* node name, in every UPID */
	const char *dir;        /* <log>/tasks */
	unsigned max_workers;   /* default 4 */
	unsigned max_log_bytes; /* per task log; default 16 MiB, then truncated with a note */
	/* The operations task_start_op() knows (borrowed; NULL: none). */
	const struct task_ops *ops;
	/*
	 * NULL: an operation runs in the forked worker itself.  Else the forked
	 * worker, once it has its slot and its log, executes this program with
	 * worker_argv followed by "--run-task-op TYPE --max-log-bytes N", the
	 * arguments as JSON on stdin and the log as stdout and stderr; the
	 * program calls task_op_worker_main().  Copied.
	 *
	 * So that no task waits for that exec, the manager keeps one spare
	 * worker started ahead ("worker_argv --task-spare --max-log-bytes N",
	 * the program calls task_spare_worker_main()): a task takes it, with
	 * its log and arguments passed as descriptors, and the next spare is
	 * started once no task runs (or after a second).  Without a spare (two
	 * tasks at once, a spare that died) the fork-and-exec above is used.
	 */
	const char *const *worker_argv;
	/* Called on the manager's thread when a task ended, before its status
	 * reads "stopped" (may be NULL): what a worker wrote in files another
	 * store caches is then seen by the next request (ctvmd: user.cfg,
	 * which guest destroy and create change). */
	void (*ended)(void *userdata);
	void *ended_userdata;
};

/* Creates the manager and recovers the state of tasks left by an earlier run
 * (the active list). Starts one internal thread that learns of worker exits
 * through pidfds (never polls). */
struct task_manager *task_manager_new(const struct task_manager_config *cfg, struct error **err);
struct task_manager *task_manager_free(struct task_manager *tm);

/*
 * Starts operation `type` of the manager's table as a task of user, with id
 * the UPID's id ("" for none) and args its argument object (borrowed: the
 * worker gets a copy).  An unknown type is 500 "unknown task type 'x'";
 * arguments that do not pass task_op_check_args() are refused here, before
 * any process exists.  *ret_upid receives the UPID string.
 */
int task_start_op(struct task_manager *tm, const char *type, const char *id, const char *user,
                  const json_t *args, char **ret_upid, struct error **err);

/*
 * The main function of an exec'd worker ("ctvmd --run-task-op TYPE"): the
 * operation's arguments are the JSON object on stdin (at most
 * TASK_ARGS_MAX bytes), the log is stdout (opened for appending; stderr too),
 * SIGTERM asks it to stop.  It runs the registered operation exactly as a
 * forked worker does (the arguments checked again, log lines, the final
 * TASK OK / TASK WARNINGS / TASK ERROR line) and exits 0 on success, 1
 * otherwise.  max_log_bytes 0: the default.  Never returns.
 */
__attribute__((noreturn)) void task_op_worker_main(const struct task_ops *reg, const char *type,
                                                   uint64_t max_log_bytes);

/* The spare worker's pid, 0 while there is none (tests, diagnostics). */
pid_t task_manager_spare_pid(struct task_manager *tm);

/*
 * The main function of a spare worker ("ctvmd --task-spare"), started by the
 * manager ahead of any task with its socket as descriptor 3: it waits there
 * for the task it becomes (its type, its log and its arguments), then for its
 * slot, and from there runs exactly as task_op_worker_main().  It exits
 * quietly when the socket ends first (the manager stopped or retired it).
 * The caller sets up the operations' environment before (reg): nothing in it
 * may cache what a task must read fresh.  Never returns.
 */
__attribute__((noreturn)) void task_spare_worker_main(const struct task_ops *reg,
                                                      uint64_t max_log_bytes);

/* In the worker: append a line to the task log (timestamps are not added,
 * like Proxmox). */
void task_log(struct task_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In the worker: log a "WARN: " line and count it. */
void task_warn(struct task_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For code that runs both in a task and outside one (a status request, a
 * unit test): task_log()/task_warn() when w is set, else a debug line of
 * the daemon's log ("warning: ..." for the second). */
void task_log_or_debug(struct task_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void task_warn_or_debug(struct task_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
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
