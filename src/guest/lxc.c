/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The lxc kind of the guest layer (guest.h): glue only.  The config format
 * is lxc-conf.c's; this file fills the vtable's static half with it and
 * says what PVE's API says of each key (its privilege, whether only
 * root@pam may set it, whether it applies at once while the container
 * runs).  The runtime slots (is_running, status, power, destroy) are
 * lxc-power.c's.
 */
#include "common.h"

#include <unistd.h>

#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "jsonutil.h"
#include "lxc-conf.h"
#include "lxc-power.h"
#include "qemu-conf.h" /* qemu_conf_random_mac(), qemu_format_size() */
#include "strbuf.h"
#include "strutil.h"
#include "xalloc.h"

static json_t *lxc_main_section(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->conf;
}

static json_t *lxc_pending_section(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->pending;
}

static json_t *lxc_snapshot_sections(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->snapshots;
}

/* key is <prefix><index> */
static bool is_family(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(key, prefix, n) != 0 || !key[n])
		return false;
	for (const char *p = key + n; *p; p++)
		if (!(*p >= '0' && *p <= '9'))
			return false;
	return true;
}

static bool is_mount_key(const char *key)
{
	return streq(key, "rootfs") || is_family(key, "mp");
}

static bool in(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (streq(*list, key))
			return true;
	return false;
}

/*
 * PVE's check_ct_modify_config_perm (PVE::LXC).  Where PVE decides on the
 * value, needs_root below says root@pam: a mount point that is not a
 * volume, features beyond nesting (nesting itself needs VM.Allocate, as in
 * PVE), unprivileged=0.  ctvm is stricter than PVE on `lock` (root only,
 * as for VMs: PVE lets VM.Config.Options set it on containers).
 */
static const char *lxc_key_priv(const char *key)
{
	static const char *const cpu[] = {"cores", "cpuunits", "cpulimit", NULL};
	static const char *const memory[] = {"memory", "swap", NULL};
	static const char *const network[] = {"nameserver", "searchdomain", "hostname", NULL};
	static const char *const root[] = {"hookscript", "lock", NULL};
	if (str_startswith(key, "lxc.") || is_family(key, "dev") || in(key, root))
		return NULL;
	if (in(key, cpu))
		return "VM.Config.CPU";
	if (is_mount_key(key))
		return "VM.Config.Disk";
	if (in(key, memory))
		return "VM.Config.Memory";
	if (is_family(key, "net") || in(key, network))
		return "VM.Config.Network";
	if (streq(key, "features"))
		return "VM.Allocate";
	return "VM.Config.Options";
}

static bool lxc_needs_root(const char *key, const char *value)
{
	if (str_startswith(key, "lxc."))
		return true;
	const struct conf_prop *p = lxc_conf_prop(key);
	if (p && (p->flags & CONF_PROP_ROOT_ONLY))
		return true;
	if (!value) /* a delete: of features, root's unless only nesting was set (the
	             * old value is not known here: root's) */
		return streq(key, "features") || streq(key, "unprivileged");
	if (is_mount_key(key)) {
		/* a bind mount of a host path or a device; what does not parse is
		 * refused by the check anyway */
		struct lxc_mount m;
		if (lxc_conf_mount_parse(key, value, &m, NULL) < 0)
			return true;
		bool host = lxc_mount_classify(m.volume) != LXC_MOUNT_VOLUME;
		lxc_mount_done(&m);
		return host;
	}
	if (streq(key, "unprivileged"))
		return !streq(value, "1");
	if (streq(key, "features")) {
		/* PVE: "changing feature flags (except nesting) is only allowed for
		 * root@pam" -- any flag but nesting named in the value */
		for (const char *q = value; *q;) {
			size_t len = strcspn(q, ",");
			size_t klen = strcspn(q, "=,");
			bool blank = strspn(q, " \t") >= len;
			if (!blank && !(klen == 7 && !strncmp(q, "nesting", 7)))
				return true;
			q += len;
			if (*q == ',')
				q++;
		}
		return false;
	}
	return false;
}

/* PVE's $LXC_FASTPLUG_OPTIONS */
static const char *const lxc_fast_plug[] = {
    "description", "onboot", "startup", "protection", "hostname",
    "hookscript",  "cores",  "tags",    "lock",       NULL,
};

/* "k=v" parts of value, sorted by key, with default_key's bare value
 * first: PVE's print_property_string. */
static int cmp_part(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t kx = strcspn(x, "="), ky = strcspn(y, "=");
	int c = strncmp(x, y, kx < ky ? kx : ky);
	return c ? c : (kx > ky) - (kx < ky);
}

/* value's parts without the ones named in drop (and blank ones), sorted,
 * then the extra "k=v" parts; first (may be NULL) goes in front, bare. */
static char *print_parts(const char *value, const char *const *drop, const char *first,
                         const char *const *extra)
{
	char **parts = NULL;
	size_t n = 0;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		size_t klen = strcspn(p, "=,");
		bool skip = strspn(p, " \t") >= len || klen == len; /* blank, or bare */
		for (const char *const *d = drop; *d && !skip; d++)
			skip = klen == strlen(*d) && !strncmp(p, *d, klen);
		if (!skip) {
			parts = xrealloc(parts, (n + 1) * sizeof(*parts));
			parts[n++] = xstrndup(p, len);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	for (const char *const *e = extra; e && *e; e++) {
		parts = xrealloc(parts, (n + 1) * sizeof(*parts));
		parts[n++] = xstrdup(*e);
	}
	qsort(parts, n, sizeof(*parts), cmp_part);
	struct strbuf sb = STRBUF_INIT;
	if (first)
		strbuf_addstr(&sb, first);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&sb, "%s%s", sb.len ? "," : "", parts[i]);
		free(parts[i]);
	}
	free(parts);
	return strbuf_detach(&sb, NULL);
}

/* A NIC completed as PVE's parse_lxc_network/print_lxc_network do: type
 * veth, a MAC with Proxmox's prefix when it has none; the required key
 * (name) first, then the others sorted, as print_property_string writes
 * required keys before optional ones. */
static int lxc_prepare_value(const char *key, const char *value, char **ret_value,
                             struct error **err)
{
	if (!is_family(key, "net")) {
		*ret_value = xstrdup(value);
		return 0;
	}
	struct lxc_net n;
	int r = lxc_conf_net_parse(0, value, &n, err);
	if (r < 0)
		return r;
	char mac[18], hw[32];
	if (!n.hwaddr[0])
		qemu_conf_random_mac(mac);
	snprintf(hw, sizeof(hw), "hwaddr=%s", n.hwaddr[0] ? n.hwaddr : mac);
	char name[32];
	snprintf(name, sizeof(name), "name=%s", n.name);
	static const char *const drop[] = {"hwaddr", "name", "type", NULL};
	const char *extra[] = {hw, "type=veth", NULL};
	*ret_value = print_parts(value, drop, name, extra);
	return 0;
}

static int lxc_check_value(const char *key, const char *value, char **ret_value, struct error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = lxc_conf_check_value(key, value, &norm, err);
	if (r < 0)
		return r;
	return lxc_prepare_value(key, norm, ret_value, err);
}

/* rootfs and mpN: the volume ("storage:size" for a new one); not a bind
 * mount or a device, which are no disks of the container's. */
static char *lxc_disk_file(const char *key, const char *value)
{
	if (!value || !is_mount_key(key))
		return NULL;
	char *vol = lxc_mount_volume(value);
	if (vol && lxc_mount_classify(vol) != LXC_MOUNT_VOLUME) {
		free(vol);
		return NULL;
	}
	return vol;
}

static char *lxc_disk_set_file(const char *value, const char *volid, uint64_t size)
{
	static const char *const drop[] = {"volume", "size", NULL};
	_cleanup_free_ char *sz = qemu_format_size(size);
	_cleanup_free_ char *szopt = xasprintf("size=%s", sz);
	const char *extra[] = {szopt, NULL};
	return print_parts(value, drop, volid, extra);
}

static char *lxc_detached_volume(const char *key, const char *value)
{
	if (!value)
		return NULL;
	if (is_family(key, "unused"))
		return strchr(value, ':') ? xstrdup(value) : NULL;
	char *vol = lxc_disk_file(key, value);
	if (vol && !strchr(vol, ':')) {
		free(vol);
		return NULL;
	}
	return vol;
}

/* PVE's update_pct_config: what no change may do, root@pam's included. */
static int lxc_check_update(long vmid, const json_t *conf, const char *key, const char *value,
                            struct error **err)
{
	if (streq(key, "unprivileged"))
		return error_set(err, -EPERM, 500, "unable to %s read-only option: '%s'",
		                 value ? "modify" : "delete", key);
	if (!value && (streq(key, "memory") || streq(key, "rootfs") || streq(key, "ostype")))
		return error_set(err, -EINVAL, 500, "unable to delete required option '%s'", key);
	bool drive = is_mount_key(key) || (!value && is_family(key, "unused"));
	if (drive && streq_ptr(guest_conf_get(conf, "protection"), "1"))
		return error_set(err, -EPERM, 500,
		                 "can't %s CT %ld drive '%s' - protection mode enabled",
		                 value ? "update" : "remove", vmid, key);
	return 0;
}

static long conf_long(const json_t *conf, const char *key, long def)
{
	const char *v = guest_conf_get(conf, key);
	return v ? strtol(v, NULL, 10) : def;
}

/* MiB in bytes, for a value a config may hold unchecked (PVE keeps values
 * that fail their check): negative is 0, too large saturates. */
static json_int_t mib_bytes(long mib)
{
	if (mib <= 0)
		return 0;
	if (mib > INT64_MAX / (1024 * 1024))
		return INT64_MAX;
	return (json_int_t)mib * 1024 * 1024;
}

/* PVE's vmstatus figures of a config: cpus (cores, else the host's),
 * maxmem and maxswap (MiB, default 512 each), maxdisk (rootfs's size),
 * name (hostname, else "CT<vmid>"). */
static void lxc_summary(long vmid, const json_t *conf, json_t *e)
{
	long cpus = conf_long(conf, "cores", 0);
	if (cpus <= 0)
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	json_object_set_new(e, "cpus", json_integer(cpus > 0 ? cpus : 1));
	json_object_set_new(e, "maxmem", json_integer(mib_bytes(conf_long(conf, "memory", 512))));
	json_object_set_new(e, "maxswap", json_integer(mib_bytes(conf_long(conf, "swap", 512))));
	json_object_set_new(e, "swap", json_integer(0));
	uint64_t disk = 0;
	const char *rootfs = guest_conf_get(conf, "rootfs");
	struct lxc_mount m;
	if (rootfs && lxc_conf_mount_parse("rootfs", rootfs, &m, NULL) == 0) {
		disk = m.size;
		lxc_mount_done(&m);
	}
	json_object_set_new(e, "maxdisk", json_integer((json_int_t)disk));
	const char *hostname = guest_conf_get(conf, "hostname");
	json_object_set_new(e, "name",
	                    hostname ? json_string(hostname) : json_sprintf("CT%ld", vmid));
	json_object_set_new(e, "type", json_string("lxc"));
}

const struct guest_kind_ops guest_kind_lxc = {
    .type = "lxc",
    .confdir = "lxc",
    .noun = "CT",
    .task_pfx = "vz",
    .caps = GUEST_CAP_SNAPSHOT | GUEST_CAP_SUSPEND | GUEST_CAP_CLONE | GUEST_CAP_TEMPLATE,
    .conf_ops = &lxc_conf_ops,
    .props = lxc_conf_props,
    .formats = lxc_conf_formats,
    .main_section = lxc_main_section,
    .pending_section = lxc_pending_section,
    .snapshot_sections = lxc_snapshot_sections,
    .snapshot_rules = &lxc_snapshot_rules,
    .key_priv = lxc_key_priv,
    .needs_root = lxc_needs_root,
    .fast_plug = lxc_fast_plug,
    .check_value = lxc_check_value,
    .prepare_value = lxc_prepare_value,
    .disk_file = lxc_disk_file,
    .disk_set_file = lxc_disk_set_file,
    .detached_volume = lxc_detached_volume,
    .check_update = lxc_check_update,
    .summary = lxc_summary,
    .format_volume = lxc_volume_mkfs,
    .grow_volume = lxc_volume_grow,
    /* the runtime (lxc-power.c) */
    .is_running = lxc_power_is_running,
    .status = lxc_power_status,
    .start = lxc_power_start,
    .stop = lxc_power_stop,
    .shutdown = lxc_power_shutdown,
    .reboot = lxc_power_reboot,
    .suspend = lxc_power_suspend,
    .resume = lxc_power_resume,
    .destroy = lxc_power_destroy,
    .interfaces = lxc_power_interfaces,
};
