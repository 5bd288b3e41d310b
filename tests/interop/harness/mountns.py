"""Run a program with the scenario's DNS, without touching the machine's resolver files.

A program that resolves through the C library or c-ares (fedgw, Kamailio) reads
/etc/resolv.conf and /etc/hosts. private_dns_argv() wraps its command line so that it runs in a
private mount namespace (`unshare --mount --propagation private`) where a test resolv.conf and
hosts are bind-mounted over those two files; the wrapper `exec`s, so the PID stays the
program's own and ManagedProcess can signal it. Mount namespaces need root (CAP_SYS_ADMIN):
require_root() fails the test clearly otherwise. The test resolv.conf must name a server on port
53 (it cannot name a port), which is why Dnsmasq uses port 53 of its own address when root.
"""

import shutil
import subprocess
from pathlib import Path

from .dns import Dnsmasq
from .errors import HarnessError
from .process import is_root

# $1 = resolv.conf, $2 = hosts, the rest is the program and its arguments.
_WRAPPER = ('set -e; mount --bind "$1" /etc/resolv.conf; mount --bind "$2" /etc/hosts; '
            'shift 2; exec "$@"')


def require_root(what: str) -> None:
    if not is_root():
        raise HarnessError(f"{what} needs root: a private mount namespace with bind mounts over "
                           "/etc/resolv.conf and /etc/hosts cannot be made otherwise. Run the "
                           "interop suite as root (as CI does), e.g. in a container.")
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        raise HarnessError(f"{what} needs unshare and mount (package util-linux / mount)")


class PrivateDns:
    """The resolv.conf and hosts files a namespaced program sees, in `workdir/resolver/`."""

    def __init__(self, workdir: Path, dns: Dnsmasq, hosts: dict[str, str] | None = None):
        require_root("running a program with the test DNS")
        self.dir = Path(workdir) / "resolver"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.resolv_conf = self.dir / "resolv.conf"
        self.hosts = self.dir / "hosts"
        self.resolv_conf.write_text(dns.resolv_conf_text())
        extra = "".join(f"{ip} {name}\n" for name, ip in (hosts or {}).items())
        self.hosts.write_text(dns.hosts_text() + extra)

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` run inside a private mount namespace that sees these files."""
        return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", _WRAPPER,
                "private-dns", str(self.resolv_conf), str(self.hosts)] + list(argv)

    def run(self, argv: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess:
        """Run a short command inside the namespace and return its output."""
        return subprocess.run(self.wrap(argv), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def check_resolves(self, name: str, ip: str) -> None:
        """`getent ahostsv4 name` inside the namespace gives `ip` (proves the wiring)."""
        r = self.run(["getent", "ahostsv4", name])
        if r.returncode != 0 or ip not in r.stdout.split():
            raise HarnessError(f"inside the private mount namespace {name} does not resolve to "
                               f"{ip}: status {r.returncode}\n{r.stdout}{r.stderr}")
