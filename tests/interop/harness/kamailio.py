"""A private Kamailio 5.6: registrar, presence server and MESSAGE router for one SIP domain.

The configuration is the repository's tests/interop/kamailio/kamailio.cfg, used as is: its
parameters are pre-processor defines given with `-A NAME=value` (address, domain, gateway
next hop, subscription limits, paths). README.md next to it says what each route does and what
the gateway has to expect from this server. Nothing of /etc/kamailio, /run/kamailio or
/var/lib/kamailio is read or written, and the system service, if any, is never touched:
  - `kamailio -DD -E`: stays in the foreground (its workers are forked children) and logs to
    stderr, which is the console log failure messages show;
  - `-Y DIR -P DIR/kamailio.pid`, control socket DIR/kamailio_ctl (binrpc; `rpc()` runs
    `kamcmd -s` on it), db_text tables in DIR/db copied from the package's empty tables;
  - `-m`/`-M` shared and private memory, `-n` workers (2 by default: enough for a test);
  - it leads its own process group, and stop() SIGKILLs the group after SIGTERM: the workers
    do not die with the main process on their own.
Users known to the platform are rows of the db_text `subscriber` table, written by
add_user() before start(): a MESSAGE for a known user who is not registered gets 480, for an
unknown one 404. Readiness is an OPTIONS ping over UDP answered 200 and a TCP connect.
"""

import shutil
import subprocess
import time
from pathlib import Path

from .errors import HarnessError
from .process import ManagedProcess, require_free
from .sip import SipMessage, options_ping

DBTEXT_TABLES = Path("/usr/share/kamailio/dbtext/kamailio")
TABLES = ("version", "subscriber", "presentity", "active_watchers", "watchers", "xcap")


def _cfg_str(value: str) -> str:
    """A Kamailio config string literal for a -A define."""
    if '"' in value or "\\" in value or "\n" in value:
        raise HarnessError(f"cannot pass {value!r} as a Kamailio string define")
    return f'"{value}"'


class Kamailio:
    """One Kamailio serving `domain` on address:port (UDP and TCP). add_user(), start(),
    wait_ready() (or sc.start(k)), stop()."""

    def __init__(self, workdir: Path, domain: str = "sip.test", address: str = "127.0.0.4", *,
                 port: int = 5060, gateway: tuple[str, int] = ("127.0.0.5", 5060),
                 gateway_transport: str = "udp", max_expires: int = 3600, min_expires: int = 0,
                 shm_mb: int = 64, pkg_mb: int = 8, children: int = 2, log_level: int = 2,
                 config: Path | None = None):
        if gateway_transport not in ("udp", "tcp"):
            raise HarnessError(f"gateway transport must be udp or tcp, not {gateway_transport}")
        self.domain = domain
        self.address = address
        self.port = port
        self.gateway = gateway
        self.gateway_transport = gateway_transport
        self.max_expires = max_expires
        self.min_expires = min_expires
        self.shm_mb = shm_mb
        self.pkg_mb = pkg_mb
        self.children = children
        self.log_level = log_level
        self.config = Path(config) if config else (
            Path(__file__).resolve().parents[1] / "kamailio" / "kamailio.cfg")
        self.dir = Path(workdir) / f"kamailio-{domain}"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.db_dir = self.dir / "db"
        self.pid_path = self.dir / "kamailio.pid"
        self.ctl_path = self.dir / "kamailio_ctl"
        self.log_path = self.dir / "kamailio.log"
        self.users: list[str] = []
        self.process: ManagedProcess | None = None
        self.name = f"kamailio {domain}"
        self._init_db()

    # Set-up -------------------------------------------------------------------------------------

    def _init_db(self) -> None:
        self.db_dir.mkdir()
        for table in TABLES:
            src = DBTEXT_TABLES / table
            if not src.is_file():
                raise HarnessError(f"{self.name}: {src} is missing; is the kamailio package "
                                   "installed?")
            shutil.copyfile(src, self.db_dir / table)

    def add_user(self, user: str) -> str:
        """Make user@domain known to the platform (before start); returns its SIP URI."""
        if self.process is not None:
            raise HarnessError(f"{self.name}: add users before start()")
        if not user or any(c in user for c in ":\n\\@ "):
            raise HarnessError(f"{self.name}: bad user name {user!r}")
        self.users.append(user)
        with open(self.db_dir / "subscriber", "a") as f:
            # id(int,auto) username domain password ha1 ha1b
            f.write(f"{len(self.users)}:{user}:{self.domain}:unused:unused:unused\n")
        return self.uri(user)

    def uri(self, user: str) -> str:
        return f"sip:{user}@{self.domain}"

    @property
    def next_hop(self) -> tuple[str, int]:
        """Where SIP users and the gateway send their requests."""
        return self.address, self.port

    @property
    def gateway_uri(self) -> str:
        host, port = self.gateway
        return f"sip:{host}:{port};transport={self.gateway_transport}"

    def argv(self) -> list[str]:
        defines = {
            "SIP_IP": self.address,
            "SIP_PORT": str(self.port),
            "SIP_DOMAIN": self.domain,
            "GATEWAY_URI": _cfg_str(self.gateway_uri),
            "GATEWAY_IP": _cfg_str(self.gateway[0]),
            "MAX_EXPIRES": str(self.max_expires),
            "MIN_EXPIRES": str(self.min_expires),
            "DB_URL": _cfg_str(f"text://{self.db_dir}"),
            "CTL_SOCKET": _cfg_str(f"unix:{self.ctl_path}"),
            "LOG_LEVEL": str(self.log_level),
            "CHILDREN": str(self.children),
        }
        argv = ["kamailio", "-DD", "-E", "-f", str(self.config), "-Y", str(self.dir),
                "-P", str(self.pid_path), "-m", str(self.shm_mb), "-M", str(self.pkg_mb),
                "-w", str(self.dir)]
        for name, value in defines.items():
            argv += ["-A", f"{name}={value}"]
        return argv

    def check_config(self) -> None:
        """`kamailio -c`: the config with these parameters parses (raises with its output)."""
        r = subprocess.run(self.argv() + ["-c"], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise HarnessError(f"{self.name}: kamailio -c refuses {self.config}:\n"
                               f"{r.stdout}{r.stderr}"[-4000:])

    # Life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start without waiting; call wait_ready() (so several servers start together)."""
        if not shutil.which("kamailio"):
            raise HarnessError("kamailio is not installed (Debian: kamailio "
                               "kamailio-presence-modules)")
        require_free(self.address, self.port, self.name, udp=True)
        self.process = ManagedProcess(self.name, self.argv(), log_path=self.log_path,
                                      own_group=True)
        self.process.start()

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until an OPTIONS over UDP is answered 200 and TCP accepts; fails with the log tail
        if Kamailio exits or does not answer in time."""
        if self.process is None:
            raise HarnessError(f"{self.name}: not started")
        self.process.wait_tcp(self.address, self.port, timeout)
        deadline = time.monotonic() + timeout
        last: SipMessage | None = None
        while True:
            self.process.check_alive(f"an answer to OPTIONS on {self.address}:{self.port}")
            last = options_ping(self.address, self.port, timeout=0.5)
            if last is not None and last.status == 200:
                return
            if time.monotonic() > deadline:
                got = last.start_line if last is not None else "no answer"
                raise HarnessError(f"{self.name}: OPTIONS to {self.address}:{self.port} got "
                                   f"{got} after {timeout:.0f} s\n{self.logs_text()}")

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    def rpc(self, *command: str, timeout: float = 10.0) -> str:
        """A control command through kamcmd, e.g. rpc("ul.dump")."""
        r = subprocess.run(["kamcmd", "-s", f"unix:{self.ctl_path}", *command],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, check=False)
        if r.returncode != 0:
            raise HarnessError(f"{self.name}: kamcmd {' '.join(command)} failed "
                               f"({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    # Logs ---------------------------------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs_text(self, lines: int = 40) -> str:
        return self.process.logs_text(lines) if self.process else f"({self.name} not started)"

