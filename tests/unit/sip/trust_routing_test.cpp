// The trust check and Via routing (RFC 3261 §18.2.1, §18.2.2, RFC 3581). No sockets.
#include <gtest/gtest.h>

#include "gateway/sip/routing.hpp"
#include "gateway/sip/trust.hpp"
#include "tests/unit/sip/sample_messages.hpp"

namespace fedgw::gateway::sip {
namespace {

IpAddress ip(std::string_view text) {
    auto a = parse_ip_address(text);
    if (!a) std::abort();
    return *a;
}

Cidr cidr(std::string_view text) {
    auto c = parse_cidr(text);
    if (!c) std::abort();
    return *c;
}

TEST(Trust, NextHopsAndTrustedBlocks) {
    TrustPolicy p{{ip("192.0.2.10"), ip("2001:db8::10")}, {cidr("10.0.0.0/8"), cidr("fd00::/8")}};
    EXPECT_TRUE(is_trusted_source(p, ip("192.0.2.10")));
    EXPECT_TRUE(is_trusted_source(p, ip("2001:db8::10")));
    EXPECT_TRUE(is_trusted_source(p, ip("10.1.2.3")));
    EXPECT_TRUE(is_trusted_source(p, ip("fd12::1")));
    EXPECT_FALSE(is_trusted_source(p, ip("192.0.2.11")));
    EXPECT_FALSE(is_trusted_source(p, ip("11.0.0.1")));
    EXPECT_FALSE(is_trusted_source(p, ip("2001:db8::11")));
    // A dual-stack listener reports IPv4 peers as IPv4-mapped IPv6.
    EXPECT_TRUE(is_trusted_source(p, ip("::ffff:192.0.2.10")));
    EXPECT_TRUE(is_trusted_source(p, ip("::ffff:10.9.9.9")));
    EXPECT_FALSE(is_trusted_source(p, ip("::ffff:192.0.2.99")));
    EXPECT_FALSE(is_trusted_source(TrustPolicy{}, ip("127.0.0.1")));
    EXPECT_EQ(canonical_address(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
}

SipMessage parse(const std::string& text) {
    auto m = SipMessage::parse(text);
    if (!m) std::abort();
    return std::move(*m);
}

std::string with_via(std::string_view via) {
    return samples::crlf({"OPTIONS sip:gw@192.0.2.20 SIP/2.0", "Via: " + std::string(via),
                          "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: c", "CSeq: 1 OPTIONS",
                          "Content-Length: 0"});
}

TEST(StampReceived, AddsReceivedWhenSentByDiffersAndFillsRport) {
    SipMessage m = parse(with_via("SIP/2.0/UDP client.example:5060;branch=z9hG4bKa;rport"));
    ASSERT_TRUE(stamp_received(m, ip("198.51.100.7"), 40000).has_value());
    const auto v = m.top_via();
    EXPECT_EQ(v->received, "198.51.100.7");
    EXPECT_EQ(v->rport_value, 40000);
    const auto target = response_target(*v, SipTransport::Udp);
    EXPECT_EQ(target.host, "198.51.100.7");
    EXPECT_EQ(target.port, 40000);
}

TEST(StampReceived, LeavesAMatchingSentByAlone) {
    SipMessage m = parse(with_via("SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKa"));
    ASSERT_TRUE(stamp_received(m, ip("198.51.100.7"), 5062).has_value());
    const auto v = m.top_via();
    EXPECT_FALSE(v->received.has_value());
    EXPECT_FALSE(v->rport);
    const auto target = response_target(*v, SipTransport::Udp);
    EXPECT_EQ(target.host, "198.51.100.7");
    EXPECT_EQ(target.port, 5062);
    // A forged received= is replaced by what we saw.
    SipMessage forged =
        parse(with_via("SIP/2.0/UDP 192.0.2.1;received=192.0.2.99;branch=z9hG4bKa"));
    ASSERT_TRUE(stamp_received(forged, ip("198.51.100.7"), 5060).has_value());
    EXPECT_EQ(forged.top_via()->received, "198.51.100.7");
}

TEST(ResponseTarget, DefaultPorts) {
    ViaHeader v;
    v.host = "192.0.2.1";
    EXPECT_EQ(response_target(v, SipTransport::Udp).port, 5060);
    EXPECT_EQ(response_target(v, SipTransport::Tls).port, 5061);
    v.port = 5080;
    EXPECT_EQ(response_target(v, SipTransport::Tcp).port, 5080);
}

TEST(SetTopVia, ReplacesTheTopViaAndKeepsACompliantBranch) {
    SipMessage m = parse(with_via("SIP/2.0/UDP old.example;branch=z9hG4bKkeep"));
    auto r = []() -> std::uint64_t { return 0xabc; };
    auto branch = set_top_via(m, ViaSpec{SipTransport::Tcp, "2001:db8::20", 5070, true, {}}, r);
    ASSERT_TRUE(branch.has_value());
    EXPECT_EQ(*branch, "z9hG4bKkeep");
    const auto vias = m.vias();
    ASSERT_EQ(vias.size(), 1u);
    EXPECT_EQ(vias[0].transport, "TCP");
    EXPECT_EQ(vias[0].host, "2001:db8::20");
    EXPECT_EQ(vias[0].port, 5070);
    EXPECT_FALSE(vias[0].rport);  // rport is for UDP
    EXPECT_NE(m.to_string()->find("Via: SIP/2.0/TCP [2001:db8::20]:5070;branch=z9hG4bKkeep"),
              std::string::npos);

    SipMessage old = parse(with_via("SIP/2.0/UDP old.example;branch=1234"));
    branch = set_top_via(old, ViaSpec{SipTransport::Udp, "192.0.2.20", 5070, true, {}}, r);
    ASSERT_TRUE(branch.has_value());
    EXPECT_EQ(*branch, "z9hG4bKcba0000000000000");
    EXPECT_TRUE(old.top_via()->rport);
}

}  // namespace
}  // namespace fedgw::gateway::sip
