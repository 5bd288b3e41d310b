#include "tools/fedgwctl/control_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fedgw::ctl {
namespace {

Unexpected<ControlError> fail(ControlErrorKind k, std::string text) {
    return Unexpected(ControlError{k, std::move(text)});
}

std::int64_t now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, std::int64_t deadline) {
    for (;;) {
        const std::int64_t left = deadline - now_ms();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return true;  // let the following call report the error
    }
}

ControlError errno_error(const std::string& path, int err, std::string_view what) {
    switch (err) {
        case ENOENT:
            return {ControlErrorKind::NoSocket, "no control socket at " + path};
        case EACCES:
        case EPERM:
            return {ControlErrorKind::PermissionDenied,
                    "permission denied on " + path + " (the socket is owner-only)"};
        case ECONNREFUSED:
            return {ControlErrorKind::Refused,
                    "nothing listens on " + path + " (stale socket: the process is gone)"};
        case ENOTSOCK:
            return {ControlErrorKind::NotASocket, path + " is not a socket"};
        default:
            break;
    }
    return {ControlErrorKind::Other, std::string(what) + " " + path + ": " + std::strerror(err)};
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
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail(ControlErrorKind::Other, "control socket path '" + path + "' is too long");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Unexpected(errno_error(path, errno, "stat"));
    if (!S_ISSOCK(st.st_mode)) return Unexpected(errno_error(path, ENOTSOCK, "stat"));

    const std::int64_t deadline = now_ms() + timeout_ms;
    // A blocking connect bounded by SO_SNDTIMEO: a non-blocking AF_UNIX connect to a full
    // backlog fails with EAGAIN at once instead of waiting for the service to accept.
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return Unexpected(errno_error(path, errno, "socket for"));
    timeval tv{};
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = static_cast<suseconds_t>(timeout_ms % 1000) * 1000;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    int rc;
    do {
        rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EAGAIN || errno == EINPROGRESS)
            return fail(ControlErrorKind::Timeout, path + ": the service did not accept within " +
                                                       std::to_string(timeout_ms) +
                                                       " ms (is it stuck?)");
        return Unexpected(errno_error(path, errno, "connect to"));
    }
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);

    const std::string request = nlohmann::json{{"cmd", cmd}}.dump() + "\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n =
            ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd.get(), POLLOUT, deadline))
                return fail(ControlErrorKind::Timeout, path + ": the request was not read in time");
            continue;
        }
        return Unexpected(errno_error(path, errno, "write to"));
    }

    std::string reply;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n > 0) {
            reply.append(buf, static_cast<std::size_t>(n));
            if (reply.size() > kMaxControlReplyBytes)
                return fail(ControlErrorKind::BadReply, path + ": the reply is larger than " +
                                                            std::to_string(kMaxControlReplyBytes) +
                                                            " bytes");
            continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_for(fd.get(), POLLIN, deadline)) continue;
            // The server should close after its line; a complete line that parses is still
            // its answer when it does not.
            if (!reply.empty() && reply.back() == '\n') {
                auto j = nlohmann::json::parse(reply, nullptr, false);
                if (!j.is_discarded() && j.is_object()) break;
            }
            return fail(ControlErrorKind::Timeout, path + ": no complete answer within " +
                                                       std::to_string(timeout_ms) +
                                                       " ms (is the service stuck?)");
        }
        return Unexpected(errno_error(path, errno, "read from"));
    }
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r'))
        reply.pop_back();
    if (reply.empty())
        return fail(ControlErrorKind::BadReply, path + ": the service closed without answering");
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(ControlErrorKind::BadReply, path + ": the reply is not a JSON object");
    if (auto e = j.find("error"); e != j.end())
        return fail(ControlErrorKind::ServiceError,
                    path + ": the service answered: " +
                        (e->is_string() ? e->get<std::string>() : e->dump()));
    return j;
}

}  // namespace fedgw::ctl
