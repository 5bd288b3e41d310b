// LoadRunner: fedgw-loadgen's driver. Logs N XMPP client accounts into one server with
// libstrophe (RFC 6120 §5 STARTTLS, §6 SASL, §7 resource binding; several connections in one
// xmpp_ctx, turned by xmpp_run_once), then sends a bounded number of <message/> stanzas
// (RFC 6121 §5) round robin over the accounts and the targets, paced by a rate or by a window
// of unanswered messages, and feeds what comes back into LoadStats.
//
// Loop-bound: owns sockets and reads the clock. The measuring itself is LoadStats (pure).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/result.hpp"
#include "tools/loadgen/load_stats.hpp"

namespace fedgw::loadgen {

struct RunOptions {
    std::string host;                  // server to connect to (address or name)
    std::uint16_t port = 5222;         // c2s port
    std::vector<std::string> jids;     // accounts, each logged in once
    std::string password;              // the same for every account
    std::vector<std::string> targets;  // bare or full JIDs, used round robin
    std::string ca_file;               // trust anchors for the server certificate
    bool insecure = false;             // accept any server certificate (throwaway CAs)
    std::uint64_t messages = 1000;     // in total, over all accounts
    double rate = 0;                   // messages per second in total; 0: no pacing
    std::uint64_t window = 100;        // most unanswered messages at once; 0: no limit
    double duration_s = 60;            // hard limit on the sending and waiting, in seconds
    double login_timeout_s = 20;       // for every account to log in
    double linger_s = 2;               // after the last send, wait this long for answers
    std::string type = "chat";         // the messages' type attribute
    bool verbose = false;              // libstrophe's warnings and per-account events
};

// How a run ended before it measured anything.
enum class RunError {
    NoAccountLoggedIn,  // every account failed to connect or to authenticate
    ConnectFailed,      // xmpp_connect_client refused to start (bad host, out of memory)
};
const char* describe(RunError e);

struct RunResult {
    Summary summary;
    std::vector<std::string> login_failures;  // "jid: why", one per account that failed
    bool timed_out = false;                   // --duration ended the run
};

struct RunFailure {
    RunError error;
    std::vector<std::string> login_failures;  // "jid: why", one per account
};

class LoadRunner {
  public:
    explicit LoadRunner(RunOptions options);
    // Connects, sends, waits, disconnects. A RunResult when at least one account logged in.
    Result<RunResult, RunFailure> run();

  private:
    RunOptions options_;
};

}  // namespace fedgw::loadgen
