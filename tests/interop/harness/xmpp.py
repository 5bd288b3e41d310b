"""XMPP test clients (slixmpp) driven synchronously from the scenario's main thread.

slixmpp is asyncio; scenarios are plain sequential code. One LoopThread runs an asyncio loop in a
daemon thread for all clients of a scenario, and XmppClient's methods hand work to it and wait
for the result with a timeout. Every stanza a client receives (jabber:client message, presence,
iq, and stream errors) lands in its inbox; expect() waits until one matches and takes it out of
the inbox, leaving the others for later expectations.

A client logs in over STARTTLS (RFC 6120 §5) to the address it is given, verifying the server's
certificate for the JID's domain against the test CA file only; it does no DNS at all. It sends
initial presence by default, so that messages to its bare JID are delivered to it (RFC 6121
§8.5.2.1.1: a server delivers to available resources).

close() ends with a ping round trip (XEP-0199) and an orderly stream close: a client that closes
its TLS socket with unread data makes the server reset the connection and drop what it had not
read yet (DESIGN.md).
"""

import asyncio
import copy
import logging
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Awaitable

# Debian's slixmpp warns on import that it uses the pure-Python stringprep: true, and noise.
logging.getLogger("slixmpp.stringprep").setLevel(logging.ERROR)
import slixmpp  # noqa: E402

from .errors import HarnessError, StepFailure  # noqa: E402
from .xmlmatch import CLIENT_NS, MatcherLike, make_matcher, parse_template, to_xml

STREAM_NS = "http://etherx.jabber.org/streams"


class LoopThread:
    """An asyncio event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="xmpp-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Awaitable[Any], timeout: float, what: str) -> Any:
        """Run a coroutine on the loop; its result, or HarnessError after `timeout`."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError as e:  # concurrent.futures.TimeoutError is TimeoutError on 3.11
            future.cancel()
            raise HarnessError(f"{what}: no result after {timeout:.1f} s") from e

    def stop(self) -> None:
        """Cancel what is left (slixmpp's per-stream tasks), stop the loop, join the thread."""
        if self.loop.is_closed():
            return

        async def cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self.run(cancel_all(), 5, "cancelling client tasks")
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            if not self.thread.is_alive():
                self.loop.close()


class _Slix(slixmpp.ClientXMPP):
    """ClientXMPP that connects to a fixed address instead of resolving the domain."""

    def __init__(self, jid: str, password: str, target: tuple[str, str, int]):
        super().__init__(jid, password)
        self._fixed_target = target

    async def get_dns_records(self, domain: str, port: int | None = None):  # noqa: ARG002
        return [self._fixed_target]


class XmppClient:
    """One logged-in user. Create with Scenario.client() (or directly with a LoopThread)."""

    def __init__(self, loop: LoopThread, name: str, jid: str, password: str, *, address: str,
                 cafile: Path, port: int = 5222, resource: str = "harness",
                 presence: bool = True, check_hostname: bool = True):
        self.loop = loop
        self.name = name
        self.jid = jid
        self.password = password
        self.address = address
        self.port = port
        self.cafile = Path(cafile)
        self.resource = resource
        self.presence = presence
        self.check_hostname = check_hostname  # False for a server given a wrong-name cert
        self.domain = jid.split("@", 1)[-1].split("/", 1)[0]
        self.full_jid = ""
        self._cond = threading.Condition()
        self._inbox: list[ET.Element] = []
        self._trace: list[str] = []
        self._t0 = time.monotonic()
        self._connected = False
        self._recording = False  # from session start on; stream negotiation is not news
        self._closed_reason: str | None = None
        self._xmpp: _Slix | None = None

    # Connection --------------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Log in and wait for the session (and initial presence); HarnessError on failure."""
        self.loop.run(self._connect(timeout), timeout + 2, f"{self.name}: connecting")

    async def _connect(self, timeout: float) -> None:
        xmpp = _Slix(f"{self.jid}/{self.resource}", self.password,
                     (self.domain, self.address, self.port))
        self._xmpp = xmpp
        xmpp.ca_certs = self.cafile
        xmpp.ssl_context.check_hostname = self.check_hostname
        xmpp.register_plugin("xep_0199")  # answers pings and sends ours
        xmpp.add_filter("in", self._on_in)
        outcome: asyncio.Future = asyncio.get_running_loop().create_future()

        def finish(result: str | None) -> None:
            if not outcome.done():
                outcome.set_result(result)

        def on_disconnected(reason: Any) -> None:
            with self._cond:
                self._connected = False
                self._closed_reason = f"disconnected ({reason})" if reason else "disconnected"
                self._cond.notify_all()
            finish(f"disconnected before the session started ({reason})")

        def on_session_start(_event: Any) -> None:
            self._recording = True
            finish(None)

        xmpp.add_event_handler("session_start", on_session_start)
        xmpp.add_event_handler("failed_auth", lambda _e: finish("SASL authentication failed"))
        xmpp.add_event_handler("no_auth", lambda _e: finish("no usable SASL mechanism"))
        xmpp.add_event_handler("connection_failed",
                               lambda e: finish(f"TCP connection failed: {e}"))
        xmpp.add_event_handler("ssl_invalid_chain",
                               lambda e: finish(f"server certificate rejected: {e}"))
        xmpp.add_event_handler("stream_error", lambda e: finish(f"stream error: {e}"))
        xmpp.add_event_handler("disconnected", on_disconnected)
        # default_domain is the TLS server name checked against the certificate.
        xmpp.connect(address=(self.domain, self.port))
        try:
            failure = await asyncio.wait_for(outcome, timeout)
        except asyncio.TimeoutError:
            failure = f"no session after {timeout:.1f} s"
        if failure is not None:
            xmpp.cancel_connection_attempt()
            xmpp.abort()
            raise HarnessError(f"{self.name} ({self.jid}) could not log in to "
                               f"{self.address}:{self.port}: {failure}")
        self.full_jid = str(xmpp.boundjid)
        with self._cond:
            self._connected = True
            self._closed_reason = None
        if self.presence:
            self._send_now("<presence/>")

    def _on_in(self, stanza: Any) -> Any:
        el = stanza.xml
        ns = el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""
        if (self._recording and ns == CLIENT_NS) or el.tag == f"{{{STREAM_NS}}}error":
            with self._cond:
                self._inbox.append(copy.deepcopy(el))
                self._trace.append(f"{self._stamp()} <- {to_xml(el)}")
                self._cond.notify_all()
        return stanza

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._t0:7.3f}"

    # Sending -----------------------------------------------------------------------------------

    def send(self, xml: str) -> None:
        """Send one stanza written as XML (default namespace jabber:client)."""
        parse_template(xml)  # catches typos here rather than as a server's stream error
        self.loop.run(self._send_async(xml), 5, f"{self.name}: sending")

    async def _send_async(self, xml: str) -> None:
        self._send_now(xml)

    def _send_now(self, xml: str) -> None:
        if self._xmpp is None or not self._connected:
            raise StepFailure(f"{self.name}: cannot send, not connected "
                              f"({self._closed_reason or 'never connected'})")
        with self._cond:
            self._trace.append(f"{self._stamp()} -> {xml}")
        self._xmpp.send_raw(xml)

    def send_batch(self, xmls: list[str]) -> None:
        """Send several stanzas in one write, so that the server reads them together (for
        tests of flow control)."""
        for xml in xmls:
            parse_template(xml)
        self.loop.run(self._send_async("".join(xmls)), 5, f"{self.name}: sending a batch")

    def send_message(self, to: str, body: str, type: str = "chat") -> None:
        body_xml = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.send(f"<message to='{to}' type='{type}'><body>{body_xml}</body></message>")

    def send_presence(self, to: str | None = None, type: str | None = None) -> None:
        attrs = (f" to='{to}'" if to else "") + (f" type='{type}'" if type else "")
        self.send(f"<presence{attrs}/>")

    # Receiving ---------------------------------------------------------------------------------

    def expect(self, spec: MatcherLike, timeout: float = 5.0,
               description: str | None = None) -> ET.Element:
        """Wait for a stanza matching `spec`, take it out of the inbox and return it."""
        matcher = make_matcher(spec, description)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, el in enumerate(self._inbox):
                    if matcher(el):
                        del self._inbox[i]
                        return el
                remaining = deadline - time.monotonic()
                if not self._connected:
                    why = self._closed_reason or "never connected"
                    raise StepFailure(f"{self.name} expected {matcher.description}\n"
                                      f"but the stream is closed: {why}\n{self._inbox_text()}")
                if remaining <= 0:
                    raise StepFailure(f"{self.name} expected {matcher.description}\n"
                                      f"within {timeout:.1f} s, but it did not come.\n"
                                      f"{self._inbox_text()}")
                self._cond.wait(remaining)

    def expect_nothing(self, spec: MatcherLike | None = None, within: float = 1.0,
                       description: str | None = None) -> None:
        """Fail if a stanza matching `spec` (any stanza when None) arrives within `within` s."""
        matcher = make_matcher(spec if spec is not None else (lambda _el: True),
                               description or ("any stanza" if spec is None else None))
        deadline = time.monotonic() + within
        with self._cond:
            while True:
                for el in self._inbox:
                    if matcher(el):
                        raise StepFailure(f"{self.name} expected no {matcher.description}\n"
                                          f"but got {to_xml(el)}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def inbox(self) -> list[ET.Element]:
        """Stanzas received and not yet taken by an expectation."""
        with self._cond:
            return list(self._inbox)

    def _inbox_text(self) -> str:
        pending = [to_xml(el) for el in self._inbox]
        lines = [f"{self.name} inbox ({len(pending)} received, not taken by an expectation):"]
        lines += [f"  {x}" for x in pending] or ["  (empty)"]
        return "\n".join(lines)

    def _seen_text(self) -> str:
        lines = [f"{self.name} stream trace (last 20):"]
        lines += [f"  {x}" for x in self._trace[-20:]] or ["  (nothing)"]
        return "\n".join(lines)

    def trace_text(self) -> str:
        with self._cond:
            return self._seen_text()

    # Ending ------------------------------------------------------------------------------------

    def ping(self, to: str | None = None, timeout: float = 5.0) -> None:
        """XEP-0199 ping to `to` (default: our server), waiting for the result."""
        target = to or self.domain

        async def go() -> None:
            assert self._xmpp is not None
            await self._xmpp.plugin["xep_0199"].send_ping(target, timeout=timeout)
        try:
            self.loop.run(go(), timeout + 1, f"{self.name}: ping")
        except HarnessError:
            raise
        except Exception as e:  # IqError / IqTimeout from slixmpp
            raise StepFailure(f"{self.name}: ping to {target} failed: {e!r}\n"
                              f"{self.trace_text()}") from e

    def close(self, timeout: float = 5.0) -> None:
        """Ping round trip, then close the stream and wait for the server to close its own.
        Raises StepFailure when the server does not answer or the close was not orderly."""
        if self._xmpp is None or not self._connected:
            return
        self.ping(timeout=timeout)
        # slixmpp aborts the transport in both cases; what tells them apart is whether the
        # server's </stream:stream> came first (disconnect_reason "End of stream").
        ends: list[str | None] = []

        async def go() -> None:
            xmpp = self._xmpp
            assert xmpp is not None
            xmpp.add_event_handler("killed", lambda _e: ends.append(xmpp.disconnect_reason))
            await xmpp.disconnect(wait=timeout)
        self.loop.run(go(), timeout + 2, f"{self.name}: closing")
        if ends and ends[0] != "End of stream":
            raise StepFailure(f"{self.name}: the server did not close its stream within "
                              f"{timeout:.1f} s; the connection was aborted")

    def abort(self) -> None:
        """Best effort immediate close, for cleanup after a failure."""
        if self._xmpp is None or self.loop.loop.is_closed():
            return

        async def go() -> None:
            assert self._xmpp is not None
            if self._xmpp.transport:
                self._xmpp.abort()
        try:
            self.loop.run(go(), 2, f"{self.name}: abort")
        except Exception:  # noqa: BLE001 - cleanup must go on
            pass
