// Loop-tier harness for the PresenceEngine: the engine on a real SipStack ("gw") over a
// temporary registry file, and a second SipStack ("kam") playing the SIP platform (Kamailio as
// presence server and registrar): it records every request the engine sends, answers NOTIFYs
// with 200 by itself, lets the test answer SUBSCRIBEs, and sends SUBSCRIBEs and NOTIFYs of its
// own. XMPP stanzas the engine emits are collected. TearDown (the SIP fixture's) proves
// uv_loop_close() == 0 after the engine and both stacks are gone.
//
// Loop-bound test support.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "gateway/presence/presence_engine.hpp"
#include "gateway/presence/subscription_store.hpp"
#include "gateway/translate/pidf.hpp"
#include "tests/loop/sip/sip_loop_fixture.hpp"
#include "tests/unit/db/temp_dir.hpp"

namespace fedgw::gateway::test {

using fedgw::SipTransport;
using sip::Header;
using sip::RequestSpec;
using sip::ResponseSpec;
using sip::ServerTransaction;
using sip::SipMessage;
using sip::SipStack;
using sip::SipStackOptions;
using sip::SubscriptionState;

inline constexpr char kAlice[] = "sip:alice@sip.test";      // S
inline constexpr char kRomeoSip[] = "sip:romeo@xmpp.test";  // U's SIP form

// Alice at her desk in a meeting: open, RPID busy, a note (RFC 3863, RFC 4480).
inline std::string alice_busy_pidf() {
    return "<?xml version='1.0' encoding='UTF-8'?>"
           "<presence xmlns='urn:ietf:params:xml:ns:pidf' "
           "xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' "
           "xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' entity='sip:alice@sip.test'>"
           "<tuple id='t1'><status><basic>open</basic></status></tuple>"
           "<dm:person id='p1'><rpid:activities><rpid:busy/></rpid:activities>"
           "<dm:note>In a meeting</dm:note></dm:person></presence>";
}

struct Received {
    SipMessage message;
    ServerTransaction tx;
    std::uint64_t at_ms = 0;
    bool answered = false;
};

class PresenceLoopTest : public sip::test::SipLoopTest {
  protected:
    void SetUp() override {
        SipLoopTest::SetUp();
        SipStackOptions o;
        o.timers = sip::SipTimers{50, 400, 500};  // Timer F 3.2 s, answer deadline 1.6 s
        gw_ = &make_stack({sip::test::addr(SipTransport::Udp, 0)}, trust_loopback(), o);
        kam_ = &make_stack({sip::test::addr(SipTransport::Udp, 0)}, trust_loopback(), o);
        kam_->on_request([this](const SipMessage& m, const ServerTransaction& tx) {
            auto copy = m.clone();
            ASSERT_TRUE(copy.has_value());
            Received r{std::move(*copy), tx, now(), false};
            if (m.method() == "NOTIFY" && notify_status_ != 0) {
                EXPECT_TRUE(kam_->respond(tx, notify_status_).has_value());
                r.answered = true;
            }
            received_.push_back(std::move(r));
        });
        gw_->on_request([this](const SipMessage& m, const ServerTransaction& tx) {
            if (engine_) {
                engine_->on_sip_request(m, tx);
            } else {
                EXPECT_TRUE(gw_->respond(tx, 503).has_value());
            }
        });
        options_.registry_path = dir_.file("registry.sqlite");
        options_.sip_domains = {"sip.test"};
        options_.next_hop = sip::test::addr(SipTransport::Udp, port_of(*kam_, SipTransport::Udp));
    }

    void TearDown() override {
        engine_.reset();  // before the stacks: it forgets its transactions
        SipLoopTest::TearDown();
    }

    void start_engine() {
        PresenceHooks hooks;
        hooks.send_xmpp = [this](std::unique_ptr<Element> e) {
            xmpp_.push_back(serialize(*e, kNsServer));
        };
        hooks.authorize = [this](const std::string& sip_aor, const std::string& bare_jid,
                                 registry::PartnerType) {
            authorize_calls_.push_back(sip_aor + " " + bare_jid);
            return authorization_;
        };
        auto e = PresenceEngine::create(&loop_, *gw_, options_, hooks);
        ASSERT_TRUE(e.has_value()) << e.error().text;
        engine_ = std::move(*e);
    }

    void xmpp_in(const std::string& xml,
                 registry::PartnerType type = registry::PartnerType::Federated) {
        auto e = parse_fragment(xml, kNsServer);
        ASSERT_TRUE(e.has_value()) << xml;
        engine_->on_xmpp_presence(**e, type);
    }

    std::size_t count(const std::string& method) const {
        std::size_t n = 0;
        for (const auto& r : received_)
            n += r.message.method() == method ? 1 : 0;
        return n;
    }

    // The n-th (1-based) request of `method` kam received, waiting up to max_ms for it.
    Received* wait_for(const std::string& method, std::size_t n, std::uint64_t max_ms = 4000) {
        if (!run_until([&] { return count(method) >= n; }, max_ms)) return nullptr;
        std::size_t seen = 0;
        for (auto& r : received_) {
            if (r.message.method() == method && ++seen == n) return &r;
        }
        return nullptr;
    }

    bool wait_xmpp(std::size_t n, std::uint64_t max_ms = 4000) {
        return run_until([&] { return xmpp_.size() >= n; }, max_ms);
    }

    // kam answers a SUBSCRIBE it received.
    void answer(Received& r, int status, std::vector<Header> headers = {},
                const std::string& to_tag = "kam-tag") {
        ResponseSpec spec;
        spec.to_tag = to_tag;
        spec.contact = kam_->contact_uri(SipTransport::Udp);
        spec.headers = std::move(headers);
        auto ok = kam_->respond(r.tx, status, {}, spec);
        EXPECT_TRUE(ok.has_value());
        r.answered = true;
    }

    // kam sends a NOTIFY in the dialog the engine's SUBSCRIBE `sub` created.
    std::shared_ptr<sip::test::Outcome> notify(const SipMessage& sub, std::uint32_t cseq,
                                               SubscriptionState state,
                                               const std::string& body = {},
                                               const std::string& to_tag = "kam-tag") {
        RequestSpec spec;
        auto contacts = sub.contacts();
        EXPECT_FALSE(contacts.empty());
        spec.request_uri = contacts.empty() ? sub.from().uri : contacts.front().uri;
        spec.from = {"", sub.to().uri, to_tag};
        spec.to = {"", sub.from().uri, sub.from().tag};
        spec.call_id = sub.call_id();
        spec.cseq = cseq;
        spec.contact = kam_->contact_uri(SipTransport::Udp);
        auto m = sip::build_notify(spec, "presence", state,
                                   body.empty() ? "" : "application/pidf+xml", body, rnd());
        EXPECT_TRUE(m.has_value());
        return send(*kam_, std::move(*m), gw_addr());
    }

    // kam relays a SUBSCRIBE from Alice to an XMPP user (outside a dialog).
    std::shared_ptr<sip::test::Outcome> sip_subscribe(const std::string& to_uri,
                                                      std::uint32_t expires,
                                                      const std::string& call_id,
                                                      std::uint32_t cseq = 1,
                                                      const std::string& to_tag = {},
                                                      const std::string& event = "presence") {
        RequestSpec spec;
        spec.from = {"Alice", kAlice, "alice-tag"};
        spec.to = {"", to_uri, to_tag};
        spec.call_id = call_id;
        spec.cseq = cseq;
        spec.contact = "sip:alice@127.0.0.1:" + std::to_string(port_of(*kam_, SipTransport::Udp));
        auto m = sip::build_subscribe(spec, event, expires, rnd());
        EXPECT_TRUE(m.has_value());
        auto out = std::make_shared<sip::test::Outcome>();
        kam_->send_request(
            std::move(*m), gw_addr(), [this, out](Result<SipMessage, sip::RequestError> r) {
                if (r) {
                    out->status = r->status_code();
                    out->to_tag = r->to().tag;
                    out->text = r->header("Expires").value_or("");
                    last_response_contact_ = r->contacts().empty() ? "" : r->contacts().front().uri;
                } else {
                    out->failure = r.error().failure;
                }
            });
        return out;
    }

    SipTransportAddr gw_addr() {
        return sip::test::addr(SipTransport::Udp, port_of(*gw_, SipTransport::Udp));
    }

    sip::RandomSource rnd() {
        auto n = std::make_shared<std::uint64_t>(++random_seed_ * 7919);
        return [n] { return *n = *n * 6364136223846793005ULL + 1442695040888963407ULL; };
    }

    // The stored row of (U, S), read through a second connection as a restart would.
    std::optional<PairRecord> stored(const std::string& xmpp, const std::string& sip_aor) {
        auto s = SubscriptionStore::open(options_.registry_path);
        EXPECT_TRUE(s.has_value());
        if (!s) return std::nullopt;
        auto r = s->load(xmpp, sip_aor);
        EXPECT_TRUE(r.has_value());
        return r ? *r : std::nullopt;
    }

    static Result<PidfDocument, PidfFailure> pidf_of(const Received& r) {
        return parse_pidf(r.message.body());
    }

    fedgw::test::TempDir dir_;
    SipStack* gw_ = nullptr;
    SipStack* kam_ = nullptr;
    PresenceOptions options_;
    std::unique_ptr<PresenceEngine> engine_;
    std::deque<Received> received_;  // a deque: wait_for()'s pointers stay valid
    std::vector<std::string> xmpp_;
    std::vector<std::string> authorize_calls_;
    WatcherAuthorization authorization_ = WatcherAuthorization::Allowed;
    int notify_status_ = 200;  // 0: the test answers NOTIFYs itself
    std::string last_response_contact_;
    std::uint64_t random_seed_ = 0;
};

}  // namespace fedgw::gateway::test
