// SIP over UDP; see udp_transport.hpp. RFC 3261 §18.1.1, §18.2.1. Loop-bound.
#include "gateway/sip/udp_transport.hpp"

#include <cstring>

#include "common/log/log.hpp"
#include "gateway/sip/socket_address.hpp"

namespace fedgw::gateway::sip {

struct UdpTransport::Socket {
    uv_udp_t handle{};
    UdpTransport* owner = nullptr;
    std::size_t index = 0;
    HostPort local;
    std::string buffer;
    bool closing = false;
};

namespace {

struct SendReq {
    uv_udp_send_t req{};
    std::string bytes;
};

void on_sent(uv_udp_send_t* req, int status) {
    auto* s = static_cast<SendReq*>(req->data);
    if (status < 0 && status != UV_ECANCELED) {
        log::warn("sip.udp_send_failed", {{"error", uv_strerror(status)}});
    }
    delete s;
}

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* s = static_cast<UdpTransport::Socket*>(h->data);
    *buf = uv_buf_init(s->buffer.data(), static_cast<unsigned>(s->buffer.size()));
}

}  // namespace

UdpTransport::UdpTransport(uv_loop_t* loop, std::size_t max_datagram, MessageHandler on_message)
    : loop_(loop), max_datagram_(max_datagram), on_message_(std::move(on_message)) {}

UdpTransport::~UdpTransport() {
    close();
}

Result<std::size_t, std::string> UdpTransport::bind(const HostPort& address) {
    if (!address.ip)
        return Unexpected("udp listen address " + address.to_string() + " is not an IP");
    auto* s = new Socket;
    s->owner = this;
    s->index = sockets_.size();
    // One byte more than the limit, so an oversized datagram shows up as too long.
    s->buffer.resize(max_datagram_ + 1);
    int rc = uv_udp_init(loop_, &s->handle);
    if (rc != 0) {
        delete s;
        return Unexpected("udp " + address.to_string() + ": " + uv_strerror(rc));
    }
    s->handle.data = s;
    const auto fail = [s, &address](int code) {
        uv_close(reinterpret_cast<uv_handle_t*>(&s->handle),
                 [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
        return Unexpected("cannot listen on udp:" + address.to_string() + ": " + uv_strerror(code));
    };
    sockaddr_storage sa{};
    detail::to_sockaddr(*address.ip, address.port, &sa);
    rc = uv_udp_bind(&s->handle, reinterpret_cast<const sockaddr*>(&sa), 0);
    if (rc != 0) return fail(rc);
    sockaddr_storage bound{};
    int len = sizeof bound;
    rc = uv_udp_getsockname(&s->handle, reinterpret_cast<sockaddr*>(&bound), &len);
    if (rc != 0) return fail(rc);
    const auto local = detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound));
    s->local = HostPort{local->first.to_string(), local->second, local->first};
    rc = uv_udp_recv_start(
        &s->handle, &on_alloc,
        [](uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
            auto* sock = static_cast<Socket*>(h->data);
            if (sock->closing || nread == 0 || addr == nullptr) return;
            if (nread < 0) {
                log::warn("sip.udp_receive_failed",
                          {{"error", uv_strerror(static_cast<int>(nread))}});
                return;
            }
            const auto from = detail::from_sockaddr(addr);
            if (!from) return;
            const PeerAddress peer{SipTransport::Udp, from->first, from->second};
            UdpTransport* owner = sock->owner;
            if ((flags & UV_UDP_PARTIAL) != 0 ||
                static_cast<std::size_t>(nread) > owner->max_datagram_) {
                log::warn("sip.datagram_too_large",
                          {{"source", peer.to_string()}, {"limit", owner->max_datagram_}});
                return;
            }
            owner->on_message_(std::string_view(buf->base, static_cast<std::size_t>(nread)), peer,
                               sock->index);
        });
    if (rc != 0) return fail(rc);
    sockets_.push_back(s);
    return s->index;
}

const HostPort& UdpTransport::local_address(std::size_t socket) const {
    return sockets_.at(socket)->local;
}

std::optional<std::size_t> UdpTransport::socket_for(const IpAddress& destination) const {
    for (const Socket* s : sockets_) {
        if (s->local.ip && s->local.ip->family == destination.family) return s->index;
    }
    return std::nullopt;
}

bool UdpTransport::send(std::size_t socket, const IpAddress& ip, std::uint16_t port,
                        std::string_view bytes, std::string* error) {
    if (socket >= sockets_.size() || sockets_[socket]->closing) {
        if (error) *error = "no udp socket";
        return false;
    }
    Socket* s = sockets_[socket];
    sockaddr_storage sa{};
    detail::to_sockaddr(ip, port, &sa);
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
    int rc = uv_udp_try_send(&s->handle, &buf, 1, reinterpret_cast<const sockaddr*>(&sa));
    if (rc >= 0) return true;
    if (rc == UV_EAGAIN) {
        auto* req = new SendReq;
        req->bytes.assign(bytes);
        req->req.data = req;
        buf = uv_buf_init(req->bytes.data(), static_cast<unsigned>(req->bytes.size()));
        rc = uv_udp_send(&req->req, &s->handle, &buf, 1, reinterpret_cast<const sockaddr*>(&sa),
                         &on_sent);
        if (rc == 0) return true;
        delete req;
    }
    if (error) *error = uv_strerror(rc);
    return false;
}

void UdpTransport::close() {
    for (Socket* s : sockets_) {
        s->closing = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&s->handle),
                 [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
    }
    sockets_.clear();
}

}  // namespace fedgw::gateway::sip
