// TlsSession (see tls_session.hpp): OpenSSL over memory BIOs, peer verification callbacks.
//
// Loop-free and socket-free; uses OpenSSL.
#include "common/tls/tls_session.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <utility>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/tls/tls_internal.hpp"

namespace fedgw {

struct TlsSession::Impl {
    SSL* ssl = nullptr;   // owns both memory BIOs
    BIO* rbio = nullptr;  // network -> SSL
    BIO* wbio = nullptr;  // SSL -> network
    TlsRole role = TlsRole::Server;
    TlsSessionOptions options;
    TlsState state = TlsState::Handshaking;
    bool handshake_done = false;
    std::optional<TlsError> failure;
    std::string pending_plaintext;  // written before the handshake completed
    std::string plaintext;          // decrypted, waiting for take_plaintext()
    std::string sent_server_name;
    // What the verification callbacks saw.
    bool verify_ran = false;
    int verify_error_code = X509_V_OK;
    int verify_error_depth = -1;

    ~Impl() { SSL_free(ssl); }

    void advance(TlsProgress& p);
    void read_records(TlsProgress& p);
    bool encrypt(std::string_view data, TlsProgress& p);
    void fail_from_ssl(int ssl_error, TlsProgress& p);
    void fail(TlsError e, TlsProgress& p);
    std::string verify_error() const;
};

namespace {

int session_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

TlsSession::Impl* impl_of(X509_STORE_CTX* store_ctx) {
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl == nullptr) return nullptr;
    return static_cast<TlsSession::Impl*>(SSL_get_ex_data(ssl, session_index()));
}

// Called for every certificate of the chain with OpenSSL's verdict. Records the first error;
// in Record mode lets the handshake go on regardless.
int verify_callback(int preverify_ok, X509_STORE_CTX* store_ctx) {
    TlsSession::Impl* impl = impl_of(store_ctx);
    if (impl == nullptr) return preverify_ok;
    if (preverify_ok != 1 && impl->verify_error_code == X509_V_OK) {
        impl->verify_error_code = X509_STORE_CTX_get_error(store_ctx);
        impl->verify_error_depth = X509_STORE_CTX_get_error_depth(store_ctx);
    }
    return impl->options.verification == PeerVerification::Record ? 1 : preverify_ok;
}

bool is_ip_literal(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool is_alert_reason(int reason) {
    return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

}  // namespace

namespace tls_detail {

int app_verify_callback(X509_STORE_CTX* store_ctx, void*) {
    int ok = X509_verify_cert(store_ctx);
    TlsSession::Impl* impl = impl_of(store_ctx);
    if (impl == nullptr) return ok;
    impl->verify_ran = true;
    if (ok != 1) {
        if (impl->verify_error_code == X509_V_OK) {
            int e = X509_STORE_CTX_get_error(store_ctx);
            impl->verify_error_code = e != X509_V_OK ? e : X509_V_ERR_UNSPECIFIED;
            impl->verify_error_depth = X509_STORE_CTX_get_error_depth(store_ctx);
        }
        return ok;
    }
    // The identity check replaces SSL_set1_host so that SRV-ID and XmppAddr count too.
    if (impl->options.verification == PeerVerification::Require &&
        !impl->options.reference_domain.empty()) {
        X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
        if (verify_identity(leaf, impl->options.reference_domain) == IdentityMatch::None) {
            X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_HOSTNAME_MISMATCH);
            if (impl->verify_error_code == X509_V_OK) {
                impl->verify_error_code = X509_V_ERR_HOSTNAME_MISMATCH;
                impl->verify_error_depth = 0;
            }
            return 0;
        }
    }
    return ok;
}

}  // namespace tls_detail

void TlsSession::Impl::fail(TlsError e, TlsProgress& p) {
    state = TlsState::Failed;
    failure = std::move(e);
    pending_plaintext.clear();
    p.failed = true;
}

void TlsSession::Impl::fail_from_ssl(int ssl_error, TlsProgress& p) {
    // Classify by any entry on the queue; draining it keeps one failure out of the next
    // session's diagnosis.
    tls_detail::OpensslErrors errors = tls_detail::drain_openssl_errors();
    bool verify_failed = false, no_peer_cert = false, alert = false;
    for (unsigned long e : errors.codes) {
        if (ERR_GET_LIB(e) != ERR_LIB_SSL) continue;
        int r = ERR_GET_REASON(e);
        if (r == SSL_R_CERTIFICATE_VERIFY_FAILED) verify_failed = true;
        if (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) no_peer_cert = true;
        if (is_alert_reason(r)) alert = true;
    }
    std::string text = std::move(errors.text);
    if (verify_failed) {
        fail({TlsErrorCode::PeerVerifyFailed, "certificate verify failed: " + verify_error()}, p);
    } else if (no_peer_cert) {
        fail({TlsErrorCode::PeerVerifyFailed, "the peer did not present a certificate"}, p);
    } else if (alert) {
        fail({TlsErrorCode::PeerRejected, "the peer sent a fatal alert: " + text}, p);
    } else if (ssl_error == SSL_ERROR_SSL || ssl_error == SSL_ERROR_SYSCALL) {
        if (text.empty()) text = "unexpected end of TLS data";
        fail({handshake_done ? TlsErrorCode::ProtocolError : TlsErrorCode::HandshakeFailed,
              std::move(text)},
             p);
    } else {
        fail({TlsErrorCode::Internal,
              "SSL error " + std::to_string(ssl_error) + (text.empty() ? "" : ": " + text)},
             p);
    }
}

bool TlsSession::Impl::encrypt(std::string_view data, TlsProgress& p) {
    while (!data.empty()) {
        std::size_t written = 0;
        int r = SSL_write_ex(ssl, data.data(), data.size(), &written);
        if (r != 1) {
            fail_from_ssl(SSL_get_error(ssl, r), p);
            return false;
        }
        data.remove_prefix(written);
    }
    return true;
}

void TlsSession::Impl::read_records(TlsProgress& p) {
    char buf[16 * 1024];
    for (;;) {
        std::size_t n = 0;
        int r = SSL_read_ex(ssl, buf, sizeof buf, &n);
        if (r == 1) {
            plaintext.append(buf, n);
            continue;
        }
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
        if (e == SSL_ERROR_ZERO_RETURN) {
            p.peer_closed = true;
            state = state == TlsState::Closing ? TlsState::Closed : TlsState::PeerClosed;
            return;
        }
        fail_from_ssl(e, p);
        return;
    }
}

void TlsSession::Impl::advance(TlsProgress& p) {
    if (state == TlsState::Handshaking) {
        int r = SSL_do_handshake(ssl);
        if (r != 1) {
            int e = SSL_get_error(ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail_from_ssl(e, p);
            return;
        }
        state = TlsState::Established;
        handshake_done = true;
        p.handshake_completed = true;
        if (!pending_plaintext.empty()) {
            std::string queued = std::move(pending_plaintext);
            pending_plaintext.clear();
            if (!encrypt(queued, p)) return;
        }
    }
    if (state == TlsState::Established || state == TlsState::Closing) read_records(p);
}

std::string TlsSession::Impl::verify_error() const {
    // A failed handshake keeps no peer certificate, so "presented" is what the callbacks saw.
    if (!verify_ran && SSL_get0_peer_certificate(ssl) == nullptr) return "no certificate presented";
    long code = verify_error_code;
    if (code == X509_V_OK) code = SSL_get_verify_result(ssl);
    if (code == X509_V_OK) return verify_ran ? "" : "certificate not verified";
    std::string out = X509_verify_cert_error_string(code);
    if (verify_error_depth >= 0) out += " (depth " + std::to_string(verify_error_depth) + ")";
    return out;
}

TlsSession::TlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsSession::TlsSession(TlsSession&&) noexcept = default;
TlsSession& TlsSession::operator=(TlsSession&&) noexcept = default;
TlsSession::~TlsSession() = default;

Result<TlsSession, TlsError> TlsSession::create(const TlsContext& context,
                                                const TlsSessionOptions& options) {
    ERR_clear_error();
    if (context.native() == nullptr) {
        return Unexpected(TlsError{TlsErrorCode::Internal, "empty (moved-from) TlsContext"});
    }
    auto impl = std::make_unique<Impl>();
    impl->role = context.role();
    impl->options = options;
    impl->ssl = SSL_new(context.native());
    if (impl->ssl == nullptr) {
        return Unexpected(
            TlsError{TlsErrorCode::Internal, tls_detail::with_openssl_reason("SSL_new")});
    }
    impl->rbio = BIO_new(BIO_s_mem());
    impl->wbio = BIO_new(BIO_s_mem());
    if (impl->rbio == nullptr || impl->wbio == nullptr) {
        BIO_free(impl->rbio);
        BIO_free(impl->wbio);
        return Unexpected(
            TlsError{TlsErrorCode::Internal, tls_detail::with_openssl_reason("BIO_new")});
    }
    // An empty BIO means "retry later", not EOF: the transport's EOF is transport_closed().
    BIO_set_mem_eof_return(impl->rbio, -1);
    BIO_set_mem_eof_return(impl->wbio, -1);
    SSL_set_bio(impl->ssl, impl->rbio, impl->wbio);
    SSL_set_ex_data(impl->ssl, session_index(), impl.get());
    X509_VERIFY_PARAM_set_purpose(SSL_get0_param(impl->ssl), X509_PURPOSE_SSL_SERVER);

    int mode = SSL_VERIFY_PEER;
    if (impl->role == TlsRole::Server) {
        mode |= SSL_VERIFY_CLIENT_ONCE;
        if (options.verification == PeerVerification::Require) {
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        }
        SSL_set_accept_state(impl->ssl);
    } else {
        SSL_set_connect_state(impl->ssl);
        if (!options.server_name.empty() && !is_ip_literal(options.server_name)) {
            if (SSL_set_tlsext_host_name(impl->ssl, options.server_name.c_str()) != 1) {
                return Unexpected(TlsError{TlsErrorCode::HandshakeFailed,
                                           tls_detail::with_openssl_reason(
                                               "invalid SNI name '" + options.server_name + "'")});
            }
            impl->sent_server_name = options.server_name;
        }
    }
    SSL_set_verify(impl->ssl, mode, &verify_callback);

    if (impl->role == TlsRole::Client) {
        TlsProgress p;
        impl->advance(p);  // puts the ClientHello in the outbox
        if (p.failed) return Unexpected(std::move(*impl->failure));
    }
    return TlsSession(std::move(impl));
}

TlsProgress TlsSession::feed(std::string_view ciphertext) {
    TlsProgress p;
    Impl& s = *impl_;
    if (s.state == TlsState::Closed || s.state == TlsState::Failed ||
        s.state == TlsState::PeerClosed) {
        return p;
    }
    ERR_clear_error();
    while (!ciphertext.empty()) {
        int chunk = static_cast<int>(std::min<std::size_t>(ciphertext.size(), INT_MAX));
        int n = BIO_write(s.rbio, ciphertext.data(), chunk);
        if (n <= 0) {
            s.fail({TlsErrorCode::Internal, tls_detail::with_openssl_reason("BIO_write")}, p);
            return p;
        }
        ciphertext.remove_prefix(static_cast<std::size_t>(n));
    }
    s.advance(p);
    return p;
}

TlsProgress TlsSession::transport_closed() {
    TlsProgress p;
    Impl& s = *impl_;
    switch (s.state) {
        case TlsState::Handshaking:
            s.fail({TlsErrorCode::PeerClosed, "the connection closed during the TLS handshake"}, p);
            break;
        case TlsState::Established:
            p.truncated = true;
            s.state = TlsState::Closed;
            break;
        case TlsState::Closing:  // we said goodbye; a peer that just hangs up is common
        case TlsState::PeerClosed:
            s.state = TlsState::Closed;
            break;
        case TlsState::Closed:
        case TlsState::Failed:
            break;
    }
    return p;
}

Result<void, TlsError> TlsSession::write(std::string_view plaintext) {
    Impl& s = *impl_;
    switch (s.state) {
        case TlsState::Handshaking:
            if (s.pending_plaintext.size() + plaintext.size() > s.options.max_pending_plaintext) {
                return Unexpected(
                    TlsError{TlsErrorCode::LimitExceeded,
                             "more than " + std::to_string(s.options.max_pending_plaintext) +
                                 " bytes written before the TLS handshake completed"});
            }
            s.pending_plaintext.append(plaintext);
            return {};
        case TlsState::Established:
        case TlsState::PeerClosed: {
            ERR_clear_error();
            TlsProgress p;
            if (!s.encrypt(plaintext, p)) return Unexpected(*s.failure);
            return {};
        }
        case TlsState::Closing:
        case TlsState::Closed:
        case TlsState::Failed:
            break;
    }
    return Unexpected(TlsError{TlsErrorCode::NotWritable, std::string("the TLS session is ") +
                                                              std::string(describe(s.state))});
}

void TlsSession::shutdown() {
    Impl& s = *impl_;
    switch (s.state) {
        case TlsState::Handshaking:
            s.pending_plaintext.clear();
            s.state = TlsState::Closed;
            return;
        case TlsState::Established:
        case TlsState::PeerClosed: {
            ERR_clear_error();
            int r = SSL_shutdown(s.ssl);  // 0: close_notify sent, 1: both ways done
            tls_detail::drain_openssl_errors();
            if (r < 0) {
                s.state = TlsState::Closed;  // nothing more we can say cleanly
            } else {
                s.state = s.state == TlsState::PeerClosed ? TlsState::Closed : TlsState::Closing;
            }
            return;
        }
        case TlsState::Closing:
        case TlsState::Closed:
        case TlsState::Failed:
            return;
    }
}

bool TlsSession::has_outbox() const {
    return BIO_ctrl_pending(impl_->wbio) > 0;
}

std::string TlsSession::take_outbox() {
    std::string out;
    std::size_t pending = BIO_ctrl_pending(impl_->wbio);
    if (pending == 0) return out;
    out.resize(pending);
    std::size_t got = 0;
    if (BIO_read_ex(impl_->wbio, out.data(), pending, &got) != 1) got = 0;
    out.resize(got);
    return out;
}

bool TlsSession::has_plaintext() const {
    return !impl_->plaintext.empty();
}

std::string TlsSession::take_plaintext() {
    return std::exchange(impl_->plaintext, std::string());
}

TlsState TlsSession::state() const {
    return impl_->state;
}
TlsRole TlsSession::role() const {
    return impl_->role;
}
const std::optional<TlsError>& TlsSession::failure() const {
    return impl_->failure;
}

std::string_view TlsSession::protocol_version() const {
    return impl_->handshake_done ? SSL_get_version(impl_->ssl) : "";
}

std::string_view TlsSession::cipher() const {
    if (!impl_->handshake_done) return {};
    const char* name = SSL_get_cipher_name(impl_->ssl);
    return name != nullptr ? name : "";
}

std::string_view TlsSession::alpn() const {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(impl_->ssl, &data, &len);
    if (data == nullptr) return {};
    return {reinterpret_cast<const char*>(data), len};
}

std::string_view TlsSession::server_name() const {
    if (impl_->role == TlsRole::Client) return impl_->sent_server_name;
    const char* name = SSL_get_servername(impl_->ssl, TLSEXT_NAMETYPE_host_name);
    return name != nullptr ? name : "";
}

bool TlsSession::peer_certificate_presented() const {
    return SSL_get0_peer_certificate(impl_->ssl) != nullptr;
}

bool TlsSession::peer_chain_verified() const {
    return impl_->handshake_done && peer_certificate_presented() && impl_->verify_ran &&
           impl_->verify_error_code == X509_V_OK && SSL_get_verify_result(impl_->ssl) == X509_V_OK;
}

std::string TlsSession::verify_error() const {
    return impl_->verify_error();
}

X509* TlsSession::peer_certificate() const {
    return SSL_get0_peer_certificate(impl_->ssl);
}

IdentityMatch TlsSession::peer_identity(std::string_view domain) const {
    return verify_identity(peer_certificate(), domain);
}

std::string_view describe(TlsState s) {
    switch (s) {
        case TlsState::Handshaking:
            return "handshaking";
        case TlsState::Established:
            return "established";
        case TlsState::Closing:
            return "closing";
        case TlsState::PeerClosed:
            return "peer-closed";
        case TlsState::Closed:
            return "closed";
        case TlsState::Failed:
            return "failed";
    }
    return "failed";
}

}  // namespace fedgw
