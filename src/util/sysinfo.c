/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>
#include <inttypes.h>

#include "sysinfo.h"

/*
 * /proc/meminfo lines look like
 *   MemTotal:       24591360 kB
 *   MemAvailable:   20123456 kB
 */
int sysinfo_parse_meminfo(const char *text, struct sysinfo_mem *ret)
{
	struct sysinfo_mem m = {0};
	const struct {
		const char *key;
		uint64_t *dst;
	} keys[] = {
	    {"MemTotal:", &m.total},         {"MemFree:", &m.free},
	    {"MemAvailable:", &m.available}, {"SwapTotal:", &m.swap_total},
	    {"SwapFree:", &m.swap_free},
	};
	bool have_total = false;
	for (const char *line = text; line && *line;) {
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t kl = strlen(keys[i].key);
			if (strncmp(line, keys[i].key, kl) != 0)
				continue;
			unsigned long long kb;
			if (sscanf(line + kl, "%llu", &kb) == 1) {
				*keys[i].dst = (uint64_t)kb * 1024;
				if (i == 0)
					have_total = true;
			}
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!have_total)
		return -EINVAL;
	*ret = m;
	return 0;
}

/* First line of /proc/stat: "cpu  user nice system idle iowait irq softirq steal ..." */
int sysinfo_parse_stat_cpu(const char *text, struct sysinfo_cpu_times *ret)
{
	unsigned long long v[8] = {0};
	if (strncmp(text, "cpu ", 4) != 0)
		return -EINVAL;
	int n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
	               &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EINVAL;
	struct sysinfo_cpu_times t = {0};
	t.idle = v[3];
	t.iowait = v[4];
	t.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	t.total = t.busy + t.idle + t.iowait;
	*ret = t;
	return 0;
}

static void copy_value(const char *line, char *dst, size_t dstlen)
{
	const char *colon = strchr(line, ':');
	if (!colon) {
		dst[0] = '\0';
		return;
	}
	colon++;
	while (*colon == ' ' || *colon == '\t')
		colon++;
	size_t n = strcspn(colon, "\n");
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, colon, n);
	dst[n] = '\0';
}

int sysinfo_parse_cpuinfo(const char *text, struct sysinfo_cpuinfo *ret)
{
	struct sysinfo_cpuinfo c = {0};
	/* distinct physical ids, bounded: more sockets than this are counted as this many */
	int phys[64];
	unsigned nphys = 0;
	char buf[1024];
	for (const char *line = text; line && *line;) {
		if (str_startswith(line, "processor")) {
			c.cpus++;
		} else if (str_startswith(line, "model name") && !c.model[0]) {
			copy_value(line, c.model, sizeof(c.model));
		} else if (str_startswith(line, "cpu MHz") && !c.mhz[0]) {
			copy_value(line, c.mhz, sizeof(c.mhz));
		} else if (str_startswith(line, "flags") && !c.flags[0]) {
			copy_value(line, c.flags, sizeof(c.flags));
		} else if (str_startswith(line, "cpu cores") && !c.cores) {
			copy_value(line, buf, sizeof(buf));
			c.cores = (unsigned)strtoul(buf, NULL, 10);
		} else if (str_startswith(line, "physical id")) {
			copy_value(line, buf, sizeof(buf));
			int id = (int)strtol(buf, NULL, 10);
			bool seen = false;
			for (unsigned i = 0; i < nphys; i++)
				seen |= phys[i] == id;
			if (!seen && nphys < ARRAY_SIZE(phys))
				phys[nphys++] = id;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (c.cpus == 0)
		return -EINVAL;
	c.sockets = nphys ? nphys : 1;
	if (!c.cores)
		c.cores = c.cpus / c.sockets;
	c.hvm = strstr(c.flags, " vmx") || strstr(c.flags, " svm") ||
	        str_startswith(c.flags, "vmx") || str_startswith(c.flags, "svm");
	*ret = c;
	return 0;
}

int sysinfo_parse_loadavg(const char *text, char ret[3][16])
{
	char a[16], b[16], c[16];
	if (sscanf(text, "%15s %15s %15s", a, b, c) != 3)
		return -EINVAL;
	memcpy(ret[0], a, sizeof(a));
	memcpy(ret[1], b, sizeof(b));
	memcpy(ret[2], c, sizeof(c));
	return 0;
}

/* /proc files are small; 256 KiB covers cpuinfo of a few hundred CPUs. */
static int slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

int sysinfo_parse_arcstats(const char *text, uint64_t *ret)
{
	for (const char *line = text; line && *line;) {
		unsigned type;
		unsigned long long v;

		if (strncmp(line, "size ", 5) == 0 && sscanf(line + 5, "%u %llu", &type, &v) == 2) {
			*ret = (uint64_t)v;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int sysinfo_read_meminfo(struct sysinfo_mem *ret)
{
	char buf[8192];
	/* about 150 rows of up to 40 bytes */
	char arc[16384];
	int r = slurp("/proc/meminfo", buf, sizeof(buf));

	if (r < 0 || (r = sysinfo_parse_meminfo(buf, ret)) < 0)
		return r;
	if (slurp("/proc/spl/kstat/zfs/arcstats", arc, sizeof(arc)) < 0 ||
	    sysinfo_parse_arcstats(arc, &ret->arc) < 0)
		ret->arc = 0;
	return 0;
}

int sysinfo_read_cpu_times(struct sysinfo_cpu_times *ret)
{
	char buf[1024];
	int r = slurp("/proc/stat", buf, sizeof(buf));
	return r < 0 ? r : sysinfo_parse_stat_cpu(buf, ret);
}

int sysinfo_read_cpuinfo(struct sysinfo_cpuinfo *ret)
{
	size_t len = 256 * 1024;
	_cleanup_free_ char *buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	int r = slurp("/proc/cpuinfo", buf, len);
	return r < 0 ? r : sysinfo_parse_cpuinfo(buf, ret);
}

int sysinfo_read_loadavg(char ret[3][16])
{
	char buf[256];
	int r = slurp("/proc/loadavg", buf, sizeof(buf));
	return r < 0 ? r : sysinfo_parse_loadavg(buf, ret);
}

int sysinfo_read_uptime(uint64_t *ret)
{
	char buf[128];
	int r = slurp("/proc/uptime", buf, sizeof(buf));
	if (r < 0)
		return r;
	double up;
	if (sscanf(buf, "%lf", &up) != 1)
		return -EINVAL;
	*ret = (uint64_t)up;
	return 0;
}

/* The comm field (2) may contain spaces and ')': parse after the last ')'. */
int sysinfo_read_pstart(int pid, uint64_t *ret)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int r = slurp(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* after ')' come fields 3..; starttime is field 22, i.e. the 20th after ')' */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	unsigned long long v;
	if (sscanf(p, " %llu", &v) != 1)
		return -EINVAL;
	*ret = v;
	return 0;
}
