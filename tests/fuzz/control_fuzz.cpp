// Fuzz target for the control socket's pure protocol (common/control/control_protocol,
// CONTROL_SPEC): the server's bounded LineReader and parse_request, the client's parse_reply,
// and the reply lines built from what a peer sent (reply_line, unknown_command, error_reply).
//
// Invariants checked (std::abort on a breach, so the replay test and libFuzzer both fail):
// - LineReader never holds more than its limit and agrees with a one-shot feed of the same bytes;
// - a parsed request's cmd survives request_line -> parse_request unchanged;
// - every reply the server builds from peer bytes (unknown_command with a cut UTF-8 name,
//   error_reply with the parse error) is one line the client reads back as a ServerError;
// - a reply object the client accepted survives reply_line -> parse_reply unchanged.
//
// Pure: no socket, no clock.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/control/control_protocol.hpp"

namespace {

using namespace fedgw::control;

// What the server would write for this reply, read back by the client: must be a ServerError.
void check_error_round_trip(const nlohmann::json& reply) {
    std::string line = reply_line(reply);
    if (line.empty() || line.back() != '\n') std::abort();
    if (line.find('\n') != line.size() - 1) std::abort();  // one line, whatever the text held
    auto back = parse_reply(line);
    if (back || back.error().kind != ControlErrorKind::ServerError) std::abort();
}

void check_request(std::string_view line) {
    auto req = parse_request(line);
    if (!req) {
        check_error_round_trip(error_reply(req.error()));
        return;
    }
    if (req->cmd.empty() || !req->body.is_object()) std::abort();
    // The client's request line for the same command parses to the same command.
    std::string again = request_line(req->cmd);
    if (again.empty() || again.back() != '\n') std::abort();
    auto req2 = parse_request(std::string_view(again).substr(0, again.size() - 1));
    if (!req2 || req2->cmd != req->cmd) std::abort();
    // The server's answer to an unknown command echoes at most 64 bytes of it, possibly cut
    // inside a UTF-8 sequence: reply_line must still produce valid JSON.
    check_error_round_trip(unknown_command(req->cmd));
}

void check_reply(std::string_view bytes) {
    auto rep = parse_reply(bytes);
    if (!rep) {
        if (rep.error().kind != ControlErrorKind::BadReply &&
            rep.error().kind != ControlErrorKind::ServerError)
            std::abort();
        return;
    }
    if (!rep->is_object()) std::abort();
    // Bounded like a request: the JSON comparison and dump recurse on nesting depth.
    if (bytes.size() > kMaxRequestBytes) return;
    auto back = parse_reply(reply_line(*rep));
    if (!back || *back != *rep) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    // The server side: bytes arrive in two reads at a cut taken from the input, through a
    // reader whose limit is also taken from the input (small limits reach TooLong quickly).
    const size_t cut = size ? data[0] % (size + 1) : 0;
    const size_t limit = size > 1 ? 1 + (data[1] % 64) * 64 : kMaxRequestBytes;
    LineReader chunked(limit);
    (void)chunked.feed(in.substr(0, cut));
    LineReader::Status st = chunked.feed(in.substr(cut));
    LineReader whole(limit);
    if (whole.feed(in) != st) std::abort();
    if (chunked.line().size() > limit) std::abort();
    if (st == LineReader::Status::Complete) {
        if (chunked.line().size() >= limit) std::abort();  // the limit counts the newline
        if (chunked.line() != whole.line()) std::abort();
        if (chunked.line().find('\n') != std::string::npos) std::abort();
        check_request(chunked.line());
    } else if (st == LineReader::Status::TooLong) {
        if (!chunked.line().empty()) std::abort();
    }

    // The request parser on the raw input too (the LineReader above only passes it lines).
    if (size <= kMaxRequestBytes) check_request(in);

    // The client side: whatever the service wrote, up to EOF or the first newline.
    check_reply(in);
    return 0;
}
