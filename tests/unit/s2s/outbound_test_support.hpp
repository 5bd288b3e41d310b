// Test support for the OutboundStream tests: a harness that drives one stream and collects its
// actions and bytes, parsers for what the stream wrote, a log capture, and the bytes real peers
// send (Prosody 0.12 and ejabberd as receiving servers, after tests/fuzz/corpus/xml_stream/).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log/log.hpp"
#include "common/xml/stream_parser.hpp"
#include "proxy/dialback/dialback_key.hpp"
#include "proxy/s2s/outbound_stream.hpp"

namespace fedgw::proxy::test {

inline constexpr std::string_view kLocal = "sip.example.com";
inline constexpr std::string_view kRemote = "xmpp.example.org";
inline constexpr std::string_view kSecret = "s3cr3t-for-tests";

// --- what peers send -----------------------------------------------------------------------------
// Prosody's bytes were captured from Prosody 0.12 (Debian 12) answering a scripted initiating
// server (alpha.test -> xmpp.example.org, sip.test -> sip.example.com): s2s_require_encryption,
// mod_dialback loaded, our certificate from a CA it trusts (EXTERNAL) or no certificate
// (dialback). Prosody 0.12 advertises no XEP-0478 limits; later Prosody does, as in
// tests/fuzz/corpus/xml_stream/prosody_features.xml (the *_with_limits variants).

// Prosody's response stream header, attribute order as it writes them.
inline std::string prosody_header(std::string_view id, std::string_view from = kRemote,
                                  std::string_view to = kLocal) {
    return "<?xml version='1.0'?><stream:stream xml:lang='en' version='1.0' from='" +
           std::string(from) +
           "' xmlns:db='jabber:server:dialback' xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' to='" +
           std::string(to) + "' id='" + std::string(id) + "'>";
}

inline constexpr std::string_view kLimits =
    "<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>524288</max-bytes>"
    "<idle-seconds>840</idle-seconds></limits>";

// Before TLS: dialback, STARTTLS required.
inline std::string prosody_features_before_tls() {
    return "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
           "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
           "</stream:features>";
}
// After TLS when our certificate verifies for our domain: EXTERNAL offered.
inline std::string prosody_features_external() {
    return "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
           "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>EXTERNAL</mechanism>"
           "</mechanisms></stream:features>";
}
// After TLS when we present no certificate it can verify: dialback only.
inline std::string prosody_features_dialback() {
    return "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>";
}
// After SASL success and the stream restart.
inline std::string prosody_features_after_sasl() {
    return "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/>"
           "<c xmlns='http://jabber.org/protocol/caps' ver='wBr6DNC6Vxj+iDPS/AmhkECMTr8=' "
           "node='http://prosody.im' hash='sha-1'/></stream:features>";
}
// Later Prosody with XEP-0478 limits and dialback errors (XEP-0220 §2.4.2).
inline std::string prosody_features_before_tls_with_limits() {
    return "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
           "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" +
           std::string(kLimits) + "</stream:features>";
}
inline std::string prosody_features_after_sasl_with_limits() {
    return "<stream:features>" + std::string(kLimits) + "</stream:features>";
}
// Prosody 0.12's dialback answers (Step 4): COMPAT, with an 'id' and the key as text.
inline std::string prosody_dialback_answer(std::string_view type, std::string_view key,
                                           std::string_view id = "a5d3079b-ce01-4fa0") {
    return "<db:result from='" + std::string(kRemote) + "' to='" + std::string(kLocal) +
           "' type='" + std::string(type) + "' id='" + std::string(id) + "'>" + std::string(key) +
           "</db:result>";
}

inline constexpr std::string_view kProceed = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
inline constexpr std::string_view kTlsFailure =
    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
inline constexpr std::string_view kSaslSuccess =
    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
// A TLS ClientHello's first bytes: what follows <proceed/> must never reach the XML parser.
inline constexpr std::string_view kTlsBytes = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

// ejabberd's response header and its features before TLS (starttls optional, empty
// mechanisms), as in tests/fuzz/corpus/xml_stream/ejabberd_stream.xml.
inline std::string ejabberd_header(std::string_view id) {
    return "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
           "xml:lang='en' id='" +
           std::string(id) + "' from='" + std::string(kRemote) + "' to='" + std::string(kLocal) +
           "' version='1.0'>";
}
inline constexpr std::string_view kEjabberdFeaturesBeforeTls =
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>";
inline constexpr std::string_view kEjabberdFeaturesAfterTls =
    "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>";

// --- TLS facts -----------------------------------------------------------------------------------

inline TlsFacts verified_facts(std::string domain = std::string(kRemote)) {
    TlsFacts f;
    f.chain_verified = true;
    f.protocol = "TLSv1.3";
    f.cipher = "TLS_AES_256_GCM_SHA384";
    f.covers = [domain](std::string_view d) { return d == domain; };
    return f;
}

inline TlsFacts unverified_facts(std::string error) {
    TlsFacts f = verified_facts();
    f.chain_verified = false;
    f.verify_error = std::move(error);
    return f;
}

// --- log capture ---------------------------------------------------------------------------------

struct LogCapture {
    LogCapture() {
        log::set_sink([this](log::Level, std::string_view line) { lines.emplace_back(line); });
    }
    ~LogCapture() { log::set_sink({}); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // The first line with this event that contains every fragment, or "".
    std::string find(std::string_view event, std::vector<std::string_view> fragments = {}) const {
        const std::string tag = "event=" + std::string(event) + " ";
        for (const auto& l : lines) {
            if (l.find(tag) == std::string::npos && !l.ends_with("event=" + std::string(event)))
                continue;
            bool all = true;
            for (auto f : fragments)
                if (l.find(f) == std::string::npos) all = false;
            if (all) return l;
        }
        return {};
    }
    std::vector<std::string> lines;
};

// --- parsing what the stream wrote ---------------------------------------------------------------

// The first-level elements of a fragment written inside one of our streams (the stream header
// binds jabber:server, stream and db, so fragments are parsed inside such a header).
inline std::vector<std::unique_ptr<Element>> parse_fragment(std::string_view xml) {
    XmlStreamParser p;
    std::string doc =
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback'>";
    doc += xml;
    auto r = p.feed(doc);
    EXPECT_TRUE(r.has_value()) << "our output does not parse: " << xml;
    std::vector<std::unique_ptr<Element>> out;
    for (auto& e : p.take_events())
        if (auto* st = std::get_if<Stanza>(&e)) out.push_back(std::move(st->element));
    return out;
}

// The stream header at the start of `bytes` (with whatever follows it ignored).
inline std::optional<StreamOpen> parse_header(std::string_view bytes) {
    XmlStreamParser p;
    (void)p.feed(bytes);
    for (auto& e : p.take_events())
        if (auto* o = std::get_if<StreamOpen>(&e)) return std::move(*o);
    return std::nullopt;
}

// --- the harness ---------------------------------------------------------------------------------

struct Harness {
    explicit Harness(registry::Partner partner = default_partner(), bool have_cert = true)
        : keys(kSecret) {
        opts.local_domain = std::string(kLocal);
        opts.remote_domain = std::string(kRemote);
        opts.partner = std::move(partner);
        opts.have_certificate = have_cert;
    }

    static registry::Partner default_partner() {
        registry::Partner p;
        p.domain = std::string(kRemote);
        p.type = registry::PartnerType::Federated;
        return p;  // TLS required, SASL optional, dialback on, keepalive on
    }

    OutboundStream& make() {
        stream = std::make_unique<OutboundStream>(opts, keys, timers, limits);
        return *stream;
    }
    OutboundStream& start(std::uint64_t now = 0) {
        if (!stream) make();
        stream->start(now);
        pump();
        return *stream;
    }
    // Feeds peer bytes; returns what feed() returned.
    std::size_t feed(std::string_view bytes, std::uint64_t now = 0) {
        const std::size_t n = stream->feed(bytes, now);
        pump();
        return n;
    }
    void tls(const TlsFacts& facts = verified_facts(), std::uint64_t now = 0) {
        stream->on_tls_established(facts, now);
        pump();
    }
    void timer(TimerKind k, std::uint64_t now) {
        stream->on_timer(k, now);
        pump();
    }
    // Moves the stream's new actions into `actions` (everything so far).
    void pump() {
        auto last = stream->take_actions();
        for (const auto& a : last) {
            if (const auto* w = std::get_if<WriteBytes>(&a)) {
                written += w->bytes;
                fresh += w->bytes;
            }
        }
        for (auto& a : last)
            actions.push_back(std::move(a));
    }
    // Bytes written since the previous call.
    std::string take_written() {
        std::string s;
        s.swap(fresh);
        return s;
    }

    template <class T>
    std::vector<const T*> all() const {
        std::vector<const T*> out;
        for (const auto& a : actions)
            if (const auto* t = std::get_if<T>(&a)) out.push_back(t);
        return out;
    }
    template <class T>
    const T* first() const {
        auto v = all<T>();
        return v.empty() ? nullptr : v.front();
    }
    const CloseStream* closed() const { return first<CloseStream>(); }
    bool armed(TimerKind k) const {
        for (const auto* a : all<ArmTimer>())
            if (a->kind == k) return true;
        return false;
    }
    const ArmTimer* last_arm(TimerKind k) const {
        const ArmTimer* found = nullptr;
        for (const auto* a : all<ArmTimer>())
            if (a->kind == k) found = a;
        return found;
    }
    bool cancelled(TimerKind k) const {
        for (const auto* a : all<CancelTimer>())
            if (a->kind == k) return true;
        return false;
    }
    void clear() {
        actions.clear();
        take_written();
    }

    // Prosody: header, STARTTLS required, <proceed/>, TLS; leaves the stream waiting for the
    // post-TLS response header.
    void through_tls(std::string_view id1 = "pre-tls-1", const TlsFacts& facts = verified_facts()) {
        start();
        feed(prosody_header(id1) + prosody_features_before_tls());
        feed(kProceed);
        tls(facts);
    }

    DialbackKeys keys;
    OutboundOptions opts;
    StreamTimers timers;
    Limits limits;
    std::unique_ptr<OutboundStream> stream;
    std::vector<StreamAction> actions;
    std::string written;
    std::string fresh;
};

// Prosody all the way: STARTTLS, SASL EXTERNAL, restart; the stream is Ready. With
// `peer_limits` the last features carry XEP-0478 limits (max-bytes 524288, idle-seconds 840).
inline void make_ready(Harness& h, bool peer_limits = false) {
    h.through_tls();
    h.feed(prosody_header("post-tls-2") + prosody_features_external());
    h.feed(kSaslSuccess);
    h.feed(prosody_header("post-sasl-3") + (peer_limits ? prosody_features_after_sasl_with_limits()
                                                        : prosody_features_after_sasl()));
    ASSERT_EQ(h.stream->state(), OutboundStream::State::Ready);
}

}  // namespace fedgw::proxy::test
