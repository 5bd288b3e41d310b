// XMPP <message/> <-> SIP MESSAGE (RFC 7572 §4-§7, RFC 3428, RFC 6121 §5, RFC 3862).
//
// Pure.
#include "gateway/translate/message_map.hpp"

#include "gateway/translate/address_map.hpp"
#include "gateway/translate/cpim.hpp"
#include "gateway/translate/media_type.hpp"

namespace fedgw::gateway {
namespace {

std::string_view lang_of(const Element& e, std::string_view inherited) {
    return e.attr("xml:lang").value_or(inherited);
}

// The child named `name` in the stanza's language, else the first; nullptr when none. Counts
// the others in `dropped`.
const Element* pick_by_lang(const Element& msg, std::string_view name, std::string_view lang,
                            std::size_t& dropped) {
    const auto all = msg.children(name, msg.ns());
    dropped = all.size() > 1 ? all.size() - 1 : 0;
    for (const Element* e : all)
        if (lang_of(*e, lang) == lang) return e;
    return all.empty() ? nullptr : all.front();
}

bool has_child_in(const Element& msg, std::string_view ns) {
    for (const Element* c : msg.child_elements())
        if (c->ns() == ns) return true;
    return false;
}

// RFC 3261 §25.1 word characters we are happy to put in a Call-ID.
bool usable_call_id(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    for (char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum) continue;
        switch (c) {
            case '-':
            case '.':
            case '!':
            case '%':
            case '*':
            case '_':
            case '+':
            case '`':
            case '\'':
            case '~':
            case '(':
            case ')':
            case ':':
            case '/':
            case '[':
            case ']':
            case '?':
            case '{':
            case '}':
            case '@':
                continue;
            default:
                return false;
        }
    }
    return s.find('@') == s.rfind('@');  // word ["@" word]
}

// One header line of at most `max` bytes, cut on a UTF-8 character boundary.
std::string one_line(std::string_view s, std::size_t max) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        out += (b < 0x20 || b == 0x7F) ? ' ' : c;
    }
    if (out.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
            --cut;
        out.resize(cut);
    }
    return out;
}

SipReply refuse(int status, std::string text, std::vector<SipHeaderValue> headers = {}) {
    SipReply r;
    r.status = status;
    r.text = std::move(text);
    r.headers = std::move(headers);
    return r;
}

SipReply unsupported(std::string text) {
    return refuse(415, std::move(text),
                  {{"Accept", std::string(kMessageAccept)}, {"Accept-Encoding", "identity"}});
}

// Checks a text/plain part and returns its text, or the refusal.
Result<std::string, SipReply> text_plain(const MediaType& mt, std::string_view body,
                                         std::string_view where) {
    if (const auto charset = mt.param("charset")) {
        if (!iequals_ascii(*charset, "utf-8") && !iequals_ascii(*charset, "us-ascii"))
            return Unexpected(unsupported(std::string(where) + " charset '" +
                                          std::string(*charset) + "' is not UTF-8"));
    }
    if (!is_valid_utf8(body)) return Unexpected(refuse(400, std::string(where) + " is not UTF-8"));
    if (!is_xml_text(body))
        return Unexpected(
            refuse(400, std::string(where) + " has control characters XML cannot carry"));
    return std::string(body);
}

// The first language tag of a Content-Language value ("fr, en" -> "fr"), if it looks like one.
std::string first_language(std::string_view v) {
    const auto comma = v.find(',');
    v = v.substr(0, comma);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    if (v.empty() || v.size() > 35) return {};
    for (char c : v)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return {};
    return std::string(v);
}

}  // namespace

std::string_view describe(NothingToSendReason r) {
    switch (r) {
        case NothingToSendReason::ChatStateOnly:
            return "chat state notification without a body";
        case NothingToSendReason::ReceiptOnly:
            return "receipt or marker without a body";
        case NothingToSendReason::NoBody:
            return "message without a body";
        case NothingToSendReason::ErrorStanza:
            return "error message";
    }
    return "nothing to send";
}

OutboundDecision plan_sip_message(const Element& msg, const OutboundMessageOptions& options) {
    const std::string_view type = msg.attr_or("type", "normal");
    if (type == "error")
        return NothingToSend{NothingToSendReason::ErrorStanza, "type=error is not translated"};
    if (type == "groupchat" || type == "headline")
        return StanzaError::of(
            StanzaCondition::FeatureNotImplemented,
            "the SIP gateway takes one-to-one messages only, not type=" + std::string(type));

    const std::string lang(lang_of(msg, options.default_lang));
    std::size_t dropped_bodies = 0;
    const Element* body = pick_by_lang(msg, "body", lang, dropped_bodies);
    if (body == nullptr || body->text().empty()) {
        if (has_child_in(msg, kNsChatStates))
            return NothingToSend{NothingToSendReason::ChatStateOnly, {}};
        if (has_child_in(msg, kNsReceipts) || has_child_in(msg, kNsChatMarkers))
            return NothingToSend{NothingToSendReason::ReceiptOnly, {}};
        return NothingToSend{NothingToSendReason::NoBody, {}};
    }

    auto from = Jid::parse(msg.attr_or("from", ""));
    if (!from) return to_stanza_error(from.error());
    auto to = Jid::parse(msg.attr_or("to", ""));
    if (!to) return to_stanza_error(to.error());
    auto from_sip = jid_to_sip(*from);
    if (!from_sip) return to_stanza_error(from_sip.error());
    auto to_sip = jid_to_sip(*to);
    if (!to_sip) return to_stanza_error(to_sip.error());

    OutboundMessage m;
    m.id = std::string(msg.attr_or("id", ""));
    m.request_uri = std::move(to_sip->uri);
    m.from_uri = std::move(from_sip->uri);
    m.from_gruu = std::move(from_sip->gruu);
    m.body = body->text();
    if (m.body.size() > options.max_body_bytes)
        return StanzaError::of(
            StanzaCondition::PolicyViolation,
            "message body over " + std::to_string(options.max_body_bytes) + " bytes");
    m.content_language = first_language(lang_of(*body, lang));
    if (dropped_bodies > 0)
        m.notes.push_back(std::to_string(dropped_bodies) +
                          " body(ies) in other languages left out");

    std::size_t dropped_subjects = 0;
    if (const Element* subject = pick_by_lang(msg, "subject", lang, dropped_subjects)) {
        m.subject = one_line(subject->text(), options.max_subject_bytes);
        if (m.subject.size() < subject->text().size())
            m.notes.push_back("subject cut to " + std::to_string(options.max_subject_bytes) +
                              " bytes");
    }
    if (dropped_subjects > 0)
        m.notes.push_back(std::to_string(dropped_subjects) +
                          " subject(s) in other languages left out");

    if (auto thread = msg.child_text("thread")) {
        m.thread = std::move(*thread);
        if (usable_call_id(m.thread))
            m.call_id = m.thread;
        else
            m.notes.push_back("thread not usable as a Call-ID");
    }
    return m;
}

sip::RequestSpec to_request_spec(const OutboundMessage& m) {
    sip::RequestSpec spec;
    spec.method = "MESSAGE";
    spec.request_uri = m.request_uri;
    spec.from = sip::NameAddr{{}, m.from_uri, {}};
    spec.to = sip::NameAddr{{}, m.request_uri, {}};
    spec.call_id = m.call_id;
    if (!m.subject.empty()) spec.headers.push_back({"Subject", m.subject});
    if (!m.content_language.empty())
        spec.headers.push_back({"Content-Language", m.content_language});
    return spec;
}

Result<InboundMessage, SipReply> translate_sip_message(const InboundMessageRequest& req,
                                                       const InboundMessageOptions& options) {
    if (!req.content_encoding.empty() && !iequals_ascii(req.content_encoding, "identity"))
        return Unexpected(unsupported("Content-Encoding '" + req.content_encoding + "'"));
    if (req.body.empty()) return Unexpected(refuse(400, "MESSAGE without a body"));
    if (req.body.size() > options.max_body_bytes)
        return Unexpected(
            refuse(413, "body over " + std::to_string(options.max_body_bytes) + " bytes"));
    const auto mt = parse_media_type(req.content_type.empty() ? "text/plain" : req.content_type);
    if (!mt) return Unexpected(unsupported("unreadable Content-Type"));

    auto from = sip_to_jid(req.from_uri);
    if (!from) return Unexpected(refuse(400, "From: " + from.error().describe()));
    auto target = sip_to_jid(req.request_uri);
    if (!target && target.error().error == AddressError::NoUserPart)
        target = sip_to_jid(req.to_uri);
    if (!target)
        return Unexpected(refuse(to_sip_status(target.error()), target.error().describe()));

    InboundMessage m{std::move(*from), std::move(*target)};
    m.type = options.type;
    m.subject = req.subject;
    m.lang = first_language(req.content_language);

    if (mt->is("text", "plain")) {
        auto text = text_plain(*mt, req.body, "text/plain body");
        if (!text) return Unexpected(std::move(text).error());
        m.body = std::move(*text);
    } else if (mt->is("message", "cpim")) {
        auto cpim = parse_cpim(req.body);
        if (!cpim) return Unexpected(refuse(400, cpim.error().describe()));
        const auto inner = parse_media_type(cpim->content_type);
        if (!inner || !inner->is("text", "plain"))
            return Unexpected(unsupported("message/cpim carrying '" + cpim->content_type + "'"));
        if (const CpimHeader* cte = cpim->content_header("Content-Transfer-Encoding")) {
            if (!iequals_ascii(cte->value, "7bit") && !iequals_ascii(cte->value, "8bit") &&
                !iequals_ascii(cte->value, "binary"))
                return Unexpected(unsupported("message/cpim with Content-Transfer-Encoding '" +
                                              cte->value + "'"));
        }
        auto text = text_plain(*inner, cpim->body, "message/cpim payload");
        if (!text) return Unexpected(std::move(text).error());
        m.body = std::move(*text);
        if (m.subject.empty()) m.subject = cpim->subject();
        if (const CpimHeader* cl = cpim->content_header("Content-Language"))
            if (m.lang.empty()) m.lang = first_language(cl->value);
        if (options.delay_from_cpim)
            if (const CpimHeader* dt = cpim->header("DateTime"))
                m.delay_stamp = datetime_to_utc(dt->value).value_or("");
        m.cpim_from = cpim->from_uri();
        m.cpim_to = cpim->to_uri();
    } else if (mt->is("application", "im-iscomposing+xml")) {
        const auto state = parse_is_composing(req.body);
        if (!state) return Unexpected(refuse(400, "not an isComposing document"));
        m.chat_state = chat_state_for(*state);
    } else {
        return Unexpected(unsupported("Content-Type '" + mt->essence() + "' is not taken"));
    }
    if (m.body.empty() && !m.chat_state)
        return Unexpected(refuse(400, "MESSAGE with an empty text"));
    if (!is_valid_utf8(m.subject) || !is_xml_text(m.subject)) m.subject.clear();

    if (options.thread_from_call_id && is_valid_utf8(req.call_id) && is_xml_text(req.call_id))
        m.thread = req.call_id;
    return m;
}

std::unique_ptr<Element> build_message_stanza(const InboundMessage& m, std::string_view id,
                                              std::string_view ns) {
    auto msg = Element::make("message", std::string(ns));
    msg->set_attr("from", m.from.to_string());
    msg->set_attr("to", m.to.to_string());
    msg->set_attr("type", m.type);
    if (!id.empty()) msg->set_attr("id", id);
    if (!m.lang.empty()) msg->set_attr("xml:lang", m.lang);
    if (!m.body.empty()) msg->add_child("body").add_text(m.body);
    if (!m.subject.empty()) msg->add_child("subject").add_text(m.subject);
    if (!m.thread.empty()) msg->add_child("thread").add_text(m.thread);
    if (!m.delay_stamp.empty()) {
        auto& delay = msg->add_child("delay", std::string(kNsDelay));
        delay.set_attr("from", m.from.domain().to_string());
        delay.set_attr("stamp", m.delay_stamp);
    }
    if (m.chat_state)
        msg->add_child(std::string(wire_name(*m.chat_state)), std::string(kNsChatStates));
    return msg;
}

std::optional<ComposingMessage> plan_is_composing(const Element& msg, std::uint32_t refresh_s) {
    const auto state = chat_state_of(msg);
    if (!state) return std::nullopt;
    auto from = Jid::parse(msg.attr_or("from", ""));
    auto to = Jid::parse(msg.attr_or("to", ""));
    if (!from || !to) return std::nullopt;
    auto from_sip = jid_to_sip(*from);
    auto to_sip = jid_to_sip(*to);
    if (!from_sip || !to_sip) return std::nullopt;
    ComposingMessage c;
    c.state = composing_state_for(*state);
    c.message.id = std::string(msg.attr_or("id", ""));
    c.message.request_uri = std::move(to_sip->uri);
    c.message.from_uri = std::move(from_sip->uri);
    c.message.from_gruu = std::move(from_sip->gruu);
    c.message.content_type = std::string(kIsComposingMediaType);
    c.message.body = write_is_composing(c.state, refresh_s);
    if (auto thread = msg.child_text("thread")) {
        c.message.thread = std::move(*thread);
        if (usable_call_id(c.message.thread)) c.message.call_id = c.message.thread;
    }
    return c;
}

}  // namespace fedgw::gateway
