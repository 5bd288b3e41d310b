#!/usr/bin/python3
"""fedgw-proxy federates with a real Prosody 0.12: the proxy's s2s edge, end to end.

prosody.test is a Prosody on 127.0.0.2; sip.test is fedgw-proxy on 127.0.0.3:5269, linked to
the stand-in gateway (tools/link_endpoint) on 127.0.0.3:23456 with mutual TLS under the test
CA (gateway.internal / proxy.internal). The endpoint hands the proxy its registry snapshot on
connect; the proxy prints nothing about partners it was not told of. Each side finds the other
only through the scenario's dnsmasq: `_xmpp-server._tcp` SRV records and A records
(RFC 6120 §3.2.1); the proxy has no static route.

Cases:
  certs        both certificates from the CA both trust, Prosody with s2s_secure_auth = true:
               each direction authenticates with SASL EXTERNAL (RFC 6120 §6.4, XEP-0178). A
               Prosody user's message reaches the endpoint (auth sasl-external) and a stanza
               from the endpoint reaches the user.
  dialback     Prosody's certificate comes from a CA the proxy does not trust (and Prosody
               trusts only that CA), s2s_secure_auth = false: both directions authenticate
               with dialback (XEP-0220), each side verifying the other's key through a
               connection back to the sender's authoritative server.
  refusals     a domain not in the snapshot (a second Prosody, stranger.test) and a blocked
               domain (evil.test, spoken raw) are refused with a policy-violation stream error
               naming the rule (RFC 6120 §4.9.3.14); a stanza from the endpoint to a partner
               whose server does not answer comes back to the endpoint as a
               remote-server-not-found error (RFC 6120 §8.3.3.15); prosody.test stays served.
  link_down    the endpoint (the gateway) stops: a Prosody user's message to sip.test comes
               back as service-unavailable (RFC 6120 §8.3.3.19), never dropped; a new gateway
               on the same address gets the link back and stanzas flow again.
  dialback_proxy_first  dialback with the proxy's stream first (Prosody verifies through a
               connection back to sip.test, then reuses it for its own key).
  registry_change  a new snapshot blocks prosody.test: its live streams close with
               policy-violation, the next one is refused, stanzas for it are refused.
  burst        40 stanzas each way with a link window of 2: the proxy pauses partners for
               credit and resumes; all arrive, in order.
  idle_streams short inactivity and keepalive timers from the registry: idle streams close
               with connection-timeout, the next stanza opens a new one.
  two_domains  the proxy serves sip.test and sip2.test: each gets its own certificate
               (chosen by the stream header's 'to': Prosody sends no SNI) and its own streams.
  sasl_required  the registry requires SASL of prosody.test, whose certificate does not
               verify: both directions refused (not-authorized / bounce), no dialback.
  direct_tls   the proxy also listens for XEP-0368 direct TLS on 127.0.0.3:5270, published
               as `_xmpps-server._tcp.sip.test`: Prosody (which tries xmpps-server first)
               connects with TLS from the first byte, SNI sip.test and ALPN xmpp-server, and
               authenticates with SASL EXTERNAL; no STARTTLS stream is opened to the proxy.
Every case ends with SIGTERM to the proxy: exit 0, streams closed with system-shutdown.
"""

import re
import socket
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.dont_write_bytecode = True

from harness import (Do, Expect, ExpectLog, ExpectNothing, NoLog,  # noqa: E402
                     Scenario, Send, StepFailure, main, partner, snapshot)

PROSODY, PROSODY_IP = "prosody.test", "127.0.0.2"
SIP, PROXY_IP = "sip.test", "127.0.0.3"
DIRECT_TLS_PORT = 5270  # the proxy's XEP-0368 port (direct_tls)
SIP2 = "sip2.test"  # a second domain of the same proxy (two_domains)
LINK_PORT = 23456
STRANGER, STRANGER_IP = "stranger.test", "127.0.0.4"
EVIL = "evil.test"
GONE, GONE_IP = "gone.test", "127.0.0.6"  # an SRV record, but nothing listens there
GATEWAY_NAME, PROXY_NAME = "gateway.internal", "proxy.internal"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


class World:
    def __init__(self, sc: Scenario, *, prosody_trusted: bool = True,
                 registry: dict | None = None, stranger: bool = False,
                 window: int | None = None, two_domains: bool = False,
                 direct_tls: bool = False):
        self.window = window
        good = sc.ca("good-ca")
        self.dns = sc.dnsmasq()
        self.dns.add_xmpp_server(PROSODY, PROSODY_IP)
        self.dns.add_xmpp_server(SIP, PROXY_IP)
        if direct_tls:
            self.dns.add_srv(f"_xmpps-server._tcp.{SIP}", SIP, DIRECT_TLS_PORT)
        if two_domains:
            self.dns.add_xmpp_server(SIP2, PROXY_IP)
        if stranger:
            self.dns.add_xmpp_server(STRANGER, STRANGER_IP)
        self.dns.add_xmpp_server(GONE, GONE_IP)
        self.dns.start()
        if prosody_trusted:
            cert, trusts = good.issue(PROSODY), good.ca_file
        else:
            untrusted = sc.ca("untrusted-ca")
            cert, trusts = untrusted.issue(PROSODY), untrusted.ca_file
        self.prosody = sc.prosody(PROSODY, PROSODY_IP, cert=cert, cafile=trusts, dns=self.dns,
                                  s2s_secure_auth=prosody_trusted)
        self.prosody.add_user("juliet", "juliet-pass")
        servers = [self.prosody]
        if stranger:
            self.stranger = sc.prosody(STRANGER, STRANGER_IP, cert=good.issue(STRANGER),
                                       dns=self.dns, s2s_secure_auth=True)
            self.stranger.add_user("mallory", "mallory-pass")
            servers.append(self.stranger)
        if registry is None:
            registry = snapshot([partner(PROSODY)])
        self.ca, self.registry = good, registry
        self.endpoint = self.new_endpoint(sc, "link-endpoint")
        self.proxy = sc.fedgw_proxy(domain=SIP, address=PROXY_IP, cert=good.issue(SIP),
                                    trust_file=good.ca_file, dns=self.dns, link=self.endpoint,
                                    link_cert=good.issue(PROXY_NAME), link_ca=good.ca_file,
                                    link_name=GATEWAY_NAME,
                                    extra_domains=[(SIP2, good.issue(SIP2))] if two_domains
                                    else [],
                                    direct_tls_port=DIRECT_TLS_PORT if direct_tls else None)
        sc.start(self.endpoint, *servers, self.proxy)
        # The proxy enforces the snapshot once the link is up and the snapshot applied.
        self.endpoint.expect(lambda x: x.get("event") == "up", 10, "the proxy's link up")
        self.proxy.wait_log(r"registry\.applied .*version=1", 10)
        sc.client("juliet", self.prosody, "juliet", cafile=trusts)
        if stranger:
            sc.client("mallory", self.stranger, "mallory")


    def new_endpoint(self, sc: Scenario, name: str):
        """A stand-in gateway on 127.0.0.3:23456 (not started)."""
        return sc.link_endpoint(address=PROXY_IP, port=LINK_PORT, name=name,
                                cert=self.ca.issue(GATEWAY_NAME, file_stem=name),
                                ca_file=self.ca.ca_file, proxy_name=PROXY_NAME,
                                registry=self.registry, window=self.window)


def stanza_line(*, partner_: str | None = None, auth: str | None = None,
                local: str | None = None, attrs: dict[str, str] | None = None,
                contains: tuple[str, ...] = ()):
    """A predicate on the endpoint's JSON lines: a stanza with these link facts, these
    attributes on the stanza (a value ending in `*` is a prefix) and this text in its XML."""
    def pred(x: dict) -> bool:
        if x.get("event") != "stanza":
            return False
        if partner_ is not None and x.get("partner") != partner_:
            return False
        if auth is not None and x.get("auth") != auth:
            return False
        if local is not None and x.get("local") != local:
            return False
        xml = x.get("xml", "")
        try:
            el = ET.fromstring(xml)
        except ET.ParseError:
            return False
        for k, v in (attrs or {}).items():
            got = el.get(k)
            if got is None or (got != v and not (v.endswith("*") and got.startswith(v[:-1]))):
                return False
        return all(c in xml for c in contains)
    return pred


def endpoint_receives(w: World, description: str, timeout: float = 10, **kw) -> Do:
    def check(sc: Scenario) -> None:
        line = w.endpoint.expect(stanza_line(**kw), timeout, description)
        sc.log(f"endpoint got {line}")
    return Do(f"the endpoint receives {description}", check)


def endpoint_sends(w: World, xml: str, local: str = SIP) -> Do:
    def send(sc: Scenario) -> None:
        w.endpoint.send(sc._format(xml), local)
    return Do(f"the endpoint sends {xml}", send)


def message_in(w: World, auth: str) -> list:
    """juliet -> romeo@sip.test, through Prosody's outbound s2s to the proxy and the link."""
    return [
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j1'>"
                       "<body>wherefore art thou</body></message>"),
        endpoint_receives(w, "juliet's message", partner_=PROSODY, auth=auth,
                          attrs={"to": f"romeo@{SIP}", "from": f"juliet@{PROSODY}/*",
                                 "id": "j1", "type": "chat"},
                          contains=("<body>wherefore art thou</body>",)),
    ]


def message_out(w: World) -> list:
    """romeo@sip.test -> juliet, from the endpoint through the proxy's outbound s2s."""
    return [
        endpoint_sends(w, f"<message from='romeo@{SIP}/sip' to='{{juliet.full_jid}}' "
                          "type='chat' id='r1'><body>deny thy father</body></message>"),
        Expect("juliet", f"<message from='romeo@{SIP}/sip' to='{{juliet.full_jid}}' "
                         "type='chat' id='r1'><body>deny thy father</body></message>",
               timeout=10),
    ]


def proxy_stops_cleanly(w: World) -> Do:
    return Do("the proxy stops cleanly on SIGTERM", lambda _sc: w.proxy.stop_cleanly())


def srv_was_queried(dns, name: str) -> Do:
    def check(_sc: Scenario) -> None:
        if f"query[SRV] _xmpp-server._tcp.{name}" not in dns.query_log():
            raise StepFailure(f"dnsmasq saw no SRV query for _xmpp-server._tcp.{name}:\n"
                              + dns.query_log()[-3000:])
    return Do(f"dnsmasq answered the SRV query for {name}", check)


def _proxy_cert_chain(w: "World") -> Path:
    text = w.proxy.config_path.read_text()
    m = re.search(r'\[\[proxy\.domain\]\]\nname = "[^"]*"\ncert = "([^"]*)"', text)
    if not m:
        raise StepFailure(f"no [[proxy.domain]] cert in {w.proxy.config_path}:\n{text}")
    return Path(m.group(1))


def broken_cert(w: "World") -> None:
    """Overwrite the proxy's certificate chain with garbage (kept aside) and send SIGHUP."""
    chain = _proxy_cert_chain(w)
    w.saved_chain = chain.read_bytes()
    chain.write_text("not a certificate\n")
    w.proxy.reload()


def restore_cert(w: "World") -> None:
    _proxy_cert_chain(w).write_bytes(w.saved_chain)


# Cases -----------------------------------------------------------------------------------------

def certs(sc: Scenario) -> None:
    w = World(sc)
    sc.run(message_in(w, "sasl-external") + message_out(w) + [
        srv_was_queried(w.dns, SIP),
        srv_was_queried(w.dns, PROSODY),
        ExpectLog(w.prosody, rf"SASL EXTERNAL with {SIP} succeeded"),
        ExpectLog(w.prosody, rf"Outgoing s2s connection {PROSODY}->{SIP} complete"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=in .*remote={PROSODY} "
                           r"method=sasl-external"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=out .*remote={PROSODY} "
                           r"method=sasl-external"),
        NoLog(w.prosody, r"dialback key"),
        NoLog(w.proxy, r"method=dialback"),
        # A second round trip rides the streams already up.
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j2'><body>again</body>"
                       "</message>"),
        endpoint_receives(w, "juliet's second message", partner_=PROSODY,
                          auth="sasl-external", contains=("again",)),
        # SIGHUP reloads the configuration and certificates; the streams carry on.
        Do("the proxy gets SIGHUP", lambda _sc: w.proxy.reload()),
        ExpectLog(w.proxy, r"proxy\.reloaded"),
        # A reload with a broken certificate keeps the running ones and says why.
        Do("the proxy's certificate file is garbage; SIGHUP", lambda _sc: broken_cert(w)),
        ExpectLog(w.proxy, r'proxy\.reload_failed .*kept="the running certificates"'),
        Do("the certificate file is restored", lambda _sc: restore_cert(w)),
        # An iq round trip: the endpoint pings Prosody, the result comes back inbound.
        endpoint_sends(w, f"<iq type='get' from='romeo@{SIP}/sip' to='{PROSODY}' id='p1'>"
                          "<ping xmlns='urn:xmpp:ping'/></iq>"),
        endpoint_receives(w, "Prosody's answer to the ping", partner_=PROSODY,
                          auth="sasl-external",
                          attrs={"type": "result", "id": "p1", "from": PROSODY,
                                 "to": f"romeo@{SIP}/sip"}),
        proxy_stops_cleanly(w),
        ExpectLog(w.prosody, r"system-shutdown"),
    ])


def dialback(sc: Scenario) -> None:
    w = World(sc, prosody_trusted=False)
    sc.run(message_in(w, "dialback") + message_out(w) + [
        srv_was_queried(w.dns, SIP),
        srv_was_queried(w.dns, PROSODY),
        # Prosody sent a key on its outgoing stream and the proxy verified it with Prosody
        # (db:verify on a stream to prosody.test); the proxy sent its own key and Prosody
        # verified it with the proxy, the authoritative server for sip.test.
        ExpectLog(w.prosody, r"sent dialback key on outgoing s2s stream"),
        ExpectLog(w.prosody, rf"asking {SIP} if key \S+ belongs to them"),
        ExpectLog(w.prosody, r"verified dialback key\.\.\. it is valid"),
        ExpectLog(w.prosody, rf"Incoming s2s connection {SIP}->{PROSODY} complete"),
        ExpectLog(w.proxy, rf"s2s\.in\.dialback_verify local={SIP} remote={PROSODY} .*valid=true"),
        ExpectLog(w.proxy, rf"s2s\.out\.verify_answer local={SIP} remote={PROSODY} .*type=valid"),
        ExpectLog(w.prosody, rf"Outgoing s2s connection {PROSODY}->{SIP} complete"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=in .*remote={PROSODY} "
                           r"method=dialback"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=out .*remote={PROSODY} "
                           r"method=dialback"),
        NoLog(w.prosody, r"SASL EXTERNAL with \S+ succeeded"),
        NoLog(w.proxy, r"method=sasl-external"),
        proxy_stops_cleanly(w),
    ])


def dialback_proxy_first(sc: Scenario) -> None:
    """The other order: the proxy opens its stream first, so Prosody verifies the proxy's key
    through a new connection back to sip.test, and later reuses that one for its own
    db:result, which the proxy verifies over the stream it already has."""
    w = World(sc, prosody_trusted=False)
    sc.run(message_out(w) + [
        ExpectLog(w.prosody, rf"asking {SIP} if key \S+ belongs to them"),
        ExpectLog(w.proxy, rf"s2s\.in\.dialback_verify local={SIP} remote={PROSODY} .*valid=true"),
        ExpectLog(w.prosody, rf"Incoming s2s connection {SIP}->{PROSODY} complete"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=out .*remote={PROSODY} "
                           r"method=dialback"),
    ] + message_in(w, "dialback") + [
        ExpectLog(w.prosody, r"sent dialback key on outgoing s2s stream"),
        ExpectLog(w.prosody, r"verified dialback key\.\.\. it is valid"),
        ExpectLog(w.proxy, rf"s2s\.out\.verify_answer local={SIP} remote={PROSODY} .*type=valid"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=in .*remote={PROSODY} "
                           r"method=dialback"),
        NoLog(w.proxy, r"method=sasl-external"),
        proxy_stops_cleanly(w),
    ])


def registry_change(sc: Scenario) -> None:
    """The gateway blocks prosody.test while its streams are up: the proxy closes them with
    policy-violation, refuses the next one and no longer routes to it."""
    w = World(sc)
    sc.run(message_in(w, "sasl-external") + message_out(w) + [
        Do("the gateway sends a snapshot that blocks prosody.test",
           lambda _sc: w.endpoint.update_registry(
               snapshot([], blocked=[(PROSODY, "abuse")], version=2))),
        ExpectLog(w.proxy, r"registry\.applied version=2"),
        ExpectLog(w.proxy, rf"s2s\.refused conn=\d+ domain={PROSODY} rule=blocked detail=abuse "
                           r"when=\"registry change\""),
        ExpectLog(w.prosody, rf"Session closed by remote with error: policy-violation "
                             rf"\({PROSODY} is no longer admitted \(blocked: abuse\)\)"),
        # Prosody's next stream is refused, and its user learns why.
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j3'><body>still there?"
                       "</body></message>"),
        Expect("juliet", f"<message from='romeo@{SIP}' type='error' id='j3'><error type='wait'>"
                         f"<remote-server-timeout xmlns='{STANZAS_NS}'/>"
                         f"<text xmlns='{STANZAS_NS}'>*policy-violation*{PROSODY}*blocked*"
                         "</text></error></message>", timeout=10),
        ExpectLog(w.proxy, rf"s2s\.refused domain={PROSODY} rule=blocked"),
        # The gateway's stanza for the blocked domain comes back to it.
        endpoint_sends(w, f"<message from='romeo@{SIP}/sip' to='{{juliet.full_jid}}' "
                          "type='chat' id='r2'><body>hello?</body></message>"),
        endpoint_receives(w, "the refusal of the stanza for prosody.test",
                          attrs={"type": "error", "id": "r2", "to": f"romeo@{SIP}/sip"},
                          contains=("not-allowed",)),
        ExpectNothing("juliet", "<message id='r2'/>", within=0.5),
        Do("nothing more from prosody.test reached the endpoint",
           lambda _sc: w.endpoint.expect_nothing(stanza_line(attrs={"id": "j3"}), within=0.2,
                                                 description="juliet's refused message")),
        proxy_stops_cleanly(w),
    ])


BURST = 40


def burst(sc: Scenario) -> None:
    """40 messages each way in a row, with a link window of 2 so the proxy keeps running out
    of credit: every one arrives, in order (backpressure holds them, never drops them)."""
    w = World(sc, window=2)

    def juliet_sends(sc: Scenario) -> None:
        # One write: Prosody reads them together and forwards them in one go, so the proxy
        # gets more than the window in one read, whatever the timing.
        sc.clients["juliet"].send_batch([f"<message to='romeo@{SIP}' type='chat' id='b{i}'>"
                                         f"<body>burst {i}</body></message>"
                                         for i in range(BURST)])

    def endpoint_gets_all(_sc: Scenario) -> None:
        got = []
        for i in range(BURST):
            line = w.endpoint.expect(stanza_line(partner_=PROSODY, contains=("burst ",)), 10,
                                     f"burst message {i}")
            got.append(ET.fromstring(line["xml"]).get("id"))
        if got != [f"b{i}" for i in range(BURST)]:
            raise StepFailure(f"the burst arrived out of order: {got}")

    def endpoint_sends(sc: Scenario) -> None:
        for i in range(BURST):
            w.endpoint.send(f"<message from='romeo@{SIP}/sip' "
                            f"to='{sc.clients['juliet'].full_jid}' type='chat' id='e{i}'>"
                            f"<body>echo {i}</body></message>", SIP)

    def juliet_gets_all(sc: Scenario) -> None:
        juliet = sc.clients["juliet"]
        for i in range(BURST):
            juliet.expect(f"<message from='romeo@{SIP}/sip' id='e{i}'><body>echo {i}</body>"
                          "</message>", 10)

    sc.run([
        Do(f"juliet sends {BURST} messages in a row", juliet_sends),
        Do(f"the endpoint receives all {BURST}, in order", endpoint_gets_all),
        Do(f"the endpoint sends {BURST} messages in a row", endpoint_sends),
        Do(f"juliet receives all {BURST}", juliet_gets_all),
        ExpectLog(w.proxy, r"proxy\.gateway_backpressure .*action=\"?pause partners"),
        ExpectLog(w.proxy, r"proxy\.gateway_backpressure .*action=\"?resume partners"),
        NoLog(w.proxy, r"proxy\.gateway_unavailable|s2s\.queue_full|send-failed"),
        NoLog(w.endpoint, r"send-failed"),
        proxy_stops_cleanly(w),
    ])


def idle_streams(sc: Scenario) -> None:
    """Short stream timers from the registry: idle streams are closed with connection-timeout
    (RFC 6120 §4.9.3.4) after whitespace keepalives (§4.6.1) were sent, and the next stanza
    opens them again."""
    w = World(sc, registry=snapshot([partner(PROSODY)], stream_inactivity_timeout_s=3,
                                    keepalive_interval_s=1))
    sc.run(message_in(w, "sasl-external") + message_out(w) + [
        ExpectLog(w.proxy, rf"s2s\.stream_closed conn=\d+ direction=in remote={PROSODY} "
                           r"error=\"?connection-timeout", timeout=8),
        ExpectLog(w.prosody, r"Session closed by remote with error: connection-timeout",
                  timeout=5),
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j5'><body>woke up</body>"
                       "</message>"),
        endpoint_receives(w, "juliet's message on a new stream", partner_=PROSODY,
                          auth="sasl-external", attrs={"id": "j5"}),
        proxy_stops_cleanly(w),
    ])


def two_domains(sc: Scenario) -> None:
    """One proxy, two local domains with their own certificates: Prosody reaches each through
    its SRV record and authenticates each with SASL EXTERNAL against the certificate the proxy
    picks by SNI; the proxy keeps one outbound stream per (local, remote) pair."""
    w = World(sc, two_domains=True)
    sc.run(message_in(w, "sasl-external") + [
        Send("juliet", f"<message to='lucy@{SIP2}' type='chat' id='j2'><body>hi lucy</body>"
                       "</message>"),
        endpoint_receives(w, "juliet's message to sip2.test", partner_=PROSODY,
                          auth="sasl-external", local=SIP2,
                          attrs={"to": f"lucy@{SIP2}", "id": "j2"}),
    ] + message_out(w) + [
        endpoint_sends(w, f"<message from='lucy@{SIP2}/sip' to='{{juliet.full_jid}}' "
                          "type='chat' id='l1'><body>hi juliet</body></message>", local=SIP2),
        Expect("juliet", f"<message from='lucy@{SIP2}/sip' id='l1'><body>hi juliet</body>"
                         "</message>", timeout=10),
        ExpectLog(w.prosody, rf"SASL EXTERNAL with {SIP} succeeded"),
        ExpectLog(w.prosody, rf"SASL EXTERNAL with {SIP2} succeeded"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=out local={SIP} remote={PROSODY} "
                           r"method=sasl-external"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=out local={SIP2} remote={PROSODY} "
                           r"method=sasl-external"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=in local={SIP2} remote={PROSODY} "
                           r"method=sasl-external"),
        # COMPAT: Prosody sends no SNI on s2s STARTTLS; the header's 'to' chose the certificate.
        NoLog(w.prosody, r"certificate is not valid for this name"),
        proxy_stops_cleanly(w),
    ])


def sasl_required(sc: Scenario) -> None:
    """The registry requires SASL EXTERNAL of prosody.test, whose certificate the proxy cannot
    verify: both directions are refused (XEP-0178 only; no fallback to dialback), each with a
    reason naming the certificate problem, and nothing is delivered."""
    w = World(sc, prosody_trusted=False,
              registry=snapshot([partner(PROSODY, sasl="required")]))
    sc.run([
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j1'><body>let me in</body>"
                       "</message>"),
        Expect("juliet", f"<message from='romeo@{SIP}' type='error' id='j1'><error type='wait'>"
                         f"<remote-server-timeout xmlns='{STANZAS_NS}'/>"
                         f"<text xmlns='{STANZAS_NS}'>*not-authorized*{PROSODY}*</text></error>"
                         "</message>", timeout=10),
        ExpectLog(w.proxy, rf"s2s\.in\.stream_error condition=not-authorized "
                           rf"text=\"certificate for {PROSODY} does not verify"),
        endpoint_sends(w, f"<message from='romeo@{SIP}/sip' to='{{juliet.full_jid}}' "
                          "type='chat' id='r1'><body>hello?</body></message>"),
        endpoint_receives(w, "the bounce of the stanza for prosody.test",
                          attrs={"type": "error", "id": "r1", "to": f"romeo@{SIP}/sip"},
                          contains=("remote-server-not-found",)),
        ExpectLog(w.proxy, rf"s2s\.out\.failed local={SIP} remote={PROSODY} "),
        ExpectNothing("juliet", "<message id='r1'/>", within=0.3),
        Do("nothing from prosody.test reached the endpoint",
           lambda _sc: w.endpoint.expect_nothing(stanza_line(partner_=PROSODY, auth="dialback"),
                                                 within=0.2, description="a dialback stanza")),
        NoLog(w.proxy, r"s2s\.authenticated"),
        proxy_stops_cleanly(w),
    ])


def raw_stream(from_domain: str, then: str = "", until: str | None = None,
               timeout: float = 5.0) -> str:
    """Open a stream to the proxy as `from_domain` (no TLS), send `then` after the header and
    return everything the proxy answers until it closes the connection, or until the answer
    matches the regex `until`, or `timeout`."""
    header = (f"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
              f"xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
              f"from='{from_domain}' to='{SIP}' version='1.0'>")
    got = b""
    with socket.create_connection((PROXY_IP, 5269), timeout=timeout) as s:
        s.sendall((header + then).encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
            if until and re.search(until, got.decode(errors="replace")):
                break
    return got.decode(errors="replace")


def refused_raw(domain: str, rule: str) -> Do:
    def check(sc: Scenario) -> None:
        answer = raw_stream(domain)
        sc.log(f"the proxy answered {domain}: {answer}")
        want = (r"<stream:error><policy-violation xmlns=['\"]urn:ietf:params:xml:ns:xmpp-streams"
                r"['\"]/><text xmlns=['\"]urn:ietf:params:xml:ns:xmpp-streams['\"][^>]*>[^<]*"
                + re.escape(domain) + r"[^<]*" + re.escape(rule) + r"[^<]*</text></stream:error>"
                r"\s*</stream:stream>\s*$")
        if not re.search(want, answer):
            raise StepFailure(f"the proxy's answer to {domain} is not a policy-violation naming "
                              f"{rule}:\n{answer}")
    return Do(f"a stream from {domain} is refused with policy-violation ({rule})", check)


def dialback_unverifiable(domain: str) -> Do:
    """A db:result from `domain`, whose authoritative server cannot be reached: the proxy
    answers with a dialback error (XEP-0220 §2.5), not 'invalid', and keeps the stream."""
    def check(sc: Scenario) -> None:
        answer = raw_stream(domain, f"<db:result from='{domain}' to='{SIP}'>0123456789abcdef"
                                    "</db:result>",
                            until=r"<db:result[^>]*type=|</stream:stream>", timeout=8)
        sc.log(f"the proxy answered {domain}'s dialback key: {answer}")
        want = (r"<db:result (?=[^>]*from=['\"]" + re.escape(SIP) + r"['\"])(?=[^>]*to=['\"]"
                + re.escape(domain) + r"['\"])[^>]*type=['\"]error['\"][^>]*>\s*<error [^>]*>"
                r"\s*<remote-server-not-found ")
        if not re.search(want, answer) or "<stream:error>" in answer:
            raise StepFailure(f"the proxy's answer to a key from {domain}, whose server is "
                              f"unreachable, is not a remote-server-not-found dialback error on "
                              f"a stream that stays open:\n{answer}")
    return Do(f"a dialback key from {domain} that cannot be verified gets a dialback error",
              check)


def refusals(sc: Scenario) -> None:
    w = World(sc, stranger=True,
              registry=snapshot([partner(PROSODY), partner(GONE, tls="optional")],
                                blocked=[(EVIL, "spam source")]))
    sc.run([
        # stranger.test is in no snapshot: its stream is refused, its user's message bounces.
        Send("mallory", f"<message to='romeo@{SIP}' type='chat' id='m1'><body>let me in</body>"
                        "</message>"),
        # COMPAT: Prosody 0.12 bounces what it queued for a failed outgoing stream with
        # remote-server-timeout (type wait) and the peer's stream error as the text.
        Expect("mallory", f"<message from='romeo@{SIP}' type='error' id='m1'>"
                          f"<error type='wait'><remote-server-timeout xmlns='{STANZAS_NS}'/>"
                          f"<text xmlns='{STANZAS_NS}'>*policy-violation*{STRANGER}*"
                          "not-in-allow-list*</text></error></message>", timeout=10),
        ExpectLog(w.proxy, rf"s2s\.refused domain={STRANGER} rule=not-in-allow-list"),
        ExpectLog(w.stranger, rf"Session closed by remote with error: policy-violation "
                              rf"\(federation with {STRANGER} is refused by policy: "
                              r"not-in-allow-list\)"),
        # evil.test is blocked: the same, with the block rule.
        refused_raw(EVIL, "blocked"),
        ExpectLog(w.proxy, rf"s2s\.refused domain={EVIL} rule=blocked"),
        # gone.test is a partner whose server does not answer: the endpoint's stanza comes back.
        endpoint_sends(w, f"<message from='romeo@{SIP}/sip' to='nobody@{GONE}' type='chat' "
                          "id='g1'><body>anyone there?</body></message>"),
        endpoint_receives(w, "the bounce from gone.test",
                          attrs={"type": "error", "id": "g1", "from": f"nobody@{GONE}",
                                 "to": f"romeo@{SIP}/sip"},
                          contains=("remote-server-",)),
        # gone.test offers a dialback key, but its authoritative server cannot be reached.
        dialback_unverifiable(GONE),
        ExpectLog(w.proxy, rf"s2s\.in\.dialback_error .*remote={GONE}"),
        NoLog(w.proxy, r"s2s\.in\.dialback_invalid"),
        # The good partner is served all along.
    ] + message_in(w, "sasl-external") + message_out(w) + [
        Do("nothing from the refused domains reached the endpoint",
           lambda _sc: w.endpoint.expect_nothing(
               lambda x: x.get("event") == "stanza" and ("let me in" in x.get("xml", "")
                                                         or x.get("partner") in (STRANGER, EVIL)),
               within=0.5, description="a stanza from a refused domain")),
        proxy_stops_cleanly(w),
    ])


def direct_tls(sc: Scenario) -> None:
    w = World(sc, direct_tls=True)

    def xmpps_srv_was_queried(_sc: Scenario) -> None:
        if f"query[SRV] _xmpps-server._tcp.{SIP}" not in w.dns.query_log():
            raise StepFailure(f"dnsmasq saw no SRV query for _xmpps-server._tcp.{SIP}:\n"
                              + w.dns.query_log()[-3000:])

    sc.run([
        ExpectLog(w.proxy, rf"proxy\.listening .*address={re.escape(PROXY_IP)}:"
                           rf"{DIRECT_TLS_PORT} .*direct_tls=true"),
    ] + message_in(w, "sasl-external") + [
        Do(f"dnsmasq answered the SRV query for _xmpps-server._tcp.{SIP}", xmpps_srv_was_queried),
        ExpectLog(w.proxy, r"s2s\.accepted .*direct_tls=true"),
        ExpectLog(w.proxy, r"s2s\.tls .*direction=in .*alpn=xmpp-server"),
        ExpectLog(w.proxy, rf"s2s\.authenticated .*direction=in .*remote={PROSODY} "
                           r"method=sasl-external"),
        ExpectLog(w.prosody, rf"SASL EXTERNAL with {SIP} succeeded"),
        ExpectLog(w.prosody, rf"Outgoing s2s connection {PROSODY}->{SIP} complete"),
        # The first stream is already inside TLS; Prosody never opened a plaintext one (the
        # harness's readiness probe on 5269 sends nothing, so it opens no stream).
        ExpectLog(w.proxy, rf"s2s\.in\.stream local={SIP} remote={PROSODY} .*tls=true "
                           r"restart=false"),
        NoLog(w.proxy, r"s2s\.in\.stream .*tls=false"),
        NoLog(w.proxy, r"s2s\.alpn_refused"),
    ] + message_out(w) + [
        proxy_stops_cleanly(w),
    ])


def link_down(sc: Scenario) -> None:
    w = World(sc)

    def restart_gateway(sc: Scenario) -> None:
        w.endpoint = w.new_endpoint(sc, "link-endpoint-2")
        sc.start(w.endpoint)
        w.endpoint.expect(lambda x: x.get("event") == "up", 10, "the proxy's link up again")

    sc.run(message_in(w, "sasl-external") + [
        Do("the gateway (endpoint) stops", lambda _sc: w.endpoint.stop()),
        ExpectLog(w.proxy, r"link\.down"),
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j9'><body>are you there"
                       "</body></message>"),
        Expect("juliet", f"<message from='romeo@{SIP}' to='{{juliet.full_jid}}' type='error' "
                         f"id='j9'><error type='cancel'><service-unavailable "
                         f"xmlns='{STANZAS_NS}'/></error></message>", timeout=10),
        ExpectLog(w.proxy, r"proxy\.gateway_unavailable .*why=\"?link down"),
        # The proxy redials with backoff; once the link is back, stanzas flow again on the
        # streams that stayed up.
        Do("a new gateway (endpoint) starts on the same address", restart_gateway),
        Send("juliet", f"<message to='romeo@{SIP}' type='chat' id='j10'><body>back again</body>"
                       "</message>"),
        endpoint_receives(w, "juliet's message after the link came back", partner_=PROSODY,
                          auth="sasl-external", attrs={"id": "j10"}),
    ] + message_out(w) + [
        proxy_stops_cleanly(w),
    ])


if __name__ == "__main__":
    main({"certs": certs, "dialback": dialback, "dialback_proxy_first": dialback_proxy_first,
          "refusals": refusals, "registry_change": registry_change, "link_down": link_down,
          "burst": burst, "idle_streams": idle_streams, "two_domains": two_domains,
          "sasl_required": sasl_required, "direct_tls": direct_tls},
         timeout=60)
