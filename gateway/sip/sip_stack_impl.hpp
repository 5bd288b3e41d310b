// Internal to gateway/sip: SipStack's state, shared by sip_stack.cpp (public API, start and
// shut down), transaction_layer.cpp (libosip2 callbacks, the loop pass, timers) and
// inbound.cpp (received messages, the trust check, stateless answers).
//
// Loop-bound.
#pragma once

// libosip2's osip.h is not self-contained: it needs struct timeval first.
#include <sys/time.h>
// clang-format off
#include <osip2/osip.h>
// clang-format on

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/dns/resolver.hpp"
#include "gateway/sip/sip_stack.hpp"
#include "gateway/sip/stream_transport.hpp"
#include "gateway/sip/udp_transport.hpp"

namespace fedgw::gateway::sip {

// A client (NICT) transaction as we track it; libosip2's transaction finds it through
// reserved1, which holds the id (never a pointer, so a late lookup cannot dangle).
struct ClientCtx {
    std::uint64_t id = 0;
    SipStack::ResponseCallback callback;
    bool done = false;  // the callback has been queued (or withdrawn)
    osip_transaction_t* tr = nullptr;
    SipTransportAddr next_hop;
    PeerAddress destination;
    std::string server_name;  // TLS reference name: the next hop's host when it is a name
    std::size_t udp_socket = 0;
    ConnectionId connection = 0;
    std::uint32_t e_interval_ms = 0;    // the current Timer E interval (UDP)
    std::string description;            // "MESSAGE to udp:192.0.2.1:5060", for messages
    std::string last_error;             // why the last send failed
    std::optional<SipMessage> waiting;  // the request while its next hop is being resolved
    dns::Request lookup;
};

// A server (NIST) transaction.
struct ServerCtx {
    std::uint64_t id = 0;
    osip_transaction_t* tr = nullptr;
    PeerAddress source;
    std::size_t udp_socket = 0;
    ConnectionId connection = 0;
    std::optional<SipMessage> request;  // our copy, for building responses
    std::string to_tag;                 // the same tag on every response
    bool final_sent = false;
    std::uint64_t deadline = 0;  // uv_now() by which a final response is due
};

// A callback to run after the libosip2 pass.
struct Delivery {
    enum class Kind { Response, Request } kind = Kind::Response;
    std::uint64_t client_id = 0;
    SipStack::ResponseCallback callback;
    std::optional<Result<SipMessage, RequestError>> result;
    std::optional<SipMessage> request;
    ServerTransaction transaction;
};

struct SipStack::Impl {
    Impl(uv_loop_t* l, SipStackOptions o);
    ~Impl();

    // ---- sip_stack.cpp ----
    Result<void, SipStackError> start(std::vector<SipTransportAddr>& local);
    void start_client(ClientCtx& c, SipMessage request, const IpAddress& ip);
    void fail_client(std::uint64_t id, RequestFailure failure, std::string text);
    void close();
    std::optional<IpAddress> sent_by_host(const HostPort& listener, const IpAddress& dest);

    // ---- transaction_layer.cpp ----
    void install_callbacks();
    void kick();
    void pass();
    void arm_timer();
    void run_deliveries();
    void deliver(ClientCtx& c, Result<SipMessage, RequestError> result);
    void bury_dead();
    void process_failed_connections();
    void expire_deadlines();
    int send_for(osip_transaction_t* tr, osip_message_t* msg);
    void on_osip_message(int type, osip_transaction_t* tr, osip_message_t* msg);
    void on_osip_kill(osip_transaction_t* tr);
    void on_osip_transport_error(int type, osip_transaction_t* tr, int error);
    ClientCtx* client_of(osip_transaction_t* tr);
    ServerCtx* server_of(osip_transaction_t* tr);
    void tune_client_timers(ClientCtx& c);

    // ---- inbound.cpp ----
    void on_incoming(std::string_view bytes, const PeerAddress& source, std::size_t udp_socket,
                     ConnectionId connection);
    void on_request_received(SipMessage request, const PeerAddress& source, std::size_t udp_socket,
                             ConnectionId connection);
    void respond_statelessly(const SipMessage& request, int status, std::string_view reason,
                             std::vector<Header> headers, const PeerAddress& source,
                             std::size_t udp_socket, ConnectionId connection);
    bool send_response_bytes(const std::string& bytes, const ViaHeader& top,
                             const PeerAddress& source, std::size_t udp_socket,
                             ConnectionId connection, std::string* error);
    Result<void, RespondError> respond(ServerCtx& s, int status, std::string_view reason,
                                       const ResponseSpec& spec);

    uv_loop_t* loop;
    SipStackOptions options;
    RandomSource random;
    osip_t* osip = nullptr;
    std::unique_ptr<UdpTransport> udp;
    std::unique_ptr<StreamTransport> streams;
    std::vector<SipTransportAddr> local;
    TrustPolicy trust;
    std::vector<dns::Request> trust_lookups;
    RequestHandler handler;

    std::unordered_map<std::uint64_t, std::unique_ptr<ClientCtx>> clients;
    std::unordered_map<std::uint64_t, std::unique_ptr<ServerCtx>> servers;
    std::set<std::pair<std::uint64_t, std::uint64_t>> deadlines;  // (uv_now ms, server id)
    std::vector<osip_transaction_t*> graveyard;
    std::deque<Delivery> deliveries;
    std::vector<std::pair<ConnectionId, std::string>> failed_connections;

    uv_idle_t* idle = nullptr;    // the kick: a pass on the next loop iteration
    uv_timer_t* timer = nullptr;  // the next libosip2 timer or answer deadline
    std::uint64_t next_id = 1;
    bool closed = false;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    SipStackStats counters;
    bool refusal_logged = false;  // rate limit of the untrusted-source log line
    std::uint64_t last_refusal_log = 0;
    std::uint64_t refusals_suppressed = 0;
};

// libosip2's reserved1 carries our transaction id.
inline void set_tx_id(osip_transaction_t* tr, std::uint64_t id) {
    osip_transaction_set_reserved1(tr, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)));
}
inline std::uint64_t tx_id(osip_transaction_t* tr) {
    return static_cast<std::uint64_t>(
        reinterpret_cast<std::uintptr_t>(osip_transaction_get_reserved1(tr)));
}

}  // namespace fedgw::gateway::sip
