#!/usr/bin/python3
"""fedgwctl against the real services (issue 5, "Tests"): `fedgwctl diag` reading a running
fedgw-proxy and fedgw-gateway (their sockets from /proc, their state from their control
sockets), and `fedgwctl blocked add` changing the registry under them.

The stack is harness/stack.py's: Prosody for partner.test on 127.0.0.2, fedgw-proxy for
sip.test on 127.0.0.3:5269, fedgw-gateway on 127.0.0.5 (link 23456, SIP 5060), Kamailio on
127.0.0.4. fedgwctl reads one fedgw.toml with both services' sections, as on a single host;
its registry is the gateway's (the master copy).

Cases (each assertion says what it expected and what it saw):
  live              alice@partner.test pings sip.test, so Prosody holds a stream to the
                    proxy. `fedgwctl --json diag` exits 0 with every check passing; it shows
                    the proxy listening on 127.0.0.3:5269 and the gateway on 127.0.0.5:23456,
                    each owned by the right pid, the established link on both ends, and the
                    inbound stream from partner.test with its TLS version, cipher, how it
                    authenticated and its stanza counts. The text form ends with
                    "N checks: ... 0 failed". Then `fedgwctl blocked add partner.test`
                    writes the gateway's registry: the proxy closes the live stream with
                    policy-violation (the gateway's snapshot over the link, no restart), and
                    the next diag lists no partner.test stream and passes the registry step.
  gateway_stopped   The gateway stops (SIGTERM) while Prosody's stream is live. diag exits 3
                    (a control socket does not answer) and says which checklist steps fail,
                    each with what to do: the gateway not running, nothing listening on
                    23456, the proxy's link down. partner.test is then blocked with fedgwctl:
                    with no link the proxy cannot learn it, and diag fails "fedgw-proxy
                    enforces the registry" naming partner.test and the rule. The gateway
                    starts again: its snapshot reaches the proxy, which closes the stream, and
                    diag exits 0 again.
"""

import json
import re
import subprocess
import sys
import time
from typing import Any

sys.dont_write_bytecode = True

from harness import Do, Expect, ExpectLog, Scenario, Send, StepFailure, main  # noqa: E402
from harness.stack import PARTNER, PROXY_IP, SIP_DOMAIN, GATEWAY_IP, LINK_PORT, FullStack  # noqa: E402

FEDGWCTL = "tools/fedgwctl/fedgwctl"
ALICE = f"alice@{PARTNER}"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def check(cond: bool, expected: str, saw: object) -> None:
    """Fail naming what was expected and what was seen."""
    if not cond:
        raise StepFailure(f"expected {expected}\nsaw: {saw}")


class Ctl:
    """fedgwctl from the build, on the stack's combined configuration."""

    def __init__(self, sc: Scenario, s: FullStack):
        self.binary = sc.build_dir / FEDGWCTL
        if not self.binary.is_file():
            raise StepFailure(f"expected {self.binary} to be built (ninja -C {sc.build_dir})\n"
                              "saw: no such file")
        self.sc = sc
        self.config = s.combined_config("fedgwctl_diag interop test",
                                        sc.workdir / "fedgw.toml")

    def run(self, *args: str) -> subprocess.CompletedProcess:
        argv = [str(self.binary), "--config", str(self.config), *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL, check=False)
        self.sc.log(f"$ fedgwctl {' '.join(args)} -> exit {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def diag(self) -> tuple[int, dict[str, Any]]:
        r = self.run("--json", "diag")
        try:
            return r.returncode, json.loads(r.stdout)
        except ValueError as e:
            raise StepFailure(f"expected JSON from fedgwctl --json diag\nsaw ({e}):\n"
                              f"{r.stdout}{r.stderr}") from e


def service(report: dict, name: str) -> dict:
    for s in report.get("services", []):
        if s.get("service") == name:
            return s
    raise StepFailure(f"expected a {name} entry in diag's services\nsaw: "
                      f"{[s.get('service') for s in report.get('services', [])]}")


def checks(report: dict) -> dict[str, dict]:
    return {c["step"]: c for c in report.get("checks", [])}


def failed(report: dict) -> list[str]:
    return [f"{c['step']}: {c['detail']}" for c in report.get("checks", [])
            if c.get("result") not in ("ok", "warn")]


def check_step(report: dict, pattern: str, result: str, detail: str | None = None,
               fix: bool = False) -> dict:
    """The one check whose step matches `pattern`, with this result (ok, warn, fail), a detail
    matching `detail`, and (with fix) a non-empty fix."""
    got = [c for c in report.get("checks", []) if re.search(pattern, c["step"])]
    check(len(got) == 1, f"one check /{pattern}/",
          [c["step"] for c in report.get("checks", [])])
    c = got[0]
    ok = c["result"] == result and (detail is None or re.search(detail, c["detail"]))
    ok = ok and (not fix or c.get("fix"))
    check(bool(ok), f"check '{c['step']}' {result}" + (f", detail /{detail}/" if detail else "")
          + (", with a fix" if fix else ""), c)
    return c


def partner_streams(report: dict) -> list[dict]:
    status = service(report, "fedgw-proxy").get("status") or {}
    return [st for st in status.get("streams", []) if st.get("partner_domain") == PARTNER]


def listener(report: dict, name: str, local: str) -> dict:
    socks = service(report, name).get("sockets", [])
    got = [x for x in socks if x.get("state") == "LISTEN" and x.get("local") == local]
    check(len(got) == 1, f"{name}'s sockets to show {local} LISTEN", socks)
    return got[0]


def stack(sc: Scenario) -> FullStack:
    # A year: diag fails certificates that expire within 30 days.
    s = FullStack(sc, xmpp_users={"alice": "alice-pass"}, sip_users=("bob",), ca_days=365)
    s.start()
    s.xmpp_client("alice")
    return s


def ping_steps() -> list:
    """alice pings the gateway's domain: Prosody opens its stream to the proxy (and the
    answer comes back over the proxy's own stream to partner.test)."""
    return [
        Send("alice", f"<iq to='{SIP_DOMAIN}' type='get' id='ping-1'>"
                      "<ping xmlns='urn:xmpp:ping'/></iq>"),
        Expect("alice", f"<iq from='{SIP_DOMAIN}' type='result' id='ping-1'/>", timeout=15),
    ]


def block_partner(ctl: Ctl) -> None:
    r = ctl.run("blocked", "add", PARTNER, "--reason", "interop test")
    check(r.returncode == 0, f"fedgwctl blocked add {PARTNER} to exit 0",
          f"exit {r.returncode}: {r.stdout}{r.stderr}")


def diag_until_clean(ctl: Ctl, timeout: float) -> dict:
    """diag until it exits 0 with no failed check and no partner.test stream (the proxy
    closes it once it applies the snapshot); StepFailure with the last report if not."""
    deadline = time.monotonic() + timeout
    while True:
        rc, rep = ctl.diag()
        if rc == 0 and not failed(rep) and not partner_streams(rep):
            return rep
        if time.monotonic() > deadline:
            raise StepFailure(f"expected diag to exit 0 with no failed check and no {PARTNER} "
                              f"stream within {timeout:.0f} s\nsaw: exit {rc}, failed "
                              f"{failed(rep)}, streams {partner_streams(rep)}")
        time.sleep(0.5)


# Cases ------------------------------------------------------------------------------------------

def live(sc: Scenario) -> None:
    s = stack(sc)
    ctl = Ctl(sc, s)

    def diag_all_ok(_sc: Scenario) -> None:
        rc, rep = ctl.diag()
        check(rc == 0 and rep.get("ok") is True and not failed(rep),
              "diag to exit 0 with no failed check", (rc, failed(rep)))
        proxy_pid, gateway_pid = s.proxy.process.pid, s.gateway.process.pid
        lst = listener(rep, "fedgw-proxy", f"{PROXY_IP}:5269")
        check(lst.get("pid") == proxy_pid, f"5269 owned by the proxy (pid {proxy_pid})", lst)
        lst = listener(rep, "fedgw-gateway", f"{GATEWAY_IP}:{LINK_PORT}")
        check(lst.get("pid") == gateway_pid, f"{LINK_PORT} owned by the gateway "
              f"(pid {gateway_pid})", lst)
        link_ends = [x for name in ("fedgw-proxy", "fedgw-gateway")
                     for x in service(rep, name).get("sockets", [])
                     if x.get("state") == "ESTAB"
                     and f"{GATEWAY_IP}:{LINK_PORT}" in (x.get("local"), x.get("remote"))]
        check({x.get("pid") for x in link_ends} == {proxy_pid, gateway_pid},
              "the established link on both ends, the proxy's and the gateway's", link_ends)
        check_step(rep, r"^fedgw-proxy running$", "ok", rf"pid {proxy_pid}\b")
        check_step(rep, r"^fedgw-gateway running$", "ok", rf"pid {gateway_pid}\b")
        check_step(rep, r"link to fedgw-gateway up", "ok", r"^up to ")
        check_step(rep, r"proxy is linked to fedgw-gateway", "ok")
        check_step(rep, r"^fedgw-proxy enforces the registry$", "ok")
        streams = [st for st in partner_streams(rep) if st.get("direction") == "in"]
        check(len(streams) >= 1, f"an inbound stream from {PARTNER} in the proxy's status",
              partner_streams(rep))
        st = streams[0]
        check(str(st.get("tls_version", "")).startswith("TLSv1.") and st.get("cipher")
              and st.get("auth") and int(st.get("stanzas_in", 0)) >= 1
              and st.get("local_domain") == SIP_DOMAIN and st.get("remote"),
              "the stream's TLS version and cipher, how it authenticated, the remote address "
              "and at least the ping counted in", st)

    def diag_text(_sc: Scenario) -> None:
        r = ctl.run("diag")
        check(r.returncode == 0 and re.search(r"^\d+ checks: \d+ ok, \d+ warnings?, 0 failed$",
                                              r.stdout, re.M)
              and PARTNER in r.stdout and "FAIL" not in r.stdout,
              f"diag (text) to exit 0, list the {PARTNER} stream and end with '... 0 failed'",
              f"exit {r.returncode}:\n{r.stdout}{r.stderr}")

    def stream_gone(_sc: Scenario) -> None:
        rep = diag_until_clean(ctl, 10)
        check_step(rep, r"^fedgw-proxy enforces the registry$", "ok")

    sc.run(ping_steps() + [
        Do("fedgwctl --json diag: every check passes; sockets, link and stream as they are",
           diag_all_ok),
        Do("fedgwctl diag (text): the same, ending with '0 failed'", diag_text),
        Do(f"fedgwctl blocked add {PARTNER}, its stream live", lambda _sc: block_partner(ctl)),
        ExpectLog(s.proxy, r"event=registry\.applied.*blocked=[1-9]", timeout=15),
        ExpectLog(s.proxy, rf"event=s2s\.closed .*remote={re.escape(PARTNER)}", timeout=15),
        Do(f"diag: no {PARTNER} stream, the registry step passes", stream_gone),
    ])


def gateway_stopped(sc: Scenario) -> None:
    s = stack(sc)
    ctl = Ctl(sc, s)

    def diag_says_gateway_down(_sc: Scenario) -> None:
        rc, rep = ctl.diag()
        check(rc == 3 and rep.get("ok") is False,
              "diag to exit 3 (a control socket does not answer) with ok false", rc)
        gw = service(rep, "fedgw-gateway")
        check(gw.get("reachable") is False and gw.get("error"),
              "the gateway reported unreachable, with the control error", gw)
        check_step(rep, r"^fedgw-gateway running$", "fail", fix=True)
        check_step(rep, rf"^fedgw-gateway listens on .*{LINK_PORT}$", "fail",
                   r"nothing listens", fix=True)
        check_step(rep, r"link to fedgw-gateway up", "fail", fix=True)
        check_step(rep, r"^fedgw-proxy running$", "ok")
        check(len(partner_streams(rep)) >= 1, f"the {PARTNER} stream still live at the proxy",
              service(rep, "fedgw-proxy").get("status"))
        r = ctl.run("diag")
        check(r.returncode == 3 and re.search(r"^\s+FAIL\s+\d+\. fedgw-gateway running", r.stdout,
                                              re.M) and "fix:" in r.stdout,
              "diag (text) to exit 3 and show 'FAIL  N. fedgw-gateway running' with a fix",
              f"exit {r.returncode}:\n{r.stdout}{r.stderr}")

    def diag_says_not_enforced(_sc: Scenario) -> None:
        rc, rep = ctl.diag()
        check(rc == 3, "diag to exit 3 still (the gateway is down)", rc)
        check_step(rep, r"^fedgw-proxy enforces the registry$", "fail",
                   rf"{re.escape(PARTNER)} \(blocked\)", fix=True)

    def diag_all_ok_again(_sc: Scenario) -> None:
        rep = diag_until_clean(ctl, 15)
        check_step(rep, r"^fedgw-proxy enforces the registry$", "ok")
        check_step(rep, r"link to fedgw-gateway up", "ok")

    def gateway_starts(_sc: Scenario) -> None:
        s.gateway.start()
        s.gateway.wait_ready()

    sc.run(ping_steps() + [
        Do("the gateway stops (SIGTERM, exit 0)", lambda _sc: s.gateway.stop_cleanly()),
        ExpectLog(s.proxy, r"event=link\.down", timeout=10),
        Do("diag: gateway not running, 23456 not listening, link down; each with a fix",
           diag_says_gateway_down),
        Do(f"fedgwctl blocked add {PARTNER} while the gateway is down",
           lambda _sc: block_partner(ctl)),
        Do(f"diag: the proxy still holds a stream with the blocked {PARTNER}",
           diag_says_not_enforced),
        Do("the gateway starts again", gateway_starts),
        Do("diag: every check passes again, the stream closed", diag_all_ok_again),
        Send("alice", f"<message to='bob@{SIP_DOMAIN}' type='chat' id='m1'><body>still "
                      "there?</body></message>"),
        Expect("alice", f"<message from='bob@{SIP_DOMAIN}' type='error' id='m1'/>",
               timeout=20, description="alice's message bounced: her domain is blocked"),
    ])


if __name__ == "__main__":
    main({"live": live, "gateway_stopped": gateway_stopped}, timeout=120)
