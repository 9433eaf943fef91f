/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The text that Proxmox's qm, pct and pvesm print where scripts parse it,
 * column for column (qemu-server's PVE/CLI/qm.pm, pve-container's
 * PVE/CLI/pct.pm, pve-storage's PVE/CLI/pvesm.pm, pve-guest-common's
 * print_snapshot_tree).  Each is a cli_printer_fn (cli-cmds.h).
 */
#pragma once

#include "cli-cmds.h"

cli_printer_fn cli_print_qm_list, cli_print_pct_list, cli_print_config, cli_print_pending,
    cli_print_status, cli_print_snapshot_tree, cli_print_pvesm_status, cli_print_pvesm_list,
    cli_print_alloc, cli_print_path, cli_print_task_log, cli_print_scan_vg, cli_print_scan_lv,
    cli_print_scan_pool, cli_print_showcmd;
