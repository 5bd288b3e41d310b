// SipStack against itself and raw peers on 127.0.0.1: MESSAGE -> 200 over UDP, TCP and TLS,
// timeouts within the shortened timers, retransmission absorption, the trust check, TCP
// framing, INVITE refusal and the answer deadline.
#include <gtest/gtest.h>

#include "common/tls/tls_context.hpp"
#include "gateway/sip/sip_tls.hpp"
#include "tests/loop/sip/sip_loop_fixture.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::gateway::sip::test {
namespace {

// A stack that answers every request with 200 and remembers what it got.
struct Answerer {
    std::vector<std::string> bodies;
    std::vector<PeerAddress> sources;
    std::vector<std::string> methods;
    int status = 200;

    void attach(SipStack& s) {
        s.on_request([this, &s](const SipMessage& req, const ServerTransaction& tx) {
            bodies.push_back(req.body());
            sources.push_back(tx.source);
            methods.push_back(req.method());
            EXPECT_TRUE(s.respond(tx, status).has_value());
        });
    }
};

TEST_F(SipLoopTest, UdpMessageGets200) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    auto out = send(a, message_to("hello over udp"),
                    addr(SipTransport::Udp, port_of(b, SipTransport::Udp)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 200) << out->text;
    EXPECT_FALSE(out->to_tag.empty());
    ASSERT_EQ(answer.bodies.size(), 1u);
    EXPECT_EQ(answer.bodies[0], "hello over udp");
    EXPECT_EQ(answer.sources[0].transport, SipTransport::Udp);
    EXPECT_EQ(answer.sources[0].port, port_of(a, SipTransport::Udp));
}

TEST_F(SipLoopTest, TcpMessagesGet200OnOneConnection) {
    SipStack& a = make_stack({addr(SipTransport::Tcp, 0)}, {});
    SipStack& b = make_stack({addr(SipTransport::Tcp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    const auto to = addr(SipTransport::Tcp, port_of(b, SipTransport::Tcp));
    auto first = send(a, message_to("one"), to);
    ASSERT_TRUE(run_until([&] { return first->done(); }));
    EXPECT_EQ(first->status, 200) << first->text;
    auto second = send(a, message_to("two"), to);
    ASSERT_TRUE(run_until([&] { return second->done(); }));
    EXPECT_EQ(second->status, 200) << second->text;
    ASSERT_EQ(answer.sources.size(), 2u);
    EXPECT_EQ(answer.sources[0], answer.sources[1]) << "the connection was not reused";
    EXPECT_EQ(a.stats().connections, 1u);
    EXPECT_EQ(answer.bodies[1], "two");
}

TEST_F(SipLoopTest, IdleConnectionClosesDespiteKeepalives) {
    SipStackOptions ao;
    ao.keepalive_interval_ms = 20;  // CRLFCRLF pings, answered by B, are not activity
    ao.idle_timeout_ms = 200;
    SipStack& a = make_stack({addr(SipTransport::Tcp, 0)}, {}, ao);
    SipStack& b = make_stack({addr(SipTransport::Tcp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    const auto to = addr(SipTransport::Tcp, port_of(b, SipTransport::Tcp));
    auto first = send(a, message_to("before idle"), to);
    ASSERT_TRUE(run_until([&] { return first->done(); }));
    EXPECT_EQ(first->status, 200) << first->text;
    EXPECT_EQ(a.stats().connections, 1u);
    ASSERT_TRUE(run_until([&] { return a.stats().connections == 0; }, 3000));
    ASSERT_TRUE(run_until([&] { return b.stats().connections == 0; }, 3000));
    auto second = send(a, message_to("after idle"), to);
    ASSERT_TRUE(run_until([&] { return second->done(); }));
    EXPECT_EQ(second->status, 200) << second->text;
    ASSERT_EQ(answer.sources.size(), 2u);
    EXPECT_NE(answer.sources[0].port, answer.sources[1].port) << "a new connection";
}

TEST_F(SipLoopTest, TlsMessageGets200) {
    fedgw::test::TestCa ca;
    const auto leaf = ca.issue({.dns = {"gw.test"}});
    SipConfig config;
    config.listen = {addr(SipTransport::Tls, 0)};
    config.tls_cert = leaf.chain_path;
    config.tls_key = leaf.key_path;
    config.tls_ca = ca.ca_path();
    auto contexts = make_tls_contexts(config);
    ASSERT_TRUE(contexts.has_value()) << contexts.error().describe();
    ASSERT_TRUE(contexts->server && contexts->client);
    SipConfig bad = config;
    bad.tls_key = "/nonexistent/key.pem";
    auto refused = make_tls_contexts(bad);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().describe().find("/nonexistent/key.pem"), std::string::npos);

    SipStackOptions options;
    use_tls_contexts(options, *contexts);
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {}, options);
    SipStack& b = make_stack({addr(SipTransport::Tls, 0)}, trust_loopback(), options);
    Answerer answer;
    answer.attach(b);
    auto out =
        send(a, message_to("secret"), addr(SipTransport::Tls, port_of(b, SipTransport::Tls)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 200) << out->text;
    ASSERT_EQ(answer.bodies.size(), 1u);
    EXPECT_EQ(answer.bodies[0], "secret");
    EXPECT_EQ(answer.sources[0].transport, SipTransport::Tls);
    EXPECT_EQ(b.contact_uri(SipTransport::Tls).rfind("sip:127.0.0.1:", 0), 0u);
    EXPECT_NE(b.contact_uri(SipTransport::Tls).find(";transport=tls"), std::string::npos);
    stacks_.clear();  // close before the TLS contexts go
}

TEST_F(SipLoopTest, TlsListenerWithoutCertificateIsRefused) {
    SipStackOptions o;
    o.listen = {addr(SipTransport::Tls, 0)};
    auto s = SipStack::create(&loop_, o);
    ASSERT_FALSE(s.has_value());
    EXPECT_NE(s.error().text.find("no TLS certificate"), std::string::npos) << s.error().text;
}

TEST_F(SipLoopTest, UdpRequestNobodyAnswersTimesOutWithinTimerF) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    RawUdp& silent = raw_udp();
    const std::uint64_t start = now();
    auto out = send(a, message_to(), addr(SipTransport::Udp, silent.port));
    ASSERT_TRUE(run_until([&] { return out->done(); }, 5000));
    EXPECT_EQ(out->failure, RequestFailure::Timeout) << out->text;
    EXPECT_EQ(equivalent_status(*out->failure), 408);
    const std::uint64_t took = out->at_ms - start;
    EXPECT_GE(took, 64u * 20 - 20);
    EXPECT_LE(took, 64u * 20 + 1500);
    // Timer E: T1 doubling to T2 (20, 40, 80, 160, 160, ...) gives about 10 retransmissions
    // in 1.28 s, where libosip2's built-in 500 ms would give at most 2.
    EXPECT_GE(silent.received.size(), 4u);
    EXPECT_LE(silent.received.size(), 14u);
    EXPECT_EQ(a.stats().client_transactions, 0u);
}

TEST_F(SipLoopTest, TcpPeerThatNeverAnswersTimesOut) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    SilentTcp& silent = silent_tcp();
    auto out = send(a, message_to(), addr(SipTransport::Tcp, silent.port));
    ASSERT_TRUE(run_until([&] { return out->done(); }, 5000));
    EXPECT_EQ(out->failure, RequestFailure::Timeout) << out->text;
    EXPECT_EQ(silent.accepted.size(), 1u);
}

TEST_F(SipLoopTest, TcpConnectionRefusedIsATransportError) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    RawUdp& unused = raw_udp();  // a port with no TCP listener
    auto out = send(a, message_to(), addr(SipTransport::Tcp, unused.port));
    ASSERT_TRUE(run_until([&] { return out->done(); }, 3000));
    EXPECT_EQ(out->failure, RequestFailure::TransportError) << out->text;
    EXPECT_NE(out->text.find("connect"), std::string::npos) << out->text;
}

TEST_F(SipLoopTest, UdpRetransmissionIsAbsorbed) {
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    RawUdp& peer = raw_udp();
    SipMessage m = message_to("once");
    RandomSource r = [] { return 42; };
    ASSERT_TRUE(set_top_via(m, ViaSpec{SipTransport::Udp, "127.0.0.1", peer.port, true, {}}, r));
    const std::string bytes = *m.to_string();
    const std::uint16_t bport = port_of(b, SipTransport::Udp);
    peer.send(bport, bytes);
    ASSERT_TRUE(run_until([&] { return peer.received.size() == 1; }));
    peer.send(bport, bytes);  // the retransmission: the 200 is sent again, the TU not told
    ASSERT_TRUE(run_until([&] { return peer.received.size() == 2; }));
    EXPECT_EQ(answer.bodies.size(), 1u);
    EXPECT_EQ(b.stats().retransmissions_absorbed, 1u);
    auto r1 = SipMessage::parse(peer.received[0]);
    auto r2 = SipMessage::parse(peer.received[1]);
    ASSERT_TRUE(r1 && r2);
    EXPECT_EQ(r1->status_code(), 200);
    EXPECT_EQ(r1->to().tag, r2->to().tag);
    EXPECT_EQ(r1->top_via()->rport_value, peer.port);
}

TEST_F(SipLoopTest, UntrustedSourceGets403) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    SipStackOptions bo;
    bo.next_hops = {SipTransportAddr{
        SipTransport::Udp, HostPort{"192.0.2.1", 5060, parse_ip_address("192.0.2.1").value()}}};
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, {}, bo);
    Answerer answer;
    answer.attach(b);
    EXPECT_FALSE(b.is_trusted(loopback()));
    EXPECT_TRUE(b.is_trusted(*parse_ip_address("192.0.2.1")));
    auto out = send(a, message_to(), addr(SipTransport::Udp, port_of(b, SipTransport::Udp)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 403);
    EXPECT_TRUE(answer.bodies.empty());
    EXPECT_EQ(b.stats().untrusted_refused, 1u);
}

TEST_F(SipLoopTest, TcpFramingSplitAndCoalesced) {
    SipStack& b = make_stack({addr(SipTransport::Tcp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    RawTcp& peer = raw_tcp(port_of(b, SipTransport::Tcp));
    ASSERT_TRUE(run_until([&] { return peer.connected; }));
    auto wire = [this](const std::string& body) {
        SipMessage m = message_to(body);
        RandomSource r = [] { return 7; };
        EXPECT_TRUE(set_top_via(m,
                                ViaSpec{SipTransport::Tcp, "127.0.0.1", 5999, false,
                                        make_branch([n = messages_] { return n; })},
                                r));
        return *m.to_string();
    };
    const std::string one = wire("split"), two = wire("second"), three = wire("third");
    peer.write(one.substr(0, 40));
    const std::uint64_t until = now() + 50;
    run_until([&] { return now() >= until; });
    EXPECT_TRUE(answer.bodies.empty());
    peer.write(one.substr(40));
    ASSERT_TRUE(run_until([&] { return answer.bodies.size() == 1; }));
    peer.write("\r\n\r\n" + two + three);  // a keepalive and two messages in one write
    ASSERT_TRUE(run_until([&] { return peer.messages.size() == 3; }));
    ASSERT_EQ(answer.bodies.size(), 3u);
    EXPECT_EQ(answer.bodies[0], "split");
    EXPECT_EQ(answer.bodies[1], "second");
    EXPECT_EQ(answer.bodies[2], "third");
    for (const auto& m : peer.messages)
        EXPECT_EQ(SipMessage::parse(m)->status_code(), 200);
}

TEST_F(SipLoopTest, InviteGets488AndAckIsIgnored) {
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, trust_loopback());
    Answerer answer;
    answer.attach(b);
    RawUdp& peer = raw_udp();
    const std::string invite =
        "INVITE sip:juliet@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
        std::to_string(peer.port) +
        ";branch=z9hG4bKinvite1\r\nFrom: <sip:r@x>;tag=1\r\nTo: <sip:j@y>\r\nCall-ID: inv1\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    peer.send(port_of(b, SipTransport::Udp), invite);
    ASSERT_TRUE(run_until([&] { return peer.received.size() == 1; }));
    auto r = SipMessage::parse(peer.received[0]);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status_code(), 488);
    EXPECT_FALSE(r->to().tag.empty());
    std::string ack = invite;
    ack.replace(0, 6, "ACK");
    ack.replace(ack.find("1 INVITE"), 8, "1 ACK");
    peer.send(port_of(b, SipTransport::Udp), ack);
    peer.send(port_of(b, SipTransport::Udp), invite);  // retransmission: same answer
    ASSERT_TRUE(run_until([&] { return peer.received.size() == 2; }));
    EXPECT_EQ(SipMessage::parse(peer.received[1])->to().tag, r->to().tag);
    EXPECT_TRUE(answer.methods.empty());
}

TEST_F(SipLoopTest, UnansweredRequestGets504AtTheDeadline) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    SipStackOptions bo;
    bo.answer_deadline_ms = 100;
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, trust_loopback(), bo);
    std::optional<ServerTransaction> held;
    b.on_request([&](const SipMessage&, const ServerTransaction& tx) { held = tx; });
    auto out = send(a, message_to(), addr(SipTransport::Udp, port_of(b, SipTransport::Udp)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 504);
    ASSERT_TRUE(held.has_value());
    EXPECT_EQ(b.respond(*held, 200).error(), RespondError::AlreadyAnswered);
    EXPECT_EQ(b.respond(ServerTransaction{999999, {}}, 200).error(),
              RespondError::NoSuchTransaction);
}

TEST_F(SipLoopTest, ProvisionalThenFinalAndNoHandlerGets501) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    SipStack& b = make_stack({addr(SipTransport::Udp, 0)}, trust_loopback());
    auto out = send(a, message_to(), addr(SipTransport::Udp, port_of(b, SipTransport::Udp)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 501);

    b.on_request([&](const SipMessage&, const ServerTransaction& tx) {
        EXPECT_TRUE(b.respond(tx, 100).has_value());
        EXPECT_TRUE(b.respond(tx, 202, "Accepted").has_value());
        EXPECT_EQ(b.respond(tx, 200).error(), RespondError::AlreadyAnswered);
    });
    out = send(a, message_to(), addr(SipTransport::Udp, port_of(b, SipTransport::Udp)));
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 202);
}

TEST_F(SipLoopTest, CloseDeliversShutdownToPendingRequests) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    RawUdp& silent = raw_udp();
    auto out = send(a, message_to(), addr(SipTransport::Udp, silent.port));
    ASSERT_TRUE(run_until([&] { return !silent.received.empty(); }));
    a.close();
    ASSERT_TRUE(out->done());
    EXPECT_EQ(out->failure, RequestFailure::Shutdown);
    auto late = send(a, message_to(), addr(SipTransport::Udp, silent.port));
    EXPECT_EQ(late->failure, RequestFailure::Shutdown);
}

TEST_F(SipLoopTest, NamedNextHopWithoutResolverIsRefused) {
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {});
    auto out =
        send(a, message_to(),
             SipTransportAddr{SipTransport::Udp, HostPort{"sip.example", 5060, std::nullopt}});
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->failure, RequestFailure::InvalidRequest);
}

}  // namespace
}  // namespace fedgw::gateway::sip::test
