// OutboundStream: the initiating entity of one s2s stream (we connect to a partner).
// RFC 6120 §4, §5, §6, XEP-0178, XEP-0220.
//
// Pure: bytes and events in, StreamActions out (see s2s_types.hpp). Spec: being written.
#pragma once

#include "proxy/s2s/s2s_types.hpp"

namespace fedgw::proxy {

class OutboundStream;

}  // namespace fedgw::proxy
