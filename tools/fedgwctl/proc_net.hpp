// The netstat part of fedgwctl diag: TCP sockets from /proc/net/tcp and /proc/net/tcp6, and
// which process owns each one (socket inodes matched through /proc/PID/fd), as `ss -tanp` does.
//
// parse_proc_net_tcp is pure (text in, entries out); the readers below touch /proc. Without
// root only our own processes' descriptors can be read: SocketOwners counts the others, so
// the output can say so instead of showing them as ownerless.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config/address.hpp"

namespace fedgw::ctl {

// The kernel's TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h).
enum class TcpState : int {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
};

// "LISTEN", "ESTAB", ... (ss's words).
std::string_view tcp_state_name(int state);

struct TcpSocket {
    IpAddress local;
    std::uint16_t local_port = 0;
    IpAddress remote;
    std::uint16_t remote_port = 0;
    int state = 0;  // TcpState
    std::uint32_t uid = 0;
    std::uint64_t inode = 0;

    bool is(TcpState s) const { return state == static_cast<int>(s); }
};

// Parses one /proc/net/tcp (v6 false) or /proc/net/tcp6 (v6 true) text. The header line and
// lines that do not parse are skipped. IPv4-mapped IPv6 addresses are returned as IPv4.
std::vector<TcpSocket> parse_proc_net_tcp(std::string_view text, bool v6);

// "127.0.0.1:5269", "[::]:5269".
std::string endpoint_text(const IpAddress& a, std::uint16_t port);

// True for 0.0.0.0 and ::.
bool is_unspecified(const IpAddress& a);

struct ProcessInfo {
    int pid = 0;
    std::string name;  // /proc/PID/comm
};

struct SocketOwners {
    std::unordered_map<std::uint64_t, ProcessInfo> by_inode;
    int unreadable = 0;  // processes whose descriptors we may not read (not ours, not root)
};

// Both tables; `error` gets a message when neither could be read.
std::vector<TcpSocket> read_tcp_sockets(std::string& error);
SocketOwners find_socket_owners();
// Processes whose /proc/PID/comm is exactly `name`.
std::vector<ProcessInfo> find_processes(std::string_view name);

}  // namespace fedgw::ctl
