// PIDF documents (RFC 3863) with the RPID activities extension (RFC 4480 §3.2) and the data
// model's <person/> (RFC 4479 §3.1, namespace urn:ietf:params:xml:ns:pidf:data-model): a
// model, a writer and a parser.
//
// Pure: bytes in, a value out, and back.
//
// Parser: on XmlStreamParser (expat), so the hardening is the XML stream's: no DOCTYPE, no
// entity declarations or references beyond the predefined five, no comments or processing
// instructions (restricted XML; the XML declaration is allowed), UTF-8 only, bounded size,
// depth, attributes and element count. Names are matched by namespace URI, never by prefix,
// so Kamailio's libxml2 re-serialisation (pretty-printed, namespaces repeated on tuples, any
// prefixes) reads the same as a compact document. Unknown elements are ignored (PIDF is
// extensible, RFC 3863 §4) unless marked with PIDF's mustUnderstand='true', which refuses
// the document. Read:
//   presence@entity (required, RFC 3863 §4.1);
//   tuple@id, tuple/status/basic (open|closed; anything else is "unknown"),
//   tuple/contact (+ priority qvalue), tuple/note (xml:lang), RPID activities inside the tuple
//   or its status (older clients put them there);
//   dm:person@id with rpid:activities and dm:note;
//   presence/note (xml:lang).
// COMPAT: the pre-RFC rpid-status form <es:activities><es:activity>away</es:activity>
// (urn:ietf:params:xml:ns:pidf:status:rpid-status, still written by older SIP phones) is read
// as RPID activities too.
//
// Writer: <?xml version='1.0' encoding='UTF-8'?> then the document, every text and attribute
// escaped by the common serializer; the entity is always written (Kamailio PR #460: some UAs
// refuse a PIDF without it).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"

namespace fedgw::gateway {

inline constexpr std::string_view kNsPidf = "urn:ietf:params:xml:ns:pidf";
inline constexpr std::string_view kNsRpid = "urn:ietf:params:xml:ns:pidf:rpid";
inline constexpr std::string_view kNsDataModel = "urn:ietf:params:xml:ns:pidf:data-model";
inline constexpr std::string_view kNsRpidStatus = "urn:ietf:params:xml:ns:pidf:status:rpid-status";
inline constexpr std::string_view kPidfMediaType = "application/pidf+xml";

// RFC 4480 §3.2 activities (the element names of <rpid:activities/>'s children).
enum class Activity {
    Appointment,
    Away,
    Breakfast,
    Busy,
    Dinner,
    Holiday,
    InTransit,
    LookingForWork,
    Lunch,
    Meal,
    Meeting,
    OnThePhone,
    Performance,
    PermanentAbsence,
    Playing,
    Presentation,
    Shopping,
    Sleeping,
    Spectator,
    Steering,
    Travel,
    Tv,
    Unknown,
    Vacation,
    Working,
    Worship,
    Other,  // <rpid:other>text</rpid:other> or an activity this list does not know
};
std::string_view wire_name(Activity a);
// nullopt for a name that is not an RFC 4480 activity.
std::optional<Activity> activity_from_name(std::string_view name);

struct PidfNote {
    std::string text;
    std::string lang;  // xml:lang, or ""
    bool operator==(const PidfNote&) const = default;
};

enum class BasicStatus { Open, Closed, Unknown };

struct PidfTuple {
    std::string id;
    BasicStatus basic = BasicStatus::Unknown;
    std::string contact;                  // URI, or ""
    std::optional<int> contact_priority;  // qvalue in thousandths (0..1000)
    std::vector<PidfNote> notes;
    std::vector<Activity> activities;  // RPID found inside the tuple
    bool operator==(const PidfTuple&) const = default;
};

struct PidfPerson {
    std::string id;
    std::vector<Activity> activities;
    bool has_activities = false;  // an <rpid:activities/> element was present (even empty)
    std::vector<PidfNote> notes;
    bool operator==(const PidfPerson&) const = default;
};

struct PidfDocument {
    std::string entity;  // "sip:alice@sip.test" / "pres:..."
    std::vector<PidfTuple> tuples;
    std::vector<PidfPerson> persons;
    std::vector<PidfNote> notes;  // <note/> children of <presence/>
    bool operator==(const PidfDocument&) const = default;
};

struct PidfLimits {
    std::size_t max_bytes = 64 * 1024;  // the whole document
    std::size_t max_tuples = 64;        // Kamailio aggregates one tuple per publication
    std::size_t max_persons = 64;
    std::size_t max_notes = 32;       // notes kept, over the document
    std::size_t max_activities = 16;  // per tuple or person
};

enum class PidfError {
    Empty,           // no document at all
    NotWellFormed,   // not XML, or text/bytes after the root element, or truncated
    RestrictedXml,   // DOCTYPE, entities, comments, processing instructions
    TooLarge,        // over a PidfLimits bound
    NotPidf,         // the root is not urn:ietf:params:xml:ns:pidf <presence/>
    MissingEntity,   // <presence/> without an entity attribute
    MustUnderstand,  // an unknown element marked mustUnderstand
};
std::string_view describe(PidfError e);

struct PidfFailure {
    PidfError error = PidfError::NotWellFormed;
    std::string detail;
    std::string describe() const;
};

Result<PidfDocument, PidfFailure> parse_pidf(std::string_view xml, const PidfLimits& limits = {});

// The document as application/pidf+xml. Tuples without an id get "t<n>", persons "p<n>".
std::string write_pidf(const PidfDocument& doc);

// A value usable as a tuple or person id (an XML NCName restricted to ASCII letters, digits,
// '-', '_' and '.'): `candidate` itself when it is one, else "t" + 16 hex digits of a hash of it
// (stable, so the same XMPP resource keeps its tuple id).
std::string tuple_id_for(std::string_view candidate);

}  // namespace fedgw::gateway
