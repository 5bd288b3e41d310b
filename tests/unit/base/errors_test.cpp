// Expected values come from RFC 6120 §4.9.3 (stream errors) and §8.3.3 (stanza errors).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/base/stanza_error.hpp"
#include "common/base/stream_error.hpp"

namespace fedgw {
namespace {

TEST(StreamError, EveryRfc6120ConditionHasItsName) {
    // RFC 6120 §4.9.3.1 – §4.9.3.25, in the order the RFC lists them.
    const char* rfc[] = {"bad-format",
                         "bad-namespace-prefix",
                         "conflict",
                         "connection-timeout",
                         "host-gone",
                         "host-unknown",
                         "improper-addressing",
                         "internal-server-error",
                         "invalid-from",
                         "invalid-namespace",
                         "invalid-xml",
                         "not-authorized",
                         "not-well-formed",
                         "policy-violation",
                         "remote-connection-failed",
                         "reset",
                         "resource-constraint",
                         "restricted-xml",
                         "see-other-host",
                         "system-shutdown",
                         "undefined-condition",
                         "unsupported-encoding",
                         "unsupported-feature",
                         "unsupported-stanza-type",
                         "unsupported-version"};
    std::set<std::string> seen;
    for (const char* name : rfc) {
        auto c = stream_condition_from_name(name);
        ASSERT_TRUE(c.has_value()) << name;
        EXPECT_EQ(wire_name(*c), name);
        seen.insert(std::string(wire_name(*c)));
    }
    EXPECT_EQ(seen.size(), 25u);
    EXPECT_FALSE(stream_condition_from_name("no-such-condition").has_value());
}

TEST(StreamError, WireFormMatchesRfc6120Section4_9_2) {
    StreamError e{StreamCondition::HostUnknown, "we serve no <such> domain & more"};
    EXPECT_EQ(to_wire(e),
              "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>"
              "we serve no &lt;such&gt; domain &amp; more</text></stream:error>");
    EXPECT_EQ(to_wire(StreamError{StreamCondition::SystemShutdown, ""}),
              "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
              "</stream:error>");
    EXPECT_EQ(e.describe(), "host-unknown: we serve no <such> domain & more");
}

TEST(StanzaError, DefaultTypesFollowRfc6120Section8_3_3) {
    struct {
        const char* name;
        const char* type;
    } rfc[] = {
        {"bad-request", "modify"},            // §8.3.3.1
        {"conflict", "cancel"},               // §8.3.3.2
        {"feature-not-implemented", "cancel"},// §8.3.3.3
        {"forbidden", "auth"},                // §8.3.3.4
        {"gone", "cancel"},                   // §8.3.3.5
        {"internal-server-error", "cancel"},  // §8.3.3.6
        {"item-not-found", "cancel"},         // §8.3.3.7
        {"jid-malformed", "modify"},          // §8.3.3.8
        {"not-acceptable", "modify"},         // §8.3.3.9
        {"not-allowed", "cancel"},            // §8.3.3.10
        {"not-authorized", "auth"},           // §8.3.3.11
        {"policy-violation", "modify"},       // §8.3.3.12
        {"recipient-unavailable", "wait"},    // §8.3.3.13
        {"redirect", "modify"},               // §8.3.3.14
        {"registration-required", "auth"},    // §8.3.3.15
        {"remote-server-not-found", "cancel"},// §8.3.3.16
        {"remote-server-timeout", "wait"},    // §8.3.3.17
        {"resource-constraint", "wait"},      // §8.3.3.18
        {"service-unavailable", "cancel"},    // §8.3.3.19
        {"subscription-required", "auth"},    // §8.3.3.20
        {"undefined-condition", "cancel"},    // §8.3.3.21 (any type; cancel is ours)
        {"unexpected-request", "wait"},       // §8.3.3.22
    };
    for (const auto& row : rfc) {
        auto c = stanza_condition_from_name(row.name);
        ASSERT_TRUE(c.has_value()) << row.name;
        EXPECT_EQ(wire_name(*c), row.name);
        EXPECT_EQ(wire_name(default_type(*c)), row.type) << row.name;
    }
}

TEST(StanzaError, WireFormMatchesRfc6120Section8_3_1) {
    auto e = StanzaError::of(StanzaCondition::ServiceUnavailable, "link to the gateway is down");
    e.by = "gw.example";
    EXPECT_EQ(to_wire(e),
              "<error type='cancel' by='gw.example'>"
              "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>"
              "link to the gateway is down</text></error>");
    EXPECT_EQ(e.describe(), "cancel/service-unavailable: link to the gateway is down");
}

TEST(StanzaError, TypesParse) {
    for (const char* t : {"auth", "cancel", "continue", "modify", "wait"}) {
        auto parsed = stanza_error_type_from_name(t);
        ASSERT_TRUE(parsed.has_value()) << t;
        EXPECT_EQ(wire_name(*parsed), t);
    }
    EXPECT_FALSE(stanza_error_type_from_name("retry").has_value());
}

}  // namespace
}  // namespace fedgw
