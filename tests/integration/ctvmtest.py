# SPDX-License-Identifier: AGPL-3.0-or-later
"""Harness for ctvm's integration tests (docs/dev/TESTING.md).

Uses only /usr/bin/python3 and Debian packages (python3-requests,
python3-proxmoxer).  A test file is a plain unittest script that ends with
``ctvmtest.main()``; meson runs it with CTVMD and CTVM set to the built
binaries (else they are looked up under CTVM_BUILD_ROOT).

    Daemon        a ctvmd in a temporary root on a free loopback port
    HostAccount   a throwaway Linux account for the pam realm
    http()        one raw HTTPS request -> Reply(status, reason, body, headers)
    root_http()   one request as root@pam on the daemon's unix socket
    login()       POST /access/ticket -> (ticket, csrf)

Tests that need root call ``require_root()`` (or main() does it): without root
the script exits 77, which meson counts as skipped.
"""

import atexit
import fcntl
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import warnings
from collections import namedtuple

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
warnings.filterwarnings("ignore", category=ResourceWarning)

SKIP = 77

# Every 401 is delayed ~3 s by design (anti brute force), and a sanitizer
# build is slower: keep request timeouts well above that.
TIMEOUT = float(os.environ.get("CTVM_TEST_TIMEOUT", "20"))
START_TIMEOUT = float(os.environ.get("CTVM_TEST_START_TIMEOUT", "60"))
STOP_TIMEOUT = 30.0

API = "/api2/json"

_live_daemons = []
_live_accounts = []
_all_daemons = []


def _binary(env, *rel):
    path = os.environ.get(env)
    if path:
        return path
    root = os.environ.get("CTVM_BUILD_ROOT")
    if not root:
        here = os.path.dirname(os.path.abspath(__file__))
        root = os.path.join(here, "..", "..", "build")
    return os.path.join(root, *rel)


def ctvmd_path():
    return _binary("CTVMD", "src", "daemon", "ctvmd")


def ctvm_path():
    return _binary("CTVM", "src", "cli", "ctvm")


DEFAULT_PRIVSEP_USER = "ctvm-www"


def privsep_user():
    """The front's user: CTVM_TEST_PRIVSEP_USER, else ctvm-www (which
    tools/setup-deps creates, so CI and tools/test always have it), else
    nobody, for a script run on a machine that never ran setup-deps."""
    user = os.environ.get("CTVM_TEST_PRIVSEP_USER")
    if user:
        return user
    try:
        pwd.getpwnam(DEFAULT_PRIVSEP_USER)
        return DEFAULT_PRIVSEP_USER
    except KeyError:
        return "nobody"


def require_root():
    if os.geteuid() != 0:
        print("SKIP: needs root (host accounts, PAM)")
        sys.exit(SKIP)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _tail(path, limit=200):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return "(unreadable: %s)" % e
    if len(lines) > limit:
        lines = ["... (%d lines cut)" % (len(lines) - limit)] + lines[-limit:]
    return "\n".join(lines)


class HostAccount:
    """A throwaway Linux account ``ctvmt<random>`` with a random password.

    Created with ``useradd -M -s /usr/sbin/nologin`` (no home, no shell) and
    ``chpasswd`` fed on stdin; removed with ``userdel`` on exit, also when the
    body fails or the test is terminated.  Never touches any other account.
    """

    def __init__(self):
        self.name = "ctvmt" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(18)
        self.userid = self.name + "@pam"
        self._created = False

    def __enter__(self):
        assert self.name.startswith("ctvmt") and self.name != "root"
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", self.name],
                       check=True, stdout=subprocess.DEVNULL)
        self._created = True
        _live_accounts.append(self)
        subprocess.run(["chpasswd"], input="%s:%s\n" % (self.name, self.password),
                       text=True, check=True)
        return self

    def remove(self):
        if not self._created:
            return
        self._created = False
        if self in _live_accounts:
            _live_accounts.remove(self)
        subprocess.run(["userdel", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def __exit__(self, *exc):
        self.remove()
        return False


def user_cfg(admins=(), users=()):
    """user.cfg text: each of admins gets Administrator on / (propagated)."""
    lines = []
    for u in list(admins) + list(users):
        lines.append("user:%s:1:0::::::" % u)
    lines.append("")
    for u in admins:
        lines.append("acl:1:/:%s:Administrator:" % u)
    return "\n".join(lines) + "\n"


class Daemon:
    """ctvmd in a temporary root, on 127.0.0.1 and a free port.

    files: {relative path under the root: text} written before start, e.g.
    {"etc/user.cfg": user_cfg(admins=[acct.userid])}.  Use as a context
    manager or call start()/stop().  stop() sends SIGTERM and requires exit
    status 0 (a sanitizer build reports leaks and errors there).  The root is
    kept, and its logs printed, when anything failed (see main()).
    """

    def __init__(self, files=None, args=(), log_level="debug"):
        self.root = tempfile.mkdtemp(prefix="ctvmt-root-")
        os.chmod(self.root, 0o755)
        self.port = None
        self.host = "127.0.0.1"
        self.proc = None
        self.args = list(args)
        # Every daemon runs split, ctvmd's default (docs/dev/PRIVSEP.md), its
        # front as privsep_user(); CTVM_TEST_NO_PRIVSEP=1 runs them as one
        # root process (--no-privsep, the debugging mode meson keeps covered).
        if os.environ.get("CTVM_TEST_NO_PRIVSEP") == "1":
            if "--no-privsep" not in self.args:
                self.args.append("--no-privsep")
        elif "--no-privsep" not in self.args and "--privsep-user" not in self.args \
                and privsep_user() != DEFAULT_PRIVSEP_USER:
            self.args += ["--privsep-user", privsep_user()]
        self.log_level = log_level
        self.stdout_path = os.path.join(self.root, "ctvmd.stdout")
        self.stderr_path = os.path.join(self.root, "ctvmd.stderr")
        self.failed = False
        for rel, text in (files or {}).items():
            self.write(rel, text)
        _all_daemons.append(self)

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)

    @property
    def base(self):
        return "https://%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return self.base + API

    def start(self):
        exe = ctvmd_path()
        if not os.access(exe, os.X_OK):
            raise RuntimeError("ctvmd not built: %s" % exe)
        for attempt in range(3):
            self.port = free_port()
            argv = [exe, "--root", self.root, "--listen", "%s:%d" % (self.host, self.port),
                    "--log-level", self.log_level] + self.args
            with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=err, start_new_session=True)
            _live_daemons.append(self)
            try:
                self._wait_ready()
                return self
            except _PortTaken:
                self._kill()
                continue
            except Exception:
                self.failed = True
                self._kill()
                raise
        self.failed = True
        raise RuntimeError("ctvmd could not bind a free port three times")

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                if "in use" in _tail(self.stderr_path, 20).lower():
                    raise _PortTaken()
                raise RuntimeError("ctvmd exited with status %d during start" % rc)
            try:
                # A completed TLS handshake means it serves (an HTTP request
                # without a ticket could be delayed like any 401).
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    with _tls_context().wrap_socket(s, server_hostname=self.host):
                        return
            except (OSError, ssl.SSLError):
                time.sleep(0.1)
        raise RuntimeError("ctvmd did not answer on %s within %.0f s"
                           % (self.base, START_TIMEOUT))

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self in _live_daemons:
            _live_daemons.remove(self)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def front_pid(self, timeout=10.0):
        """The pid of the front process (a child running --front), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/stat" % pid) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        argv = f.read().split(b"\0")
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == self.proc.pid and b"--front" in argv:
                    return int(pid)
            time.sleep(0.1)
        return None

    def stop(self):
        """SIGTERM and wait; raises AssertionError unless the exit is clean."""
        if self.proc is None:
            return
        if self in _live_daemons:
            _live_daemons.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.failed = True
                raise AssertionError("ctvmd did not exit within %.0f s of SIGTERM"
                                     % STOP_TIMEOUT)
        rc = self.proc.returncode
        if rc != 0:
            self.failed = True
            raise AssertionError("ctvmd exited with status %d (expected 0 after SIGTERM)"
                                 % rc)

    def stdout(self):
        try:
            with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        """Everything the daemon wrote, for a failure report."""
        parts = ["--- ctvmd root: %s" % self.root,
                 "--- stdout\n" + _tail(self.stdout_path),
                 "--- stderr\n" + _tail(self.stderr_path)]
        for rel in ("log/ctvmd.log", "log/access.log"):
            p = os.path.join(self.root, rel)
            if os.path.exists(p):
                parts.append("--- %s\n%s" % (rel, _tail(p)))
        return "\n".join(parts)

    def cleanup(self):
        # dir templates are immutable (chattr +i), as Proxmox makes them
        subprocess.run(["chattr", "-R", "-f", "-i", self.root], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    # -- clients -----------------------------------------------------------

    def http(self, method, path, **kw):
        return http(method, self.url + path, **kw)

    def login(self, user, password):
        return login(self, user, password)

    def proxmoxer(self, user, password, **kw):
        from proxmoxer import ProxmoxAPI
        kw.setdefault("timeout", TIMEOUT)
        return ProxmoxAPI(self.host, port=self.port, user=user, password=password,
                          verify_ssl=False, **kw)

    def root_http(self, method, path, data=None, params=None):
        """One request as root@pam: plain HTTP on the daemon's unix socket,
        where the peer's uid 0 is root@pam (no ticket, no CSRF token).  Only
        root@pam may place a storage on the host (path, content-dirs, ...),
        and no password of root's is known to the tests."""
        target = API + path
        if params:
            target += "?" + urllib.parse.urlencode(params)
        body = urllib.parse.urlencode(data) if data is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn = _UnixHTTPConnection(os.path.join(self.root, "run", "api.sock"))
        try:
            conn.request(method, target, body=body, headers=headers)
            r = conn.getresponse()
            return Reply(r.status, r.reason, r.read(), r.headers)
        finally:
            conn.close()

    def root_call(self, method, path, /, **data):
        """root_http() that must answer 200; returns the answer's data.  The
        keywords are the form (``path=`` too: method and path are positional)."""
        r = self.root_http(method, path, data=data or None)
        if r.status != 200:
            raise AssertionError("root@pam %s %s: %d %s" % (method, path, r.status, r.reason))
        return r.json()["data"]

    def cli(self, *args, timeout=60):
        """Runs ctvm --root ROOT ARGS; returns CompletedProcess (text)."""
        return subprocess.run([ctvm_path(), "--root", self.root] + list(args),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)


class AdminDaemonTest(unittest.TestCase):
    """Test cases sharing one daemon per class, run as a throwaway host
    account that is Administrator on /.  setUpClass gives cls.acct,
    cls.daemon (stopped after the class), cls.admin (a proxmoxer session),
    cls.ticket and cls.csrf (a second login for raw requests) and cls.node;
    subclasses call super().setUpClass() first."""

    @classmethod
    def setUpClass(cls):
        cls.acct = HostAccount()
        cls.acct.__enter__()
        cls.addClassCleanup(cls.acct.remove)
        cls.daemon = Daemon(files={"etc/user.cfg": user_cfg(admins=[cls.acct.userid])},
                            args=["--login-delay-ms", "100"])
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls.admin = cls.daemon.proxmoxer(cls.acct.userid, cls.acct.password)
        cls.ticket, cls.csrf = cls.daemon.login(cls.acct.userid, cls.acct.password)
        cls.node = cls.daemon.http("GET", "/nodes", ticket=cls.ticket).json()["data"][0]["node"]

    def api(self, method, path, **kw):
        """One raw request as the admin: the ticket, and the CSRF token on changes."""
        return self.daemon.http(method, path, ticket=self.ticket,
                                csrf=self.csrf if method != "GET" else None, **kw)

    def task_status(self, upid, timeout=300):
        """Polls the task's status until it stopped; returns that status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.api("GET", "/nodes/%s/tasks/%s/status" % (self.node, upid))
            self.assertEqual(r.status, 200, r.reason)
            d = r.json()["data"]
            if d["status"] == "stopped":
                return d
            time.sleep(0.05)
        self.fail("task %s did not finish" % upid)

    def wait_task(self, upid, timeout=300):
        """The task's exitstatus ("OK" or the error), once it stopped."""
        return self.task_status(upid, timeout)["exitstatus"]

    def task_log(self, upid):
        """The task's log (its first 500 lines) as one text."""
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        return "\n".join(line["t"] for line in lines)

    def ok(self, upid, timeout=300):
        """Fails the test unless the task ends OK; its log is the message."""
        self.assertEqual(self.wait_task(upid, timeout), "OK", self.task_log(upid))

    def assert_status(self, status, fn, *args, **kw):
        """fn (a proxmoxer call) fails with this HTTP status; returns the exception."""
        from proxmoxer.core import ResourceException
        with self.assertRaises(ResourceException) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.status_code, status, str(cm.exception))
        return cm.exception


class KillRestartMixin:
    """The fixture of the tests that kill ctvmd and start it again on the
    same root (test_vm_restart.py, test_ct_restart.py), for a test case of
    AdminDaemonTest's shape (self.daemon, acct, admin, ticket, csrf, node)."""

    # a whole line of a guest config: a comment, a [section], a key, or blank
    CONF_LINE = re.compile(r"^(#.*|\[[^\]\s]+\]|[A-Za-z][A-Za-z0-9._-]*: ?.*|)$")

    def kill9_and_restart(self):
        """SIGKILL ctvmd (its front follows it), then start it again on the
        same root (a new port: the clients log in again)."""
        d = self.daemon
        front = d.front_pid(timeout=2)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        if d in _live_daemons:
            _live_daemons.remove(d)
        if front:
            deadline = time.monotonic() + 10
            while os.path.exists("/proc/%d" % front) and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists("/proc/%d" % front):
                os.kill(front, signal.SIGKILL)
                self.fail("the front (pid %d) outlived its killed parent" % front)
        d.start()
        cls = type(self)
        cls.admin = d.proxmoxer(cls.acct.userid, cls.acct.password)
        cls.ticket, cls.csrf = d.login(cls.acct.userid, cls.acct.password)

    def assert_whole_config_dir(self, subdir, held_ok=False):
        """Every file in the root's subdir (etc/qemu-server, etc/lxc) is
        <vmid>.conf, whole (lines of 'key: value', comments or [sections],
        ending in a newline), or its <vmid>.conf.lock that no process holds
        (unless held_ok: a worker that outlived ctvmd may hold it).  Returns
        the vmids of the configs, as strings."""
        d = os.path.join(self.daemon.root, subdir)
        vmids = []
        for name in os.listdir(d) if os.path.isdir(d) else []:
            self.assertRegex(name, r"^\d+\.conf(\.lock)?$",
                             "a stray file in %s: %s" % (subdir, name))
            if name.endswith(".lock"):
                if held_ok:
                    continue
                # the config's flock(2) file: nobody holds it any more
                with open(os.path.join(d, name)) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        self.fail("%s is still held" % name)
                    fcntl.flock(f, fcntl.LOCK_UN)
                continue
            with open(os.path.join(d, name)) as f:
                text = f.read()
            self.assertTrue(text.endswith("\n"), "%s: %r" % (name, text[-80:]))
            for line in text.splitlines():
                self.assertRegex(line, self.CONF_LINE,
                                 "%s: half-written line %r" % (name, line))
            vmids.append(name[:-5])
        return vmids

    def wait_no_tasks(self, vmid, timeout=60):
        """Waits until no active task has id vmid (at most timeout s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = [t for t in self.admin.nodes(self.node).tasks.get(source="active")
                      if t.get("id") == str(vmid)]
            if not active:
                return
            time.sleep(0.1)
        self.fail("tasks of %d still active: %s" % (vmid, active))


class _PortTaken(Exception):
    pass


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=TIMEOUT)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self._path)


class Reply(namedtuple("Reply", "status reason body headers")):
    """An HTTP answer: status (int), reason (the status line's phrase), body
    (bytes), headers."""

    def json(self):
        return json.loads(self.body)


def http(method, url, ticket=None, csrf=None, data=None, params=None, json_body=None,
         headers=None, timeout=None):
    """One HTTPS request without certificate checks, cookies only as given."""
    h = dict(headers or {})
    if ticket is not None:
        h["Cookie"] = "PVEAuthCookie=" + ticket
    if csrf is not None:
        h["CSRFPreventionToken"] = csrf
    r = requests.request(method, url, params=params, data=data, json=json_body, headers=h,
                         verify=False, timeout=timeout or TIMEOUT, allow_redirects=False)
    return Reply(r.status_code, r.reason, r.content, r.headers)


def login(daemon, user, password):
    """POST /access/ticket; returns (ticket, csrf) or raises AssertionError."""
    r = daemon.http("POST", "/access/ticket", data={"username": user, "password": password})
    if r.status != 200:
        raise AssertionError("login as %s failed: %d %s" % (user, r.status, r.reason))
    d = r.json()["data"]
    return d["ticket"], d["CSRFPreventionToken"]


def _emergency_cleanup(signum=None, frame=None):
    """Kills started daemons and removes accounts (SIGTERM from meson, exit)."""
    for d in list(_live_daemons):
        d._kill()
    for a in list(_live_accounts):
        a.remove()
    if signum is not None:
        os._exit(128 + signum)


atexit.register(_emergency_cleanup)



def run_ansible(daemon, user, password, module, **args):
    """Runs one community.general module against daemon with Debian's ansible.

    Returns (result dict or None, completed process); the module talks to
    127.0.0.1:PORT with the given pam/pve credentials and validate_certs=no.
    """
    argv = ["ansible", "localhost", "-m", "community.general." + module, "-a",
            " ".join("%s=%s" % kv for kv in dict(
                api_host="%s:%d" % (daemon.host, daemon.port),
                api_user=user, api_password=password,
                validate_certs="no", **args).items())]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                   ANSIBLE_NOCOWS="1",
                   ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="False",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
                   ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
                   ANSIBLE_REMOTE_TEMP=os.path.join(home, "rtmp"))
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180,
                           stdin=subprocess.DEVNULL)
    try:
        out = json.loads(p.stdout)
        return out["plays"][0]["tasks"][0]["hosts"]["localhost"], p
    except (ValueError, KeyError, IndexError):
        return None, p

def main(need_root=True):
    """Runs the unittest cases of __main__; prints daemon logs on failure."""
    if need_root:
        require_root()
    signal.signal(signal.SIGTERM, _emergency_cleanup)
    signal.signal(signal.SIGINT, _emergency_cleanup)
    # warnings=False: keep our filters (unittest would reset them to "default").
    prog = unittest.main(exit=False, verbosity=2, buffer=False, warnings=False)
    result = prog.result
    failed = not result.wasSuccessful() or any(d.failed for d in _all_daemons)
    for d in _all_daemons:
        if failed:
            print("\n" + d.logs(), file=sys.stderr)
        else:
            d.cleanup()
    # Everything skipped (a class skipped in setUpClass runs no test at
    # all): meson shows SKIP, not a pass.
    if not failed and result.skipped and len(result.skipped) >= result.testsRun:
        sys.exit(SKIP)
    sys.exit(1 if failed else 0)
