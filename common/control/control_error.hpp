// ControlError: what went wrong on the control socket (CONTROL_SPEC: fedgwctl <-> fedgw-proxy /
// fedgw-gateway), for the server's start-up and for the blocking client the CLI uses.
//
// Pure: values only.
#pragma once

#include <string>
#include <string_view>

namespace fedgw::control {

// The closed set of control-socket failures. The client's kinds let fedgwctl tell an operator
// whether the service is down, misconfigured or broken.
enum class ControlErrorKind {
    Other,              // anything else (socket(), bind(), listen() failures, bad path)
    NoSocket,           // the socket file does not exist: the service is not running
    PermissionDenied,   // the socket or its directory may not be used by this user
    ConnectionRefused,  // a stale socket file: the process that made it is gone
    Timeout,            // no complete answer within the deadline
    BadReply,           // the answer is not one JSON object on one line
    ServerError,        // the service answered {"error":"..."} (unknown command, malformed)
    InUse,              // start-up: another process answers on the socket path
};

std::string_view describe(ControlErrorKind k);

// `text` first, so ControlError{"why"} reads naturally; it already says what and where.
struct ControlError {
    std::string text;
    ControlErrorKind kind = ControlErrorKind::Other;

    std::string describe() const { return text; }
};

}  // namespace fedgw::control
