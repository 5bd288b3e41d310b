// Stream errors: the closed set of RFC 6120 §4.9.3 conditions, one enum value per condition,
// and the single function that turns one into wire output (RFC 6120 §4.9.2).
//
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fedgw {

enum class StreamCondition {
    BadFormat,               // §4.9.3.1 the entity sent XML that cannot be processed
    BadNamespacePrefix,      // §4.9.3.2 unsupported or missing namespace prefix
    Conflict,                // §4.9.3.3 a new stream replaces this one
    ConnectionTimeout,       // §4.9.3.4 no traffic for too long
    HostGone,                // §4.9.3.5 the 'to' domain is no longer served
    HostUnknown,             // §4.9.3.6 the 'to' domain is not served here
    ImproperAddressing,      // §4.9.3.7 a stanza lacks 'to' or 'from' where required
    InternalServerError,     // §4.9.3.8 we failed, not the peer
    InvalidFrom,             // §4.9.3.9 'from' does not match an authenticated domain
    InvalidNamespace,        // §4.9.3.10 wrong stream or content namespace
    InvalidXml,              // §4.9.3.11 XML that fails validation
    NotAuthorized,           // §4.9.3.12 stanza before authentication
    NotWellFormed,           // §4.9.3.13 XML that is not well-formed
    PolicyViolation,         // §4.9.3.14 a local policy (size, rate, registry) was violated
    RemoteConnectionFailed,  // §4.9.3.15 a needed remote connection failed
    Reset,                   // §4.9.3.16 credentials or security context changed
    ResourceConstraint,      // §4.9.3.17 we lack the resources to serve the stream
    RestrictedXml,           // §4.9.3.18 comments, PIs, DTDs or entities (§11.1)
    SeeOtherHost,            // §4.9.3.19 use another host
    SystemShutdown,          // §4.9.3.20 we are shutting down
    UndefinedCondition,      // §4.9.3.21 none of the above; application condition follows
    UnsupportedEncoding,     // §4.9.3.22 not UTF-8
    UnsupportedFeature,      // §4.9.3.23 a mandatory feature is not supported
    UnsupportedStanzaType,   // §4.9.3.24 unknown first-level child
    UnsupportedVersion,      // §4.9.3.25 stream version not supported
};

struct StreamError {
    StreamCondition condition = StreamCondition::UndefinedCondition;
    std::string text;  // human-readable reason; sent in <text/> and logged

    // One line for logs: "policy-violation: stanza exceeds 524288 bytes".
    std::string describe() const;
};

// The defined-condition element name, e.g. "host-unknown".
std::string_view wire_name(StreamCondition c);
// Inverse of wire_name; nullopt for a name RFC 6120 does not define.
std::optional<StreamCondition> stream_condition_from_name(std::string_view name);

// <stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text …>…</text>
// </stream:error>. The 'stream' prefix is the one every fedgw stream header binds.
std::string to_wire(const StreamError& e);

inline constexpr std::string_view kNsStreams = "http://etherx.jabber.org/streams";
inline constexpr std::string_view kNsStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";

}  // namespace fedgw
