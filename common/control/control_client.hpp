// The blocking client of the control socket (CONTROL_SPEC), for fedgwctl and tests: connect to
// the service's UNIX socket, send one request line, read the one-line JSON answer, all within a
// deadline. Plain POSIX sockets and poll(); no event loop, safe from any thread.
//
// Errors tell the operator what to do (ControlErrorKind): NoSocket (the service is not
// running), PermissionDenied, ConnectionRefused (a stale socket: its process is gone), Timeout,
// BadReply, and ServerError for an {"error": "..."} answer (unknown command, malformed request).
//
// Loop-free I/O edge (blocking).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string_view>

#include "common/base/result.hpp"
#include "common/control/control_error.hpp"

namespace fedgw::control {

using namespace std::chrono_literals;

// Sends {"cmd": cmd}.
Result<nlohmann::json, ControlError> query(std::string_view path, std::string_view cmd,
                                           std::chrono::milliseconds timeout = 3s);
// Sends a whole request object (it must carry "cmd"), for commands with arguments.
Result<nlohmann::json, ControlError> query_request(std::string_view path,
                                                   const nlohmann::json& request,
                                                   std::chrono::milliseconds timeout = 3s);

}  // namespace fedgw::control
