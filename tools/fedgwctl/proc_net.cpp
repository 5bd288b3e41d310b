#include "tools/fedgwctl/proc_net.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fedgw::ctl {
namespace {

bool parse_hex32(std::string_view s, std::uint32_t& out) {
    if (s.size() != 8) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    return ec == std::errc() && p == s.data() + s.size();
}

// "0100007F:1F90": the address words as the kernel printed them (host-order u32 of network
// order bytes, so their memory image is the address), then the port in plain hex.
bool parse_endpoint(std::string_view s, bool v6, IpAddress& ip, std::uint16_t& port) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view addr = s.substr(0, colon);
    std::string_view p = s.substr(colon + 1);
    const std::size_t words = v6 ? 4 : 1;
    if (addr.size() != words * 8) return false;
    ip = v6 ? IpAddress::any_v6() : IpAddress::any_v4();
    for (std::size_t i = 0; i < words; ++i) {
        std::uint32_t w = 0;
        if (!parse_hex32(addr.substr(i * 8, 8), w)) return false;
        std::memcpy(ip.bytes.data() + i * 4, &w, 4);
    }
    unsigned n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n, 16);
    if (ec != std::errc() || end != p.data() + p.size() || n > 65535) return false;
    port = static_cast<std::uint16_t>(n);
    if (v6 && ip.is_v4_mapped()) {
        IpAddress v4 = IpAddress::any_v4();
        std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
        ip = v4;
    }
    return true;
}

std::string read_small_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool all_digits(const char* s) {
    if (!*s) return false;
    for (; *s; ++s)
        if (*s < '0' || *s > '9') return false;
    return true;
}

std::string comm_of(const std::string& pid) {
    std::string c = read_small_file("/proc/" + pid + "/comm");
    while (!c.empty() && (c.back() == '\n' || c.back() == '\r'))
        c.pop_back();
    return c;
}

}  // namespace

std::string_view tcp_state_name(int state) {
    switch (static_cast<TcpState>(state)) {
        case TcpState::Established:
            return "ESTAB";
        case TcpState::SynSent:
            return "SYN-SENT";
        case TcpState::SynRecv:
            return "SYN-RECV";
        case TcpState::FinWait1:
            return "FIN-WAIT-1";
        case TcpState::FinWait2:
            return "FIN-WAIT-2";
        case TcpState::TimeWait:
            return "TIME-WAIT";
        case TcpState::Close:
            return "CLOSE";
        case TcpState::CloseWait:
            return "CLOSE-WAIT";
        case TcpState::LastAck:
            return "LAST-ACK";
        case TcpState::Listen:
            return "LISTEN";
        case TcpState::Closing:
            return "CLOSING";
    }
    return "UNKNOWN";
}

std::vector<TcpSocket> parse_proc_net_tcp(std::string_view text, bool v6) {
    std::vector<TcpSocket> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        // Fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        std::vector<std::string_view> f;
        std::size_t i = 0;
        while (i < line.size() && f.size() < 10) {
            while (i < line.size() && line[i] == ' ')
                ++i;
            std::size_t j = i;
            while (j < line.size() && line[j] != ' ')
                ++j;
            if (j > i) f.push_back(line.substr(i, j - i));
            i = j;
        }
        if (f.size() < 10 || f[0].empty() || f[0].back() != ':') continue;  // header or junk
        TcpSocket s;
        if (!parse_endpoint(f[1], v6, s.local, s.local_port)) continue;
        if (!parse_endpoint(f[2], v6, s.remote, s.remote_port)) continue;
        unsigned st = 0;
        if (std::from_chars(f[3].data(), f[3].data() + f[3].size(), st, 16).ec != std::errc())
            continue;
        s.state = static_cast<int>(st);
        std::from_chars(f[7].data(), f[7].data() + f[7].size(), s.uid);
        std::from_chars(f[9].data(), f[9].data() + f[9].size(), s.inode);
        out.push_back(s);
    }
    return out;
}

std::string endpoint_text(const IpAddress& a, std::uint16_t port) {
    if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(port);
    return a.to_string() + ":" + std::to_string(port);
}

bool is_unspecified(const IpAddress& a) {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a.bytes[i] != 0) return false;
    return true;
}

std::vector<TcpSocket> read_tcp_sockets(std::string& error) {
    std::vector<TcpSocket> all;
    int read = 0;
    for (bool v6 : {false, true}) {
        std::ifstream in(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", std::ios::binary);
        if (!in) continue;
        ++read;
        std::ostringstream s;
        s << in.rdbuf();
        auto part = parse_proc_net_tcp(s.str(), v6);
        all.insert(all.end(), part.begin(), part.end());
    }
    if (read == 0) error = "cannot read /proc/net/tcp or /proc/net/tcp6";
    return all;
}

SocketOwners find_socket_owners() {
    SocketOwners owners;
    DIR* proc = ::opendir("/proc");
    if (!proc) return owners;
    while (dirent* e = ::readdir(proc)) {
        if (!all_digits(e->d_name)) continue;
        const std::string pid = e->d_name;
        const std::string fd_dir = "/proc/" + pid + "/fd";
        DIR* fds = ::opendir(fd_dir.c_str());
        if (!fds) {
            if (errno == EACCES || errno == EPERM) ++owners.unreadable;
            continue;  // ENOENT: the process is gone
        }
        std::string comm;
        while (dirent* f = ::readdir(fds)) {
            if (!all_digits(f->d_name)) continue;
            char target[64];
            const std::string link = fd_dir + "/" + f->d_name;
            const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
            if (n <= 0) continue;
            std::string_view t(target, static_cast<std::size_t>(n));
            if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
            std::uint64_t inode = 0;
            auto num = t.substr(8, t.size() - 9);
            if (std::from_chars(num.data(), num.data() + num.size(), inode).ec != std::errc())
                continue;
            if (comm.empty()) comm = comm_of(pid);
            owners.by_inode.emplace(inode, ProcessInfo{std::stoi(pid), comm});
        }
        ::closedir(fds);
    }
    ::closedir(proc);
    return owners;
}

std::vector<ProcessInfo> find_processes(std::string_view name) {
    std::vector<ProcessInfo> found;
    DIR* proc = ::opendir("/proc");
    if (!proc) return found;
    while (dirent* e = ::readdir(proc)) {
        if (!all_digits(e->d_name)) continue;
        const std::string comm = comm_of(e->d_name);
        if (comm == name) found.push_back({std::stoi(e->d_name), comm});
    }
    ::closedir(proc);
    return found;
}

}  // namespace fedgw::ctl
