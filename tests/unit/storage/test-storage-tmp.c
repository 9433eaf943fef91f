/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Temporary files in a file storage (storage-tmp.c): which names are ours,
 * and a sweep of one storage's path and content directories that removes
 * the stale ones and keeps a locked one and everything else.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

static void test_names(void **state)
{
	static const struct {
		const char *name;
		bool ours;
	} cases[] = {
	    {".upload-Ab12Cd.tmp", true},
	    {".imgcopy-000000.tmp", true},
	    {".download-zzZZzz.tmp", true},
	    {"x.vma.zst.notes.tmp.12.AbCdEf", true},
	    {"x.vma.zst.protected.tmp.12.AbCdEf", true},
	    {"x.vma.zst.notes.tmp.12", true}, /* an older version's */
	    {".upload-Ab12C.tmp", false},
	    {".upload-Ab12Cde.tmp", false},
	    {".upload-Ab-2Cd.tmp", false},
	    {"upload-Ab12Cd.tmp", false},
	    {".other-Ab12Cd.tmp", false},
	    {"hook.tmp.12.AbCdEf", false}, /* a user's file in snippets */
	    {"x.notes.tmp.12.AbCd", false},
	    {"notes.tmp.12.AbCdEf", false},
	    {"x.iso", false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		pid_t pid = -1;
		if (storage_tmp_name(cases[i].name, &pid) != cases[i].ours)
			fail_msg("'%s' should %sbe ours", cases[i].name,
			         cases[i].ours ? "" : "not ");
	}
}

static void plant(const char *root, const char *rel)
{
	_cleanup_free_ char *p = path_join(root, rel);
	_cleanup_free_ char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir_p(dir, 0755), 0);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	time_t old = time(NULL) - 3600;
	struct timespec ts[2] = {{.tv_sec = old}, {.tv_sec = old}};
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static bool exists(const char *root, const char *rel)
{
	_cleanup_free_ char *p = path_join(root, rel);
	return access(p, F_OK) == 0;
}

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void test_sweep(void **state)
{
	char root[] = "/tmp/ctvm-stortmp-XXXXXX";
	assert_non_null(mkdtemp(root));
	_cleanup_free_ char *text = xasprintf("dir: tt\n\tpath %s\n\tcontent iso,backup\n"
	                                      "\tcontent-dirs iso=isos\n",
	                                      root);
	struct section_config *cfg = NULL;
	assert_int_equal(storage_config_parse(text, strlen(text), 0, &cfg, NULL), 0);
	const struct section *s = section_config_find(cfg, "tt");
	assert_non_null(s);

	static const char *const gone[] = {".upload-Ab12Cd.tmp", "isos/.imgcopy-Ab12Cd.tmp",
	                                   "dump/x.vma.zst.notes.tmp.1.AbCdEf",
	                                   "snippets/.download-Ab12Cd.tmp"};
	static const char *const kept[] = {
	    ".upload-LoCk01.tmp", "isos/x.iso", "snippets/hook.tmp.1.AbCdEf",
	    "images/.upload-Ab12Cd.tmp", "isos/sub/.upload-Ab12Cd.tmp"};
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		plant(root, gone[i]);
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		plant(root, kept[i]);
	_cleanup_free_ char *locked = path_join(root, kept[0]);
	int hold = tmpfile_hold(locked);
	assert_true(hold >= 0);

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	assert_int_equal(storage_remove_stale_tmp(s, &now, NULL, NULL), (int)ARRAY_SIZE(gone));
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		if (exists(root, gone[i]))
			fail_msg("'%s' was kept", gone[i]);
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		if (!exists(root, kept[i]))
			fail_msg("'%s' was removed", kept[i]);
	close(hold);
	section_config_free(cfg);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
