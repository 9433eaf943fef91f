/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between qemu-conf.c and the table in qemu-conf-props.c. */
#pragma once

#include "property.h"
#include "qemu-conf.h"

/* "XX:XX:XX:XX:XX:XX", hexadecimal, not a multicast address (PVE's
 * mac-addr format). */
conf_check_fn check_mac;
/* A disk size as PVE's disk-size format: \d+(\.\d+)?[KMGT]? */
conf_check_fn check_disk_size;

/* The drive keys' sub-schemas (qemu-conf-props-drive.c). */
extern const struct conf_propstring qemu_ide_ps, qemu_sata_ps, qemu_scsi_ps, qemu_virtio_ps,
    qemu_efidisk0_ps, qemu_tpmstate0_ps, qemu_unused_ps;
