// disco#info/#items, version, ping and error replies (XEP-0030, XEP-0092, XEP-0199,
// RFC 6120 §8.2.3, §8.3).
//
// Pure.
#include "gateway/translate/disco.hpp"

namespace fedgw::gateway {
namespace {

// A reply skeleton: the stanza's name and namespace, addresses swapped, the same id.
std::unique_ptr<Element> reply_to(const Element& stanza, std::string_view type) {
    auto r = Element::make(stanza.name(), stanza.ns());
    if (auto to = stanza.attr("to")) r->set_attr("from", *to);
    if (auto from = stanza.attr("from")) r->set_attr("to", *from);
    if (auto id = stanza.attr("id")) r->set_attr("id", *id);
    r->set_attr("type", type);
    return r;
}

}  // namespace

std::unique_ptr<Element> error_element(const StanzaError& e, std::string_view ns) {
    auto err = Element::make("error", std::string(ns));
    err->set_attr("type", wire_name(e.type));
    if (!e.by.empty()) err->set_attr("by", e.by);
    err->add_child(std::string(wire_name(e.condition)), std::string(kNsStanzaErrors));
    if (!e.text.empty()) {
        Element& t = err->add_child("text", std::string(kNsStanzaErrors));
        t.set_attr("xml:lang", "en");
        t.add_text(e.text);
    }
    return err;
}

std::unique_ptr<Element> error_reply(const Element& stanza, const StanzaError& e) {
    if (stanza.attr_or("type", "") == "error") return nullptr;
    auto r = reply_to(stanza, "error");
    r->add_child(error_element(e, stanza.ns()));
    return r;
}

std::unique_ptr<Element> answer_iq(const Element& iq, const GatewayInfo& info) {
    const std::string_view type = iq.attr_or("type", "");
    if (type == "result" || type == "error") return nullptr;
    if (type != "get" && type != "set")
        return error_reply(iq, StanzaError::of(StanzaCondition::BadRequest,
                                               "iq type must be get, set, result or error"));
    if (!iq.has_attr("id"))
        return error_reply(iq, StanzaError::of(StanzaCondition::BadRequest, "iq without an id"));
    const auto children = iq.child_elements();
    if (children.size() != 1)
        return error_reply(iq, StanzaError::of(StanzaCondition::BadRequest,
                                               "an iq get or set carries exactly one child"));
    const Element& q = *children.front();

    // Only the gateway's domain itself offers services; its users are SIP users.
    const std::string_view to = iq.attr_or("to", "");
    const bool to_domain =
        to.find('@') == std::string_view::npos && to.find('/') == std::string_view::npos;
    if (!to_domain || type != "get")
        return error_reply(iq, StanzaError::of(StanzaCondition::ServiceUnavailable));

    if (q.is("query", kNsDiscoInfo)) {
        if (q.has_attr("node"))
            return error_reply(iq, StanzaError::of(StanzaCondition::ItemNotFound, "no such node"));
        auto r = reply_to(iq, "result");
        Element& query = r->add_child("query", std::string(kNsDiscoInfo));
        Element& id = query.add_child("identity");
        id.set_attr("category", "gateway");
        id.set_attr("type", "sip");
        if (!info.identity_name.empty()) id.set_attr("name", info.identity_name);
        for (const std::string& f : info.features)
            query.add_child("feature").set_attr("var", f);
        return r;
    }
    if (q.is("query", kNsDiscoItems)) {
        if (q.has_attr("node"))
            return error_reply(iq, StanzaError::of(StanzaCondition::ItemNotFound, "no such node"));
        auto r = reply_to(iq, "result");
        r->add_child("query", std::string(kNsDiscoItems));
        return r;
    }
    if (q.is("query", kNsVersion)) {
        auto r = reply_to(iq, "result");
        Element& query = r->add_child("query", std::string(kNsVersion));
        query.add_child("name").add_text(info.name);
        query.add_child("version").add_text(info.version);  // XEP-0092: no <os/>, by choice
        return r;
    }
    if (q.is("ping", kNsPing)) return reply_to(iq, "result");
    return error_reply(iq, StanzaError::of(StanzaCondition::ServiceUnavailable));
}

}  // namespace fedgw::gateway
