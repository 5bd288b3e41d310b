// Fuzz target for fedgw::Jid::parse (RFC 7622). Beyond "no crash", every accepted address must
// be a fixed point: parse(to_string(j)) == j, the bare form and the separate parts rebuild the
// same JID, and the A-label form prepares to the same domainpart. abort() on any difference so
// that both libFuzzer and the replay driver report it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/jid/jid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto j = fedgw::Jid::parse(in);
    if (!j) {
        if (j.error().describe().empty()) std::abort();
        return 0;
    }
    auto again = fedgw::Jid::parse(j->to_string());
    if (!again || !(*again == *j)) std::abort();
    if (again->hash() != j->hash()) std::abort();

    auto bare = fedgw::Jid::parse(j->bare_string());
    if (!bare || !(*bare == j->bare()) || !bare->same_bare(*j)) std::abort();

    auto made = fedgw::Jid::make(j->localpart(), j->domainpart(), j->resourcepart());
    if (!made || !(*made == *j)) std::abort();

    auto from_ascii = fedgw::prepare_domain(j->domain_ascii());
    if (!from_ascii || *from_ascii != j->domainpart()) std::abort();
    return 0;
}
