/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The method table: every API method is one row (path, verb, parameter and
 * return schema, permission, handler, flags).  The choke point
 * (api-dispatch.c) is the only caller of handlers: it authenticates, checks
 * CSRF, validates parameters against the row's schema, evaluates the row's
 * permission expression, and only then runs the handler.  The schema dump
 * (GET /schema, docs/api) is generated from the same rows, so clients and
 * docs never drift from the code.
 *
 * To add a method see docs/dev/ADDING-AN-API-METHOD.md.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

struct error;
struct api_context;
struct ws_upgrade;
struct access_db;

enum api_type {
	API_TYPE_STRING,
	API_TYPE_INTEGER,
	API_TYPE_NUMBER,
	API_TYPE_BOOLEAN,
	API_TYPE_ARRAY,
	API_TYPE_OBJECT,
	API_TYPE_NULL,
	API_TYPE_ANY,
	_API_TYPE_MAX,
};

/* One parameter (or one property of a returned object). */
struct api_param {
	const char *name;
	enum api_type type;
	/* A named format (property.h), in one of the layers' tables that
	 * api_format_tables lists: "pve-node", "pve-vmid", "pve-userid",
	 * "pve-storage-id", "pve-volume-id", "prune-backups", ...  A format
	 * ending in "-list" takes a comma list and joins repeated form keys
	 * with ','.  An unknown name stops ctvmd at start. */
	const char *format;
	const char *description;
	bool optional;
	const char *default_text; /* documented default, e.g. "1"; not applied */
	bool has_min, has_max;
	long long minimum, maximum;
	unsigned min_length, max_length; /* strings; max_length 0: the global bound */
	const char *const *enum_values;  /* NULL-terminated */
	const char *typetext;
	enum api_type items; /* API_TYPE_ARRAY: element type */
	bool secret;         /* never logged: replaced by "***" in the audit log */
};

/*
 * Permission expressions (pve-api.md 4.8).  A zero-initialised api_permissions
 * means "root@pam only", the safe default for a row that forgot to say.
 */
enum api_check_kind {
	API_CHECK_PERM,         /* privs on path (all, or any) */
	API_CHECK_AND,          /* every sub */
	API_CHECK_OR,           /* some sub */
	API_CHECK_USERID_SELF,  /* param userid == caller's user */
	API_CHECK_USERID_REALM, /* Realm.AllocateUser on /access/realm/<realm of userid> */
	API_CHECK_USERID_GROUP, /* privs on /access/groups, or on groups of userid (+ groups param)
	                         */
	API_CHECK_PERM_MODIFY,  /* Permissions.Modify on {path}, or the Allocate priv of its kind */
};

struct api_check {
	enum api_check_kind kind;
	const char *path;                    /* template, "{param}" replaced from the request */
	const char *const *privs;            /* NULL-terminated */
	bool any;                            /* any of privs suffices */
	const char *require_param;           /* without this param the check fails */
	const char *groups_param;            /* USERID_GROUP: "create" or "update" */
	const struct api_check *const *subs; /* AND / OR, NULL-terminated */
};

enum api_perm_user {
	API_PERM_ROOT = 0, /* root@pam only */
	API_PERM_WORLD,    /* no authentication at all */
	API_PERM_ALL,      /* any authenticated user or token; the handler filters */
	API_PERM_CHECK,    /* evaluate check */
};

struct api_permissions {
	enum api_perm_user user;
	const struct api_check *check;
	const char *description;
};

enum api_method_flags {
	API_NO_TOKEN = 1 << 0,  /* refuse API tokens (403), like allowtoken => 0 */
	API_ASYNC = 1 << 1,     /* returns a UPID: the work runs as a task */
	API_PROTECTED = 1 << 2, /* changes the host: will run in the privileged helper */
	API_NO_CSRF = 1 << 3,   /* no CSRF token needed (streamed uploads, pve-api.md 2.6) */
	/* a WebSocket upgrade (GET): the dispatcher checks the handshake before
	 * the handler, which sets call->upgrade_fd to the stream to relay */
	API_WEBSOCKET = 1 << 4,
};

struct api_call;
/* Returns 0 and *ret_data (may be json_null()), or a negative errno with *err. */
typedef int api_handler_fn(struct api_call *call, json_t **ret_data, struct error **err);

struct api_method {
	const char *path; /* "/nodes/{node}/tasks/{upid}/status" */
	const char *verb; /* "GET", "POST", "PUT", "DELETE" */
	const char *name; /* Proxmox's method name, e.g. "read_task_status" */
	const char *description;
	const struct api_param *params; /* terminated by {.name = NULL} */
	struct api_param returns;       /* name unused */
	struct api_permissions perm;
	unsigned flags;
	api_handler_fn *handler;
};

/* Everything a handler may use.  Built by the choke point; valid for the call. */
struct api_call {
	struct api_context *ctx;
	const struct api_method *method;
	json_t *params;     /* validated and typed (integers and booleans as numbers) */
	const char *authid; /* "user@realm" or "user@realm!token" */
	const char *userid; /* the user (owner of a token) */
	bool is_token;
	const char *peer;           /* client address */
	const struct access_db *db; /* the access snapshot this request was checked against */
	time_t now;
	long long total;   /* set >= 0 to add "total" to the envelope (default -1) */
	unsigned delay_ms; /* answer only after this delay (failed logins) */
	/* A streamed upload's temporary file (http.h), NULL when none: the http
	 * layer deletes it after the call unless the handler renamed it. */
	const char *upload_path;
	unsigned long long upload_size;
	/* API_WEBSOCKET methods: the checked handshake, and the stream the
	 * handler wants relayed (-1 until it sets one; the answer is then 101
	 * and the http layer owns the descriptor). */
	struct ws_upgrade *ws;
	int upgrade_fd;
	bool upgrade_terminal; /* the stream speaks Proxmox's terminal framing */
	/* A success answered with a body that is not JSON (a screenshot):
	 * raw_body (malloc'd, the dispatcher frees it) as is, with raw_type
	 * (a static string), instead of the {"data": ...} envelope. */
	char *raw_body;
	size_t raw_len;
	const char *raw_type;
};

/* Parameter accessors for handlers (after validation, types are guaranteed). */
const char *api_param_str(const struct api_call *call, const char *name);
long long api_param_int(const struct api_call *call, const char *name, long long def);
bool api_param_bool(const struct api_call *call, const char *name, bool def);
bool api_param_has(const struct api_call *call, const char *name);

/* True if the caller has priv on path (root@pam always). */
bool api_call_has_priv(const struct api_call *call, const char *path, const char *priv);

/* The registry: every area's rows (each array ends with {.path = NULL}); the
 * list itself ends with NULL. */
extern const struct api_method *const api_method_tables[];
#define api_foreach_method(m)                                                               \
	for (const struct api_method *const *_t_##m = api_method_tables; *_t_##m; _t_##m++) \
		for (const struct api_method *m = *_t_##m; m->path; m++)

/* Finds the row for verb + path (path relative to /api2/json, unescaped).
 * On a match, *ret_path_params holds the captured {params} (strings). */
const struct api_method *api_method_lookup(const char *verb, const char *path,
                                           json_t **ret_path_params);

/* Helpers to write rows. */
#define API_PRIVS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define API_PERM(p, ...)            \
	(&(const struct api_check){ \
	    .kind = API_CHECK_PERM, .path = (p), .privs = API_PRIVS(__VA_ARGS__)})
#define API_PERM_ANY(p, ...)        \
	(&(const struct api_check){ \
	    .kind = API_CHECK_PERM, .path = (p), .privs = API_PRIVS(__VA_ARGS__), .any = true})
#define API_OR(...)                                      \
	(&(const struct api_check){.kind = API_CHECK_OR, \
	                           .subs = (const struct api_check *const[]){__VA_ARGS__, NULL}})
#define API_AND(...)                                      \
	(&(const struct api_check){.kind = API_CHECK_AND, \
	                           .subs = (const struct api_check *const[]){__VA_ARGS__, NULL}})
#define API_CHECK(c)                                 \
	{                                            \
		.user = API_PERM_CHECK, .check = (c) \
	}
#define API_CHECK_DESC(c, d)                                             \
	{                                                                \
		.user = API_PERM_CHECK, .check = (c), .description = (d) \
	}
#define API_ANY_USER(d)                                  \
	{                                                \
		.user = API_PERM_ALL, .description = (d) \
	}
#define API_WORLD                      \
	{                              \
		.user = API_PERM_WORLD \
	}
#define API_END              \
	{                    \
		.name = NULL \
	}

/* Common parameters. */
#define API_PARAM_NODE                                                         \
	{                                                                      \
		.name = "node", .type = API_TYPE_STRING, .format = "pve-node", \
		.description = "The cluster node name."                        \
	}
#define API_PARAM_STORAGE                                                               \
	{                                                                               \
		.name = "storage", .type = API_TYPE_STRING, .format = "pve-storage-id", \
		.max_length = 100, .description = "The storage identifier."             \
	}
/* A volume id contains '/': a path's last {volume} takes the rest of it.  A
 * volume id of the path's storage or the volume name alone (as PVE's
 * real_volume_id), hence not Proxmox's strict pve-volume-id. */
#define API_PARAM_VOLUME                                                                      \
	{                                                                                     \
		.name = "volume", .type = API_TYPE_STRING, .format = "pve-volume-id-or-name", \
		.max_length = 4096, .description = "Volume identifier or volume name."        \
	}
#define API_PARAM_DIGEST                                                                       \
	{                                                                                      \
		.name = "digest", .type = API_TYPE_STRING, .optional = true, .max_length = 64, \
		.description =                                                                 \
		    "Prevent changes if current configuration file has a different digest. "   \
		    "This can be used to prevent concurrent modifications."                    \
	}
/* A VMID parameter in its own words; opt: it may be left out. */
#define API_PARAM_VMID_AS(opt, desc)                                                               \
	{                                                                                          \
		.name = "vmid", .type = API_TYPE_INTEGER, .format = "pve-vmid", .optional = (opt), \
		.description = (desc), .has_min = true, .minimum = 100, .has_max = true,           \
		.maximum = 999999999                                                               \
	}
#define API_PARAM_VMID API_PARAM_VMID_AS(false, "The (unique) ID of the VM.")
/* PUT's list of keys to remove from a config. */
#define API_PARAM_DELETE                                                                  \
	{                                                                                 \
		.name = "delete", .type = API_TYPE_STRING, .format = "pve-configid-list", \
		.optional = true, .max_length = 4096,                                     \
		.description = "A list of settings you want to delete."                   \
	}
