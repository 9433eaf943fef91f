/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * guest: one interface over every kind of guest (qemu now, lxc with the
 * containers issue), modelled on the storage layer (storage.h).
 *
 * A kind is a `static const struct guest_kind_ops` with designated
 * initializers; the registry in guest.c lists them.  Handlers and tasks
 * never call a kind's slot directly: they call the guest_*() functions
 * below, which own
 *
 *  - the VMID namespace shared by every kind (one <vmid>.conf in any kind's
 *    directory takes the id: "VM 100 already exists on node 'n1'"),
 *  - the per-guest lock: the config store's file lock around every change
 *    of a config, and Proxmox's `lock:` key for what lasts longer than one
 *    change (a create, a snapshot, a backup...),
 *  - the state rules (what is allowed while running, locked, a template,
 *    protected) and the one wording of each refusal, Proxmox's
 *    (guest_check_op(): a pure function, tested as a table).
 *
 * A guest's config is the parsed file of the kind's conf_ops; its main
 * section is a JSON object of strings (guest-conf.h, Contract 1), which is
 * all the rules read.  Docs: docs/dev/GUESTS.md, "The guest layer".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct conf_format;
struct conf_ops;
struct conf_prop;
struct conf_snapshot;
struct guest_snapshot_rules;
struct ctvm_paths;
struct error;
struct storage_config_store;
struct task_worker;

enum guest_caps {
	GUEST_CAP_SNAPSHOT = 1 << 0,     /* config snapshots */
	GUEST_CAP_SNAPSHOT_RAM = 1 << 1, /* ... with the RAM state (vmstate) */
	GUEST_CAP_SUSPEND = 1 << 2,      /* pause and resume */
	GUEST_CAP_HIBERNATE = 1 << 3,    /* suspend to disk */
	GUEST_CAP_CLONE = 1 << 4,
	GUEST_CAP_TEMPLATE = 1 << 5,
	GUEST_CAP_RESET = 1 << 6, /* a hard reset without a stop */
	GUEST_CAP_HOTPLUG = 1 << 7,
};

/* What a caller asks to do to an existing guest; guest_check_op() says
 * whether the state allows it. */
enum guest_op {
	GUEST_OP_START,
	GUEST_OP_STOP,
	GUEST_OP_SHUTDOWN,
	GUEST_OP_REBOOT,
	GUEST_OP_RESET,
	GUEST_OP_SUSPEND,
	GUEST_OP_RESUME,
	GUEST_OP_DESTROY,
	GUEST_OP_CONFIG, /* change the config (PUT/POST config) */
	GUEST_OP_CLONE,  /* of this guest, as the source */
	GUEST_OP_TEMPLATE,
	GUEST_OP_SNAPSHOT,
	GUEST_OP_ROLLBACK,
	GUEST_OP_DELSNAPSHOT,
	GUEST_OP_RESIZE,
	GUEST_OP_MOVE_DISK,
	GUEST_OP_MIGRATE,
	_GUEST_OP_MAX,
};

/* The values of Proxmox's `lock:` key. */
extern const char *const guest_lock_values[]; /* NULL-terminated */
bool guest_lock_value_valid(const char *v);

/* The state the rules look at. */
struct guest_state {
	const json_t *conf; /* the main section (key -> string) */
	bool running;
	bool paused; /* running, and QEMU's status is paused (qmpstatus) */
};

enum guest_check_flags {
	GUEST_SKIPLOCK = 1 << 0, /* root@pam's skiplock: the lock: key is ignored */
	GUEST_FORCE = 1 << 1,    /* shutdown's forceStop (a paused VM is stopped) */
	GUEST_TODISK = 1 << 2,   /* suspend to disk */
};

struct guest_kind_ops;

/*
 * Whether op may be done to guest vmid of kind k in state st: 0, or
 * -EBUSY / -EPERM / -EINVAL / -EOPNOTSUPP with Proxmox's message and its
 * status (500, as Proxmox dies with these in the API call or the worker).
 * Pure: no I/O.  The order of the checks is Proxmox's: template, then the
 * lock, then running and protection.
 */
int guest_check_op(const struct guest_kind_ops *k, long vmid, const struct guest_state *st,
                   enum guest_op op, unsigned flags, struct error **err);
const char *guest_op_name(enum guest_op op);

/* The environment of every guest function: where the configs live, this
 * node's name, storage.cfg (for the disks).  One per daemon (and one per
 * worker, opened from the same paths). */
struct guest_store;

struct guest_store *guest_store_new(const struct ctvm_paths *paths, const char *node,
                                    struct storage_config_store *storage);
struct guest_store *guest_store_free(struct guest_store *gs);
static inline void guest_store_freep(struct guest_store **gs)
{
	guest_store_free(*gs);
}
#define _cleanup_guest_store_ __attribute__((cleanup(guest_store_freep)))
const char *guest_store_node(const struct guest_store *gs);
struct storage_config_store *guest_store_storage(const struct guest_store *gs);
/* ctvm's run directory (struct ctvm_paths.run): where running guests keep
 * their sockets and pidfiles. */
const char *guest_store_run_dir(const struct guest_store *gs);
/*
 * What the access layer keeps about a guest outside its config: the ACL
 * entries on /vms/<vmid> and its pool membership (user.cfg).  The guest
 * layer may not use the access layer, so whoever wires the layers (ctvmd,
 * for its task workers) hands it these.  Unset (unit tests), a destroy
 * leaves user.cfg alone and a create with a pool fails.
 */
struct guest_access_hooks {
	/* vmid joins pool (PVE's add_vm_to_pool): -ENOENT when there is no such
	 * pool, -EEXIST when vmid is in another one. */
	int (*pool_add)(void *userdata, long vmid, const char *pool, struct error **err);
	/* vmid leaves pool if it is in it (a create that failed). */
	int (*pool_remove)(void *userdata, long vmid, const char *pool, struct error **err);
	/* Forgets vmid: its ACL entries and its pool membership (PVE's
	 * remove_vm_access), so a guest created later with the same id
	 * inherits neither. */
	int (*forget)(void *userdata, long vmid, struct error **err);
	void *userdata;
};
void guest_store_set_access_hooks(struct guest_store *gs, const struct guest_access_hooks *h);
/* The hooks, called by the guest operations. */
int guest_access_pool_add(struct guest_store *gs, long vmid, const char *pool, struct error **err);
int guest_access_pool_remove(struct guest_store *gs, long vmid, const char *pool,
                             struct error **err);
int guest_access_forget(struct guest_store *gs, long vmid, struct error **err);
/* For the daemon: look for outside edits of configs at most every ms. */
void guest_store_set_recheck_ms(struct guest_store *gs, unsigned ms);

/* A guest as a slot sees it: its id, kind, the parsed config snapshot of
 * its file (conf_snapshot_data(): the kind's parsed object) and its main
 * section. */
struct guest {
	long vmid;
	const struct guest_kind_ops *kind;
	const struct conf_snapshot *snap;
	const json_t *conf;
};

/*
 * One kind of guest.  Slots return 0 or a negative errno with *err; w may be
 * NULL (no task log).  The dispatcher has done the state checks and holds
 * what the operation needs locked when a slot runs.
 */
struct guest_kind_ops {
	const char *type;     /* "qemu", "lxc": /nodes/{node}/<type>, resource ids */
	const char *confdir;  /* "qemu-server", "lxc": the family under etc/ */
	const char *noun;     /* "VM", "CT": the words of the refusals */
	const char *task_pfx; /* "qm", "vz": UPID types qmstart, vzstart, ... */
	unsigned caps;        /* enum guest_caps */
	const struct conf_ops *conf_ops;
	const struct conf_prop *props;
	/* The main section of a parsed config (the kind's object): key ->
	 * string.  Change it only in a private copy (conf_file_load()). */
	json_t *(*main_section)(const void *parsed);
	/* [PENDING] ("delete": "k1,!k2") and the snapshots (name -> section),
	 * same rule; NULL when the kind has none. */
	json_t *(*pending_section)(const void *parsed);
	json_t *(*snapshot_sections)(const void *parsed);
	/* The config steps of snapshots (guest-conf.h): the kind's rules; NULL
	 * for a kind without snapshots. */
	const struct guest_snapshot_rules *snapshot_rules;
	/* The format tables the props' named formats come from (NULL-terminated). */
	const struct conf_format *const *formats;
	/* The privilege a user needs to set or delete key (PVE's
	 * check_vm_modify_config_perm): "VM.Config.CPU", ...; NULL: root@pam
	 * only ("only root can set 'args' config"). */
	const char *(*key_priv)(const char *key);
	/* Keys applied at once even while the guest runs (PVE's fast-plug
	 * options: name, description, onboot, ...); NULL-terminated. */
	const char *const *fast_plug;
	/* Whether only root@pam may set key to this value (a device path), or
	 * with value NULL delete it (a container's unprivileged or features);
	 * may be NULL. */
	bool (*needs_root)(const char *key, const char *value);
	/* The whole check of a value set through the API, when the kind has
	 * its own (instead of the table's check plus prepare_value); *ret_value
	 * malloc'd.  May be NULL. */
	int (*check_value)(const char *key, const char *value, char **ret_value,
	                   struct error **err);
	/* A value the kind completes or checks beyond the table before it is
	 * stored (a MAC for a NIC without one; a drive's grammar): *ret_value
	 * is the value to store (malloc'd).  May be NULL. */
	int (*prepare_value)(const char *key, const char *value, char **ret_value,
	                     struct error **err);
	/* The figures of a config for lists (cpus, maxmem, maxdisk, name's
	 * default...), added to entry.  Required. */
	void (*summary)(long vmid, const json_t *conf, json_t *entry);
	/* The file of a disk key's value (a volid, "storage:size" for a new
	 * disk, "none", "cdrom"), malloc'd; NULL for a key that is not a disk.
	 * Required for kinds with disks. */
	char *(*disk_file)(const char *key, const char *value);
	/* value with its file replaced by volid and size=<size> set (a new
	 * disk), malloc'd.  Required with disk_file. */
	char *(*disk_set_file)(const char *value, const char *volid, uint64_t size);
	/* Set by kinds whose volumes hold a file tree (containers): a new
	 * volume is then a subvol where the storage has them (its size a
	 * limit where the storage can keep one; size 0: no limit), else a
	 * raw image (or block device) that this makes a filesystem on.  NULL:
	 * images in the storage's default format (VMs). */
	int (*format_volume)(const char *path, struct task_worker *w, struct error **err);
	/* A new disk whose size and content the kind fixes, whatever size
	 * its "storage:size" asks (PVE's create_disks: a VM's efidisk0 is a
	 * copy of OVMF's vars template, tpmstate0 4 MiB): 1 with *ret_size
	 * and *ret_template (the host file copied in, malloc'd; NULL: an
	 * empty volume of *ret_size), 0 for an ordinary disk, or an error.
	 * May be NULL. */
	int (*fixed_disk)(const char *key, const char *value, uint64_t *ret_size,
	                  char **ret_template, struct error **err);
	/* After a resize of such a volume that is an image or device (not a
	 * subvol): its filesystem grown to the new size.  May be NULL. */
	int (*grow_volume)(const char *path, bool running, struct task_worker *w,
	                   struct error **err);
	/* The volume a deleted key leaves behind as unusedN (a disk's volid;
	 * not a CD-ROM, not "none"), malloc'd, or NULL.  May be NULL. */
	char *(*detached_volume)(const char *key, const char *value);
	/* The kind's rules for one key of a config change, whoever asks
	 * (PVE's update_pct_config: required and read-only options, disks of
	 * a protected guest): value NULL for a delete; conf the main section.
	 * 0, or an error with the kind's message.  May be NULL. */
	int (*check_update)(long vmid, const json_t *conf, const char *key, const char *value,
	                    struct error **err);

	/* Running?  0 and *ret_running (and *ret_pid when running); a missing
	 * slot: never running. */
	int (*is_running)(struct guest_store *gs, long vmid, bool *ret_running, pid_t *ret_pid,
	                  struct error **err);
	/* Whether the running guest is paused, cheaper than status (the
	 * power tasks' rules ask it).  May be NULL: status's qmpstatus. */
	int (*is_paused)(struct guest_store *gs, long vmid, bool *ret_paused, struct error **err);
	/* Proxmox's status/current fields of a running or stopped guest. */
	int (*status)(struct guest_store *gs, const struct guest *g, json_t **ret,
	              struct error **err);
	/* Power: optional, "not supported" when missing. */
	int (*start)(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
	             struct task_worker *w, struct error **err);
	int (*stop)(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
	            struct task_worker *w, struct error **err);
	int (*shutdown)(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
	                bool force_stop, struct task_worker *w, struct error **err);
	/* reboot: the shutdown half only; the dispatcher then applies the
	 * pending changes and calls start. */
	int (*reboot)(struct guest_store *gs, const struct guest *g, unsigned timeout_s,
	              struct task_worker *w, struct error **err);
	int (*reset)(struct guest_store *gs, const struct guest *g, struct task_worker *w,
	             struct error **err);
	int (*suspend)(struct guest_store *gs, const struct guest *g, struct task_worker *w,
	               struct error **err);
	int (*resume)(struct guest_store *gs, const struct guest *g, struct task_worker *w,
	              struct error **err);
	/* The guest's state (RAM and devices) into fd, a state volume open
	 * for writing: the guest is paused for it, then quits (quit) or
	 * stays paused for the caller to resume.  On failure it runs as
	 * before.  May be NULL: no state to disk (GUEST_CAP_HIBERNATE). */
	int (*save_state)(struct guest_store *gs, const struct guest *g, int fd, bool quit,
	                  struct task_worker *w, struct error **err);
	/* Start with the state of fd (what save_state wrote), running after.
	 * Required with save_state. */
	int (*start_state)(struct guest_store *gs, const struct guest *g, int fd,
	                   struct task_worker *w, struct error **err);
	/* Frees what the guest owns on the host besides its config (its volumes
	 * on every storage; run state left over); the config goes after. */
	int (*destroy)(struct guest_store *gs, const struct guest *g, struct task_worker *w,
	               struct error **err);
	/* Applies a change of key to the running guest at once (PVE's
	 * hotplug): old its current value (NULL: none), value the new one
	 * (NULL: deleted); conf the main section.  0: applied, the config takes
	 * it now; -EOPNOTSUPP: not something the guest takes while it runs;
	 * another error: it failed and left the guest as it was.  Either way
	 * but 0 the change stays pending.  May be NULL: nothing is. */
	int (*hotplug)(struct guest_store *gs, long vmid, const json_t *conf, const char *key,
	               const char *old, const char *value, struct error **err);
	/* The network interfaces seen inside the running guest: [{name,
	 * hwaddr, inet, inet6}] (PVE's lxc get_interfaces).  May be NULL: not
	 * supported. */
	int (*interfaces)(struct guest_store *gs, long vmid, json_t **ret, struct error **err);
	/* One command of the hypervisor's human monitor to the running guest,
	 * its output (malloc'd).  May be NULL: not supported. */
	int (*monitor)(struct guest_store *gs, long vmid, const char *command, char **ret_output,
	               struct error **err);
	/* The command line start would run for g's current config, one line
	 * with words quoted for a shell (PVE's cmd2string), changing nothing
	 * on the host.  May be NULL: not supported. */
	int (*showcmd)(struct guest_store *gs, const struct guest *g, char **ret_line,
	               struct error **err);
};

/* The registry: kinds by type; NULL if unknown.  guest_kinds is
 * NULL-terminated, in the order lists show them (qemu first). */
extern const struct guest_kind_ops *const guest_kinds[];
const struct guest_kind_ops *guest_kind_find(const char *type);

/* --- finding guests --- */

/* The kind whose directory holds <vmid>.conf; -ENOENT when none (500,
 * Proxmox's "Configuration file 'nodes/<node>/qemu-server/100.conf' does not
 * exist" when k is given, "no such VM ('100')" when any kind will do).
 * With k given the guest must be of that kind. */
int guest_find(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
               const struct guest_kind_ops **ret_kind, struct error **err);
/* The current config of vmid of kind k, with a reference (guest_release()
 * it), missing: as guest_find(). */
int guest_get(struct guest_store *gs, const struct guest_kind_ops *k, long vmid, struct guest *ret,
              struct error **err);
void guest_release(struct guest *g);
/* Whether guest g runs (the kind's is_running); pid may be NULL. */
int guest_is_running(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     bool *ret_running, pid_t *ret_pid, struct error **err);

/* One entry of a listing: vmid and kind. */
struct guest_id {
	long vmid;
	const struct guest_kind_ops *kind;
};
/* Every guest of kind k (NULL: every kind), by vmid.  Reads directories
 * only; a file whose name is not a vmid is skipped. */
int guest_list(struct guest_store *gs, const struct guest_kind_ops *k, struct guest_id **ret,
               size_t *ret_n, struct error **err);

/* The VMID namespace.  Ids 100..999999999 (pve-vmid). */
#define GUEST_VMID_MIN 100
#define GUEST_VMID_MAX 999999999L
/* 0 when no kind has vmid, else -EEXIST, 500 "VM 100 already exists on
 * node 'n1'" (the noun of the kind that has it; PVE's check_vmid_unused). */
int guest_vmid_unused(struct guest_store *gs, long vmid, struct error **err);
/* /cluster/nextid: the lowest free id in [100, 1000000) (PVE's default
 * next-id range); -ENOSPC (500) "unable to get any free VMID in range
 * [100, 1000000)" when all are taken. */
int guest_next_id(struct guest_store *gs, long *ret, struct error **err);

/* --- changing a guest's config --- */

/* The config family of kind k (for the store's writers: conf_family_file(),
 * update); owned by gs. */
struct conf_family *guest_family(struct guest_store *gs, const struct guest_kind_ops *k);

/*
 * Reserves vmid for a new guest of kind k: under the file's lock, with no
 * guest of any kind having vmid, writes a config holding only `lock:
 * create` (PVE's create_and_lock_config).  500 "unable to create VM 100 -
 * VM 100 already exists on node 'n1'" otherwise.
 */
int guest_create_reserve(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         struct error **err);

/*
 * Takes Proxmox's lock `lock` (one of guest_lock_values) on guest vmid for
 * operation op: under the file lock, the config is loaded fresh, op is
 * checked (guest_check_op() with running as given and flags), and `lock:`
 * is written.  The operation then runs without the file lock, and
 * guest_lock_clear() removes its lock (only that value: a lock an admin
 * replaced meanwhile stays).
 */
int guest_lock_take(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                    const char *lock, enum guest_op op, bool running, unsigned flags,
                    struct error **err);
int guest_lock_clear(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     const char *lock, struct error **err);

/* The config file lock of guest vmid (the store's `<vmid>.conf.lock`):
 * what every change of its config and every power operation holds, as
 * PVE's lock_config.  Returns the fd for unlock_file(). */
int guest_config_lock(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      struct error **err);

/* Removes guest vmid's config (under its lock).  The caller has freed what
 * it owned. */
int guest_config_remove(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        struct error **err);

/* --- the monitor --- */

/* POST .../monitor: command to guest vmid's human monitor, its output
 * (malloc'd).  -ESRCH 500 "VM 100 not running"; the caller has made sure
 * only root@pam gets here (the monitor reaches the host). */
int guest_monitor(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  const char *command, char **ret_output, struct error **err);
/* GET .../interfaces: the kind's interfaces slot; 501 when it has none. */
int guest_interfaces(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                     json_t **ret, struct error **err);
/* GET .../showcmd (qm showcmd): the kind's showcmd slot for vmid's
 * current config; 501 when it has none. */
int guest_showcmd(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  char **ret_line, struct error **err);
/* POST .../sendkey: PVE's vm_sendkey, under the config lock, refused while
 * locked (unless GUEST_SKIPLOCK in flags): the monitor's "sendkey <key>".
 * key is QEMU's key names joined by '-' ("ctrl-alt-delete"): 400 for
 * anything else; the monitor's complaint (an unknown key) is 500. */
int guest_sendkey(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                  const char *key, unsigned flags, struct error **err);

/* --- startup order (startall / stopall) --- */

/* Proxmox's `startup` property string: order=N,up=S,down=S.  Missing
 * parts are -1.  400 "invalid format - ..." on anything else. */
struct guest_startup {
	long order, up, down;
};
int guest_startup_parse(const char *s, struct guest_startup *ret, struct error **err);

/*
 * The entry of guest g in GET /nodes/{node}/qemu, /cluster/resources and
 * status/current: vmid, name, status (running|stopped), cpus, maxmem, mem,
 * maxdisk, disk, uptime, netin, netout, diskread, diskwrite, template (0|1),
 * [pid], [tags], [lock], and what the kind's status slot says of a running
 * guest (qmpstatus, cpu, mem, uptime...).
 */
int guest_summary(struct guest_store *gs, const struct guest *g, json_t **ret, struct error **err);

/* --- reading and changing configs (guest-config.c) --- */

/* One key's value checked and normalised against the kind's table (400
 * {key: reason}), then completed by the kind (prepare_value).  An unknown
 * key is 400 {key: "property is not defined in schema and the schema does
 * not allow additional properties"}. */
int guest_config_check_value(const struct guest_kind_ops *k, const char *key, const char *value,
                             char **ret_value, struct error **err);

/* A main section (key -> string) typed for the API by the kind's table:
 * integers and booleans as JSON integers, numbers as reals, the rest as
 * strings. */
json_t *guest_config_to_api(const struct guest_kind_ops *k, const json_t *section);

/*
 * GET .../config: the config with its pending changes applied (current:
 * without them), or snapshot `snapname`'s, typed, with "digest".  500
 * "snapshot 'x' does not exist" for a missing snapshot.
 */
int guest_config_read(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      bool current, const char *snapname, json_t **ret, struct error **err);

/* GET .../pending: [{key, value?, pending?, delete? (1, or 2 forced)}] by key. */
int guest_config_pending(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         json_t **ret, struct error **err);

/* One change of a config (PUT/POST .../config).  set: key -> string, each
 * value checked with guest_config_check_value() already; delete and revert:
 * comma lists of keys (NULL: none). */
struct guest_config_change {
	const json_t *set;
	const char *delete;
	const char *revert;
	const char *digest; /* the client's, or NULL */
	bool force;         /* delete's force: pending deletes marked '!' */
	unsigned flags;     /* GUEST_SKIPLOCK */
	/* out, when not NULL: a change the running guest refused to take at
	 * once, {key: "hotplug problem - <why>"}; it stays pending and the
	 * update succeeds (PVE's vmconfig_hotplug_pending $errors, which
	 * update_vm_api raises once the config is written) */
	json_t *hotplug_errors;
};

/* The API's answer to a change with hotplug_errors (the config already
 * written): PVE's raise_param_exc, 400 "Parameter verification failed."
 * with the errors; in a task, its exit status "400 Parameter verification
 * failed. <key>: <reason> ...", as PVE's worker flattens the exception.
 * 0 when there are none. */
int guest_config_hotplug_error(const json_t *hotplug_errors, bool task, struct error **err);

/* The API's checks of a change that need no config: the same key not set
 * and deleted or reverted at once, every key known.  400 with errors. */
int guest_config_change_check(const struct guest_kind_ops *k, const struct guest_config_change *c,
                              struct error **err);

/*
 * Applies a change under the config lock: the digest, the rules
 * (GUEST_OP_CONFIG: the lock), then, while the guest runs, every key but
 * the fast-plug ones goes to [PENDING] (set, or its "delete" list) to be
 * applied at the next start; while it is stopped, straight into the
 * config.  revert drops pending changes.  A deleted disk that holds a
 * volume becomes unusedN (PVE's vmconfig_delete_or_detach_drive).
 */
int guest_config_update(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        const struct guest_config_change *c, struct error **err);

/* Applies guest vmid's pending changes to its config (PVE's
 * vmconfig_apply_pending, at start): pending values replace the config's,
 * pending deletes remove keys (a disk's volume kept as unusedN), [PENDING]
 * empties.  The caller holds the config lock (guest_config_lock()). */
int guest_config_apply_pending_locked(struct guest_store *gs, const struct guest_kind_ops *k,
                                      long vmid, struct error **err);

/* Every key c touches (set, delete, revert), for the permission checks. */
json_t *guest_config_change_keys(const struct guest_config_change *c);

/* --- a guest's volumes (guest-disks.c) --- */

/*
 * For a new guest: every disk of set (key -> value) given as
 * "storage:size" (GiB) is allocated on that storage (its default format, or
 * the value's format=) and its value rewritten to the volid with size=;
 * "import-from=<volid>" copies that volume into the new disk.  Each volid
 * allocated is appended to allocated, so a failure later can free them;
 * on failure here the ones this call allocated are freed already.
 */
int guest_disks_allocate(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                         json_t *set, struct task_worker *w, json_t *allocated, struct error **err);
/* guest_config_update() of c with set as its values, after the new disks
 * of set are allocated (guest_disks_allocate(); set changes); they are
 * freed again when the update is refused.  What PUT (w NULL) and the
 * qmconfig task do. */
int guest_config_change_apply(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                              json_t *set, struct guest_config_change *c, struct task_worker *w,
                              struct error **err);
/* Whether volume volid belongs to guest vmid (the owner its name's grammar
 * gives; not a base volume): PVE's vm_is_volid_owner. */
bool guest_volume_owned(struct guest_store *gs, long vmid, const char *volid);
/* Frees volume volid ("storage:volname") through the storage layer. */
int guest_volume_free(struct guest_store *gs, const char *volid, struct task_worker *w,
                      struct error **err);
/*
 * Frees the volumes guest g owns: those its config, pending changes and
 * snapshots reference (not CD-ROMs, not volumes of another guest: a linked
 * clone's base stays), and with unreferenced every volume of vmid on every
 * enabled storage.  The first failure is returned after trying them all.
 */
int guest_disks_destroy(struct guest_store *gs, const struct guest *g, bool unreferenced,
                        struct task_worker *w, struct error **err);

/* --- clone (guest-clone.c) --- */

/*
 * PVE clone_vm's checks of what a clone copies: the main section, or with
 * snapname that snapshot's (500 "snapshot 'x' does not exist"), every disk
 * of which the storage must copy from the snapshot (500 "Full clone feature
 * is not supported for drive 'scsi0'"; a linked clone of a snapshot is
 * "Linked clone feature ...").  *ret_section: a copy of the section.
 */
int guest_clone_check(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      const char *snapname, bool full, json_t **ret_section, struct error **err);

/* --- snapshots (guest-snapshot.c) --- */

/* --- state volumes (guest-vmstate.c) --- */

/* The storage for a guest's state volume when none is given: PVE's
 * find_vmstate_storage (vmstatestorage, else a shared then a local storage
 * of its disks, else "local").  *ret malloc'd. */
int guest_vmstate_storage(struct guest_store *gs, const struct guest_kind_ops *k,
                          const json_t *conf, char **ret, struct error **err);
/* Allocates vm-<vmid>-state-<name> (raw) on storeid, sized for conf's
 * memory as PVE does (2 x memory + 500 MiB); *ret_volid malloc'd. */
int guest_vmstate_alloc(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        const json_t *conf, const char *storeid, const char *name,
                        struct task_worker *w, char **ret_volid, struct error **err);
/* The running guest's state into volid (the kind's save_state; quit: it
 * exits after), and a start of the stopped guest from the state in volid
 * (start_state); the volume stays. */
int guest_vmstate_save(struct guest_store *gs, const struct guest *g, const char *volid, bool quit,
                       struct task_worker *w, struct error **err);
int guest_vmstate_start(struct guest_store *gs, const struct guest *g, const char *volid,
                        struct task_worker *w, struct error **err);
/* Suspend to disk of the running guest g (statestorage NULL: the rule
 * above), with the config's file lock held: state volume, `lock:
 * suspending` + `vmstate`, the kind's save_state, `lock: suspended`.  A
 * failed save frees the volume and leaves the guest running. */
int guest_suspend_todisk_locked(struct guest_store *gs, const struct guest *g,
                                const char *statestorage, struct task_worker *w,
                                struct error **err);
/* Start of guest g from its config's `vmstate` (suspended to disk), with
 * the file lock held; then the volume is freed and `vmstate` and `lock`
 * leave the config.  A failed start changes nothing. */
int guest_start_state_locked(struct guest_store *gs, const struct guest *g, struct task_worker *w,
                             struct error **err);

/* GET .../snapshot: every snapshot {name, snaptime, description, [parent],
 * [vmstate: 1]} in file order, then {name: "current", description: "You
 * are here!", running, digest, [parent]}. */
int guest_snapshot_list(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                        json_t **ret, struct error **err);
/* PUT .../snapshot/{snapname}/config: the snapshot's description ("" drops
 * it); 500 "snapshot 'x' does not exist". */
int guest_snapshot_set_description(struct guest_store *gs, const struct guest_kind_ops *k,
                                   long vmid, const char *snapname, const char *description,
                                   struct error **err);
/* The volumes a snapshot of section covers (drives' volids: no CD-ROM, no
 * "none", no host device), NULL-terminated (strv). */
int guest_snapshot_volumes(const json_t *section, char ***ret, struct error **err);

/* --- disk operations (guest-disk-ops.c) --- */

/* PUT .../resize's size: "+<n>[KMGT]" (added) or "<n>[KMGT]" (absolute),
 * a plain number in bytes.  400 {size: ...} otherwise. */
int guest_resize_parse(const char *s, bool *ret_relative, uint64_t *ret_size, struct error **err);
/* Whether disk of conf can be resized: 500 "disk 'x' does not exist", "you
 * can't resize a cdrom", or a drive that is no volume. */
int guest_resize_check(const struct guest_kind_ops *k, const json_t *conf, const char *disk,
                       struct error **err);
/* Whether disk of c (a struct guest_conf) can move to storage in format
 * (NULL: the storage's choice): 500 "disk 'x' does not exist", "you can't
 * move a cdrom", "you can't move to the same storage with same format",
 * "you can't move a disk with snapshots and delete the source". */
struct guest_conf;
int guest_move_check(const struct guest_kind_ops *k, const struct guest_conf *c, const char *disk,
                     const char *storage, const char *format, bool del, struct error **err);
/* PUT .../unlink: the drives of idlist leave the config; their volumes
 * become unusedN, or with force are freed (unless a snapshot uses them);
 * an unusedN listed is freed.  A running VM's drives are refused. */
int guest_disk_unlink(struct guest_store *gs, const struct guest_kind_ops *k, long vmid,
                      const char *idlist, bool force, struct error **err);
