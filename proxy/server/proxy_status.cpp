// ProxyServer's control socket: opening it and the `status` object (CONTROL_SPEC, "status reply
// of fedgw-proxy"): listeners, the gateway link, every s2s stream, routes, our domains'
// certificates and the registry. See proxy_server.hpp.
//
// Loop-bound.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <ctime>

#include "common/control/status_control.hpp"
#include "common/log/log.hpp"
#include "common/tls/identity.hpp"
#include "proxy/server/proxy_server.hpp"
#include "proxy/server/status_helpers.hpp"

namespace fedgw::proxy {

std::optional<std::int64_t> certificate_expiry(const std::string& pem_path) {
    BIO* bio = BIO_new_file(pem_path.c_str(), "r");
    if (!bio) return std::nullopt;
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!cert) return std::nullopt;
    auto t = certificate_not_after(cert);
    X509_free(cert);
    return t;
}

std::string bound_address(const uv_tcp_t* tcp, std::string fallback) {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return fallback;
    char host[64] = "";
    if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        uv_ip6_name(a, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

std::string utc_timestamp(std::int64_t unix_s) {
    std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Result<void, std::string> ProxyServer::open_control() {
    auto c = control::open_status_control(loop_, config_.proxy->control_socket, "fedgw-proxy",
                                          [this] { return status(); });
    if (!c) return Unexpected(c.error());
    control_ = std::move(*c);
    return {};
}

nlohmann::json ProxyServer::link_status() const {
    const GatewayLink& gl = *config_.proxy->gateway_link;
    auto st = link_ ? link_->stats() : link::LinkClientStats{};
    const std::uint64_t now = uv_now(loop_);
    std::string state = st.up ? "up" : (st.link ? "connecting" : "down");
    nlohmann::json j{
        {"state", state},
        {"remote", st.link && !st.link->peer_address.empty() ? st.link->peer_address
                                                             : gl.address->to_string()},
        {"name", gl.name},
        {"since_s", (now - link_since_ms_) / 1000},
        {"tls_version", st.link ? st.link->tls_version : ""},
        {"cipher", st.link ? st.link->tls_cipher : ""},
        {"last_error", st.last_error},
        {"stanzas_in", st.stanzas_in},
        {"stanzas_out", st.stanzas_out},
        {"reconnects", st.reconnects},
    };
    if (st.next_attempt_in_ms >= 0) j["next_attempt_in_s"] = (st.next_attempt_in_ms + 999) / 1000;
    if (st.link && st.up) j["send_credit"] = st.link->send_credit;
    return j;
}

nlohmann::json ProxyServer::status() const {
    const std::uint64_t now = uv_now(loop_);
    nlohmann::json j;
    j["service"] = "fedgw-proxy";
    j["version"] = FEDGW_VERSION;
    j["pid"] = static_cast<std::int64_t>(::getpid());
    j["uptime_s"] = (now - started_ms_) / 1000;
    j["stopping"] = stopping_;

    j["listeners"] = nlohmann::json::array();
    for (const auto& l : listen_addresses_)
        j["listeners"].push_back({{"address", l.address}, {"direct_tls", l.direct_tls}});

    j["link"] = link_status();

    j["streams"] = nlohmann::json::array();
    for (const auto& c : router_->connections()) {
        j["streams"].push_back({
            {"id", c.id},
            {"direction", name(c.direction)},
            {"local_domain", c.local_domain},
            {"partner_domain", c.remote_domain.empty() ? c.partner_domain : c.remote_domain},
            {"partner", c.partner_domain},
            {"remote", c.remote_address},
            {"state", c.state},
            {"direct_tls", c.direct_tls},
            {"tls_version", c.tls_protocol},
            {"cipher", c.tls_cipher},
            {"auth", link::auth_method_name(c.auth)},
            {"age_s", (now - c.started_ms) / 1000},
            {"stanzas_in", c.stanzas_in},
            {"stanzas_out", c.stanzas_out},
            {"bytes_in", c.bytes_in},
            {"bytes_out", c.bytes_out},
            {"queue", c.queue},
            {"write_queue_bytes", c.write_queue_bytes},
        });
    }

    j["routes"] = nlohmann::json::array();
    for (const auto& r : router_->routes())
        j["routes"].push_back({{"local_domain", r.local},
                               {"partner_domain", r.remote},
                               {"state", r.state},
                               {"queue", r.queued}});
    j["waiting_for_credit"] = router_->waiting_for_credit();

    j["domains"] = nlohmann::json::array();
    const std::int64_t wall = static_cast<std::int64_t>(std::time(nullptr));
    for (const auto& d : config_.proxy->domains) {
        nlohmann::json dj{{"name", d.name}, {"cert", d.cert}};
        if (auto it = cert_not_after_.find(d.name); it != cert_not_after_.end()) {
            dj["not_after"] = utc_timestamp(it->second);
            // Whole days left, rounded down; negative once expired.
            std::int64_t left = it->second - wall;
            dj["days_left"] = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
        } else {
            dj["not_after"] = nullptr;
            dj["days_left"] = nullptr;
        }
        j["domains"].push_back(std::move(dj));
    }

    j["registry"] = {{"path", config_.registry.path}, {"version", router_->policy().version}};
    return j;
}

}  // namespace fedgw::proxy
