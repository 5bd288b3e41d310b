"""Helpers for the fedgwctl CLI tests (suite 'cli'): running the built binary, a throwaway CA
made with the `openssl` command line, a fake control-socket service that answers like
fedgw-proxy / fedgw-gateway (CONTROL_SPEC), and a tiny authoritative DNS server on 127.0.0.1
that answers SRV, A and AAAA from a dict.

Every test case gets its own temporary directory; nothing here listens on a fixed port.
The path of the fedgwctl binary is the first command-line argument (meson passes it).
"""

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

FEDGWCTL = None  # set by main()


class Run:
    """The outcome of one fedgwctl run."""

    def __init__(self, args, proc):
        self.args = args
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"fedgwctl {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def fedgwctl(*args, timeout=60):
    args = [str(a) for a in args]
    proc = subprocess.run([FEDGWCTL] + args, capture_output=True, text=True, timeout=timeout,
                          check=False)
    return Run(args, proc)


class CliTestCase(unittest.TestCase):
    """A test case with a temporary directory and a registry path in it."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fedgwctl-test-")
        self.dir = Path(self._tmp.name)
        self.db = self.dir / "registry.sqlite"

    def tearDown(self):
        self._tmp.cleanup()

    def ctl(self, *args, **kw):
        """fedgwctl --db <this test's registry> ARGS."""
        return fedgwctl("--db", self.db, *args, **kw)

    def assertExit(self, run, code, *, out=None, err=None):
        self.assertEqual(run.code, code, repr(run))
        if out is not None:
            self.assertIn(out, run.out, repr(run))
        if err is not None:
            self.assertIn(err, run.err, repr(run))
        return run


# ---- certificates -----------------------------------------------------------------------------

def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + [str(a) for a in args], cwd=cwd, capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{r.stderr}")


class Ca:
    """A CA in directory/label. issue() writes NAME.key, NAME.crt (leaf) and NAME.pem (leaf +
    CA certificate)."""

    def __init__(self, directory, label="ca"):
        self.dir = Path(directory) / label
        self.dir.mkdir(parents=True)
        self.ca_file = self.dir / "ca.crt"
        self.key = self.dir / "ca.key"
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", self.key, "-out", self.ca_file, "-subj", f"/CN={label}",
                  "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.dir)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "ca.cnf").write_text(
            "[ca]\ndefault_ca = d\n[d]\n"
            f"database = {self.dir}/index.txt\nnew_certs_dir = {self.dir}\n"
            f"serial = {self.dir}/serial\ndefault_md = sha256\npolicy = p\n"
            "unique_subject = no\ncopy_extensions = none\n[p]\ncommonName = optional\n")

    def issue(self, name, *, dns=None, srv=(), xmpp=(), eku="serverAuth,clientAuth", days=365,
              start=None, end=None):
        """dns defaults to [name]. start/end ("20200101000000Z") give explicit validity."""
        dns = [name] if dns is None else dns
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        crt = self.dir / f"{name}.crt"
        ext = self.dir / f"{name}.ext"
        san = [f"DNS:{d}" for d in dns]
        san += [f"otherName:1.3.6.1.5.5.7.8.7;IA5STRING:{s}" for s in srv]
        san += [f"otherName:1.3.6.1.5.5.7.8.5;UTF8:{x}" for x in xmpp]
        lines = ["basicConstraints = CA:FALSE"]
        if san:
            lines.append("subjectAltName = " + ", ".join(san))
        if eku:
            lines.append("extendedKeyUsage = " + eku)
        ext.write_text("\n".join(lines) + "\n")
        _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", f"/CN={name}"], self.dir)
        if start or end:
            _openssl(["ca", "-batch", "-config", self.dir / "ca.cnf", "-cert", self.ca_file,
                      "-keyfile", self.key, "-in", csr, "-out", crt, "-notext", "-extfile", ext,
                      "-startdate", start, "-enddate", end], self.dir)
        else:
            _openssl(["x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.key,
                      "-CAcreateserial", "-days", str(days), "-extfile", ext, "-out", crt],
                     self.dir)
        chain = self.dir / f"{name}.pem"
        chain.write_text(crt.read_text() + self.ca_file.read_text())
        return chain, key


# ---- a fake service behind a control socket -------------------------------------------------

class FakeService:
    """Listens on a UNIX socket and answers every connection with `reply` (a dict, dumped as
    one JSON line), or behaves badly: reply="hang" reads the request and never answers,
    reply="close" closes without answering. keep_open=True answers but leaves the connection
    open (a server that forgets to close). Requests are kept in `requests`."""

    def __init__(self, path, reply, keep_open=False):
        self.path = str(path)
        self.reply = reply
        self.keep_open = keep_open
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o600)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            data = b""
            try:
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            try:
                self.requests.append(json.loads(data))
            except ValueError:
                self.requests.append(data)
            if self.reply == "hang":
                self._held.append(conn)
                continue
            if self.reply != "close":
                conn.sendall((json.dumps(self.reply) + "\n").encode())
            if self.keep_open:
                self._held.append(conn)
                continue
            conn.close()

    def stop(self):
        self._stop.set()
        self.thread.join(5)
        self.sock.close()
        for c in self._held:
            c.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def tcp_listener(host="127.0.0.1"):
    """A listening TCP socket on a free port, owned by this (the test) process."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(8)
    return s, s.getsockname()[1]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a tiny DNS server --------------------------------------------------------------------------

TYPE_A, TYPE_AAAA, TYPE_SRV = 1, 28, 33


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _decode_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode())
        off += n


class FakeDns:
    """Answers UDP queries on 127.0.0.1:<port> from `records`:
         {("_xmpp-server._tcp.a.test", "SRV"): [(prio, weight, port, "target")],
          ("target", "A"): ["127.0.0.1"], ("target", "AAAA"): ["::1"]}
    A name with no record of any type is NXDOMAIN; a known name asked for another type is
    NODATA. An SRV target "." is written as the root name."""

    def __init__(self, records):
        self.records = {(n.lower(), t): v for (n, t), v in records.items()}
        self.names = {n for (n, _) in self.records}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.server = f"127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, query):
        qid, _flags, qd = struct.unpack("!HHH", query[:6])
        name, off = _decode_name(query, 12)
        qtype, _qclass = struct.unpack("!HH", query[off:off + 4])
        question = query[12:off + 4]
        tname = {TYPE_A: "A", TYPE_AAAA: "AAAA", TYPE_SRV: "SRV"}.get(qtype)
        answers = self.records.get((name, tname), [])
        rcode = 0 if name in self.names else 3
        rrs = b""
        for a in answers:
            if tname == "A":
                rdata = socket.inet_pton(socket.AF_INET, a)
            elif tname == "AAAA":
                rdata = socket.inet_pton(socket.AF_INET6, a)
            else:
                prio, weight, port, target = a
                rdata = struct.pack("!HHH", prio, weight, port) + (
                    b"\0" if target == "." else _encode_name(target))
            rrs += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(rdata)) + rdata
        header = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(answers), 0, 0)
        return header + question + rrs

    def _serve(self):
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(query), peer)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue

    def stop(self):
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


def main():
    global FEDGWCTL
    if len(sys.argv) < 2:
        sys.exit("usage: TEST.py /path/to/fedgwctl [unittest args]")
    FEDGWCTL = os.path.abspath(sys.argv[1])
    if not os.access(FEDGWCTL, os.X_OK):
        sys.exit(f"{FEDGWCTL} is not an executable")
    unittest.main(module="__main__", argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
