/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sysinfo: host facts from /proc, as pure parsers plus thin readers.
 *
 * The parsers take file contents so unit tests can feed fixtures; the
 * readers open the real files under a /proc root (normally "/proc").
 */
#pragma once

#include <stdint.h>

struct sysinfo_mem {
	uint64_t total, free, available, swap_total, swap_free; /* bytes */
	/* the ZFS ARC's size (0 without ZFS): a cache the kernel does not count
	 * in MemAvailable, though ZFS gives it back under memory pressure */
	uint64_t arc;
};

/* Memory used by guests and services: total - available, less the ARC, so
 * a ZFS host does not look full because of its cache. */
static inline uint64_t sysinfo_mem_used(const struct sysinfo_mem *m)
{
	uint64_t used = m->total > m->available ? m->total - m->available : 0;

	return used > m->arc ? used - m->arc : 0;
}

struct sysinfo_cpu_times {
	uint64_t busy, idle, iowait, total; /* clock ticks, all CPUs */
};

struct sysinfo_cpuinfo {
	char model[128];
	unsigned cpus, sockets, cores; /* cores per socket */
	char mhz[32];
	char flags[1024];
	int hvm; /* vmx or svm flag present */
};

int sysinfo_parse_meminfo(const char *text, struct sysinfo_mem *ret);
/* The "size" row of /proc/spl/kstat/zfs/arcstats ("size  4  123456"). */
int sysinfo_parse_arcstats(const char *text, uint64_t *ret);
int sysinfo_parse_stat_cpu(const char *text, struct sysinfo_cpu_times *ret);
int sysinfo_parse_cpuinfo(const char *text, struct sysinfo_cpuinfo *ret);
/* "0.10 0.05 0.01 1/123 4567" -> three strings like "0.10" */
int sysinfo_parse_loadavg(const char *text, char ret[3][16]);

/* /proc/meminfo, and the ARC size where ZFS is loaded. */
int sysinfo_read_meminfo(struct sysinfo_mem *ret);
int sysinfo_read_cpu_times(struct sysinfo_cpu_times *ret);
int sysinfo_read_cpuinfo(struct sysinfo_cpuinfo *ret);
int sysinfo_read_loadavg(char ret[3][16]);
/* Seconds since boot. */
int sysinfo_read_uptime(uint64_t *ret);
/* Start time of a process in clock ticks since boot (field 22 of stat). */
int sysinfo_read_pstart(int pid, uint64_t *ret);
