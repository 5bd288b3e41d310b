"""fedgw's own programs in a scenario: fedgw-proxy and the stand-in gateway fedgw-link-endpoint
(the real fedgw-gateway is gateway.py's FedgwGateway; FedgwProxy dials either).

FedgwProxy writes a fedgw.toml (config/fedgw.toml.example documents every key) into its own
dir under the work dir: one local domain with its certificate, the scenario's dnsmasq as its
only DNS server (`dns_servers`, so no private mount namespace is needed), the test CA as its
trust file, a registry file of its own, log level debug, short timers; and the link to a
LinkEndpoint. Its log (key=value lines on stderr) is what ExpectLog and NoLog read.

LinkEndpoint runs tools/link_endpoint: it listens for the proxy's link with mutual TLS, sends
the registry snapshot it is given (common/registry/policy.hpp to_json/policy_from_json) when
the proxy connects, prints every stanza it receives as a JSON line and sends the stanzas
written to its stdin. expect() waits for a JSON line (an "event") and takes it; lines stay
available to later expectations until one takes them, like a client's inbox.

Both binaries come from the build dir (FEDGW_BUILD_DIR); a missing one FAILS the case.
"""

import json
import signal
import time
from pathlib import Path
from typing import Any, Callable

from .ca import Cert
from .dns import Dnsmasq
from .errors import HarnessError, StepFailure
from .process import ManagedProcess, require_free, tail


def _binary(build_dir: Path, rel: str) -> Path:
    path = Path(build_dir) / rel
    if not path.is_file():
        raise HarnessError(f"{path} does not exist: build fedgw first (ninja -C {build_dir})")
    return path


def toml_str(s: Any) -> str:
    return json.dumps(str(s))  # a JSON string is a valid TOML basic string


def partner(domain: str, *, type: str = "federated", tls: str = "required",
            sasl: str = "optional", dialback: bool = True, **extra: Any) -> dict:
    """One partner of a registry snapshot (common/registry/partner.hpp names)."""
    p = {"domain": domain, "type": type, "tls": tls, "sasl": sasl, "dialback": dialback}
    p.update(extra)
    return p


def snapshot(partners: list[dict], *, blocked: list[tuple[str, str]] = (),
             federation_mode: str = "allow-list", version: int = 1, **settings: Any) -> dict:
    """A registry snapshot as the gateway sends it to the proxy (the link frame's version,
    not this one, is what the proxy records)."""
    s = {"dialback_secret": "interop-dialback-secret-0123456789abcdef",
         "federation_mode": federation_mode,
         "stream_establishment_timeout_s": 20,
         "stanza_rate_per_s": 100}
    s.update(settings)
    return {"version": version, "partners": partners,
            "blocked": [{"domain": d, "reason": r} for d, r in blocked],
            "settings": s}


class LinkEndpoint:
    """The stand-in gateway end of the proxy<->gateway link, driven through JSON lines."""

    def __init__(self, workdir: Path, build_dir: Path, *, address: str, port: int, cert: Cert,
                 ca_file: Path, proxy_name: str, registry: dict | None = None,
                 name: str = "link-endpoint", window: int | None = None):
        self.name = name
        self.address = address
        self.port = port
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=False)
        self.binary = _binary(build_dir, "tools/link_endpoint/fedgw-link-endpoint")
        self.registry_path = self.dir / "registry.json"
        self.argv = [str(self.binary), "--listen", f"{address}:{port}", "--cert", str(cert.chain),
                     "--key", str(cert.key), "--ca", str(ca_file), "--proxy-name", proxy_name,
                     "--log-level", "debug"]
        if window is not None:
            self.argv += ["--window", str(window)]  # STANZA frames the proxy may have in flight
        if registry is not None:
            self.registry_path.write_text(json.dumps(registry, indent=1))
            self.argv += ["--registry", str(self.registry_path)]
        self.log_path = self.dir / "endpoint.log"
        self.process: ManagedProcess | None = None
        self._taken: set[int] = set()

    def start(self) -> None:
        require_free(self.address, self.port, self.name)
        self.process = ManagedProcess(self.name, self.argv, log_path=self.log_path,
                                      stdin_pipe=True)
        self.process.start()

    def wait_ready(self, timeout: float = 10.0) -> None:
        assert self.process is not None
        self.process.wait_log(r'"event":"listening"', timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def update_registry(self, registry: dict) -> None:
        """A new snapshot: the endpoint re-reads its file on SIGHUP and sends it (version + 1)
        to every proxy."""
        if "--registry" not in self.argv:
            raise HarnessError(f"{self.name} was started without a registry")
        assert self.process is not None and self.process.proc is not None
        self.registry_path.write_text(json.dumps(registry, indent=1))
        self.process.proc.send_signal(signal.SIGHUP)

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    # JSON lines ---------------------------------------------------------------------------------

    def lines(self) -> list[dict]:
        """Every JSON line printed so far (log lines on stderr are skipped)."""
        out = []
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line still being written
        return out

    def send(self, xml: str, local: str, partner: str | None = None) -> None:
        """Send one stanza to the proxy as the gateway would."""
        line = {"xml": xml, "local": local}
        if partner:
            line["partner"] = partner
        assert self.process is not None
        self.process.write_stdin(json.dumps(line) + "\n")

    def expect(self, pred: Callable[[dict], bool], timeout: float = 5.0,
               description: str = "a line") -> dict:
        """Wait for a JSON line matching `pred` not taken yet; take it and return it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.lines()):
                if i not in self._taken and pred(line):
                    self._taken.add(i)
                    return line
            if time.monotonic() > deadline:
                raise StepFailure(f"{self.name} expected {description} within {timeout:.1f} s; "
                                  f"its lines not taken yet:\n{self._pending_text()}")
            if self.process is not None and not self.process.is_running():
                raise StepFailure(f"{self.name} exited while expecting {description}\n"
                                  f"{self.logs_text()}")
            time.sleep(0.05)

    def expect_nothing(self, pred: Callable[[dict], bool], within: float = 1.0,
                       description: str = "a line") -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines()):
                if i not in self._taken and pred(line):
                    raise StepFailure(f"{self.name} expected no {description}, got {line}")
            time.sleep(0.05)

    def _pending_text(self) -> str:
        rest = [json.dumps(x) for i, x in enumerate(self.lines()) if i not in self._taken]
        return "\n".join(f"  {x}" for x in rest[-20:]) or "  (none)"

    def logs_text(self, lines: int = 40) -> str:
        return self.process.logs_text(lines) if self.process else f"({self.name} not started)"


class FedgwProxy:
    """fedgw-proxy serving a local domain (and `extra_domains`, each with its certificate) on
    address:5269, and with `direct_tls_port` on address:direct_tls_port as well (XEP-0368
    direct TLS, `direct_tls_listen`)."""

    def __init__(self, workdir: Path, build_dir: Path, *, domain: str, address: str, cert: Cert,
                 trust_file: Path, dns: Dnsmasq, link: Any, link_cert: Cert,
                 link_ca: Path, link_name: str, port: int = 5269, log_level: str = "debug",
                 timers: dict[str, str] | None = None, name: str | None = None,
                 extra_domains: list[tuple[str, Cert]] = (),
                 registry_path: Path | None = None, direct_tls_port: int | None = None):
        self.domain = domain
        self.address = address
        self.port = port
        self.direct_tls_port = direct_tls_port
        self.name = name or f"fedgw-proxy {domain}"
        self.dir = Path(workdir) / f"fedgw-proxy-{domain}"
        self.dir.mkdir(parents=True, exist_ok=False)
        self.binary = _binary(build_dir, "proxy/app/fedgw-proxy")
        self.config_path = self.dir / "fedgw.toml"
        self.log_path = self.dir / "proxy.log"
        # Its own file by default (a split deployment); one host may share the gateway's.
        self.registry_path = Path(registry_path) if registry_path else self.dir / "registry.sqlite"
        t = {"dialback": "5s", "dns": "1s", "connect": "3s", "reconnect_min": "200ms",
             "reconnect_max": "1s", "shutdown_grace": "2s"}
        t.update(timers or {})
        dns_server = dns.address if dns.port == 53 else f"{dns.address}:{dns.port}"
        self.config_path.write_text("\n".join([
            "# Written by the fedgw interop harness (tests/interop/harness/fedgw.py)",
            "[log]",
            f"level = {toml_str(log_level)}",
            "[registry]",
            f"path = {toml_str(self.registry_path)}",
            "[proxy]",
            f"listen = [{toml_str(f'{address}:{port}')}]",
            *([f"direct_tls_listen = [{toml_str(f'{address}:{direct_tls_port}')}]"]
              if direct_tls_port else []),
            f"control_socket = {toml_str(self.dir / 'proxy.sock')}",
            f"trust_file = {toml_str(trust_file)}",
            f"dns_servers = [{toml_str(dns_server)}]",
            *[line for d, c in [(domain, cert), *extra_domains] for line in (
                "[[proxy.domain]]",
                f"name = {toml_str(d)}",
                f"cert = {toml_str(c.chain)}",
                f"key = {toml_str(c.key)}")],
            "[proxy.gateway_link]",
            f"address = {toml_str(f'{link.address}:{link.port}')}",
            f"name = {toml_str(link_name)}",
            f"cert = {toml_str(link_cert.chain)}",
            f"key = {toml_str(link_cert.key)}",
            f"ca = {toml_str(link_ca)}",
            "[proxy.timers]",
            *[f"{k} = {toml_str(v)}" for k, v in t.items()],
            "",
        ]))
        self.process: ManagedProcess | None = None

    def start(self) -> None:
        require_free(self.address, self.port, self.name)
        if self.direct_tls_port:
            require_free(self.address, self.direct_tls_port, self.name)
        self.process = ManagedProcess(self.name, [str(self.binary), "--config",
                                                  str(self.config_path)],
                                      log_path=self.log_path)
        self.process.start()

    def wait_ready(self, timeout: float = 10.0) -> None:
        assert self.process is not None
        self.process.wait_tcp(self.address, self.port, timeout)

    def wait_log(self, pattern: str, timeout: float = 10.0) -> str:
        assert self.process is not None
        return self.process.wait_log(pattern, timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def reload(self) -> None:
        """SIGHUP: the proxy re-reads its configuration and certificates."""
        assert self.process is not None and self.process.proc is not None
        self.process.proc.send_signal(signal.SIGHUP)

    def stop_cleanly(self, timeout: float = 5.0) -> None:
        """SIGTERM; the proxy must close its streams, exit 0 within `timeout` and leave its
        event loop clean (else StepFailure with the log)."""
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
            problems.append(f"exit status {proc.returncode}")
        if took >= timeout:
            problems.append(f"still running {timeout:.0f} s after SIGTERM")
        text = self.log_text()
        for bad in ("proxy.loop_not_clean", "AddressSanitizer", "runtime error:"):
            if bad in text:
                problems.append(f"its log shows {bad}")
        if "event=proxy.stopped" not in text:
            problems.append("no proxy.stopped in its log")
        if problems:
            raise StepFailure(f"{self.name} did not stop cleanly: {'; '.join(problems)}\n"
                              f"{self.logs_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs_text(self, lines: int = 60) -> str:
        if not self.process:
            return f"({self.name} not started)"
        return (f"----- {self.name}: last {lines} lines of {self.log_path} -----\n"
                f"{tail(self.log_path, lines)}\n----- {self.name}: config -----\n"
                f"{self.config_path.read_text()}")
