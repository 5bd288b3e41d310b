// SipMessage: one SIP request or response (RFC 3261 §7), parsed by libosip2's osipparser2 and
// owned through this RAII wrapper, with typed accessors for what the gateway reads:
// request line, From/To (URI + tag), Call-ID, CSeq, Via, Contact, Expires, Event (RFC 6665
// §8.2.1, compact "o"), Subscription-State (§8.2.3), Content-Type, body, Min-Expires (RFC 3261
// §20.23), Retry-After (§20.33), Max-Forwards.
//
// parse() is defensive: the limits are checked and the header block is vetted by our own
// scanner before libosip2 sees it (no NUL, no bare CR, a bounded number of lines,
// Content-Length read and enforced by us, RFC 3261 §18.3), and the body is kept out of
// libosip2's MIME parser: it is attached as one opaque part. After libosip2 has parsed the
// headers, the fields every message needs are checked (§8.1.1): Via, From, To, Call-ID, CSeq,
// SIP/2.0, a status in 100-699, and a CSeq method equal to the request method.
//
// Pure: no I/O. (libosip2's parser writes error traces; they are routed to log::debug once,
// see ensure_osip_initialised().)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "gateway/sip/sip_error.hpp"

struct osip_message;  // libosip2's osip_message_t; osip headers stay out of this header

namespace fedgw::gateway::sip {

struct SipLimits {
    std::size_t max_message_bytes = 64 * 1024;  // start line + headers + body
    std::size_t max_header_lines = 256;
};

// A From, To or Contact value.
struct NameAddr {
    std::string display_name;  // unquoted; empty when absent
    std::string uri;           // "sip:alice@example.com"
    std::string tag;           // the tag parameter; empty when absent
};

struct ViaHeader {
    std::string transport;                // "UDP", "TCP", "TLS" as written
    std::string host;                     // sent-by host, IPv6 without brackets
    std::optional<std::uint16_t> port;    // sent-by port when written
    std::string branch;                   // empty when absent
    std::optional<std::string> received;  // RFC 3261 §18.2.1
    bool rport = false;                   // RFC 3581 rport present (with or without a value)
    std::optional<std::uint16_t> rport_value;
};

struct CSeq {
    std::uint32_t number = 0;
    std::string method;
};

// RFC 6665 §8.2.3 / RFC 3265 §7.2.4.
struct SubscriptionState {
    std::string state;                         // "active", "pending", "terminated", lower case
    std::optional<std::uint32_t> expires;      // seconds
    std::string reason;                        // "timeout", "rejected", ...; empty when absent
    std::optional<std::uint32_t> retry_after;  // seconds
};

// Routes libosip2's traces to log::debug and initialises its parser tables. Idempotent; every
// entry point calls it.
void ensure_osip_initialised();

class SipMessage {
  public:
    // Parses one complete message: a datagram, or what StreamFramer cut from a stream.
    static Result<SipMessage, SipError> parse(std::string_view bytes, const SipLimits& limits = {});
    // Takes ownership of a libosip2 message (not null).
    static SipMessage adopt(osip_message* m);
    // A deep copy of a libosip2 message it does not own (not null).
    static Result<SipMessage, SipError> copy_of(const osip_message* m);

    SipMessage(SipMessage&& other) noexcept;
    SipMessage& operator=(SipMessage&& other) noexcept;
    SipMessage(const SipMessage&) = delete;
    SipMessage& operator=(const SipMessage&) = delete;
    ~SipMessage();

    Result<SipMessage, SipError> clone() const;

    bool is_request() const;
    bool is_response() const { return !is_request(); }

    // Request line; empty for a response.
    std::string method() const;
    std::string request_uri() const;
    // Status line; 0 and empty for a request.
    int status_code() const;
    std::string reason_phrase() const;

    NameAddr from() const;
    NameAddr to() const;
    std::string call_id() const;
    CSeq cseq() const;
    std::vector<ViaHeader> vias() const;
    std::optional<ViaHeader> top_via() const;
    std::vector<NameAddr> contacts() const;

    // The first value of a header libosip2 keeps as text (Expires, Event, Max-Forwards, ...),
    // found by its full or compact name (RFC 3261 §7.3.3, RFC 6665 "o" and "u").
    std::optional<std::string> header(std::string_view name) const;
    // Every value of that header, in order (libosip2 splits comma-separated values).
    std::vector<std::string> headers(std::string_view name) const;

    std::optional<std::uint32_t> expires() const;
    std::optional<std::uint32_t> min_expires() const;
    // The delta-seconds of Retry-After (§20.33), without comment or parameters.
    std::optional<std::uint32_t> retry_after() const;
    std::optional<std::uint32_t> max_forwards() const;
    // The event package, lower-cased, without parameters: "presence".
    std::optional<std::string> event() const;
    std::optional<SubscriptionState> subscription_state() const;

    // "text/plain; charset=UTF-8" as libosip2 writes it; empty when absent.
    std::string content_type() const;
    // "text/plain": type/subtype, lower case; empty when absent.
    std::string media_type() const;
    // The body, byte for byte (may contain NUL).
    std::string body() const;

    // ---- changes (builders and the stack) ----
    // Appends a header that libosip2 keeps as text; refuses CR, LF, NUL and non-token names.
    Result<void, SipError> add_header(std::string_view name, std::string_view value);
    // Replaces the body and Content-Type; an empty body removes both.
    Result<void, SipError> set_body(std::string_view content_type, std::string_view body);

    // The wire form, Content-Length recomputed.
    Result<std::string, SipError> to_string() const;
    // The same for a libosip2 message owned elsewhere (a transaction's).
    static Result<std::string, SipError> serialize(osip_message* m);

    // The libosip2 message, still owned by this object.
    osip_message* native() const { return msg_; }
    // Gives up ownership (for libosip2 transactions, which free it themselves).
    osip_message* release();

  private:
    explicit SipMessage(osip_message* m) : msg_(m) {}
    osip_message* msg_ = nullptr;
};

// True for a header value that may go on the wire: no CR, LF or NUL.
bool is_safe_header_value(std::string_view v);
// True for an RFC 3261 §25.1 token (header names, methods, tags).
bool is_token(std::string_view s);

}  // namespace fedgw::gateway::sip
