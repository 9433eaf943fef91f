/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The host's network interfaces (netif.h). */
#include "common.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "netif.h"
#include "xalloc.h"

#define NETIF_MAX 4096

static bool sys_exists(const char *sysroot, const char *iface, const char *what)
{
	_cleanup_free_ char *p = xasprintf("%s/class/net/%s/%s", sysroot, iface, what);
	struct stat st;
	return lstat(p, &st) == 0;
}

/* One line of a small sysfs file, trailing newline removed; NULL if none. */
static char *sys_read(const char *sysroot, const char *iface, const char *what)
{
	_cleanup_free_ char *p = xasprintf("%s/class/net/%s/%s", sysroot, iface, what);
	char *data = NULL;
	size_t len = 0;
	if (read_file(p, 4096, &data, &len, NULL) < 0)
		return NULL;
	data[strcspn(data, "\n")] = '\0';
	return data;
}

static bool guest_device(const char *name)
{
	static const char *const prefixes[] = {"tap", "veth", "fwbr", "fwpr", "fwln"};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (str_startswith(name, prefixes[i]))
			return true;
	return false;
}

/* The names of a sysfs directory's entries but guest devices, space
 * separated, sorted; NULL when it has none. */
static char *sys_list(const char *sysroot, const char *iface, const char *what)
{
	_cleanup_free_ char *p = xasprintf("%s/class/net/%s/%s", sysroot, iface, what);
	DIR *d = opendir(p);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		if (de->d_name[0] == '.' || guest_device(de->d_name))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (!n)
		return NULL;
	qsort(names, n, sizeof(*names), (int (*)(const void *, const void *))strcmp);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(names[i]) + 1;
	char *s = xmalloc(total);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, names[i]);
		free(names[i]);
	}
	free(names);
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Proxmox's type words. */
static const char *iface_type(const char *sysroot, const char *name)
{
	if (sys_exists(sysroot, name, "bridge"))
		return "bridge";
	if (sys_exists(sysroot, name, "bonding"))
		return "bond";
	if (strchr(name, '.') || str_startswith(name, "vlan"))
		return "vlan";
	if (sys_exists(sysroot, name, "device"))
		return "eth";
	return NULL; /* virtual devices Proxmox does not list */
}

static unsigned prefix_len(const struct sockaddr *mask)
{
	unsigned n = 0;
	const unsigned char *b;
	size_t len;
	if (mask->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)mask)
		        ->sin_addr;
		len = 4;
	} else {
		b = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)mask)
		        ->sin6_addr;
		len = 16;
	}
	for (size_t i = 0; i < len; i++)
		n += (unsigned)__builtin_popcount(b[i]);
	return n;
}

/* The first address of each family of iface goes into e. */
static void add_addresses(json_t *e, const struct ifaddrs *all, const char *name)
{
	json_t *fam = json_object_get(e, "families");
	for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
		if (!a->ifa_addr || !a->ifa_netmask || !streq(a->ifa_name, name))
			continue;
		int af = a->ifa_addr->sa_family;
		if (af != AF_INET && af != AF_INET6)
			continue;
		const char *key = af == AF_INET ? "address" : "address6";
		if (json_object_get(e, key))
			continue;
		char buf[INET6_ADDRSTRLEN];
		const void *src =
		    af == AF_INET
		        ? (const void *)&((const struct sockaddr_in *)(const void *)a->ifa_addr)
		              ->sin_addr
		        : (const void *)&((const struct sockaddr_in6 *)(const void *)a->ifa_addr)
		              ->sin6_addr;
		if (!inet_ntop(af, src, buf, sizeof(buf)))
			continue;
		/* a link-local IPv6 address is the kernel's, not configured */
		if (af == AF_INET6 && str_startswith(buf, "fe80:"))
			continue;
		unsigned plen = prefix_len(a->ifa_netmask);
		json_object_set_new(e, key, json_string(buf));
		json_object_set_new(e, af == AF_INET ? "netmask" : "netmask6",
		                    json_sprintf("%u", plen));
		json_object_set_new(e, af == AF_INET ? "cidr" : "cidr6",
		                    json_sprintf("%s/%u", buf, plen));
		json_object_set_new(e, af == AF_INET ? "method" : "method6", json_string("static"));
		json_array_append_new(fam, json_string(af == AF_INET ? "inet" : "inet6"));
	}
}

int netif_list(const char *sysroot, json_t **ret, struct error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/class/net", sysroot);
	DIR *d = opendir(dir);
	if (!d)
		return error_set(err, -errno, 500, "unable to read '%s' - %s", dir,
		                 strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < NETIF_MAX) {
		if (de->d_name[0] == '.' || streq(de->d_name, "lo") || guest_device(de->d_name))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		const char *type = iface_type(sysroot, name);
		if (!type) {
			free(names[i]);
			continue;
		}
		_cleanup_free_ char *flags = sys_read(sysroot, name, "flags");
		bool up = flags && (strtoul(flags, NULL, 16) & IFF_UP);
		json_t *e = json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:[], s:i}", "iface",
		                      name, "type", type, "active", up ? 1 : 0, "exists", 1,
		                      "autostart", up ? 1 : 0, "method", "manual", "method6",
		                      "manual", "families", "priority", (int)i + 1);
		add_addresses(e, ifa, name);
		if (streq(type, "bridge")) {
			char *ports = sys_list(sysroot, name, "brif");
			/* its ports without the guests' taps: what PVE's
			 * bridge_ports (the configured ones) says */
			json_object_set_new(e, "bridge_ports", json_string(ports ? ports : ""));
			free(ports);
			_cleanup_free_ char *stp = sys_read(sysroot, name, "bridge/stp_state");
			json_object_set_new(e, "bridge_stp",
			                    json_string(stp && !streq(stp, "0") ? "on" : "off"));
			_cleanup_free_ char *fd = sys_read(sysroot, name, "bridge/forward_delay");
			json_object_set_new(
			    e, "bridge_fd",
			    json_sprintf("%lu", fd ? strtoul(fd, NULL, 10) / 100 : 0));
		} else if (streq(type, "vlan")) {
			const char *dot = strrchr(name, '.');
			if (dot)
				json_object_set_new(e, "vlan-raw-device",
				                    json_stringn(name, (size_t)(dot - name)));
		}
		_cleanup_free_ char *mtu = sys_read(sysroot, name, "mtu");
		if (mtu)
			json_object_set_new(e, "mtu", json_string(mtu));
		json_array_append_new(a, e);
		free(names[i]);
	}
	free(names);
	if (ifa)
		freeifaddrs(ifa);
	*ret = a;
	return 0;
}

int netif_bridge_mtu(const char *sysroot, const char *name)
{
	if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, "..") ||
	    !sys_exists(sysroot, name, "bridge"))
		return -ENOENT;
	_cleanup_free_ char *mtu = sys_read(sysroot, name, "mtu");
	long v = mtu ? strtol(mtu, NULL, 10) : 0;
	return v > 0 && v < 65536 ? (int)v : 1500;
}
