// Test support for the LinkSession unit tests: session configurations for both roles, a Side
// that records a session's events and decodes what it sent, and a Pair that feeds a proxy and a
// gateway session into each other in memory.
//
// Pure test support: no sockets, no clock.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/linkio/link_session.hpp"

namespace fedgw::link::test {

inline SessionConfig proxy_config(std::uint32_t window = 8) {
    SessionConfig c;
    c.role = Role::Proxy;
    c.node = "edge.internal";
    c.expected_peer = "gw.internal";
    c.limits.window = window;
    c.limits.hello_timeout_ms = 1000;
    c.limits.ping_interval_ms = 5000;
    c.limits.pong_timeout_ms = 2000;
    return c;
}

inline SessionConfig gateway_config(std::uint32_t window = 8) {
    SessionConfig c = proxy_config(window);
    c.role = Role::Gateway;
    c.node = "gw.internal";
    c.expected_peer = "edge.internal";
    return c;
}

inline std::string wire(const Frame& f) {
    auto r = encode(f);
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? *r : std::string();
}

inline StanzaFrame stanza(std::string xml = "<message to='a@sip.test'><body>hi</body></message>") {
    return StanzaFrame{0,          "partner.test", "federated", AuthMethod::SaslExternal,
                       "sip.test", std::move(xml)};
}

// One side's session plus everything it reported.
struct Side {
    explicit Side(SessionConfig c) : session(std::move(c)) {}
    LinkSession session;
    std::vector<SessionEvent> events;

    void drain() {
        while (auto e = session.next_event())
            events.push_back(std::move(*e));
    }
    template <class T>
    std::vector<T> all() const {
        std::vector<T> v;
        for (const auto& e : events)
            if (const auto* p = std::get_if<T>(&e)) v.push_back(*p);
        return v;
    }
    template <class T>
    std::size_t count() const {
        return all<T>().size();
    }
    std::optional<CloseReason> closed() const {
        auto c = all<Closed>();
        if (c.empty()) return std::nullopt;
        EXPECT_EQ(c.size(), 1U) << "exactly one Closed event";
        return c.front().reason;
    }
    // The frames this side has sent since the last call.
    std::vector<Frame> sent_frames() {
        LinkDecoder d;
        EXPECT_TRUE(d.feed(session.take_output()).has_value());
        std::vector<Frame> v;
        while (auto f = d.next())
            v.push_back(std::move(*f));
        return v;
    }
};

struct Pair {
    Pair(SessionConfig p = proxy_config(), SessionConfig g = gateway_config())
        : proxy(std::move(p)), gateway(std::move(g)) {}

    void start(std::int64_t now = 0) {
        proxy.session.start(now);
        gateway.session.start(now);
        pump();
    }
    // Moves bytes both ways until both sides are quiet.
    void pump() {
        for (int i = 0; i < 100; ++i) {
            bool moved = false;
            if (proxy.session.has_output()) {
                gateway.session.feed(proxy.session.take_output());
                moved = true;
            }
            if (gateway.session.has_output()) {
                proxy.session.feed(gateway.session.take_output());
                moved = true;
            }
            proxy.drain();
            gateway.drain();
            if (!moved) return;
        }
        ADD_FAILURE() << "the sessions never went quiet";
    }

    Side proxy;
    Side gateway;
};

}  // namespace fedgw::link::test
