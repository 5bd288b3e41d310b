// fedgw-link-endpoint: a stand-in gateway for the proxy's interop tests until the real
// fedgw-gateway exists. It listens with LinkServer (mutual TLS, the proxy's certificate must
// carry --proxy-name), sends a registry snapshot to every proxy that connects, and talks JSON
// lines:
//   stdout, one object per line, each with an "event":
//     {"event":"listening","address":"127.0.0.1:23456"}
//     {"event":"up","conn":1,"node":"proxy.test"}
//     {"event":"stanza","conn":1,"seq":3,"partner":"partner.test","partner-type":"federated",
//      "auth":"dialback","local":"sip.test","xml":"<message .../>"}
//     {"event":"down","conn":1,"reason":"peer-goodbye: shutdown"}
//     {"event":"refused","reason":"tls-failed: ..."}
//     {"event":"send-failed","reason":"...","xml":"..."}   a stdin line that could not be sent
//     {"event":"error","reason":"..."}                      a stdin line that is not usable
//   stdin, one object per line: {"xml":"<message .../>","local":"sip.test"} with optional
//     "partner" and "conn" (default: any up proxy). Lines wait in a bounded queue until a proxy
//     is up and has credit; none is dropped without a "send-failed" line.
// Credit goes back for each stanza once its line is written and flushed. SIGHUP re-reads the
// registry file and sends it (version + 1) to every proxy; SIGINT/SIGTERM close gracefully.
//
// Loop-bound tool; not installed.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <uv.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/config/address.hpp"
#include "common/linkio/link_server.hpp"
#include "common/log/log.hpp"

namespace fedgw::link {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxQueued = 10000;
constexpr std::size_t kMaxLineBytes = 2 * 1024 * 1024;

struct Options {
    std::vector<std::string> listen;
    std::string cert, key, ca, proxy_name, node, registry_file;
    std::uint64_t registry_version = 1;
    std::uint32_t window = 64;
    std::string log_level = "info";
    bool exit_on_eof = false;
};

void emit(const json& line) {
    std::string s = line.dump(-1, ' ', false, json::error_handler_t::replace);
    s += '\n';
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

// "IP:port", where port 0 (any free port, for tests) is allowed too.
Result<HostPort, std::string> parse_listen(const std::string& text) {
    if (text.size() > 2 && text.compare(text.size() - 2, 2, ":0") == 0) {
        auto hp = parse_host_port(text.substr(0, text.size() - 1) + "1");
        if (!hp) return hp;
        hp->port = 0;
        return hp;
    }
    return parse_host_port(text);
}

std::optional<std::string> read_registry(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read '" + path + "'";
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded()) {
        error = "'" + path + "' is not JSON";
        return std::nullopt;
    }
    return j.dump();
}

class Endpoint {
  public:
    Endpoint(uv_loop_t* loop, Options o) : loop_(loop), o_(std::move(o)) {}

    int start() {
        if (!o_.registry_file.empty()) {
            std::string error;
            auto r = read_registry(o_.registry_file, error);
            if (!r) {
                std::cerr << "fedgw-link-endpoint: " << error << "\n";
                return 1;
            }
            registry_ = std::move(*r);
        }
        LinkServerOptions so;
        for (const auto& text : o_.listen) {
            auto hp = parse_listen(text);
            if (!hp) {
                std::cerr << "fedgw-link-endpoint: --listen: " << hp.error() << "\n";
                return 1;
            }
            so.listen.push_back(*hp);
        }
        so.cert_file = o_.cert;
        so.key_file = o_.key;
        so.ca_file = o_.ca;
        so.proxy_name = o_.proxy_name;
        so.node = o_.node;
        so.session.window = o_.window;
        LinkServerCallbacks cb;
        cb.on_up = [this](ConnId id, const Hello& h) {
            emit({{"event", "up"}, {"conn", id}, {"node", h.node}});
            if (!registry_.empty()) (void)server_->send_registry(id, registry_version_, registry_);
            flush_queue();
        };
        cb.on_down = [](ConnId id, const CloseReason& r) {
            emit({{"event", "down"}, {"conn", id}, {"reason", r.describe()}});
        };
        cb.on_stanza = [this](ConnId id, StanzaFrame s) {
            emit({{"event", "stanza"},
                  {"conn", id},
                  {"seq", s.seq},
                  {"partner", s.partner},
                  {"partner-type", s.partner_type},
                  {"auth", std::string(auth_method_name(s.auth))},
                  {"local", s.local},
                  {"xml", s.xml}});
            server_->stanza_done(id, 1);  // printed and flushed: done
        };
        cb.on_writable = [this](ConnId) { flush_queue(); };
        cb.on_refused = [](const CloseReason& r) {
            emit({{"event", "refused"}, {"reason", r.describe()}});
        };
        auto server = LinkServer::create(loop_, std::move(so), std::move(cb));
        if (!server) {
            std::cerr << "fedgw-link-endpoint: " << server.error().describe() << "\n";
            return 1;
        }
        server_ = std::move(*server);
        for (const auto& a : server_->local_addresses())
            emit({{"event", "listening"}, {"address", a.to_string()}});
        start_signals();
        start_stdin();
        return 0;
    }

    // Called after uv_run returns: everything is closed by then.
    void finish() { server_.reset(); }

  private:
    struct Pending {
        std::optional<ConnId> conn;
        StanzaFrame stanza;
    };

    void start_signals() {
        for (auto* s : {&sigint_, &sigterm_, &sighup_}) {
            uv_signal_init(loop_, s);
            s->data = this;
        }
        uv_signal_start(&sigint_, &Endpoint::on_stop_signal, SIGINT);
        uv_signal_start(&sigterm_, &Endpoint::on_stop_signal, SIGTERM);
        uv_signal_start(&sighup_, &Endpoint::on_sighup, SIGHUP);
    }

    void start_stdin() {
        switch (uv_guess_handle(0)) {
            case UV_TTY:
                tty_ = std::make_unique<uv_tty_t>();
                uv_tty_init(loop_, tty_.get(), 0, 1);
                stdin_ = reinterpret_cast<uv_stream_t*>(tty_.get());
                break;
            case UV_NAMED_PIPE:
                pipe_ = std::make_unique<uv_pipe_t>();
                uv_pipe_init(loop_, pipe_.get(), 0);
                uv_pipe_open(pipe_.get(), 0);
                stdin_ = reinterpret_cast<uv_stream_t*>(pipe_.get());
                break;
            default:
                log::info("link_endpoint.stdin_ignored",
                          {{"reason", "stdin is not a pipe or a terminal"}});
                return;
        }
        stdin_->data = this;
        uv_read_start(
            stdin_,
            [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
                static char buffer[64 * 1024];
                buf->base = buffer;
                buf->len = sizeof buffer;
            },
            &Endpoint::on_stdin);
    }

    static void on_stdin(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* self = static_cast<Endpoint*>(stream->data);
        if (nread < 0) {
            self->stdin_ended();
            return;
        }
        self->input_.append(buf->base, static_cast<std::size_t>(nread));
        std::size_t nl;
        while ((nl = self->input_.find('\n')) != std::string::npos) {
            std::string line = self->input_.substr(0, nl);
            self->input_.erase(0, nl + 1);
            self->handle_line(line);
        }
        if (self->input_.size() > kMaxLineBytes) {
            emit({{"event", "error"}, {"reason", "stdin line longer than 2 MiB, discarded"}});
            self->input_.clear();
        }
    }

    void handle_line(const std::string& line) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) return;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            emit({{"event", "error"}, {"reason", "stdin line is not a JSON object"}});
            return;
        }
        auto text = [&j](const char* key) {
            auto it = j.find(key);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        Pending p;
        p.stanza.xml = text("xml");
        p.stanza.local = text("local");
        p.stanza.partner = text("partner");
        if (auto it = j.find("conn"); it != j.end() && it->is_number_unsigned())
            p.conn = it->get<ConnId>();
        if (p.stanza.xml.empty()) {
            emit({{"event", "error"}, {"reason", "stdin line without \"xml\""}});
            return;
        }
        if (queue_.size() >= kMaxQueued) {
            emit({{"event", "send-failed"}, {"reason", "queue full"}, {"xml", p.stanza.xml}});
            return;
        }
        queue_.push_back(std::move(p));
        flush_queue();
    }

    void flush_queue() {
        while (!queue_.empty() && server_ && !server_->is_closed()) {
            Pending& p = queue_.front();
            Result<void, SendRefusal> r = Unexpected(SendRefusal::NotEstablished);
            if (p.conn) {
                r = server_->send_stanza(*p.conn, p.stanza);
            } else {
                auto any = server_->send_stanza_any(p.stanza);
                if (!any)
                    r = Unexpected(any.error());
                else
                    r = {};
            }
            if (!r) {
                const SendRefusal why = r.error();
                // Waiting helps only for these two; the rest can never be sent.
                if (why == SendRefusal::NoCredit) break;
                if (why == SendRefusal::NotEstablished && !p.conn) break;
                emit({{"event", "send-failed"},
                      {"reason", std::string(describe(why))},
                      {"xml", p.stanza.xml}});
            }
            queue_.pop_front();
        }
        if (stdin_done_ && queue_.empty() && o_.exit_on_eof) stop();
    }

    void stdin_ended() {
        stdin_done_ = true;
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(stdin_)))
            uv_close(reinterpret_cast<uv_handle_t*>(stdin_), nullptr);
        if (o_.exit_on_eof && queue_.empty()) stop();
    }

    void stop() {
        if (stopping_) return;
        stopping_ = true;
        for (auto* s : {&sigint_, &sigterm_, &sighup_})
            uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
        if (stdin_ != nullptr && !uv_is_closing(reinterpret_cast<uv_handle_t*>(stdin_)))
            uv_close(reinterpret_cast<uv_handle_t*>(stdin_), nullptr);
        for (const auto& p : queue_)
            emit({{"event", "send-failed"}, {"reason", "shutting down"}, {"xml", p.stanza.xml}});
        queue_.clear();
        server_->close("shutdown");
    }

    static void on_stop_signal(uv_signal_t* s, int) { static_cast<Endpoint*>(s->data)->stop(); }

    static void on_sighup(uv_signal_t* s, int) {
        auto* self = static_cast<Endpoint*>(s->data);
        if (self->o_.registry_file.empty()) return;
        std::string error;
        auto r = read_registry(self->o_.registry_file, error);
        if (!r) {
            emit({{"event", "error"}, {"reason", error}});
            return;
        }
        self->registry_ = std::move(*r);
        ++self->registry_version_;
        self->server_->send_registry(self->registry_version_, self->registry_);
    }

    uv_loop_t* loop_;
    Options o_;
    std::unique_ptr<LinkServer> server_;
    std::string registry_;
    std::uint64_t registry_version_ = o_.registry_version;
    uv_signal_t sigint_{}, sigterm_{}, sighup_{};
    std::unique_ptr<uv_tty_t> tty_;
    std::unique_ptr<uv_pipe_t> pipe_;
    uv_stream_t* stdin_ = nullptr;
    std::string input_;
    std::deque<Pending> queue_;
    bool stdin_done_ = false;
    bool stopping_ = false;
};

}  // namespace
}  // namespace fedgw::link

int main(int argc, char** argv) {
    using fedgw::link::Options;
    Options o;
    CLI::App app{"fedgw-link-endpoint: a stand-in gateway end of the proxy<->gateway link"};
    app.add_option("--listen", o.listen,
                   "address to listen on, IP:port, port 0 for any (repeatable)")
        ->required();
    app.add_option("--cert", o.cert, "our certificate chain (PEM)")->required();
    app.add_option("--key", o.key, "our private key (PEM)")->required();
    app.add_option("--ca", o.ca, "the internal CA (PEM)")->required();
    app.add_option("--proxy-name", o.proxy_name, "the name the proxy's certificate must carry")
        ->required();
    app.add_option("--node", o.node, "our HELLO node (default: our certificate's first DNS name)");
    app.add_option("--registry", o.registry_file, "registry snapshot JSON sent on connect");
    app.add_option("--registry-version", o.registry_version, "its version");
    app.add_option("--window", o.window, "STANZA frames a proxy may have in flight")
        ->check(CLI::Range(1u, 1u << 20));
    app.add_option("--log-level", o.log_level, "debug, info, warn or error");
    app.add_flag("--exit-on-eof", o.exit_on_eof, "close and exit once stdin ends");
    CLI11_PARSE(app, argc, argv);

    auto level = fedgw::log::level_from_name(o.log_level);
    if (!level) {
        std::cerr << "fedgw-link-endpoint: unknown log level '" << o.log_level << "'\n";
        return 2;
    }
    fedgw::log::set_level(*level);
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc;
    {
        fedgw::link::Endpoint endpoint(&loop, std::move(o));
        rc = endpoint.start();
        uv_run(&loop, UV_RUN_DEFAULT);
        endpoint.finish();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) std::cerr << "fedgw-link-endpoint: handles left open\n";
    return rc;
}
