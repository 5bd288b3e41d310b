"""fedgwctl check-dns against a tiny DNS server on 127.0.0.1: SRV _xmpps-server/_xmpp-server
and the addresses, resolved by common/dns the way the proxy resolves a partner.

    /usr/bin/python3 test_dns.py /path/to/fedgwctl
"""

from cli_support import CliTestCase, FakeDns, fedgwctl, free_port, main

OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3


class CheckDns(CliTestCase):
    def start_dns(self, records):
        self.dns = FakeDns(records)
        self.addCleanup(self.dns.stop)
        return self.dns.server

    def check(self, domain, *extra):
        return fedgwctl("--config", self.dir / "absent.toml", "check-dns", domain,
                        "--dns-server", self.dns.server, "--timeout", "500", *extra)

    def test_srv_records_and_endpoints(self):
        self.start_dns({
            ("_xmpp-server._tcp.partner.test", "SRV"): [(10, 0, 5269, "xmpp.partner.test"),
                                                        (20, 0, 5270, "backup.partner.test")],
            ("_xmpps-server._tcp.partner.test", "SRV"): [(10, 0, 5223, "xmpp.partner.test")],
            ("xmpp.partner.test", "A"): ["127.0.0.7"],
            ("xmpp.partner.test", "AAAA"): ["2001:db8::7"],
            ("backup.partner.test", "A"): ["127.0.0.8"],
        })
        r = self.assertExit(self.check("partner.test"), OK)
        self.assertIn("SRV _xmpp-server._tcp.partner.test:", r.out)
        self.assertRegex(r.out, r"10\s+0\s+5269\s+xmpp.partner.test\s+2001:db8::7, 127.0.0.7")
        self.assertRegex(r.out, r"1\s+2001:db8::7\s+5223\s+direct \(XEP-0368\)\s+xmpp.partner.test")
        j = self.check("partner.test", "--json").json()
        self.assertTrue(j["ok"])
        self.assertEqual(j["srv"]["_xmpp-server._tcp.partner.test"]["status"], "found")
        self.assertEqual(len(j["srv"]["_xmpp-server._tcp.partner.test"]["records"]), 2)
        # Direct TLS first at equal priority, then STARTTLS by priority; IPv6 first per target.
        self.assertEqual([(e["address"], e["port"], e["direct_tls"]) for e in j["endpoints"]],
                         [("2001:db8::7", 5223, True), ("127.0.0.7", 5223, True),
                          ("2001:db8::7", 5269, False), ("127.0.0.7", 5269, False),
                          ("127.0.0.8", 5270, False)])

    def test_fallback_to_the_domain_itself(self):
        self.start_dns({("plain.test", "A"): ["127.0.0.9"]})
        r = self.assertExit(self.check("plain.test"), OK)
        self.assertIn("SRV _xmpp-server._tcp.plain.test: none (not-found)", r.out)
        self.assertRegex(r.out, r"127.0.0.9\s+5269\s+starttls\s+plain.test")

    def test_no_service_and_no_records(self):
        self.start_dns({("_xmpp-server._tcp.closed.test", "SRV"): [(0, 0, 0, ".")]})
        r = self.assertExit(self.check("closed.test"), REFUSED)
        self.assertIn("decidedly not offered", r.out)
        self.assertIn("no endpoint", r.out)
        self.assertExit(self.check("nothing.test"), REFUSED, out="no endpoint")

    def test_static_route_overrides_srv(self):
        self.start_dns({("_xmpp-server._tcp.partner.test", "SRV"): [(0, 0, 5269, "x.partner.test")],
                        ("relay.test", "A"): ["127.0.0.5"]})
        r = self.assertExit(self.check("partner.test", "--route", "relay.test:5999"), OK)
        self.assertIn("static route: relay.test:5999", r.out)
        self.assertRegex(r.out, r"127.0.0.5\s+5999\s+starttls\s+relay.test")

    def test_static_route_from_the_registry(self):
        self.start_dns({("relay.test", "A"): ["127.0.0.6"]})
        self.assertEqual(self.ctl("partner", "add", "partner.test", "--route", "relay.test:5998").code, 0)
        r = fedgwctl("--db", self.db, "check-dns", "partner.test", "--dns-server", self.dns.server)
        self.assertExit(r, OK, out="from registry partner partner.test")
        self.assertRegex(r.out, r"127.0.0.6\s+5998")

    def test_dns_servers_from_the_configuration(self):
        self.start_dns({("conf.test", "A"): ["127.0.0.4"]})
        config = self.dir / "fedgw.toml"
        config.write_text(f'[proxy]\ndns_servers = ["{self.dns.server}"]\n')
        r = fedgwctl("--config", config, "check-dns", "conf.test")
        self.assertExit(r, OK, out=f"DNS servers: {self.dns.server}")

    def test_dns_server_not_answering(self):
        self.dns = FakeDns({})
        self.dns.stop()  # bound port now closed: nothing answers there
        r = fedgwctl("--config", self.dir / "absent.toml", "check-dns", "partner.test",
                     "--dns-server", f"127.0.0.1:{free_port()}", "--timeout", "200")
        self.assertEqual(r.code, UNREACHABLE, repr(r))

    def test_bad_arguments(self):
        self.dns = FakeDns({})
        self.addCleanup(self.dns.stop)
        self.assertExit(self.check("not a domain"), USAGE)
        self.assertExit(fedgwctl("check-dns", "a.test", "--dns-server", "dns.example"), USAGE,
                        err="IP or IP:PORT")


if __name__ == "__main__":
    main()
