/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the files of src/api only. */
#pragma once

#include <stdint.h>

#include <jansson.h>

#include "api-method.h"
#include "jsonutil.h"
#include "task.h"

struct error;

/* api-formats.c: every layer's named formats (property.h), NULL-terminated;
 * the start-up check is api_formats_check() (api.h). */
struct conf_format;
extern const struct conf_format *const api_format_tables[];

/* api-schema.c */
const char *api_type_name(enum api_type t);
bool api_valid_node(const char *s);
/* Validates and types params in place (merged path + query + body). */
int api_validate_params(const struct api_method *m, json_t *params, struct error **err);
json_t *api_method_schema(const struct api_method *m);

/* api-perm.c: evaluates the method's permission expression; 403 on denial. */
int api_check_permissions(const struct api_call *call, struct error **err);
/*
 * Fills "{param}" placeholders of a path template from params, like
 * Proxmox's template_replace: a string as is, an integer in decimal, a
 * missing or empty value as `missing` (Proxmox: "-").  NULL when a value has
 * any other JSON type (a real, a boolean, null, an array, an object): the
 * check then fails, rather than check a path cut short ("/pool/" for
 * {"poolid": 1000.0}).
 */
char *api_expand_path(const char *tmpl, const json_t *params, const char *missing);

/* api-dispatch.c: the caller's authid (malloc'd) from the request's
 * credentials, or NULL; the choke point's check without CSRF and without
 * answering, for hooks that run before the body is read. */
struct http_request;
struct access_db;
char *api_request_authid(struct api_context *ctx, const struct http_request *req,
                         const struct access_db *db, time_t now);

/* api-tasks.c: starts the registered operation type (task.h "named
 * operations") with args, plain data the handler built from its checked
 * parameters, as a task of the caller and answers its UPID (the return value
 * of every API_ASYNC method).  The handler has done every check a client
 * should see answered; the operation does the work. */
int api_start_op(struct api_call *call, const char *type, const char *id, const json_t *args,
                 json_t **ret, struct error **err);

/* login rate limiting (api-login.c) */
struct login_limiter;
struct login_limiter *login_limiter_new(void);
struct login_limiter *login_limiter_free(struct login_limiter *l);
/* Delay in ms to apply to a failure for this user and address, and records it. */
unsigned login_limiter_fail(struct login_limiter *l, const char *user, const char *addr,
                            unsigned base_ms);
void login_limiter_success(struct login_limiter *l, const char *user, const char *addr);

/* Each area's rows (api-*.c). */
extern const struct api_method api_methods_core[];
extern const struct api_method api_methods_console[];
/* The node's TLS certificate (PEM) for vncproxy's and vncshell's "cert":
 * PVE answers its certificate there for a client that checks the VNC
 * proxy's TLS (ctvm's relay is on the API's own connection, same cert). */
const char *api_console_cert(const struct api_call *call);
/* api-console.c: a node shell ticket for the caller (POST
 * /nodes/{node}/termproxy, checked already): root_shell is root@pam's
 * "login -f root", else the host's login asks who. */
int api_console_node_ticket(struct api_call *call, bool root_shell, json_t **ret,
                            struct error **err);
extern const struct api_method api_methods_nodes[];
extern const struct api_method api_methods_tasks[];
extern const struct api_method api_methods_access[];
extern const struct api_method api_methods_users[];
extern const struct api_method api_methods_groups_roles[];
extern const struct api_method api_methods_acl[];
extern const struct api_method api_methods_domains[];
extern const struct api_method api_methods_pools[];
extern const struct api_method api_methods_storage_config[];
extern const struct api_method api_methods_storage_upload[];
extern const struct api_method api_methods_storage[];
extern const struct api_method api_methods_storage_volume[];
extern const struct api_method api_methods_storage_prune[];
extern const struct api_method api_methods_rrd[];
extern const struct api_method api_methods_network[];
extern const struct api_method api_methods_qemu[];
extern const struct api_method api_methods_lxc[];
extern const struct api_method api_methods_disks[];
extern const struct api_method api_methods_qemu_snapshot[];
extern const struct api_method api_methods_lxc_snapshot[];
extern const struct api_method api_methods_qemu_disk[];

/* api-guest.c: the /cluster/resources entries of the guests the caller may
 * audit (every kind). */
json_t *api_guest_resources(struct api_call *call);

/* api-storage.c: the /cluster/resources entries of the storages the caller
 * may audit; the size parser of POST .../content (a bare number is KiB, as
 * in Proxmox; suffixes K, M, G, T), 0 or -EINVAL / -ERANGE. */
json_t *api_storage_resources(struct api_call *call);
int api_storage_parse_size(const char *s, uint64_t *ret);

/* api-storage.c, for api-storage-volume.c: opens storage id if it exists and
 * is enabled on this node (storage_free() it); resolves {volume} (a volid of
 * storeid or a volume name) to a volume name checked in the grammar of the
 * storage's backend (400 otherwise; storage_parse_volname_of()); PVE's
 * check_volume_access (vtype NULL: unknown). */
struct storage;
struct volname_info;
int api_storage_open(struct api_context *ctx, const char *id, struct storage **ret_st,
                     struct error **err);
int api_storage_resolve_volume(struct api_context *ctx, const char *storeid, const char *volume,
                               char **ret_volname, struct volname_info *info, struct error **err);
bool api_storage_volume_access(const struct api_call *call, const char *storeid, const char *vtype,
                               long owner);
