// GatewayServer, toward XMPP: stanzas into STANZA frames for whichever proxy has credit, a
// bounded queue for those the gateway itself generates (bounces, iq answers, presence) while
// no proxy has credit, and what happens when proxies come and go (registry snapshot on up).
// SIP MESSAGEs never wait here: they are answered 480/503 instead (send_now).
//
// Loop-bound.
#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "gateway/server/gateway_server.hpp"

namespace fedgw::gateway {
namespace {

// The domain of a JID string ("user@d/res" -> "d"); no preparation, for frame headers and logs.
std::string domain_of(std::string_view jid) {
    if (auto slash = jid.find('/'); slash != std::string_view::npos) jid = jid.substr(0, slash);
    if (auto at = jid.find('@'); at != std::string_view::npos) jid = jid.substr(at + 1);
    return std::string(jid);
}

link::StanzaFrame frame_for(const Element& stanza) {
    link::StanzaFrame f;
    f.local = domain_of(stanza.attr_or("from", ""));  // our domain it comes from
    f.xml = serialize(stanza, kNsServer);
    return f;
}

}  // namespace

GatewayServer::LinkSend GatewayServer::send_now(const Element& stanza) {
    if (dying_ || !link_) return LinkSend::NoLink;
    if (!queue_.empty()) return LinkSend::NoCredit;  // stay behind what already waits
    auto r = link_->send_stanza_any(frame_for(stanza));
    if (r) return LinkSend::Sent;
    switch (r.error()) {
        case link::SendRefusal::NotEstablished:
            return LinkSend::NoLink;
        case link::SendRefusal::NoCredit:
            return LinkSend::NoCredit;
        case link::SendRefusal::Unencodable:
        case link::SendRefusal::TooLarge:
            break;
    }
    return LinkSend::Unsendable;
}

void GatewayServer::send_to_xmpp(std::unique_ptr<Element> stanza, std::string_view what) {
    std::string to(stanza->attr_or("to", ""));
    if (dying_ || !link_) {
        log::warn("gateway.xmpp_lost",
                  {{"to", to}, {"what", what}, {"reason", "the gateway is shutting down"}});
        return;
    }
    Queued q{frame_for(*stanza), to, std::string(what)};
    if (queue_.empty()) {
        auto r = link_->send_stanza_any(q.frame);
        if (r) {
            log::debug("gateway.to_xmpp", {{"to", to}, {"what", what}, {"conn", *r}});
            return;
        }
        if (r.error() != link::SendRefusal::NoCredit) {
            // Nobody to tell: the link is the only way to the XMPP sender.
            log::warn("gateway.xmpp_lost",
                      {{"to", to},
                       {"what", what},
                       {"reason", r.error() == link::SendRefusal::NotEstablished
                                      ? std::string("no proxy link is up")
                                      : std::string(link::describe(r.error()))}});
            return;
        }
    }
    if (queue_.size() >= options_.max_queued_to_link) {
        log::warn("gateway.xmpp_lost",
                  {{"to", to}, {"what", what}, {"reason", "the queue toward the proxy is full"}});
        return;
    }
    if (queue_.empty()) log::debug("gateway.link_backpressure", {{"action", "queue"}});
    queue_.push_back(std::move(q));
}

void GatewayServer::flush_queue() {
    while (!queue_.empty() && link_) {
        Queued& q = queue_.front();
        auto r = link_->send_stanza_any(q.frame);
        if (!r) {
            if (r.error() == link::SendRefusal::NoCredit) return;
            if (r.error() == link::SendRefusal::NotEstablished) {
                drop_queue("no proxy link is up");
                return;
            }
            log::warn("gateway.xmpp_lost",
                      {{"to", q.to}, {"what", q.what}, {"reason", link::describe(r.error())}});
        }
        queue_.pop_front();
    }
}

void GatewayServer::drop_queue(std::string_view why) {
    for (const Queued& q : queue_)
        log::warn("gateway.xmpp_lost", {{"to", q.to}, {"what", q.what}, {"reason", why}});
    queue_.clear();
}

void GatewayServer::link_up(link::ConnId id) {
    if (stopping_) return;
    send_snapshot(id);
    engine_->on_link_up();
    flush_queue();
}

void GatewayServer::link_down(link::ConnId id, const link::CloseReason& reason) {
    std::size_t left = link_ ? link_->up_connections().size() : 0;
    log::debug("gateway.link_down",
               {{"conn", id}, {"reason", reason.describe()}, {"proxies_left", left}});
    if (left == 0) drop_queue("the proxy link went down");
}

}  // namespace fedgw::gateway
