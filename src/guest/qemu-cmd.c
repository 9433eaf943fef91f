/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A guest config to the QEMU command line (qemu-cmd.h): the order and the
 * words of PVE 9's config_to_command() for an i440fx machine, with the
 * differences qemu-cmd.h lists.  The drives are in qemu-cmd-drive.c.
 */
#include "common.h"

#include <stdarg.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-cmd-internal.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* --- the argv being built --- */

static void push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

void qc_cmd(struct cmd_builder *b, const char *arg)
{
	push(&b->cmd, &b->ncmd, &b->capcmd, xstrdup(arg));
}

void qc_cmdf(struct cmd_builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	push(&b->cmd, &b->ncmd, &b->capcmd, xvasprintf(fmt, ap));
	va_end(ap);
}

void qc_dev(struct cmd_builder *b, const char *arg)
{
	push(&b->devices, &b->ndevices, &b->capdevices, xstrdup(arg));
}

void qc_devf(struct cmd_builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	push(&b->devices, &b->ndevices, &b->capdevices, xvasprintf(fmt, ap));
	va_end(ap);
}

/* --- PCI addresses: PVE's i440fx map (PCI.pm's get_pci_addr_map()) --- */

const char *cmd_pci_addr(const char *id, char buf[32])
{
	static const struct {
		const char *id;
		int bus, addr;
	} fixed[] = {
	    {"vga", 0, 2},      {"balloon0", 0, 3}, {"watchdog", 0, 4}, {"scsihw0", 0, 5},
	    {"pci.3", 0, 5},    {"scsihw1", 0, 6},  {"ahci0", 0, 7},    {"qga0", 0, 8},
	    {"virtio0", 0, 10}, {"virtio1", 0, 11}, {"virtio2", 0, 12}, {"virtio3", 0, 13},
	    {"virtio4", 0, 14}, {"virtio5", 0, 15}, {"net0", 0, 18},    {"net1", 0, 19},
	    {"net2", 0, 20},    {"net3", 0, 21},    {"net4", 0, 22},    {"net5", 0, 23},
	    {"pci.1", 0, 30},   {"pci.2", 0, 31},   {"pci.4", 1, 28},   {"rng0", 1, 29},
	    {"scsihw2", 4, 1},  {"scsihw3", 4, 2},  {"scsihw4", 4, 3},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (streq(id, fixed[i].id)) {
			snprintf(buf, 32, ",bus=pci.%d,addr=0x%x", fixed[i].bus, fixed[i].addr);
			return buf;
		}
	int n;
	char tail;
	if (sscanf(id, "net%d%c", &n, &tail) == 1 && n >= 6 && n <= 31) {
		snprintf(buf, 32, ",bus=pci.1,addr=0x%x", n - 5);
		return buf;
	}
	if (sscanf(id, "virtio%d%c", &n, &tail) == 1 && n >= 6 && n <= 15) {
		snprintf(buf, 32, ",bus=pci.2,addr=0x%x", n - 5);
		return buf;
	}
	if (sscanf(id, "virtioscsi%d%c", &n, &tail) == 1 && n >= 0 && n <= 30) {
		snprintf(buf, 32, ",bus=pci.3,addr=0x%x", n + 1);
		return buf;
	}
	buf[0] = '\0';
	return buf;
}

/* --- helpers --- */

/* A value inside a QEMU option list ("a=b,c=d"): ',' doubled, so that a
 * value can never add an option.  The table's patterns keep commas out of
 * these values already; this holds whatever the config says. */
static char *opt_escape(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (; *s; s++) {
		if (*s == ',')
			strbuf_addch(&sb, ',');
		strbuf_addch(&sb, *s);
	}
	return strbuf_detach(&sb, NULL);
}

static const char *get(const struct cmd_builder *b, const char *key)
{
	return guest_conf_get(b->conf, key);
}

static long long get_int(const struct cmd_builder *b, const char *key, long long def)
{
	const char *v = get(b, key);
	return v ? strtoll(v, NULL, 10) : def;
}

static bool get_bool(const struct cmd_builder *b, const char *key, bool def)
{
	const char *v = get(b, key);
	return v ? streq(v, "1") : def;
}

/* A property string of key parsed (NULL when the key is not set). */
static int get_propstring(const struct cmd_builder *b, const char *key, json_t **ret,
                          struct error **err)
{
	*ret = NULL;
	const char *v = get(b, key);
	if (!v)
		return 0;
	const struct conf_prop *p = qemu_conf_prop(key);
	struct error *e = NULL;
	if (conf_propstring_parse(p->sub, qemu_conf_formats, v, 0, ret, &e) < 0) {
		error_param(err, key, "%s", e ? e->msg : "invalid format");
		error_free(e);
		return -EINVAL;
	}
	return 0;
}

static const char *opt(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

void qemu_cmd_tap_name(unsigned vmid, int index, char ret[16])
{
	snprintf(ret, 16, "tap%ui%d", vmid, index);
}

/* Keys ctvm cannot turn into a command line yet: refused by name. */
static int refuse_unsupported(const struct cmd_builder *b, struct error **err)
{
	static const char *const families[] = {
	    "hostpci",   "usb",      "ivshmem",  "virtiofs",           "audio0", "amd-sev",
	    "intel-tdx", "parallel", "watchdog", "spice_enhancements", "numa"};
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)b->conf, k, v) {
		for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
			size_t n = strlen(families[i]);
			if (strncmp(k, families[i], n) != 0)
				continue;
			if (streq(k, "numa") || (k[n] && !(k[n] >= '0' && k[n] <= '9')))
				continue;
			return error_param(err, k, "not supported by ctvm yet");
		}
	}
	if (get_bool(b, "numa", false))
		return error_param(err, "numa", "not supported by ctvm yet");
	const char *arch = get(b, "arch");
	if (arch && !streq(arch, "x86_64"))
		return error_param(err, "arch", "only x86_64 guests are supported by ctvm");
	const char *hotplug = get(b, "hotplug");
	if (hotplug && (strstr(hotplug, "memory") || strstr(hotplug, "cpu")))
		return error_param(err, "hotplug",
		                   "memory and cpu hotplug are not supported by ctvm yet");
	if (get(b, "hugepages"))
		return error_param(err, "hugepages", "not supported by ctvm yet");
	return 0;
}

/* "pc", "pc-i440fx-8.1" (a "+pveN" suffix dropped); q35 is refused. */
static int machine_type(const struct cmd_builder *b, char **ret, struct error **err)
{
	json_t *m = NULL;
	int r = get_propstring(b, "machine", &m, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *mo = m;
	const char *type = opt(mo, "type");
	if (!type)
		type = "pc";
	if (strstr(type, "q35"))
		return error_param(err, "machine", "machine type '%s' is not supported by ctvm yet",
		                   type);
	if (json_object_get(mo, "viommu"))
		return error_param(err, "machine", "viommu is not supported by ctvm yet");
	if (!streq(type, "pc") && !str_startswith(type, "pc-i440fx-"))
		return error_param(err, "machine", "unknown machine type '%s'", type);
	size_t n = strcspn(type, "+");
	*ret = xstrndup(type, n);
	return 0;
}

/* --- CPU --- */

static int cmp_flag(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	x += (*x == '+' || *x == '-');
	y += (*y == '+' || *y == '-');
	return strcmp(x, y);
}

/* PVE's get_cpu_options() for an x86_64 guest on an x86_64 host. */
static int cpu_option(struct cmd_builder *b, struct error **err)
{
	json_t *c = NULL;
	int r = get_propstring(b, "cpu", &c, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *co = c;
	const char *model = opt(co, "cputype");
	if (!model)
		model = "kvm64";
	if (str_startswith(model, "custom-"))
		return error_param(err, "cpu", "custom CPU models are not supported by ctvm yet");
	/* PVE's built-in models on top of qemu64 */
	static const struct {
		const char *name, *flags;
	} builtin[] = {
	    {"x86-64-v2", "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3"},
	    {"x86-64-v2-AES", "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3"},
	    {"x86-64-v3", "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
	                  "+fma;+abm;+movbe;+xsave"},
	    {"x86-64-v4",
	     "+aes;+popcnt;+pni;+sse4.1;+sse4.2;+ssse3;+avx;+avx2;+bmi1;+bmi2;+f16c;"
	     "+fma;+abm;+movbe;+xsave;+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl"},
	};
	_cleanup_strv_free_ char **flags = NULL;
	const char *qemu_model = model;
	for (size_t i = 0; i < ARRAY_SIZE(builtin); i++)
		if (streq(model, builtin[i].name)) {
			qemu_model = "qemu64";
			_cleanup_strv_free_ char **f = strv_split(builtin[i].flags, ";");
			for (char **x = f; *x; x++)
				strv_extend(&flags, *x);
		}
	if (b->kvm && !streq(model, "host"))
		strv_extend(&flags, "enforce");
	if (b->kvm) {
		strv_extend(&flags, "+kvm_pv_eoi");
		strv_extend(&flags, "+kvm_pv_unhalt");
	}
	if (streq(qemu_model, "kvm64") || streq(qemu_model, "kvm32")) {
		strv_extend(&flags, "+lahf_lm");
		strv_extend(&flags, "+sep");
	}
	if (streq_ptr(get(b, "ostype"), "solaris"))
		strv_extend(&flags, "-x2apic");
	const char *user = opt(co, "flags");
	if (user) {
		_cleanup_strv_free_ char **f = strv_split(user, ";");
		for (char **x = f; *x; x++) {
			/* a user flag replaces the same flag of ours */
			const char *name = *x + (**x == '+' || **x == '-');
			for (char **y = flags; y && *y; y++) {
				const char *yn = *y + (**y == '+' || **y == '-');
				if (streq(yn, name)) {
					free(*y);
					*y = xstrdup(*x);
					name = NULL;
					break;
				}
			}
			if (name)
				strv_extend(&flags, *x);
		}
	}
	size_t n = strv_length(flags);
	if (n > 1)
		qsort(flags, n, sizeof(*flags), cmp_flag);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, qemu_model);
	json_t *level = json_object_get(co, "level");
	if (level)
		strbuf_addf(&sb, ",level=%" JSON_INTEGER_FORMAT, json_integer_value(level));
	for (char **x = flags; x && *x; x++)
		strbuf_addf(&sb, ",%s", *x);
	if (json_integer_value(json_object_get(co, "hidden")))
		strbuf_addstr(&sb, ",kvm=off");
	const char *pb = opt(co, "phys-bits");
	if (pb && streq(pb, "host"))
		strbuf_addstr(&sb, ",host-phys-bits=true");
	else if (pb)
		strbuf_addf(&sb, ",phys-bits=%s", pb);
	qc_cmd(b, "-cpu");
	qc_cmd(b, sb.buf);
	strbuf_release(&sb);
	return 0;
}

/* --- devices --- */

static int vga_device(struct cmd_builder *b, const char **ret_type, struct error **err)
{
	json_t *v = NULL;
	int r = get_propstring(b, "vga", &v, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *vo = v;
	const char *type = opt(vo, "type");
	if (!type)
		type = "std";
	static const struct {
		const char *type, *device;
	} map[] = {
	    {"std", "VGA"},
	    {"cirrus", "cirrus-vga"},
	    {"vmware", "vmware-svga"},
	    {"virtio", "virtio-vga"},
	};
	*ret_type = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (streq(type, map[i].type))
			*ret_type = map[i].device;
	if (streq(type, "none") || str_startswith(type, "serial")) {
		*ret_type = streq(type, "none") ? "none" : "serial";
		return 0;
	}
	if (!*ret_type)
		return error_param(err, "vga", "display type '%s' is not supported by ctvm yet",
		                   type);
	if (json_object_get(vo, "clipboard"))
		return error_param(err, "vga", "clipboard is not supported by ctvm yet");
	json_t *mem = json_object_get(vo, "memory");
	if (mem && !streq(type, "std") && !streq(type, "vmware") && !streq(type, "cirrus"))
		return error_param(err, "vga", "memory is not supported for '%s'", type);
	return 0;
}

static int net_devices(struct cmd_builder *b, struct error **err)
{
	char buf[32];
	for (int i = 0; i <= 31; i++) {
		char key[8];
		snprintf(key, sizeof(key), "net%d", i);
		const char *v = get(b, key);
		if (!v)
			continue;
		struct qemu_net n;
		struct error *e = NULL;
		if (qemu_net_parse(key, v, &n, &e) < 0) {
			error_param(err, key, "%s", e ? e->msg : "invalid format");
			error_free(e);
			return -EINVAL;
		}
		if (!n.macaddr[0]) {
			qemu_net_clear(&n);
			return error_param(err, key, "no MAC address (macaddr)");
		}
		bool virtio = streq(n.model, "virtio");
		int mtu = 0;
		if (n.bridge) {
			int bm = b->env->bridge_mtu ? b->env->bridge_mtu(n.bridge, b->env->userdata)
			                            : -ENOENT;
			if (bm < 0) {
				int r = error_set(err, -ENOENT, 400, "bridge '%s' does not exist",
				                  n.bridge);
				qemu_net_clear(&n);
				return r;
			}
			mtu = n.mtu && n.mtu != 1 ? n.mtu : bm;
			char tap[16];
			qemu_cmd_tap_name(b->env->vmid, i, tap);
			struct strbuf nd = STRBUF_INIT;
			strbuf_addf(&nd, "type=tap,id=%s,ifname=%s,script=no,downscript=no", key,
			            tap);
			if (virtio && b->kvm && b->env->vhost_net)
				strbuf_addstr(&nd, ",vhost=on");
			if (virtio && n.queues > 1)
				strbuf_addf(&nd, ",queues=%d", n.queues);
			qc_dev(b, "-netdev");
			qc_dev(b, nd.buf);
			strbuf_release(&nd);
		} else {
			const char *name = get(b, "name");
			qc_dev(b, "-netdev");
			_cleanup_free_ char *host = opt_escape(name ? name : "ctvm");
			qc_devf(b, "type=user,id=%s,hostname=%s", key, host);
		}
		static const struct {
			const char *model, *device;
		} models[] = {
		    {"virtio", "virtio-net-pci"},
		    {"e1000", "e1000"},
		    {"rtl8139", "rtl8139"},
		    {"vmxnet3", "vmxnet3"},
		    {"e1000e", "e1000e"},
		    {"pcnet", "pcnet"},
		    {"ne2k_pci", "ne2k_pci"},
		    {"i82551", "i82551"},
		    {"i82557b", "i82557b"},
		    {"i82559er", "i82559er"},
		    {"e1000-82540em", "e1000-82540em"},
		    {"e1000-82544gc", "e1000-82544gc"},
		    {"e1000-82545em", "e1000-82545em"},
		};
		const char *device = NULL;
		for (size_t m = 0; m < ARRAY_SIZE(models); m++)
			if (streq(n.model, models[m].model))
				device = models[m].device;
		if (!device) {
			qemu_net_clear(&n);
			return error_param(err, key, "model '%s' is not supported by ctvm", v);
		}
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s,mac=%s,netdev=%s%s,id=%s", device, n.macaddr, key,
		            cmd_pci_addr(key, buf), key);
		if (virtio) {
			if (n.queues > 1)
				strbuf_addf(&sb, ",vectors=%d,mq=on,packed=on", 2 * n.queues + 2);
			strbuf_addstr(&sb, ",rx_queue_size=1024,tx_queue_size=256");
		}
		int bi = (int)json_integer_value(json_object_get(b->bootorder, key));
		if (bi)
			strbuf_addf(&sb, ",bootindex=%d", bi);
		if (virtio && mtu)
			strbuf_addf(&sb, ",host_mtu=%d", mtu);
		qc_dev(b, "-device");
		qc_dev(b, sb.buf);
		strbuf_release(&sb);
		qemu_net_clear(&n);
	}
	return 0;
}

/* PVE's split_args(): shell words (blanks, '...', "...", backslash). */
static int split_args(const char *s, char ***ret, struct error **err)
{
	char **v = NULL;
	struct strbuf w = STRBUF_INIT;
	bool in_word = false;
	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			if (in_word)
				strv_push(&v, strbuf_detach(&w, NULL)), strbuf_init(&w, 0);
			in_word = false;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			if (!e)
				goto bad;
			strbuf_add(&w, p + 1, (size_t)(e - p - 1));
			p = e;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				strbuf_addch(&w, *p);
			}
			if (!*p)
				goto bad;
		} else if (*p == '\\' && p[1]) {
			strbuf_addch(&w, *++p);
		} else {
			strbuf_addch(&w, *p);
		}
	}
	if (in_word)
		strv_push(&v, strbuf_detach(&w, NULL));
	strbuf_release(&w);
	*ret = v;
	return 0;
bad:
	strbuf_release(&w);
	strv_free(v);
	return error_param(err, "args", "unbalanced quotes");
}

/* --- the whole line --- */

static int build(struct cmd_builder *b, struct error **err)
{
	const struct qemu_cmd_env *env = b->env;
	unsigned vmid = env->vmid;
	char buf[32];
	int r;

	if ((r = refuse_unsupported(b, err)) < 0)
		return r;
	b->kvm = get_bool(b, "kvm", true);
	if (b->kvm && !env->kvm_available)
		return error_set(err, -EINVAL, 400,
		                 "KVM virtualisation configured, but not available. Either disable "
		                 "in VM configuration or enable in BIOS.");
	_cleanup_free_ char *mtype = NULL;
	if ((r = machine_type(b, &mtype, err)) < 0)
		return r;
	const char *vga_dev;
	if ((r = vga_device(b, &vga_dev, err)) < 0)
		return r;
	if ((r = cmd_bootorder(b, err)) < 0)
		return r;

	qc_cmd(b, env->qemu_binary ? env->qemu_binary : QEMU_CMD_DEFAULT_BINARY);
	/* no "-id <vmid>": a PVE patch of QEMU; the run directory in -pidfile
	 * and the QMP path name the VM instead */
	qc_cmd(b, "-name");
	const char *name = get(b, "name");
	if (name) {
		_cleanup_free_ char *n = opt_escape(name);
		qc_cmd(b, n);
	} else
		qc_cmdf(b, "vm%u", vmid);
	qc_cmd(b, "-chardev");
	qc_cmdf(b, "socket,id=qmp,path=%s/qmp.sock,server=on,wait=off", env->rundir);
	qc_cmd(b, "-mon");
	qc_cmd(b, "chardev=qmp,mode=control");
	qc_cmd(b, "-pidfile");
	qc_cmdf(b, "%s/pid", env->rundir);
	qc_cmd(b, "-daemonize");

	const char *smbios = get(b, "smbios1");
	if (smbios) {
		json_t *s = NULL;
		if ((r = get_propstring(b, "smbios1", &s, err)) < 0)
			return r;
		_cleanup_json_ json_t *so = s;
		if (json_integer_value(json_object_get(so, "base64")))
			return error_param(err, "smbios1",
			                   "base64 fields are not supported by ctvm yet");
		qc_cmd(b, "-smbios");
		qc_cmdf(b, "type=1,%s", smbios);
	}

	const char *bios = get(b, "bios");
	b->ovmf = streq_ptr(bios, "ovmf");
	if (b->ovmf && (r = cmd_efidisk(b, err)) < 0)
		return r;

	long long sockets = get_int(b, "sockets", 1), cores = get_int(b, "cores", 1);
	long long maxcpus = sockets * cores, vcpus = get_int(b, "vcpus", 0);
	if (vcpus > maxcpus)
		return error_param(err, "vcpus",
		                   "the number of vcpus (%lld) exceeds the maximum (%lld)", vcpus,
		                   maxcpus);
	qc_cmd(b, "-smp");
	qc_cmdf(b, "%lld,sockets=%lld,cores=%lld,maxcpus=%lld", vcpus ? vcpus : maxcpus, sockets,
	        cores, maxcpus);
	qc_cmd(b, "-nodefaults");
	qc_cmd(b, "-boot");
	qc_cmd(b, "menu=on,strict=on,reboot-timeout=1000");

	bool serial_console = streq(vga_dev, "serial");
	if (streq(vga_dev, "none")) {
		qc_cmd(b, "-vga");
		qc_cmd(b, "none");
		qc_cmd(b, "-nographic");
	} else if (serial_console) {
		qc_cmd(b, "-nographic");
	} else {
		qc_cmd(b, "-vnc");
		qc_cmdf(b, "unix:%s/vnc.sock,password=on", env->rundir);
	}
	if ((r = cpu_option(b, err)) < 0)
		return r;

	json_t *mem = NULL;
	if ((r = get_propstring(b, "memory", &mem, err)) < 0)
		return r;
	json_int_t memory = mem && json_object_get(mem, "current")
	                        ? json_integer_value(json_object_get(mem, "current"))
	                        : 512;
	json_decref(mem);
	qc_cmd(b, "-m");
	qc_cmdf(b, "%" JSON_INTEGER_FORMAT, memory);

	if ((r = cmd_drive_objects(b, err)) < 0)
		return r;

	json_t *mach = NULL;
	if ((r = get_propstring(b, "machine", &mach, err)) < 0)
		return r;
	bool s3 = json_integer_value(json_object_get(mach, "enable-s3"));
	bool s4 = json_integer_value(json_object_get(mach, "enable-s4"));
	json_decref(mach);
	if (!s3) {
		qc_cmd(b, "-global");
		qc_cmd(b, "PIIX4_PM.disable_s3=1");
	}
	if (!s4) {
		qc_cmd(b, "-global");
		qc_cmd(b, "PIIX4_PM.disable_s4=1");
	}

	/* devices: the PCI bridges first */
	/* pci.3 holds virtio-scsi-single's controllers, pci.4 the third and later
	 * lsi controller (more than 14 SCSI disks) */
	const char *scsihw = get(b, "scsihw");
	bool single = streq_ptr(scsihw, "virtio-scsi-single");
	bool lsi = !scsihw || str_startswith(scsihw, "lsi");
	bool bus4 = false;
	for (int i = 14; lsi && i <= 30; i++) {
		char key[8];
		snprintf(key, sizeof(key), "scsi%d", i);
		bus4 = bus4 || get(b, key);
	}
	for (int k = 1; k <= 4; k++) {
		if ((k == 3 && !single) || (k == 4 && !bus4))
			continue;
		char id[8];
		snprintf(id, sizeof(id), "pci.%d", k);
		qc_dev(b, "-device");
		qc_devf(b, "pci-bridge,id=%s,chassis_nr=%d%s", id, k, cmd_pci_addr(id, buf));
	}
	const char *vmgenid = get(b, "vmgenid");
	if (vmgenid && !streq(vmgenid, "0")) {
		qc_dev(b, "-device");
		qc_devf(b, "vmgenid,guid=%s", vmgenid);
	}
	qc_dev(b, "-device");
	qc_dev(b, "piix3-usb-uhci,id=uhci,bus=pci.0,addr=0x1.0x2");
	if (get_bool(b, "tablet", true) && !serial_console) {
		qc_dev(b, "-device");
		qc_dev(b, "usb-tablet,id=tablet,bus=uhci.0,port=1");
	}

	const char *tpm = get(b, "tpmstate0");
	if (tpm) {
		if (!env->swtpm_available)
			return error_param(
			    err, "tpmstate0",
			    "a TPM needs swtpm, which is not installed (Debian package "
			    "swtpm)");
		struct qemu_drive d;
		if ((r = qemu_drive_parse("tpmstate0", tpm, &d, err)) < 0)
			return r;
		qemu_drive_clear(&d);
		qc_dev(b, "-chardev");
		qc_devf(b, "socket,id=tpmchar,path=%s/swtpm.sock", env->rundir);
		qc_dev(b, "-tpmdev");
		qc_dev(b, "emulator,id=tpmdev,chardev=tpmchar");
		qc_dev(b, "-device");
		qc_dev(b, "tpm-tis,tpmdev=tpmdev");
	}

	if (!streq(vga_dev, "none") && !serial_console) {
		json_t *v = NULL;
		if ((r = get_propstring(b, "vga", &v, err)) < 0)
			return r;
		json_t *vm = json_object_get(v, "memory");
		qc_dev(b, "-device");
		if (vm)
			qc_devf(b, "%s,id=vga,vgamem_mb=%" JSON_INTEGER_FORMAT "%s", vga_dev,
			        json_integer_value(vm), cmd_pci_addr("vga", buf));
		else
			qc_devf(b, "%s,id=vga%s", vga_dev, cmd_pci_addr("vga", buf));
		json_decref(v);
	}

	for (int i = 0; i <= 3; i++) {
		char key[8];
		snprintf(key, sizeof(key), "serial%d", i);
		const char *s = get(b, key);
		if (!s)
			continue;
		_cleanup_free_ char *esc = NULL;
		qc_dev(b, "-chardev");
		if (streq(s, "socket"))
			qc_devf(b, "socket,id=%s,path=%s/%s.sock,server=on,wait=off", key,
			        env->rundir, key);
		else if (str_startswith(s, "/dev/"))
			qc_devf(b, "serial,id=%s,path=%s", key, esc = opt_escape(s));
		else
			return error_param(err, key, "value does not match the regex pattern");
		qc_dev(b, "-device");
		qc_devf(b, "isa-serial,chardev=%s", key);
	}

	json_t *agent = NULL;
	if ((r = get_propstring(b, "agent", &agent, err)) < 0)
		return r;
	if (agent && json_integer_value(json_object_get(agent, "enabled"))) {
		bool isa = streq_ptr(opt(agent, "type"), "isa");
		qc_dev(b, "-chardev");
		qc_devf(b, "socket,path=%s/qga.sock,server=on,wait=off,id=qga0", env->rundir);
		qc_dev(b, "-device");
		if (isa) {
			qc_dev(b, "isa-serial,chardev=qga0");
		} else {
			qc_devf(b, "virtio-serial,id=qga0%s", cmd_pci_addr("qga0", buf));
			qc_dev(b, "-device");
			qc_dev(b, "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0");
		}
	}
	json_decref(agent);

	json_t *rng = NULL;
	if ((r = get_propstring(b, "rng0", &rng, err)) < 0)
		return r;
	if (rng) {
		const char *source = opt(rng, "source");
		json_t *mb = json_object_get(rng, "max_bytes"),
		       *pd = json_object_get(rng, "period");
		qc_dev(b, "-object");
		qc_devf(b, "rng-random,filename=%s,id=rng0", source ? source : "/dev/urandom");
		qc_dev(b, "-device");
		qc_devf(b,
		        "virtio-rng-pci,rng=rng0,max-bytes=%" JSON_INTEGER_FORMAT
		        ",period=%" JSON_INTEGER_FORMAT "%s",
		        mb ? json_integer_value(mb) : 1024, pd ? json_integer_value(pd) : 1000,
		        cmd_pci_addr("rng0", buf));
		json_decref(rng);
	}

	if (get_int(b, "balloon", 1) != 0) {
		qc_dev(b, "-device");
		qc_devf(b, "virtio-balloon-pci,id=balloon0%s,free-page-reporting=on",
		        cmd_pci_addr("balloon0", buf));
	}

	/* the clock: PVE's rtc flags */
	struct strbuf rtc = STRBUF_INIT;
	const char *ostype = get(b, "ostype");
	bool windows = ostype && (str_startswith(ostype, "w") || streq(ostype, "wxp"));
	const char *startdate = get(b, "startdate");
	_cleanup_free_ char *esc_date = NULL;
	if (startdate && !streq(startdate, "now"))
		strbuf_addf(&rtc, "base=%s", esc_date = opt_escape(startdate));
	else if (get_bool(b, "localtime", windows))
		strbuf_addstr(&rtc, "base=localtime");
	if (get_bool(b, "tdf", false))
		strbuf_addf(&rtc, "%sdriftfix=slew", rtc.len ? "," : "");
	if (rtc.len) {
		qc_dev(b, "-rtc");
		qc_dev(b, rtc.buf);
	}
	strbuf_release(&rtc);

	if ((r = cmd_drives(b, err)) < 0)
		return r;
	if ((r = net_devices(b, err)) < 0)
		return r;

	/* -machine: pflash (cmd_efidisk()), hpet, the accelerator, smm, type */
	bool hpet_off = b->kvm && ostype &&
	                (streq(ostype, "l26") || str_startswith(ostype, "win") ||
	                 streq(ostype, "w2k8") || streq(ostype, "wvista"));
	if (hpet_off)
		strv_extend(&b->machine_flags, "hpet=off");
	strv_extend(&b->machine_flags, b->kvm ? "accel=kvm" : "accel=tcg");
	if (!b->ovmf && (serial_console || !b->kvm))
		strv_extend(&b->machine_flags, "smm=off");
	struct strbuf m = STRBUF_INIT;
	for (char **f = b->machine_flags; f && *f; f++)
		strbuf_addf(&m, "%s,", *f);
	strbuf_addf(&m, "type=%s", mtype);
	qc_dev(b, "-machine");
	qc_dev(b, m.buf);
	strbuf_release(&m);

	const char *args = get(b, "args");
	if (args) {
		_cleanup_strv_free_ char **words = NULL;
		if ((r = split_args(args, &words, err)) < 0)
			return r;
		for (char **w = words; w && *w; w++)
			qc_dev(b, *w);
	}
	return 0;
}

int qemu_cmd_build(const struct qemu_cmd_env *env, const struct guest_conf *c, char ***ret_argv,
                   struct error **err)
{
	struct cmd_builder b = {.env = env, .conf = c->conf};
	int r = build(&b, err);
	json_decref(b.bootorder);
	strv_free(b.machine_flags);
	if (r < 0) {
		strv_free(b.cmd);
		strv_free(b.devices);
		return r;
	}
	for (size_t i = 0; i < b.ndevices; i++)
		push(&b.cmd, &b.ncmd, &b.capcmd, b.devices[i]);
	free(b.devices);
	*ret_argv = b.cmd;
	return 0;
}

/* --- printing --- */

/* As String::ShellQuote, which qm showcmd uses, but with '=' quoted too (as
 * the cfg2cmd files show). */
static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (!(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		       (*s >= '0' && *s <= '9')) ||
		      strchr("_!%+,-./:@^", *s)))
			return true;
	return false;
}

char *qemu_cmd_to_string(char *const *argv)
{
	struct strbuf sb = STRBUF_INIT;
	for (char *const *a = argv; a && *a; a++) {
		if (a != argv)
			strbuf_addch(&sb, ' ');
		if (!needs_quotes(*a)) {
			strbuf_addstr(&sb, *a);
			continue;
		}
		strbuf_addch(&sb, '\'');
		for (const char *p = *a; *p; p++) {
			if (*p == '\'')
				strbuf_addstr(&sb, "'\\''");
			else
				strbuf_addch(&sb, *p);
		}
		strbuf_addch(&sb, '\'');
	}
	return strbuf_detach(&sb, NULL);
}
