// A dnsmasq (dnsmasq-base: /usr/sbin/dnsmasq) started by a loop test on 127.0.0.1 and a free
// port, serving only the records it is given under .test, killed when destroyed. For tests
// that need real SRV answers (XEP-0368 _xmpps-server._tcp, RFC 6120 §3.2).
//
// Loop-bound test support.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace fedgw::proxy::test {

class Dnsmasq {
  public:
    explicit Dnsmasq(std::vector<std::string> records) : records_(std::move(records)) {}
    ~Dnsmasq() { stop(); }
    Dnsmasq(const Dnsmasq&) = delete;
    Dnsmasq& operator=(const Dnsmasq&) = delete;

    // Starts dnsmasq and waits until it answers; on failure says why.
    bool start(std::string* why) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_udp_port();
            if (port_ == 0) continue;
            std::vector<std::string> args = {
                "/usr/sbin/dnsmasq",    "--conf-file=/dev/null",
                "--keep-in-foreground", "--no-resolv",
                "--no-hosts",           "--no-poll",
                "--pid-file=",          "--listen-address=127.0.0.1",
                "--bind-interfaces",    "--local=/test/",
                "--log-facility=-",     "--port=" + std::to_string(port_)};
            if (::geteuid() == 0) args.push_back("--user=nobody");  // only root may switch
            args.insert(args.end(), records_.begin(), records_.end());
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            pid_t parent = ::getpid();
            pid_ = ::fork();
            if (pid_ < 0) {
                *why = std::string("fork: ") + std::strerror(errno);
                return false;
            }
            if (pid_ == 0) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
                if (::getppid() != parent) ::_exit(126);
                ::execv(argv[0], argv.data());
                ::_exit(127);
            }
            for (int i = 0; i < 100; ++i) {  // up to ~5 s
                int status = 0;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                    *why = "dnsmasq exited with status " + std::to_string(status);
                    pid_ = -1;
                    break;  // the port was taken in the meantime: try another
                }
                if (answers(port_, 50)) return true;
            }
            if (pid_ > 0) {
                stop();
                *why = "dnsmasq did not answer on 127.0.0.1:" + std::to_string(port_);
            }
        }
        return false;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    static int udp_socket(std::uint16_t* port) {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) ::close(fd);
            return -1;
        }
        *port = ntohs(a.sin_port);
        return fd;
    }
    static std::uint16_t free_udp_port() {
        std::uint16_t port = 0;
        int fd = udp_socket(&port);
        if (fd < 0) return 0;
        ::close(fd);  // dnsmasq takes it (a race that start() retries on)
        return port;
    }
    // Sends one A query for ready.test and waits up to `ms` for any answer.
    static bool answers(std::uint16_t port, int ms) {
        std::uint16_t mine = 0;
        int fd = udp_socket(&mine);
        if (fd < 0) return false;
        timeval tv{0, ms * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0,   0,   0,   0, 0, 0, 5, 'r',
                                   'e',  'a',  'd',  'y',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(port);
        bool ok = ::sendto(fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0;
        unsigned char buf[512];
        ok = ok && ::recv(fd, buf, sizeof buf, 0) > 0;
        ::close(fd);
        return ok;
    }

    std::vector<std::string> records_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace fedgw::proxy::test
