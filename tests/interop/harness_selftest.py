#!/usr/bin/python3
"""The harness tests itself: the parts prosody_pair.py does not reach.

Cases:
  templates     stanza templates match the way harness/xmlmatch.py documents (pure, no servers).
  private_dns   a program run through PrivateDns.wrap() resolves test names from the scenario's
                dnsmasq, keeps its own PID, and the machine's /etc/resolv.conf is untouched.
  failure_path  a case that fails (missed expectation, global deadline, taken port) reports
                the step, the inbox and the servers' log tails, and still stops every process
                and removes its temp dir.
"""

import contextlib
import io
import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True

from harness import (Expect, HarnessError, Scenario, Send, StepFailure, main,  # noqa: E402
                     matches, parse_template, run_case, to_xml)
from harness.process import port_is_free  # noqa: E402


def check(cond: bool, message: str) -> None:
    if not cond:
        raise StepFailure(message)


def templates(sc: Scenario) -> None:
    got = parse_template("<message from='alice@alpha.test/res' to='bob@beta.test' type='chat' "
                         "id='x1' xml:lang='en'><body>hello</body>"
                         "<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
    yes = [
        "<message/>",
        "<message type='chat'/>",
        "<message from='alice@alpha.test/*'><body>hello</body></message>",
        "<message id='*'><body>hel*</body></message>",
        "<message><active xmlns='http://jabber.org/protocol/chatstates'/><body/></message>",
    ]
    no = [
        "<presence/>",
        "<message type='normal'/>",
        "<message from='alice@alpha.test'/>",
        "<message><body>bye</body></message>",
        "<message><subject/></message>",
        "<message><body xmlns='urn:other'/></message>",
        "<message><body/><body/></message>",
        "<message missing='*'/>",
    ]
    for t in yes:
        check(matches(parse_template(t), got), f"{t} should match {to_xml(got)}")
    for t in no:
        check(not matches(parse_template(t), got), f"{t} should not match {to_xml(got)}")
    check(to_xml(got).startswith("<message from='alice@alpha.test/res'"), to_xml(got))
    check("xmlns='http://jabber.org/protocol/chatstates'" in to_xml(got), to_xml(got))
    check("xml:lang='en'" in to_xml(got), to_xml(got))
    for bad in ["<message>", "<a/><b/>", "text"]:
        try:
            parse_template(bad)
        except HarnessError:
            continue
        raise StepFailure(f"{bad!r} should be refused as a template")
    sc.log("templates behave as documented")


def private_dns(sc: Scenario) -> None:
    before = Path("/etc/resolv.conf").read_bytes()
    dns = sc.dnsmasq()
    dns.add_xmpp_server("alpha.test", "127.0.0.2")
    dns.start()
    pdns = sc.private_dns(dns)
    pdns.check_resolves("alpha.test", "127.0.0.2")
    r = pdns.run(["getent", "ahostsv4", "beta.test"])
    check(r.returncode != 0, f"beta.test has no record but resolved: {r.stdout}")
    r = pdns.run(["cat", "/etc/resolv.conf"])
    check(f"nameserver {dns.address}" in r.stdout, f"namespace resolv.conf: {r.stdout}")
    proc = sc.process("sleeper", pdns.wrap(["sleep", "60"]))
    proc.start()
    deadline = time.monotonic() + 5
    comm = ""
    while time.monotonic() < deadline:
        comm = Path(f"/proc/{proc.pid}/comm").read_text().strip()
        if comm == "sleep":
            break
        time.sleep(0.02)
    check(comm == "sleep", f"the wrapped program should keep the PID, /proc/{proc.pid}/comm "
                           f"is {comm!r}")
    proc.stop()
    check(not proc.is_running(), "the wrapped program survived stop()")
    check(Path("/etc/resolv.conf").read_bytes() == before, "/etc/resolv.conf was changed")
    sc.log("private mount namespace resolves through dnsmasq")


def failure_path(sc: Scenario) -> None:
    kept: dict = {}

    def missed_expectation(inner: Scenario) -> None:
        ca = inner.ca()
        dns = inner.dnsmasq()
        dns.add_xmpp_server("alpha.test", "127.0.0.2")
        dns.start()
        alpha = inner.prosody("alpha.test", "127.0.0.2", cert=ca.issue("alpha.test"), dns=dns)
        alpha.add_user("alice", "pw")
        inner.start(alpha)
        kept["alpha"], kept["dns"], kept["dir"] = alpha, dns, inner.workdir
        inner.client("alice", alpha, "alice")
        inner.run([Send("alice", "<message to='nobody@alpha.test'><body>x</body></message>"),
                   Expect("alice", "<message from='ghost@alpha.test'/>", timeout=0.5)])

    def overslept(_inner: Scenario) -> None:
        time.sleep(5)

    def port_taken(inner: Scenario) -> None:
        dns = inner.dnsmasq()
        dns.start()
        alpha = inner.prosody("alpha.test", "127.0.0.2", cert=inner.ca().issue("alpha.test"),
                              dns=dns)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.2", 5269))
            s.listen()
            inner.start(alpha)

    runs = {
        "missed_expectation": (missed_expectation, 20,
                               ["step 2 failed", "did not come", "ghost@alpha.test",
                                "alice inbox", "prosody alpha.test: last 40 lines",
                                "dnsmasq: last 40 lines", "FAIL in"]),
        "overslept": (overslept, 1, ["ScenarioTimeout", "took more than 1 s"]),
        "port_taken": (port_taken, 20, ["127.0.0.2:5269 is already in use"]),
    }
    for name, (fn, timeout, wanted) in runs.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ok = run_case(f"{sc.name}/{name}", fn, timeout=timeout)
        text = out.getvalue()
        check(not ok, f"{name} should fail:\n{text}")
        for w in wanted:
            check(w in text, f"{name}: the report lacks {w!r}:\n{text}")
        sc.log(f"{name} failed as it should")
    alpha, dns = kept["alpha"], kept["dns"]
    check(not alpha.process.is_running() and not dns.process.is_running(),
          "servers of a failed case are still running")
    check(not kept["dir"].exists(), f"{kept['dir']} was not removed")
    check(port_is_free("127.0.0.2", 5269) and port_is_free("127.0.0.2", 5222),
          "Prosody's ports are still taken")


if __name__ == "__main__":
    main({"templates": templates, "private_dns": private_dns, "failure_path": failure_path},
         timeout=60)
