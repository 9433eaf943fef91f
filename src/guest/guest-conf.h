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
 * table when it answers, qemu-conf.h's qemu_conf_to_api()).
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

/* What one kind of guest says about its file. */
struct guest_conf_schema {
	/* The [special:<name>] sections the kind knows, NULL-terminated (lower
	 * case); any other is an unknown section. */
	const char *const *special_sections;
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

/* PVE's encode_text()/decode_text() for description lines (malloc'd):
 * control bytes, bytes >= 0x7f, ':' and '%' become "%XX"; decoding turns
 * every "%XX" back and replaces invalid UTF-8 by U+FFFD. */
char *guest_conf_encode_text(const char *text);
char *guest_conf_decode_text(const char *data, size_t len);

/* The value of key in a section object, or NULL. */
const char *guest_conf_get(const json_t *section, const char *key);
/* Sets (copies value; NULL deletes) key in a section object. */
void guest_conf_set(json_t *section, const char *key, const char *value);
