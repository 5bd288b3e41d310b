// LoadRunner: libstrophe connections, pacing and the run's phases. Loop-bound (see
// load_runner.hpp).
#include "tools/loadgen/load_runner.hpp"

#include <fmt/format.h>
#include <strophe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string_view>
#include <utility>

#include "common/base/xml_escape.hpp"

namespace fedgw::loadgen {

const char* describe(RunError e) {
    switch (e) {
        case RunError::NoAccountLoggedIn:
            return "no account logged in";
        case RunError::ConnectFailed:
            return "could not start a connection";
    }
    return "?";
}

namespace {

constexpr std::string_view kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";
// Messages sent per loop turn at most, so that reading answers keeps up with sending.
constexpr std::uint64_t kBurst = 64;

std::int64_t monotonic_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

std::int64_t wall_us() {  // the body's t=, for receivers on this machine (sipp's [timestamp])
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

enum class AccountState { Connecting, Online, Closing, Failed, Closed };

struct Run;

struct Account {
    Run* run = nullptr;
    std::string jid;
    xmpp_conn_t* conn = nullptr;
    AccountState state = AccountState::Connecting;
    std::string failure;
};

struct Run {
    const RunOptions* options = nullptr;
    xmpp_ctx_t* ctx = nullptr;
    LoadStats stats;
    std::int64_t last_event_us = 0;
    explicit Run(std::size_t max) : stats(max) {}
};

std::string stream_error_text(xmpp_stream_error_t* se) {
    if (se == nullptr) return {};
    if (se->stanza != nullptr) {
        for (xmpp_stanza_t* c = xmpp_stanza_get_children(se->stanza); c != nullptr;
             c = xmpp_stanza_get_next(c)) {
            const char* name = xmpp_stanza_get_name(c);
            if (name != nullptr && std::string_view(name) != "text") {
                return fmt::format("stream error <{}/>", name);
            }
        }
    }
    return se->text != nullptr ? fmt::format("stream error: {}", se->text) : "stream error";
}

void on_connection(xmpp_conn_t* conn, xmpp_conn_event_t event, int error,
                   xmpp_stream_error_t* stream_error, void* userdata) {
    auto* a = static_cast<Account*>(userdata);
    if (event == XMPP_CONN_CONNECT) {
        a->state = AccountState::Online;
        // Initial presence (RFC 6121 §4.2): answers addressed to the bare JID reach us.
        static constexpr std::string_view kPresence = "<presence/>";
        xmpp_send_raw(conn, kPresence.data(), kPresence.size());
        if (a->run->options->verbose) std::fprintf(stderr, "loadgen: %s online\n", a->jid.c_str());
        return;
    }
    // XMPP_CONN_DISCONNECT or XMPP_CONN_FAIL (and libstrophe's RAW_CONNECT, never asked for).
    if (a->state == AccountState::Connecting) {
        a->state = AccountState::Failed;
        std::string why = stream_error_text(stream_error);
        if (why.empty()) {
            why = error != 0 ? fmt::format("connection failed (errno {})", error)
                             : std::string(
                                   "closed before logging in (refused, TLS, certificate or "
                                   "authentication failure; -v says which)");
        }
        a->failure = why;
    } else if (a->state == AccountState::Online) {
        a->state = AccountState::Closed;
        std::fprintf(
            stderr, "loadgen: %s disconnected during the run%s\n", a->jid.c_str(),
            stream_error != nullptr ? (": " + stream_error_text(stream_error)).c_str() : "");
    } else {
        a->state = AccountState::Closed;
    }
}

// The defined condition of a stanza error (RFC 6120 §8.3.3): the <error/> child's child in
// the stanzas namespace that is not <text/>.
std::string error_condition(xmpp_stanza_t* stanza) {
    xmpp_stanza_t* error = xmpp_stanza_get_child_by_name(stanza, "error");
    if (error == nullptr) return {};
    for (xmpp_stanza_t* c = xmpp_stanza_get_children(error); c != nullptr;
         c = xmpp_stanza_get_next(c)) {
        const char* name = xmpp_stanza_get_name(c);
        const char* ns = xmpp_stanza_get_ns(c);
        if (name != nullptr && ns != nullptr && ns == kStanzasNs &&
            std::string_view(name) != "text") {
            return name;
        }
    }
    return {};
}

int on_message(xmpp_conn_t* /*conn*/, xmpp_stanza_t* stanza, void* userdata) {
    auto* a = static_cast<Account*>(userdata);
    Run& run = *a->run;
    const std::int64_t now = monotonic_us();
    run.last_event_us = now;
    const char* type = xmpp_stanza_get_type(stanza);
    const char* id = xmpp_stanza_get_id(stanza);
    std::optional<std::uint64_t> seq = id != nullptr ? find_sequence(id) : std::nullopt;
    if (!seq) {  // an echo that did not keep the id: the tag is in the body
        if (char* body = xmpp_message_get_body(stanza); body != nullptr) {
            seq = find_sequence(body);
            xmpp_free(run.ctx, body);
        }
    }
    if (!seq) {
        run.stats.on_untagged();
        return 1;
    }
    if (type != nullptr && std::string_view(type) == "error") {
        run.stats.on_error(*seq, error_condition(stanza));
    } else {
        run.stats.on_answer(*seq, now);
    }
    return 1;  // keep the handler
}

std::string message_xml(const std::string& to, std::uint64_t seq, const std::string& type) {
    const std::string tag = sequence_tag(seq);
    std::string out = "<message to='";
    append_escaped_attr(out, to);
    out += "' id='" + tag + "' type='";
    append_escaped_attr(out, type);
    out += fmt::format("'><body>fedgw-loadgen {} t={}</body></message>", tag, wall_us());
    return out;
}

}  // namespace

LoadRunner::LoadRunner(RunOptions options) : options_(std::move(options)) {}

Result<RunResult, RunFailure> LoadRunner::run() {
    const RunOptions& o = options_;
    xmpp_initialize();
    xmpp_log_t* log = o.verbose ? xmpp_get_default_logger(XMPP_LEVEL_WARN) : nullptr;
    Run run(o.messages);
    run.options = &o;
    run.ctx = xmpp_ctx_new(nullptr, log);

    std::vector<std::unique_ptr<Account>> accounts;
    bool connect_failed = false;
    for (const std::string& jid : o.jids) {
        auto a = std::make_unique<Account>();
        a->run = &run;
        a->jid = jid;
        a->conn = xmpp_conn_new(run.ctx);
        xmpp_conn_set_jid(a->conn, jid.c_str());
        xmpp_conn_set_pass(a->conn, o.password.c_str());
        long flags = XMPP_CONN_FLAG_MANDATORY_TLS;
        if (o.insecure) flags |= XMPP_CONN_FLAG_TRUST_TLS;
        xmpp_conn_set_flags(a->conn, flags);
        if (!o.ca_file.empty()) xmpp_conn_set_cafile(a->conn, o.ca_file.c_str());
        xmpp_handler_add(a->conn, on_message, nullptr, "message", nullptr, a.get());
        if (xmpp_connect_client(a->conn, o.host.c_str(), o.port, on_connection, a.get()) !=
            XMPP_EOK) {
            a->state = AccountState::Failed;
            a->failure = "xmpp_connect_client failed";
            connect_failed = true;
        }
        accounts.push_back(std::move(a));
    }

    auto count = [&accounts](AccountState s) {
        return static_cast<std::size_t>(std::count_if(
            accounts.begin(), accounts.end(), [s](const auto& a) { return a->state == s; }));
    };

    // Phase 1: every account logs in, or fails, or the login time runs out.
    const std::int64_t login_deadline =
        monotonic_us() + static_cast<std::int64_t>(o.login_timeout_s * 1e6);
    while (count(AccountState::Connecting) > 0 && monotonic_us() < login_deadline) {
        xmpp_run_once(run.ctx, 10);
    }

    RunResult result;
    for (auto& a : accounts) {
        if (a->state == AccountState::Connecting) {
            a->failure = fmt::format("not logged in after {} s", o.login_timeout_s);
        }
        if (a->state != AccountState::Online)
            result.login_failures.push_back(a->jid + ": " + a->failure);
    }
    const std::size_t online = count(AccountState::Online);

    // Phase 2: send, paced, and collect; then linger for the last answers.
    std::int64_t start = monotonic_us();
    std::int64_t last_send = start;
    const auto limit_us = static_cast<std::int64_t>(o.duration_s * 1e6);
    std::size_t next_account = 0;
    while (online > 0) {
        const std::int64_t now = monotonic_us();
        if (now - start >= limit_us) {
            result.timed_out = run.stats.sent() < o.messages || run.stats.outstanding() > 0;
            break;
        }
        std::uint64_t allowed = o.messages - run.stats.sent();
        if (o.rate > 0) {
            const auto due = static_cast<std::uint64_t>(
                                 std::floor(o.rate * static_cast<double>(now - start) / 1e6)) +
                             1;
            allowed = std::min(allowed, due > run.stats.sent() ? due - run.stats.sent() : 0);
        }
        if (o.window > 0) {
            const std::uint64_t out = run.stats.outstanding();
            allowed = std::min(allowed, out < o.window ? o.window - out : 0);
        }
        allowed = std::min(allowed, kBurst);
        for (std::uint64_t i = 0; i < allowed; ++i) {
            Account* a = nullptr;
            for (std::size_t tries = 0; tries < accounts.size() && a == nullptr; ++tries) {
                Account* c = accounts[next_account++ % accounts.size()].get();
                if (c->state == AccountState::Online) a = c;
            }
            if (a == nullptr) break;
            const std::uint64_t seq = run.stats.on_sent(monotonic_us());
            const std::string& to = o.targets[(seq - 1) % o.targets.size()];
            const std::string xml = message_xml(to, seq, o.type);
            xmpp_send_raw(a->conn, xml.data(), xml.size());
            last_send = monotonic_us();
        }
        if (count(AccountState::Online) == 0) break;
        if (run.stats.sent() >= o.messages) {
            if (run.stats.outstanding() == 0) break;
            if (monotonic_us() - last_send >= static_cast<std::int64_t>(o.linger_s * 1e6)) break;
        }
        // Turn at once when more may go out now; otherwise wait a little for I/O.
        const bool more_now = allowed == kBurst;
        xmpp_run_once(run.ctx, more_now ? 0 : 1);
    }
    const std::int64_t end = std::max(last_send, run.last_event_us);

    // Phase 3: close every stream (RFC 6120 §4.4), for a bounded time.
    for (auto& a : accounts) {
        if (a->state == AccountState::Online || a->state == AccountState::Connecting) {
            a->state = AccountState::Closing;
            xmpp_disconnect(a->conn);
        }
    }
    const std::int64_t close_deadline = monotonic_us() + 3'000'000;
    while (monotonic_us() < close_deadline &&
           std::any_of(accounts.begin(), accounts.end(),
                       [](const auto& a) { return xmpp_conn_is_connected(a->conn) != 0; })) {
        xmpp_run_once(run.ctx, 10);
    }
    for (auto& a : accounts)
        xmpp_conn_release(a->conn);
    xmpp_ctx_free(run.ctx);
    xmpp_shutdown();

    if (online == 0) {
        return Unexpected(
            RunFailure{connect_failed ? RunError::ConnectFailed : RunError::NoAccountLoggedIn,
                       std::move(result.login_failures)});
    }
    result.summary = run.stats.summary(run.stats.sent() > 0 ? end - start : 0);
    result.summary.accounts = accounts.size();
    result.summary.logged_in = online;
    return result;
}

}  // namespace fedgw::loadgen
