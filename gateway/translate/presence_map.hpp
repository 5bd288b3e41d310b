// Presence notifications between XMPP <presence/> (RFC 6121 §4.7) and SIP NOTIFY bodies in
// PIDF (RFC 3863) with RPID activities (RFC 4480), as RFC 7248 §5 maps them (§5.2 XMPP to
// SIP, §5.3 SIP to XMPP).
//
// Pure.
//
// Provenance: the RFC 7248 rows and section numbers here are as recalled; its text could not
// be fetched with the tools available when they were checked (issue 4). The unit tests tag
// every expected value [RFC text], [recalled] or [ours] (tests/unit/translate/
// translate_test_support.hpp).
//
// XMPP -> PIDF (pidf_for_presence), RFC 7248 §5.2:
//   available (no type) -> <basic>open</basic>; type=unavailable -> <basic>closed</basic>;
//   from -> entity (the mapped SIP URI); the resource -> tuple id (tuple_id_for());
//   <status xml:lang/> -> <note xml:lang/> in the tuple (one per language);
//   <priority/> -> <contact priority/> (only with a contact URI): 1..127 -> 0.008..1 linearly,
//   0 and below -> 0 (a qvalue cannot be negative);
//   <show/> -> an RPID activity on a <dm:person/>: away -> away, xa -> away, dnd -> busy;
//   chat and no show -> no activity (plain open).
// PIDF -> XMPP (presence_from_pidf), RFC 7248 §5.3, plus the aggregation rule for Kamailio's
// merged documents (several publications -> several tuples and persons in one document):
//   - available if ANY tuple is open; otherwise unavailable (closed, unknown or no tuples).
//   - <show/>: every <dm:person/> and every open tuple carrying RPID activities is one source;
//     a person without activities counts as plain online; with no source at all: online. The
//     most available source wins, in this order: chat, online, away, dnd, xa (away is a short
//     absence, dnd someone at a device who asks not to be disturbed, xa a long absence).
//   - activities -> show (RFC 7248 §5.3 maps busy to dnd; the rest is ours, see
//     show_for_activity()):
//       away appointment breakfast dinner lunch meal shopping in-transit travel steering
//       playing tv                                                       -> away
//       busy on-the-phone meeting performance presentation worship spectator -> dnd
//       vacation holiday sleeping permanent-absence                      -> xa
//       working looking-for-work unknown other                           -> (no show)
//   - notes -> <status/>: one per language, from open tuples first, then persons, then the
//     document; withheld entirely under NotePolicy::Withhold (partner types that must not
//     see status notes, DESIGN.md "The partner registry").
//   - contact priority -> <priority/>: the highest among open tuples, 0..1 -> 0..127.
// An empty NOTIFY body means no presence information at all (Kamailio sends one when the
// presentity has no publication, or its last one expired): unavailable. RFC 6665 §4.2.2 lets
// a notifier send a NOTIFY without a body, and a presentity nobody can see is offline to an
// XMPP contact.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/base/stanza_error.hpp"
#include "common/jid/jid.hpp"
#include "common/registry/partner.hpp"
#include "common/xml/element.hpp"
#include "gateway/translate/pidf.hpp"

namespace fedgw::gateway {

// RFC 6121 §4.7.2.1 <show/> values, and its absence.
enum class Show { None, Chat, Away, ExtendedAway, DoNotDisturb };
std::string_view wire_name(Show s);  // "" for None
std::optional<Show> show_from_name(std::string_view name);

struct StatusText {
    std::string text;
    std::string lang;  // or ""
    bool operator==(const StatusText&) const = default;
};

struct PresenceState {
    bool available = false;
    Show show = Show::None;
    std::vector<StatusText> status;
    std::optional<int> priority;  // -128..127
    bool operator==(const PresenceState&) const = default;
};

// Whether a partner's users see status notes.
enum class NotePolicy { Show, Withhold };
// Federated partners see notes; public-verified and public-unverified do not.
constexpr NotePolicy note_policy_for(registry::PartnerType t) {
    return t == registry::PartnerType::Federated ? NotePolicy::Show : NotePolicy::Withhold;
}

// An available or unavailable presence stanza (no type, or type='unavailable'); other types
// (subscriptions, probe, error) are refused with bad-request: they go to subscription_map.
// An unknown <show/> value is read as none, a <priority/> outside -128..127 as absent.
Result<PresenceState, StanzaError> read_presence(const Element& presence);

struct PidfTarget {
    std::string entity;    // the presentity's SIP URI (required, RFC 3863 §4.1)
    std::string tuple_id;  // e.g. tuple_id_for(resource); "" -> "t1"
    std::string contact;   // a contact URI for the tuple (e.g. the GRUU), or ""
};

// RFC 7248 §5.2.
PidfDocument pidf_for_presence(const PresenceState& p, const PidfTarget& target);

// RFC 7248 §5.3 with the aggregation rule above.
PresenceState presence_from_pidf(const PidfDocument& doc, NotePolicy notes);

// A NOTIFY body: empty -> unavailable; otherwise Content-Type must be application/pidf+xml
// (PidfError::NotPidf if not) and the document must parse.
Result<PresenceState, PidfFailure> presence_from_notify_body(std::string_view content_type,
                                                             std::string_view body,
                                                             NotePolicy notes,
                                                             const PidfLimits& limits = {});

// <presence from to [type='unavailable']>[<show/>][<status xml:lang/>...][<priority/>]
std::unique_ptr<Element> build_presence_stanza(const PresenceState& p, const Jid& from,
                                               const Jid& to,
                                               std::string_view ns = "jabber:server");

// The tables above, exposed for tests.
Show show_for_activity(Activity a);
std::optional<Activity> activity_for_show(Show s);
// 0 = most available (chat) .. 4 = least (xa).
int availability_rank(Show s);

}  // namespace fedgw::gateway
