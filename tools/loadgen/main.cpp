// fedgw-loadgen: an XMPP load generator. Logs N client accounts into an XMPP server, sends a
// bounded number of messages to target JIDs and prints what came back: answers, type='error'
// bounces by condition (RFC 6120 §8.3.3), throughput and latency percentiles.
// Used by tools/bench/bench.py (docs/benchmarks.md); send it traffic only to servers you run.
//
// Loop-bound (main): the command line, then LoadRunner.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/loadgen/load_runner.hpp"
#include "tools/loadgen/report.hpp"

namespace {

using fedgw::loadgen::expand_range;

constexpr std::uint64_t kMaxMessages = 10'000'000;
constexpr std::size_t kMaxAccounts = 500;  // libstrophe polls with select(): FD_SETSIZE 1024
constexpr double kMaxDuration = 3600;

// Every pattern expanded, in order; false (with a message) on a bad one.
bool expand_all(const std::vector<std::string>& patterns, std::size_t limit, const char* what,
                std::vector<std::string>& out) {
    for (const std::string& p : patterns) {
        auto names = expand_range(p, limit);
        if (!names) {
            std::fprintf(stderr, "fedgw-loadgen: %s '%s': %s\n", what, p.c_str(),
                         describe(names.error()));
            return false;
        }
        out.insert(out.end(), names->begin(), names->end());
    }
    if (out.size() > limit) {
        std::fprintf(stderr, "fedgw-loadgen: at most %zu %ss\n", limit, what);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "fedgw-loadgen: log N XMPP accounts into a server, send M messages to target JIDs, "
        "count answers and bounces, print throughput and latency.\n"
        "Exit status: 0 when something got through (an answer, or messages sent and not all "
        "bounced), 1 when nothing did or no account logged in, 2 on usage errors."};
    fedgw::loadgen::RunOptions o;
    std::vector<std::string> jid_patterns, target_patterns;
    bool json = false;
    app.add_option("--host", o.host, "XMPP server address or name to connect to")->required();
    app.add_option("--port", o.port, "client-to-server port")->default_val(5222);
    app.add_option("--jid", jid_patterns,
                   "account JID; repeatable; a {A..B} range expands, e.g. load{1..20}@example.org")
        ->required();
    app.add_option("--password", o.password, "password of every account")->required();
    app.add_option("--to", target_patterns,
                   "target JID; repeatable; a {A..B} range expands; used round robin")
        ->required();
    auto* ca = app.add_option("--ca-file", o.ca_file, "PEM file of the CA(s) to trust")
                   ->check(CLI::ExistingFile);
    app.add_flag("--insecure", o.insecure,
                 "accept any server certificate (only for throwaway test CAs)")
        ->excludes(ca);
    app.add_option("--messages", o.messages, "messages to send in total")
        ->default_val(1000)
        ->check(CLI::Range(std::uint64_t{1}, kMaxMessages));
    app.add_option("--rate", o.rate, "messages per second in total; 0 = as fast as allowed")
        ->default_val(0)
        ->check(CLI::Range(0.0, 1e6));
    app.add_option("--window", o.window,
                   "most unanswered messages at once; 0 = no limit (for targets that never answer)")
        ->default_val(100);
    app.add_option("--duration", o.duration_s, "hard limit in seconds on sending and waiting")
        ->default_val(60)
        ->check(CLI::Range(0.1, kMaxDuration));
    app.add_option("--login-timeout", o.login_timeout_s, "seconds for every account to log in")
        ->default_val(20)
        ->check(CLI::Range(0.1, 600.0));
    app.add_option("--linger", o.linger_s,
                   "after the last send, seconds to wait for the last answers")
        ->default_val(2)
        ->check(CLI::Range(0.0, 600.0));
    app.add_option("--type", o.type, "message type")
        ->default_val("chat")
        ->check(CLI::IsMember({"chat", "normal", "headline"}));
    app.add_flag("--json", json, "print the summary as JSON");
    app.add_flag("-v,--verbose", o.verbose, "libstrophe warnings and per-account events on stderr");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (!expand_all(jid_patterns, kMaxAccounts, "account", o.jids) ||
        !expand_all(target_patterns, 100'000, "target", o.targets)) {
        return 2;
    }
    if (o.ca_file.empty() && !o.insecure) {
        std::fprintf(stderr, "fedgw-loadgen: give --ca-file to verify the server, or --insecure\n");
        return 2;
    }

    fedgw::loadgen::LoadRunner runner(o);
    auto result = runner.run();
    if (!result) {
        std::fprintf(stderr, "fedgw-loadgen: %s\n", describe(result.error().error));
        for (const std::string& f : result.error().login_failures) {
            std::fprintf(stderr, "  %s\n", f.c_str());
        }
        return 1;
    }
    for (const std::string& f : result->login_failures) {
        std::fprintf(stderr, "fedgw-loadgen: not logged in: %s\n", f.c_str());
    }
    if (result->timed_out) {
        std::fprintf(stderr, "fedgw-loadgen: --duration %.1f s ended the run\n", o.duration_s);
    }
    const auto& s = result->summary;
    const std::string out = json ? render_json(s) : render_text(s);
    std::fputs(out.c_str(), stdout);
    const bool got_through = s.answered > 0 || (s.sent > 0 && s.errors < s.sent);
    return got_through ? 0 : 1;
}
