/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The dir backend through the storage_*() entry points under the command
 * runner's dry run (tests/lib/cmd-dryrun.h): the exact qemu-img command
 * lines of a volume's life, in order, and how the backend reads qemu-img's
 * answers and failures, without qemu-img or root.  The contract suite
 * (test-storage-contract.c) runs the same operations with the real
 * qemu-img and checks what a guest sees; this pins what is run.
 *
 * Nothing runs, so no image is written: where qemu-img would create a file
 * the test creates an empty one, and `qemu-img info` answers for it.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cmd-dryrun.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

#define GiB (1ull << 30)

struct env {
	char *root;
	char *path;         /* the storage's directory: "STORE" in expected lines */
	struct storage *st; /* holds its config snapshot */
};

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/ctvm-dir-dryrun-XXXXXX";
	struct env *env = xnew(struct env, 1);
	struct section *s = NULL;
	struct error *err = NULL;

	assert_non_null(mkdtemp(tmpl));
	env->root = xstrdup(tmpl);
	env->path = path_join(env->root, "store");
	struct section_config *cfg = section_config_new();
	assert_int_equal(section_config_add(cfg, "dir", "dry", &s, &err), 0);
	section_set(s, "path", env->path);
	section_set(s, "content", "images,rootdir");
	storage_set_lock_dir(env->root);
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap =
	    storage_config_snapshot_new(cfg);
	assert_int_equal(storage_open(snap, "dry", &env->st, &err), 0);
	assert_int_equal(storage_activate(env->st, &err), 0);
	assert_null(err);

	cmd_dryrun_begin();
	cmd_dryrun_alias(env->path, "STORE");
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct env *env = *state;
	int problems = cmd_dryrun_end();

	storage_free(env->st);
	storage_set_lock_dir(NULL);
	(void)nftw(env->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(env->root);
	free(env->path);
	free(env);
	/* a command nobody answered, or an expected one that never ran */
	return problems == 0 ? 0 : -1;
}

/* What qemu-img create would have left: an (empty) image file. */
/* The file a dry "qemu-img create" did not make: a qcow2 v3 header (1 GiB,
 * 64 KiB clusters) that names nothing outside itself, so the confinement
 * check before each qemu-img call passes; its encryption method (AES) is one
 * the header reader leaves to qemu-img, so "info" still asks qemu-img. */
static void image_appears(const struct env *env, const char *volname)
{
	_cleanup_free_ char *p = xasprintf("%s/images/%s", env->path, volname);
	uint8_t h[104] = {0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3};
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	h[23] = 16;         /* cluster_bits */
	h[27] = 0x40;       /* size: 1 GiB, big-endian at 24 */
	h[35] = 1;          /* crypt_method: AES */
	h[103] = sizeof(h); /* header_length */
	assert_true(fd >= 0);
	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
}

#define OK(call)                                                                           \
	do {                                                                               \
		struct error *err_ = NULL;                                                 \
		int r_ = (call);                                                           \
		if (r_ < 0)                                                                \
			print_error("%s: %s\n", #call, err_ ? err_->msg : "(no message)"); \
		assert_int_equal(r_, 0);                                                   \
		assert_null(err_);                                                         \
	} while (0)
#define E (&err_)

/* `qemu-img info --output=json` of a qcow2 image, as qemu 7.2 prints it
 * (trimmed to what the backend reads). */
#define INFO(vsize, snapshots)                                                           \
	"{\n    \"snapshots\": [" snapshots "],\n    \"virtual-size\": " #vsize ",\n"    \
	"    \"filename\": \"vm-100-disk-0.qcow2\",\n    \"cluster-size\": 65536,\n"     \
	"    \"format\": \"qcow2\",\n    \"actual-size\": 200704,\n    \"dirty-flag\": " \
	"false\n}\n"
#define SNAP_BEFORE                                                                    \
	"\n        {\n            \"icount\": 0,\n            \"vm-clock-nsec\": 0,\n" \
	"            \"name\": \"before\",\n            \"date-sec\": 1700000000,\n"   \
	"            \"date-nsec\": 0,\n            \"vm-clock-sec\": 0,\n"            \
	"            \"id\": \"1\",\n            \"vm-state-size\": 0\n        }\n    "

static void test_volume_life(void **state)
{
	struct env *env = *state;
	_cleanup_free_ char *vol = NULL, *clone = NULL;
	struct storage_volume v = {0};
	struct storage_snapshot *snaps = NULL;
	size_t n = 0;

	/* alloc: a qcow2 image of 1 GiB, preallocation metadata by default */
	cmd_dryrun_expect("qemu-img create", 0, NULL, NULL);
	OK(storage_alloc(env->st, 100, "qcow2", NULL, GiB, NULL, &vol, E));
	assert_string_equal(vol, "100/vm-100-disk-0.qcow2");
	cmd_dryrun_assert("qemu-img create -o preallocation=metadata -f qcow2 "
	                  "STORE/images/100/vm-100-disk-0.qcow2 1048576K\n");
	image_appears(env, vol);

	/* info: an image the header reader leaves to qemu-img */
	cmd_dryrun_on("qemu-img info --output=json -f qcow2", 0, INFO(1073741824, ""), NULL);
	OK(storage_info(env->st, vol, &v, E));
	assert_int_equal(v.size, GiB);
	assert_int_equal(v.used, 200704);
	assert_string_equal(v.format, "qcow2");
	assert_null(v.parent);
	storage_volume_clear(&v);
	cmd_dryrun_assert("qemu-img info --output=json -f qcow2 "
	                  "STORE/images/100/vm-100-disk-0.qcow2\n");

	/* resize, snapshot, list, rollback: one command each, in this order */
	cmd_dryrun_expect("qemu-img resize", 0, NULL, NULL);
	cmd_dryrun_expect("qemu-img snapshot -c before", 0, NULL, NULL);
	cmd_dryrun_expect("qemu-img info", 0, INFO(2147483648, SNAP_BEFORE), NULL);
	cmd_dryrun_expect("qemu-img snapshot -a before", 0, NULL, NULL);
	OK(storage_resize(env->st, vol, 2 * GiB, NULL, E));
	OK(storage_snapshot_create(env->st, vol, "before", NULL, E));
	OK(storage_snapshot_list(env->st, vol, &snaps, &n, E));
	assert_int_equal(n, 1);
	assert_string_equal(snaps[0].name, "before");
	assert_int_equal(snaps[0].ctime, 1700000000);
	storage_snapshot_list_free(snaps, n);
	OK(storage_snapshot_rollback(env->st, vol, "before", NULL, E));
	cmd_dryrun_assert(
	    "qemu-img resize -f qcow2 STORE/images/100/vm-100-disk-0.qcow2 2147483648\n"
	    "qemu-img snapshot -c before STORE/images/100/vm-100-disk-0.qcow2\n"
	    "qemu-img info --output=json -f qcow2 STORE/images/100/vm-100-disk-0.qcow2\n"
	    /* the rollback first checks that the volume is not protected */
	    "qemu-img info --output=json -f qcow2 STORE/images/100/vm-100-disk-0.qcow2\n"
	    "qemu-img snapshot -a before STORE/images/100/vm-100-disk-0.qcow2\n");

	/* qemu-img's complaint reaches the caller as its last stderr line */
	struct error *err = NULL;
	cmd_dryrun_expect("qemu-img snapshot -d", 1, NULL,
	                  "qemu-img: Could not delete snapshot 'gone': snapshot not found\n");
	assert_int_equal(storage_snapshot_delete(env->st, vol, "gone", NULL, &err), -EIO);
	_cleanup_free_ char *want = xasprintf(
	    "command 'qemu-img snapshot -d gone %s/images/100/vm-100-disk-0.qcow2' failed: exit "
	    "code 1: qemu-img: Could not delete snapshot 'gone': snapshot not found",
	    env->path);
	assert_string_equal(err->msg, want);
	err = error_free(err);
	cmd_dryrun_assert("qemu-img snapshot -d gone STORE/images/100/vm-100-disk-0.qcow2\n");

	/* a linked clone of a base: a qcow2 overlay with a relative backing file */
	image_appears(env, "100/base-100-disk-1.qcow2");
	cmd_dryrun_expect("qemu-img create -F qcow2 -b ../100/base-100-disk-1.qcow2", 0, NULL,
	                  NULL);
	OK(storage_clone(env->st, "100/base-100-disk-1.qcow2", 101, NULL, NULL, &clone, E));
	assert_string_equal(clone, "100/base-100-disk-1.qcow2/101/vm-101-disk-0.qcow2");
	cmd_dryrun_assert("qemu-img create -F qcow2 -b ../100/base-100-disk-1.qcow2 -f qcow2 "
	                  "STORE/images/101/vm-101-disk-0.qcow2 -o "
	                  "extended_l2=on,cluster_size=128k\n");

	/* freeing reads the volume (protected? a base in use?), then unlinks */
	OK(storage_free_volume(env->st, vol, NULL, E));
	cmd_dryrun_assert("qemu-img info --output=json -f qcow2 "
	                  "STORE/images/100/vm-100-disk-0.qcow2\n");
}

static void test_alloc_fails(void **state)
{
	struct env *env = *state;
	_cleanup_free_ char *vol = NULL;
	struct error *err = NULL;
	struct stat sb;

	cmd_dryrun_expect("qemu-img create", 1, NULL,
	                  "Formatting 'x', fmt=raw size=4194304\n"
	                  "qemu-img: x: Could not preallocate data for the new file: No space "
	                  "left on device\n");
	assert_int_equal(storage_alloc(env->st, 100, "raw", NULL, 4ull << 20, NULL, &vol, &err),
	                 -EIO);
	assert_null(vol);
	_cleanup_free_ char *want = xasprintf(
	    "command 'qemu-img create -f raw %s/images/100/vm-100-disk-0.raw 4096K' failed: exit "
	    "code 1: qemu-img: x: Could not preallocate data for the new file: No space left on "
	    "device",
	    env->path);
	assert_string_equal(err->msg, want);
	err = error_free(err);
	cmd_dryrun_assert("qemu-img create -f raw STORE/images/100/vm-100-disk-0.raw 4096K\n");
	_cleanup_free_ char *p = xasprintf("%s/images/100/vm-100-disk-0.raw", env->path);
	assert_int_equal(stat(p, &sb), -1);

	/* qemu-img is not installed */
	cmd_dryrun_expect("qemu-img create", -ENOENT, NULL, NULL);
	assert_int_equal(storage_alloc(env->st, 100, "raw", NULL, 4ull << 20, NULL, &vol, &err),
	                 -ENOENT);
	assert_non_null(strstr(err->msg, "unable to run - No such file or directory"));
	err = error_free(err);
	cmd_dryrun_assert("qemu-img create -f raw STORE/images/100/vm-100-disk-0.raw 4096K\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_volume_life, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_fails, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
