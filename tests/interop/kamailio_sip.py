#!/usr/bin/python3
"""The SIP side of the interop tier: a real Kamailio as the SIP platform fedgw-gateway serves.

Kamailio 5.6 (tests/interop/kamailio/kamailio.cfg) serves sip.test on 127.0.0.4:5060 as
registrar, presence server and MESSAGE router, and sends every request for another domain to
the gateway next hop 127.0.0.5:5060 (UDP). SIP users are sipp runs from 127.0.0.6; the gateway
is played by a Python SIP endpoint that records what Kamailio routes to it. What these cases
establish is what fedgw-gateway has to cope with; tests/interop/kamailio/README.md sums it up.

Cases:
  message         two registered users: a MESSAGE (RFC 3428) from one reaches the other's UAS
                  with its body, Content-Type and From intact; the UAS's 200 comes back.
  message_errors  what a sender gets: 480 for a known user who is not registered, 404 for an
                  unknown user, the UAS's own failure (486) relayed, and 408 (after tm's
                  4 s fr_timer) for a registered contact that does not answer.
  to_gateway      MESSAGE to sip:juliet@xmpp.test is forwarded to the gateway next hop, body
                  intact; the gateway's failure code reaches the sender; a MESSAGE from the
                  gateway reaches a registered SIP user; a SIP user's SUBSCRIBE to juliet is
                  record-routed to the gateway, whose NOTIFYs and the in-dialog unsubscribe
                  go through Kamailio; a request from the gateway for a non-local domain is
                  refused with 482 instead of looping.
  presence        RFC 3856 through RFC 6665: a user PUBLISHes (RFC 3903) open + note; the
                  gateway SUBSCRIBEs for 28800 s and is granted 3600 s (200), gets a NOTIFY
                  with that PIDF (RFC 3863); a modifying PUBLISH (SIP-If-Match) of closed +
                  another note gives a new NOTIFY; an in-dialog refresh is capped again; a sipp
                  watcher sees the same state; Expires: 0 ends with
                  Subscription-State: terminated; SUBSCRIBE for an unknown user gets 404.
  lifecycle       the harness: stop() leaves none of Kamailio's workers behind; a taken port
                  or a broken config fails at once with the reason and Kamailio's log.
"""

import socket
import sys

sys.dont_write_bytecode = True

from harness import (Do, ExpectLog, HarnessError, Kamailio, NoLog, Scenario,  # noqa: E402
                     SipDialog, SipMessage, StepFailure, main, parse_pidf, pidf_document)
from harness.process import port_is_free  # noqa: E402

SIP_DOMAIN, SIP_IP = "sip.test", "127.0.0.4"
GATEWAY_IP, GATEWAY_PORT = "127.0.0.5", 5060
USERS_IP = "127.0.0.6"
XMPP_USER = "sip:juliet@xmpp.test"


def check(cond: bool, message: str, *msgs: SipMessage) -> None:
    if not cond:
        raise StepFailure(message + "".join(f"\n--- message:\n{m}" for m in msgs))


def platform(sc: Scenario, *users: str) -> Kamailio:
    """Kamailio for sip.test with these known users (alice, bob, carol, ...), started."""
    k = sc.kamailio(SIP_DOMAIN, SIP_IP, gateway=(GATEWAY_IP, GATEWAY_PORT))
    for u in users:
        k.add_user(u)
    sc.start(k)
    return k


def message(sc: Scenario) -> None:
    k = platform(sc, "alice", "bob")
    alice = sc.sip_user("alice", k, address=USERS_IP)
    bob = sc.sip_user("bob", k, address=USERS_IP)
    text = "hello bob, ünïcode ✓ & <xml> chars"
    state: dict = {}

    def register_both(_sc: Scenario) -> None:
        for u in (alice, bob):
            r = u.register()
            check(r.status == 200 and f"{USERS_IP}:{u.contact_port}" in (r.header("Contact") or ""),
                  f"{u.name}: REGISTER should be answered 200 with its Contact", r)

    def send(_sc: Scenario) -> None:
        uas = bob.receive_messages()
        state["sent"], state["final"] = alice.send_message(bob.uri, text)
        uas.wait()
        uas.require_passed("receiving one MESSAGE")
        state["got"] = uas.received_requests("MESSAGE")

    def delivered(_sc: Scenario) -> None:
        sent, got = state["sent"], state["got"]
        check(len(got) == 1, f"bob's UAS should get exactly one MESSAGE, got {len(got)}")
        m = got[0]
        check(m.uri == f"sip:bob@{USERS_IP}:{bob.contact_port}",
              "Kamailio should rewrite the Request-URI to bob's registered Contact", m)
        check(m.body == sent.body and m.text.rstrip("\r\n") == text,
              f"the body should arrive unchanged ({sent.body!r})", m)
        check(m.header("Content-Type") == "text/plain; charset=UTF-8", "Content-Type kept", m)
        check(alice.uri in (m.header("From") or "") and bob.uri in (m.header("To") or ""),
              "From and To kept", m)
        check(len(m.headers("Via")) == 2, "Kamailio adds its own Via (stateful proxy)", m)
        check(state["final"].status == 200, "alice gets bob's 200", state["final"])

    sc.run([
        Do("alice and bob register", register_both),
        Do("alice sends bob a MESSAGE while bob's UAS listens", send),
        Do("bob got it with body, Content-Type and From intact", delivered),
        ExpectLog(k, r"fedgw-route: MESSAGE to sip:bob@sip\.test -> sip:bob@127\.0\.0\.6:"),
        NoLog(k, r"ERROR"),
    ])


def message_errors(sc: Scenario) -> None:
    k = platform(sc, "alice", "bob", "carol")
    alice = sc.sip_user("alice", k, address=USERS_IP)
    bob = sc.sip_user("bob", k, address=USERS_IP)

    def final_is(to: str, code: int, why: str):
        def step(_sc: Scenario) -> None:
            _, r = alice.send_message(to, f"are you there, {to}?", expect=code)
            check(r.status == code, f"{why}: expected {code}", r)
        return Do(f"MESSAGE to {to} gets {code} ({why})", step)

    def uas_refuses(_sc: Scenario) -> None:
        uas = bob.receive_messages(code=486, reason="Busy Here")
        _, r = alice.send_message(bob.uri, "busy?", expect=486)
        uas.wait()
        uas.require_passed("answering 486")
        check(r.status == 486 and r.reason == "Busy Here", "the UAS's 486 is relayed", r)

    sc.run([
        Do("bob registers (his UAS is not running yet)", lambda _sc: bob.register()),
        final_is("sip:carol@sip.test", 480, "known user, not registered"),
        final_is("sip:dave@sip.test", 404, "no such user"),
        Do("bob's UAS answers 486: alice gets 486", uas_refuses),
        # bob's contact is registered but nothing listens there any more: tm's fr_timer.
        final_is(bob.uri, 408, "registered contact does not answer"),
        ExpectLog(k, r"fedgw-route: MESSAGE sip:carol@sip\.test: user offline, 480"),
        ExpectLog(k, r"fedgw-route: MESSAGE sip:dave@sip\.test: no such user, 404"),
    ])


def to_gateway(sc: Scenario) -> None:
    k = platform(sc, "alice")
    refuse = "sip:romeo@xmpp.test"
    gateway = sc.sip_endpoint("gateway", GATEWAY_IP, GATEWAY_PORT,
                              on_request=lambda m: 404 if m.uri == refuse else None)
    alice = sc.sip_user("alice", k, address=USERS_IP)
    state: dict = {}

    def send(_sc: Scenario) -> None:
        state["sent"], state["final"] = alice.send_message(XMPP_USER, "hi juliet ✓ <b>&amp;</b>")

    def forwarded(_sc: Scenario) -> None:
        m = gateway.expect_request("MESSAGE", timeout=2)
        sent = state["sent"]
        check(m.uri == XMPP_USER, "the Request-URI stays the XMPP user's", m)
        check(m.body == sent.body, f"the body arrives unchanged ({sent.body!r})", m)
        check(m.header("Content-Type") == "text/plain; charset=UTF-8", "Content-Type kept", m)
        check(alice.uri in (m.header("From") or "") and XMPP_USER in (m.header("To") or ""),
              "From and To kept", m)
        check(m.call_id == sent.call_id, "Call-ID kept", m)
        vias = m.headers("Via")
        check(len(vias) == 2 and SIP_IP in vias[0], "Kamailio's Via on top, alice's below", m)
        check(m.header("Max-Forwards") == "69", "Max-Forwards decremented", m)
        check(state["final"].status == 200, "alice gets the gateway's 200", state["final"])

    def gateway_failure(_sc: Scenario) -> None:
        _, r = alice.send_message(refuse, "anyone?", expect=404)
        m = gateway.expect_request("MESSAGE", lambda m: m.uri == refuse, timeout=2)
        check(r.status == 404, "the gateway's 404 reaches alice", r, m)

    def from_gateway(_sc: Scenario) -> None:
        alice.register()
        uas = alice.receive_messages()
        r = gateway.send_message(alice.uri, "hi alice, juliet here", from_uri=XMPP_USER,
                                 dest=k.next_hop)
        uas.wait()
        uas.require_passed("receiving the gateway's MESSAGE")
        got = uas.received_requests("MESSAGE")
        check(r.status == 200, "the gateway gets alice's 200", r)
        check(len(got) == 1 and got[0].text == "hi alice, juliet here"
              and XMPP_USER in (got[0].header("From") or ""),
              "alice gets juliet's MESSAGE as sent", *got)

    def watch_xmpp_user(_sc: Scenario) -> None:
        run = alice.start_watch(XMPP_USER, expires=600)
        sub = gateway.expect_request("SUBSCRIBE", timeout=3)
        check(sub.uri == XMPP_USER and sub.header("Event") == "presence" and sub.expires == 600,
              "alice's SUBSCRIBE reaches the gateway as sent", sub)
        check(any(SIP_IP in rr for rr in sub.headers("Record-Route")),
              "Kamailio record-routes a SUBSCRIBE it sends to the gateway", sub)
        r = gateway.notify(sub, "active;expires=600",
                           pidf_document(XMPP_USER, "open", "hello from xmpp"))
        check(r.status == 200, "alice answers the gateway's NOTIFY (through Kamailio)", r)
        unsub = gateway.expect_request("SUBSCRIBE", lambda m: m.call_id == sub.call_id,
                                       timeout=3)
        check(unsub.expires == 0 and unsub.tag("To") == gateway.reply_to(sub).tag("To"),
              "alice ends the subscription inside the dialog, through Kamailio", unsub)
        r = gateway.notify(sub, "terminated;reason=timeout")
        check(r.status == 200, "alice answers the terminating NOTIFY", r)
        run.wait()
        run.require_passed(f"watching {XMPP_USER}", "SUBSCRIBE", 200)
        first = run.received_requests("NOTIFY")[0]
        doc = parse_pidf(first.body)
        check(doc.basics == ["open"] and doc.notes == ["hello from xmpp"],
              "alice gets the gateway's PIDF unchanged", first)

    def no_loop(_sc: Scenario) -> None:
        r = gateway.send_message("sip:mercutio@xmpp.test", "loop?", from_uri=XMPP_USER,
                                 dest=k.next_hop)
        check(r.status == 482, "a request from the gateway for a non-local domain: 482", r)
        gateway.expect_nothing("MESSAGE", within=0.3)

    sc.run([
        Do("alice sends a MESSAGE to sip:juliet@xmpp.test", send),
        Do("Kamailio forwarded it to the gateway next hop, body intact", forwarded),
        ExpectLog(k, r"fedgw-route: MESSAGE sip:juliet@xmpp\.test -> gateway "
                     r"sip:127\.0\.0\.5:5060;transport=udp"),
        Do("the gateway answers 404 for romeo: alice gets 404", gateway_failure),
        Do("the gateway sends alice a MESSAGE: delivered to her UAS", from_gateway),
        Do("alice watches juliet: SUBSCRIBE to the gateway, its NOTIFYs back to alice",
           watch_xmpp_user),
        Do("a request from the gateway for xmpp.test is refused, not looped", no_loop),
    ])


def presence(sc: Scenario) -> None:
    k = platform(sc, "alice", "bob")
    gateway = sc.sip_endpoint("gateway", GATEWAY_IP, GATEWAY_PORT)
    alice = sc.sip_user("alice", k, address=USERS_IP)
    bob = sc.sip_user("bob", k, address=USERS_IP)
    note1, note2 = "lunch & coffee ☕ <back at 2>", "gone home"
    state: dict = {}

    def shows(n: SipMessage, basic: str, note: str) -> bool:
        try:
            doc = parse_pidf(n.body)
        except StepFailure:
            return False
        return doc.basics == [basic] and doc.notes == [note]

    def next_notify(dialog: SipDialog, what: str, pred=lambda n: True) -> SipMessage:
        """The next NOTIFY of the dialog newer (by CSeq) than the last one taken that satisfies
        pred. Kamailio's workers can send one state twice (a PUBLISH's NOTIFY racing the
        initial one of a new subscription): the gateway must go by CSeq, and so do we."""
        last = state.get("cseq", 0)
        n = gateway.expect_notify(dialog, predicate=lambda m: m.cseq[0] > last and pred(m),
                                  description=what)
        state["cseq"] = n.cseq[0]
        return n

    def pidf_of(n: SipMessage, basic: str, note: str) -> None:
        check(n.header("Event") == "presence", "Event: presence", n)
        check(n.header("Content-Type") == "application/pidf+xml", "PIDF body", n)
        doc = parse_pidf(n.body)
        check(doc.entity == alice.uri, f"PIDF entity is {alice.uri}", n)
        check(doc.basics == [basic], f"one tuple, basic {basic}", n)
        check(doc.notes == [note], f"the note {note!r}", n)

    def publish_open(_sc: Scenario) -> None:
        alice.register()
        state["etag1"] = alice.publish("open", note1, expires=600)

    def subscribe(_sc: Scenario) -> None:
        resp, dialog = gateway.subscribe(alice.uri, watcher=XMPP_USER, dest=k.next_hop,
                                         expires=28800)
        state["dialog"] = dialog
        check(resp.status in (200, 202), "SUBSCRIBE accepted", resp)
        check(resp.status == 200, "Kamailio 5.6 answers 200, not 202 (RFC 6665)", resp)
        check(resp.expires == 3600, "28800 s asked, 3600 s granted (max_expires)", resp)
        check(dialog.remote_tag is not None and dialog.remote_target.startswith(
            f"sip:{SIP_IP}:5060"), "the 200 sets up the dialog: To tag, Contact", resp)

    def first_notify(_sc: Scenario) -> None:
        n = next_notify(state["dialog"], "the first NOTIFY")
        state_, params = n.subscription_state()
        check(state_ == "active" and 0 < int(params.get("expires", "0")) <= 3600,
              "Subscription-State: active;expires<=3600 (force_active: no authorisation)", n)
        check(n.header("Contact", "").startswith(f"<sip:{SIP_IP}:5060"),
              "NOTIFY Contact is the presence server", n)
        pidf_of(n, "open", note1)

    def publish_closed(_sc: Scenario) -> None:
        etag2 = alice.publish("closed", note2, expires=600, modify=True)
        check(etag2 != state["etag1"], "a modifying PUBLISH gets a new ETag")
        n = next_notify(state["dialog"], "a NOTIFY with closed",
                        lambda m: shows(m, "closed", note2))
        check(n.subscription_state()[0] == "active", "still active", n)
        pidf_of(n, "closed", note2)

    def refresh(_sc: Scenario) -> None:
        r = gateway.resubscribe(state["dialog"], 28800)
        check(r.status == 200 and r.expires == 3600, "a refresh is capped to 3600 s too", r)
        n = next_notify(state["dialog"], "the NOTIFY after a refresh")
        pidf_of(n, "closed", note2)

    def sipp_watcher(_sc: Scenario) -> None:
        first, last = bob.watch(alice.uri)
        check(first.subscription_state()[0] == "active", "bob's subscription is active", first)
        pidf_of(first, "closed", note2)
        check(last.subscription_state() == ("terminated", {"reason": "timeout"}),
              "Expires: 0 ends with terminated;reason=timeout", last)

    def unsubscribe(_sc: Scenario) -> None:
        r = gateway.resubscribe(state["dialog"], 0)
        check(r.status == 200 and r.expires == 0, "unsubscribe answered 200, Expires: 0", r)
        n = next_notify(state["dialog"], "the terminating NOTIFY")
        check(n.subscription_state() == ("terminated", {"reason": "timeout"}),
              "Subscription-State: terminated;reason=timeout", n)
        gateway.expect_nothing("NOTIFY", within=0.3, predicate=lambda m: m.cseq[0] > n.cseq[0])

    def unknown_user(_sc: Scenario) -> None:
        r, _ = gateway.subscribe("sip:dave@sip.test", watcher=XMPP_USER, dest=k.next_hop,
                                 expires=28800)
        check(r.status == 404, "SUBSCRIBE for an unknown user: 404", r)
        gateway.expect_nothing("NOTIFY", within=0.3,
                               predicate=lambda m: "dave" in m.require("From"))

    sc.run([
        Do("alice PUBLISHes open with a note", publish_open),
        Do("the gateway SUBSCRIBEs to alice for 28800 s", subscribe),
        Do("the gateway gets a NOTIFY with alice's PIDF: open and the note", first_notify),
        Do("alice PUBLISHes closed (SIP-If-Match): a new NOTIFY", publish_closed),
        Do("the gateway refreshes in the dialog", refresh),
        Do("bob watches alice with sipp", sipp_watcher),
        Do("the gateway unsubscribes", unsubscribe),
        Do("the gateway SUBSCRIBEs to an unknown user", unknown_user),
        ExpectLog(k, r"fedgw-route: SUBSCRIBE sip:alice@sip\.test from sip:juliet@xmpp\.test "
                     r"event presence expires 28800"),
        NoLog(k, r"ERROR"),
    ])


def lifecycle(sc: Scenario) -> None:
    """The harness side: Kamailio's workers all go with stop(), and a Kamailio that cannot
    start fails at once with the reason and its log."""
    k = platform(sc, "alice")
    workers = k.process.group_members()
    check(len(workers) > 3, f"Kamailio should run its workers in its own group: {workers}")
    check(k.rpc("core.version").strip().startswith("kamailio 5."),
          "the control socket under the work dir answers")
    k.stop()
    left = k.process.group_members()
    check(not left and not k.is_running(), f"processes left after stop(): {left}")
    check(port_is_free(SIP_IP, 5060) and port_is_free(SIP_IP, 5060, udp=True),
          f"{SIP_IP}:5060 still taken after stop()")

    def refused(make, wanted: list[str]) -> None:
        try:
            sc.start(make())
        except HarnessError as e:
            text = str(e)
            for w in wanted:
                check(w in text, f"the error should mention {w!r}:\n{text}")
            sc.log(f"refused as it should: {text.splitlines()[0]}")
            return
        raise StepFailure("Kamailio should not have started")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((SIP_IP, 5060))
        refused(lambda: sc.kamailio("taken.test", SIP_IP), [f"{SIP_IP}:5060 is already in use"])
    bad = sc.workdir / "broken.cfg"
    bad.write_text("#!KAMAILIO\nloadmodule \"no_such_module.so\"\n")
    refused(lambda: sc.kamailio("broken.test", SIP_IP, config=bad),
            ["exited with status", "no_such_module", "kamailio.log"])


if __name__ == "__main__":
    main({"message": message, "message_errors": message_errors, "to_gateway": to_gateway,
          "presence": presence, "lifecycle": lifecycle}, timeout=60)
