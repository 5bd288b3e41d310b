// TLS contexts for SIP over TLS; see sip_tls.hpp. RFC 3261 §26.3.1, RFC 5630.
#include "gateway/sip/sip_tls.hpp"

namespace fedgw::gateway::sip {

Result<SipTlsContexts, TlsError> make_tls_contexts(const SipConfig& sip) {
    SipTlsContexts out;
    if (!sip.uses_tls()) return out;
    TlsContextOptions o;
    o.credentials = {sip.tls_cert, sip.tls_key};
    o.ca_file = sip.tls_ca;
    o.role = TlsRole::Server;
    auto server = TlsContext::create(o);
    if (!server) return Unexpected(std::move(server.error()));
    o.role = TlsRole::Client;
    auto client = TlsContext::create(o);
    if (!client) return Unexpected(std::move(client.error()));
    out.server.emplace(std::move(*server));
    out.client.emplace(std::move(*client));
    return out;
}

void use_tls_contexts(SipStackOptions& options, const SipTlsContexts& contexts) {
    options.tls_server = contexts.server ? &*contexts.server : nullptr;
    options.tls_client = contexts.client ? &*contexts.client : nullptr;
}

}  // namespace fedgw::gateway::sip
