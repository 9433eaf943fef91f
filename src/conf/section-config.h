/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * section-config: Proxmox's SectionConfig format (domains.cfg, storage.cfg).
 *
 *     # comment
 *     <type>: <id>
 *     <indent><key> [<value>]
 *     <indent><key> [<value>]
 *     <blank line>
 *
 * A section runs from its header to the next empty line.  Lines starting with
 * optional blanks and '#' are comments everywhere (they are not kept).  Keys
 * may be indented by tabs or any number of spaces; the writer uses one tab.
 *
 * The generic layer keeps every section as (type, id, ordered list of key and
 * value strings).  A schema (the keys each type takes, described in a
 * property table, property.h) validates the keys and normalises booleans and
 * integers, like PVE's check_value(); without a schema every key is kept as
 * it is and written back in file order.
 *
 * Parsing is lenient like PVE: bad lines, unknown keys, duplicate keys and
 * sections of unknown types are dropped and reported in `warnings`; with
 * SECTION_CONFIG_STRICT the first such problem fails the parse instead.
 * Inputs come from the API, so the size, the line length and the number of
 * lines and sections are bounded (the bounds are hard errors in every mode).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "property.h"

struct error;
struct strbuf;

#define SECTION_CONFIG_MAX_SIZE     (4u << 20) /* bytes of a whole file */
#define SECTION_CONFIG_MAX_LINE     8192       /* bytes per line */
#define SECTION_CONFIG_MAX_LINES    100000
#define SECTION_CONFIG_MAX_SECTIONS 10000

/*
 * A key a section type takes.  The key itself (type, bounds, format,
 * description, flags) is described once, in the owner's property table
 * (property.h); the type says whether it needs the key, whether it is fixed,
 * and may narrow it (PVE's plugin "options" and check_config).
 */
struct section_prop {
	const struct conf_prop *prop;
	bool optional;
	bool fixed; /* cannot change after creation */
	/* The type's narrower check, run before the key's own check and format
	 * (a storage type's content types); NULL: none. */
	conf_check_fn *check;
	/* The type's narrower enumeration of an enum key (a subset of the
	 * key's); NULL: the key's. */
	const char *const *enum_values;
};

struct section_type {
	const char *type;
	const struct section_prop *props;
	size_t n_props;
};

struct section_schema {
	const struct section_type *types;
	size_t n_types;
	/* The format tables the keys may name (property.h), NULL-terminated;
	 * NULL: none, and a key that names a format fails. */
	const struct conf_format *const *formats;
	bool allow_unknown;  /* keep sections of unknown types (marked unknown) */
	bool lowercase_type; /* header type is lowercased (domains.cfg) */
	/* Checks a section id; NULL: any non-blank word. */
	int (*validate_id)(const char *id, struct error **err);
};

struct section_kv {
	char *key;
	char *value; /* NULL: key without value */
};

struct section {
	char *type;
	char *id;
	bool unknown; /* type not in the schema */
	struct section_kv *kv;
	size_t n_kv, alloc_kv;
};

struct section_config {
	struct section **sections; /* in file order */
	size_t n_sections, alloc_sections;
	char digest[41]; /* SHA-1 hex of the raw bytes parsed ("" for a new config) */
	char **warnings; /* "line N: ..." */
	size_t n_warnings;
};

enum section_config_flags {
	SECTION_CONFIG_STRICT = 1 << 0,
};

/* SHA-1 hex digest of data, as PVE's digest of a config file.  ret: 41 bytes. */
void config_digest(const void *data, size_t len, char ret[41]);

struct section_config *section_config_new(void);
struct section_config *section_config_free(struct section_config *c);
static inline void section_config_freep(struct section_config **c)
{
	section_config_free(*c);
}
#define _cleanup_section_config_ _cleanup_(section_config_freep)

/* schema may be NULL (generic).  Fails only on limits, embedded NUL bytes or,
 * with SECTION_CONFIG_STRICT, on the first warning (400). */
int section_config_parse(const char *data, size_t len, const struct section_schema *schema,
                         unsigned flags, struct section_config **ret, struct error **err);

/*
 * Writes the config.  With a schema, known types follow PVE's key order:
 * comment, disable, required keys sorted, optional keys sorted; unknown types:
 * comment then the other keys sorted.  Without a schema keys keep their
 * order.  Values containing a line break are refused (-EINVAL, 500).
 */
int section_config_write(const struct section_config *c, const struct section_schema *schema,
                         struct strbuf *out, struct error **err);

struct section *section_config_find(const struct section_config *c, const char *id);
/* Adds a new section at the end; -EEXIST (400) if the id exists. */
int section_config_add(struct section_config *c, const char *type, const char *id,
                       struct section **ret, struct error **err);
/* Removes the section; false if there was none. */
bool section_config_remove(struct section_config *c, const char *id);

/* The first value of key (NULL if unset or set without a value). */
const char *section_get(const struct section *s, const char *key);
bool section_has(const struct section *s, const char *key);
/* Replaces every value of key by one (value NULL: key without value). */
void section_set(struct section *s, const char *key, const char *value);
/* Appends another value for an array key. */
void section_append(struct section *s, const char *key, const char *value);
/* Removes every value of key; false if none. */
bool section_unset(struct section *s, const char *key);

/* Validates and normalises one value for (type, key) against the schema;
 * *ret_value is malloc'd.  400 with errors {key: reason} on failure. */
int section_schema_check_value(const struct section_schema *schema, const char *type,
                               const char *key, const char *value, char **ret_value,
                               struct error **err);
const struct section_type *section_schema_find_type(const struct section_schema *schema,
                                                    const char *type);
/* The type's row for key (a family's row for one of its members). */
const struct section_prop *section_type_find_prop(const struct section_type *t, const char *key);
/* Every key of every type of schema has a known format and a sound row
 * (conf_props_check_formats()), and a narrower enumeration only on an enum
 * key: 0, or -ENOENT / -EINVAL (500) naming the type and the key. */
int section_schema_check(const struct section_schema *schema, struct error **err);
