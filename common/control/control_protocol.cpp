// The control socket's wire protocol: request lines, replies, errors. See control_protocol.hpp.
//
// Pure.
#include "common/control/control_protocol.hpp"

namespace fedgw::control {

std::string_view describe(ControlErrorKind k) {
    switch (k) {
        case ControlErrorKind::Other:
            return "control socket failure";
        case ControlErrorKind::NoSocket:
            return "no such socket (the service is not running)";
        case ControlErrorKind::PermissionDenied:
            return "permission denied";
        case ControlErrorKind::ConnectionRefused:
            return "connection refused (stale socket: the process is gone)";
        case ControlErrorKind::Timeout:
            return "no answer in time";
        case ControlErrorKind::BadReply:
            return "malformed reply";
        case ControlErrorKind::ServerError:
            return "the service answered with an error";
        case ControlErrorKind::InUse:
            return "another process answers on the socket";
    }
    return "control socket failure";
}

LineReader::Status LineReader::feed(std::string_view bytes) {
    if (status_ != Status::NeedMore) return status_;
    auto nl = bytes.find('\n');
    std::string_view take = nl == std::string_view::npos ? bytes : bytes.substr(0, nl);
    // The limit counts the newline: a line of max_ bytes including "\n" is the longest.
    if (line_.size() + take.size() + (nl == std::string_view::npos ? 0 : 1) > max_) {
        status_ = Status::TooLong;
        line_.clear();
        return status_;
    }
    line_.append(take);
    if (nl != std::string_view::npos) status_ = Status::Complete;
    return status_;
}

Result<Request, std::string> parse_request(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return Unexpected(std::string("empty request: send {\"cmd\":\"...\"}"));
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return Unexpected(std::string("the request is not valid JSON"));
    if (!j.is_object()) return Unexpected(std::string("the request must be a JSON object"));
    auto it = j.find("cmd");
    if (it == j.end()) return Unexpected(std::string("the request has no \"cmd\""));
    if (!it->is_string()) return Unexpected(std::string("\"cmd\" must be a string"));
    std::string cmd = it->get<std::string>();
    if (cmd.empty()) return Unexpected(std::string("\"cmd\" is empty"));
    return Request{std::move(cmd), std::move(j)};
}

std::string request_line(std::string_view cmd) {
    return reply_line(nlohmann::json{{"cmd", std::string(cmd)}});
}

std::string reply_line(const nlohmann::json& reply) {
    std::string s = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    s += '\n';
    return s;
}

nlohmann::json error_reply(std::string_view text) {
    return nlohmann::json{{"error", std::string(text)}};
}

nlohmann::json unknown_command(std::string_view cmd) {
    // The command came from the client: keep the echo short.
    std::string shown(cmd.substr(0, 64));
    return error_reply("unknown command \"" + shown + "\"");
}

Result<nlohmann::json, ControlError> parse_reply(std::string_view bytes) {
    auto nl = bytes.find('\n');
    if (nl != std::string_view::npos) bytes = bytes.substr(0, nl);
    if (bytes.empty())
        return Unexpected(ControlError{"the service closed the connection without an answer",
                                       ControlErrorKind::BadReply});
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return Unexpected(
            ControlError{"the answer is not a JSON object", ControlErrorKind::BadReply});
    if (auto it = j.find("error"); it != j.end() && it->is_string())
        return Unexpected(ControlError{it->get<std::string>(), ControlErrorKind::ServerError});
    return j;
}

}  // namespace fedgw::control
