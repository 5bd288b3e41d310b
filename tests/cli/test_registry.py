"""fedgwctl's registry commands against temporary databases: the Lync negotiation matrix (every
refusal comes from common/registry's validator, with its reason), partner round trips, blocked
domains, settings, per-user access, the registry file's mode, --json, --help and exit codes.

    /usr/bin/python3 test_registry.py /path/to/fedgwctl
"""

import os
import stat

from cli_support import CliTestCase, fedgwctl, main

OK, REFUSED, USAGE, UNREACHABLE, NOT_FOUND, EXISTS, ENVIRONMENT = 0, 1, 2, 3, 4, 5, 6


class Matrix(CliTestCase):
    """The invalid TLS/SASL/dialback combinations of ../shared/DESIGN.md, each refused with
    the reason, leaving the registry as it was."""

    def refused(self, *settings, reason):
        r = self.ctl("partner", "add", "p.test", *settings)
        self.assertExit(r, REFUSED, err=reason)
        self.assertIn("refused", r.err)
        self.assertEqual(self.ctl("--json", "partner", "list").json(), [])

    def setUp(self):
        super().setUp()
        # A first write creates the file, so "list" afterwards reads an existing registry.
        self.assertExit(self.ctl("blocked", "add", "spam.test"), OK)

    def test_sasl_required_with_tls_not_supported(self):
        self.refused("--tls", "not-supported", "--sasl", "required", reason="needs TLS")

    def test_sasl_optional_with_tls_not_supported(self):
        self.refused("--tls", "not-supported", "--sasl", "optional", reason="needs TLS")

    def test_sasl_default_with_tls_not_supported(self):
        # SASL defaults to optional, so TLS not-supported alone is refused too.
        self.refused("--tls", "not-supported", reason="SASL optional needs TLS")

    def test_tls_not_supported_dialback_off(self):
        self.refused("--tls", "not-supported", "--sasl", "not-supported", "--dialback", "off",
                     reason="no way to authenticate")

    def test_tls_required_sasl_not_supported_dialback_off(self):
        self.refused("--tls", "required", "--sasl", "not-supported", "--dialback", "off",
                     reason="nothing to authenticate with")

    def test_tls_optional_sasl_not_supported_dialback_off(self):
        self.refused("--tls", "optional", "--sasl", "not-supported", "--dialback", "off",
                     reason="nothing to authenticate with")

    def test_sasl_required_with_dialback_on_is_a_warning(self):
        r = self.assertExit(self.ctl("partner", "add", "p.test", "--sasl", "required",
                                     "--dialback", "on"), OK, out="added partner p.test")
        self.assertIn("warning: SASL required means SASL, else nothing", r.err)
        shown = self.ctl("partner", "show", "p.test")
        self.assertIn("unused: SASL required", shown.out)

    def test_valid_combinations_are_accepted(self):
        for i, combo in enumerate([
                ("--tls", "required", "--sasl", "required", "--dialback", "off"),
                ("--tls", "required", "--sasl", "optional", "--dialback", "off"),
                ("--tls", "required", "--sasl", "not-supported", "--dialback", "on"),
                ("--tls", "optional", "--sasl", "optional", "--dialback", "on"),
                ("--tls", "not-supported", "--sasl", "not-supported", "--dialback", "on")]):
            self.assertExit(self.ctl("partner", "add", f"p{i}.test", *combo), OK)
        self.assertEqual(len(self.ctl("--json", "partner", "list").json()), 5)

    def test_set_into_an_invalid_combination_is_refused(self):
        self.assertExit(self.ctl("partner", "add", "p.test"), OK)
        self.assertExit(self.ctl("partner", "set", "p.test", "--tls", "not-supported"), REFUSED,
                        err="needs TLS")
        self.assertExit(self.ctl("partner", "set", "p.test", "--sasl", "not-supported",
                                 "--dialback", "off"), REFUSED, err="nothing to authenticate")
        p = self.ctl("--json", "partner", "show", "p.test").json()
        self.assertEqual((p["tls"], p["sasl"], p["dialback"]), ("required", "optional", True))

    def test_tls_not_required_warns(self):
        r = self.assertExit(self.ctl("partner", "add", "p.test", "--tls", "optional"), OK)
        self.assertIn("may travel in clear", r.err)


class Partners(CliTestCase):
    def test_add_show_set_remove_round_trip(self):
        r = self.ctl("partner", "add", "Partner.Test.", "--type", "federated", "--tls", "required",
                     "--sasl", "required", "--dialback", "off", "--keepalive", "off",
                     "--connection-limit", "5", "--route", "XMPP.partner.test:5270",
                     "--description", "our friends", "--enabled", "on",
                     "--domain", "conference.partner.test", "--domain", "muc.partner.test")
        self.assertExit(r, OK, out="added partner partner.test")
        p = self.ctl("--json", "partner", "show", "partner.test").json()
        self.assertEqual(p, {
            "domain": "partner.test",
            "additional_domains": ["conference.partner.test", "muc.partner.test"],
            "type": "federated", "tls": "required", "sasl": "required", "dialback": False,
            "keepalive": False, "connection_limit": 5, "effective_connection_limit": 5,
            "static_route": "xmpp.partner.test:5270", "description": "our friends",
            "enabled": True, "blocked": False})
        # An additional domain finds its partner.
        self.assertEqual(self.ctl("--json", "partner", "show", "muc.partner.test").json()["domain"],
                         "partner.test")

        r = self.ctl("partner", "set", "partner.test", "--type", "public-verified",
                     "--connection-limit", "0", "--no-route", "--description", "",
                     "--enabled", "off", "--remove-domain", "muc.partner.test",
                     "--add-domain", "pubsub.partner.test")
        self.assertExit(r, OK, out="updated partner partner.test")
        p = self.ctl("--json", "partner", "show", "partner.test").json()
        self.assertEqual(p["type"], "public-verified")
        self.assertIsNone(p["connection_limit"])
        self.assertEqual(p["effective_connection_limit"], 20)  # the global default
        self.assertIsNone(p["static_route"])
        self.assertEqual(p["description"], "")
        self.assertFalse(p["enabled"])
        self.assertEqual(p["additional_domains"], ["conference.partner.test", "pubsub.partner.test"])
        # Untouched settings stay.
        self.assertEqual((p["sasl"], p["dialback"], p["keepalive"]), ("required", False, False))

        human = self.ctl("partner", "show", "partner.test").out
        self.assertRegex(human, r"connection limit\s+20 \(global default\)")
        self.assertRegex(human, r"static route\s+- \(DNS SRV\)")

        self.assertExit(self.ctl("partner", "remove", "partner.test"), OK, out="removed")
        self.assertExit(self.ctl("partner", "show", "partner.test"), NOT_FOUND,
                        err="no partner partner.test")
        self.assertExit(self.ctl("partner", "remove", "partner.test"), NOT_FOUND)

    def test_list_table_and_json(self):
        self.assertExit(self.ctl("partner", "add", "b.test", "--type", "federated"), OK)
        self.assertExit(self.ctl("partner", "add", "a.test", "--description", "first one",
                                 "--domain", "x.a.test"), OK)
        table = self.ctl("partner", "list")
        self.assertExit(table, OK)
        lines = table.out.splitlines()
        self.assertTrue(lines[0].startswith("DOMAIN"))
        self.assertTrue(lines[1].startswith("a.test"))
        self.assertTrue(lines[2].startswith("b.test"))
        # Aligned: every column starts at the same offset on every line.
        col = lines[0].index("TYPE")
        self.assertEqual(lines[1][col:].split()[0], "public-unverified")
        self.assertEqual(lines[2][col:].split()[0], "federated")
        self.assertIn("first one", lines[1])
        j = self.ctl("partner", "list", "--json").json()  # --json after the subcommand too
        self.assertEqual([p["domain"] for p in j], ["a.test", "b.test"])
        self.assertEqual(j[0]["additional_domains"], ["x.a.test"])

    def test_repeatable_options_take_one_value_each(self):
        self.assertExit(self.ctl("partner", "add", "--domain", "x.p.test", "--domain", "y.p.test",
                                 "p.test"), OK)
        self.assertEqual(self.ctl("--json", "partner", "show", "p.test").json()
                         ["additional_domains"], ["x.p.test", "y.p.test"])
        self.assertExit(self.ctl("partner", "add", "--domain", "a.q.test", "b.q.test", "q.test"),
                        USAGE)

    def test_defaults(self):
        self.assertExit(self.ctl("partner", "add", "d.test"), OK)
        p = self.ctl("--json", "partner", "show", "d.test").json()
        self.assertEqual((p["type"], p["tls"], p["sasl"], p["dialback"], p["keepalive"],
                          p["enabled"]),
                         ("public-unverified", "required", "optional", True, True, True))

    def test_exists_and_domain_conflicts(self):
        self.assertExit(self.ctl("partner", "add", "a.test", "--domain", "shared.test"), OK)
        self.assertExit(self.ctl("partner", "add", "a.test"), EXISTS, err="already exists")
        self.assertExit(self.ctl("partner", "add", "b.test", "--domain", "shared.test"), REFUSED,
                        err="shared.test")
        self.assertExit(self.ctl("partner", "add", "shared.test"), REFUSED)
        self.assertExit(self.ctl("partner", "add", "c.test", "--domain", "c.test"), REFUSED,
                        err="listed twice")
        self.assertExit(self.ctl("partner", "set", "a.test", "--remove-domain", "nope.test"),
                        NOT_FOUND, err="not an additional domain")
        self.assertExit(self.ctl("partner", "set", "nobody.test", "--type", "federated"),
                        NOT_FOUND, err="no partner nobody.test")

    def test_bad_values(self):
        self.assertExit(self.ctl("partner", "add", "not a domain"), REFUSED, err="not a domain")
        self.assertExit(self.ctl("partner", "add", "a.test", "--route", "host:99999"), REFUSED,
                        err="static route")
        self.assertExit(self.ctl("partner", "add", "a.test", "--tls", "maybe"), USAGE)
        self.assertExit(self.ctl("partner", "add", "a.test", "--type", "friends"), USAGE)
        self.assertExit(self.ctl("partner", "add", "a.test", "--dialback", "yes-please"), USAGE)
        self.assertExit(self.ctl("partner", "add", "a.test", "--connection-limit", "many"), USAGE)
        self.assertExit(self.ctl("partner", "add"), USAGE)
        self.assertExit(self.ctl("partner", "add", "a.test"), OK)
        self.assertExit(self.ctl("partner", "set", "a.test"), USAGE, err="nothing to change")

    def test_idn_domain_is_stored_prepared(self):
        self.assertExit(self.ctl("partner", "add", "MÜNCHEN.test"), OK, out="münchen.test")
        self.assertEqual(self.ctl("--json", "partner", "list").json()[0]["domain"], "münchen.test")


class Blocked(CliTestCase):
    def test_add_list_remove(self):
        self.assertExit(self.ctl("blocked", "add", "Spam.Test", "--reason", "abuse"), OK,
                        out="blocked spam.test")
        self.assertExit(self.ctl("blocked", "add", "spam.test"), EXISTS, err="already blocked")
        self.assertExit(self.ctl("blocked", "add", "evil.test"), OK)
        self.assertEqual(self.ctl("--json", "blocked", "list").json(),
                         [{"domain": "evil.test", "reason": ""},
                          {"domain": "spam.test", "reason": "abuse"}])
        table = self.ctl("blocked", "list").out.splitlines()
        self.assertEqual(table[0].split(), ["DOMAIN", "REASON"])
        self.assertEqual(table[2].split(), ["spam.test", "abuse"])
        self.assertExit(self.ctl("blocked", "remove", "spam.test"), OK, out="unblocked")
        self.assertExit(self.ctl("blocked", "remove", "spam.test"), NOT_FOUND, err="not blocked")
        self.assertExit(self.ctl("blocked", "add", "bad domain"), REFUSED)

    def test_blocking_a_partner_warns_and_shows(self):
        self.assertExit(self.ctl("partner", "add", "p.test"), OK)
        r = self.assertExit(self.ctl("blocked", "add", "p.test", "--reason", "incident"), OK)
        self.assertIn("the block wins", r.err)
        self.assertTrue(self.ctl("--json", "partner", "show", "p.test").json()["blocked"])
        self.assertIn("(blocked)", self.ctl("partner", "list").out)
        self.assertIn("blocking wins", self.ctl("partner", "show", "p.test").out)
        r = self.assertExit(self.ctl("partner", "set", "p.test", "--type", "federated"), OK)
        self.assertIn("blocked", r.err)


class Settings(CliTestCase):
    KEYS = ["total_connection_limit", "partner_connection_limit", "keepalive_interval_s",
            "stream_establishment_timeout_s", "stream_inactivity_timeout_s", "stanza_rate_per_s",
            "sip_subscription_refresh_s", "dialback_secret", "log_message_bodies",
            "federation_mode", "xmpp_access_default"]

    def setUp(self):
        super().setUp()
        self.assertExit(self.ctl("settings", "set", "stanza_rate_per_s", "50"), OK)

    def test_defaults(self):
        s = self.ctl("--json", "settings", "get").json()
        self.assertEqual(sorted(s), sorted(self.KEYS))
        self.assertEqual(s, {
            "total_connection_limit": 1000, "partner_connection_limit": 20,
            "keepalive_interval_s": 300, "stream_establishment_timeout_s": 60,
            "stream_inactivity_timeout_s": 600, "stanza_rate_per_s": 50,
            "sip_subscription_refresh_s": 28800, "dialback_secret": None,
            "log_message_bodies": False, "federation_mode": "allow-list",
            "xmpp_access_default": False})
        table = self.ctl("settings", "get").out
        self.assertRegex(table, r"sip_subscription_refresh_s\s+28800 \(8h\)\s+28800 \(8h\)")
        self.assertEqual(self.ctl("settings", "get", "federation_mode").out, "allow-list\n")

    def test_set_and_validate(self):
        ok = [("keepalive_interval_s", "5m", 300), ("keepalive_interval_s", "90", 90),
              ("sip_subscription_refresh_s", "1h30m", 5400),
              ("total_connection_limit", "2000", 2000), ("log_message_bodies", "on", True),
              ("log_message_bodies", "off", False), ("federation_mode", "discover", "discover"),
              ("xmpp_access_default", "on", True)]
        for key, value, want in ok:
            self.assertExit(self.ctl("settings", "set", key, value), OK)
            self.assertEqual(self.ctl("--json", "settings", "get", key).json(), {key: want})
        bad = [("stream_inactivity_timeout_s", "1500ms"), ("stream_inactivity_timeout_s", "soon"),
               ("total_connection_limit", "0"), ("total_connection_limit", "lots"),
               ("log_message_bodies", "maybe"), ("federation_mode", "open"),
               ("dialback_secret", "short")]
        for key, value in bad:
            self.assertExit(self.ctl("settings", "set", key, value), REFUSED, err=key)
        self.assertExit(self.ctl("settings", "set", "no_such_key", "1"), NOT_FOUND,
                        err="unknown setting")
        self.assertExit(self.ctl("settings", "get", "no_such_key"), NOT_FOUND)
        self.assertExit(self.ctl("settings", "set", "total_connection_limit"), USAGE)

    def test_secret_hidden_unless_asked(self):
        secret = "s3cr3t-" + "x" * 40
        self.assertExit(self.ctl("settings", "set", "dialback_secret", secret), OK)
        self.assertNotIn(secret, self.ctl("settings", "get").out)
        self.assertEqual(self.ctl("--json", "settings", "get", "dialback_secret").json(),
                         {"dialback_secret": "<hidden>"})
        self.assertEqual(self.ctl("settings", "get", "dialback_secret", "--show-secret").out,
                         secret + "\n")


class Access(CliTestCase):
    def test_default_and_users(self):
        self.assertExit(self.ctl("access", "set", "alice@sip.test", "on"), OK)
        self.assertEqual(self.ctl("--json", "access", "show", "alice@sip.test").json(),
                         {"sip_user": "alice@sip.test", "access": True, "source": "user"})
        self.assertEqual(self.ctl("--json", "access", "show", "carol@sip.test").json(),
                         {"sip_user": "carol@sip.test", "access": False, "source": "default"})
        self.assertExit(self.ctl("access", "set", "sip:Bob@SIP.Test", "off"), OK,
                        out="Bob@sip.test: XMPP access off")
        self.assertEqual(self.ctl("--json", "access", "show").json(),
                         {"default": False,
                          "users": [{"sip_user": "Bob@sip.test", "access": False},
                                    {"sip_user": "alice@sip.test", "access": True}]})
        # The default moves users without their own value only.
        self.assertExit(self.ctl("access", "default", "on"), OK)
        self.assertEqual(self.ctl("access", "default").out, "on\n")
        self.assertTrue(self.ctl("--json", "access", "show", "carol@sip.test").json()["access"])
        self.assertFalse(self.ctl("--json", "access", "show", "Bob@sip.test").json()["access"])
        # "default" clears the user's own value.
        self.assertExit(self.ctl("access", "set", "Bob@sip.test", "default"), OK,
                        out="(the default)")
        self.assertEqual(self.ctl("--json", "access", "show", "Bob@sip.test").json(),
                         {"sip_user": "Bob@sip.test", "access": True, "source": "default"})
        human = self.ctl("access", "show").out
        self.assertIn("default: XMPP access on", human)
        self.assertRegex(human, r"alice@sip.test\s+on")

    def test_refusals(self):
        self.assertExit(self.ctl("access", "set", "nobody", "on"), REFUSED, err="not a SIP user")
        self.assertExit(self.ctl("access", "set", "a@sip.test", "sometimes"), USAGE)
        self.assertExit(self.ctl("access", "default", "maybe"), USAGE)


class RegistryFile(CliTestCase):
    def test_created_owner_only(self):
        old = os.umask(0o022)  # a permissive umask must not leak into the file
        try:
            self.assertExit(self.ctl("partner", "add", "a.test"), OK)
        finally:
            os.umask(old)
        for f in [self.db] + [p for p in self.dir.iterdir() if p.name.startswith("registry")]:
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600, f)

    def test_root_creating_in_a_services_directory_warns(self):
        services_dir = self.dir / "var-lib-fedgw"
        services_dir.mkdir()
        db = services_dir / "registry.sqlite"
        if os.geteuid() == 0:
            os.chown(services_dir, 65534, 65534)  # nobody, standing in for the fedgw user
            r = self.assertExit(fedgwctl("--db", db, "partner", "add", "a.test"), OK)
            self.assertIn("created " + str(db) + " owned by root", r.err)
            self.assertIn("chown", r.err)
        else:
            r = self.assertExit(fedgwctl("--db", db, "partner", "add", "a.test"), OK)
            self.assertNotIn("owned by root", r.err)
        # Either way, not when the file exists already.
        self.assertNotIn("owned by root", fedgwctl("--db", db, "partner", "add", "b.test").err)

    def test_read_does_not_create(self):
        self.assertExit(self.ctl("partner", "list"), NOT_FOUND, err="does not exist")
        self.assertFalse(self.db.exists())
        self.assertExit(self.ctl("settings", "get"), NOT_FOUND)
        self.assertExit(self.ctl("partner", "remove", "a.test"), NOT_FOUND)
        self.assertFalse(self.db.exists())

    def test_registry_path_from_config(self):
        db = self.dir / "from-config.sqlite"
        config = self.dir / "fedgw.toml"
        config.write_text(f'[registry]\npath = "{db}"\n')
        self.assertExit(fedgwctl("--config", config, "partner", "add", "a.test"), OK)
        self.assertTrue(db.exists())
        self.assertEqual(fedgwctl("--config", config, "--json", "partner", "list").json()[0]["domain"],
                         "a.test")
        # --db wins over the configuration.
        self.assertExit(fedgwctl("--config", config, "--db", self.db, "partner", "add", "b.test"), OK)
        self.assertEqual([p["domain"] for p in self.ctl("--json", "partner", "list").json()],
                         ["b.test"])

    def test_missing_config_without_db(self):
        r = fedgwctl("--config", self.dir / "absent.toml", "partner", "list")
        self.assertExit(r, ENVIRONMENT, err="--db PATH")

    def test_bad_config(self):
        config = self.dir / "fedgw.toml"
        config.write_text("[registry]\npaht = 1\n")
        self.assertExit(fedgwctl("--config", config, "partner", "list"), ENVIRONMENT,
                        err="registry.paht")

    def test_missing_directory(self):
        r = fedgwctl("--db", self.dir / "no" / "such" / "dir.sqlite", "partner", "add", "a.test")
        self.assertExit(r, ENVIRONMENT)


class Usage(CliTestCase):
    def test_usage_errors_exit_2(self):
        for args in [(), ("frobnicate",), ("partner",), ("partner", "frob"), ("blocked",),
                     ("settings",), ("access",), ("access", "set", "a@b.test"),
                     ("--no-such-option", "partner", "list"), ("check-cert",), ("check-dns",),
                     ("diag", "--service", "both"), ("diag", "--timeout", "soon")]:
            self.assertExit(fedgwctl(*args), USAGE)

    def test_help_everywhere(self):
        for args in [(), ("partner",), ("partner", "add"), ("partner", "set"), ("blocked", "add"),
                     ("settings",), ("settings", "set"), ("access", "set"), ("diag",),
                     ("check-dns",), ("check-cert",)]:
            r = self.assertExit(fedgwctl(*args, "--help"), OK)
            self.assertIn("Exit status", r.out, args)
            self.assertIn("4  not found", r.out, args)
        self.assertIn("--connection-limit", fedgwctl("partner", "add", "--help").out)
        self.assertIn("--remove-domain", fedgwctl("partner", "set", "--help").out)
        self.assertIn("keepalive_interval_s", fedgwctl("settings", "--help").out)

    def test_version(self):
        self.assertExit(fedgwctl("--version"), OK, out="fedgwctl ")


if __name__ == "__main__":
    main()
