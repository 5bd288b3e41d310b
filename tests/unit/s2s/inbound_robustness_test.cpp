// InboundStream against hostile and broken peers: sessions as Prosody sends them, cut into
// random chunks and mutated (bytes flipped, dropped, duplicated), with the owner's answers
// interleaved. Whatever arrives, the stream never crashes, always writes XML the peer can
// parse (Harness checks every write), emits exactly one CloseStream and nothing after it.
// A deterministic generator keeps failures reproducible; under ASan/UBSan this is the unit
// tier's fuzzer.
#include <gtest/gtest.h>

#include <cstdint>

#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/inbound_wire.hpp"
#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

class Rng {
  public:
    explicit Rng(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    std::uint64_t next() {
        s_ ^= s_ << 13;
        s_ ^= s_ >> 7;
        s_ ^= s_ << 17;
        return s_;
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }

  private:
    std::uint64_t s_;
};

std::string mutate(std::string s, Rng& rng) {
    const std::size_t edits = rng.below(4);
    for (std::size_t i = 0; i < edits && !s.empty(); ++i) {
        const std::size_t at = rng.below(s.size());
        switch (rng.below(4)) {
            case 0:
                s[at] = static_cast<char>(rng.below(256));
                break;
            case 1:
                s.erase(at, 1 + rng.below(8));
                break;
            case 2:
                s.insert(at, s.substr(at, 1 + rng.below(16)));
                break;
            case 3:
                s.insert(at, "<");
                break;
        }
    }
    return s;
}

void run(Harness& h, const std::vector<std::string>& parts, Rng& rng) {
    int closes = 0;
    std::uint64_t now = 0;
    auto account = [&](const Step& s) {
        for (const auto& a : s.actions) {
            if (closes > 0) ADD_FAILURE() << "an action after CloseStream";
            if (std::holds_alternative<CloseStream>(a)) ++closes;
        }
    };
    for (std::size_t p = 0; p < parts.size(); ++p) {
        std::string_view rest = parts[p];
        while (!rest.empty()) {
            const std::size_t n = std::min(rest.size(), 1 + rng.below(64));
            now += rng.below(50);
            auto s = h.feed(rest.substr(0, n), now);
            account(s);
            ASSERT_LE(s.consumed, n);
            if (h.stream->state() == InboundStream::State::WaitTlsHandshake) {
                account(h.tls(rng.below(2) ? verified_for(std::string(kProsody))
                                           : unverified("self-signed certificate"),
                              now));
                break;  // the rest of this part was TLS bytes
            }
            rest.remove_prefix(n);
            if (s.consumed < n && h.stream->state() != InboundStream::State::Closed)
                ADD_FAILURE() << "bytes left over outside a TLS switch";
        }
        // The owner's answers and timers, at random.
        switch (rng.below(5)) {
            case 0:
                account(
                    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); }));
                break;
            case 1:
                account(
                    h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, false); }));
                break;
            case 2:
                account(h.timer(TimerKind::Dialback, now + 40'000));
                break;
            case 3:
                account(h.timer(TimerKind::Keepalive, now + 400'000));
                break;
            default:
                break;
        }
    }
    account(h.call([](InboundStream& st) { st.close({StreamCondition::SystemShutdown, ""}); }));
    account(h.call([](InboundStream& st) { st.on_transport_closed(); }));
    EXPECT_EQ(closes, 1);
    EXPECT_TRUE(h.stream->is_closed());
}

std::vector<std::string> prosody_session(int variant) {
    std::vector<std::string> parts{prosody_header(), starttls(), prosody_header()};
    if (variant % 2 == 0) {
        parts.push_back(auth_external(inbound_wire::base64_encode(kProsody)));
        parts.push_back(prosody_header());
    } else {
        parts.push_back("<bidi xmlns='urn:xmpp:bidi'/>" + db_result(kProsody, kLocal, "k"));
        parts.push_back(db_verify(kProsody, kLocal, "x", "k"));
    }
    parts.push_back(message("a@xmpp.example.org", "b@sip.example.com") +
                    "<presence from='a@xmpp.example.org/r' to='b@sip.example.com'/>" +
                    "<iq type='get' id='1' from='xmpp.example.org' to='sip.example.com'>"
                    "<ping xmlns='urn:xmpp:ping'/></iq>");
    parts.push_back("</stream:stream>");
    return parts;
}

TEST(InboundRobustness, ChunkedSessionsStillSucceed) {
    LogCapture quiet;
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        Rng rng(seed);
        Harness h;
        // No mutation: whatever the chunking, the session ends with the peer's close.
        std::uint64_t now = 0;
        for (const auto& part : prosody_session(static_cast<int>(seed))) {
            std::string_view rest = part;
            bool verify = false;
            while (!rest.empty()) {
                const std::size_t n = std::min(rest.size(), 1 + rng.below(40));
                auto s = h.feed(rest.substr(0, n), ++now);
                rest.remove_prefix(n);
                verify = verify || s.has_action<VerifyDialbackKey>();
                ASSERT_TRUE(s.stream_error().empty()) << seed << ": " << s.stream_error_text();
                if (h.stream->state() == InboundStream::State::WaitTlsHandshake) {
                    ASSERT_TRUE(rest.empty()) << seed;
                    h.tls(verified_for(std::string(kProsody)), now);
                }
            }
            if (verify)
                h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
        }
        EXPECT_TRUE(h.stream->is_closed()) << seed;
        EXPECT_EQ(h.stream->counters().stanzas_in, 3u) << seed;
    }
}

TEST(InboundRobustness, MutatedSessionsNeverBreakTheInvariants) {
    LogCapture quiet;
    for (std::uint64_t seed = 1; seed <= 1500; ++seed) {
        Rng rng(seed);
        Harness h;
        auto parts = prosody_session(static_cast<int>(seed));
        for (auto& p : parts)
            if (rng.below(3) == 0) p = mutate(p, rng);
        run(h, parts, rng);
        if (testing::Test::HasFailure()) FAIL() << "seed " << seed;
    }
}

// The hostile samples of tests/fuzz/corpus/xml_stream/, after a valid header.
TEST(InboundRobustness, HostileCorpusSamplesEndWithTheRightError) {
    const std::pair<std::string, std::string> samples[] = {
        {"<!DOCTYPE lolz [<!ENTITY lol 'lol'>]>", "not-well-formed"},  // inside the stream
        {"<message><body>&xxe;</body></message>", "restricted-xml"},
        {"<?php system('id'); ?>", "restricted-xml"},
        {"<evil:message xmlns='jabber:server'/>", "bad-namespace-prefix"},
        {"loose text", "bad-format"},
        {std::string("<message>\xff\xfe</message>"), "not-well-formed"},
        {"<message><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x>"
         "<x><x><x><x><x><x><x><x><x><x></x>",
         "policy-violation"},
    };
    for (const auto& [bytes, condition] : samples) {
        Harness h;
        h.feed(prosody_header(kPlain));
        auto s = h.feed(bytes);
        EXPECT_EQ(s.stream_error(), condition) << bytes;
        EXPECT_TRUE(s.closed);
        EXPECT_TRUE(h.stream->is_closed());
    }
}

// RFC 6120 §11.1 (tests/fuzz/corpus/xml_stream/hostile_xxe.xml, hostile_doctype.xml): a DTD
// before the header.
TEST(InboundRobustness, DoctypeBeforeTheHeaderIsRestrictedXml) {
    Harness h;
    auto s = h.feed("<!DOCTYPE m [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>" + prosody_header());
    EXPECT_EQ(s.stream_error(), "restricted-xml");
    ASSERT_EQ(s.headers.size(), 1u);
}

}  // namespace
}  // namespace fedgw::proxy::test
