// What every fedgwctl command shares: the documented exit codes, the error value a command
// returns, the global options (--config, --db, --json), opening the registry they name, and
// the aligned table and duration formatting of the human output.
//
// Edge (tool): reads the configuration file and opens the SQLite registry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/registry/registry_store.hpp"

namespace fedgw::ctl {

// The exit codes, as the --help epilogue and docs/fedgwctl.md list them.
enum class Exit : int {
    Ok = 0,           // done; every check passed
    Refused = 1,      // the registry refused the value, or a check found a problem
    Usage = 2,        // the command line is wrong
    Unreachable = 3,  // a service or DNS server does not answer (not running, no permission)
    NotFound = 4,     // no such partner, blocked domain, setting or file
    Exists = 5,       // the partner or blocked domain is already there
    Environment = 6,  // the configuration or the registry cannot be read or written
};

// The epilogue of every --help.
std::string_view exit_code_help();

struct CtlError {
    Exit code = Exit::Refused;
    std::string text;  // names the problem and, where one is known, the fix
};

template <class T>
using CtlResult = Result<T, CtlError>;

inline Unexpected<CtlError> ctl_fail(Exit code, std::string text) {
    return Unexpected(CtlError{code, std::move(text)});
}

// A registry failure as a CtlError with the matching exit code.
CtlError from_store(const registry::StoreError& e);

struct GlobalOptions {
    std::string config_path;    // --config, or the build's default
    bool config_given = false;  // --config was on the command line
    std::string db_path;        // --db; empty: [registry] path of the configuration
    bool json = false;          // --json
};

// The registry file the options name: --db, else [registry] path of the configuration.
CtlResult<std::string> registry_path(const GlobalOptions& g);

enum class OpenMode {
    Read,   // the file must exist: a typo in --db must not create an empty registry
    Write,  // created owner-only (0600) when missing
};
CtlResult<registry::RegistryStore> open_registry(const GlobalOptions& g, OpenMode mode);

// ---- output ---------------------------------------------------------------------------------

// An aligned table: a header row in capitals, columns two spaces apart, the last column not
// padded. Widths count UTF-8 code points.
class Table {
  public:
    explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    bool empty() const { return rows_.empty(); }
    // Each line starts with `indent`.
    std::string render(std::string_view indent = "") const;

  private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
};

// "42s", "5m", "2h03m", "3d04h": an age or a duration for a table cell.
std::string format_age(std::int64_t seconds);
// "on" / "off".
inline std::string_view on_off(bool b) {
    return b ? "on" : "off";
}
// "2027-11-21 00:00:00 UTC" from Unix seconds.
std::string format_utc(std::int64_t unix_seconds);
// Writes s to stdout as is.
void out(std::string_view s);
// "fedgwctl: warning: TEXT" on stderr.
void warn(std::string_view text);

}  // namespace fedgw::ctl
