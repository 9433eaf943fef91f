/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between qemu-cmd.c (the whole command line) and qemu-cmd-drive.c
 * (controllers, blockdev trees, drive devices). */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "qemu-cmd.h"
#include "qemu-conf.h"

struct cmd_builder {
	const struct qemu_cmd_env *env;
	const json_t *conf; /* the main section */
	bool kvm;
	bool ovmf;
	/* the parts, concatenated at the end as PVE does: cmd, then devices */
	char **cmd;
	size_t ncmd, capcmd;
	char **devices;
	size_t ndevices, capdevices;
	json_t *bootorder;     /* device id -> bootindex */
	unsigned scsi_ctrl[4]; /* bit set of the SCSI controllers added (32 each) */
	bool ahci_added;
	char **machine_flags; /* -machine, before type= */
};

void qc_cmd(struct cmd_builder *b, const char *arg);
void qc_cmdf(struct cmd_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qc_dev(struct cmd_builder *b, const char *arg);
void qc_devf(struct cmd_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ",bus=pci.N,addr=0xM" of a device id in PVE's i440fx address map ("" when
 * it has no fixed address). */
const char *cmd_pci_addr(const char *id, char buf[32]);

/* PVE's boot order: device id -> bootindex (order=..., or the legacy
 * "cdn" letters with bootdisk). */
int cmd_bootorder(struct cmd_builder *b, struct error **err);

/* -object iothread/throttle-group for every drive, in PVE's order. */
int cmd_drive_objects(struct cmd_builder *b, struct error **err);
/* OVMF: the firmware and the efidisk (cmd), pflash machine flags. */
int cmd_efidisk(struct cmd_builder *b, struct error **err);
/* controllers, blockdevs and devices of every drive (devices). */
int cmd_drives(struct cmd_builder *b, struct error **err);
