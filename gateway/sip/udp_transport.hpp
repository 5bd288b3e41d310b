// UdpTransport: the SIP UDP sockets, one per listen address (RFC 3261 §18.1.1, §18.2.1).
// Datagrams go to a handler as they arrive; one that does not fit the size limit is dropped
// with a log line. Sends try the kernel at once (uv_udp_try_send) and fall back to a queued
// uv_udp_send when the socket buffer is full.
//
// Lifetime: close() closes every socket; the memory is freed in libuv's close callbacks, so
// the object itself may be destroyed right after close() (run the loop to let them finish).
//
// Loop-bound.
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "gateway/sip/transport.hpp"

namespace fedgw::gateway::sip {

class UdpTransport {
  public:
    using MessageHandler =
        std::function<void(std::string_view bytes, const PeerAddress& from, std::size_t socket)>;

    // Datagrams longer than max_datagram bytes are dropped.
    UdpTransport(uv_loop_t* loop, std::size_t max_datagram, MessageHandler on_message);
    ~UdpTransport();
    UdpTransport(const UdpTransport&) = delete;
    UdpTransport& operator=(const UdpTransport&) = delete;

    // Binds one socket and starts receiving; returns its index. The error names the address
    // and libuv's reason.
    Result<std::size_t, std::string> bind(const HostPort& address);

    std::size_t size() const { return sockets_.size(); }
    // The bound address (port 0 replaced by the kernel's choice).
    const HostPort& local_address(std::size_t socket) const;
    // The first socket of the destination's family.
    std::optional<std::size_t> socket_for(const IpAddress& destination) const;

    // Sends one datagram; false (with *error) when it could not be handed over.
    bool send(std::size_t socket, const IpAddress& ip, std::uint16_t port, std::string_view bytes,
              std::string* error);

    void close();

    struct Socket;

  private:
    uv_loop_t* loop_;
    std::size_t max_datagram_;
    MessageHandler on_message_;
    std::vector<Socket*> sockets_;
};

}  // namespace fedgw::gateway::sip
