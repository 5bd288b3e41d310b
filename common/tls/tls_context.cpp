// TlsContext (see tls_context.hpp): building SSL_CTXs, loading PEM material, SNI selection.
//
// Loop-free and socket-free; reads certificate, key and CA files.
#include "common/tls/tls_context.hpp"

#include <filesystem>
#include <memory>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls/tls_internal.hpp"

namespace fedgw {
namespace {

using tls_detail::with_openssl_reason;

constexpr int kVerifyDepth = 10;
constexpr unsigned char kSessionIdContext[] = "fedgw";

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using StorePtr = std::unique_ptr<X509_STORE, StoreFree>;

// Per-SSL_CTX data the OpenSSL callbacks need. It lives in the SSL_CTX's ex_data and is freed
// with the SSL_CTX, so a callback can never outlive it, whatever happens to the TlsContext.
struct CtxExtra {
    std::string alpn_wire;                              // length-prefixed protocol names
    std::vector<std::pair<std::string, SSL_CTX*>> sni;  // owned references
    ~CtxExtra() {
        for (auto& entry : sni)
            SSL_CTX_free(entry.second);
    }
};

void free_ctx_extra(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<CtxExtra*>(ptr);
}

int ctx_extra_index() {
    static const int index =
        SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_ctx_extra);
    return index;
}

// Never prompt on a terminal for a key passphrase: an encrypted key is a configuration error.
int refuse_passphrase(char*, int, int, void*) {
    return 0;
}

int to_openssl_version(TlsVersion v) {
    return v == TlsVersion::Tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

std::string lower_domain(std::string_view d) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    std::string out(d);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

Unexpected<TlsError> fail(TlsErrorCode code, std::string text) {
    return Unexpected(TlsError{code, std::move(text)});
}

int select_sni(SSL* ssl, int*, void* arg) {
    const auto* extra = static_cast<const CtxExtra*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (extra == nullptr || name == nullptr) return SSL_TLSEXT_ERR_OK;
    std::string_view requested(name);
    if (!requested.empty() && requested.back() == '.') requested.remove_suffix(1);
    for (const auto& [domain, ctx] : extra->sni) {
        if (tls_detail::iequals_ascii(domain, requested)) {
            // Swaps the certificate and key; the verify mode, callback and parameters stay
            // with the SSL. Both contexts share one X509_STORE.
            SSL_set_SSL_CTX(ssl, ctx);
            break;
        }
    }
    // An unknown name keeps the default certificate: refusing would only hide the cause.
    return SSL_TLSEXT_ERR_OK;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    const auto* extra = static_cast<const CtxExtra*>(arg);
    if (extra == nullptr || extra->alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
    unsigned char* selected = nullptr;
    int rc = SSL_select_next_proto(&selected, outlen,
                                   reinterpret_cast<const unsigned char*>(extra->alpn_wire.data()),
                                   static_cast<unsigned int>(extra->alpn_wire.size()), in, inlen);
    if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

Result<std::string, TlsError> alpn_wire_format(const std::vector<std::string>& protocols) {
    std::string wire;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255) {
            return fail(TlsErrorCode::ContextSetup,
                        "ALPN protocol name '" + p + "' must be 1 to 255 bytes");
        }
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
    }
    return wire;
}

Result<StorePtr, TlsError> build_store(const TlsContextOptions& o) {
    StorePtr store(X509_STORE_new());
    if (!store) return fail(TlsErrorCode::Internal, with_openssl_reason("X509_STORE_new"));
    if (!o.ca_file.empty() && X509_STORE_load_file(store.get(), o.ca_file.c_str()) != 1) {
        return fail(TlsErrorCode::CaLocation,
                    with_openssl_reason("cannot load CA file '" + o.ca_file + "'"));
    }
    if (!o.ca_dir.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(o.ca_dir, ec)) {
            return fail(TlsErrorCode::CaLocation,
                        "CA directory '" + o.ca_dir + "' is not a readable directory");
        }
        if (X509_STORE_load_path(store.get(), o.ca_dir.c_str()) != 1) {
            return fail(TlsErrorCode::CaLocation,
                        with_openssl_reason("cannot use CA directory '" + o.ca_dir + "'"));
        }
    }
    if (o.use_system_cas && X509_STORE_set_default_paths(store.get()) != 1) {
        return fail(TlsErrorCode::CaLocation,
                    with_openssl_reason("cannot load the system CA store"));
    }
    return store;
}

Result<void, TlsError> load_credentials(SSL_CTX* ctx, const TlsCredentials& c) {
    if (c.cert_chain_file.empty() || c.key_file.empty()) {
        return fail(TlsErrorCode::CertificateFile,
                    "a certificate chain file and a key file are both required");
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_chain_file.c_str()) != 1) {
        return fail(
            TlsErrorCode::CertificateFile,
            with_openssl_reason("cannot load certificate chain from '" + c.cert_chain_file + "'"));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();
        bool mismatch =
            ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
        if (mismatch) {
            return fail(
                TlsErrorCode::KeyMismatch,
                with_openssl_reason("private key '" + c.key_file +
                                    "' does not match certificate '" + c.cert_chain_file + "'"));
        }
        return fail(TlsErrorCode::KeyFile,
                    with_openssl_reason("cannot load private key from '" + c.key_file + "'"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        return fail(
            TlsErrorCode::KeyMismatch,
            with_openssl_reason("private key '" + c.key_file + "' does not match certificate '" +
                                c.cert_chain_file + "'"));
    }
    return {};
}

// One SSL_CTX with every setting but the SNI table. `credentials` may be null (client).
Result<SslCtxPtr, TlsError> build_ctx(const TlsContextOptions& o, const TlsCredentials* credentials,
                                      X509_STORE* store, const std::string& alpn_wire) {
    const bool server = o.role == TlsRole::Server;
    SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
    if (!ctx) return fail(TlsErrorCode::Internal, with_openssl_reason("SSL_CTX_new"));

    if (SSL_CTX_set_min_proto_version(ctx.get(), to_openssl_version(o.min_version)) != 1 ||
        SSL_CTX_set_max_proto_version(ctx.get(), to_openssl_version(o.max_version)) != 1) {
        return fail(TlsErrorCode::ContextSetup, with_openssl_reason("cannot set TLS versions"));
    }
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
    if (server) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    SSL_CTX_set_options(ctx.get(), opts);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx.get(), &refuse_passphrase);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    if (server) {
        SSL_CTX_set_num_tickets(ctx.get(), 0);
        SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof kSessionIdContext - 1);
    }
    if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(ctx.get(), o.cipher_list.c_str()) != 1) {
        return fail(TlsErrorCode::ContextSetup,
                    with_openssl_reason("invalid TLS 1.2 cipher list '" + o.cipher_list + "'"));
    }
    if (!o.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(ctx.get(), o.ciphersuites.c_str()) != 1) {
        return fail(TlsErrorCode::ContextSetup,
                    with_openssl_reason("invalid TLS 1.3 ciphersuites '" + o.ciphersuites + "'"));
    }
    if (credentials != nullptr) {
        if (auto r = load_credentials(ctx.get(), *credentials); !r) {
            return Unexpected(std::move(r.error()));
        }
    }
    SSL_CTX_set1_cert_store(ctx.get(), store);  // takes its own reference
    SSL_CTX_set_verify_depth(ctx.get(), kVerifyDepth);
    SSL_CTX_set_cert_verify_callback(ctx.get(), &tls_detail::app_verify_callback, nullptr);

    auto extra = std::make_unique<CtxExtra>();
    extra->alpn_wire = alpn_wire;
    if (!alpn_wire.empty()) {
        if (server) {
            SSL_CTX_set_alpn_select_cb(ctx.get(), &select_alpn, extra.get());
        } else if (SSL_CTX_set_alpn_protos(ctx.get(),
                                           reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                                           static_cast<unsigned int>(alpn_wire.size())) != 0) {
            // SSL_CTX_set_alpn_protos returns 0 on success.
            return fail(TlsErrorCode::ContextSetup, with_openssl_reason("cannot set ALPN"));
        }
    }
    if (SSL_CTX_set_ex_data(ctx.get(), ctx_extra_index(), extra.get()) != 1) {
        return fail(TlsErrorCode::Internal, with_openssl_reason("SSL_CTX_set_ex_data"));
    }
    extra.release();  // owned by the SSL_CTX from here on (free_ctx_extra)
    return ctx;
}

Result<void, TlsError> check_options(const TlsContextOptions& o) {
    if (o.min_version == TlsVersion::Tls1_3 && o.max_version == TlsVersion::Tls1_2) {
        return fail(TlsErrorCode::ContextSetup, "min_version is above max_version");
    }
    if (o.role == TlsRole::Server && o.credentials.cert_chain_file.empty()) {
        return fail(TlsErrorCode::CertificateFile, "a server context needs a default certificate");
    }
    if (o.role == TlsRole::Client && !o.domains.empty()) {
        return fail(TlsErrorCode::ContextSetup, "per-domain certificates are for the server role");
    }
    for (std::size_t i = 0; i < o.domains.size(); ++i) {
        std::string d = lower_domain(o.domains[i].domain);
        if (d.empty()) return fail(TlsErrorCode::ContextSetup, "a domain entry has an empty name");
        for (std::size_t j = 0; j < i; ++j) {
            if (lower_domain(o.domains[j].domain) == d) {
                return fail(TlsErrorCode::ContextSetup, "domain '" + d + "' is listed twice");
            }
        }
    }
    return {};
}

}  // namespace

TlsContext::TlsContext(SSL_CTX* ctx, TlsRole role, std::vector<std::string> sni_domains)
    : ctx_(ctx), role_(role), sni_domains_(std::move(sni_domains)) {}

TlsContext::TlsContext(TlsContext&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)),
      role_(other.role_),
      sni_domains_(std::move(other.sni_domains_)) {}

TlsContext& TlsContext::operator=(TlsContext&& other) noexcept {
    if (this != &other) {
        SSL_CTX_free(ctx_);
        ctx_ = std::exchange(other.ctx_, nullptr);
        role_ = other.role_;
        sni_domains_ = std::move(other.sni_domains_);
    }
    return *this;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

Result<TlsContext, TlsError> TlsContext::create(const TlsContextOptions& o) {
    ERR_clear_error();
    if (auto r = check_options(o); !r) return Unexpected(std::move(r.error()));
    auto alpn = alpn_wire_format(o.alpn);
    if (!alpn) return Unexpected(std::move(alpn.error()));
    auto store = build_store(o);
    if (!store) return Unexpected(std::move(store.error()));

    const TlsCredentials* default_credentials =
        o.credentials.cert_chain_file.empty() ? nullptr : &o.credentials;
    auto ctx = build_ctx(o, default_credentials, store->get(), *alpn);
    if (!ctx) return Unexpected(std::move(ctx.error()));

    std::vector<std::string> names;
    if (!o.domains.empty()) {
        auto* extra = static_cast<CtxExtra*>(SSL_CTX_get_ex_data(ctx->get(), ctx_extra_index()));
        for (const auto& d : o.domains) {
            auto domain_ctx = build_ctx(o, &d.credentials, store->get(), *alpn);
            if (!domain_ctx) {
                TlsError e = std::move(domain_ctx.error());
                e.text = "domain '" + d.domain + "': " + e.text;
                return Unexpected(std::move(e));
            }
            names.push_back(lower_domain(d.domain));
            extra->sni.emplace_back(names.back(), domain_ctx->release());
        }
        SSL_CTX_set_tlsext_servername_callback(ctx->get(), &select_sni);
        SSL_CTX_set_tlsext_servername_arg(ctx->get(), extra);
    }
    return TlsContext(ctx->release(), o.role, std::move(names));
}

}  // namespace fedgw
