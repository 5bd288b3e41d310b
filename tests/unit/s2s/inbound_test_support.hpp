// Test harness for InboundStream: a registry-backed fake StreamPolicy, the peer's side of the
// stream (what we wrote, parsed back with XmlStreamParser the way an initiating entity reads it,
// restarting after <proceed/> and <success/>), scripted peer bytes in the forms Prosody and
// ejabberd send (tests/fuzz/corpus/xml_stream/), and a log capture.
//
// Pure: no sockets, no sleeps; time is a number the test advances.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log/log.hpp"
#include "common/registry/policy.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/stream_parser.hpp"
#include "proxy/dialback/dialback_key.hpp"
#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/inbound_wire.hpp"

namespace fedgw::proxy::test {

inline constexpr std::string_view kLocal = "sip.example.com";
inline constexpr std::string_view kLocal2 = "conference.sip.example.com";
inline constexpr std::string_view kProsody = "xmpp.example.org";       // TLS required
inline constexpr std::string_view kEjabberd = "ejabberd.example.net";  // TLS optional
inline constexpr std::string_view kPlain = "plain.example.net";        // TLS not-supported
inline constexpr std::string_view kSecure = "secure.example.net";      // SASL required
inline constexpr std::string_view kQuiet = "quiet.example.net";        // keepalive off
inline constexpr std::string_view kDisabled = "disabled.example.net";  // partner disabled
inline constexpr std::string_view kBlocked = "evil.example";           // blocked ("spam")
inline constexpr std::string_view kSecret = "s3cr3tf0rd14lb4ck";

class FakePolicy : public StreamPolicy {
  public:
    FakePolicy() {
        using registry::Negotiation;
        auto partner = [](std::string_view d, Negotiation tls, Negotiation sasl, bool dialback) {
            registry::Partner p;
            p.domain = std::string(d);
            p.type = registry::PartnerType::Federated;
            p.tls = tls;
            p.sasl = sasl;
            p.dialback = dialback;
            return p;
        };
        auto prosody = partner(kProsody, Negotiation::Required, Negotiation::Optional, true);
        prosody.additional_domains = {"conference.xmpp.example.org"};
        registry.partners.push_back(prosody);
        auto ejabberd = partner(kEjabberd, Negotiation::Optional, Negotiation::Optional, true);
        ejabberd.type = registry::PartnerType::PublicVerified;
        registry.partners.push_back(ejabberd);
        registry.partners.push_back(
            partner(kPlain, Negotiation::NotSupported, Negotiation::NotSupported, true));
        registry.partners.push_back(
            partner(kSecure, Negotiation::Required, Negotiation::Required, false));
        auto quiet = partner(kQuiet, Negotiation::Required, Negotiation::Optional, true);
        quiet.keepalive = false;
        registry.partners.push_back(quiet);
        auto disabled = partner(kDisabled, Negotiation::Required, Negotiation::Optional, true);
        disabled.enabled = false;
        registry.partners.push_back(disabled);
        registry.blocked.push_back({std::string(kBlocked), "spam"});
    }
    bool is_local_domain(std::string_view d) const override { return d == kLocal || d == kLocal2; }
    registry::Admission admit(std::string_view d) const override { return registry.admit(d); }

    registry::Policy registry;
};

// Log lines, captured for the lifetime of the object.
class LogCapture {
  public:
    LogCapture() {
        log::set_sink([this](log::Level, std::string_view line) { lines.emplace_back(line); });
    }
    ~LogCapture() { log::set_sink({}); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // The first line of event `event` containing every one of `parts`, or "".
    std::string find(std::string_view event, std::vector<std::string> parts = {}) const {
        const std::string tag = "event=" + std::string(event) + " ";
        for (const auto& l : lines) {
            if (l.find(tag) == std::string::npos && !l.ends_with("event=" + std::string(event)))
                continue;
            bool all = true;
            for (const auto& p : parts)
                all = all && l.find(p) != std::string::npos;
            if (all) return l;
        }
        return {};
    }
    bool has(std::string_view event, std::vector<std::string> parts = {}) const {
        return !find(event, std::move(parts)).empty();
    }

    std::vector<std::string> lines;
};

// What one call wrote and asked for.
struct Step {
    std::size_t consumed = 0;
    std::vector<StreamAction> actions;
    std::string bytes;                               // everything written, raw
    std::vector<StreamOpen> headers;                 // our stream headers, parsed
    std::vector<std::unique_ptr<Element>> elements;  // our first-level elements, parsed
    bool closed = false;                             // we wrote </stream:stream>

    template <class A>
    const A* action() const {
        for (const auto& a : actions)
            if (auto* p = std::get_if<A>(&a)) return p;
        return nullptr;
    }
    template <class A>
    std::vector<const A*> all() const {
        std::vector<const A*> out;
        for (const auto& a : actions)
            if (auto* p = std::get_if<A>(&a)) out.push_back(p);
        return out;
    }
    template <class A>
    bool has_action() const {
        return action<A>() != nullptr;
    }
    const Element* element(std::string_view name, std::string_view ns) const {
        for (const auto& e : elements)
            if (e->is(name, ns)) return e.get();
        return nullptr;
    }
    // The defined condition of the <stream:error/> we wrote, or "".
    std::string stream_error() const {
        const Element* e = element("error", kNsStreams);
        if (!e) return {};
        for (const Element* c : e->child_elements())
            if (c->name() != "text") return c->name();
        return {};
    }
    std::string stream_error_text() const {
        const Element* e = element("error", kNsStreams);
        if (!e) return {};
        const Element* t = e->find_child("text", kNsStreamErrors);
        return t ? t->text() : std::string{};
    }
    const CloseStream* close() const { return action<CloseStream>(); }
};

// Attribute helper for assertions.
inline std::string attr(const Element* e, std::string_view name) {
    return e ? std::string(e->attr_or(name, "<none>")) : "<no element>";
}

// The first child element of `e` in any namespace, by name ("" if none).
inline std::string first_child_name(const Element* e) {
    if (!e) return {};
    auto kids = e->child_elements();
    return kids.empty() ? std::string{} : kids.front()->name();
}

class Harness {
  public:
    explicit Harness(InboundStream::Options options = {}, StreamTimers timers = {},
                     Limits limits = {})
        : keys(kSecret), peer_(std::make_unique<XmlStreamParser>()) {
        stream = std::make_unique<InboundStream>(
            policy, keys, timers, limits, [this] { return "id-" + std::to_string(++ids_); },
            std::move(options));
        created = collect(0);
    }

    // Feeds peer bytes at time `now`.
    Step feed(std::string_view bytes, std::uint64_t now = 0) {
        const std::size_t n = stream->feed(bytes, now);
        return collect(n);
    }
    // Feeds one byte at a time; the step holds everything.
    Step trickle(std::string_view bytes, std::uint64_t now = 0) {
        std::size_t n = 0;
        for (char c : bytes)
            n += stream->feed(std::string_view(&c, 1), now);
        return collect(n);
    }
    Step tls(TlsFacts facts, std::uint64_t now = 0) {
        stream->on_tls_established(facts, now);
        return collect(0);
    }
    Step timer(TimerKind kind, std::uint64_t now) {
        stream->on_timer(kind, now);
        return collect(0);
    }
    template <class F>
    Step call(F&& f) {
        f(*stream);
        return collect(0);
    }

    FakePolicy policy;
    DialbackKeys keys;
    std::unique_ptr<InboundStream> stream;
    Step created;  // what the constructor asked for

  private:
    Step collect(std::size_t consumed) {
        Step s;
        s.consumed = consumed;
        s.actions = stream->take_actions();
        for (const auto& a : s.actions)
            if (auto* w = std::get_if<WriteBytes>(&a)) s.bytes += w->bytes;
        parse(s);
        return s;
    }
    // Reads our bytes as the initiating entity does: a new stream after <proceed/> and
    // <success/> (RFC 6120 §5.4.3.3, §6.4.6).
    void parse(Step& s) {
        std::string_view rest = s.bytes;
        while (!rest.empty()) {
            peer_->stop_after(
                {{"proceed", std::string(kNsTls)}, {"success", std::string(kNsSasl)}});
            auto r = peer_->feed(rest);
            for (auto& ev : peer_->take_events()) {
                if (auto* h = std::get_if<StreamOpen>(&ev)) s.headers.push_back(std::move(*h));
                if (auto* st = std::get_if<Stanza>(&ev))
                    s.elements.push_back(std::move(st->element));
                if (std::holds_alternative<StreamClose>(ev)) s.closed = true;
            }
            ASSERT_TRUE(r.has_value())
                << "we wrote bytes that do not parse: " << r.error().describe() << "\n"
                << s.bytes;
            if (!r->stopped) break;
            rest.remove_prefix(r->consumed);
            peer_ = std::make_unique<XmlStreamParser>();
        }
    }

    int ids_ = 0;
    std::unique_ptr<XmlStreamParser> peer_;
};

// --- peer bytes ---------------------------------------------------------------------------------

// A stream header as Prosody 0.12 writes it (tests/fuzz/corpus/xml_stream/prosody_features.xml):
// namespace declarations first, xmlns last.
inline std::string prosody_header(std::string_view from = kProsody, std::string_view to = kLocal) {
    std::string h =
        "<?xml version='1.0'?><stream:stream xmlns:db='jabber:server:dialback' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";
    if (!from.empty()) h += " from='" + std::string(from) + "'";
    if (!to.empty()) h += " to='" + std::string(to) + "'";
    return h + " xml:lang='en' xmlns='jabber:server'>";
}

// As ejabberd writes it (tests/fuzz/corpus/xml_stream/ejabberd_stream.xml), double quotes.
inline std::string ejabberd_header(std::string_view from = kEjabberd,
                                   std::string_view to = kLocal) {
    return "<?xml version='1.0'?><stream:stream xmlns=\"jabber:server\" "
           "xmlns:stream=\"http://etherx.jabber.org/streams\" xmlns:db=\"jabber:server:dialback\" "
           "xml:lang=\"en\" from=\"" +
           std::string(from) + "\" to=\"" + std::string(to) + "\" version=\"1.0\">";
}

inline std::string starttls() {
    return "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
}
inline std::string auth_external(std::string_view data) {
    return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" +
           std::string(data) + "</auth>";
}
inline std::string db_result(std::string_view from, std::string_view to, std::string_view key) {
    return "<db:result from='" + std::string(from) + "' to='" + std::string(to) + "'>" +
           std::string(key) + "</db:result>";
}
inline std::string db_verify(std::string_view from, std::string_view to, std::string_view id,
                             std::string_view key) {
    return "<db:verify from='" + std::string(from) + "' to='" + std::string(to) + "' id='" +
           std::string(id) + "'>" + std::string(key) + "</db:verify>";
}
inline std::string message(std::string_view from, std::string_view to,
                           std::string_view body = "hi") {
    return "<message from='" + std::string(from) + "' to='" + std::string(to) +
           "' type='chat' id='m1'><body>" + std::string(body) + "</body></message>";
}

// The facts of a handshake whose certificate verified and covers `domain` (its A-label form).
inline TlsFacts verified_for(std::string domain) {
    TlsFacts f;
    f.chain_verified = true;
    f.protocol = "TLSv1.3";
    f.cipher = "TLS_AES_256_GCM_SHA384";
    f.covers = [domain](std::string_view d) { return d == domain; };
    return f;
}
inline TlsFacts unverified(std::string error) {
    TlsFacts f;
    f.chain_verified = false;
    f.verify_error = std::move(error);
    f.protocol = "TLSv1.3";
    f.cipher = "TLS_AES_256_GCM_SHA384";
    return f;
}

// A Prosody-like initiating entity up to the features after TLS: header, <starttls/>, TLS,
// header again. Returns the step of the second header.
inline Step open_with_tls(Harness& h, std::string_view from, TlsFacts facts,
                          std::uint64_t now = 0) {
    h.feed(prosody_header(from), now);
    auto s = h.feed(starttls(), now);
    EXPECT_TRUE(s.has_action<StartTls>());
    h.tls(std::move(facts), now);
    return h.feed(prosody_header(from), now);
}

// A dialback-authenticated stream from `from` (over TLS), ready for stanzas.
inline void dialback_over_tls(Harness& h, std::string_view from, std::string_view to = kLocal) {
    open_with_tls(h, from, unverified("self-signed certificate"));
    auto s = h.feed(db_result(from, to, "key"));
    ASSERT_TRUE(s.has_action<VerifyDialbackKey>());
    h.call([&](InboundStream& st) { st.on_key_verified(to, from, true); });
    ASSERT_TRUE(h.stream->is_authenticated(to, from));
}

}  // namespace fedgw::proxy::test
