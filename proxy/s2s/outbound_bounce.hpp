// make_bounce: the error reply that returns an undeliverable stanza to its sender (RFC 6120
// §8.3.1 rules, §8.3.2 syntax; §8.2.3 for IQ). Used by the router for every stanza an outbound
// stream could not carry (OutboundQueue::fail, CloseStream::bounce, SendError), so that
// nothing is dropped silently.
//
// Pure: an Element in, an Element out.
#pragma once

#include <memory>
#include <string_view>

#include "common/base/result.hpp"
#include "common/base/stanza_error.hpp"
#include "common/xml/element.hpp"

namespace fedgw::proxy {

// Why a stanza gets no error reply.
enum class NoBounce {
    NotAStanza,   // not message, presence or iq
    ErrorStanza,  // type='error': answering it could loop (RFC 6120 §8.3.1)
    IqResponse,   // iq of type result (or without get/set): no reply to a reply (§8.2.3)
    NoSender,     // no 'from': nobody to return it to
};
std::string_view describe(NoBounce r);

// The reply per RFC 6120 §8.3: same kind of stanza, 'from' and 'to' swapped, type='error', the
// same 'id' (an iq always gets one, empty if the original had none), the original children
// kept, and an <error/> built from `error` appended (its 'by' set to `by` when not empty).
// Other attributes (xml:lang) are kept.
Result<std::unique_ptr<Element>, NoBounce> make_bounce(const Element& stanza, StanzaError error,
                                                       std::string_view by = {});

}  // namespace fedgw::proxy
