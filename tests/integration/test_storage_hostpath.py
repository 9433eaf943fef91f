#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Where a storage lives on the host is root@pam's to say (docs/storage.md).

One daemon in a temporary root.  A pve user for every built-in role the
daemon lists (GET /access/roles), granted on /, and API tokens (root@pam's own
with and without privilege separation, an Administrator's) are refused every
key that places a storage on the host, on create, on update and in delete=;
root@pam (the unix socket) sets them.  System directories are refused to
root@pam too, written any way (.., //, a symbolic link), and so are content
directories inside each other.  The replay of the report: a pve Administrator
cannot put a storage on /etc with iso=logrotate.d.

Requests that would have created a storage in a system directory carry
disable=1, so that even without the rule nothing is made on the host (only the
temporary storage.cfg would change).
"""

import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

# the host keys, per type, with a value root@pam may set (storage-config.c
# flags them root_only; the unit test test-api-storage-hostpath walks that
# flag itself)
DIR_KEYS = {"content-dirs": "iso=isos", "is_mountpoint": "no", "mkdir": "1",
            "create-base-path": "1", "create-subdirs": "1"}
OTHER_KEYS = [("lvm", "vgname", "vg0"), ("lvmthin", "thinpool", "data"),
              ("zfspool", "pool", "tank/vm"), ("zfspool", "mountpoint", "/srv/tank")]


def perm_reason(verb, key):
    return "Permission check failed (only root@pam may %s storage property '%s')" % (verb,
                                                                                    key)


class StorageHostPath(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = os.path.join(cls.daemon.root, "srv")
        cls.cfg = os.path.join(cls.daemon.root, "etc", "storage.cfg")
        cls.daemon.root_call("POST", "/storage", storage="base", type="dir",
                             path=os.path.join(cls.srv, "base"), content="iso,backup")
        # one pve user per built-in role, on /
        cls.users = {}
        for role in cls.admin.access.roles.get():
            if not role.get("special"):
                continue
            uid = "h-%s@pve" % role["roleid"]
            pw = "pw-" + secrets.token_urlsafe(12)
            cls.admin.access.users.post(userid=uid, password=pw)
            cls.admin.access.acl.put(path="/", roles=role["roleid"], users=uid)
            ticket, csrf = cls.daemon.login(uid, pw)
            cls.users[uid] = {"ticket": ticket, "csrf": csrf}
        # tokens: root@pam's own (separated with Administrator, and not
        # separated), and the pam Administrator's
        tokens = [("root@pam", "sep", 1), ("root@pam", "full", 0),
                  (cls.acct.userid, "full", 0)]
        cls.tokens = {}
        for user, name, privsep in tokens:
            d = cls.daemon.root_call("POST", "/access/users/%s/token/%s" % (user, name),
                                     privsep=privsep)
            tokid = "%s!%s" % (user, name)
            if privsep:
                cls.daemon.root_call("PUT", "/access/acl", path="/", roles="Administrator",
                                     tokens=tokid)
            cls.tokens[tokid] = {"headers": {"Authorization": "PVEAPIToken=%s=%s"
                                             % (tokid, d["value"])}}

    def storage_cfg(self):
        with open(self.cfg) as f:
            return f.read()

    def as_subject(self, auth, method, path, data):
        return self.daemon.http(method, path, data=data, **auth)

    def subjects(self):
        return list(self.users.items()) + list(self.tokens.items())

    def test_roles_listed(self):
        # the daemon's role table: the 17 built-in roles of PVE 9
        self.assertGreaterEqual(len(self.users), 17)
        self.assertIn("h-Administrator@pve", self.users)
        self.assertIn("h-PVEDatastoreAdmin@pve", self.users)

    def test_everyone_but_root_refused(self):
        before = self.storage_cfg()
        for name, auth in self.subjects():
            # the control: whoever may change a storage at all
            r = self.as_subject(auth, "PUT", "/storage/base", {"comment": "c"})
            allocate = r.status == 200
            self.assertIn(r.status, (200, 403), name)
            cases = []
            for key, value in DIR_KEYS.items():
                cases += [("POST", "/storage", {"storage": "new", "type": "dir", key: value,
                                                "disable": 1}, "set", key),
                          ("PUT", "/storage/base", {key: value}, "set", key),
                          ("PUT", "/storage/base", {"delete": key}, "delete", key)]
            cases.append(("POST", "/storage",
                          {"storage": "new", "type": "dir", "disable": 1,
                           "path": os.path.join(self.srv, "new")}, "set", "path"))
            for typ, key, value in OTHER_KEYS:
                cases.append(("POST", "/storage", {"storage": "new", "type": typ, key: value},
                              "set", key))
            for method, path, data, verb, key in cases:
                r = self.as_subject(auth, method, path, data)
                self.assertEqual(r.status, 403, "%s %s %s: %s" % (name, method, data, r.reason))
                if allocate:
                    self.assertEqual(r.reason, perm_reason(verb, key), name)
        after = self.storage_cfg()
        # only the comments changed
        self.assertEqual(before.replace("\tcomment c\n", ""), after.replace("\tcomment c\n", ""))
        self.assertNotIn("new", [s["storage"] for s in self.admin.storage.get()])

    def test_report_replay(self):
        """A pve Administrator cannot put a storage on /etc with its isos in
        logrotate.d, nor move the isos of a storage there."""
        auth = self.users["h-Administrator@pve"]
        r = self.as_subject(auth, "POST", "/storage",
                            {"storage": "pwn", "type": "dir", "path": "/etc",
                             "content": "iso", "content-dirs": "iso=logrotate.d",
                             "disable": 1})
        self.assertEqual(r.status, 403, r.reason)
        r = self.as_subject(auth, "PUT", "/storage/base",
                            {"content-dirs": "iso=../../../../../etc/logrotate.d"})
        self.assertEqual(r.status, 403, r.reason)
        self.assertNotIn("pwn", self.storage_cfg())
        self.assertNotIn("logrotate", self.storage_cfg())
        # root@pam cannot either
        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "pwn", "type": "dir", "path": "/etc",
                                        "content": "iso", "content-dirs": "iso=logrotate.d",
                                        "disable": 1})
        self.assertEqual(r.status, 400, r.reason)
        self.assertIn("system directory '/etc'", r.json()["errors"]["path"])

    def test_root_sets_them(self):
        path = os.path.join(self.srv, "rooted")
        self.daemon.root_call("POST", "/storage", storage="rooted", type="dir", path=path,
                              content="iso,backup", **DIR_KEYS)
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/rooted")
        self.assertTrue(os.path.isdir(os.path.join(path, "isos")))
        for key, value in DIR_KEYS.items():
            self.daemon.root_call("PUT", "/storage/rooted", delete=key)
            self.daemon.root_call("PUT", "/storage/rooted", **{key: value})
        got = self.admin.storage("rooted").get()
        self.assertEqual(got["content-dirs"], "iso=isos")
        self.assertEqual(got["path"], path)
        # the CLI is root@pam too
        p = self.daemon.cli("api", "set", "/storage/rooted", "--content-dirs",
                            "iso=isos2,backup=dumps")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.admin.storage("rooted").get()["content-dirs"],
                         "backup=dumps,iso=isos2")

    def test_system_dirs_refused_to_root(self):
        link = os.path.join(self.srv, "to-etc")
        os.makedirs(self.srv, exist_ok=True)
        os.symlink("/etc", link)
        self.addCleanup(os.unlink, link)
        root = self.daemon.root
        for path in ("/", "/etc", "/etc/logrotate.d", "/srv/../etc", "//usr/local/isos",
                     "/lib/x", "/boot", "/run/x", "/proc/1", "/sys/x", "/dev/shm",
                     link, os.path.join(link, "cron.d"),
                     os.path.join(root, "etc"), os.path.join(root, "etc", "priv"),
                     os.path.join(root, "srv", "..", "lib"), os.path.join(root, "log")):
            r = self.daemon.root_http("POST", "/storage",
                                      data={"storage": "sys", "type": "dir", "path": path,
                                            "disable": 1})
            self.assertEqual(r.status, 400, "%s: %s" % (path, r.reason))
            self.assertIn("system directory", r.json()["errors"]["path"], path)
        # a content directory led through a link into /etc
        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "sys", "type": "dir", "path": self.srv,
                                        "content": "iso", "content-dirs": "iso=to-etc",
                                        "disable": 1})
        self.assertEqual(r.status, 400, r.reason)
        self.assertIn("system directory '/etc'", r.json()["errors"]["content-dirs"])
        # content directories inside each other, the defaults included
        for dirs in ("iso=images/iso", "backup=template", "iso=a,vztmpl=a/b"):
            r = self.daemon.root_http("PUT", "/storage/base", data={"content-dirs": dirs})
            self.assertEqual(r.status, 400, "%s: %s" % (dirs, r.reason))
            self.assertIn("content-dirs", r.json()["errors"], dirs)
        self.assertNotIn("sys", [s["storage"] for s in self.admin.storage.get()])
        self.assertFalse(os.path.exists("/etc/images"))


if __name__ == "__main__":
    ctvmtest.main()
