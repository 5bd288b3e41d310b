// Fuzz target for the PIDF parser (gateway/translate/pidf.hpp, RFC 3863 + RFC 4480) and the
// presence mapping on top of it. Beyond "no crash": a parsed document written back must parse
// again, and writing is a fixed point from then on (write(parse(write(d))) == write(d)); the
// NOTIFY-body entry point must agree with the parser. abort() on any difference so that both
// libFuzzer and the replay driver report it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/translate/pidf.hpp"
#include "gateway/translate/presence_map.hpp"

using namespace fedgw::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto doc = parse_pidf(in);
    auto via_notify = presence_from_notify_body("application/pidf+xml", in, NotePolicy::Show);
    if (!doc) {
        if (doc.error().describe().empty()) std::abort();
        if (!in.empty() && via_notify) std::abort();
        return 0;
    }
    if (!via_notify || !(*via_notify == presence_from_pidf(*doc, NotePolicy::Show))) std::abort();
    if (!presence_from_pidf(*doc, NotePolicy::Withhold).status.empty()) std::abort();

    const std::string first = write_pidf(*doc);
    auto again = parse_pidf(first);
    if (!again) std::abort();
    if (write_pidf(*again) != first) std::abort();
    if (again->tuples.size() != doc->tuples.size() || again->entity != doc->entity) std::abort();
    return 0;
}
