"""Run a private, real Dovecot IMAP server on loopback for integration tests."""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from imapclient import IMAPClient

from tests.support.apt import apt_install

SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

# Everything Dovecot reads or writes lives under root.  As the tests run as
# root, Dovecot's own processes run as root too, except two kinds that refuse
# it: login processes and mail processes.  Both are chrooted (login ones in
# base_dir, mail ones in root/mail), so an unprivileged user can work there
# even when root's parent directories are private to root.
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = supportbot-test-{port}
log_path = {root}/logs/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = root
default_internal_group = root
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_chroot = {root}/mail
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users{password_only}
}}
{extra}userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home=/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""

# With oauth2_introspection_url: the password stays for PLAIN/LOGIN, and XOAUTH2/OAUTHBEARER
# tokens are checked by POSTing them to that URL (RFC 7662 introspection).
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""
OAUTH2_CONFIG = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""

_running: set[DovecotServer] = set()


def ensure_dovecot() -> str | None:
    """Path to the dovecot binary, installing dovecot-imapd if root may."""
    found = shutil.which("dovecot", path=SBIN_PATH)
    if not found:
        # Without an init system (and with Docker's policy-rc.d) the package does
        # not start the system-wide service; this harness never uses it anyway.
        apt_install("dovecot-imapd")
    return shutil.which("dovecot", path=SBIN_PATH)


def _unprivileged_user(*names: str) -> pwd.struct_passwd:
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {names} exists for Dovecot")


def _free_ports(count: int) -> list[int]:
    # All bound at once, so that the kernel cannot hand out one port twice.
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _make_certificate(tls_dir: Path) -> None:
    tls_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(tls_dir / "key.pem"), "-out", str(tls_dir / "cert.pem")],
        check=True, capture_output=True, timeout=60)


@dataclass(eq=False)
class DovecotServer:
    """A running Dovecot with one user, and shortcuts to look into its mail."""

    host: str
    port: int
    tls_port: int
    username: str
    password: str
    cafile: str
    root: Path
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def log(self) -> str:
        """The Dovecot log and the master's own output, for failure reports."""
        parts = [p.read_text(errors="replace") for p in
                 (self.root / "logs" / "dovecot.log", self.root / "logs" / "master.out")
                 if p.exists()]
        return "\n".join(parts)

    def _doveadm(self, *args: str, ok: Sequence[int] = (0,)) -> str:
        done = subprocess.run(
            [shutil.which("doveadm", path=SBIN_PATH) or "doveadm",
             "-c", str(self.config), *args],
            capture_output=True, text=True, timeout=30, check=False)
        if done.returncode not in ok:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def connect(self) -> IMAPClient:
        """A logged-in plain IMAP connection."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def start(self) -> None:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        dovecot = ensure_dovecot() or "dovecot"
        with open(self.root / "logs" / "master.out", "ab") as out:
            # Its own session, so that stop() can find every child it forked.
            self._process = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.config)], stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        _running.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        # A listening port is not enough: the master listens even while its
        # imap-login processes fail, so wait for a real greeting on both ports.
        while not (self._greets(self.port) and self._greets(self.tls_port, tls=True)):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not start:\n{self.log()}")
            time.sleep(0.1)

    def _greets(self, port: int, tls: bool = False) -> bool:
        context = ssl.create_default_context(cafile=self.cafile)
        try:
            with socket.create_connection((self.host, port), timeout=2) as plain:
                if not tls:
                    return plain.recv(1024).startswith(b"* OK")
                with context.wrap_socket(plain, server_hostname=self.host) as secure:
                    return secure.recv(1024).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        _running.discard(self)
        if process is None:
            return
        # Signalling our own child is what `dovecot stop` does with the pid
        # in base_dir/master.pid, without its fixed three-second wait.
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
        # Its log process outlives the master by a moment; others might too.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _live_processes(process.pid):
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def cpu_seconds(self) -> float:
        """CPU time used so far by Dovecot's processes, including finished ones its master reaped."""
        if self._process is None:
            return 0.0
        total = 0
        for pid in _live_processes(self._process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue   # ended meanwhile: its master counts it once it reaps it
            total += sum(int(value) for value in fields[11:15])   # utime stime cutime cstime
        return total / os.sysconf("SC_CLK_TCK")

    def kill_connections(self) -> None:
        """Disconnect every client, as a server-side failure would."""
        # Exit status 68 (EX_NOUSER) only means nobody was connected.
        self._doveadm("kick", self.username, ok=(0, 68))

    def append(self, raw: bytes, folder: str = "INBOX",
               flags: Sequence[str] = ()) -> int:
        """Deliver raw into folder; returns the UID the server gave it."""
        with self.connect() as client:
            response = client.append(folder, raw, flags=tuple(flags))
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response)
        if match is None:
            raise RuntimeError(f"no APPENDUID in {response!r}")
        return int(match.group(1))

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[str, ...]]:
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            fetched = client.get_flags(client.search("ALL"))
        return {uid: tuple(f.decode() for f in flags)
                for uid, flags in fetched.items()}

    def create_folder(self, name: str) -> None:
        with self.connect() as client:
            client.create_folder(name)

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.connect() as client:
            return client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]

    def reset_uidvalidity(self, folder: str = "INBOX") -> None:
        """Forget folder's UIDs so Dovecot renumbers it under a new UIDVALIDITY."""
        before = self.uidvalidity(folder)
        inside_chroot = self._doveadm("mailbox", "path", "-u", self.username, folder)
        mailbox = self.root / "mail" / inside_chroot.strip().lstrip("/")
        maildir = self.root / "mail" / self.username / "Maildir"
        self.stop()
        # The mailbox list index caches UIDVALIDITY too, so it goes as well;
        # dovecot-uidvalidity stays, so that the next value differs.
        for state in [mailbox / "dovecot-uidlist", *mailbox.glob("dovecot.index*"),
                      *maildir.glob("dovecot.list.index*")]:
            state.unlink(missing_ok=True)
        self.start()
        if self.uidvalidity(folder) == before:
            raise RuntimeError(f"UIDVALIDITY of {folder} stayed {before}")


def _live_processes(pgid: int) -> list[int]:
    """Pids in process group pgid that are not zombies waiting for init."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command name start: state, ppid, pgrp.
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError):
            continue
        if int(group) == pgid and state != "Z":
            live.append(int(stat.parent.name))
    return live


def start_dovecot(root: Path, *, username: str = "support@example.test",
                  password: str = "secret", oauth2_introspection_url: str | None = None,
                  oauth2_mechanisms: str = "xoauth2 oauthbearer", log_imap_id: bool = False) -> DovecotServer:
    """Configure and start a Dovecot whose config, mail and logs are in root.

    oauth2_introspection_url adds token logins (oauth2_mechanisms offered); log_imap_id logs
    what a client says in its ID command."""
    root = Path(root).resolve()
    port, tls_port = _free_ports(2)
    for sub in ("run", "state", "logs", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _make_certificate(root / "tls")
    (root / "users").write_text(f"{username}:{{PLAIN}}{password}::::::\n")
    mail_user = _unprivileged_user("dovecot", "nobody")
    home = root / "mail" / username
    home.mkdir(exist_ok=True)
    os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
    extra, mechanisms, password_only = "", "plain login", ""
    if oauth2_introspection_url:
        (root / "dovecot-oauth2.conf.ext").write_text(OAUTH2_CONFIG.format(url=oauth2_introspection_url))
        extra, mechanisms = OAUTH2_PASSDB.format(root=root), f"plain login {oauth2_mechanisms}"
        password_only = "\n  mechanisms = plain login"
    if log_imap_id:
        extra += "imap_id_log = *\n"
    (root / "dovecot.conf").write_text(CONFIG.format(
        root=root, port=port, tls_port=tls_port, extra=extra, mechanisms=mechanisms,
        password_only=password_only,
        login_user=_unprivileged_user("dovenull", "nobody").pw_name,
        mail_uid=mail_user.pw_uid, mail_gid=mail_user.pw_gid))
    server = DovecotServer("127.0.0.1", port, tls_port, username, password,
                           str(root / "tls" / "cert.pem"), root)
    server.start()
    return server


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
