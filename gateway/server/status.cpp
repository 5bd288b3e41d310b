// GatewayServer::status(): the `status` reply of fedgw-gateway in the control protocol
// (CONTROL_SPEC.md): service, version, pid, uptime, link listeners, one entry per proxy link
// that is up, the SIP side, the presence subscriptions, our domains and the registry.
//
// Loop-bound (reads the clocks and the process id).
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/control/status_control.hpp"
#include "gateway/server/gateway_server.hpp"

namespace fedgw::gateway {

nlohmann::json GatewayServer::status() const {
    using nlohmann::json;
    const auto now_steady = std::chrono::steady_clock::now();
    const std::int64_t now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
    json j;
    j["service"] = "fedgw-gateway";
    j["version"] = FEDGW_VERSION;
    j["pid"] = static_cast<std::int64_t>(::getpid());
    j["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(now_steady - started_).count();

    json listeners = json::array();
    json links = json::array();
    if (link_) {
        const link::LinkServerStats st = link_->stats();
        for (const auto& a : st.listening)
            listeners.push_back({{"address", a.to_string()}});
        for (const auto& c : st.connections) {
            if (!c.up) continue;  // "links": the proxies that are connected
            const std::int64_t since =
                c.up_since_unix_ms > 0 ? std::max<std::int64_t>(0, now_unix_ms - c.up_since_unix_ms)
                                       : 0;
            links.push_back({{"state", "up"},
                             {"remote", c.peer_address},
                             {"since_s", since / 1000},
                             {"tls_version", c.tls_version},
                             {"cipher", c.tls_cipher}});
        }
    }
    j["listeners"] = std::move(listeners);
    j["links"] = std::move(links);

    json sip_listen = json::array();
    json next_hops = json::array();
    for (const auto& h : config_.gateway->sip.next_hops)
        next_hops.push_back(h.to_string());
    json sip_obj;
    if (sip_) {
        for (const auto& a : sip_->local_addresses())
            sip_listen.push_back(a.to_string());
        const sip::SipStackStats st = sip_->stats();
        sip_obj = {{"listen", std::move(sip_listen)},
                   {"next_hops", std::move(next_hops)},
                   {"client_transactions", st.client_transactions},
                   {"server_transactions", st.server_transactions},
                   {"connections", st.connections}};
    } else {
        sip_obj = {{"listen", std::move(sip_listen)},
                   {"next_hops", std::move(next_hops)},
                   {"client_transactions", 0},
                   {"server_transactions", 0},
                   {"connections", 0}};
    }
    j["sip"] = std::move(sip_obj);

    json subs = json::array();
    if (engine_) {
        for (const auto& s : engine_->summary())
            subs.push_back({{"xmpp", s.xmpp},
                            {"sip", s.sip},
                            {"outbound", s.outbound},
                            {"inbound", s.inbound},
                            {"inbound_dialog", s.inbound_dialog},
                            {"outbound_expires_in_s", s.outbound_expires_in_s}});
    }
    j["subscriptions"] = std::move(subs);

    json domains = json::array();
    for (const auto& d : domains_)
        domains.push_back(d);
    j["domains"] = std::move(domains);
    j["registry"] = {{"path", config_.registry.path}, {"version", policy_.version}};
    return j;
}

Result<void, std::string> GatewayServer::open_control() {
    auto c = control::open_status_control(loop_, config_.gateway->control_socket, "fedgw-gateway",
                                          [this] { return status(); });
    if (!c) return Unexpected(c.error());
    control_ = std::move(*c);
    return {};
}

}  // namespace fedgw::gateway
