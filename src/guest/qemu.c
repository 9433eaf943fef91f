/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The qemu kind of the guest layer (guest.h): glue only.  The config format
 * is qemu-conf.c's, the running VM qemu-run.c's; this file fills the
 * vtable with them and says what PVE's API says of each key (its privilege
 * group, whether it applies at once while the VM runs).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "jsonutil.h"
#include "xalloc.h"

static json_t *qemu_main_section(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->conf;
}

static json_t *qemu_pending_section(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->pending;
}

static json_t *qemu_snapshot_sections(const void *parsed)
{
	return ((const struct guest_conf *)parsed)->snapshots;
}

static bool in(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (streq(*list, key))
			return true;
	return false;
}

/* key without its index ("net0" -> "net"), into buf. */
static const char *family(const char *key, char buf[static 32])
{
	size_t n = strcspn(key, "0123456789");
	if (n >= 32 || !key[n] || strspn(key + n, "0123456789") != strlen(key + n))
		return key;
	memcpy(buf, key, n);
	buf[n] = '\0';
	return buf;
}

/* PVE's check_vm_modify_config_perm groups (PVE::API2::Qemu). */
static const char *qemu_key_priv(const char *key)
{
	static const char *const cpu[] = {"cores",   "cpu",   "cpulimit", "cpuunits", "numa",
	                                  "sockets", "vcpus", "affinity", "smp",      NULL};
	static const char *const memory[] = {"memory",        "balloon",   "shares", "hugepages",
	                                     "keephugepages", "allow-ksm", NULL};
	static const char *const hwtype[] = {"acpi",
	                                     "hotplug",
	                                     "kvm",
	                                     "machine",
	                                     "scsihw",
	                                     "smbios1",
	                                     "tablet",
	                                     "vga",
	                                     "watchdog",
	                                     "audio0",
	                                     "spice_enhancements",
	                                     "serial",
	                                     "usb",
	                                     NULL};
	static const char *const options[] = {
	    "agent",     "autostart",        "bios",          "description", "keyboard",
	    "localtime", "migrate_downtime", "migrate_speed", "name",        "onboot",
	    "ostype",    "protection",       "reboot",        "startdate",   "startup",
	    "tdf",       "template",         "tags",          "vmgenid",     "citype",
	    NULL};
	static const char *const cloudinit[] = {"cicustom",  "cipassword", "ciuser",
	                                        "ciupgrade", "nameserver", "searchdomain",
	                                        "sshkeys",   "ipconfig",   NULL};
	static const char *const disk[] = {
	    "boot",   "bootdisk", "vmstatestorage", "ide",    "sata", "scsi",
	    "virtio", "efidisk",  "tpmstate",       "unused", NULL};
	char buf[32];
	const char *f = family(key, buf);
	if (streq(key, "cdrom"))
		return "VM.Config.CDROM";
	if (in(f, cpu))
		return "VM.Config.CPU";
	if (in(f, memory))
		return "VM.Config.Memory";
	if (in(f, hwtype))
		return "VM.Config.HWType";
	if (in(f, options))
		return "VM.Config.Options";
	if (in(f, cloudinit))
		return "VM.Config.Cloudinit";
	if (in(f, disk))
		return "VM.Config.Disk";
	if (streq(f, "net"))
		return "VM.Config.Network";
	if (streq(f, "freeze"))
		return "VM.PowerMgmt";
	/* args, hookscript, hostpci, parallel, lock, ivshmem, ... and keys
	 * added later: root's until someone says otherwise */
	return NULL;
}

/* PVE's fast-plug options: changed in the config at once while running. */
static const char *const qemu_fast_plug[] = {
    "description", "hookscript", "lock",           "name",  "onboot", "protection", "shares",
    "startup",     "tags",       "vmstatestorage", "agent", "bios",   "tdf",        NULL,
};

/* A NIC without a MAC gets one with Proxmox's prefix, written PVE's way:
 * "model=MAC,..." first. */
static int qemu_prepare_value(const char *key, const char *value, char **ret_value,
                              struct error **err)
{
	char buf[32];
	if (!streq(family(key, buf), "net")) {
		*ret_value = xstrdup(value);
		return 0;
	}
	struct qemu_net n = {0};
	int r = qemu_net_parse(key, value, &n, err);
	if (r < 0)
		return r;
	if (n.macaddr[0] || !n.model) {
		qemu_net_clear(&n);
		*ret_value = xstrdup(value);
		return 0;
	}
	char mac[18];
	qemu_conf_random_mac(mac);
	/* drop the bare model part, put model=MAC in front */
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s=%s", n.model, mac);
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		bool skip = (len == strlen(n.model) && !strncmp(p, n.model, len)) ||
		            (len > 6 && !strncmp(p, "model=", 6));
		if (!skip && len)
			strbuf_addf(&sb, ",%.*s", (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	qemu_net_clear(&n);
	*ret_value = strbuf_detach(&sb, NULL);
	return 0;
}

static int qemu_check_value(const char *key, const char *value, char **ret_value,
                            struct error **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = qemu_conf_check_value(key, value, &norm, err);
	if (r < 0)
		return r;
	return qemu_prepare_value(key, norm, ret_value, err);
}

/* The first comma part of a drive value without "file=". */
static char *qemu_disk_file(const char *key, const char *value)
{
	if (!qemu_conf_is_drive_key(key, true) || !value)
		return NULL;
	size_t len = strcspn(value, ",");
	const char *p = value;
	if (len >= 5 && !strncmp(p, "file=", 5)) {
		p += 5;
		len -= 5;
	}
	return xstrndup(p, len);
}

static char *qemu_disk_set_file(const char *value, const char *volid, uint64_t size)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, volid);
	const char *p = value + strcspn(value, ","); /* past the file */
	while (*p) {
		if (*p == ',')
			p++;
		size_t len = strcspn(p, ",");
		if (len && !(len >= 5 && !strncmp(p, "size=", 5)))
			strbuf_addf(&sb, ",%.*s", (int)len, p);
		p += len;
	}
	_cleanup_free_ char *sz = qemu_format_size(size);
	strbuf_addf(&sb, ",size=%s", sz);
	return strbuf_detach(&sb, NULL);
}

static char *qemu_detached_volume(const char *key, const char *value)
{
	if (!qemu_conf_is_drive_key(key, true))
		return NULL;
	struct qemu_drive d = {0};
	if (qemu_drive_parse(key, value, &d, NULL) < 0)
		return NULL;
	char *vol = NULL;
	if (d.file && !d.cdrom && !streq(d.file, "none") && !streq(d.file, "cdrom") &&
	    d.file[0] != '/' && strchr(d.file, ':'))
		vol = xstrdup(d.file);
	qemu_drive_clear(&d);
	return vol;
}

static long conf_long(const json_t *conf, const char *key, long def)
{
	const char *v = json_string_value(json_object_get(conf, key));
	return v ? strtol(v, NULL, 10) : def;
}

struct bootdisk {
	uint64_t size;
};

static int first_disk(const struct qemu_drive *d, void *userdata, struct error **err)
{
	struct bootdisk *b = userdata;
	if (!d->cdrom && d->bus != QEMU_BUS_EFIDISK && d->bus != QEMU_BUS_TPMSTATE && !b->size)
		b->size = d->size;
	return 0;
}

/* PVE's vmstatus figures of a config: cpus (vcpus, else sockets x cores),
 * maxmem (memory MiB, default 512), maxdisk (the first disk's size). */
static void qemu_summary(long vmid, const json_t *conf, json_t *e)
{
	long cpus = conf_long(conf, "sockets", 1) * conf_long(conf, "cores", 1);
	long vcpus = conf_long(conf, "vcpus", 0);
	if (vcpus > 0 && vcpus < cpus)
		cpus = vcpus;
	json_object_set_new(e, "cpus", json_integer(cpus > 0 ? cpus : 1));
	/* memory may be "2048" or "current=2048" (PVE 8's property string) */
	const char *m = json_string_value(json_object_get(conf, "memory"));
	long mib = 512;
	if (m)
		mib = strtol(str_startswith(m, "current=") ? m + 8 : m, NULL, 10);
	json_object_set_new(e, "maxmem", json_integer((json_int_t)mib * 1024 * 1024));
	struct bootdisk b = {0};
	qemu_conf_foreach_drive(conf, false, first_disk, &b, NULL);
	json_object_set_new(e, "maxdisk", json_integer((json_int_t)b.size));
	json_object_set_new(e, "name", json_sprintf("VM %ld", vmid));
}

static bool qemu_needs_root(const char *key, const char *value)
{
	return qemu_conf_needs_root(key, value);
}

const struct guest_kind_ops guest_kind_qemu = {
    .type = "qemu",
    .confdir = "qemu-server",
    .noun = "VM",
    .task_pfx = "qm",
    .caps = GUEST_CAP_SNAPSHOT | GUEST_CAP_SNAPSHOT_RAM | GUEST_CAP_SUSPEND | GUEST_CAP_HIBERNATE |
            GUEST_CAP_CLONE | GUEST_CAP_TEMPLATE | GUEST_CAP_RESET | GUEST_CAP_HOTPLUG,
    .conf_ops = &qemu_conf_ops,
    .props = qemu_conf_props,
    .formats = qemu_conf_formats,
    .main_section = qemu_main_section,
    .pending_section = qemu_pending_section,
    .snapshot_sections = qemu_snapshot_sections,
    .key_priv = qemu_key_priv,
    .needs_root = qemu_needs_root,
    .fast_plug = qemu_fast_plug,
    .check_value = qemu_check_value,
    .disk_file = qemu_disk_file,
    .disk_set_file = qemu_disk_set_file,
    .detached_volume = qemu_detached_volume,
    .summary = qemu_summary,
};
