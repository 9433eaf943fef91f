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
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import CtDaemonTest  # noqa: E402
from test_volume_api import mount_btrfs  # noqa: E402

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
        self.assertEqual(ls, sorted(ls, key=lambda line: line.split()[1]))
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

    def test_help_and_completion_list_the_rows_options(self):
        """For every command of every Proxmox name, `help CMD` and completion
        offer exactly the options of the command's method row."""
        glob = {"--root", "--host", "--output-format", "--async"}
        checked = 0
        for prog in ("qm", "pct", "pvesm", "pveum"):
            listing = self.ok(prog, "help", root=False).splitlines()[1:]
            cmds = []
            for line in listing:
                words = line.split()[1:]
                if words[0] == "help":
                    continue
                cmds.append([w for w in words if not w.startswith("<") and w != "[OPTIONS]"])
            for cmd in cmds:
                h = self.ok(prog, "help", *cmd, root=False)
                self.assertIn("USAGE: %s %s" % (prog, " ".join(cmd)), h)
                if "Not available" in h or "No API method" in h:
                    continue
                opts = {line.split()[0] for line in h.splitlines() if line.startswith("  --")}
                r = self.run_as(prog, "__complete", *cmd, "", root=False)
                got = set(r.stdout.split())
                self.assertEqual(got, opts | glob, (prog, cmd))
                checked += 1
        self.assertGreater(checked, 60)

    # -- slice 3: qm, pvesm, pveum, pct -------------------------------------

    def test_qm_list_format(self):
        self.ok("qm", "create", "120", "--name", "alpha", "--memory", "512", "--scsi0",
                "vms:1", "--kvm", "0")
        self.ok("qm", "create", "110", "--memory", "1536", "--kvm", "0")
        try:
            out = self.ok("qm", "list")
            head = "%10s %-20s %-10s %-10s %12s %-10s\n" % (
                "VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID")
            row = "%10s %-20s %-10s %-10s %12.2f %-10s\n"
            want = head + row % (110, "VM 110", "stopped", 1536, 0, 0) + \
                row % (120, "alpha", "stopped", 512, 1.0, 0)
            self.assertEqual(out, want)
            self.assertEqual(self.ok("ctvm", "vm", "list"), want)
        finally:
            self.ok("qm", "destroy", "120")
            self.ok("qm", "destroy", "110")
        # no VMs: nothing at all, as Proxmox
        self.assertEqual(self.ok("qm", "list"), "")

    def test_qm_lifecycle(self):
        vmid = "130"
        out = self.ok("qm", "create", vmid, "--name", "web", "--memory", "256",
                      "--scsi0", "vms:1,format=qcow2", "--kvm", "0")
        self.assertIn("VM 130 created", out)
        self.assertNotIn("TASK OK", out)
        try:
            conf = self.ok("qm", "config", vmid)
            self.assertIn("memory: 256\n", conf)
            self.assertIn("name: web\n", conf)
            self.assertNotIn("digest", conf)
            self.assertEqual(sorted(conf.splitlines()), conf.splitlines())
            self.ok("qm", "set", vmid, "-memory", "512", "--description", "a: b\nc")
            conf = self.ok("qm", "config", vmid)
            self.assertIn("memory: 512\n", conf)
            self.assertIn("description: a%3A b%0Ac\n", conf)
            self.assertEqual(self.ok("qm", "status", vmid), "status: stopped\n")
            self.assertIn("status: stopped\n", self.ok("qm", "status", vmid, "--verbose"))
            self.assertIn("cur memory: 512\n", self.ok("qm", "pending", vmid))
            # snapshots (qcow2 on dir), their tree, rollback, delete
            self.ok("qm", "snapshot", vmid, "first", "--description", "one")
            self.ok("qm", "snapshot", vmid, "second")
            tree = self.ok("qm", "listsnapshot", vmid).splitlines()
            self.assertEqual([line.split()[:2] for line in tree],
                             [["`->", "first"], ["`->", "second"], ["`->", "current"]])
            self.assertTrue(tree[1].startswith("    `-> second"), tree)
            self.assertTrue(tree[2].startswith("        `-> current"), tree)
            self.assertTrue(tree[0].endswith(" one"), tree)
            self.assertTrue(tree[2].endswith("You are here!"), tree)
            self.assertRegex(tree[0], r"^`-> first {23}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {5}one$")
            self.ok("qm", "rollback", vmid, "first")
            self.ok("qm", "delsnapshot", vmid, "second")
            self.ok("qm", "delsnapshot", vmid, "first")
            # resize, move-disk (volume on the other storage), unlock
            self.ok("qm", "resize", vmid, "scsi0", "+1G")
            self.assertIn("size=2G", self.ok("qm", "config", vmid))
            self.ok("qm", "move-disk", vmid, "scsi0", "more", "--delete", "1")
            self.assertIn("scsi0: more:", self.ok("qm", "config", vmid))
            self.ok("qm", "unlock", vmid)
            # start and stop; --async prints the UPID only
            r = self.run_as("qm", "start", vmid, "--async")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^UPID:[^:]+:[0-9A-F]{8}:.*:qmstart:130:root@pam:\n$")
            self.ok("ctvm", "task", "wait", r.stdout.strip())
            self.assertEqual(self.ok("qm", "status", vmid), "status: running\n")
            out = self.ok("qm", "stop", vmid, "--output-format", "json")
            self.assertRegex(json.loads(out), r"^UPID:.*:qmstop:130:")
            self.assertEqual(self.ok("qm", "status", vmid), "status: stopped\n")
            # clone, template
            self.ok("qm", "clone", vmid, "131", "--name", "copy", "--full", "1")
            self.ok("qm", "template", "131")
            self.assertIn("template: 1", self.ok("qm", "config", "131"))
            self.ok("qm", "destroy", "131")
            # showcmd: the line start runs, quoted as cmd2string; --pretty
            # breaks it before each option as qm.pm; nothing made on the host
            line = self.ok("qm", "showcmd", vmid)
            self.assertTrue(line.startswith("/usr/bin/qemu-system-x86_64 -name web "), line)
            self.assertEqual(line.count("\n"), 1)
            disk = os.path.join(self.root, "srv", "more", "images", vmid, "vm-130-disk-0.qcow2")
            self.assertIn(disk, line)
            self.assertIn(" -chardev 'socket,id=qmp,path=", line)
            pretty = self.ok("qm", "showcmd", vmid, "--pretty")
            plines = pretty.splitlines()
            self.assertEqual(plines[0], "/usr/bin/qemu-system-x86_64 \\")
            self.assertEqual(plines[1], "  -name web \\")
            self.assertTrue(all(p.startswith("  -") for p in plines[1:]), pretty)
            self.assertFalse(plines[-1].endswith("\\"))
            self.assertEqual(pretty.replace(" \\\n  -", " -"), line)
            self.assertEqual(self.ok("ctvm", "vm", "showcmd", vmid), line)
            self.assertEqual(json.loads(self.ok("qm", "showcmd", vmid, "--output-format",
                                                "json")), line.rstrip("\n"))
            self.assertEqual(self.ok("qm", "status", vmid), "status: stopped\n")
            r = self.run_as("qm", "showcmd", "199")
            self.assertEqual(r.returncode, 1, r.stderr)
            # help from the table
            h = self.ok("qm", "help", "resize", root=False)
            self.assertIn("USAGE: qm resize <vmid> <disk> <size> [OPTIONS]", h)
            self.assertIn("--skiplock", h)
        finally:
            self.run_as("qm", "stop", vmid)
            self.ok("qm", "destroy", vmid)

    def test_qm_disk_import(self):
        """qm disk import (and importdisk): a host image as a new unusedN
        or --target-disk, root@pam only; devices, links to them and images
        naming host files are refused."""
        vmid = "135"
        tmp = tempfile.mkdtemp(prefix="ctvmt-import-")
        self.ok("qm", "create", vmid, "--memory", "128", "--kvm", "0")
        try:
            qcow = os.path.join(tmp, "src.qcow2")
            raw = os.path.join(tmp, "src.raw")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow, "2M"], check=True,
                           timeout=60)
            subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 64k 128k", qcow],
                           check=True, timeout=60, capture_output=True)
            with open(raw, "wb") as f:
                f.write(b"\xa5" * 65536 + b"\0" * 65536)

            def volpath(volid):
                sid, name = volid.split(":", 1)
                return os.path.join(self.root, "srv", sid, "images", vmid, name.split("/")[-1])

            out = self.ok("qm", "disk", "import", vmid, qcow, "vms")
            self.assertIn("importing disk '%s' to VM %s ..." % (qcow, vmid), out)
            m = re.search(r"Successfully imported disk as '(unused0):(vms:[^']+)'", out)
            self.assertTrue(m, out)
            conf = self.ok("qm", "config", vmid)
            self.assertIn("unused0: %s\n" % m.group(2), conf)
            subprocess.run(["qemu-img", "compare", "-q", qcow, volpath(m.group(2))], check=True,
                           timeout=60)
            out = self.ok("qm", "importdisk", vmid, raw, "more", "--format", "raw",
                          "--target-disk", "scsi1")
            m = re.search(r"Successfully imported disk as '(scsi1):(more:[^']+)'", out)
            self.assertTrue(m, out)
            self.assertIn("scsi1: %s,size=128K\n" % m.group(2), self.ok("qm", "config", vmid))
            subprocess.run(["qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", raw,
                            volpath(m.group(2))], check=True, timeout=60)

            # refused: a device, a link to it, a qcow2 backed by a host file,
            # a relative path or one with ".."
            link = os.path.join(tmp, "zero")
            os.symlink("/dev/zero", link)
            backed = os.path.join(tmp, "backed.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw,
                            backed], check=True, timeout=60)
            for src, msg in (("/dev/zero", "not a regular file"),
                             (link, "not a regular file"),
                             (backed, "backing file not allowed"),
                             ("src.raw", "unable to find source")):
                r = self.run_as("qm", "disk", "import", vmid, src, "vms")
                self.assertNotEqual(r.returncode, 0, src)
                self.assertIn(msg, r.stderr, src)
            # the daemon itself (the CLI resolves links): no link, no ".."
            api = "/nodes/%s/qemu/%s/config" % (self.node, vmid)
            for src, status in ((link, 500), (tmp + "/../x/src.raw", 400), ("src.raw", 400)):
                r = self.daemon.root_http("PUT", api, data={"unused1": "vms:0,import-from=" + src})
                self.assertEqual(r.status, status, (src, r.reason))
            conf = self.ok("qm", "config", vmid)
            self.assertNotIn("unused1", conf)
            self.assertNotIn("scsi2", conf)

            # only root@pam: an Administrator on / of the pve realm gets 403
            self.ok("pveum", "user", "add", "imp@pve", "--password", "s3cret-Pw")
            self.ok("pveum", "acl", "modify", "/", "--roles", "Administrator", "--users",
                    "imp@pve")
            try:
                api = self.daemon.proxmoxer("imp@pve", "s3cret-Pw")
                from proxmoxer.core import ResourceException
                with self.assertRaises(ResourceException) as cm:
                    api.nodes(self.node).qemu(vmid).config.put(
                        unused1="vms:0,import-from=" + raw)
                self.assertEqual(cm.exception.status_code, 403)
                self.assertIn("only root can set 'unused1' config", str(cm.exception))
            finally:
                self.ok("pveum", "user", "delete", "imp@pve")
        finally:
            self.run_as("qm", "destroy", vmid, "--purge")
            shutil.rmtree(tmp, ignore_errors=True)

    def test_progress_line_on_a_terminal(self):
        """A task silent for 2 s gets a progress line on stderr when stderr is
        a terminal, erased before the next output; none on a pipe."""
        import pty
        self.ok("qm", "create", "135", "--memory", "128", "--kvm", "0")
        try:
            self.ok("qm", "start", "135")
            master, slave = pty.openpty()
            try:
                argv = [os.path.join(self.bindir, "qm"), "shutdown", "135", "--timeout", "3",
                        "--forceStop", "1", "--root", self.root]
                r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave, text=True,
                                   timeout=120, stdin=subprocess.DEVNULL)
                os.close(slave)
                slave = None
                seen = b""
                while True:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    seen += chunk
            finally:
                if slave is not None:
                    os.close(slave)
                os.close(master)
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"\r\x1b[Kqmshutdown 135: running, ", seen)
            self.assertTrue(seen.endswith(b"\r\x1b[K"), seen)
            self.assertNotIn("running,", r.stdout)
            self.assertEqual(self.ok("qm", "status", "135"), "status: stopped\n")
        finally:
            self.run_as("qm", "stop", "135")
            self.ok("qm", "destroy", "135")

    def test_pvesm(self):
        out = self.ok("pvesm", "status")
        lines = out.splitlines()
        width = max(len(s) for s in ("local", "more", "vms")) + 1
        self.assertEqual(lines[0], "%-*s %10s %10s %15s %15s %15s %8s" % (
            width, "Name", "Type", "Status", "Total", "Used", "Available", "%"))
        self.assertEqual([line.split()[0] for line in lines[1:]], ["local", "more", "vms"])
        for line in lines[1:]:
            name, typ, status, total, used, avail, per = line.split()
            self.assertEqual(line, "%-*s %10s %10s %15d %15d %15d %7.2f%%" % (
                width, name, typ, status, int(total), int(used), int(avail),
                float(per.rstrip("%"))))
            self.assertEqual((typ, status), ("dir", "active"))
        # alloc, list, path, free
        out = self.ok("pvesm", "alloc", "vms", "140", "vm-140-disk-0.qcow2", "1M")
        self.assertEqual(out, "successfully created 'vms:140/vm-140-disk-0.qcow2'\n")
        listing = self.ok("pvesm", "list", "vms").splitlines()
        self.assertEqual(listing[0].split(), ["Volid", "Format", "Type", "Size", "VMID"])
        self.assertEqual(listing[1].split(),
                         ["vms:140/vm-140-disk-0.qcow2", "qcow2", "images", "1048576", "140"])
        self.assertEqual(self.ok("pvesm", "path", "vms:140/vm-140-disk-0.qcow2"),
                         os.path.join(self.root, "srv", "vms", "images", "140",
                                      "vm-140-disk-0.qcow2") + "\n")
        self.ok("pvesm", "free", "vms:140/vm-140-disk-0.qcow2")
        self.assertEqual(len(self.ok("pvesm", "list", "vms").splitlines()), 1)
        # add, set, remove
        self.ok("pvesm", "add", "dir", "extra", "--path", os.path.join(self.root, "srv", "x"),
                "--content", "iso")
        self.ok("pvesm", "set", "extra", "--disable", "1")
        line = [x for x in self.ok("pvesm", "status").splitlines() if x.startswith("extra ")][0]
        self.assertEqual(line.split()[2], "disabled")
        self.assertTrue(line.endswith(" %8s" % "N/A"), line)
        self.ok("pvesm", "remove", "extra")
        self.assertNotIn("extra", self.ok("pvesm", "status"))

    def test_pvesm_scan(self):
        """pvesm scan lvm|lvmthin|zfs print one name a line, as pvesm.pm; a
        host without volume groups or pools (or without lvm2 or zfsutils)
        answers nothing; the remote scans say ctvm has no such storage."""
        def host(argv):
            if not shutil.which(argv[0]):
                return []
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            return sorted(x.strip() for x in r.stdout.splitlines() if x.strip())
        vgs = host(["vgs", "--noheadings", "-o", "vg_name"])
        self.assertEqual(sorted(self.ok("pvesm", "scan", "lvm").splitlines()), vgs)
        self.assertEqual(sorted(self.ok("pvesm", "scan", "zfs").splitlines()),
                         host(["zpool", "list", "-H", "-o", "name"]))
        rows = json.loads(self.ok("pvesm", "scan", "lvm", "--output-format", "json"))
        self.assertEqual(sorted(x["vg"] for x in rows), vgs)
        if not shutil.which("lvs"):
            self.assertEqual(self.ok("pvesm", "scan", "lvmthin", "pve"), "")
        # a vg that could be an option of lvs never gets there
        r = self.run_as("pvesm", "scan", "lvmthin", "--vg=-a")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("vg: value does not match the regex pattern", r.stderr)
        for kind in ("nfs", "cifs", "iscsi", "glusterfs", "pbs"):
            r = self.run_as("pvesm", "scan", kind, "host.example")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("pvesm scan %s: not supported: ctvm has no %s storage type" % (
                kind, kind), r.stderr)

    def test_pveum_first_admin(self):
        """The documented first administrator: two commands, then a login."""
        self.ok("pveum", "user", "add", "admin@pve", "--password", "s3cret-Pw")
        self.ok("pveum", "acl", "modify", "/", "--roles", "Administrator", "--users",
                "admin@pve")
        try:
            api = self.daemon.proxmoxer("admin@pve", "s3cret-Pw")
            self.assertEqual(api.nodes.get()[0]["node"], self.node)
            acl = json.loads(self.ok("pveum", "acl", "list", "--output-format", "json"))
            self.assertIn({"path": "/", "roleid": "Administrator", "ugid": "admin@pve",
                           "type": "user", "propagate": 1}, acl)
            # --password without a value reads it from stdin
            self.ok("pveum", "passwd", "admin@pve", "--password", stdin="0ther-Pw\n")
            self.daemon.proxmoxer("admin@pve", "0ther-Pw")
        finally:
            self.ok("pveum", "acl", "delete", "/", "--roles", "Administrator", "--users",
                    "admin@pve")
            self.ok("pveum", "user", "delete", "admin@pve")

    def test_banner_names_the_first_admin_command(self):
        """ctvmd's start banner prints the command; run as printed (the
        password on stdin), it makes an administrator who can log in."""
        line = [x for x in self.daemon.stdout().splitlines()
                if x.startswith("ctvmd: first administrator")]
        self.assertEqual(len(line), 1, self.daemon.stdout())
        cmd = line[0].split(": ", 1)[1].split("): ", 1)[1]
        self.assertIn("export CTVM_ROOT=%s; pveum user add admin@pve --password && "
                      "pveum acl modify / --roles Administrator --users admin@pve" % self.root,
                      cmd)
        env = dict(os.environ, PATH=self.bindir + ":" + os.environ.get("PATH", ""))
        r = subprocess.run(["sh", "-c", cmd], input="F1rst-admin\n", capture_output=True,
                           text=True, timeout=60, env=env)
        try:
            self.assertEqual(r.returncode, 0, r.stderr)
            api = self.daemon.proxmoxer("admin@pve", "F1rst-admin")
            self.assertTrue(any(a["ugid"] == "admin@pve" and a["roleid"] == "Administrator"
                                for a in api.access.acl.get()))
        finally:
            self.run_as("pveum", "acl", "delete", "/", "--roles", "Administrator", "--users",
                        "admin@pve")
            self.run_as("pveum", "user", "delete", "admin@pve")

    def test_pveum_objects(self):
        self.ok("pveum", "group", "add", "ops", "--comment", "c")
        self.ok("pveum", "role", "add", "Peek", "--privs", "VM.Audit")
        self.ok("pveum", "pool", "add", "pp")
        self.ok("ctvm", "user", "add", "bob@pve", "--groups", "ops")
        try:
            users = json.loads(self.ok("pveum", "user", "list", "--output-format", "json"))
            self.assertIn("bob@pve", [u["userid"] for u in users])
            self.ok("pveum", "user", "modify", "bob@pve", "--comment", "hi")
            tok = json.loads(self.ok("pveum", "user", "token", "add", "bob@pve", "t1",
                                     "--privsep", "0", "--output-format", "json"))
            self.assertEqual(tok["full-tokenid"], "bob@pve!t1")
            self.assertIn("t1", self.ok("ctvm", "token", "list", "bob@pve"))
            self.ok("pveum", "user", "token", "remove", "bob@pve", "t1")
            self.ok("pveum", "acl", "modify", "/vms", "--roles", "Peek", "--groups", "ops")
            self.ok("pveum", "acl", "delete", "/vms", "--roles", "Peek", "--groups", "ops")
            self.assertIn("Peek", self.ok("pveum", "role", "list"))
            self.assertIn("ops", self.ok("pveum", "group", "list"))
            self.assertIn("pp", self.ok("pveum", "pool", "list"))
            self.assertIn("pve", self.ok("pveum", "realm", "list"))
        finally:
            self.run_as("pveum", "user", "delete", "bob@pve")
            self.run_as("pveum", "pool", "delete", "pp")
            self.run_as("pveum", "role", "delete", "Peek")
            self.run_as("pveum", "group", "delete", "ops")

    def test_qm_terminal(self):
        """`qm terminal` puts the caller's terminal on the VM's serial port
        (termproxy, then vncwebsocket on the local socket): the test guest's
        boot marker shows, the escape key (^O) ends it with exit 0 and the
        terminal is as it was (issue 15)."""
        import fcntl
        import struct
        import termios
        from test_vm_boot import MARKER, QEMU, build_iso
        r = self.run_as("qm", "terminal", "136", "--iface", "serial4")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("USAGE: qm terminal <vmid>", r.stderr)
        self.assertEqual(self.run_as("qm", "terminal", "136", "--escape", "^").returncode, 2)
        if not os.access(QEMU, os.X_OK):
            self.skipTest("no %s" % QEMU)
        iso = build_iso()
        if not iso:
            self.skipTest("the test guest ISO cannot be built here")
        isodir = os.path.join(self.root, "srv", "vms", "template", "iso")
        os.makedirs(isodir, exist_ok=True)
        shutil.copy(iso, isodir)
        self.ok("qm", "create", "136", "--memory", "256", "--kvm", "0", "--serial0", "socket",
                "--boot", "order=ide2",
                "--ide2", "vms:iso/%s,media=cdrom" % os.path.basename(iso))
        master, slave = pty.openpty()
        try:
            self.ok("qm", "start", "136")
            before = termios.tcgetattr(slave)
            argv = [os.path.join(self.bindir, "qm"), "terminal", "136", "--root", self.root]
            proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                    start_new_session=True)
            out, sent = b"", False
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and proc.poll() is None:
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    out += os.read(master, 65536)
                if MARKER in out and not sent:
                    during = termios.tcgetattr(slave)
                    os.write(master, b"\x0f")
                    sent = True
            if proc.poll() is None:
                proc.kill()
            self.assertEqual(proc.wait(timeout=30), 0, out)
            self.assertIn(MARKER, out)
            self.assertTrue(sent)
            self.assertFalse(during[3] & termios.ICANON, "terminal not raw")
            self.assertEqual(termios.tcgetattr(slave), before, "terminal not restored")
            # a resize is sent along (SIGWINCH); SIGTERM ends it, terminal restored
            proc = subprocess.Popen(argv + ["--escape", "0"], stdin=slave, stdout=slave,
                                    stderr=slave, start_new_session=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and \
                    termios.tcgetattr(slave)[3] & termios.ICANON:
                time.sleep(0.1)
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
            proc.send_signal(signal.SIGWINCH)
            time.sleep(0.5)
            proc.terminate()
            self.assertEqual(proc.wait(timeout=30), 1)
            self.assertEqual(termios.tcgetattr(slave), before, "terminal not restored")
        finally:
            os.close(master)
            os.close(slave)
            self.run_as("qm", "stop", "136")
            self.ok("qm", "destroy", "136")

    def test_pct_follows_the_table(self):
        """pct is a thin table over /nodes/{node}/lxc: it answers once the
        container API is in this build's table, and says so until then."""
        schema = json.dumps(self.daemon.root_call("GET", "/schema"))
        r = self.run_as("pct", "list")
        if '"/nodes/{node}/lxc"' in schema:
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assertEqual(r.returncode, 1)
            self.assertIn("pct list: not available: this ctvm's API has no GET "
                          "/nodes/{node}/lxc", r.stderr)

    def test_proxmox_script_runs_unchanged(self):
        """A shell script written for Proxmox (tests/data/cli/proxmox-script.sh)
        runs unchanged with the links on the PATH."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "cli",
                              "proxmox-script.sh")
        env = dict(os.environ, PATH=self.bindir + ":" + os.environ.get("PATH", ""),
                   CTVM_ROOT=self.root, LC_ALL="C")
        r = subprocess.run(["sh", "-e", script], capture_output=True, text=True, timeout=300,
                           env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("script done", r.stdout)

    # -- slice 4: remote, with a stored ticket or token ---------------------

    def test_remote_ticket_and_token(self):
        self.ok("pveum", "user", "add", "remote@pve", "--password", "R3mote-pw")
        self.ok("pveum", "acl", "modify", "/", "--roles", "Administrator", "--users",
                "remote@pve")
        home = tempfile.mkdtemp(prefix="ctvmt-home-")
        host = "%s:%d" % (self.daemon.host, self.daemon.port)
        env = dict(os.environ, HOME=home, LC_ALL="C")
        env.pop("XDG_CONFIG_HOME", None)

        def remote(*args, stdin=None, extra=None):
            return subprocess.run([os.path.join(self.bindir, args[0]), "--host", host]
                                  + list(args[1:]), capture_output=True, text=True,
                                  timeout=120, input=stdin, env=dict(env, **(extra or {})),
                                  stdin=None if stdin is not None else subprocess.DEVNULL)
        try:
            r = remote("qm", "list")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("not logged in", r.stderr)
            r = remote("ctvm", "login", "--user", "remote@pve", stdin="wrong-pw\n")
            self.assertEqual(r.returncode, 3, r.stderr)
            r = remote("ctvm", "login", "--user", "remote@pve", stdin="R3mote-pw\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("fingerprint", r.stderr)
            d = os.path.join(home, ".config", "ctvm", "remote")
            f = os.path.join(d, "%s_%d.json" % (self.daemon.host, self.daemon.port))
            self.assertEqual(os.stat(d).st_mode & 0o777, 0o700)
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600)
            with open(f) as fh:
                cred = json.load(fh)
            self.assertNotIn("R3mote-pw", json.dumps(cred))
            self.assertTrue(cred["ticket"].startswith("PVE:remote@pve:"))
            # calls with the ticket, reads and writes (CSRF)
            r = remote("pvesh", "get", "/version", "--output-format", "json")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = remote("pveum", "pool", "add", "rp")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = remote("pveum", "pool", "delete", "rp")
            self.assertEqual(r.returncode, 0, r.stderr)
            # renewed once due
            time.sleep(1.1)
            r = remote("qm", "list", extra={"CTVM_TICKET_RENEW_AFTER": "0"})
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(f) as fh:
                renewed = json.load(fh)
            self.assertNotEqual(renewed["ticket"], cred["ticket"])
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600)
            # a certificate that is not the pinned one is refused
            renewed["fingerprint"] = ":".join(["00"] * 32)
            with open(f, "w") as fh:
                json.dump(renewed, fh)
            r = remote("qm", "list")
            self.assertEqual(r.returncode, 1)
            self.assertIn("not the pinned", r.stderr)
            self.assertEqual(remote("ctvm", "logout").returncode, 0)
            self.assertFalse(os.path.exists(f))
            # an API token
            tok = json.loads(self.ok("pveum", "user", "token", "add", "remote@pve", "cli",
                                     "--privsep", "0", "--output-format", "json"))
            r = remote("ctvm", "login", "--token",
                       "remote@pve!cli=" + tok["value"])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(f) as fh:
                self.assertIn("token", json.load(fh))
            r = remote("qm", "list")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = remote("ctvm", "login", "--token", "remote@pve!cli=nope")
            self.assertEqual(r.returncode, 3, r.stderr)
        finally:
            shutil.rmtree(home, ignore_errors=True)
            self.run_as("pveum", "acl", "delete", "/", "--roles", "Administrator", "--users",
                        "remote@pve")
            self.run_as("pveum", "user", "delete", "remote@pve")


class PctTest(CtDaemonTest):
    """pct on real containers (the busybox ct-template fixture, dir storage
    "ct"): Proxmox's syntax for create .. destroy, `pct list` byte for byte
    in Proxmox's format (PVE/CLI/pct.pm: "%-10s %-10s %-12s %-20s\\n" of
    VMID, Status, Lock, Name, sorted by vmid, nothing without containers),
    and enter/exec through lxc-attach with the daemon's lxcpath."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bindir = tempfile.mkdtemp(prefix="ctvmt-bin-")
        cls.addClassCleanup(shutil.rmtree, cls.bindir, True)
        for n in NAMES + ("ctvm",):
            os.symlink(os.path.abspath(ctvmtest.ctvm_path()), os.path.join(cls.bindir, n))
        cls.root = cls.daemon.root
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir",
                             path=os.path.join(cls.root, "srv", "vms"), content="images,iso")

    run_as = CliTest.run_as
    ok = CliTest.ok

    def pct_list_text(self):
        cts = sorted(self.daemon.root_call("GET", "/nodes/%s/lxc" % self.node),
                     key=lambda d: int(d["vmid"]))
        if not cts:
            return ""
        fmt = "%-10s %-10s %-12s %-20s\n"
        return fmt % ("VMID", "Status", "Lock", "Name") + "".join(
            fmt % (d["vmid"], d.get("status", ""), d.get("lock", ""), d.get("name", ""))
            for d in cts)

    def console(self, pct, env, *args):
        """Runs `pct console ARGS` on a pseudo-terminal; answers lxc-console's
        banner with its escape key and q.  Returns (exit status, output)."""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(pct, [pct, "console"] + list(args), env)
            finally:
                os._exit(127)
        out, sent = b"", False
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:  # EIO: the terminal's other side closed
                        break
                    if not chunk:
                        break
                    out += chunk
                m = re.search(rb"Type <Ctrl\+([a-z]) q> to exit", out)
                if m and not sent:
                    os.write(fd, bytes([ord(m.group(1)) & 0x1f]) + b"q")
                    sent = True
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail("pct console did not end: %r" % out)
        finally:
            os.close(fd)

    def test_pct_on_a_container(self):
        self.assertEqual(self.ok("pct", "list"), "")
        self.addCleanup(self.destroy_quietly, 400)
        self.addCleanup(self.destroy_quietly, 401)
        out = self.ok("pct", "create", "400", self.ostemplate, "--hostname", "pct400",
                      "--rootfs", "ct:1", "--memory", "128", "--swap", "0",
                      "--net0", "name=eth0,bridge=%s,ip=10.0.3.4/24" % self.bridge,
                      "--unprivileged", "1")
        self.assertIn("CT 400 created", out)
        self.assertIn("hostname: pct400\n", self.ok("pct", "config", "400"))
        self.ok("pct", "set", "400", "--memory", "192", "-description", "from pct")
        conf = self.ok("pct", "config", "400")
        self.assertIn("memory: 192\n", conf)
        self.assertIn("description: from pct\n", conf)
        self.ok("pct", "resize", "400", "rootfs", "+1G")
        self.assertRegex(self.ok("pct", "config", "400"), r"rootfs: ct:400/vm-400-disk-0\.raw,.*size=2G")

        # enter/exec: only locally, only a running CT
        r = self.run_as("pct", "exec", "400", "true")
        self.assertEqual((r.returncode, r.stderr), (1, "CT 400 not running\n"))
        r = self.run_as("pct", "enter", "400", "--host", "127.0.0.1:1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("only for root on the container's host", r.stderr)
        self.ok("pct", "start", "400")
        self.wait_booted(self.running_pid(400))
        self.assertEqual(self.pct_list_text(), self.ok("pct", "list"))
        self.assertIn("400        running", self.ok("pct", "list"))
        env = dict(os.environ, CTVM_ROOT=self.root, LC_ALL="C")
        pct = os.path.join(self.bindir, "pct")
        r = subprocess.run([pct, "exec", "400", "--", "cat", "/etc/hostname"], env=env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual((r.returncode, r.stdout), (0, "pct400\n"), r.stderr)
        r = subprocess.run([pct, "exec", "400", "--", "sh", "-c", "exit 7"], env=env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 7, r.stderr)
        # push/pull: a file into the container and back out
        src = os.path.join(self.root, "push-src")
        with open(src, "wb") as f:
            f.write(b"pushed \x00 bytes\n" * 1000)
        for args in (["push", "400", src, "/tmp/pushed"],
                     ["pull", "400", "/tmp/pushed", src + ".back"]):
            r = subprocess.run([pct] + args, env=env, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        with open(src, "rb") as a, open(src + ".back", "rb") as b:
            self.assertEqual(a.read(), b.read())
        r = subprocess.run([pct, "pull", "400", "/nonexistent", src + ".no"], env=env,
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)
        # console: lxc-console on the container's console in a terminal,
        # left with the escape key given (Ctrl+b, then q)
        r = self.run_as("pct", "console", "400", "--escape", "^B")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("USAGE: pct console <vmid> [--escape <^letter>]", r.stderr)
        r = self.run_as("pct", "console", "400", "--host", "127.0.0.1:1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("lxc-console cannot reach a remote ctvm", r.stderr)
        rc, out = self.console(pct, env, "400", "--escape", "^b")
        self.assertEqual(rc, 0, out)
        self.assertIn("Type <Ctrl+b q> to exit the console", out)
        rc, out = self.console(pct, env, "499")
        self.assertNotEqual(rc, 0, out)
        # enter: a shell reading its commands from stdin
        r = subprocess.run([pct, "enter", "400"], env=env, input="hostname\nexit 0\n",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "pct400"), r.stderr)
        self.ok("pct", "shutdown", "400", "--timeout", "20", "--forceStop", "1")
        self.assertEqual(self.status(400)["status"], "stopped")
        self.ok("pct", "start", "400")
        self.ok("pct", "stop", "400")

        # a lock shows in pct list; pct unlock removes it
        with open(self.conf_path(400), "a") as f:
            f.write("lock: backup\n")
        listed = self.ok("pct", "list")
        self.assertEqual(self.pct_list_text(), listed)
        self.assertIn("400        stopped    backup       pct400", listed)
        self.ok("pct", "unlock", "400")
        self.assertNotIn("lock:", self.ok("pct", "config", "400"))

        # a raw image on dir storage has no snapshots: refused, as in Proxmox
        r = self.run_as("pct", "snapshot", "400", "s1")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("format raw has no snapshots", r.stdout + r.stderr)
        self.ok("pct", "clone", "400", "401", "--hostname", "pct401", "--full", "1")
        self.ok("pct", "template", "401")
        self.assertIn("template: 1\n", self.ok("pct", "config", "401"))
        self.assertEqual(self.pct_list_text(), self.ok("pct", "list"))
        self.ok("pct", "destroy", "401")
        self.ok("pct", "destroy", "400", "--purge", "1")
        self.assertEqual(self.ok("pct", "list"), "")

    def test_proxmox_script_with_containers(self):
        """The Proxmox script again, with its container part (pct)."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "cli",
                              "proxmox-script.sh")
        env = dict(os.environ, PATH=self.bindir + ":" + os.environ.get("PATH", ""),
                   CTVM_ROOT=self.root, LC_ALL="C", OSTEMPLATE=self.ostemplate,
                   CTSTORAGE="ct", BRIDGE=self.bridge)
        self.addCleanup(self.destroy_quietly, 170)
        self.addCleanup(self.destroy_quietly, 171)
        r = subprocess.run(["sh", "-e", script], capture_output=True, text=True, timeout=300,
                           env=env, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("CT 170 created", r.stdout)
        self.assertIn("script done", r.stdout)

    def test_pct_snapshot_rollback_btrfs(self):
        mnt = mount_btrfs(self.daemon.root)
        if not mnt:
            self.skipTest("no btrfs loop mount here")
        self.addCleanup(subprocess.run, ["umount", mnt])
        bpath = os.path.join(mnt, "store")
        self.daemon.root_call("POST", "/storage", storage="bt", type="btrfs", path=bpath,
                              content="rootdir,images")
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/bt")
        self.addCleanup(self.destroy_quietly, 405)
        self.ok("pct", "create", "405", self.ostemplate, "--rootfs", "bt:0", "--hostname", "b")
        d = os.path.join(bpath, "images", "405")
        sub = [os.path.join(d, n) for n in os.listdir(d) if n.startswith("subvol-405-disk-0")][0]
        self.ok("pct", "snapshot", "405", "s1", "--description", "first")
        self.assertIn("s1", self.ok("pct", "listsnapshot", "405"))
        marker = os.path.join(sub, "etc", "after-s1")
        with open(marker, "w") as f:
            f.write("x")
        self.ok("pct", "rollback", "405", "s1")
        self.assertFalse(os.path.exists(marker))
        self.ok("pct", "delsnapshot", "405", "s1")
        self.ok("pct", "destroy", "405")


if __name__ == "__main__":
    ctvmtest.main()
