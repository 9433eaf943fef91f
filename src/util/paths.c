/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <sys/stat.h>

#include "fileio.h"
#include "paths.h"
#include "xalloc.h"

struct ctvm_paths *ctvm_paths_new(const char *root)
{
	struct ctvm_paths *p = xnew(struct ctvm_paths, 1);
	if (root) {
		p->root = xstrdup(root);
		p->etc = path_join(root, "etc");
		p->state = path_join(root, "lib");
		p->log = path_join(root, "log");
		p->run = path_join(root, "run");
	} else {
		p->etc = xstrdup("/etc/ctvm");
		p->state = xstrdup("/var/lib/ctvm");
		p->log = xstrdup("/var/log/ctvm");
		p->run = xstrdup("/run/ctvm");
	}
	p->priv = path_join(p->etc, "priv");
	p->tasks = path_join(p->log, "tasks");
	p->socket = path_join(p->run, "api.sock");
	return p;
}

struct ctvm_paths *ctvm_paths_free(struct ctvm_paths *p)
{
	if (!p)
		return NULL;
	free(p->root);
	free(p->etc);
	free(p->priv);
	free(p->state);
	free(p->log);
	free(p->tasks);
	free(p->run);
	free(p->socket);
	free(p);
	return NULL;
}

int ctvm_paths_create(const struct ctvm_paths *p)
{
	const struct {
		const char *path;
		mode_t mode;
	} dirs[] = {
	    {p->etc, 0755}, {p->priv, 0700},  {p->state, 0755},
	    {p->log, 0750}, {p->tasks, 0750}, {p->run, 0755},
	};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = mkdir_p(dirs[i].path, dirs[i].mode);
		if (r < 0)
			return r;
		if (chmod(dirs[i].path, dirs[i].mode) < 0)
			return -errno;
	}
	return 0;
}
