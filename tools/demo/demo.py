#!/usr/bin/python3
"""fedgw demo: a Prosody user and a SIP user talk through fedgw, on this machine (issue 6).

Run by `./run demo` (which installs what is missing and builds first), or directly:
    /usr/bin/python3 tools/demo/demo.py --build-dir build [--keep]

It starts on loopback addresses, with the interop harness (tests/interop/harness, stack.py):
a throwaway CA and certificates, the gateway's SQLite registry with the partner, a private
dnsmasq, Prosody for partner.test, Kamailio for sip.test, fedgw-gateway and fedgw-proxy. Then it
prints a transcript of a real conversation between alice@partner.test (a slixmpp client) and
bob@sip.test (sipp): messages both ways, a message to a SIP user that does not exist coming
back as an error, presence subscriptions both ways, status changes, going offline; then
`fedgwctl diag` (when the fedgwctl binary is built), then it stops everything it started.

Every step waits for what it should cause, with a time limit; the exit status is 0 only when
every step was observed, 1 otherwise (with what was expected, what was seen and the servers'
logs). --keep leaves the stack up after the transcript, prints how to connect a real XMPP
client and a real SIP client, and stops everything on Ctrl-C.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True
SOURCE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "interop"))

from harness import (HarnessError, Scenario, ScenarioTimeout, SipMessage,  # noqa: E402
                     StepFailure, Terminated, parse_pidf, pidf_activities, pidf_document)
from harness.process import sweep_stale_workdirs  # noqa: E402
from harness.sip import name_addr_uri  # noqa: E402
from harness.scenario import WORKDIR_PREFIX, machine_lock  # noqa: E402
from harness.stack import (GATEWAY_IP, KAMAILIO_IP, LINK_PORT, PARTNER,  # noqa: E402
                           PARTNER_IP, PROXY_IP, SIP_DOMAIN, USERS_IP, FullStack,
                           check_subscribe_route, error_message, presence_from)

ALICE, BOB = f"alice@{PARTNER}", f"bob@{SIP_DOMAIN}"
ALICE_URI, BOB_URI = f"sip:{ALICE}", f"sip:{BOB}"
DEADLINE_S = 240
FEDGWCTL = "tools/fedgwctl/fedgwctl"
# Accounts left for real clients with --keep.
KEEP_XMPP_USER, KEEP_XMPP_PASSWORD = "juliet", "juliet-demo"
KEEP_SIP_USER = "romeo"


def say(channel: str, text: str) -> None:
    print(f"[{channel}] {text}", flush=True)


def fail(expected: str, saw: object) -> None:
    raise StepFailure(f"expected {expected}\nsaw: {saw}")


class Demo:
    def __init__(self, sc: Scenario, build_dir: Path):
        self.sc = sc
        self.build_dir = build_dir
        self.stack: FullStack | None = None

    # Set-up -------------------------------------------------------------------------------------

    def setup(self) -> None:
        sc = self.sc
        say("setup", f"work dir {sc.workdir}")
        # A year: fedgwctl diag fails certificates that expire within 30 days.
        s = self.stack = FullStack(
            sc, xmpp_users={"alice": "alice-demo", KEEP_XMPP_USER: KEEP_XMPP_PASSWORD},
            sip_users=("bob", KEEP_SIP_USER), ca_label="demo-ca", ca_days=365)
        say("setup", f"throwaway CA {s.ca.ca_file}; certificates for {PARTNER}, {SIP_DOMAIN}, "
                     "gateway.internal and proxy.internal")
        say("setup", f"gateway registry {s.registry.path}: partner {PARTNER} (federated), "
                     "XMPP access on for SIP users")
        say("setup", f"dnsmasq on {s.dns.address}:{s.dns.port}: SRV _xmpp-server._tcp for "
                     f"{PARTNER} and {SIP_DOMAIN}")
        say("setup", f"starting Prosody ({PARTNER}) on {PARTNER_IP}, Kamailio ({SIP_DOMAIN}) "
                     f"on {KAMAILIO_IP}:5060, fedgw-gateway on {GATEWAY_IP} (link :{LINK_PORT}, "
                     f"SIP :5060), fedgw-proxy ({SIP_DOMAIN}) on {PROXY_IP}:5269")
        s.start()
        say("setup", "all up: the proxy's link to the gateway is up and the gateway's policy "
                     "applied")
        self.alice = s.xmpp_client("alice")
        say("xmpp", f"{ALICE} logged in to Prosody as {self.alice.full_jid}")
        self.bob = s.sip_user("bob")
        self.bob.register()
        say("sip", f"{BOB} registered with Kamailio (contact sip:bob@{USERS_IP}:"
                   f"{self.bob.contact_port})")

    # Messages -----------------------------------------------------------------------------------

    def message_to_sip(self, body: str) -> None:
        uas = self.bob.receive_messages(timeout=15)
        say("xmpp", f"{ALICE} → {BOB}: {body}")
        self.alice.send_message(BOB, body)
        uas.wait()
        uas.require_passed(f"receiving alice's MESSAGE {body!r}")
        got = uas.received_requests("MESSAGE")
        if len(got) != 1 or got[0].text.rstrip("\r\n") != body:
            fail(f"one MESSAGE {body!r} at bob's phone",
                 [(m.summary(), m.text) for m in got])
        say("sip", f"{BOB} received MESSAGE from {name_addr_uri(got[0].require('From'))}: "
                   f"{got[0].text.rstrip()}")

    def message_to_xmpp(self, body: str) -> None:
        say("sip", f"{BOB} → {ALICE_URI}: {body}")
        _, final = self.bob.send_message(ALICE_URI, body, expect=200, also=(202,))
        say("sip", f"{BOB}'s MESSAGE answered {final.start_line.split(' ', 1)[1]}")
        el = self.alice.expect(f"<message from='{BOB}*'><body>{body}</body></message>", 10)
        say("xmpp", f"{ALICE} received from {el.get('from')}: {body}")

    def message_to_nobody(self) -> None:
        body = "Is anybody there?"
        say("xmpp", f"{ALICE} → nobody@{SIP_DOMAIN}: {body}")
        self.alice.send(f"<message to='nobody@{SIP_DOMAIN}' type='chat' id='demo-404'>"
                        f"<body>{body}</body></message>")
        self.alice.expect(error_message(f"nobody@{SIP_DOMAIN}", "demo-404", "item-not-found",
                                        "cancel"), 10)
        say("xmpp", f"{ALICE} received an error from nobody@{SIP_DOMAIN}: item-not-found "
                    "(Kamailio answered 404 Not Found; RFC 7247 §7.2)")

    # Presence -----------------------------------------------------------------------------------

    def bob_publishes(self, basic: str, note: str, activity: str | None = None) -> None:
        state = "available" if basic == "open" else "offline"
        say("sip", f"{BOB} publishes {state}" + (f", {activity}" if activity else "")
            + f": {note!r}")
        self.bob.publish(basic, pidf=pidf_document(BOB_URI, basic, note, activity=activity),
                         expires=600, modify=self.bob.etag is not None)

    def alice_sees(self, show: str | None, status: str | None,
                   type_: str | None = None) -> None:
        m = presence_from(BOB, type=type_, show=show, status=status,
                          exact_show=type_ is None)
        self.alice.expect(m, 10)
        if type_ == "unavailable":
            say("xmpp", f"{ALICE} sees {BOB}: offline")
        else:
            say("xmpp", f"{ALICE} sees {BOB}: {show or 'available'}"
                + (f", {status!r}" if status else ""))

    def alice_watches_bob(self) -> None:
        self.bob_publishes("open", "at my desk")
        say("xmpp", f"{ALICE} asks to see {BOB}'s presence (subscribe)")
        self.alice.send(f"<presence to='{BOB}' type='subscribe'/>")
        self.alice.expect(f"<presence from='{BOB}' type='subscribed'/>", 10)
        say("xmpp", f"{ALICE} got 'subscribed' from {BOB} (the gateway SUBSCRIBEd to bob at "
                    "Kamailio)")
        self.alice_sees(None, "at my desk")

    def bob_watches_alice(self) -> None:
        self.stages = [r"Subscription-State: *active", "gone fishing",
                       r"<([a-z0-9]+:)?basic>closed<"]
        self.seen_cseq = 0
        say("sip", f"{BOB} SUBSCRIBEs to {ALICE_URI}'s presence")
        self.watch = self.bob.start_watch_until(ALICE_URI, self.stages, expires=600,
                                                timeout=60)
        self.alice.expect(f"<presence from='{BOB}' type='subscribe'/>", 10)
        say("xmpp", f"{ALICE} is asked by {BOB} to share her presence; she approves")
        self.alice.send(f"<presence to='{BOB}' type='subscribed'/>")
        self.bob_notified(0, "the subscription is active")

    def bob_notified(self, stage: int, what: str) -> SipMessage:
        rx = re.compile(self.stages[stage], re.S)
        before = self.seen_cseq
        n = self.watch.wait_received("NOTIFY", lambda m: m.cseq[0] > before
                                     and bool(rx.search(str(m))), 10, f"a NOTIFY: {what}")
        self.seen_cseq = n.cseq[0]
        detail = ""
        if n.body:
            doc = parse_pidf(n.body)
            acts = pidf_activities(n.body)
            detail = (f" (PIDF: {'/'.join(doc.basics) or 'no tuple'}"
                      + (f", {'/'.join(acts)}" if acts else "")
                      + (f", note {doc.notes[0]!r}" if doc.notes else "") + ")")
        say("sip", f"{BOB} received NOTIFY: {what}{detail}")
        return n

    def alice_changes_status(self) -> None:
        say("xmpp", f"{ALICE} changes her status: away, 'gone fishing'")
        self.alice.send("<presence><show>away</show><status>gone fishing</status></presence>")
        n = self.bob_notified(1, "alice is away")
        doc = parse_pidf(n.body)
        if doc.basics != ["open"] or "gone fishing" not in doc.notes \
                or "away" not in pidf_activities(n.body):
            fail("PIDF open + RPID away + note 'gone fishing'", n.text)

    def bob_changes_status(self) -> None:
        self.bob_publishes("open", "out to lunch", activity="away")
        self.alice_sees("away", "out to lunch")

    def bob_goes_offline(self) -> None:
        say("sip", f"{BOB} goes offline (removes his presence publication)")
        self.bob.unpublish()
        self.alice_sees(None, None, type_="unavailable")

    def alice_goes_offline(self) -> None:
        say("xmpp", f"{ALICE} goes offline (unavailable)")
        self.alice.send("<presence type='unavailable'/>")
        self.bob_notified(2, "alice is offline")
        self.watch.wait()
        check_subscribe_route(self.watch)
        self.watch.require_passed(f"watching {ALICE_URI}", "SUBSCRIBE", 200)
        last = self.watch.received_requests("NOTIFY")[-1]
        if last.subscription_state()[0] != "terminated":
            fail("a last NOTIFY saying terminated after bob's un-SUBSCRIBE",
                 last.header("Subscription-State"))
        say("sip", f"{BOB} ended his subscription (Subscription-State: terminated)")

    # fedgwctl -----------------------------------------------------------------------------------

    def diag(self) -> None:
        assert self.stack is not None
        config = self.stack.combined_config(
            "demo (tools/demo/demo.py)", self.sc.workdir / "fedgw.toml")
        ctl = self.build_dir / FEDGWCTL
        if not ctl.is_file():
            fail(f"{ctl} to be built (ninja -C {self.build_dir})", "no such file")
        say("diag", f"fedgwctl --config {config} diag")
        r = subprocess.run([str(ctl), "--config", str(config), "diag"], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL, check=False)
        for line in (r.stdout + r.stderr).rstrip().splitlines():
            print(f"    {line}", flush=True)
        if r.returncode != 0:
            fail("fedgwctl diag to pass every check (exit status 0)",
                 f"exit status {r.returncode}")
        summary = re.findall(r"^\s*(\d+ checks: .*)$", r.stdout, re.M)
        say("diag", "fedgwctl diag exited 0" + (f": {summary[-1]}" if summary else ""))

    # --keep -------------------------------------------------------------------------------------

    def how_to_connect(self) -> None:
        s = self.stack
        assert s is not None
        print(f"""
The demo stack stays up until you press Ctrl-C.

A real XMPP client (Gajim, Dino, Conversations...):
  account  {KEEP_XMPP_USER}@{PARTNER}   password {KEEP_XMPP_PASSWORD}
  server   {PARTNER_IP} port 5222 (set the host by hand: {PARTNER} is not in your DNS);
           STARTTLS with a certificate from the throwaway CA {s.ca.ca_file}
           (trust that file, or accept the certificate when asked)
  then chat with, or add to the roster, {KEEP_SIP_USER}@{SIP_DOMAIN} or bob@{SIP_DOMAIN}.

A real SIP client (Linphone, baresip, MicroSIP...):
  account  sip:{KEEP_SIP_USER}@{SIP_DOMAIN}  (no password: this Kamailio does not authenticate)
  registrar and outbound proxy {KAMAILIO_IP}:5060, UDP
  then send a MESSAGE to, or watch the presence of, sip:{KEEP_XMPP_USER}@{PARTNER}.
  e.g. baresip: /uanew sip:{KEEP_SIP_USER}@{SIP_DOMAIN};outbound="sip:{KAMAILIO_IP}:5060"

Logs and configs: {self.sc.workdir}
  fedgw-gateway  {s.gateway.dir}   fedgw-proxy {s.proxy.dir}
  Kamailio       {s.kamailio.log_path}
  Prosody        {s.prosody.log_path}
Diagnose:  {self.build_dir / FEDGWCTL} --config {self.sc.workdir / 'fedgw.toml'} diag
""", flush=True)


def run(build_dir: Path, keep: bool) -> bool:
    os.environ["FEDGW_BUILD_DIR"] = str(build_dir)
    os.environ["FEDGW_SOURCE_DIR"] = str(SOURCE_DIR)
    with machine_lock():
        sweep_stale_workdirs(f"{WORKDIR_PREFIX}*")
        sc = Scenario("demo", keep=False)
        harness_log = sc.workdir / "harness.log"

        def quiet(message: str) -> None:  # the harness's own progress lines: to a file
            with open(harness_log, "a") as f:
                f.write(f"{time.monotonic() - sc.t0:8.3f} {message}\n")
        sc.log = quiet  # type: ignore[method-assign]
        demo = Demo(sc, build_dir)
        signal.signal(signal.SIGALRM, _raise(ScenarioTimeout,
                                             f"the demo took more than {DEADLINE_S} s"))
        signal.alarm(DEADLINE_S)
        steps = [
            ("start everything", demo.setup),
            ("a message from XMPP to SIP", lambda: demo.message_to_sip("Hello bob!")),
            ("a message from SIP to XMPP", lambda: demo.message_to_xmpp("Hi alice, got it.")),
            ("a message to a SIP user that does not exist", demo.message_to_nobody),
            ("alice watches bob", demo.alice_watches_bob),
            ("bob watches alice", demo.bob_watches_alice),
            ("alice changes her status", demo.alice_changes_status),
            ("bob changes his status", demo.bob_changes_status),
            ("bob goes offline", demo.bob_goes_offline),
            ("alice goes offline", demo.alice_goes_offline),
            ("fedgwctl diag", demo.diag),
        ]
        ok = False
        current = ""
        try:
            for current, fn in steps:
                fn()
            sc.finish()  # clients: ping round trip, orderly close
            ok = True
            signal.alarm(0)
            print("\n[demo] every step was observed", flush=True)
            if keep:
                demo.how_to_connect()
                while True:
                    signal.pause()
        except (KeyboardInterrupt, Terminated):
            if not ok:
                print(f"\n[demo] interrupted during: {current}", flush=True)
            else:
                print("\n[demo] stopping", flush=True)
        except BaseException as e:  # noqa: BLE001 - report it, then stop everything
            signal.alarm(0)
            sc.keep = True  # the logs and configs stay for a look, until the next run
            print(f"\n[demo] FAILED at step: {current}", flush=True)
            if isinstance(e, (StepFailure, HarnessError, ScenarioTimeout)):
                print(sc.failure_report(e), flush=True)
            else:
                print("".join(traceback.format_exception(e)), flush=True)
                print(sc.failure_report(e), flush=True)
            ok = False
        finally:
            signal.alarm(0)
            sc.cleanup()
            # A failed run's dir stays for a look, unmarked: the next run's sweep removes it.
            (sc.workdir / "kept").unlink(missing_ok=True)
        print(f"[demo] stopped everything it started; {'PASS' if ok else 'FAIL'}"
              + ("" if ok else f" (logs kept in {sc.workdir})"), flush=True)
        return ok


def _raise(exc: type[BaseException], message: str):
    def handler(_signum, _frame) -> None:
        raise exc(message)
    return handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=SOURCE_DIR / "build",
                        help="the meson build dir with the fedgw binaries (default: build/)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the stack up after the transcript, until Ctrl-C")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _raise(Terminated, "terminated by SIGTERM"))
    signal.signal(signal.SIGINT, _raise(Terminated, "interrupted by SIGINT"))
    sys.exit(0 if run(args.build_dir.resolve(), args.keep) else 1)


if __name__ == "__main__":
    main()
