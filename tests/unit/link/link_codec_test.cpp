#include "common/link/link_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fedgw::link {
namespace {

std::string enc(const Frame& f) {
    auto r = encode(f);
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? *r : std::string();
}

std::vector<Frame> decode_all(LinkDecoder& d) {
    std::vector<Frame> v;
    while (auto f = d.next()) v.push_back(std::move(*f));
    return v;
}

TEST(LinkCodec, WireLayoutIsLengthTypeHeadersBody) {
    Frame f{FrameType::Ping, {}, {}};
    f.headers.set("nonce", "7");
    // 1 type byte + "nonce: 7\n" (9) + "\n" (1) = 11
    EXPECT_EQ(enc(f), std::string("\0\0\0\x0b\x05nonce: 7\n\n", 15));
}

TEST(LinkCodec, RoundTripEveryTypedFrame) {
    StanzaFrame s{42, "partner.example", "federated", AuthMethod::Dialback, "sip.example",
                  "<message to='a@sip.example' from='b@partner.example'><body>hé\n</body></message>"};
    std::vector<Frame> frames = {make_frame(Hello{Role::Proxy, "edge.internal", 256}),
                                 make_frame(s),
                                 make_credit(3),
                                 make_registry(9, "{\"partners\":[]}"),
                                 make_ping(1),
                                 make_pong(1),
                                 make_goodbye("shutting\ndown")};
    std::string wire;
    for (const auto& f : frames) wire += enc(f);

    LinkDecoder d;
    ASSERT_TRUE(d.feed(wire).has_value());
    auto got = decode_all(d);
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(got[i], frames[i]) << i;

    auto hello = parse_hello(got[0]);
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->role, Role::Proxy);
    EXPECT_EQ(hello->node, "edge.internal");
    EXPECT_EQ(hello->window, 256u);

    auto st = parse_stanza(got[1]);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->seq, 42u);
    EXPECT_EQ(st->partner, "partner.example");
    EXPECT_EQ(st->partner_type, "federated");
    EXPECT_EQ(st->auth, AuthMethod::Dialback);
    EXPECT_EQ(st->local, "sip.example");
    EXPECT_EQ(st->xml, s.xml);

    EXPECT_EQ(*parse_credit(got[2]), 3u);
    EXPECT_EQ(got[3].body, "{\"partners\":[]}");
    EXPECT_EQ(*parse_nonce(got[5]), 1u);
    EXPECT_EQ(got[6].headers.get("reason").value_or(""), "shutting down");
}

TEST(LinkCodec, SplitAtEveryByteGivesSameFrames) {
    std::string wire = enc(make_frame(Hello{Role::Gateway, "fe", 8})) +
                       enc(make_frame(StanzaFrame{1, "", "", AuthMethod::None, "", "<iq/>"})) +
                       enc(make_credit(1));
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        LinkDecoder d;
        ASSERT_TRUE(d.feed(wire.substr(0, cut)).has_value());
        ASSERT_TRUE(d.feed(wire.substr(cut)).has_value());
        auto got = decode_all(d);
        ASSERT_EQ(got.size(), 3u) << cut;
        EXPECT_EQ(got[1].body, "<iq/>");
        EXPECT_EQ(d.buffered(), 0u);
    }
}

TEST(LinkCodec, OversizedFrameRefusedBeforeBuffering) {
    LinkDecoder d(DecoderLimits{64});
    auto r = d.feed(std::string("\0\0\1\0", 4));  // announces 256 bytes
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LinkErrorKind::FrameTooLarge);
    // Dead after an error.
    EXPECT_FALSE(d.feed(enc(make_ping(1))).has_value());
}

TEST(LinkCodec, MalformedFramesRefused) {
    auto framed = [](std::string payload) {
        std::string out(4, '\0');
        out[3] = static_cast<char>(payload.size());
        return out + payload;
    };
    struct Case {
        std::string wire;
        LinkErrorKind kind;
    } cases[] = {
        {std::string("\0\0\0\0", 4), LinkErrorKind::EmptyFrame},
        {framed("\x09\n"), LinkErrorKind::UnknownType},
        {framed("\x05" "abc"), LinkErrorKind::BadHeader},       // no terminating empty line
        {framed("\x05" "ab\n\n"), LinkErrorKind::BadHeader},   // no ": "
        {framed("\x05" "A: b\n\n"), LinkErrorKind::BadHeader}, // upper-case key
    };
    for (const auto& c : cases) {
        LinkDecoder d;
        auto r = d.feed(c.wire);
        ASSERT_FALSE(r) << c.wire.size();
        EXPECT_EQ(r.error().kind, c.kind) << r.error().describe();
    }
}

TEST(LinkCodec, EncoderRefusesHeaderInjection) {
    Frame f{FrameType::Stanza, {}, "<x/>"};
    f.headers.set("partner", "evil.example\nauth: sasl-external");
    auto r = encode(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LinkErrorKind::BadValue);
}

TEST(LinkCodec, HelloVersionMismatch) {
    Frame f = make_frame(Hello{Role::Proxy, "x", 1});
    f.headers.set("version", "2");
    auto h = parse_hello(f);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().kind, LinkErrorKind::VersionMismatch);
    EXPECT_EQ(h.error().describe(), "version-mismatch: peer speaks link version 2, we speak 1");
}

TEST(LinkCodec, StanzaFieldsValidated) {
    Frame f{FrameType::Stanza, {}, "<message/>"};
    EXPECT_EQ(parse_stanza(f).error().kind, LinkErrorKind::MissingField);  // no seq
    f.headers.set("seq", "x1");
    EXPECT_EQ(parse_stanza(f).error().kind, LinkErrorKind::BadValue);
    f.headers.set("seq", "1");
    f.headers.set("auth", "password");
    EXPECT_EQ(parse_stanza(f).error().kind, LinkErrorKind::BadValue);
    f.headers.set("auth", "sasl-external");
    f.body.clear();
    EXPECT_EQ(parse_stanza(f).error().kind, LinkErrorKind::MissingField);
}

TEST(LinkCodec, UnknownHeadersIgnoredForForwardCompatibility) {
    Frame f = make_credit(5);
    f.headers.set("future-field", "whatever");
    LinkDecoder d;
    ASSERT_TRUE(d.feed(enc(f)));
    auto got = d.next();
    ASSERT_TRUE(got);
    EXPECT_EQ(*parse_credit(*got), 5u);
}

}  // namespace
}  // namespace fedgw::link
