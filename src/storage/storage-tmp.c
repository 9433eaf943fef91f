/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Temporary files that a killed daemon or worker leaves in a file storage.
 * Their writers hold an flock on them while they live (see storage.h), so
 * what ctvmd finds unlocked at start, older than the start, is left over
 * and removed; a live upload or task of another process (a worker that
 * survived the restart, the daemon of another node on a shared storage)
 * is left alone.
 */
#define LOG_CATEGORY "storage"
#include "common.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>

#include "fileio.h"
#include "log.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

/* The prefixes of the upload and download temporaries: ".<what>-XXXXXX.tmp"
 * (mkostemps) of the HTTP layer (upload) and storage-import.c. */
static const char *const upload_prefixes[] = {".upload-", ".imgcopy-", ".download-"};
#define MKSTEMP_RANDOM_LEN 6

/* The file content types whose directories may hold temporaries. */
static const enum vtype swept_vtypes[] = {VTYPE_ISO, VTYPE_VZTMPL, VTYPE_BACKUP, VTYPE_SNIPPETS,
                                          VTYPE_IMPORT};

static bool upload_tmp_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(upload_prefixes); i++) {
		if (!str_startswith(name, upload_prefixes[i]))
			continue;
		const char *x = name + strlen(upload_prefixes[i]);
		if (strlen(x) != MKSTEMP_RANDOM_LEN + strlen(".tmp") ||
		    !streq(x + MKSTEMP_RANDOM_LEN, ".tmp"))
			return false;
		for (size_t j = 0; j < MKSTEMP_RANDOM_LEN; j++)
			if (!isalnum((unsigned char)x[j]))
				return false;
		return true;
	}
	return false;
}

bool storage_tmp_name(const char *name, pid_t *ret_pid)
{
	*ret_pid = 0;
	if (upload_tmp_name(name))
		return true;
	/* write_file_atomic writes only a backup's sidecars into a storage; a
	 * user's own "x.tmp.1" in a snippets directory is not ours */
	if (!atomic_tmp_name(name, ret_pid))
		return false;
	size_t base = 0;
	for (const char *q = strstr(name, ".tmp."); q; q = strstr(q + 1, ".tmp."))
		base = (size_t)(q - name);
	static const char *const sidecars[] = {".notes", ".protected"};
	for (size_t i = 0; i < ARRAY_SIZE(sidecars); i++) {
		size_t l = strlen(sidecars[i]);
		if (base > l && strncmp(name + base - l, sidecars[i], l) == 0)
			return true;
	}
	return false;
}

/* The directories of one storage that may hold temporaries: its path (the
 * uploads) and its file content directories, each once. */
static void add_dir(char ***dirs, size_t *n, size_t *alloc, char *dir)
{
	for (size_t i = 0; i < *n; i++)
		if (streq((*dirs)[i], dir)) {
			free(dir);
			return;
		}
	if (*n == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 16;
		*dirs = xrealloc(*dirs, *alloc * sizeof(**dirs));
	}
	(*dirs)[(*n)++] = dir;
}

static void storage_tmp_dirs(const struct section *s, char ***dirs, size_t *n, size_t *alloc)
{
	const char *path = section_get(s, "path");
	if (!path || path[0] != '/' || !(storage_type_caps(s->type) & STORAGE_CAP_PATH))
		return;
	add_dir(dirs, n, alloc, xstrdup(path));
	for (size_t i = 0; i < ARRAY_SIZE(swept_vtypes); i++) {
		char *dir = storage_content_dir(s, vtype_to_string(swept_vtypes[i]), NULL);
		if (dir)
			add_dir(dirs, n, alloc, dir);
	}
}

int storage_remove_stale_tmp(const struct section *s, const struct timespec *before,
                             tmp_removed_fn *report, void *userdata)
{
	char **dirs = NULL;
	size_t n = 0, alloc = 0;
	int removed = 0;
	storage_tmp_dirs(s, &dirs, &n, &alloc);
	for (size_t i = 0; i < n; i++) {
		int r = remove_stale_tmp(dirs[i], 1, before, storage_tmp_name, report, userdata);
		if (r > 0)
			removed += r;
		free(dirs[i]);
	}
	free(dirs);
	return removed;
}

struct sweep {
	char **dirs;
	size_t n;
	struct timespec before;
	tmp_removed_fn *report;
	void *userdata;
};

static void *sweep_run(void *arg)
{
	struct sweep *sw = arg;
	int removed = 0;
	for (size_t i = 0; i < sw->n; i++) {
		int r = remove_stale_tmp(sw->dirs[i], 1, &sw->before, storage_tmp_name, sw->report,
		                         sw->userdata);
		if (r > 0)
			removed += r;
		free(sw->dirs[i]);
	}
	log_debug("stale temporary files in storages swept: %d removed", removed);
	free(sw->dirs);
	free(sw);
	return NULL;
}

int storage_sweep_tmp_start(const struct section_config *cfg, const char *node,
                            const struct timespec *before, tmp_removed_fn *report, void *userdata)
{
	struct sweep *sw = xnew(struct sweep, 1);
	size_t alloc = 0;
	*sw = (struct sweep){.before = *before, .report = report, .userdata = userdata};
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (storage_section_enabled_on(cfg->sections[i], node))
			storage_tmp_dirs(cfg->sections[i], &sw->dirs, &sw->n, &alloc);

	/* a hung mount must not stop the daemon's main thread, so a thread of
	 * its own, never waited for; all signals blocked, as for every thread
	 * but the main one */
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = -pthread_create(&t, &attr, sweep_run, sw);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		for (size_t i = 0; i < sw->n; i++)
			free(sw->dirs[i]);
		free(sw->dirs);
		free(sw);
	}
	return r;
}
