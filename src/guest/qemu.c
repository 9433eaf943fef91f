/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The qemu kind of the guest layer (guest.h): glue only.  The config format
 * is qemu-conf.c's, the running VM qemu-run.c's; this file fills the
 * vtable with them and says what PVE's API says of each key (its privilege
 * group, whether it applies at once while the VM runs).
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-store.h"
#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "netif.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "qemu-hotplug.h"
#include "qemu-run.h"
#include "storage-ops.h"
#include "storage.h"
#include "strbuf.h"
#include "strv.h"
#include "volid.h"
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

/* value without its import-from= option (malloc'd); *ret_import gets the
 * option's value, or NULL when there is none. */
static char *split_import(const char *value, char **ret_import)
{
	struct strbuf sb = STRBUF_INIT;
	*ret_import = NULL;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 12 && !strncmp(p, "import-from=", 12)) {
			free(*ret_import);
			*ret_import = xstrndup(p + 12, len - 12);
		} else if (len) {
			if (sb.len)
				strbuf_addstr(&sb, ",");
			strbuf_addf(&sb, "%.*s", (int)len, p);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return strbuf_detach(&sb, NULL);
}

/* An absolute path of at most PATH_MAX bytes, no "." or ".." component and
 * no control characters (it goes into a task log and qemu-img's argv). */
static bool import_path_valid(const char *path)
{
	size_t n = strlen(path);
	if (path[0] != '/' || n < 2 || n >= PATH_MAX)
		return false;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	for (const char *p = path; *p;) {
		p += strspn(p, "/");
		size_t len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
	}
	return true;
}

/*
 * The API's check of a value: the table's (qemu_conf_check_value()), then
 * a MAC for a NIC without one.  A drive may carry import-from=<volid> (an
 * API-only option, as in PVE: the disk is filled from that volume when it
 * is allocated, and the option never reaches the file).
 */
static int qemu_check_value(const char *key, const char *value, char **ret_value,
                            struct error **err)
{
	_cleanup_free_ char *import = NULL;
	_cleanup_free_ char *rest =
	    qemu_conf_is_drive_key(key, true) ? split_import(value, &import) : xstrdup(value);
	if (import && import[0] == '/') {
		/* a host file (root only, qemu_needs_root()); the file itself is
		 * checked when it is copied (storage_import_file()) */
		if (!import_path_valid(import))
			return error_param(err, key,
			                   "invalid format - import-from: '%s' is not an "
			                   "absolute path without '..'",
			                   import);
	} else if (import) {
		struct volid v = {0};
		if (volid_parse(import, &v, NULL) < 0)
			return error_param(err, key,
			                   "invalid format - import-from: unable to parse "
			                   "volume ID '%s'",
			                   import);
		volid_clear(&v);
	}
	_cleanup_free_ char *norm = NULL;
	int r;
	if (import && str_startswith(key, "unused")) {
		/* an import's target: "<storage>:0" becomes a volume, as for
		 * any disk (guest_disks_allocate()) */
		_cleanup_free_ char *sid = xstrndup(rest, strcspn(rest, ":"));
		if (!storeid_is_valid(sid) || !streq(rest + strlen(sid), ":0"))
			return error_param(err, key, "import-from needs a new disk: <storage>:0");
		norm = xstrdup(rest);
	} else {
		r = qemu_conf_check_value(key, rest, &norm, err);
		if (r < 0)
			return r;
	}
	if (import) {
		*ret_value = xasprintf("%s,import-from=%s", norm, import);
		return 0;
	}
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

static int qemu_fixed_disk(const char *key, const char *value, uint64_t *ret_size,
                           char **ret_template, struct error **err)
{
	bool efi = streq(key, "efidisk0");
	if (!efi && !streq(key, "tpmstate0"))
		return 0;
	*ret_template = NULL;
	if (!efi) {
		*ret_size = QEMU_CMD_TPMSTATE_SIZE;
		return 1;
	}
	struct qemu_drive d;
	int r = qemu_drive_parse(key, value, &d, err);
	if (r < 0)
		return r;
	bool m4 = streq_ptr(d.efitype, "4m");
	json_t *keys = json_object_get(d.opts, "pre-enrolled-keys");
	bool ms = keys && json_integer_value(keys) != 0;
	qemu_drive_clear(&d);
	const char *vars = m4 ? (ms ? QEMU_CMD_OVMF_VARS_4M_MS : QEMU_CMD_OVMF_VARS_4M)
	                      : (ms ? QEMU_CMD_OVMF_VARS_2M_MS : QEMU_CMD_OVMF_VARS_2M);
	/* PVE's get_ovmf_files() message, and where the file comes from */
	if (access(vars, R_OK) < 0)
		return error_set(err, -ENOENT, 500,
		                 "EFI vars image '%s' not found (Debian package ovmf)", vars);
	*ret_template = xstrdup(vars);
	return 1;
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

/* qemu-conf's rule for the value without import-from=, which is the API's
 * (qemu_check_value()): a volid there needs the storage's privileges, a
 * host path root. */
static bool qemu_needs_root(const char *key, const char *value)
{
	if (!qemu_conf_is_drive_key(key, true))
		return qemu_conf_needs_root(key, value);
	_cleanup_free_ char *import = NULL;
	_cleanup_free_ char *rest = split_import(value, &import);
	return qemu_conf_needs_root(key, rest) || (import && !strchr(import, ':'));
}

/* ---- the running VM (qemu-run.h) --------------------------------------- */

static struct qemu_run_env run_env(struct guest_store *gs, struct task_worker *w)
{
	return (struct qemu_run_env){.run_root = guest_store_run_dir(gs), .w = w};
}

static int qemu_is_running(struct guest_store *gs, long vmid, bool *ret_running, pid_t *ret_pid,
                           struct error **err)
{
	struct qemu_run_env env = run_env(gs, NULL);
	int r = qemu_run_is_running(&env, vmid, ret_pid);
	if (r < 0)
		return error_set(err, r, 500, "unable to read the state of VM %ld - %s", vmid,
		                 strerror(-r));
	*ret_running = r > 0;
	return 0;
}

/* QEMU's run state alone: one QMP query-status. */
static int qemu_is_paused(struct guest_store *gs, long vmid, bool *ret_paused, struct error **err)
{
	struct qemu_run_env env = run_env(gs, NULL);
	_cleanup_json_ json_t *st = NULL;
	int r = qemu_run_qmp(&env, vmid, "query-status", NULL, 1000, &st, err);
	if (r < 0)
		return r;
	const char *s = json_string_value(json_object_get(st, "status"));
	*ret_paused = s && (streq(s, "paused") || streq(s, "suspended"));
	return 0;
}

static int qemu_status(struct guest_store *gs, const struct guest *g, json_t **ret,
                       struct error **err)
{
	struct qemu_run_env env = run_env(gs, NULL);
	return qemu_run_status(&env, g->vmid, ret, err);
}

/* The storage layer's answer for a drive's volid. */
static int resolve_volume(const char *volid, void *userdata, struct qemu_volume *ret,
                          struct error **err)
{
	struct guest_store *gs = userdata;
	struct volid v = {0};
	int r = volid_parse(volid, &v, err);
	if (r < 0)
		return r;
	_cleanup_(storage_freep) struct storage *st = NULL;
	struct volname_info info = {0};
	char *path = NULL;
	r = storage_load_open_enabled(guest_store_storage(gs), guest_store_node(gs), v.storeid, &st,
	                              err);
	if (r == 0)
		r = storage_activate(st, err);
	if (r == 0)
		r = storage_parse_volname(st, v.volname, &info, err);
	if (r == 0)
		r = storage_path(st, v.volname, &path, err);
	if (r == 0) {
		struct stat sb;
		*ret = (struct qemu_volume){
		    .path = path,
		    .format = info.format ? xstrdup(info.format) : NULL,
		    .block = stat(path, &sb) == 0 && S_ISBLK(sb.st_mode),
		    .storage_type = st->be->type,
		};
	}
	volname_info_clear(&info);
	volid_clear(&v);
	return r;
}

static int bridge_mtu(const char *bridge, void *userdata)
{
	return netif_bridge_mtu("/sys", bridge);
}

struct nics {
	struct qemu_run_nic nic[QEMU_RUN_MAX_NICS];
	struct qemu_net parsed[QEMU_RUN_MAX_NICS];
	size_t n;
};

static void nics_clear(struct nics *n)
{
	for (size_t i = 0; i < n->n; i++)
		qemu_net_clear(&n->parsed[i]);
}

static int nics_of(const json_t *conf, struct nics *ret, struct error **err)
{
	for (int i = 0; i < QEMU_RUN_MAX_NICS; i++) {
		char key[16];
		snprintf(key, sizeof(key), "net%d", i);
		const char *v = json_string_value(json_object_get(conf, key));
		if (!v)
			continue;
		struct qemu_net *n = &ret->parsed[ret->n];
		int r = qemu_net_parse(key, v, n, err);
		if (r < 0)
			return r;
		if (!n->bridge) {
			qemu_net_clear(n);
			continue;
		}
		ret->nic[ret->n] = (struct qemu_run_nic){
		    .index = (unsigned)i,
		    .bridge = n->bridge,
		    .tag = n->tag > 0 ? (unsigned)n->tag : 0,
		    .mtu = n->mtu > 1 ? (unsigned)n->mtu : 0,
		    .rate = n->rate,
		    .link_down = n->link_down,
		};
		ret->n++;
	}
	return 0;
}

struct qemu_cmd_env qemu_cmd_env_of(struct guest_store *gs, long vmid, const char *rundir)
{
	return (struct qemu_cmd_env){
	    .vmid = (unsigned)vmid,
	    .rundir = rundir,
	    .kvm_available = access("/dev/kvm", R_OK | W_OK) == 0,
	    .swtpm_available = access("/usr/bin/swtpm", X_OK) == 0,
	    .resolve = resolve_volume,
	    .bridge_mtu = bridge_mtu,
	    .userdata = gs,
	};
}

/* Start: the command line from the config (qemu-cmd.h), the NICs' taps and
 * the CPU limits to qemu-run, which leaves nothing behind on failure. */
/* argv + extra (NULL-terminated), in argv's array (reallocated). */
static char **argv_append(char **argv, const char *const *extra)
{
	size_t n = 0, m = 0;
	while (argv[n])
		n++;
	while (extra[m])
		m++;
	argv = xrealloc(argv, (n + m + 1) * sizeof(*argv));
	for (size_t i = 0; i < m; i++)
		argv[n + i] = xstrdup(extra[i]);
	argv[n + m] = NULL;
	return argv;
}

/* The command line start runs, the run directory made first when create
 * (showcmd only names it). */
static int build_argv(struct guest_store *gs, const struct guest *g, const struct qemu_run_env *env,
                      bool create, char ***ret_argv, struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = qemu_run_dir(env, g->vmid, create, &dir, err);
	if (r < 0)
		return r;
	struct qemu_cmd_env cenv = qemu_cmd_env_of(gs, g->vmid, dir);
	return qemu_cmd_build(&cenv, conf_snapshot_data(g->snap), ret_argv, err);
}

static int qemu_showcmd(struct guest_store *gs, const struct guest *g, char **ret_line,
                        struct error **err)
{
	struct qemu_run_env env = run_env(gs, NULL);
	_cleanup_strv_free_ char **argv = NULL;
	int r = build_argv(gs, g, &env, false, &argv, err);
	if (r < 0)
		return r;
	*ret_line = qemu_cmd_to_string(argv);
	return 0;
}

/* tpmstate0's state for swtpm: *ret_path (malloc'd) NULL without one.
 * swtpm reads and writes the volume as one linear file, so only raw
 * volumes (PVE serves others through a FUSE export, which ctvm has not). */
static int tpm_of(struct guest_store *gs, const json_t *conf, char **ret_path, bool *ret_tpm2,
                  struct error **err)
{
	*ret_path = NULL;
	const char *v = json_string_value(json_object_get(conf, "tpmstate0"));
	if (!v)
		return 0;
	struct qemu_drive d;
	int r = qemu_drive_parse("tpmstate0", v, &d, err);
	if (r < 0)
		return r;
	*ret_tpm2 = streq_ptr(d.version, "v2.0");
	struct qemu_volume vol = {0};
	if (d.file[0] == '/')
		vol.path = xstrdup(d.file);
	else
		r = resolve_volume(d.file, gs, &vol, err);
	const char *fmt = vol.format ? vol.format : d.format;
	if (r == 0 && fmt && !streq(fmt, "raw"))
		r = error_set(err, -EINVAL, 500,
		              "tpmstate0: swtpm needs a raw volume, not %s (move the disk to a "
		              "raw volume)",
		              fmt);
	if (r == 0)
		*ret_path = TAKE_PTR(vol.path);
	free(vol.path);
	free(vol.format);
	qemu_drive_clear(&d);
	return r;
}

/* state_fd >= 0: the VM starts paused, waiting for its state (-incoming
 * defer), which qemu-run loads from state_fd before it resumes it. */
static int start_impl(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                      int state_fd, struct task_worker *w, struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	char **argv = NULL;
	int r = build_argv(gs, g, &env, true, &argv, err);
	if (r < 0)
		return r;
	if (state_fd >= 0)
		argv = argv_append(argv, (const char *const[]){"-S", "-incoming", "defer", NULL});
	struct nics nics = {0};
	_cleanup_free_ char *tpm_state = NULL;
	bool tpm2 = false;
	r = nics_of(g->conf, &nics, err);
	if (r == 0)
		r = tpm_of(gs, g->conf, &tpm_state, &tpm2, err);
	if (r == 0) {
		const char *cpulimit = json_string_value(json_object_get(g->conf, "cpulimit"));
		const char *cpuunits = json_string_value(json_object_get(g->conf, "cpuunits"));
		struct qemu_run_start_opts opts = {
		    .argv = argv,
		    .nics = nics.nic,
		    .n_nics = nics.n,
		    .cpulimit = cpulimit ? strtod(cpulimit, NULL) : 0,
		    .cpuunits = cpuunits ? (unsigned)strtoul(cpuunits, NULL, 10) : 0,
		    .timeout_ms = timeout_s ? (int)timeout_s * 1000 : 0,
		    .load_state = state_fd >= 0,
		    .state_fd = state_fd,
		    .tpm_state = tpm_state,
		    .tpm2 = tpm2,
		};
		r = qemu_run_start_argv(&env, g->vmid, &opts, err);
	}
	nics_clear(&nics);
	for (char **a = argv; a && *a; a++)
		free(*a);
	free(argv);
	return r;
}

static int qemu_start(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                      struct task_worker *w, struct error **err)
{
	return start_impl(gs, g, timeout_s, -1, w, err);
}

static int qemu_start_state(struct guest_store *gs, const struct guest *g, int fd,
                            struct task_worker *w, struct error **err)
{
	return start_impl(gs, g, 0, fd, w, err);
}

static int qemu_save_state(struct guest_store *gs, const struct guest *g, int fd, bool quit,
                           struct task_worker *w, struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_save_state(&env, g->vmid, fd, quit, err);
}

static int qemu_stop(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                     struct task_worker *w, struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_stop(&env, g->vmid, timeout_s, err);
}

static int qemu_shutdown(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                         bool force_stop, struct task_worker *w, struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	/* PVE's default shutdown timeout */
	return qemu_run_shutdown(&env, g->vmid, timeout_s ? timeout_s : 180, force_stop, err);
}

/* The shutdown half of PVE's reboot; the dispatcher starts the VM again. */
static int qemu_reboot(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
                       struct task_worker *w, struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_reboot(&env, g->vmid, timeout_s ? timeout_s : 180, err);
}

static int qemu_reset(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                      struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_reset(&env, g->vmid, err);
}

static int qemu_suspend(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                        struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_suspend(&env, g->vmid, err);
}

static int qemu_resume(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                       struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_resume(&env, g->vmid, err);
}

static int qemu_monitor(struct guest_store *gs, long vmid, const char *command, char **ret_output,
                        struct error **err)
{
	struct qemu_run_env env = run_env(gs, NULL);
	_cleanup_json_ json_t *args = json_pack("{s:s}", "command-line", command);
	_cleanup_json_ json_t *ret = NULL;
	int r = qemu_run_qmp(&env, vmid, "human-monitor-command", args, 0, &ret, err);
	if (r < 0)
		return r;
	*ret_output = xstrdup(json_is_string(ret) ? json_string_value(ret) : "");
	return 0;
}

/* What a destroyed VM leaves in the run directory. */
static int qemu_destroy(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                        struct error **err)
{
	struct qemu_run_env env = run_env(gs, w);
	return qemu_run_cleanup(&env, g->vmid, true, err);
}

const struct guest_kind_ops guest_kind_qemu = {
    .type = "qemu",
    .confdir = "qemu-server",
    .noun = "VM",
    .task_pfx = "qm",
    .caps = GUEST_CAP_SUSPEND | GUEST_CAP_HIBERNATE | GUEST_CAP_RESET | GUEST_CAP_SNAPSHOT |
            GUEST_CAP_CLONE | GUEST_CAP_TEMPLATE,
    .conf_ops = &qemu_conf_ops,
    .props = qemu_conf_props,
    .formats = qemu_conf_formats,
    .main_section = qemu_main_section,
    .pending_section = qemu_pending_section,
    .snapshot_sections = qemu_snapshot_sections,
    .snapshot_rules = &qemu_snapshot_rules,
    .key_priv = qemu_key_priv,
    .needs_root = qemu_needs_root,
    .fast_plug = qemu_fast_plug,
    .check_value = qemu_check_value,
    .disk_file = qemu_disk_file,
    .disk_set_file = qemu_disk_set_file,
    .fixed_disk = qemu_fixed_disk,
    .detached_volume = qemu_detached_volume,
    .summary = qemu_summary,
    .is_running = qemu_is_running,
    .is_paused = qemu_is_paused,
    .status = qemu_status,
    .start = qemu_start,
    .stop = qemu_stop,
    .shutdown = qemu_shutdown,
    .reboot = qemu_reboot,
    .reset = qemu_reset,
    .suspend = qemu_suspend,
    .resume = qemu_resume,
    .save_state = qemu_save_state,
    .start_state = qemu_start_state,
    .destroy = qemu_destroy,
    .hotplug = qemu_hotplug,
    .monitor = qemu_monitor,
    .showcmd = qemu_showcmd,
};
