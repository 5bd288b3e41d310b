"""The whole fedgw path on one machine, for gateway_full.py and tools/demo/demo.py.

  partner.test users -> Prosody -> fedgw-proxy -> fedgw-gateway -> Kamailio <- sip.test users
  (slixmpp clients)      .2:5269     .3:5269        .5:23456 (link)  .4:5060    (sipp, .6)
                                                    .5:5060 (SIP)
  (every address 127.0.0.x)

Everything on its own loopback address, found through the scenario's dnsmasq (SRV
`_xmpp-server._tcp` for partner.test and sip.test, DESIGN.md "Running real peers on one
machine"); one throwaway CA for every certificate: Prosody's and the proxy's s2s certificates
(each side authenticates the other with SASL EXTERNAL), and the link's (gateway.internal for
the gateway, proxy.internal for the proxy's client certificate).

Two registry files, as on a split deployment: the gateway's (the master copy, written here as
fedgwctl would: the partner, XMPP access for SIP users, a dialback secret) and the proxy's own
(created by the proxy, filled only with what the gateway sends over the link); with
shared_registry=True both use the gateway's file, as on one host. Kamailio
(tests/interop/kamailio/kamailio.cfg) is registrar and presence server for sip.test and routes
every other domain to the gateway; the gateway's next hop is Kamailio.

FullStack(sc, ...) builds it, start() starts it and waits until the proxy has applied the
gateway's first policy snapshot (so the link is up and partner.test admitted).
"""

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .ca import Ca
from .errors import HarnessError, StepFailure
from .fedgw import FedgwProxy
from .gateway import GATEWAY_BINARY, FedgwGateway
from .kamailio import Kamailio
from .prosody import Prosody
from .registry import Registry
from .sipp import SipUser
from .xmlmatch import CLIENT_NS, Matcher, to_xml

PARTNER, PARTNER_IP = "partner.test", "127.0.0.2"
SIP_DOMAIN, PROXY_IP = "sip.test", "127.0.0.3"
KAMAILIO_IP = "127.0.0.4"
GATEWAY_IP, GATEWAY_SIP_PORT, LINK_PORT = "127.0.0.5", 5060, 23456
USERS_IP = "127.0.0.6"
STRANGER, STRANGER_IP = "stranger.test", "127.0.0.7"
GATEWAY_NAME, PROXY_NAME = "gateway.internal", "proxy.internal"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"
DIALBACK_SECRET = "interop-dialback-secret-0123456789abcdef"


class FullStack:
    """Prosody for partner.test (and, with `stranger_users`, a second one for stranger.test
    that is not a partner), Kamailio for sip.test, fedgw-proxy and fedgw-gateway."""

    def __init__(self, sc: Any, *, xmpp_users: dict[str, str], sip_users: tuple[str, ...],
                 stranger_users: dict[str, str] | None = None, kamailio_max_expires: int = 3600,
                 gateway_timers: dict | None = None, settings: dict[str, Any] | None = None,
                 ca_label: str = "ca", ca_days: int = 2, shared_registry: bool = False):
        # The one binary that may not be in the tree yet: fail before starting anything.
        gateway_binary = sc.build_dir / GATEWAY_BINARY
        if not gateway_binary.is_file():
            raise HarnessError(f"{gateway_binary} does not exist: fedgw-gateway is not built "
                               f"(ninja -C {sc.build_dir}), or this tree does not have "
                               "gateway/app yet")
        self.sc = sc
        self.ca: Ca = sc.ca(ca_label, days=ca_days)
        self.dns = sc.dnsmasq()
        self.dns.add_xmpp_server(PARTNER, PARTNER_IP)
        self.dns.add_xmpp_server(SIP_DOMAIN, PROXY_IP)
        if stranger_users:
            self.dns.add_xmpp_server(STRANGER, STRANGER_IP)
        self.dns.start()

        self.prosody: Prosody = sc.prosody(PARTNER, PARTNER_IP, cert=self.ca.issue(PARTNER),
                                           dns=self.dns, s2s_secure_auth=True)
        for user, password in xmpp_users.items():
            self.prosody.add_user(user, password)
        self.stranger: Prosody | None = None
        if stranger_users:
            self.stranger = sc.prosody(STRANGER, STRANGER_IP, cert=self.ca.issue(STRANGER),
                                       dns=self.dns, s2s_secure_auth=True)
            for user, password in stranger_users.items():
                self.stranger.add_user(user, password)

        self.kamailio: Kamailio = sc.kamailio(SIP_DOMAIN, KAMAILIO_IP,
                                              gateway=(GATEWAY_IP, GATEWAY_SIP_PORT),
                                              max_expires=kamailio_max_expires)
        for user in sip_users:
            self.kamailio.add_user(user)

        # The gateway's registry: the master copy, as fedgwctl would write it.
        self.registry: Registry = sc.registry("gateway-registry")
        self.registry.add_partner(PARTNER, type="federated", description="the demo partner")
        self.registry.set_setting("xmpp_access_default", 1)
        self.registry.set_setting("dialback_secret", DIALBACK_SECRET)
        self.registry.set_setting("stream_establishment_timeout_s", 20)
        for key, value in (settings or {}).items():
            self.registry.set_setting(key, value)

        self.gateway: FedgwGateway = sc.fedgw_gateway(
            domains=[SIP_DOMAIN], address=GATEWAY_IP, port=LINK_PORT,
            cert=self.ca.issue(GATEWAY_NAME), ca_file=self.ca.ca_file, proxy_name=PROXY_NAME,
            registry=self.registry, sip_listen=[f"udp:{GATEWAY_IP}:{GATEWAY_SIP_PORT}"],
            next_hops=[f"udp:{KAMAILIO_IP}:5060"], timers=gateway_timers)
        self.proxy: FedgwProxy = sc.fedgw_proxy(
            domain=SIP_DOMAIN, address=PROXY_IP, cert=self.ca.issue(SIP_DOMAIN),
            trust_file=self.ca.ca_file, dns=self.dns, link=self.gateway,
            link_cert=self.ca.issue(PROXY_NAME), link_ca=self.ca.ca_file,
            link_name=GATEWAY_NAME,
            registry_path=self.registry.path if shared_registry else None)
        self.sip_users: dict[str, SipUser] = {}

    def start(self) -> None:
        servers = [self.kamailio, self.prosody] + ([self.stranger] if self.stranger else [])
        self.sc.start(*servers, self.gateway)
        self.sc.start(self.proxy)
        # The proxy dials the gateway; the gateway's first snapshot admits partner.test.
        self.proxy.wait_log(r"event=link\.up", 15)
        self.proxy.wait_log(r"event=registry\.applied version=\d+ partners=[1-9]", 15)

    def combined_config(self, who: str, path: Path) -> Path:
        """One fedgw.toml with both services' sections, as on a single host (what fedgwctl
        reads): [log] and [registry] from the gateway's (the master copy of the registry),
        then [proxy] and [gateway]. `who` replaces the harness's name in the header."""
        proxy = self.proxy.config_path.read_text()
        gateway = self.gateway.config_path.read_text()
        head = gateway[:gateway.index("[gateway]")]
        text = (head + proxy[proxy.index("[proxy]"):] + "\n"
                + gateway[gateway.index("[gateway]"):])
        path.write_text(text.replace("interop harness (tests/interop/harness/gateway.py)", who))
        return path

    def xmpp_client(self, name: str, user: str | None = None, *, stranger: bool = False,
                    **kwargs: Any) -> Any:
        """A logged-in client that has fetched its roster, as real clients do: Prosody
        delivers presence subscription answers (subscribed, unsubscribed) only to such
        "interested" resources (RFC 6121 §2.1.6, mod_presence send_to_interested_resources)."""
        server = self.stranger if stranger else self.prosody
        assert server is not None, "no stranger.test server in this stack"
        client = self.sc.client(name, server, user or name, **kwargs)
        client.send("<iq type='get' id='roster-1'><query xmlns='jabber:iq:roster'/></iq>")
        client.expect("<iq type='result' id='roster-1'/>", 10)
        return client

    def sip_user(self, name: str) -> SipUser:
        """name@sip.test played by sipp from USERS_IP (its own contact port)."""
        if name not in self.sip_users:
            self.sip_users[name] = self.sc.sip_user(name, self.kamailio, address=USERS_IP)
        return self.sip_users[name]


# XMPP stanzas -----------------------------------------------------------------------------------

def _child_text(el: ET.Element, name: str) -> str | None:
    child = el.find(f"{{{CLIENT_NS}}}{name}")
    return None if child is None else (child.text or "").strip()


def presence_from(bare_jid: str, *, type: str | None = None, show: str | None = None,
                  status: str | None = None, exact_show: bool = True) -> Matcher:
    """A presence from bare_jid (any resource) with exactly this type (None: no type, i.e.
    available) and <show/> (None: none; checked only when exact_show), and <status/> equal
    to `status` when given."""
    def test(el: ET.Element) -> bool:
        if el.tag != f"{{{CLIENT_NS}}}presence":
            return False
        frm = el.get("from", "")
        if frm != bare_jid and not frm.startswith(bare_jid + "/"):
            return False
        if el.get("type") != type:
            return False
        if exact_show and _child_text(el, "show") != show:
            return False
        if status is not None and _child_text(el, "status") != status:
            return False
        return True
    what = [f"type={type or '(none: available)'}"]
    if exact_show:
        what.append(f"show={show or '(none)'}")
    if status is not None:
        what.append(f"status={status!r}")
    return Matcher(test, f"a presence from {bare_jid} with {', '.join(what)}")


def error_message(from_jid: str, msg_id: str, condition: str, error_type: str) -> str:
    """The template of a message error stanza (RFC 6120 §8.3) for a message we sent."""
    return (f"<message from='{from_jid}*' type='error' id='{msg_id}'><error type='{error_type}'>"
            f"<{condition} xmlns='{STANZAS_NS}'/></error></message>")


def describe(el: ET.Element) -> str:
    return to_xml(el)


def check_subscribe_route(run: Any, timeout: float = 5.0) -> None:
    """For a sipp watcher's run through Kamailio to the gateway: the gateway's 2xx to the
    SUBSCRIBE must carry the Record-Route Kamailio put on the request (RFC 3261 §12.1.1: a
    response that creates a dialog, as a SUBSCRIBE's 2xx does, copies every Record-Route
    value), or the watcher's refreshes and un-SUBSCRIBE cannot find their way back through
    Kamailio.
    StepFailure naming both when not."""
    deadline = time.monotonic() + timeout
    while (ok := run.final_response("SUBSCRIBE")) is None:
        if time.monotonic() > deadline:
            raise StepFailure(f"expected a final response to the SUBSCRIBE\nsaw:\n"
                              f"{run.exchange_text()}")
        time.sleep(0.05)
    sent = run.sent("SUBSCRIBE")[0]
    rrs = ok.headers("Record-Route")
    if not 200 <= ok.status < 300:
        raise StepFailure(f"expected a 2xx to the SUBSCRIBE\nsaw: {ok.start_line}")
    # The watcher sent none; what the gateway got is Kamailio's (kamailio.cfg TO_GATEWAY).
    if sent.headers("Record-Route") or not rrs or not all(KAMAILIO_IP in r for r in rrs):
        raise StepFailure("expected the gateway's 2xx to the SUBSCRIBE to copy Kamailio's "
                          "Record-Route from the request (RFC 3261 §12.1.1: a response that "
                          "creates a dialog copies every Record-Route value), so refreshes "
                          "and the un-SUBSCRIBE come back through Kamailio"
                          f"\nsaw: {ok.start_line} with Record-Route "
                          f"{rrs or '(none)'}\n{ok}")
