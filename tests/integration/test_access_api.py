#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Users, tokens, groups, roles, ACLs, realms and pools through real clients.

One daemon in a temporary root; a throwaway host account logs in through the
pam realm and holds Administrator on / (seeded user.cfg).  Through the API it
creates pve-realm users and tokens, then checks what those may and may not
do, with proxmoxer, raw HTTPS, the ctvm CLI (root@pam over the socket) and
Ansible's community.general info modules.  The last test checks that no
password, ticket or token secret used on the way reached a log file or an
API answer.
"""

import json
import os
import secrets
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount, user_cfg  # noqa: E402

from proxmoxer import ProxmoxAPI  # noqa: E402
from proxmoxer.core import ResourceException  # noqa: E402


def password():
    return "pw-" + secrets.token_urlsafe(12)


class AccessApi(unittest.TestCase):
    # every secret a test handles, checked against logs and answers at the end
    secrets = []

    @classmethod
    def setUpClass(cls):
        cls.acct = HostAccount()
        cls.acct.__enter__()
        cls.addClassCleanup(cls.acct.remove)
        cls.secrets.append(cls.acct.password)
        # failed logins and token guesses are part of the test: keep their
        # (growing) delay short
        cls.daemon = Daemon(files={"etc/user.cfg": user_cfg(admins=[cls.acct.userid])},
                            args=["--login-delay-ms", "100"])
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls.admin = cls.daemon.proxmoxer(cls.acct.userid, cls.acct.password)
        cls.secrets.extend(cls.admin.get_tokens())
        cls.node = cls.admin.nodes.get()[0]["node"]

    # -- helpers ------------------------------------------------------------

    @classmethod
    def make_user(cls, userid, acl_path=None, role=None, **extra):
        """Creates a pve user with a random password (and one ACL entry)."""
        pw = password()
        cls.secrets.append(pw)
        cls.admin.access.users.post(userid=userid, password=pw, **extra)
        if acl_path:
            cls.admin.access.acl.put(path=acl_path, roles=role, users=userid)
        return pw

    @classmethod
    def make_token(cls, userid, name, privsep):
        d = cls.admin.access.users(userid).token(name).post(privsep=privsep)
        cls.secrets.append(d["value"])
        return d

    def client(self, user, pw):
        api = self.daemon.proxmoxer(user, pw)
        self.secrets.extend(api.get_tokens())
        return api

    def token_client(self, userid, name, value):
        return ProxmoxAPI(self.daemon.host, port=self.daemon.port, user=userid, token_name=name,
                          token_value=value, verify_ssl=False, timeout=ctvmtest.TIMEOUT)

    def token_headers(self, tokenid, value):
        return {"Authorization": "PVEAPIToken=%s=%s" % (tokenid, value)}

    def login(self, user, pw):
        ticket, csrf = self.daemon.login(user, pw)
        self.secrets.extend([ticket, csrf])
        return ticket, csrf

    def assert_status(self, status, fn, *args, **kw):
        with self.assertRaises(ResourceException) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.status_code, status, str(cm.exception))
        return cm.exception

    def cli(self, *args):
        p = self.daemon.cli("api", *args, "--output-format", "json")
        return p

    # -- pve users, proxmoxer, ACLs ------------------------------------------

    def test_pve_user_limited_to_its_vm(self):
        pw = self.make_user("vmuser@pve", "/vms/100", "PVEVMUser", comment="VM operator")
        api = self.client("vmuser@pve", pw)
        perms = api.access.permissions.get()
        self.assertEqual(sorted(perms), ["/vms/100"], perms)
        self.assertEqual(perms["/vms/100"].get("VM.PowerMgmt"), 1, perms)
        self.assertNotIn("VM.Allocate", perms["/vms/100"])
        # no user administration
        self.assert_status(403, api.access.users.post, userid="other@pve")
        self.assert_status(403, api.access.users("vmuser@pve").put, comment="x")
        self.assert_status(403, api.access.users("root@pam").delete)
        self.assert_status(403, api.access.acl.put, path="/vms/100", roles="PVEVMAdmin",
                           users="vmuser@pve")
        self.assert_status(403, api.access.groups.post, groupid="mine")
        self.assert_status(403, api.access.roles.post, roleid="Mine", privs="VM.Audit")
        self.assert_status(403, api.pools.post, poolid="mine")
        # lists show only what it may see: itself, no ACLs
        users = api.access.users.get()
        self.assertEqual([u["userid"] for u in users], ["vmuser@pve"], users)
        self.assertEqual(api.access.acl.get(), [])

    def test_pve_user_storage_change_refused(self):
        pw = self.make_user("nostore@pve", "/vms/100", "PVEVMUser")
        ticket, csrf = self.login("nostore@pve", pw)
        r = self.daemon.http("POST", "/storage", ticket=ticket, csrf=csrf,
                             data={"storage": "mine", "type": "dir", "path": "/tmp/mine"})
        self.assertEqual(r.status, 403, r.reason)
        r = self.daemon.http("PUT", "/storage/local", ticket=ticket, csrf=csrf,
                             data={"comment": "mine"})
        self.assertEqual(r.status, 403, r.reason)
        r = self.daemon.http("DELETE", "/storage/local", ticket=ticket, csrf=csrf)
        self.assertEqual(r.status, 403, r.reason)
        # and it sees no storage at all
        r = self.daemon.http("GET", "/storage", ticket=ticket)
        self.assertEqual(r.status, 200, r.reason)
        self.assertEqual(r.json()["data"], [])

    def test_user_shapes(self):
        self.make_user("shape@pve", comment="Shape test", firstname="Sha")
        self.admin.access.groups.post(groupid="shapers", comment="Shapers")
        self.admin.access.users("shape@pve").put(groups="shapers")
        self.make_token("shape@pve", "t1", 1)
        full = {u["userid"]: u for u in self.admin.access.users.get(full=1)}
        u = full["shape@pve"]
        self.assertEqual(u["groups"], "shapers")
        self.assertEqual(u["tokens"], [{"tokenid": "t1", "privsep": 1, "expire": 0}])
        self.assertEqual(u["realm-type"], "pve")
        self.assertEqual(u["enable"], 1)
        self.assertEqual(full[self.acct.userid]["realm-type"], "pam")
        one = self.admin.access.users("shape@pve").get()
        self.assertNotIn("userid", one)
        self.assertEqual(one["groups"], ["shapers"])
        self.assertEqual(one["tokens"], {"t1": {"privsep": 1, "expire": 0}})
        self.assertEqual(one["comment"], "Shape test")
        # errors clients match on
        e = self.assert_status(500, self.admin.access.users.post, userid="shape@pve")
        self.assertIn("user 'shape@pve' already exists", str(e))
        e = self.assert_status(500, self.admin.access.users.post, userid="g@pve",
                               groups="nosuch")
        self.assertIn("no such group 'nosuch'", str(e))
        # root learns that a user does not exist; others only that they may not look
        p = self.cli("get", "/access/users/nobody@pve")
        self.assertIn("no such user ('nobody@pve')", p.stdout + p.stderr)
        self.assert_status(403, self.admin.access.users("nobody@pve").get)

    def test_pam_user_password_refused(self):
        # a pam user gets no host account, and ctvm never sets host passwords
        self.admin.access.users.post(userid="hostonly@pam")
        r = self.cli("set", "/access/password", "--userid", "hostonly@pam", "--password",
                     "whatever-123")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not supported", r.stdout + r.stderr)
        e = self.assert_status(403, self.admin.access.users.post, userid="hostonly2@pam",
                               password="whatever-123")
        self.assertIn("root@pam", str(e))

    def test_password_change(self):
        old = self.make_user("pwchange@pve")
        ticket, csrf = self.login("pwchange@pve", old)
        new = password()
        self.secrets.append(new)
        data = {"userid": "pwchange@pve", "password": new}
        r = self.daemon.http("PUT", "/access/password", ticket=ticket, csrf=csrf, data=data)
        self.assertEqual(r.status, 400, r.reason)  # confirmation-password missing
        data["confirmation-password"] = "wrong-password"
        r = self.daemon.http("PUT", "/access/password", ticket=ticket, csrf=csrf, data=data)
        self.assertEqual(r.status, 403, r.reason)
        data["confirmation-password"] = old
        r = self.daemon.http("PUT", "/access/password", ticket=ticket, csrf=csrf, data=data)
        self.assertEqual(r.status, 200, r.reason)
        self.login("pwchange@pve", new)
        r = self.daemon.http("POST", "/access/ticket",
                             data={"username": "pwchange@pve", "password": old})
        self.assertEqual(r.status, 401)
        # tokens may not change passwords
        d = self.make_token("pwchange@pve", "pw", 0)
        r = self.daemon.http("PUT", "/access/password", data=data,
                             headers=self.token_headers(d["full-tokenid"], d["value"]))
        self.assertEqual(r.status, 403, r.reason)

    # -- tokens -------------------------------------------------------------

    def test_token_login_and_privsep(self):
        self.make_user("tok@pve", "/vms/100", "PVEVMUser")
        full = self.make_token("tok@pve", "full", 0)
        self.assertEqual(full["full-tokenid"], "tok@pve!full")
        self.assertEqual(full["info"]["privsep"], 0)
        sep = self.make_token("tok@pve", "sep", 1)
        api = self.token_client("tok@pve", "full", full["value"])
        self.assertIn("version", api.version.get())
        self.assertEqual(sorted(api.access.permissions.get()), ["/vms/100"])
        # a privsep token without its own ACL has nothing
        api = self.token_client("tok@pve", "sep", sep["value"])
        self.assertEqual(api.access.permissions.get(), {})
        self.assertEqual(api.access.acl.get(), [])
        self.assertEqual(api.access.users.get(), [])
        self.assertEqual(api.pools.get(), [])
        # ... until it gets one (and then only what its user has)
        self.admin.access.acl.put(path="/vms/100", roles="PVEVMAdmin", tokens="tok@pve!sep")
        perms = api.access.permissions.get()
        self.assertIn("VM.Audit", perms["/vms/100"])
        self.assertNotIn("VM.Allocate", perms["/vms/100"])
        # the secret is never shown again, and a wrong one fails
        info = self.admin.access.users("tok@pve").token("sep").get()
        self.assertNotIn("value", info)
        r = self.daemon.http("GET", "/version",
                             headers=self.token_headers("tok@pve!sep", "0" * 36))
        self.assertEqual(r.status, 401)
        # regenerate: the old secret stops working, the new one works
        d = self.admin.access.users("tok@pve").token("sep").put(regenerate=1)
        self.secrets.append(d["value"])
        r = self.daemon.http("GET", "/version",
                             headers=self.token_headers("tok@pve!sep", sep["value"]))
        self.assertEqual(r.status, 401)
        r = self.daemon.http("GET", "/version",
                             headers=self.token_headers("tok@pve!sep", d["value"]))
        self.assertEqual(r.status, 200)
        self.admin.access.users("tok@pve").token("sep").delete()
        r = self.daemon.http("GET", "/version",
                             headers=self.token_headers("tok@pve!sep", d["value"]))
        self.assertEqual(r.status, 401)

    def test_disabled_user_stops_at_once(self):
        pw = self.make_user("dis@pve", "/vms/100", "PVEVMUser")
        ticket, csrf = self.login("dis@pve", pw)
        d = self.make_token("dis@pve", "tk", 0)
        h = self.token_headers(d["full-tokenid"], d["value"])
        self.assertEqual(self.daemon.http("GET", "/version", ticket=ticket).status, 200)
        self.assertEqual(self.daemon.http("GET", "/version", headers=h).status, 200)
        self.admin.access.users("dis@pve").put(enable=0)
        self.assertEqual(self.daemon.http("GET", "/version", ticket=ticket).status, 401)
        self.assertEqual(self.daemon.http("GET", "/version", headers=h).status, 401)
        self.admin.access.users("dis@pve").put(enable=1)
        self.assertEqual(self.daemon.http("GET", "/version", ticket=ticket).status, 200)
        self.admin.access.users("dis@pve").delete()
        self.assertEqual(self.daemon.http("GET", "/version", headers=h).status, 401)

    # -- node shell -----------------------------------------------------------

    def test_node_shell_only_for_pam_users(self):
        pw = self.make_user("padmin@pve", "/", "Administrator")
        ticket, csrf = self.login("padmin@pve", pw)
        path = "/nodes/%s/termproxy" % self.node
        r = self.daemon.http("POST", path, ticket=ticket, csrf=csrf)
        self.assertEqual(r.status, 403, r.reason)
        d = self.make_token(self.acct.userid, "shell", 0)
        r = self.daemon.http("POST", path,
                             headers=self.token_headers(d["full-tokenid"], d["value"]))
        self.assertEqual(r.status, 403, r.reason)
        # root@pam and the pam administrator get a ticket (test_node_shell.py)
        p = self.cli("create", path)
        self.assertIn("root@pam", p.stdout + p.stderr)
        d = self.admin.nodes(self.node).termproxy.post()
        self.assertEqual(d["user"], self.acct.userid)

    # -- groups, roles, realms, pools ---------------------------------------------

    def test_groups(self):
        self.admin.access.groups.post(groupid="g1", comment="One")
        self.make_user("member@pve", groups="g1")
        lst = {g["groupid"]: g for g in self.admin.access.groups.get()}
        self.assertEqual(lst["g1"]["users"], "member@pve")
        self.assertEqual(self.admin.access.groups("g1").get(),
                         {"members": ["member@pve"], "comment": "One"})
        self.admin.access.groups("g1").put(comment="Uno")
        self.assertEqual(self.admin.access.groups("g1").get()["comment"], "Uno")
        self.admin.access.acl.put(path="/vms", roles="PVEAuditor", groups="g1")
        self.admin.access.groups("g1").delete()
        acl = [a for a in self.admin.access.acl.get() if a["ugid"] == "g1"]
        self.assertEqual(acl, [])
        e = self.assert_status(500, self.admin.access.groups("g1").get)
        self.assertIn("does not exist", str(e))

    def test_roles(self):
        roles = {r["roleid"]: r for r in self.admin.access.roles.get()}
        self.assertEqual(roles["PVEVMUser"]["special"], 1)
        self.admin.access.roles.post(roleid="Starter", privs="VM.Audit,VM.PowerMgmt")
        self.assertEqual(self.admin.access.roles("Starter").get(),
                         {"VM.Audit": 1, "VM.PowerMgmt": 1})
        self.admin.access.roles("Starter").put(privs="VM.Console", append=1)
        self.assertIn("VM.Console", self.admin.access.roles("Starter").get())
        e = self.assert_status(400, self.admin.access.roles("Starter").put, privs="VM.Bogus")
        self.assertIn("invalid privilege 'VM.Bogus'", str(e))
        self.assert_status(400, self.admin.access.roles("PVEVMUser").put, privs="VM.Audit")
        self.assert_status(400, self.admin.access.roles("Administrator").delete)
        self.admin.access.roles("Starter").delete()

    def test_acl_rules(self):
        self.make_user("acl@pve")
        self.assert_status(400, self.admin.access.acl.put, path="/nonsense", roles="NoAccess",
                           users="acl@pve")
        self.assert_status(400, self.admin.access.acl.put, path="/vms/100", roles="NoAccess")
        e = self.assert_status(500, self.admin.access.acl.put, path="/vms/100",
                               roles="NoAccess", users="ghost@pve")
        self.assertIn("user 'ghost@pve' does not exist", str(e))
        self.admin.access.acl.put(path="/vms/101", roles="PVEVMUser", users="acl@pve",
                                  propagate=0)
        entry = [a for a in self.admin.access.acl.get() if a["ugid"] == "acl@pve"]
        self.assertEqual(entry, [{"path": "/vms/101", "type": "user", "ugid": "acl@pve",
                                  "roleid": "PVEVMUser", "propagate": 0}])
        # VM.Allocate on a VM lets one hand out only what one has there
        pw = self.make_user("vmadm@pve", "/vms/102", "PVEVMAdmin")
        api = self.client("vmadm@pve", pw)
        api.access.acl.put(path="/vms/102", roles="PVEVMUser", users="acl@pve")
        ticket, csrf = api.get_tokens()
        r = self.daemon.http("PUT", "/access/acl", ticket=ticket, csrf=csrf,
                             data={"path": "/vms/102", "roles": "Administrator",
                                   "users": "acl@pve"})
        self.assertEqual(r.status, 400, r.reason)
        self.assertIn("superset of privileges", r.json()["errors"]["role"])
        r = self.daemon.http("PUT", "/access/acl", ticket=ticket, csrf=csrf,
                             data={"path": "/vms/102", "roles": "NoAccess", "users": "acl@pve"})
        self.assertEqual(r.status, 400, r.reason)
        self.assert_status(403, api.access.acl.put, path="/vms/103", roles="PVEVMUser",
                           users="acl@pve")
        self.admin.access.acl.put(path="/vms/101", roles="PVEVMUser", users="acl@pve",
                                  delete=1)

    def test_domains(self):
        realms = {d["realm"]: d for d in self.admin.access.domains.get()}
        self.assertEqual(realms["pam"]["type"], "pam")
        self.assertEqual(realms["pve"]["type"], "pve")
        r = self.daemon.http("GET", "/access/domains")  # no login needed
        self.assertEqual(r.status, 200)
        e = self.assert_status(400, self.admin.access.domains.post, realm="corp", type="ldap")
        self.assertIn("not supported", str(e))
        self.admin.access.domains.post(realm="hosts", type="pam", comment="Host accounts")
        d = self.admin.access.domains("hosts").get()
        self.assertEqual(d["type"], "pam")
        self.assertEqual(d["comment"], "Host accounts")
        self.admin.access.domains("hosts").put(comment="Hosts", digest=d["digest"])
        e = self.assert_status(400, self.admin.access.domains("hosts").put, comment="x",
                               digest=d["digest"])
        self.assertIn("detected modified configuration", str(e))
        self.assert_status(400, self.admin.access.domains("pve").delete)
        self.assert_status(400, self.admin.access.domains("pam").delete)
        self.admin.access.domains("hosts").delete()

    def test_pools(self):
        self.admin.pools.post(poolid="web", comment="Web")
        self.admin.pools("web").put(vms="200,201", storage="local")
        got = self.admin.pools("web").get()
        self.assertEqual(got["comment"], "Web")
        ids = sorted(m["id"] for m in got["members"])
        self.assertEqual(ids, ["qemu/200", "qemu/201", "storage/%s/local" % self.node])
        # a pool role reaches its members
        pw = self.make_user("pooler@pve", "/pool/web", "PVEVMUser")
        api = self.client("pooler@pve", pw)
        self.assertIn("VM.PowerMgmt", api.access.permissions.get(path="/vms/200")["/vms/200"])
        self.assertEqual([p["poolid"] for p in api.pools.get()], [])
        e = self.assert_status(500, self.admin.pools("web").delete)
        self.assertIn("not empty", str(e))
        self.admin.pools("web").put(vms="200,201", storage="local", delete=1)
        self.admin.pools("web").delete()
        self.assertEqual(self.admin.pools.get(), [])

    # -- Ansible ------------------------------------------------------------

    def ansible(self, module, **args):
        res, p = ctvmtest.run_ansible(self.daemon, self.acct.userid, self.acct.password,
                                      module, **args)
        if res is None:
            self.fail("ansible %s: rc %d\n%s\n%s" % (module, p.returncode, p.stdout, p.stderr))
        self.assertFalse(res.get("failed"), res.get("msg"))
        return res

    def test_ansible_info_modules(self):
        self.admin.access.groups.post(groupid="ansible", comment="For Ansible")
        self.make_user("ans@pve", groups="ansible", firstname="Ann")
        self.make_token("ans@pve", "ci", 1)
        users = {u["userid"]: u for u in self.ansible("proxmox_user_info")["proxmox_users"]}
        self.assertEqual(users["ans@pve"]["groups"], ["ansible"])
        self.assertEqual(users["ans@pve"]["domain"], "pve")
        self.assertIs(users["ans@pve"]["enabled"], True)
        self.assertEqual(users["ans@pve"]["tokens"][0]["tokenid"], "ci")
        self.assertIs(users["ans@pve"]["tokens"][0]["privsep"], True)
        one = self.ansible("proxmox_user_info", userid="ans@pve")["proxmox_users"]
        self.assertEqual(len(one), 1)
        self.assertEqual(one[0]["groups"], ["ansible"])
        self.assertEqual(one[0]["tokens"][0]["tokenid"], "ci")
        pve = self.ansible("proxmox_user_info", domain="pve")["proxmox_users"]
        self.assertTrue(all(u["domain"] == "pve" for u in pve), pve)
        groups = self.ansible("proxmox_group_info")["proxmox_groups"]
        g = [x for x in groups if x["groupid"] == "ansible"][0]
        self.assertEqual(g["users"], ["ans@pve"])
        g = self.ansible("proxmox_group_info", group="ansible")["proxmox_groups"][0]
        self.assertEqual(g["users"], ["ans@pve"])
        domains = self.ansible("proxmox_domain_info")["proxmox_domains"]
        self.assertEqual(sorted(d["realm"] for d in domains)[:2], ["pam", "pve"])
        d = self.ansible("proxmox_domain_info", domain="pve")["proxmox_domains"][0]
        self.assertEqual(d["type"], "pve")

    # -- last: nothing secret leaked ---------------------------------------------

    def test_zz_no_secret_leaked(self):
        # files
        priv = os.path.join(self.daemon.root, "etc", "priv")
        for name in os.listdir(priv):
            if name.endswith(".lock"):
                continue
            mode = stat.S_IMODE(os.stat(os.path.join(priv, name)).st_mode)
            self.assertEqual(mode, 0o600, "%s is %o" % (name, mode))
        # answers (token secrets appear only in the creation answer)
        answers = [self.admin.access.users.get(full=1), self.admin.access.acl.get(),
                   self.admin.access.groups.get(), self.admin.access.domains.get()]
        for u in self.admin.access.users.get():
            answers.append(self.admin.access.users(u["userid"]).get())
            answers.append(self.admin.access.users(u["userid"]).token.get())
        blob = json.dumps(answers)
        # logs
        texts = {"answers": blob}
        for rel in ("log/ctvmd.log", "log/access.log", "log/audit.log", "ctvmd.stdout",
                    "ctvmd.stderr"):
            p = os.path.join(self.daemon.root, rel)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    texts[rel] = f.read()
        self.assertIn("log/audit.log", texts)
        self.assertIn("/access/users", texts["log/audit.log"])
        self.assertGreater(len(self.secrets), 10)
        for s in self.secrets:
            for where, text in texts.items():
                self.assertNotIn(s, text, "a secret appears in %s" % where)
            # the ticket's signature alone must not leak either
            if s.startswith("PVE:"):
                sig = s.rsplit("::", 1)[-1]
                for where, text in texts.items():
                    self.assertNotIn(sig, text, "a ticket signature appears in %s" % where)


if __name__ == "__main__":
    ctvmtest.main()
