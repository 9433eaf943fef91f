#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The command line against a real ctvmd: ctvm and the Proxmox names.

One daemon in a temporary root with two dir storages.  The binary runs
under each of its names (qm, pct, pvesm, pveum, pvesh: links in a temporary
directory, as `meson install` makes them) and as ctvm with its groups.
Global options are taken anywhere on the line; --output-format gives
json, json-pretty or text everywhere; exit codes tell usage errors (2),
permission errors (3), failed tasks (4) and other errors (1) apart.
`qm list` and `pvesm status` print Proxmox's columns byte for byte (the
expected text is built here with Proxmox's printf formats); tasks are
waited for with their log on stdout unless --async, which prints the UPID.
Every method of the table has a CLI path (pvesh, whose `usage` reads the
table), and the first administrator is made with the two documented pveum
commands.  No QEMU needs to run long: VMs use kvm=0 and stay small.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

NAMES = ("qm", "pct", "pvesm", "pveum", "pvesh")


class CliTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = ctvmtest.Daemon()
        cls.daemon.start()
        cls.bindir = tempfile.mkdtemp(prefix="ctvmt-bin-")
        for n in NAMES + ("ctvm",):
            os.symlink(os.path.abspath(ctvmtest.ctvm_path()), os.path.join(cls.bindir, n))
        cls.root = cls.daemon.root
        for sid in ("vms", "more"):
            path = os.path.join(cls.root, "srv", sid)
            cls.daemon.root_call("POST", "/storage", storage=sid, type="dir", path=path,
                                 content="images,iso")
        cls.node = cls.daemon.root_call("GET", "/nodes")[0]["node"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.bindir, ignore_errors=True)
        cls.daemon.stop()

    def run_as(self, name, *args, root=True, stdin=None, timeout=120):
        argv = [os.path.join(self.bindir, name)] + list(args)
        if root:
            argv += ["--root", self.root]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              env=dict(os.environ, LC_ALL="C", TZ="UTC"))

    def ok(self, name, *args, **kw):
        r = self.run_as(name, *args, **kw)
        self.assertEqual(r.returncode, 0, "%s %s: %s%s" % (name, args, r.stdout, r.stderr))
        return r.stdout

    # -- slice 1: global options, output formats, exit codes ----------------

    def test_global_options_anywhere(self):
        ctvm = os.path.join(self.bindir, "ctvm")
        want = self.ok("ctvm", "api", "get", "/version", "--output-format", "json")
        for argv in (["--root", self.root, "api", "get", "/version", "--output-format=json"],
                     ["api", "--root", self.root, "get", "/version", "--output-format", "json"],
                     ["--output-format", "json", "api", "get", "/version", "--root=" + self.root]):
            r = subprocess.run([ctvm] + argv, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual((r.returncode, r.stdout), (0, want), (argv, r.stderr))
        # `ctvm vm list --root` as well as `ctvm --root DIR vm list`
        self.assertEqual(self.ok("ctvm", "vm", "list"),
                         subprocess.run([ctvm, "--root", self.root, "vm", "list"],
                                        capture_output=True, text=True, timeout=60).stdout)

    def test_output_formats(self):
        data = json.loads(self.ok("pvesh", "get", "/version", "--output-format", "json"))
        self.assertIn("version", data)
        pretty = self.ok("pvesh", "get", "/version", "--output-format", "json-pretty")
        self.assertEqual(json.loads(pretty), data)
        self.assertIn("\n    ", pretty)
        text = self.ok("pvesh", "get", "/version", "--output-format", "text")
        self.assertIn("version: %s\n" % data["version"], text)
        # the Proxmox names print JSON too when asked
        storages = json.loads(self.ok("pvesm", "status", "--output-format", "json"))
        self.assertEqual(sorted(s["storage"] for s in storages), ["local", "more", "vms"])
        r = self.run_as("qm", "list", "--output-format", "yaml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown output format", r.stderr)

    def test_exit_codes(self):
        # usage errors: 2
        for args in (("nosuch",), ("start",), ("start", "100", "200", "300")):
            r = self.run_as("qm", *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
        self.assertEqual(self.run_as("ctvm", "nosuch").returncode, 2)
        self.assertEqual(self.run_as("pvesh", "frob", "/version").returncode, 2)
        # a parameter the API refuses (400) is a usage error too
        r = self.run_as("pvesh", "create", "/storage", "--storage", "x1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("400", r.stderr)
        # another error: 1
        r = self.run_as("qm", "config", "4242")
        self.assertEqual(r.returncode, 1, r.stderr)
        # a task that ran and failed: 4 (raw volumes have no snapshots)
        self.ok("qm", "create", "150", "--scsi0", "vms:1", "--kvm", "0")
        try:
            r = self.run_as("qm", "snapshot", "150", "s1")
            self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
            self.assertIn("TASK ERROR: ", r.stderr)
        finally:
            self.ok("qm", "destroy", "150")

    def test_permission_exit_code_socket(self):
        # the socket is root's: another uid is refused, exit 3
        ctvm = os.path.abspath(ctvmtest.ctvm_path())
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            ctvm, "--root", self.root, "api", "get", "/version"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if "Permission denied" not in r.stderr and r.returncode == 126:
            self.skipTest("the build is not executable by nobody")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("only root may use the local socket", r.stderr)

    def test_permission_exit_code_http(self):
        # 401 and 403 answers are exit 3 (a stand-in daemon on a socket)
        for status, reason in ((403, "Permission check failed"), (401, "No ticket")):
            root = tempfile.mkdtemp(prefix="ctvmt-fake-")
            try:
                os.makedirs(os.path.join(root, "run"))
                srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                srv.bind(os.path.join(root, "run", "api.sock"))
                srv.listen(1)
                srv.settimeout(30)

                def answer():
                    conn, _ = srv.accept()
                    with conn:
                        conn.recv(65536)
                        body = b'{"data":null}'
                        conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n"
                                     b"Connection: close\r\n\r\n%s"
                                     % (status, reason.encode(), len(body), body))

                t = threading.Thread(target=answer)
                t.start()
                r = subprocess.run([ctvmtest.ctvm_path(), "api", "get", "/version", "--root",
                                    root], capture_output=True, text=True, timeout=60)
                t.join(30)
                srv.close()
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn("%d %s" % (status, reason), r.stderr)
            finally:
                shutil.rmtree(root, ignore_errors=True)

    # -- slice 2: pvesh over the method table -------------------------------

    def test_pvesh_verbs(self):
        self.assertEqual(self.run_as("pvesh", "get", "/nodes/%s/qemu/777" % self.node).returncode,
                         1)
        self.ok("pvesh", "create", "/pools", "--poolid", "p1", "--comment", "one")
        pools = json.loads(self.ok("pvesh", "get", "/pools", "--output-format", "json"))
        self.assertIn({"poolid": "p1", "comment": "one"},
                      [{k: p.get(k) for k in ("poolid", "comment")} for p in pools])
        self.ok("pvesh", "set", "/pools/p1", "--comment", "two")
        self.assertEqual(json.loads(self.ok("pvesh", "get", "/pools/p1",
                                            "--output-format", "json")).get("comment"), "two")
        self.ok("pvesh", "delete", "/pools/p1")
        self.assertNotIn("p1", self.ok("pvesh", "get", "/pools", "--output-format", "json"))
        # ls: children from the table, a placeholder filled from GET's data
        ls = self.ok("pvesh", "ls", "/nodes/" + self.node).splitlines()
        self.assertIn("Dr-c-        qemu", ls)
        self.assertIn("-r---        status", ls)
        self.assertIn("Dr---        %s" % self.node, self.ok("pvesh", "ls", "/nodes").splitlines())
        # a boolean option needs no value (the row types it)
        self.ok("pvesh", "get", "/nodes/%s/qemu" % self.node, "--full")

    def test_pvesh_usage(self):
        # the same text as ctvm api usage, under pvesh's name; Proxmox's --command
        a = self.ok("pvesh", "usage", "/storage", "--command", "create", root=False)
        b = self.ok("ctvm", "api", "usage", "/storage", "POST", root=False)
        self.assertEqual(a, b.replace("USAGE: ctvm api ", "USAGE: pvesh "))
        self.assertTrue(a.startswith("USAGE: pvesh create /storage --storage <string>"), a)

    def test_every_method_has_a_cli_path(self):
        """Every method the daemon serves (its /schema) is reachable through
        pvesh, whose usage lists exactly the row's options."""
        schema = self.daemon.root_call("GET", "/schema")
        methods = []

        def walk(nodes):
            for n in nodes:
                for verb, info in (n.get("info") or {}).items():
                    methods.append((n["path"], verb, info))
                walk(n.get("children") or [])
        walk(schema)
        self.assertGreater(len(methods), 50)
        cmd = {"GET": "get", "POST": "create", "PUT": "set", "DELETE": "delete"}
        for path, verb, info in methods:
            r = self.run_as("pvesh", "usage", path, verb, root=False, timeout=30)
            self.assertEqual(r.returncode, 0, (path, verb, r.stderr))
            self.assertIn("USAGE: pvesh %s %s" % (cmd[verb], path), r.stdout)
            props = ((info.get("parameters") or {}).get("properties") or {})
            opts = {line.split()[0][2:] for line in r.stdout.splitlines()
                    if line.startswith("  --")}
            in_path = {k for k in props if "{%s}" % k in path}
            self.assertEqual(opts, set(props) - in_path, (path, verb))


if __name__ == "__main__":
    ctvmtest.main()
