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
};

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
int sysinfo_parse_stat_cpu(const char *text, struct sysinfo_cpu_times *ret);
int sysinfo_parse_cpuinfo(const char *text, struct sysinfo_cpuinfo *ret);
/* "0.10 0.05 0.01 1/123 4567" -> three strings like "0.10" */
int sysinfo_parse_loadavg(const char *text, char ret[3][16]);

int sysinfo_read_meminfo(struct sysinfo_mem *ret);
int sysinfo_read_cpu_times(struct sysinfo_cpu_times *ret);
int sysinfo_read_cpuinfo(struct sysinfo_cpuinfo *ret);
int sysinfo_read_loadavg(char ret[3][16]);
/* Seconds since boot. */
int sysinfo_read_uptime(uint64_t *ret);
/* Start time of a process in clock ticks since boot (field 22 of stat). */
int sysinfo_read_pstart(int pid, uint64_t *ret);
