// StreamFramer: cuts SIP messages out of a TCP or TLS byte stream. RFC 3261 §18.3: the headers
// end at the first empty line and the body is exactly Content-Length bytes, which a message on
// a stream MUST carry. Between messages it recognises the RFC 5626 §3.5.1 keepalives: a
// CRLFCRLF "ping" (the owner answers with a CRLF "pong") and a lone CRLF "pong".
//
// Limits: a message (headers and body) larger than SipLimits::max_message_bytes, or more
// header lines than max_header_lines, fails the stream; the owner closes the connection (there
// is no way to resynchronise a stream). Work per byte is bounded: the buffer is searched for
// the end of the headers only from where the last search stopped.
//
// Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "gateway/sip/sip_error.hpp"
#include "gateway/sip/sip_message.hpp"

namespace fedgw::gateway::sip {

class StreamFramer {
  public:
    enum class Kind {
        Message,  // `bytes` holds one complete message, ready for SipMessage::parse
        Ping,     // CRLFCRLF keepalive: answer "\r\n"
        Pong,     // CRLF keepalive answer: nothing to do
    };
    struct Frame {
        Kind kind = Kind::Message;
        std::string bytes;  // empty for Ping and Pong
    };

    explicit StreamFramer(SipLimits limits = {}) : limits_(limits) {}

    // Appends `data` and moves every complete frame into `out`, in order. After an error the
    // stream cannot be resynchronised: every later call fails too.
    Result<void, SipError> feed(std::string_view data, std::vector<Frame>& out);

    // Bytes held waiting for the rest of a message.
    std::size_t buffered() const { return buf_.size(); }

  private:
    Result<void, SipError> fail(SipError e);

    SipLimits limits_;
    std::string buf_;
    std::size_t searched_ = 0;          // no end of headers before this offset
    std::optional<std::size_t> total_;  // size of the message at the front, once known
    std::optional<SipError> failed_;
};

}  // namespace fedgw::gateway::sip
