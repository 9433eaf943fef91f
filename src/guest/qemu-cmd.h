/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-cmd: a guest config to the QEMU command line (Contract 2 of issue
 * 12; docs/dev/GUESTS.md).  A pure function: everything it needs from the
 * host comes in through `struct qemu_cmd_env` (paths, the storage layer's
 * volume paths and the bridges through callbacks), so golden tests and the
 * conformance comparison with PVE's cfg2cmd files run without root.
 *
 * The argv follows what PVE 9 builds (qemu-server's config_to_command(), in
 * the same order, with the same device ids, PCI addresses, blockdev trees and
 * node names) for the options ctvm supports.  Deliberate differences, each
 * listed in tests/data/conformance/qemu-server/DIFFERENCES.md:
 *
 *  - the binary is Debian's qemu-system-x86_64, whose default accelerator is
 *    TCG, so the accelerator is always named in -machine (accel=kvm|tcg);
 *    what only PVE's patched QEMU knows is left out: machine types have no
 *    "+pveN" suffix, there is no "-id <vmid>" (the run directory in
 *    -pidfile and the QMP path name the VM), no virtio-net host_tunnel;
 *  - the sockets live in the VM's run directory: <rundir>/qmp.sock,
 *    vnc.sock, serialN.sock, qga.sock, swtpm.sock; the pidfile is
 *    <rundir>/pid;
 *  - no -no-shutdown and no qmeventd socket: a guest that powers off ends
 *    its QEMU, which ctvmd reaps;
 *  - taps are created and bridged by ctvm before QEMU starts:
 *    script=no,downscript=no;
 *  - no boot splash file, no -iscsi initiator name.
 *
 * What ctvm does not support yet is refused with a 400 naming the key
 * (hostpci, usb passthrough, ivshmem, virtiofs, audio, spice, NUMA nodes,
 * memory hotplug, AMD SEV, Intel TDX, non-x86 architectures).
 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

struct error;
struct guest_conf;

/* What the storage layer says about a volume (qemu_resolve_fn). */
struct qemu_volume {
	char *path;   /* absolute; malloc'd, the builder frees it */
	char *format; /* "raw", "qcow2", "vmdk", ...; malloc'd; NULL: from the drive or raw */
	bool block;   /* a block device (driver host_device) rather than a file */
	/* The storage's type ("dir", "btrfs", "cifs", "rbd", ...) and, for rbd,
	 * krbd: PVE's default aio depends on them (no io_uring on cifs, nor on
	 * krbd with a write cache). */
	const char *storage_type;
	bool krbd;
};

/* volid (as the drive's file) -> the volume.  0, or a negative errno with
 * *err (the builder passes the error on unchanged). */
typedef int qemu_resolve_fn(const char *volid, void *userdata, struct qemu_volume *ret,
                            struct error **err);

/* The MTU of bridge, or -ENOENT when there is no such bridge. */
typedef int qemu_bridge_mtu_fn(const char *bridge, void *userdata);

struct qemu_cmd_env {
	unsigned vmid;
	const char *rundir;      /* the VM's run directory (0700) */
	const char *qemu_binary; /* NULL: QEMU_CMD_DEFAULT_BINARY */
	bool kvm_available;      /* /dev/kvm usable: required unless the config says kvm: 0 */
	bool swtpm_available;    /* swtpm installed: required by tpmstate0 */
	bool vhost_net;          /* /dev/vhost-net there: virtio NICs use it under KVM */
	/* OVMF firmware, code and vars template for efitype 2m and 4m (NULL:
	 * QEMU_CMD_OVMF_*); bios: ovmf needs the code file only. */
	const char *ovmf_code_2m, *ovmf_code_4m;
	qemu_resolve_fn *resolve;
	qemu_bridge_mtu_fn *bridge_mtu;
	void *userdata;
};

#define QEMU_CMD_DEFAULT_BINARY "/usr/bin/qemu-system-x86_64"
#define QEMU_CMD_OVMF_CODE_2M   "/usr/share/OVMF/OVMF_CODE.fd"
#define QEMU_CMD_OVMF_CODE_4M   "/usr/share/OVMF/OVMF_CODE_4M.fd"
/* The vars templates a new efidisk0 is a copy of (Debian's ovmf; .ms: with
 * Microsoft's and Debian's keys enrolled, pre-enrolled-keys=1) */
#define QEMU_CMD_OVMF_VARS_2M    "/usr/share/OVMF/OVMF_VARS.fd"
#define QEMU_CMD_OVMF_VARS_2M_MS "/usr/share/OVMF/OVMF_VARS.ms.fd"
#define QEMU_CMD_OVMF_VARS_4M    "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define QEMU_CMD_OVMF_VARS_4M_MS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
/* PVE's TPMSTATE_DISK_SIZE: what swtpm's state of a TPM 1.2 or 2.0 needs */
#define QEMU_CMD_TPMSTATE_SIZE (4ull * 1024 * 1024)

/*
 * The command line for the main section of c (pending changes are not
 * applied here).  *ret_argv is a NULL-terminated strv.  Errors: 400 with
 * PVE's message for what the config gets wrong ("ide3: explicit media
 * parameter is required for iso images"), 400 naming the key for what ctvm
 * does not support, the resolver's own errors, 400 for a missing bridge
 * ("bridge 'vmbr9' does not exist").  The tap's VLAN tag, rate and
 * link_down are not on the command line: the caller applies them to the tap
 * (and QMP set_link) as PVE's tap script does.
 */
int qemu_cmd_build(const struct qemu_cmd_env *env, const struct guest_conf *c, char ***ret_argv,
                   struct error **err);

/*
 * What the command line gives drive key of conf (a main section), in its
 * order: "-object", <iothread or throttle-group>, ..., then "-device",
 * <controller> when the drive needs one, "-blockdev", <JSON> (none without
 * a medium), "-device", <the drive's device>.  For hot-plugging the drive
 * exactly as a start would have it (qemu-hotplug.c).  *ret_args a strv.
 */
int qemu_cmd_drive_args(const struct qemu_cmd_env *env, const json_t *conf, const char *key,
                        char ***ret_args, struct error **err);

/* The tap of a VM's netN: "tap<vmid>i<N>" (at most 15 characters, IFNAMSIZ). */
void qemu_cmd_tap_name(unsigned vmid, int index, char ret[16]);

/* The argv as one line, each word that needs it single-quoted (qm showcmd's
 * format, without --pretty); malloc'd.  For logs and golden files. */
char *qemu_cmd_to_string(char *const *argv);
