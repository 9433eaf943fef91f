/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-conf: what a qemu-server/<vmid>.conf may say, described once.
 *
 * qemu_conf_props[] is the property table of every key PVE's qm.conf(5)
 * knows (src/conf/property.h rows; indexed families ide0-3, sata0-5,
 * scsi0-30, virtio0-15, net0-31, serial0-3, unused0-255, ...; property
 * strings with their sub-schemas), plus the keys PVE keeps for snapshots
 * (parent, snaptime, vmstate, runningmachine, runningcpu) and `meta`.  Keys
 * that name a host path or device carry CONF_PROP_ROOT_ONLY (args,
 * hookscript, hostpciN, parallelN, usbN, rng0); a value can also need root
 * (a drive on a /dev path, a serial port on /dev): qemu_conf_needs_root().
 *
 * The file is read as PVE reads it (guest-conf.h with qemu_conf_schema):
 * booleans, integers and numbers type-checked and normalised ("on" -> "1"),
 * property strings checked against their sub-schema, plain strings freed of
 * surrounding double quotes, and drives written back in PVE's print_drive()
 * form (file first, then the options sorted, the size as PVE formats it).
 * The enumeration of a plain key is not checked in the file (PVE does not);
 * the API checks it (qemu_conf_check_value()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config-store.h"
#include "guest-conf.h"
#include "property.h"

struct error;

extern const struct conf_prop qemu_conf_props[];
/* The format tables qemu_conf_props[] uses (for conf_prop_check_value()). */
extern const struct conf_format *const qemu_conf_formats[];
extern const struct guest_conf_schema qemu_conf_schema;
/* For conf_family_new("<etc>/qemu-server", ".conf", &qemu_conf_ops, NULL):
 * non-strict parse (as PVE's load_config), 0640. */
extern const struct conf_ops qemu_conf_ops;

/* PVE's bound on a description (bytes); it may span lines. */
#define QEMU_CONF_DESCRIPTION_MAX 8192

/* parse with qemu_conf_schema (guest_conf_parse()). */
int qemu_conf_parse(const char *data, size_t len, unsigned vmid, unsigned flags,
                    struct guest_conf **ret, char ***ret_warnings, struct error **err);

/* The row of key (a plain key or a member of a family), or NULL. */
const struct conf_prop *qemu_conf_prop(const char *key);

/*
 * The API's check of one value set on key: everything conf_prop_check_value()
 * checks (type, enumeration, bounds, sub-schema) plus the qemu rules (a
 * net's one model, a drive normalised as the file holds it).  *ret_value is
 * what to store (malloc'd).  Errors: 400 parameter error {key: reason} with
 * PVE's reasons; "unknown setting 'x'" is 400 {x: "property is not defined
 * in schema and the schema does not allow additional properties"}.  The
 * description may hold line breaks (the file keeps it as '#' lines); no
 * other value may.
 */
int qemu_conf_check_value(const char *key, const char *value, char **ret_value, struct error **err);

/* Whether only root@pam may set key to value: the row is ROOT_ONLY, or the
 * value names a host device (a drive or serial port on /dev/...). */
bool qemu_conf_needs_root(const char *key, const char *value);

/* --- drives --- */

enum qemu_drive_bus {
	QEMU_BUS_IDE,
	QEMU_BUS_SATA,
	QEMU_BUS_SCSI,
	QEMU_BUS_VIRTIO,
	QEMU_BUS_EFIDISK,
	QEMU_BUS_TPMSTATE,
	QEMU_BUS_UNUSED,
};

struct qemu_drive {
	char key[16]; /* "scsi0" */
	enum qemu_drive_bus bus;
	int index;
	const char *file;   /* a volid, "none", "cdrom" or a /dev/... path */
	bool cdrom;         /* media=cdrom */
	uint64_t size;      /* bytes; 0 when not given */
	const char *format; /* NULL when not given */
	const char *cache, *discard, *aio, *serial, *efitype, *version;
	bool iothread, ssd, ro, backup_off; /* backup=0 */
	/* every option given, typed (integers and booleans as JSON integers) */
	json_t *opts;
};

/* True for ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0 (and
 * unusedN with with_unused). */
bool qemu_conf_is_drive_key(const char *key, bool with_unused);
/* Parses the value of a drive key: 0, or -EINVAL (400, "invalid format -
 * ..."). */
int qemu_drive_parse(const char *key, const char *value, struct qemu_drive *ret,
                     struct error **err);
void qemu_drive_clear(struct qemu_drive *d);

/* Calls fn for every drive of section in PVE's order (ide, sata, scsi, virtio,
 * efidisk0, tpmstate0; then unused0-255 with with_unused).  A drive that does
 * not parse is an error (400); fn returning < 0 stops the walk with that. */
typedef int qemu_drive_fn(const struct qemu_drive *d, void *userdata, struct error **err);
int qemu_conf_foreach_drive(const json_t *section, bool with_unused, qemu_drive_fn *fn,
                            void *userdata, struct error **err);

/* PVE's parse_size()/format_size() of a disk size ("32G", "4096K", "512"). */
int qemu_parse_size(const char *s, uint64_t *ret);
char *qemu_format_size(uint64_t bytes);

/* --- network devices --- */

struct qemu_net {
	int index;
	const char *model;  /* "virtio", "e1000", ... */
	const char *bridge; /* NULL: user networking */
	char macaddr[18];   /* "" when not given */
	int tag;            /* VLAN; 0 when not given */
	int mtu;            /* 0 when not given (1: the bridge's) */
	int queues;         /* 0 when not given */
	double rate;        /* MB/s; 0 when not given */
	bool firewall, link_down;
	const char *trunks;
	json_t *opts; /* as qemu_drive.opts, with "model" and "macaddr" filled in */
};

int qemu_net_parse(const char *key, const char *value, struct qemu_net *ret, struct error **err);
void qemu_net_clear(struct qemu_net *n);

/* A new MAC address with Proxmox's prefix, "BC:24:11:XX:XX:XX" (random). */
void qemu_conf_random_mac(char ret[18]);

/* --- snapshots in the config --- */

/* The snapshot steps (guest-conf.h, guest_conf_snapshot_*()) with the
 * qemu-server rules: "VM is locked (x)", the drives' volumes, QemuConfig's
 * rollback hook (runningmachine/machine, a new vmgenid). */
extern const struct guest_snapshot_rules qemu_snapshot_rules;
/* The earlier name of the options. */
#define qemu_snapshot_opts guest_snapshot_opts
int qemu_conf_snapshot_prepare(struct guest_conf *c, const char *name,
                               const struct guest_snapshot_opts *o, struct error **err);
int qemu_conf_snapshot_commit(struct guest_conf *c, const char *name, struct error **err);
int qemu_conf_snapshot_delete_prepare(struct guest_conf *c, const char *name, struct error **err);
int qemu_conf_snapshot_delete_finish(struct guest_conf *c, const char *name, struct error **err);
int qemu_conf_snapshot_rollback_prepare(struct guest_conf *c, const char *name, struct error **err);
int qemu_conf_snapshot_rollback_finish(struct guest_conf *c, const char *name, struct error **err);

/* --- the API's view --- */

/* A section (c->conf, a snapshot, pending) as GET .../config answers it:
 * booleans and integers as JSON integers, numbers as reals, the rest as
 * strings; keys the table does not know stay strings. */
json_t *qemu_conf_to_api(const json_t *section);
