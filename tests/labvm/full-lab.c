/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Full pools, inside the lab VM only (labvm.sh full): an lvmthin pool (with
 * errorwhenfull, as ctvm makes them) and a zpool, each filled by a writer
 * until the kernel says no (EIO from the full thin pool, ENOSPC from ZFS).
 * Then, through the storage layer as ctvmd drives it:
 *
 *  - a new allocation (and a snapshot) is refused with -ENOSPC and a message
 *    naming the pool and its figures, not a tool's raw text;
 *  - nothing half-created is left: the same volumes as before the attempt;
 *  - the status says the pool is full;
 *  - a volume written before the pool filled still reads back its data;
 *  - the volumes can still be freed, and then the pool takes new ones again.
 *
 * Environment (init.sh): CTVM_LAB_DISKS="<blank disk> <partition> <partition>"
 * (/dev/vdc /dev/vda1 /dev/vdb1): the thin pool goes on the blank disk, the
 * zpool on the first partition (without udev a zpool wants a partition made
 * beforehand).  Refuses to run unless each is a 4 GiB virtio disk or a
 * partition of one.
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "lab-common.h"
#include "lab-fixture.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "strv.h"
#include "xalloc.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define BLK (1 << 20) /* what the writer writes at a time */

static char **lab_disks; /* blank disk, partition, partition */

struct pool {
	struct lab_fixture *f;
	const struct storage_config_snapshot *snap;
	struct storage *st;
};

static void pool_open(struct pool *p, const char *type, const char *disk)
{
	struct error *err = NULL;

	assert_int_equal(setenv("CTVM_LAB_DISK", disk, 1), 0);
	assert_int_equal(lab_fixture_setup(type, "full", &p->f), 0);
	_cleanup_free_ char *lock = path_join(p->f->dir, "lock");
	assert_int_equal(mkdir(lock, 0700), 0);
	storage_set_lock_dir(lock);
	p->snap = storage_config_snapshot_new(TAKE_PTR(p->f->cfg));
	assert_int_equal(storage_open(p->snap, "full", &p->st, &err), 0);
	assert_int_equal(storage_activate(p->st, &err), 0);
}

static void pool_close(struct pool *p)
{
	storage_free(p->st);
	storage_set_lock_dir(NULL);
	storage_config_snapshot_unref(p->snap);
	lab_fixture_teardown(p->f);
}

static char *alloc_ok(struct pool *p, const char *fmt, uint64_t size)
{
	struct error *err = NULL;
	char *vol = NULL;
	int r = storage_alloc(p->st, 100, fmt, NULL, size, NULL, &vol, &err);

	if (r < 0)
		print_error("alloc %s %llu: %s\n", fmt, (unsigned long long)size,
		            err ? err->msg : "?");
	assert_int_equal(r, 0);
	return vol;
}

static char *vol_path(struct pool *p, const char *vol)
{
	struct error *err = NULL;
	char *path = NULL;

	assert_int_equal(storage_path(p->st, vol, &path, &err), 0);
	return path;
}

static void *block(int byte)
{
	void *b = NULL;

	assert_int_equal(posix_memalign(&b, 4096, BLK), 0);
	memset(b, byte, BLK);
	return b;
}

/* One block of BYTE at the start of a volume, past the page cache. */
static void write_head(const char *path, int byte)
{
	_cleanup_free_ void *b = block(byte);
	int fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, BLK), BLK);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

/* Whether the first block of a file or device is all BYTE; a device is read
 * past the page cache (what is on the pool, not a cached copy). */
static bool head_is(const char *path, int byte)
{
	_cleanup_free_ void *b = block(~byte);
	_cleanup_free_ void *want = block(byte);
	struct stat sb;
	int fd;
	ssize_t n;

	assert_int_equal(stat(path, &sb), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC | (S_ISBLK(sb.st_mode) ? O_DIRECT : 0));
	assert_true(fd >= 0);
	n = read(fd, b, BLK);
	close(fd);
	return n == BLK && memcmp(b, want, BLK) == 0;
}

/*
 * The writer: blocks of 0xa5 into PATH until a write or the final fsync
 * fails, at most MAX bytes.  Returns the errno that stopped it (0 if none
 * did) and the bytes written.  O_DIRECT where the file allows it (a block
 * device), so a full thin pool answers the write itself.
 */
static int fill(const char *path, bool create, uint64_t max, uint64_t *ret_written)
{
	_cleanup_free_ void *b = block(0xa5);
	int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : O_DIRECT);
	int fd = open(path, flags, 0600);
	uint64_t done = 0;
	time_t t0 = time(NULL);
	int e = 0;

	assert_true(fd >= 0);
	while (done < max) {
		ssize_t n = write(fd, b, BLK);
		if (n < 0) {
			e = errno;
			break;
		}
		done += (uint64_t)n;
		/* now and then, so a full file system says so before max */
		if (create && done % (64 * MiB) == 0 && fsync(fd) < 0) {
			e = errno;
			break;
		}
	}
	if (!e && fsync(fd) < 0)
		e = errno;
	close(fd);
	*ret_written = done;
	print_message("# wrote %llu MiB to %s in %llds, then: %s\n",
	              (unsigned long long)(done / MiB), path, (long long)(time(NULL) - t0),
	              e ? strerror(e) : "no error");
	return e;
}

static size_t count(struct pool *p)
{
	struct storage_volume *v = NULL;
	size_t n = 0;
	struct error *err = NULL;

	assert_int_equal(storage_list(p->st, 0, NULL, &v, &n, &err), 0);
	storage_volume_list_free(v, n);
	return n;
}

/* Asserts the allocation is refused for want of room, with a message that
 * holds each of WANT (NULL-terminated), and that nothing was created. */
static void refused(struct pool *p, const char *fmt, uint64_t size, ...)
{
	struct error *err = NULL;
	char *vol = NULL;
	int before = lab_fixture_count_volumes(p->f);
	size_t listed = count(p);
	int r = storage_alloc(p->st, 100, fmt, NULL, size, NULL, &vol, &err);
	va_list ap;

	print_message("# alloc %s %llu MiB: %d %s\n", fmt, (unsigned long long)(size / MiB), r,
	              err ? err->msg : "(no error)");
	assert_int_equal(r, -ENOSPC);
	assert_null(vol);
	assert_non_null(err);
	va_start(ap, size);
	for (const char *w; (w = va_arg(ap, const char *));)
		if (!strstr(err->msg, w))
			fail_msg("'%s' does not say '%s'", err->msg, w);
	va_end(ap);
	error_free(err);
	assert_int_equal(lab_fixture_count_volumes(p->f), before);
	assert_int_equal(count(p), listed);
}

static void full_lvmthin(void **state)
{
	struct pool p = {0};
	struct storage_status s;
	struct error *err = NULL;
	uint64_t written = 0;

	pool_open(&p, "lvmthin", lab_disks[0]);
	/* a volume with data, then one larger than the pool (overcommit) */
	_cleanup_free_ char *keep = alloc_ok(&p, "raw", 16 * MiB);
	_cleanup_free_ char *keep_path = vol_path(&p, keep);
	write_head(keep_path, 0x5c);
	_cleanup_free_ char *big = alloc_ok(&p, "raw", 1 * GiB);
	_cleanup_free_ char *big_path = vol_path(&p, big);

	/* errorwhenfull: the write fails at once (ENOSPC from dm-thin, EIO
	 * on some kernels), not queued for 60 s */
	int e = fill(big_path, false, 1 * GiB, &written);
	assert_true(e == ENOSPC || e == EIO);
	assert_true(written < 1 * GiB);

	assert_int_equal(storage_status(p.st, &s, &err), 0);
	print_message("# status: data %.1f%% metadata %.1f%% health '%s' message '%s'\n",
	              s.data_pct, s.meta_pct, s.health, s.message);
	assert_true(s.data_pct >= 99.9);
	assert_string_equal(s.health, "out of data");
	assert_true(s.warn_level >= 95);

	refused(&p, "raw", 16 * MiB, "thin pool '" LAB_VG "/" LAB_THIN "' is full", "data 100.0%",
	        "metadata ", NULL);
	/* a snapshot is a new thin LV too */
	{
		int before = lab_fixture_count_volumes(p.f);
		int r = storage_snapshot_create(p.st, keep, "s1", NULL, &err);
		print_message("# snapshot: %d %s\n", r, err ? err->msg : "(no error)");
		assert_int_equal(r, -ENOSPC);
		assert_non_null(strstr(err->msg, "is full"));
		err = error_free(err);
		assert_int_equal(lab_fixture_count_volumes(p.f), before);
	}

	/* what was written before is still there */
	assert_true(head_is(keep_path, 0x5c));
	assert_true(head_is(big_path, 0xa5));

	/* freeing makes room again */
	assert_int_equal(storage_free_volume(p.st, big, NULL, &err), 0);
	assert_int_equal(storage_status(p.st, &s, &err), 0);
	assert_true(s.data_pct < 50);
	_cleanup_free_ char *again = alloc_ok(&p, "raw", 16 * MiB);
	assert_int_equal(storage_free_volume(p.st, again, NULL, &err), 0);
	assert_int_equal(storage_free_volume(p.st, keep, NULL, &err), 0);
	assert_int_equal(lab_fixture_count_volumes(p.f), 0);
	pool_close(&p);
}

static void full_zfs(void **state)
{
	struct pool p = {0};
	struct storage_status s;
	struct error *err = NULL;
	uint64_t written = 0;

	pool_open(&p, "zfspool", lab_disks[1]);
	assert_int_equal(storage_status(p.st, &s, &err), 0);
	print_message("# empty pool: total %llu MiB\n", (unsigned long long)(s.total / MiB));
	/* a thick zvol larger than the pool: ZFS refuses it, said with the
	 * pool's figures, and nothing is left */
	refused(&p, "raw", 8 * GiB, "ZFS pool '" LAB_POOL "' has no room for a 8.00 GiB volume",
	        " available)", NULL);
	/* a zvol with data; a thick zvol reserving most of the pool, so the
	 * writer below has less to write under TCG; a dataset it fills */
	_cleanup_free_ char *keep = alloc_ok(&p, "raw", 16 * MiB);
	_cleanup_free_ char *keep_path = vol_path(&p, keep);
	write_head(keep_path, 0x5c);
	_cleanup_free_ char *thick = alloc_ok(&p, "raw", (s.total / MiB - 320) * MiB);
	_cleanup_free_ char *sub = alloc_ok(&p, "subvol", 0);
	_cleanup_free_ char *sub_path = vol_path(&p, sub);
	_cleanup_free_ char *file = path_join(sub_path, "fill");

	assert_int_equal(fill(file, true, 1 * GiB, &written), ENOSPC);
	assert_true(written < 1 * GiB);

	assert_int_equal(storage_status(p.st, &s, &err), 0);
	print_message("# status: data %.1f%% used %llu avail %llu health '%s' message '%s'\n",
	              s.data_pct, (unsigned long long)s.used, (unsigned long long)s.avail, s.health,
	              s.message);
	assert_true(s.data_pct >= 99);
	assert_true(s.warn_level >= 95);

	/* zvols (thick and sparse alike) and datasets */
	refused(&p, "raw", 16 * MiB, "ZFS pool '" LAB_POOL "' is full", "% used", NULL);
	refused(&p, "subvol", 0, "ZFS pool '" LAB_POOL "' is full", NULL);
	{
		int before = lab_fixture_count_volumes(p.f);
		int r = storage_snapshot_create(p.st, keep, "s1", NULL, &err);
		/* a snapshot takes no space up front: ZFS may still take it;
		 * when it does not, the message is the pool's, not ZFS's */
		print_message("# snapshot: %d %s\n", r, err ? err->msg : "(no error)");
		if (r < 0) {
			assert_int_equal(r, -ENOSPC);
			assert_non_null(strstr(err->msg, "ZFS pool '" LAB_POOL "' has no room for "
			                                 "snapshot 's1'"));
			assert_non_null(strstr(err->msg, " available)"));
		}
		err = error_free(err);
		assert_int_equal(lab_fixture_count_volumes(p.f), before);
	}

	/* what was written before is still there, the file too */
	assert_true(head_is(keep_path, 0x5c));
	assert_true(head_is(file, 0xa5));

	/* freeing makes room again */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(storage_free_volume(p.st, thick, NULL, &err), 0);
	_cleanup_free_ char *again = alloc_ok(&p, "raw", 16 * MiB);
	assert_int_equal(storage_free_volume(p.st, again, NULL, &err), 0);
	assert_int_equal(storage_free_volume(p.st, sub, NULL, &err), 0);
	assert_int_equal(storage_free_volume(p.st, keep, NULL, &err), 0);
	assert_int_equal(lab_fixture_count_volumes(p.f), 0);
	pool_close(&p);
}

int main(void)
{
	lab_disks = lab_disks_from_env();
	if (!lab_disks)
		return 77;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_lvmthin),
	    cmocka_unit_test(full_zfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
