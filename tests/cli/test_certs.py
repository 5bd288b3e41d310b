"""fedgwctl check-cert against certificates made with the openssl command line: which names a
certificate covers (DNS-ID, SRV-ID, XmppAddr, RFC 6125 through common/tls), its chain against
a CA file, serverAuth, days left and expiry.

    /usr/bin/python3 test_certs.py /path/to/fedgwctl
"""

from cli_support import Ca, CliTestCase, fedgwctl, main

OK, REFUSED, USAGE, NOT_FOUND = 0, 1, 2, 4


class CheckCert(CliTestCase):
    def setUp(self):
        super().setUp()
        self.ca = Ca(self.dir)

    def test_all_identities_covered(self):
        chain, _ = self.ca.issue("a.test", srv=["_xmpp-server.a.test"], xmpp=["a.test"])
        r = self.assertExit(fedgwctl("check-cert", chain, "--name", "a.test", "--ca",
                                     self.ca.ca_file), OK)
        self.assertRegex(r.out, r"names\s+DNS:a.test, SRV:_xmpp-server.a.test, XMPP:a.test")
        self.assertRegex(r.out, r"a.test\s+yes\s+dns-id")
        self.assertIn("verifies against", r.out)
        self.assertRegex(r.out, r"\(36[45] days left\)")
        j = fedgwctl("--json", "check-cert", chain, "--name", "a.test", "--ca", self.ca.ca_file).json()
        self.assertTrue(j["ok"])
        self.assertEqual(j["names"]["dns"], ["a.test"])
        self.assertEqual(j["names"]["srv"], ["_xmpp-server.a.test"])
        self.assertEqual(j["names"]["xmpp"], ["a.test"])
        self.assertEqual(j["domains"], [{"name": "a.test", "covered": True, "match": "dns-id"}])
        self.assertEqual(j["chain"], {"checked": True, "ca": str(self.ca.ca_file), "ok": True,
                                      "error": ""})
        self.assertIn(j["days_left"], (364, 365))
        self.assertTrue(j["server_auth"])

    def test_srv_id_and_xmppaddr_alone(self):
        srv, _ = self.ca.issue("srv.test", dns=[], srv=["_xmpp-server.srv.test"])
        xmpp, _ = self.ca.issue("xmpp.test", dns=[], xmpp=["xmpp.test"])
        wild, _ = self.ca.issue("wild.test", dns=["*.wild.test"])
        self.assertEqual(fedgwctl("--json", "check-cert", srv, "--name", "srv.test").json()
                         ["domains"][0]["match"], "srv-id")
        self.assertEqual(fedgwctl("--json", "check-cert", xmpp, "--name", "xmpp.test").json()
                         ["domains"][0]["match"], "xmppaddr")
        self.assertExit(fedgwctl("check-cert", wild, "--name", "chat.wild.test"), OK)
        self.assertExit(fedgwctl("check-cert", wild, "--name", "wild.test"), REFUSED)

    def test_name_not_covered(self):
        chain, _ = self.ca.issue("a.test")
        r = self.assertExit(fedgwctl("check-cert", chain, "--name", "a.test", "--name",
                                     "b.test"), REFUSED)
        self.assertRegex(r.out, r"b.test\s+NO")
        self.assertIn("b.test is not covered: add DNS:b.test", r.out)
        # The subject CN is never an identity (RFC 6125 §6.4.4).
        cn_only, _ = self.ca.issue("cn.test", dns=[], eku="serverAuth")
        self.assertExit(fedgwctl("check-cert", cn_only, "--name", "cn.test"), REFUSED)

    def test_chain_against_another_ca_fails(self):
        chain, _ = self.ca.issue("a.test")
        other = Ca(self.dir, "other")
        r = self.assertExit(fedgwctl("check-cert", chain, "--ca", other.ca_file), REFUSED)
        self.assertIn("FAILS against", r.out)
        j = fedgwctl("--json", "check-cert", chain, "--ca", other.ca_file).json()
        self.assertFalse(j["chain"]["ok"])
        self.assertFalse(j["ok"])

    def test_expiring_and_expired(self):
        soon, _ = self.ca.issue("soon.test", days=10)
        r = self.assertExit(fedgwctl("check-cert", soon, "--name", "soon.test"), REFUSED)
        self.assertRegex(r.out, r"expires in \d+ days \(less than 30\): renew it")
        self.assertExit(fedgwctl("check-cert", soon, "--warn-days", "5"), OK)
        old, _ = self.ca.issue("old.test", start="20200101000000Z", end="20200201000000Z")
        r = self.assertExit(fedgwctl("check-cert", old), REFUSED, out="has expired")
        self.assertIn("2020-02-01 00:00:00 UTC", r.out)
        self.assertLess(fedgwctl("--json", "check-cert", old).json()["days_left"], -365)

    def test_server_auth_required(self):
        client_only, _ = self.ca.issue("c.test", eku="clientAuth")
        r = self.assertExit(fedgwctl("check-cert", client_only, "--name", "c.test"), REFUSED)
        self.assertIn("lacks serverAuth", r.out)
        no_eku, _ = self.ca.issue("n.test", eku=None)
        self.assertExit(fedgwctl("check-cert", no_eku, "--name", "n.test"), OK,
                        out="no EKU extension")

    def test_bad_files(self):
        self.assertExit(fedgwctl("check-cert", self.dir / "absent.pem"), NOT_FOUND,
                        err="no such file")
        junk = self.dir / "junk.pem"
        junk.write_text("not a certificate\n")
        self.assertExit(fedgwctl("check-cert", junk), REFUSED, err="not a PEM certificate")
        chain, _ = self.ca.issue("a.test")
        self.assertExit(fedgwctl("check-cert", chain, "--name", "bad name!"), USAGE)


if __name__ == "__main__":
    main()
