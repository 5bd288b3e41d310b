// A throwaway certificate authority for tests, built at test time with the OpenSSL 3 API (no
// openssl command line). It writes PEM files into a temporary directory, returns their paths
// and removes the directory when destroyed.
//
//   fedgw::test::TestCa ca;
//   auto leaf = ca.issue({.dns = {"a.test"}, .srv = {"_xmpp-server.a.test"}, .xmpp = {"a.test"}});
//   // leaf.chain_path (leaf + CA), leaf.key_path, ca.ca_path(), leaf.cert (parsed X509)
//
// Leaves can carry any mix of RFC 6125 identities (DNS-ID, SRV-ID, XmppAddr), a chosen subject
// CN, a chosen EKU (serverAuth only models Let's Encrypt since 2026), and can be expired or not
// yet valid. "Signed by another CA" is simply a second TestCa. Shared by the unit, loop and
// interop tiers and by tests/support/make_test_certs.
//
// Test support only: failures throw std::runtime_error (there is no peer to be robust
// against here, and a throwing helper fails the test with the reason).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

namespace fedgw::test {

enum class KeyType { EcP256, Rsa2048 };

enum class Eku {
    ServerAuth,           // serverAuth only, like Let's Encrypt leaves since 2026-02-11
    ServerAndClientAuth,  // serverAuth + clientAuth, the classic s2s certificate
    ClientAuth,           // clientAuth only
    None,                 // no EKU extension at all
};

enum class Validity {
    Valid,        // from an hour ago for 30 days
    Expired,      // ended yesterday
    NotYetValid,  // starts tomorrow
};

struct LeafSpec {
    std::string name{};  // file base name; default: cn, else the first DNS name, else "leafN"
    std::string cn{};    // subject commonName; empty: none (identities live in the SAN)
    std::vector<std::string> dns{};   // subjectAltName dNSName, e.g. "a.test", "*.a.test"
    std::vector<std::string> srv{};   // otherName SRVName, complete: "_xmpp-server.a.test"
    std::vector<std::string> xmpp{};  // otherName XmppAddr, e.g. "a.test"
    Eku eku = Eku::ServerAndClientAuth;
    Validity validity = Validity::Valid;
    KeyType key = KeyType::EcP256;
};

struct X509Free {
    void operator()(X509* x) const;
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct EvpPkeyFree {
    void operator()(EVP_PKEY* k) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct IssuedCert {
    std::string name{};
    std::string chain_path{};  // DIR/NAME.pem: the leaf, then the issuing CA
    std::string cert_path{};   // DIR/NAME.crt: the leaf alone
    std::string key_path{};    // DIR/NAME.key (mode 0600, not encrypted)
    std::string cert_pem{};    // the leaf alone, PEM
    X509Ptr cert;              // the leaf, parsed
};

struct TestCaOptions {
    std::string common_name = "fedgw test CA";
    // Empty: a fresh directory under $TMPDIR (or /tmp), removed by the destructor. Otherwise
    // that directory (created if missing) is used and kept; if it already holds ca.pem and
    // ca.key, that CA is loaded instead of creating a new one.
    std::string dir{};
    KeyType key = KeyType::EcP256;
};

class TestCa {
  public:
    TestCa();
    explicit TestCa(TestCaOptions options);
    ~TestCa();
    TestCa(TestCa&&) noexcept;
    TestCa& operator=(TestCa&&) noexcept;
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& dir() const { return dir_; }
    const std::string& ca_path() const { return ca_path_; }  // DIR/ca.pem
    X509* ca_cert() const { return ca_cert_.get(); }

    // Issues a leaf signed by this CA and writes its files. Throws on failure or when `name`
    // is not a plain file name.
    IssuedCert issue(const LeafSpec& spec);

    // DIR/file, for tests that write their own files (a garbage PEM, a mismatched key).
    std::string path(std::string_view file) const;

  private:
    void create_ca(const TestCaOptions& options);
    void load_ca();

    std::string dir_;
    bool remove_dir_ = false;
    std::string ca_path_;
    X509Ptr ca_cert_;
    EvpPkeyPtr ca_key_;
    int issued_ = 0;
};

// Parses the first certificate of a PEM string; throws on failure.
X509Ptr parse_pem_certificate(std::string_view pem);
// Reads a whole file; throws on failure.
std::string read_file(const std::string& path);
// Writes a whole file (created or truncated) with the given mode; throws on failure.
void write_file(const std::string& path, std::string_view content, unsigned mode = 0644);

}  // namespace fedgw::test
