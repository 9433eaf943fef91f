/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>

#include "fileio.h"
#include "node-stats.h"
#include "sysinfo.h"
#include "xalloc.h"

struct node_stats {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	unsigned interval_ms;
	char *rootfs;

	/* guarded by lock */
	struct sysinfo_cpu_times last;
	double cpu, iowait;
	struct sysinfo_mem mem;
	struct statvfs fs;
	bool have_fs;
	uint64_t uptime;
	char loadavg[3][16];
	uint64_t netin, netout;         /* bytes, physical interfaces */
	struct sysinfo_cpuinfo cpuinfo; /* read once */
	struct rrd_collector *history;  /* not owned */
};

/* As pvestatd: only traffic of physical interface cards counts (a bridge
 * or tap would count the same bytes twice). */
static bool is_physical(const char *dev)
{
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/device", dev);
	return access(p, F_OK) == 0;
}

/* Sums the receive and transmit byte counters of /proc/net/dev's lines
 * whose interface passes keep(). */
int node_stats_parse_net_dev(const char *text, bool (*keep)(const char *dev), uint64_t *ret_in,
                             uint64_t *ret_out)
{
	uint64_t in = 0, out = 0;
	int n = 0;

	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		char buf[512], dev[64];
		size_t len = (size_t)(eol - line);
		line = *eol ? eol + 1 : eol;
		if (len >= sizeof(buf))
			continue;
		memcpy(buf, eol - len, len);
		buf[len] = '\0';
		char *colon = strchr(buf, ':'); /* the two header lines have none */
		if (!colon)
			continue;
		*colon = '\0';
		const char *name = buf + strspn(buf, " ");
		if (!*name || strlen(name) >= sizeof(dev))
			continue;
		snprintf(dev, sizeof(dev), "%s", name);
		unsigned long long f[9];
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		           &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) != 9)
			continue;
		n++;
		if (keep && !keep(dev))
			continue;
		in += f[0];
		out += f[8];
	}
	if (n == 0)
		return -EINVAL;
	*ret_in = in;
	*ret_out = out;
	return 0;
}

static int read_net(uint64_t *ret_in, uint64_t *ret_out)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/net/dev", 1 << 20, &text, NULL, NULL);
	if (r < 0)
		return r;
	return node_stats_parse_net_dev(text, is_physical, ret_in, ret_out);
}

static void sample(struct node_stats *s)
{
	struct sysinfo_cpu_times t = {0};
	struct sysinfo_mem m = {0};
	struct statvfs fs;
	uint64_t up = 0;
	char load[3][16] = {"0.00", "0.00", "0.00"};

	bool have_t = sysinfo_read_cpu_times(&t) == 0;
	bool have_m = sysinfo_read_meminfo(&m) == 0;
	/* statvfs of a hung network mount would block: only the local rootfs here */
	bool have_fs = statvfs(s->rootfs, &fs) == 0;
	sysinfo_read_uptime(&up);
	sysinfo_read_loadavg(load);
	uint64_t netin = 0, netout = 0;
	bool have_net = read_net(&netin, &netout) == 0;

	pthread_mutex_lock(&s->lock);
	if (have_t) {
		uint64_t dt = t.total - s->last.total;
		if (s->last.total && dt > 0) {
			s->cpu = (double)(t.busy - s->last.busy) / (double)dt;
			s->iowait = (double)(t.iowait - s->last.iowait) / (double)dt;
		}
		s->last = t;
	}
	if (have_m)
		s->mem = m;
	if (have_fs) {
		s->fs = fs;
		s->have_fs = true;
	}
	s->uptime = up;
	memcpy(s->loadavg, load, sizeof(load));
	if (have_net) {
		s->netin = netin;
		s->netout = netout;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *collector(void *arg)
{
	struct node_stats *s = arg;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		sample(s);
		pthread_mutex_lock(&s->lock);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->interval_ms / 1000;
		until.tv_nsec += (long)(s->interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct node_stats *node_stats_new(const char *rootfs, unsigned interval_ms)
{
	struct node_stats *s = xnew(struct node_stats, 1);
	s->rootfs = xstrdup(rootfs);
	s->interval_ms = interval_ms ? interval_ms : 2000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	sysinfo_read_cpuinfo(&s->cpuinfo);
	sample(s); /* figures exist before the first request */
	if (pthread_create(&s->thread, NULL, collector, s) != 0)
		abort();
	return s;
}

struct node_stats *node_stats_free(struct node_stats *s)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s->rootfs);
	free(s);
	return NULL;
}

void node_stats_summary(struct node_stats *s, struct node_stats_summary *ret)
{
	pthread_mutex_lock(&s->lock);
	ret->cpu = s->cpu;
	ret->maxcpu = s->cpuinfo.cpus ? s->cpuinfo.cpus : 1;
	ret->maxmem = s->mem.total;
	ret->mem = sysinfo_mem_used(&s->mem);
	ret->maxdisk = s->have_fs ? (uint64_t)s->fs.f_blocks * s->fs.f_frsize : 0;
	ret->disk = s->have_fs ? (uint64_t)(s->fs.f_blocks - s->fs.f_bfree) * s->fs.f_frsize : 0;
	ret->uptime = s->uptime;
	pthread_mutex_unlock(&s->lock);
}

json_t *node_stats_status_json(struct node_stats *s)
{
	struct utsname u;
	uname(&u);
	pthread_mutex_lock(&s->lock);
	uint64_t fr = s->fs.f_frsize;
	uint64_t total = s->have_fs ? s->fs.f_blocks * fr : 0;
	uint64_t free_ = s->have_fs ? s->fs.f_bfree * fr : 0;
	uint64_t avail = s->have_fs ? s->fs.f_bavail * fr : 0;
	json_t *o = json_pack(
	    "{s:f, s:f, s:I, s:[sss], s:s, s:{s:s, s:s, s:s, s:s}, "
	    "s:{s:s, s:i, s:i, s:i, s:s, s:s, s:s, s:i}, "
	    "s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:s, s:i}",
	    "cpu", s->cpu, "wait", s->iowait, "uptime", (json_int_t)s->uptime, "loadavg",
	    s->loadavg[0], s->loadavg[1], s->loadavg[2], "kversion", "", /* filled below */
	    "current-kernel", "sysname", u.sysname, "release", u.release, "version", u.version,
	    "machine", u.machine, "cpuinfo", "model", s->cpuinfo.model, "cpus",
	    (int)s->cpuinfo.cpus, "sockets", (int)s->cpuinfo.sockets, "cores",
	    (int)s->cpuinfo.cores, "mhz", s->cpuinfo.mhz, "flags", s->cpuinfo.flags, "user_hz",
	    "100", "hvm", s->cpuinfo.hvm, "memory", "total", (json_int_t)s->mem.total, "used",
	    (json_int_t)sysinfo_mem_used(&s->mem), "free",
	    (json_int_t)(s->mem.total - sysinfo_mem_used(&s->mem)), "available",
	    (json_int_t)s->mem.available, "swap", "total", (json_int_t)s->mem.swap_total, "used",
	    (json_int_t)(s->mem.swap_total - s->mem.swap_free), "free",
	    (json_int_t)s->mem.swap_free, "rootfs", "total", (json_int_t)total, "used",
	    (json_int_t)(total - free_), "avail", (json_int_t)avail, "free", (json_int_t)free_,
	    "pveversion", "pve-manager/" CTVM_PVE_VERSION "/ctvm-" CTVM_VERSION, "idle", 0);
	/* beyond Proxmox: the ZFS ARC, which "used" leaves out (a cache) */
	if (s->mem.arc)
		json_object_set_new(json_object_get(o, "memory"), "arc",
		                    json_integer((json_int_t)s->mem.arc));
	pthread_mutex_unlock(&s->lock);
	json_object_set_new(o, "kversion",
	                    json_sprintf("%s %s %s", u.sysname, u.release, u.version));
	return o;
}

void node_stats_rrd_sample(struct node_stats *s, struct node_stats_rrd *ret)
{
	pthread_mutex_lock(&s->lock);
	ret->loadavg = strtod(s->loadavg[0], NULL);
	ret->maxcpu = s->cpuinfo.cpus ? s->cpuinfo.cpus : 1;
	ret->cpu = s->cpu;
	ret->iowait = s->iowait;
	ret->memtotal = (double)s->mem.total;
	ret->memused = (double)sysinfo_mem_used(&s->mem);
	ret->swaptotal = (double)s->mem.swap_total;
	ret->swapused = (double)(s->mem.swap_total - s->mem.swap_free);
	ret->roottotal = s->have_fs ? (double)s->fs.f_blocks * (double)s->fs.f_frsize : NAN;
	ret->rootused =
	    s->have_fs ? (double)(s->fs.f_blocks - s->fs.f_bfree) * (double)s->fs.f_frsize : NAN;
	ret->netin = (double)s->netin;
	ret->netout = (double)s->netout;
	pthread_mutex_unlock(&s->lock);
}

void node_stats_set_history(struct node_stats *s, struct rrd_collector *history)
{
	pthread_mutex_lock(&s->lock);
	s->history = history;
	pthread_mutex_unlock(&s->lock);
}

struct rrd_collector *node_stats_history(struct node_stats *s)
{
	pthread_mutex_lock(&s->lock);
	struct rrd_collector *h = s->history;
	pthread_mutex_unlock(&s->lock);
	return h;
}
