// GatewayServer: fedgw-gateway assembled from its configuration — the LinkServer the proxy
// dials (mutual TLS, 23456), the SipStack toward the SIP platform, the PresenceEngine, the
// registry (snapshot to every proxy on connect and after each change, per-user XMPP access,
// contact pairs), signals for shutdown (SIGTERM, SIGINT) and reload (SIGHUP), and the status
// object fedgwctl reads through the control socket.
//
// What crosses it:
//   XMPP -> SIP (a STANZA frame from a proxy, xmpp_inbound.cpp): the 'to' must be one of our
//     domains; the addressed SIP user needs XMPP access (RFC 7247 §7.1 forbidden otherwise);
//     message -> SIP MESSAGE to the first next hop (RFC 7572 §4, message_map), a SIP failure or
//     timeout -> an error message back to the sender (RFC 7247 §7.2); bodyless messages never
//     become MESSAGEs (chat states -> RFC 3994 isComposing); iq -> disco#info / version / ping
//     for our domain, service-unavailable otherwise (RFC 6120 §8.2.3); presence -> the engine.
//   SIP -> XMPP (SipStack::on_request, sip_inbound.cpp): the SipStack vouches for the source
//     address; the From must be a user of one of our domains (403 otherwise, RFC 7247 no
//     spoofing) with XMPP access (403); MESSAGE -> a message over the link, answered 200 only
//     once a proxy took it, 480 with no proxy up, 503 + Retry-After with no credit (RFC 7572
//     §5); SUBSCRIBE / NOTIFY (Event: presence) -> the engine; OPTIONS -> 200; others 405/501.
// Nothing is dropped silently: every refusal is answered or bounced, or logged with its reason
// when there is nobody to tell.
//
// Lifetime: start() -> serving; stop() (or SIGTERM) -> SIP client transactions get up to
// [gateway.timers] shutdown_grace to finish, then the engine, the SIP stack and the link close
// (GOODBYE to every proxy) and every handle closes, so the loop runs out. Destroy the server
// after the loop has run out (or after is_stopped()); before stop() only when start() failed.
//
// Loop-bound: one uv_loop_t, one thread.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/stanza_error.hpp"
#include "common/config/address.hpp"
#include "common/config/config.hpp"
#include "common/control/control_server.hpp"
#include "common/dns/resolver.hpp"
#include "common/jid/jid.hpp"
#include "common/linkio/link_server.hpp"
#include "common/registry/policy.hpp"
#include "common/registry/registry_store.hpp"
#include "common/xml/element.hpp"
#include "gateway/sip/sip_stack.hpp"
#include "gateway/sip/sip_tls.hpp"
#include "gateway/translate/disco.hpp"
#include "gateway/translate/is_composing.hpp"

// COMPAT: presence_engine.hpp as first committed names sip::SipTransportAddr, which is declared
// in namespace fedgw; this using-declaration makes the name resolve (and stays harmless once
// the header is corrected).
namespace fedgw::gateway::sip {
using fedgw::SipTransportAddr;
}
#include "gateway/presence/presence_engine.hpp"

namespace fedgw::gateway {

struct GatewayServerOptions {
    // How often PRAGMA data_version is read to notice registry changes made by fedgwctl.
    std::uint64_t registry_poll_ms = 1000;
    // Stanzas toward XMPP (bounces, iq answers, presence) held while the proxies have no
    // credit; beyond this each one is dropped with a log line.
    std::size_t max_queued_to_link = 1024;
    // Retry-After of a 503 answered while the link has no credit.
    std::uint32_t retry_after_s = 5;
    // Install SIGTERM/SIGINT/SIGHUP handlers (the executable); tests call stop()/reload().
    bool install_signals = true;
    // Link session limits (window, ping) instead of linkio's defaults; tests shorten them.
    std::optional<link::SessionLimits> link_session;
    std::optional<link::ConnectionTimers> link_timers;
    // Tags, branches, Call-IDs and stanza ids; empty: the system CSPRNG.
    sip::RandomSource random;
};

class GatewayServer {
  public:
    // Builds everything and starts serving; the error says what failed (file, address, ...).
    static Result<std::unique_ptr<GatewayServer>, std::string> start(
        uv_loop_t* loop, Config config, std::string config_path, GatewayServerOptions options = {});
    ~GatewayServer();
    GatewayServer(const GatewayServer&) = delete;
    GatewayServer& operator=(const GatewayServer&) = delete;

    // Graceful stop (see the header comment); on_stopped runs once every part has closed.
    void stop(std::function<void()> on_stopped = {});
    bool is_stopped() const { return stopped_; }
    // SIGHUP: re-read the configuration and check its certificates; keep the running ones when
    // that fails. Log level and domains apply at once; what needs a restart is logged.
    void reload();

    // The gateway status object of the control protocol (CONTROL_SPEC.md, `status`).
    nlohmann::json status() const;

    // Bound addresses (port 0 resolved), in configuration order.
    const std::vector<HostPort>& link_addresses() const { return link_->local_addresses(); }
    const std::vector<SipTransportAddr>& sip_addresses() const { return sip_->local_addresses(); }
    std::uint64_t registry_version() const { return policy_.version; }

  private:
    struct Target;  // a stanza's checked addresses (xmpp_inbound.cpp)

    GatewayServer(uv_loop_t* loop, Config config, std::string path, GatewayServerOptions options);
    Result<void, std::string> init();
    Result<void, std::string> start_sip();
    Result<void, std::string> start_presence();
    Result<void, std::string> start_link();
    Result<void, std::string> open_control();
    void start_signals();
    static void on_signal(uv_signal_t* s, int signum);

    // Registry (gateway_server.cpp).
    void poll_registry();
    void apply_settings();
    void send_snapshot(std::optional<link::ConnId> to);
    // The SIP user's own access value, else the default; false (and a log line) when the
    // registry cannot be read.
    bool has_xmpp_access(const std::string& sip_user);
    void remember_contact(const std::string& sip_user, const std::string& bare_jid,
                          registry::ContactSource source);
    WatcherAuthorization authorize(const std::string& sip_aor, const std::string& bare_jid,
                                   registry::PartnerType type);

    // Link (link_out.cpp).
    enum class LinkSend { Sent, NoLink, NoCredit, Unsendable };
    // Sends now or not at all (SIP MESSAGEs, which answer 480/503 instead of waiting).
    LinkSend send_now(const Element& stanza);
    // Sends, or holds it while the proxies have no credit (bounces, iq answers, presence).
    void send_to_xmpp(std::unique_ptr<Element> stanza, std::string_view what);
    void flush_queue();
    void drop_queue(std::string_view why);
    void link_up(link::ConnId id);
    void link_down(link::ConnId id, const link::CloseReason& reason);

    // XMPP -> SIP (xmpp_inbound.cpp).
    void on_link_stanza(link::ConnId id, link::StanzaFrame frame);
    void handle_stanza(const link::StanzaFrame& frame);
    void xmpp_message(std::unique_ptr<Element> message, const Target& t);
    void xmpp_composing(const Element& message, const Target& t);
    void bounce(const Element& stanza, StanzaError error, std::string_view why);
    std::uint32_t next_cseq();

    // SIP -> XMPP (sip_inbound.cpp).
    void on_sip_request(const sip::SipMessage& request, const sip::ServerTransaction& tx);
    void sip_message(const sip::SipMessage& request, const sip::ServerTransaction& tx,
                     const Jid& from, const std::string& sip_user);
    void sip_presence(const sip::SipMessage& request, const sip::ServerTransaction& tx,
                      const std::string& sip_user);
    void respond(const sip::ServerTransaction& tx, int status, std::string_view reason = {},
                 std::vector<sip::Header> headers = {}, std::string_view why = {});

    // Shutdown (gateway_server.cpp).
    void grace_tick();
    void finish();
    void maybe_stopped();

    bool is_our_domain(std::string_view ascii_domain) const;

    uv_loop_t* loop_;
    Config config_;
    std::string config_path_;
    GatewayServerOptions options_;
    sip::RandomSource random_;
    GatewayInfo info_;
    std::vector<std::string> domains_;  // [gateway] domains, A-label form, lower case
    std::chrono::steady_clock::time_point started_;

    std::optional<registry::RegistryStore> store_;
    registry::Policy policy_;
    std::int64_t data_version_ = -1;

    std::unique_ptr<dns::Resolver> resolver_;
    sip::SipTlsContexts sip_tls_;
    std::unique_ptr<sip::SipStack> sip_;
    std::unique_ptr<PresenceEngine> engine_;
    std::unique_ptr<link::LinkServer> link_;

    struct Queued {
        link::StanzaFrame frame;
        std::string to;    // for the log line if it is lost
        std::string what;  // "bounce", "iq", "presence"
    };
    std::deque<Queued> queue_;  // stanzas toward XMPP waiting for link credit, in order
    std::unordered_map<std::string, ComposingState> composing_;  // "from|to" -> last sent
    std::uint32_t cseq_ = 1;

    std::unique_ptr<control::ControlServer> control_;  // fedgwctl diag

    std::vector<uv_signal_t*> signals_;
    uv_timer_t* registry_timer_ = nullptr;
    uv_timer_t* grace_timer_ = nullptr;
    std::uint64_t grace_deadline_ = 0;
    std::function<void()> on_stopped_;
    bool stopping_ = false;
    bool link_closed_ = false;
    bool stopped_ = false;
    bool dying_ = false;  // in the destructor: SIP callbacks only log
};

}  // namespace fedgw::gateway
