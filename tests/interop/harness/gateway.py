"""fedgw-gateway in a scenario: the XMPP <-> SIP translator, between fedgw-proxy and Kamailio.

FedgwGateway writes a fedgw.toml with a [gateway] section (config/fedgw.toml.example documents
every key) into its own dir under the work dir and runs gateway/app/fedgw-gateway from the
build dir with `--config`:
  - listen: the address:port the proxy's link dials (mutual TLS under the test CA: the
    gateway presents `cert`, and the proxy's client certificate must carry `proxy_name`);
  - domains: the SIP domains it fronts; [gateway.sip] listen / next_hops / trusted: where it
    receives SIP, the SIP platform (Kamailio) it sends to, who else may send to it;
  - [gateway.timers]: short SIP timers (T1 100 ms: a transaction times out after 6.4 s, not
    32 s) and the refresh fraction; [registry] path: a Registry (registry.py) the scenario
    wrote, the master copy whose policy the gateway sends the proxy over the link;
  - [log] level debug: its key=value lines on stderr are what ExpectLog and NoLog read.
It is ready when its log shows `event=gateway.ready`. stop() is SIGTERM (then SIGKILL after a
grace period); stop_cleanly() also demands exit status 0, `gateway.stopped` and a log free of
sanitizer reports and of gateway.loop_not_clean.
start() may be called again after a stop, on the same configuration and registry (a restart):
each run logs to its own file (gateway-1.log, gateway-2.log, ...), so waiting for the second
run's gateway.ready does not find the first run's; log_text() is every run's log in order.

A missing binary FAILS the case at construction, naming the path: the interop tier never skips.
"""

import signal
import time
from pathlib import Path
from typing import Iterable

from .ca import Cert
from .errors import HarnessError, StepFailure
from .fedgw import toml_str
from .process import ManagedProcess, require_free, tail
from .registry import Registry

GATEWAY_BINARY = "gateway/app/fedgw-gateway"

DEFAULT_TIMERS = {"t1": "100ms", "t2": "1s", "t4": "1s", "refresh_fraction": 0.5,
                  "shutdown_grace": "2s"}


def _sip_host_port(addr: str) -> tuple[str, str, int]:
    """("udp", "127.0.0.5", 5060) from "udp:127.0.0.5:5060"."""
    try:
        transport, host, port = addr.split(":")
        return transport, host, int(port)
    except ValueError:
        raise HarnessError(f"a SIP address is transport:IPv4:port, not {addr!r}") from None


class FedgwGateway:
    """fedgw-gateway for `domains`, its link on address:port, SIP on `sip_listen`."""

    def __init__(self, workdir: Path, build_dir: Path, *, domains: list[str], address: str,
                 cert: Cert, ca_file: Path, proxy_name: str, registry: Registry,
                 sip_listen: list[str], next_hops: list[str], port: int = 23456,
                 trusted: Iterable[str] = (), log_level: str = "debug",
                 timers: dict | None = None, name: str = "fedgw-gateway"):
        self.name = name
        self.address = address  # the link's address and port: what FedgwProxy dials
        self.port = port
        self.domains = list(domains)
        self.registry = registry
        self.sip_listen = [_sip_host_port(a) for a in sip_listen]
        self.binary = Path(build_dir) / GATEWAY_BINARY
        if not self.binary.is_file():
            raise HarnessError(f"{self.binary} does not exist: fedgw-gateway is not built "
                               f"(ninja -C {build_dir}), or this tree does not have "
                               f"gateway/app yet")
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=False)
        self.config_path = self.dir / "fedgw.toml"
        self.control_socket = self.dir / "gateway.sock"
        if len(str(self.control_socket).encode()) > 107:
            raise HarnessError(f"{self.control_socket}: longer than a Unix socket path may be")
        t = dict(DEFAULT_TIMERS)
        t.update(timers or {})

        def value(v: object) -> str:
            return str(v) if isinstance(v, (int, float)) else toml_str(v)

        def str_list(items: Iterable[str]) -> str:
            return "[" + ", ".join(toml_str(i) for i in items) + "]"

        self.config_path.write_text("\n".join([
            "# Written by the fedgw interop harness (tests/interop/harness/gateway.py)",
            "[log]",
            f"level = {toml_str(log_level)}",
            "[registry]",
            f"path = {toml_str(registry.path)}",
            "[gateway]",
            f"listen = [{toml_str(f'{address}:{port}')}]",
            f"control_socket = {toml_str(self.control_socket)}",
            f"domains = {str_list(self.domains)}",
            f"cert = {toml_str(cert.chain)}",
            f"key = {toml_str(cert.key)}",
            f"ca = {toml_str(ca_file)}",
            f"proxy_name = {toml_str(proxy_name)}",
            "[gateway.sip]",
            f"listen = {str_list(sip_listen)}",
            f"next_hops = {str_list(next_hops)}",
            f"trusted = {str_list(trusted)}",
            "[gateway.timers]",
            *[f"{k} = {value(v)}" for k, v in t.items()],
            "",
        ]))
        self.runs: list[ManagedProcess] = []

    @property
    def process(self) -> ManagedProcess | None:
        """The current (last started) run."""
        return self.runs[-1] if self.runs else None

    def argv(self) -> list[str]:
        return [str(self.binary), "--config", str(self.config_path)]

    # Life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start a run without waiting (wait_ready() or sc.start(gw) waits)."""
        if self.process is not None and self.process.is_running():
            raise HarnessError(f"{self.name}: already running")
        require_free(self.address, self.port, self.name)
        for transport, host, port in self.sip_listen:
            require_free(host, port, f"{self.name} SIP", udp=transport == "udp",
                         tcp=transport != "udp")
        n = len(self.runs) + 1
        proc = ManagedProcess(self.name if n == 1 else f"{self.name} (run {n})", self.argv(),
                              log_path=self.dir / f"gateway-{n}.log")
        self.runs.append(proc)
        proc.start()

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until this run logs gateway.ready; fails with the log if it exits first."""
        self.wait_log(r"event=gateway\.ready", timeout)

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        """A line of the current run's log matching the regex (waits)."""
        if self.process is None:
            raise HarnessError(f"{self.name}: not started")
        return self.process.wait_log(pattern, timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def stop_cleanly(self, timeout: float = 5.0) -> None:
        """SIGTERM; the gateway must exit 0 within `timeout` with no sanitizer report in its
        log (else StepFailure with the log)."""
        if self.process is None or self.process.proc is None:
            raise HarnessError(f"{self.name}: not started")
        proc = self.process.proc
        if proc.poll() is not None:
            raise StepFailure(f"{self.name} had already exited with status {proc.returncode}\n"
                              f"{self.logs_text()}")
        started = time.monotonic()
        self.process.stop(grace=timeout)
        took = time.monotonic() - started
        problems = []
        if proc.returncode != 0:
            problems.append(f"exit status {proc.returncode}, expected 0")
        if took >= timeout:
            problems.append(f"still running {timeout:.0f} s after SIGTERM")
        text = tail(self.process.log_path, 10_000)
        for bad in ("gateway.loop_not_clean", "AddressSanitizer", "LeakSanitizer",
                    "runtime error:"):
            if bad in text:
                problems.append(f"its log shows {bad}")
        if "event=gateway.stopped" not in text:
            problems.append("no gateway.stopped in its log")
        if problems:
            raise StepFailure(f"{self.name} did not stop cleanly on SIGTERM: "
                              f"{'; '.join(problems)}\n{self.logs_text()}")

    def restart(self, timeout: float = 15.0) -> None:
        """stop_cleanly(), then a new run on the same configuration and registry, ready."""
        self.stop_cleanly()
        self.start()
        self.wait_ready(timeout)

    def reload(self) -> None:
        """SIGHUP to the current run."""
        if self.process is None or self.process.proc is None:
            raise HarnessError(f"{self.name}: not started")
        self.process.proc.send_signal(signal.SIGHUP)

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    # Logs ---------------------------------------------------------------------------------------

    def log_text(self) -> str:
        """Every run's log, in order."""
        parts = []
        for run in self.runs:
            try:
                parts.append(run.log_path.read_text(errors="replace"))
            except FileNotFoundError:
                pass
        return "".join(parts)

    def logs_text(self, lines: int = 60) -> str:
        if not self.runs:
            return f"({self.name} not started)"
        parts = [f"----- {self.name}: last {lines} lines of {run.log_path} -----\n"
                 f"{tail(run.log_path, lines)}" for run in self.runs[-2:]]
        parts.append(f"----- {self.name}: config -----\n{self.config_path.read_text()}")
        return "\n".join(parts)
