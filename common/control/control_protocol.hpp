// The control socket's wire protocol (CONTROL_SPEC): the client writes one line
// `{"cmd":"status"}\n`, the server answers with one JSON object and "\n" and closes. This file
// holds the parts both ends share: reading a bounded request line, parsing the request,
// formatting a reply line, the standard error replies, and parsing a reply on the client side.
//
// Pure: bytes and JSON values in and out; no socket, no clock.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/control/control_error.hpp"

namespace fedgw::control {

inline constexpr std::size_t kMaxRequestBytes = 4096;     // one request line, newline included
inline constexpr std::size_t kMaxReplyBytes = 16u << 20;  // the client refuses more

// A parsed request: the command and the whole object (for commands with arguments).
struct Request {
    std::string cmd;
    nlohmann::json body;
};

// Accumulates request bytes until the first "\n", refusing lines longer than the limit.
class LineReader {
  public:
    enum class Status {
        NeedMore,  // no newline yet, still within the limit
        Complete,  // line() holds the request (without "\n"); later bytes are ignored
        TooLong,   // the limit was passed without a newline
    };

    explicit LineReader(std::size_t max_bytes = kMaxRequestBytes) : max_(max_bytes) {}
    Status feed(std::string_view bytes);
    Status status() const { return status_; }
    const std::string& line() const { return line_; }

  private:
    std::size_t max_;
    std::string line_;
    Status status_ = Status::NeedMore;
};

// `{"cmd":"status"}` -> Request{"status", ...}. A trailing "\r" is tolerated (nc -C). The error
// text is what the server sends back in {"error": ...}.
Result<Request, std::string> parse_request(std::string_view line);

// The request line a client sends for `cmd` (JSON-escaped), newline included. A request with
// arguments is reply_line(object): the same one-line form.
std::string request_line(std::string_view cmd);

// One line of compact JSON and "\n" (replies, and requests with arguments). Invalid UTF-8 in
// strings (names from the network) is replaced with U+FFFD instead of throwing.
std::string reply_line(const nlohmann::json& reply);

// {"error": text}
nlohmann::json error_reply(std::string_view text);
// {"error":"unknown command \"x\""}
nlohmann::json unknown_command(std::string_view cmd);

// The client's view of what the server wrote (up to EOF or the first newline): a JSON object,
// or BadReply; an object with a string "error" member is a ServerError carrying that text.
Result<nlohmann::json, ControlError> parse_reply(std::string_view bytes);

}  // namespace fedgw::control
