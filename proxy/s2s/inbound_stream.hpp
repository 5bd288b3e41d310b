// InboundStream: the receiving entity of one s2s stream (a partner connected to our 5269).
// RFC 6120 §4 (streams), §5 (STARTTLS), §6 (SASL), XEP-0178 (EXTERNAL), XEP-0220 (dialback).
//
// Pure: bytes and events in, StreamActions out (see s2s_types.hpp). Spec: being written.
#pragma once

#include "proxy/s2s/s2s_types.hpp"

namespace fedgw::proxy {

class InboundStream;

}  // namespace fedgw::proxy
