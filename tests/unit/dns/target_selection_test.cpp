// Unit tests of the pure XMPP target selection: RFC 2782 ordering with a scripted random source,
// RFC 6120 §3.2 "." and fallback rules, the XEP-0368 merge, static routes, address order.
#include "common/dns/target_selection.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "common/dns/dns_error.hpp"

namespace fedgw::dns {
namespace {

// Returns the scripted numbers in turn (each reduced modulo the bound) and records every bound
// it was asked for.
struct Scripted {
    std::deque<std::uint32_t> values;
    std::vector<std::uint32_t> bounds;
    RandomSource source() {
        return [this](std::uint32_t bound) {
            bounds.push_back(bound);
            std::uint32_t v = values.empty() ? 0 : values.front();
            if (!values.empty()) values.pop_front();
            return v % bound;
        };
    }
};

RandomSource always(std::uint32_t v) {
    return [v](std::uint32_t bound) { return v % bound; };
}

std::vector<std::string> targets_of(const std::vector<SrvRecord>& v) {
    std::vector<std::string> out;
    for (const auto& r : v)
        out.push_back(r.target);
    return out;
}

std::vector<std::string> hosts_of(const std::vector<Target>& v) {
    std::vector<std::string> out;
    for (const auto& t : v)
        out.push_back(t.host + ":" + std::to_string(t.port) + (t.direct_tls ? "/tls" : ""));
    return out;
}

using S = std::vector<std::string>;

TEST(OrderSrv, LowestPriorityFirst) {
    std::vector<SrvRecord> in{
        {"c.example", 5269, 30, 0}, {"a.example", 5269, 10, 0}, {"b.example", 5269, 20, 0}};
    EXPECT_EQ(targets_of(order_srv(in, always(0))), (S{"a.example", "b.example", "c.example"}));
}

TEST(OrderSrv, WeightedSelectionFollowsRfc2782RunningSum) {
    // Weights 10, 20, 30 (sum 60): the random number r in [0, 60] picks the first record whose
    // running sum (10, 30, 60) is >= r.
    std::vector<SrvRecord> in{{"a", 1, 5, 10}, {"b", 1, 5, 20}, {"c", 1, 5, 30}};
    Scripted rnd;
    rnd.values = {25, 40, 0};  // 25 → b (10 < 25 <= 30); then a,c sum 40: 40 → c; then a.
    EXPECT_EQ(targets_of(order_srv(in, rnd.source())), (S{"b", "c", "a"}));
    EXPECT_EQ(rnd.bounds, (std::vector<std::uint32_t>{61, 41, 11}));  // sum + 1, inclusive
}

TEST(OrderSrv, BoundaryValuesPickTheRecordWhoseRunningSumReachesThem) {
    std::vector<SrvRecord> in{{"a", 1, 0, 10}, {"b", 1, 0, 20}};
    Scripted r1;
    r1.values = {10};  // running sum of a is 10 >= 10 → a
    EXPECT_EQ(targets_of(order_srv(in, r1.source())), (S{"a", "b"}));
    Scripted r2;
    r2.values = {11};  // 10 < 11 → b
    EXPECT_EQ(targets_of(order_srv(in, r2.source())), (S{"b", "a"}));
}

TEST(OrderSrv, WeightDistributionMatchesWeights) {
    // Feed every possible random value once: the first choice must split 1:3 exactly
    // (r in [0, 40]: 0..10 → a, 11..40 → b; with the weight-0 record c placed first, r = 0
    // picks c).
    std::vector<SrvRecord> in{{"a", 1, 0, 10}, {"b", 1, 0, 30}, {"c", 1, 0, 0}};
    std::map<std::string, int> first;
    for (std::uint32_t v = 0; v <= 40; ++v)
        first[order_srv(in, always(v)).front().target]++;
    EXPECT_EQ(first["c"], 1);   // r == 0 only
    EXPECT_EQ(first["a"], 10);  // 1..10
    EXPECT_EQ(first["b"], 30);  // 11..40
}

TEST(OrderSrv, ZeroWeightsKeepAnswerOrderWithAlwaysZero) {
    std::vector<SrvRecord> in{{"x", 1, 0, 0}, {"y", 1, 0, 0}, {"z", 1, 0, 0}};
    Scripted rnd;
    EXPECT_EQ(targets_of(order_srv(in, rnd.source())), (S{"x", "y", "z"}));
    EXPECT_EQ(rnd.bounds, (std::vector<std::uint32_t>{1, 1, 1}));
}

TEST(OrderSrv, ZeroWeightRecordsComeFirstInTheRunningSum) {
    // weight-0 record listed last must still be the one chosen by r == 0.
    std::vector<SrvRecord> in{{"heavy", 1, 0, 50}, {"zero", 1, 0, 0}};
    EXPECT_EQ(targets_of(order_srv(in, always(0))), (S{"zero", "heavy"}));
    EXPECT_EQ(targets_of(order_srv(in, always(1))), (S{"heavy", "zero"}));
}

TEST(OrderSrv, OutOfRangeRandomIsClampedNotOverrun) {
    std::vector<SrvRecord> in{{"a", 1, 0, 1}, {"b", 1, 0, 1}};
    RandomSource bad = [](std::uint32_t) { return 1000u; };
    EXPECT_EQ(targets_of(order_srv(in, bad)), (S{"b", "a"}));
}

TEST(OrderSrv, DropsUnusableRecordsAndTrailingDots) {
    std::vector<SrvRecord> in{{"ok.example.", 5269, 0, 0}, {"", 5269, 0, 0},
                              {".", 5269, 0, 0},           {"zero-port.example", 0, 0, 0},
                              {"bad name!", 5269, 0, 0},   {"two..dots", 5269, 0, 0}};
    EXPECT_EQ(targets_of(order_srv(in, always(0))), (S{"ok.example"}));
}

TEST(OrderSrv, KeepsAtMostMaxRecords) {
    std::vector<SrvRecord> in;
    for (int i = 0; i < 10; ++i)
        in.push_back({"h" + std::to_string(i), 1, 0, 0});
    EXPECT_EQ(order_srv(in, always(0), 3).size(), 3u);
}

TEST(NoService, SingleDotOrEmptyTarget) {
    EXPECT_TRUE(is_no_service({{".", 0, 0, 0}}));
    EXPECT_TRUE(is_no_service({{"", 0, 0, 0}}));  // c-ares 1.18 spelling
    EXPECT_FALSE(is_no_service({{"", 0, 0, 0}, {"a", 5269, 0, 0}}));
    EXPECT_FALSE(is_no_service({{"a", 5269, 0, 0}}));
    EXPECT_FALSE(is_no_service({}));
}

TEST(SelectTargets, XmppOnlyInRfc2782Order) {
    auto r = select_targets(
        "example.org", SrvAnswer::not_found(),
        SrvAnswer::found({{"xmpp2.example.org", 5270, 20, 0}, {"xmpp1.example.org", 5269, 10, 60}}),
        always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"xmpp1.example.org:5269", "xmpp2.example.org:5270"}));
}

TEST(SelectTargets, NeitherSrvFallsBackToDomainOn5269) {
    auto r =
        select_targets("example.org.", SrvAnswer::not_found(), SrvAnswer::not_found(), always(0));
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0], (Target{"example.org", 5269, false}));
}

TEST(SelectTargets, FoundButEmptyCountsAsAbsent) {
    auto r = select_targets("example.org", SrvAnswer::found({}), SrvAnswer::found({}), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"example.org:5269"}));
}

TEST(SelectTargets, XmppsFailureIsTreatedAsAbsent) {
    auto r = select_targets("example.org", SrvAnswer::failed(), SrvAnswer::not_found(), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"example.org:5269"}));
}

TEST(SelectTargets, DotMeansNoServiceAndNoFallback) {
    auto r = select_targets("example.org", SrvAnswer::not_found(),
                            SrvAnswer::found({{"", 0, 0, 0}}), always(0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, SelectionErrorKind::NoService);
    EXPECT_NE(r.error().describe().find("no-service"), std::string::npos);
}

TEST(SelectTargets, DotForBothIsNoService) {
    auto r = select_targets("example.org", SrvAnswer::found({{".", 0, 0, 0}}),
                            SrvAnswer::found({{".", 0, 0, 0}}), always(0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, SelectionErrorKind::NoService);
}

TEST(SelectTargets, XmppsDotStillUsesXmppRecords) {
    // XEP-0368 §5: "." for xmpps means no direct TLS; look at xmpp-server.
    auto r = select_targets("example.org", SrvAnswer::found({{"", 0, 0, 0}}),
                            SrvAnswer::found({{"x.example.org", 5269, 0, 0}}), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"x.example.org:5269"}));
}

TEST(SelectTargets, XmppsDotWithNoXmppRecordsHasNoFallback) {
    // XEP-0368 §5: MUST NOT fall back to A/AAAA once the domain showed it publishes SRV.
    auto r = select_targets("example.org", SrvAnswer::found({{"", 0, 0, 0}}),
                            SrvAnswer::not_found(), always(0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, SelectionErrorKind::NoService);
}

TEST(SelectTargets, XmppsOnlyIsUsedWithoutFallback) {
    auto r = select_targets("example.org", SrvAnswer::found({{"tls.example.org", 5223, 0, 0}}),
                            SrvAnswer::not_found(), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"tls.example.org:5223/tls"}));
}

TEST(SelectTargets, MergeByPriorityXmppsFirstAtEqualPriority) {
    auto xmpps =
        SrvAnswer::found({{"s10.example.org", 5223, 10, 0}, {"s30.example.org", 5223, 30, 0}});
    auto xmpp = SrvAnswer::found({{"p5.example.org", 5269, 5, 0},
                                  {"p10.example.org", 5269, 10, 0},
                                  {"p20.example.org", 5269, 20, 0}});
    auto r = select_targets("example.org", xmpps, xmpp, always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r),
              (S{"p5.example.org:5269", "s10.example.org:5223/tls", "p10.example.org:5269",
                 "p20.example.org:5269", "s30.example.org:5223/tls"}));
}

TEST(SelectTargets, SameHostOnBothServicesGivesTwoTargets) {
    auto r = select_targets("example.org", SrvAnswer::found({{"x.example.org", 5223, 0, 0}}),
                            SrvAnswer::found({{"x.example.org", 5269, 0, 0}}), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"x.example.org:5223/tls", "x.example.org:5269"}));
}

TEST(SelectTargets, DuplicateRecordsAreTriedOnce) {
    auto r = select_targets(
        "example.org", SrvAnswer::not_found(),
        SrvAnswer::found({{"X.example.org", 5269, 0, 0}, {"x.example.org", 5269, 1, 0}}),
        always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->size(), 1u);
}

TEST(SelectTargets, XmppFailureWithoutXmppsIsLookupFailed) {
    auto r = select_targets("example.org", SrvAnswer::not_found(), SrvAnswer::failed(), always(0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, SelectionErrorKind::LookupFailed);
    auto r2 = select_targets("example.org", SrvAnswer::found({{"", 0, 0, 0}}), SrvAnswer::failed(),
                             always(0));
    ASSERT_FALSE(r2.has_value());
    EXPECT_EQ(r2.error().kind, SelectionErrorKind::LookupFailed);
}

TEST(SelectTargets, XmppFailureWithXmppsRecordsUsesThem) {
    auto r = select_targets("example.org", SrvAnswer::found({{"tls.example.org", 5223, 0, 0}}),
                            SrvAnswer::failed(), always(0));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(hosts_of(*r), (S{"tls.example.org:5223/tls"}));
}

TEST(SelectTargets, RecordsThatNameNothingAreNoService) {
    auto r =
        select_targets("example.org", SrvAnswer::not_found(),
                       SrvAnswer::found({{"a.example.org", 0, 0, 0}, {"", 5269, 0, 0}}), always(0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, SelectionErrorKind::NoService);
}

TEST(SelectTargets, AtMostMaxTargets) {
    std::vector<SrvRecord> many;
    for (int i = 0; i < 50; ++i)
        many.push_back({"h" + std::to_string(i) + ".example", 5269, 0, 1});
    SelectionLimits lim;
    lim.max_targets = 4;
    auto r = select_targets("example.org", SrvAnswer::not_found(), SrvAnswer::found(many),
                            always(7), lim);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->size(), 4u);
}

TEST(StaticRoute, HostAndHostPort) {
    auto a = parse_static_route("xmpp.partner.example");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, (Target{"xmpp.partner.example", 5269, false}));
    auto b = parse_static_route("xmpp.partner.example:5270");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*b, (Target{"xmpp.partner.example", 5270, false}));
    auto c = parse_static_route("192.0.2.7:15269");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(*c, (Target{"192.0.2.7", 15269, false}));
}

TEST(StaticRoute, BracketedIpv6) {
    auto a = parse_static_route("[2001:db8::1]:5270");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, (Target{"2001:db8::1", 5270, false}));
    auto b = parse_static_route("[::1]");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*b, (Target{"::1", 5269, false}));
}

TEST(StaticRoute, RefusesWhatIsNotARoute) {
    for (const char* bad :
         {"", ":5269", "host:", "host:0", "host:65536", "host:12x", "2001:db8::1", "[2001:db8::1",
          "[2001:db8::1]x", "[]:5269", "[zz]:1", "bad host", "a..b", "-x.example"}) {
        auto r = parse_static_route(bad);
        EXPECT_FALSE(r.has_value()) << bad;
        if (!r.has_value()) {
            EXPECT_EQ(r.error().kind, SelectionErrorKind::BadStaticRoute) << bad;
        }
    }
}

TEST(PlausibleHost, LabelsAndCharacters) {
    EXPECT_TRUE(is_plausible_host("_xmpp-server._tcp.example.org"));
    EXPECT_TRUE(is_plausible_host("xn--bcher-kva.example"));
    EXPECT_FALSE(is_plausible_host(""));
    EXPECT_FALSE(is_plausible_host("example.org."));  // strip the dot first
    EXPECT_FALSE(is_plausible_host(std::string(64, 'a') + ".example"));
    EXPECT_TRUE(is_plausible_host(std::string(63, 'a') + ".example"));
    EXPECT_FALSE(is_plausible_host("exa mple.org"));
}

TEST(OrderAddresses, InterleavesIpv6First) {
    std::vector<IpAddress> in{{AddressFamily::V4, "192.0.2.1"},
                              {AddressFamily::V4, "192.0.2.2"},
                              {AddressFamily::V4, "192.0.2.3"},
                              {AddressFamily::V6, "2001:db8::1"},
                              {AddressFamily::V6, "2001:db8::2"}};
    std::vector<IpAddress> want{{AddressFamily::V6, "2001:db8::1"},
                                {AddressFamily::V4, "192.0.2.1"},
                                {AddressFamily::V6, "2001:db8::2"},
                                {AddressFamily::V4, "192.0.2.2"},
                                {AddressFamily::V4, "192.0.2.3"}};
    EXPECT_EQ(order_addresses(in), want);
}

TEST(OrderAddresses, DropsDuplicatesAndKeepsAtMostMax) {
    std::vector<IpAddress> in{{AddressFamily::V4, "192.0.2.1"},
                              {AddressFamily::V4, "192.0.2.1"},
                              {AddressFamily::V4, "192.0.2.2"},
                              {AddressFamily::V4, "192.0.2.3"}};
    auto out = order_addresses(in, 2);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].text, "192.0.2.1");
    EXPECT_EQ(out[1].text, "192.0.2.2");
    EXPECT_TRUE(order_addresses({}).empty());
}

TEST(DnsErrorTest, DescribeAndTransience) {
    DnsError e{DnsErrorKind::Timeout, "_xmpp-server._tcp.example.org: Timeout"};
    EXPECT_EQ(e.describe(), "timeout: _xmpp-server._tcp.example.org: Timeout");
    EXPECT_TRUE(e.is_transient());
    EXPECT_FALSE((DnsError{DnsErrorKind::NotFound, ""}).is_transient());
    EXPECT_EQ((DnsError{DnsErrorKind::NoService, ""}).describe(), "no-service");
    EXPECT_EQ(dns_error_name(DnsErrorKind::ServerFailure), "server-failure");
}

}  // namespace
}  // namespace fedgw::dns
