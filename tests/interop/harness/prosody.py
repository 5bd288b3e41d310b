"""A private Prosody 0.12 instance: one VirtualHost on its own loopback address.

Everything lives in a temp dir (config, data, pid file, debug log); nothing of /etc/prosody or
/var/lib/prosody is read or written, and the system service, if any, is never touched.

What the config does and why (see DESIGN.md, "Running real peers on one machine"):
  - `interfaces = { addr }` with c2s on 5222 and s2s on 5269 of that address: every server has
    its own address, so all can use the standard s2s port that SRV records name.
  - `unbound = { resolvconf = false; hoststxt = false; forward = { "ip@port" };
    options = { ["local-zone:"] = "test. transparent" } }`: Prosody resolves through libunbound,
    which otherwise answers every `.test` name NXDOMAIN itself (RFC 6761 local zone) and would
    read the machine's resolv.conf and hosts.
  - `ssl = { cafile = ... }` globally and in the host: the test CA is the only one trusted for
    s2s (RFC 6120 §13.7.2). `s2s_secure_auth = true` demands a valid certificate (SASL EXTERNAL,
    RFC 6120 §6.4 / XEP-0178); false lets dialback (XEP-0220) authenticate peers whose
    certificate does not validate.
  - `prosody -F` (foreground; 0.12 deprecates `daemonize = false`); `run_as_root = true` only
    when we are root (mod_posix otherwise refuses to start as root); log at debug level to a
    file that failure messages show.
  - mod_offline disabled: a message for a user who is not online bounces at once instead of
    waiting silently in storage.
Users are created with `prosodyctl --config FILE register user host password`.
"""

import os
import subprocess
from pathlib import Path

from .ca import Cert
from .dns import Dnsmasq
from .errors import HarnessError
from .process import ManagedProcess, is_root, require_free, tail


def lua_str(s: str | os.PathLike) -> str:
    """A Lua string literal."""
    s = str(s)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Prosody:
    """One Prosody serving `domain` on `address`. Create, add users, start(), stop()."""

    def __init__(self, workdir: Path, domain: str, address: str, *, cert: Cert,
                 dns: Dnsmasq, cafile: Path | None = None, s2s_secure_auth: bool = True,
                 c2s_port: int = 5222, s2s_port: int = 5269, dialback: bool = True,
                 extra_modules: tuple[str, ...] = (), extra_config: str = ""):
        self.domain = domain
        self.address = address
        self.cert = cert
        self.dns = dns
        self.cafile = Path(cafile or cert.ca_file)
        self.s2s_secure_auth = s2s_secure_auth
        self.c2s_port = c2s_port
        self.s2s_port = s2s_port
        self.dialback = dialback
        self.extra_modules = tuple(extra_modules)
        self.extra_config = extra_config
        self.dir = Path(workdir) / f"prosody-{domain}"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir()
        (self.dir / "certs").mkdir()  # else certmanager logs an error indexing it
        self.config_path = self.dir / "prosody.cfg.lua"
        self.log_path = self.dir / "prosody.log"
        self.pid_path = self.dir / "prosody.pid"
        self.users: dict[str, str] = {}
        self.process: ManagedProcess | None = None
        self.name = f"prosody {domain}"
        self.write_config()

    def jid(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def config_text(self) -> str:
        modules = ["roster", "saslauth", "tls", "disco", "ping", "posix"]
        if self.dialback:
            modules.append("dialback")
        modules += list(self.extra_modules)
        ssl_global = f"ssl = {{ cafile = {lua_str(self.cafile)} }}"
        ssl_host = (f"ssl = {{ certificate = {lua_str(self.cert.cert)}; "
                    f"key = {lua_str(self.cert.key)}; cafile = {lua_str(self.cafile)} }}")
        lines = [
            "-- Written by the fedgw interop harness; see tests/interop/harness/prosody.py",
            f"pidfile = {lua_str(self.pid_path)}",
            f"data_path = {lua_str(self.data_dir)}",
            f"certificates = {lua_str(self.dir / 'certs')}",
            f"run_as_root = {'true' if is_root() else 'false'}",
            f"log = {{ {{ levels = {{ min = \"debug\" }}, to = \"file\", "
            f"filename = {lua_str(self.log_path)} }} }}",
            f"interfaces = {{ {lua_str(self.address)} }}",
            f"local_interfaces = {{ {lua_str(self.address)} }}",
            f"c2s_ports = {{ {self.c2s_port} }}",
            f"s2s_ports = {{ {self.s2s_port} }}",
            "c2s_direct_tls_ports = { }",
            "s2s_direct_tls_ports = { }",
            "modules_enabled = { " + "; ".join(lua_str(m) for m in modules) + " }",
            'modules_disabled = { "offline" }',
            "allow_registration = false",
            'authentication = "internal_hashed"',
            'storage = "internal"',
            "c2s_require_encryption = true",
            "s2s_require_encryption = true",
            f"s2s_secure_auth = {'true' if self.s2s_secure_auth else 'false'}",
            "s2s_timeout = 15",
            "unbound = { resolvconf = false; hoststxt = false; "
            f"forward = {{ {lua_str(self.dns.unbound_forward)} }}; "
            f"options = {{ [\"local-zone:\"] = {lua_str(self.dns.zone + '. transparent')} }} }}",
            ssl_global,
            self.extra_config,
            f"VirtualHost {lua_str(self.domain)}",
            f"  {ssl_host}",
            "",
        ]
        return "\n".join(lines)

    def write_config(self) -> None:
        self.config_path.write_text(self.config_text())

    def add_user(self, user: str, password: str) -> str:
        """Create user@domain; returns the JID."""
        r = subprocess.run(["prosodyctl", "--config", str(self.config_path), "register", user,
                            self.domain, password], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30, check=False)
        if r.returncode != 0:
            raise HarnessError(f"{self.name}: prosodyctl register {user} failed "
                               f"({r.returncode}):\n{r.stdout}{r.stderr}\n"
                               f"{tail(self.log_path)}")
        self.users[user] = password
        return self.jid(user)

    def start(self) -> None:
        """Start without waiting; call wait_ready() (so several servers start together)."""
        require_free(self.address, self.c2s_port, self.name)
        require_free(self.address, self.s2s_port, self.name)
        argv = ["prosody", "-F", "--config", str(self.config_path)]
        self.process = ManagedProcess(self.name, argv, log_path=self.dir / "console.log",
                                      extra_logs=[self.log_path])
        self.process.start()

    def wait_ready(self, timeout: float = 15.0) -> None:
        if self.process is None:
            raise HarnessError(f"{self.name}: not started")
        self.process.wait_tcp(self.address, self.c2s_port, timeout)
        self.process.wait_tcp(self.address, self.s2s_port, timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def log_text(self) -> str:
        """Prosody's whole debug log so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs_text(self, lines: int = 40) -> str:
        return self.process.logs_text(lines) if self.process else f"({self.name} not started)"
