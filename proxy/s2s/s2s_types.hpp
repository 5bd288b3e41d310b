// The vocabulary shared by the s2s stream cores (RFC 6120 server-to-server streams): what the
// owner (a Connection in the proxy) feeds them and the actions they ask of it. The contract
// between InboundStream (receiving entity), OutboundStream (initiating entity) and the
// loop-bound proxy around them.
//
// Pure: values only. Time enters as `now_ms` arguments (a monotonic millisecond count the owner
// reads); timers are actions the owner arms and reports back with on_timer().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/base/stanza_error.hpp"
#include "common/base/stream_error.hpp"
#include "common/link/link_codec.hpp"
#include "common/registry/policy.hpp"
#include "common/xml/element.hpp"

namespace fedgw::proxy {

using link::AuthMethod;

// What the owner learned from a completed TLS handshake (common/tls TlsSession).
struct TlsFacts {
    bool chain_verified = false;  // the peer's chain verified against our trust store
    std::string verify_error;     // why not, when it did not ("certificate has expired")
    std::string protocol;         // "TLSv1.3"
    std::string cipher;
    // RFC 6125 identity check of the peer certificate for a domain (DNS-ID, SRV-ID,
    // XmppAddr); false when no certificate was presented. Filled by the owner from
    // TlsSession::peer_identity().
    std::function<bool(std::string_view domain)> covers;
};

// The federation policy as a stream needs it; implemented by the proxy over the registry
// snapshot, faked in tests.
class StreamPolicy {
  public:
    virtual ~StreamPolicy() = default;
    // Is this one of the domains we serve on s2s?
    virtual bool is_local_domain(std::string_view domain) const = 0;
    // May this remote domain federate with us, and on which terms?
    virtual registry::Admission admit(std::string_view remote_domain) const = 0;
};

// Timer kinds a stream may ask its owner to arm. One timer of each kind per stream.
enum class TimerKind {
    Establishment,  // the stream must be authenticated (or ready) by then
    Inactivity,     // nothing received for this long: close with connection-timeout
    Keepalive,      // idle this long: send a whitespace keepalive
    Dialback,       // a dialback verification we wait for
    Throttle,       // inbound: over the stanza rate; reading resumes then
};

struct StreamTimers {
    std::uint64_t establishment_ms = 60'000;
    std::uint64_t inactivity_ms = 600'000;
    std::uint64_t keepalive_ms = 300'000;  // 0: no keepalives for this partner
    std::uint64_t dialback_ms = 30'000;
};

// ---- Actions: what a stream asks of its owner, drained in order ------------------------------

struct WriteBytes {
    std::string bytes;
};
// Switch the transport to TLS now (after the bytes written so far). Inbound: server role.
// Outbound: client role with SNI and reference identity `remote_domain`, Record verification.
struct StartTls {
    std::string remote_domain;
};
struct ArmTimer {
    TimerKind kind;
    std::uint64_t after_ms;
};
struct CancelTimer {
    TimerKind kind;
};
// An authenticated stanza for the router (inbound), with the facts for the link.
struct DeliverStanza {
    std::string from_domain;  // the authenticated partner domain it came from
    std::string to_domain;    // our domain it is for
    std::string partner;      // the registry partner's primary domain
    registry::PartnerType partner_type = registry::PartnerType::PublicUnverified;
    AuthMethod auth = AuthMethod::None;
    std::unique_ptr<Element> stanza;
};
// Inbound dialback: ask the authoritative server of `remote` whether `key` is genuine for the
// stream `stream_id` it opened to our `local` domain. Answered with on_key_verified().
struct VerifyDialbackKey {
    std::string local;
    std::string remote;
    std::string stream_id;
    std::string key;
};
// A domain pair became authenticated on this stream (for routing, diagnostics and logs).
struct DomainAuthenticated {
    std::string local;
    std::string remote;
    AuthMethod method = AuthMethod::None;
};
// Outbound: the answer of the authoritative server to a db:verify we sent on this stream.
struct DialbackVerifyAnswer {
    std::string local;
    std::string remote;
    std::string stream_id;
    bool valid = false;
    // Set (with valid = false) when there was no valid/invalid answer: a type='error' answer
    // (its condition), our timer (remote-server-timeout) or the stream failed
    // (remote-server-not-found). The key could not be checked, which is not the same as an
    // invalid key: the receiving side answers with a dialback error (XEP-0220 §2.5), not
    // type='invalid' and a closed stream (§2.2.1).
    std::optional<StanzaCondition> unverifiable = std::nullopt;
};
// Outbound: the stream is authenticated and may carry stanzas from local to remote.
struct StreamReady {};
// Inbound: stop reading the peer's bytes (pause) or start again. A peer over the stanza rate
// is slowed down this way (TCP pushes back on it) rather than cut off: what it already sent is
// processed, nothing is lost.
struct PauseReading {
    bool pause = true;
};
// The stream is over. Bytes for a stream error and </stream:stream> were already written when
// there was one to send; the owner closes after flushing. For an outbound stream that never
// became ready, `bounce` says with which condition queued stanzas go back to their senders.
struct CloseStream {
    std::optional<StreamError> error;  // what we sent (or nullopt: orderly close)
    std::string reason;                // for the log line
    std::optional<StanzaCondition> bounce;
};

using StreamAction =
    std::variant<WriteBytes, StartTls, ArmTimer, CancelTimer, DeliverStanza, VerifyDialbackKey,
                 DomainAuthenticated, DialbackVerifyAnswer, StreamReady, PauseReading, CloseStream>;

// Random stream ids come from the owner (a pure core draws no randomness of its own).
using IdSource = std::function<std::string()>;

}  // namespace fedgw::proxy
