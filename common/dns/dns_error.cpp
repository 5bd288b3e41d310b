// Pure: names and descriptions of DNS lookup failures (see dns_error.hpp).
#include "common/dns/dns_error.hpp"

namespace fedgw::dns {

std::string_view dns_error_name(DnsErrorKind k) {
    switch (k) {
        case DnsErrorKind::NotFound:
            return "not-found";
        case DnsErrorKind::NoService:
            return "no-service";
        case DnsErrorKind::Timeout:
            return "timeout";
        case DnsErrorKind::Refused:
            return "refused";
        case DnsErrorKind::ServerFailure:
            return "server-failure";
        case DnsErrorKind::BadResponse:
            return "bad-response";
        case DnsErrorKind::BadName:
            return "bad-name";
        case DnsErrorKind::BadConfig:
            return "bad-config";
        case DnsErrorKind::Busy:
            return "busy";
        case DnsErrorKind::Internal:
            return "internal";
    }
    return "unknown";
}

std::string DnsError::describe() const {
    std::string s(dns_error_name(kind));
    if (!text.empty()) {
        s += ": ";
        s += text;
    }
    return s;
}

bool DnsError::is_transient() const {
    switch (kind) {
        case DnsErrorKind::Timeout:
        case DnsErrorKind::Refused:
        case DnsErrorKind::ServerFailure:
        case DnsErrorKind::Busy:
            return true;
        default:
            return false;
    }
}

}  // namespace fedgw::dns
