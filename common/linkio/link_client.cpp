// LinkClient (see link_client.hpp): the proxy's dialling end of the link, with reconnection.
//
// Loop-bound.
#include "common/linkio/link_client.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include <netdb.h>

#include "common/config/config.hpp"
#include "common/log/log.hpp"

namespace fedgw::link {

struct LinkClient::ResolveReq {
    uv_getaddrinfo_t req;
    LinkClient* owner;  // null once the client stopped waiting for the answer
};

struct LinkClient::TimerHandle {
    uv_timer_t timer;
    LinkClient* owner;  // null once the client is gone
};

LinkClientOptions client_options(const GatewayLink& link, const ProxyTimers& timers) {
    LinkClientOptions o;
    if (link.address) o.gateway = *link.address;
    o.gateway_name = link.name;
    if (o.gateway_name.empty() && link.address && !link.address->is_ip())
        o.gateway_name = link.address->host;
    o.cert_file = link.cert;
    o.key_file = link.key;
    o.ca_file = link.ca;
    o.timers.handshake_timeout_ms = timers.connect.ms;
    o.reconnect_min_ms = timers.reconnect_min.ms;
    o.reconnect_max_ms = timers.reconnect_max.ms;
    return o;
}

Result<std::unique_ptr<LinkClient>, SetupError> LinkClient::create(uv_loop_t* loop,
                                                                   LinkClientOptions options,
                                                                   LinkClientCallbacks callbacks) {
    auto refuse = [](std::string text) {
        return Unexpected(SetupError{SetupErrorCode::Options, std::move(text)});
    };
    if (options.gateway.host.empty() || options.gateway.port == 0)
        return refuse("no gateway address to dial");
    if (options.gateway_name.empty())
        return refuse("no gateway name to verify the gateway's certificate against");
    if (options.cert_file.empty() || options.key_file.empty() || options.ca_file.empty())
        return refuse("the link needs our certificate, our key and the internal CA");
    if (options.reconnect_min_ms <= 0 || options.reconnect_max_ms < options.reconnect_min_ms)
        return refuse("reconnect_min must be above 0 and reconnect_max not below it");
    if (options.jitter < 0 || options.jitter > 1) return refuse("jitter must be within 0..1");
    if (options.node.empty()) {
        auto node = certificate_node_name(options.cert_file);
        if (!node) return Unexpected(std::move(node.error()));
        options.node = std::move(*node);
    }
    TlsContextOptions tls;
    tls.role = TlsRole::Client;
    tls.credentials = {options.cert_file, options.key_file};
    tls.ca_file = options.ca_file;
    auto ctx = TlsContext::create(tls);
    if (!ctx) return Unexpected(SetupError{SetupErrorCode::Tls, ctx.error().describe()});
    return std::unique_ptr<LinkClient>(
        new LinkClient(loop, std::move(options), std::move(callbacks), std::move(*ctx)));
}

LinkClient::LinkClient(uv_loop_t* loop, LinkClientOptions options, LinkClientCallbacks callbacks,
                       TlsContext tls)
    : loop_(loop),
      options_(std::move(options)),
      cb_(std::move(callbacks)),
      tls_(std::move(tls)),
      timer_(new TimerHandle{uv_timer_t{}, this}),
      rng_(options_.random_seed != 0 ? options_.random_seed : std::random_device{}()) {
    uv_timer_init(loop_, &timer_->timer);
}

LinkClient::~LinkClient() {
    assert(connections_.empty() && "close() the LinkClient and wait for on_closed");
    cancel_resolve();
    if (timer_ != nullptr) {
        timer_->owner = nullptr;  // the close callback frees it
        auto* h = reinterpret_cast<uv_handle_t*>(&timer_->timer);
        if (!uv_is_closing(h)) uv_close(h, &LinkClient::on_timer_closed);
    }
}

std::int64_t LinkClient::now() const {
    return static_cast<std::int64_t>(uv_now(loop_));
}

void LinkClient::start() {
    assert(state_ == State::Idle && "start() once");
    if (state_ != State::Idle) return;
    begin_attempt();
}

// ---- one attempt: resolve, then each address in turn --------------------------------------

void LinkClient::begin_attempt() {
    ++attempts_;
    addresses_.clear();
    next_address_ = 0;
    last_attempt_error_ = {};
    if (options_.gateway.is_ip()) {
        auto addr = to_sockaddr(options_.gateway);
        if (!addr) {
            attempt_failed({CloseCode::ResolveFailed, addr.error().text});
            return;
        }
        addresses_.push_back(*addr);
        connect_next();
        return;
    }
    state_ = State::Resolving;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string port = std::to_string(options_.gateway.port);
    resolve_ = new ResolveReq{uv_getaddrinfo_t{}, this};
    resolve_->req.data = resolve_;
    int rc = uv_getaddrinfo(loop_, &resolve_->req, &LinkClient::on_resolved,
                            options_.gateway.host.c_str(), port.c_str(), &hints);
    if (rc < 0) {
        delete resolve_;
        resolve_ = nullptr;
        attempt_failed({CloseCode::ResolveFailed, options_.gateway.host + ": " + uv_strerror(rc)});
        return;
    }
    // The timer doubles as the lookup's deadline.
    timer_due_ms_ = now() + options_.timers.handshake_timeout_ms;
    uv_timer_start(&timer_->timer, &LinkClient::on_timer,
                   static_cast<std::uint64_t>(options_.timers.handshake_timeout_ms), 0);
}

void LinkClient::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* r = static_cast<ResolveReq*>(req->data);
    LinkClient* self = r->owner;
    delete r;
    if (self == nullptr) {
        uv_freeaddrinfo(res);
        return;
    }
    self->resolve_ = nullptr;
    self->resolved(status, res);
}

void LinkClient::resolved(int status, addrinfo* res) {
    uv_timer_stop(&timer_->timer);
    timer_due_ms_ = -1;
    if (status < 0) {
        uv_freeaddrinfo(res);
        attempt_failed(
            {CloseCode::ResolveFailed, options_.gateway.host + ": " + uv_strerror(status)});
        return;
    }
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        sockaddr_storage ss{};
        std::memcpy(&ss, ai->ai_addr, std::min<std::size_t>(ai->ai_addrlen, sizeof ss));
        const bool seen = std::any_of(addresses_.begin(), addresses_.end(), [&](const auto& a) {
            return std::memcmp(&a, &ss, sizeof ss) == 0;
        });
        if (!seen) addresses_.push_back(ss);
    }
    uv_freeaddrinfo(res);
    if (addresses_.empty()) {
        attempt_failed({CloseCode::ResolveFailed, options_.gateway.host + ": no IP addresses"});
        return;
    }
    connect_next();
}

void LinkClient::connect_next() {
    if (next_address_ >= addresses_.size()) {
        attempt_failed(last_attempt_error_);
        return;
    }
    state_ = State::Connecting;
    const sockaddr_storage& addr = addresses_[next_address_++];
    // Callbacks name their connection by id: only the current one speaks for the link.
    const std::uint64_t id = next_conn_id_++;
    LinkConnection::Callbacks cb;
    cb.on_up = [this, id](const Hello& peer) {
        if (!is_current(id)) return;
        state_ = State::Up;
        up_at_ms_ = now();
        ++ups_;
        log::info("link.up", {{"peer", peer.node},
                              {"address", current_->stats().peer_address},
                              {"peer_window", peer.window}});
        if (cb_.on_up) cb_.on_up(peer);
    };
    cb.on_stanza = [this, id](StanzaFrame s) {
        if (is_current(id) && cb_.on_stanza) cb_.on_stanza(std::move(s));
    };
    cb.on_registry = [this, id](std::uint64_t version, std::string json) {
        if (is_current(id) && cb_.on_registry) cb_.on_registry(version, std::move(json));
    };
    cb.on_writable = [this, id] {
        if (is_current(id) && cb_.on_writable) cb_.on_writable();
    };
    cb.on_down = [this, id](const CloseReason& reason, bool was_up) {
        connection_down(id, reason, was_up);
    };
    cb.on_finished = [this, id] { connection_finished(id); };
    connections_.push_back(std::make_unique<LinkConnection>(
        loop_, id,
        SessionConfig{Role::Proxy, options_.node, options_.gateway_name, options_.session},
        options_.timers, std::move(cb)));
    current_ = connections_.back().get();
    TlsSessionOptions tls;
    tls.verification = PeerVerification::Require;
    tls.reference_domain = options_.gateway_name;
    tls.server_name = options_.gateway_name;
    current_->connect(reinterpret_cast<const sockaddr*>(&addr), tls_, std::move(tls));
}

bool LinkClient::is_current(std::uint64_t id) const {
    return current_ != nullptr && current_->id() == id;
}

// ---- outcomes -----------------------------------------------------------------------------

void LinkClient::connection_down(std::uint64_t id, const CloseReason& reason, bool was_up) {
    if (!is_current(id)) return;
    current_ = nullptr;
    if (was_up) {
        last_error_ = reason.describe();
        if (reason.code == CloseCode::Local) {
            log::info("link.down", {{"reason", last_error_}});
        } else {
            log::warn("link.down", {{"reason", last_error_}});
        }
        if (cb_.on_down) cb_.on_down(reason);
        if (state_ == State::Closing || state_ == State::Closed) return;
        // Only a link that stayed up for a while resets the backoff: a gateway that takes our
        // HELLO and then says GOODBYE (it refuses our node name) must not be redialled at
        // reconnect_min forever.
        const bool stable = now() - up_at_ms_ >= options_.reconnect_max_ms;
        failures_ = stable ? 1 : failures_ + 1;
        schedule_reconnect();
        return;
    }
    if (state_ == State::Closing || state_ == State::Closed) return;
    // A refused or timed-out TCP connect moves on to the gateway's next address.
    if (reason.code == CloseCode::ConnectFailed && next_address_ < addresses_.size()) {
        log::debug("link.address_failed", {{"reason", reason.describe()}});
        last_attempt_error_ = reason;
        connect_next();
        return;
    }
    attempt_failed(reason);
}

void LinkClient::connection_finished(std::uint64_t id) {
    auto it = std::find_if(connections_.begin(), connections_.end(),
                           [id](const auto& c) { return c->id() == id; });
    assert(it != connections_.end());
    if (it == connections_.end()) return;
    const SessionCounters& c = (*it)->session().counters();
    stanzas_in_done_ += c.stanzas_in;
    stanzas_out_done_ += c.stanzas_out;
    connections_.erase(it);  // the connection's last act was calling us
    maybe_closed();
}

void LinkClient::attempt_failed(const CloseReason& reason) {
    if (state_ == State::Closing || state_ == State::Closed) return;
    ++failed_attempts_;
    ++failures_;
    last_error_ = reason.describe();
    state_ = State::Backoff;
    const std::int64_t delay = backoff_delay_ms();
    log::warn("link.attempt_failed", {{"gateway", options_.gateway.to_string()},
                                      {"reason", last_error_},
                                      {"retry_in_ms", delay}});
    if (cb_.on_attempt_failed) cb_.on_attempt_failed(reason);
    if (state_ != State::Backoff) return;  // the owner closed us from the callback
    start_timer(delay);
}

void LinkClient::schedule_reconnect() {
    state_ = State::Backoff;
    start_timer(backoff_delay_ms());
}

void LinkClient::start_timer(std::int64_t delay_ms) {
    timer_due_ms_ = now() + delay_ms;
    uv_timer_start(&timer_->timer, &LinkClient::on_timer, static_cast<std::uint64_t>(delay_ms), 0);
}

std::int64_t LinkClient::backoff_delay_ms() {
    const std::int64_t lo = options_.reconnect_min_ms;
    const std::int64_t hi = options_.reconnect_max_ms;
    std::int64_t base = lo;
    for (std::uint32_t i = 1; i < failures_ && base < hi; ++i)
        base = std::min(hi, base * 2);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const auto jittered =
        static_cast<std::int64_t>(static_cast<double>(base) * (1.0 - options_.jitter * u(rng_)));
    return std::clamp(jittered, lo, hi);
}

void LinkClient::on_timer(uv_timer_t* timer) {
    auto* t = reinterpret_cast<TimerHandle*>(timer);
    if (t->owner != nullptr) t->owner->timer_fired();
}

void LinkClient::timer_fired() {
    timer_due_ms_ = -1;
    if (state_ == State::Resolving) {
        cancel_resolve();
        attempt_failed({CloseCode::ResolveFailed,
                        options_.gateway.host + ": no answer within " +
                            std::to_string(options_.timers.handshake_timeout_ms) + " ms"});
        return;
    }
    if (state_ == State::Backoff) begin_attempt();
}

void LinkClient::cancel_resolve() {
    if (resolve_ == nullptr) return;
    resolve_->owner = nullptr;  // freed by on_resolved, which still runs (UV_EAI_CANCELED)
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_->req));
    resolve_ = nullptr;
}

// ---- owner calls --------------------------------------------------------------------------

Result<void, SendRefusal> LinkClient::send_stanza(StanzaFrame stanza) {
    if (current_ == nullptr || !current_->is_up()) return Unexpected(SendRefusal::NotEstablished);
    return current_->send_stanza(std::move(stanza));
}

void LinkClient::stanza_done(std::uint32_t n) {
    if (current_ != nullptr) current_->stanza_done(n);
}

bool LinkClient::is_up() const {
    return current_ != nullptr && current_->is_up();
}

bool LinkClient::can_send() const {
    return is_up() && current_->can_send();
}

void LinkClient::close(std::string_view reason) {
    if (state_ == State::Closing || state_ == State::Closed) return;
    state_ = State::Closing;
    cancel_resolve();
    timer_due_ms_ = -1;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer), &LinkClient::on_timer_closed);
    // Copy the ids first: closing may finish a connection at once.
    std::vector<LinkConnection*> open;
    for (auto& c : connections_)
        open.push_back(c.get());
    for (LinkConnection* c : open)
        c->close(reason);
}

void LinkClient::on_timer_closed(uv_handle_t* handle) {
    auto* t = reinterpret_cast<TimerHandle*>(handle);
    LinkClient* self = t->owner;
    delete t;
    if (self == nullptr) return;
    self->timer_ = nullptr;
    self->maybe_closed();
}

void LinkClient::maybe_closed() {
    if (state_ != State::Closing || timer_ != nullptr || !connections_.empty()) return;
    state_ = State::Closed;
    closed_ = true;
    log::debug("link.client_closed");
    // The owner may destroy us inside on_closed: nothing touches `this` afterwards.
    auto on_closed = std::move(cb_.on_closed);
    if (on_closed) on_closed();
}

LinkClientStats LinkClient::stats() const {
    LinkClientStats s;
    s.up = is_up();
    if (current_ != nullptr) s.link = current_->stats();
    s.attempts = attempts_;
    s.reconnects = attempts_ > 0 ? attempts_ - 1 : 0;
    s.failed_attempts = failed_attempts_;
    s.ups = ups_;
    s.stanzas_in = stanzas_in_done_;
    s.stanzas_out = stanzas_out_done_;
    for (const auto& c : connections_) {
        s.stanzas_in += c->session().counters().stanzas_in;
        s.stanzas_out += c->session().counters().stanzas_out;
    }
    s.last_error = last_error_;
    if (timer_due_ms_ >= 0 && state_ == State::Backoff)
        s.next_attempt_in_ms = std::max<std::int64_t>(0, timer_due_ms_ - now());
    return s;
}

}  // namespace fedgw::link
