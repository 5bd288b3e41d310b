"""The scenario's DNS: a private dnsmasq serving A and SRV records for the test TLD.

RFC 6120 §3.2 (SRV lookup of `_xmpp-server._tcp.<domain>`, RFC 2782 fields) is what the peers
exercise against it. dnsmasq runs with `--no-resolv --no-hosts --local=/test/`: it knows only the
records the scenario gives it, never forwards, never reads the machine's files, and answers
NXDOMAIN for any other name under the test TLD. Records are fixed when it starts (dnsmasq
re-reads no options on SIGHUP); add them all first.

Where it listens: as root, port 53 of its own loopback address (127.0.0.254 by default), because
/etc/resolv.conf cannot name a port and processes that use the system resolver (fedgw, in a
private mount namespace, see mountns.py) need one. Otherwise a free port on 127.0.0.1, enough
for Prosody, whose libunbound forwarder takes "ip@port".

`query()` is a minimal DNS client (RFC 1035 §4) used to check the records answer before the
scenario relies on them.
"""

import random
import socket
import struct
from pathlib import Path

from .errors import HarnessError
from .process import ManagedProcess, free_port, is_root, require_free

TYPE_A = 1
TYPE_SRV = 33


def query(server: str, port: int, name: str, qtype: int, timeout: float = 2.0) -> tuple[int, int]:
    """Ask server:port one question over UDP; return (rcode, answer count)."""
    qid = random.randrange(65536)
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD set, one question
    qname = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split("."))
    packet = header + qname + b"\0" + struct.pack("!HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        while True:
            data, _ = s.recvfrom(4096)
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                flags, _qd, ancount = struct.unpack("!HHH", data[2:8])
                return flags & 0x000F, ancount


class Dnsmasq:
    """A dnsmasq on `address:port` serving `zone`. Add records, then start()."""

    name = "dnsmasq"

    def __init__(self, workdir: Path, *, address: str = "127.0.0.254", port: int | None = None,
                 zone: str = "test"):
        self.dir = Path(workdir) / "dnsmasq"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.zone = zone
        if port is None:
            if is_root():
                port = 53
            else:
                address, port = "127.0.0.1", free_port("127.0.0.1", udp_too=True)
        self.address = address
        self.port = port
        self.a_records: list[tuple[str, str]] = []
        self.srv_records: list[tuple[str, str, int, int, int]] = []
        self.process: ManagedProcess | None = None

    # Records -----------------------------------------------------------------------------------

    def add_a(self, name: str, ip: str) -> None:
        self.a_records.append((name, ip))

    def add_srv(self, name: str, target: str, port: int, priority: int = 0,
                weight: int = 5) -> None:
        """An SRV record, e.g. add_srv("_xmpp-server._tcp.beta.test", "beta.test", 5269)."""
        self.srv_records.append((name, target, port, priority, weight))

    def add_xmpp_server(self, domain: str, ip: str, port: int = 5269,
                        target: str | None = None) -> None:
        """`_xmpp-server._tcp.<domain>` SRV pointing at `target` (default `domain`), and target's
        A record."""
        target = target or domain
        self.add_srv(f"_xmpp-server._tcp.{domain}", target, port)
        self.add_a(target, ip)

    # Where it is -------------------------------------------------------------------------------

    @property
    def unbound_forward(self) -> str:
        """The forwarder as libunbound's ub_ctx_set_fwd takes it: "ip@port"."""
        return f"{self.address}@{self.port}"

    def resolv_conf_text(self) -> str:
        """A resolv.conf naming this server; only possible on port 53."""
        if self.port != 53:
            raise HarnessError(f"resolv.conf cannot name port {self.port}: the system resolver "
                               "needs dnsmasq on port 53, which needs root")
        return f"nameserver {self.address}\noptions timeout:1 attempts:2\n"

    def hosts_text(self) -> str:
        """An /etc/hosts with localhost only: test names must come from DNS."""
        return "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"

    # Lifetime ----------------------------------------------------------------------------------

    def argv(self) -> list[str]:
        argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                "--no-hosts", "--log-facility=-", "--log-queries", f"--local=/{self.zone}/",
                f"--listen-address={self.address}", "--bind-interfaces", f"--port={self.port}",
                f"--pid-file={self.dir / 'dnsmasq.pid'}", "--cache-size=0"]
        if is_root():
            argv.append("--user=nobody")
        for name, ip in self.a_records:
            argv.append(f"--host-record={name},{ip}")
        for name, target, port, prio, weight in self.srv_records:
            argv.append(f"--srv-host={name},{target},{port},{prio},{weight}")
        return argv

    def start(self, timeout: float = 10.0) -> None:
        require_free(self.address, self.port, "dnsmasq", udp=True)
        self.process = ManagedProcess("dnsmasq", self.argv(), log_path=self.dir / "dnsmasq.log")
        self.process.start()
        self.process.wait_tcp(self.address, self.port, timeout)
        self.check()

    def check(self) -> None:
        """Every record answers, and names not given are NXDOMAIN (no forwarding)."""
        for name, *_ in self.srv_records:
            self._expect(name, TYPE_SRV, rcode=0, answers=True)
        for name, _ip in self.a_records:
            self._expect(name, TYPE_A, rcode=0, answers=True)
        self._expect(f"no-such-name.{self.zone}", TYPE_A, rcode=3, answers=False)

    def _expect(self, name: str, qtype: int, *, rcode: int, answers: bool) -> None:
        try:
            got_rcode, count = query(self.address, self.port, name, qtype)
        except OSError as e:
            raise HarnessError(f"dnsmasq does not answer {name}: {e}\n{self.logs_text()}") from e
        if got_rcode != rcode or (count > 0) != answers:
            raise HarnessError(f"dnsmasq: {name} type {qtype}: rcode {got_rcode}, {count} "
                               f"answers (wanted rcode {rcode}, answers {answers})\n"
                               f"{self.logs_text()}")

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def query_log(self) -> str:
        """What dnsmasq logged (every query, with --log-queries)."""
        try:
            return (self.dir / "dnsmasq.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs_text(self, lines: int = 40) -> str:
        return self.process.logs_text(lines) if self.process else "(dnsmasq not started)"
