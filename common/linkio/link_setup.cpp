// Start-up helpers for the link ends (see link_setup.hpp).
//
// Loop-bound edge.
#include "common/linkio/link_setup.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/tls/identity.hpp"

namespace fedgw::link {

std::string_view describe(SetupErrorCode c) {
    switch (c) {
        case SetupErrorCode::Tls:
            return "tls";
        case SetupErrorCode::Certificate:
            return "certificate";
        case SetupErrorCode::Address:
            return "address";
        case SetupErrorCode::Listen:
            return "listen";
        case SetupErrorCode::Options:
            return "options";
    }
    return "options";
}

std::string SetupError::describe() const {
    std::string s(link::describe(code));
    if (!text.empty()) s += ": " + text;
    return s;
}

Result<std::string, SetupError> certificate_node_name(const std::string& cert_file) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(cert_file.c_str(), "r"), &std::fclose);
    if (!f) {
        return Unexpected(SetupError{SetupErrorCode::Certificate,
                                     "cannot read '" + cert_file + "': " + std::strerror(errno)});
    }
    std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                                &X509_free);
    ERR_clear_error();
    if (!cert) {
        return Unexpected(
            SetupError{SetupErrorCode::Certificate, "no PEM certificate in '" + cert_file + "'"});
    }
    for (const std::string& name : certificate_names(cert.get()).dns) {
        if (!name.empty() && name.front() != '*') return name;
    }
    return Unexpected(SetupError{
        SetupErrorCode::Certificate,
        "the certificate in '" + cert_file + "' has no DNS name to announce as the node name"});
}

Result<sockaddr_storage, SetupError> to_sockaddr(const HostPort& address) {
    sockaddr_storage ss{};
    if (!address.ip) {
        return Unexpected(SetupError{SetupErrorCode::Address,
                                     "'" + address.to_string() + "' is not an IP address"});
    }
    if (address.ip->is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(address.port);
        std::memcpy(&sin->sin_addr, address.ip->bytes.data(), 4);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(address.port);
        std::memcpy(&sin6->sin6_addr, address.ip->bytes.data(), 16);
    }
    return ss;
}

std::string sockaddr_text(const sockaddr* addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (addr == nullptr) return "?";
    if (addr->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
        inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(sin->sin_port));
    }
    if (addr->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(addr);
        inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(sin6->sin6_port));
    }
    return "?";
}

}  // namespace fedgw::link
