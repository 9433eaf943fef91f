#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The node storage API (/nodes/{node}/storage...) through real clients.

One daemon in a temporary root; a throwaway host account with Administrator
on / creates a dir storage, reads its status, allocates, lists, annotates,
protects and deletes volumes through proxmoxer and raw HTTPS.  Volume ids
that could leave the storage are refused (400).  A pve user with PVEVMUser on
/vms/100 only sees no storage and may not allocate (403).
"""

import os
import secrets
import sys
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402



class StorageApi(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vols")
        # a storage's path is root@pam's to set
        cls.daemon.root_call("POST", "/storage", storage="vols", type="dir", path=cls.path,
                             content="images,rootdir,iso,backup")

    def stor(self, api=None):
        return (api or self.admin).nodes(self.node).storage

    def raw(self, method, volume, **kw):
        """A request on content/{volume} with volume sent as given (already
        escaped), so the test controls every byte of the path."""
        path = "/nodes/%s/storage/vols/content/%s" % (self.node, volume)
        return self.daemon.http(method, path, ticket=self.ticket,
                                csrf=self.csrf if method != "GET" else None, **kw)

    def check_status_entry(self, e):
        for k in ("storage", "type", "content"):
            self.assertIsInstance(e[k], str, k)
        for k in ("shared", "enabled", "active"):
            self.assertIn(e[k], (0, 1), k)
            self.assertIsInstance(e[k], int, k)
        for k in ("total", "used", "avail", "provisioned"):
            self.assertIsInstance(e[k], int, k)
            self.assertGreaterEqual(e[k], 0, k)
        for k in ("used_fraction", "overcommit"):
            self.assertIsInstance(e[k], (int, float), k)

    # -- status ---------------------------------------------------------------

    def test_node_storage_list(self):
        listed = {s["storage"]: s for s in self.stor().get()}
        self.assertIn("local", listed)
        # the implicit local storage is activated (path and subdirs made) by a
        # status call, as Proxmox's storage_info does
        self.assertEqual(listed["local"]["active"], 1)
        self.assertGreater(listed["local"]["total"], 0)
        v = listed["vols"]
        self.check_status_entry(v)
        self.assertEqual(v["type"], "dir")
        self.assertEqual(v["content"], "images,rootdir,iso,backup")
        self.assertEqual((v["enabled"], v["active"], v["shared"]), (1, 1, 0))
        self.assertGreater(v["total"], 0)
        self.assertAlmostEqual(v["used_fraction"], v["used"] / v["total"], places=6)

        self.assertEqual([s["storage"] for s in self.stor().get(storage="vols")], ["vols"])
        self.assertEqual([s["storage"] for s in self.stor().get(content="iso")
                          if s["storage"] == "vols"], ["vols"])
        self.assertNotIn("vols", [s["storage"] for s in self.stor().get(content="snippets")])
        fmt = self.stor().get(storage="vols", format=1)[0]["format"]
        self.assertEqual(fmt[1], "raw")
        self.assertEqual(fmt[0]["qcow2"], 1)

        one = self.stor()("vols").status.get()
        self.check_status_entry(one)
        self.assertEqual(one["storage"], "vols")
        self.assertEqual(sorted(d["subdir"] for d in self.stor()("vols").get()),
                         ["content", "download-url", "prunebackups", "rrd", "rrddata",
                          "status", "upload"])
        e = self.assert_status(500, self.stor()("nosuch").status.get)
        self.assertIn("does not exist", str(e))

    def test_cluster_resources(self):
        res = self.admin.cluster.resources.get(type="storage")
        self.assertTrue(all(r["type"] == "storage" for r in res))
        byid = {r["id"]: r for r in res}
        r = byid["storage/%s/vols" % self.node]
        self.assertEqual((r["storage"], r["node"], r["status"], r["plugintype"]),
                         ("vols", self.node, "available", "dir"))
        self.assertEqual(r["content"], "images,rootdir,iso,backup")
        self.assertEqual(r["shared"], 0)
        self.assertIsInstance(r["disk"], int)
        self.assertGreater(r["maxdisk"], 0)
        types = {r["type"] for r in self.admin.cluster.resources.get()}
        self.assertEqual(types, {"node", "storage"})

    # -- volumes ------------------------------------------------------------

    def test_volume_lifecycle(self):
        content = self.stor()("vols").content
        raw = content.post(vmid=100, filename="vm-100-disk-0.raw", size="4M")
        self.assertEqual(raw, "vols:100/vm-100-disk-0.raw")
        qcow = content.post(vmid=101, filename="vm-101-disk-0.qcow2", size="1G",
                            format="qcow2")
        self.assertEqual(qcow, "vols:101/vm-101-disk-0.qcow2")
        self.assertEqual(os.path.getsize(os.path.join(self.path, "images", "100",
                                                      "vm-100-disk-0.raw")), 4 << 20)
        self.assert_status(400, content.post, vmid=100, filename="vm-100-disk-1.raw",
                           size="4X")
        self.assert_status(400, content.post, vmid=100, filename="vm-100-disk-1.raw",
                           size="4M", format="qcow2")
        self.assert_status(400, content.post, vmid=100, filename="vm-101-disk-1.raw",
                           size="4M")

        vols = {v["volid"]: v for v in content.get()}
        self.assertEqual(set(vols), {raw, qcow})
        q = vols[qcow]
        self.assertEqual((q["format"], q["size"], q["vmid"], q["content"]),
                         ("qcow2", 1 << 30, 101, "images"))
        self.assertIsInstance(q["ctime"], int)
        self.assertIsInstance(q["used"], int)
        self.assertEqual([v["volid"] for v in content.get(vmid=100)], [raw])
        self.assertEqual(content.get(content="iso"), [])

        # status counts the provisioned space
        st = self.stor()("vols").status.get()
        self.assertEqual(st["provisioned"], (4 << 20) + (1 << 30))
        self.assertAlmostEqual(st["overcommit"], st["provisioned"] / st["total"], places=6)

        info = content(raw).get()
        self.assertEqual(info["path"], os.path.join(self.path, "images", "100",
                                                    "vm-100-disk-0.raw"))
        self.assertEqual((info["size"], info["format"], info["protected"], info["notes"]),
                         (4 << 20, "raw", 0, ""))
        # a volume name works as well as a volid
        self.assertEqual(content("100/vm-100-disk-0.raw").get()["size"], 4 << 20)

        # notes and protection are kept for backups only (as PVE's dir plugin)
        self.assert_status(400, content(raw).put, notes="x")
        os.makedirs(os.path.join(self.path, "dump"), exist_ok=True)
        bname = "vzdump-qemu-100-2026_01_02-03_04_05.vma.zst"
        with open(os.path.join(self.path, "dump", bname), "wb") as f:
            f.write(b"\0" * 4096)
        bak = "vols:backup/" + bname
        self.assertIsNone(content(bak).put(notes="hello backup", protected=1))
        binfo = content(bak).get()
        self.assertEqual((binfo["notes"], binfo["protected"]), ("hello backup", 1))
        listed = content.get(content="backup")
        self.assertEqual([v["volid"] for v in listed], [bak])
        self.assertEqual((listed[0]["notes"], listed[0]["protected"], listed[0]["vmid"]),
                         ("hello backup", 1, 100))
        e = self.assert_status(500, content(bak).delete)
        self.assertIn("protected", str(e))
        content(bak).put(protected=0, notes="")
        self.assertEqual(content(bak).get()["notes"], "")
        st = self.task_status(content(bak).delete())
        self.assertEqual(st["exitstatus"], "OK")
        self.assertFalse(os.path.exists(os.path.join(self.path, "dump", bname)))

        upid = content(raw).delete()
        self.assertTrue(upid.startswith("UPID:%s:" % self.node), upid)
        self.assertIn(":imgdel:vols:", upid)
        st = self.task_status(upid)
        self.assertEqual(st["exitstatus"], "OK")
        self.assertFalse(os.path.exists(info["path"]))
        self.assertEqual([v["volid"] for v in content.get()], [qcow])
        self.assert_status(404, content("vols:100/vm-100-disk-0.raw").get)

        st = self.task_status(content(qcow).delete())
        self.assertEqual(st["exitstatus"], "OK")
        self.assertEqual(content.get(), [])

    def test_traversal_refused(self):
        bad = [
            quote("vols:../../etc/passwd", safe=""),
            quote("../../etc/passwd", safe=""),
            quote("/etc/passwd", safe=""),
            quote("vols:/etc/passwd", safe=""),
            "%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
            "vols:%2e%2e%2F%2e%2e%2Fetc%2Fpasswd",
            quote("vols:100/../../../etc/x.raw", safe=""),
            quote("vols:iso/../../x.iso", safe=""),
            quote("vols:100/vm-100-disk-0.raw\n", safe=""),
            quote("local:100/vm-100-disk-0.raw", safe=""),
        ]
        for v in bad:
            for method in ("GET", "PUT", "DELETE"):
                data = {"notes": "x"} if method == "PUT" else None
                r = self.raw(method, v, data=data)
                self.assertEqual(r.status, 400, "%s %s: %d %s" % (method, v, r.status,
                                                                  r.reason))
        # nothing outside was touched
        self.assertTrue(os.path.exists("/etc/passwd"))

    # -- permissions --------------------------------------------------------

    def test_limited_user(self):
        pw = "pw-" + secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="vmuser@pve", password=pw)
        self.admin.access.acl.put(path="/vms/100", roles="PVEVMUser", users="vmuser@pve")
        api = self.daemon.proxmoxer("vmuser@pve", pw)
        self.assertEqual(self.stor(api).get(), [])
        self.assertEqual(api.cluster.resources.get(type="storage"), [])
        self.assert_status(403, self.stor(api)("vols").content.post, vmid=100,
                           filename="vm-100-disk-5.raw", size="1M")
        self.assert_status(403, self.stor(api)("vols").content.get)
        self.assert_status(403, self.stor(api)("vols").status.get)
        # Datastore.AllocateSpace alone is not enough to allocate for a guest
        self.admin.access.acl.put(path="/storage/vols", roles="PVEDatastoreUser",
                                  users="vmuser@pve")
        self.assertEqual([s["storage"] for s in self.stor(api).get()], ["vols"])
        self.assert_status(403, self.stor(api)("vols").content.post, vmid=100,
                           filename="vm-100-disk-5.raw", size="1M")
        # nor to delete a guest's volume (Datastore.Allocate)
        vol = self.stor()("vols").content.post(vmid=100, filename="vm-100-disk-7.raw",
                                               size="1M")
        try:
            self.assert_status(403, self.stor(api)("vols").content(vol).delete)
            # and VM.Config.Disk is missing for reading it
            self.assert_status(403, self.stor(api)("vols").content(vol).get)
            self.assertEqual(self.stor(api)("vols").content.get(), [])
        finally:
            self.task_status(self.stor()("vols").content(vol).delete())
            self.admin.access.acl.put(path="/storage/vols", roles="PVEDatastoreUser",
                                      users="vmuser@pve", delete=1)


if __name__ == "__main__":
    ctvmtest.main()
