// check_files(): the certificates, keys and CA bundles a role names are readable regular files,
// and the directories that will hold the registry and the control socket exist. Run after
// validate(), at start-up and reload, so a typo in a path fails with the key that holds it
// rather than later inside OpenSSL or SQLite.
//
// Loop-bound edge: reads the filesystem (opens each file for reading, as the service will).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "common/config/config.hpp"

namespace fedgw {
namespace {

namespace fs = std::filesystem;

class FileChecks {
  public:
    explicit FileChecks(const Config& c) : config_(c) {}

    // A readable regular file. Empty paths were reported by validate() and are skipped.
    void readable_file(const std::string& key, const std::string& path) {
        if (error_ || path.empty()) return;
        std::error_code ec;
        const fs::file_status st = fs::status(path, ec);
        if (st.type() == fs::file_type::not_found) {
            return fail(key, "\"" + path + "\" does not exist");
        }
        if (ec) return fail(key, "cannot use \"" + path + "\": " + ec.message());
        if (fs::is_directory(st)) return fail(key, "\"" + path + "\" is a directory, not a file");
        if (!fs::is_regular_file(st)) return fail(key, "\"" + path + "\" is not a regular file");
        errno = 0;
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) {
            return fail(key, "cannot read \"" + path + "\": " + std::strerror(errno));
        }
        std::fclose(f);
    }

    // The directory that will hold path exists.
    void parent_directory(const std::string& key, const std::string& path) {
        if (error_ || path.empty()) return;
        const fs::path dir = fs::path(path).parent_path();
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            fail(key, "the directory \"" + dir.string() + "\" for \"" + path + "\" does not exist");
        }
    }

    Result<void, ConfigError> result() const {
        if (error_) return Unexpected(*error_);
        return {};
    }

  private:
    void fail(const std::string& key, std::string message) {
        error_ = ConfigError{
            ConfigErrorCode::FileProblem, config_.source, key, 0, 0, std::move(message)};
    }

    const Config& config_;
    std::optional<ConfigError> error_;
};

void check_proxy(const ProxyConfig& p, FileChecks& c) {
    c.parent_directory("proxy.control_socket", p.control_socket);
    c.readable_file("proxy.trust_file", p.trust_file);
    for (std::size_t i = 0; i < p.domains.size(); ++i) {
        const std::string at = "proxy.domain[" + std::to_string(i) + "].";
        c.readable_file(at + "cert", p.domains[i].cert);
        c.readable_file(at + "key", p.domains[i].key);
    }
    if (p.gateway_link) {
        c.readable_file("proxy.gateway_link.cert", p.gateway_link->cert);
        c.readable_file("proxy.gateway_link.key", p.gateway_link->key);
        c.readable_file("proxy.gateway_link.ca", p.gateway_link->ca);
    }
}

void check_gateway(const GatewayConfig& g, FileChecks& c) {
    c.parent_directory("gateway.control_socket", g.control_socket);
    c.readable_file("gateway.cert", g.cert);
    c.readable_file("gateway.key", g.key);
    c.readable_file("gateway.ca", g.ca);
    if (g.sip.uses_tls()) {
        c.readable_file("gateway.sip.tls_cert", g.sip.tls_cert);
        c.readable_file("gateway.sip.tls_key", g.sip.tls_key);
        c.readable_file("gateway.sip.tls_ca", g.sip.tls_ca);
    }
}

}  // namespace

Result<void, ConfigError> check_files(const Config& config, Role role) {
    FileChecks c(config);
    c.parent_directory("registry.path", config.registry.path);
    if (role == Role::Proxy && config.proxy) check_proxy(*config.proxy, c);
    if (role == Role::Gateway && config.gateway) check_gateway(*config.gateway, c);
    return c.result();
}

}  // namespace fedgw
