// Builders for the SIP messages the gateway sends: requests (MESSAGE RFC 3428, SUBSCRIBE and
// NOTIFY RFC 6665, OPTIONS RFC 3261 §11) and responses to a received request (RFC 3261
// §8.2.6). Branches carry the RFC 3261 magic cookie (§8.1.1.7), tags and Call-IDs come from an
// injected random source (§19.3: at least 32 random bits; we use 64 for tags and branches and
// 128 for Call-IDs), so tests get fixed output and the stack gets OpenSSL's RAND_bytes.
//
// Every value that goes into a header is checked: CR, LF and NUL are refused (no header
// injection from XMPP-side data), URIs must parse, header names must be tokens, and the
// headers the builder owns (Via, From, To, Call-ID, CSeq, Contact, Route, Content-*) cannot be
// added again through `headers`.
//
// Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "gateway/sip/sip_error.hpp"
#include "gateway/sip/sip_message.hpp"

namespace fedgw::gateway::sip {

// 64 random bits per call.
using RandomSource = std::function<std::uint64_t()>;

// `chars` lower-case hex digits (at most 32) drawn from `random`.
std::string random_hex(const RandomSource& random, std::size_t chars);
// "z9hG4bK" + 16 hex digits.
std::string make_branch(const RandomSource& random);
// 16 hex digits.
std::string make_tag(const RandomSource& random);
// 32 hex digits, then "@host" when host is not empty.
std::string make_call_id(const RandomSource& random, std::string_view host);

struct Header {
    std::string name;
    std::string value;
};

// A Via the builder writes (the stack normally sets the top Via itself, see routing.hpp).
struct ViaSpec {
    SipTransport transport = SipTransport::Udp;
    std::string host;        // sent-by host: an IP literal (IPv6 without brackets) or a name
    std::uint16_t port = 0;  // 0: left out
    bool rport = true;       // RFC 3581, UDP only
    std::string branch;      // empty: make_branch()
};

struct RequestSpec {
    std::string method;       // set by the named builders
    std::string request_uri;  // empty: to.uri
    NameAddr from;            // tag empty: make_tag()
    NameAddr to;              // tag empty: none (a request outside a dialog)
    std::string call_id;      // empty: make_call_id(call_id_host)
    std::string call_id_host;
    std::uint32_t cseq = 1;          // below 2**31 (§8.1.1.5)
    std::string contact;             // a URI; empty: no Contact
    std::vector<std::string> route;  // the route set, each a URI, in order
    std::optional<ViaSpec> via;
    std::uint32_t max_forwards = 70;
    std::vector<Header> headers;  // extra headers, e.g. Accept, User-Agent, Subject
    std::string content_type;
    std::string body;
};

Result<SipMessage, SipError> build_request(const RequestSpec& spec, const RandomSource& random);

// MESSAGE (RFC 3428 §4): the body is required (an empty MESSAGE is never sent).
Result<SipMessage, SipError> build_message(RequestSpec spec, std::string_view content_type,
                                           std::string_view body, const RandomSource& random);
// SUBSCRIBE (RFC 6665 §4.1.2): Event and Expires; a Contact is required.
Result<SipMessage, SipError> build_subscribe(RequestSpec spec, std::string_view event,
                                             std::uint32_t expires, const RandomSource& random);
// NOTIFY (RFC 6665 §4.2.2): Event and Subscription-State; inside a dialog, so both tags and a
// Contact are required. The body may be empty (e.g. a terminated subscription).
Result<SipMessage, SipError> build_notify(RequestSpec spec, std::string_view event,
                                          const SubscriptionState& state,
                                          std::string_view content_type, std::string_view body,
                                          const RandomSource& random);
// OPTIONS (RFC 3261 §11), e.g. a next-hop keepalive.
Result<SipMessage, SipError> build_options(RequestSpec spec, const RandomSource& random);

// "active;expires=3600", "terminated;reason=timeout;retry-after=30".
std::string format_subscription_state(const SubscriptionState& state);

struct ResponseSpec {
    std::string to_tag;   // for a request without a To tag; empty: make_tag() (not on 100)
    std::string contact;  // a URI; empty: no Contact
    std::vector<Header> headers;
    std::string content_type;
    std::string body;
};

// A response to `request` per RFC 3261 §8.2.6: Vias (all, in order), From, To (with a tag
// added when the request had none, except on 100), Call-ID and CSeq copied; Content-Length
// set. An empty reason takes the standard phrase. Refuses ACK (never answered), a response
// as `request`, and status codes outside 100-699.
Result<SipMessage, SipError> build_response(const SipMessage& request, int status,
                                            std::string_view reason, const ResponseSpec& spec,
                                            const RandomSource& random);

// The standard reason phrase of a status code ("Request Timeout"), or "Unknown".
std::string_view reason_phrase(int status);

// "host:port", an IPv6 host in brackets (RFC 3261 §19.1.1, §25.1); port 0: the host alone.
std::string host_port_text(std::string_view host, std::uint16_t port);

}  // namespace fedgw::gateway::sip
