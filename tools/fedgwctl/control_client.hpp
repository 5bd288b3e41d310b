// fedgwctl's view of the services' control socket: common/control's blocking query() (one JSON
// request line, one JSON reply), with the failure kinds diag turns into advice and their
// stable --json names. The socket file is looked at first, so "not a socket" is told apart.
//
// Edge (tool): blocking, no libuv.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/result.hpp"

namespace fedgw::ctl {

enum class ControlErrorKind {
    NoSocket,          // no socket file at the path: the service is not running (or elsewhere)
    PermissionDenied,  // the socket or its directory is not ours: run as the service's user
    Refused,           // a socket file nobody listens on: the process is gone (stale socket)
    NotASocket,        // the path exists but is not a socket
    Timeout,           // connected, but no complete answer in time: the service is stuck
    BadReply,          // the answer is not one JSON object
    ServiceError,      // the service answered {"error": ...}
    Other,             // another socket error; text has strerror
};

struct ControlError {
    ControlErrorKind kind = ControlErrorKind::Other;
    std::string text;  // names the socket and what happened
};

// The stable name of a kind, for --json: "no-socket", "permission-denied", ...
std::string_view control_error_name(ControlErrorKind k);

// Largest reply accepted; a status with thousands of streams fits comfortably.
inline constexpr std::size_t kMaxControlReplyBytes = 16 * 1024 * 1024;

// Sends {"cmd": cmd} and returns the reply object. timeout_ms covers connect, write and read.
Result<nlohmann::json, ControlError> query_control(const std::string& path, std::string_view cmd,
                                                   int timeout_ms);

}  // namespace fedgw::ctl
