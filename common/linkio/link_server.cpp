// LinkServer (see link_server.hpp): the gateway's listening end of the link.
//
// Loop-bound.
#include "common/linkio/link_server.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/config/config.hpp"
#include "common/log/log.hpp"

namespace fedgw::link {

// The uv_tcp_t first, so callbacks find the struct from the handle.
struct LinkServer::Listener {
    uv_tcp_t tcp;
    LinkServer* owner;  // null once the server is gone
};

LinkServerOptions server_options(const GatewayConfig& gateway) {
    LinkServerOptions o;
    o.listen = gateway.listen;
    o.cert_file = gateway.cert;
    o.key_file = gateway.key;
    o.ca_file = gateway.ca;
    o.proxy_name = gateway.proxy_name;
    return o;
}

Result<std::unique_ptr<LinkServer>, SetupError> LinkServer::create(uv_loop_t* loop,
                                                                   LinkServerOptions options,
                                                                   LinkServerCallbacks callbacks) {
    auto refuse = [](std::string text) {
        return Unexpected(SetupError{SetupErrorCode::Options, std::move(text)});
    };
    if (options.listen.empty()) return refuse("no address to listen on");
    if (options.proxy_name.empty())
        return refuse("no proxy name to verify the proxy's certificate against");
    if (options.cert_file.empty() || options.key_file.empty() || options.ca_file.empty())
        return refuse("the link needs our certificate, our key and the internal CA");
    if (options.max_connections == 0) return refuse("max_connections must be at least 1");
    if (options.node.empty()) {
        auto node = certificate_node_name(options.cert_file);
        if (!node) return Unexpected(std::move(node.error()));
        options.node = std::move(*node);
    }
    TlsContextOptions tls;
    tls.role = TlsRole::Server;
    tls.credentials = {options.cert_file, options.key_file};
    tls.ca_file = options.ca_file;
    auto ctx = TlsContext::create(tls);
    if (!ctx) return Unexpected(SetupError{SetupErrorCode::Tls, ctx.error().describe()});
    std::unique_ptr<LinkServer> server(
        new LinkServer(loop, std::move(options), std::move(callbacks), std::move(*ctx)));
    for (const HostPort& address : server->options_.listen) {
        auto r = server->listen_on(address);
        if (!r) return Unexpected(std::move(r.error()));  // the destructor closes the others
    }
    return server;
}

LinkServer::LinkServer(uv_loop_t* loop, LinkServerOptions options, LinkServerCallbacks callbacks,
                       TlsContext tls)
    : loop_(loop), options_(std::move(options)), cb_(std::move(callbacks)), tls_(std::move(tls)) {}

LinkServer::~LinkServer() {
    assert(connections_.empty() && "close() the LinkServer and wait for on_closed");
    for (Listener* l : listeners_) {
        l->owner = nullptr;  // the close callback frees it
        auto* h = reinterpret_cast<uv_handle_t*>(&l->tcp);
        if (!uv_is_closing(h)) uv_close(h, &LinkServer::on_listener_closed);
    }
}

Result<void, SetupError> LinkServer::listen_on(const HostPort& address) {
    auto addr = to_sockaddr(address);
    if (!addr) return Unexpected(std::move(addr.error()));
    auto* l = new Listener{uv_tcp_t{}, this};
    uv_tcp_init(loop_, &l->tcp);
    listeners_.push_back(l);
    auto failed = [&](int rc) {
        return Unexpected(
            SetupError{SetupErrorCode::Listen,
                       "cannot listen on " + address.to_string() + ": " + uv_strerror(rc)});
    };
    int rc = uv_tcp_bind(&l->tcp, reinterpret_cast<const sockaddr*>(&*addr), 0);
    if (rc < 0) return failed(rc);
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), options_.backlog,
                   &LinkServer::on_connection);
    if (rc < 0) return failed(rc);
    sockaddr_storage bound{};
    int len = sizeof bound;
    rc = uv_tcp_getsockname(&l->tcp, reinterpret_cast<sockaddr*>(&bound), &len);
    if (rc < 0) return failed(rc);
    auto hp = parse_host_port(sockaddr_text(reinterpret_cast<const sockaddr*>(&bound)));
    bound_.push_back(hp ? *hp : address);
    log::info("link.listening",
              {{"address", bound_.back().to_string()}, {"proxy_name", options_.proxy_name}});
    return {};
}

void LinkServer::on_connection(uv_stream_t* listener, int status) {
    auto* l = reinterpret_cast<Listener*>(listener);
    if (l->owner == nullptr || l->owner->closing_) return;
    if (status < 0) {
        log::warn("link.accept_failed", {{"error", uv_strerror(status)}});
        return;
    }
    l->owner->accept_one(listener);
}

void LinkServer::accept_one(uv_stream_t* listener) {
    const ConnId id = next_id_++;
    const auto live = std::count_if(connections_.begin(), connections_.end(),
                                    [](const auto& c) { return !c->is_down(); });
    const bool over_limit = static_cast<std::size_t>(live) >= options_.max_connections;
    LinkConnection::Callbacks cb;
    cb.on_up = [this, id](const Hello& peer) {
        LinkConnection* c = find(id);
        log::info("link.up", {{"conn", id},
                              {"peer", peer.node},
                              {"address", c != nullptr ? c->stats().peer_address : ""},
                              {"peer_window", peer.window}});
        if (cb_.on_up) cb_.on_up(id, peer);
    };
    cb.on_stanza = [this, id](StanzaFrame s) {
        if (cb_.on_stanza) cb_.on_stanza(id, std::move(s));
    };
    cb.on_writable = [this, id] {
        if (cb_.on_writable) cb_.on_writable(id);
    };
    // REGISTRY toward the gateway is a protocol error in the session: no on_registry here.
    cb.on_down = [this, id](const CloseReason& reason, bool was_up) {
        connection_down(id, reason, was_up);
    };
    cb.on_finished = [this, id] { connection_finished(id); };
    connections_.push_back(std::make_unique<LinkConnection>(
        loop_, id,
        SessionConfig{Role::Gateway, options_.node, options_.proxy_name, options_.session},
        options_.timers, std::move(cb)));
    LinkConnection* c = connections_.back().get();
    TlsSessionOptions tls;
    tls.verification = PeerVerification::Require;
    tls.reference_domain = options_.proxy_name;
    if (!c->accept(listener, tls_, std::move(tls))) return;
    ++accepted_;
    if (over_limit) {
        c->close("too many link connections (limit " + std::to_string(options_.max_connections) +
                 ")");
    }
}

void LinkServer::connection_down(ConnId id, const CloseReason& reason, bool was_up) {
    if (was_up) {
        if (reason.code == CloseCode::Local) {
            log::info("link.down", {{"conn", id}, {"reason", reason.describe()}});
        } else {
            log::warn("link.down", {{"conn", id}, {"reason", reason.describe()}});
        }
        if (cb_.on_down) cb_.on_down(id, reason);
        return;
    }
    ++refused_;
    last_refusal_ = reason.describe();
    LinkConnection* c = find(id);
    log::warn("link.refused", {{"conn", id},
                               {"address", c != nullptr ? c->stats().peer_address : ""},
                               {"reason", last_refusal_}});
    if (cb_.on_refused) cb_.on_refused(reason);
}

void LinkServer::connection_finished(ConnId id) {
    auto it = std::find_if(connections_.begin(), connections_.end(),
                           [id](const auto& c) { return c->id() == id; });
    assert(it != connections_.end());
    if (it == connections_.end()) return;
    connections_.erase(it);  // the connection's last act was calling us
    maybe_closed();
}

LinkConnection* LinkServer::find(ConnId id) const {
    for (const auto& c : connections_)
        if (c->id() == id) return c.get();
    return nullptr;
}

// ---- owner calls --------------------------------------------------------------------------

Result<void, SendRefusal> LinkServer::send_stanza(ConnId id, StanzaFrame stanza) {
    LinkConnection* c = find(id);
    if (c == nullptr || !c->is_up()) return Unexpected(SendRefusal::NotEstablished);
    return c->send_stanza(std::move(stanza));
}

Result<ConnId, SendRefusal> LinkServer::send_stanza_any(StanzaFrame stanza) {
    LinkConnection* best = nullptr;
    for (const auto& c : connections_) {
        if (!c->is_up()) continue;
        if (best == nullptr || c->session().send_credit() > best->session().send_credit())
            best = c.get();
    }
    if (best == nullptr) return Unexpected(SendRefusal::NotEstablished);
    auto r = best->send_stanza(std::move(stanza));
    if (!r) return Unexpected(r.error());
    return best->id();
}

std::size_t LinkServer::send_registry(std::uint64_t version, std::string_view json) {
    std::size_t sent = 0;
    for (const auto& c : connections_) {
        if (c->is_up() && c->send_registry(version, std::string(json))) ++sent;
    }
    return sent;
}

Result<void, SendRefusal> LinkServer::send_registry(ConnId id, std::uint64_t version,
                                                    std::string json) {
    LinkConnection* c = find(id);
    if (c == nullptr || !c->is_up()) return Unexpected(SendRefusal::NotEstablished);
    return c->send_registry(version, std::move(json));
}

void LinkServer::stanza_done(ConnId id, std::uint32_t n) {
    if (LinkConnection* c = find(id)) c->stanza_done(n);
}

void LinkServer::close_connection(ConnId id, std::string_view reason) {
    if (LinkConnection* c = find(id)) c->close(reason);
}

bool LinkServer::is_up(ConnId id) const {
    LinkConnection* c = find(id);
    return c != nullptr && c->is_up();
}

std::vector<ConnId> LinkServer::up_connections() const {
    std::vector<ConnId> ids;
    for (const auto& c : connections_)
        if (c->is_up()) ids.push_back(c->id());
    return ids;
}

void LinkServer::close(std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    close_listeners();
    std::vector<LinkConnection*> open;
    for (const auto& c : connections_)
        open.push_back(c.get());
    for (LinkConnection* c : open)
        c->close(reason);
}

void LinkServer::close_listeners() {
    for (Listener* l : listeners_) {
        auto* h = reinterpret_cast<uv_handle_t*>(&l->tcp);
        if (!uv_is_closing(h)) uv_close(h, &LinkServer::on_listener_closed);
    }
}

void LinkServer::on_listener_closed(uv_handle_t* handle) {
    auto* l = reinterpret_cast<Listener*>(handle);
    LinkServer* self = l->owner;
    if (self != nullptr) {
        auto& ls = self->listeners_;
        ls.erase(std::remove(ls.begin(), ls.end(), l), ls.end());
    }
    delete l;
    if (self != nullptr) self->maybe_closed();
}

void LinkServer::maybe_closed() {
    if (!closing_ || closed_ || !listeners_.empty() || !connections_.empty()) return;
    closed_ = true;
    log::debug("link.server_closed");
    // The owner may destroy us inside on_closed: nothing touches `this` afterwards.
    auto on_closed = std::move(cb_.on_closed);
    if (on_closed) on_closed();
}

LinkServerStats LinkServer::stats() const {
    LinkServerStats s;
    s.listening = bound_;
    for (const auto& c : connections_)
        s.connections.push_back(c->stats());
    s.accepted = accepted_;
    s.refused = refused_;
    s.last_refusal = last_refusal_;
    return s;
}

}  // namespace fedgw::link
