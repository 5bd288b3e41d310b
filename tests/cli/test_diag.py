"""fedgwctl diag against fake services: a control socket answering a status JSON
(CONTROL_SPEC), TCP listeners owned by this test process, a tiny DNS server and openssl-made
certificates; and against no service at all (process not running), a stale socket, a hung
service, a port held by another process, the link down, our SRV record missing or wrong and
certificates that do not cover the domain or are about to expire.

    /usr/bin/python3 test_diag.py /path/to/fedgwctl
"""

import os
import socket
import subprocess
import sys

from cli_support import Ca, CliTestCase, FakeDns, FakeService, fedgwctl, free_port, main, tcp_listener

OK, REFUSED, USAGE, UNREACHABLE, NOT_FOUND, EXISTS, ENVIRONMENT = 0, 1, 2, 3, 4, 5, 6
DOMAIN = "example.test"


def proxy_status(port, *, link="up", last_error="", streams=None):
    return {
        "service": "fedgw-proxy", "version": "0.1.0", "pid": os.getpid(), "uptime_s": 7384,
        "listeners": [{"address": f"127.0.0.1:{port}"}],
        "link": {"state": link, "remote": "127.0.0.1:23456", "since_s": 300,
                 "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
                 "last_error": last_error},
        "streams": streams if streams is not None else [
            {"direction": "in", "local_domain": DOMAIN, "partner_domain": "partner.test",
             "remote": "192.0.2.1:40312", "state": "established", "tls_version": "TLSv1.3",
             "cipher": "TLS_AES_128_GCM_SHA256", "auth": "sasl-external", "age_s": 65,
             "stanzas_in": 12, "stanzas_out": 3, "queue": 0},
            {"direction": "out", "local_domain": DOMAIN, "partner_domain": "other.test",
             "remote": "198.51.100.2:5269", "state": "negotiating", "tls_version": "",
             "cipher": "", "auth": "none", "age_s": 2, "stanzas_in": 0, "stanzas_out": 0,
             "queue": 4}],
        "domains": [{"name": DOMAIN, "cert": "/x.pem", "not_after": "2027-11-21T00:00:00Z",
                     "days_left": 364}],
        "registry": {"path": "/var/lib/fedgw/registry.sqlite", "version": 7},
    }


def gateway_status(port, *, links=None, subscriptions=None):
    return {
        "service": "fedgw-gateway", "version": "0.1.0", "pid": os.getpid(), "uptime_s": 50,
        "listeners": [{"address": f"127.0.0.1:{port}"}],
        "links": links if links is not None else [
            {"state": "up", "remote": "127.0.0.1:40000", "since_s": 40, "tls_version": "TLSv1.3",
             "cipher": "TLS_AES_256_GCM_SHA384"}],
        "sip": {"listen": ["udp:127.0.0.1:5070"], "next_hops": ["udp:127.0.0.1:5060"],
                "client_transactions": 2, "server_transactions": 1, "connections": 0},
        "subscriptions": subscriptions if subscriptions is not None else [
            {"xmpp": "alice@partner.test", "sip": "sip:bob@example.test", "outbound": "active",
             "inbound": "approved", "inbound_dialog": True, "outbound_expires_in_s": 3000}],
        "domains": [DOMAIN],
        "registry": {"path": "/var/lib/fedgw/registry.sqlite", "version": 7},
    }


class Diag(CliTestCase):
    def setUp(self):
        super().setUp()
        self.ca = Ca(self.dir)
        self.cert, self.key = self.ca.issue(DOMAIN)
        self.proxy_sock = self.dir / "proxy.sock"
        self.gateway_sock = self.dir / "gateway.sock"
        self.link_port = free_port()

    def config(self, *, proxy_port=None, gateway_port=None, dns=None, cert=None):
        text = f'[registry]\npath = "{self.db}"\n'
        if proxy_port is not None:
            text += (f'[proxy]\nlisten = ["127.0.0.1:{proxy_port}"]\n'
                     f'control_socket = "{self.proxy_sock}"\n')
            if dns:
                text += f'dns_servers = ["{dns}"]\n'
            text += (f'[[proxy.domain]]\nname = "{DOMAIN}"\ncert = "{cert or self.cert}"\n'
                     f'key = "{self.key}"\n'
                     f'[proxy.gateway_link]\naddress = "127.0.0.1:{self.link_port}"\n'
                     f'name = "gateway.test"\ncert = "{self.cert}"\nkey = "{self.key}"\n'
                     f'ca = "{self.ca.ca_file}"\n')
        if gateway_port is not None:
            text += (f'[gateway]\nlisten = ["127.0.0.1:{gateway_port}"]\n'
                     f'control_socket = "{self.gateway_sock}"\ndomains = ["{DOMAIN}"]\n'
                     f'cert = "{self.cert}"\nkey = "{self.key}"\nca = "{self.ca.ca_file}"\n'
                     f'proxy_name = "proxy.test"\n'
                     f'[gateway.sip]\nnext_hops = ["udp:127.0.0.1:5060"]\n')
        path = self.dir / "fedgw.toml"
        path.write_text(text)
        return path

    def listen(self):
        s, port = tcp_listener()
        self.addCleanup(s.close)
        return port

    def serve(self, path, reply, **kw):
        svc = FakeService(path, reply, **kw)
        self.addCleanup(svc.stop)
        return svc

    def diag(self, config, *args):
        return fedgwctl("--config", config, "diag", "--timeout", "1000", *args)

    def check_line(self, run, n):
        """The checks line numbered n, e.g. 'FAIL  2. fedgw-proxy listens on ...'."""
        for line in run.out.splitlines():
            if line.strip().split("  ", 1)[-1].startswith(f"{n}. "):
                return line.strip()
        self.fail(f"no check {n}:\n{run!r}")

    # ---- the services are down ---------------------------------------------------------------

    def test_process_not_running(self):
        port = free_port()
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), UNREACHABLE)
        self.assertIn(f"FAIL  1. fedgw-proxy running: fedgw-proxy is not running (no control "
                      f"socket at {self.proxy_sock})", r.out)
        self.assertIn("fix: start it (systemctl start fedgw-proxy)", r.out)
        self.assertIn(f"FAIL  2. fedgw-proxy listens on 127.0.0.1:{port}: nothing listens on port "
                      f"{port}", r.out)
        self.assertIn("NOT REACHABLE", r.out)
        j = fedgwctl("--json", "--config", self.config(proxy_port=port), "diag", "--no-dns").json()
        self.assertFalse(j["ok"])
        self.assertEqual(j["services"][0]["error"]["kind"], "no-socket")
        self.assertFalse(j["services"][0]["reachable"])
        self.assertEqual(j["checks"][0]["result"], "fail")

    def test_stale_socket(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(self.proxy_sock))
        s.close()  # the file stays, nobody listens: what a crashed service leaves behind
        r = self.assertExit(self.diag(self.config(proxy_port=self.listen()), "--no-dns"),
                            UNREACHABLE)
        self.assertIn("is a stale socket (the process is gone)", r.out)
        self.assertIn("journalctl -u fedgw-proxy", r.out)

    def test_hung_service(self):
        self.serve(self.proxy_sock, "hang")
        r = fedgwctl("--config", self.config(proxy_port=self.listen()), "diag", "--no-dns",
                     "--timeout", "300")
        self.assertExit(r, UNREACHABLE, out="fedgw-proxy does not answer")
        self.assertIn("within 300 ms", r.out)
        self.assertIn("no answer from", r.out)

    def test_service_that_answers_but_does_not_close(self):
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port), keep_open=True)
        r = fedgwctl("--config", self.config(proxy_port=port), "diag", "--no-dns",
                     "--timeout", "300")
        self.assertExit(r, OK, out="ok    1. fedgw-proxy running")

    def test_service_closes_without_answering(self):
        self.serve(self.proxy_sock, "close")
        r = self.assertExit(self.diag(self.config(proxy_port=self.listen()), "--no-dns"),
                            UNREACHABLE)
        self.assertIn("closed the connection without an answer", r.out)

    def test_service_answers_an_error(self):
        self.serve(self.proxy_sock, {"error": "unknown command \"status\""})
        r = self.assertExit(self.diag(self.config(proxy_port=self.listen()), "--no-dns"),
                            UNREACHABLE)
        self.assertIn("answered unexpectedly", r.out)
        self.assertIn("unknown command", r.out)

    # ---- a healthy proxy and gateway ------------------------------------------------------------

    def test_healthy_proxy(self):
        port = self.listen()
        svc = self.serve(self.proxy_sock, proxy_status(port))
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), OK)
        self.assertEqual(svc.requests[0], {"cmd": "status"})
        self.assertIn(f"fedgw-proxy: pid {os.getpid()}, up 2h03m, version 0.1.0, registry "
                      f"revision 7", r.out)
        # The listener, with this process as its owner.
        self.assertRegex(r.out, rf"tcp\s+127.0.0.1:{port}\s+\*\s+LISTEN\s+{os.getpid()}/")
        self.assertIn("link to gateway: up 127.0.0.1:23456 for 5m00s, TLSv1.3", r.out)
        self.assertRegex(r.out, r"partner.test\s+in\s+example.test\s+192.0.2.1:40312\s+established"
                                r"\s+TLSv1.3\s+TLS_AES_128_GCM_SHA256\s+sasl-external\s+1m05s\s+12"
                                r"\s+3\s+0")
        self.assertRegex(r.out, r"other.test\s+out\s+example.test\s+198.51.100.2:5269\s+negotiating")
        self.assertIn(f"ok    1. fedgw-proxy running: pid {os.getpid()}", r.out)
        self.assertIn(f"ok    2. fedgw-proxy listens on 127.0.0.1:{port}: 127.0.0.1:{port} LISTEN, "
                      f"pid {os.getpid()}", r.out)
        self.assertIn("ok    3. fedgw-proxy link to fedgw-gateway up", r.out)
        self.assertIn("4. certificate for example.test: covered by dns-id, 36", r.out)
        self.assertIn("0 failed", r.out)

        j = fedgwctl("--json", "--config", self.config(proxy_port=port), "diag",
                     "--no-dns").json()
        self.assertTrue(j["ok"])
        svc_json = j["services"][0]
        self.assertEqual(svc_json["status"]["streams"][0]["partner_domain"], "partner.test")
        listening = [s for s in svc_json["sockets"] if s["state"] == "LISTEN"]
        self.assertEqual([(s["proto"], s["local"], s["pid"]) for s in listening],
                         [("tcp", f"127.0.0.1:{port}", os.getpid())])
        self.assertEqual([c["result"] for c in j["checks"]][:3], ["ok", "ok", "ok"])

    def test_proxy_and_gateway_with_the_link_on_both_ends(self):
        pport, gport = self.listen(), self.listen()
        self.link_port = gport
        # A connection to the gateway's port stands in for the proxy's link: ESTAB on both ends.
        client = socket.create_connection(("127.0.0.1", gport))
        self.addCleanup(client.close)
        self.serve(self.proxy_sock, proxy_status(pport))
        self.serve(self.gateway_sock, gateway_status(gport))
        config = self.config(proxy_port=pport, gateway_port=gport)
        r = self.assertExit(self.diag(config, "--no-dns"), OK)
        local = client.getsockname()[1]
        # The proxy's end (remote port = the link's port) and the gateway's end.
        self.assertRegex(r.out, rf"127.0.0.1:{local}\s+127.0.0.1:{gport}\s+ESTAB")
        self.assertRegex(r.out, rf"127.0.0.1:{gport}\s+127.0.0.1:{local}\s+ESTAB")
        self.assertRegex(r.out, r"127.0.0.1:40000\s+up\s+40s\s+TLSv1.3")
        self.assertIn("sip: listen udp:127.0.0.1:5070; next hops udp:127.0.0.1:5060; "
                      "transactions 2 client, 1 server; connections 0", r.out)
        self.assertRegex(r.out, r"alice@partner.test\s+sip:bob@example.test\s+active\s+approved"
                                r"\s+yes\s+50m00s")
        self.assertIn("ok    6. a fedgw-proxy is linked to fedgw-gateway: linked from "
                      "127.0.0.1:40000", r.out)
        # --service narrows it down.
        only = self.assertExit(self.diag(config, "--no-dns", "--service", "gateway"), OK)
        self.assertNotIn("fedgw-proxy:", only.out)

    def test_ipv6_listener(self):
        s, port = tcp_listener("::1")
        self.addCleanup(s.close)
        self.serve(self.proxy_sock, proxy_status(port))
        config = self.config(proxy_port=port)
        config.write_text(config.read_text().replace(f'"127.0.0.1:{port}"', f'"[::1]:{port}"'))
        r = self.assertExit(self.diag(config, "--no-dns"), OK)
        self.assertRegex(r.out, rf"tcp6\s+\[::1\]:{port}\s+\*\s+LISTEN\s+{os.getpid()}/")
        self.assertIn(f"ok    2. fedgw-proxy listens on [::1]:{port}: [::1]:{port} LISTEN", r.out)

    # ---- one step fails ---------------------------------------------------------------------------

    def test_link_down(self):
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port, link="connecting",
                                                 last_error="connection refused"))
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), REFUSED)
        self.assertIn(f"FAIL  3. fedgw-proxy link to fedgw-gateway up: the link to "
                      f"127.0.0.1:{self.link_port} is connecting (connection refused)", r.out)
        self.assertIn("that the firewall lets the edge reach TCP", r.out)

    def test_gateway_without_a_proxy(self):
        port = self.listen()
        self.serve(self.gateway_sock, gateway_status(port, links=[], subscriptions=[]))
        r = self.assertExit(self.diag(self.config(gateway_port=port)), REFUSED)
        self.assertIn("links: no proxy connected", r.out)
        self.assertIn("subscriptions: none", r.out)
        self.assertIn("FAIL  3. a fedgw-proxy is linked to fedgw-gateway: no proxy is connected",
                      r.out)
        self.assertIn("the proxy dials the gateway", r.out)

    def test_port_not_listening(self):
        port = free_port()
        self.serve(self.proxy_sock, proxy_status(port))
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), REFUSED)
        self.assertIn(f"FAIL  2. fedgw-proxy listens on 127.0.0.1:{port}: nothing listens on "
                      f"port {port}", r.out)
        self.assertIn("fedgw-proxy runs but did not bind", r.out)

    def test_port_held_by_another_process(self):
        child = subprocess.Popen(
            [sys.executable, "-c",
             "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
             "print(s.getsockname()[1],flush=True)\nsys.stdin.read()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.wait)
        self.addCleanup(child.stdin.close)
        self.addCleanup(child.stdout.close)
        port = int(child.stdout.readline())
        self.serve(self.proxy_sock, proxy_status(port))
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), REFUSED)
        self.assertIn(f"is held by pid {child.pid}", r.out)
        self.assertIn("not fedgw-proxy", r.out)

    def test_certificate_not_covering_the_domain(self):
        other, _ = self.ca.issue("other.test")
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port))
        r = self.assertExit(self.diag(self.config(proxy_port=port, cert=other), "--no-dns"),
                            REFUSED)
        self.assertIn("FAIL  4. certificate for example.test", r.out)
        self.assertIn("does not cover example.test (it has DNS:other.test", r.out)
        self.assertIn(f"fedgwctl check-cert {other} --name example.test", r.out)

    def test_certificate_expiring(self):
        soon, _ = self.ca.issue("soon", dns=[DOMAIN], days=10)
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port))
        r = self.assertExit(self.diag(self.config(proxy_port=port, cert=soon), "--no-dns"),
                            REFUSED)
        self.assertRegex(r.out, r"FAIL  4. certificate for example.test: .*expires in \d+ days")
        self.assertIn("fix: renew the certificate, then reload", r.out)
        self.assertExit(self.diag(self.config(proxy_port=port, cert=soon), "--no-dns",
                                  "--warn-days", "5"), OK)

    def test_our_srv_record(self):
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port))
        name = f"_xmpp-server._tcp.{DOMAIN}"

        dns = FakeDns({("edge.example.test", "A"): ["127.0.0.1"]})
        self.addCleanup(dns.stop)
        r = self.assertExit(self.diag(self.config(proxy_port=port, dns=dns.server)), REFUSED)
        self.assertIn(f"FAIL  4. DNS {name} points here: no SRV record", r.out)
        self.assertIn(f"publish `{name}. 3600 IN SRV 5 0 {port} <this edge's host name>.`", r.out)

        wrong = FakeDns({(name, "SRV"): [(5, 0, 5299, "edge.example.test")],
                         ("edge.example.test", "A"): ["127.0.0.1"]})
        self.addCleanup(wrong.stop)
        r = self.assertExit(self.diag(self.config(proxy_port=port, dns=wrong.server)), REFUSED)
        self.assertIn("-> edge.example.test:5299: none on a port fedgw-proxy listens on", r.out)

        elsewhere = FakeDns({(name, "SRV"): [(5, 0, port, "web.example.test")],
                             ("web.example.test", "A"): ["192.0.2.80"]})
        self.addCleanup(elsewhere.stop)
        r = self.assertExit(self.diag(self.config(proxy_port=port, dns=elsewhere.server)), OK)
        self.assertIn("WARN  4. DNS", r.out)
        self.assertIn("no target resolves to an address of this host", r.out)

        right = FakeDns({(name, "SRV"): [(5, 0, port, "edge.example.test")],
                         ("edge.example.test", "A"): ["127.0.0.1"]})
        self.addCleanup(right.stop)
        r = self.assertExit(self.diag(self.config(proxy_port=port, dns=right.server)), OK)
        self.assertIn(f"ok    4. DNS {name} points here: -> edge.example.test:{port}", r.out)
        # --dns-server overrides the configuration's servers.
        r = self.assertExit(self.diag(self.config(proxy_port=port, dns=dns.server),
                                      "--dns-server", right.server), OK)

    def test_stream_with_a_blocked_partner(self):
        self.assertExit(self.ctl("partner", "add", "partner.test"), OK)
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port))
        config = self.config(proxy_port=port)
        # other.test is no partner, and the federation mode is allow-list: no stream may exist.
        r = self.assertExit(self.diag(config, "--no-dns"), REFUSED)
        self.assertIn("partners the registry refuses: other.test (not-in-allow-list)", r.out)
        self.assertExit(self.ctl("partner", "add", "other.test"), OK)
        r = self.assertExit(self.diag(config, "--no-dns"), OK)
        self.assertRegex(r.out, r"ok    4. fedgw-proxy enforces the registry: registry revision")
        # Blocked while its stream is live: until the proxy applies it, diag says so.
        self.assertExit(self.ctl("blocked", "add", "partner.test"), OK)
        r = self.assertExit(self.diag(config, "--no-dns"), REFUSED)
        self.assertIn("FAIL  4. fedgw-proxy enforces the registry: streams still open with "
                      "partners the registry refuses: partner.test (blocked)", r.out)
        self.assertNotIn("other.test (", r.out)
        self.assertExit(self.ctl("settings", "set", "federation_mode", "discover"), OK)
        self.assertExit(self.ctl("partner", "set", "partner.test", "--enabled", "off"), OK)
        self.assertExit(self.ctl("blocked", "remove", "partner.test"), OK)
        r = self.assertExit(self.diag(config, "--no-dns"), REFUSED)
        self.assertIn("partner.test (partner-disabled)", r.out)

    def test_gateway_behind_the_registry(self):
        self.assertExit(self.ctl("partner", "add", "partner.test"), OK)
        port = self.listen()
        status = gateway_status(port)
        status["registry"]["version"] = 1
        self.serve(self.gateway_sock, status)
        r = self.assertExit(self.diag(self.config(gateway_port=port)), OK)
        self.assertRegex(r.out, r"WARN  4. fedgw-gateway enforces the registry: it runs on registry "
                                r"revision 1, the file is at \d+")

    def test_control_socket_open_to_others(self):
        port = self.listen()
        self.serve(self.proxy_sock, proxy_status(port))
        os.chmod(self.proxy_sock, 0o666)
        r = self.assertExit(self.diag(self.config(proxy_port=port), "--no-dns"), OK)
        self.assertIn("WARN  1. fedgw-proxy running", r.out)
        self.assertIn("is open to group or others (mode 0666)", r.out)

    # ---- configuration problems ------------------------------------------------------------

    def test_configuration_problems(self):
        self.assertExit(fedgwctl("--config", self.dir / "absent.toml", "diag"), ENVIRONMENT,
                        err="--config FILE")
        only_registry = self.dir / "r.toml"
        only_registry.write_text(f'[registry]\npath = "{self.db}"\n')
        self.assertExit(fedgwctl("--config", only_registry, "diag"), ENVIRONMENT,
                        err="neither [proxy] nor [gateway]")
        self.assertExit(self.diag(self.config(gateway_port=free_port()), "--service", "proxy"),
                        USAGE, err="no [proxy] section")


if __name__ == "__main__":
    main()
