-- 002_subscriptions.sql: presence subscriptions between XMPP users on partner domains and SIP
-- users of the domains the gateway fronts (RFC 7248 §4, RFC 6665), kept so that a gateway
-- restart resumes them (DESIGN.md "Translation": subscription state survives a restart).
-- Written by gateway/presence/subscription_store.cpp only.
--
-- Applied by fedgw::Database::migrate() inside one BEGIN IMMEDIATE transaction, which also
-- sets PRAGMA user_version; so no transaction control and no user_version here.
--
-- One row per pair (XMPP bare JID U, SIP address of record S) that has anything to remember:
-- the PairState of gateway/translate/subscription_map.hpp, the outbound SIP dialog (the
-- gateway's SUBSCRIBE to S on U's behalf, RFC 6665 §4.1), the inbound SIP dialog (S's SUBSCRIBE
-- to U, answered by the gateway as notifier, RFC 6665 §4.2), and the last presence each way.
-- The dialog fields are the RFC 3261 §12 dialog state: Call-ID, local and remote tag, local
-- and remote CSeq, remote target (the peer's Contact) and route set (Record-Route, one URI a
-- line, in the order the Route header carries them).
--
-- Conventions as in 001: STRICT tables, flags INTEGER 0/1, times Unix seconds (UTC).

CREATE TABLE subscriptions (
    -- U: a bare JID as fedgw::Jid prepares it (no resource, no white space).
    xmpp_jid            TEXT NOT NULL
                        CONSTRAINT subscriptions_jid_form CHECK (
                            length(CAST(xmpp_jid AS BLOB)) BETWEEN 3 AND 2047
                            AND xmpp_jid GLOB '?*@?*'
                            AND xmpp_jid NOT GLOB '*[/ ' || char(9, 10, 13) || ']*'),
    -- S: "sip:user@domain", as gateway/translate/address_map writes it.
    sip_aor             TEXT NOT NULL
                        CONSTRAINT subscriptions_aor_form CHECK (
                            length(CAST(sip_aor AS BLOB)) BETWEEN 7 AND 2047
                            AND sip_aor GLOB 'sip:?*@?*'
                            AND sip_aor NOT GLOB '*[ ' || char(9, 10, 13) || ']*'),
    -- U's partner type when U last spoke to the gateway: decides whether status notes reach U.
    partner_type        TEXT NOT NULL DEFAULT 'public-unverified'
                        CONSTRAINT subscriptions_partner_type CHECK (
                            partner_type IN ('federated', 'public-verified', 'public-unverified')),

    -- PairState (gateway/translate/subscription_map.hpp).
    outbound            TEXT NOT NULL DEFAULT 'none'
                        CONSTRAINT subscriptions_outbound CHECK (
                            outbound IN ('none', 'subscribing', 'pending', 'active', 'ending')),
    inbound             TEXT NOT NULL DEFAULT 'none'
                        CONSTRAINT subscriptions_inbound CHECK (
                            inbound IN ('none', 'pending', 'approved')),
    inbound_dialog      INTEGER NOT NULL DEFAULT 0
                        CONSTRAINT subscriptions_inbound_dialog CHECK (inbound_dialog IN (0, 1)),
    outbound_failures   INTEGER NOT NULL DEFAULT 0
                        CONSTRAINT subscriptions_outbound_failures CHECK (outbound_failures >= 0),

    -- Outbound dialog (U watches S): NULL call-id when there is none.
    out_call_id         TEXT,
    out_local_tag       TEXT NOT NULL DEFAULT '',
    out_remote_tag      TEXT NOT NULL DEFAULT '',  -- '' until the first 2xx or NOTIFY
    out_local_cseq      INTEGER NOT NULL DEFAULT 0 CHECK (out_local_cseq BETWEEN 0 AND 2147483647),
    out_remote_cseq     INTEGER CHECK (out_remote_cseq IS NULL OR out_remote_cseq >= 0),
    out_remote_target   TEXT NOT NULL DEFAULT '',
    out_route_set       TEXT NOT NULL DEFAULT '',
    out_requested       INTEGER NOT NULL DEFAULT 0 CHECK (out_requested >= 0),
    out_granted         INTEGER NOT NULL DEFAULT 0 CHECK (out_granted >= 0),
    out_expires_at      INTEGER NOT NULL DEFAULT 0,  -- 0: not granted yet
    out_refresh_at      INTEGER NOT NULL DEFAULT 0,  -- 0: no refresh or retry scheduled

    -- Inbound dialog (S watches U): NULL call-id when there is none.
    in_call_id          TEXT,
    in_local_tag        TEXT NOT NULL DEFAULT '',
    in_remote_tag       TEXT NOT NULL DEFAULT '',
    in_remote_uri       TEXT NOT NULL DEFAULT '',  -- S's From URI, for the NOTIFY's To
    in_remote_cseq      INTEGER CHECK (in_remote_cseq IS NULL OR in_remote_cseq >= 0),
    in_notify_cseq      INTEGER NOT NULL DEFAULT 0 CHECK (in_notify_cseq BETWEEN 0 AND 2147483647),
    in_remote_target    TEXT NOT NULL DEFAULT '',
    in_route_set        TEXT NOT NULL DEFAULT '',
    in_expires_at       INTEGER NOT NULL DEFAULT 0,

    -- Last presence of S: the last NOTIFY body (application/pidf+xml; '' = an empty NOTIFY,
    -- read as unavailable); NULL when nothing is known.
    sip_presence        TEXT,
    -- Last presence of U: the <presence/> stanza as received (serialized XML); NULL if none.
    xmpp_presence       TEXT,

    created_at          INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at          INTEGER NOT NULL DEFAULT (unixepoch()),
    PRIMARY KEY (xmpp_jid, sip_aor)
) STRICT, WITHOUT ROWID;

-- NOTIFYs and in-dialog SUBSCRIBEs are matched by Call-ID (then tags).
CREATE UNIQUE INDEX subscriptions_by_out_call_id ON subscriptions (out_call_id)
    WHERE out_call_id IS NOT NULL;
CREATE UNIQUE INDEX subscriptions_by_in_call_id ON subscriptions (in_call_id)
    WHERE in_call_id IS NOT NULL;
-- fedgwctl lists a SIP user's watchers.
CREATE INDEX subscriptions_by_aor ON subscriptions (sip_aor);
