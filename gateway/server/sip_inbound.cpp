// GatewayServer, SIP -> XMPP: requests the SipStack accepted from a trusted source. The From
// must be a user of a domain we front (RFC 7247 §5's no-spoofing rule: 403 otherwise) who has
// XMPP access (403). MESSAGE becomes a message over the link (RFC 7572 §5 via message_map;
// 415/400 as it decides) and is answered 200 only once a proxy took it — 480 with no proxy up,
// 503 + Retry-After while no proxy has credit (docs/ARCHITECTURE.md, flow control). SUBSCRIBE
// and NOTIFY for the presence package go to the PresenceEngine; other packages get 489
// (RFC 6665 §8.2.1). OPTIONS is answered 200 (RFC 3261 §11.2); other methods 405 or 501.
//
// Loop-bound.
#include <algorithm>
#include <array>

#include "common/log/log.hpp"
#include "gateway/server/gateway_server.hpp"
#include "gateway/translate/address_map.hpp"
#include "gateway/translate/error_map.hpp"
#include "gateway/translate/message_map.hpp"

namespace fedgw::gateway {
namespace {

// Methods RFC 3261 and its extensions define that the gateway does not take: 405 with Allow
// (RFC 3261 §8.2.1). Anything else is a method we do not know: 501 (§21.5.2).
constexpr std::array<std::string_view, 7> kKnownNotAllowed{"REGISTER", "PUBLISH", "INFO", "UPDATE",
                                                           "REFER",    "PRACK",   "BYE"};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The host of a sip: or sips: URI, lower case; "" for any other URI. The user part may hold
// ';' (RFC 3261 §25.1 user-unreserved) but never an unescaped '@', so the host starts after it.
std::string uri_host(std::string_view uri) {
    if (uri.size() >= 4 && lower(uri.substr(0, 4)) == "sip:")
        uri.remove_prefix(4);
    else if (uri.size() >= 5 && lower(uri.substr(0, 5)) == "sips:")
        uri.remove_prefix(5);
    else
        return {};
    if (auto q = uri.find('?'); q != std::string_view::npos) uri = uri.substr(0, q);
    if (auto at = uri.rfind('@'); at != std::string_view::npos) uri.remove_prefix(at + 1);
    if (!uri.empty() && uri.front() == '[') return lower(uri.substr(0, uri.find(']') + 1));
    return lower(uri.substr(0, uri.find_first_of(":;")));
}

std::string user_of(std::string_view uri) {
    if (uri.rfind("sip:", 0) == 0) uri.remove_prefix(4);
    return std::string(uri);
}

}  // namespace

void GatewayServer::on_sip_request(const sip::SipMessage& request,
                                   const sip::ServerTransaction& tx) {
    const std::string method = request.method();
    if (method == "OPTIONS") {
        respond(tx, 200, {},
                {{"Allow", std::string(kGatewayAllow)}, {"Accept", std::string(kMessageAccept)}});
        return;
    }
    if (method != "MESSAGE" && method != "SUBSCRIBE" && method != "NOTIFY") {
        if (std::find(kKnownNotAllowed.begin(), kKnownNotAllowed.end(), method) !=
            kKnownNotAllowed.end())
            respond(tx, 405, {}, {{"Allow", std::string(kGatewayAllow)}}, method + " not taken");
        else
            respond(tx, 501, {}, {}, "unknown method " + method);
        return;
    }
    if (stopping_) {
        respond(tx, 503, {}, {{"Retry-After", std::to_string(options_.retry_after_s)}},
                "the gateway is shutting down");
        return;
    }
    const std::string from_uri = request.from().uri;
    const std::string host = uri_host(from_uri);
    if (!is_our_domain(host)) {
        // Only the domains we front may speak through us (RFC 7247: no spoofing).
        log::warn("sip.refused", {{"method", method},
                                  {"from", from_uri},
                                  {"source", tx.source.to_string()},
                                  {"rule", "from-domain"}});
        respond(tx, 403, "From domain not served by this gateway", {}, "from-domain");
        return;
    }
    auto from = sip_to_jid(from_uri);
    if (!from) {
        respond(tx, to_sip_status(from.error()), {}, {}, "From: " + from.error().describe());
        return;
    }
    auto aor = jid_to_sip(from->bare());
    const std::string sip_user = aor ? user_of(aor->uri) : from->bare_string();
    if (!has_xmpp_access(sip_user)) {
        log::info("sip.refused", {{"method", method},
                                  {"from", from_uri},
                                  {"user", sip_user},
                                  {"rule", "no-xmpp-access"}});
        respond(tx, 403, "No XMPP access for this user", {}, "no-xmpp-access");
        return;
    }
    if (method == "MESSAGE")
        sip_message(request, tx, *from, sip_user);
    else
        sip_presence(request, tx, sip_user);
}

void GatewayServer::sip_message(const sip::SipMessage& request, const sip::ServerTransaction& tx,
                                const Jid& from, const std::string& sip_user) {
    InboundMessageRequest in;
    in.request_uri = request.request_uri();
    in.from_uri = request.from().uri;
    in.to_uri = request.to().uri;
    in.call_id = request.call_id();
    in.content_type = request.content_type();
    in.content_encoding = request.header("Content-Encoding").value_or("");
    in.content_language = request.header("Content-Language").value_or("");
    in.subject = request.header("Subject").value_or("");
    in.body = request.body();
    auto m = translate_sip_message(in);
    if (!m) {
        std::vector<sip::Header> headers;
        for (const auto& h : m.error().headers)
            headers.push_back({h.name, h.value});
        respond(tx, m.error().status, m.error().reason, std::move(headers), m.error().text);
        return;
    }
    if (is_our_domain(m->to.domain_ascii())) {
        respond(tx, 404, {}, {},
                m->to.bare_string() + " is at a domain the gateway fronts, not an XMPP address");
        return;
    }
    const std::string id = sip::random_hex(random_, 16);
    auto stanza = build_message_stanza(*m, id);
    switch (send_now(*stanza)) {
        case LinkSend::Sent:
            log::info("gateway.message_to_xmpp", {{"from", from.to_string()},
                                                  {"to", m->to.to_string()},
                                                  {"call_id", in.call_id},
                                                  {"id", id},
                                                  {"body", log::body(m->body)}});
            remember_contact(sip_user, m->to.bare_string(), registry::ContactSource::Messaged);
            respond(tx, 200);
            return;
        case LinkSend::NoLink:
            respond(tx, 480, {}, {{"Retry-After", std::to_string(options_.retry_after_s)}},
                    "no proxy link is up");
            return;
        case LinkSend::NoCredit:
            respond(tx, 503, {}, {{"Retry-After", std::to_string(options_.retry_after_s)}},
                    "the proxy link has no credit");
            return;
        case LinkSend::Unsendable:
            respond(tx, 513, {}, {}, "the message cannot cross the proxy link");
            return;
    }
}

void GatewayServer::sip_presence(const sip::SipMessage& request, const sip::ServerTransaction& tx,
                                 const std::string& sip_user) {
    auto event = request.event();
    if (!event || *event != "presence") {
        respond(tx, 489, {}, {{"Allow-Events", "presence"}},
                "event package " + event.value_or("(none)"));
        return;
    }
    // The XMPP side of the pair: the watched XMPP user in a SUBSCRIBE, the watcher (our
    // subscription's From) in a NOTIFY; both are the To.
    auto peer = sip_to_jid(request.to().uri);
    if (!peer) {
        respond(tx, to_sip_status(peer.error()), {}, {}, "To: " + peer.error().describe());
        return;
    }
    if (is_our_domain(peer->domain_ascii())) {
        respond(tx, 404, {}, {},
                peer->bare_string() + " is at a domain the gateway fronts, not an XMPP address");
        return;
    }
    if (request.method() == "SUBSCRIBE")
        remember_contact(sip_user, peer->bare_string(), registry::ContactSource::Subscribed);
    engine_->on_sip_request(request, tx);
}

void GatewayServer::respond(const sip::ServerTransaction& tx, int status, std::string_view reason,
                            std::vector<sip::Header> headers, std::string_view why) {
    if (status >= 300)
        log::info("gateway.sip_refused",
                  {{"status", status}, {"source", tx.source.to_string()}, {"why", why}});
    sip::ResponseSpec spec;
    spec.headers = std::move(headers);
    if (auto r = sip_->respond(tx, status, reason, spec); !r)
        log::warn("gateway.sip_respond_failed",
                  {{"status", status}, {"reason", sip::describe(r.error())}});
}

}  // namespace fedgw::gateway
