// SIP status <-> XMPP stanza error (RFC 7247 §7.1, §7.2; RFC 3261 §8.1.3; RFC 6120 §8.3.3).
//
// Pure.
#include "gateway/translate/error_map.hpp"

#include <array>
#include <cassert>
#include <utility>

namespace fedgw::gateway {
namespace {

using C = StanzaCondition;

// RFC 7247 §7.2 (SIP response code -> XMPP error condition), as recalled: see the header.
constexpr std::array<std::pair<int, C>, 42> kSipToXmpp{{
    {300, C::Redirect},               // Multiple Choices
    {301, C::Gone},                   // Moved Permanently
    {302, C::Redirect},               // Moved Temporarily
    {305, C::Redirect},               // Use Proxy
    {380, C::NotAcceptable},          // Alternative Service (doubtful: or redirect)
    {400, C::BadRequest},             // Bad Request
    {401, C::NotAuthorized},          // Unauthorized
    {402, C::BadRequest},             // Payment Required: RFC 6120 dropped payment-required
    {403, C::Forbidden},              // Forbidden
    {404, C::ItemNotFound},           // Not Found
    {405, C::NotAllowed},             // Method Not Allowed (doubtful: or feature-not-impl.)
    {406, C::NotAcceptable},          // Not Acceptable
    {407, C::RegistrationRequired},   // Proxy Authentication Required (doubtful)
    {408, C::RemoteServerTimeout},    // Request Timeout
    {410, C::Gone},                   // Gone
    {413, C::BadRequest},             // Request Entity Too Large (doubtful)
    {414, C::BadRequest},             // Request-URI Too Long (doubtful)
    {415, C::BadRequest},             // Unsupported Media Type
    {416, C::BadRequest},             // Unsupported URI Scheme
    {420, C::BadRequest},             // Bad Extension
    {421, C::BadRequest},             // Extension Required
    {423, C::BadRequest},             // Interval Too Brief
    {480, C::RecipientUnavailable},   // Temporarily Unavailable
    {481, C::ItemNotFound},           // Call/Transaction Does Not Exist
    {482, C::NotAcceptable},          // Loop Detected
    {483, C::NotAcceptable},          // Too Many Hops
    {484, C::JidMalformed},           // Address Incomplete (doubtful: or item-not-found)
    {485, C::ItemNotFound},           // Ambiguous
    {486, C::RecipientUnavailable},   // Busy Here
    {488, C::NotAcceptable},          // Not Acceptable Here
    {491, C::UnexpectedRequest},      // Request Pending
    {500, C::InternalServerError},    // Server Internal Error
    {501, C::FeatureNotImplemented},  // Not Implemented
    {502, C::RemoteServerNotFound},   // Bad Gateway
    {503, C::ServiceUnavailable},     // Service Unavailable
    {504, C::RemoteServerTimeout},    // Server Time-out
    {505, C::NotAcceptable},          // Version Not Supported
    {513, C::BadRequest},             // Message Too Large (doubtful)
    {600, C::ServiceUnavailable},     // Busy Everywhere
    {603, C::ServiceUnavailable},     // Decline
    {604, C::ItemNotFound},           // Does Not Exist Anywhere
    {606, C::NotAcceptable},          // Not Acceptable
}};

// RFC 7247 §7.1 (XMPP error condition -> SIP response code), as recalled, with the two
// deviations of the header marked.
constexpr std::array<std::pair<C, int>, 22> kXmppToSip{{
    {C::BadRequest, 400},
    {C::Conflict, 400},
    {C::FeatureNotImplemented, 501},  // doubtful: or 405 (RFC 3261 §21.5.2 fits 501)
    {C::Forbidden, 403},
    {C::Gone, 410},
    {C::InternalServerError, 500},
    {C::ItemNotFound, 404},
    {C::JidMalformed, 400},
    {C::NotAcceptable, 406},
    {C::NotAllowed, 405},     // + Allow (RFC 3261 §21.4.6)
    {C::NotAuthorized, 403},  // DEVIATION: RFC 7247 gives 401; RFC 3261 §22.2 needs a challenge
    {C::PolicyViolation, 403},
    {C::RecipientUnavailable, 480},
    {C::Redirect, 302},
    {C::RegistrationRequired, 400},
    {C::RemoteServerNotFound, 404},
    {C::RemoteServerTimeout, 408},
    {C::ResourceConstraint, 500},
    {C::ServiceUnavailable, 503},
    {C::SubscriptionRequired, 400},
    {C::UndefinedCondition, 400},
    {C::UnexpectedRequest, 491},
}};

std::string status_text(int status, std::string_view reason) {
    std::string s = "SIP " + std::to_string(status);
    if (!reason.empty()) {
        s += ' ';
        s += reason;
    }
    return s;
}

}  // namespace

StanzaError stanza_error_for_sip_status(int status, std::string_view reason) {
    assert(status >= 300 && status <= 699);
    // RFC 3261 §8.1.3.2: an unknown code counts as the x00 of its class.
    for (const int code : {status, status / 100 * 100}) {
        for (const auto& [sip, condition] : kSipToXmpp)
            if (sip == code) return StanzaError::of(condition, status_text(status, reason));
    }
    return StanzaError::of(C::UndefinedCondition, status_text(status, reason));
}

int sip_status_for_condition(StanzaCondition c) {
    for (const auto& [condition, sip] : kXmppToSip)
        if (condition == c) return sip;
    return 400;
}

SipReply sip_reply_for_stanza_error(const StanzaError& e) {
    SipReply r;
    r.status = sip_status_for_condition(e.condition);
    if (r.status == 405) r.headers.push_back({"Allow", std::string(kGatewayAllow)});
    r.text = "XMPP " + e.describe();
    return r;
}

StanzaError stanza_error_for_request_failure(sip::RequestFailure f) {
    const std::string text = "SIP request failed: " + std::string(sip::describe(f));
    switch (f) {
        case sip::RequestFailure::Timeout:
            // RFC 3261 §8.1.3.1: as 408; RFC 7247 §7.2: 408 -> remote-server-timeout.
            return StanzaError::of(C::RemoteServerTimeout, text);
        case sip::RequestFailure::TransportError:
        case sip::RequestFailure::Shutdown:
            // RFC 3261 §8.1.3.1: as 503; RFC 7247 §7.2: 503 -> service-unavailable.
            return StanzaError::of(C::ServiceUnavailable, text);
        case sip::RequestFailure::Overloaded:
            return StanzaError::of(C::ResourceConstraint, text);
        case sip::RequestFailure::InvalidRequest:
            return StanzaError::of(C::InternalServerError, text);
    }
    return StanzaError::of(C::UndefinedCondition, text);
}

}  // namespace fedgw::gateway
