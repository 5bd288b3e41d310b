// The blocking control-socket client: connect, one request line, one reply line, a deadline.
// See control_client.hpp.
//
// Blocking POSIX I/O (poll()).
#include "common/control/control_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/control/control_protocol.hpp"

namespace fedgw::control {
namespace {

using Clock = std::chrono::steady_clock;

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

ControlError error(ControlErrorKind kind, std::string text) {
    return ControlError{std::move(text), kind};
}

// Milliseconds left until `deadline`, at least 0.
int left_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int rc = ::poll(&p, 1, left_ms(deadline));
        if (rc > 0) return true;
        if (rc == 0) return false;
        if (errno != EINTR) return true;  // let the next call report the error
    }
}

Result<void, ControlError> connect_to(int fd, const std::string& path, Clock::time_point deadline) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    for (;;) {
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return {};
        int e = errno;
        switch (e) {
            case EINTR:
                continue;
            case EAGAIN:
                // The listener's backlog is full: the service is alive but busy. Retry.
                if (left_ms(deadline) == 0)
                    return Unexpected(error(ControlErrorKind::Timeout,
                                            "the service on " + path + " accepts no connection"));
                ::poll(nullptr, 0, 10);
                continue;
            case ENOENT:
            case ENOTDIR:
                return Unexpected(error(ControlErrorKind::NoSocket,
                                        "no control socket at " + path +
                                            ": the service is not running (or control_socket "
                                            "points elsewhere)"));
            case EACCES:
            case EPERM:
                return Unexpected(
                    error(ControlErrorKind::PermissionDenied,
                          "permission denied on " + path + ": run as the service's user or root"));
            case ECONNREFUSED:
                return Unexpected(error(
                    ControlErrorKind::ConnectionRefused,
                    "connection refused on " + path + ": a stale socket, the service is gone"));
            default:
                return Unexpected(error(ControlErrorKind::Other,
                                        "cannot connect to " + path + ": " + std::strerror(e)));
        }
    }
}

Result<void, ControlError> send_all(int fd, const std::string& path, std::string_view bytes,
                                    Clock::time_point deadline) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(fd, POLLOUT, deadline))
                return Unexpected(error(ControlErrorKind::Timeout,
                                        "the service on " + path + " does not read its socket"));
            continue;
        }
        return Unexpected(
            error(ControlErrorKind::BadReply,
                  "the service on " + path + " closed the connection: " + std::strerror(errno)));
    }
    return {};
}

Result<std::string, ControlError> read_reply(int fd, const std::string& path,
                                             Clock::time_point deadline,
                                             std::chrono::milliseconds timeout) {
    std::string reply;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            reply.append(buf, static_cast<std::size_t>(n));
            if (reply.find('\n') != std::string::npos) return reply;
            if (reply.size() > kMaxReplyBytes)
                return Unexpected(error(ControlErrorKind::BadReply,
                                        "the answer from " + path + " is larger than " +
                                            std::to_string(kMaxReplyBytes) + " bytes"));
            continue;
        }
        if (n == 0) return reply;  // EOF: parse_reply judges what came
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(fd, POLLIN, deadline))
                return Unexpected(
                    error(ControlErrorKind::Timeout, "no answer from " + path + " within " +
                                                         std::to_string(timeout.count()) + " ms"));
            continue;
        }
        return Unexpected(error(ControlErrorKind::BadReply,
                                "reading the answer from " + path + ": " + std::strerror(errno)));
    }
}

}  // namespace

Result<nlohmann::json, ControlError> query(std::string_view path, std::string_view cmd,
                                           std::chrono::milliseconds timeout) {
    return query_request(path, nlohmann::json{{"cmd", std::string(cmd)}}, timeout);
}

Result<nlohmann::json, ControlError> query_request(std::string_view path_view,
                                                   const nlohmann::json& request,
                                                   std::chrono::milliseconds timeout) {
    std::string path(path_view);
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path))
        return Unexpected(error(ControlErrorKind::Other,
                                "control socket path \"" + path + "\" is empty or too long"));
    const Clock::time_point deadline = Clock::now() + timeout;
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0)
        return Unexpected(error(ControlErrorKind::Other,
                                std::string("cannot create a socket: ") + std::strerror(errno)));
    if (auto r = connect_to(fd.get(), path, deadline); !r) return Unexpected(r.error());
    auto sent = send_all(fd.get(), path, reply_line(request), deadline);
    if (!sent && sent.error().kind == ControlErrorKind::Timeout) return Unexpected(sent.error());
    // A server that refuses us (busy) may answer and close before our request is out: read
    // what it said before reporting the broken pipe.
    auto reply = read_reply(fd.get(), path, deadline, timeout);
    if (!sent && (!reply || reply->empty())) return Unexpected(sent.error());
    if (!reply) return Unexpected(reply.error());
    auto parsed = parse_reply(*reply);
    if (!parsed && parsed.error().kind == ControlErrorKind::BadReply)
        parsed.error().text = path + ": " + parsed.error().text;
    return parsed;
}

}  // namespace fedgw::control
