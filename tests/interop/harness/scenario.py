"""Scenario runner and step DSL (biboumi's end-to-end steps, Prosody's scansion).

A Scenario owns everything one case starts: a temp dir, CAs, dnsmasq, servers, clients. It
stops and removes all of it when the case ends, passed or failed, and on failure prints what
went wrong with the log tails of every server and the stanza trace of every client. A global
deadline (SIGALRM) bounds the whole case; SIGTERM and SIGINT (meson's timeout, Ctrl-C) also
clean up before exiting. A machine-wide lock file runs one case at a time, so interop runs from
several worktrees or build dirs wait for each other instead of fighting over addresses.

Steps (run with `sc.run([...])`); `actor` is the name given to `sc.client(name, ...)`:
  Send(actor, xml)                         send one stanza
  Expect(actor, template_or_predicate,     wait for a matching stanza (see xmlmatch.py)
         timeout=5, description=None, save=None)   `save` keeps it in sc.saved[save]
  ExpectNothing(actor, spec=None, within=1)    no matching stanza arrives for `within` s
  ExpectLog(server, regex, timeout=5)      a line of the server's log matches (waits)
  NoLog(server, regex)                     no line of the server's log matches (now)
  Do(description, fn)                      fn(sc), for anything else
  Ping(actor, to=None)                     XEP-0199 round trip (to a remote JID crosses s2s)
Strings in Send and Expect are formatted with the actors: `{bob.jid}` is bob's bare JID,
`{bob.full_jid}` the bound full JID; write `{{` and `}}` for literal braces.
"""

import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from .ca import Ca
from .dns import Dnsmasq
from .errors import HarnessError, ScenarioTimeout, StepFailure, Terminated
from .fedgw import FedgwProxy, LinkEndpoint
from .gateway import FedgwGateway
from .kamailio import Kamailio
from .mountns import PrivateDns
from .process import ManagedProcess, sweep_stale_workdirs
from .prosody import Prosody
from .registry import Registry
from .sip import SipEndpoint
from .sipp import SipUser
from .xmlmatch import MatcherLike
from .xmpp import LoopThread, XmppClient


WORKDIR_PREFIX = "fedgw-interop-"


class Server(Protocol):
    name: str

    def stop(self) -> None: ...

    def logs_text(self, lines: int = 40) -> str: ...


# Steps -----------------------------------------------------------------------------------------

@dataclass
class Send:
    actor: str
    xml: str

    def describe(self) -> str:
        return f"{self.actor} sends {self.xml}"


@dataclass
class Expect:
    actor: str
    spec: MatcherLike
    timeout: float = 5.0
    description: str | None = None
    save: str | None = None

    def describe(self) -> str:
        what = self.description or (self.spec if isinstance(self.spec, str)
                                    else getattr(self.spec, "description", "a stanza"))
        return f"{self.actor} expects {what}"


@dataclass
class ExpectNothing:
    actor: str
    spec: MatcherLike | None = None
    within: float = 1.0
    description: str | None = None

    def describe(self) -> str:
        what = self.description or (self.spec if isinstance(self.spec, str)
                                    else getattr(self.spec, "description", "any stanza"))
        return f"{self.actor} expects no {what} for {self.within:.1f} s"


@dataclass
class ExpectLog:
    server: Any
    pattern: str
    timeout: float = 5.0

    def describe(self) -> str:
        return f"{self.server.name} logs /{self.pattern}/"


@dataclass
class NoLog:
    server: Any
    pattern: str

    def describe(self) -> str:
        return f"{self.server.name} has not logged /{self.pattern}/"


@dataclass
class Do:
    description: str
    fn: Callable[["Scenario"], None]

    def describe(self) -> str:
        return self.description


@dataclass
class Ping:
    actor: str
    to: str | None = None
    timeout: float = 5.0

    def describe(self) -> str:
        return f"{self.actor} pings {self.to or 'its server'}"


Step = Send | Expect | ExpectNothing | ExpectLog | NoLog | Do | Ping


def _log_lines(server: Any) -> list[str]:
    text = server.log_text() if hasattr(server, "log_text") else ""
    return text.splitlines()


# The scenario ----------------------------------------------------------------------------------

class Scenario:
    """One case: build the world with the factory methods, then sc.run(steps)."""

    def __init__(self, name: str, *, keep: bool = False):
        self.name = name
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{name.replace('/', '-')}-"))
        (self.workdir / "owner").write_text(f"{os.getpid()}\n")  # see sweep_stale_workdirs
        self.t0 = time.monotonic()
        self.servers: list[Server] = []
        self.clients: dict[str, XmppClient] = {}
        self.saved: dict[str, Any] = {}
        self._loop: LoopThread | None = None

    # Environment -------------------------------------------------------------------------------

    @property
    def build_dir(self) -> Path:
        """The meson build dir (FEDGW_BUILD_DIR, set by tests/interop/meson.build)."""
        value = os.environ.get("FEDGW_BUILD_DIR")
        if not value:
            raise HarnessError("FEDGW_BUILD_DIR is not set; run through `meson test` or export "
                               "it as the path of your build dir")
        return Path(value)

    @property
    def source_dir(self) -> Path:
        value = os.environ.get("FEDGW_SOURCE_DIR")
        return Path(value) if value else Path(__file__).resolve().parents[3]

    def log(self, message: str) -> None:
        print(f"[{self.name} {time.monotonic() - self.t0:7.3f}] {message}", flush=True)

    # Factories ---------------------------------------------------------------------------------

    def ca(self, label: str = "ca", **kwargs: Any) -> Ca:
        return Ca(self.workdir, label, **kwargs)

    def dnsmasq(self, **kwargs: Any) -> Dnsmasq:
        dns = Dnsmasq(self.workdir, **kwargs)
        self.servers.append(dns)
        return dns

    def prosody(self, domain: str, address: str, **kwargs: Any) -> Prosody:
        server = Prosody(self.workdir, domain, address, **kwargs)
        self.servers.append(server)
        return server

    def kamailio(self, domain: str = "sip.test", address: str = "127.0.0.4",
                 **kwargs: Any) -> Kamailio:
        """A private Kamailio (registrar, presence, MESSAGE router); see kamailio.py."""
        server = Kamailio(self.workdir, domain, address, **kwargs)
        self.servers.append(server)
        return server

    def sip_user(self, name: str, kamailio: Kamailio, user: str | None = None,
                 **kwargs: Any) -> SipUser:
        """user@kamailio.domain played by sipp (see sipp.py); stopped with the scenario."""
        u = SipUser(self.workdir, name, user or name, kamailio, **kwargs)
        self.servers.append(u)
        return u

    def sip_endpoint(self, name: str, host: str, port: int = 0, **kwargs: Any) -> SipEndpoint:
        """A started Python UDP SIP endpoint (see sip.py), e.g. a fake gateway next hop; its
        message trace is part of the failure report."""
        kwargs.setdefault("trace_path", self.workdir / f"{name}.sip.log")
        ep = SipEndpoint(name, host, port, **kwargs)
        self.servers.append(ep)
        ep.start()
        self.log(f"{name} listening on UDP {ep.address}")
        return ep

    def process(self, name: str, argv: list[str], **kwargs: Any) -> ManagedProcess:
        """A process the scenario owns (started by the caller; stopped at the end)."""
        proc = ManagedProcess(name, argv, log_path=self.workdir / f"{name}.log", **kwargs)
        self.servers.append(proc)
        return proc

    def link_endpoint(self, **kwargs: Any) -> LinkEndpoint:
        """The stand-in gateway end of the proxy<->gateway link (see fedgw.py)."""
        ep = LinkEndpoint(self.workdir, self.build_dir, **kwargs)
        self.servers.append(ep)
        return ep

    def fedgw_proxy(self, **kwargs: Any) -> FedgwProxy:
        """fedgw-proxy from the build dir, for one local domain (see fedgw.py)."""
        proxy = FedgwProxy(self.workdir, self.build_dir, **kwargs)
        self.servers.append(proxy)
        return proxy

    def fedgw_gateway(self, **kwargs: Any) -> FedgwGateway:
        """fedgw-gateway from the build dir (see gateway.py); a missing binary FAILS here."""
        gw = FedgwGateway(self.workdir, self.build_dir, **kwargs)
        self.servers.append(gw)
        return gw

    def registry(self, name: str = "registry") -> Registry:
        """A new registry file NAME.sqlite in the work dir, with the repository's schema
        (see registry.py)."""
        return Registry(self.workdir / f"{name}.sqlite", self.source_dir / "schema")

    def private_dns(self, dns: Dnsmasq, hosts: dict[str, str] | None = None) -> PrivateDns:
        return PrivateDns(self.workdir, dns, hosts)

    def start(self, *servers: Any, timeout: float = 15.0) -> None:
        """Start several servers together, then wait until each is ready."""
        for s in servers:
            s.start()
        for s in servers:
            if hasattr(s, "wait_ready"):
                s.wait_ready(timeout)
        self.log("started " + ", ".join(s.name for s in servers))

    def client(self, name: str, server: Prosody, user: str, password: str | None = None,
               *, timeout: float = 10.0, **kwargs: Any) -> XmppClient:
        """A logged-in client of `server`, known to steps as `name`."""
        if name in self.clients:
            raise HarnessError(f"two clients named {name}")
        if self._loop is None:
            self._loop = LoopThread()
        password = password if password is not None else server.users.get(user)
        if password is None:
            raise HarnessError(f"{user}@{server.domain} has no password; add_user() it first")
        c = XmppClient(self._loop, name, server.jid(user), password, address=server.address,
                       port=server.c2s_port, cafile=kwargs.pop("cafile", server.cert.ca_file),
                       **kwargs)
        self.clients[name] = c
        c.connect(timeout)
        self.log(f"{name} logged in as {c.full_jid}")
        return c

    # Steps -------------------------------------------------------------------------------------

    def _format(self, text: str) -> str:
        return text.format(**self.clients)

    def run(self, steps: list[Step]) -> None:
        for i, step in enumerate(steps, 1):
            started = time.monotonic()
            self.log(f"step {i}: {step.describe()}")
            try:
                self._run_step(step)
            except StepFailure as e:
                raise StepFailure(f"step {i} failed: {step.describe()}\n{e}") from None
            except HarnessError as e:
                raise HarnessError(f"step {i} failed: {step.describe()}\n{e}") from None
            took = time.monotonic() - started
            if took > 0.5:
                self.log(f"step {i}: done in {took:.2f} s")

    def _actor(self, name: str) -> XmppClient:
        try:
            return self.clients[name]
        except KeyError:
            raise HarnessError(f"no client named {name!r}; known: {sorted(self.clients)}") from None

    def _run_step(self, step: Step) -> None:
        if isinstance(step, Send):
            self._actor(step.actor).send(self._format(step.xml))
        elif isinstance(step, Expect):
            spec = self._format(step.spec) if isinstance(step.spec, str) else step.spec
            el = self._actor(step.actor).expect(spec, step.timeout, step.description)
            if step.save:
                self.saved[step.save] = el
        elif isinstance(step, ExpectNothing):
            spec = self._format(step.spec) if isinstance(step.spec, str) else step.spec
            self._actor(step.actor).expect_nothing(spec, step.within, step.description)
        elif isinstance(step, ExpectLog):
            rx = re.compile(step.pattern)
            deadline = time.monotonic() + step.timeout
            while not any(rx.search(line) for line in _log_lines(step.server)):
                if time.monotonic() > deadline:
                    raise StepFailure(f"{step.server.name} did not log /{step.pattern}/ within "
                                      f"{step.timeout:.1f} s")
                time.sleep(0.05)
        elif isinstance(step, NoLog):
            rx = re.compile(step.pattern)
            hits = [line for line in _log_lines(step.server) if rx.search(line)]
            if hits:
                raise StepFailure(f"{step.server.name} logged /{step.pattern}/:\n"
                                  + "\n".join(hits[:10]))
        elif isinstance(step, Ping):
            to = self._format(step.to) if step.to else None
            self._actor(step.actor).ping(to, step.timeout)
        elif isinstance(step, Do):
            step.fn(self)
        else:
            raise HarnessError(f"unknown step {step!r}")

    # End ---------------------------------------------------------------------------------------

    def finish(self) -> None:
        """The orderly end of a passing case: every client pings and closes its stream."""
        for c in self.clients.values():
            c.close()

    def failure_report(self, exc: BaseException) -> str:
        parts = [f"FAIL {self.name}: {type(exc).__name__}", str(exc)]
        if not isinstance(exc, (StepFailure, HarnessError, ScenarioTimeout, Terminated)):
            parts.append("".join(traceback.format_exception(exc)))
        for c in self.clients.values():
            parts.append(c.trace_text())
        for s in self.servers:
            parts.append(s.logs_text(40))
        parts.append(f"(work dir {self.workdir}"
                     + (" kept)" if self.keep else " removed; --keep keeps it)"))
        return "\n".join(parts)

    def cleanup(self) -> None:
        for c in self.clients.values():
            c.abort()
        if self._loop is not None:
            self._loop.stop()
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                print(f"cleanup: stopping {s.name} failed: {e}", file=sys.stderr)
        if self.keep:
            (self.workdir / "kept").touch()
            self.log(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


# Entry point -----------------------------------------------------------------------------------

def _raise(exc: type[BaseException], message: str) -> Callable[[int, Any], None]:
    def handler(_signum: int, _frame: Any) -> None:
        raise exc(message)
    return handler


LOCK_PATH = Path(tempfile.gettempdir()) / "fedgw-interop.lock"
_lock_depth = 0


@contextlib.contextmanager
def machine_lock(timeout: float = 100.0) -> Iterator[None]:
    """One interop case at a time on the whole machine: cases of different worktrees and
    build dirs would fight over 127.0.0.x:5269 and 127.0.0.254:53. Re-entrant in a process."""
    global _lock_depth
    if _lock_depth:
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    fd = os.open(LOCK_PATH, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    print(f"waiting for {LOCK_PATH}: another interop run is going on", flush=True)
                    waited = True
                if time.monotonic() > deadline:
                    raise HarnessError(f"{LOCK_PATH} still held by another interop run after "
                                       f"{timeout:.0f} s") from None
                time.sleep(0.2)
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0
    finally:
        os.close(fd)  # releases the lock


def run_case(name: str, fn: Callable[[Scenario], None], *, timeout: float,
             keep: bool = False) -> bool:
    """Run one case under the machine lock and its own deadline; True when it passed.
    An enclosing deadline (a case running cases, as the self-test does) is restored after."""
    with machine_lock():
        outer_handler = signal.getsignal(signal.SIGALRM)
        outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
        started = time.monotonic()
        sweep_stale_workdirs(f"{WORKDIR_PREFIX}*")
        sc = Scenario(name, keep=keep)
        sc.log(f"work dir {sc.workdir}, deadline {timeout:.0f} s")
        signal.signal(signal.SIGALRM, _raise(ScenarioTimeout, f"{name}: the scenario took more "
                                             f"than {timeout:.0f} s"))
        signal.setitimer(signal.ITIMER_REAL, timeout)
        ok = False
        try:
            fn(sc)
            sc.finish()
            ok = True
        except BaseException as e:  # noqa: BLE001 - report everything, then clean up
            signal.setitimer(signal.ITIMER_REAL, 0)
            print(sc.failure_report(e), flush=True)
            if isinstance(e, (KeyboardInterrupt, Terminated)):
                raise  # after cleanup (finally), main() stops running further cases
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sc.cleanup()
            signal.signal(signal.SIGALRM, outer_handler)
            if outer_left > 0:
                signal.setitimer(signal.ITIMER_REAL,
                                 max(0.001, outer_left - (time.monotonic() - started)))
        sc.log(("PASS" if ok else "FAIL") + f" in {time.monotonic() - sc.t0:.2f} s")
        return ok


def main(cases: dict[str, Callable[[Scenario], None]], *, timeout: float = 60.0) -> None:
    """Command line of a scenario file: `python3 file.py [--keep] [--list] [case ...]`.
    Runs the named cases (all by default) one after another; exits 1 if any failed."""
    args = sys.argv[1:]
    keep = "--keep" in args
    if "--list" in args:
        print("\n".join(cases))
        sys.exit(0)
    names = [a for a in args if not a.startswith("--")] or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown case(s) {unknown}; known: {list(cases)}", file=sys.stderr)
        sys.exit(2)
    script = Path(sys.argv[0]).stem
    signal.signal(signal.SIGTERM, _raise(Terminated, "terminated by SIGTERM"))
    signal.signal(signal.SIGINT, _raise(Terminated, "interrupted by SIGINT"))
    try:
        failed = [n for n in names
                  if not run_case(f"{script}/{n}", cases[n], timeout=timeout, keep=keep)]
    except (Terminated, KeyboardInterrupt) as e:
        print(f"FAILED: {e}", flush=True)
        sys.exit(1)
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        sys.exit(1)
