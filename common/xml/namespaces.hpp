// XML namespace names used on XMPP streams (RFC 6120 §4.8, §5.4, §6.4, XEP-0220 §2.1).
//
// Pure: constants only. The streams and error namespaces live in common/base/stream_error.hpp
// (kNsStreams, kNsStreamErrors) and stanza_error.hpp (kNsStanzaErrors); they are re-used here,
// not redefined.
#pragma once

#include <string_view>

#include "common/base/stanza_error.hpp"
#include "common/base/stream_error.hpp"

namespace fedgw {

// The namespace bound to the 'xml' prefix by the XML Namespaces spec; never declared.
inline constexpr std::string_view kNsXml = "http://www.w3.org/XML/1998/namespace";
inline constexpr std::string_view kNsServer = "jabber:server";             // RFC 6120 §4.8.3
inline constexpr std::string_view kNsClient = "jabber:client";             // RFC 6120 §4.8.3
inline constexpr std::string_view kNsDialback = "jabber:server:dialback";  // XEP-0220
inline constexpr std::string_view kNsDialbackFeature = "urn:xmpp:features:dialback";
inline constexpr std::string_view kNsTls = "urn:ietf:params:xml:ns:xmpp-tls";    // RFC 6120 §5.4
inline constexpr std::string_view kNsSasl = "urn:ietf:params:xml:ns:xmpp-sasl";  // RFC 6120 §6.4

}  // namespace fedgw
