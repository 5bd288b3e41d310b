// Internal glue shared by the TLS adapter's .cpp files (see tls_internal.hpp).
//
// Loop-free and socket-free.
#include "common/tls/tls_internal.hpp"

#include <algorithm>
#include <system_error>

#include <openssl/err.h>

namespace fedgw::tls_detail {

bool iequals_ascii(std::string_view a, std::string_view b) {
    auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

OpensslErrors drain_openssl_errors() {
    OpensslErrors out;
    while (unsigned long e = ERR_get_error()) {
        out.codes.push_back(e);
        std::string piece;
        if (ERR_SYSTEM_ERROR(e)) {
            // OpenSSL 3 packs errno into the code and has no reason string for it.
            piece = std::error_code(ERR_GET_REASON(e), std::generic_category()).message();
        } else if (const char* reason = ERR_reason_error_string(e)) {
            piece = reason;
            if (piece == "system lib") continue;  // says nothing the errno entry does not
        } else {
            piece = "error " + std::to_string(e);
        }
        // The same reason is often pushed twice by nested calls; say it once.
        if (out.text.find(piece) != std::string::npos) continue;
        if (!out.text.empty()) out.text += "; ";
        out.text += piece;
    }
    return out;
}

std::string with_openssl_reason(std::string_view prefix) {
    OpensslErrors e = drain_openssl_errors();
    std::string out(prefix);
    out += ": ";
    out += e.text.empty() ? "unknown OpenSSL error" : e.text;
    return out;
}

}  // namespace fedgw::tls_detail
