#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Access-control escalations found in review (issue 8), against a real daemon.

One daemon in a temporary root; a throwaway host account with Administrator
on / creates the pve-realm users each test needs through the API, then the
test plays the attacker with real clients (raw HTTPS and proxmoxer).
"""

import os
import secrets
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import AdminDaemonTest  # noqa: E402


def password():
    return "pw-" + secrets.token_urlsafe(12)


class AccessSecurity(AdminDaemonTest):
    def make_user(self, userid, acl_path=None, role=None, **extra):
        """A pve user with a random password (and one ACL entry); its password."""
        pw = password()
        self.admin.access.users.post(userid=userid, password=pw, **extra)
        if acl_path:
            self.admin.access.acl.put(path=acl_path, roles=role, users=userid)
        return pw

    def renew(self, username, ticket):
        return self.daemon.http("POST", "/access/ticket",
                                data={"username": username, "password": ticket})

    def test_renewal_across_letter_case(self):
        """alice@pve (auditor) cannot renew her ticket into one for ALICE@pve
        (administrator): user ids differ in case, so they are two users."""
        alice_pw = self.make_user("alice@pve", "/", "PVEAuditor")
        self.make_user("ALICE@pve", "/", "Administrator")
        ticket, csrf = self.daemon.login("alice@pve", alice_pw)

        for name in ("ALICE@pve", "Alice@pve", "ALICE@PVE"):
            r = self.renew(name, ticket)
            self.assertEqual(r.status, 401, "%s: %d %s" % (name, r.status, r.reason))
            self.assertEqual(r.reason, "authentication failure")
            self.assertIsNone(r.json()["data"])
        r = self.daemon.http("POST", "/access/ticket",
                             data={"username": "ALICE", "realm": "pve", "password": ticket})
        self.assertEqual(r.status, 401, r.reason)

        # her own renewal still works, named as stored even when the realm
        # is spelled otherwise, and still only with her privileges
        for name in ("alice@pve", "alice@PVE"):
            r = self.renew(name, ticket)
            self.assertEqual(r.status, 200, r.reason)
            d = r.json()["data"]
            self.assertEqual(d["username"], "alice@pve")
            self.assertTrue(d["ticket"].startswith("PVE:alice@pve:"), d["ticket"][:20])
        renewed = r.json()["data"]
        r = self.daemon.http("PUT", "/access/acl", ticket=renewed["ticket"],
                             csrf=renewed["CSRFPreventionToken"],
                             data={"path": "/", "roles": "Administrator",
                                   "users": "alice@pve"})
        self.assertEqual(r.status, 403, r.reason)

    def test_root_pam_only_changed_by_itself(self):
        """A user administrator cannot disable root@pam or mint a root token."""
        pw = self.make_user("useradm@pve", "/access", "PVEUserAdmin")
        self.make_user("plain@pve")
        api = self.daemon.proxmoxer("useradm@pve", pw)
        e = self.assert_status(403, api.access.users("root@pam").put, enable=0)
        self.assertIn("only root@pam may modify root@pam", str(e))
        self.assert_status(403, api.access.users("root@pam").delete)
        self.assert_status(403, api.access.users("root@pam").token("mine").post, privsep=0)
        self.assertEqual(self.admin.access.users("root@pam").get()["enable"], 1)
        # root can still be managed by root: the CLI on the local socket
        p = self.daemon.cli("api", "set", "/access/users/root@pam", "--comment", "the admin")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.admin.access.users("root@pam").get().get("comment"), "the admin")
        # and everyone else by the user administrator
        api.access.users("plain@pve").put(enable=0)
        self.assertEqual(self.admin.access.users("plain@pve").get()["enable"], 0)

    def test_group_admin_toggles_member(self):
        """User.Modify on /access/groups/<g> enables and disables members of <g>
        without passing groups, and nobody else."""
        self.admin.access.groups.post(groupid="crew")
        self.make_user("crewmate@pve", groups="crew")
        self.make_user("stranger@pve")
        pw = self.make_user("crewboss@pve", "/access/groups/crew", "PVEUserAdmin")
        api = self.daemon.proxmoxer("crewboss@pve", pw)
        api.access.users("crewmate@pve").put(enable=0)
        self.assertEqual(self.admin.access.users("crewmate@pve").get()["enable"], 0)
        api.access.users("crewmate@pve").put(enable=1)
        self.assertEqual(self.admin.access.users("crewmate@pve").get()["enable"], 1)
        self.assert_status(403, api.access.users("stranger@pve").put, enable=0)
        self.assertEqual(self.admin.access.users("stranger@pve").get()["enable"], 1)


if __name__ == "__main__":
    ctvmtest.main()
