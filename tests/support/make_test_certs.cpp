// make_test_certs: writes a throwaway CA and leaf certificates for shell-driven interop tests
// and the demo.
//
//   make_test_certs DIR name1 [name2 ...]
//
// Writes DIR/ca.pem (and DIR/ca.key), and for each name DIR/NAME.pem (leaf + CA chain),
// DIR/NAME.crt (leaf) and DIR/NAME.key, with subjectAltName dNSName NAME, SRV-ID
// _xmpp-server.NAME and XmppAddr NAME, EKU serverAuth + clientAuth. Run it again on the same
// DIR to add names: an existing ca.pem + ca.key is reused. Not installed.
#include <cstdio>
#include <exception>
#include <string>

#include "tests/support/test_ca.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DIR name1 [name2 ...]\n",
                     argc > 0 ? argv[0] : "make_test_certs");
        return 2;
    }
    try {
        fedgw::test::TestCa ca(fedgw::test::TestCaOptions{.dir = argv[1]});
        std::printf("%s\n", ca.ca_path().c_str());
        for (int i = 2; i < argc; ++i) {
            std::string name = argv[i];
            auto leaf = ca.issue({.name = name,
                                  .cn = name,
                                  .dns = {name},
                                  .srv = {"_xmpp-server." + name},
                                  .xmpp = {name},
                                  .eku = fedgw::test::Eku::ServerAndClientAuth});
            std::printf("%s %s\n", leaf.chain_path.c_str(), leaf.key_path.c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_test_certs: %s\n", e.what());
        return 1;
    }
    return 0;
}
