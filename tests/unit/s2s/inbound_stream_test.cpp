// InboundStream: the stream header (RFC 6120 §4.7, §4.8, §4.9.1.1), the features offered by
// policy before TLS (RFC 6120 §4.3.2, §5.4, XEP-0220 §2.4.2), and closing (RFC 6120 §4.4,
// §4.9). STARTTLS and the features after it are in inbound_tls_test.cpp.
#include "proxy/s2s/inbound_stream.hpp"

#include <gtest/gtest.h>

#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = InboundStream::State;

// --- construction ---------------------------------------------------------------------------

TEST(InboundStream, ConstructionArmsEstablishmentAndInactivity) {
    StreamTimers t;
    t.establishment_ms = 60'000;
    t.inactivity_ms = 600'000;
    Harness h({}, t);
    auto arms = h.created.all<ArmTimer>();
    ASSERT_EQ(arms.size(), 2u);
    EXPECT_EQ(arms[0]->kind, TimerKind::Establishment);
    EXPECT_EQ(arms[0]->after_ms, 60'000u);
    EXPECT_EQ(arms[1]->kind, TimerKind::Inactivity);
    EXPECT_EQ(arms[1]->after_ms, 600'000u);
    EXPECT_EQ(h.stream->state(), State::WaitStreamHeader);
    EXPECT_TRUE(h.created.bytes.empty());
}

// --- rule 1: the stream header --------------------------------------------------------------

// RFC 6120 §4.7: our response header: from = the 'to' we got, to = their 'from', a fresh id,
// version 1.0, xmlns:db declared (XEP-0220 §2.4.1).
TEST(InboundStream, ProsodyHeaderIsAnsweredWithOurHeader) {
    LogCapture logs;
    Harness h;
    auto s = h.feed(prosody_header());
    ASSERT_EQ(s.headers.size(), 1u);
    const StreamOpen& ours = s.headers[0];
    EXPECT_TRUE(ours.header.is("stream", kNsStreams));
    EXPECT_EQ(ours.default_ns(), kNsServer);
    EXPECT_EQ(ours.prefix_ns("db"), kNsDialback);
    EXPECT_EQ(attr(&ours.header, "from"), kLocal);
    EXPECT_EQ(attr(&ours.header, "to"), kProsody);
    EXPECT_EQ(attr(&ours.header, "id"), "id-1");
    EXPECT_EQ(attr(&ours.header, "version"), "1.0");
    EXPECT_EQ(h.stream->stream_id(), "id-1");
    EXPECT_EQ(h.stream->local_domain(), kLocal);
    EXPECT_EQ(h.stream->partner_domain(), kProsody);
    EXPECT_EQ(h.stream->state(), State::WaitNegotiation);
    EXPECT_FALSE(s.closed);
    EXPECT_TRUE(logs.has("s2s.in.stream", {"local=sip.example.com", "remote=xmpp.example.org"}));
}

TEST(InboundStream, EjabberdHeaderWithDoubleQuotesIsAccepted) {
    Harness h;
    auto s = h.feed(ejabberd_header());
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(attr(&s.headers[0].header, "to"), kEjabberd);
    EXPECT_TRUE(s.element("features", kNsStreams));
}

// The header arriving one byte at a time gives the same answer.
TEST(InboundStream, HeaderInSingleBytes) {
    Harness h;
    auto s = h.trickle(prosody_header());
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_TRUE(s.element("features", kNsStreams));
}

// RFC 6120 §4.8.1: the stream element in the wrong namespace; §4.9.1.1: our header first.
TEST(InboundStream, WrongStreamNamespaceIsInvalidNamespace) {
    Harness h;
    auto s = h.feed(
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://example.com/streams' "
        "to='sip.example.com' from='xmpp.example.org' version='1.0'>");
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(s.stream_error(), "invalid-namespace");
    EXPECT_TRUE(s.closed);
    ASSERT_NE(s.close(), nullptr);
    ASSERT_TRUE(s.close()->error.has_value());
    EXPECT_EQ(s.close()->error->condition, StreamCondition::InvalidNamespace);
    EXPECT_EQ(h.stream->state(), State::Closed);
}

// RFC 6120 §4.8.2: a client stream on the server port.
TEST(InboundStream, ClientNamespaceIsInvalidNamespace) {
    Harness h;
    auto s = h.feed(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='sip.example.com' version='1.0'>");
    EXPECT_EQ(s.stream_error(), "invalid-namespace");
    EXPECT_NE(s.stream_error_text().find("jabber:client"), std::string::npos);
}

// RFC 6120 §4.7.5: no version (a pre-1.0 peer) or a lower one.
TEST(InboundStream, MissingOrOldVersionIsUnsupportedVersion) {
    for (std::string version : {"", " version='0.9'", " version='x'"}) {
        Harness h;
        auto s = h.feed(
            "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
            "xmlns:db='jabber:server:dialback' from='xmpp.example.org' to='sip.example.com'" +
            version + ">");
        EXPECT_EQ(s.stream_error(), "unsupported-version") << version;
        // Our error header already says who we are (the 'to' was fine).
        ASSERT_EQ(s.headers.size(), 1u);
        EXPECT_EQ(attr(&s.headers[0].header, "from"), kLocal);
        EXPECT_EQ(attr(&s.headers[0].header, "version"), "1.0");
    }
}

// RFC 6120 §4.7.5: a higher version is answered with the one we support.
TEST(InboundStream, HigherVersionIsAnsweredWithOneDotZero) {
    for (std::string version : {"1.1", "2.0"}) {
        Harness h;
        auto header = prosody_header();
        header.replace(header.find("version='1.0'"), 13, "version='" + version + "'");
        auto s = h.feed(header);
        ASSERT_EQ(s.headers.size(), 1u) << version;
        EXPECT_EQ(attr(&s.headers[0].header, "version"), "1.0");
        EXPECT_TRUE(s.stream_error().empty());
    }
}

// RFC 6120 §4.9.3.6: a domain we do not serve; our header does not claim it.
TEST(InboundStream, UnknownToIsHostUnknownAndLogged) {
    LogCapture logs;
    Harness h;
    auto s = h.feed(prosody_header(kProsody, "other.example.com"));
    EXPECT_EQ(s.stream_error(), "host-unknown");
    EXPECT_NE(s.stream_error_text().find("other.example.com"), std::string::npos);
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_FALSE(s.headers[0].header.has_attr("from"));
    EXPECT_EQ(attr(&s.headers[0].header, "to"), kProsody);
    EXPECT_TRUE(logs.has("s2s.in.host_unknown", {"domain=other.example.com"}));
    EXPECT_TRUE(logs.has("s2s.in.stream_error", {"condition=host-unknown"}));
}

TEST(InboundStream, MissingToIsHostUnknown) {
    Harness h;
    auto s = h.feed(prosody_header(kProsody, ""));
    EXPECT_EQ(s.stream_error(), "host-unknown");
}

// Domains are compared in prepared form (RFC 7622 §3.2): case does not matter.
TEST(InboundStream, DomainsAreComparedPrepared) {
    Harness h;
    auto s = h.feed(prosody_header("XMPP.Example.ORG", "SIP.example.com"));
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(attr(&s.headers[0].header, "from"), kLocal);
    EXPECT_EQ(attr(&s.headers[0].header, "to"), kProsody);
    EXPECT_EQ(h.stream->partner_domain(), kProsody);
}

// Rule 1: a refused 'from' is policy-violation naming the domain and the rule, logged as
// s2s.refused with both.
TEST(InboundStream, BlockedFromIsPolicyViolationNamingTheRule) {
    LogCapture logs;
    Harness h;
    auto s = h.feed(prosody_header(kBlocked));
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_NE(s.stream_error_text().find("evil.example"), std::string::npos);
    EXPECT_NE(s.stream_error_text().find("blocked"), std::string::npos);
    EXPECT_NE(s.stream_error_text().find("spam"), std::string::npos);
    EXPECT_TRUE(logs.has("s2s.refused",
                         {"domain=evil.example", "rule=blocked", "direction=in", "stream=id-1"}));
    ASSERT_NE(s.close(), nullptr);
    EXPECT_EQ(s.close()->error->condition, StreamCondition::PolicyViolation);
}

TEST(InboundStream, UnknownFromInAllowListModeIsRefused) {
    LogCapture logs;
    Harness h;
    auto s = h.feed(prosody_header("stranger.example"));
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_NE(s.stream_error_text().find("not-in-allow-list"), std::string::npos);
    EXPECT_TRUE(logs.has("s2s.refused", {"domain=stranger.example", "rule=not-in-allow-list"}));
}

TEST(InboundStream, DisabledPartnerIsRefused) {
    LogCapture logs;
    Harness h;
    auto s = h.feed(prosody_header(kDisabled));
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_NE(s.stream_error_text().find("partner-disabled"), std::string::npos);
    EXPECT_TRUE(logs.has("s2s.refused", {"domain=disabled.example.net", "rule=partner-disabled"}));
}

// Federation mode "discover": a stranger is admitted on the discovered-partner terms (TLS
// required).
TEST(InboundStream, DiscoveredPartnerMustStartTls) {
    Harness h;
    h.policy.registry.settings.federation_mode = registry::FederationMode::Discover;
    auto s = h.feed(prosody_header("stranger.example"));
    const Element* starttls = s.element("features", kNsStreams);
    ASSERT_NE(starttls, nullptr);
    starttls = starttls->find_child("starttls", kNsTls);
    ASSERT_NE(starttls, nullptr);
    EXPECT_NE(starttls->find_child("required", kNsTls), nullptr);
    EXPECT_EQ(h.stream->partner_domain(), "stranger.example");
}

// RFC 6120 §4.9.3.9: a 'from' that is not a server's domain.
TEST(InboundStream, FromThatIsNotADomainIsInvalidFrom) {
    Harness h;
    auto s = h.feed(prosody_header("juliet@xmpp.example.org"));
    EXPECT_EQ(s.stream_error(), "invalid-from");
    EXPECT_EQ(attr(&s.headers.at(0).header, "from"), kLocal);
}

// --- rule 2: features before TLS ------------------------------------------------------------

TEST(InboundStream, TlsRequiredOffersOnlyRequiredStarttls) {
    Harness h;
    auto s = h.feed(prosody_header());
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    auto kids = f->child_elements();
    ASSERT_EQ(kids.size(), 1u);
    EXPECT_TRUE(kids[0]->is("starttls", kNsTls));
    EXPECT_NE(kids[0]->find_child("required", kNsTls), nullptr);
}

// No 'from' (RFC 6120 §4.7.1 allows it): the discovered-partner terms, TLS required.
TEST(InboundStream, NoFromGetsRequiredStarttls) {
    Harness h;
    auto s = h.feed(prosody_header(""));
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_FALSE(s.headers[0].header.has_attr("to"));
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    ASSERT_NE(f->find_child("starttls", kNsTls), nullptr);
    EXPECT_NE(f->find_child("starttls", kNsTls)->find_child("required", kNsTls), nullptr);
    EXPECT_EQ(f->find_child("dialback", kNsDialbackFeature), nullptr);
}

TEST(InboundStream, TlsOptionalOffersStarttlsAndDialbackWithErrors) {
    Harness h;
    auto s = h.feed(ejabberd_header());
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    const Element* starttls = f->find_child("starttls", kNsTls);
    ASSERT_NE(starttls, nullptr);
    EXPECT_EQ(starttls->find_child("required", kNsTls), nullptr);
    const Element* dialback = f->find_child("dialback", kNsDialbackFeature);
    ASSERT_NE(dialback, nullptr);
    EXPECT_NE(dialback->find_child("errors", kNsDialbackFeature), nullptr);  // XEP-0220 §2.4.2
    EXPECT_EQ(f->child_elements().size(), 2u);
}

TEST(InboundStream, TlsNotSupportedOffersDialbackOnly) {
    Harness h;
    auto s = h.feed(prosody_header(kPlain));
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    auto kids = f->child_elements();
    ASSERT_EQ(kids.size(), 1u);
    EXPECT_TRUE(kids[0]->is("dialback", kNsDialbackFeature));
}

// RFC 6120 §5.4.2.2: STARTTLS the policy does not support: <failure/>, then close (no stream
// error).
TEST(InboundStream, StarttlsWhenNotSupportedIsFailureAndClose) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed(starttls());
    const Element* failure = s.element("failure", kNsTls);
    ASSERT_NE(failure, nullptr);
    EXPECT_TRUE(s.closed);
    EXPECT_TRUE(s.stream_error().empty());
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
    EXPECT_FALSE(s.has_action<StartTls>());
    EXPECT_TRUE(logs.has("s2s.in.starttls_refused", {"remote=plain.example.net"}));
}

// Rule 2: a stanza before the TLS the policy requires.
TEST(InboundStream, StanzaBeforeRequiredTlsIsPolicyViolation) {
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed(message("juliet@xmpp.example.org", "romeo@sip.example.com"));
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_EQ(s.stream_error_text(), "TLS required by policy for xmpp.example.org");
}

TEST(InboundStream, DialbackBeforeRequiredTlsIsPolicyViolation) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed(db_result(kProsody, kLocal, "abc"));
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_EQ(s.stream_error_text(), "TLS required by policy for xmpp.example.org");
    EXPECT_FALSE(s.has_action<VerifyDialbackKey>());
    EXPECT_TRUE(logs.has("s2s.in.tls_required", {"domain=xmpp.example.org"}));
}

// --- rule 8: closing and parser errors --------------------------------------------------------

// RFC 6120 §4.4: the peer closes; we close our side.
TEST(InboundStream, PeerCloseIsAnsweredWithOurClose) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed("</stream:stream>");
    EXPECT_TRUE(s.closed);
    EXPECT_TRUE(s.stream_error().empty());
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
    EXPECT_EQ(h.stream->state(), State::Closed);
    EXPECT_TRUE(logs.has("s2s.in.peer_closed"));
    // Nothing more is read after the close.
    EXPECT_EQ(h.stream->feed("<message/>", 0), 10u);
    EXPECT_FALSE(h.stream->has_actions());
}

// tests/fuzz/corpus/xml_stream/stream_error.xml: the peer ends with a stream error.
TEST(InboundStream, PeerStreamErrorIsLoggedAndClosed) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed(
        "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
        "xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>This server does not serve "
        "sip.example.com</text></stream:error></stream:stream>");
    EXPECT_TRUE(s.closed);
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
    EXPECT_TRUE(logs.has("s2s.in.peer_error", {"condition=host-unknown", "This server does not"}));
}

// RFC 6120 §11.1 (tests/fuzz/corpus/xml_stream/hostile_comment_pi.xml).
TEST(InboundStream, CommentIsRestrictedXml) {
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed("<!-- hidden -->");
    EXPECT_EQ(s.stream_error(), "restricted-xml");
    EXPECT_TRUE(s.closed);
    EXPECT_EQ(s.close()->error->condition, StreamCondition::RestrictedXml);
}

TEST(InboundStream, MismatchedTagIsNotWellFormed) {
    Harness h;
    h.feed(prosody_header());
    auto s = h.feed("<presence></message>");
    EXPECT_EQ(s.stream_error(), "not-well-formed");
}

// RFC 6120 §4.9.1.1: junk instead of a header still gets a stream (with no from/to) around the
// error.
TEST(InboundStream, HttpRequestOnTheS2sPortGetsAStreamError) {
    Harness h;
    auto s = h.feed("GET / HTTP/1.1\r\nHost: sip.example.com\r\n\r\n");
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_FALSE(s.headers[0].header.has_attr("from"));
    EXPECT_EQ(attr(&s.headers[0].header, "id"), "id-1");
    EXPECT_EQ(s.stream_error(), "not-well-formed");
}

// The parser's size limit (advertised with XEP-0478) is policy-violation.
TEST(InboundStream, OversizedStanzaIsPolicyViolation) {
    Limits l;
    l.max_stanza_bytes = 1000;
    Harness h({}, {}, l);
    h.feed(prosody_header(kPlain));
    auto s = h.feed("<message><body>" + std::string(2000, 'a') + "</body></message>");
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_NE(s.stream_error_text().find("1000"), std::string::npos);
}

// RFC 6120 §4.9.3.24.
TEST(InboundStream, UnknownFirstLevelElementIsUnsupportedStanzaType) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed("<enable xmlns='urn:xmpp:sm:3'/>");
    EXPECT_EQ(s.stream_error(), "unsupported-stanza-type");
    EXPECT_NE(s.stream_error_text().find("urn:xmpp:sm:3"), std::string::npos);
}

// Owner-initiated close (shutdown, registry change).
TEST(InboundStream, CloseFromTheOwnerWritesTheError) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());
    auto s = h.call([](InboundStream& st) {
        st.close({StreamCondition::SystemShutdown, "fedgw-proxy is stopping"});
    });
    EXPECT_EQ(s.stream_error(), "system-shutdown");
    EXPECT_TRUE(s.closed);
    EXPECT_EQ(s.close()->error->condition, StreamCondition::SystemShutdown);
    EXPECT_TRUE(logs.has("s2s.in.close", {"condition=system-shutdown"}));
    // Closing twice does nothing.
    auto again = h.call([](InboundStream& st) { st.close({StreamCondition::Conflict, ""}); });
    EXPECT_TRUE(again.actions.empty());
}

// Closed before our header was written: the error still goes in a stream.
TEST(InboundStream, CloseBeforeAnyHeaderWritesHeaderThenError) {
    Harness h;
    auto s = h.call([](InboundStream& st) { st.close({StreamCondition::SystemShutdown, ""}); });
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(s.stream_error(), "system-shutdown");
}

TEST(InboundStream, TransportClosedEndsWithoutWriting) {
    Harness h;
    h.feed(prosody_header());
    auto s = h.call([](InboundStream& st) { st.on_transport_closed(); });
    EXPECT_TRUE(s.bytes.empty());
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
    EXPECT_EQ(h.stream->state(), State::Closed);
}

}  // namespace
}  // namespace fedgw::proxy::test
