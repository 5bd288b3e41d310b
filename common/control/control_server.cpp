// ControlServer: the control socket on libuv (uv_pipe_t), one request per connection. See
// control_server.hpp.
//
// Loop-bound.
#include "common/control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "common/log/log.hpp"

namespace fedgw::control {

struct ControlServer::Client {
    uv_pipe_t pipe{};
    uv_timer_t timer{};
    uv_write_t write{};
    ControlServer* server = nullptr;  // null once the server let go of it
    std::uint64_t id = 0;
    LineReader reader;
    std::string out;
    char buf[1024];
    int open_handles = 2;
    bool answered = false;  // a reply is being written (or the client is being dropped)
    bool closing = false;

    explicit Client(std::size_t max_bytes) : reader(max_bytes) {}
};

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
}

// What a connect() to an existing socket file says about its owner.
enum class Probe { Live, Stale, Error };

Probe probe(const std::string& path, int* err) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return Probe::Error;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    int e = errno;
    ::close(fd);
    if (rc == 0) return Probe::Live;
    // A full backlog (EAGAIN) also means someone is listening.
    if (e == EAGAIN) return Probe::Live;
    if (e == ECONNREFUSED) return Probe::Stale;
    *err = e;
    return Probe::Error;
}

}  // namespace

ControlServer::ControlServer(uv_loop_t* loop, std::string path, Handler handler,
                             ControlLimits limits)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), limits_(limits) {}

ControlServer::~ControlServer() {
    close();
}

Result<std::unique_ptr<ControlServer>, ControlError> ControlServer::create(uv_loop_t* loop,
                                                                           std::string path,
                                                                           Handler handler,
                                                                           ControlLimits limits) {
    std::unique_ptr<ControlServer> s(
        new ControlServer(loop, std::move(path), std::move(handler), std::move(limits)));
    if (auto r = s->listen(); !r) {
        s->closed_ = true;  // nothing of ours to unlink
        return Unexpected(r.error());
    }
    return s;
}

Result<void, ControlError> ControlServer::listen() {
    const std::string& p = path_;
    if (p.empty()) return Unexpected(ControlError{"the control socket path is empty"});
    if (p.size() >= sizeof(sockaddr_un{}.sun_path))
        return Unexpected(ControlError{"control socket path " + p + " is longer than " +
                                       std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                                       " bytes"});
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return Unexpected(ControlError{
                p + " exists and is not a socket; not removing it (check control_socket)"});
        int err = 0;
        switch (probe(p, &err)) {
            case Probe::Live:
                return Unexpected(ControlError{"another " + limits_.service + " is running on " + p,
                                               ControlErrorKind::InUse});
            case Probe::Stale:
                if (::unlink(p.c_str()) != 0 && errno != ENOENT)
                    return Unexpected(ControlError{"cannot remove the stale control socket " + p +
                                                   ": " + errno_text(errno)});
                log::info("control.stale_socket_removed", {{"path", p}});
                break;
            case Probe::Error:
                return Unexpected(ControlError{
                    "cannot check the existing control socket " + p + ": " + errno_text(err),
                    err == EACCES || err == EPERM ? ControlErrorKind::PermissionDenied
                                                  : ControlErrorKind::Other});
        }
    }

    listener_ = new uv_pipe_t;
    uv_pipe_init(loop_, listener_, 0);
    listener_->data = this;
    // Owner-only from the start: no window where someone else could connect.
    mode_t old = ::umask(077);
    int rc = uv_pipe_bind(listener_, p.c_str());
    ::umask(old);
    if (rc == 0 && ::chmod(p.c_str(), 0600) != 0) rc = -errno;
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 16, on_connection);
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(listener_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
        listener_ = nullptr;
        return Unexpected(
            ControlError{"cannot listen on control socket " + p + ": " + uv_strerror(rc),
                         rc == UV_EACCES || rc == UV_EPERM ? ControlErrorKind::PermissionDenied
                                                           : ControlErrorKind::Other});
    }
    log::info("control.listening", {{"path", p}});
    return {};
}

void ControlServer::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<ControlServer*>(server->data);
    if (status != 0) {
        log::warn("control.accept_failed", {{"reason", uv_strerror(status)}});
        return;
    }
    self->accept();
}

void ControlServer::accept() {
    if (clients_.size() >= limits_.max_clients) {
        // Tell the extra client why, without keeping it: one non-blocking write, then close.
        auto* extra = new uv_pipe_t;
        uv_pipe_init(loop_, extra, 0);
        if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                      reinterpret_cast<uv_stream_t*>(extra)) == 0) {
            std::string line = reply_line(error_reply("busy: too many control clients"));
            uv_buf_t b = uv_buf_init(line.data(), static_cast<unsigned>(line.size()));
            (void)uv_try_write(reinterpret_cast<uv_stream_t*>(extra), &b, 1);
        }
        uv_close(reinterpret_cast<uv_handle_t*>(extra),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
        log::warn("control.busy", {{"clients", clients_.size()}, {"limit", limits_.max_clients}});
        return;
    }
    auto* c = new Client(limits_.max_request_bytes);
    c->server = this;
    c->id = next_client_++;
    uv_pipe_init(loop_, &c->pipe, 0);
    uv_timer_init(loop_, &c->timer);
    c->pipe.data = c;
    c->timer.data = c;
    clients_[c->id] = c;
    if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                  reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
        drop(*c);
        return;
    }
    uv_timer_start(
        &c->timer,
        [](uv_timer_t* t) {
            auto* cl = static_cast<Client*>(t->data);
            if (!cl->server) return;
            if (!cl->answered) {
                std::string line = reply_line(error_reply("timeout: no complete request in time"));
                uv_buf_t b = uv_buf_init(line.data(), static_cast<unsigned>(line.size()));
                (void)uv_try_write(reinterpret_cast<uv_stream_t*>(&cl->pipe), &b, 1);
            }
            log::info("control.client_timeout", {{"path", cl->server->path_}});
            cl->server->drop(*cl);
        },
        limits_.client_timeout_ms, 0);
    int rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->pipe),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
            auto* cl = static_cast<Client*>(h->data);
            *buf = uv_buf_init(cl->buf, sizeof cl->buf);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
            auto* cl = static_cast<Client*>(s->data);
            if (!cl->server || cl->answered || n == 0) return;
            ControlServer& self = *cl->server;
            if (n < 0) {
                // COMPAT: `printf '{"cmd":"status"}' | nc -U` sends no newline, only EOF.
                if (n == UV_EOF && cl->reader.status() == LineReader::Status::NeedMore &&
                    !cl->reader.line().empty() &&
                    cl->reader.feed("\n") == LineReader::Status::Complete) {
                    self.on_line(*cl);
                    return;
                }
                self.drop(*cl);
                return;
            }
            switch (cl->reader.feed(std::string_view(buf->base, static_cast<std::size_t>(n)))) {
                case LineReader::Status::NeedMore:
                    return;
                case LineReader::Status::Complete:
                    self.on_line(*cl);
                    return;
                case LineReader::Status::TooLong:
                    log::warn("control.request_too_long",
                              {{"limit", self.limits_.max_request_bytes}});
                    self.answer(*cl, error_reply("request longer than " +
                                                 std::to_string(self.limits_.max_request_bytes) +
                                                 " bytes"));
                    return;
            }
        });
    if (rc != 0) drop(*c);
}

void ControlServer::on_line(Client& c) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.pipe));
    auto req = parse_request(c.reader.line());
    if (!req) {
        answer(c, error_reply(req.error()));
        return;
    }
    nlohmann::json reply;
    try {
        reply = handler_(req->cmd, req->body);
    } catch (const std::exception& e) {
        log::error("control.handler_failed", {{"cmd", req->cmd}, {"reason", e.what()}});
        reply = error_reply(std::string("internal error: ") + e.what());
    }
    // The handler may have closed the server (a "stop" command): the client went with it.
    if (!c.server) return;
    if (reply.is_null()) reply = unknown_command(req->cmd);
    answer(c, reply);
}

void ControlServer::answer(Client& c, const nlohmann::json& reply) {
    c.answered = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.pipe));
    try {
        c.out = reply_line(reply);
    } catch (const std::exception& e) {
        c.out = reply_line(error_reply(std::string("internal error: ") + e.what()));
    }
    uv_buf_t b = uv_buf_init(c.out.data(), static_cast<unsigned>(c.out.size()));
    int rc =
        uv_write(&c.write, reinterpret_cast<uv_stream_t*>(&c.pipe), &b, 1, [](uv_write_t* w, int) {
            auto* cl = static_cast<Client*>(w->handle->data);
            if (cl->closing) return;  // cancelled by a close already under way
            if (cl->server)
                cl->server->drop(*cl);
            else
                close_client(cl);
        });
    if (rc != 0) drop(c);
}

void ControlServer::drop(Client& c) {
    clients_.erase(c.id);
    close_client(&c);
}

void ControlServer::close_client(Client* c) {
    if (c->closing) return;
    c->closing = true;
    c->answered = true;
    c->server = nullptr;
    auto done = [](uv_handle_t* h) {
        auto* cl = static_cast<Client*>(h->data);
        if (--cl->open_handles == 0) delete cl;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), done);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->pipe), done);
}

void ControlServer::close() {
    if (closed_) return;
    closed_ = true;
    if (listener_) {
        uv_close(reinterpret_cast<uv_handle_t*>(listener_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
        listener_ = nullptr;
        if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
            log::warn("control.unlink_failed", {{"path", path_}, {"reason", errno_text(errno)}});
    }
    auto clients = std::move(clients_);
    clients_.clear();
    for (auto& [id, c] : clients)
        close_client(c);
}

}  // namespace fedgw::control
