/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * PVE::LXC::Setup: the ostype of a tree, each distribution's version,
 * and the hooks.  What every distribution shares (PVE's Base plugin) is
 * in lxc-setup-base.c, the distributions' own parts in lxc-setup-debian.c
 * and lxc-setup-redhat.c, the file layer in lxc-setup-fs.c.  Behaviour
 * (file formats, which files, in which order) follows Proxmox's plugins,
 * checked by the distribution-setup fixtures of
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

double ct_rand(void)
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
		if (!ct_idmap_root(map, 'u', &uid) || !ct_idmap_root(map, 'g', &gid))
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
	return ct_set_hostname(ct, err);
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
	const char *hostname = ct_hostname(ct);
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
	    (r = do_set_hostname(ct, err)) < 0 || (r = ct_set_dns(ct, err)) < 0 ||
	    (r = ct_set_timezone(ct, err)) < 0)
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

	if (pw_hash && !ct_valid_hash(pw_hash))
		return error_set(err, -EINVAL, 400, "invalid password hash");
	r = ct_open(rootfs, ostype, conf, map, &ct, err);
	if (r < 0 || is(&ct, "unmanaged"))
		goto out;
	if ((r = clear_machine_id(&ct, err)) < 0)
		goto out;
	if ((is(&ct, "debian") || is(&ct, "devuan") || is(&ct, "ubuntu")) &&
	    (r = ct_debian_snakeoil(&ct, err)) < 0)
		goto out;
	if ((r = template_fixup(&ct, err)) < 0 || (r = ct_randomize_crontab(&ct, err)) < 0)
		goto out;
	if (pw_hash && (r = ct_set_user_password(&ct, "root", pw_hash, err)) < 0)
		goto out;
	if (ssh_keys && *ssh_keys && (r = ct_set_authorized_keys(&ct, ssh_keys, err)) < 0)
		goto out;
	if ((r = common_tail(&ct, err)) < 0)
		goto out;
	r = ssh_host_keys(&ct, err);
out:
	ct_done(&ct);
	return r;
}
