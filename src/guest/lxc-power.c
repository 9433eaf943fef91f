/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The lxc kind's runtime slots (lxc-power.h). */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "config-store.h"
#include "error.h"
#include "fileio.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-cmd.h"
#include "lxc-conf.h"
#include "lxc-power.h"
#include "lxc-run.h"
#include "log.h"
#include "lxc-setup.h"
#include "storage-ops.h"
#include "storage.h"
#include "lxc-idmap.h"
#include "strv.h"
#include "task.h"
#include "ttyshell.h"
#include "volid.h"
#include "xalloc.h"

extern const struct guest_kind_ops guest_kind_lxc; /* lxc.c */

/* How long a clean shutdown waits when the call gives no timeout (PVE's
 * vm_shutdown default for containers). */
#define SHUTDOWN_TIMEOUT_S 60

static struct lxc_run_env run_env(struct guest_store *gs, struct task_worker *w)
{
	return (struct lxc_run_env){.run_root = guest_store_run_dir(gs), .w = w};
}

static char *mnt_dir(struct guest_store *gs, long vmid)
{
	return xasprintf("%s/lxc-mnt/%ld", guest_store_run_dir(gs), vmid);
}

/* ---- volumes as directories --------------------------------------------- */

int lxc_volume_mkfs(const char *path, struct task_worker *w, struct error **err)
{
	struct cmd c;
	cmd_init(&c, "mkfs.ext4");
	/* -E root_owner: the container's root owns its / once the unpack
	 * chowns it; -O ^has_journal is not used: a crash keeps the tree */
	cmd_add(&c, "-q");
	cmd_add(&c, "-F");
	cmd_add(&c, "-E");
	cmd_add(&c, "lazy_itable_init=1,lazy_journal_init=1");
	cmd_add(&c, path);
	cmd_set_timeout(&c, 600 * 1000);
	if (w)
		task_log(w, "Creating filesystem with ext4 on '%s'", path);
	int r = cmd_run(&c, NULL, err);
	cmd_release(&c);
	return r;
}

int lxc_volume_grow(const char *path, bool running, struct task_worker *w, struct error **err)
{
	if (running) {
		if (w)
			task_warn(w,
			          "the filesystem of '%s' is not grown while the container runs; "
			          "it keeps its size",
			          path);
		return 0;
	}
	/* resize2fs wants a checked filesystem; e2fsck's exit 1 is "fixed" */
	struct cmd c;
	struct cmd_result res = {0};
	cmd_init(&c, "e2fsck");
	cmd_add(&c, "-f");
	cmd_add(&c, "-p");
	cmd_add(&c, path);
	cmd_set_timeout(&c, 600 * 1000);
	int r = cmd_run(&c, &res, NULL);
	bool ok = r == 0 || (!res.signal && !res.timed_out && res.exit_code == 1);
	cmd_result_clear(&res);
	cmd_release(&c);
	if (!ok)
		return error_set(err, -EIO, 500, "unable to check the filesystem of '%s'", path);
	cmd_init(&c, "resize2fs");
	cmd_add(&c, path);
	cmd_set_timeout(&c, 600 * 1000);
	if (w)
		task_log(w, "growing the filesystem of '%s'", path);
	r = cmd_run(&c, NULL, err);
	cmd_release(&c);
	return r;
}

/* Whether path is the root of a mount (its device differs from its
 * parent's). */
static bool is_mountpoint(const char *path)
{
	struct stat a, b;
	_cleanup_free_ char *parent = xasprintf("%s/..", path);
	return lstat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int lxc_volume_mount(struct guest_store *gs, long vmid, const char *key, const char *volid,
                     char **ret_path, bool *ret_mounted, struct task_worker *w, struct error **err)
{
	struct volid v = {0};
	_cleanup_(storage_freep) struct storage *st = NULL;
	_cleanup_free_ char *path = NULL;
	*ret_mounted = false;
	int r = volid_parse(volid, &v, err);
	if (r == 0)
		r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs),
		                              v.storeid, &st, err);
	if (r == 0)
		r = storage_activate(st, err);
	if (r == 0)
		r = storage_path(st, v.volname, &path, err);
	volid_clear(&v);
	if (r < 0)
		return r;
	struct stat sb;
	if (stat(path, &sb) < 0)
		return error_set(err, -errno, 500, "unable to access volume '%s' - %s", volid,
		                 strerror(errno));
	if (S_ISDIR(sb.st_mode)) {
		*ret_path = TAKE_PTR(path);
		return 0;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
		return error_set(err, -EINVAL, 500, "volume '%s' is no directory, image or device",
		                 volid);
	_cleanup_free_ char *dir = mnt_dir(gs, vmid);
	_cleanup_free_ char *target = xasprintf("%s/%s", dir, key);
	/* 0755 down to the mount point: an unprivileged container's root (a
	 * mapped id) must reach its rootfs through them, as through PVE's
	 * /var/lib/lxc/<vmid>/rootfs */
	_cleanup_free_ char *top = xasprintf("%s/lxc-mnt", guest_store_run_dir(gs));
	if (mkdir_p(target, 0755) < 0 || chmod(top, 0755) < 0 || chmod(dir, 0755) < 0)
		return error_set(err, -errno, 500, "unable to create '%s' - %s", target,
		                 strerror(errno));
	if (!is_mountpoint(target)) {
		struct cmd c;
		cmd_init(&c, "mount");
		cmd_add(&c, "-t");
		cmd_add(&c, "ext4");
		if (S_ISREG(sb.st_mode)) {
			cmd_add(&c, "-o");
			cmd_add(&c, "loop");
		}
		cmd_add(&c, path);
		cmd_add(&c, target);
		r = cmd_run(&c, NULL, err);
		cmd_release(&c);
		if (r < 0) {
			rmdir(target);
			return r;
		}
	}
	(void)w;
	*ret_mounted = true;
	*ret_path = TAKE_PTR(target);
	return 0;
}

int lxc_volume_umount_all(struct guest_store *gs, long vmid, struct task_worker *w,
                          struct error **err)
{
	_cleanup_free_ char *dir = mnt_dir(gs, vmid);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0
		                       : error_set(err, -errno, 500, "unable to open '%s' - %s",
		                                   dir, strerror(errno));
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
		/* a loop mount frees its loop device when unmounted (autoclear) */
		if (is_mountpoint(p) && umount2(p, UMOUNT_NOFOLLOW) < 0 && errno != EINVAL) {
			int e = errno;
			if (w)
				task_warn(w, "unable to unmount '%s' - %s", p, strerror(e));
			if (r == 0)
				r = error_set(err, -e, 500, "unable to unmount '%s' - %s", p,
				              strerror(e));
			continue;
		}
		rmdir(p);
	}
	closedir(d);
	rmdir(dir);
	return r;
}

/* ---- the slots ---------------------------------------------------------- */

struct stopped_arg {
	struct guest_store *gs;
	long vmid;
};

int lxc_power_is_running(struct guest_store *gs, long vmid, bool *ret_running, pid_t *ret_pid,
                         struct error **err)
{
	struct lxc_run_env env = run_env(gs, NULL);
	return lxc_run_is_running(&env, vmid, ret_running, ret_pid, err);
}

int lxc_power_status(struct guest_store *gs, const struct guest *g, json_t **ret,
                     struct error **err)
{
	struct lxc_run_env env = run_env(gs, NULL);
	return lxc_run_status(&env, g->vmid, ret, err);
}

/* The mount points of conf (mpN) as lxc-cmd wants them: host paths,
 * volumes mounted or as they lie, bind mounts and devices as given. */
struct mps {
	char **keys;
	char **paths;
};

static void mps_done(struct mps *m)
{
	strv_free(m->keys);
	strv_free(m->paths);
}

static int mount_points(struct guest_store *gs, const struct guest *g, struct mps *ret,
                        struct task_worker *w, struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)g->conf, key, v) {
		if (strncmp(key, "mp", 2) || !key[2] ||
		    strspn(key + 2, "0123456789") != strlen(key + 2))
			continue;
		struct lxc_mount m = {0};
		int r = lxc_conf_mount_parse(key, json_string_value(v), &m, err);
		if (r < 0)
			return r;
		char *path = NULL;
		if (lxc_mount_classify(m.volume) == LXC_MOUNT_VOLUME) {
			bool mounted;
			r = lxc_volume_mount(gs, g->vmid, key, m.volume, &path, &mounted, w, err);
		} else {
			path = xstrdup(m.volume);
		}
		lxc_mount_done(&m);
		if (r < 0)
			return r;
		strv_push(&ret->keys, xstrdup(key));
		strv_push(&ret->paths, path);
	}
	return 0;
}

static bool host_has(const char *path)
{
	return access(path, F_OK) == 0;
}

int lxc_power_start(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                    struct task_worker *w, struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	const void *parsed = conf_snapshot_data(g->snap);
	const char *rootfs_val = json_string_value(json_object_get(g->conf, "rootfs"));
	if (!rootfs_val)
		return error_set(err, -EINVAL, 500, "CT %ld has no rootfs", g->vmid);
	/* what a container that stopped by itself left mounted */
	int r = lxc_volume_umount_all(gs, g->vmid, w, err);
	if (r < 0)
		return r;

	struct lxc_mount root = {0};
	struct mps mps = {0};
	struct lxc_idmap map = {0};
	_cleanup_free_ char *rootfs = NULL, *ostype = NULL, *text = NULL;
	_cleanup_json_ json_t *raw = NULL;
	bool mounted = false;
	r = lxc_conf_mount_parse("rootfs", rootfs_val, &root, err);
	if (r == 0 && lxc_mount_classify(root.volume) != LXC_MOUNT_VOLUME)
		r = error_set(err, -EINVAL, 500, "CT %ld: the rootfs must be a volume", g->vmid);
	if (r == 0)
		r = lxc_volume_mount(gs, g->vmid, "rootfs", root.volume, &rootfs, &mounted, w, err);
	if (r == 0)
		r = mount_points(gs, g, &mps, w, err);
	if (r == 0)
		r = lxc_idmap_for(parsed, &map, err);
	const char *ot = json_string_value(json_object_get(g->conf, "ostype"));
	if (r == 0) {
		if (ot)
			ostype = xstrdup(ot);
		else
			r = lxc_setup_detect(rootfs, &ostype, err);
	}
	if (r == 0)
		r = lxc_setup_pre_start(rootfs, ostype, g->conf, g->vmid, &map, err);
	if (r == 0) {
		raw = lxc_conf_raw_keys(parsed);
		struct lxc_cmd_opts o = {
		    .vmid = g->vmid,
		    .rootfs_path = rootfs,
		    .mp_paths = (const char *const *)(mps.paths ? mps.paths : (char *[]){NULL}),
		    .mp_keys = (const char *const *)(mps.keys ? mps.keys : (char *[]){NULL}),
		    .idmap = &map,
		    .raw = raw,
		    .cgroup_v2 = !host_has("/sys/fs/cgroup/memory") &&
		                 host_has("/sys/fs/cgroup/cgroup.controllers"),
		    .apparmor = host_has("/sys/kernel/security/apparmor"),
		    .memsw = host_has("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
		};
		r = lxc_cmd_build(g->conf, &o, &text, err);
	}
	if (r == 0)
		r = lxc_run_start(&env, g->vmid, text, timeout_s, err);
	lxc_mount_done(&root);
	mps_done(&mps);
	if (r < 0) {
		struct error *e = NULL;
		lxc_volume_umount_all(gs, g->vmid, w, &e);
		error_free(e);
	}
	return r;
}

/* After the container stopped: its mounts go.  The stop left the rest of
 * the cleanup (liblxc's monitor, cgroups, veths) to a detached process
 * (lxc_run_stop()); a container with images mounted waits for it first, as
 * before: the unmount, and the storage deactivation a destroy may do
 * next, are not raced with a monitor that may still hold the rootfs.  A
 * rootfs that is a directory (subvol) has nothing to unmount and does
 * not wait. */
static int stopped(struct guest_store *gs, long vmid, int r, struct task_worker *w,
                   struct error **err)
{
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = mnt_dir(gs, vmid);
	if (access(dir, F_OK) < 0)
		return 0;
	struct lxc_run_env env = run_env(gs, w);
	r = lxc_run_cleanup(&env, vmid, err);
	if (r < 0)
		return r;
	return lxc_volume_umount_all(gs, vmid, w, err);
}

int lxc_power_stop(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                   struct task_worker *w, struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	(void)timeout_s;
	return stopped(gs, g->vmid, lxc_run_stop(&env, g->vmid, err), w, err);
}

int lxc_power_shutdown(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                       bool force_stop, struct task_worker *w, struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	int r = lxc_run_shutdown(&env, g->vmid, timeout_s ? timeout_s : SHUTDOWN_TIMEOUT_S,
	                         force_stop, err);
	return stopped(gs, g->vmid, r, w, err);
}

int lxc_power_reboot(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                     struct task_worker *w, struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	int r = lxc_run_reboot(&env, g->vmid, timeout_s ? timeout_s : SHUTDOWN_TIMEOUT_S, err);
	return stopped(gs, g->vmid, r, w, err);
}

int lxc_power_suspend(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                      struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	return lxc_run_freeze(&env, g->vmid, true, err);
}

int lxc_power_resume(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                     struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	return lxc_run_freeze(&env, g->vmid, false, err);
}

/* PVE's get_console_command with escape -1 (no escape key: the page has
 * nowhere to go back to), pointed at ctvm's lxcpath. */
int lxc_power_console(struct guest_store *gs, long vmid, int *ret_master, int *ret_slave,
                      pid_t *ret_pid, char **ret_cmode, struct error **err)
{
	struct guest g = {0};
	int r = guest_get(gs, guest_kind_find("lxc"), vmid, &g, err);
	if (r < 0)
		return r;
	const char *v = json_string_value(json_object_get(g.conf, "cmode"));
	_cleanup_free_ char *cmode = xstrdup(v ? v : "tty");
	guest_release(&g);
	struct lxc_run_env env = run_env(gs, NULL);
	bool running = false;
	r = lxc_run_is_running(&env, vmid, &running, NULL, err);
	if (r < 0)
		return r;
	if (!running)
		return error_set(err, -ESRCH, 500, "CT %ld not running", vmid);
	_cleanup_free_ char *lxcpath = path_join(env.run_root, "lxc");
	char name[24];
	snprintf(name, sizeof(name), "%ld", vmid);
	const char *argv[12];
	size_t n = 0;
	if (streq(cmode, "shell")) {
		argv[n++] = "lxc-attach";
		argv[n++] = "--clear-env";
	} else {
		argv[n++] = "lxc-console";
		argv[n++] = "-e";
		argv[n++] = "-1";
		if (streq(cmode, "console")) {
			argv[n++] = "-t";
			argv[n++] = "0";
		}
	}
	argv[n++] = "-n";
	argv[n++] = name;
	argv[n++] = "-P";
	argv[n++] = lxcpath;
	argv[n] = NULL;
	r = ttyshell_spawn(argv, ret_master, ret_slave, ret_pid, err);
	if (r == 0 && ret_cmode)
		*ret_cmode = TAKE_PTR(cmode);
	return r;
}

int lxc_power_interfaces(struct guest_store *gs, long vmid, json_t **ret, struct error **err)
{
	struct lxc_run_env env = run_env(gs, NULL);
	bool running = false;
	pid_t pid = 0;
	int r = lxc_run_is_running(&env, vmid, &running, &pid, err);
	if (r < 0)
		return r;
	if (!running || pid <= 0)
		return error_set(err, -ESRCH, 500, "CT %ld not running", vmid);
	struct cmd c;
	struct cmd_result res = {0};
	cmd_init(&c, "nsenter");
	cmd_addf(&c, "--target=%d", (int)pid);
	cmd_add(&c, "--net");
	cmd_add(&c, "--");
	cmd_add(&c, "ip");
	cmd_add(&c, "-j");
	cmd_add(&c, "addr");
	cmd_add(&c, "show");
	cmd_set_timeout(&c, 10 * 1000);
	r = cmd_run(&c, &res, err);
	cmd_release(&c);
	/* what the container's root named its interfaces is data, nothing more */
	json_t *list = r == 0 ? json_loadb(res.out, res.out_len, 0, NULL) : NULL;
	cmd_result_clear(&res);
	if (r < 0)
		return r;
	if (!json_is_array(list)) {
		json_decref(list);
		return error_set(err, -EIO, 500, "unable to read the interfaces of CT %ld", vmid);
	}
	json_t *a = json_array();
	size_t i;
	json_t *itf;
	json_array_foreach (list, i, itf) {
		if (i >= LXC_POWER_IFACES_MAX)
			break;
		const char *name = json_string_value(json_object_get(itf, "ifname"));
		if (!name)
			continue;
		json_t *o = json_pack("{s:s}", "name", name);
		const char *mac = json_string_value(json_object_get(itf, "address"));
		if (mac)
			json_object_set_new(o, "hwaddr", json_string(mac));
		size_t j;
		json_t *ai;
		json_array_foreach (json_object_get(itf, "addr_info"), j, ai) {
			const char *fam = json_string_value(json_object_get(ai, "family"));
			const char *local = json_string_value(json_object_get(ai, "local"));
			json_t *plen = json_object_get(ai, "prefixlen");
			if (!fam || !local || !json_is_integer(plen))
				continue;
			const char *key = streq(fam, "inet")    ? "inet"
			                  : streq(fam, "inet6") ? "inet6"
			                                        : NULL;
			if (key && !json_object_get(o, key))
				json_object_set_new(
				    o, key,
				    json_sprintf("%s/%lld", local,
				                 (long long)json_integer_value(plen)));
		}
		json_array_append_new(a, o);
	}
	json_decref(list);
	*ret = a;
	return 0;
}

/*
 * The watch saw vmid stop (lxc_run_watch_start()): its image mounts go
 * now, not at its next start.  Under the config lock, which every start,
 * stop, reboot and destroy holds from before its mounts to after its
 * start or unmount: a task that held it has unmounted itself or started
 * the container again (then it runs and its mounts stay).  On a thread
 * of its own: the lock may wait for a start, the watch must not.
 */
/* The stopped_thread()s still running: lxc_power_watch_stop() waits for
 * them, since they use the guest store. */
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_done = PTHREAD_COND_INITIALIZER;
static unsigned inflight;

static void inflight_end(void)
{
	pthread_mutex_lock(&inflight_lock);
	if (--inflight == 0)
		pthread_cond_broadcast(&inflight_done);
	pthread_mutex_unlock(&inflight_lock);
}

static void *stopped_thread(void *arg)
{
	struct stopped_arg *a = arg;
	_cleanup_error_ struct error *e = NULL;
	int fd = guest_config_lock(a->gs, &guest_kind_lxc, a->vmid, &e);
	if (fd >= 0) {
		bool running = true;
		if (lxc_power_is_running(a->gs, a->vmid, &running, NULL, &e) == 0 && !running)
			lxc_volume_umount_all(a->gs, a->vmid, NULL, &e);
		unlock_file(fd);
	}
	if (e)
		log_warn("CT %ld: %s", a->vmid, e->msg);
	free(a);
	inflight_end();
	return NULL;
}

static void watch_stopped(long vmid, void *userdata)
{
	struct guest_store *gs = userdata;
	_cleanup_free_ char *dir = mnt_dir(gs, vmid);
	if (access(dir, F_OK) < 0)
		return; /* nothing mounted: no lock, no thread */
	struct stopped_arg *a = xnew(struct stopped_arg, 1);
	*a = (struct stopped_arg){.gs = gs, .vmid = vmid};
	pthread_mutex_lock(&inflight_lock);
	inflight++;
	pthread_mutex_unlock(&inflight_lock);
	pthread_t t;
	if (pthread_create(&t, NULL, stopped_thread, a) != 0) {
		free(a);
		inflight_end();
		return;
	}
	pthread_detach(t);
}

int lxc_power_watch_start(struct guest_store *gs)
{
	struct lxc_run_env env = run_env(gs, NULL);
	return lxc_run_watch_start(&env, watch_stopped, gs);
}

void lxc_power_watch_stop(void)
{
	lxc_run_watch_stop(); /* no new stopped_thread() after this */
	pthread_mutex_lock(&inflight_lock);
	while (inflight)
		pthread_cond_wait(&inflight_done, &inflight_lock);
	pthread_mutex_unlock(&inflight_lock);
}

int lxc_power_destroy(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                      struct error **err)
{
	struct lxc_run_env env = run_env(gs, w);
	int r = lxc_run_cleanup(&env, g->vmid, err);
	if (r == 0)
		r = lxc_volume_umount_all(gs, g->vmid, w, err);
	return r;
}
