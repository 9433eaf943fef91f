/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Typed property tables: every config key is described once, as one row
 * (`struct conf_prop`): its type, named format, bounds, enumeration,
 * default, description and flags.  The same row drives the config parser
 * and writer (section-config.h's schemas, guest configs next) and, through
 * a generator, the API's parameter rows (docs/dev/ADDING-AN-API-METHOD.md),
 * so the file and the API cannot disagree about a key.
 *
 * Three shapes beyond a plain key:
 *
 *   indexed families   one row for net0..net31: .name = "net",
 *                      .flags = CONF_PROP_INDEXED, .index_max = 31
 *   property strings   CONF_TYPE_PROPSTRING with a sub-schema (`struct
 *                      conf_propstring`): "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0"
 *                      or, with a default key, "local:vm-100-disk-0,size=32G"
 *                      where the bare first value is the default key's
 *   named formats      .format = "pve-node" (or "pve-node-list"): a
 *                      `struct conf_format` found in the format tables
 *                      the caller passes (see below)
 *
 * Named formats are rows too.  Each layer defines the formats it owns in a
 * table (conf_formats[] here, task_formats[], access_formats[],
 * storage_formats[]); a user of a property table passes the NULL-terminated
 * list of tables it may use.  A format name that is in none of them fails
 * the value (fail closed, 500), and ctvmd refuses to start when any row of
 * the method table or of a config schema names one (api_formats_check()),
 * so an unknown name never passes a value silently.  A "-list" suffix is
 * derived: "pve-node-list" is a comma/semicolon/blank separated list of
 * pve-node values (an empty list passes, as in Proxmox).
 *
 * Messages are Proxmox's (PVE::JSONSchema::check_prop and
 * parse_property_string), one line each; errors are 400 parameter errors
 * {key: reason} (error_param()).
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct error;

enum conf_type {
	CONF_TYPE_STRING,
	CONF_TYPE_INTEGER, /* ^[+-]?\d+$, at most 18 digits */
	CONF_TYPE_NUMBER,  /* a decimal number */
	/* "1|on|yes|true" / "0|off|no|false" in a config file, normalised to
	 * "1" / "0"; a key without a value means "1" */
	CONF_TYPE_BOOLEAN,
	CONF_TYPE_ENUM,       /* one of .enum_values */
	CONF_TYPE_PROPSTRING, /* "k=v,k=v" after .sub */
	_CONF_TYPE_MAX,
	_CONF_TYPE_INVALID = -EINVAL,
};

enum conf_prop_flags {
	CONF_PROP_OPTIONAL = 1 << 0, /* in a property string; section types say it per type */
	CONF_PROP_INDEXED = 1 << 1,  /* a family: name0 .. name<index_max> */
	CONF_PROP_ARRAY = 1 << 2,    /* the key may repeat in a section */
	/* Names a place on the host (a directory, a volume group, a pool, a
	 * device): only root@pam may set or delete it through the API, and a
	 * path is checked against the system directories (DESIGN.md, "Host-level
	 * properties are root's"). */
	CONF_PROP_ROOT_ONLY = 1 << 3,
	CONF_PROP_SECRET = 1 << 4, /* never logged */
};

/*
 * Checks one value (one item of a "-list").  Returns 0, or a negative errno
 * and, when err is not NULL, an error whose message is the reason a client
 * reads (error_set(err, -EINVAL, 400, "...")).  Pure: no I/O.
 */
typedef int conf_check_fn(const char *value, struct error **err);

struct conf_format {
	const char *name; /* "pve-node"; never ends in "-list" */
	conf_check_fn *check;
	/* Set: a refusal reads "invalid format - value '<value>' is not a valid
	 * <what>" (for a list: the whole list), whatever check said.  NULL:
	 * check's message as it is. */
	const char *what;
};

struct conf_propstring;

struct conf_prop {
	const char *name;
	enum conf_type type;
	unsigned flags;     /* enum conf_prop_flags */
	const char *format; /* a named format ("-list" for a list), or NULL */
	const char *description;
	const char *default_text; /* the default, as text ("1", "32"); documented, and
	                           * filled in by conf_propstring_parse() when asked */
	bool has_min, has_max;    /* INTEGER, NUMBER */
	long long min, max;
	unsigned min_length, max_length;   /* bytes; max_length 0: no bound of its own */
	const char *pattern;               /* POSIX extended regex the whole value matches */
	const char *const *enum_values;    /* ENUM: NULL-terminated */
	const char *typetext;              /* for docs, e.g. "<size>[KMGT]" */
	unsigned index_max;                /* CONF_PROP_INDEXED */
	const struct conf_propstring *sub; /* PROPSTRING */
	/* Property strings only: this key is another name for the key named
	 * here (PVE's alias); the other fields are unused. */
	const char *alias;
	/* The owner's extra check of the value after its type, bounds and
	 * enumeration and before its format (a narrower check speaks first).
	 * Not part of the API schema: the owner runs it when it applies the
	 * value (storage_section_set()), as Proxmox's plugins check their keys. */
	conf_check_fn *check;
};

/* A property string's keys. */
struct conf_propstring {
	const struct conf_prop *props; /* terminated by {.name = NULL} */
	/* A bare value (no '=') belongs to this key ("file" of a disk), at most
	 * once; NULL: bare values are refused. */
	const char *default_key;
};

/* The formats of this layer: pve-configid, pve-vmid (as text), email. */
extern const struct conf_format conf_formats[];

/*
 * The format called name in tables (a NULL-terminated list of tables, each
 * terminated by {.name = NULL}); *ret_list (may be NULL) says whether name
 * had the "-list" suffix.  NULL when none has it.
 */
const struct conf_format *conf_format_find(const struct conf_format *const *tables,
                                           const char *name, bool *ret_list);

/*
 * Checks value against the named format (a list item by item).  0, or -EINVAL
 * (400) with the reason as the message ("invalid format - ..."), or -ENOENT
 * (500) when no table has the format.
 */
int conf_format_check(const struct conf_format *const *tables, const char *format,
                      const char *value, struct error **err);

/*
 * The row of props (terminated by {.name = NULL}) for key: the row of that
 * name, or the family whose name plus an index in 0..index_max (decimal,
 * no leading zero) is key.  *ret_index (may be NULL) is the index, or -1 for
 * a plain key.  NULL when there is none.
 */
const struct conf_prop *conf_props_find(const struct conf_prop *props, const char *key,
                                        int *ret_index);
/* Whether key is p's (p's name, or a member of p's family); *ret_index
 * (may be NULL) as for conf_props_find(). */
bool conf_prop_matches(const struct conf_prop *p, const char *key, int *ret_index);

/*
 * Validates and normalises one value of key (described by p) as a config
 * file holds it: a missing value (NULL) is "1" for a boolean and an error
 * otherwise, line breaks are refused, booleans become "1"/"0", integers lose
 * their '+' and leading zeros.  Then, in this order: the type, the
 * enumeration, the bounds and the pattern; narrow (the caller's narrower
 * check, e.g. a storage type's content types; may be NULL); p->check; the
 * format, looked up in formats.  *ret_value is malloc'd.  A failure is a 400
 * parameter error {key: reason}, or 500 for an unknown format.
 */
int conf_prop_check_value(const struct conf_prop *p, const struct conf_format *const *formats,
                          const char *key, const char *value, conf_check_fn *narrow,
                          char **ret_value, struct error **err);

enum conf_propstring_flags {
	CONF_PROPSTRING_DEFAULTS = 1 << 0, /* add the default_text of keys not given */
};

/*
 * Parses a property string as PVE's parse_property_string: parts split at
 * ',', blank parts skipped, "k=v" (k may be an alias), a bare value for the
 * default key; then every value checked as conf_prop_check_value() does
 * (the first failure in table order is reported) and every key without
 * CONF_PROP_OPTIONAL required.  *ret is an object of the given keys under
 * their real names, typed: integers and booleans as JSON integers, numbers
 * as reals, the rest as strings.  Errors: 400 with a message starting
 * "invalid format - " (the caller puts it under its key).
 */
int conf_propstring_parse(const struct conf_propstring *ps,
                          const struct conf_format *const *formats, const char *value,
                          unsigned flags, json_t **ret, struct error **err);

/* Every format that the rows of props (and their property strings) name is
 * in formats: 0, or -ENOENT with a message naming the key and the format. */
int conf_props_check_formats(const struct conf_prop *props,
                             const struct conf_format *const *formats, struct error **err);

/* "string", "integer", "number", "boolean", "enum", "property-string". */
const char *conf_type_to_string(enum conf_type t);
