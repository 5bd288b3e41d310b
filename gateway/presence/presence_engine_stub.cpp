// STUB of the PresenceEngine (presence_engine.hpp), for building and testing the gateway
// server while the real engine is written in this folder. create() succeeds, SUBSCRIBE and
// NOTIFY are answered 489 Bad Event (RFC 6665 §8.2.1: "presence" is not supported here), XMPP
// presence is logged and dropped, summary() is empty. Replaced by the real engine at merge.
//
// Loop-bound.

// COMPAT: presence_engine.hpp names sip::SipTransportAddr, which is declared in fedgw.
#include "common/config/address.hpp"
namespace fedgw::gateway::sip {
using fedgw::SipTransportAddr;
}

#include "gateway/presence/presence_engine.hpp"

#include "common/log/log.hpp"

namespace fedgw::gateway {

struct PresenceEngine::Impl {
    sip::SipStack* sip = nullptr;
    bool closed = false;
};

Result<std::unique_ptr<PresenceEngine>, PresenceError> PresenceEngine::create(
    uv_loop_t* /*loop*/, sip::SipStack& sip, PresenceOptions /*options*/, PresenceHooks /*hooks*/) {
    auto impl = std::make_unique<Impl>();
    impl->sip = &sip;
    log::warn("presence.stub", {{"note", "presence is not translated in this build"}});
    return std::unique_ptr<PresenceEngine>(new PresenceEngine(std::move(impl)));
}

PresenceEngine::PresenceEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PresenceEngine::~PresenceEngine() {
    close();
}

void PresenceEngine::on_xmpp_presence(const Element& presence, registry::PartnerType) {
    log::debug("presence.stub_dropped", {{"from", presence.attr_or("from", "")},
                                         {"to", presence.attr_or("to", "")},
                                         {"type", presence.attr_or("type", "")}});
}

void PresenceEngine::on_sip_request(const sip::SipMessage& request,
                                    const sip::ServerTransaction& tx) {
    if (impl_->closed) return;
    if (auto r = impl_->sip->respond(tx, 489, "Bad Event"); !r)
        log::warn("presence.stub_respond_failed",
                  {{"method", request.method()}, {"reason", sip::describe(r.error())}});
}

void PresenceEngine::on_link_up() {}

std::vector<SubscriptionSummary> PresenceEngine::summary() const {
    return {};
}

void PresenceEngine::close() {
    if (impl_) impl_->closed = true;
}

}  // namespace fedgw::gateway
