/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The named formats the storage layer owns (property.h), with Proxmox's
 * grammar and words:
 *
 *   pve-volume-id          "storeid:volname" (PVE's parse_volume_id;
 *                          volid_parse())
 *   pve-volume-id-or-name  a volume id, or a volume name alone where the
 *                          storage is given apart (ctvm's {volume} of
 *                          .../content/{volume}, as PVE's real_volume_id
 *                          takes it); the name's grammar is the backend's,
 *                          checked when the storage is known
 *   pve-storage-content    a content type (PVE's verify_content)
 *   prune-backups          the retention options (prune_options_parse())
 */
#pragma once

#include "property.h"

extern const struct conf_format storage_formats[];
