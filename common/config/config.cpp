// The per-host configuration: errors, the top level, [log] and [registry], and loading from a
// file. [proxy] and [gateway] are in proxy_section.cpp and gateway_section.cpp; validate() in
// validate.cpp; check_files() in check_files.cpp.
//
// Pure except load_config, which reads the file.
#include "common/config/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/config/sections.hpp"
#include "common/config/toml_reader.hpp"

#ifndef FEDGW_DEFAULT_CONFIG
#define FEDGW_DEFAULT_CONFIG "/etc/fedgw/fedgw.toml"
#endif

namespace fedgw {

std::string_view role_name(Role r) {
    switch (r) {
        case Role::Proxy:
            return "proxy";
        case Role::Gateway:
            return "gateway";
    }
    return "proxy";
}

std::string_view default_config_path() {
    return FEDGW_DEFAULT_CONFIG;
}

std::string_view describe(ConfigErrorCode c) {
    switch (c) {
        case ConfigErrorCode::Unreadable:
            return "configuration file unreadable";
        case ConfigErrorCode::TooLarge:
            return "configuration file too large";
        case ConfigErrorCode::Syntax:
            return "TOML syntax error";
        case ConfigErrorCode::UnknownKey:
            return "unknown key";
        case ConfigErrorCode::WrongType:
            return "wrong type";
        case ConfigErrorCode::InvalidValue:
            return "invalid value";
        case ConfigErrorCode::Missing:
            return "missing setting";
        case ConfigErrorCode::FileProblem:
            return "unusable file";
    }
    return "invalid value";
}

std::string ConfigError::describe() const {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

namespace config_detail {
namespace {

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

Result<log::Level, std::string> parse_level(std::string_view text) {
    if (auto l = log::level_from_name(text)) return *l;
    return Unexpected("unknown level " + quoted(text) + "; expected debug, info, warn or error");
}

void read_log(TableReader r, LogConfig& log) {
    r.value("level", log.level, parse_level);
    r.finish();
}

void read_registry(TableReader r, RegistryConfig& registry) {
    r.value("path", registry.path, parse_path);
    r.finish();
}

}  // namespace

Result<std::string, std::string> parse_path(std::string_view text) {
    if (text.empty()) return Unexpected(std::string("must not be empty"));
    if (text.find('\0') != std::string_view::npos) {
        return Unexpected(std::string("must not contain a NUL character"));
    }
    if (text.front() != '/') {
        return Unexpected(quoted(text) + " is not an absolute path (it must start with \"/\")");
    }
    if (text.size() > kMaxPath) {
        return Unexpected("is longer than " + std::to_string(kMaxPath) + " bytes");
    }
    return std::string(text);
}

Result<std::string, std::string> parse_socket_path(std::string_view text) {
    auto p = parse_path(text);
    if (p && p->size() > kMaxUnixSocketPath) {
        return Unexpected(quoted(text) + " is longer than " + std::to_string(kMaxUnixSocketPath) +
                          " bytes, the limit for a Unix socket path");
    }
    return p;
}

Result<std::string, std::string> parse_name(std::string_view text) {
    return parse_domain_name(text);
}

Result<HostPort, std::string> parse_listen_address(std::string_view text) {
    auto hp = parse_host_port(text);
    if (hp && !hp->is_ip()) {
        return Unexpected(quoted(text) + ": a listen address must be an IP address and a " +
                          "port, like \"[::]:5269\" or \"0.0.0.0:5269\"");
    }
    return hp;
}

Result<SipTransportAddr, std::string> parse_sip_listen_address(std::string_view text) {
    auto a = parse_sip_transport_addr(text);
    if (a && !a->address.is_ip()) {
        return Unexpected(quoted(text) + ": a listen address must be an IP address and a " +
                          "port, like \"udp:0.0.0.0:5070\"");
    }
    return a;
}

Result<HostPort, std::string> parse_dns_server(std::string_view text) {
    if (auto ip = parse_ip_address(text)) return HostPort{ip->to_string(), 53, *ip};
    auto hp = parse_host_port(text);
    if (hp && !hp->is_ip()) {
        return Unexpected(quoted(text) + ": a DNS server must be an IP address with an " +
                          "optional port, like \"127.0.0.1\" or \"[::1]:5353\"");
    }
    return hp;
}

}  // namespace config_detail

Result<Config, ConfigError> parse_config(std::string_view text, std::string_view display_name) {
    using namespace config_detail;
    const std::string file(display_name);
    if (text.size() > kMaxConfigBytes) {
        return Unexpected(ConfigError{ConfigErrorCode::TooLarge, file, "", 0, 0,
                                      "larger than " + std::to_string(kMaxConfigBytes) + " bytes"});
    }
    toml::table root;
    try {
        root = toml::parse(text, display_name);
    } catch (const toml::parse_error& e) {
        return Unexpected(ConfigError{ConfigErrorCode::Syntax, file, "", e.source().begin.line,
                                      e.source().begin.column,
                                      "TOML syntax: " + std::string(e.description())});
    }

    Errors errors(file);
    Config config;
    config.source = file;
    TableReader top(root, "", errors);
    if (const toml::table* t = top.table("log"))
        read_log(TableReader(*t, "log", errors), config.log);
    if (const toml::table* t = top.table("registry")) {
        read_registry(TableReader(*t, "registry", errors), config.registry);
    }
    if (const toml::table* t = top.table("proxy")) {
        TableReader r(*t, "proxy", errors);
        config.proxy = read_proxy(r);
    }
    if (const toml::table* t = top.table("gateway")) {
        TableReader r(*t, "gateway", errors);
        config.gateway = read_gateway(r);
    }
    top.finish();
    if (!errors.ok()) return Unexpected(errors.first());
    return config;
}

Result<Config, ConfigError> load_config(const std::string& path) {
    auto unreadable = [&path](std::string message) {
        return Unexpected(
            ConfigError{ConfigErrorCode::Unreadable, path, "", 0, 0, std::move(message)});
    };
    errno = 0;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) return unreadable("cannot open: " + std::string(std::strerror(errno)));
    std::string text;
    char buf[16384];
    while (true) {
        const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
        text.append(buf, n);
        if (text.size() > kMaxConfigBytes) {
            return Unexpected(
                ConfigError{ConfigErrorCode::TooLarge, path, "", 0, 0,
                            "larger than " + std::to_string(kMaxConfigBytes) + " bytes"});
        }
        if (n < sizeof buf) break;
    }
    if (std::ferror(f.get()))
        return unreadable("cannot read: " + std::string(std::strerror(errno)));
    return parse_config(text, path);
}

Result<Config, ConfigError> load_config_for(Role role, const std::string& path) {
    auto config = load_config(path);
    if (!config) return config;
    if (auto v = validate(*config, role); !v) return Unexpected(v.error());
    if (auto f = check_files(*config, role); !f) return Unexpected(f.error());
    return config;
}

}  // namespace fedgw
