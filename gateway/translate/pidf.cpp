// PIDF/RPID parser and writer (RFC 3863 §4, RFC 4480 §3.2, RFC 4479 §3.1).
//
// Pure.
#include "gateway/translate/pidf.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "common/xml/serializer.hpp"
#include "common/xml/stream_parser.hpp"

namespace fedgw::gateway {
namespace {

constexpr std::array<std::pair<Activity, std::string_view>, 27> kActivities{{
    {Activity::Appointment, "appointment"},
    {Activity::Away, "away"},
    {Activity::Breakfast, "breakfast"},
    {Activity::Busy, "busy"},
    {Activity::Dinner, "dinner"},
    {Activity::Holiday, "holiday"},
    {Activity::InTransit, "in-transit"},
    {Activity::LookingForWork, "looking-for-work"},
    {Activity::Lunch, "lunch"},
    {Activity::Meal, "meal"},
    {Activity::Meeting, "meeting"},
    {Activity::OnThePhone, "on-the-phone"},
    {Activity::Performance, "performance"},
    {Activity::PermanentAbsence, "permanent-absence"},
    {Activity::Playing, "playing"},
    {Activity::Presentation, "presentation"},
    {Activity::Shopping, "shopping"},
    {Activity::Sleeping, "sleeping"},
    {Activity::Spectator, "spectator"},
    {Activity::Steering, "steering"},
    {Activity::Travel, "travel"},
    {Activity::Tv, "tv"},
    {Activity::Unknown, "unknown"},
    {Activity::Vacation, "vacation"},
    {Activity::Working, "working"},
    {Activity::Worship, "worship"},
    {Activity::Other, "other"},
}};

Unexpected<PidfFailure> fail(PidfError e, std::string detail = {}) {
    return Unexpected(PidfFailure{e, std::move(detail)});
}

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool must_understand(const Element& e) {
    for (const Attribute& a : e.attributes()) {
        const bool named = a.name == "mustUnderstand" || (a.ns == kNsPidf && a.name.size() > 15 &&
                                                          a.name.ends_with(":mustUnderstand"));
        if (named && (a.value == "true" || a.value == "1")) return true;
    }
    return false;
}

// "0.8" -> 800; nullopt unless a qvalue (RFC 3261 §25.1: 0[.ddd] or 1[.000]).
std::optional<int> parse_qvalue(std::string_view s) {
    s = trim(s);
    if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
    int whole = s[0] - '0';
    int milli = 0;
    if (s.size() > 1) {
        if (s[1] != '.' || s.size() > 5) return std::nullopt;
        int scale = 100;
        for (std::size_t i = 2; i < s.size(); ++i, scale /= 10) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            milli += (s[i] - '0') * scale;
        }
    }
    const int v = whole * 1000 + milli;
    return v > 1000 ? std::nullopt : std::optional<int>(v);
}

std::string format_qvalue(int milli) {
    if (milli <= 0) return "0";
    if (milli >= 1000) return "1";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0.%03d", milli);
    std::string s(buf);
    while (s.back() == '0')
        s.pop_back();
    return s;
}

struct Reader {
    const PidfLimits& limits;
    std::size_t notes = 0;

    void note(const Element& e, std::vector<PidfNote>& out) {
        if (notes >= limits.max_notes) return;
        ++notes;
        out.push_back(
            PidfNote{std::string(trim(e.text())), std::string(e.attr_or("xml:lang", ""))});
    }

    // RPID <activities/> (and the older rpid-status form) found anywhere under `e`.
    bool activities(const Element& e, std::vector<Activity>& out) {
        bool found = false;
        for (const Element* c : e.child_elements()) {
            if (c->is("activities", kNsRpid)) {
                found = true;
                for (const Element* a : c->child_elements()) {
                    if (a->ns() != kNsRpid || a->name() == "note") continue;
                    if (out.size() >= limits.max_activities) break;
                    out.push_back(activity_from_name(a->name()).value_or(Activity::Other));
                }
            } else if (c->is("activities", kNsRpidStatus)) {  // COMPAT: pre-RFC 4480 form
                found = true;
                for (const Element* a : c->children("activity", kNsRpidStatus)) {
                    if (out.size() >= limits.max_activities) break;
                    out.push_back(activity_from_name(trim(a->text())).value_or(Activity::Other));
                }
            }
        }
        return found;
    }

    Result<PidfTuple, PidfFailure> tuple(const Element& e) {
        PidfTuple t;
        t.id = std::string(e.attr_or("id", ""));
        for (const Element* c : e.child_elements()) {
            if (c->is("status", kNsPidf)) {
                if (const Element* b = c->find_child("basic", kNsPidf)) {
                    const std::string_view v = trim(b->text());
                    t.basic = v == "open"     ? BasicStatus::Open
                              : v == "closed" ? BasicStatus::Closed
                                              : BasicStatus::Unknown;
                }
                activities(*c, t.activities);
                for (const Element* x : c->child_elements())
                    if (x->ns() != kNsPidf && must_understand(*x))
                        return fail(PidfError::MustUnderstand, "<" + x->name() + "/> in a status");
            } else if (c->is("contact", kNsPidf)) {
                t.contact = std::string(trim(c->text()));
                if (auto p = c->attr("priority")) t.contact_priority = parse_qvalue(*p);
            } else if (c->is("note", kNsPidf)) {
                note(*c, t.notes);
            } else if (c->ns() != kNsPidf && c->ns() != kNsRpid && must_understand(*c)) {
                return fail(PidfError::MustUnderstand, "<" + c->name() + "/> in a tuple");
            }
        }
        activities(e, t.activities);
        return t;
    }

    PidfPerson person(const Element& e) {
        PidfPerson p;
        p.id = std::string(e.attr_or("id", ""));
        p.has_activities = activities(e, p.activities);
        for (const Element* n : e.children("note", kNsDataModel))
            note(*n, p.notes);
        return p;
    }
};

PidfFailure from_stream_error(const StreamError& e) {
    switch (e.condition) {
        case StreamCondition::RestrictedXml:
            return {PidfError::RestrictedXml, e.text};
        case StreamCondition::PolicyViolation:
            return {PidfError::TooLarge, e.text};
        default:
            return {PidfError::NotWellFormed, e.text};
    }
}

bool is_id_char(char c, bool first) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (first) return alpha;
    return alpha || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

}  // namespace

std::string_view wire_name(Activity a) {
    for (const auto& [act, name] : kActivities)
        if (act == a) return name;
    return "other";
}

std::optional<Activity> activity_from_name(std::string_view name) {
    for (const auto& [act, n] : kActivities)
        if (n == name) return act;
    return std::nullopt;
}

std::string_view describe(PidfError e) {
    switch (e) {
        case PidfError::Empty:
            return "empty PIDF document";
        case PidfError::NotWellFormed:
            return "PIDF document is not well-formed XML";
        case PidfError::RestrictedXml:
            return "PIDF document uses restricted XML";
        case PidfError::TooLarge:
            return "PIDF document exceeds a limit";
        case PidfError::NotPidf:
            return "not a PIDF document";
        case PidfError::MissingEntity:
            return "PIDF <presence/> has no entity";
        case PidfError::MustUnderstand:
            return "PIDF element marked mustUnderstand is not known";
    }
    return "bad PIDF document";
}

std::string PidfFailure::describe() const {
    std::string s(gateway::describe(error));
    if (!detail.empty()) s += ": " + detail;
    return s;
}

std::string tuple_id_for(std::string_view candidate) {
    bool ok = !candidate.empty() && candidate.size() <= 64;
    for (std::size_t i = 0; ok && i < candidate.size(); ++i)
        ok = is_id_char(candidate[i], i == 0);
    if (ok) return std::string(candidate);
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
    for (char c : candidate) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    char buf[20];
    std::snprintf(buf, sizeof buf, "t%016llx", static_cast<unsigned long long>(h));
    return buf;
}

Result<PidfDocument, PidfFailure> parse_pidf(std::string_view xml, const PidfLimits& limits) {
    if (trim(xml).empty()) return fail(PidfError::Empty);
    if (xml.size() > limits.max_bytes)
        return fail(PidfError::TooLarge, "over " + std::to_string(limits.max_bytes) + " bytes");
    Limits xl;
    xl.max_stanza_bytes = limits.max_bytes;
    xl.max_token_bytes = limits.max_bytes;
    xl.max_depth = 16;
    xl.max_attributes = 32;
    xl.max_elements = 4096;
    xl.max_text_bytes = limits.max_bytes;
    XmlStreamParser parser(xl);
    auto fed = parser.feed(xml);
    if (!fed) return Unexpected(from_stream_error(fed.error()));
    if (!fed->stopped) return fail(PidfError::NotWellFormed, "the document ends before its root");
    if (!trim(xml.substr(fed->consumed)).empty())
        return fail(PidfError::NotWellFormed, "content after the root element");

    PidfDocument doc;
    Reader reader{limits};
    bool root_seen = false;
    while (auto ev = parser.next_event()) {
        if (auto* open = std::get_if<StreamOpen>(&*ev)) {
            if (!open->header.is("presence", kNsPidf))
                return fail(PidfError::NotPidf,
                            "root <" + open->header.name() + "/> in '" + open->header.ns() + "'");
            auto entity = open->header.attr("entity");
            if (!entity || trim(*entity).empty()) return fail(PidfError::MissingEntity);
            doc.entity = std::string(trim(*entity));
            root_seen = true;
        } else if (auto* st = std::get_if<Stanza>(&*ev)) {
            const Element& e = *st->element;
            if (e.is("tuple", kNsPidf)) {
                if (doc.tuples.size() >= limits.max_tuples)
                    return fail(PidfError::TooLarge,
                                "more than " + std::to_string(limits.max_tuples) + " tuples");
                auto t = reader.tuple(e);
                if (!t) return Unexpected(std::move(t).error());
                doc.tuples.push_back(std::move(*t));
            } else if (e.is("person", kNsDataModel)) {
                if (doc.persons.size() >= limits.max_persons)
                    return fail(PidfError::TooLarge,
                                "more than " + std::to_string(limits.max_persons) + " persons");
                doc.persons.push_back(reader.person(e));
            } else if (e.is("note", kNsPidf)) {
                reader.note(e, doc.notes);
            } else if (e.ns() != kNsPidf && e.ns() != kNsDataModel && must_understand(e)) {
                return fail(PidfError::MustUnderstand, "<" + e.name() + "/>");
            }
        }
    }
    if (!root_seen) return fail(PidfError::NotWellFormed, "no root element");
    return doc;
}

std::string write_pidf(const PidfDocument& doc) {
    Element root("presence", std::string(kNsPidf));
    root.set_attr("entity", doc.entity);
    auto add_notes = [](Element& parent, const std::vector<PidfNote>& notes, std::string_view ns) {
        for (const PidfNote& n : notes) {
            Element& e = parent.add_child("note", std::string(ns));
            if (ns == kNsDataModel) e.set_prefix("dm");
            if (!n.lang.empty()) e.set_attr("xml:lang", n.lang);
            e.add_text(n.text);
        }
    };
    auto add_activities = [](Element& parent, const std::vector<Activity>& acts) {
        Element& list = parent.add_child("activities", std::string(kNsRpid));
        list.set_prefix("rpid");
        for (Activity a : acts)
            list.add_child(std::string(wire_name(a)), std::string(kNsRpid)).set_prefix("rpid");
    };
    std::size_t n = 0;
    for (const PidfTuple& t : doc.tuples) {
        Element& tuple = root.add_child("tuple");
        tuple.set_attr("id", t.id.empty() ? "t" + std::to_string(++n) : tuple_id_for(t.id));
        Element& status = tuple.add_child("status");
        if (t.basic != BasicStatus::Unknown)
            status.add_child("basic").add_text(t.basic == BasicStatus::Open ? "open" : "closed");
        if (!t.activities.empty()) add_activities(tuple, t.activities);
        if (!t.contact.empty()) {
            Element& c = tuple.add_child("contact");
            if (t.contact_priority) c.set_attr("priority", format_qvalue(*t.contact_priority));
            c.add_text(t.contact);
        }
        add_notes(tuple, t.notes, kNsPidf);
    }
    n = 0;
    for (const PidfPerson& p : doc.persons) {
        Element& person = root.add_child("person", std::string(kNsDataModel));
        person.set_prefix("dm");
        person.set_attr("id", p.id.empty() ? "p" + std::to_string(++n) : tuple_id_for(p.id));
        if (p.has_activities || !p.activities.empty()) add_activities(person, p.activities);
        add_notes(person, p.notes, kNsDataModel);
    }
    add_notes(root, doc.notes, kNsPidf);
    std::string out = "<?xml version='1.0' encoding='UTF-8'?>";
    append_serialized(out, root, NsScope{});
    return out;
}

}  // namespace fedgw::gateway
