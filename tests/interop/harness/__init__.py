"""fedgw interop harness: run real third-party servers on one machine and script them.

The interop tier (tests/interop/, meson suite `interop`) tests fedgw against real peers that
each test starts itself: Prosody, Kamailio and sipp. Scenarios are Python 3 run with
/usr/bin/python3 (Debian's, which has slixmpp), standard library + slixmpp only. Nothing of the
machine is used or changed: every server gets a temp dir, its own loopback address
(127.0.0.2, 127.0.0.3, ...) and the scenario's own DNS (dnsmasq on 127.0.0.254:53 as root,
serving the `.test` TLD only). Everything is stopped and removed when a case ends, so cases can
run back to back. See ../../../shared/DESIGN.md, "Running real peers on one machine".

Modules
  ca.py       Ca: a throwaway openssl CA; issue(name) gives an XMPP server certificate
              (dNSName, SRV-ID, XmppAddr; serverAuth + clientAuth EKU).
  dns.py      Dnsmasq: A and SRV records, no forwarding; query() checks answers.
  prosody.py  Prosody: a private Prosody 0.12 for one domain; add_user(); debug log.
  kamailio.py Kamailio: a private Kamailio 5.6 for one SIP domain from
              tests/interop/kamailio/kamailio.cfg (registrar, presence server, MESSAGE
              router, non-local domains to a gateway next hop); add_user(); rpc().
  sipp.py     SipUser: a SIP user played by sipp (scenarios in tests/interop/sipp/):
              register, send_message, receive_messages (UAS), publish, unpublish, watch,
              start_watch_until (NOTIFYs until a sequence of states was seen).
  sip.py      SipMessage, SipEndpoint (a stdlib UDP SIP UA with an inbox, SUBSCRIBE
              dialogs; the fake gateway), parse_pidf/pidf_document, options_ping.
  xmpp.py     XmppClient: a slixmpp client driven synchronously; send/expect/ping/close.
  xmlmatch.py stanza templates (`*` globs, extra attributes and children ignored).
  fedgw.py    FedgwProxy (fedgw-proxy with a generated fedgw.toml) and LinkEndpoint (the
              stand-in gateway, JSON lines); partner() and snapshot() build registry
              snapshots. proxy_prosody.py is the example.
  gateway.py  FedgwGateway: fedgw-gateway with a generated fedgw.toml ([gateway] section),
              ready on gateway.ready, restartable on the same registry. gateway_full.py is
              the example (Prosody + fedgw-proxy + fedgw-gateway + Kamailio + sipp).
  registry.py Registry: a registry SQLite file from schema/*.sql, written as fedgwctl would
              (partners, settings, per-user access); sc.registry(name) makes one.
  stack.py    FullStack: the whole path (Prosody for partner.test, fedgw-proxy, fedgw-gateway,
              Kamailio for sip.test, sipp users), shared by gateway_full.py,
              fedgwctl_diag.py and the demo (tools/demo/demo.py); combined_config() (one
              fedgw.toml for fedgwctl); presence_from() and error_message() matchers.
  mountns.py  PrivateDns: run a program (fedgw) in a mount namespace seeing the test DNS
              through bind-mounted resolv.conf and hosts (root only).
  process.py  ManagedProcess: start, wait for a port or a log line, SIGTERM then SIGKILL.
  scenario.py Scenario, the steps, run_case() and main().

Writing a scenario
  One scenario per file, tests/interop/<name>.py, one or more cases (functions taking the
  Scenario). Register each case in tests/interop/meson.build (`interop_scenarios`).

    #!/usr/bin/python3
    '''What this scenario proves, which RFC/XEP sections.'''
    import sys
    sys.dont_write_bytecode = True       # keep __pycache__ out of the source tree
    from harness import *

    def case(sc: Scenario) -> None:
        ca = sc.ca("good")
        dns = sc.dnsmasq()
        dns.add_xmpp_server("alpha.test", "127.0.0.2")
        dns.start()
        alpha = sc.prosody("alpha.test", "127.0.0.2", cert=ca.issue("alpha.test"), dns=dns)
        alpha.add_user("alice", "secret")
        sc.start(alpha)
        sc.client("alice", alpha, "alice")
        sc.run([
            Send("alice", "<message to='{alice.jid}' type='chat'><body>hi</body></message>"),
            Expect("alice", "<message from='{alice.jid}/*'><body>hi</body></message>"),
        ])

    if __name__ == "__main__":
        main({"case": case}, timeout=60)

  - `python3 file.py` runs every case; `python3 file.py CASE --keep` runs one and keeps its
    temp dir (configs, logs, certificates) for a look afterwards.
  - Expect takes a template (xmlmatch.py) or a predicate; it waits up to its timeout (5 s by
    default) and takes the first matching stanza from the actor's inbox; others stay there.
  - Any failure (a server that does not start, a missing tool, a missed expectation, the
    global deadline) FAILS the case and prints the step, the stanzas seen and the log tails of
    every server. Nothing is ever skipped.
  - A passing case ends with every client's ping round trip and orderly stream close.
  - Give every protocol timer a short setting: meson kills the test after its timeout.
  - SIP: sc.kamailio() (start it with sc.start), sc.sip_user(name, kamailio) for sipp users,
    sc.sip_endpoint(name, host, port) for a Python SIP endpoint; assert with Do steps.
    kamailio_sip.py is the example, tests/interop/kamailio/README.md the reference.
  - Later scenarios find fedgw's binaries under sc.build_dir (FEDGW_BUILD_DIR) and run them
    with sc.process(name, sc.private_dns(dns).wrap([binary, ...])).
"""

from .ca import Ca, Cert
from .dns import Dnsmasq, query
from .errors import HarnessError, ScenarioTimeout, StepFailure, Terminated
from .fedgw import FedgwProxy, LinkEndpoint, partner, snapshot
from .gateway import FedgwGateway
from .kamailio import Kamailio
from .mountns import PrivateDns, require_root
from .process import ManagedProcess, free_port, is_root, tail
from .prosody import Prosody
from .registry import Registry
from .sip import (Pidf, PidfTuple, SipDialog, SipEndpoint, SipMessage, options_ping,
                  parse_pidf, pidf_activities, pidf_document)
from .sipp import SippRun, SipUser, parse_trace, stage_notifies
from .scenario import (Do, Expect, ExpectLog, ExpectNothing, NoLog, Ping, Scenario, Send,
                       main, run_case)
from .xmlmatch import make_matcher, matches, parse_template, to_xml
from .xmpp import LoopThread, XmppClient

__all__ = [
    "Ca", "Cert", "Dnsmasq", "query", "HarnessError", "ScenarioTimeout", "StepFailure",
    "Terminated", "PrivateDns", "require_root", "ManagedProcess", "free_port", "is_root", "tail",
    "Prosody", "Do", "Expect", "ExpectLog", "ExpectNothing", "NoLog", "Ping", "Scenario", "Send",
    "main", "run_case", "make_matcher", "matches", "parse_template", "to_xml", "LoopThread",
    "XmppClient", "Kamailio", "Pidf", "PidfTuple", "SipDialog", "SipEndpoint", "SipMessage",
    "options_ping", "parse_pidf", "pidf_activities", "pidf_document", "SippRun", "SipUser",
    "parse_trace", "stage_notifies", "FedgwProxy", "LinkEndpoint", "partner", "snapshot",
    "FedgwGateway", "Registry",
]
