// The TLS contexts SIP over TLS needs, built from [gateway.sip]: a server context for tls
// listeners and a client context for tls next hops, both presenting tls_cert/tls_key and
// trusting tls_ca (RFC 3261 §26.3.1; the next hop's name, when it is given as a name, is
// checked by StreamTransport). Built at start-up and on reload; SipStack borrows them.
//
// Not pure: reads the certificate, key and CA files.
#pragma once

#include <optional>

#include "common/base/result.hpp"
#include "common/config/config.hpp"
#include "common/tls/tls_context.hpp"
#include "common/tls/tls_error.hpp"
#include "gateway/sip/sip_stack.hpp"

namespace fedgw::gateway::sip {

struct SipTlsContexts {
    std::optional<TlsContext> server;
    std::optional<TlsContext> client;
};

// Both contexts when `sip` uses a tls transport, none otherwise. The error names the file.
Result<SipTlsContexts, TlsError> make_tls_contexts(const SipConfig& sip);

// Points `options` at the contexts; keep `contexts` alive as long as the stack.
void use_tls_contexts(SipStackOptions& options, const SipTlsContexts& contexts);

}  // namespace fedgw::gateway::sip
