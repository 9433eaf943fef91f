/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc/<vmid>.conf: the file's value checks, the raw lxc.* keys, the API's
 * value check, the typed views of the property strings and the snapshot
 * rules (lxc-conf.h).  PVE: PVE::LXC::Config.
 */
#include "common.h"

#include <arpa/inet.h>

#include "error.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf-internal.h"
#include "qemu-conf.h" /* qemu_parse_size() */
#include "storage-formats.h"
#include "strbuf.h"
#include "strutil.h"
#include "strv.h"
#include "xalloc.h"

const struct conf_format *const lxc_conf_formats[] = {conf_formats, storage_formats, NULL};

/* --- value formats --- */

int lxc_check_mp_string(const char *value, struct error **err)
{
	size_t n = strlen(value);
	bool bad = strstr(value, "/./") || strstr(value, "/../") || str_startswith(value, "../") ||
	           (n >= 2 && streq(value + n - 2, "/.")) ||
	           (n >= 3 && streq(value + n - 3, "/.."));
	if (bad)
		return error_set(err, -EINVAL, 400, "%s contains illegal character sequences",
		                 value);
	return 0;
}

int lxc_check_dev_string(const char *value, struct error **err)
{
	size_t n = strlen(value);
	bool bad = !str_startswith(value, "/dev/") || strstr(value, "/./") ||
	           strstr(value, "/../") || (n >= 2 && streq(value + n - 2, "/.")) ||
	           (n >= 3 && streq(value + n - 3, "/.."));
	if (bad)
		return error_set(err, -EINVAL, 400, "%s is not a valid device path", value);
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* PVE's dns-name: labels of [a-zA-Z0-9-], not starting or ending with '-' */
static bool dns_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
		} else if (is_alnum(s[i]) || s[i] == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

int lxc_check_dns_name(const char *value, struct error **err)
{
	if (!dns_name_ok(value, strlen(value)))
		return error_set(err, -EINVAL, 400, "value does not look like a valid DNS name");
	return 0;
}

/* PVE's split_list(): items separated by [,; \t] (and NULs, never here). */
static char **split_list(const char *value)
{
	char **items = NULL;
	for (const char *p = value; *p;) {
		size_t skip = strspn(p, ",; \t");
		p += skip;
		size_t len = strcspn(p, ",; \t");
		if (len)
			strv_push(&items, xstrndup(p, len));
		p += len;
	}
	return items;
}

int lxc_check_dns_name_list(const char *value, struct error **err)
{
	_cleanup_strv_free_ char **items = split_list(value);
	if (!items) /* would be stored empty */
		return error_set(err, -EINVAL, 400, "value does not look like a valid DNS name");
	for (char **i = items; *i; i++)
		if (!dns_name_ok(*i, strlen(*i)))
			return error_set(err, -EINVAL, 400,
			                 "value does not look like a valid DNS name");
	return 0;
}

static bool ip4_ok(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

static bool ip6_ok(const char *s)
{
	struct in6_addr a;
	return inet_pton(AF_INET6, s, &a) == 1;
}

/* "addr/prefix" with prefix 0..max */
static bool cidr_ok(const char *s, bool v6)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash - s > 45 || !slash[1] || strlen(slash + 1) > 3)
		return false;
	for (const char *q = slash + 1; *q; q++)
		if (!(*q >= '0' && *q <= '9'))
			return false;
	if (atoi(slash + 1) > (v6 ? 128 : 32))
		return false;
	char addr[64];
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	return v6 ? ip6_ok(addr) : ip4_ok(addr);
}

int lxc_check_ipv4(const char *value, struct error **err)
{
	if (!ip4_ok(value))
		return error_set(err, -EINVAL, 400,
		                 "value does not look like a valid IPv4 address");
	return 0;
}

int lxc_check_ipv6(const char *value, struct error **err)
{
	if (!ip6_ok(value))
		return error_set(err, -EINVAL, 400,
		                 "value does not look like a valid IPv6 address");
	return 0;
}

int lxc_check_ipv4_config(const char *value, struct error **err)
{
	if (!streq(value, "dhcp") && !streq(value, "manual") && !cidr_ok(value, false))
		return error_set(err, -EINVAL, 400,
		                 "value does not look like a valid ipv4 network configuration");
	return 0;
}

int lxc_check_ipv6_config(const char *value, struct error **err)
{
	if (!streq(value, "auto") && !streq(value, "dhcp") && !streq(value, "manual") &&
	    !cidr_ok(value, true))
		return error_set(err, -EINVAL, 400,
		                 "value does not look like a valid ipv6 network configuration");
	return 0;
}

/* an address, or a link-local IPv6 one with its interface (fe80::1%eth0) */
static bool nameserver_ok(const char *s)
{
	const char *pct = strchr(s, '%');
	if (!pct)
		return ip4_ok(s) || ip6_ok(s);
	if (!str_startswith(s, "fe80:") || pct - s > 45 || !pct[1] || strlen(pct + 1) > 15)
		return false;
	for (const char *q = pct + 1; *q; q++)
		if (!is_alnum(*q) && *q != '-' && *q != '_' && *q != '.')
			return false;
	char addr[64];
	snprintf(addr, sizeof(addr), "%.*s", (int)(pct - s), s);
	return ip6_ok(addr);
}

int lxc_check_nameserver_list(const char *value, struct error **err)
{
	_cleanup_strv_free_ char **items = split_list(value);
	if (!items) /* would be stored empty */
		return error_set(err, -EINVAL, 400, "value does not look like a valid IP address");
	for (char **i = items; *i; i++)
		if (!nameserver_ok(*i))
			return error_set(err, -EINVAL, 400,
			                 "value does not look like a valid IP address");
	return 0;
}

int lxc_check_timezone(const char *value, struct error **err)
{
	/* zone.tab's names: Area/Location[/Sub], [A-Za-z0-9_+-] */
	bool ok = streq(value, "host") || streq(value, "UTC");
	if (!ok && strlen(value) <= 64 && value[0] != '/' && !strstr(value, "..")) {
		ok = strchr(value, '/') != NULL;
		for (const char *q = value; *q && ok; q++)
			ok = is_alnum(*q) || *q == '_' || *q == '+' || *q == '-' || *q == '/';
	}
	if (!ok)
		return error_set(err, -EINVAL, 400, "invalid time zone '%s'", value);
	return 0;
}

int lxc_check_tags(const char *value, struct error **err)
{
	/* pve-tag-list: [a-z0-9_][a-z0-9_\-\+\.]* (any case), separated by ;, or blanks */
	_cleanup_strv_free_ char **items = split_list(value);
	for (char **i = items; i && *i; i++) {
		bool ok = is_alnum((*i)[0]) || (*i)[0] == '_';
		for (const char *q = *i + 1; *q && ok; q++)
			ok = is_alnum(*q) || *q == '_' || *q == '-' || *q == '+' || *q == '.';
		if (!ok)
			return error_set(err, -EINVAL, 400, "invalid tag '%s'", *i);
	}
	return 0;
}

int lxc_check_startup(const char *value, struct error **err)
{
	struct guest_startup su;
	return guest_startup_parse(value, &su, err);
}

/* --- the file's checks (PVE::LXC::Config->check_type) --- */

const struct conf_prop *lxc_conf_prop(const char *key)
{
	const struct conf_prop *p = conf_props_find(lxc_conf_props, key, NULL);
	return p && !p->alias ? p : NULL;
}

static int file_check(const char *key, const char *value, enum guest_conf_where where,
                      const char *special, char **ret_value, struct error **err)
{
	(void)where;
	(void)special;
	const struct conf_prop *p = lxc_conf_prop(key);
	if (!p)
		return error_set(err, -EINVAL, 400, "unknown setting '%s'", key);
	if (strpbrk(value, "\r\n"))
		return error_set(err, -EINVAL, 400, "property contains a line feed");
	switch (p->type) {
	case CONF_TYPE_BOOLEAN:
	case CONF_TYPE_INTEGER:
	case CONF_TYPE_NUMBER:
		return guest_conf_file_scalar(p->type, value, ret_value, err);
	case CONF_TYPE_PROPSTRING: {
		/* checked, and kept as written: PVE's parser does not rewrite it */
		json_t *obj = NULL;
		int r = conf_propstring_parse(p->sub, lxc_conf_formats, value, 0, &obj, err);
		json_decref(obj);
		if (r < 0)
			return r;
		*ret_value = xstrdup(value);
		return 0;
	}
	default:
		/* a string's format is checked, its enumeration and pattern not
		 * (PVE's check_type) */
		if (p->check) {
			int r = p->check(value, err);
			if (r < 0)
				return r;
		}
		if (p->format) {
			int r = conf_format_check(lxc_conf_formats, p->format, value, err);
			if (r < 0)
				return r;
		}
		*ret_value = xstrdup(value);
		return 0;
	}
}

/* --- raw keys (is_valid_lxc_conf_key) --- */

static const char *const valid_raw_keys[] = {
    "lxc.apparmor.profile",
    "lxc.apparmor.allow_incomplete",
    "lxc.apparmor.allow_nesting",
    "lxc.apparmor.raw",
    "lxc.selinux.context",
    "lxc.include",
    "lxc.arch",
    "lxc.uts.name",
    "lxc.signal.halt",
    "lxc.signal.reboot",
    "lxc.signal.stop",
    "lxc.init.cmd",
    "lxc.init.cwd",
    "lxc.init.uid",
    "lxc.init.gid",
    "lxc.init.groups",
    "lxc.pty.max",
    "lxc.console.logfile",
    "lxc.console.path",
    "lxc.tty.max",
    "lxc.devtty.dir",
    "lxc.hook.autodev",
    "lxc.autodev",
    "lxc.kmsg",
    "lxc.mount.fstab",
    "lxc.mount.entry",
    "lxc.mount.auto",
    "lxc.rootfs.mount",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.seccomp.profile",
    "lxc.seccomp.notify.proxy",
    "lxc.seccomp.notify.cookie",
    "lxc.idmap",
    "lxc.hook.pre-start",
    "lxc.hook.pre-mount",
    "lxc.hook.mount",
    "lxc.hook.start",
    "lxc.hook.stop",
    "lxc.hook.post-stop",
    "lxc.hook.clone",
    "lxc.hook.destroy",
    "lxc.hook.version",
    "lxc.log.level",
    "lxc.log.file",
    "lxc.start.auto",
    "lxc.start.delay",
    "lxc.start.order",
    "lxc.group",
    "lxc.environment",
    "lxc.environment.runtime",
    "lxc.environment.hooks",
    /* namespaced by CLONE_NEWIPC */
    "lxc.sysctl.fs.mqueue",
    "lxc.sysctl.kernel.msgmax",
    "lxc.sysctl.kernel.msgmnb",
    "lxc.sysctl.kernel.msgmni",
    "lxc.sysctl.kernel.sem",
    "lxc.sysctl.kernel.shmall",
    "lxc.sysctl.kernel.shmmax",
    "lxc.sysctl.kernel.shmmni",
    "lxc.sysctl.kernel.shm_rmid_forced",
    NULL,
};

/* removed with lxc 3.0: old name, new name */
static const char *const deprecated_raw_keys[][2] = {
    {"lxc.aa_profile", "lxc.apparmor.profile"},
    {"lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"},
    {"lxc.console", "lxc.console.path"},
    {"lxc.devttydir", "lxc.tty.dir"},
    {"lxc.haltsignal", "lxc.signal.halt"},
    {"lxc.rebootsignal", "lxc.signal.reboot"},
    {"lxc.stopsignal", "lxc.signal.stop"},
    {"lxc.id_map", "lxc.idmap"},
    {"lxc.init_cmd", "lxc.init.cmd"},
    {"lxc.loglevel", "lxc.log.level"},
    {"lxc.logfile", "lxc.log.file"},
    {"lxc.mount", "lxc.mount.fstab"},
    {"lxc.network.type", "lxc.net.INDEX.type"},
    {"lxc.network.flags", "lxc.net.INDEX.flags"},
    {"lxc.network.link", "lxc.net.INDEX.link"},
    {"lxc.network.mtu", "lxc.net.INDEX.mtu"},
    {"lxc.network.name", "lxc.net.INDEX.name"},
    {"lxc.network.hwaddr", "lxc.net.INDEX.hwaddr"},
    {"lxc.network.ipv4", "lxc.net.INDEX.ipv4.address"},
    {"lxc.network.ipv4.gateway", "lxc.net.INDEX.ipv4.gateway"},
    {"lxc.network.ipv6", "lxc.net.INDEX.ipv6.address"},
    {"lxc.network.ipv6.gateway", "lxc.net.INDEX.ipv6.gateway"},
    {"lxc.network.script.up", "lxc.net.INDEX.script.up"},
    {"lxc.network.script.down", "lxc.net.INDEX.script.down"},
    {"lxc.pts", "lxc.pty.max"},
    {"lxc.se_context", "lxc.selinux.context"},
    {"lxc.seccomp", "lxc.seccomp.profile"},
    {"lxc.tty", "lxc.tty.max"},
    {"lxc.utsname", "lxc.uts.name"},
};

int lxc_conf_raw_key_valid(const char *key, char **ret_msg)
{
	*ret_msg = NULL;
	if (str_startswith(key, "lxc.limit.")) {
		*ret_msg = xasprintf("%s: lxc.limit.* was renamed to lxc.prlimit.*", key);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(deprecated_raw_keys); i++)
		if (streq(key, deprecated_raw_keys[i][0])) {
			*ret_msg = xasprintf("%s is deprecated and was renamed to %s", key,
			                     deprecated_raw_keys[i][1]);
			return 1;
		}
	for (const char *const *k = valid_raw_keys; *k; k++)
		if (streq(*k, key))
			return 1;
	if (streq(key, "lxc.rootfs.path")) {
		*ret_msg = xstrdup("lxc.rootfs.path is auto generated from rootfs");
		return 0;
	}
	if (streq(key, "lxc.rootfs.options")) {
		*ret_msg = xstrdup("lxc.rootfs.options is not supported, please use mount point "
		                   "options in the \"rootfs\" key");
		return 0;
	}
	if (str_startswith(key, "lxc.cgroup.")) {
		*ret_msg =
		    xasprintf("%s is deprecated, this will be a hard error in the future!", key);
		return 1;
	}
	return str_startswith(key, "lxc.cgroup2.") || str_startswith(key, "lxc.prlimit.") ||
	       str_startswith(key, "lxc.net.");
}

/* --- the file --- */

const struct guest_conf_schema lxc_conf_schema = {
    .pending_header = "pve:pending",
    .keep_invalid = true,
    .raw_prefix = "lxc.",
    .raw_check = lxc_conf_raw_key_valid,
    .check = file_check,
};

int lxc_conf_parse(const char *data, size_t len, unsigned vmid, unsigned flags,
                   struct guest_conf **ret, char ***ret_warnings, struct error **err)
{
	return guest_conf_parse(&lxc_conf_schema, vmid, data, len, flags, ret, ret_warnings, err);
}

int lxc_conf_write(const struct guest_conf *c, struct strbuf *out, struct error **err)
{
	return guest_conf_write_schema(&lxc_conf_schema, c, out, err);
}

/* the store's view of the files (guest_conf_store_parse() with this schema) */
GUEST_CONF_OPS(lxc_conf_ops, lxc_conf_schema);

json_t *lxc_conf_raw_keys(const void *parsed)
{
	const struct guest_conf *c = parsed;
	json_t *a = c ? json_object_get(c->conf, GUEST_CONF_RAW_KEY) : NULL;
	return json_is_array(a) ? json_deep_copy(a) : json_array();
}

bool lxc_conf_unprivileged(const json_t *main)
{
	return streq_ptr(guest_conf_get(main, "unprivileged"), "1");
}

/* --- typed views --- */

static const char *opt_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool opt_bool(const json_t *o, const char *k, bool def)
{
	json_t *v = json_object_get(o, k);
	return v ? json_integer_value(v) != 0 : def;
}

/* into a fixed buffer: -EINVAL 400 when it does not fit */
static int copy_field(char *dst, size_t size, const char *src, const char *what, struct error **err)
{
	if (!src)
		src = "";
	if (strlen(src) >= size)
		return error_set(err, -EINVAL, 400,
		                 "invalid format - %s: value is too long (at most %zu characters)",
		                 what, size - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int lxc_conf_net_parse(unsigned index, const char *value, struct lxc_net *ret, struct error **err)
{
	const struct conf_prop *p = lxc_conf_prop("net0");
	_cleanup_json_ json_t *o = NULL;
	int r = conf_propstring_parse(p->sub, lxc_conf_formats, value, 0, &o, err);
	if (r < 0)
		return r;
	struct lxc_net n = {.index = index};
	if ((r = copy_field(n.name, sizeof(n.name), opt_str(o, "name"), "name", err)) < 0 ||
	    (r = copy_field(n.bridge, sizeof(n.bridge), opt_str(o, "bridge"), "bridge", err)) < 0 ||
	    (r = copy_field(n.hwaddr, sizeof(n.hwaddr), opt_str(o, "hwaddr"), "hwaddr", err)) < 0 ||
	    (r = copy_field(n.ip, sizeof(n.ip), opt_str(o, "ip"), "ip", err)) < 0 ||
	    (r = copy_field(n.gw, sizeof(n.gw), opt_str(o, "gw"), "gw", err)) < 0 ||
	    (r = copy_field(n.ip6, sizeof(n.ip6), opt_str(o, "ip6"), "ip6", err)) < 0 ||
	    (r = copy_field(n.gw6, sizeof(n.gw6), opt_str(o, "gw6"), "gw6", err)) < 0 ||
	    (r = copy_field(n.type, sizeof(n.type),
	                    opt_str(o, "type") ? opt_str(o, "type") : "veth", "type", err)) < 0)
		return r;
	if (!n.name[0]) /* the table says so; a caller's value may not have gone through it */
		return error_set(err, -EINVAL, 400,
		                 "invalid format - format error - name: property is missing and it "
		                 "is not optional");
	n.tag = (unsigned)json_integer_value(json_object_get(o, "tag"));
	n.mtu = (unsigned)json_integer_value(json_object_get(o, "mtu"));
	n.rate = json_number_value(json_object_get(o, "rate"));
	n.firewall = opt_bool(o, "firewall", false);
	n.link_down = opt_bool(o, "link_down", false);
	*ret = n;
	return 0;
}

char *lxc_mount_volume(const char *value)
{
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 7 && !strncmp(p, "volume=", 7))
			return xstrndup(p + 7, len - 7);
		if (len && !memchr(p, '=', len))
			return xstrndup(p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	return NULL;
}

enum lxc_mount_type lxc_mount_classify(const char *volume)
{
	if (volume[0] != '/')
		return LXC_MOUNT_VOLUME;
	return str_startswith(volume, "/dev/") ? LXC_MOUNT_DEVICE : LXC_MOUNT_BIND;
}

int lxc_conf_mount_parse(const char *key, const char *value, struct lxc_mount *ret,
                         struct error **err)
{
	bool rootfs = streq(key, "rootfs");
	const struct conf_prop *p = lxc_conf_prop(key);
	if (!p || !p->sub || (!rootfs && !str_startswith(key, "mp")))
		return error_set(err, -EINVAL, 400, "invalid mount point key '%s'", key);
	_cleanup_json_ json_t *o = NULL;
	int r = conf_propstring_parse(p->sub, lxc_conf_formats, value, 0, &o, err);
	if (r < 0)
		return r;
	const char *volume = opt_str(o, "volume"), *mp = rootfs ? "/" : opt_str(o, "mp");
	if (!volume || !mp)
		return error_set(err, -EINVAL, 400,
		                 "invalid format - format error - %s: property is missing and it "
		                 "is not optional",
		                 volume ? "mp" : "volume");
	uint64_t size = 0;
	const char *sz = opt_str(o, "size");
	if (sz && qemu_parse_size(sz, &size) < 0)
		return error_set(err, -EINVAL, 400, "invalid size: %s", sz);
	struct lxc_mount m = {
	    .volume = xstrdup(volume),
	    .mp = xstrdup(mp),
	    .size = size,
	    .ro = opt_bool(o, "ro", false),
	    .acl_set = json_object_get(o, "acl") != NULL,
	    .acl = opt_bool(o, "acl", false),
	    .quota = opt_bool(o, "quota", false),
	    .backup = opt_bool(o, "backup", false),
	    .replicate = opt_bool(o, "replicate", true),
	    .shared = opt_bool(o, "shared", false),
	    .mountoptions = opt_str(o, "mountoptions") ? xstrdup(opt_str(o, "mountoptions")) : NULL,
	};
	snprintf(m.key, sizeof(m.key), "%s", key);
	*ret = m;
	return 0;
}

void lxc_mount_done(struct lxc_mount *m)
{
	free(m->volume);
	free(m->mp);
	free(m->mountoptions);
	*m = (struct lxc_mount){0};
}

int lxc_conf_features_parse(const char *value, struct lxc_features *ret, struct error **err)
{
	const struct conf_prop *p = lxc_conf_prop("features");
	_cleanup_json_ json_t *o = NULL;
	int r = conf_propstring_parse(p->sub, lxc_conf_formats, value, 0, &o, err);
	if (r < 0)
		return r;
	struct lxc_features f = {
	    .nesting = opt_bool(o, "nesting", false),
	    .keyctl = opt_bool(o, "keyctl", false),
	    .fuse = opt_bool(o, "fuse", false),
	    .mknod = opt_bool(o, "mknod", false),
	    .force_rw_sys = opt_bool(o, "force_rw_sys", false),
	};
	if ((r = copy_field(f.mount, sizeof(f.mount), opt_str(o, "mount"), "mount", err)) < 0)
		return r;
	*ret = f;
	return 0;
}

/* --- the API's check --- */

/* PVE's verify_nameserver_list / verify_searchdomain_list: the items
 * joined by a blank. */
static char *join_list(const char *value)
{
	_cleanup_strv_free_ char **items = split_list(value);
	struct strbuf sb = STRBUF_INIT;
	for (char **i = items; i && *i; i++)
		strbuf_addf(&sb, "%s%s", sb.len ? " " : "", *i);
	return strbuf_detach(&sb, NULL);
}

int lxc_conf_check_value(const char *key, const char *value, char **ret_value, struct error **err)
{
	/* parent and snaptime are the file's, for snapshots: no API key */
	const struct conf_prop *p =
	    streq(key, "parent") || streq(key, "snaptime") ? NULL : lxc_conf_prop(key);
	_cleanup_free_ char *norm = NULL;
	int r = guest_conf_check_prop(p, lxc_conf_formats, LXC_CONF_DESCRIPTION_MAX, key, value,
	                              &norm, err);
	if (r < 0)
		return r;
	if (r > 0) { /* the description, as it is */
		*ret_value = TAKE_PTR(norm);
		return 0;
	}
	struct error *e = NULL;
	if (streq(p->name, "net")) {
		struct lxc_net n;
		r = lxc_conf_net_parse(0, norm, &n, &e);
	} else if (streq(p->name, "rootfs") || streq(p->name, "mp")) {
		struct lxc_mount m;
		if ((r = lxc_conf_mount_parse(key, norm, &m, &e)) == 0)
			lxc_mount_done(&m);
	} else if (streq(p->name, "features")) {
		struct lxc_features f;
		r = lxc_conf_features_parse(norm, &f, &e);
	} else if (streq(key, "nameserver") || streq(key, "searchdomain")) {
		char *joined = join_list(norm);
		free(norm);
		norm = joined;
	}
	if (r < 0) {
		error_param(err, key, "%s", e ? e->msg : "invalid format");
		error_free(e);
		return r;
	}
	*ret_value = TAKE_PTR(norm);
	return 0;
}

/* --- snapshots --- */

static int lxc_volumes(const json_t *section, char ***ret, struct error **err)
{
	(void)err;
	for (int i = -1; i < LXC_CONF_MAX_MPS; i++) {
		char key[8];
		if (i < 0)
			snprintf(key, sizeof(key), "rootfs");
		else
			snprintf(key, sizeof(key), "mp%d", i);
		const char *v = guest_conf_get(section, key);
		struct lxc_mount m;
		if (!v || lxc_conf_mount_parse(key, v, &m, NULL) < 0)
			continue; /* PVE's foreach_volume skips what does not parse */
		if (lxc_mount_classify(m.volume) == LXC_MOUNT_VOLUME)
			strv_extend(ret, m.volume);
		lxc_mount_done(&m);
	}
	return 0;
}

const struct guest_snapshot_rules lxc_snapshot_rules = {
    .noun = "CT",
    .no_vmstate = true,
    .volumes = lxc_volumes,
};
