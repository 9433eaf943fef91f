#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# A script as people write them for Proxmox VE, with the commands as
# Proxmox's documentation shows them; tests/integration/test_cli.py runs it
# unchanged against ctvm (qm, pct, pvesm, pveum and pvesh on the PATH).
# The container part runs where a template is given: OSTEMPLATE (a vztmpl
# volume), CTSTORAGE (rootdir storage) and BRIDGE.
set -eu

STORAGE=vms
VMID=160

pvesm status | awk 'NR > 1 { print $1 }' | grep -qx "$STORAGE"

qm create $VMID --name script-vm --memory 512 --cores 1 --net0 virtio,bridge=vmbr0 \
    --scsihw virtio-scsi-pci --scsi0 $STORAGE:1 --kvm 0
qm set $VMID -description "made by a script"
qm config $VMID | grep -q '^name: script-vm$'
qm list | awk -v id=$VMID '$1 == id { print $2, $3 }' | grep -qx 'script-vm stopped'
qm status $VMID | grep -qx 'status: stopped'
qm resize $VMID scsi0 +1G
qm clone $VMID 161 --name script-clone --full 1
qm template 161
qm destroy 161

pveum user add script@pve --password 'Scr1pt-pass' --comment 'from a script'
pveum acl modify /vms/$VMID --roles PVEVMUser --users script@pve
pveum user list --output-format json | grep -q '"script@pve"'
pveum acl delete /vms/$VMID --roles PVEVMUser --users script@pve
pveum user delete script@pve

NODE=$(pvesh get /nodes --output-format json | sed 's/.*"node":"\([^"]*\)".*/\1/')
pvesh get /nodes/$NODE/qemu/$VMID/status/current --output-format json | grep -q '"status":"stopped"'

qm destroy $VMID

if [ -n "${OSTEMPLATE:-}" ]; then
    CTID=170
    pct create $CTID "$OSTEMPLATE" --hostname script-ct --rootfs "${CTSTORAGE:-local}:1" \
        --memory 128 --net0 name=eth0,bridge=${BRIDGE:-vmbr0},ip=dhcp --unprivileged 1
    pct set $CTID --memory 256
    pct config $CTID | grep -q '^memory: 256$'
    pct start $CTID
    pct list | awk -v id=$CTID '$1 == id { print $2, $3 }' | grep -qx 'running script-ct'
    test "$(pct exec $CTID -- cat /etc/hostname)" = script-ct
    pct shutdown $CTID --timeout 20 --forceStop 1
    pct status $CTID | grep -qx 'status: stopped'
    pct resize $CTID rootfs +1G
    pct clone $CTID 171 --hostname script-ct2 --full 1
    pct template 171
    pct destroy 171
    pct destroy $CTID --purge 1
fi
echo "script done"
