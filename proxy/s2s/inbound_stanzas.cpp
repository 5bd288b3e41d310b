// InboundStream, stanzas: checks on what the peer sends once authenticated (RFC 6120 §4.9.3.9
// invalid-from, §4.9.3.12 not-authorized, §8.1.1.2 and §8.1.2.2 addressing on s2s), delivery to
// the router, and stanzas we send back on a bidirectional stream (XEP-0288 §2.2, XEP-0478 §3).
//
// Pure: sans-I/O.
#include <algorithm>
#include <string>

#include "common/jid/jid.hpp"
#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/inbound_stream.hpp"

namespace fedgw::proxy {
namespace {

// Moves the elements of namespace `from` into jabber:server (a stanza composed with no
// namespace or in jabber:client, written on an s2s stream).
void to_server_namespace(Element& e, const std::string& from) {
    if (e.ns() != from) return;
    e.set_ns(std::string(kNsServer));
    for (auto& n : e.nodes())
        if (n.is_element()) to_server_namespace(n.element(), from);
}

}  // namespace

void InboundStream::on_stanza(std::unique_ptr<Element> stanza) {
    if (!tls_ && tls_required()) {
        const std::string who = peer_.empty() ? "this peer" : peer_;
        log::warn("s2s.in.tls_required", {{"domain", who}, {"stream", stream_id_}});
        return fail({StreamCondition::PolicyViolation, "TLS required by policy for " + who});
    }
    if (pairs_.empty())
        return fail({StreamCondition::NotAuthorized,
                     "<" + stanza->name() + "/> before the stream was authenticated"});
    // RFC 6120 §8.1.1.2, §8.1.2.2: on s2s every stanza carries both addresses.
    const auto from_attr = stanza->attr("from");
    const auto to_attr = stanza->attr("to");
    if (!from_attr || !to_attr)
        return fail({StreamCondition::ImproperAddressing,
                     "<" + stanza->name() + "/> without '" + (from_attr ? "to" : "from") + "'"});
    auto from = Jid::parse(*from_attr);
    if (!from)
        return fail({StreamCondition::ImproperAddressing,
                     "<" + stanza->name() + "/> 'from' is not a JID: " + from.error().describe()});
    auto to = Jid::parse(*to_attr);
    if (!to)
        return fail({StreamCondition::ImproperAddressing,
                     "<" + stanza->name() + "/> 'to' is not a JID: " + to.error().describe()});
    const std::string& remote = from->domainpart();
    const std::string& local = to->domainpart();
    if (!policy_.is_local_domain(local))
        return fail({StreamCondition::HostUnknown, "this server does not serve " + local});
    auto pair = std::find_if(pairs_.begin(), pairs_.end(),
                             [&](const Pair& p) { return p.local == local && p.remote == remote; });
    if (pair == pairs_.end()) {
        log::warn("s2s.invalid_from",
                  {{"domain", remote}, {"local", local}, {"stream", stream_id_}});
        return fail({StreamCondition::InvalidFrom,
                     remote + " is not authenticated on this stream for " + local});
    }
    ++counters_.stanzas_in;
    actions_.push_back(DeliverStanza{remote, local, pair->partner, pair->partner_type, pair->method,
                                     std::move(stanza)});
}

Result<void, StanzaError> InboundStream::send(const Element& stanza) {
    if (state_ != State::Established || !bidi_)
        return Unexpected(StanzaError::of(StanzaCondition::ServiceUnavailable,
                                          "the inbound stream is not bidirectional"));
    auto from = Jid::parse(stanza.attr_or("from", ""));
    auto to = Jid::parse(stanza.attr_or("to", ""));
    if (!from || !to)
        return Unexpected(StanzaError::of(StanzaCondition::JidMalformed,
                                          "a stanza on s2s needs valid 'from' and 'to'"));
    // XEP-0288 §2.2: only in the reverse direction of an authenticated pair.
    if (!is_authenticated(from->domainpart(), to->domainpart()))
        return Unexpected(StanzaError::of(StanzaCondition::NotAllowed,
                                          from->domainpart() + " -> " + to->domainpart() +
                                              " is not authenticated on this stream"));
    std::string bytes;
    if (stanza.ns() == kNsServer) {
        bytes = serialize(stanza, stream_scope(kNsServer));
    } else {
        auto copy = stanza.clone();
        to_server_namespace(*copy, stanza.ns());
        bytes = serialize(*copy, stream_scope(kNsServer));
    }
    if (peer_max_bytes_ && bytes.size() > *peer_max_bytes_) {
        // XEP-0478 §3: not sent; policy-violation, without 'by' (the policy is the peer's).
        return Unexpected(
            StanzaError::of(StanzaCondition::PolicyViolation,
                            "the stanza (" + std::to_string(bytes.size()) + " bytes) exceeds the " +
                                std::to_string(*peer_max_bytes_) + " bytes the peer accepts"));
    }
    write(bytes);
    ++counters_.stanzas_out;
    return {};
}

}  // namespace fedgw::proxy
