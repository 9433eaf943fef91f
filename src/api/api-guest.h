/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-guest: what the guest kinds' API areas share (api-qemu*.c,
 * api-lxc*.c).  A handler here serves every kind: the kind is the one
 * whose type the row's path names (/nodes/{node}/<type>/...), its task
 * types are the kind's prefix and the operation (qmstart, vzstart), and
 * every refusal comes from the guest layer in the kind's words.  A kind's
 * rows point at these handlers; its own file keeps only what differs
 * (create, the directory indexes, qemu's monitor).
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "guest.h"

struct api_call;
struct error;
struct guest_kind_ops;

/* The kind of the row's path ("/nodes/{node}/lxc/..." -> lxc); never NULL
 * for a guest row (a row of an unregistered kind is 501). */
const struct guest_kind_ops *api_guest_kind(const struct api_call *call);
/* The kind's UPID type of op ("start" -> "vzstart"), malloc'd. */
char *api_guest_task_type(const struct guest_kind_ops *k, const char *op);
/* skiplock is root@pam's (PVE: "Only root may use this option."). */
int api_guest_skiplock_flags(struct api_call *call, unsigned *flags, struct error **err);
/* The config keys of the request (every parameter of the row that is not
 * in meta, NULL-terminated, nor one every guest row has), each checked and
 * normalised by the guest layer (400 {key: reason} for the first bad one). */
int api_guest_config_params(struct api_call *call, const struct guest_kind_ops *k,
                            const char *const *meta, json_t **ret, struct error **err);
/* PVE's check_vm_modify_config_perm / check_ct_modify_config_perm over the
 * keys (an object whose keys are the keys) a request sets (set: key ->
 * value) or deletes: the key's VM.Config.* privilege on /vms/{vmid},
 * root@pam alone for root-only keys and values, the storages a disk uses. */
int api_guest_check_key_privs(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                              const json_t *keys, const json_t *set, struct error **err);
/* The keys a new guest's config sets (set: key -> value) checked as
 * api_guest_check_key_privs() checks a change's. */
int api_guest_check_new_keys(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                             const json_t *set, struct error **err);
/* set as the text a create task's "conf" argument carries, malloc'd; 400
 * (in the kind's noun) when it is longer than one call takes. */
int api_guest_create_conf(const struct guest_kind_ops *k, const json_t *set, char **ret,
                          struct error **err);
/* api-lxc.c: PVE's root@pam rules of check_ct_modify_config_perm, with
 * its words (403 "permission check failed (mount point type bind is only
 * allowed for root@pam)", device passthrough, features beyond nesting or
 * on a privileged container, privileged mode), over the keys a request
 * sets (set) or deletes, and what those keys hold now in cur (the main
 * section; NULL for a new container); 0 for root@pam. */
int api_lxc_check_root_keys(struct api_call *call, const json_t *keys, const json_t *set,
                            const json_t *cur, struct error **err);
/* A new guest's pool: PVE's check_pool_exist and Pool.Allocate on it;
 * *ret_pool NULL when none was given. */
int api_guest_check_pool(struct api_call *call, const char **ret_pool, struct error **err);
/* Reserves vmid for a new guest of kind k (guest_create_reserve()) and
 * starts its <pfx>create task with args (vmid added); the reservation goes
 * again when no task took it. */
int api_guest_create_task(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                          json_t *args, json_t **ret, struct error **err);

/* GET /nodes/{node}/<type>/{vmid} (vmdiridx): of names (PVE's index for
 * the kind, NULL-terminated, in its order) those that a method row serves,
 * i.e. some row's path is the call's row path + "/" + name or below it, so
 * the index follows the method table; 500 when the guest does not exist. */
int api_guest_diridx(struct api_call *call, const char *const *names, json_t **ret,
                     struct error **err);

/* The early checks of op on guest vmid of kind k, those its task repeats
 * under the lock, in this order: the guest exists (read into g), digest
 * (unless NULL) is its config's, and the state rules allow op with flags
 * (GUEST_SKIPLOCK, ...).  *running (may be NULL) tells whether it runs.
 * On success the caller guest_release()s g; on failure it is released. */
int api_guest_get_checked(struct api_call *call, const struct guest_kind_ops *k, long long vmid,
                          enum guest_op op, unsigned flags, const char *digest, struct guest *g,
                          bool *running, struct error **err);
/* Starts the task of UPID type type on guest vmid (its id) with args. */
int api_guest_start_op(struct api_call *call, const char *type, long long vmid, json_t *args,
                       json_t **ret, struct error **err);
/* The same with the kind's task type of op (api_guest_task_type()). */
int api_guest_start_kind_op(struct api_call *call, const struct guest_kind_ops *k, const char *op,
                            long long vmid, json_t *args, json_t **ret, struct error **err);
/* GET .../status and the like: names (NULL-terminated) as [{subdir}],
 * once the guest is known to exist. */
int api_guest_subdirs(struct api_call *call, const char *const *names, json_t **ret,
                      struct error **err);

/* Handlers (api_method rows) shared by the kinds. */
int api_guest_list(struct api_call *call, json_t **ret, struct error **err);
int api_guest_config_get(struct api_call *call, json_t **ret, struct error **err);
int api_guest_config_put(struct api_call *call, json_t **ret, struct error **err);
int api_guest_config_post(struct api_call *call, json_t **ret, struct error **err);
int api_guest_pending(struct api_call *call, json_t **ret, struct error **err);
int api_guest_destroy(struct api_call *call, json_t **ret, struct error **err);
int api_guest_status_current(struct api_call *call, json_t **ret, struct error **err);
int api_guest_start(struct api_call *call, json_t **ret, struct error **err);
int api_guest_stop(struct api_call *call, json_t **ret, struct error **err);
int api_guest_shutdown(struct api_call *call, json_t **ret, struct error **err);
int api_guest_reboot(struct api_call *call, json_t **ret, struct error **err);
int api_guest_reset(struct api_call *call, json_t **ret, struct error **err);
int api_guest_suspend(struct api_call *call, json_t **ret, struct error **err);
int api_guest_resume(struct api_call *call, json_t **ret, struct error **err);
/* api-qemu-disk.c: PUT .../resize, POST .../template and .../clone */
int api_guest_resize(struct api_call *call, json_t **ret, struct error **err);
int api_guest_template(struct api_call *call, json_t **ret, struct error **err);
int api_guest_clone(struct api_call *call, json_t **ret, struct error **err);
/* POST .../move_disk (qmmove), a container's .../move_volume (move_volume) */
int api_guest_move(struct api_call *call, json_t **ret, struct error **err);
/* api-guest-snapshot.c */
int api_guest_snapshot_list(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_create(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_index(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_delete(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_rollback(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_config(struct api_call *call, json_t **ret, struct error **err);
int api_guest_snapshot_update(struct api_call *call, json_t **ret, struct error **err);
