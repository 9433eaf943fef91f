/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu_hotplug_plan(): which change of a running VM's config QEMU takes at
 * once, which one unplugs and plugs a device again and which one waits
 * for the next start (PVE's vmconfig_hotplug_pending, vmconfig_update_net
 * and vmconfig_update_disk), one row per rule.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "qemu-hotplug.h"

#define MAC  "virtio=BC:24:11:00:00:01"
#define MAC2 "virtio=BC:24:11:00:00:02"

static const struct {
	const char *hotplug; /* the VM's option; NULL: the default list */
	const char *key, *old, *value;
	enum qemu_hotplug_action want;
} cases[] = {
    /* NICs */
    {NULL, "net1", NULL, MAC ",bridge=vmbr0", QEMU_HOTPLUG_NIC_ADD},
    {"disk,usb", "net1", NULL, MAC ",bridge=vmbr0", QEMU_HOTPLUG_PENDING},
    {NULL, "net1", MAC ",bridge=vmbr0", NULL, QEMU_HOTPLUG_NIC_DEL},
    {"0", "net1", MAC ",bridge=vmbr0", NULL, QEMU_HOTPLUG_PENDING},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,link_down=1", QEMU_HOTPLUG_NIC_LINK},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr1", QEMU_HOTPLUG_NIC_UPDATE},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,tag=5", QEMU_HOTPLUG_NIC_UPDATE},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,rate=10", QEMU_HOTPLUG_NIC_UPDATE},
    {NULL, "net0", MAC ",bridge=vmbr0,rate=10", MAC ",bridge=vmbr0", QEMU_HOTPLUG_NIC_UPDATE},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,firewall=1", QEMU_HOTPLUG_NIC_UPDATE},
    /* on the tap: whatever the hotplug option says, as PVE */
    {"0", "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr1", QEMU_HOTPLUG_NIC_UPDATE},
    {"0", "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,link_down=1", QEMU_HOTPLUG_NIC_LINK},
    /* a new device */
    {NULL, "net0", MAC ",bridge=vmbr0", "e1000=BC:24:11:00:00:01,bridge=vmbr0",
     QEMU_HOTPLUG_NIC_REPLUG},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC2 ",bridge=vmbr0", QEMU_HOTPLUG_NIC_REPLUG},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,queues=2", QEMU_HOTPLUG_NIC_REPLUG},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0,mtu=1400", QEMU_HOTPLUG_NIC_REPLUG},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC, QEMU_HOTPLUG_NIC_REPLUG},
    {"disk", "net0", MAC ",bridge=vmbr0", MAC2 ",bridge=vmbr0", QEMU_HOTPLUG_PENDING},
    {NULL, "net0", MAC ",bridge=vmbr0", MAC ",bridge=vmbr0", QEMU_HOTPLUG_PENDING},
    {NULL, "net0", "nonsense", MAC ",bridge=vmbr0", QEMU_HOTPLUG_PENDING},
    /* disks */
    {NULL, "scsi1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_DISK_ADD},
    {NULL, "virtio1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_DISK_ADD},
    {"1", "scsi1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_DISK_ADD},
    {"network", "scsi1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_PENDING},
    {NULL, "sata1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_PENDING},
    {NULL, "ide1", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_PENDING},
    {NULL, "efidisk0", NULL, "local:100/vm-100-disk-1.raw", QEMU_HOTPLUG_PENDING},
    {NULL, "scsi1", "local:100/vm-100-disk-1.raw", NULL, QEMU_HOTPLUG_DISK_DEL},
    {NULL, "virtio1", "local:100/vm-100-disk-1.raw", NULL, QEMU_HOTPLUG_DISK_DEL},
    {"network", "virtio1", "local:100/vm-100-disk-1.raw", NULL, QEMU_HOTPLUG_PENDING},
    {NULL, "sata1", "local:100/vm-100-disk-1.raw", NULL, QEMU_HOTPLUG_PENDING},
    {NULL, "ide0", "local:100/vm-100-disk-1.raw", NULL, QEMU_HOTPLUG_PENDING},
    {NULL, "scsi1", "local:100/vm-100-disk-1.raw", "local:100/vm-100-disk-2.raw",
     QEMU_HOTPLUG_DISK_REPLUG},
    {NULL, "sata1", "local:100/vm-100-disk-1.raw", "local:100/vm-100-disk-2.raw",
     QEMU_HOTPLUG_PENDING},
    /* the same volume, other options: at the next start */
    {NULL, "scsi1", "local:100/vm-100-disk-1.raw", "local:100/vm-100-disk-1.raw,cache=unsafe",
     QEMU_HOTPLUG_PENDING},
    {NULL, "scsi1", "local:100/vm-100-disk-1.raw", "local:100/vm-100-disk-1.raw,mbps=10",
     QEMU_HOTPLUG_PENDING},
    /* cdroms: a new medium on any bus, whatever the option */
    {NULL, "ide2", "none,media=cdrom", "local:iso/a.iso,media=cdrom", QEMU_HOTPLUG_CDROM},
    {"0", "ide2", "local:iso/a.iso,media=cdrom", "none,media=cdrom", QEMU_HOTPLUG_CDROM},
    {NULL, "sata3", "local:iso/a.iso,media=cdrom", "local:iso/b.iso,media=cdrom",
     QEMU_HOTPLUG_CDROM},
    {NULL, "ide2", "local:iso/a.iso,media=cdrom", "local:100/vm-100-disk-1.raw",
     QEMU_HOTPLUG_PENDING},
    {NULL, "ide2", "none,media=cdrom", "none,media=cdrom", QEMU_HOTPLUG_PENDING},
    /* the rest */
    {NULL, "memory", "512", "1024", QEMU_HOTPLUG_PENDING},
    {NULL, "cores", NULL, "2", QEMU_HOTPLUG_PENDING},
    {NULL, "usb0", NULL, "host=1234:5678", QEMU_HOTPLUG_PENDING},
};

static void test_plan(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *conf = json_object();
		if (cases[i].hotplug)
			json_object_set_new(conf, "hotplug", json_string(cases[i].hotplug));
		enum qemu_hotplug_action got =
		    qemu_hotplug_plan(conf, cases[i].key, cases[i].old, cases[i].value);
		if (got != cases[i].want)
			fail_msg("case %zu (%s: %s -> %s, hotplug %s): %d, want %d", i,
			         cases[i].key, cases[i].old ? cases[i].old : "-",
			         cases[i].value ? cases[i].value : "-",
			         cases[i].hotplug ? cases[i].hotplug : "default", (int)got,
			         (int)cases[i].want);
		json_decref(conf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
