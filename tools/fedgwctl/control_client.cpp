#include "tools/fedgwctl/control_client.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/control/control_client.hpp"

namespace fedgw::ctl {
namespace {

ControlErrorKind kind_of(control::ControlErrorKind k) {
    switch (k) {
        case control::ControlErrorKind::NoSocket:
            return ControlErrorKind::NoSocket;
        case control::ControlErrorKind::PermissionDenied:
            return ControlErrorKind::PermissionDenied;
        case control::ControlErrorKind::ConnectionRefused:
            return ControlErrorKind::Refused;
        case control::ControlErrorKind::Timeout:
            return ControlErrorKind::Timeout;
        case control::ControlErrorKind::BadReply:
            return ControlErrorKind::BadReply;
        case control::ControlErrorKind::ServerError:
            return ControlErrorKind::ServiceError;
        case control::ControlErrorKind::Other:
        case control::ControlErrorKind::InUse:
            break;
    }
    return ControlErrorKind::Other;
}

}  // namespace

std::string_view control_error_name(ControlErrorKind k) {
    switch (k) {
        case ControlErrorKind::NoSocket:
            return "no-socket";
        case ControlErrorKind::PermissionDenied:
            return "permission-denied";
        case ControlErrorKind::Refused:
            return "refused";
        case ControlErrorKind::NotASocket:
            return "not-a-socket";
        case ControlErrorKind::Timeout:
            return "timeout";
        case ControlErrorKind::BadReply:
            return "bad-reply";
        case ControlErrorKind::ServiceError:
            return "service-error";
        case ControlErrorKind::Other:
            return "other";
    }
    return "other";
}

Result<nlohmann::json, ControlError> query_control(const std::string& path, std::string_view cmd,
                                                   int timeout_ms) {
    // What the socket file is, before connecting: "not running" and "not a socket" need
    // different advice, and connect() says ECONNREFUSED for both a stale socket and a file.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT)
            return Unexpected(
                ControlError{ControlErrorKind::NoSocket, "no control socket at " + path});
        if (err == EACCES || err == EPERM)
            return Unexpected(
                ControlError{ControlErrorKind::PermissionDenied,
                             "permission denied on " + path + " (the socket is owner-only)"});
        return Unexpected(
            ControlError{ControlErrorKind::Other, "stat " + path + ": " + std::strerror(err)});
    }
    if (!S_ISSOCK(st.st_mode))
        return Unexpected(ControlError{ControlErrorKind::NotASocket, path + " is not a socket"});
    auto r = control::query(path, cmd, std::chrono::milliseconds(timeout_ms));
    if (!r) return Unexpected(ControlError{kind_of(r.error().kind), r.error().text});
    return std::move(*r);
}

}  // namespace fedgw::ctl
