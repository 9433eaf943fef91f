#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The storage configuration API (/storage) through real clients.

One daemon in a temporary root; a throwaway host account with Administrator
on / manages storage.cfg through proxmoxer, raw HTTPS, the ctvm CLI and
Ansible's community.general.proxmox_storage_info.  Where a storage lives on
the host (path, vgname, pool, ...) is root@pam's to say: those requests go
through the unix socket (test_storage_hostpath.py has the rule itself).  A
pve user with a VM role only is refused (403) and sees no storage.
"""

import json
import os
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402



class StorageConfig(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cfg = os.path.join(cls.daemon.root, "etc", "storage.cfg")

    def storage_cfg(self):
        with open(self.cfg) as f:
            return f.read()

    def test_implicit_local(self):
        local = self.admin.storage("local").get()
        self.assertEqual(local["type"], "dir")
        self.assertEqual(local["path"], os.path.join(self.daemon.root, "lib", "vz"))
        self.assertEqual(local["content"], "iso,vztmpl,backup,images,rootdir")
        self.assertEqual(len(local["digest"]), 40)
        ids = [s["storage"] for s in self.admin.storage.get()]
        self.assertIn("local", ids)

    def test_dir_lifecycle(self):
        path = os.path.join(self.daemon.root, "srv", "backup1")
        res = self.daemon.root_call("POST", "/storage", storage="backup1", type="dir",
                                    path=path, content="backup,iso", shared=1,
                                    **{"prune-backups": "keep-last=3,keep-daily=7"})
        self.assertEqual(res, {"storage": "backup1", "type": "dir"})
        # the path and the content subdirectories exist now
        self.assertTrue(os.path.isdir(os.path.join(path, "dump")))
        self.assertTrue(os.path.isdir(os.path.join(path, "template", "iso")))
        self.assertIn("dir: backup1\n\tpath %s\n\tcontent backup,iso\n" % path,
                      self.storage_cfg())

        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "backup1", "type": "dir", "path": path})
        self.assertEqual(r.status, 500, r.reason)
        self.assertIn("storage ID 'backup1' already defined", r.reason)

        listed = {s["storage"]: s for s in self.admin.storage.get(type="dir")}
        b = listed["backup1"]
        self.assertEqual(b["shared"], 1)
        self.assertEqual(b["content"], "backup,iso")
        self.assertEqual(b["prune-backups"], "keep-last=3,keep-daily=7")
        self.assertEqual(self.admin.storage.get(type="lvm"), [])

        one = self.admin.storage("backup1").get()
        self.admin.storage("backup1").put(comment="nightly", nodes="pve1,pve2",
                                          digest=one["digest"], delete="shared")
        one = self.admin.storage("backup1").get()
        self.assertEqual(one["comment"], "nightly")
        self.assertEqual(one["nodes"], "pve1,pve2")
        self.assertNotIn("shared", one)
        # a stale digest, fixed keys, bad content are refused
        self.assert_status(400, self.admin.storage("backup1").put, comment="x",
                           digest="0" * 40)
        r = self.daemon.root_http("PUT", "/storage/backup1", data={"path": "/elsewhere"})
        self.assertEqual(r.status, 400, r.reason)
        self.assertIn("can't change value of fixed parameter", r.json()["errors"]["path"])
        self.assert_status(400, self.admin.storage("backup1").put, content="bogus")
        r = self.daemon.root_http("PUT", "/storage/backup1", data={"vgname": "vg0"})
        self.assertEqual(r.status, 400, r.reason)
        r = self.daemon.root_http("PUT", "/storage/backup1", data={"delete": "path"})
        self.assertEqual(r.status, 400, r.reason)

        self.admin.storage("backup1").delete()
        e = self.assert_status(500, self.admin.storage("backup1").get)
        self.assertIn("storage 'backup1' does not exist", str(e))
        e = self.assert_status(500, self.admin.storage("backup1").delete)
        self.assertIn("does not exist", str(e))
        self.assertNotIn("backup1", self.storage_cfg())
        # the data stays: removing a storage only forgets it
        self.assertTrue(os.path.isdir(path))

    def test_other_types_config_only(self):
        # disabled: an enabled one is checked against the host (test_add_checks)
        root = self.daemon.root_call
        root("POST", "/storage", storage="thin", type="lvmthin", vgname="pve", thinpool="data",
             disable=1)
        root("POST", "/storage", storage="tank", type="zfspool", pool="tank/vm", sparse=1,
             blocksize="16k", content="images", disable=1)
        root("POST", "/storage", storage="vg1", type="lvm", vgname="vg1", saferemove=1,
             disable=1)
        try:
            thin = self.admin.storage("thin").get()
            self.assertEqual(thin["content"], "images,rootdir")
            tank = self.admin.storage("tank").get()
            self.assertEqual((tank["pool"], tank["sparse"], tank["blocksize"]),
                             ("tank/vm", 1, "16k"))
            self.assertEqual(self.admin.storage("vg1").get()["saferemove"], 1)
            for bad in ({"storage": "thin2", "type": "lvmthin", "vgname": "pve"},
                        {"storage": "z2", "type": "zfspool", "pool": "tank",
                         "content": "iso"},
                        {"storage": "1bad", "type": "dir", "path": "/tmp/x"},
                        {"storage": "nfs1", "type": "nfs", "path": "/tmp/x"}):
                r = self.daemon.root_http("POST", "/storage", data=bad)
                self.assertEqual(r.status, 400, "%s: %s" % (bad, r.reason))
        finally:
            for s in ("thin", "tank", "vg1"):
                self.admin.storage(s).delete()

    def test_add_checks(self):
        """Adding or enabling a storage checks what the host can tell now: a
        400 naming the problem, and nothing saved."""
        before = self.storage_cfg() if os.path.exists(self.cfg) else ""
        # btrfs on a path that is not btrfs (the daemon's root is not)
        path = os.path.join(self.daemon.root, "srv", "notbtrfs")
        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "bt1", "type": "btrfs", "path": path})
        self.assertEqual(r.status, 400, r.reason)
        self.assertEqual(r.json()["errors"]["path"],
                         "path '%s' is not on a btrfs file system" % path)
        # a volume group, a thin pool, a zpool that are not there (or
        # whose tools are not: said as such)
        for data, key, said in (
                ({"type": "lvm", "vgname": "ctvm-no-vg"}, "vgname",
                 ("volume group 'ctvm-no-vg' not found", "are the lvm2 tools installed?")),
                ({"type": "lvmthin", "vgname": "ctvm-no-vg", "thinpool": "data"}, "vgname",
                 ("volume group 'ctvm-no-vg' not found", "are the lvm2 tools installed?")),
                ({"type": "zfspool", "pool": "ctvmnopool/vm"}, "pool",
                 ("zpool 'ctvmnopool' not found", "are the zfs tools installed?"))):
            r = self.daemon.root_http("POST", "/storage", data=dict(data, storage="chk"))
            self.assertEqual(r.status, 400, "%s: %s" % (data, r.reason))
            msg = r.json()["errors"][key]
            self.assertTrue(any(s in msg for s in said), "%s: %s" % (data, msg))
        self.assertEqual(self.storage_cfg() if os.path.exists(self.cfg) else "", before)
        # disabled it is only configuration; enabling it is checked
        self.daemon.root_call("POST", "/storage", storage="chk", type="zfspool",
                              pool="ctvmnopool/vm", disable=1)
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/chk")
        r = self.daemon.root_http("PUT", "/storage/chk", data={"delete": "disable"})
        self.assertEqual(r.status, 400, r.reason)
        self.assertIn("pool", r.json()["errors"])
        self.assertEqual(self.admin.storage("chk").get()["disable"], 1)

    def daemon_log(self):
        text = self.daemon.stdout()
        for rel in ("log/ctvmd.log",):
            p = os.path.join(self.daemon.root, rel)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        with open(self.daemon.stderr_path, errors="replace") as f:
            text += f.read()
        return text

    def test_inactive_says_why(self):
        """A storage that cannot be activated is not active, and its status
        and the daemon log (once) say why."""
        # enabled in a hand-written file: no check ran
        with open(self.cfg, "a") as f:
            f.write("\nzfspool: gone\n\tpool ctvmgone/vm\n\tcontent images\n")
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/gone")
        for _ in range(2):
            st = self.admin.nodes(self.node).storage("gone").status.get()
            self.assertEqual(st["active"], 0)
            self.assertTrue("zpool 'ctvmgone' not found" in st["message"]
                            or "are the zfs tools installed?" in st["message"], st)
        self.assertEqual(self.daemon_log().count("storage 'gone' is not active: "), 1)
        # a storage that works says nothing more than before
        self.assertNotIn("message", self.admin.nodes(self.node).storage("local").status.get())

    def test_cli(self):
        path = os.path.join(self.daemon.root, "srv", "clistore")
        p = self.daemon.cli("api", "create", "/storage", "--storage", "clistore", "--type",
                            "dir", "--path", path, "--content", "backup")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.daemon.cli("api", "get", "/storage/clistore", "--output-format", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["path"], path)
        p = self.daemon.cli("api", "delete", "/storage/clistore")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_limited_user(self):
        pw = "pw-" + secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="vmonly@pve", password=pw)
        self.admin.access.acl.put(path="/vms/100", roles="PVEVMUser", users="vmonly@pve")
        api = self.daemon.proxmoxer("vmonly@pve", pw)
        self.assertEqual(api.storage.get(), [])
        self.assert_status(403, api.storage.post, storage="mine", type="dir", path="/tmp/m")
        self.assert_status(403, api.storage("local").put, comment="x")
        self.assert_status(403, api.storage("local").delete)
        self.assert_status(403, api.storage("local").get)
        # Datastore.Audit on one storage shows that one only
        self.admin.access.acl.put(path="/storage/local", roles="PVEAuditor",
                                  users="vmonly@pve")
        self.assertEqual([s["storage"] for s in api.storage.get()], ["local"])

    # -- Ansible ------------------------------------------------------------

    def ansible(self, module, **args):
        res, p = ctvmtest.run_ansible(self.daemon, self.acct.userid, self.acct.password,
                                      module, **args)
        if res is None:
            self.fail("ansible %s: rc %d\n%s\n%s" % (module, p.returncode, p.stdout, p.stderr))
        self.assertFalse(res.get("failed"), res.get("msg"))
        return res

    def test_ansible_storage_info(self):
        path = os.path.join(self.daemon.root, "srv", "ans")
        self.daemon.root_call("POST", "/storage", storage="ans", type="dir", path=path,
                              content="backup,iso", nodes="n1,n2", shared=1,
                              **{"prune-backups": "keep-all=1"})
        try:
            stores = self.ansible("proxmox_storage_info")["proxmox_storages"]
            by_id = {s["storage"]: s for s in stores}
            self.assertIn("local", by_id)
            a = by_id["ans"]
            self.assertEqual(sorted(a["content"]), ["backup", "iso"])
            self.assertEqual(a["nodes"], ["n1", "n2"])
            self.assertIs(a["shared"], True)
            self.assertEqual(a["prune-backups"], {"keep-all": "1"})
            one = self.ansible("proxmox_storage_info", storage="ans")["proxmox_storages"]
            self.assertEqual(len(one), 1)
            self.assertEqual(one[0]["path"], path)
            dirs = self.ansible("proxmox_storage_info", type="dir")["proxmox_storages"]
            self.assertEqual(sorted(s["storage"] for s in dirs), ["ans", "local"])
        finally:
            self.admin.storage("ans").delete()


if __name__ == "__main__":
    ctvmtest.main()
