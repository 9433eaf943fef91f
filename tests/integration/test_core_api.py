#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Foundation acceptance: a real ctvmd driven by proxmoxer, raw HTTPS and the CLI.

One daemon in a temporary root serves every test; a throwaway host account
logs in through the pam realm and holds Administrator on /.
"""

import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount, user_cfg  # noqa: E402

# pve-api.md 5.1
UPID_RE = re.compile(r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):"
                     r"([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$")


class CoreApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.acct = HostAccount()
        cls.acct.__enter__()
        cls.addClassCleanup(cls.acct.remove)
        cls.daemon = Daemon(files={"etc/user.cfg": user_cfg(admins=[cls.acct.userid])})
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls._api = None
        cls._auth = None
        cls._node = None

    # Logged-in clients are made once, on first use, so one failing login
    # shows as failing tests instead of a failed setUpClass.
    def api(self):
        if CoreApi._api is None:
            CoreApi._api = self.daemon.proxmoxer(self.acct.userid, self.acct.password)
        return CoreApi._api

    def auth(self):
        if CoreApi._auth is None:
            CoreApi._auth = self.daemon.login(self.acct.userid, self.acct.password)
        return CoreApi._auth

    def node(self):
        if CoreApi._node is None:
            nodes = self.api().nodes.get()
            self.assertEqual(len(nodes), 1, nodes)
            CoreApi._node = nodes[0]["node"]
        return CoreApi._node

    def assert_error_envelope(self, r):
        if r.body:
            self.assertIsNone(r.json().get("data", "missing"), r.body)

    # -- startup ----------------------------------------------------------

    def test_startup_banner(self):
        out = self.daemon.stdout()
        self.assertIn("ctvmd: listening on https://127.0.0.1:%d/" % self.daemon.port, out)

    # -- proxmoxer --------------------------------------------------------

    def test_version(self):
        v = self.api().version.get()
        self.assertIsInstance(v, dict)
        self.assertIsInstance(v.get("version"), str, v)
        m = re.match(r"^(\d+)\.(\d+)", v["version"])
        self.assertTrue(m, v)
        self.assertGreaterEqual((int(m.group(1)), int(m.group(2))), (8, 4), v)
        self.assertIsInstance(v.get("release"), str, v)
        self.assertIsInstance(v.get("repoid"), str, v)

    def test_nodes(self):
        nodes = self.api().nodes.get()
        self.assertIsInstance(nodes, list)
        self.assertEqual(len(nodes), 1, nodes)
        n = nodes[0]
        self.assertRegex(n["node"], r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
        self.assertEqual(n.get("status"), "online", n)
        self.assertEqual(n.get("type"), "node", n)
        self.assertEqual(n.get("id"), "node/" + n["node"], n)

    def test_nextid(self):
        nextid = self.api().cluster.nextid.get()
        self.assertIsInstance(nextid, str, "nextid must be a JSON string")
        self.assertRegex(nextid, r"^[1-9][0-9]{2,8}$")
        self.assertGreaterEqual(int(nextid), 100)

    def test_cluster_resources(self):
        res = self.api().cluster.resources.get()
        self.assertIsInstance(res, list)
        ids = [r.get("id") for r in res]
        self.assertIn("node/" + self.node(), ids, res)
        for r in res:
            self.assertIn("type", r, r)

    def test_node_tasks(self):
        tasks = self.api().nodes(self.node()).tasks.get()
        self.assertIsInstance(tasks, list)

    def test_wrong_password(self):
        from proxmoxer.backends.https import AuthenticationError
        with self.assertRaises(AuthenticationError):
            self.daemon.proxmoxer(self.acct.userid, self.acct.password + "x")

    # -- raw HTTP ---------------------------------------------------------

    def test_login_failure_body(self):
        r = self.daemon.http("POST", "/access/ticket",
                             data={"username": self.acct.userid, "password": "wrong"})
        self.assertEqual(r.status, 401, r)
        self.assertIn("application/json", r.headers.get("Content-Type", ""))
        body = r.json()
        self.assertIn("data", body)
        self.assertIsNone(body["data"])

    def test_login_answer(self):
        r = self.daemon.http("POST", "/access/ticket",
                             data={"username": self.acct.userid, "password": self.acct.password})
        self.assertEqual(r.status, 200, r)
        d = r.json()["data"]
        self.assertEqual(d["username"], self.acct.userid)
        self.assertRegex(d["ticket"], r"^PVE:%s:[0-9A-F]{8}::[^:\s]+$" % re.escape(self.acct.userid))
        self.assertRegex(d["CSRFPreventionToken"], r"^[0-9A-F]{8}:\S+$")

    def test_ticket_renewal(self):
        # proxmoxer renews by sending the current ticket as the password.
        ticket, _ = self.auth()
        r = self.daemon.http("POST", "/access/ticket",
                             data={"username": self.acct.userid, "password": ticket})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["data"]["ticket"].startswith("PVE:" + self.acct.userid + ":"))

    def test_no_ticket(self):
        r = self.daemon.http("GET", "/version")
        self.assertEqual(r.status, 401, r)

    def test_unknown_route(self):
        ticket, _ = self.auth()
        r = self.daemon.http("GET", "/no/such/route", ticket=ticket)
        self.assertEqual(r.status, 501, r)
        self.assert_error_envelope(r)

    def test_bad_parameter(self):
        ticket, _ = self.auth()
        r = self.daemon.http("GET", "/cluster/nextid", ticket=ticket, params={"vmid": "abc"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.reason, "Parameter verification failed.")
        body = r.json()
        self.assertIsNone(body["data"])
        self.assertIsInstance(body.get("errors"), dict, body)
        self.assertIn("vmid", body["errors"])

    def test_post_without_csrf(self):
        ticket, _ = self.auth()
        r = self.daemon.http("POST", "/nodes/%s/startall" % self.node(), ticket=ticket)
        self.assertEqual(r.status, 401, r)

    def test_post_with_wrong_csrf(self):
        ticket, csrf = self.auth()
        bad = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
        r = self.daemon.http("POST", "/nodes/%s/startall" % self.node(), ticket=ticket, csrf=bad)
        self.assertEqual(r.status, 401, r)

    def test_tampered_ticket(self):
        ticket, _ = self.auth()
        self.assertEqual(self.daemon.http("GET", "/version", ticket=ticket).status, 200)
        plain, sig = ticket.split("::", 1)
        i = len(sig) // 2
        forged = plain + "::" + sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
        r = self.daemon.http("GET", "/version", ticket=forged)
        self.assertEqual(r.status, 401, r)
        # The signed part names the user: changing it must fail as well.
        other = ticket.replace(self.acct.userid, "root@pam", 1)
        r = self.daemon.http("GET", "/version", ticket=other)
        self.assertEqual(r.status, 401, r)

    def test_startall_task(self):
        ticket, csrf = self.auth()
        node = self.node()
        r = self.daemon.http("POST", "/nodes/%s/startall" % node, ticket=ticket, csrf=csrf)
        self.assertEqual(r.status, 200, r)
        upid = r.json()["data"]
        self.assertIsInstance(upid, str)
        m = UPID_RE.match(upid)
        self.assertTrue(m, upid)
        self.assertEqual(m.group(1), node)
        self.assertEqual(m.group(8), self.acct.userid)

        deadline = time.monotonic() + 60
        st = None
        while time.monotonic() < deadline:
            st = self.api().nodes(node).tasks(upid).status.get()
            if st.get("status") == "stopped":
                break
            self.assertEqual(st.get("status"), "running", st)
            time.sleep(0.2)
        self.assertEqual(st.get("status"), "stopped", st)
        self.assertEqual(st.get("exitstatus"), "OK", st)
        self.assertEqual(st.get("upid"), upid, st)
        self.assertIsInstance(st.get("pid"), int, st)
        self.assertIsInstance(st.get("starttime"), int, st)

        tasks = self.api().nodes(node).tasks.get()
        self.assertIn(upid, [t.get("upid") for t in tasks], tasks)

    # -- CLI over the unix socket ------------------------------------------

    def test_cli_version(self):
        import json
        p = self.daemon.cli("api", "get", "/version", "--output-format", "json")
        self.assertEqual(p.returncode, 0, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr))
        v = json.loads(p.stdout)
        self.assertIsInstance(v, dict, p.stdout)
        self.assertIn("version", v, p.stdout)

    # -- signals (named to run last) ------------------------------------------

    def test_zz_sighup_reload(self):
        ticket, _ = self.auth()
        self.daemon.signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertTrue(self.daemon.alive(), "ctvmd died on SIGHUP")
        r = self.daemon.http("GET", "/version", ticket=ticket)
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    ctvmtest.main()
