#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A VM's place in user.cfg: its ACL entries and its pool.

Destroying a VM removes the ACL entries on /vms/<vmid> and the VM from its
pool (PVE's remove_vm_access), so a VM created later with the same id
inherits neither.  Creating with pool= puts the new VM in the pool in the
create task, and a create that fails leaves the pool as it was.  A config
of every disk and NIC slot and an 8 KiB description fits in one create and
in one POST .../config.  No QEMU runs: the VMs stay stopped.
"""

import os
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402


class VmAccessTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images")

    def qemu(self, api=None):
        return (api or self.admin).nodes(self.node).qemu

    def ok(self, upid):
        st = self.task_status(upid)
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        self.assertEqual(st["exitstatus"], "OK", "\n".join(x["t"] for x in lines))

    def user_cfg(self):
        with open(os.path.join(self.daemon.root, "etc", "user.cfg")) as f:
            return f.read()

    def pool_vms(self, pool):
        return sorted(m["vmid"] for m in self.admin.pools(pool).get()["members"]
                      if m.get("type") == "qemu")

    def test_destroy_forgets_acl_and_pool(self):
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="owner@pve", password=pw)
        self.admin.pools.post(poolid="team")
        self.ok(self.qemu().post(vmid=300, name="old"))
        self.ok(self.qemu().post(vmid=301, name="keep"))
        self.admin.access.acl.put(path="/vms/300", roles="PVEVMAdmin", users="owner@pve")
        self.admin.access.acl.put(path="/vms/301", roles="PVEVMUser", users="owner@pve")
        self.admin.pools("team").put(vms="300,301")
        api = self.daemon.proxmoxer("owner@pve", pw)
        self.assertEqual(self.qemu(api)(300).config.get()["name"], "old")
        self.assertEqual(self.pool_vms("team"), [300, 301])

        self.ok(self.qemu()(300).delete())
        cfg = self.user_cfg()
        self.assertNotIn("/vms/300:", cfg)
        self.assertIn("/vms/301:", cfg)
        self.assertEqual(self.pool_vms("team"), [301])

        # a new VM with the same id: the old owner has no access, the pool
        # does not list it
        self.ok(self.qemu().post(vmid=300, name="new"))
        self.assert_status(403, self.qemu(api)(300).config.get)
        self.assertEqual([v["vmid"] for v in self.qemu(api).get()], [301])
        self.assertEqual(self.pool_vms("team"), [301])
        self.ok(self.qemu()(300).delete())
        self.ok(self.qemu()(301).delete())
        self.assertEqual(self.pool_vms("team"), [])
        self.assertNotIn("/vms/301:", self.user_cfg())

    def test_create_in_pool(self):
        self.admin.pools.post(poolid="new")
        self.ok(self.qemu().post(vmid=310, name="pooled", pool="new"))
        self.assertEqual(self.pool_vms("new"), [310])
        self.assertEqual(self.qemu()(310).config.get()["name"], "pooled")
        # a missing pool: PVE's check_pool_exist
        e = self.assert_status(403, self.qemu().post, vmid=311, pool="nosuch")
        self.assertIn("pool 'nosuch' does not exist", str(e))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "311.conf")))
        # a create that fails leaves the pool as it was
        upid = self.qemu().post(vmid=312, pool="new", scsi0="vms:1", scsi1="nosuch:1")
        self.assertNotEqual(self.task_status(upid)["exitstatus"], "OK")
        self.assertEqual(self.pool_vms("new"), [310])
        # (the pool lines only: the test account's random name may hold "312")
        cfg = self.user_cfg()
        pools = [l for l in cfg.splitlines() if l.startswith("pool:")]
        self.assertFalse([l for l in pools if "312" in l.split(":")[3].split(",")], pools)
        self.assertNotIn("/vms/312", cfg)
        # VM.Allocate alone does not let a user fill someone else's pool
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="alloc@pve", password=pw)
        self.admin.access.acl.put(path="/vms/313", roles="PVEVMAdmin", users="alloc@pve")
        api = self.daemon.proxmoxer("alloc@pve", pw)
        e = self.assert_status(403, self.qemu(api).post, vmid=313, pool="new")
        self.assertIn("/pool/new, Pool.Allocate", str(e))
        self.admin.access.acl.put(path="/pool/new", roles="PVEPoolAdmin", users="alloc@pve")
        self.ok(self.qemu(api).post(vmid=313, pool="new"))
        self.assertEqual(self.pool_vms("new"), [310, 313])
        self.ok(self.qemu()(310).delete())
        self.ok(self.qemu()(313).delete())
        self.assertEqual(self.pool_vms("new"), [])

    def test_create_maximal_config(self):
        """Every disk and NIC slot with its options and an 8 KiB description
        go in one create (qmcreate's one task argument)."""
        vmid = 330
        d = os.path.join(self.path, "images", str(vmid))
        os.makedirs(d, exist_ok=True)
        conf = {}
        slots = [("scsi", 31), ("virtio", 16), ("sata", 6), ("ide", 4)]
        n = 0
        for bus, count in slots:
            for i in range(count):
                name = "vm-%d-disk-%d.raw" % (vmid, n)
                with open(os.path.join(d, name), "wb") as f:
                    f.truncate(1 << 20)
                # in the order PVE writes them back
                opts = "backup=0,cache=writeback,discard=on,serial=S%019d,size=1M" % n
                if bus != "virtio":
                    opts += ",ssd=1"
                conf["%s%d" % (bus, i)] = "vms:%d/%s,%s" % (vmid, name, opts)
                n += 1
        for i in range(32):
            conf["net%d" % i] = ("virtio=BC:24:11:00:00:%02X,bridge=vmbr0,tag=%d,firewall=1,"
                                 "rate=100.5,mtu=1500,queues=4,link_down=1" % (i, 100 + i))
        line = 'a "quoted" line of the description \\ with a backslash'
        desc = "\n".join([line] * (8192 // (len(line) + 1) + 1))[:8192]
        conf["description"] = desc
        conf["scsihw"] = "virtio-scsi-single"
        self.ok(self.qemu().post(vmid=vmid, name="maximal", **conf))
        got = self.qemu()(vmid).config.get()
        self.assertEqual(got["description"], desc)
        self.assertEqual(got["net31"], conf["net31"])
        self.assertEqual(got["ide3"], conf["ide3"])
        self.assertEqual(sum(1 for k in got if k.startswith(("scsi", "virtio", "sata", "ide"))
                             and k != "scsihw"), n)
        # and as one change (POST .../config, a qmconfig task)
        change = {"net%d" % i: conf["net%d" % i].replace("link_down=1", "link_down=0")
                  for i in range(32)}
        change["description"] = desc[::-1]
        self.ok(self.qemu()(vmid).config.post(**change))
        got = self.qemu()(vmid).config.get()
        self.assertEqual(got["description"], desc[::-1])
        self.assertEqual(got["net7"], change["net7"])
        self.ok(self.qemu()(vmid).delete())


if __name__ == "__main__":
    ctvmtest.main()
