#!/usr/bin/env python3
"""Regenerates the seed corpus of the srv_answer fuzz target.

Starts a throw-away dnsmasq on 127.0.0.1 (a free port), asks it the SRV questions the resolver
asks, and writes each raw answer packet to tests/fuzz/corpus/srv_answer/. Adds a few hand-made
malformed packets (truncated, compression loop, bad counts) and garbage. Not run by meson: the
files it writes are committed.

    python3 tests/loop/dns/capture_srv_corpus.py
"""
import os
import pathlib
import random
import socket
import struct
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "tests" / "fuzz" / "corpus" / "srv_answer"

RECORDS = [
    "--srv-host=_xmpp-server._tcp.two.test,xmpp1.two.test,5269,10,60",
    "--srv-host=_xmpp-server._tcp.two.test,xmpp2.two.test,5270,20,0",
    "--srv-host=_xmpps-server._tcp.tls.test,direct.tls.test,5223,10,0",
    "--srv-host=_xmpp-server._tcp.nosvc.test",
    "--host-record=plain.test,127.0.0.4,::4",
] + [
    f"--srv-host=_xmpp-server._tcp.many.test,s{i}.many.test,{5269 + i},{i % 3},{i * 7 % 50}"
    for i in range(24)
]


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def query(name, qtype=33, qid=0x1234):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


def ask(port, name, qtype=33):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(query(name, qtype), ("127.0.0.1", port))
    data = s.recv(4096)
    s.close()
    return data


def main():
    port = free_port()
    args = ["/usr/sbin/dnsmasq", "--conf-file=/dev/null", "--keep-in-foreground", "--no-resolv",
            "--no-hosts", "--no-poll", "--pid-file=", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--local=/test/", f"--port={port}"] + RECORDS
    if os.geteuid() == 0:
        args.append("--user=nobody")
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        OUT.mkdir(parents=True, exist_ok=True)
        captured = {
            "two_targets": ask(port, "_xmpp-server._tcp.two.test"),
            "xmpps_direct_tls": ask(port, "_xmpps-server._tcp.tls.test"),
            "dot_no_service": ask(port, "_xmpp-server._tcp.nosvc.test"),
            "nxdomain": ask(port, "_xmpp-server._tcp.missing.test"),
            "nodata": ask(port, "_xmpp-server._tcp.plain.test"),
            "many_records": ask(port, "_xmpp-server._tcp.many.test"),
            "aaaa_not_srv": ask(port, "plain.test", 28),
        }
    finally:
        proc.terminate()
        proc.wait()
    two = captured["two_targets"]
    captured["truncated"] = two[: len(two) // 2]
    # Answer count raised beyond what the packet holds.
    captured["bad_ancount"] = two[:6] + struct.pack(">H", 200) + two[8:]
    # A compression pointer to itself in the first answer's owner name.
    hdr_q = len(query("_xmpp-server._tcp.two.test"))
    captured["pointer_loop"] = two[:hdr_q] + struct.pack(">H", 0xC000 | hdr_q) + two[hdr_q + 2:]
    rnd = random.Random(368)
    captured["garbage"] = bytes(rnd.randrange(256) for _ in range(97))
    captured["empty_header"] = b"\0" * 12
    for name, data in captured.items():
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
