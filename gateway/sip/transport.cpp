// PeerAddress; see transport.hpp. Pure.
#include "gateway/sip/transport.hpp"

namespace fedgw::gateway::sip {

std::string PeerAddress::to_string() const {
    return std::string(transport_name(transport)) + ":" +
           HostPort{ip.to_string(), port, ip}.to_string();
}

}  // namespace fedgw::gateway::sip
