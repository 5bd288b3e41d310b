// SIP error sets; see sip_error.hpp. Pure.
#include "gateway/sip/sip_error.hpp"

namespace fedgw::gateway::sip {

std::string_view describe(SipErrorCode c) {
    switch (c) {
        case SipErrorCode::Empty:
            return "empty";
        case SipErrorCode::TooLarge:
            return "too-large";
        case SipErrorCode::IncompleteHeaders:
            return "incomplete-headers";
        case SipErrorCode::TooManyHeaders:
            return "too-many-headers";
        case SipErrorCode::BadContentLength:
            return "bad-content-length";
        case SipErrorCode::TruncatedBody:
            return "truncated-body";
        case SipErrorCode::BadCharacters:
            return "bad-characters";
        case SipErrorCode::Unparsable:
            return "unparsable";
        case SipErrorCode::MissingHeader:
            return "missing-header";
        case SipErrorCode::Inconsistent:
            return "inconsistent";
        case SipErrorCode::InvalidArgument:
            return "invalid-argument";
        case SipErrorCode::Internal:
            return "internal";
    }
    return "unknown";
}

std::string SipError::describe() const {
    std::string out(sip::describe(code));
    if (!text.empty()) {
        out += ": ";
        out += text;
    }
    return out;
}

std::string_view describe(RequestFailure f) {
    switch (f) {
        case RequestFailure::Timeout:
            return "timeout";
        case RequestFailure::TransportError:
            return "transport-error";
        case RequestFailure::InvalidRequest:
            return "invalid-request";
        case RequestFailure::Overloaded:
            return "overloaded";
        case RequestFailure::Shutdown:
            return "shutdown";
    }
    return "unknown";
}

int equivalent_status(RequestFailure f) {
    return f == RequestFailure::Timeout ? 408 : 503;
}

std::string RequestError::describe() const {
    std::string out(sip::describe(failure));
    if (!text.empty()) {
        out += ": ";
        out += text;
    }
    return out;
}

std::string_view describe(RespondError e) {
    switch (e) {
        case RespondError::NoSuchTransaction:
            return "no-such-transaction";
        case RespondError::AlreadyAnswered:
            return "already-answered";
        case RespondError::InvalidResponse:
            return "invalid-response";
    }
    return "unknown";
}

}  // namespace fedgw::gateway::sip
