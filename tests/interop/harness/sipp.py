"""SIP users played by sipp (package sip-tester), against a Kamailio of the harness.

Each action of a SipUser is one sipp run of a scenario file from tests/interop/sipp/, one
call (`-m 1`), over UDP from the user's own loopback address:
  register()          REGISTER with the user's Contact (its UAS port)        register.xml
  send_message()      MESSAGE (RFC 3428), expecting a given final response    message.xml
  receive_messages()  the user's UAS: answers MESSAGEs (200 or another code)  uas_message.xml
  publish()           PUBLISH (RFC 3903) of a PIDF document; returns SIP-ETag publish.xml
  watch()             SUBSCRIBE to a presentity, first NOTIFY, unsubscribe,   subscribe.xml
  start_watch()       terminating NOTIFY (start_watch: in the background)
  start_watch_until() SUBSCRIBE, answer NOTIFYs until they have shown each    watch.xml
                      state of a list in turn (regexps), unsubscribe
  unpublish()         PUBLISH Expires: 0 of the last publication (no body)    unpublish.xml
Runtime values reach sipp as `-key NAME VALUE` ([NAME] in the file); what sipp cannot take
at runtime (response codes in <recv response> and status lines, optional header lines) is
written into a copy of the file as @NAME@ placeholders. What was sent and received is read
back from sipp's message trace (`-trace_msg`), so assertions see the real messages; a run that
does not get what it expects FAILS with the exchange and sipp's error log.

sipp notes: it ends every body line with CRLF, so a body "hi" goes out as "hi\\r\\n"; it
matches incoming requests to its calls by Call-ID, so a UAS is a separate sipp run (in server
mode on the Contact port), and PUBLISH and SUBSCRIBE in one scenario would share a Call-ID.
"""

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

from .errors import HarnessError, StepFailure
from .kamailio import Kamailio
from .process import ManagedProcess, free_port, port_is_free, tail
from .sip import SipMessage, pidf_document

SIPP_DIR = Path(__file__).resolve().parents[1] / "sipp"

_SEPARATOR = re.compile(rb"^-{20,}[^\n]*\n", re.M)
_HEADING = re.compile(rb"^(UDP|TCP|TLS) message (sent|received)[^\n]*\n")


@dataclass
class TraceEntry:
    direction: str  # "sent" or "received"
    transport: str
    message: SipMessage


def parse_trace(path: Path) -> list[TraceEntry]:
    """The messages of a sipp -trace_msg file, in order (the "Unexpected ... received"
    repeats sipp writes for aborting messages are left out)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for chunk in _SEPARATOR.split(data):
        m = _HEADING.match(chunk)
        if not m:
            continue
        body = chunk[m.end():].lstrip(b"\n")
        try:
            msg = SipMessage.parse(body)
        except HarnessError:
            continue
        entries.append(TraceEntry(m.group(2).decode(), m.group(1).decode(), msg))
    return entries


def render_scenario(name: str, dest: Path, subst: dict[str, str]) -> Path:
    """Copy tests/interop/sipp/NAME.xml to dest with @KEY@ placeholders filled in."""
    src = SIPP_DIR / f"{name}.xml"
    try:
        text = src.read_text()
    except OSError as e:
        raise HarnessError(f"sipp scenario {src}: {e}") from e
    for key, value in subst.items():
        text = text.replace(f"@{key}@", value)
    left = sorted(set(re.findall(r"@([A-Z_]+)@", text)))
    if left:
        raise HarnessError(f"sipp scenario {src}: no value for {', '.join(left)}")
    dest.write_text(text)
    return dest


def _attr(text: str) -> str:
    """Text for an XML attribute value between double quotes."""
    return escape(text, {'"': "&quot;"})


_OK_TO_LAST = """    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>"""


MAX_NOTIFIES_PER_STAGE = 16


def _stages_xml(stages: list[str]) -> str:
    """The stages of watch.xml. Stage i receives NOTIFYs and answers each (sipp's regexp
    variable stageI is set once one matched stages[i]); the answer to the matching one jumps
    to stageI_done. Unrolled, at most MAX_NOTIFIES_PER_STAGE NOTIFYs, then a receive that
    nothing matches fails the call. Stage 1 starts by answering the NOTIFY that came after
    the SUBSCRIBE's response (label stage1_answer), which may already have matched."""
    out = []

    def recv(var: str, rx: str) -> str:
        return (f'  <recv request="NOTIFY">\n    <action>\n'
                f'      <ereg regexp="{_attr(rx)}" search_in="msg" check_it="false" '
                f'assign_to="{var}"/>\n    </action>\n  </recv>')

    def answer(var: str) -> str:
        return f'  <send test="{var}" next="{var}_done">\n{_OK_TO_LAST}\n  </send>'

    for i, rx in enumerate(stages, 1):
        var = f"stage{i}"
        for n in range(MAX_NOTIFIES_PER_STAGE):
            out.append(recv(var, rx))
            if i == 1 and n == 0:
                out.append('  <label id="stage1_answer"/>')
            out.append(answer(var))
        out.append(f'  <recv request="NO_NOTIFY_MATCHED_STAGE_{i}"/>')
        out.append(f'  <label id="{var}_done"/>')
    return "\n".join(out)


def stage_notifies(run: "SippRun", stages: list[str]) -> list[SipMessage]:
    """For a start_watch_until run: the NOTIFY that ended each stage, in order (as sipp
    matched them: the first NOTIFY after the previous stage's that matches the stage's
    regexp). StepFailure naming the stage when one was never seen."""
    notifies = run.received_requests("NOTIFY")
    out, i = [], 0
    for n, rx in enumerate(stages, 1):
        pattern = re.compile(rx, re.S)
        while i < len(notifies) and not pattern.search(str(notifies[i])):
            i += 1
        if i == len(notifies):
            seen = "\n".join(f"--- NOTIFY:\n{m}" for m in notifies) or "(no NOTIFY)"
            raise StepFailure(f"{run.name}: stage {n} expected a NOTIFY matching /{rx}/, "
                              f"saw:\n{seen}")
        out.append(notifies[i])
        i += 1
    return out


class SippRun:
    """One sipp process: one scenario, one call. start() then wait(), or run()."""

    def __init__(self, user: "SipUser", scenario: str, *, keys: dict[str, str],
                 subst: dict[str, str] | None = None, server_port: int | None = None,
                 timeout: float = 10.0):
        user.runs += 1
        stem = f"{user.runs:02d}-{scenario}"
        self.user = user
        self.scenario = scenario
        self.name = f"sipp {user.name} {stem}"
        self.timeout = timeout
        self.server_port = server_port
        self.file = render_scenario(scenario, user.dir / f"{stem}.xml", dict(subst or {}))
        self.trace_path = user.dir / f"{stem}.msg.log"
        self.error_path = user.dir / f"{stem}.err.log"
        argv = ["sipp", "-sf", str(self.file), "-i", user.address, "-bind_local", "-t", "u1",
                "-m", "1", "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
                "-default_behaviors", "abortunexp", "-trace_msg", "-message_file",
                str(self.trace_path), "-trace_err", "-error_file", str(self.error_path)]
        for k, v in {"user": user.user, "domain": user.domain, **keys}.items():
            argv += ["-key", k, v]
        if server_port is not None:
            argv += ["-p", str(server_port)]  # server mode: no remote host
        else:  # a port of its own (sipp would try 5060 first)
            host, port = user.kamailio.next_hop
            argv += ["-p", str(free_port(user.address, udp_too=True)), f"{host}:{port}"]
        self.process = ManagedProcess(self.name, argv, log_path=user.dir / f"{stem}.screen.log",
                                      extra_logs=[self.error_path])
        self.rc: int | None = None

    def start(self) -> "SippRun":
        if not shutil.which("sipp"):
            raise HarnessError("sipp is not installed (Debian: sip-tester)")
        self.process.start()
        if self.server_port is not None:  # listening before anyone sends to it
            deadline = time.monotonic() + 5
            while port_is_free(self.user.address, self.server_port, udp=True):
                self.process.check_alive(f"UDP {self.user.address}:{self.server_port}")
                if time.monotonic() > deadline:
                    raise HarnessError(f"{self.name}: not listening on UDP "
                                       f"{self.user.address}:{self.server_port}\n"
                                       f"{self.logs_text()}")
                time.sleep(0.02)
        return self

    def wait(self) -> int:
        """Until sipp exits (it enforces its own -timeout); its exit status (0: call passed)."""
        assert self.process.proc is not None, "not started"
        try:
            self.rc = self.process.proc.wait(self.timeout + 5)
        except subprocess.TimeoutExpired:  # sipp hung past its own -timeout
            self.process.stop()
            raise HarnessError(f"{self.name}: still running {self.timeout + 5:.0f} s later\n"
                               f"{self.logs_text()}") from None
        return self.rc

    def run(self) -> "SippRun":
        self.start()
        self.wait()
        return self

    def stop(self) -> None:
        self.process.stop()

    # What happened ------------------------------------------------------------------------------

    def trace(self) -> list[TraceEntry]:
        return parse_trace(self.trace_path)

    def sent(self, method: str | None = None) -> list[SipMessage]:
        return [e.message for e in self.trace() if e.direction == "sent" and
                e.message.is_request and (method is None or e.message.method == method)]

    def received_requests(self, method: str | None = None) -> list[SipMessage]:
        """Requests that came in, retransmissions left out (same Via branch and CSeq)."""
        out, seen = [], set()
        for e in self.trace():
            m = e.message
            if e.direction != "received" or not m.is_request:
                continue
            if method is not None and m.method != method:
                continue
            key = (m.top_branch, m.cseq)
            if key not in seen:
                seen.add(key)
                out.append(m)
        return out

    def wait_received(self, method: str, pred: Callable[[SipMessage], bool],
                      timeout: float = 10.0, description: str | None = None) -> SipMessage:
        """While sipp runs: poll its trace until a `method` request satisfying pred came in;
        returns it. StepFailure with what did come when it does not within `timeout`."""
        what = description or f"a {method}"
        deadline = time.monotonic() + timeout
        while True:
            for m in self.received_requests(method):
                if pred(m):
                    return m
            if time.monotonic() > deadline:
                raise StepFailure(f"{self.user.name}: expected {what} within {timeout:.1f} s; "
                                  f"sipp exchanged:\n{self.exchange_text()}")
            if not self.process.is_running() and self.process.proc is not None:
                # one last look: it may have come just before sipp ended
                if any(pred(m) for m in self.received_requests(method)):
                    continue
                raise StepFailure(f"{self.user.name}: sipp ended (status "
                                  f"{self.process.proc.returncode}) before {what} came\n"
                                  f"{self.logs_text()}")
            time.sleep(0.05)

    def responses(self, method: str | None = None) -> list[SipMessage]:
        return [e.message for e in self.trace() if e.direction == "received" and
                not e.message.is_request and (method is None or e.message.method == method)]

    def final_response(self, method: str) -> SipMessage | None:
        finals = [r for r in self.responses(method) if r.status >= 200]
        return finals[0] if finals else None

    def exchange_text(self) -> str:
        lines = []
        for e in self.trace():
            arrow = "->" if e.direction == "sent" else "<-"
            lines.append(f"  {arrow} {e.message.summary()}")
        return "\n".join(lines) or "  (no message in the trace)"

    def logs_text(self, lines: int = 40) -> str:
        # sipp's screen is mostly its statistics table; keep the other lines (fatal errors)
        screen = [line for line in tail(self.process.log_path, 200).splitlines()
                  if "|" not in line and not line.startswith("---") and line.strip()]
        return (f"----- {self.name}: messages -----\n{self.exchange_text()}\n"
                f"----- {self.name}: last {lines} lines of {self.error_path} -----\n"
                f"{tail(self.error_path, lines)}\n"
                f"----- {self.name}: {self.process.log_path.name} without statistics -----\n"
                + "\n".join(screen[-12:]))

    def require_passed(self, what: str, method: str | None = None,
                       expect: int | str | None = None) -> None:
        """FAIL unless sipp's call passed; says which final response came instead."""
        if self.rc == 0:
            return
        detail = ""
        if method is not None:
            final = self.final_response(method)
            got = final.start_line.split(" ", 1)[1] if final else "no final response"
            detail = f": expected {expect}, got {got}" if expect else f": got {got}"
            if final is not None and str(final.status) in str(expect):
                detail = (f": {method} got {got} as expected, but the call failed after it "
                          f"(see the error log below)")
        raise StepFailure(f"{self.user.name}: {what}{detail} (sipp exit status {self.rc})\n"
                          f"{self.logs_text()}")


class SipUser:
    """user@domain of a Kamailio, played by sipp from `address`. Its Contact (where its UAS
    listens once receive_messages() runs) is address:contact_port."""

    def __init__(self, workdir: Path, name: str, user: str, kamailio: Kamailio, *,
                 address: str = "127.0.0.6", contact_port: int | None = None,
                 timeout: float = 10.0):
        self.name = name
        self.user = user
        self.kamailio = kamailio
        self.domain = kamailio.domain
        self.address = address
        self.contact_port = contact_port or free_port(address, udp_too=True)
        self.timeout = timeout
        self.dir = Path(workdir) / "sipp" / name
        self.dir.mkdir(parents=True, exist_ok=False)
        self.runs = 0
        self._all: list[SippRun] = []
        self.etag: str | None = None

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    def _run(self, scenario: str, keys: dict[str, str], subst: dict[str, str] | None = None,
             **kwargs) -> SippRun:
        run = SippRun(self, scenario, keys=keys, subst=subst,
                      timeout=kwargs.pop("timeout", self.timeout), **kwargs)
        self._all.append(run)
        return run

    # Actions ------------------------------------------------------------------------------------

    def register(self, expires: int = 3600, expect: int = 200) -> SipMessage:
        """REGISTER Contact sip:user@address:contact_port; returns the final response."""
        run = self._run("register", {"contact_port": str(self.contact_port),
                                     "expires": str(expires)}, {"EXPECT": str(expect)}).run()
        run.require_passed(f"REGISTER {self.uri}", "REGISTER", expect)
        return self._final(run, "REGISTER")

    def send_message(self, to_uri: str, body: str, expect: int = 200,
                     also: tuple[int, ...] = ()) -> tuple[SipMessage, SipMessage]:
        """MESSAGE to to_uri with a text/plain body, expecting the final response `expect`
        (or one of `also`); returns (request sent, final response)."""
        if "\n" in body:
            raise HarnessError("sipp keyword values cannot hold newlines")
        alternatives = "".join(f'  <recv response="{code}" optional="true" next="done"/>\n'
                               for code in also)
        run = self._run("message", {"to_uri": to_uri, "body": body},
                        {"EXPECT": str(expect), "ALSO": alternatives}).run()
        run.require_passed(f"MESSAGE to {to_uri}", "MESSAGE",
                           expect if not also else " or ".join(map(str, (expect, *also))))
        return run.sent("MESSAGE")[0], self._final(run, "MESSAGE")

    def receive_messages(self, code: int = 200, reason: str = "OK",
                         timeout: float | None = None) -> SippRun:
        """Start the user's UAS on its Contact port, answering one MESSAGE with `code`; it is
        listening when this returns. Then: run.wait(); run.received_requests("MESSAGE")."""
        return self._run("uas_message", {}, {"CODE": str(code), "REASON": reason},
                         server_port=self.contact_port,
                         timeout=timeout or self.timeout).start()

    def publish(self, basic: str, note: str | None = None, *, expires: int = 3600,
                modify: bool = False, expect: int = 200, pidf: str | None = None) -> str:
        """PUBLISH a one-tuple PIDF (basic open/closed, optional note). modify=True sends
        SIP-If-Match with the ETag of the previous publish, replacing that document instead
        of adding a second one. Returns the new SIP-ETag (also kept in self.etag)."""
        doc = pidf or pidf_document(self.uri, basic, note)
        if modify and not self.etag:
            raise HarnessError(f"{self.name}: nothing published yet to modify")
        if_match = f"\n      SIP-If-Match: {self.etag}" if modify else ""
        run = self._run("publish", {"pidf": doc, "expires": str(expires)},
                        {"EXPECT": str(expect), "IF_MATCH": if_match}).run()
        run.require_passed(f"PUBLISH {basic} for {self.uri}", "PUBLISH", expect)
        response = self._final(run, "PUBLISH")
        if expect == 200:
            self.etag = response.require("SIP-ETag")
        return self.etag or ""

    def watch(self, presentity: str, expires: int = 600, expect: int = 200) -> list[SipMessage]:
        """SUBSCRIBE to presentity's presence, take the first NOTIFY, unsubscribe, take the
        final NOTIFY; returns the NOTIFYs in order."""
        run = self.start_watch(presentity, expires, expect)
        run.wait()
        run.require_passed(f"SUBSCRIBE to {presentity}", "SUBSCRIBE", expect)
        return run.received_requests("NOTIFY")

    def start_watch(self, presentity: str, expires: int = 600, expect: int = 200,
                    timeout: float | None = None) -> SippRun:
        """watch() in the background, for a notifier the scenario plays itself (the fake
        gateway): run.wait(), run.require_passed(...), run.received_requests("NOTIFY")."""
        return self._run("subscribe", {"to_uri": presentity, "expires": str(expires)},
                         {"EXPECT": str(expect)}, timeout=timeout or self.timeout).start()

    def start_watch_until(self, presentity: str, stages: list[str], expires: int = 600,
                          expect: int = 200, timeout: float | None = None) -> SippRun:
        """Watch presentity until its NOTIFYs have shown each state of `stages` in turn, then
        unsubscribe, in the background. A stage is a POSIX extended regular expression that
        sipp matches against a whole NOTIFY (headers and body), e.g. a status note; a NOTIFY
        that does not match the current stage is answered and waited past. The first stage
        is also tried on the first NOTIFY. run.wait(), run.require_passed(...), then
        stage_notifies(run, stages) gives the NOTIFY that ended each stage."""
        if not stages:
            raise HarnessError("start_watch_until needs at least one stage")
        for rx in stages:
            re.compile(rx)  # a typo fails here rather than as a sipp parse error
        return self._run("watch", {"to_uri": presentity, "expires": str(expires)},
                         {"EXPECT": str(expect), "FIRST_REGEXP": _attr(stages[0]),
                          "STAGES": _stages_xml(stages)},
                         timeout=timeout or self.timeout).start()

    def unpublish(self, expect: int = 200) -> None:
        """Remove the last publication (RFC 3903 §4.5: SIP-If-Match, Expires: 0, no body)."""
        if not self.etag:
            raise HarnessError(f"{self.name}: nothing published to remove")
        run = self._run("unpublish", {"etag": self.etag}, {"EXPECT": str(expect)}).run()
        run.require_passed(f"PUBLISH Expires: 0 for {self.uri}", "PUBLISH", expect)
        if expect == 200:
            self.etag = None

    def _final(self, run: SippRun, method: str) -> SipMessage:
        final = run.final_response(method)
        if final is None:
            raise StepFailure(f"{self.name}: sipp passed but its trace has no final response "
                              f"to {method}\n{run.logs_text()}")
        return final

    # Scenario plumbing --------------------------------------------------------------------------

    def stop(self) -> None:
        for run in self._all:
            run.stop()

    def logs_text(self, lines: int = 40) -> str:
        if not self._all:
            return f"----- {self.name}: no sipp run -----"
        return "\n".join(run.logs_text(lines) for run in self._all[-3:])
