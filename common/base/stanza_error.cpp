#include "common/base/stanza_error.hpp"

#include <array>

#include "common/base/xml_escape.hpp"

namespace fedgw {
namespace {

struct Row {
    StanzaCondition condition;
    std::string_view name;
    StanzaErrorType type;  // the type RFC 6120 §8.3.3 gives for the condition
};

using T = StanzaErrorType;
constexpr std::array<Row, 22> kRows{{
    {StanzaCondition::BadRequest, "bad-request", T::Modify},
    {StanzaCondition::Conflict, "conflict", T::Cancel},
    {StanzaCondition::FeatureNotImplemented, "feature-not-implemented", T::Cancel},
    {StanzaCondition::Forbidden, "forbidden", T::Auth},
    {StanzaCondition::Gone, "gone", T::Cancel},
    {StanzaCondition::InternalServerError, "internal-server-error", T::Cancel},
    {StanzaCondition::ItemNotFound, "item-not-found", T::Cancel},
    {StanzaCondition::JidMalformed, "jid-malformed", T::Modify},
    {StanzaCondition::NotAcceptable, "not-acceptable", T::Modify},
    {StanzaCondition::NotAllowed, "not-allowed", T::Cancel},
    {StanzaCondition::NotAuthorized, "not-authorized", T::Auth},
    {StanzaCondition::PolicyViolation, "policy-violation", T::Modify},
    {StanzaCondition::RecipientUnavailable, "recipient-unavailable", T::Wait},
    {StanzaCondition::Redirect, "redirect", T::Modify},
    {StanzaCondition::RegistrationRequired, "registration-required", T::Auth},
    {StanzaCondition::RemoteServerNotFound, "remote-server-not-found", T::Cancel},
    {StanzaCondition::RemoteServerTimeout, "remote-server-timeout", T::Wait},
    {StanzaCondition::ResourceConstraint, "resource-constraint", T::Wait},
    {StanzaCondition::ServiceUnavailable, "service-unavailable", T::Cancel},
    {StanzaCondition::SubscriptionRequired, "subscription-required", T::Auth},
    {StanzaCondition::UndefinedCondition, "undefined-condition", T::Cancel},
    {StanzaCondition::UnexpectedRequest, "unexpected-request", T::Wait},
}};

constexpr std::array<std::pair<StanzaErrorType, std::string_view>, 5> kTypes{{
    {T::Auth, "auth"},
    {T::Cancel, "cancel"},
    {T::Continue, "continue"},
    {T::Modify, "modify"},
    {T::Wait, "wait"},
}};

}  // namespace

std::string_view wire_name(StanzaCondition c) {
    for (const auto& r : kRows)
        if (r.condition == c) return r.name;
    return "undefined-condition";
}

std::string_view wire_name(StanzaErrorType t) {
    for (const auto& [type, name] : kTypes)
        if (type == t) return name;
    return "cancel";
}

std::optional<StanzaCondition> stanza_condition_from_name(std::string_view name) {
    for (const auto& r : kRows)
        if (r.name == name) return r.condition;
    return std::nullopt;
}

std::optional<StanzaErrorType> stanza_error_type_from_name(std::string_view name) {
    for (const auto& [type, n] : kTypes)
        if (n == name) return type;
    return std::nullopt;
}

StanzaErrorType default_type(StanzaCondition c) {
    for (const auto& r : kRows)
        if (r.condition == c) return r.type;
    return T::Cancel;
}

StanzaError StanzaError::of(StanzaCondition c, std::string text) {
    StanzaError e;
    e.condition = c;
    e.type = default_type(c);
    e.text = std::move(text);
    return e;
}

std::string StanzaError::describe() const {
    std::string s(wire_name(type));
    s += '/';
    s += wire_name(condition);
    if (!text.empty()) {
        s += ": ";
        s += text;
    }
    return s;
}

std::string to_wire(const StanzaError& e) {
    std::string out = "<error type='";
    out += wire_name(e.type);
    out += '\'';
    if (!e.by.empty()) {
        out += " by='";
        append_escaped_attr(out, e.by);
        out += '\'';
    }
    out += "><";
    out += wire_name(e.condition);
    out += " xmlns='";
    out += kNsStanzaErrors;
    out += "'/>";
    if (!e.text.empty()) {
        out += "<text xmlns='";
        out += kNsStanzaErrors;
        out += "' xml:lang='en'>";
        append_escaped_text(out, e.text);
        out += "</text>";
    }
    out += "</error>";
    return out;
}

}  // namespace fedgw
