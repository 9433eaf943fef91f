/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctvmd: the daemon.  Parses arguments, wires the layers together, and
 * handles signals; it holds no API logic (that is src/api).
 *
 *   SIGTERM, SIGINT  stop listening, finish requests, exit 0 (task workers
 *                    keep running and are found again on the next start)
 *   SIGHUP           reopen logs; config files are re-read on change anyway
 */
#define LOG_CATEGORY "ctvmd"
#include "common.h"

#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "access.h"
#include "ctvmd-privsep.h"
#include "api.h"
#include "audit.h"
#include "auth.h"
#include "error.h"
#include "fileio.h"
#include "guest-ops.h"
#include "guest.h"
#include "http-www.h"
#include "http.h"
#include "jsonutil.h"
#include "log.h"
#include "lxc-power.h"
#include "node-stats.h"
#include "paths.h"
#include "reaper.h"
#include "rrd-collector.h"
#include "storage-config.h"
#include "storage-ops.h"
#include "storage.h"
#include "task.h"
#include "xalloc.h"

struct options {
	const char *root;
	char *host;
	unsigned port;
	const char *node;
	enum log_level level;
	unsigned max_workers;
	unsigned login_delay_ms;
	unsigned rrd_step;                /* 0: the default (60 s) */
	struct http_limits limits;        /* connection budgets and deadlines; 0: default */
	const char *run_task_op;          /* worker mode: the operation's type */
	bool task_spare;                  /* worker mode: a spare (task.h) */
	unsigned long long max_log_bytes; /* worker mode */
	bool no_privsep;                  /* debugging: one root process, no front */
	bool front;                       /* front mode (started by the privileged ctvmd) */
	const char *privsep_user;
	unsigned request_channels; /* between front and priv; 0: default */
	int front_loops;           /* the front's event loops; -1: default */
	const char *front_cert, *front_key;
	enum privsep_seccomp seccomp;
	const char *www_dir; /* the console pages; NULL: pages_load()'s default */
};

/* --no-privsep: the root process serves TCP, and the console pages with it */
static struct www *no_privsep_pages;

static void handle_with_pages(const struct http_request *req, struct http_response *resp, void *ud)
{
	if (!req->local_socket && www_handle(no_privsep_pages, req, resp))
		return;
	api_handle_request(req, resp, ud);
}

/* The http layer's defaults (http.h), for the descriptor check below. */
#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_MAX_LOCAL       128
/* Descriptors besides the connections: logs, task pidfds and pipes, storage
 * probes, 503 answers and shed connections not gone yet (docs/dev/HTTP.md). */
#define FD_RESERVE 256

static void usage(FILE *f)
{
	fprintf(f, "Usage: ctvmd [OPTIONS]\n"
	           "\n"
	           "Serves the Proxmox VE compatible API on https://HOST:PORT/api2/json.\n"
	           "\n"
	           "  --root DIR          keep config, state, logs, socket and pid under DIR\n"
	           "                      (default: /etc/ctvm, /var/lib/ctvm, /var/log/ctvm, "
	           "/run/ctvm)\n"
	           "  --listen HOST:PORT  address to serve HTTPS on (default 0.0.0.0:8006)\n"
	           "  --node NAME         node name (default: the short host name)\n"
	           "  --log-level LEVEL   error, warn, info (default) or debug\n"
	           "  --max-workers N     tasks running at once (default 4)\n"
	           "  --max-connections N\n"
	           "                      TCP connections at once (default 512)\n"
	           "  --max-unauth-connections N\n"
	           "                      of which not authenticated (default half); the\n"
	           "                      rest is kept for clients with a ticket or token\n"
	           "  --max-connections-per-address N\n"
	           "                      TCP connections of one IPv4 address or IPv6 /64\n"
	           "                      (default 64)\n"
	           "  --max-local-connections N\n"
	           "                      connections on the local socket (default 128)\n"
	           "  --handshake-timeout S\n"
	           "                      seconds for the TLS handshake (default 5)\n"
	           "  --idle-timeout S    seconds an unauthenticated connection may wait\n"
	           "                      before its request (default 10)\n"
	           "  --privsep-user NAME the user of the front process that serves TCP\n"
	           "                      (default ctvm-www; docs/dev/PRIVSEP.md)\n"
	           "  --request-channels N\n"
	           "                      requests the front may have in the privileged\n"
	           "                      process at once (default and most 64)\n"
	           "  --front-loops N     event-loop threads serving TCP connections in\n"
	           "                      the front (default: one per CPU, at most 4;\n"
	           "                      0: a thread per connection)\n"
	           "  --no-privsep        debugging only: serve TCP from the root process\n"
	           "                      itself, without the sandboxed front\n"
	           "  --www DIR           the console pages (docs/consoles.md; default\n"
	           "                      " CTVM_WWW_DIR ",\n"
	           "                      or the build's when run from the build tree)\n"
	           "  --version           print the version\n"
	           "  --help              this text\n");
}

static int parse_listen(const char *s, struct options *o)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return -EINVAL;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535)
		return -EINVAL;
	free(o->host);
	o->host = xstrndup(s, (size_t)(colon - s));
	o->port = (unsigned)port;
	return 0;
}

/* A number in [min, max] for option name, or -EINVAL with a message. */
static int parse_uint(const char *s, const char *name, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "ctvmd: --%s must be %u..%u\n", name, min, max);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_ROOT = 256,
		OPT_LISTEN,
		OPT_NODE,
		OPT_LOG,
		OPT_WORKERS,
		OPT_DELAY,
		OPT_RRD_STEP,
		OPT_MAX_CONNS,
		OPT_MAX_UNAUTH,
		OPT_MAX_PER_ADDR,
		OPT_MAX_LOCAL,
		OPT_HANDSHAKE,
		OPT_IDLE,
		OPT_CHANNELS,
		OPT_FRONT_LOOPS,
		OPT_EXEC_WORKERS,
		OPT_RUN_TASK_OP,
		OPT_MAX_LOG_BYTES,
		OPT_TASK_SPARE,
		OPT_PRIVSEP,
		OPT_NO_PRIVSEP,
		OPT_PRIVSEP_USER,
		OPT_FRONT,
		OPT_FRONT_CERT,
		OPT_FRONT_KEY,
		OPT_WWW,
		OPT_SECCOMP,
		OPT_VER
	};
	static const struct option longopts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"node", required_argument, NULL, OPT_NODE},
	    {"log-level", required_argument, NULL, OPT_LOG},
	    {"max-workers", required_argument, NULL, OPT_WORKERS},
	    /* for tests: the base delay after a failed login */
	    {"login-delay-ms", required_argument, NULL, OPT_DELAY},
	    /* for tests only: the usage history's step in seconds (default 60);
	     * sampling and saving speed up with it (docs/monitoring.md) */
	    {"test-rrd-step", required_argument, NULL, OPT_RRD_STEP},
	    {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
	    {"max-unauth-connections", required_argument, NULL, OPT_MAX_UNAUTH},
	    {"max-connections-per-address", required_argument, NULL, OPT_MAX_PER_ADDR},
	    {"max-local-connections", required_argument, NULL, OPT_MAX_LOCAL},
	    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE},
	    {"request-channels", required_argument, NULL, OPT_CHANNELS},
	    {"front-loops", required_argument, NULL, OPT_FRONT_LOOPS},
	    /* task workers are always started by exec now (docs/dev/TASKS.md);
	     * the option is accepted for scripts that still pass it */
	    {"exec-workers", no_argument, NULL, OPT_EXEC_WORKERS},
	    /* the worker mode those use: run one task operation, its
	     * arguments as JSON on stdin, its log on stdout (task.h) */
	    {"run-task-op", required_argument, NULL, OPT_RUN_TASK_OP},
	    {"max-log-bytes", required_argument, NULL, OPT_MAX_LOG_BYTES},
	    {"task-spare", no_argument, NULL, OPT_TASK_SPARE},
	    /* the default; accepted for scripts that still pass it */
	    {"privsep", no_argument, NULL, OPT_PRIVSEP},
	    {"no-privsep", no_argument, NULL, OPT_NO_PRIVSEP},
	    {"privsep-user", required_argument, NULL, OPT_PRIVSEP_USER},
	    /* debugging: the front's seccomp failure action, kill (default),
	     * errno, log (allow and log, to find missing calls) or off */
	    {"privsep-seccomp", required_argument, NULL, OPT_SECCOMP},
	    /* internal: the front, as the privileged ctvmd starts it */
	    {"front", no_argument, NULL, OPT_FRONT},
	    {"front-cert", required_argument, NULL, OPT_FRONT_CERT},
	    {"front-key", required_argument, NULL, OPT_FRONT_KEY},
	    {"www", required_argument, NULL, OPT_WWW},
	    {"version", no_argument, NULL, OPT_VER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			o->root = optarg;
			break;
		case OPT_LISTEN:
			if (parse_listen(optarg, o) < 0) {
				fprintf(stderr, "ctvmd: invalid --listen '%s', want HOST:PORT\n",
				        optarg);
				return -EINVAL;
			}
			break;
		case OPT_NODE:
			o->node = optarg;
			break;
		case OPT_LOG:
			o->level = log_level_from_string(optarg);
			if ((int)o->level < 0) {
				fprintf(stderr, "ctvmd: invalid --log-level '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_WORKERS:
			o->max_workers = (unsigned)strtoul(optarg, NULL, 10);
			if (o->max_workers < 1 || o->max_workers > 64) {
				fprintf(stderr, "ctvmd: --max-workers must be 1..64\n");
				return -EINVAL;
			}
			break;
		case OPT_DELAY:
			o->login_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case OPT_RRD_STEP:
			o->rrd_step = (unsigned)strtoul(optarg, NULL, 10);
			if (o->rrd_step < 1 || o->rrd_step > 60) {
				fprintf(stderr, "ctvmd: --test-rrd-step must be 1..60\n");
				return -EINVAL;
			}
			break;
		case OPT_MAX_CONNS:
			if (parse_uint(optarg, "max-connections", 1, 65536,
			               &o->limits.max_connections) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_UNAUTH:
			if (parse_uint(optarg, "max-unauth-connections", 1, 65536,
			               &o->limits.max_unauth) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_PER_ADDR:
			if (parse_uint(optarg, "max-connections-per-address", 1, 65536,
			               &o->limits.max_per_addr) < 0)
				return -EINVAL;
			break;
		case OPT_MAX_LOCAL:
			if (parse_uint(optarg, "max-local-connections", 1, 65536,
			               &o->limits.max_local) < 0)
				return -EINVAL;
			break;
		case OPT_HANDSHAKE:
			if (parse_uint(optarg, "handshake-timeout", 1, 60,
			               &o->limits.handshake_timeout_s) < 0)
				return -EINVAL;
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, "idle-timeout", 1, 300, &o->limits.idle_timeout_s) <
			    0)
				return -EINVAL;
			break;
		case OPT_CHANNELS:
			if (parse_uint(optarg, "request-channels", 1, FRONT_MAX_CHANNELS,
			               &o->request_channels) < 0)
				return -EINVAL;
			break;
		case OPT_FRONT_LOOPS: {
			unsigned n;
			if (parse_uint(optarg, "front-loops", 0, FRONT_MAX_LOOPS, &n) < 0)
				return -EINVAL;
			o->front_loops = (int)n;
			break;
		}
		case OPT_EXEC_WORKERS:
			break;
		case OPT_RUN_TASK_OP:
			o->run_task_op = optarg;
			break;
		case OPT_TASK_SPARE:
			o->task_spare = true;
			break;
		case OPT_MAX_LOG_BYTES:
			o->max_log_bytes = strtoull(optarg, NULL, 10);
			break;
		case OPT_PRIVSEP:
			o->no_privsep = false;
			break;
		case OPT_NO_PRIVSEP:
			o->no_privsep = true;
			break;
		case OPT_PRIVSEP_USER:
			o->privsep_user = optarg;
			break;
		case OPT_SECCOMP:
			if (streq(optarg, "kill"))
				o->seccomp = PRIVSEP_SECCOMP_KILL;
			else if (streq(optarg, "errno"))
				o->seccomp = PRIVSEP_SECCOMP_ERRNO;
			else if (streq(optarg, "log"))
				o->seccomp = PRIVSEP_SECCOMP_LOG;
			else if (streq(optarg, "off"))
				o->seccomp = PRIVSEP_SECCOMP_OFF;
			else {
				fprintf(stderr,
				        "ctvmd: --privsep-seccomp: kill, errno, log or off\n");
				return -EINVAL;
			}
			break;
		case OPT_FRONT:
			o->front = true;
			break;
		case OPT_FRONT_CERT:
			o->front_cert = optarg;
			break;
		case OPT_FRONT_KEY:
			o->front_key = optarg;
			break;
		case OPT_WWW:
			o->www_dir = optarg;
			break;
		case OPT_VER:
			printf("ctvmd %s (Proxmox VE API %s)\n", CTVM_VERSION, CTVM_PVE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ctvmd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static char *node_name(const char *given)
{
	if (given)
		return xstrdup(given);
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		return xstrdup("localhost");
	host[strcspn(host, ".")] = '\0';
	return xstrdup(host);
}

static int write_pidfile(const struct ctvm_paths *p, struct error **err)
{
	_cleanup_free_ char *path = path_join(p->run, "ctvmd.pid");
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	return write_file_atomic(path, buf, (size_t)n, 0644, err);
}

static void die(const char *what, struct error *e)
{
	fprintf(stderr, "ctvmd: %s: %s\n", what, e ? e->msg : "failed");
	log_error("%s: %s", what, e ? e->msg : "failed");
	exit(1);
}

/*
 * Every connection holds a descriptor.  Raise the soft limit to the hard one
 * (often 1024 soft), and if the connection budgets still do not fit, shrink
 * the TCP budget so that a flood meets the budget (and sheds connections)
 * before accept() meets EMFILE.
 */
static void fit_fd_limit(struct http_limits *lim)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return;
	}
	unsigned tcp = lim->max_connections ? lim->max_connections : DEFAULT_MAX_CONNECTIONS;
	unsigned local = lim->max_local ? lim->max_local : DEFAULT_MAX_LOCAL;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)tcp + local + FD_RESERVE)
		return;
	unsigned fit = rl.rlim_cur > (rlim_t)local + FD_RESERVE + 16
	                   ? (unsigned)(rl.rlim_cur - local - FD_RESERVE)
	                   : 16;
	if (fit >= tcp)
		return;
	log_warn("open file limit %llu is too low for %u connections; serving at most %u",
	         (unsigned long long)rl.rlim_cur, tcp, fit);
	if (lim->max_unauth)
		lim->max_unauth = lim->max_unauth * (unsigned long long)fit / tcp;
	lim->max_connections = fit;
}

#define HOUSEKEEPING_SECONDS 60

static void report_pending(const char *storeid, const char *volname, int r, const struct error *e,
                           void *userdata)
{
	if (r >= 0)
		log_info("removed '%s:%s', left half-written by an interrupted copy", storeid,
		         volname);
	else
		log_warn("unable to remove '%s:%s', left half-written by an interrupted copy: %s",
		         storeid, volname, e ? e->msg : strerror(-r));
}

/* At start and every minute: volumes a killed or crashed copy left behind. */
static void housekeeping(struct api_context *ctx)
{
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap = NULL;
	if (storage_config_store_get(ctx->storage, &snap, NULL) < 0)
		return;
	storage_pending_recover(snap, report_pending, NULL);
}

static void report_stale_tmp(const char *path, void *userdata)
{
	(void)userdata;
	log_info("removed '%s', a temporary file left by an interrupted writer", path);
}

/* At start, once: temporary files that killed writers left (the storages'
 * on a thread of their own).  Live writers, task workers that outlived the
 * previous daemon included, hold locks on theirs and keep them. */
static void sweep_stale_tmp(struct api_context *ctx, const struct timespec *started)
{
	const struct ctvm_paths *p = ctx->paths;
	_cleanup_free_ char *rrd = path_join(p->state, "rrd");
	const struct {
		const char *dir;
		unsigned depth;
	} dirs[] = {
	    {p->etc, 4}, /* priv/, local/, nodes/<node>/qemu-server/ */
	    {rrd, 3},    /* pve2-storage/<node>/<storage> */
	    {p->tasks, 1},
	    {p->run, 1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		remove_stale_tmp(dirs[i].dir, dirs[i].depth, started, atomic_tmp_name,
		                 report_stale_tmp, NULL);
	_cleanup_section_config_ struct section_config *cfg = NULL;
	if (storage_config_store_load(ctx->storage, &cfg, NULL) == 0)
		storage_sweep_tmp_start(cfg, ctx->node, started, report_stale_tmp, NULL);
}

/*
 * Guests with onboot start when ctvmd starts on a freshly booted host, not
 * after a mere restart of the daemon (PVE's pve-guests.service runs once
 * per boot): the mark is a file in the run directory, which is a tmpfs
 * (/run) that a boot empties.  Under --root the run directory is not one,
 * so test trees never start guests on their own.
 */
static void start_onboot_guests(struct api_context *ctx)
{
	if (ctx->paths->root)
		return;
	_cleanup_free_ char *mark = path_join(ctx->paths->run, "onboot-started");
	int fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return; /* started once since boot already (or cannot tell) */
	close(fd);
	struct error *e = NULL;
	char *upid = NULL;
	_cleanup_json_ json_t *args = json_object();
	if (task_start_op(ctx->tasks, "startall", "", "root@pam", args, &upid, &e) < 0)
		log_error("cannot start the onboot guests: %s", e ? e->msg : "unknown error");
	else
		log_info("starting the onboot guests: %s", upid);
	free(upid);
	error_free(e);
}

/* The storage layer's process-wide settings, the same in the daemon and in
 * an exec'd worker. */
static void storage_setup(const struct ctvm_paths *paths)
{
	storage_set_lock_dir(paths->run);
	_cleanup_free_ char *pending_dir = path_join(paths->state, "pending");
	storage_set_pending_dir(pending_dir);
}

/* Every task operation, each type once: a type registered twice stops the
 * daemon at start (and fails an exec'd worker), never silently shadows. */
static struct task_ops *task_ops_setup(struct storage_task_env *senv, struct guest_store *gs,
                                       struct error **err)
{
	struct task_ops *ops = task_ops_new();
	if (storage_task_ops_register(ops, senv, err) < 0 ||
	    guest_task_ops_register(ops, gs, err) < 0)
		return task_ops_free(ops);
	return ops;
}

/* The guest operations' way into user.cfg (guest.h, guest_access_hooks). */
static int hook_pool_add(void *userdata, long vmid, const char *pool, struct error **err)
{
	return access_pool_add_vm(userdata, pool, vmid, err);
}

static int hook_pool_remove(void *userdata, long vmid, const char *pool, struct error **err)
{
	return access_pool_remove_vm(userdata, pool, vmid, err);
}

static int hook_forget(void *userdata, long vmid, struct error **err)
{
	return access_remove_vm(userdata, vmid, err);
}

/* The guests' figures for the usage history (the collector's thread): what
 * their list entries say, in rrd_def_guest's order. */
static int guest_samples(void *userdata, struct rrd_guest_sample **ret, size_t *ret_n)
{
	struct guest_store *gs = userdata;
	struct guest_id *ids = NULL;
	size_t n = 0;
	if (guest_list(gs, NULL, &ids, &n, NULL) < 0)
		return -1;
	static const char *const keys[RRD_GUEST_N_DS] = {"cpus",     "cpu",      "maxmem", "mem",
	                                                 "maxdisk",  "disk",     "netin",  "netout",
	                                                 "diskread", "diskwrite"};
	struct rrd_guest_sample *s = xnew(struct rrd_guest_sample, n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct guest g = {0};
		json_t *e = NULL;
		/* unreadable now: unknown values, its history stays */
		bool ok = guest_get(gs, ids[i].kind, ids[i].vmid, &g, NULL) == 0 &&
		          guest_summary(gs, &g, &e, NULL) == 0;
		s[k].vmid = ids[i].vmid;
		for (size_t j = 0; j < RRD_GUEST_N_DS; j++)
			s[k].v[j] = ok ? json_number_value(json_object_get(e, keys[j])) : NAN;
		k++;
		json_decref(e);
		guest_release(&g);
	}
	free(ids);
	*ret = s;
	*ret_n = k;
	return 0;
}

/* A task ended: it may have changed user.cfg (guest destroy and create). */
static void access_check_soon(void *userdata)
{
	access_store_check_soon(userdata);
}

/*
 * --run-task-op TYPE: one worker, exec'd by the task manager (or by anyone
 * with the right to run it) with only its arguments, task.h's
 * task_op_worker_main().  --task-spare: the same program started ahead of
 * its task, which it learns from the manager (task_spare_worker_main()).
 * Either builds the environment operations need from --root and --node and
 * nothing else of the daemon; its stores read their files fresh when used,
 * so a spare's setup is not stale when its task comes.
 */
static _noreturn_ void run_task_op(const struct options *o)
{
	struct error *e = NULL;
	umask(022);
	struct ctvm_paths *paths = ctvm_paths_new(o->root);
	_cleanup_free_ char *node = node_name(o->node);
	/* what the daemon creates at start (the storage locks live in run/),
	 * so a worker run by hand on a fresh root finds it too */
	int r = ctvm_paths_create(paths);
	if (r < 0) {
		fprintf(stderr, "ctvmd: cannot create directories under '%s': %s\n",
		        o->root ? o->root : "/", strerror(-r));
		exit(1);
	}
	storage_setup(paths);
	struct storage_task_env senv = {.node = node, .store = storage_config_store_new(paths)};
	struct guest_store *gs = guest_store_new(paths, node, senv.store);
	struct access_store *access = access_store_new(paths, &e);
	if (!access) {
		fprintf(stderr, "ctvmd: %s\n", e ? e->msg : "cannot open the access files");
		exit(1);
	}
	guest_store_set_access_hooks(gs,
	                             &(struct guest_access_hooks){.pool_add = hook_pool_add,
	                                                          .pool_remove = hook_pool_remove,
	                                                          .forget = hook_forget,
	                                                          .userdata = access});
	struct task_ops *ops = task_ops_setup(&senv, gs, &e);
	if (!ops) {
		fprintf(stderr, "ctvmd: %s\n", e ? e->msg : "cannot register task operations");
		exit(1);
	}
	if (o->task_spare)
		task_spare_worker_main(ops, o->max_log_bytes);
	task_op_worker_main(ops, o->run_task_op, o->max_log_bytes);
}

/* ctvmd --front: started by the privileged ctvmd with its descriptors 3-5. */
static _noreturn_ void run_front(const struct options *o)
{
	if (!o->front_cert || !o->front_key) {
		fprintf(stderr, "ctvmd: --front is started by ctvmd itself\n");
		exit(2);
	}
	log_set_level(o->level);
	struct front_options fo = {
	    .user = o->privsep_user,
	    .cert = o->front_cert,
	    .key = o->front_key,
	    .limits = o->limits,
	    .seccomp = o->seccomp,
	    .www_dir = o->www_dir,
	    .loops = o->front_loops,
	};
	front_main(&fo);
}

static const char *seccomp_name(enum privsep_seccomp s)
{
	switch (s) {
	case PRIVSEP_SECCOMP_ERRNO:
		return "errno";
	case PRIVSEP_SECCOMP_LOG:
		return "log";
	case PRIVSEP_SECCOMP_OFF:
		return "off";
	default:
		return "kill";
	}
}

/* The front's command line: everything it needs, nothing of priv's memory. */
static char **front_argv(const struct options *o, const char *cert, const char *key)
{
	char **v = xnew(char *, 32);
	size_t n = 0;
	v[n++] = xstrdup("ctvmd");
	v[n++] = xstrdup("--front");
	v[n++] = xasprintf("--privsep-user=%s", o->privsep_user);
	v[n++] = xasprintf("--front-cert=%s", cert);
	v[n++] = xasprintf("--front-key=%s", key);
	v[n++] = xasprintf("--privsep-seccomp=%s", seccomp_name(o->seccomp));
	if (o->www_dir)
		v[n++] = xasprintf("--www=%s", o->www_dir);
	if (o->front_loops >= 0)
		v[n++] = xasprintf("--front-loops=%d", o->front_loops);
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	v[n++] = xasprintf("--log-level=%s", levels[o->level < 4 ? o->level : 2]);
	const struct http_limits *l = &o->limits;
	if (l->max_connections)
		v[n++] = xasprintf("--max-connections=%u", l->max_connections);
	if (l->max_unauth)
		v[n++] = xasprintf("--max-unauth-connections=%u", l->max_unauth);
	if (l->max_per_addr)
		v[n++] = xasprintf("--max-connections-per-address=%u", l->max_per_addr);
	if (l->handshake_timeout_s)
		v[n++] = xasprintf("--handshake-timeout=%u", l->handshake_timeout_s);
	if (l->idle_timeout_s)
		v[n++] = xasprintf("--idle-timeout=%u", l->idle_timeout_s);
	v[n] = NULL;
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The front's user must exist, and we must be root to become it, before
 * anything starts: a front that cannot drop privileges would only be
 * restarted in a loop. */
static int check_front_user(const char *name)
{
	if (geteuid() != 0) {
		fprintf(stderr,
		        "ctvmd: starting the front process as '%s' needs root; run ctvmd "
		        "as root (--no-privsep, for debugging only, does without)\n",
		        name);
		return -EPERM;
	}
	errno = 0;
	struct passwd *pw = getpwnam(name); /* one thread yet */
	if (!pw) {
		fprintf(stderr,
		        "ctvmd: the front process's user '%s' does not exist%s%s; create it\n"
		        "       (tools/setup-deps does) with:\n"
		        "         useradd --system --no-create-home --home-dir /nonexistent "
		        "--shell /usr/sbin/nologin %s\n"
		        "       or name another unprivileged user with --privsep-user NAME\n",
		        name, errno ? ": " : "", errno ? strerror(errno) : "", name);
		return -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		fprintf(stderr, "ctvmd: --privsep-user '%s' is root or in group root\n", name);
		return -EPERM;
	}
	return 0;
}

/* The TCP listener of the split.  A front whose privileged process died
 * holds the port for FRONT_GRACE_S while it answers 503: wait it out. */
static int bind_tcp(const struct options *o, unsigned *ret_port, struct error **err)
{
	for (int i = 0;; i++) {
		struct error *e = NULL;
		int fd = http_listen_tcp(o->host, o->port, ret_port, &e);
		if (fd >= 0 || e->code != -EADDRINUSE || i >= (FRONT_GRACE_S + 3) * 4) {
			error_propagate(err, e);
			return fd;
		}
		error_free(e);
		usleep(250 * 1000);
	}
}

int main(int argc, char **argv)
{
	/* what killed writers left is older; what live ones write is locked */
	struct timespec started;
	clock_gettime(CLOCK_REALTIME_COARSE, &started);

	struct options o = {.host = xstrdup("0.0.0.0"),
	                    .privsep_user = "ctvm-www",
	                    .port = 8006,
	                    .level = LOG_LEVEL_INFO,
	                    .max_workers = 4,
	                    .front_loops = -1,
	                    .login_delay_ms = 2000};
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (o.run_task_op || o.task_spare)
		run_task_op(&o);
	if (o.front)
		run_front(&o);
	if (!o.no_privsep && check_front_user(o.privsep_user) < 0)
		return 1;

	/* One connection thread each: without a cap glibc gives threads their own
	 * malloc arenas (8 per core), which only costs resident memory here. */
	mallopt(M_ARENA_MAX, 2);

	struct error *e = NULL;
	/* a method row or config key naming a format no layer defines */
	if (api_formats_check(&e) < 0) {
		fprintf(stderr, "ctvmd: %s\n", e->msg);
		return 1;
	}
	struct ctvm_paths *paths = ctvm_paths_new(o.root);
	umask(022);
	int r = ctvm_paths_create(paths);
	if (r < 0) {
		fprintf(stderr, "ctvmd: cannot create directories under '%s': %s\n",
		        o.root ? o.root : "/", strerror(-r));
		return 1;
	}
	_cleanup_free_ char *log_path = path_join(paths->log, "ctvmd.log");
	if (log_open(log_path, o.level) < 0)
		fprintf(stderr, "ctvmd: cannot open '%s', logging to stderr\n", log_path);
	fit_fd_limit(&o.limits);

	/* Block the signals we handle before any thread exists, so that only the
	 * main thread (sigwait below) receives them. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Orphans of our workers and guests come back to us, not to a slow PID 1,
	 * and the reaper thread waits for them (a daemonized QEMU that exits
	 * must not linger as a zombie that looks alive). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (reaper_start() < 0)
		fprintf(stderr, "ctvmd: cannot start the reaper thread\n");

	struct api_context ctx = {
	    .paths = paths,
	    .node = node_name(o.node),
	    .pam_service = xstrdup(CTVM_PAM_SERVICE),
	    .login_fail_delay_ms = o.login_delay_ms,
	};
	if (!api_valid_node(ctx.node)) {
		fprintf(stderr, "ctvmd: invalid node name '%s' (use --node)\n", ctx.node);
		return 1;
	}

	if (auth_keys_load(paths->etc, paths->priv, &ctx.keys, &e) < 0)
		die("cannot load the authentication keys", e);

	_cleanup_free_ char *local = path_join(paths->etc, "local");
	mkdir_p(local, 0755);
	_cleanup_free_ char *cert = path_join(local, "pve-ssl.pem");
	_cleanup_free_ char *key = path_join(local, "pve-ssl.key");
	if (http_tls_ensure_cert(cert, key, ctx.node, &e) < 0)
		die("cannot create the TLS certificate", e);
	ctx.cert_fingerprint = http_tls_cert_fingerprint(cert, NULL);
	/* the certificate only (public): vncproxy's "cert", as PVE's */
	if (read_file(cert, 64 * 1024, &ctx.cert_pem, NULL, NULL) < 0) {
		free(ctx.cert_pem);
		ctx.cert_pem = NULL;
	}

	ctx.access = access_store_new(paths, &e);
	if (!ctx.access)
		die("cannot load the access configuration", e);
	access_store_set_recheck_ms(ctx.access, 1000);
	ctx.storage = storage_config_store_new(paths);
	storage_setup(paths);

	/* recheck 0: tasks write guest configs from other processes, and a
	 * client reads the config right after its task ended (one stat()) */
	ctx.guests = guest_store_new(paths, ctx.node, ctx.storage);
	/* a pidfd per running container's init: a stop is seen at once (and
	 * the images of one that stopped by itself are unmounted) */
	if (lxc_power_watch_start(ctx.guests) < 0)
		fprintf(stderr, "ctvmd: cannot watch the containers\n");

	struct storage_task_env senv = {.node = ctx.node, .store = ctx.storage};
	struct task_ops *ops = task_ops_setup(&senv, ctx.guests, &e);
	if (!ops)
		die("cannot register the task operations", e);
	/* /proc/self/exe: this very binary, even if an upgrade replaced the
	 * file, so a worker never runs another version than its daemon */
	const char *worker_argv[] = {
	    "/proc/self/exe", "--node", ctx.node, paths->root ? "--root" : NULL, paths->root, NULL};
	struct task_manager_config tcfg = {
	    .node = ctx.node,
	    .dir = paths->tasks,
	    .max_workers = o.max_workers,
	    .ops = ops,
	    .worker_argv = worker_argv,
	    .ended = access_check_soon,
	    .ended_userdata = ctx.access,
	};
	ctx.tasks = task_manager_new(&tcfg, &e);
	if (!ctx.tasks)
		die("cannot start the task manager", e);
	start_onboot_guests(&ctx);
	_cleanup_free_ char *audit_path = path_join(paths->log, "audit.log");
	ctx.audit = audit_log_open(audit_path, &e);
	if (!ctx.audit)
		die("cannot open the audit log", e);
	ctx.stats = node_stats_new("/", 2000);
	_cleanup_free_ char *rrd_dir = path_join(paths->state, "rrd");
	struct rrd_collector_config rcfg = {
	    .node = ctx.node,
	    .dir = rrd_dir,
	    .stats = ctx.stats,
	    .storage = ctx.storage,
	    .step = o.rrd_step,
	    .guests = guest_samples,
	    .guests_userdata = ctx.guests,
	};
	struct rrd_collector *history = rrd_collector_new(&rcfg);
	node_stats_set_history(ctx.stats, history);
	api_context_init(&ctx);

	_cleanup_free_ char *access_log = path_join(paths->log, "access.log");
	struct http_server_config hcfg = {
	    .limits = o.limits,
	    .access_log_path = access_log,
	    .handler = api_handle_request,
	    .stream = api_stream_request,
	    .userdata = &ctx,
	};
	if (!o.no_privsep)
		hcfg.access_log_path = NULL; /* TCP is the front's: it logs */
	else if ((no_privsep_pages = pages_load(o.www_dir)))
		hcfg.handler = handle_with_pages;
	struct http_server *srv = http_server_new(&hcfg, &e);
	if (!srv)
		die("cannot create the HTTP server", e);
	unsigned port = 0;
	ctx.port = o.port;
	struct priv *priv = NULL;
	_cleanup_close_ int listen_fd = -1, access_fd = -1;
	char **fargv = NULL;
	if (!o.no_privsep) {
		/* the front gets the listener and the access log as descriptors,
		 * and reads the certificate and key before it drops privileges */
		listen_fd = bind_tcp(&o, &port, &e);
		if (listen_fd < 0)
			die("cannot listen", e);
		access_fd = open(access_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (access_fd < 0)
			die("cannot open the access log", NULL);
		fargv = front_argv(&o, cert, key);
		struct priv_config pcfg = {
		    .ctx = &ctx,
		    .listen_fd = listen_fd,
		    .access_log_fd = access_fd,
		    .log_path = log_path,
		    .front_args = fargv,
		    .pool_threads = o.request_channels,
		};
		priv = priv_start(&pcfg, &e);
		if (!priv)
			die("cannot start the front", e);
	} else if (http_server_listen_tls(srv, o.host, o.port, cert, key, &port, &e) < 0) {
		die("cannot listen", e);
	}
	__atomic_store_n(&ctx.port, port, __ATOMIC_RELAXED);
	if (http_server_listen_unix(srv, paths->socket, &e) < 0)
		die("cannot create the local socket", e);
	if (write_pidfile(paths, &e) < 0)
		die("cannot write the pid file", e);

	const char *shown = streq(o.host, "0.0.0.0") || streq(o.host, "::") ? ctx.node : o.host;
	log_info("ctvmd %s started on %s:%u, node '%s'", CTVM_VERSION, o.host, port, ctx.node);
	printf("ctvmd: listening on https://%s:%u/\n", shown, port);
	printf("ctvmd: log in at https://%s:%u/ with realm pam as root@pam and the host's root "
	       "password,\n"
	       "       or as root on this host with: ctvm%s%s api get /version\n",
	       shown, port, o.root ? " --root " : "", o.root ? o.root : "");
	printf("ctvmd: first administrator (docs/cli.md): %s%s%spveum user add admin@pve "
	       "--password && pveum acl modify / --roles Administrator --users admin@pve\n",
	       o.root ? "export CTVM_ROOT=" : "", o.root ? o.root : "", o.root ? "; " : "");
	fflush(stdout);

	sweep_stale_tmp(&ctx, &started);
	housekeeping(&ctx);
	for (;;) {
		/* the main thread waits for signals and does the housekeeping */
		struct timespec tick = {.tv_sec = HOUSEKEEPING_SECONDS};
		int sig = sigtimedwait(&mask, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				housekeeping(&ctx);
			continue;
		}
		if (sig == SIGHUP) {
			log_open(log_path, o.level);
			http_server_reopen_logs(srv, NULL);
			log_info("reloaded on SIGHUP");
			continue;
		}
		log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}

	priv_stop(priv); /* the front finishes its requests first */
	strv_free(fargv);
	http_server_free(srv);
	no_privsep_pages = www_free(no_privsep_pages);
	task_manager_free(ctx.tasks);
	task_ops_free(ops);
	node_stats_set_history(ctx.stats, NULL);
	rrd_collector_free(history); /* saves the usage history */
	node_stats_free(ctx.stats);
	api_context_release(&ctx);
	audit_log_close(ctx.audit);
	access_store_free(ctx.access);
	lxc_power_watch_stop(); /* its threads use the guest store */
	guest_store_free(ctx.guests);
	storage_config_store_free(ctx.storage);
	auth_keys_free(ctx.keys);
	_cleanup_free_ char *pidfile = path_join(paths->run, "ctvmd.pid");
	unlink(pidfile);
	unlink(paths->socket);
	log_info("stopped");
	free(ctx.node);
	free(ctx.pam_service);
	free(ctx.cert_fingerprint);
	free(ctx.cert_pem);
	free(o.host);
	ctvm_paths_free(paths);
	log_close();
	return 0;
}
