#!/usr/bin/python3
"""Two Prosody servers federate through the harness: proof that the interop tier works.

alpha.test (127.0.0.2) and beta.test (127.0.0.3) find each other through the scenario's dnsmasq
only: `_xmpp-server._tcp` SRV records and the targets' A records (RFC 6120 §3.2.1), no hosts
entries. alice@alpha.test writes to bob@beta.test, bob answers, so a stream is set up in each
direction (RFC 6120 §4, server-to-server), then alice pings bob's server across s2s.

Cases:
  certs     both certificates come from the CA both servers trust and s2s_secure_auth = true:
            each direction authenticates with SASL EXTERNAL (RFC 6120 §6.4.1, XEP-0178); no
            dialback key is ever sent.
  dialback  beta's certificate comes from a CA nobody trusts and beta trusts only that CA, with
            s2s_secure_auth = false on both: neither side can validate the other, so each
            direction authenticates with dialback (XEP-0220), including the verify connection
            back to the sender's authoritative server found through SRV.
The auth method is asserted from Prosody's own debug log lines (mod_saslauth, mod_dialback of
Prosody 0.12); dnsmasq's query log shows the SRV lookups really happened.
"""

import sys

sys.dont_write_bytecode = True

from harness import (Do, Expect, ExpectLog, ExpectNothing, NoLog, Ping,  # noqa: E402
                     Scenario, Send, StepFailure, main)

ALPHA, ALPHA_IP = "alpha.test", "127.0.0.2"
BETA, BETA_IP = "beta.test", "127.0.0.3"


def start_pair(sc: Scenario, *, secure: bool, beta_cert_kind: str = "good"):
    """beta_cert_kind: "good" (from the CA both trust), "untrusted" (from a CA only beta trusts) or
    "wrong-name" (from the good CA, but for wrong.test)."""
    good = sc.ca("good-ca")
    dns = sc.dnsmasq()
    dns.add_xmpp_server(ALPHA, ALPHA_IP)
    dns.add_xmpp_server(BETA, BETA_IP)
    dns.start()
    if beta_cert_kind == "good":
        beta_cert, beta_trusts = good.issue(BETA), good.ca_file
    elif beta_cert_kind == "wrong-name":
        beta_cert, beta_trusts = good.issue(BETA, names=["wrong.test"]), good.ca_file
    else:
        untrusted = sc.ca("untrusted-ca")
        beta_cert, beta_trusts = untrusted.issue(BETA), untrusted.ca_file
    alpha = sc.prosody(ALPHA, ALPHA_IP, cert=good.issue(ALPHA), dns=dns, s2s_secure_auth=secure)
    beta = sc.prosody(BETA, BETA_IP, cert=beta_cert, cafile=beta_trusts, dns=dns,
                      s2s_secure_auth=secure)
    alpha.add_user("alice", "alice-pass")
    beta.add_user("bob", "bob-pass")
    sc.start(alpha, beta)
    sc.client("alice", alpha, "alice")
    # bob's client checks beta's certificate against the CA beta uses, and its name unless
    # that is the point of the case.
    sc.client("bob", beta, "bob", cafile=beta_trusts,
              check_hostname=beta_cert_kind != "wrong-name")
    return dns, alpha, beta


def conversation() -> list:
    return [
        Send("alice", "<message to='{bob.jid}' type='chat' id='a1'><body>hello bob</body>"
                      "</message>"),
        Expect("bob", "<message from='{alice.full_jid}' to='{bob.jid}' type='chat' id='a1'>"
                      "<body>hello bob</body></message>", timeout=10),
        Send("bob", "<message to='{alice.full_jid}' type='chat' id='b1'><body>hi alice</body>"
                    "</message>"),
        Expect("alice", "<message from='{bob.full_jid}' to='{alice.full_jid}' type='chat' id='b1'>"
                        "<body>hi alice</body></message>", timeout=10),
        Ping("alice", to=BETA),
    ]


def srv_was_queried(dns, name: str):
    def check(_sc: Scenario) -> None:
        if f"query[SRV] _xmpp-server._tcp.{name}" not in dns.query_log():
            raise StepFailure(f"dnsmasq saw no SRV query for _xmpp-server._tcp.{name}:\n"
                              + dns.query_log()[-3000:])
    return Do(f"dnsmasq answered the SRV query for {name}", check)


def certs(sc: Scenario) -> None:
    dns, alpha, beta = start_pair(sc, secure=True)
    sc.run(conversation() + [
        srv_was_queried(dns, BETA),
        srv_was_queried(dns, ALPHA),
        ExpectLog(alpha, rf"SASL EXTERNAL with {BETA} succeeded"),
        ExpectLog(beta, rf"SASL EXTERNAL with {ALPHA} succeeded"),
        ExpectLog(alpha, rf"Outgoing s2s connection {ALPHA}->{BETA} complete"),
        ExpectLog(beta, rf"Outgoing s2s connection {BETA}->{ALPHA} complete"),
        NoLog(alpha, r"dialback key"),
        NoLog(beta, r"dialback key"),
    ])


def dialback(sc: Scenario) -> None:
    dns, alpha, beta = start_pair(sc, secure=False, beta_cert_kind="untrusted")
    sc.run(conversation() + [
        srv_was_queried(dns, BETA),
        srv_was_queried(dns, ALPHA),
        # Each side sends a key on its outgoing stream and, as the authoritative server,
        # is asked to verify the key the other side received.
        ExpectLog(alpha, r"sent dialback key on outgoing s2s stream"),
        ExpectLog(beta, r"sent dialback key on outgoing s2s stream"),
        ExpectLog(alpha, r"verified dialback key\.\.\. it is valid"),
        ExpectLog(beta, r"verified dialback key\.\.\. it is valid"),
        ExpectLog(alpha, rf"Outgoing s2s connection {ALPHA}->{BETA} complete"),
        ExpectLog(beta, rf"Outgoing s2s connection {BETA}->{ALPHA} complete"),
        NoLog(alpha, r"SASL EXTERNAL with \S+ succeeded"),
        NoLog(beta, r"SASL EXTERNAL with \S+ succeeded"),
    ])


def wrong_name_refused(sc: Scenario) -> None:
    _dns, alpha, _beta = start_pair(sc, secure=True, beta_cert_kind="wrong-name")
    sc.run([
        Send("alice", "<message to='{bob.jid}' type='chat' id='a1'><body>hello bob</body>"
                      "</message>"),
        # COMPAT: Prosody 0.12 bounces with remote-server-timeout (type wait), not
        # remote-server-not-found, when it gives up on a peer's certificate.
        Expect("alice", "<message from='{bob.jid}' type='error' id='a1'><error type='wait'>"
                        "<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>"
                        "*certificate is not valid for this name</text></error></message>",
               timeout=10),
        ExpectNothing("bob", "<message/>", within=0.5),
        ExpectLog(alpha, rf"Forbidding insecure connection to/from {BETA} because its "
                         r"certificate"),
    ])


if __name__ == "__main__":
    main({"certs": certs, "dialback": dialback, "wrong_name_refused": wrong_name_refused},
         timeout=60)
