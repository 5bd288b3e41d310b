// The throwaway test CA (see test_ca.hpp). OpenSSL 3 API only.
//
// Test support; not linked into fedgw. Throws std::runtime_error on failure.
#include "tests/support/test_ca.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace fedgw::test {

void X509Free::operator()(X509* x) const {
    X509_free(x);
}
void EvpPkeyFree::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

namespace {

constexpr long kHour = 3600;
constexpr long kDay = 24 * kHour;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

[[noreturn]] void throw_openssl(const std::string& what) {
    std::string text = what;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        text += "; ";
        text += buf;
    }
    throw std::runtime_error(text);
}

void check(int rc, const char* what) {
    if (rc != 1) throw_openssl(what);
}

EvpPkeyPtr generate_key(KeyType type) {
    EVP_PKEY* k = type == KeyType::Rsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (k == nullptr) throw_openssl("key generation failed");
    return EvpPkeyPtr(k);
}

void set_random_serial(X509* x) {
    unsigned char bytes[8];
    check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
    bytes[0] &= 0x7f;  // positive
    bytes[0] |= 0x01;  // and never zero
    BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
    if (bn == nullptr || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == nullptr) {
        BN_free(bn);
        throw_openssl("serial number");
    }
    BN_free(bn);
}

void set_validity(X509* x, long from_offset, long to_offset) {
    if (X509_gmtime_adj(X509_getm_notBefore(x), from_offset) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(x), to_offset) == nullptr) {
        throw_openssl("validity");
    }
}

void set_cn(X509* x, const std::string& cn) {
    X509_NAME* name = X509_get_subject_name(x);
    if (!cn.empty()) {
        check(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                         0),
              "subject CN");
    }
    // Distinct subjects keep chain building unambiguous when a leaf has no CN.
    check(X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>("fedgw tests"), -1, -1,
                                     0),
          "subject O");
}

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
    if (ext == nullptr) throw_openssl(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
    int rc = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    check(rc, "X509_add_ext");
}

void push_other_name(GENERAL_NAMES* names, int nid, int asn1_type, const std::string& value) {
    ASN1_STRING* str = ASN1_STRING_type_new(asn1_type);
    if (str == nullptr || ASN1_STRING_set(str, value.data(), static_cast<int>(value.size())) != 1) {
        ASN1_STRING_free(str);
        throw_openssl("otherName value");
    }
    ASN1_TYPE* type = ASN1_TYPE_new();
    if (type == nullptr) {
        ASN1_STRING_free(str);
        throw_openssl("ASN1_TYPE_new");
    }
    ASN1_TYPE_set(type, asn1_type, str);  // takes ownership of str
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr || GENERAL_NAME_set0_othername(gn, OBJ_dup(OBJ_nid2obj(nid)), type) != 1) {
        ASN1_TYPE_free(type);
        GENERAL_NAME_free(gn);
        throw_openssl("otherName");
    }
    if (sk_GENERAL_NAME_push(names, gn) <= 0) {
        GENERAL_NAME_free(gn);
        throw_openssl("SAN push");
    }
}

void add_san(X509* x, const LeafSpec& spec) {
    if (spec.dns.empty() && spec.srv.empty() && spec.xmpp.empty()) return;
    std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(sk_GENERAL_NAME_new_null());
    if (!names) throw_openssl("GENERAL_NAMES");
    for (const auto& dns : spec.dns) {
        ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
        if (ia5 == nullptr || ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
            ASN1_IA5STRING_free(ia5);
            throw_openssl("dNSName");
        }
        GENERAL_NAME* gn = GENERAL_NAME_new();
        if (gn == nullptr) {
            ASN1_IA5STRING_free(ia5);
            throw_openssl("GENERAL_NAME_new");
        }
        GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
        if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
            GENERAL_NAME_free(gn);
            throw_openssl("SAN push");
        }
    }
    for (const auto& srv : spec.srv)
        push_other_name(names.get(), NID_SRVName, V_ASN1_IA5STRING, srv);
    for (const auto& xmpp : spec.xmpp) {
        push_other_name(names.get(), NID_XmppAddr, V_ASN1_UTF8STRING, xmpp);
    }
    check(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
          "subjectAltName");
}

std::string to_pem(X509* x) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), x) != 1) throw_openssl("PEM_write_bio_X509");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string key_to_pem(EVP_PKEY* k) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        throw_openssl("PEM_write_bio_PrivateKey");
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

EvpPkeyPtr parse_pem_key(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* k = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (k == nullptr) throw_openssl("cannot parse private key PEM");
    return EvpPkeyPtr(k);
}

bool is_plain_file_name(const std::string& n) {
    return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
           n.find('\0') == std::string::npos;
}

}  // namespace

X509Ptr parse_pem_certificate(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509* x = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (x == nullptr) throw_openssl("cannot parse certificate PEM");
    return X509Ptr(x);
}

std::string read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw std::runtime_error("cannot read " + path + ": " + std::strerror(err));
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

void write_file(const std::string& path, std::string_view content, unsigned mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    (void)::fchmod(fd, mode);  // an existing file keeps its old mode otherwise
    while (!content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    if (::close(fd) != 0)
        throw std::runtime_error("cannot close " + path + ": " + std::strerror(errno));
}

TestCa::TestCa() : TestCa(TestCaOptions{}) {}

TestCa::TestCa(TestCaOptions options) {
    if (options.dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ =
            std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/fedgw-test-ca-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) {
            throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
        }
        dir_ = templ;
        remove_dir_ = true;
    } else {
        dir_ = options.dir;
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        if (ec) throw std::runtime_error("cannot create " + dir_ + ": " + ec.message());
    }
    ca_path_ = path("ca.pem");
    std::error_code ec;
    if (!remove_dir_ && std::filesystem::exists(ca_path_, ec) &&
        std::filesystem::exists(path("ca.key"), ec)) {
        load_ca();
    } else {
        create_ca(options);
    }
}

TestCa::~TestCa() {
    if (remove_dir_ && !dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

TestCa::TestCa(TestCa&& o) noexcept
    : dir_(std::exchange(o.dir_, std::string())),
      remove_dir_(std::exchange(o.remove_dir_, false)),
      ca_path_(std::move(o.ca_path_)),
      ca_cert_(std::move(o.ca_cert_)),
      ca_key_(std::move(o.ca_key_)),
      issued_(o.issued_) {}

TestCa& TestCa::operator=(TestCa&& o) noexcept {
    if (this != &o) {
        if (remove_dir_ && !dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
        dir_ = std::exchange(o.dir_, std::string());
        remove_dir_ = std::exchange(o.remove_dir_, false);
        ca_path_ = std::move(o.ca_path_);
        ca_cert_ = std::move(o.ca_cert_);
        ca_key_ = std::move(o.ca_key_);
        issued_ = o.issued_;
    }
    return *this;
}

std::string TestCa::path(std::string_view file) const {
    return dir_ + "/" + std::string(file);
}

void TestCa::create_ca(const TestCaOptions& options) {
    ca_key_ = generate_key(options.key);
    ca_cert_.reset(X509_new());
    X509* x = ca_cert_.get();
    if (x == nullptr) throw_openssl("X509_new");
    check(X509_set_version(x, X509_VERSION_3), "version");
    set_random_serial(x);
    set_validity(x, -kDay, 365 * kDay);
    set_cn(x, options.common_name);
    check(X509_set_issuer_name(x, X509_get_subject_name(x)), "issuer");
    check(X509_set_pubkey(x, ca_key_.get()), "pubkey");
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, &v3, NID_subject_key_identifier, "hash");
    add_ext(x, &v3, NID_authority_key_identifier, "keyid:always");
    if (X509_sign(x, ca_key_.get(), EVP_sha256()) <= 0) throw_openssl("X509_sign (CA)");
    write_file(ca_path_, to_pem(x));
    write_file(path("ca.key"), key_to_pem(ca_key_.get()), 0600);
}

void TestCa::load_ca() {
    ca_cert_ = parse_pem_certificate(read_file(ca_path_));
    ca_key_ = parse_pem_key(read_file(path("ca.key")));
    if (X509_check_private_key(ca_cert_.get(), ca_key_.get()) != 1) {
        throw_openssl(path("ca.key") + " does not match " + ca_path_);
    }
}

IssuedCert TestCa::issue(const LeafSpec& spec) {
    ++issued_;
    IssuedCert out;
    out.name = !spec.name.empty()  ? spec.name
               : !spec.cn.empty()  ? spec.cn
               : !spec.dns.empty() ? spec.dns.front()
                                   : "leaf" + std::to_string(issued_);
    if (!is_plain_file_name(out.name)) {
        throw std::runtime_error("'" + out.name + "' is not usable as a file name");
    }
    EvpPkeyPtr key = generate_key(spec.key);
    X509Ptr cert(X509_new());
    X509* x = cert.get();
    if (x == nullptr) throw_openssl("X509_new");
    check(X509_set_version(x, X509_VERSION_3), "version");
    set_random_serial(x);
    switch (spec.validity) {
        case Validity::Valid:
            set_validity(x, -kHour, 30 * kDay);
            break;
        case Validity::Expired:
            set_validity(x, -30 * kDay, -kDay);
            break;
        case Validity::NotYetValid:
            set_validity(x, kDay, 30 * kDay);
            break;
    }
    set_cn(x, spec.cn);
    check(X509_set_issuer_name(x, X509_get_subject_name(ca_cert_.get())), "issuer");
    check(X509_set_pubkey(x, key.get()), "pubkey");

    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, ca_cert_.get(), x, nullptr, nullptr, 0);
    add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, &v3, NID_key_usage,
            spec.key == KeyType::Rsa2048 ? "critical,digitalSignature,keyEncipherment"
                                         : "critical,digitalSignature");
    switch (spec.eku) {
        case Eku::ServerAuth:
            add_ext(x, &v3, NID_ext_key_usage, "serverAuth");
            break;
        case Eku::ServerAndClientAuth:
            add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
            break;
        case Eku::ClientAuth:
            add_ext(x, &v3, NID_ext_key_usage, "clientAuth");
            break;
        case Eku::None:
            break;
    }
    add_ext(x, &v3, NID_subject_key_identifier, "hash");
    add_ext(x, &v3, NID_authority_key_identifier, "keyid:always");
    add_san(x, spec);
    if (X509_sign(x, ca_key_.get(), EVP_sha256()) <= 0) throw_openssl("X509_sign (leaf)");

    out.cert_pem = to_pem(x);
    out.chain_path = path(out.name + ".pem");
    out.cert_path = path(out.name + ".crt");
    out.key_path = path(out.name + ".key");
    write_file(out.chain_path, out.cert_pem + to_pem(ca_cert_.get()));
    write_file(out.cert_path, out.cert_pem);
    write_file(out.key_path, key_to_pem(key.get()), 0600);
    out.cert = std::move(cert);
    return out;
}

}  // namespace fedgw::test
