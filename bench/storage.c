/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench/storage: the cost of ctvm's storage layer over the bare commands.
 *
 * For each backend it times N allocations, snapshots and linked clones made
 * through the storage entry points (what API handlers and tasks call: name
 * allocation, locking, capability checks, the command or library call) and
 * the same operations done "by hand" (the qemu-img / btrfs commands spawned
 * directly), in the same run, and prints both with their ratio.
 *
 *   sudo build/bench/bench-storage [N]
 *
 * dir runs in a temporary directory; btrfs on a loop-mounted btrfs (root).
 */
#include "common.h"

#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "btrfs-fixture.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

extern char **environ;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The baseline: spawn argv, wait, nothing else. */
static void by_hand(char *const argv[])
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		fprintf(stderr, "bench: cannot run %s\n", argv[0]);
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench: %s failed\n", argv[0]);
		exit(1);
	}
}

static void check(int r, struct error *e, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "bench: %s: %s\n", what, e ? e->msg : "failed");
		exit(1);
	}
}

/* n linked clones of base, for guests 200.. (the timed part of "clone") */
static void clone_n(struct storage *st, const char *base, int n)
{
	struct error *e = NULL;
	for (int i = 0; i < n; i++) {
		char *c = NULL;
		check(storage_clone(st, base, 200 + i, NULL, NULL, &c, &e), e, "clone");
		free(c);
	}
}

struct row {
	const char *backend, *op;
	double ctvm, hand; /* seconds per operation */
};

static void print_rows(const struct row *rows, size_t n, int iters)
{
	printf("%-8s %-10s %12s %12s %8s\n", "backend", "operation", "ctvm ms/op", "hand ms/op",
	       "ratio");
	for (size_t i = 0; i < n; i++)
		printf("%-8s %-10s %12.2f %12.2f %7.2fx\n", rows[i].backend, rows[i].op,
		       rows[i].ctvm * 1e3 / iters, rows[i].hand * 1e3 / iters,
		       rows[i].ctvm / rows[i].hand);
}

/* Opens storage id of cfg, which the storage then holds (in its snapshot). */
static struct storage *open_section(struct section_config *cfg, const char *id)
{
	struct error *e = NULL;
	struct storage *st = NULL;
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap =
	    storage_config_snapshot_new(cfg);
	check(storage_open(snap, id, &st, &e), e, "open");
	check(storage_activate(st, &e), e, "activate");
	return st;
}

static void bench_dir(int n, struct row *rows)
{
	char dir[] = "/tmp/ctvm-bench-XXXXXX";
	if (!mkdtemp(dir))
		exit(1);
	_cleanup_free_ char *text =
	    xasprintf("dir: bench\n\tpath %s/store\n\tcontent images\n", dir);
	struct section_config *cfg = NULL;
	struct error *e = NULL;
	check(storage_config_parse(text, strlen(text), 0, &cfg, &e), e, "parse");
	struct storage *st = open_section(cfg, "bench");
	_cleanup_free_ char *hand = xasprintf("%s/hand", dir);
	mkdir_p(hand, 0755);

	/* allocate */
	double t0 = now_s();
	char **vols = xnew(char *, (size_t)n);
	for (int i = 0; i < n; i++)
		check(storage_alloc(st, 100, "qcow2", NULL, 1ull << 30, NULL, &vols[i], &e), e,
		      "alloc");
	double t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/d%d.qcow2", hand, i);
		char *argv[] = {"qemu-img", "create",     "-f",
		                "qcow2",    "-o",         "preallocation=metadata",
		                p,          "1073741824", NULL};
		by_hand(argv);
	}
	double t2 = now_s();
	rows[0] = (struct row){"dir", "alloc", t1 - t0, t2 - t1};

	/* snapshot */
	t0 = now_s();
	for (int i = 0; i < n; i++)
		check(storage_snapshot_create(st, vols[i], "s1", NULL, &e), e, "snapshot");
	t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/d%d.qcow2", hand, i);
		char *argv[] = {"qemu-img", "snapshot", "-c", "s1", p, NULL};
		by_hand(argv);
	}
	t2 = now_s();
	rows[1] = (struct row){"dir", "snapshot", t1 - t0, t2 - t1};

	/* linked clone of a base */
	char *base = NULL;
	check(storage_create_base(st, vols[0], NULL, &base, &e), e, "create_base");
	t0 = now_s();
	clone_n(st, base, n);
	t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/c%d.qcow2", hand, i);
		char *argv[] = {"qemu-img", "create", "-F",    "qcow2", "-b",
		                "d0.qcow2", "-f",     "qcow2", p,       NULL};
		by_hand(argv);
	}
	t2 = now_s();
	rows[2] = (struct row){"dir", "clone", t1 - t0, t2 - t1};

	for (int i = 0; i < n; i++)
		free(vols[i]);
	free(vols);
	free(base);
	storage_free(st);
	/* the base is immutable (create_base), as Proxmox makes it */
	char *unlock[] = {"chattr", "-R", "-f", "-i", dir, NULL};
	by_hand(unlock);
	char *rm[] = {"rm", "-rf", dir, NULL};
	by_hand(rm);
}

static int bench_btrfs(int n, struct row *rows)
{
	struct btrfs_fixture *f = NULL;
	if (btrfs_fixture_setup("bench", &f) < 0)
		return 0;
	struct error *e = NULL;
	struct storage *st = open_section(TAKE_PTR(f->cfg), "bench");
	_cleanup_free_ char *hand = xasprintf("%s/hand", f->mnt);
	mkdir_p(hand, 0755);

	double t0 = now_s();
	char **vols = xnew(char *, (size_t)n);
	for (int i = 0; i < n; i++)
		check(storage_alloc(st, 100, "raw", NULL, 1ull << 30, NULL, &vols[i], &e), e,
		      "alloc");
	double t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/v%d", hand, i);
		_cleanup_free_ char *raw = xasprintf("%s/v%d/disk.raw", hand, i);
		char *a1[] = {"btrfs", "-q", "subvolume", "create", p, NULL};
		by_hand(a1);
		char *a2[] = {"truncate", "-s", "1G", raw, NULL};
		by_hand(a2);
	}
	double t2 = now_s();
	rows[0] = (struct row){"btrfs", "alloc", t1 - t0, t2 - t1};

	t0 = now_s();
	for (int i = 0; i < n; i++)
		check(storage_snapshot_create(st, vols[i], "s1", NULL, &e), e, "snapshot");
	t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/v%d", hand, i);
		_cleanup_free_ char *s = xasprintf("%s/v%d@s1", hand, i);
		char *a[] = {"btrfs", "-q", "subvolume", "snapshot", "-r", p, s, NULL};
		by_hand(a);
	}
	t2 = now_s();
	rows[1] = (struct row){"btrfs", "snapshot", t1 - t0, t2 - t1};

	char *base = NULL;
	check(storage_create_base(st, vols[0], NULL, &base, &e), e, "create_base");
	t0 = now_s();
	clone_n(st, base, n);
	t1 = now_s();
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/v0", hand);
		_cleanup_free_ char *c = xasprintf("%s/c%d", hand, i);
		char *a[] = {"btrfs", "-q", "subvolume", "snapshot", p, c, NULL};
		by_hand(a);
	}
	t2 = now_s();
	rows[2] = (struct row){"btrfs", "clone", t1 - t0, t2 - t1};

	for (int i = 0; i < n; i++)
		free(vols[i]);
	free(vols);
	free(base);
	storage_free(st);
	btrfs_fixture_teardown(f);
	return 3;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	if (n < 1 || n > 1000)
		n = 20;
	_cleanup_free_ char *lockdir = xstrdup("/tmp/ctvm-bench-locks");
	mkdir_p(lockdir, 0700);
	storage_set_lock_dir(lockdir);
	struct row rows[6];
	bench_dir(n, rows);
	size_t nrows = 3 + (size_t)bench_btrfs(n, rows + 3);
	printf("%d operations each; ctvm = through the storage entry points, hand = the bare "
	       "command\n",
	       n);
	print_rows(rows, nrows, n);
	if (nrows == 3)
		printf("(btrfs skipped: needs root, mkfs.btrfs and loop devices)\n");
	return 0;
}
