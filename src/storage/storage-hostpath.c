/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-hostpath: where a storage path leads, and the system directories it
 * may not lead into (storage-hostpath.h).
 */
#include "common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-hostpath.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

/* Directories of the host itself: no storage below them.  "/lib*" and "/"
 * (itself only) are matched in system_dir_of(). */
static const char *const system_dirs[] = {"/etc", "/usr",  "/bin", "/sbin", "/boot",
                                          "/dev", "/proc", "/sys", "/run"};

static char *child_of(const char *dir, const char *name, size_t len)
{
	return xasprintf("%s%s%.*s", dir, streq(dir, "/") ? "" : "/", (int)len, name);
}

int storage_host_path_resolve(const char *path, char **ret, struct error **err)
{
	if (!path || path[0] != '/')
		return error_set(err, -EINVAL, 400, "path '%s' is not absolute", path ? path : "");
	_cleanup_free_ char *cur = xstrdup("/");
	for (const char *p = path; *p;) {
		const char *c = p;
		size_t l = strcspn(p, "/");
		p += l + (p[l] == '/');
		if (l == 0 || (l == 1 && c[0] == '.'))
			continue;
		if (l == 2 && c[0] == '.' && c[1] == '.') {
			/* cur is a real path here (or made of components
			 * that do not exist), so its parent is lexical */
			char *slash = strrchr(cur, '/');
			slash[slash == cur] = '\0';
			continue;
		}
		char *next = child_of(cur, c, l);
		struct stat st;
		if (lstat(next, &st) < 0) {
			int e = errno;
			if (e != ENOENT) {
				int r =
				    error_set(err, -e, 400, "cannot follow path '%s' at '%s': %s",
				              path, next, strerror(e));
				free(next);
				return r;
			}
		} else if (S_ISLNK(st.st_mode)) {
			char *real = realpath(next, NULL);
			if (!real) {
				int e = errno;
				int r =
				    error_set(err, -e, 400,
				              "symbolic link '%s' in path '%s' cannot be resolved: "
				              "%s",
				              next, path, strerror(e));
				free(next);
				return r;
			}
			free(next);
			next = real;
		}
		free(cur);
		cur = next;
	}
	*ret = TAKE_PTR(cur);
	return 0;
}

/* path is dir or lies below it (both resolved, no trailing '/'). */
static bool is_below(const char *path, const char *dir)
{
	size_t l = strlen(dir);
	return strncmp(path, dir, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

/* One of the daemon's directories, resolved like the paths compared with it
 * (it exists while the daemon runs; else it is taken as written). */
static char *daemon_dir(const char *dir)
{
	char *real = NULL;
	if (storage_host_path_resolve(dir, &real, NULL) < 0)
		return xstrdup(dir);
	return real;
}

/* The system directory that real (resolved) lies in, malloc'd; NULL if none. */
static char *system_dir_of(const char *real, const struct ctvm_paths *paths)
{
	if (streq(real, "/"))
		return xstrdup("/");
	for (size_t i = 0; i < ARRAY_SIZE(system_dirs); i++)
		if (is_below(real, system_dirs[i]))
			return xstrdup(system_dirs[i]);
	if (str_startswith(real, "/lib"))
		return xstrndup(real, strcspn(real + 1, "/") + 1);
	if (!paths)
		return NULL;
	const char *const own[] = {paths->etc, paths->state, paths->log, paths->run};
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		if (!own[i])
			continue;
		_cleanup_free_ char *d = daemon_dir(own[i]);
		if (!is_below(real, d))
			continue;
		if (own[i] == paths->state) {
			/* the implicit local storage's own directory */
			_cleanup_free_ char *vz = child_of(d, "vz", 2);
			if (is_below(real, vz))
				continue;
		}
		return TAKE_PTR(d);
	}
	return NULL;
}

int storage_host_path_check(const char *param, const char *path, const struct ctvm_paths *paths,
                            struct error **err)
{
	_cleanup_free_ char *real = NULL;
	struct error *e = NULL;
	if (storage_host_path_resolve(path, &real, &e) < 0) {
		int r = error_param(err, param, "%s", e ? e->msg : "invalid path");
		error_free(e);
		return r;
	}
	_cleanup_free_ char *sys = system_dir_of(real, paths);
	if (!sys)
		return 0;
	if (streq(real, path))
		return error_param(err, param, "path '%s' is in the system directory '%s'", path,
		                   sys);
	return error_param(err, param, "path '%s' leads to '%s', in the system directory '%s'",
	                   path, real, sys);
}

int storage_section_check_host_paths(const struct section *s, const struct ctvm_paths *paths,
                                     struct error **err)
{
	const char *path = section_get(s, "path");
	const char *mp = section_get(s, "is_mountpoint");
	const char *zmp = section_get(s, "mountpoint");
	int r = 0;
	if (path)
		r = storage_host_path_check("path", path, paths, err);
	if (r >= 0 && mp && mp[0] == '/')
		r = storage_host_path_check("is_mountpoint", mp, paths, err);
	if (r >= 0 && zmp)
		r = storage_host_path_check("mountpoint", zmp, paths, err);
	if (!path || !(storage_type_caps(s->type) & STORAGE_CAP_PATH))
		return r;
	for (int t = 0; t < _VTYPE_MAX && r >= 0; t++) {
		const char *vt = vtype_to_string((enum vtype)t);
		_cleanup_free_ char *d = storage_content_dir(s, vt, err);
		if (!d)
			return -EINVAL;
		_cleanup_free_ char *dflt = path_join(path, vtype_subdir((enum vtype)t));
		r = storage_host_path_check(streq(d, dflt) ? "path" : "content-dirs", d, paths,
		                            err);
	}
	return r;
}
