// Router: the proxy's table of s2s connections and outbound routes, between the partners'
// streams and the link to the gateway.
//
// Loop-bound. It owns every S2sConnection (by id), the outbound route per (local, remote)
// domain pair with its bounded queue, the pending dialback verifications, and the policy
// snapshot the streams consult. Stanzas from partners go to the link; stanzas from the link go
// to the partner's authenticated outbound stream, opened on demand through DNS; whatever cannot
// be delivered is bounced to its sender with a stanza error (RFC 6120 §8.3), never dropped.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config.hpp"
#include "common/dns/resolver.hpp"
#include "common/link/link_codec.hpp"
#include "common/registry/policy.hpp"
#include "common/tls/tls_context.hpp"
#include "proxy/dialback/dialback_key.hpp"
#include "proxy/s2s/outbound_queue.hpp"
#include "proxy/server/s2s_connection.hpp"

namespace fedgw::proxy {

// What became of a stanza handed to the link.
enum class GatewaySend {
    Sent,  // on its way
    Full,  // the link is up but the gateway granted no credit: hold it, stop reading partners
    Down,  // the link is down: answer the sender with service-unavailable
};

struct RouterOptions {
    std::set<std::string> local_domains;
    // Per local domain: a server context presenting that domain's certificate by default and
    // choosing by SNI when the peer sends one. COMPAT: Prosody 0.12 sends no SNI on s2s
    // STARTTLS, so the stream header's 'to' must pick the certificate.
    std::map<std::string, const TlsContext*> server_tls;
    std::map<std::string, const TlsContext*> client_tls;  // per local domain
    // Per local domain, for XEP-0368 direct TLS: client contexts offering ALPN "xmpp-server".
    // A domain without one uses its client_tls context (no ALPN).
    std::map<std::string, const TlsContext*> client_direct_tls;
    dns::Resolver* resolver = nullptr;
    std::uint64_t connect_timeout_ms = 10'000;
    std::uint64_t dialback_timeout_ms = 30'000;
    Limits limits{};  // XML limits per stream
    OutboundQueueLimits queue_limits{};
    // Sends a stanza to the gateway.
    std::function<GatewaySend(link::StanzaFrame&)> to_gateway;
    std::size_t max_waiting_for_credit = 256;  // stanzas held while the link has no credit
    // Stream timers in milliseconds, replacing the registry's settings (which count whole
    // seconds) so that loop tests need not wait seconds. A partner with keepalive off still
    // gets none. Unset in production.
    std::optional<StreamTimers> stream_timers;
};

struct RouteStats {
    std::string local;
    std::string remote;
    std::string state;
    std::size_t queued = 0;
    std::optional<std::uint64_t> conn_id;
};

class Router : public ConnectionOwner, public StreamPolicy {
  public:
    Router(uv_loop_t* loop, RouterOptions options, registry::Policy policy);
    ~Router() override;
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    // A listener has a connection to accept. `direct_tls`: the listener is an XEP-0368 port
    // where TLS starts with the first byte. Beyond the total connection limit the stream is
    // refused with resource-constraint.
    void accept(uv_stream_t* listener, bool direct_tls = false);
    // A stanza from the gateway, for a partner.
    void from_gateway(link::StanzaFrame frame);
    // The link's state changed: it can take stanzas again (credit or reconnection), or it went
    // down. Held stanzas are sent, or bounced with service-unavailable while the link is down;
    // reading from partners resumes once none is held.
    void gateway_writable();
    // A new policy snapshot: streams of partners no longer admitted (removed, disabled,
    // blocked), and streams the partner's new settings forbid (TLS now required on a plain
    // stream, dialback no longer allowed on a dialback stream), are closed with
    // policy-violation and an s2s.refused log line.
    void update_policy(registry::Policy policy);
    const registry::Policy& policy() const { return policy_; }
    // SIGHUP: new certificates for streams that start TLS from now on.
    void set_tls(std::map<std::string, const TlsContext*> servers,
                 std::map<std::string, const TlsContext*> clients,
                 std::map<std::string, const TlsContext*> direct_clients = {}) {
        options_.server_tls = std::move(servers);
        options_.client_tls = std::move(clients);
        options_.client_direct_tls = std::move(direct_clients);
    }
    // Closes every stream with system-shutdown and bounces what is queued; `done` runs once
    // every connection is gone.
    void shutdown(std::function<void()> done);

    // Every connection, with the route's queue depth on outbound ones.
    std::vector<ConnectionStats> connections() const;
    std::vector<RouteStats> routes() const;
    // Stanzas held for link credit right now.
    std::size_t waiting_for_credit() const { return waiting_.size(); }

    // StreamPolicy
    bool is_local_domain(std::string_view domain) const override;
    registry::Admission admit(std::string_view remote_domain) const override;

    // ConnectionOwner
    void on_stream_action(std::uint64_t conn_id, StreamAction& action) override;
    const TlsContext* server_tls(std::string_view local_domain) const override;
    const TlsContext* client_tls(std::string_view local_domain, bool direct_tls) const override;
    void on_connection_finished(std::uint64_t conn_id) override;
    void on_backpressure(std::uint64_t conn_id, bool high) override;

  private:
    using PairKey = std::pair<std::string, std::string>;  // (local, remote)
    enum class RouteState { Idle, Resolving, Connecting, Ready };
    struct PendingVerify {
        std::string stream_id;
        std::string key;
        std::uint64_t inbound_conn = 0;
        bool sent = false;
    };
    struct Route {
        RouteState state = RouteState::Idle;
        std::optional<std::uint64_t> conn;
        OutboundQueue queue;
        std::vector<dns::Endpoint> endpoints;
        std::size_t next_endpoint = 0;
        std::optional<dns::Request> lookup;
        std::vector<PendingVerify> verifies;
        explicit Route(OutboundQueueLimits l) : queue(l) {}
    };

    S2sConnection* find(std::uint64_t id) const;
    void check_partner_limit(S2sConnection& c, const std::string& remote);
    std::optional<std::string> no_longer_allowed(S2sConnection& c) const;
    StreamTimers timers_for(const registry::Partner* p) const;
    std::string new_stream_id();
    void route_to_partner(const std::string& local, const std::string& remote,
                          std::unique_ptr<Element> stanza);
    void bounce_to_gateway(const Element& stanza, StanzaError error);
    void bounce_to_partner(const std::string& local, const std::string& remote,
                           const Element& stanza, StanzaError error);
    Route& route(const std::string& local, const std::string& remote);
    void open_route(const PairKey& key);
    void resolved(const PairKey& key, Result<std::vector<dns::Endpoint>, dns::DnsError> r);
    void connect_next(const PairKey& key);
    void route_ready(const PairKey& key);
    void route_failed(const PairKey& key, StanzaCondition condition, std::string_view why);
    void flush_verifies(Route& r, OutboundStream& out, const PairKey& key);
    std::optional<PairKey> route_of(std::uint64_t conn_id) const;
    void deliver(std::uint64_t conn_id, DeliverStanza& d);
    void pause_inbound(bool pause);
    static void on_reap(uv_timer_t* t);
    static void on_listener_closed(uv_handle_t* h);

    uv_loop_t* loop_;
    RouterOptions options_;
    registry::Policy policy_;
    DialbackKeys keys_;
    std::map<std::uint64_t, std::unique_ptr<S2sConnection>> conns_;
    std::map<PairKey, Route> routes_;
    std::vector<std::uint64_t> graveyard_;
    std::deque<std::pair<link::StanzaFrame, std::unique_ptr<Element>>> waiting_;  // for credit
    uv_timer_t* reap_;  // erases finished connections on the next loop turn
    std::uint64_t next_id_ = 1;
    std::uint64_t next_seq_ = 1;
    std::uint64_t stream_counter_ = 0;
    bool inbound_paused_ = false;
    bool shutting_down_ = false;
    std::function<void()> shutdown_done_;
};

}  // namespace fedgw::proxy
