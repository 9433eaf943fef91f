/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "dryrun-fixture.h"
#include "error.h"
#include "fileio.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "xalloc.h"

static char *lockdir;

static int rm_entry(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

void dryrun_fixture_setup(const char *name)
{
	_cleanup_free_ char *tmpl = xasprintf("/tmp/ctvm-%s-dryrun-XXXXXX", name);

	assert_non_null(mkdtemp(tmpl));
	lockdir = TAKE_PTR(tmpl);
	storage_set_lock_dir(lockdir);
}

void dryrun_fixture_teardown(void)
{
	storage_set_lock_dir(NULL);
	(void)nftw(lockdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(lockdir);
	lockdir = NULL;
}

struct storage *dryrun_open_store(const char *type, const char *id, const char *const *kv)
{
	struct section_config *cfg = section_config_new();
	struct section *s = NULL;
	struct error *err = NULL;
	struct storage *st = NULL;

	assert_int_equal(section_config_add(cfg, type, id, &s, &err), 0);
	for (; kv[0]; kv += 2)
		section_set(s, kv[0], kv[1]);
	_cleanup_storage_snapshot_ const struct storage_config_snapshot *snap =
	    storage_config_snapshot_new(cfg);
	assert_int_equal(storage_open(snap, id, &st, &err), 0);
	return st;
}

char *dryrun_recorded(const char *dir, const char *name)
{
	const char *data = getenv("CTVM_TEST_DATA");
	_cleanup_free_ char *path = NULL;
	struct error *err = NULL;
	char *out = NULL;
	size_t len;

	assert_non_null(data);
	path = xasprintf("%s/storage/%s/%s", data, dir, name);
	assert_int_equal(read_file(path, 1 << 20, &out, &len, &err), 0);
	return out;
}
