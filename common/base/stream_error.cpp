#include "common/base/stream_error.hpp"

#include <array>
#include <utility>

#include "common/base/xml_escape.hpp"

namespace fedgw {
namespace {

constexpr std::array<std::pair<StreamCondition, std::string_view>, 25> kNames{{
    {StreamCondition::BadFormat, "bad-format"},
    {StreamCondition::BadNamespacePrefix, "bad-namespace-prefix"},
    {StreamCondition::Conflict, "conflict"},
    {StreamCondition::ConnectionTimeout, "connection-timeout"},
    {StreamCondition::HostGone, "host-gone"},
    {StreamCondition::HostUnknown, "host-unknown"},
    {StreamCondition::ImproperAddressing, "improper-addressing"},
    {StreamCondition::InternalServerError, "internal-server-error"},
    {StreamCondition::InvalidFrom, "invalid-from"},
    {StreamCondition::InvalidNamespace, "invalid-namespace"},
    {StreamCondition::InvalidXml, "invalid-xml"},
    {StreamCondition::NotAuthorized, "not-authorized"},
    {StreamCondition::NotWellFormed, "not-well-formed"},
    {StreamCondition::PolicyViolation, "policy-violation"},
    {StreamCondition::RemoteConnectionFailed, "remote-connection-failed"},
    {StreamCondition::Reset, "reset"},
    {StreamCondition::ResourceConstraint, "resource-constraint"},
    {StreamCondition::RestrictedXml, "restricted-xml"},
    {StreamCondition::SeeOtherHost, "see-other-host"},
    {StreamCondition::SystemShutdown, "system-shutdown"},
    {StreamCondition::UndefinedCondition, "undefined-condition"},
    {StreamCondition::UnsupportedEncoding, "unsupported-encoding"},
    {StreamCondition::UnsupportedFeature, "unsupported-feature"},
    {StreamCondition::UnsupportedStanzaType, "unsupported-stanza-type"},
    {StreamCondition::UnsupportedVersion, "unsupported-version"},
}};

}  // namespace

std::string_view wire_name(StreamCondition c) {
    for (const auto& [cond, name] : kNames)
        if (cond == c) return name;
    return "undefined-condition";
}

std::optional<StreamCondition> stream_condition_from_name(std::string_view name) {
    for (const auto& [cond, n] : kNames)
        if (n == name) return cond;
    return std::nullopt;
}

std::string StreamError::describe() const {
    std::string s(wire_name(condition));
    if (!text.empty()) {
        s += ": ";
        s += text;
    }
    return s;
}

std::string to_wire(const StreamError& e) {
    std::string out = "<stream:error><";
    out += wire_name(e.condition);
    out += " xmlns='";
    out += kNsStreamErrors;
    out += "'/>";
    if (!e.text.empty()) {
        out += "<text xmlns='";
        out += kNsStreamErrors;
        out += "' xml:lang='en'>";
        append_escaped_text(out, e.text);
        out += "</text>";
    }
    out += "</stream:error>";
    return out;
}

}  // namespace fedgw
