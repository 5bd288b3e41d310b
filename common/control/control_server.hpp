// ControlServer: the service end of the control socket (CONTROL_SPEC) — a UNIX stream socket
// on the libuv loop that answers one JSON request per connection: the client writes
// `{"cmd":"status"}\n`, the server writes one JSON object and "\n" and closes.
//
// The socket is created owner-only (bound under umask 077, then chmod 0600). At start a stale
// socket file (connect() is refused: its process is gone) is unlinked; a live one is an error
// ("another fedgw-proxy is running on /run/fedgw/proxy.sock"); a file that is not a socket is
// never removed. close() unlinks the socket. Limits (ControlLimits): request line bytes,
// concurrent clients (one more is told "busy" and closed), and a deadline per client.
//
// The handler runs on the loop thread, synchronously, once per request. It returns the reply
// object; a null json means "no such command" and the client gets
// {"error":"unknown command \"x\""}. An exception from the handler becomes
// {"error":"internal error: ..."}, never a crash.
//
// The process must ignore SIGPIPE (std::signal(SIGPIPE, SIG_IGN) in main): libuv writes with
// write(2), and a client that closes before reading its answer would otherwise kill it.
//
// Loop-bound.
#pragma once

#include <uv.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/control/control_error.hpp"
#include "common/control/control_protocol.hpp"

namespace fedgw::control {

using Handler = std::function<nlohmann::json(std::string_view cmd, const nlohmann::json& request)>;

struct ControlLimits {
    std::size_t max_request_bytes = kMaxRequestBytes;
    std::size_t max_clients = 16;
    std::uint64_t client_timeout_ms = 5000;  // from accept to the reply written
    // Names the service in the "already running" error: "another fedgw-proxy is running on ...".
    std::string service = "fedgw service";
};

class ControlServer {
  public:
    static Result<std::unique_ptr<ControlServer>, ControlError> create(uv_loop_t* loop,
                                                                       std::string path,
                                                                       Handler handler,
                                                                       ControlLimits limits = {});
    // Closes (and unlinks) if close() was not called. Handles finish closing on the loop.
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Stops listening, drops every client, unlinks the socket. Safe inside the handler.
    void close();
    bool is_closed() const { return closed_; }
    const std::string& path() const { return path_; }
    std::size_t client_count() const { return clients_.size(); }

  private:
    struct Client;
    ControlServer(uv_loop_t* loop, std::string path, Handler handler, ControlLimits limits);
    Result<void, ControlError> listen();
    static void on_connection(uv_stream_t* server, int status);
    void accept();
    void on_line(Client& c);
    void answer(Client& c, const nlohmann::json& reply);
    void drop(Client& c);
    static void close_client(Client* c);

    uv_loop_t* loop_;
    std::string path_;
    Handler handler_;
    ControlLimits limits_;
    uv_pipe_t* listener_ = nullptr;  // freed in its close callback
    std::map<std::uint64_t, Client*> clients_;
    std::uint64_t next_client_ = 1;
    bool closed_ = false;
};

}  // namespace fedgw::control
