"""Just enough SIP for the harness, standard library only: messages, a UDP endpoint, PIDF.

SipMessage parses and builds RFC 3261 messages (§7; compact header forms of §7.3.3).
SipEndpoint is a UDP user agent with a receive thread, used for what sipp cannot assert on
well: the fake gateway next hop of kamailio_sip.py and the OPTIONS ping that tells the harness
Kamailio is up. It
  - answers every request it receives (code per method, 200 by default, never ACK), answers a
    retransmission (same top Via branch and CSeq) with the same response and records the
    request once; requests wait in an inbox for expect_request(), like an XmppClient's stanzas;
  - sends requests as a non-INVITE client transaction (§17.1.2: retransmit from T1 = 0.5 s,
    doubling up to T2 = 4 s, until a final response or the timeout);
  - keeps SUBSCRIBE dialogs (RFC 6665 §4.1): subscribe() creates one, resubscribe() refreshes
    or ends it inside the dialog (Request-URI = the notifier's Contact, Route = its
    Record-Route set), expect_notify() takes the next NOTIFY of that dialog; as a notifier,
    notify() sends a NOTIFY in the dialog of a SUBSCRIBE it accepted (§4.2.2).
parse_pidf() reads a PIDF document (RFC 3863): entity, and each tuple's basic status and
notes, namespace-agnostic so RPID/data-model extensions (RFC 4480, RFC 4479) do not matter.
Loop-bound (sockets, one thread per endpoint); nothing here knows about Kamailio.
"""

import itertools
import random
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import HarnessError, StepFailure

COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact",
           "l": "content-length", "c": "content-type", "o": "event", "k": "supported",
           "s": "subject", "e": "content-encoding", "u": "allow-events", "r": "refer-to"}

REASONS = {100: "Trying", 200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           415: "Unsupported Media Type", 480: "Temporarily Unavailable",
           481: "Call/Transaction Does Not Exist", 486: "Busy Here", 488: "Not Acceptable Here",
           489: "Bad Event", 500: "Server Internal Error", 503: "Service Unavailable",
           603: "Decline"}

T1, T2 = 0.5, 4.0


def new_tag() -> str:
    return f"{random.getrandbits(48):012x}"


def new_branch() -> str:
    return f"z9hG4bK-fedgw-{random.getrandbits(64):016x}"


class SipMessage:
    """One SIP request or response: start line, ordered headers (name as written), body."""

    def __init__(self, start_line: str, headers: list[tuple[str, str]] | None = None,
                 body: bytes = b""):
        self.start_line = start_line
        self.headers_list: list[tuple[str, str]] = list(headers or [])
        self.body = body

    # Parsing ------------------------------------------------------------------------------------

    @staticmethod
    def parse(data: bytes) -> "SipMessage":
        """Parse one message (a datagram or a sipp trace entry); the body is cut at
        Content-Length when there is one. Raises HarnessError on garbage."""
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            head, sep, rest = data.partition(b"\n\n")
        lines = re.split(r"\r?\n", head.decode("utf-8", errors="replace"))
        if not lines or not re.match(r"^(SIP/2\.0 \d{3}|[A-Z]+ \S+ SIP/2\.0$)", lines[0]):
            raise HarnessError(f"not a SIP message: {data[:200]!r}")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # folded continuation line (§7.3.1)
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise HarnessError(f"bad SIP header line {line!r} in {data[:200]!r}")
            headers.append((name.strip(), value.strip()))
        msg = SipMessage(lines[0], headers, rest)
        length = msg.header("Content-Length")
        if length is not None and length.strip().isdigit():
            msg.body = rest[:int(length)]
        return msg

    # Access -------------------------------------------------------------------------------------

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        """The request's method, or the method of the CSeq a response answers."""
        if self.is_request:
            return self.start_line.split(" ", 1)[0]
        return self.cseq[1]

    @property
    def uri(self) -> str:
        return self.start_line.split(" ")[1] if self.is_request else ""

    @property
    def status(self) -> int:
        return int(self.start_line.split(" ")[1]) if not self.is_request else 0

    @property
    def reason(self) -> str:
        return self.start_line.split(" ", 2)[2] if not self.is_request else ""

    def headers(self, name: str) -> list[str]:
        """Every value of a header, in order (compact and long forms alike)."""
        want = COMPACT.get(name.lower(), name.lower())
        return [v for n, v in self.headers_list if COMPACT.get(n.lower(), n.lower()) == want]

    def header(self, name: str, default: str | None = None) -> str | None:
        values = self.headers(name)
        return values[0] if values else default

    def require(self, name: str) -> str:
        value = self.header(name)
        if value is None:
            raise StepFailure(f"{self.summary()} has no {name} header:\n{self}")
        return value

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        parts = (self.header("CSeq") or "0 ?").split()
        return int(parts[0]), parts[1] if len(parts) > 1 else "?"

    def tag(self, name: str) -> str | None:
        """The tag parameter of From or To."""
        m = re.search(r";\s*tag=([^;>\s,]+)", self.header(name) or "")
        return m.group(1) if m else None

    @property
    def top_branch(self) -> str:
        m = re.search(r";\s*branch=([^;,\s]+)", self.header("Via") or "")
        return m.group(1) if m else ""

    @property
    def expires(self) -> int | None:
        value = self.header("Expires")
        return int(value) if value is not None and value.strip().isdigit() else None

    def subscription_state(self) -> tuple[str, dict[str, str]]:
        """Subscription-State of a NOTIFY (RFC 6665 §8.2.3): ("active", {"expires": "3600"})."""
        value = self.header("Subscription-State") or ""
        state, *params = [p.strip() for p in value.split(";")]
        out = {}
        for p in params:
            k, _, v = p.partition("=")
            out[k.strip().lower()] = v.strip()
        return state.lower(), out

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def summary(self) -> str:
        return f"{self.start_line} (CSeq {' '.join(map(str, self.cseq))}, Call-ID {self.call_id})"

    # Building -----------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        headers = [(n, v) for n, v in self.headers_list if n.lower() not in ("content-length", "l")]
        lines = [self.start_line] + [f"{n}: {v}" for n, v in headers]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    def __str__(self) -> str:
        return self.to_bytes().decode("utf-8", errors="replace")


def uri_host_port(uri: str, default_port: int = 5060) -> tuple[str, int]:
    """host and port of a sip: URI (IPv4 or a name; no IPv6 needed here)."""
    m = re.match(r"^<?sips?:(?:[^@;>]*@)?([^:;>]+)(?::(\d+))?", uri.strip())
    if not m:
        raise HarnessError(f"cannot find the host of SIP URI {uri!r}")
    return m.group(1), int(m.group(2) or default_port)


def name_addr_uri(value: str) -> str:
    """The URI inside a From/To/Contact/Route value: `"x" <sip:a@b>;tag=1` -> sip:a@b."""
    m = re.search(r"<([^>]*)>", value)
    return m.group(1) if m else value.split(";")[0].strip()


# PIDF -------------------------------------------------------------------------------------------

@dataclass
class PidfTuple:
    id: str
    basic: str | None
    notes: list[str]


@dataclass
class Pidf:
    entity: str
    tuples: list[PidfTuple]
    notes: list[str]  # every <note> anywhere in the document (presence, tuple, person)

    @property
    def basics(self) -> list[str]:
        return [t.basic for t in self.tuples if t.basic is not None]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_pidf(body: bytes | str) -> Pidf:
    """Read a PIDF document; raises StepFailure when it is not one."""
    try:
        root = ET.fromstring(body if isinstance(body, bytes) else body.encode())
    except ET.ParseError as e:
        raise StepFailure(f"not well-formed PIDF ({e}):\n{body!r}") from None
    if _local(root.tag) != "presence":
        raise StepFailure(f"PIDF root is <{_local(root.tag)}>, not <presence>:\n{body!r}")
    tuples = []
    for t in root.iter():
        if _local(t.tag) != "tuple":
            continue
        basic = next((e.text or "" for e in t.iter() if _local(e.tag) == "basic"), None)
        notes = [e.text or "" for e in t.iter() if _local(e.tag) == "note"]
        tuples.append(PidfTuple(t.get("id", ""), basic.strip() if basic is not None else None,
                                notes))
    notes = [e.text or "" for e in root.iter() if _local(e.tag) == "note"]
    return Pidf(root.get("entity", ""), tuples, notes)


def pidf_document(entity: str, basic: str, note: str | None = None, tuple_id: str = "t1",
                  activity: str | None = None) -> str:
    """A one-tuple PIDF document on one line (sipp keyword values cannot hold newlines).
    `activity` (an RFC 4480 §3.2 activity such as "away" or "busy") adds a data-model person
    (RFC 4479) carrying it in <rpid:activities/>, as SIP phones publish "away"."""
    note_xml = f"<note>{escape(note)}</note>" if note is not None else ""
    person = ""
    namespaces = ""
    if activity is not None:
        if not re.fullmatch(r"[a-z-]+", activity):
            raise HarnessError(f"not an RPID activity name: {activity!r}")
        namespaces = (' xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"'
                      ' xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"')
        person = (f'<dm:person id="p1"><rpid:activities><rpid:{activity}/></rpid:activities>'
                  '</dm:person>')
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<presence xmlns="urn:ietf:params:xml:ns:pidf"{namespaces} '
            f'entity={quoteattr(entity)}>'
            f'<tuple id={quoteattr(tuple_id)}><status><basic>{escape(basic)}</basic></status>'
            f'{note_xml}</tuple>{person}</presence>')


def pidf_activities(body: bytes | str) -> list[str]:
    """The RPID activities (RFC 4480 §3.2) anywhere in a PIDF document: the local names of
    the children of every <activities/> element, in document order."""
    try:
        root = ET.fromstring(body if isinstance(body, bytes) else body.encode())
    except ET.ParseError as e:
        raise StepFailure(f"not well-formed PIDF ({e}):\n{body!r}") from None
    return [_local(child.tag) for el in root.iter() if _local(el.tag) == "activities"
            for child in el]


# Dialogs and the endpoint -----------------------------------------------------------------------

@dataclass
class SipDialog:
    """The UAC side of a SUBSCRIBE dialog (RFC 3261 §12.1.2)."""
    call_id: str
    local_uri: str
    local_tag: str
    remote_uri: str
    remote_tag: str | None = None
    remote_target: str = ""
    route_set: list[str] = field(default_factory=list)
    cseq: int = 1
    event: str = "presence"


Answer = int | tuple[int, str] | None


class SipEndpoint:
    """A UDP SIP user agent on host:port. See the module docstring."""

    def __init__(self, name: str, host: str, port: int = 0, *,
                 answers: dict[str, int] | None = None, default_code: int = 200,
                 on_request: Callable[[SipMessage], Answer] | None = None,
                 user: str = "gw", trace_path: Path | None = None):
        self.name = name
        self.trace_path = trace_path
        self.host = host
        self.port = port
        self.user = user
        self.answers = dict(answers or {})
        self.default_code = default_code
        self.on_request = on_request
        self.received: list[SipMessage] = []    # every distinct request, in order
        self._inbox: list[SipMessage] = []
        self._trace: list[str] = []
        self._answered: dict[tuple[str, int, str], bytes] = {}
        self._replies: dict[tuple[str, int], SipMessage] = {}  # (Call-ID, CSeq) -> our answer
        self._uas_cseq: dict[str, int] = {}
        self._pending: dict[str, list[SipMessage]] = {}
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._t0 = time.monotonic()
        self._call_ids = itertools.count(1)

    # Life cycle ---------------------------------------------------------------------------------

    def start(self) -> "SipEndpoint":
        if self._sock is not None:
            raise HarnessError(f"{self.name}: already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as e:
            sock.close()
            raise HarnessError(f"{self.name}: cannot bind UDP {self.host}:{self.port}: {e}; a "
                               "leftover from an earlier run or a system service?") from e
        self.port = sock.getsockname()[1]
        sock.settimeout(0.1)
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name=f"sip-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def contact(self) -> str:
        return f"<sip:{self.user}@{self.host}:{self.port}>"

    # Receiving ----------------------------------------------------------------------------------

    def _log(self, direction: str, peer: tuple[str, int], data: bytes) -> None:
        entry = (f"----- {time.monotonic() - self._t0:8.3f} {direction} {peer[0]}:{peer[1]}\n"
                 + data.decode("utf-8", errors="replace"))
        with self._cond:
            self._trace.append(entry)
            if self.trace_path is not None:
                with open(self.trace_path, "a", encoding="utf-8") as f:
                    f.write(entry.replace("\r\n", "\n") + "\n")

    def _run(self) -> None:
        while not self._stopping:
            try:
                data, peer = self._sock.recvfrom(65535)  # type: ignore[union-attr]
            except socket.timeout:
                continue
            except OSError:
                return
            self._log("received from", peer, data)
            try:
                msg = SipMessage.parse(data)
            except HarnessError as e:
                with self._cond:
                    self._trace.append(f"(unparsable datagram: {e})")
                continue
            if msg.is_request:
                self._handle_request(msg, peer)
            else:
                with self._cond:
                    if msg.top_branch in self._pending:
                        self._pending[msg.top_branch].append(msg)
                        self._cond.notify_all()

    def _handle_request(self, msg: SipMessage, peer: tuple[str, int]) -> None:
        key = (msg.top_branch, msg.cseq[0], msg.method)
        if msg.method == "ACK":
            with self._cond:
                self.received.append(msg)
                self._cond.notify_all()
            return
        with self._cond:
            earlier = self._answered.get(key)
        if earlier is not None:  # a retransmission: same answer, not recorded again
            self._send(earlier, peer)
            return
        answer = self.on_request(msg) if self.on_request else None
        if answer is None:
            answer = self.answers.get(msg.method, self.default_code)
        code, reason = answer if isinstance(answer, tuple) else (answer, REASONS.get(answer, "X"))
        reply = self.response(msg, code, reason)
        data = reply.to_bytes()
        with self._cond:
            self._answered[key] = data
            self._replies[(msg.call_id, msg.cseq[0])] = reply
        # Answer first: whatever a scenario does on seeing the request comes after the reply.
        self._send(data, peer)
        with self._cond:
            self.received.append(msg)
            self._inbox.append(msg)
            self._cond.notify_all()

    def response(self, req: SipMessage, code: int, reason: str | None = None) -> SipMessage:
        """A response to `req` (§8.2.6): Via, From, Call-ID, CSeq copied, a To tag added."""
        headers = [("Via", v) for v in req.headers("Via")]
        headers.append(("From", req.require("From")))
        to = req.require("To")
        if req.tag("To") is None and code > 100:
            to += f";tag={new_tag()}"
        headers += [("To", to), ("Call-ID", req.call_id), ("CSeq", req.require("CSeq"))]
        if 200 <= code < 300 and req.method == "SUBSCRIBE":  # dialog-creating: §12.1.1
            headers += [("Record-Route", v) for v in req.headers("Record-Route")]
        if code < 300 and req.method in ("SUBSCRIBE", "NOTIFY"):
            headers.append(("Contact", self.contact()))
        if code < 300 and req.method == "SUBSCRIBE":  # granted as asked (RFC 6665 §4.2.1.1)
            headers.append(("Expires", str(req.expires if req.expires is not None else 3600)))
        return SipMessage(f"SIP/2.0 {code} {reason or REASONS.get(code, 'X')}", headers)

    def _send(self, data: bytes, dest: tuple[str, int]) -> None:
        self._log("sent to", dest, data)
        if self._sock is None:
            raise HarnessError(f"{self.name}: not started")
        self._sock.sendto(data, dest)

    def expect_request(self, method: str | None = None,
                       predicate: Callable[[SipMessage], bool] | None = None,
                       timeout: float = 5.0, description: str | None = None) -> SipMessage:
        """Take the first request from the inbox that has `method` and satisfies `predicate`,
        waiting up to `timeout` s; others stay in the inbox. StepFailure when none comes."""
        def ok(m: SipMessage) -> bool:
            return (method is None or m.method == method) and (predicate is None or predicate(m))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, m in enumerate(self._inbox):
                    if ok(m):
                        return self._inbox.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            seen = "\n".join("  " + m.summary() for m in self._inbox) or "  (nothing)"
        what = description or f"a {method or 'SIP'} request"
        raise StepFailure(f"{self.name}: {what} did not come within {timeout:.1f} s; "
                          f"inbox:\n{seen}")

    def expect_nothing(self, method: str | None = None, within: float = 1.0,
                       predicate: Callable[[SipMessage], bool] | None = None) -> None:
        time.sleep(within)
        with self._cond:
            hits = [m for m in self._inbox if (method is None or m.method == method)
                    and (predicate is None or predicate(m))]
        if hits:
            raise StepFailure(f"{self.name}: unexpected requests:\n"
                              + "\n".join("  " + m.summary() for m in hits))

    # Sending ------------------------------------------------------------------------------------

    def request(self, msg: SipMessage, dest: tuple[str, int], timeout: float = 5.0) -> SipMessage:
        """Send a request as a non-INVITE client transaction; return its final response.
        StepFailure when none comes within `timeout` (Timer F, shortened)."""
        branch = msg.top_branch
        data = msg.to_bytes()
        with self._cond:
            self._pending[branch] = []
        try:
            self._send(data, dest)
            deadline = time.monotonic() + timeout
            interval, next_send = T1, time.monotonic() + T1
            with self._cond:
                while True:
                    finals = [r for r in self._pending[branch] if r.status >= 200]
                    if finals:
                        return finals[0]
                    now = time.monotonic()
                    if now >= deadline:
                        break
                    if now >= next_send and not self._pending[branch]:
                        self._send(data, dest)  # the condition's lock is re-entrant
                        interval = min(interval * 2, T2)
                        next_send = now + interval
                    self._cond.wait(min(deadline, next_send) - now)
        finally:
            with self._cond:
                self._pending.pop(branch, None)
        raise StepFailure(f"{self.name}: no final response to {msg.summary()} from "
                          f"{dest[0]}:{dest[1]} within {timeout:.1f} s")

    def new_request(self, method: str, uri: str, *, from_uri: str, to_uri: str,
                    from_tag: str | None = None, to_tag: str | None = None,
                    call_id: str | None = None, cseq: int = 1,
                    headers: list[tuple[str, str]] | None = None, body: bytes | str = b"",
                    content_type: str | None = None) -> SipMessage:
        """A request from this endpoint (Via with a fresh branch and rport)."""
        call_id = call_id or f"{next(self._call_ids)}-{new_tag()}@{self.host}"
        hs = [("Via", f"SIP/2.0/UDP {self.host}:{self.port};branch={new_branch()};rport"),
              ("Max-Forwards", "70"),
              ("From", f"<{from_uri}>;tag={from_tag or new_tag()}"),
              ("To", f"<{to_uri}>" + (f";tag={to_tag}" if to_tag else "")),
              ("Call-ID", call_id), ("CSeq", f"{cseq} {method}")]
        hs += list(headers or [])
        if isinstance(body, str):
            body = body.encode()
        if body and content_type:
            hs.append(("Content-Type", content_type))
        hs.append(("User-Agent", f"fedgw-interop {self.name}"))
        return SipMessage(f"{method} {uri} SIP/2.0", hs, body)

    def send_message(self, uri: str, body: str, *, from_uri: str, dest: tuple[str, int],
                     timeout: float = 5.0) -> SipMessage:
        """A page-mode MESSAGE (RFC 3428) with a text/plain body; returns the final response."""
        req = self.new_request("MESSAGE", uri, from_uri=from_uri, to_uri=uri, body=body,
                               content_type="text/plain; charset=UTF-8")
        return self.request(req, dest, timeout)

    def subscribe(self, presentity: str, *, watcher: str, dest: tuple[str, int],
                  expires: int, event: str = "presence",
                  accept: str = "application/pidf+xml",
                  timeout: float = 5.0) -> tuple[SipMessage, SipDialog]:
        """An initial SUBSCRIBE (RFC 6665 §4.1.2.1); the dialog is set up from a 2xx."""
        dialog = SipDialog(call_id=f"sub-{next(self._call_ids)}-{new_tag()}@{self.host}",
                           local_uri=watcher, local_tag=new_tag(), remote_uri=presentity,
                           event=event)
        req = self.new_request("SUBSCRIBE", presentity, from_uri=watcher, to_uri=presentity,
                               from_tag=dialog.local_tag, call_id=dialog.call_id, cseq=1,
                               headers=[("Contact", self.contact()), ("Event", event),
                                        ("Accept", accept), ("Expires", str(expires))])
        resp = self.request(req, dest, timeout)
        if 200 <= resp.status < 300:
            dialog.remote_tag = resp.tag("To")
            dialog.remote_target = name_addr_uri(resp.header("Contact") or presentity)
            dialog.route_set = list(reversed([name_addr_uri(v) for rr in
                                              resp.headers("Record-Route")
                                              for v in rr.split(",")]))
        return resp, dialog

    def resubscribe(self, dialog: SipDialog, expires: int, *, dest: tuple[str, int] | None = None,
                    timeout: float = 5.0) -> SipMessage:
        """Refresh (or, with expires=0, end) a subscription inside its dialog (§4.1.2.2-3).
        Sent to the first Route, else to the remote target, unless `dest` says otherwise."""
        dialog.cseq += 1
        headers = [("Route", f"<{r}>") for r in dialog.route_set]
        headers += [("Contact", self.contact()), ("Event", dialog.event),
                    ("Expires", str(expires))]
        req = self.new_request("SUBSCRIBE", dialog.remote_target, from_uri=dialog.local_uri,
                               to_uri=dialog.remote_uri, from_tag=dialog.local_tag,
                               to_tag=dialog.remote_tag, call_id=dialog.call_id,
                               cseq=dialog.cseq, headers=headers)
        target = dest or uri_host_port(dialog.route_set[0] if dialog.route_set
                                       else dialog.remote_target)
        return self.request(req, target, timeout)

    def expect_notify(self, dialog: SipDialog, timeout: float = 5.0,
                      predicate: Callable[[SipMessage], bool] | None = None,
                      description: str | None = None) -> SipMessage:
        """The next NOTIFY of `dialog` (Call-ID and our tag as its To tag)."""
        def mine(m: SipMessage) -> bool:
            return (m.call_id == dialog.call_id and m.tag("To") == dialog.local_tag
                    and (predicate is None or predicate(m)))
        return self.expect_request("NOTIFY", mine, timeout,
                                   description or f"a NOTIFY for {dialog.remote_uri}")

    def reply_to(self, req: SipMessage) -> SipMessage:
        """The response this endpoint sent to a request it received."""
        with self._cond:
            reply = self._replies.get((req.call_id, req.cseq[0]))
        if reply is None:
            raise HarnessError(f"{self.name}: no answer sent to {req.summary()}")
        return reply

    def notify(self, subscribe: SipMessage, state: str, body: bytes | str = b"", *,
               content_type: str = "application/pidf+xml", timeout: float = 5.0) -> SipMessage:
        """As the notifier of a SUBSCRIBE this endpoint accepted (RFC 6665 §4.2.2): a NOTIFY
        in its dialog (Request-URI = the subscriber's Contact, Route = the SUBSCRIBE's
        Record-Route set in order, sent to the first Route); `state` is the
        Subscription-State value, e.g. "active;expires=600". Returns the final response."""
        reply = self.reply_to(subscribe)
        target = name_addr_uri(subscribe.require("Contact"))
        routes = [name_addr_uri(v) for rr in subscribe.headers("Record-Route")
                  for v in rr.split(",")]
        with self._cond:
            cseq = self._uas_cseq.get(subscribe.call_id, 0) + 1
            self._uas_cseq[subscribe.call_id] = cseq
        headers = [("Route", f"<{r}>") for r in routes]
        headers += [("Contact", self.contact()),
                    ("Event", subscribe.header("Event") or "presence"),
                    ("Subscription-State", state)]
        req = self.new_request("NOTIFY", target,
                               from_uri=name_addr_uri(reply.require("To")),
                               from_tag=reply.tag("To"),
                               to_uri=name_addr_uri(subscribe.require("From")),
                               to_tag=subscribe.tag("From"), call_id=subscribe.call_id,
                               cseq=cseq, headers=headers, body=body,
                               content_type=content_type if body else None)
        return self.request(req, uri_host_port(routes[0] if routes else target), timeout)

    # Reports ------------------------------------------------------------------------------------

    def trace_text(self, entries: int = 30) -> str:
        with self._cond:
            trace = self._trace[-entries:]
        return "\n".join(trace) or "(no SIP traffic)"

    def logs_text(self, lines: int = 40) -> str:
        return (f"----- {self.name}: last SIP messages at {self.host}:{self.port} -----\n"
                + self.trace_text(max(6, lines // 5)))


def options_ping(host: str, port: int, *, source: str = "127.0.0.1",
                 timeout: float = 1.0) -> SipMessage | None:
    """One OPTIONS to sip:host:port over UDP; the response, or None if nothing came."""
    ep = SipEndpoint("options-ping", source, 0).start()
    try:
        req = ep.new_request("OPTIONS", f"sip:{host}:{port}", from_uri=f"sip:ping@{source}",
                             to_uri=f"sip:{host}:{port}")
        try:
            return ep.request(req, (host, port), timeout)
        except StepFailure:
            return None
    finally:
        ep.stop()
