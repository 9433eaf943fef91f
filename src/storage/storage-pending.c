/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The journal of volumes being filled.  A copy allocates its target and
 * then fills it for minutes; if the worker is killed or the host crashes
 * meanwhile, the target would stay behind looking like any other volume.
 * So the filler records "storeid\nvolname\n" in a file of the pending
 * directory and holds an flock on it until the volume is complete (or
 * freed after a failure).  The kernel drops the lock when the process dies
 * however it dies, so a journal file whose lock can be taken names a
 * half-written volume: storage_pending_recover() frees it.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-priv.h"
#include "xalloc.h"

#define PENDING_PREFIX    "copy-"
#define PENDING_MAX_BYTES 8192
/* an unlocked entry without content may be one just being created */
#define PENDING_GRACE_SECONDS 60

static char *pending_dir;

void storage_set_pending_dir(const char *dir)
{
	free(pending_dir);
	pending_dir = dir ? xstrdup(dir) : NULL;
}

int storage_pending_begin(const char *storeid, const char *volname, char **ret_path)
{
	if (!pending_dir)
		return -ENOENT;
	int r = mkdir_p(pending_dir, 0700);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/" PENDING_PREFIX "XXXXXX", pending_dir);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_free_ char *text = xasprintf("%s\n%s\n", storeid, volname);
	if (flock(fd, LOCK_EX) < 0 || write_full(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		r = -errno;
		unlink(path);
		close(fd);
		return r ? r : -EIO;
	}
	*ret_path = TAKE_PTR(path);
	return fd;
}

void storage_pending_end(char *path, int fd, bool done)
{
	if (path && done)
		unlink(path);
	if (fd >= 0)
		close(fd);
	free(path);
}

/* "storeid\nvolname\n" -> its two parts; false for anything else. */
static bool parse_entry(char *text, char **ret_storeid, char **ret_volname)
{
	char *nl1 = strchr(text, '\n');
	if (!nl1)
		return false;
	char *nl2 = strchr(nl1 + 1, '\n');
	if (!nl2 || nl2[1] != '\0' || nl1 == text || nl2 == nl1 + 1)
		return false;
	*nl1 = *nl2 = '\0';
	*ret_storeid = text;
	*ret_volname = nl1 + 1;
	return true;
}

/* One entry; true when it was handled (and removed). */
static bool recover_one(const struct storage_config_snapshot *snap, int dfd, const char *name,
                        storage_pending_report_fn *report, void *userdata)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat s;
	char buf[PENDING_MAX_BYTES + 1];
	ssize_t n;

	if (fd < 0 || fstat(fd, &s) < 0 || !S_ISREG(s.st_mode))
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false; /* its copy is still running */
	n = pread(fd, buf, PENDING_MAX_BYTES, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';

	char *storeid, *volname;
	if (!parse_entry(buf, &storeid, &volname)) {
		if (s.st_mtime + PENDING_GRACE_SECONDS > time(NULL))
			return false;
		unlinkat(dfd, name, 0); /* its writer died before it wrote */
		return false;
	}

	struct error *e = NULL;
	struct storage *st = NULL;
	const struct section *sec =
	    section_config_find(storage_config_snapshot_config(snap), storeid);
	int r;
	if (!sec) { /* perhaps only for now: keep the record */
		r = error_set(&e, -ESRCH, 500, "storage '%s' does not exist", storeid);
	} else {
		r = storage_open(snap, storeid, &st, &e);
		if (r >= 0)
			r = storage_free_volume(st, volname, NULL, &e);
		if (r < 0 && e && e->http_status == 404)
			r = 0; /* never allocated, or gone already */
	}
	storage_free(st);
	if (report)
		report(storeid, volname, r, r < 0 ? e : NULL, userdata);
	error_free(e);
	/* a storage that is gone or refuses keeps its entry for the next try */
	if (r >= 0)
		unlinkat(dfd, name, 0);
	return r >= 0;
}

int storage_pending_recover(const struct storage_config_snapshot *snap,
                            storage_pending_report_fn *report, void *userdata)
{
	if (!pending_dir)
		return 0;
	DIR *d = opendir(pending_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	int handled = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (str_startswith(de->d_name, PENDING_PREFIX) &&
		    recover_one(snap, dirfd(d), de->d_name, report, userdata))
			handled++;
	closedir(d);
	return handled;
}
