// SIP errors: the closed sets of ways that parsing or building a SIP message, a client
// transaction, or answering a server transaction can fail, each with a describe().
//
// Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

namespace fedgw::gateway::sip {

// Why a message could not be parsed or built.
enum class SipErrorCode {
    Empty,              // no bytes, or only line breaks (a keepalive is not a message)
    TooLarge,           // more bytes than the configured limit (answered with 513 where possible)
    IncompleteHeaders,  // the header section does not end with an empty line
    TooManyHeaders,     // more header lines than the configured limit
    BadContentLength,   // Content-Length is not a number, repeated with different values,
                        // over the limit, or missing on a stream (RFC 3261 §18.3)
    TruncatedBody,      // Content-Length promises more bytes than arrived (RFC 3261 §18.3)
    BadCharacters,      // NUL, or CR not followed by LF, in the start line or the headers
    Unparsable,         // libosip2 refused the start line or a header
    MissingHeader,      // Via, From, To, Call-ID or CSeq is absent (RFC 3261 §8.1.1)
    Inconsistent,       // wrong SIP version, status code outside 100-699, or the CSeq method
                        // differs from the request method (RFC 3261 §8.1.1.5)
    InvalidArgument,    // a builder got a value that cannot go into a message (CR/LF, bad URI,
                        // a header name the builder sets itself)
    Internal,           // libosip2 failed to allocate or serialise
};

// "empty", "too-large", ... : stable short names for logs.
std::string_view describe(SipErrorCode c);

struct SipError {
    SipErrorCode code = SipErrorCode::Internal;
    std::string text{};  // what was wrong, e.g. "missing header: Call-ID"

    // One line for logs: "missing-header: missing header: Call-ID".
    std::string describe() const;
};

// Why a client transaction (send_request) ended without a final response.
enum class RequestFailure {
    Timeout,         // Timer F fired: no final response within 64*T1 (RFC 3261 §17.1.2.2);
                     // the transaction user treats it as 408 Request Timeout (§8.1.3.1)
    TransportError,  // the request could not be sent, or its connection failed; treated as
                     // 503 Service Unavailable (RFC 3261 §8.1.3.1)
    InvalidRequest,  // the request lacks what a transaction needs, or the next hop cannot be
                     // used (unknown transport, name without a resolver)
    Overloaded,      // too many transactions in progress; nothing was sent
    Shutdown,        // the stack closed before a final response arrived
};

// "timeout", "transport-error", "invalid-request", "overloaded", "shutdown".
std::string_view describe(RequestFailure f);

// The SIP status a transaction user should act on for each failure (RFC 3261 §8.1.3.1):
// 408 for Timeout, 503 for the others.
int equivalent_status(RequestFailure f);

struct RequestError {
    RequestFailure failure = RequestFailure::TransportError;
    std::string text{};  // e.g. "no final response from udp:192.0.2.1:5060 within 32000 ms"

    std::string describe() const;
};

// Why respond() refused.
enum class RespondError {
    NoSuchTransaction,  // unknown handle, or the transaction has already ended
    AlreadyAnswered,    // a final response was already sent
    InvalidResponse,    // the response could not be built (status out of range, bad header)
};

// "no-such-transaction", "already-answered", "invalid-response".
std::string_view describe(RespondError e);

}  // namespace fedgw::gateway::sip
