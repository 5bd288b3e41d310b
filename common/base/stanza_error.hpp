// Stanza errors: the closed set of RFC 6120 §8.3.3 conditions with their error types
// (§8.3.2), and the single function that turns one into the <error/> child (§8.3.1).
//
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fedgw {

enum class StanzaErrorType {
    Auth,      // retry after providing credentials
    Cancel,    // do not retry
    Continue,  // proceed (the condition was only a warning)
    Modify,    // retry after changing the data sent
    Wait,      // retry after waiting
};

enum class StanzaCondition {
    BadRequest,             // §8.3.3.1 malformed or unprocessable
    Conflict,               // §8.3.3.2 a resource or session with that name exists
    FeatureNotImplemented,  // §8.3.3.3 the feature is not implemented by the recipient
    Forbidden,              // §8.3.3.4 the sender lacks the permissions
    Gone,                   // §8.3.3.5 the recipient is no longer at this address
    InternalServerError,    // §8.3.3.6 we failed
    ItemNotFound,           // §8.3.3.7 the addressed item or JID does not exist
    JidMalformed,           // §8.3.3.8 the address is not a valid JID
    NotAcceptable,          // §8.3.3.9 the content violates a local policy on content
    NotAllowed,             // §8.3.3.10 nobody may do this
    NotAuthorized,          // §8.3.3.11 authenticate first
    PolicyViolation,        // §8.3.3.12 a local service policy was violated
    RecipientUnavailable,   // §8.3.3.13 the recipient is temporarily unavailable
    Redirect,               // §8.3.3.14 use another address
    RegistrationRequired,   // §8.3.3.15 register first
    RemoteServerNotFound,   // §8.3.3.16 the remote domain cannot be resolved or reached
    RemoteServerTimeout,    // §8.3.3.17 the remote domain did not answer in time
    ResourceConstraint,     // §8.3.3.18 we lack resources to serve this
    ServiceUnavailable,     // §8.3.3.19 the service is not offered
    SubscriptionRequired,   // §8.3.3.20 subscribe first
    UndefinedCondition,     // §8.3.3.21 none of the above
    UnexpectedRequest,      // §8.3.3.22 right request, wrong time
};

struct StanzaError {
    StanzaCondition condition = StanzaCondition::UndefinedCondition;
    StanzaErrorType type = StanzaErrorType::Cancel;
    std::string text;  // human-readable reason; sent in <text/> and logged
    std::string by;    // optional generator ('by' attribute), a domain we serve

    // The condition with the type RFC 6120 §8.3.3 suggests for it.
    static StanzaError of(StanzaCondition c, std::string text = {});

    // One line for logs: "cancel/service-unavailable: link to the gateway is down".
    std::string describe() const;
};

std::string_view wire_name(StanzaCondition c);
std::string_view wire_name(StanzaErrorType t);
std::optional<StanzaCondition> stanza_condition_from_name(std::string_view name);
std::optional<StanzaErrorType> stanza_error_type_from_name(std::string_view name);
StanzaErrorType default_type(StanzaCondition c);

// <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
// <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>…</text></error>
std::string to_wire(const StanzaError& e);

inline constexpr std::string_view kNsStanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas";

}  // namespace fedgw
