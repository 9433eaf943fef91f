/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest-conf: Proxmox's guest config file (qemu-server/<vmid>.conf; the
 * container files share the layout), parsed into the shape PVE's
 * parse_vm_config() gives, as jansson objects the API can answer with.
 *
 *     #description line, percent-encoded (PVE's encode_text)
 *     key: value
 *
 *     [PENDING]
 *     key: value
 *     delete: key1,!key2
 *
 *     [special:cloudinit]
 *     key: value
 *
 *     [snapname]
 *     key: value
 *
 * Parsing follows PVE line by line: blank lines are skipped; '#' lines are the
 * current section's description (decoded, trailing white space dropped);
 * "description: x" adds to it; "args" is kept verbatim; "delete" only in
 * [PENDING]; "snapstate" only in snapshots; every other "key: value" goes
 * through the schema's check (the kind's property table: type check,
 * property-string format, normalisation of drives).  Problems (an unknown
 * key, a bad value, a duplicate or unknown section, a line that is not a
 * key) are warnings that drop the line (or the section), or with
 * GUEST_CONF_STRICT the first one fails the parse with PVE's message
 * ("vm 100 - unable to parse value of 'numa' - type check ('boolean')
 * failed - got 'x'").  A duplicate section replaces the earlier one, as in
 * PVE.  Sizes are bounded (GUEST_CONF_MAX_*): hard errors in every mode.
 *
 * Writing follows PVE's write_vm_config(): per section the description as
 * '#' lines, then the keys sorted by strcmp(); main, then [PENDING] (when it
 * has keys), then [special:*] sorted (an empty cloudinit is left out), then
 * the snapshots sorted by name.  One deliberate difference: '%' in a
 * description is written as "%25" (PVE leaves it), so that parse and write
 * are a fixed point for every input.
 *
 * Values are JSON strings everywhere (the API types them with the property
 * table when it answers, qemu-conf.h's qemu_conf_to_api()), but for the raw
 * keys of a kind that has them (GUEST_CONF_RAW_KEY).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct error;
struct strbuf;

#define GUEST_CONF_MAX_SIZE     (1u << 20) /* bytes of a file (pmxcfs's limit) */
#define GUEST_CONF_MAX_LINE     65536      /* bytes of one line */
#define GUEST_CONF_MAX_SECTIONS 1000       /* snapshots plus special sections */

/* Contract 1 (docs/dev/GUESTS.md). */
struct guest_conf {
	/* main section: key -> string value as the file holds it (normalised);
	 * "description" is the leading '#' lines, decoded */
	json_t *conf;
	/* [PENDING]: same shape; "delete" -> "key1,!key2"; {} when none */
	json_t *pending;
	/* snapshot name -> object of the same shape (with "snaptime", "parent",
	 * "vmstate", "snapstate", ...), in file order */
	json_t *snapshots;
	/* special section name ("cloudinit", "fleecing") -> object */
	json_t *special;
};

/* Where a value is, for the schema's check. */
enum guest_conf_where {
	GUEST_CONF_MAIN,
	GUEST_CONF_PENDING,
	GUEST_CONF_SNAPSHOT,
	GUEST_CONF_SPECIAL,
};

/* The member of a section object that holds its raw keys (the container
 * files' "lxc.*" lines): an array of [key, value] string pairs in file
 * order -- the one member of a section that is not a string. */
#define GUEST_CONF_RAW_KEY "lxc"

/* What one kind of guest says about its file. */
struct guest_conf_schema {
	/* The [special:<name>] sections the kind knows, NULL-terminated (lower
	 * case); any other is an unknown section. */
	const char *const *special_sections;
	/* Keys kept verbatim without the check (qemu's "args"); NULL-terminated,
	 * may be NULL. */
	const char *const *verbatim_keys;
	/* The pending section's header as the kind writes it ("pve:pending"
	 * for containers); NULL: "PENDING".  "[PENDING]" is read as the
	 * pending section for every kind. */
	const char *pending_header;
	/* PVE's container parser keeps a value that fails the check (and
	 * warns); qemu-server's drops the line. */
	bool keep_invalid;
	/*
	 * Raw keys: a line "<raw_prefix>[a-z0-9_.-]+" followed by ':' or
	 * '=' is a raw key, kept in the section's GUEST_CONF_RAW_KEY array when
	 * raw_check(key) returns 1 (with *ret_msg, when set, a warning), or a
	 * problem when it returns 0 (*ret_msg the reason, "key: reason"; NULL:
	 * "unable to parse config: <line>").  raw_prefix NULL: no raw keys.
	 */
	const char *raw_prefix;
	int (*raw_check)(const char *key, char **ret_msg);
	/*
	 * Checks one "key: value" line's value as PVE's parser does and returns
	 * the value to keep (malloc'd): the normalised value, e.g. "on" -> "1",
	 * a drive's options sorted.  special is the special section's name (or
	 * NULL).  On failure the error's message is the reason ("unknown setting
	 * 'x'", "type check ('boolean') failed - got 'x'"); the parser prefixes
	 * it.
	 */
	int (*check)(const char *key, const char *value, enum guest_conf_where where,
	             const char *special, char **ret_value, struct error **err);
};

enum guest_conf_parse_flags {
	GUEST_CONF_STRICT = 1 << 0, /* the first problem fails the parse */
};

/* A config with the four objects empty. */
struct guest_conf *guest_conf_new(void);
/* Returns NULL; NULL is fine. */
struct guest_conf *guest_conf_free(struct guest_conf *c);
static inline void guest_conf_freep(struct guest_conf **c)
{
	guest_conf_free(*c);
}
#define _cleanup_guest_conf_ __attribute__((cleanup(guest_conf_freep)))
/* A deep copy. */
struct guest_conf *guest_conf_dup(const struct guest_conf *c);

/*
 * Parses data (len bytes; need not be NUL-terminated) for guest vmid (only
 * for the messages).  ret_warnings (may be NULL) gets the problems that were
 * skipped, a NULL-terminated strv (each "vm <vmid> - ..."; NULL when none).
 * Errors: -EFBIG/-E2BIG (500) beyond the bounds; with GUEST_CONF_STRICT,
 * -EINVAL (500) with PVE's message.
 */
int guest_conf_parse(const struct guest_conf_schema *schema, unsigned vmid, const char *data,
                     size_t len, unsigned flags, struct guest_conf **ret, char ***ret_warnings,
                     struct error **err);

/*
 * Appends the file text of c to out.  Refuses (-EINVAL, 500) what would not
 * read back as written: a key that is not [a-z][a-z_-]*[0-9]*, a value with a
 * line break or that is empty or not a string, a snapshot name that is not
 * [A-Za-z][A-Za-z0-9_-]+ or is "pending", a special name that is not [a-z]+.
 */
int guest_conf_write(const struct guest_conf *c, struct strbuf *out, struct error **err);
/* The same with the kind's section header for [PENDING] (schema's
 * pending_header); a section's raw keys are written after its sorted keys,
 * in their order, as "key: value" (an empty value allowed). */
int guest_conf_write_schema(const struct guest_conf_schema *schema, const struct guest_conf *c,
                            struct strbuf *out, struct error **err);

/* The config store's reader of a kind's files (struct conf_ops, parse and
 * free): the file as guest_conf_parse() reads it with schema, leniently
 * (no vmid, no flags, warnings dropped), into a struct guest_conf. */
int guest_conf_store_parse(const struct guest_conf_schema *schema, const char *data, size_t len,
                           void **ret, struct error **err);
void guest_conf_store_free(void *obj);

struct conf_prop;
struct conf_format;
/* The API's check of value for key every kind starts with: p is the key's
 * row (NULL: a key the API does not take, 400 as PVE's schema says);
 * "description" is any text of at most description_max bytes (returns 1:
 * *ret_value is final); else conf_prop_check_value() with formats (0:
 * *ret_value is the normal form, for the kind to check further). */
/* A boolean, integer or number (t) in a kind's file as PVE's check_type
 * reads it: a boolean's 1/on/yes/true (any case) and 0/off/no/false as
 * "1" and "0", an integer of at most 18 digits without its leading zeros,
 * a number as written; else -EINVAL 400 "type check ('<t>') failed - got
 * '<value>'". */
int guest_conf_file_scalar(int t, const char *value, char **ret_value, struct error **err);
int guest_conf_check_prop(const struct conf_prop *p, const struct conf_format *const *formats,
                          size_t description_max, const char *key, const char *value,
                          char **ret_value, struct error **err);
/* Defines const struct conf_ops name for a kind's files: schema's reader
 * and writer (guest_conf_write_schema()), GUEST_CONF_MAX_SIZE, mode 0640
 * (config-store.h must be included where it is used). */
#define GUEST_CONF_OPS(name, schema)                                                     \
	static int name##_parse(const char *data, size_t len, void *ctx, void **ret,     \
	                        struct error **err)                                      \
	{                                                                                \
		(void)ctx;                                                               \
		return guest_conf_store_parse(&(schema), data, len, ret, err);           \
	}                                                                                \
	static int name##_write(const void *obj, struct strbuf *out, struct error **err) \
	{                                                                                \
		return guest_conf_write_schema(&(schema), obj, out, err);                \
	}                                                                                \
	const struct conf_ops name = {                                                   \
	    .max_size = GUEST_CONF_MAX_SIZE,                                             \
	    .mode = 0640,                                                                \
	    .parse = name##_parse,                                                       \
	    .write = name##_write,                                                       \
	    .free = guest_conf_store_free,                                               \
	}

/* PVE's encode_text()/decode_text() for description lines (malloc'd):
 * control bytes, bytes >= 0x7f, ':' and '%' become "%XX"; decoding turns
 * every "%XX" back and replaces invalid UTF-8 by U+FFFD. */
char *guest_conf_encode_text(const char *text);
char *guest_conf_decode_text(const char *data, size_t len);

/* The value of key in a section object, or NULL. */
const char *guest_conf_get(const json_t *section, const char *key);
/* Sets (copies value; NULL deletes) key in a section object. */
void guest_conf_set(json_t *section, const char *key, const char *value);

/* --- snapshots in the config (guest-conf-snapshot.c) --- */

/*
 * What PVE's snapshot create, delete and rollback do to the config, step by
 * step, with PVE's messages (500): the caller holds the file's lock, writes
 * the config after each step and runs the volume (and QEMU) operations in
 * between, as AbstractConfig does:
 *
 *   create:   prepare (checks, lock: snapshot, the section copied from the
 *             main one with snapstate: prepare), volumes, commit (parent set,
 *             lock and snapstate gone)
 *   delete:   delete_prepare (snapstate: delete), volumes, delete_finish (the
 *             section gone, children and the main section re-parented)
 *   rollback: rollback_prepare (checks, lock: rollback), volumes,
 *             rollback_finish (main = the snapshot's keys plus the current
 *             description and unused volumes; volumes no longer used become
 *             unusedN; the kind's hook; pending changes and special sections
 *             dropped, as PVE)
 *
 * What differs between kinds is in the rules.
 */
struct guest_snapshot_opts {
	long long snaptime;
	const char *comment; /* the snapshot's description; may be NULL */
	/* with RAM: the state volume and what QEMU ran (may be NULL) */
	const char *vmstate, *runningmachine, *runningcpu;
};

struct guest_snapshot_rules {
	const char *noun; /* "VM is locked (backup)", "CT is locked (backup)" */
	/* Snapshots with RAM are not supported: prepare with a vmstate fails
	 * "implement me - snapshot_save_vmstate", a rollback to a snapshot that
	 * has one "implement me - save vmstate" (PVE's containers). */
	bool no_vmstate;
	/* The volumes of section's disks (not a CD-ROM, not a host path),
	 * NULL-terminated strv appended to *ret. */
	int (*volumes)(const json_t *section, char ***ret, struct error **err);
	/* The kind's part of a rollback on the new main section conf (old: the
	 * main section before, snap: the snapshot); may be NULL. */
	void (*rollback_hook)(json_t *conf, const json_t *old, const json_t *snap);
};

int guest_conf_snapshot_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                const char *name, const struct guest_snapshot_opts *o,
                                struct error **err);
int guest_conf_snapshot_commit(const struct guest_snapshot_rules *k, struct guest_conf *c,
                               const char *name, struct error **err);
int guest_conf_snapshot_delete_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                       const char *name, struct error **err);
int guest_conf_snapshot_delete_finish(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                      const char *name, struct error **err);
int guest_conf_snapshot_rollback_prepare(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                         const char *name, struct error **err);
int guest_conf_snapshot_rollback_finish(const struct guest_snapshot_rules *k, struct guest_conf *c,
                                        const char *name, struct error **err);
