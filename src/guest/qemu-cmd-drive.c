/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The drives of the QEMU command line: boot order, iothread and throttle
 * objects, OVMF and the efidisk, controllers, blockdev trees and devices,
 * as PVE 9's qemu-server builds them (QemuServer.pm's config_to_command()
 * and Blockdev.pm; qemu-cmd.h).
 */
#include "common.h"

#include <inttypes.h>
#include <nettle/sha2.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-cmd-internal.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* --- boot order --- */

static int add_cdrom(const struct qemu_drive *d, void *userdata, struct error **err)
{
	if (d->cdrom)
		strv_extend(userdata, d->key);
	return 0;
}

static int add_disk(const struct qemu_drive *d, void *userdata, struct error **err)
{
	if (!d->cdrom && d->bus != QEMU_BUS_EFIDISK && d->bus != QEMU_BUS_TPMSTATE)
		strv_extend(userdata, d->key);
	return 0;
}

int cmd_bootorder(struct cmd_builder *b, struct error **err)
{
	b->bootorder = json_object();
	const char *boot = guest_conf_get(b->conf, "boot");
	json_t *opts = NULL;
	if (boot) {
		const struct conf_prop *p = qemu_conf_prop("boot");
		struct error *e = NULL;
		if (conf_propstring_parse(p->sub, qemu_conf_formats, boot, 0, &opts, &e) < 0) {
			error_param(err, "boot", "%s", e ? e->msg : "invalid format");
			error_free(e);
			return -EINVAL;
		}
	}
	_cleanup_json_ json_t *o = opts;
	const char *order = json_string_value(json_object_get(o, "order"));
	const char *legacy = json_string_value(json_object_get(o, "legacy"));
	/* a boot key without legacy letters is an order, maybe empty (PVE) */
	if (boot && !legacy) {
		if (!order)
			return 0;
		/* PVE's split_list(): ';' or ',' or blanks */
		_cleanup_strv_free_ char **devs = strv_split(order, "; ,\t");
		int i = 100;
		for (char **d = devs; d && *d; d++)
			if (**d)
				json_object_set_new(b->bootorder, *d, json_integer(i++));
		return 0;
	}
	if (!legacy)
		legacy = "cdn";
	const char *bootdisk = guest_conf_get(b->conf, "bootdisk");
	int base = 100;
	for (const char *c = legacy; *c; c++, base += 100) {
		if (*c == 'c') {
			/* the bootdisk, numbered by its place among the disks (PVE) */
			_cleanup_strv_free_ char **disks = NULL;
			int r = qemu_conf_foreach_drive(b->conf, false, add_disk, &disks, err);
			if (r < 0)
				return r;
			int j = 0;
			for (char **k = disks; k && *k; k++, j++)
				if (streq_ptr(*k, bootdisk))
					json_object_set_new(b->bootorder, *k,
					                    json_integer(base + j));
		} else if (*c == 'd') {
			_cleanup_strv_free_ char **cdroms = NULL;
			int r = qemu_conf_foreach_drive(b->conf, false, add_cdrom, &cdroms, err);
			if (r < 0)
				return r;
			int j = 0;
			for (char **k = cdroms; k && *k; k++)
				json_object_set_new(b->bootorder, *k, json_integer(base + j++));
		} else if (*c == 'n') {
			int j = 0;
			for (int i = 0; i <= 31; i++) {
				char key[8];
				snprintf(key, sizeof(key), "net%d", i);
				if (guest_conf_get(b->conf, key))
					json_object_set_new(b->bootorder, key,
					                    json_integer(base + j++));
			}
		}
	}
	return 0;
}

static int bootindex(const struct cmd_builder *b, const char *id)
{
	return (int)json_integer_value(json_object_get(b->bootorder, id));
}

/* --- volumes --- */

struct volume {
	struct qemu_volume v;
	bool none; /* no medium */
};

static void volume_clear(struct volume *v)
{
	free(v->v.path);
	free(v->v.format);
	*v = (struct volume){0};
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && streq(s + n - m, suffix);
}

static int resolve(struct cmd_builder *b, const struct qemu_drive *d, struct volume *ret,
                   struct error **err)
{
	*ret = (struct volume){0};
	if (streq(d->file, "none")) {
		ret->none = true;
		return 0;
	}
	if (streq(d->file, "cdrom")) {
		ret->v.path = xstrdup("/dev/cdrom");
		ret->v.block = true;
		return 0;
	}
	if (d->file[0] == '/') {
		ret->v.path = xstrdup(d->file);
		ret->v.block = str_startswith(d->file, "/dev/");
		return 0;
	}
	if (!b->env->resolve)
		return error_set(err, -EINVAL, 500, "%s: no storage resolver", d->key);
	return b->env->resolve(d->file, b->env->userdata, &ret->v, err);
}

/* PVE's drive_uses_cache_direct() */
static bool cache_direct(const struct qemu_drive *d, const struct volume *v)
{
	if (d->cache)
		return streq(d->cache, "none") || streq(d->cache, "off") ||
		       streq(d->cache, "directsync");
	if (d->cdrom || d->bus == QEMU_BUS_EFIDISK)
		return false;
	return !streq_ptr(v->v.storage_type, "btrfs");
}

/* PVE's storage_allows_io_uring_default() */
static bool allows_io_uring(const struct volume *v, bool direct)
{
	const char *t = v->v.storage_type;
	if (streq_ptr(t, "rbd") && v->v.krbd && !direct)
		return false;
	if (streq_ptr(t, "lvm"))
		return false;
	return !streq_ptr(t, "cifs");
}

/* 'e' (file) or 'f' (format) and 30 hex digits of SHA-256("drive=<id>,volid=<volid>"):
 * PVE's get_node_name(), so the names match what PVE's tools expect. */
static char *node_name(char type, const char *id, const char *volid)
{
	_cleanup_free_ char *info = xasprintf("drive=%s,volid=%s", id, volid);
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(info), (const uint8_t *)info);
	sha256_digest(&ctx, sizeof(digest), digest);
	char out[32];
	out[0] = type;
	for (int i = 0; i < 15; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", digest[i]);
	return xstrdup(out);
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		abort();
	return s;
}

static json_t *cache_obj(bool direct, bool no_flush)
{
	return json_pack("{s:b,s:b}", "direct", direct, "no-flush", no_flush);
}

/* The throttle group's limits from the drive's bps/iops options. */
static json_t *throttle_limits(const struct qemu_drive *d)
{
	static const struct {
		const char *opt, *limit;
		bool mib;
	} map[] = {
	    {"bps", "bps-total", false},
	    {"bps_rd", "bps-read", false},
	    {"bps_wr", "bps-write", false},
	    {"iops", "iops-total", false},
	    {"iops_rd", "iops-read", false},
	    {"iops_wr", "iops-write", false},
	    {"mbps", "bps-total", true},
	    {"mbps_rd", "bps-read", true},
	    {"mbps_wr", "bps-write", true},
	    {"mbps_max", "bps-total-max", true},
	    {"mbps_rd_max", "bps-read-max", true},
	    {"mbps_wr_max", "bps-write-max", true},
	    {"iops_max", "iops-total-max", false},
	    {"iops_rd_max", "iops-read-max", false},
	    {"iops_wr_max", "iops-write-max", false},
	    {"bps_max_length", "bps-total-max-length", false},
	    {"bps_rd_max_length", "bps-read-max-length", false},
	    {"bps_wr_max_length", "bps-write-max-length", false},
	    {"iops_max_length", "iops-total-max-length", false},
	    {"iops_rd_max_length", "iops-read-max-length", false},
	    {"iops_wr_max_length", "iops-write-max-length", false},
	};
	json_t *limits = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		json_t *v = json_object_get(d->opts, map[i].opt);
		if (!v)
			continue;
		double x = json_number_value(v);
		long long n = map[i].mib ? (long long)(x * 1024 * 1024) : (long long)x;
		json_object_set_new(limits, map[i].limit, json_integer(n));
	}
	return limits;
}

static void throttle_object(struct cmd_builder *b, const struct qemu_drive *d)
{
	_cleanup_json_ json_t *o = json_object();
	json_object_set_new(o, "id", json_sprintf("throttle-drive-%s", d->key));
	json_object_set_new(o, "limits", throttle_limits(d));
	json_object_set_new(o, "qom-type", json_string("throttle-group"));
	_cleanup_free_ char *s = dump(o);
	qc_cmd(b, "-object");
	qc_cmd(b, s);
}

/* PVE's generate_drive_blockdev(): throttle -> format -> file. */
static char *blockdev(const struct qemu_drive *d, const struct volume *v, bool ro,
                      uint64_t fmt_size)
{
	bool direct = cache_direct(d, v);
	bool no_flush = streq_ptr(d->cache, "unsafe");
	const char *aio = d->aio;
	if (!aio)
		aio = allows_io_uring(v, direct) ? "io_uring" : direct ? "native" : "threads";
	const char *format = v->v.format ? v->v.format : d->format ? d->format : "raw";
	const char *discard = streq_ptr(d->discard, "on") ? "unmap" : "ignore";
	const char *zeroes = json_object_get(d->opts, "detect_zeroes") &&
	                             !json_integer_value(json_object_get(d->opts, "detect_zeroes"))
	                         ? "off"
	                     : streq(discard, "unmap") ? "unmap"
	                                               : "on";

	_cleanup_free_ char *ename = node_name('e', d->key, d->file);
	_cleanup_free_ char *fname = node_name('f', d->key, d->file);
	json_t *file = json_pack(
	    "{s:s,s:o,s:s,s:s,s:s,s:b}", "aio", aio, "cache", cache_obj(direct, no_flush), "driver",
	    v->v.block ? (streq(d->file, "cdrom") ? "host_cdrom" : "host_device") : "file",
	    "filename", v->v.path, "node-name", ename, "read-only", ro);
	json_t *fmt =
	    json_pack("{s:o,s:s,s:o,s:s,s:b}", "cache", cache_obj(direct, no_flush), "driver",
	              format, "file", file, "node-name", fname, "read-only", ro);
	if (fmt_size)
		json_object_set_new(fmt, "size", json_integer((json_int_t)fmt_size));
	_cleanup_json_ json_t *top =
	    json_pack("{s:s,s:o,s:b}", "driver", "throttle", "file", fmt, "read-only", ro);
	json_object_set_new(top, "node-name", json_sprintf("drive-%s", d->key));
	json_object_set_new(top, "throttle-group", json_sprintf("throttle-drive-%s", d->key));
	if (!d->cdrom) {
		json_t *layers[] = {top, fmt, file};
		for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
			json_object_set_new(layers[i], "detect-zeroes", json_string(zeroes));
			json_object_set_new(layers[i], "discard", json_string(discard));
		}
	}
	return dump(top);
}

/* --- objects --- */

static bool scsi_single(const struct cmd_builder *b)
{
	return streq_ptr(guest_conf_get(b->conf, "scsihw"), "virtio-scsi-single");
}

static int drive_objects(const struct qemu_drive *d, void *userdata, struct error **err)
{
	struct cmd_builder *b = userdata;
	if (d->bus == QEMU_BUS_EFIDISK || d->bus == QEMU_BUS_TPMSTATE)
		return 0;
	if (d->bus == QEMU_BUS_SCSI && scsi_single(b) && d->iothread) {
		qc_cmd(b, "-object");
		qc_cmdf(b, "iothread,id=iothread-virtioscsi%d", d->index);
	}
	if (d->bus == QEMU_BUS_VIRTIO && d->iothread) {
		qc_cmd(b, "-object");
		qc_cmdf(b, "iothread,id=iothread-%s", d->key);
	}
	if (!streq(d->file, "none"))
		throttle_object(b, d);
	return 0;
}

int cmd_drive_objects(struct cmd_builder *b, struct error **err)
{
	return qemu_conf_foreach_drive(b->conf, false, drive_objects, b, err);
}

/* --- OVMF --- */

int cmd_efidisk(struct cmd_builder *b, struct error **err)
{
	const char *v = guest_conf_get(b->conf, "efidisk0");
	if (!v)
		return error_param(err, "efidisk0",
		                   "bios 'ovmf' needs an EFI disk (efidisk0) with ctvm");
	struct qemu_drive d;
	int r = qemu_drive_parse("efidisk0", v, &d, err);
	if (r < 0)
		return r;
	bool m4 = streq_ptr(d.efitype, "4m");
	const char *code =
	    m4 ? (b->env->ovmf_code_4m ? b->env->ovmf_code_4m : QEMU_CMD_OVMF_CODE_4M)
	       : (b->env->ovmf_code_2m ? b->env->ovmf_code_2m : QEMU_CMD_OVMF_CODE_2M);
	struct volume vol;
	if ((r = resolve(b, &d, &vol, err)) < 0) {
		qemu_drive_clear(&d);
		return r;
	}
	if (vol.none) {
		qemu_drive_clear(&d);
		return error_param(err, "efidisk0", "an EFI disk needs a volume");
	}
	throttle_object(b, &d);
	_cleanup_json_ json_t *fw =
	    json_pack("{s:s,s:{s:s,s:s},s:s,s:b}", "driver", "raw", "file", "driver", "file",
	              "filename", code, "node-name", "pflash0", "read-only", true);
	_cleanup_free_ char *fws = dump(fw);
	qc_cmd(b, "-blockdev");
	qc_cmd(b, fws);
	/* a raw vars image is exactly the template's size: 528 KiB for 4m, 128 KiB for 2m */
	const char *format = vol.v.format ? vol.v.format : d.format ? d.format : "raw";
	uint64_t size = streq(format, "raw") ? (m4 ? 540672 : 131072) : 0;
	_cleanup_free_ char *bd = blockdev(&d, &vol, false, size);
	qc_cmd(b, "-blockdev");
	qc_cmd(b, bd);
	strv_extend(&b->machine_flags, "pflash0=pflash0");
	strv_extend(&b->machine_flags, "pflash1=drive-efidisk0");
	volume_clear(&vol);
	qemu_drive_clear(&d);
	return 0;
}

/* --- controllers and devices --- */

static void add_controller(struct cmd_builder *b, const struct qemu_drive *d)
{
	char buf[32];
	if (d->bus == QEMU_BUS_SATA) {
		if (!b->ahci_added) {
			qc_dev(b, "-device");
			qc_devf(b, "ahci,id=ahci0,multifunction=on%s", cmd_pci_addr("ahci0", buf));
		}
		b->ahci_added = true;
		return;
	}
	const char *hw = guest_conf_get(b->conf, "scsihw");
	if (!hw)
		hw = "lsi";
	bool single = streq(hw, "virtio-scsi-single");
	int maxdev = single ? 1 : str_startswith(hw, "lsi") ? 7 : 256;
	int ctrl = d->index / maxdev;
	if (b->scsi_ctrl[ctrl / 32] & (1u << (ctrl % 32)))
		return;
	b->scsi_ctrl[ctrl / 32] |= 1u << (ctrl % 32);
	const char *prefix = single ? "virtioscsi" : "scsihw";
	char id[24];
	snprintf(id, sizeof(id), "%s%d", prefix, ctrl);
	_cleanup_free_ char *extra = xstrdup("");
	if (single && d->iothread) {
		free(extra);
		extra = xasprintf(",iothread=iothread-%s", id);
	}
	json_t *q = json_object_get(d->opts, "queues");
	if (single && q) {
		char *e =
		    xasprintf("%s,num_queues=%" JSON_INTEGER_FORMAT, extra, json_integer_value(q));
		free(extra);
		extra = e;
	}
	qc_dev(b, "-device");
	qc_devf(b, "%s,id=%s%s%s", single ? "virtio-scsi-pci" : hw, id, cmd_pci_addr(id, buf),
	        extra);
}

static char *drive_device(struct cmd_builder *b, const struct qemu_drive *d, bool has_medium)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[32];
	const char *type = d->cdrom ? "cd" : "hd";
	_cleanup_free_ char *drive =
	    has_medium ? xasprintf(",drive=drive-%s", d->key) : xstrdup("");
	const char *wwn = json_string_value(json_object_get(d->opts, "wwn"));
	switch (d->bus) {
	case QEMU_BUS_IDE:
	case QEMU_BUS_SATA:
		if (d->bus == QEMU_BUS_IDE)
			strbuf_addf(&sb, "ide-%s,bus=ide.%d,unit=%d", type, d->index / 2,
			            d->index % 2);
		else
			strbuf_addf(&sb, "ide-%s,bus=ahci0.%d", type, d->index);
		strbuf_addf(&sb, "%s,id=%s", drive, d->key);
		if (!d->cdrom) {
			const char *model = json_string_value(json_object_get(d->opts, "model"));
			if (model)
				strbuf_addf(&sb, ",model=%s", model);
			if (d->ssd)
				strbuf_addstr(&sb, ",rotation_rate=1");
		}
		if (wwn)
			strbuf_addf(&sb, ",wwn=%s", wwn);
		break;
	case QEMU_BUS_SCSI: {
		const char *hw = guest_conf_get(b->conf, "scsihw");
		bool single = streq_ptr(hw, "virtio-scsi-single");
		int maxdev = single ? 1 : (!hw || str_startswith(hw, "lsi")) ? 7 : 256;
		const char *prefix = single ? "virtioscsi" : "scsihw";
		if (!hw || str_startswith(hw, "lsi") || streq(hw, "pvscsi"))
			strbuf_addf(&sb, "scsi-%s,bus=%s%d.0,scsi-id=%d", type, prefix,
			            d->index / maxdev, d->index % maxdev);
		else
			strbuf_addf(&sb, "scsi-%s,bus=%s%d.0,channel=0,scsi-id=0,lun=%d", type,
			            prefix, d->index / maxdev, d->index);
		strbuf_addf(&sb, "%s,id=%s", drive, d->key);
		if (d->ssd)
			strbuf_addstr(&sb, ",rotation_rate=1");
		if (wwn)
			strbuf_addf(&sb, ",wwn=%s", wwn);
		if (!d->cdrom)
			strbuf_addf(&sb, ",device_id=drive-%s", d->key);
		break;
	}
	case QEMU_BUS_VIRTIO:
		strbuf_addf(&sb, "virtio-blk-pci%s,id=%s%s", drive, d->key,
		            cmd_pci_addr(d->key, buf));
		if (d->iothread)
			strbuf_addf(&sb, ",iothread=iothread-%s", d->key);
		break;
	default:
		break;
	}
	if (d->serial)
		strbuf_addf(&sb, ",serial=%s", d->serial);
	int bi = bootindex(b, d->key);
	if (bi)
		strbuf_addf(&sb, ",bootindex=%d", bi);
	if (!d->cdrom)
		strbuf_addf(&sb, ",write-cache=%s",
		            streq_ptr(d->cache, "writethrough") || streq_ptr(d->cache, "directsync")
		                ? "off"
		                : "on");
	return strbuf_detach(&sb, NULL);
}

static int one_drive(const struct qemu_drive *d, void *userdata, struct error **err)
{
	struct cmd_builder *b = userdata;
	if (d->bus == QEMU_BUS_EFIDISK || d->bus == QEMU_BUS_TPMSTATE)
		return 0;
	if (!json_object_get(d->opts, "media") && ends_with(d->file, ".iso"))
		return error_set(err, -EINVAL, 400,
		                 "%s: explicit media parameter is required for iso images", d->key);
	if (d->bus == QEMU_BUS_SCSI && json_object_get(d->opts, "scsiblock"))
		return error_param(err, d->key, "scsiblock is not supported by ctvm");
	struct volume v;
	int r = resolve(b, d, &v, err);
	if (r < 0)
		return r;
	if (d->bus == QEMU_BUS_SATA || d->bus == QEMU_BUS_SCSI)
		add_controller(b, d);
	if (!v.none) {
		_cleanup_free_ char *bd = blockdev(d, &v, d->cdrom || d->ro, 0);
		qc_dev(b, "-blockdev");
		qc_dev(b, bd);
	}
	_cleanup_free_ char *dev = drive_device(b, d, !v.none);
	qc_dev(b, "-device");
	qc_dev(b, dev);
	volume_clear(&v);
	return 0;
}

int cmd_drives(struct cmd_builder *b, struct error **err)
{
	return qemu_conf_foreach_drive(b->conf, false, one_drive, b, err);
}

int qemu_cmd_drive_args(const struct qemu_cmd_env *env, const json_t *conf, const char *key,
                        char ***ret_args, struct error **err)
{
	struct cmd_builder b = {.env = env, .conf = conf};
	struct qemu_drive d;
	const char *value = guest_conf_get(conf, key);
	if (!value)
		return error_set(err, -ENOENT, 500, "no drive '%s'", key);
	int r = qemu_drive_parse(key, value, &d, err);
	if (r < 0)
		return r;
	if (d.bus == QEMU_BUS_EFIDISK || d.bus == QEMU_BUS_TPMSTATE)
		r = error_set(err, -EOPNOTSUPP, 500, "%s: no device of its own", key);
	/* the same builder steps as the whole command line, for this drive */
	if (r == 0)
		r = cmd_bootorder(&b, err);
	if (r == 0)
		r = drive_objects(&d, &b, err);
	if (r == 0)
		r = one_drive(&d, &b, err);
	qemu_drive_clear(&d);
	json_decref(b.bootorder);
	strv_free(b.machine_flags);
	if (r < 0) {
		strv_free(b.cmd);
		strv_free(b.devices);
		return r;
	}
	char **args = b.cmd;
	for (size_t i = 0; i < b.ndevices; i++)
		strv_extend(&args, b.devices[i]);
	strv_free(b.devices);
	if (!args)
		args = xcalloc(1, sizeof(*args));
	*ret_args = args;
	return 0;
}
