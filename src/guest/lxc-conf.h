/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lxc-conf: what an lxc/<vmid>.conf may say, described once (PVE's
 * PVE::LXC::Config and pct.conf(5)).
 *
 * lxc_conf_props[] is the property table of every key (indexed families
 * net0-31, mp0-255, unused0-255, dev0-255; property strings for rootfs,
 * mpN, netN, features, devN) plus the snapshot bookkeeping keys (parent,
 * snaptime).  The file is read as PVE's parse_pct_config() reads it
 * (guest-conf.h with lxc_conf_schema):
 *
 *  - booleans, integers and numbers type-checked and normalised ("on" ->
 *    "1"), property strings checked against their sub-schema and kept as
 *    written (PVE does not rewrite them when it reads);
 *  - a value that fails its check is warned about and KEPT, as PVE does
 *    (its container parser differs from qemu-server's there); the typed
 *    parsers below refuse it when it is used;
 *  - "lxc.*" lines are raw keys (is_valid_lxc_conf_key): kept in file order
 *    in the section's GUEST_CONF_RAW_KEY array, written after the sorted
 *    keys; an unknown or refused one is a warning and dropped;
 *  - the pending section is written "[pve:pending]" (read as that or
 *    "[PENDING]"); no [special:*] sections.
 *
 * The API's check of a value (lxc_conf_check_value()) is the table's
 * (conf_prop_check_value(): type, enumeration, bounds, patterns, formats)
 * plus the container rules (mount point paths, a NIC's name, nameserver
 * and searchdomain lists).  ctvm leaves out `env` (PVE keeps it as
 * lxc.environment.runtime lines: they stay raw keys here).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config-store.h"
#include "guest-conf.h"
#include "property.h"

struct error;
struct guest_snapshot_rules;

extern const struct conf_prop lxc_conf_props[];
/* The format tables lxc_conf_props[] uses. */
extern const struct conf_format *const lxc_conf_formats[];
extern const struct guest_conf_schema lxc_conf_schema;
/* For conf_family_new("<etc>/lxc", ".conf", &lxc_conf_ops, NULL): lenient
 * parse (as PVE's load_config), 0640; the parsed object is a struct
 * guest_conf. */
extern const struct conf_ops lxc_conf_ops;
/* The snapshot steps' container rules (guest-conf.h): "CT is locked (x)",
 * no RAM state, rootfs and mpN volumes. */
extern const struct guest_snapshot_rules lxc_snapshot_rules;

#define LXC_CONF_DESCRIPTION_MAX 8192
#define LXC_CONF_MAX_NETS        32
#define LXC_CONF_MAX_MPS         256

int lxc_conf_parse(const char *data, size_t len, unsigned vmid, unsigned flags,
                   struct guest_conf **ret, char ***ret_warnings, struct error **err);
/* guest_conf_write_schema() with lxc_conf_schema. */
int lxc_conf_write(const struct guest_conf *c, struct strbuf *out, struct error **err);

/* The row of key (a plain key or a member of a family), or NULL. */
const struct conf_prop *lxc_conf_prop(const char *key);

/*
 * The API's check of one value set on key; *ret_value is what to store
 * (malloc'd).  400 {key: reason} with PVE's reasons; an unknown key (any
 * lxc.* key too: PVE's API has none) is "property is not defined in schema
 * and the schema does not allow additional properties".
 */
int lxc_conf_check_value(const char *key, const char *value, char **ret_value, struct error **err);

/* PVE's is_valid_lxc_conf_key(): 1 when an lxc.* key is kept (with
 * *ret_msg a deprecation warning, or NULL), 0 when not (*ret_msg the
 * reason or NULL: not a key PVE knows). */
int lxc_conf_raw_key_valid(const char *key, char **ret_msg);

/* --- typed views of the property strings --- */

struct lxc_net {
	unsigned index;
	char name[16];
	char bridge[16];
	char hwaddr[18];
	char ip[64], gw[64], ip6[64], gw6[64]; /* "" when absent */
	unsigned tag, mtu;                     /* 0 when absent */
	double rate;                           /* MB/s, 0 when absent */
	bool firewall, link_down;
	char type[8]; /* "veth" */
};
/* netN's value: 0, or -EINVAL 400 "invalid format - ..." (a name or bridge
 * longer than an interface name, a missing name). */
int lxc_conf_net_parse(unsigned index, const char *value, struct lxc_net *ret, struct error **err);

struct lxc_mount {
	char key[8];   /* "rootfs", "mp0".. */
	char *volume;  /* volid, or an absolute host path (bind), or /dev/... */
	char *mp;      /* path inside the CT ("/" for rootfs) */
	uint64_t size; /* bytes, 0: none */
	bool ro, acl_set, acl, quota, backup, replicate, shared;
	char *mountoptions; /* NULL when absent */
};
/* rootfs's or mpN's value: 0, or -EINVAL 400 "invalid format - ...". */
int lxc_conf_mount_parse(const char *key, const char *value, struct lxc_mount *ret,
                         struct error **err);
void lxc_mount_done(struct lxc_mount *m);
/* The volume of a rootfs or mpN value, unchecked: its first part without
 * '=', or volume=; malloc'd, NULL when it has none. */
char *lxc_mount_volume(const char *value);
/* PVE's classify_mountpoint(): a volume, a bind mount of a host path, or
 * a device. */
enum lxc_mount_type { LXC_MOUNT_VOLUME, LXC_MOUNT_BIND, LXC_MOUNT_DEVICE };
enum lxc_mount_type lxc_mount_classify(const char *volume);

/* "unprivileged: 1" */
bool lxc_conf_unprivileged(const json_t *main);

struct lxc_features {
	bool nesting, keyctl, fuse, mknod, force_rw_sys;
	char mount[128]; /* "nfs;cifs", "" when absent */
};
int lxc_conf_features_parse(const char *value, struct lxc_features *ret, struct error **err);

/* The lxc.* raw keys of a config's main section in file order, as [key,
 * value] pairs (a new reference; an empty array when none). */
json_t *lxc_conf_raw_keys(const void *parsed);
