// JID errors: descriptions and the mapping to jid-malformed (RFC 6120 §8.3.3.8).
//
// Pure: no I/O.
#include "common/jid/jid_error.hpp"

namespace fedgw {

std::string_view describe(JidError e) {
    switch (e) {
        case JidError::Empty:
            return "the address is empty";
        case JidError::EmptyLocalpart:
            return "the localpart is empty";
        case JidError::EmptyDomain:
            return "the domainpart is empty";
        case JidError::EmptyResource:
            return "the resourcepart is empty";
        case JidError::LocalpartTooLong:
            return "the localpart is too long";
        case JidError::DomainTooLong:
            return "the domainpart is too long";
        case JidError::ResourceTooLong:
            return "the resourcepart is too long";
        case JidError::InvalidUtf8:
            return "the address is not well-formed UTF-8";
        case JidError::ForbiddenCharacter:
            return "forbidden character";
        case JidError::LocalpartPrepFailed:
            return "the localpart failed preparation";
        case JidError::ResourcePrepFailed:
            return "the resourcepart failed preparation";
        case JidError::BadIpLiteral:
            return "the domainpart is not a valid IP address";
        case JidError::BadDomain:
            return "the domainpart is not a valid host name";
        case JidError::IdnaFailed:
            return "IDNA2008 refused the domainpart";
    }
    return "invalid address";
}

std::string JidFailure::describe() const {
    std::string out(fedgw::describe(error));
    if (!detail.empty()) {
        out += ": ";
        out += detail;
    }
    return out;
}

StanzaError to_stanza_error(const JidFailure& f) {
    return StanzaError::of(stanza_condition(f.error), f.describe());
}

}  // namespace fedgw
