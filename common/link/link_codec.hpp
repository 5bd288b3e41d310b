// The proxy↔gateway link codec: length-prefixed frames with header blocks (the wire format is
// specified in docs/ARCHITECTURE.md, "The proxy↔gateway link wire format").
//
// Pure: bytes in, frames out, and frames in, bytes out. The link's TLS, socket, reconnection and
// flow-control accounting live in the owners (proxy and gateway); both use this one codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.hpp"

namespace fedgw::link {

inline constexpr int kVersion = 1;

enum class FrameType : std::uint8_t {
    Hello = 1,     // first frame each way: version, role, node name, initial window
    Stanza = 2,    // one stanza with its authentication facts
    Credit = 3,    // flow control: the receiver finished n more stanzas
    Registry = 4,  // gateway→proxy: the federation policy snapshot (JSON body)
    Ping = 5,      // liveness probe
    Pong = 6,      // answer to Ping
    Goodbye = 7,   // orderly close with a reason
};

std::string_view frame_type_name(FrameType t);

// Ordered `key: value` fields. Keys are lower-case ASCII [a-z0-9-]; values carry no CR/LF.
class Headers {
public:
    void set(std::string_view key, std::string_view value);
    std::optional<std::string_view> get(std::string_view key) const;
    const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
    bool operator==(const Headers&) const = default;

private:
    std::vector<std::pair<std::string, std::string>> fields_;
};

struct Frame {
    FrameType type = FrameType::Ping;
    Headers headers;
    std::string body;  // Stanza: the XML; Registry: the JSON; otherwise empty
    bool operator==(const Frame&) const = default;
};

enum class LinkErrorKind {
    FrameTooLarge,   // a length above the receiver's limit
    EmptyFrame,      // a length of zero (no type byte)
    UnknownType,     // a type this version does not define
    BadHeader,       // a header line without ": ", a bad key, or no terminating empty line
    BadValue,        // a header value the sender may not encode (CR/LF) or a receiver cannot use
    MissingField,    // a required header is absent
    VersionMismatch, // HELLO with a version we do not speak
};

struct LinkError {
    LinkErrorKind kind;
    std::string text;
    std::string describe() const;
};

// Encodes one frame. Fails (BadValue) when a header key or value cannot be represented.
Result<std::string, LinkError> encode(const Frame& f);

struct DecoderLimits {
    std::size_t max_frame_bytes = 1 << 20;  // above the 512 KiB stanza limit plus headers
};

// Incremental decoder: feed() any chunking of the byte stream; complete frames queue up in an
// outbox drained with next(). After an error the decoder refuses further input.
class LinkDecoder {
public:
    explicit LinkDecoder(DecoderLimits limits = {}) : limits_(limits) {}

    Result<void, LinkError> feed(std::string_view bytes);
    std::optional<Frame> next();
    // Bytes received but not yet forming a complete frame.
    std::size_t buffered() const { return buf_.size() - pos_; }

private:
    Result<void, LinkError> decode_one(std::string_view frame);

    DecoderLimits limits_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::deque<Frame> out_;
    std::optional<LinkError> failed_;
};

// ---- Typed frames -------------------------------------------------------------------------

enum class Role { Proxy, Gateway };
std::string_view role_name(Role r);

struct Hello {
    Role role = Role::Proxy;
    std::string node;          // the sender's configured name
    std::uint32_t window = 0;  // initial credit granted to the peer, in stanzas
};
Frame make_frame(const Hello& h);
Result<Hello, LinkError> parse_hello(const Frame& f);

// How a partner domain authenticated its stream (carried with each inbound stanza).
enum class AuthMethod { None, SaslExternal, Dialback };
std::string_view auth_method_name(AuthMethod m);
std::optional<AuthMethod> auth_method_from_name(std::string_view s);

struct StanzaFrame {
    std::uint64_t seq = 0;
    std::string partner;       // the authenticated partner domain ("" on gateway→proxy)
    std::string partner_type;  // federated | public-verified | public-unverified
    AuthMethod auth = AuthMethod::None;
    std::string local;         // our domain the stream was for
    std::string xml;           // the stanza
};
Frame make_frame(const StanzaFrame& s);
Result<StanzaFrame, LinkError> parse_stanza(const Frame& f);

Frame make_credit(std::uint32_t stanzas);
Result<std::uint32_t, LinkError> parse_credit(const Frame& f);
Frame make_ping(std::uint64_t nonce);
Frame make_pong(std::uint64_t nonce);
Result<std::uint64_t, LinkError> parse_nonce(const Frame& f);
Frame make_goodbye(std::string_view reason);
Frame make_registry(std::uint64_t version, std::string json);

}  // namespace fedgw::link
