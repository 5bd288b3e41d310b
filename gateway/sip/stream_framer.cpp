// Stream framing for SIP over TCP/TLS; see stream_framer.hpp. RFC 3261 §18.3, RFC 5626
// §3.5.1. Pure.
#include "gateway/sip/stream_framer.hpp"

#include "gateway/sip/header_scan.hpp"

namespace fedgw::gateway::sip {
namespace {

constexpr std::string_view kPing = "\r\n\r\n";

// Offset just past the first empty line at or after `from`, or npos.
std::size_t find_header_end(std::string_view buf, std::size_t from) {
    for (std::size_t i = buf.find('\n', from); i != std::string_view::npos;
         i = buf.find('\n', i + 1)) {
        if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

}  // namespace

Result<void, SipError> StreamFramer::fail(SipError e) {
    failed_ = e;
    buf_.clear();
    return Unexpected(std::move(e));
}

Result<void, SipError> StreamFramer::feed(std::string_view data, std::vector<Frame>& out) {
    if (failed_) return Unexpected(*failed_);
    buf_.append(data);
    std::size_t pos = 0;
    while (pos < buf_.size()) {
        const std::string_view rest = std::string_view(buf_).substr(pos);
        if (!total_) {
            // Keepalives, only ever between messages.
            if (rest[0] == '\r' || rest[0] == '\n') {
                if (rest.size() >= kPing.size() && rest.substr(0, kPing.size()) == kPing) {
                    out.push_back({Kind::Ping, {}});
                    pos += kPing.size();
                } else if (rest.size() < kPing.size() && kPing.substr(0, rest.size()) == rest) {
                    break;  // maybe a ping split across reads
                } else if (rest.substr(0, 2) == "\r\n") {
                    out.push_back({Kind::Pong, {}});
                    pos += 2;
                } else if (rest[0] == '\n') {
                    ++pos;  // COMPAT: a stray LF between messages, ignored
                } else {
                    return fail({SipErrorCode::BadCharacters, "CR without LF between messages"});
                }
                searched_ = 0;
                continue;
            }
            const std::size_t end = find_header_end(rest, searched_ >= 2 ? searched_ - 2 : 0);
            if (end == std::string_view::npos) {
                if (rest.size() > limits_.max_message_bytes) {
                    return fail({SipErrorCode::TooLarge,
                                 "no end of headers within " +
                                     std::to_string(limits_.max_message_bytes) + " bytes"});
                }
                searched_ = rest.size();
                break;
            }
            auto scan = detail::scan_headers(rest.substr(0, end), limits_.max_header_lines);
            if (!scan) return fail(std::move(scan.error()));
            if (!scan->content_length) {
                return fail({SipErrorCode::BadContentLength,
                             "a message on a stream must carry Content-Length (RFC 3261 §18.3)"});
            }
            const std::size_t total = scan->header_end + *scan->content_length;
            if (total > limits_.max_message_bytes) {
                return fail(
                    {SipErrorCode::TooLarge, std::to_string(total) + " bytes, the limit is " +
                                                 std::to_string(limits_.max_message_bytes)});
            }
            total_ = total;
            searched_ = 0;
        }
        if (rest.size() < *total_) break;
        out.push_back({Kind::Message, std::string(rest.substr(0, *total_))});
        pos += *total_;
        total_.reset();
    }
    buf_.erase(0, pos);
    return {};
}

}  // namespace fedgw::gateway::sip
