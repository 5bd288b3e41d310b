// Loop tier for GatewayServer: the gateway on 127.0.0.1 with a LinkClient as the proxy and a
// SipStack as the SIP platform. Messages both ways (RFC 7572 §4, §5), SIP failures and
// timeouts back to the XMPP sender (RFC 7247 §7.2), the SIP trust rules (From domain, per-user
// access), link backpressure (480 / 503), the registry snapshot on connect and after a change,
// disco/ping, typing notifications (RFC 3994), status() and a graceful stop.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/translate/is_composing.hpp"
#include "tests/loop/gateway/gateway_fixture.hpp"

namespace fedgw::gateway::test {
namespace {

constexpr const char* kChat =
    "<message from='romeo@partner.test/orchard' to='juliet@sip.test' type='chat' id='m1'>"
    "<body>Wherefore art thou?</body></message>";

const Element* error_condition(const Element& stanza) {
    const Element* e = stanza.find_child("error");
    if (!e) return nullptr;
    for (const Element* c : e->child_elements())
        if (c->ns() == kNsStanzaErrors && c->name() != "text") return c;
    return nullptr;
}

TEST_F(GatewayLoopTest, XmppMessageBecomesSipMessage) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client->send_stanza(from_partner(kChat)).has_value());
    ASSERT_TRUE(run_until([&] { return !received_.empty(); }));
    const PlatformRequest& r = received_[0];
    EXPECT_EQ(r.method, "MESSAGE");
    EXPECT_EQ(r.request_uri, "sip:juliet@sip.test");
    EXPECT_EQ(r.from, "sip:romeo@partner.test");
    EXPECT_EQ(r.to, "sip:juliet@sip.test");
    EXPECT_EQ(r.body, "Wherefore art thou?");
    EXPECT_NE(r.content_type.find("text/plain"), std::string::npos) << r.content_type;
    ASSERT_TRUE(run_until([&] { return logged("gateway.message_delivered"); }));
    EXPECT_TRUE(proxy.stanzas.empty()) << "a delivered message is not answered";
    EXPECT_FALSE(logged("body=Wherefore")) << "bodies are withheld from logs by default";
}

TEST_F(GatewayLoopTest, SipNotFoundComesBackAsItemNotFound) {
    platform_status_ = 404;
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client->send_stanza(from_partner(kChat)).has_value());
    ASSERT_TRUE(run_until([&] { return !proxy.stanzas.empty(); }));
    const Element& e = *proxy.stanzas[0];
    EXPECT_EQ(e.name(), "message");
    EXPECT_EQ(e.attr_or("type", ""), "error");
    EXPECT_EQ(e.attr_or("to", ""), "romeo@partner.test/orchard");
    EXPECT_EQ(e.attr_or("from", ""), "juliet@sip.test");
    EXPECT_EQ(e.attr_or("id", ""), "m1");
    const Element* c = error_condition(e);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->name(), "item-not-found");  // RFC 7247 §7.2: 404 -> item-not-found
}

TEST_F(GatewayLoopTest, SipTimeoutComesBackAsRemoteServerTimeout) {
    start_gateway(make_config(start_silent_next_hop()));
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client->send_stanza(from_partner(kChat)).has_value());
    // Timer F = 64 * T1 = 1.28 s with T1 = 20 ms.
    ASSERT_TRUE(run_until([&] { return !proxy.stanzas.empty(); }, 5000));
    const Element* c = error_condition(*proxy.stanzas[0]);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->name(), "remote-server-timeout");  // RFC 3261 §8.1.3.1: a timeout is 408
}

TEST_F(GatewayLoopTest, SipMessageBecomesStanzaAndRemembersTheContact) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    auto a = send_and_wait(sip_message("sip:juliet@sip.test", "sip:romeo@partner.test", "Hi"));
    EXPECT_EQ(a->status, 200);
    ASSERT_TRUE(run_until([&] { return !proxy.stanzas.empty(); }));
    const Element& m = *proxy.stanzas[0];
    EXPECT_EQ(m.name(), "message");
    EXPECT_EQ(m.attr_or("from", ""), "juliet@sip.test");
    EXPECT_EQ(m.attr_or("to", ""), "romeo@partner.test");
    EXPECT_EQ(m.child_text("body").value_or(""), "Hi");
    EXPECT_FALSE(m.attr_or("id", "").empty());
    auto contact = store_->has_contact("juliet@sip.test", "romeo@partner.test");
    ASSERT_TRUE(contact.has_value());
    EXPECT_TRUE(*contact);
}

TEST_F(GatewayLoopTest, ForeignFromDomainGets403) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    auto a = send_and_wait(sip_message("sip:mallory@evil.test", "sip:romeo@partner.test", "x"));
    EXPECT_EQ(a->status, 403);
    EXPECT_TRUE(logged("sip.refused"));
    run_for(50);
    EXPECT_TRUE(proxy.stanzas.empty());
}

TEST_F(GatewayLoopTest, NoProxyLinkGets480) {
    start_gateway();
    auto a = send_and_wait(sip_message("sip:juliet@sip.test", "sip:romeo@partner.test", "Hi"));
    EXPECT_EQ(a->status, 480);
}

TEST_F(GatewayLoopTest, NoLinkCreditGets503WithRetryAfter) {
    start_gateway();
    ProxyEnd& proxy = start_proxy(1);  // the proxy grants one stanza and never more
    proxy.grant_credit = false;
    auto first = send_and_wait(sip_message("sip:juliet@sip.test", "sip:romeo@partner.test", "1"));
    EXPECT_EQ(first->status, 200);
    auto second = send_and_wait(sip_message("sip:juliet@sip.test", "sip:romeo@partner.test", "2"));
    EXPECT_EQ(second->status, 503);
    EXPECT_FALSE(second->retry_after.empty());
}

TEST_F(GatewayLoopTest, NoXmppAccessRefusedBothWays) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client
                    ->send_stanza(from_partner("<message from='romeo@partner.test' "
                                               "to='bob@sip.test' id='b1'><body>hi</body>"
                                               "</message>"))
                    .has_value());
    ASSERT_TRUE(run_until([&] { return !proxy.stanzas.empty(); }));
    const Element* c = error_condition(*proxy.stanzas[0]);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->name(), "forbidden");
    ASSERT_TRUE(proxy.client
                    ->send_stanza(from_partner("<presence from='romeo@partner.test' "
                                               "to='bob@sip.test' type='subscribe'/>",
                                               "public-unverified"))
                    .has_value());
    ASSERT_TRUE(run_until([&] { return proxy.stanzas.size() >= 2; }));
    EXPECT_EQ(proxy.stanzas[1]->name(), "presence");
    EXPECT_EQ(proxy.stanzas[1]->attr_or("type", ""), "error");
    const Element* pc = error_condition(*proxy.stanzas[1]);
    ASSERT_NE(pc, nullptr);
    EXPECT_EQ(pc->name(), "forbidden");
    auto a = send_and_wait(sip_message("sip:bob@sip.test", "sip:romeo@partner.test", "hi"));
    EXPECT_EQ(a->status, 403);
    EXPECT_TRUE(received_.empty()) << "nothing reached the SIP platform";
}

TEST_F(GatewayLoopTest, BodiesAreLoggedOnlyWhenTheRegistrySaysSo) {
    ASSERT_TRUE(store_->set_setting("log_message_bodies", "on").has_value());
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client->send_stanza(from_partner(kChat)).has_value());
    ASSERT_TRUE(run_until([&] { return logged("gateway.message_delivered"); }));
    EXPECT_TRUE(logged("gateway.message_to_sip"));
    bool body_seen = false;
    for (const auto& l : log_lines_)
        if (l.find("Wherefore art thou?") != std::string::npos) body_seen = true;
    EXPECT_TRUE(body_seen);
}

TEST_F(GatewayLoopTest, ErrorsFromXmppAreNeverTurnedIntoMessages) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client
                    ->send_stanza(
                        from_partner("<message from='romeo@partner.test' to='juliet@sip.test' "
                                     "type='error' id='e1'><body>x</body><error type='cancel'>"
                                     "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                                     "</error></message>"))
                    .has_value());
    ASSERT_TRUE(run_until([&] { return logged("gateway.xmpp_error_not_relayed"); }));
    run_for(50);
    EXPECT_TRUE(received_.empty());
    EXPECT_TRUE(proxy.stanzas.empty()) << "an error is never answered";
}

TEST_F(GatewayLoopTest, NotOurDomainIsBounced) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client
                    ->send_stanza(from_partner("<message from='romeo@partner.test' "
                                               "to='juliet@other.test'><body>hi</body></message>"))
                    .has_value());
    ASSERT_TRUE(run_until([&] { return !proxy.stanzas.empty(); }));
    const Element* c = error_condition(*proxy.stanzas[0]);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->name(), "service-unavailable");
}

TEST_F(GatewayLoopTest, RegistrySnapshotOnConnectAndAfterChange) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(run_until([&] { return !proxy.registries.empty(); }));
    const std::uint64_t first = proxy.registries[0].first;
    EXPECT_EQ(first, gateway_->registry_version());
    EXPECT_EQ(proxy.registries[0].second.find("newpartner.test"), std::string::npos);

    registry::Partner p;
    p.domain = "newpartner.test";
    p.type = registry::PartnerType::Federated;
    ASSERT_TRUE(store_->add_partner(p).has_value());
    ASSERT_TRUE(run_until([&] { return proxy.registries.size() >= 2; }));
    EXPECT_GT(proxy.registries.back().first, first);
    auto policy = registry::policy_from_json(proxy.registries.back().second);
    ASSERT_TRUE(policy.has_value()) << policy.error();
    EXPECT_NE(policy->find_partner("newpartner.test"), nullptr);
}

TEST_F(GatewayLoopTest, DiscoInfoAndPingAnswered) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client
                    ->send_stanza(from_partner(
                        "<iq from='romeo@partner.test/o' to='sip.test' type='get' id='d1'>"
                        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))
                    .has_value());
    ASSERT_TRUE(proxy.client
                    ->send_stanza(from_partner("<iq from='partner.test' to='sip.test' "
                                               "type='get' id='p1'><ping xmlns='urn:xmpp:ping'/>"
                                               "</iq>"))
                    .has_value());
    ASSERT_TRUE(run_until([&] { return proxy.stanzas.size() >= 2; }));
    const Element& info = *proxy.stanzas[0];
    EXPECT_EQ(info.attr_or("type", ""), "result");
    EXPECT_EQ(info.attr_or("id", ""), "d1");
    const Element* q = info.find_child("query", "http://jabber.org/protocol/disco#info");
    ASSERT_NE(q, nullptr);
    const Element* id = q->find_child("identity");
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(id->attr_or("category", ""), "gateway");
    EXPECT_EQ(id->attr_or("type", ""), "sip");
    EXPECT_EQ(proxy.stanzas[1]->attr_or("type", ""), "result");
    EXPECT_EQ(proxy.stanzas[1]->attr_or("id", ""), "p1");
}

TEST_F(GatewayLoopTest, ChatStatesBecomeIsComposingAndReceiptsNothing) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    auto send = [&](const std::string& xml) {
        ASSERT_TRUE(proxy.client->send_stanza(from_partner(xml)).has_value());
    };
    send(
        "<message from='romeo@partner.test/o' to='juliet@sip.test' type='chat'>"
        "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
    ASSERT_TRUE(run_until([&] { return received_.size() == 1; }));
    EXPECT_EQ(received_[0].content_type.find(kIsComposingMediaType), 0u)
        << received_[0].content_type;
    EXPECT_EQ(parse_is_composing(received_[0].body), ComposingState::Active);
    // A receipt has no page-mode form, and an empty body is never sent.
    send(
        "<message from='romeo@partner.test/o' to='juliet@sip.test' id='r1'>"
        "<received xmlns='urn:xmpp:receipts' id='x'/></message>");
    send(
        "<message from='romeo@partner.test/o' to='juliet@sip.test' type='chat'>"
        "<body>now</body></message>");
    ASSERT_TRUE(run_until([&] { return received_.size() >= 2; }));
    run_for(100);
    ASSERT_EQ(received_.size(), 2u);
    EXPECT_EQ(received_[1].body, "now");
    EXPECT_TRUE(logged("gateway.message_not_sent"));
    EXPECT_TRUE(proxy.stanzas.empty());
}

TEST_F(GatewayLoopTest, SipRequestsOtherThanMessage) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    sip::RequestSpec spec;
    spec.from = {"", "sip:juliet@sip.test", ""};
    spec.to = {"", "sip:romeo@partner.test", ""};
    spec.contact = "sip:juliet@127.0.0.1";
    auto options = sip::build_options(spec, random());
    ASSERT_TRUE(options.has_value());
    EXPECT_EQ(send_and_wait(std::move(*options))->status, 200);

    sip::RequestSpec publish = spec;
    publish.method = "PUBLISH";
    auto pub = sip::build_request(publish, random());
    ASSERT_TRUE(pub.has_value());
    EXPECT_EQ(send_and_wait(std::move(*pub))->status, 405);

    auto other_event = sip::build_subscribe(spec, "message-summary", 600, random());
    ASSERT_TRUE(other_event.has_value());
    EXPECT_EQ(send_and_wait(std::move(*other_event))->status, 489);

    sip::RequestSpec foreign = spec;
    foreign.from = {"", "sip:mallory@evil.test", ""};
    auto spoofed = sip::build_subscribe(foreign, "presence", 600, random());
    ASSERT_TRUE(spoofed.has_value());
    EXPECT_EQ(send_and_wait(std::move(*spoofed))->status, 403);

    // A presence SUBSCRIBE reaches the engine (which answers it) and marks the pair as a
    // contact the SIP user added (DESIGN.md: public-unverified authorisation).
    auto subscribe = sip::build_subscribe(spec, "presence", 600, random());
    ASSERT_TRUE(subscribe.has_value());
    auto a = send_and_wait(std::move(*subscribe));
    ASSERT_TRUE(a->status.has_value());
    EXPECT_NE(*a->status, 403);
    auto contact = store_->has_contact("juliet@sip.test", "romeo@partner.test");
    ASSERT_TRUE(contact.has_value());
    EXPECT_TRUE(*contact);
    (void)proxy;
}

TEST_F(GatewayLoopTest, StatusDescribesLinksSipAndRegistry) {
    start_gateway();
    auto before = gateway_->status();
    EXPECT_EQ(before["service"], "fedgw-gateway");
    EXPECT_TRUE(before["links"].empty());
    ProxyEnd& proxy = start_proxy();
    (void)proxy;
    auto s = gateway_->status();
    ASSERT_EQ(s["listeners"].size(), 1u);
    EXPECT_EQ(s["listeners"][0]["address"],
              "127.0.0.1:" + std::to_string(gateway_->link_addresses().at(0).port));
    ASSERT_EQ(s["links"].size(), 1u);
    EXPECT_EQ(s["links"][0]["state"], "up");
    EXPECT_EQ(s["links"][0]["tls_version"], "TLSv1.3");
    EXPECT_EQ(s["sip"]["listen"][0], "udp:127.0.0.1:" + std::to_string(gateway_sip_port()));
    EXPECT_EQ(s["sip"]["next_hops"][0], "udp:127.0.0.1:" + std::to_string(platform_port()));
    EXPECT_TRUE(s["subscriptions"].is_array());
    EXPECT_EQ(s["domains"], nlohmann::json::array({"sip.test"}));
    EXPECT_EQ(s["registry"]["path"], registry_path_);
    EXPECT_EQ(s["registry"]["version"], gateway_->registry_version());
    for (const char* key : {"version", "pid", "uptime_s"})
        EXPECT_TRUE(s.contains(key)) << key;
}

TEST_F(GatewayLoopTest, StopSaysGoodbyeToTheProxy) {
    start_gateway();
    ProxyEnd& proxy = start_proxy();
    bool stopped = false;
    gateway_->stop([&] { stopped = true; });
    ASSERT_TRUE(run_until([&] { return stopped; }));
    EXPECT_TRUE(gateway_->is_stopped());
    ASSERT_FALSE(proxy.downs.empty());
    EXPECT_EQ(proxy.downs[0].code, link::CloseCode::PeerGoodbye) << proxy.downs[0].describe();
}

TEST_F(GatewayLoopTest, StopWaitsForMessagesInFlightAndBouncesTheRest) {
    start_gateway(make_config(start_silent_next_hop()));
    ProxyEnd& proxy = start_proxy();
    ASSERT_TRUE(proxy.client->send_stanza(from_partner(kChat)).has_value());
    ASSERT_TRUE(run_until([&] { return logged("gateway.message_to_sip"); }));
    gateway_->stop();
    // Timer F (1.28 s) fires within the grace period (1 s) or the stack's shutdown ends the
    // transaction: either way the sender hears about it before the link says goodbye.
    ASSERT_TRUE(run_until([&] { return gateway_->is_stopped(); }, 5000));
    ASSERT_EQ(proxy.stanzas.size(), 1u);
    EXPECT_EQ(proxy.stanzas[0]->attr_or("type", ""), "error");
}

}  // namespace
}  // namespace fedgw::gateway::test
