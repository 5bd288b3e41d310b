#include "tools/fedgwctl/ctl_common.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "common/config/config.hpp"

namespace fedgw::ctl {

std::string_view exit_code_help() {
    return "Global options go before or after the command: -c/--config FILE, --db PATH, "
           "--json.\n\n"
           "Exit status:\n"
           "  0  done; every check passed\n"
           "  1  refused: the registry refused the value (the reason is printed), or a check\n"
           "     found a problem\n"
           "  2  usage: the command line is wrong\n"
           "  3  unreachable: a service's control socket or a DNS server does not answer\n"
           "  4  not found: no such partner, blocked domain, setting or file\n"
           "  5  exists: the partner or blocked domain is already there\n"
           "  6  environment: the configuration or the registry cannot be read or written\n"
           "Documentation: docs/fedgwctl.md";
}

CtlError from_store(const registry::StoreError& e) {
    switch (e.kind) {
        case registry::StoreErrorKind::Invalid:
            return {Exit::Refused, "refused: " + e.text};
        case registry::StoreErrorKind::NotFound:
            return {Exit::NotFound, e.text};
        case registry::StoreErrorKind::Exists:
            return {Exit::Exists, e.text};
        case registry::StoreErrorKind::Database:
            break;
    }
    return {Exit::Environment, "registry: " + e.text};
}

CtlResult<std::string> registry_path(const GlobalOptions& g) {
    if (!g.db_path.empty()) return g.db_path;
    auto config = load_config(g.config_path);
    if (!config) {
        std::string text = config.error().describe();
        if (config.error().code == ConfigErrorCode::Unreadable)
            text +=
                "\n  fix: give the registry with --db PATH, or the configuration with "
                "--config FILE";
        return ctl_fail(Exit::Environment, text);
    }
    return config->registry.path;
}

CtlResult<registry::RegistryStore> open_registry(const GlobalOptions& g, OpenMode mode) {
    auto path = registry_path(g);
    if (!path) return Unexpected(path.error());
    struct stat st {};
    const bool exists = ::stat(path->c_str(), &st) == 0;
    if (!exists && mode == OpenMode::Read) {
        if (errno == EACCES)
            return ctl_fail(Exit::Environment, "registry " + *path +
                                                   ": permission denied\n  fix: run as the "
                                                   "services' user or root");
        return ctl_fail(Exit::NotFound,
                        "registry " + *path +
                            " does not exist\n  fix: check --db or [registry] path; the first "
                            "write (e.g. fedgwctl partner add) or a service creates it");
    }
    DbOptions options;
    options.create = mode == OpenMode::Write;
    auto store = registry::RegistryStore::open(*path, options);
    if (!store) {
        std::string text = "registry " + *path + ": " + store.error().text;
        if (::access(path->c_str(), R_OK | W_OK) != 0 && errno == EACCES)
            text += "\n  fix: run as the services' user or root";
        return ctl_fail(Exit::Environment, text);
    }
    if (!exists && ::geteuid() == 0) {
        // A directory owned by someone else is usually the services' (/var/lib/fedgw owned
        // by fedgw): a root-owned 0600 file there would lock them out.
        const auto slash = path->rfind('/');
        const std::string dir = slash == std::string::npos ? "." : path->substr(0, slash + 1);
        struct stat ds {};
        if (::stat(dir.c_str(), &ds) == 0 && ds.st_uid != 0) {
            const passwd* pw = ::getpwuid(ds.st_uid);
            const std::string user = pw ? pw->pw_name : std::to_string(ds.st_uid);
            warn("created " + *path + " owned by root (mode 0600) in a directory owned by " + user +
                 "; if the services run as " + user + ": chown " + user + ": " + *path);
        }
    }
    return std::move(*store);
}

namespace {

std::size_t display_width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xc0) != 0x80) ++n;
    return n;
}

}  // namespace

std::string Table::render(std::string_view indent) const {
    std::vector<std::size_t> width(header_.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], display_width(row[i]));
    };
    measure(header_);
    for (const auto& r : rows_)
        measure(r);
    std::string s;
    auto line = [&](const std::vector<std::string>& row) {
        std::string l(indent);
        for (std::size_t i = 0; i < width.size(); ++i) {
            const std::string cell = i < row.size() ? row[i] : "";
            l += cell;
            if (i + 1 < width.size()) l.append(width[i] - display_width(cell) + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ')
            l.pop_back();
        s += l;
        s += '\n';
    };
    line(header_);
    for (const auto& r : rows_)
        line(r);
    return s;
}

std::string format_age(std::int64_t s) {
    if (s < 0) s = 0;
    char buf[48];
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    } else if (s < 3600) {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    } else if (s < 86400) {
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600));
    }
    return buf;
}

std::string format_utc(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (!::gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

void out(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
}

void warn(std::string_view text) {
    std::fprintf(stderr, "fedgwctl: warning: %.*s\n", static_cast<int>(text.size()), text.data());
}

}  // namespace fedgw::ctl
