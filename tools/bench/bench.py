#!/usr/bin/python3
"""fedgw benchmark: XMPP -> SIP message throughput through the whole stack, and memory.

Run by `./run bench [ARGS]` (which installs what is missing and builds first), or directly:
    /usr/bin/python3 tools/bench/bench.py --build-dir build [--messages 2000] [--json]

It starts, with the interop harness (tests/interop/harness, stack.py), on loopback addresses:
Prosody for partner.test, fedgw-proxy, fedgw-gateway and Kamailio for sip.test; registers
bob@sip.test, played by sipp answering every MESSAGE with 200 OK
(tests/interop/sipp/uas_message_loop.xml, bounded by -m MESSAGES); then fedgw-loadgen
(tools/loadgen) logs K Prosody accounts in and sends MESSAGES messages to bob@sip.test:
    fedgw-loadgen -> Prosody -> fedgw-proxy -> fedgw-gateway -> Kamailio -> sipp
What it prints (docs/benchmarks.md says what each figure means):
  - delivered: MESSAGEs that reached sipp (each tagged lg-SEQ), and throughput: delivered per
    second, from the first send to the last arrival at sipp;
  - XMPP->SIP latency p50/p95/p99/max, from the send time in each body to sipp's arrival time
    (one clock: everything runs on this machine);
  - what fedgw-loadgen saw: sent, bounces by condition (nothing answers a MESSAGE in XMPP);
  - RSS of fedgw-proxy, fedgw-gateway and Prosody (the named peer), before the load, at peak
    (VmHWM) and after it (VmRSS), from /proc/PID/status.
Bounded: MESSAGES messages (default 2000), and a hard time limit (default 120 s) on the whole
run once the machine-wide interop lock is held. The servers log at info level here (the
interop tests run them at debug), as an operator would run them; --log-level debug for the
harness's level. Exit status: 0 when the run completed (with --require-all: only when every
message reached sipp and none bounced), 1 otherwise.
Not a test: timing figures are printed, never asserted (a smoke run with 50 messages is the
interop test bench.smoke).
"""

import argparse
import json
import math
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

from harness import HarnessError, Scenario, ScenarioTimeout, StepFailure, Terminated  # noqa: E402
from harness.process import port_is_free, sweep_stale_workdirs, tail  # noqa: E402
from harness.scenario import WORKDIR_PREFIX, machine_lock  # noqa: E402
from harness.sipp import render_scenario  # noqa: E402
from harness.stack import PARTNER, PARTNER_IP, SIP_DOMAIN, USERS_IP, FullStack  # noqa: E402

LOADGEN = "tools/loadgen/fedgw-loadgen"
PASSWORD = "bench-load-secret"
TARGET = "bob"
SETUP_ALLOWANCE_S = 40  # of the time limit, kept for start-up and tear-down

_ARRIVAL = re.compile(r"^rx \S+\s+\S+\s+(\d+\.\d+) lg-(\d+) t=(\d+)\s*$")


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank, as fedgw-loadgen's LoadStats: the ceil(q/100 * n)-th smallest."""
    n = len(sorted_values)
    rank = min(max(1, math.ceil(q / 100 * n)), n)
    return sorted_values[rank - 1]


def memory(pid: int | None) -> dict[str, int | None]:
    """VmRSS and VmHWM of a process in KiB (None when it is gone)."""
    out: dict[str, int | None] = {"rss_kib": None, "hwm_kib": None}
    if pid is None:
        return out
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for key, name in (("VmRSS", "rss_kib"), ("VmHWM", "hwm_kib")):
        m = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
        if m:
            out[name] = int(m.group(1))
    return out


def server_pid(proc, expected: str) -> int | None:
    """The pid of the process named `expected` (/proc/PID/comm prefix) among the managed
    process and its group: a wrapper (setpriv, env) execs it, but look anyway."""
    if proc is None or proc.pid is None:
        return None
    candidates = [proc.pid] + [p for p in proc.group_members() if p != proc.pid]
    for pid in candidates:
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(expected[:15]):
            return pid
    return proc.pid


class Bench:
    def __init__(self, sc: Scenario, args: argparse.Namespace, deadline: float):
        self.sc = sc
        self.args = args
        self.deadline = deadline
        self.loadgen = args.loadgen or Path(args.build_dir) / LOADGEN
        if not self.loadgen.is_file():
            raise HarnessError(f"{self.loadgen} does not exist (ninja -C {args.build_dir})")

    def setup(self) -> None:
        a = self.args
        users = {f"load{i}": PASSWORD for i in range(1, a.accounts + 1)}
        say(f"starting Prosody ({PARTNER}), fedgw-proxy, fedgw-gateway, Kamailio ({SIP_DOMAIN}); "
            f"{a.accounts} accounts")
        # Above stanza_rate_per_s (the registry's default is 50 per second) the proxy stops
        # reading the partner's stream until the rate allows; the benchmark measures the
        # path, so it raises the limit unless told otherwise.
        s = self.stack = FullStack(self.sc, xmpp_users=users, sip_users=(TARGET,),
                                   ca_label="bench-ca",
                                   settings={"stanza_rate_per_s": a.stanza_rate})
        if a.log_level != "debug":  # the harness writes debug; an operator runs at info
            for path, old, new in (
                    (s.proxy.config_path, 'level = "debug"', f'level = "{a.log_level}"'),
                    (s.gateway.config_path, 'level = "debug"', f'level = "{a.log_level}"'),
                    (s.prosody.config_path, 'min = "debug"', f'min = "{a.log_level}"')):
                path.write_text(path.read_text().replace(old, new, 1))
        s.start()
        self.bob = s.sip_user(TARGET)
        self.bob.register()
        self.pids = {
            "fedgw-proxy": server_pid(s.proxy.process, "fedgw-proxy"),
            "fedgw-gateway": server_pid(s.gateway.process, "fedgw-gateway"),
            "prosody": server_pid(s.prosody.process, "lua"),
        }

    def start_uas(self) -> None:
        a = self.args
        d = self.sc.workdir / "bench-uas"
        d.mkdir()
        scenario = render_scenario("uas_message_loop", d / "uas_message_loop.xml", {})
        self.arrivals_path = d / "arrivals.log"
        self.uas_errors = d / "errors.log"
        port = self.bob.contact_port
        argv = ["sipp", "-sf", str(scenario), "-i", USERS_IP, "-bind_local", "-p", str(port),
                "-t", "u1", "-m", str(a.messages + 1), "-nostdin", "-timeout",
                f"{int(a.time_limit)}s", "-trace_logs", "-log_file", str(self.arrivals_path),
                "-trace_err", "-error_file", str(self.uas_errors),
                "-key", "user", TARGET, "-key", "domain", SIP_DOMAIN]
        self.uas = self.sc.process("sipp-uas", argv, extra_logs=[self.uas_errors])
        self.uas.start()
        limit = time.monotonic() + 5
        while port_is_free(USERS_IP, port, udp=True):
            self.uas.check_alive(f"UDP {USERS_IP}:{port}")
            if time.monotonic() > limit:
                raise HarnessError(f"sipp UAS not listening on {USERS_IP}:{port}")
            time.sleep(0.02)

    def loadgen_argv(self, messages: int, accounts: int, duration: float,
                     linger: float) -> list[str]:
        a = self.args
        return [str(self.loadgen), "--host", PARTNER_IP, "--port", "5222",
                "--jid", f"load{{1..{accounts}}}@{PARTNER}", "--password", PASSWORD,
                "--to", f"{TARGET}@{SIP_DOMAIN}", "--ca-file", str(self.stack.ca.ca_file),
                "--messages", str(messages), "--rate", str(a.rate), "--window", "0",
                "--duration", f"{duration:.0f}", "--linger", str(linger), "--json"]

    def warm_up(self) -> None:
        """One message first, so that Prosody's s2s stream to the proxy and the proxy's to
        the gateway are up before the measured run (the first message would otherwise wait
        for the s2s negotiation). Its arrival is left out of the figures by its send time."""
        r = subprocess.run(self.loadgen_argv(1, 1, 15, 0), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=30, check=False)
        limit = time.monotonic() + 15
        while not self.arrivals():
            if time.monotonic() > limit:
                raise StepFailure("the warm-up message did not reach sipp within 15 s; "
                                  f"fedgw-loadgen said:\n{r.stdout}{r.stderr}")
            time.sleep(0.05)
        self.mem_before = {name: memory(pid) for name, pid in self.pids.items()}
        self.main_start_us = time.time_ns() // 1000

    def drive(self) -> dict:
        a = self.args
        budget = self.deadline - time.monotonic() - 15
        if budget < 5:
            raise ScenarioTimeout("no time left for the load under the time limit")
        argv = self.loadgen_argv(a.messages, a.accounts, min(budget, a.time_limit), a.linger)
        say(f"fedgw-loadgen: {a.messages} messages from {a.accounts} accounts to "
            f"{TARGET}@{SIP_DOMAIN}" + (f" at {a.rate}/s" if a.rate else ", unpaced"))
        self.loadgen_command = argv
        r = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=budget + 10, check=False)
        if r.stderr.strip():
            say("fedgw-loadgen: " + r.stderr.strip().replace("\n", "\n[bench]   "))
        try:
            return json.loads(r.stdout) | {"exit_status": r.returncode}
        except json.JSONDecodeError:
            raise StepFailure(f"fedgw-loadgen exited {r.returncode} without a summary:\n"
                              f"{r.stdout}{r.stderr}") from None

    def wait_uas(self) -> None:
        """Until sipp has seen every message, or settle_s passed with no new arrival, or the
        deadline."""
        proc = self.uas.proc
        assert proc is not None
        last, seen = time.monotonic(), -1
        while proc.poll() is None and time.monotonic() < self.deadline - 5:
            n = len(self.arrivals(self.main_start_us))
            if n != seen:
                last, seen = time.monotonic(), n
            elif time.monotonic() - last > self.args.linger + 3:
                break
            time.sleep(0.1)
        self.uas.stop()

    def arrivals(self, since_us: int = 0) -> list[tuple[float, int, int]]:
        """(arrival epoch s, sequence, sent epoch us) per MESSAGE sipp logged that was sent
        at since_us or later."""
        try:
            text = self.arrivals_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            m = _ARRIVAL.match(line)
            if m and int(m.group(3)) >= since_us:
                out.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
        return out

    def results(self, loadgen: dict) -> dict:
        arr = self.arrivals(self.main_start_us)
        seqs = {seq for _, seq, _ in arr}
        delivered = len(seqs)
        throughput = None
        latency = None
        if arr:
            first_send = min(sent for _, _, sent in arr) / 1e6
            last_arrival = max(at for at, _, _ in arr)
            span = last_arrival - first_send
            throughput = delivered / span if span > 0 else None
            lat = sorted(max(0.0, (at - sent / 1e6) * 1000) for at, _, sent in arr)
            latency = {"count": len(lat), "p50": percentile(lat, 50), "p95": percentile(lat, 95),
                       "p99": percentile(lat, 99), "max": lat[-1]}
        mem_after = {name: memory(pid) for name, pid in self.pids.items()}
        memory_table = {name: {"before_kib": self.mem_before[name]["rss_kib"],
                               "peak_kib": mem_after[name]["hwm_kib"],
                               "final_kib": mem_after[name]["rss_kib"]}
                        for name in self.pids}
        return {
            "messages": self.args.messages,
            "accounts": self.args.accounts,
            "stanza_rate_per_s": self.args.stanza_rate,
            "rate": self.args.rate or "unpaced",
            "delivered_to_sip": delivered,
            "duplicates_at_sip": len(arr) - delivered,
            "throughput_msgs_per_s": throughput,
            "xmpp_to_sip_latency_ms": latency,
            "loadgen": loadgen,
            "memory": memory_table,
            "nproc": os.cpu_count(),
        }


def fmt_num(v, unit: str = "") -> str:
    if v is None:
        return "-"
    return (f"{v:.1f}" if isinstance(v, float) else str(v)) + unit


def table(r: dict) -> str:
    lg = r["loadgen"]
    lines = [
        f"fedgw benchmark: {r['messages']} messages from {r['accounts']} XMPP accounts to "
        f"{TARGET}@{SIP_DOMAIN} ("
        + (f"{r['rate']:g} msgs/s offered" if isinstance(r["rate"], (int, float)) else "unpaced")
        + f"), {r['nproc']} CPUs",
        f"  sent by fedgw-loadgen     {lg.get('sent')}",
        f"  delivered to SIP (sipp)   {r['delivered_to_sip']}",
        f"  bounced (type='error')    {lg.get('errors')}"
        + "".join(f"  {c}: {n}" for c, n in lg.get("errors_by_condition", {}).items()),
        f"  throughput                {fmt_num(r['throughput_msgs_per_s'], ' msgs/s')}"
        "  (delivered / first send to last arrival)",
    ]
    if isinstance(r["rate"], (int, float)):
        lines.append(f"  offered rate              {fmt_num(lg.get('sent_per_s'), ' msgs/s')}")
    lat = r["xmpp_to_sip_latency_ms"]
    if lat:
        lines.append(f"  XMPP->SIP latency         p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms"
                     f"  p99 {lat['p99']:.1f} ms  max {lat['max']:.1f} ms")
    lines.append("")
    lines.append(f"  {'RSS (MiB)':<16}{'before':>10}{'peak':>10}{'final':>10}")
    for name, m in r["memory"].items():
        def mib(k):
            return "-" if k is None else f"{k / 1024:.1f}"
        lines.append(f"  {name:<16}{mib(m['before_kib']):>10}{mib(m['peak_kib']):>10}"
                     f"{mib(m['final_kib']):>10}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    os.environ["FEDGW_BUILD_DIR"] = str(args.build_dir)
    os.environ["FEDGW_SOURCE_DIR"] = str(SOURCE_DIR)
    with machine_lock():
        sweep_stale_workdirs(f"{WORKDIR_PREFIX}*", log=lambda m: say(m))
        sc = Scenario("bench", keep=args.keep)
        harness_log = sc.workdir / "harness.log"

        def quiet(message: str) -> None:
            with open(harness_log, "a") as f:
                f.write(f"{time.monotonic() - sc.t0:8.3f} {message}\n")
        sc.log = quiet  # type: ignore[method-assign]
        deadline = time.monotonic() + args.time_limit
        signal.signal(signal.SIGALRM, _raise(ScenarioTimeout,
                                             f"the benchmark took more than {args.time_limit} s"))
        signal.alarm(int(args.time_limit))
        ok = False
        try:
            bench = Bench(sc, args, deadline)
            bench.setup()
            bench.start_uas()
            bench.warm_up()
            loadgen = bench.drive()
            bench.wait_uas()
            r = bench.results(loadgen)
            signal.alarm(0)
            print(json.dumps(r, indent=2) if args.json else table(r), flush=True)
            complete = (r["delivered_to_sip"] == args.messages
                        and loadgen.get("errors", 0) == 0)
            ok = complete or not args.require_all
            if not complete:
                say(f"not every message arrived: {r['delivered_to_sip']} of {args.messages} "
                    f"at sipp, {loadgen.get('errors')} bounced")
                if args.require_all:
                    sc.keep = True
                    print(tail(bench.uas.log_path, 20), file=sys.stderr)
                    print(bench.stack.gateway.logs_text(30), file=sys.stderr)
        except (KeyboardInterrupt, Terminated):
            say("interrupted")
        except BaseException as e:  # noqa: BLE001 - report it, then stop everything
            signal.alarm(0)
            sc.keep = True
            say("FAILED")
            if not isinstance(e, (StepFailure, HarnessError, ScenarioTimeout)):
                print("".join(traceback.format_exception(e)), file=sys.stderr)
            print(sc.failure_report(e), file=sys.stderr, flush=True)
        finally:
            signal.alarm(0)
            sc.cleanup()
            if not args.keep:  # a failed run's dir stays unmarked: the next sweep removes it
                (sc.workdir / "kept").unlink(missing_ok=True)
        if sc.keep:
            say(f"logs kept in {sc.workdir} (until the next interop run)")
        return 0 if ok else 1


def _raise(exc: type[BaseException], message: str):
    def handler(_signum, _frame) -> None:
        raise exc(message)
    return handler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build-dir", type=Path, default=SOURCE_DIR / "build",
                   help="meson build dir with the fedgw binaries and fedgw-loadgen")
    p.add_argument("--loadgen", type=Path,
                   help="the fedgw-loadgen binary (default: the build dir's), e.g. an ASan one")
    p.add_argument("--messages", type=int, default=2000, help="messages in total (default 2000)")
    p.add_argument("--accounts", type=int, default=10, help="Prosody accounts sending (default 10)")
    p.add_argument("--rate", type=float, default=0,
                   help="messages per second in total; 0 (default): as fast as they go")
    p.add_argument("--linger", type=float, default=3,
                   help="seconds to wait for stragglers after the last send (default 3)")
    p.add_argument("--time-limit", type=float, default=120,
                   help="hard limit in seconds on the whole run (default 120)")
    p.add_argument("--stanza-rate", type=int, default=1_000_000,
                   help="the partner's stanza_rate_per_s registry setting (default 1000000: "
                        "no limit in practice; the operator default is 50)")
    p.add_argument("--log-level", choices=("debug", "info", "warn"), default="info",
                   help="fedgw's and Prosody's log level (default info)")
    p.add_argument("--require-all", action="store_true",
                   help="exit 1 unless every message reached sipp and none bounced")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--keep", action="store_true",
                   help="keep the work dir (servers' logs and configs) after the run")
    args = p.parse_args()
    if not 1 <= args.messages <= 100_000:
        p.error("--messages must be between 1 and 100000")
    if not 1 <= args.accounts <= 200:
        p.error("--accounts must be between 1 and 200")
    if args.stanza_rate < 1:
        p.error("--stanza-rate must be at least 1")
    if not 10 <= args.time_limit <= 600:
        p.error("--time-limit must be between 10 and 600 seconds")
    args.build_dir = args.build_dir.resolve()
    signal.signal(signal.SIGTERM, _raise(Terminated, "terminated by SIGTERM"))
    signal.signal(signal.SIGINT, _raise(Terminated, "interrupted by SIGINT"))
    sys.exit(run(args))


if __name__ == "__main__":
    main()
