#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Containers: the gaps after the first landing (issue 13):

 - an image-backed rootfs is unmounted when the container stops by itself
   (its init killed, poweroff inside), not only at its next start or its
   destroy; a start afterwards mounts it again;
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import CtDaemonTest  # noqa: E402


class CtGapsTest(CtDaemonTest):

    def mnt(self, vmid):
        return os.path.join(self.daemon.root, "run", "lxc-mnt", str(vmid), "rootfs")

    def wait_unmounted(self, vmid, timeout=10):
        deadline = time.monotonic() + timeout
        while os.path.ismount(self.mnt(vmid)):
            if time.monotonic() > deadline:
                self.fail("%s still mounted %ds after CT %d stopped"
                          % (self.mnt(vmid), timeout, vmid))
            time.sleep(0.1)

    def wait_stopped(self, vmid, timeout=20):
        deadline = time.monotonic() + timeout
        while self.status(vmid)["status"] != "stopped":
            if time.monotonic() > deadline:
                self.fail("CT %d did not stop" % vmid)
            time.sleep(0.1)

    def test_image_unmounted_when_stopped_inside(self):
        self.create(320, rootfs="ct:0.1")
        self.power(320, "start")
        pid = self.running_pid(320)
        self.assertTrue(os.path.ismount(self.mnt(320)))
        # its init killed from the host: the watch sees it at once
        os.kill(pid, signal.SIGKILL)
        self.wait_stopped(320)
        self.wait_unmounted(320)
        # started again: mounted again, and a poweroff inside unmounts it
        self.power(320, "start")
        pid = self.running_pid(320)
        self.wait_booted(pid)
        self.assertTrue(os.path.ismount(self.mnt(320)))
        subprocess.run(["lxc-attach", "-P", os.path.join(self.daemon.root, "run", "lxc"),
                        "-n", "320", "--", "poweroff", "-f"], timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_stopped(320)
        self.wait_unmounted(320)
        # a reboot through the API keeps it mounted: the start is not raced
        self.power(320, "start")
        self.running_pid(320)
        self.power(320, "reboot", timeout=5)
        self.running_pid(320)
        time.sleep(1)
        self.assertTrue(os.path.ismount(self.mnt(320)))
        self.power(320, "stop")
        self.assertFalse(os.path.ismount(self.mnt(320)))


if __name__ == "__main__":
    ctvmtest.main()
