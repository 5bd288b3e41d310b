// SipStack: start-up, the public API and shut-down; see sip_stack.hpp. RFC 3261 §8.1
// (client behaviour), §17 (transactions), §18 (transport). Loop-bound.
#include "gateway/sip/sip_stack.hpp"

#include "common/log/log.hpp"
#include "gateway/sip/random_source.hpp"
#include "gateway/sip/routing.hpp"
#include "gateway/sip/sip_stack_impl.hpp"
#include "gateway/sip/socket_address.hpp"

namespace fedgw::gateway::sip {

namespace {

std::uint32_t to_ms(Duration d) {
    if (d.ms <= 0) return 0;
    return d.ms > 0x7fffffff ? 0x7fffffffU : static_cast<std::uint32_t>(d.ms);
}

// common/dns speaks its own address type (numeric text); ours is common/config's.
std::vector<IpAddress> to_ips(const std::vector<dns::IpAddress>& in) {
    std::vector<IpAddress> out;
    for (const auto& a : in) {
        if (auto ip = parse_ip_address(a.text)) out.push_back(*ip);
    }
    return out;
}

}  // namespace

SipStackOptions stack_options_from_config(const SipConfig& sip, const GatewayTimers& timers) {
    SipStackOptions o;
    o.listen = sip.listen;
    o.next_hops = sip.next_hops;
    o.trusted = sip.trusted;
    o.timers.t1_ms = to_ms(timers.t1);
    o.timers.t2_ms = to_ms(timers.t2);
    o.timers.t4_ms = to_ms(timers.t4);
    return o;
}

SipStack::Impl::Impl(uv_loop_t* l, SipStackOptions o) : loop(l), options(std::move(o)) {
    random = options.random ? options.random : system_random_source();
}

SipStack::Impl::~Impl() {
    close();
    *alive = false;
}

Result<void, SipStackError> SipStack::Impl::start(std::vector<SipTransportAddr>& bound) {
    ensure_osip_initialised();
    const SipTimers& t = options.timers;
    if (t.t1_ms == 0 || t.t1_ms > 60'000 || t.t2_ms < t.t1_ms || t.t4_ms == 0) {
        return Unexpected(SipStackError{"SIP timers need 0 < T1 <= 60s, T2 >= T1 and T4 > 0"});
    }
    if (osip_init(&osip) != 0) return Unexpected(SipStackError{"libosip2 could not start"});
    osip_set_application_context(osip, this);
    install_callbacks();

    idle = new uv_idle_t;
    uv_idle_init(loop, idle);
    idle->data = this;
    timer = new uv_timer_t;
    uv_timer_init(loop, timer);
    timer->data = this;

    udp = std::make_unique<UdpTransport>(
        loop, options.limits.max_message_bytes,
        [this](std::string_view bytes, const PeerAddress& from, std::size_t socket) {
            on_incoming(bytes, from, socket, 0);
        });
    StreamOptions so;
    so.limits = options.limits;
    so.connect_timeout_ms = options.connect_timeout_ms;
    so.idle_timeout_ms = options.idle_timeout_ms;
    so.keepalive_interval_ms = options.keepalive_interval_ms;
    so.max_connections = options.max_connections;
    so.tls_server = options.tls_server;
    so.tls_client = options.tls_client;
    streams = std::make_unique<StreamTransport>(
        loop, so,
        [this](std::string bytes, const PeerAddress& from, ConnectionId id) {
            on_incoming(bytes, from, 0, id);
        },
        [this](ConnectionId id, const std::string& reason) {
            // Never touch libosip2 from here (we may be inside its send callback): the next
            // pass handles it.
            if (closed) return;
            failed_connections.emplace_back(id, reason);
            kick();
        });

    for (const auto& addr : options.listen) {
        if (addr.transport == SipTransport::Udp) {
            auto s = udp->bind(addr.address);
            if (!s) return Unexpected(SipStackError{s.error()});
            bound.push_back({addr.transport, udp->local_address(*s)});
        } else {
            auto l = streams->listen(addr.transport, addr.address);
            if (!l) return Unexpected(SipStackError{l.error()});
            bound.push_back({addr.transport, *l});
        }
    }
    for (const auto& hop : options.next_hops) {
        if (hop.transport == SipTransport::Tls && options.tls_client == nullptr) {
            return Unexpected(
                SipStackError{"next hop " + hop.to_string() + " needs a TLS client context"});
        }
        if (hop.address.ip) {
            trust.next_hops.push_back(*hop.address.ip);
        } else if (options.resolver != nullptr) {
            trust_lookups.push_back(options.resolver->resolve_addresses(
                hop.address.host, [this, host = hop.address.host](auto result) {
                    if (!result) {
                        log::warn("sip.next_hop_unresolved",
                                  {{"host", host}, {"error", result.error().describe()}});
                        return;
                    }
                    for (const auto& ip : to_ips(*result))
                        trust.next_hops.push_back(ip);
                }));
        } else {
            log::warn("sip.next_hop_untrusted",
                      {{"host", hop.address.host}, {"reason", "a name and no resolver"}});
        }
    }
    trust.trusted = options.trusted;
    local = bound;
    for (const auto& a : bound)
        log::info("sip.listening", {{"address", a.to_string()}});
    return {};
}

std::optional<IpAddress> SipStack::Impl::sent_by_host(const HostPort& listener,
                                                      const IpAddress& dest) {
    if (listener.ip && !detail::is_wildcard(*listener.ip)) return listener.ip;
    return detail::local_address_towards(dest);
}

void SipStack::Impl::fail_client(std::uint64_t id, RequestFailure failure, std::string text) {
    auto it = clients.find(id);
    if (it == clients.end()) return;
    log::warn(
        "sip.request_failed",
        {{"request", it->second->description}, {"failure", describe(failure)}, {"detail", text}});
    deliver(*it->second, Unexpected(RequestError{failure, std::move(text)}));
    if (it->second->tr == nullptr) clients.erase(it);
    kick();  // the delivery runs on the next pass
}

void SipStack::Impl::start_client(ClientCtx& c, SipMessage request, const IpAddress& ip) {
    const SipTransport transport = c.next_hop.transport;
    c.destination = PeerAddress{transport, ip, c.next_hop.address.port};
    c.server_name = c.next_hop.address.is_ip() ? std::string() : c.next_hop.address.host;

    // Via sent-by: the listener of this transport (§18.1.1: where responses go should the
    // connection fail), else any listener, else the UDP one.
    std::optional<HostPort> listener;
    if (transport == SipTransport::Udp) {
        const auto sock = udp->socket_for(ip);
        if (!sock) {
            fail_client(c.id, RequestFailure::TransportError,
                        std::string("no udp listener for ") + (ip.is_v4() ? "IPv4" : "IPv6"));
            return;
        }
        c.udp_socket = *sock;
        listener = udp->local_address(*sock);
    } else {
        for (int pass = 0; pass < 2 && !listener; ++pass) {
            for (const auto& l : local) {
                const bool family = l.address.ip && l.address.ip->family == ip.family;
                if (family && (l.transport == transport || pass == 1)) {
                    listener = l.address;
                    break;
                }
            }
        }
    }
    std::optional<IpAddress> host = listener ? sent_by_host(*listener, ip) : std::nullopt;
    if (!host) host = detail::local_address_towards(ip);
    if (!host) {
        fail_client(c.id, RequestFailure::TransportError, "no route to " + ip.to_string());
        return;
    }
    ViaSpec via{
        transport, host->to_string(), listener ? listener->port : std::uint16_t{0}, true, {}};
    if (auto ok = set_top_via(request, via, random); !ok) {
        fail_client(c.id, RequestFailure::InvalidRequest, ok.error().describe());
        return;
    }
    if (!options.user_agent.empty() && !request.header("user-agent")) {
        (void)request.add_header("User-Agent", options.user_agent);
    }
    osip_transaction_t* tr = nullptr;
    if (osip_transaction_init(&tr, NICT, osip, request.native()) != 0 || tr == nullptr) {
        fail_client(c.id, RequestFailure::InvalidRequest,
                    "libosip2 refused the request (Via, Call-ID, CSeq, From or To?)");
        return;
    }
    c.tr = tr;
    set_tx_id(tr, c.id);
    tune_client_timers(c);
    osip_event_t* evt = osip_new_outgoing_sipmessage(request.release());
    osip_transaction_add_event(tr, evt);
    log::debug("sip.request_sent", {{"request", c.description}});
    kick();
}

void SipStack::Impl::close() {
    if (closed) return;
    closed = true;
    for (auto& [id, c] : clients) {
        if (!c->done) {
            deliver(*c, Unexpected(RequestError{RequestFailure::Shutdown,
                                                "the SIP stack closed before a final response"}));
        }
    }
    if (osip != nullptr) {
        std::set<osip_transaction_t*> all(graveyard.begin(), graveyard.end());
        for (auto& [id, c] : clients) {
            if (c->tr != nullptr) all.insert(c->tr);
        }
        for (auto& [id, s] : servers) {
            if (s->tr != nullptr) all.insert(s->tr);
        }
        for (osip_transaction_t* tr : all) {
            osip_remove_transaction(osip, tr);  // an error for those already removed
            osip_transaction_free2(tr);
        }
        graveyard.clear();
        osip_release(osip);
        osip = nullptr;
    }
    clients.clear();
    servers.clear();
    deadlines.clear();
    trust_lookups.clear();
    failed_connections.clear();
    if (udp) udp->close();
    if (streams) streams->close();
    if (idle != nullptr) {
        uv_close(reinterpret_cast<uv_handle_t*>(idle),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
    }
    if (timer != nullptr) {
        uv_close(reinterpret_cast<uv_handle_t*>(timer),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    }
    idle = nullptr;
    timer = nullptr;
    run_deliveries();
}

// ---- SipStack ----

SipStack::SipStack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipStack::~SipStack() {
    close();
}

Result<std::unique_ptr<SipStack>, SipStackError> SipStack::create(uv_loop_t* loop,
                                                                  SipStackOptions options) {
    auto impl = std::make_unique<Impl>(loop, std::move(options));
    std::vector<SipTransportAddr> bound;
    if (auto ok = impl->start(bound); !ok) {
        impl->close();
        return Unexpected(std::move(ok.error()));
    }
    std::unique_ptr<SipStack> stack(new SipStack(std::move(impl)));
    stack->local_ = std::move(bound);
    return stack;
}

SipStack::ClientTransactionId SipStack::send_request(SipMessage request,
                                                     const SipTransportAddr& next_hop,
                                                     ResponseCallback callback) {
    Impl& s = *impl_;
    const std::uint64_t id = s.next_id++;
    if (s.closed) {
        if (callback) callback(Unexpected(RequestError{RequestFailure::Shutdown, "stack closed"}));
        return id;
    }
    auto ctx = std::make_unique<ClientCtx>();
    ClientCtx& c = *ctx;
    c.id = id;
    c.callback = std::move(callback);
    c.next_hop = next_hop;
    c.description = (request.is_request() ? request.method() : std::string("response")) + " to " +
                    next_hop.to_string();
    s.clients.emplace(id, std::move(ctx));
    if (!request.is_request()) {
        s.fail_client(id, RequestFailure::InvalidRequest, "only requests start a transaction");
    } else if (request.method() == "INVITE" || request.method() == "ACK") {
        s.fail_client(id, RequestFailure::InvalidRequest, "INVITE and ACK are not supported");
    } else if (s.clients.size() + s.servers.size() > s.options.max_transactions) {
        s.fail_client(id, RequestFailure::Overloaded,
                      std::to_string(s.options.max_transactions) + " transactions in progress");
    } else if (next_hop.address.ip) {
        s.start_client(c, std::move(request), *next_hop.address.ip);
    } else if (s.options.resolver == nullptr) {
        s.fail_client(id, RequestFailure::InvalidRequest,
                      "next hop " + next_hop.to_string() + " is a name and no resolver was given");
    } else {
        c.waiting = std::move(request);
        Impl* self = &s;
        c.lookup = s.options.resolver->resolve_addresses(
            next_hop.address.host,
            [self, id](Result<std::vector<dns::IpAddress>, dns::DnsError> r) {
                auto it = self->clients.find(id);
                if (it == self->clients.end() || self->closed) return;
                ClientCtx& cc = *it->second;
                const std::vector<IpAddress> ips = r ? to_ips(*r) : std::vector<IpAddress>{};
                if (ips.empty()) {
                    self->fail_client(id, RequestFailure::TransportError,
                                      "cannot resolve " + cc.next_hop.address.host + ": " +
                                          (r ? std::string("no address") : r.error().describe()));
                    return;
                }
                SipMessage req = std::move(*cc.waiting);
                cc.waiting.reset();
                self->start_client(cc, std::move(req), ips.front());
            });
    }
    return id;
}

void SipStack::forget(ClientTransactionId id) {
    if (auto it = impl_->clients.find(id); it != impl_->clients.end()) {
        it->second->callback = nullptr;
    }
    for (auto& d : impl_->deliveries) {
        if (d.kind == Delivery::Kind::Response && d.client_id == id) d.callback = nullptr;
    }
}

void SipStack::on_request(RequestHandler handler) {
    impl_->handler = std::move(handler);
}

Result<void, RespondError> SipStack::respond(const ServerTransaction& transaction, int status,
                                             std::string_view reason, const ResponseSpec& spec) {
    auto it = impl_->servers.find(transaction.id);
    if (it == impl_->servers.end() || impl_->closed) {
        return Unexpected(RespondError::NoSuchTransaction);
    }
    return impl_->respond(*it->second, status, reason, spec);
}

std::string SipStack::contact_uri(SipTransport transport) const {
    for (const auto& l : local_) {
        if (l.transport != transport) continue;
        std::optional<IpAddress> host = l.address.ip;
        if (host && detail::is_wildcard(*host)) {
            for (const auto& hop : impl_->options.next_hops) {
                if (hop.address.ip && hop.address.ip->family == host->family) {
                    host = impl_->sent_by_host(l.address, *hop.address.ip);
                    break;
                }
            }
        }
        std::string uri =
            "sip:" + host_port_text(host ? host->to_string() : l.address.host, l.address.port);
        if (transport != SipTransport::Udp)
            uri += ";transport=" + std::string(transport_name(transport));
        return uri;
    }
    return {};
}

bool SipStack::is_trusted(const IpAddress& source) const {
    return is_trusted_source(impl_->trust, source);
}

SipStackStats SipStack::stats() const {
    SipStackStats s = impl_->counters;
    s.client_transactions = impl_->clients.size();
    s.server_transactions = impl_->servers.size();
    s.connections = impl_->streams ? impl_->streams->connection_count() : 0;
    return s;
}

void SipStack::close() {
    if (closed_) return;
    closed_ = true;
    impl_->close();
}

}  // namespace fedgw::gateway::sip
