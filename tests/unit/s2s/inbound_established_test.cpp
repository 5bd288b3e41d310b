// InboundStream once authenticated: stanza checks and delivery (RFC 6120 §4.9.3.9,
// §4.9.3.12, §8.1.1.2, §8.1.2.2), the rate limit, the timers (establishment, inactivity,
// whitespace keepalive, RFC 6120 §4.6.1), bidirectional streams (XEP-0288) with the peer's
// limits (XEP-0478 §2.2, §3), and the counters.
#include <gtest/gtest.h>

#include "proxy/s2s/inbound_stream.hpp"
#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = InboundStream::State;

// Stanzas exactly as ejabberd and Prosody send them (tests/fuzz/corpus/xml_stream/
// ejabberd_stream.xml, message_chat.xml, presence.xml, iq.xml) reach the router unchanged.
TEST(InboundEstablished, StanzasAreDeliveredWithThePartnerFacts) {
    Harness h;
    dialback_over_tls(h, kEjabberd);
    const std::string presence =
        "<presence from='u@ejabberd.example.net/r' to='v@sip.example.com' xml:lang='en'>"
        "<priority>0</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
        "node='https://www.process-one.net/en/ejabberd/' "
        "ver='x5NnQX0Hqq/ZwPhRHBEKqMvF1Wo='/></presence>";
    const std::string chat =
        "<message from='juliet@ejabberd.example.net/balcony' to='romeo@sip.example.com' "
        "type='chat' id='purple1' xml:lang='en'><body>Wherefore art thou, Romeo? &lt;3 &amp; "
        "'q' \"q\"</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>";
    const std::string iq =
        "<iq type='get' id='ping-1' from='ejabberd.example.net' to='sip.example.com'>"
        "<ping xmlns='urn:xmpp:ping'/></iq>";
    auto s = h.feed(presence + "\n" + chat + " " + iq);
    auto delivered = s.all<DeliverStanza>();
    ASSERT_EQ(delivered.size(), 3u);
    for (auto* d : delivered) {
        EXPECT_EQ(d->from_domain, kEjabberd);
        EXPECT_EQ(d->to_domain, kLocal);
        EXPECT_EQ(d->partner, kEjabberd);
        EXPECT_EQ(d->partner_type, registry::PartnerType::PublicVerified);
        EXPECT_EQ(d->auth, AuthMethod::Dialback);
    }
    EXPECT_EQ(delivered[0]->stanza->name(), "presence");
    EXPECT_EQ(attr(delivered[0]->stanza->find_child("c", "http://jabber.org/protocol/caps"), "ver"),
              "x5NnQX0Hqq/ZwPhRHBEKqMvF1Wo=");
    EXPECT_EQ(delivered[1]->stanza->child_text("body"),
              "Wherefore art thou, Romeo? <3 & 'q' \"q\"");
    EXPECT_EQ(delivered[2]->stanza->name(), "iq");
    EXPECT_EQ(h.stream->counters().stanzas_in, 3u);
    EXPECT_TRUE(s.bytes.empty());
}

// RFC 6120 §4.9.3.12: stanzas before any pair is authenticated.
TEST(InboundEstablished, StanzaBeforeAuthenticationIsNotAuthorized) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed(message("a@xmpp.example.org", "b@sip.example.com"));
    EXPECT_EQ(s.stream_error(), "not-authorized");
    EXPECT_FALSE(s.has_action<DeliverStanza>());
}

// RFC 6120 §8.1.1.2, §8.1.2.2: on s2s a stanza carries both 'to' and 'from'.
TEST(InboundEstablished, MissingAddressesAreImproperAddressing) {
    for (std::string stanza :
         {"<message to='b@sip.example.com'><body>x</body></message>",
          "<message from='a@xmpp.example.org'><body>x</body></message>", "<presence/>"}) {
        Harness h;
        dialback_over_tls(h, kProsody);
        auto s = h.feed(stanza);
        EXPECT_EQ(s.stream_error(), "improper-addressing") << stanza;
        EXPECT_FALSE(s.has_action<DeliverStanza>());
    }
}

// Choice (inbound_stream.hpp): an address that is not a JID is improper-addressing.
TEST(InboundEstablished, MalformedJidIsImproperAddressing) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed("<message from='a@xmpp.example.org' to='b@@sip.example.com'/>");
    EXPECT_EQ(s.stream_error(), "improper-addressing");
    EXPECT_NE(s.stream_error_text().find("'to'"), std::string::npos);
}

// Choice (inbound_stream.hpp): a 'to' we do not serve is host-unknown.
TEST(InboundEstablished, ForeignTargetIsHostUnknown) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed(message("a@xmpp.example.org", "b@elsewhere.example"));
    EXPECT_EQ(s.stream_error(), "host-unknown");
    EXPECT_NE(s.stream_error_text().find("elsewhere.example"), std::string::npos);
}

// Rule 6: a 'from' domain not authenticated on this stream: invalid-from, logged.
TEST(InboundEstablished, UnauthenticatedSenderIsInvalidFrom) {
    LogCapture logs;
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed(message("mallory@ejabberd.example.net", "b@sip.example.com"));
    EXPECT_EQ(s.stream_error(), "invalid-from");
    EXPECT_FALSE(s.has_action<DeliverStanza>());
    EXPECT_TRUE(
        logs.has("s2s.invalid_from", {"domain=ejabberd.example.net", "local=sip.example.com"}));
}

// Authenticated for sip.example.com only: a stanza to the other local domain is invalid-from.
TEST(InboundEstablished, PairIsPerTargetDomain) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed(message("a@xmpp.example.org", "room@conference.sip.example.com"));
    EXPECT_EQ(s.stream_error(), "invalid-from");
}

TEST(InboundEstablished, ClientNamespaceStanzaIsUnsupported) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s =
        h.feed("<message xmlns='jabber:client' from='a@xmpp.example.org' to='b@sip.example.com'/>");
    EXPECT_EQ(s.stream_error(), "unsupported-stanza-type");
}

// Rule 6: the rate limit (token bucket over now_ms) slows a flood down: what the peer sent is
// processed, nothing is lost, and reading pauses until the debt is repaid.
TEST(InboundEstablished, RateLimitPausesReadingInsteadOfClosing) {
    LogCapture logs;
    InboundStream::Options o;
    o.rate.per_second = 10;
    o.rate.burst = 10;
    Harness h(o);
    h.feed(prosody_header(kPlain), 0);          // 1 element so far: none
    h.feed(db_result(kPlain, kLocal, "k"), 0);  // 1 token
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kPlain, true); });
    const std::string m = message("a@plain.example.net", "b@sip.example.com");
    for (int i = 0; i < 9; ++i) {
        auto s = h.feed(m, 0);
        ASSERT_TRUE(s.has_action<DeliverStanza>()) << i;  // 10 tokens used
        ASSERT_FALSE(s.has_action<PauseReading>()) << i;
    }
    // 100 ms later one token came back.
    EXPECT_TRUE(h.feed(m, 100).has_action<DeliverStanza>());
    // The next one is over the rate: delivered all the same, and reading pauses for the
    // 100 ms one token takes to come back.
    auto s = h.feed(m, 100);
    EXPECT_TRUE(s.has_action<DeliverStanza>());
    EXPECT_EQ(s.stream_error(), "");
    ASSERT_TRUE(s.has_action<PauseReading>());
    EXPECT_TRUE(s.action<PauseReading>()->pause);
    const ArmTimer* arm = nullptr;
    for (const auto* a : s.all<ArmTimer>())
        if (a->kind == TimerKind::Throttle) arm = a;
    ASSERT_NE(arm, nullptr);
    EXPECT_EQ(arm->after_ms, 101u);
    EXPECT_TRUE(logs.has("s2s.in.throttled", {"remote=plain.example.net", "rate_per_s=10"}));
    // Bytes already read while paused (one TCP read holds many): processed, more debt, no
    // second pause.
    auto more = h.feed(m + m, 100);
    EXPECT_EQ(more.all<DeliverStanza>().size(), 2u);
    EXPECT_FALSE(more.has_action<PauseReading>());
    // The timer fires before all of the debt (3 elements) is repaid: it waits longer.
    auto early = h.timer(TimerKind::Throttle, 201);
    EXPECT_FALSE(early.has_action<PauseReading>());
    ASSERT_TRUE(early.has_action<ArmTimer>());
    EXPECT_EQ(early.action<ArmTimer>()->kind, TimerKind::Throttle);
    auto done = h.timer(TimerKind::Throttle, 100 + 300);
    ASSERT_TRUE(done.has_action<PauseReading>());
    EXPECT_FALSE(done.action<PauseReading>()->pause);
    EXPECT_FALSE(done.has_action<CloseStream>());
    EXPECT_TRUE(h.feed(m, 400).has_action<DeliverStanza>());
}

TEST(InboundEstablished, RateLimitRefillsOverTime) {
    InboundStream::Options o;
    o.rate.per_second = 2;
    Harness h(o);
    h.feed(prosody_header(kPlain), 0);
    h.feed(db_result(kPlain, kLocal, "k"), 0);
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kPlain, true); });
    const std::string m = message("a@plain.example.net", "b@sip.example.com");
    std::uint64_t now = 0;
    for (int i = 0; i < 50; ++i) {
        now += 500;  // exactly the rate
        ASSERT_TRUE(h.feed(m, now).has_action<DeliverStanza>()) << i;
    }
}

TEST(InboundEstablished, RateLimitZeroIsOff) {
    InboundStream::Options o;
    o.rate.per_second = 0;
    Harness h(o);
    h.feed(prosody_header(kPlain));
    h.feed(db_result(kPlain, kLocal, "k"));
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kPlain, true); });
    std::string many;
    for (int i = 0; i < 500; ++i)
        many += message("a@plain.example.net", "b@sip.example.com");
    EXPECT_EQ(h.feed(many).all<DeliverStanza>().size(), 500u);
}

// --- rule 7: timers -------------------------------------------------------------------------

TEST(InboundEstablished, EstablishmentTimeoutIsConnectionTimeout) {
    Harness h;
    h.feed(prosody_header(), 0);
    auto s = h.timer(TimerKind::Establishment, 60'000);
    EXPECT_EQ(s.stream_error(), "connection-timeout");
    EXPECT_EQ(s.stream_error_text(), "stream not authenticated within 60 s");
}

TEST(InboundEstablished, EstablishmentTimerAfterAuthenticationDoesNothing) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.timer(TimerKind::Establishment, 60'000);
    EXPECT_TRUE(s.actions.empty());
}

TEST(InboundEstablished, InactivityRearmsForTheRestThenCloses) {
    StreamTimers t;
    t.inactivity_ms = 600'000;
    Harness h({}, t);
    h.feed(prosody_header(kPlain), 0);
    h.feed(" ", 100'000);  // a whitespace keepalive from the peer is traffic too
    auto s = h.timer(TimerKind::Inactivity, 600'000);
    ASSERT_NE(s.action<ArmTimer>(), nullptr);
    EXPECT_EQ(s.action<ArmTimer>()->kind, TimerKind::Inactivity);
    EXPECT_EQ(s.action<ArmTimer>()->after_ms, 100'000u);
    EXPECT_TRUE(s.stream_error().empty());
    s = h.timer(TimerKind::Inactivity, 700'000);
    EXPECT_EQ(s.stream_error(), "connection-timeout");
}

// RFC 6120 §4.6.1: a single space when we have been quiet for the keepalive interval.
TEST(InboundEstablished, KeepaliveWhenIdle) {
    StreamTimers t;
    t.keepalive_ms = 300'000;
    Harness h({}, t);
    h.feed(prosody_header(kPlain), 0);
    h.feed(db_result(kPlain, kLocal, "k"), 0);
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kPlain, true); });  // writes at 0
    auto s = h.timer(TimerKind::Keepalive, 300'000);
    EXPECT_EQ(s.bytes, " ");
    ASSERT_NE(s.action<ArmTimer>(), nullptr);
    EXPECT_EQ(s.action<ArmTimer>()->after_ms, 300'000u);
    // Something written in between postpones the next one.
    h.feed(db_result(kPlain, kLocal, "k"), 400'000);  // answered "valid" again
    s = h.timer(TimerKind::Keepalive, 600'000);
    EXPECT_TRUE(s.bytes.empty());
    EXPECT_EQ(s.action<ArmTimer>()->after_ms, 100'000u);
}

TEST(InboundEstablished, NoKeepaliveForPartnerWithKeepaliveOff) {
    Harness h;
    dialback_over_tls(h, kQuiet);
    auto s = h.timer(TimerKind::Keepalive, 1'000'000);
    EXPECT_TRUE(s.actions.empty());
}

TEST(InboundEstablished, SendKeepaliveOnlyWhenTheStreamIsOpen) {
    Harness h;
    EXPECT_TRUE(h.call([](InboundStream& st) { st.send_keepalive(); }).bytes.empty());
    h.feed(prosody_header());
    EXPECT_EQ(h.call([](InboundStream& st) { st.send_keepalive(); }).bytes, " ");
    h.feed(starttls());
    EXPECT_TRUE(h.call([](InboundStream& st) { st.send_keepalive(); }).bytes.empty());
}

// --- rule 9: XEP-0288 bidirectional streams ---------------------------------------------------

Element reply(std::string_view from, std::string_view to) {
    Element m("message", std::string(kNsServer));
    m.set_attr("from", from);
    m.set_attr("to", to);
    m.set_attr("type", "chat");
    m.add_child("body").add_text("hello back");
    return m;
}

TEST(InboundEstablished, BidiLetsUsSendOnAuthenticatedPairs) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed("<bidi xmlns='urn:xmpp:bidi'/>");
    EXPECT_TRUE(h.stream->is_bidi());
    EXPECT_TRUE(logs.has("s2s.in.bidi", {"remote=xmpp.example.org"}));
    h.feed(db_result(kProsody, kLocal, "k"));
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });

    Result<void, StanzaError> r = Unexpected(StanzaError{});
    auto s = h.call([&](InboundStream& st) {
        r = st.send(reply("romeo@sip.example.com", "juliet@xmpp.example.org"));
    });
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    const Element* m = s.element("message", kNsServer);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->child_text("body"), "hello back");
    EXPECT_EQ(s.bytes.find("xmlns="), std::string::npos);  // in the stream's jabber:server
    EXPECT_EQ(h.stream->counters().stanzas_out, 1u);

    // Only the reverse of an authenticated pair (XEP-0288 §2.2).
    s = h.call([&](InboundStream& st) {
        r = st.send(reply("romeo@conference.sip.example.com", "juliet@xmpp.example.org"));
    });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().condition, StanzaCondition::NotAllowed);
    EXPECT_TRUE(s.bytes.empty());
}

TEST(InboundEstablished, SendWithoutBidiIsRefused) {
    Harness h;
    dialback_over_tls(h, kProsody);
    Result<void, StanzaError> r = Unexpected(StanzaError{});
    auto s = h.call([&](InboundStream& st) {
        r = st.send(reply("romeo@sip.example.com", "juliet@xmpp.example.org"));
    });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().condition, StanzaCondition::ServiceUnavailable);
    EXPECT_TRUE(s.bytes.empty());
}

// XEP-0478 §2.2, §3: the limits in <bidi/> bound what we send; too big is policy-violation.
TEST(InboundEstablished, BidiHonoursThePeersLimits) {
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed(
        "<bidi xmlns='urn:xmpp:bidi'><limits xmlns='urn:xmpp:stream-limits:0'>"
        "<max-bytes>200</max-bytes><idle-seconds>1800</idle-seconds></limits></bidi>");
    h.feed(db_result(kProsody, kLocal, "k"));
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    Element big = reply("romeo@sip.example.com", "juliet@xmpp.example.org");
    big.find_child("body")->set_text(std::string(300, 'x'));
    Result<void, StanzaError> r = Unexpected(StanzaError{});
    auto s = h.call([&](InboundStream& st) { r = st.send(big); });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().condition, StanzaCondition::PolicyViolation);
    EXPECT_TRUE(r.error().by.empty());
    EXPECT_TRUE(s.bytes.empty());
    s = h.call([&](InboundStream& st) {
        r = st.send(reply("romeo@sip.example.com", "juliet@xmpp.example.org"));
    });
    EXPECT_TRUE(r.has_value());
}

// A stanza composed in jabber:client (or no namespace) is written in jabber:server.
TEST(InboundEstablished, BidiWritesClientNamespaceStanzasAsServer) {
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed("<bidi xmlns='urn:xmpp:bidi'/>");
    h.feed(db_result(kProsody, kLocal, "k"));
    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    Element m("message", std::string(kNsClient));
    m.set_attr("from", "romeo@sip.example.com");
    m.set_attr("to", "juliet@xmpp.example.org");
    m.add_child("body").add_text("hi");
    Result<void, StanzaError> r = Unexpected(StanzaError{});
    auto s = h.call([&](InboundStream& st) { r = st.send(m); });
    ASSERT_TRUE(r.has_value());
    const Element* out = s.element("message", kNsServer);
    ASSERT_NE(out, nullptr);
    EXPECT_NE(out->find_child("body", kNsServer), nullptr);
}

// XEP-0288 §2.1: bidi is offered after TLS only.
TEST(InboundEstablished, BidiBeforeTlsIsRefused) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed("<bidi xmlns='urn:xmpp:bidi'/>");
    EXPECT_EQ(s.stream_error(), "unsupported-stanza-type");
    EXPECT_FALSE(h.stream->is_bidi());
}

// --- diagnostics -------------------------------------------------------------------------

TEST(InboundEstablished, CountersAndDiagnostics) {
    Harness h;
    dialback_over_tls(h, kProsody);
    const std::string m = message("a@xmpp.example.org", "b@sip.example.com");
    h.feed(m);
    EXPECT_EQ(h.stream->counters().stanzas_in, 1u);
    EXPECT_GT(h.stream->counters().bytes_in, m.size());
    EXPECT_GT(h.stream->counters().bytes_out, 0u);
    EXPECT_EQ(h.stream->partner_domain(), kProsody);
    EXPECT_EQ(h.stream->state(), State::Established);
    EXPECT_EQ(InboundStream::state_name(h.stream->state()), "established");
    ASSERT_NE(h.stream->tls_facts(), nullptr);
    EXPECT_EQ(h.stream->tls_facts()->cipher, "TLS_AES_256_GCM_SHA384");
    const auto& pair = h.stream->authenticated_pairs().at(0);
    EXPECT_EQ(pair.local, kLocal);
    EXPECT_EQ(pair.remote, kProsody);
    EXPECT_EQ(pair.method, AuthMethod::Dialback);
    EXPECT_EQ(pair.partner_type, registry::PartnerType::Federated);
}

// Rule 8 after authentication: the peer's close is answered and the stream ends cleanly.
TEST(InboundEstablished, KeepalivesStanzasAndCloseAsProsodySendsThem) {
    Harness h;
    dialback_over_tls(h, kProsody);
    // tests/fuzz/corpus/xml_stream/keepalives.xml
    auto s = h.feed("\n \n\t \n" + message("a@xmpp.example.org", "b@sip.example.com") +
                    "                </stream:stream>");
    EXPECT_EQ(s.all<DeliverStanza>().size(), 1u);
    EXPECT_TRUE(s.closed);
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
}

}  // namespace
}  // namespace fedgw::proxy::test
