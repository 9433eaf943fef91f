/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * task-priv.h: what the files of src/task share (not part of the API).
 *
 * upid.c     UPID grammar, status-line grammar, /proc start times, JSON.
 * worker.c   the worker process: task_log() and friends, its main function.
 * task.c     the manager: fork, slots, the exit thread, index and active.
 * task-query.c  status, log, list (read side).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>
#include <pthread.h>

#include "task.h"

/* index is rotated to index.1 when it grows past this many lines */
#define TASK_INDEX_MAX_LINES 1000
/* a log's last line is looked for in its last this many bytes */
#define TASK_TAIL_BYTES (64 * 1024)
/* an error message in "TASK ERROR: <msg>" is cut here */
#define TASK_ERROR_MAX 4096
/* bound on reading index, index.1 and active */
#define TASK_STATE_FILE_MAX (16 * 1024 * 1024)
/* a task log's default bound (task_manager_config.max_log_bytes) */
#define TASK_DEFAULT_MAX_LOG_BYTES (16u * 1024 * 1024)

/* The rule for type, id and user in a UPID: no ':', '/' or whitespace;
 * empty only when allow_empty. */
bool upid_field_valid(const char *s, size_t len, bool allow_empty);

/* "<dir>/<last hex digit of starttime>/<upid>" */
char *task_log_path(const char *dir, const char *upid, time_t starttime);

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot).
 * No allocation and no stdio: safe in a freshly forked child. */
int proc_pid_starttime(pid_t pid, uint64_t *ret);

/* From a log's last line: "OK", "WARNINGS: n", the error text; returns false
 * (and "unexpected status") when the line is not a final status line. */
bool task_status_from_line(const char *line, char **ret_status);

/* The last line of a log (without its newline, "" for an empty file).
 * -ENOENT when the log does not exist. */
int task_log_last_line(const char *path, char **ret_line);

/* ok, warning, error, unknown; NULL status (running): "running" */
const char *task_status_type(const char *status);

/* A JSON string of s[0..len), invalid UTF-8 replaced by U+FFFD. */
json_t *task_json_string(const char *s, size_t len);

/* {upid,node,pid,pstart,starttime,type,id,user,[tokenid]} */
json_t *upid_to_json(const char *upid, const struct upid *u);

/* A task the manager watches: ours (forked by this manager) or recovered
 * from <dir>/active after a restart. */
struct task_entry {
	struct task_entry *next;
	char *upid;
	struct upid u;
	int pidfd;
	int slot_fd;   /* while waiting for a slot: our end of its start socket, else -1 */
	bool has_slot; /* counts against max_workers */
	bool stop_sent;
	bool kill_armed; /* SIGKILL at kill_at (CLOCK_MONOTONIC) */
	struct timespec kill_at;
};

/* A spare worker's socket, in the spare (task_spare_worker_main()). */
#define TASK_SPARE_FD 3
/* The longest task type a spare takes (UPID types are short words). */
#define TASK_SPARE_TYPE_MAX 64

/* The spare worker: started ahead, taken by the next task (task.c). */
struct task_spare {
	pid_t pid; /* 0: none */
	int pidfd;
	int sock; /* SOCK_SEQPACKET: the task's message, then 'g'/'w' */
	uint64_t pstart;
};

struct task_manager {
	char *node;
	char *dir;
	char *active_path; /* also the state lock: "<dir>/active.lock" */
	char *index_path;
	char *index1_path;
	unsigned max_workers;
	uint64_t max_log_bytes;
	const struct task_ops *ops;
	char **worker_argv; /* NULL: ops run in the forked worker */
	void (*ended)(void *userdata);
	void *ended_userdata;

	/* fork() takes it for writing, the exit thread for reading while it
	 * works: the child never inherits an allocator lock from our own
	 * thread.  glibc's malloc is fork-safe anyway; the sanitizers'
	 * allocators (gcc 12, clang 14) are not. */
	pthread_rwlock_t fork_lock;

	pthread_mutex_t lock;    /* guards everything below */
	pthread_cond_t cond;     /* broadcast when a task leaves the live list */
	struct task_entry *live; /* running and waiting tasks, in start order */
	unsigned nrunning;       /* entries with has_slot */
	bool stopping;

	int efd; /* wakes the exit thread: new pidfd, stop timer, shutdown */
	struct task_spare spare;
	/* a spare is to be started: when no task runs, or at spare_due */
	bool spare_wanted;
	bool spare_backoff; /* the last one failed or died unused: wait for spare_due */
	struct timespec spare_due;
	pthread_t thread;
	bool thread_started;
};

#define TASK_LOCK_TIMEOUT_MS 10000

/* With tm->lock held. */
struct task_entry *task_live_find_locked(struct task_manager *tm, const char *upid);

/* One line of index: "<UPID> <endtime %08X> <status>" */
struct task_index_entry {
	char *upid;
	struct upid u;
	time_t endtime;
	char *status;
};

/* Reads index.1 then index (oldest first); bad lines are skipped.  The
 * caller holds the state lock (lock_file(tm->active_path)). */
int task_index_load(const struct task_manager *tm, struct task_index_entry **ret, size_t *ret_n,
                    struct error **err);
void task_index_free(struct task_index_entry *e, size_t n);

/* What the worker process needs; the strings live in the parent's memory,
 * which the child has its own copy of.  The body is op(args), run in the
 * child or, with exec_argv, in that program. */
struct task_child {
	const char *dir;
	const char *node;
	const char *type;
	const char *id;
	const char *user;
	time_t starttime;
	uint64_t max_log_bytes;
	int sock; /* our end of the start socket: 'g' go, 'w' wait, EOF abort */
	const struct task_op *op;
	const json_t *args;
	void *env;              /* the op's task_worker_env() */
	char *const *exec_argv; /* NULL: run op here */
	const char *args_text;  /* with exec_argv: args as JSON, for the program's stdin */
};

/* The body of the forked child.  Never returns. */
__attribute__((noreturn)) void task_child_main(const struct task_child *c);
