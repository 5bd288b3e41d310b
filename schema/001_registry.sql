-- 001_registry.sql: the partner registry (DESIGN.md, "The partner registry"; Lync's model).
--
-- Applied by fedgw::Database::migrate() inside one BEGIN IMMEDIATE transaction, which also
-- sets PRAGMA user_version; so no transaction control and no user_version here.
--
-- Conventions:
--   * STRICT tables: a value of the wrong type is refused, not converted.
--   * Domains and bare JIDs are stored in the canonical form the code compares with: lower-case
--     (the CHECKs can only see ASCII case), no '@', '/' or white space in a domain, no leading
--     or trailing dot, at most 1023 bytes (RFC 7622 §3.2).
--   * Flags are INTEGER 0/1. Times are Unix seconds (UTC), set by default to unixepoch().
--   * The combination rules for TLS/SASL/dialback that have no valid reading are refused here
--     too (named constraints), so even a hand-edited file cannot hold an unusable partner; the
--     validator in common/ gives the operator the reasons and the warnings.

-- ---------------------------------------------------------------------------------------------
-- Partners: one row per federated domain (its primary domain).
CREATE TABLE partners (
    domain           TEXT NOT NULL PRIMARY KEY
                     CONSTRAINT partner_domain_form CHECK (
                         length(CAST(domain AS BLOB)) BETWEEN 1 AND 1023
                         AND domain = lower(domain)
                         AND domain NOT GLOB '*[@/ ' || char(9, 10, 13) || ']*'
                         AND domain NOT GLOB '.*' AND domain NOT GLOB '*.'),
    -- federated: may subscribe without approval and sees status notes;
    -- public-verified: may subscribe without approval, no notes;
    -- public-unverified: the SIP user must have added the contact first, no notes.
    type             TEXT NOT NULL DEFAULT 'public-unverified'
                     CONSTRAINT partner_type CHECK (
                         type IN ('federated', 'public-verified', 'public-unverified')),
    tls              TEXT NOT NULL DEFAULT 'required'
                     CONSTRAINT partner_tls CHECK (
                         tls IN ('required', 'optional', 'not-supported')),
    sasl             TEXT NOT NULL DEFAULT 'optional'
                     CONSTRAINT partner_sasl CHECK (
                         sasl IN ('required', 'optional', 'not-supported')),
    dialback         INTEGER NOT NULL DEFAULT 1 CONSTRAINT partner_dialback CHECK (dialback IN (0, 1)),
    keepalive        INTEGER NOT NULL DEFAULT 1 CONSTRAINT partner_keepalive CHECK (keepalive IN (0, 1)),
    -- NULL: the global per-partner limit (settings 'partner_connection_limit').
    connection_limit INTEGER CONSTRAINT partner_connection_limit CHECK (
                         connection_limit IS NULL OR connection_limit >= 1),
    -- NULL: DNS SRV/A lookup. Otherwise an FQDN or host:port that overrides DNS.
    static_route     TEXT CONSTRAINT partner_static_route CHECK (
                         static_route IS NULL OR (
                             length(static_route) BETWEEN 1 AND 1029
                             AND static_route NOT GLOB '*[@/ ' || char(9, 10, 13) || ']*')),
    description      TEXT NOT NULL DEFAULT '',
    enabled          INTEGER NOT NULL DEFAULT 1 CONSTRAINT partner_enabled CHECK (enabled IN (0, 1)),
    created_at       INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at       INTEGER NOT NULL DEFAULT (unixepoch()),

    -- SASL (EXTERNAL) runs over TLS: it cannot be offered when TLS is not supported.
    CONSTRAINT partner_sasl_needs_tls CHECK (NOT (tls = 'not-supported' AND sasl <> 'not-supported')),
    -- Without TLS only dialback could authenticate the stream.
    CONSTRAINT partner_needs_authentication CHECK (NOT (tls = 'not-supported' AND dialback = 0)),
    -- TLS required, SASL not supported and no dialback leaves nothing to authenticate with.
    CONSTRAINT partner_needs_sasl_or_dialback CHECK (
        NOT (tls = 'required' AND sasl = 'not-supported' AND dialback = 0))
) STRICT;

-- Keeps updated_at current whatever the writer forgets (recursive triggers are off, so the
-- UPDATE below does not fire this trigger again).
CREATE TRIGGER partners_touch AFTER UPDATE ON partners
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE partners SET updated_at = unixepoch() WHERE domain = NEW.domain;
END;

-- ---------------------------------------------------------------------------------------------
-- Additional domains of a partner (e.g. conference.example for example). The primary key makes
-- a domain belong to at most one partner; the triggers below keep it from also being some
-- partner's primary domain.
CREATE TABLE partner_domains (
    domain     TEXT NOT NULL PRIMARY KEY
               CONSTRAINT partner_domains_form CHECK (
                   length(CAST(domain AS BLOB)) BETWEEN 1 AND 1023
                   AND domain = lower(domain)
                   AND domain NOT GLOB '*[@/ ' || char(9, 10, 13) || ']*'
                   AND domain NOT GLOB '.*' AND domain NOT GLOB '*.'),
    partner    TEXT NOT NULL REFERENCES partners (domain) ON UPDATE CASCADE ON DELETE CASCADE,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

CREATE INDEX partner_domains_by_partner ON partner_domains (partner);

CREATE TRIGGER partner_domains_not_primary_insert BEFORE INSERT ON partner_domains
WHEN EXISTS (SELECT 1 FROM partners WHERE domain = NEW.domain)
BEGIN
    SELECT RAISE(ABORT, 'additional domain is already a partner''s primary domain');
END;

CREATE TRIGGER partner_domains_not_primary_update BEFORE UPDATE OF domain ON partner_domains
WHEN EXISTS (SELECT 1 FROM partners WHERE domain = NEW.domain)
BEGIN
    SELECT RAISE(ABORT, 'additional domain is already a partner''s primary domain');
END;

CREATE TRIGGER partners_not_additional_insert BEFORE INSERT ON partners
WHEN EXISTS (SELECT 1 FROM partner_domains WHERE domain = NEW.domain)
BEGIN
    SELECT RAISE(ABORT, 'partner domain is already another partner''s additional domain');
END;

CREATE TRIGGER partners_not_additional_update BEFORE UPDATE OF domain ON partners
WHEN EXISTS (SELECT 1 FROM partner_domains WHERE domain = NEW.domain)
BEGIN
    SELECT RAISE(ABORT, 'partner domain is already another partner''s additional domain');
END;

-- ---------------------------------------------------------------------------------------------
-- Blocked domains: refused in either direction, whatever the federation mode.
CREATE TABLE blocked_domains (
    domain     TEXT NOT NULL PRIMARY KEY
               CONSTRAINT blocked_domains_form CHECK (
                   length(CAST(domain AS BLOB)) BETWEEN 1 AND 1023
                   AND domain = lower(domain)
                   AND domain NOT GLOB '*[@/ ' || char(9, 10, 13) || ']*'
                   AND domain NOT GLOB '.*' AND domain NOT GLOB '*.'),
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

-- ---------------------------------------------------------------------------------------------
-- Global settings, one row per key. Every key is seeded below; code UPDATEs values (an UPDATE
-- that changes no row means an unknown key) and later migrations INSERT new keys. The value
-- column keeps its type (STRICT ANY), and each known key's type and range are checked.
CREATE TABLE settings (
    key        TEXT NOT NULL PRIMARY KEY,
    value      ANY,
    updated_at INTEGER NOT NULL DEFAULT (unixepoch()),

    CONSTRAINT settings_total_connection_limit CHECK (
        key <> 'total_connection_limit' OR (typeof(value) = 'integer' AND value >= 1)),
    CONSTRAINT settings_partner_connection_limit CHECK (
        key <> 'partner_connection_limit' OR (typeof(value) = 'integer' AND value >= 1)),
    CONSTRAINT settings_keepalive_interval_s CHECK (
        key <> 'keepalive_interval_s' OR (typeof(value) = 'integer' AND value >= 1)),
    CONSTRAINT settings_stream_establishment_timeout_s CHECK (
        key <> 'stream_establishment_timeout_s' OR (typeof(value) = 'integer' AND value >= 1)),
    CONSTRAINT settings_stream_inactivity_timeout_s CHECK (
        key <> 'stream_inactivity_timeout_s' OR (typeof(value) = 'integer' AND value >= 1)),
    -- Stanzas per second one partner may send on all its streams; a flood ends the stream with
    -- policy-violation.
    CONSTRAINT settings_stanza_rate_per_s CHECK (
        key <> 'stanza_rate_per_s' OR (typeof(value) = 'integer' AND value >= 1)),
    CONSTRAINT settings_sip_subscription_refresh_s CHECK (
        key <> 'sip_subscription_refresh_s' OR (typeof(value) = 'integer' AND value >= 1)),
    -- NULL until the first service that needs it generates one.
    CONSTRAINT settings_dialback_secret CHECK (
        key <> 'dialback_secret' OR value IS NULL
        OR (typeof(value) = 'text' AND length(value) >= 32)),
    CONSTRAINT settings_log_message_bodies CHECK (
        key <> 'log_message_bodies' OR (typeof(value) = 'integer' AND value IN (0, 1))),
    -- allow-list: only the partners table; discover: also any domain not blocked, admitted as
    -- public-unverified with TLS required, SASL optional, dialback on.
    CONSTRAINT settings_federation_mode CHECK (
        key <> 'federation_mode' OR (typeof(value) = 'text' AND value IN ('allow-list', 'discover'))),
    -- XMPP access for SIP users without a row in sip_user_access (Lync's EnableXmppAccess,
    -- off by default there too).
    CONSTRAINT settings_xmpp_access_default CHECK (
        key <> 'xmpp_access_default' OR (typeof(value) = 'integer' AND value IN (0, 1)))
) STRICT;

INSERT INTO settings (key, value) VALUES
    ('total_connection_limit', 1000),
    ('partner_connection_limit', 20),
    ('keepalive_interval_s', 300),
    ('stream_establishment_timeout_s', 60),
    ('stream_inactivity_timeout_s', 600),
    ('stanza_rate_per_s', 50),
    ('sip_subscription_refresh_s', 28800),
    ('dialback_secret', NULL),
    ('log_message_bodies', 0),
    ('federation_mode', 'allow-list'),
    ('xmpp_access_default', 0);

CREATE TRIGGER settings_touch AFTER UPDATE ON settings
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE settings SET updated_at = unixepoch() WHERE key = NEW.key;
END;

-- ---------------------------------------------------------------------------------------------
-- Per-SIP-user XMPP access; users without a row get settings 'xmpp_access_default'.
-- sip_user is the address of record without its scheme: 'alice@sip.example'.
CREATE TABLE sip_user_access (
    sip_user   TEXT NOT NULL PRIMARY KEY
               CONSTRAINT sip_user_access_form CHECK (
                   length(CAST(sip_user AS BLOB)) BETWEEN 3 AND 2047
                   AND sip_user GLOB '?*@?*'
                   AND sip_user NOT LIKE 'sip:%' AND sip_user NOT LIKE 'sips:%'
                   AND sip_user NOT GLOB '*[ ' || char(9, 10, 13) || ']*'),
    enabled    INTEGER NOT NULL CONSTRAINT sip_user_access_enabled CHECK (enabled IN (0, 1)),
    updated_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

-- ---------------------------------------------------------------------------------------------
-- Contact pairs remembered for public-unverified partners: a SIP user "has added" an XMPP
-- address when it subscribed to it, sent it a message, or an operator allowed the pair
-- (fedgwctl). One row per pair; source says how it first got here.
CREATE TABLE contact_pairs (
    sip_user   TEXT NOT NULL
               CONSTRAINT contact_pairs_sip_user_form CHECK (
                   length(CAST(sip_user AS BLOB)) BETWEEN 3 AND 2047
                   AND sip_user GLOB '?*@?*'
                   AND sip_user NOT LIKE 'sip:%' AND sip_user NOT LIKE 'sips:%'
                   AND sip_user NOT GLOB '*[ ' || char(9, 10, 13) || ']*'),
    -- A bare JID (no resource), normalized.
    xmpp_jid   TEXT NOT NULL
               CONSTRAINT contact_pairs_jid_form CHECK (
                   length(CAST(xmpp_jid AS BLOB)) BETWEEN 1 AND 2047
                   AND xmpp_jid = lower(xmpp_jid)
                   AND xmpp_jid NOT GLOB '*[/ ' || char(9, 10, 13) || ']*'),
    source     TEXT NOT NULL
               CONSTRAINT contact_pairs_source CHECK (source IN ('subscribed', 'messaged', 'operator')),
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (sip_user, xmpp_jid)
) STRICT, WITHOUT ROWID;

CREATE INDEX contact_pairs_by_jid ON contact_pairs (xmpp_jid);

-- ---------------------------------------------------------------------------------------------
-- Policy revision: one counter that every change to the federation policy (partners, their
-- domains, blocked domains, settings, per-user access) increases. PRAGMA data_version says
-- cheaply that *something* changed in the file; this says whether the policy did (contact pairs,
-- written by the gateway all day, do not count), and numbers the snapshot the gateway sends the
-- proxy over the link.
CREATE TABLE policy_revision (
    id       INTEGER NOT NULL PRIMARY KEY CONSTRAINT policy_revision_single_row CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO policy_revision (id, revision) VALUES (1, 1);

CREATE TRIGGER partners_revision_insert AFTER INSERT ON partners
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER partners_revision_update AFTER UPDATE ON partners
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER partners_revision_delete AFTER DELETE ON partners
BEGIN UPDATE policy_revision SET revision = revision + 1; END;

CREATE TRIGGER partner_domains_revision_insert AFTER INSERT ON partner_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER partner_domains_revision_update AFTER UPDATE ON partner_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER partner_domains_revision_delete AFTER DELETE ON partner_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;

CREATE TRIGGER blocked_domains_revision_insert AFTER INSERT ON blocked_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER blocked_domains_revision_update AFTER UPDATE ON blocked_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER blocked_domains_revision_delete AFTER DELETE ON blocked_domains
BEGIN UPDATE policy_revision SET revision = revision + 1; END;

CREATE TRIGGER settings_revision_insert AFTER INSERT ON settings
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER settings_revision_update AFTER UPDATE ON settings
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER settings_revision_delete AFTER DELETE ON settings
BEGIN UPDATE policy_revision SET revision = revision + 1; END;

CREATE TRIGGER sip_user_access_revision_insert AFTER INSERT ON sip_user_access
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER sip_user_access_revision_update AFTER UPDATE ON sip_user_access
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
CREATE TRIGGER sip_user_access_revision_delete AFTER DELETE ON sip_user_access
BEGIN UPDATE policy_revision SET revision = revision + 1; END;
