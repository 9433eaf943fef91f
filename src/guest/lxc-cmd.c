/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-cmd: the LXC config of a container from its Proxmox config.  The
 * order of the lines follows PVE's update_lxc_config() so that the two
 * read alike; see lxc-cmd.h for what differs and why.
 */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lxc-cmd.h"
#include "strbuf.h"
#include "xalloc.h"

#define LXC_CMD_MAX_NET 32 /* net0..net31 */
#define LXC_CMD_MAX_MP  256

/* The distributions Debian's lxc ships <ostype>.common.conf and
 * <ostype>.userns.conf for, among PVE's ostypes; others get the generic
 * common.conf / userns.conf, as PVE falls back when the file is missing. */
static const char *const ostype_includes[] = {
    "alpine", "archlinux", "centos", "debian", "devuan", "fedora", "gentoo", "opensuse", "ubuntu",
};

/* Ostypes whose init is busybox's: SIGUSR1 halts it, SIGTERM reboots it
 * (lxc's default SIGPWR would be ignored until the stop timeout). */
static const char *const busybox_init_ostypes[] = {"alpine"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, list[i]))
			return true;
	return false;
}

static const char *get(const json_t *conf, const char *key)
{
	return json_string_value(json_object_get(conf, key));
}

/*
 * One value of a property string "k=v,k=v" (the first item may be bare: the
 * value of defkey).  Copies it into buf (at most n - 1 bytes; longer is
 * refused as absent) and returns true when present.
 */
static bool prop_get(const char *s, const char *key, const char *defkey, char *buf, size_t n)
{
	bool first = true;
	size_t klen = strlen(key);
	while (s && *s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		const char *v = NULL;
		size_t vlen = 0;
		if (eq && (size_t)(eq - s) == klen && strncmp(s, key, klen) == 0) {
			v = eq + 1;
			vlen = len - klen - 1;
		} else if (!eq && first && defkey && streq(key, defkey)) {
			v = s;
			vlen = len;
		}
		if (v) {
			if (vlen >= n)
				return false;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return true;
		}
		first = false;
		s = end ? end + 1 : NULL;
	}
	return false;
}

static bool prop_bool(const char *s, const char *key)
{
	char b[8];
	return prop_get(s, key, NULL, b, sizeof(b)) &&
	       (streq(b, "1") || streq(b, "on") || streq(b, "yes") || streq(b, "true"));
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	if (!s || !isdigit((unsigned char)*s) || strlen(s) > 18)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = (unsigned long)v;
	return true;
}

/* A name that lands in a "key = value" line or an fstab entry as one word. */
static bool plain_word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

static bool ifname_ok(const char *s)
{
	if (!*s || strlen(s) > 15)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static bool hwaddr_ok(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* An absolute path without "..", blanks or control characters (a mount
 * entry is whitespace separated). */
static bool path_ok(const char *s)
{
	if (s[0] != '/' || !plain_word(s, 4096))
		return false;
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return false;
	return true;
}

/* "key = value\n"; the only way a line is added, so no value can add a key. */
static int line(struct strbuf *sb, struct error **err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int line(struct strbuf *sb, struct error **err, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *v = xvasprintf(fmt, ap);
	va_end(ap);
	if (strpbrk(v, "\r\n") || strpbrk(key, "\r\n= \t"))
		return error_set(err, -EINVAL, 400, "invalid value for '%s': line break", key);
	strbuf_addf(sb, "%s = %s\n", key, v);
	return 0;
}

static int build_cgroups(struct strbuf *sb, const json_t *conf, const struct lxc_cmd_opts *o,
                         struct error **err)
{
	unsigned long memory = 512, swap = 512, units = 0;
	if (get(conf, "memory") &&
	    (!parse_uint(get(conf, "memory"), 1UL << 30, &memory) || !memory))
		return error_param(err, "memory", "invalid value '%s'", get(conf, "memory"));
	if (get(conf, "swap") && !parse_uint(get(conf, "swap"), 1UL << 30, &swap))
		return error_param(err, "swap", "invalid value '%s'", get(conf, "swap"));
	uint64_t mem_b = (uint64_t)memory << 20, swap_b = (uint64_t)swap << 20;

	double cpulimit = 0;
	const char *s = get(conf, "cpulimit");
	if (s) {
		char *end;
		errno = 0;
		cpulimit = strtod(s, &end);
		if (errno || end == s || *end || !(cpulimit >= 0 && cpulimit <= 8192))
			return error_param(err, "cpulimit", "invalid value '%s'", s);
	}
	long long quota = (long long)(cpulimit * 100000);

	s = get(conf, "cpuunits");
	if (s && !parse_uint(s, 262144, &units))
		return error_param(err, "cpuunits", "invalid value '%s'", s);

	if (o->cgroup_v2) {
		/* PVE's calculate_memory_constraints(): high 1016/1024 of max,
		 * at most 128 MiB below it */
		uint64_t high = memory >= 16 * 1024 ? (uint64_t)(memory - 128) << 20
		                                    : (uint64_t)memory * 1024 * 1016;
		if (line(sb, err, "lxc.cgroup2.memory.max", "%" PRIu64, mem_b) < 0 ||
		    line(sb, err, "lxc.cgroup2.memory.high", "%" PRIu64, high) < 0 ||
		    line(sb, err, "lxc.cgroup2.memory.swap.max", "%" PRIu64, swap_b) < 0)
			return -EINVAL;
		if (quota > 0 && line(sb, err, "lxc.cgroup2.cpu.max", "%lld 100000", quota) < 0)
			return -EINVAL;
		if (s && line(sb, err, "lxc.cgroup2.cpu.weight", "%lu",
		              units < 1       ? 1
		              : units > 10000 ? 10000
		                              : units) < 0)
			return -EINVAL;
		return 0;
	}

	if (line(sb, err, "lxc.cgroup.memory.limit_in_bytes", "%" PRIu64, mem_b) < 0)
		return -EINVAL;
	if (o->memsw &&
	    line(sb, err, "lxc.cgroup.memory.memsw.limit_in_bytes", "%" PRIu64, mem_b + swap_b) < 0)
		return -EINVAL;
	if (quota > 0 && (line(sb, err, "lxc.cgroup.cpu.cfs_period_us", "100000") < 0 ||
	                  line(sb, err, "lxc.cgroup.cpu.cfs_quota_us", "%lld", quota) < 0))
		return -EINVAL;
	/* cpu.shares takes 2..262144 */
	if (s && line(sb, err, "lxc.cgroup.cpu.shares", "%lu", units < 2 ? 2 : units) < 0)
		return -EINVAL;
	return 0;
}

static int build_net(struct strbuf *sb, const json_t *conf, const struct lxc_cmd_opts *o,
                     struct error **err)
{
	for (unsigned i = 0; i < LXC_CMD_MAX_NET; i++) {
		char key[8], name[16], bridge[16], hwaddr[18], type[8], num[8];
		snprintf(key, sizeof(key), "net%u", i);
		const char *v = get(conf, key);
		if (!v)
			continue;
		if (prop_get(v, "type", NULL, type, sizeof(type)) && !streq(type, "veth"))
			return error_param(err, key, "unsupported network type");
		if (!prop_get(v, "name", NULL, name, sizeof(name)) || !ifname_ok(name))
			return error_param(err, key, "missing or invalid 'name'");
		/* every value below is checked to be one plain word */
		strbuf_addf(sb, "lxc.net.%u.type = veth\n", i);
		strbuf_addf(sb, "lxc.net.%u.veth.pair = veth%lui%u\n", i, o->vmid, i);
		if (prop_get(v, "hwaddr", NULL, hwaddr, sizeof(hwaddr))) {
			if (!hwaddr_ok(hwaddr))
				return error_param(err, key, "invalid 'hwaddr'");
			strbuf_addf(sb, "lxc.net.%u.hwaddr = %s\n", i, hwaddr);
		}
		strbuf_addf(sb, "lxc.net.%u.name = %s\n", i, name);
		if (prop_get(v, "bridge", NULL, bridge, sizeof(bridge))) {
			if (!ifname_ok(bridge))
				return error_param(err, key, "invalid 'bridge'");
			strbuf_addf(sb, "lxc.net.%u.link = %s\n", i, bridge);
		}
		unsigned long n;
		if (prop_get(v, "mtu", NULL, num, sizeof(num))) {
			if (!parse_uint(num, 65535, &n) || n < 64)
				return error_param(err, key, "invalid 'mtu'");
			strbuf_addf(sb, "lxc.net.%u.mtu = %lu\n", i, n);
		}
		if (prop_get(v, "tag", NULL, num, sizeof(num))) {
			if (!parse_uint(num, 4094, &n) || n < 1)
				return error_param(err, key, "invalid 'tag'");
			/* the untagged VLAN of the host-side port on a VLAN-filtering
			 * bridge, as PVE's VLAN-aware bridges: liblxc sets it */
			strbuf_addf(sb, "lxc.net.%u.veth.vlan.id = %lu\n", i, n);
		}
		if (!prop_bool(v, "link_down"))
			strbuf_addf(sb, "lxc.net.%u.flags = up\n", i);
	}
	return 0;
}

struct mp_entry {
	const char *host;
	char mp[4096];
	char opts[256];
};

static int mp_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mp_entry *)a)->mp, ((const struct mp_entry *)b)->mp);
}

/* Mount points as bind mounts of the host paths, parents before children
 * (sorted by their path in the container, as PVE mounts them). */
static int build_mounts(struct strbuf *sb, const json_t *conf, const struct lxc_cmd_opts *o,
                        struct error **err)
{
	size_t n = 0;
	while (o->mp_keys && o->mp_keys[n])
		n++;
	if (n == 0)
		return 0;
	if (n > LXC_CMD_MAX_MP)
		return error_set(err, -E2BIG, 400, "too many mount points");
	_cleanup_free_ struct mp_entry *m = xcalloc(n, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		const char *key = o->mp_keys[i], *v = get(conf, key);
		if (!v)
			return error_set(err, -EINVAL, 500, "mount point '%s' not in the config",
			                 key);
		if (!o->mp_paths || !o->mp_paths[i] || !path_ok(o->mp_paths[i]))
			return error_param(err, key, "invalid host path");
		if (!prop_get(v, "mp", NULL, m[i].mp, sizeof(m[i].mp)) || !path_ok(m[i].mp) ||
		    streq(m[i].mp, "/"))
			return error_param(err, key, "invalid mount point path");
		m[i].host = o->mp_paths[i];
		snprintf(m[i].opts, sizeof(m[i].opts), "rbind,create=dir%s",
		         prop_bool(v, "ro") ? ",ro" : "");
		char mo[128];
		if (prop_get(v, "mountoptions", NULL, mo, sizeof(mo))) {
			for (char *t = strtok(mo, ";"); t; t = strtok(NULL, ";")) {
				if (!streq(t, "noatime") && !streq(t, "nodev") &&
				    !streq(t, "noexec") && !streq(t, "nosuid") &&
				    !streq(t, "discard") && !streq(t, "lazytime"))
					return error_param(err, key, "invalid mount option '%s'",
					                   t);
				size_t l = strlen(m[i].opts);
				snprintf(m[i].opts + l, sizeof(m[i].opts) - l, ",%s", t);
			}
		}
	}
	qsort(m, n, sizeof(*m), mp_cmp);
	for (size_t i = 0; i < n; i++) {
		/* a relative target: lxc mounts it below the rootfs */
		int r = line(sb, err, "lxc.mount.entry", "%s %s none %s 0 0", m[i].host,
		             m[i].mp + 1, m[i].opts);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build_raw(struct strbuf *sb, const json_t *raw, struct error **err)
{
	size_t i;
	json_t *kv;
	if (!raw)
		return 0;
	json_array_foreach (raw, i, kv) {
		const char *k = json_string_value(json_array_get(kv, 0));
		const char *v = json_string_value(json_array_get(kv, 1));
		if (!k || !v || !str_startswith(k, "lxc.") || !plain_word(k, 128))
			return error_set(err, -EINVAL, 400, "invalid lxc.* key");
		int r = line(sb, err, k, "%s", v);
		if (r < 0)
			return r;
	}
	return 0;
}

int lxc_cmd_build(const json_t *conf, const struct lxc_cmd_opts *o, char **ret_text,
                  struct error **err)
{
	if (!o->rootfs_path || !path_ok(o->rootfs_path))
		return error_set(err, -EINVAL, 500, "CT %ld: no usable rootfs path", o->vmid);
	const char *s;
	for (const char *const *k = (const char *const[]){"arch", "hostname", "ostype", NULL}; *k;
	     k++)
		if ((s = get(conf, *k)) && !plain_word(s, 255))
			return error_param(err, *k, "invalid value '%s'", s);

	const char *arch = get(conf, "arch") ?: "amd64";
	const char *ostype = get(conf, "ostype") ?: "unmanaged";
	bool unpriv = o->idmap && o->idmap->n > 0;
	char feat[256] = "";
	if ((s = get(conf, "features")) && strlen(s) < sizeof(feat))
		strcpy(feat, s);
	bool nesting = prop_bool(feat, "nesting"), fuse = prop_bool(feat, "fuse");
	bool force_rw_sys = prop_bool(feat, "force_rw_sys");

	_cleanup_(strbuf_releasep) struct strbuf sb = STRBUF_INIT;
	int r;
	/* PVE's layout: the container in lxc/<vmid> (limits there, its own
	 * cgroup namespace below in ns), the monitor beside it */
	strbuf_addstr(&sb, "lxc.cgroup.relative = 0\n");
	strbuf_addf(&sb, "lxc.cgroup.dir.monitor = lxc.monitor/%ld\n", o->vmid);
	strbuf_addf(&sb, "lxc.cgroup.dir.container = lxc/%ld\n", o->vmid);
	strbuf_addstr(&sb, "lxc.cgroup.dir.container.inner = ns\n");
	strbuf_addf(&sb, "lxc.arch = %s\n", arch);

	bool known = in_list(ostype, ostype_includes, ARRAY_SIZE(ostype_includes));
	strbuf_addf(&sb, "lxc.include = %s/%s%scommon.conf\n", LXC_CMD_CONFIG_DIR,
	            known ? ostype : "", known ? "." : "");
	if (unpriv)
		strbuf_addf(&sb, "lxc.include = %s/%s%suserns.conf\n", LXC_CMD_CONFIG_DIR,
		            known ? ostype : "", known ? "." : "");

	/* an empty value drops what the includes set: lxcfs's mount hook (a
	 * no-op without lxcfs) and its post-stop hook (sleep 0.5) */
	if (!o->lxcfs)
		strbuf_addstr(&sb, "lxc.hook.mount =\nlxc.hook.post-stop =\n");
	if (!o->apparmor) {
		strbuf_addstr(&sb, "lxc.apparmor.profile = unconfined\n");
	} else {
		strbuf_addstr(&sb, "lxc.apparmor.profile = generated\n");
		if (nesting)
			strbuf_addstr(&sb, "lxc.apparmor.allow_nesting = 1\n");
		else
			strbuf_addstr(&sb, "lxc.apparmor.raw = deny mount -> /proc/,\n"
			                   "lxc.apparmor.raw = deny mount -> /sys/,\n");
		if (fuse)
			strbuf_addstr(&sb, "lxc.apparmor.raw = mount fstype=fuse,\n");
	}
	if (fuse)
		strbuf_addstr(&sb,
		              "lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0\n");
	if (unpriv && !force_rw_sys)
		strbuf_addstr(&sb, "lxc.mount.auto = sys:mixed\n");
	/* Nesting without AppArmor's allow_nesting: a writable cgroup tree for
	 * the nested lxc, and writable proc/sys where the user namespace keeps
	 * them harmless (a privileged container keeps proc/sys mixed). */
	if (nesting)
		strbuf_addstr(&sb, unpriv ? "lxc.mount.auto = proc:rw sys:rw cgroup:rw\n"
		                          : "lxc.mount.auto = cgroup:rw\n");
	strbuf_addstr(&sb, "lxc.monitor.unshare = 1\n");

	/* a map given as lxc.idmap raw keys comes with them (PVE's custom_idmap) */
	bool raw_idmap = false;
	size_t ri;
	json_t *kv;
	json_array_foreach (o->raw, ri, kv)
		if (streq(json_string_value(json_array_get(kv, 0)) ?: "", "lxc.idmap"))
			raw_idmap = true;
	for (size_t i = 0; unpriv && !raw_idmap && i < o->idmap->n; i++) {
		const struct lxc_idmap_entry *e = &o->idmap->e[i];
		if (e->type != 'u' && e->type != 'g')
			return error_set(err, -EINVAL, 500, "invalid id map");
		strbuf_addf(&sb, "lxc.idmap = %c %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", e->type,
		            e->ct, e->host, e->count);
	}

	unsigned long tty = 2;
	if ((s = get(conf, "tty")) && !parse_uint(s, 6, &tty))
		return error_param(err, "tty", "invalid value '%s'", s);
	if ((s = get(conf, "console")) && streq(s, "0"))
		strbuf_addstr(&sb, "lxc.console.path = none\n");
	strbuf_addf(&sb, "lxc.tty.max = %lu\n", tty);
	strbuf_addstr(&sb, "lxc.environment = TERM=linux\n");
	if ((s = get(conf, "hostname")))
		strbuf_addf(&sb, "lxc.uts.name = %s\n", s);
	else
		strbuf_addf(&sb, "lxc.uts.name = CT%ld\n", o->vmid);

	if ((r = build_cgroups(&sb, conf, o, err)) < 0)
		return r;

	strbuf_addf(&sb, "lxc.rootfs.path = dir:%s\n", o->rootfs_path);
	if (in_list(ostype, busybox_init_ostypes, ARRAY_SIZE(busybox_init_ostypes)))
		strbuf_addstr(&sb, "lxc.signal.halt = SIGUSR1\nlxc.signal.reboot = SIGTERM\n");

	if ((r = build_net(&sb, conf, o, err)) < 0 || (r = build_mounts(&sb, conf, o, err)) < 0)
		return r;

	if (o->console_dir) {
		if (!path_ok(o->console_dir))
			return error_set(err, -EINVAL, 500, "CT %ld: invalid console directory",
			                 o->vmid);
		/* liblxc's own messages: what a failed start says */
		strbuf_addf(&sb, "lxc.log.file = %s/lxc.log\nlxc.log.level = WARN\n",
		            o->console_dir);
	}

	if ((r = build_raw(&sb, o->raw, err)) < 0)
		return r;
	*ret_text = strbuf_detach(&sb, NULL);
	return 0;
}
