/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * PVE::LXC::Setup: the ostype of a tree, the hooks, and what every
 * distribution shares (PVE's Base plugin).  The distributions' own parts
 * are in lxc-setup-debian.c and lxc-setup-redhat.c, the file layer in
 * lxc-setup-fs.c.  Behaviour (file formats, which files, in which order)
 * follows Proxmox's plugins, checked by the distribution-setup fixtures of
 * tests/data/conformance/lxc/setup.
 */
#include "common.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "lxc-setup-internal.h"
#include "lxc-setup.h"
#include "property.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* ---- test seams ---- */

static struct lxc_setup_hooks hooks;

void lxc_setup_set_hooks(const struct lxc_setup_hooks *h)
{
	hooks = h ? *h : (struct lxc_setup_hooks){0};
}

static double ct_rand(void)
{
	if (hooks.rand)
		return hooks.rand();
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)time(NULL);
	return v / 4294967296.0;
}

void ct_uuid(char out[37])
{
	if (hooks.uuid) {
		hooks.uuid(out);
		return;
	}
	unsigned char b[16] = {0};
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* ---- small helpers ---- */

const char *ct_conf(const struct ct *ct, const char *key)
{
	return json_string_value(json_object_get(ct->conf, key));
}

unsigned ct_tty_count(const struct ct *ct)
{
	const char *t = ct_conf(ct, "tty");
	return t ? (unsigned)strtoul(t, NULL, 10) : 2;
}

char **ct_split_list(const char *s)
{
	return strv_split(s, ",; \t\r\n\f\v");
}

static char *join_list(const char *s, const char *sep)
{
	_cleanup_strv_free_ char **v = ct_split_list(s);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; v && v[i]; i++)
		strbuf_addf(&sb, "%s%s", i ? sep : "", v[i]);
	return strbuf_detach(&sb, NULL);
}

/* The host's resolv.conf as PVE reads it: the first word of the last
 * search/domain line, the first three nameservers. */
static void host_resolv(char **ret_search, char **ret_ns)
{
	_cleanup_free_ char *data = NULL;
	const char *path = hooks.host_resolv_conf ? hooks.host_resolv_conf : "/etc/resolv.conf";
	struct strbuf ns = STRBUF_INIT;
	unsigned count = 0;

	*ret_search = NULL;
	if (read_file(path, 1 << 16, &data, NULL, NULL) == 0) {
		for (char *save = NULL, *l = strtok_r(data, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char word[256];
			if ((str_startswith(l, "search") || str_startswith(l, "domain")) &&
			    (l[6] == ' ' || l[6] == '\t') && sscanf(l + 6, "%255s", word) == 1) {
				free(*ret_search);
				*ret_search = xstrdup(word);
			} else if (sscanf(l, " nameserver %255s", word) == 1 && ++count <= 3) {
				unsigned char buf[16];
				if (inet_pton(AF_INET, word, buf) == 1 ||
				    inet_pton(AF_INET6, word, buf) == 1)
					strbuf_addf(&ns, "%s%s", ns.len ? " " : "", word);
			}
		}
	}
	*ret_ns = strbuf_detach(&ns, NULL);
}

void ct_dns(const struct ct *ct, char **ret_search, char **ret_ns)
{
	const char *search = ct_conf(ct, "searchdomain"), *ns = ct_conf(ct, "nameserver");
	_cleanup_free_ char *hs = NULL, *hn = NULL;

	if (!search || !ns)
		host_resolv(&hs, &hn);
	*ret_search = search ? xstrdup(search) : (hs ? xstrdup(hs) : NULL);
	*ret_ns = xstrdup(ns ? ns : hn);
}

static bool parse_cidr(const char *cidr, int family, unsigned char *addr, unsigned *prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, cidr, n);
	buf[n] = '\0';
	if (inet_pton(family, buf, addr) != 1)
		return false;
	unsigned max = family == AF_INET ? 32 : 128;
	if (!slash) {
		*prefix = max;
		return true;
	}
	char *end;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || p > max)
		return false;
	*prefix = (unsigned)p;
	return true;
}

bool ct_ip_in_cidr(const char *ip, const char *cidr, int family)
{
	unsigned char a[16], net[16];
	unsigned pa, pn;
	int af = family == 4 ? AF_INET : AF_INET6;
	if (!ip || !cidr || !parse_cidr(ip, af, a, &pa) || !parse_cidr(cidr, af, net, &pn))
		return false;
	for (unsigned i = 0; i < pn; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1))
			return false;
	}
	return true;
}

bool ct_ipv4_cidr(const char *cidr, char *addr, size_t addrlen, char *mask, size_t masklen)
{
	unsigned char a[4];
	unsigned p;
	if (!strchr(cidr, '/') || !parse_cidr(cidr, AF_INET, a, &p) || p < 8)
		return false;
	uint32_t m = p ? 0xffffffffu << (32 - p) : 0;
	snprintf(addr, addrlen, "%.*s", (int)(strchr(cidr, '/') - cidr), cidr);
	snprintf(mask, masklen, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255);
	return true;
}

/* ---- os-release ---- */

/* os-release(5) as PVE reads it: KEY=value, KEY='value', KEY="value" with
 * backslash escapes; comments and anything else skipped. */
static json_t *parse_os_release(const char *data)
{
	json_t *o = json_object();
	for (const char *p = data; p && *p;) {
		const char *nl = strchr(p, '\n');
		_cleanup_free_ char *line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		p = nl ? nl + 1 : NULL;
		char *l = line + strspn(line, " \t");
		size_t kl = 0;
		if (!((l[0] >= 'a' && l[0] <= 'z') || (l[0] >= 'A' && l[0] <= 'Z') || l[0] == '_'))
			continue;
		while (l[kl] == '_' || (l[kl] >= 'a' && l[kl] <= 'z') ||
		       (l[kl] >= 'A' && l[kl] <= 'Z') || (l[kl] >= '0' && l[kl] <= '9'))
			kl++;
		if (l[kl] != '=')
			continue;
		l[kl] = '\0';
		char *v = l + kl + 1;
		struct strbuf sb = STRBUF_INIT;
		if (*v == '\'') {
			char *e = strchr(v + 1, '\'');
			if (!e) {
				strbuf_release(&sb);
				continue;
			}
			strbuf_add(&sb, v + 1, (size_t)(e - v - 1));
		} else if (*v == '"') {
			bool closed = false;
			for (v++; *v; v++) {
				if (*v == '\\' && v[1]) {
					v++;
					if (strchr("\"'`nt$\\", *v))
						strbuf_add(&sb, v, 1);
					else
						strbuf_add(&sb, v - 1, 2);
				} else if (*v == '"') {
					closed = true;
					break;
				} else {
					strbuf_add(&sb, v, 1);
				}
			}
			if (!closed) {
				strbuf_release(&sb);
				continue;
			}
		} else {
			size_t n = 0;
			while ((v[n] >= 'a' && v[n] <= 'z') || (v[n] >= 'A' && v[n] <= 'Z') ||
			       (v[n] >= '0' && v[n] <= '9'))
				n++;
			strbuf_add(&sb, v, n);
		}
		json_object_set_new(o, l, json_string(sb.buf));
		strbuf_release(&sb);
	}
	return o;
}

static json_t *read_os_release(struct ct *ct)
{
	_cleanup_free_ char *data = NULL;
	if (ct_is_file(ct, "/etc/os-release"))
		(void)ct_read(ct, "/etc/os-release", &data, NULL);
	else if (ct_is_file(ct, "/usr/lib/os-release"))
		(void)ct_read(ct, "/usr/lib/os-release", &data, NULL);
	return parse_os_release(data);
}

/* ---- detection ---- */

static const char *const plugins[] = {"alpine", "archlinux", "centos",    "debian",   "devuan",
                                      "fedora", "gentoo",    "openeuler", "opensuse", "ubuntu",
                                      "nixos",  "unmanaged", NULL};

static const struct {
	const char *id, *plugin;
} aliases[] = {
    {"opensuse-leap", "opensuse"},
    {"opensuse-tumbleweed", "opensuse"},
    {"opensuse-slowroll", "opensuse"},
    {"openEuler", "openeuler"},
    {"arch", "archlinux"},
    {"sles", "opensuse"},
    {"rocky", "centos"},
    {"almalinux", "centos"},
};

static int detect(struct ct *ct, const json_t *os_release, const char **ret, struct error **err)
{
	const char *id = json_string_value(json_object_get(os_release, "ID"));
	if (id) {
		for (size_t i = 0; plugins[i]; i++)
			if (streq(id, plugins[i])) {
				*ret = plugins[i];
				return 0;
			}
		for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
			if (streq(id, aliases[i].id)) {
				*ret = aliases[i].plugin;
				return 0;
			}
	}
	_cleanup_free_ char *lsb = NULL;
	if (ct_is_file(ct, "/etc/lsb-release") &&
	    ct_read(ct, "/etc/lsb-release", &lsb, NULL) == 0) {
		for (char *save = NULL, *l = strtok_r(lsb, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			if (!strcasecmp(l, "DISTRIB_ID=Ubuntu")) {
				*ret = "ubuntu";
				return 0;
			}
	}
	static const struct {
		const char *file, *plugin;
	} files[] = {
	    {"/etc/debian_version", "debian"},       {"/etc/devuan_version", "devuan"},
	    {"/etc/SuSE-brand", "opensuse"},         {"/etc/SuSE-release", "opensuse"},
	    {"/etc/fedora-release", "fedora"},       {"/etc/centos-release", "centos"},
	    {"/etc/redhat-release", "centos"},       {"/etc/arch-release", "archlinux"},
	    {"/etc/alpine-release", "alpine"},       {"/etc/gentoo-release", "gentoo"},
	    {"/etc/openEuler-release", "openeuler"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (streq(files[i].plugin, "openeuler") && ct_is_dir(ct, "/nix/store")) {
			*ret = "nixos";
			return 0;
		}
		if (ct_is_file(ct, files[i].file)) {
			*ret = files[i].plugin;
			return 0;
		}
	}
	if (ct_is_file(ct, "/etc/os-release"))
		return error_set(err, -EINVAL, 500, "unable to detect OS distribution");
	*ret = "unmanaged";
	return 0;
}

static int open_root(const char *rootfs, struct ct *ct, struct error **err)
{
	*ct = (struct ct){.root = -1};
	if (!rootfs || !*rootfs || streq(rootfs, "/"))
		return error_set(err, -EINVAL, 500, "no root directory");
	ct->root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ct->root < 0)
		return error_set(err, -errno, 500, "unable to open rootfs '%s' - %s", rootfs,
		                 strerror(errno));
	return 0;
}

static void ct_done(struct ct *ct)
{
	if (ct->root >= 0)
		close(ct->root);
	json_decref(ct->os_release);
}

int lxc_setup_detect(const char *rootfs, char **ret_ostype, struct error **err)
{
	struct ct ct;
	const char *type;
	int r = open_root(rootfs, &ct, err);
	if (r < 0)
		return r;
	ct.os_release = read_os_release(&ct);
	r = detect(&ct, ct.os_release, &type, err);
	if (r == 0)
		*ret_ostype = xstrdup(type);
	ct_done(&ct);
	return r;
}

/* ---- the container's network keys ---- */

static const struct conf_prop net_props[] = {
    {.name = "name", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "bridge", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "hwaddr", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "ip", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "gw", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "ip6", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "gw6", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "tag", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "trunks", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "firewall", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "link_down", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "mtu", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "rate", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "type", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = "host-managed", .type = CONF_TYPE_STRING, .flags = CONF_PROP_OPTIONAL},
    {.name = NULL},
};
static const struct conf_propstring net_ps = {.props = net_props};

static int parse_nets(struct ct *ct, struct error **err)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)ct->conf, key, v) {
		char *end;
		if (!str_startswith(key, "net") || !key[3] || !json_is_string(v))
			continue;
		unsigned long idx = strtoul(key + 3, &end, 10);
		if (*end || idx >= ARRAY_SIZE(ct->net) || (key[3] == '0' && key[4]))
			continue;
		_cleanup_json_ json_t *p = NULL;
		int r = conf_propstring_parse(&net_ps, NULL, json_string_value(v), 0, &p, err);
		if (r < 0)
			return r;
		struct ct_net *n = &ct->net[ct->nnet++];
		*n = (struct ct_net){.index = (unsigned)idx};
#define COPY(f) snprintf(n->f, sizeof(n->f), "%s", json_string_value(json_object_get(p, #f)) ?: "")
		COPY(name);
		COPY(ip);
		COPY(gw);
		COPY(ip6);
		COPY(gw6);
#undef COPY
	}
	/* in index order, so what comes out never depends on the JSON's order */
	for (size_t i = 1; i < ct->nnet; i++)
		for (size_t j = i; j > 0 && ct->net[j - 1].index > ct->net[j].index; j--) {
			struct ct_net t = ct->net[j];
			ct->net[j] = ct->net[j - 1];
			ct->net[j - 1] = t;
		}
	return 0;
}

/* ---- what every distribution shares (PVE's Base) ---- */

static void primary_ips(const struct ct *ct, char *v4, size_t l4, char *v6, size_t l6)
{
	*v4 = *v6 = '\0';
	for (size_t i = 0; i < ct->nnet; i++) {
		const struct ct_net *n = &ct->net[i];
		if (n->index != 0)
			continue;
		if (*n->ip && !streq(n->ip, "dhcp") && !streq(n->ip, "manual"))
			snprintf(v4, l4, "%.*s", (int)strcspn(n->ip, "/"), n->ip);
		if (*n->ip6 && !streq(n->ip6, "auto") && !streq(n->ip6, "dhcp") &&
		    !streq(n->ip6, "manual"))
			snprintf(v6, l6, "%.*s", (int)strcspn(n->ip6, "/"), n->ip6);
	}
}

/* a line starting (after blanks) with prefix followed by a blank */
static bool has_line_prefix(const char *data, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *l = data; l && *l;) {
		const char *q = l + strspn(l, " \t");
		if (!strncmp(q, prefix, n) && (q[n] == ' ' || q[n] == '\t'))
			return true;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

int ct_update_etc_hosts(struct ct *ct, const char *hostip, const char *hostname, const char *search,
                        struct error **err)
{
	static const char lo4[] = "127.0.0.1 localhost.localnet localhost\n";
	static const char lo6[] = "::1 localhost.localnet localhost\n";
	_cleanup_free_ char *namepart = xstrndup(hostname, strcspn(hostname, "."));
	struct strbuf names = STRBUF_INIT, sec = STRBUF_INIT;
	int r;

	if (ct_is_ignored(ct, "/etc/hosts"))
		return 0;
	if (strchr(hostname, '.')) {
		strbuf_addf(&names, "%s %s", hostname, namepart);
	} else {
		_cleanup_strv_free_ char **d = ct_split_list(search);
		for (size_t i = 0; d && d[i]; i++)
			strbuf_addf(&names, "%s.%s ", hostname, d[i]);
		strbuf_addstr(&names, hostname);
	}
	if (ct_is_file(ct, "/etc/hosts")) {
		_cleanup_free_ char *data = NULL;
		r = ct_read(ct, "/etc/hosts", &data, err);
		if (r < 0)
			goto out;
		_cleanup_free_ char *rest = ct_remove_pve_sections(data);
		if (!has_line_prefix(rest, "127.0.0.1"))
			strbuf_addstr(&sec, lo4);
		if (!has_line_prefix(rest, "::1"))
			strbuf_addstr(&sec, lo6);
	} else {
		strbuf_addf(&sec, "%s%s", lo4, lo6);
	}
	if (hostip)
		strbuf_addf(&sec, "%s %s\n", hostip, names.buf);
	else if (!streq(namepart, "localhost"))
		strbuf_addf(&sec, "127.0.1.1 %s\n", names.buf);
	else
		strbuf_addf(&sec, "127.0.1.1 %s\n", namepart);
	r = ct_modify_file(ct, "/etc/hosts", sec.buf, 0, 0, err);
out:
	strbuf_release(&names);
	strbuf_release(&sec);
	return r;
}

static const char *hostname_of(const struct ct *ct)
{
	const char *h = ct_conf(ct, "hostname");
	return h && *h ? h : "localhost";
}

static int set_hostname(struct ct *ct, struct error **err)
{
	const char *hostname = hostname_of(ct);
	char v4[64], v6[64];
	_cleanup_free_ char *search = NULL, *ns = NULL;
	primary_ips(ct, v4, sizeof(v4), v6, sizeof(v6));
	ct_dns(ct, &search, &ns);
	int r = ct_update_etc_hosts(ct, *v4 ? v4 : *v6 ? v6 : NULL, hostname, search, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *line = xasprintf("%.*s\n", (int)strcspn(hostname, "."), hostname);
	return ct_write(ct, "/etc/hostname", line, 0, err);
}

static int set_dns(struct ct *ct, struct error **err)
{
	_cleanup_free_ char *search = NULL, *ns = NULL;
	struct strbuf sb = STRBUF_INIT;
	ct_dns(ct, &search, &ns);
	if (search && *search) {
		_cleanup_free_ char *s = join_list(search, " ");
		strbuf_addf(&sb, "search %s\n", s);
	}
	_cleanup_strv_free_ char **v = ct_split_list(ns);
	for (size_t i = 0; v && v[i]; i++)
		strbuf_addf(&sb, "nameserver %s\n", v[i]);
	int r = ct_modify_file(ct, "/etc/resolv.conf", sb.buf, CT_MODIFY_REPLACE, 0, err);
	strbuf_release(&sb);
	return r;
}

/* a zoneinfo name: letters, digits, "/_-+", no "." component */
static bool valid_zone(const char *z)
{
	if (!*z || *z == '/' || strstr(z, ".."))
		return false;
	for (const char *p = z; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_-+", *p)))
			return false;
	return true;
}

static int set_timezone(struct ct *ct, struct error **err)
{
	const char *zone = ct_conf(ct, "timezone");
	_cleanup_free_ char *path = NULL, *name = NULL;
	if (!zone)
		return 0;
	if (streq(zone, "host")) {
		char buf[PATH_MAX];
		const char *pfx = "/usr/share/zoneinfo/";
		if (!realpath("/etc/localtime", buf) || !str_startswith(buf, pfx) ||
		    !valid_zone(buf + strlen(pfx)))
			return 0; /* a host without a named zone: nothing to give */
		path = xstrdup(buf);
		name = xstrdup(buf + strlen(pfx));
	} else {
		if (!valid_zone(zone))
			return error_set(err, -EINVAL, 400, "invalid timezone '%s'", zone);
		path = xasprintf("/usr/share/zoneinfo/%s", zone);
		name = xstrdup(zone);
	}
	if (!ct_is_file(ct, path))
		return 0; /* PVE warns: the container does not have the zone */
	_cleanup_free_ char *cur = ct_readlink(ct, "/etc/localtime");
	if (!cur || !streq(cur, path)) {
		_cleanup_free_ char *tmp =
		    xasprintf("/etc/localtime.%d.new.tmpfile", (int)getpid());
		(void)ct_unlink(ct, tmp, NULL);
		int r = ct_symlink(ct, path, tmp, err);
		if (r == 0 && ct_is_symlink(ct, tmp))
			r = ct_rename(ct, tmp, "/etc/localtime", err);
		if (r < 0)
			return r;
	}
	if (ct_is_file(ct, "/etc/timezone")) {
		_cleanup_free_ char *line = xasprintf("%s\n", name);
		return ct_write(ct, "/etc/timezone", line, 0, err);
	}
	return 0;
}

static const char *devttydir(const struct ct *ct)
{
	/* Debian and Alpine have no /dev/lxc/, nor has an unprivileged CT */
	if (streq(ct->ostype, "debian") || streq(ct->ostype, "devuan") ||
	    streq(ct->ostype, "ubuntu") || streq(ct->ostype, "alpine") || ct->unprivileged)
		return "";
	return "lxc/";
}

int ct_securetty(struct ct *ct, const char *const *add, struct error **err)
{
	static const char *const def[] = {"console", "tty1", "tty2", "tty3", "tty4", NULL};
	_cleanup_free_ char *data = NULL;
	if (!ct_is_file(ct, "/etc/securetty"))
		return 0; /* without it root may log in everywhere */
	int r = ct_read(ct, "/etc/securetty", &data, err);
	if (r < 0)
		return r;
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(data);
	if (n && data[n - 1] == '\n')
		n--;
	strbuf_add(&sb, data, n);
	strbuf_addstr(&sb, "\n");
	for (const char *const *d = add ? add : def; *d; d++) {
		_cleanup_free_ char *dev = xasprintf("%s%s", add ? "" : devttydir(ct), *d);
		bool found = false;
		for (const char *l = sb.buf; l && *l && !found;) {
			size_t dl = strlen(dev);
			if (!strncmp(l, dev, dl)) {
				const char *q = l + dl;
				q += strspn(q, " \t\r\f\v");
				found = *q == '\n' || !*q;
			}
			const char *nl = strchr(l, '\n');
			l = nl ? nl + 1 : NULL;
		}
		if (!found)
			strbuf_addf(&sb, "%s\n", dev);
	}
	r = ct_write(ct, "/etc/securetty", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

int ct_remove_lxc_name_from_hosts(struct ct *ct, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	if (!ct_exists(ct, "/etc/hosts"))
		return 0;
	int r = ct_read(ct, "/etc/hosts", &data, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	struct strbuf sb = STRBUF_INIT;
	bool any = false;
	for (const char *l = data; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		bool drop = false;
		if (len > 9 && !strncmp(l, "127.0.1.1", 9)) {
			size_t ws = strspn(l + 9, " \t\r\f\v");
			drop = ws > 0 && len == 9 + ws + 8 && !strncmp(l + 9 + ws, "LXC_NAME", 8);
		}
		if (!drop) {
			strbuf_add(&sb, l, len);
			strbuf_addstr(&sb, "\n");
			any = true;
		}
		l = nl ? nl + 1 : l + len;
	}
	/* Perl's join of split: trailing empty lines gone, one newline */
	while (sb.len > 1 && sb.buf[sb.len - 1] == '\n' && sb.buf[sb.len - 2] == '\n')
		sb.buf[--sb.len] = '\0';
	if (!any)
		strbuf_addstr(&sb, "\n");
	r = ct_write(ct, "/etc/hosts", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

static const char *systemd_unit_dir(struct ct *ct)
{
	return ct_is_executable(ct, "/lib/systemd/systemd") ? "/lib/systemd/system"
	                                                    : "/usr/lib/systemd/system";
}

/* s/^from$/to/m on the first matching line; true when replaced */
static bool replace_line(char **text, const char *from, const char *to)
{
	size_t fl = strlen(from);
	for (char *l = *text; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len == fl && !strncmp(l, from, fl)) {
			char *n = xasprintf("%.*s%s%s", (int)(l - *text), *text, to, l + len);
			free(*text);
			*text = n;
			return true;
		}
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

int ct_fixup_old_getty(struct ct *ct, struct error **err)
{
	const char *dir = systemd_unit_dir(ct);
	_cleanup_free_ char *getty = xasprintf("%s/getty@.service", dir);
	_cleanup_free_ char *cgetty = xasprintf("%s/container-getty@.service", dir);
	_cleanup_free_ char *raw = NULL;
	if (!ct_is_file(ct, getty))
		return 0;
	int r = ct_read(ct, getty, &raw, err);
	if (r < 0)
		return r;
	bool changed = ct_is_file(ct, cgetty) ? replace_line(&raw, "ConditionPathExists=/dev/tty",
	                                                     "ConditionPathExists=/dev/tty0")
	                                      : replace_line(&raw, "ConditionPathExists=/dev/tty0",
	                                                     "ConditionPathExists=/dev/tty");
	return changed ? ct_write(ct, getty, raw, 0, err) : 0;
}

/* every "pts/%I" and "lxc/tty%I" replaced by to; true when any was */
static bool replace_tty(char **text, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	bool any = false;
	for (const char *p = *text; *p;) {
		if (!strncmp(p, "pts/%I", 6) || !strncmp(p, "lxc/tty%I", 9)) {
			strbuf_addstr(&sb, to);
			p += p[0] == 'p' ? 6 : 9;
			any = true;
		} else {
			strbuf_add(&sb, p++, 1);
		}
	}
	free(*text);
	*text = strbuf_detach(&sb, NULL);
	return any;
}

int ct_container_getty(struct ct *ct, struct error **err)
{
	const char *dir = systemd_unit_dir(ct);
	_cleanup_free_ char *tmpl = xasprintf("%s/container-getty@.service", dir);
	_cleanup_free_ char *raw = NULL;
	int r;
	/* without container-getty@ PVE looks for a getty@.service relative to
	 * "/", which no distribution has: nothing to do then */
	if (!ct_is_file(ct, tmpl))
		return 0;
	r = ct_read(ct, tmpl, &raw, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tty = xasprintf("%stty%%I", devttydir(ct));
	if (replace_tty(&raw, tty) && (r = ct_write(ct, tmpl, raw, 0, err)) < 0)
		return r;
	unsigned count = ct_tty_count(ct);
	for (unsigned i = 1; i < 7; i++) {
		_cleanup_free_ char *a =
		    xasprintf("/etc/systemd/system/getty.target.wants/getty@tty%u.service", i);
		_cleanup_free_ char *b = xasprintf(
		    "/etc/systemd/system/getty.target.wants/container-getty@%u.service", i);
		if ((r = ct_unlink(ct, a, err)) < 0 || (r = ct_unlink(ct, b, err)) < 0)
			return r;
		if (i <= count && (r = ct_symlink(ct, tmpl, b, err)) < 0)
			return r;
	}
	return ct_unlink(ct, "/etc/systemd/system/getty.target", err);
}

int ct_systemd_preset(struct ct *ct, const char *const *extra, struct error **err)
{
	struct {
		char name[64];
		bool on;
	} p[16] = {
	    {"sys-kernel-config.mount", false},
	    {"sys-kernel-debug.mount", false},
	    {"getty@.service", false},
	    {"container-getty@.service", true},
	};
	size_t n = 4;
	for (const char *const *e = extra; e && *e; e++) {
		size_t kl = strcspn(*e, "=");
		bool on = (*e)[kl] == '=' && streq(*e + kl + 1, "1");
		size_t i;
		for (i = 0; i < n; i++)
			if (strlen(p[i].name) == kl && !strncmp(p[i].name, *e, kl))
				break;
		if (i == n && n < ARRAY_SIZE(p))
			snprintf(p[n++].name, sizeof(p[0].name), "%.*s", (int)kl, *e);
		if (i < ARRAY_SIZE(p))
			p[i].on = on;
	}
	for (size_t i = 1; i < n; i++) /* sorted by name, bytewise */
		for (size_t j = i; j > 0 && strcmp(p[j - 1].name, p[j].name) > 0; j--) {
			__typeof__(p[0]) t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "# Added by PVE at create-time for first-boot configuration.\n");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s %s\n", p[i].on ? "enable" : "disable", p[i].name);
	int r = ct_make_path(ct, "/etc/systemd/system-preset", err);
	if (r == 0)
		r = ct_write(ct, "/etc/systemd/system-preset/00-pve.preset", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

int ct_systemd_disable_static_units(struct ct *ct, struct error **err)
{
	static const char *const units[] = {"sys-kernel-config.mount", "sys-kernel-debug.mount"};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		_cleanup_free_ char *p = xasprintf("/etc/systemd/system/%s", units[i]);
		int r = ct_is_file(ct, p) ? 0 : ct_symlink(ct, "/dev/null", p, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int ct_systemd_networkd(struct ct *ct, struct error **err)
{
	static const char *const modes[] = {"no", "ipv4", "ipv6", "yes"};
	for (size_t i = 0; i < ct->nnet; i++) {
		const struct ct_net *d = &ct->net[i];
		if (!*d->name)
			continue;
		struct strbuf sb = STRBUF_INIT, routes = STRBUF_INIT;
		unsigned dhcp = 0;
		bool v4 = false, v6 = false;
		const char *ra = "false";
		strbuf_addf(&sb,
		            "[Match]\nName = %s\n\n[Network]\nDescription = Interface %s "
		            "autoconfigured by PVE\n",
		            d->name, d->name);
		if (*d->ip) {
			if (streq(d->ip, "dhcp"))
				dhcp |= 1;
			else if (!streq(d->ip, "manual")) {
				v4 = true;
				strbuf_addf(&sb, "Address = %s\n", d->ip);
			}
		}
		if (*d->gw) {
			strbuf_addf(&sb, "Gateway = %s\n", d->gw);
			if (v4 && !ct_ip_in_cidr(d->gw, d->ip, 4))
				strbuf_addf(&routes,
				            "\n[Route]\nDestination = %s/32\nScope = link\n",
				            d->gw);
		}
		if (*d->ip6) {
			if (streq(d->ip6, "dhcp")) {
				dhcp |= 2;
				ra = "true";
			} else if (streq(d->ip6, "auto")) {
				ra = "true";
			} else if (!streq(d->ip6, "manual")) {
				v6 = true;
				strbuf_addf(&sb, "Address = %s\n", d->ip6);
			}
		}
		if (*d->gw6) {
			ra = "false";
			strbuf_addf(&sb, "Gateway = %s\n", d->gw6);
			if (v6 && !ct_ip_in_cidr(d->gw6, d->ip6, 6) &&
			    !ct_ip_in_cidr(d->gw6, "fe80::/10", 6))
				strbuf_addf(&routes,
				            "\n[Route]\nDestination = %s/128\nScope = link\n",
				            d->gw6);
		}
		strbuf_addf(&sb, "DHCP = %s\nIPv6AcceptRA = %s\n%s", modes[dhcp], ra, routes.buf);
		_cleanup_free_ char *fn = xasprintf("/etc/systemd/network/%s.network", d->name);
		int r = ct_make_path(ct, "/etc/systemd/network", err);
		if (r == 0)
			r = ct_write(ct, fn, sb.buf, 0, err);
		strbuf_release(&sb);
		strbuf_release(&routes);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One line of passwd or shadow with user's password field (and, for
 * shadow, the day of the last change) replaced. */
static int replace_pw(struct ct *ct, const char *file, const char *user, const char *epw,
                      bool shadow, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	struct stat st;
	int r = ct_read(ct, file, &data, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if ((r = ct_stat(ct, file, &st)) < 0)
		return error_set(err, r, 500, "unable to stat '%s' in the container", file);
	size_t ul = strlen(user);
	long days = (long)(time(NULL) / 86400);
	struct strbuf sb = STRBUF_INIT;
	for (const char *l = data; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
		const char *f1 = l + ul + 1; /* after "user:" */
		const char *e1 = len > ul && !strncmp(l, user, ul) && l[ul] == ':'
		                     ? memchr(f1, ':', len - ul - 1)
		                     : NULL;
		const char *e2 =
		    e1 && shadow ? memchr(e1 + 1, ':', len - (size_t)(e1 + 1 - l)) : e1;
		if (e1 && e2 && !memchr(f1, '\n', (size_t)(e2 - f1))) {
			if (shadow)
				strbuf_addf(&sb, "%s:%s:%ld:", user, epw, days);
			else
				strbuf_addf(&sb, "%s:%s:", user, epw);
			strbuf_add(&sb, e2 + 1, len - (size_t)(e2 + 1 - l));
		} else {
			strbuf_add(&sb, l, len);
		}
		l += len;
	}
	r = ct_write_owned(ct, file, sb.buf, st.st_mode & 07777, st.st_uid, st.st_gid, err);
	strbuf_release(&sb);
	return r;
}

/* A crypt(3) hash as PVE accepts it ($1$, $2a$, $5$, $6$ ...), or "*". */
static bool valid_hash(const char *h)
{
	if (streq(h, "*"))
		return true;
	regex_t re;
	if (regcomp(&re, "^\\$(1|2[axy]?|5|6)\\$[a-zA-Z0-9./]{1,16}\\$[a-zA-Z0-9./]+$",
	            REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&re, h, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

int ct_set_user_password(struct ct *ct, const char *user, const char *hash, struct error **err)
{
	int r;
	if (!valid_hash(hash))
		return error_set(err, -EINVAL, 400, "invalid password hash");
	if (!ct_is_file(ct, "/etc/passwd"))
		return 0;
	if (ct_is_file(ct, "/etc/shadow")) {
		if ((r = replace_pw(ct, "/etc/shadow", user, hash, true, err)) < 0)
			return r;
		return replace_pw(ct, "/etc/passwd", user, "x", false, err);
	}
	return replace_pw(ct, "/etc/passwd", user, hash, false, err);
}

static int set_authorized_keys(struct ct *ct, const char *keys, struct error **err)
{
	_cleanup_free_ char *home = xstrdup("/root/");
	_cleanup_free_ char *pw = NULL;
	int r;
	if (ct_is_file(ct, "/etc/passwd") && ct_read(ct, "/etc/passwd", &pw, NULL) == 0) {
		for (char *save = NULL, *l = strtok_r(pw, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (!str_startswith(l, "root:"))
				continue;
			char *f = l;
			for (int i = 0; i < 5 && f; i++) {
				f = strchr(f, ':');
				f = f ? f + 1 : NULL;
			}
			char *e = f ? strchr(f, ':') : NULL;
			if (e) {
				free(home);
				home = xstrndup(f, (size_t)(e - f));
				break;
			}
		}
	}
	if (!ct_is_dir(ct, home) && !ct_is_symlink(ct, home))
		return error_set(err, -ENOENT, 500, "home directory '%s' of root does not exist!",
		                 home);
	_cleanup_free_ char *ssh = xasprintf("%s/.ssh", home);
	if (!ct_is_dir(ct, ssh) && (r = ct_mkdir(ct, ssh, 0700, err)) < 0)
		return r;
	_cleanup_free_ char *ak = xasprintf("%s/.ssh/authorized_keys", home);
	return ct_modify_file(ct, ak, keys, 0, 0600, err);
}

static bool crontab_name_ok(const char *n)
{
	if (!*n)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

/* root's cron jobs at a random minute, so the containers of one host do
 * not all run theirs at once */
static int randomize_crontab(struct ct *ct, struct error **err)
{
	_cleanup_strv_free_ char **files = NULL;
	regex_t re;
	int r = 0;

	if (ct_is_file(ct, "/etc/crontab"))
		strv_extend(&files, "/etc/crontab");
	_cleanup_strv_free_ char **names = ct_list_dir(ct, "/etc/cron.d");
	for (size_t i = 0; names && names[i]; i++)
		if (crontab_name_ok(names[i]))
			strv_push(&files, xasprintf("/etc/cron.d/%s", names[i]));
	if (regcomp(&re,
	            "^[0-9]+([[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+[^[:"
	            "space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+root[[:space:]]+[^[:space:]].*)"
	            "$",
	            REG_EXTENDED))
		return error_set(err, -EINVAL, 500, "internal error: crontab pattern");
	for (size_t i = 0; files && files[i] && r == 0; i++) {
		_cleanup_free_ char *data = NULL;
		if ((r = ct_read(ct, files[i], &data, err)) < 0)
			break;
		struct strbuf sb = STRBUF_INIT;
		/* split(/\n/): trailing empty lines dropped */
		size_t len = strlen(data);
		while (len && data[len - 1] == '\n')
			data[--len] = '\0';
		for (char *l = len ? data : NULL; l;) {
			char *e = strchr(l, '\n');
			if (e)
				*e = '\0';
			regmatch_t m[2];
			if (regexec(&re, l, 2, m, 0) == 0)
				strbuf_addf(&sb, "%d%s\n", (int)(ct_rand() * 59), l + m[1].rm_so);
			else
				strbuf_addf(&sb, "%s\n", l);
			l = e ? e + 1 : NULL;
		}
		r = ct_write(ct, files[i], sb.buf, 0, err);
		strbuf_release(&sb);
	}
	regfree(&re);
	return r;
}

/* ---- the distributions' versions (the plugins' constructors) ---- */

/* "release 8.4.2105" / "release 10" -> 8.4 / 10 */
double ct_redhat_version(const char *release, bool *ok)
{
	const char *p = release ? strstr(release, "release") : NULL;
	*ok = false;
	if (!p)
		return 0;
	p += 7;
	if (!strchr(" \t", *p))
		return 0;
	p += strspn(p, " \t");
	if (*p < '0' || *p > '9')
		return 0;
	*ok = true;
	return strtod(p, NULL);
}

static int init_version(struct ct *ct, struct error **err)
{
	const char *t = ct->ostype;
	if (streq(t, "debian")) {
		static const struct {
			const char *name;
			const char *v;
		} map[] = {{"stretch/sid", "9.1"}, {"buster/sid", "10"},  {"bullseye/sid", "11"},
		           {"bookworm/sid", "12"}, {"trixie/sid", "13"},  {"forky/sid", "14"},
		           {"duke/sid", "15"},     {"kali-rolling", "12"}};
		_cleanup_free_ char *v = ct_read_firstline(ct, "/etc/debian_version");
		if (!v)
			return error_set(err, -EINVAL, 500, "unable to read version info");
		const char *s = v;
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (streq(v, map[i].name))
				s = map[i].v;
		if (*s < '0' || *s > '9')
			return error_set(err, -EINVAL, 500, "unable to parse version info '%s'", s);
		ct->vnum = (double)strtol(s, NULL, 10);
		if (ct->vnum < 4)
			return error_set(err, -EINVAL, 500,
			                 "Container Debian version '%.0f' is too old", ct->vnum);
		snprintf(ct->version, sizeof(ct->version), "%.0f", ct->vnum);
	} else if (streq(t, "devuan")) {
		static const struct {
			const char *name;
			int v;
		} map[] = {{"jessie", 8},          {"ascii", 9},           {"ascii/ceres", 9},
		           {"beowulf", 10},        {"beowulf/ceres", 10},  {"chimaera", 11},
		           {"chimaera/ceres", 11}, {"daedalus", 12},       {"daedalus/ceres", 12},
		           {"excalibur", 13},      {"excalibur/ceres", 13}};
		_cleanup_free_ char *v = ct_read_firstline(ct, "/etc/devuan_version");
		if (!v)
			return error_set(err, -EINVAL, 500, "unable to read version info");
		for (char *p = v; *p; p++)
			*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (streq(v, map[i].name)) {
				ct->vnum = map[i].v;
				snprintf(ct->version, sizeof(ct->version), "%d", map[i].v);
				return 0;
			}
		return error_set(err, -EINVAL, 500, "unsupported Devuan version '%s'", v);
	} else if (streq(t, "ubuntu")) {
		_cleanup_free_ char *lsb = NULL;
		if (ct_read(ct, "/etc/lsb-release", &lsb, err) < 0)
			return error_set(err, -EINVAL, 500, "unable to read version info");
		for (char *save = NULL, *l = strtok_r(lsb, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			unsigned a, b;
			char rest;
			if (!strncasecmp(l, "DISTRIB_RELEASE=", 16) &&
			    sscanf(l + 16, "%u.%u%c", &a, &b, &rest) == 2) {
				snprintf(ct->version, sizeof(ct->version), "%u.%02u", a, b);
				ct->vnum = strtod(ct->version, NULL);
			}
		}
		if (!ct->version[0])
			return error_set(err, -EINVAL, 500, "unable to read version info");
		if (ct->vnum < 17)
			return error_set(err, -EINVAL, 500,
			                 "unsupported ancient Ubuntu version '%s'", ct->version);
	} else if (streq(t, "alpine")) {
		_cleanup_free_ char *v = ct_read_firstline(ct, "/etc/alpine-release");
		snprintf(ct->version, sizeof(ct->version), "%s", v ? v : "");
		ct->vnum = strtod(ct->version, NULL);
	} else if (streq(t, "centos")) {
		_cleanup_free_ char *v = ct_read_firstline(ct, "/etc/redhat-release");
		bool ok;
		if (!v)
			return error_set(err, -EINVAL, 500, "unable to read version info");
		ct->vnum = ct_redhat_version(v, &ok);
		if (!ok)
			return error_set(err, -EINVAL, 500, "unable to parse centos version '%s'",
			                 v);
		if (!(ct->vnum >= 5 && ct->vnum < 11))
			return error_set(err, -EINVAL, 500, "unsupported centos version '%g'",
			                 ct->vnum);
		snprintf(ct->version, sizeof(ct->version), "%g", ct->vnum);
	} else if (streq(t, "fedora")) {
		const char *v = json_string_value(json_object_get(ct->os_release, "VERSION_ID"));
		if (!v || strtod(v, NULL) < 22)
			return error_set(err, -EINVAL, 500, "unsupported Fedora release '%s'",
			                 v ? v : "");
		snprintf(ct->version, sizeof(ct->version), "%s", v);
		ct->vnum = strtod(v, NULL);
	} else if (streq(t, "opensuse")) {
		const char *v = json_string_value(json_object_get(ct->os_release, "VERSION_ID"));
		const char *id = json_string_value(json_object_get(ct->os_release, "ID"));
		unsigned a, b, y, m, d;
		char rest;
		if (v && sscanf(v, "%u.%u%c", &a, &b, &rest) == 2 &&
		    strspn(v, "0123456789.") == strlen(v)) {
			if (!(a >= 42 || (a == 13 && b <= 2) ||
			      (streq_ptr(id, "sles") && a == 12) || a == 15 || a == 16))
				return error_set(err, -EINVAL, 500, "unsupported suse release '%s'",
				                 v);
		} else if (v && strlen(v) == 8 && strspn(v, "0123456789") == 8 &&
		           sscanf(v, "%4u%2u%2u", &y, &m, &d) == 3) {
			if (!(y >= 2017 && m <= 12 && d <= 31))
				return error_set(err, -EINVAL, 500,
				                 "unsupported suse tumbleweed release '%s'", v);
		} else {
			return error_set(err, -EINVAL, 500, "unrecognized suse release");
		}
		snprintf(ct->version, sizeof(ct->version), "%s", v);
		ct->vnum = strtod(v, NULL);
	} else if (streq(t, "archlinux") || streq(t, "unmanaged")) {
		/* no version */
	} else {
		return error_set(err, -EOPNOTSUPP, 500, "ostype '%s' is not supported", t);
	}
	return 0;
}

static int ct_open(const char *rootfs, const char *ostype, const json_t *conf,
                   const struct lxc_idmap *map, struct ct *ct, struct error **err)
{
	const char *type;
	int r = open_root(rootfs, ct, err);
	if (r < 0)
		return r;
	ct->conf = conf;
	ct->os_release = read_os_release(ct);
	if (map && map->n > 0) {
		uint32_t uid, gid;
		if (!lxc_idmap_root(map, 'u', &uid) || !lxc_idmap_root(map, 'g', &gid))
			return error_set(err, -EINVAL, 400,
			                 "the id map does not map the container's root");
		ct->mapped = true;
		ct->uid = uid;
		ct->gid = gid;
	}
	const char *u = ct_conf(ct, "unprivileged");
	ct->unprivileged = (u && streq(u, "1")) || ct->mapped;
	/* as PVE: "unmanaged" is taken at its word, anything else is what the
	 * tree says it is */
	if (ostype && streq(ostype, "unmanaged"))
		type = "unmanaged";
	else if ((r = detect(ct, ct->os_release, &type, err)) < 0)
		return r;
	ct->ostype = type;
	if ((r = init_version(ct, err)) < 0)
		return r;
	return parse_nets(ct, err);
}

/* ---- the hooks ---- */

static bool is(const struct ct *ct, const char *t)
{
	return streq(ct->ostype, t);
}

static int setup_init(struct ct *ct, struct error **err)
{
	if (is(ct, "debian") || is(ct, "devuan"))
		return ct_debian_setup_init(ct, err);
	if (is(ct, "ubuntu")) {
		int r = 0;
		if (ct->vnum >= 23.04) {
			static const char *const x[] = {"systemd-networkd.service=1", NULL};
			r = ct_systemd_preset(ct, x, err);
		}
		return r < 0 ? r : ct_container_getty(ct, err);
	}
	if (is(ct, "alpine"))
		return ct_alpine_setup_init(ct, err);
	if (is(ct, "centos"))
		return ct_centos_setup_init(ct, err);
	if (is(ct, "fedora"))
		return ct_fedora_setup_init(ct, err);
	if (is(ct, "opensuse"))
		return ct_suse_setup_init(ct, err);
	if (is(ct, "archlinux")) {
		static const char *const x[] = {"systemd-networkd.service=1", NULL};
		int r = ct_systemd_preset(ct, x, err);
		return r < 0 ? r : ct_container_getty(ct, err);
	}
	return 0;
}

static int setup_network(struct ct *ct, struct error **err)
{
	if (is(ct, "debian") || is(ct, "devuan"))
		return ct_debian_setup_network(ct, err);
	if (is(ct, "ubuntu"))
		return ct->vnum >= 17.10 ? ct_systemd_networkd(ct, err)
		                         : ct_debian_setup_network(ct, err);
	if (is(ct, "alpine"))
		return ct_alpine_setup_network(ct, err);
	if (is(ct, "centos"))
		return ct_centos_setup_network(ct, err);
	if (is(ct, "fedora"))
		return ct_fedora_setup_network(ct, err);
	if (is(ct, "opensuse"))
		return ct_suse_setup_network(ct, err);
	if (is(ct, "archlinux"))
		return ct_systemd_networkd(ct, err);
	return 0;
}

static int do_set_hostname(struct ct *ct, struct error **err)
{
	if (is(ct, "centos") || is(ct, "fedora"))
		return ct_centos_set_hostname(ct, err);
	return set_hostname(ct, err);
}

static int template_fixup(struct ct *ct, struct error **err)
{
	if (is(ct, "alpine"))
		return ct_alpine_template_fixup(ct, err);
	if (is(ct, "centos"))
		return ct_centos_template_fixup(ct, err);
	if (is(ct, "fedora"))
		return ct_fedora_template_fixup(ct, err);
	if (is(ct, "opensuse"))
		return ct_suse_template_fixup(ct, err);
	if (is(ct, "archlinux")) {
		int r = ct_securetty(ct, NULL, err);
		return r < 0 ? r : ct_remove_lxc_name_from_hosts(ct, err);
	}
	if (is(ct, "ubuntu")) {
		int r = 0;
		if (ct->vnum >= 17.10 && ct->vnum < 23.04) {
			(void)ct_mkdir(ct, "/etc/systemd/system/multi-user.target.wants", 0777,
			               NULL);
			(void)ct_mkdir(ct, "/etc/systemd/system/socket.target.wants", 0777, NULL);
			r = ct_symlink(ct, "/lib/systemd/system/systemd-networkd.service",
			               "/etc/systemd/system/multi-user.target.wants/"
			               "systemd-networkd.service",
			               err);
			if (r == 0)
				r = ct_symlink(ct, "/lib/systemd/system/systemd-networkd.socket",
				               "/etc/systemd/system/socket.target.wants/"
				               "systemd-networkd.socket",
				               err);
		}
		return r < 0 ? r : ct_unlink(ct, "/etc/netplan/10-lxc.yaml", err);
	}
	return 0;
}

static int clear_machine_id(struct ct *ct, struct error **err)
{
	bool systemd = ct_is_executable(ct, "/lib/systemd/systemd") ||
	               ct_is_executable(ct, "/usr/lib/systemd/systemd");
	int r = 0;
	if (systemd && ct_is_file(ct, "/var/lib/dbus/machine-id") &&
	    !ct_is_symlink(ct, "/var/lib/dbus/machine-id"))
		r = ct_unlink(ct, "/var/lib/dbus/machine-id", err);
	if (r == 0 && ct_is_file(ct, "/etc/machine-id"))
		r = ct_unlink(ct, "/etc/machine-id", err);
	return r;
}

/* New ssh host keys, as PVE makes them at create: a template's keys would
 * be the same in every container made from it.  Generated on the host in
 * a private directory, then written inside. */
static int ssh_host_keys(struct ct *ct, struct error **err)
{
	static const char *const types[] = {"rsa", "ecdsa", "ed25519"};
	const char *hostname = hostname_of(ct);
	char dir[] = "/tmp/ctvm-sshkey-XXXXXX";
	int r = 0;

	if (!ct_is_dir(ct, "/etc/ssh"))
		return 0;
	if (!mkdtemp(dir))
		return error_set(err, -errno, 500, "unable to create a temporary directory - %s",
		                 strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(types) && r == 0; i++) {
		_cleanup_free_ char *file = xasprintf("%s/key", dir);
		_cleanup_free_ char *pubf = xasprintf("%s/key.pub", dir);
		_cleanup_free_ char *priv = NULL, *pub = NULL;
		struct cmd c;
		cmd_init(&c, "ssh-keygen");
		cmd_add(&c, "-q");
		cmd_add(&c, "-f");
		cmd_add(&c, file);
		cmd_add(&c, "-t");
		cmd_add(&c, types[i]);
		cmd_add(&c, "-N");
		cmd_add(&c, "");
		cmd_add(&c, "-C");
		cmd_addf(&c, "root@%.*s", (int)strcspn(hostname, "."), hostname);
		r = cmd_run(&c, NULL, err);
		cmd_release(&c);
		if (r == 0)
			r = read_file(file, 1 << 16, &priv, NULL, err);
		if (r == 0)
			r = read_file(pubf, 1 << 16, &pub, NULL, err);
		unlink(file);
		unlink(pubf);
		if (r < 0)
			break;
		_cleanup_free_ char *dst = xasprintf("/etc/ssh/ssh_host_%s_key", types[i]);
		_cleanup_free_ char *dstp = xasprintf("/etc/ssh/ssh_host_%s_key.pub", types[i]);
		r = ct_write(ct, dst, priv, 0600, err);
		if (r == 0)
			r = ct_write(ct, dstp, pub, 0644, err);
		explicit_bzero(priv, strlen(priv));
	}
	rmdir(dir);
	return r;
}

static int common_tail(struct ct *ct, struct error **err)
{
	int r;
	if ((r = setup_init(ct, err)) < 0 || (r = setup_network(ct, err)) < 0 ||
	    (r = do_set_hostname(ct, err)) < 0 || (r = set_dns(ct, err)) < 0 ||
	    (r = set_timezone(ct, err)) < 0)
		return r;
	return 0;
}

int lxc_setup_pre_start(const char *rootfs, const char *ostype, const json_t *conf, long vmid,
                        const struct lxc_idmap *map, struct error **err)
{
	struct ct ct;
	int r = ct_open(rootfs, ostype, conf, map, &ct, err);
	if (r == 0 && !is(&ct, "unmanaged")) {
		r = ct_write(&ct, "/fastboot", "", 0, err); /* skips fsck, among others */
		if (r == 0)
			r = common_tail(&ct, err);
	}
	if (r < 0 && err && *err)
		error_prefix(*err, "CT %ld setup", vmid);
	ct_done(&ct);
	return r;
}

int lxc_setup_post_create(const char *rootfs, const char *ostype, const json_t *conf,
                          const char *pw_hash, const char *ssh_keys, const struct lxc_idmap *map,
                          struct error **err)
{
	struct ct ct;
	int r;

	if (pw_hash && !valid_hash(pw_hash))
		return error_set(err, -EINVAL, 400, "invalid password hash");
	r = ct_open(rootfs, ostype, conf, map, &ct, err);
	if (r < 0 || is(&ct, "unmanaged"))
		goto out;
	if ((r = clear_machine_id(&ct, err)) < 0)
		goto out;
	if ((is(&ct, "debian") || is(&ct, "devuan")) && (r = ct_debian_snakeoil(&ct, err)) < 0)
		goto out;
	if ((r = template_fixup(&ct, err)) < 0 || (r = randomize_crontab(&ct, err)) < 0)
		goto out;
	if (pw_hash && (r = ct_set_user_password(&ct, "root", pw_hash, err)) < 0)
		goto out;
	if (ssh_keys && *ssh_keys && (r = set_authorized_keys(&ct, ssh_keys, err)) < 0)
		goto out;
	if ((r = common_tail(&ct, err)) < 0)
		goto out;
	r = ssh_host_keys(&ct, err);
out:
	ct_done(&ct);
	return r;
}
