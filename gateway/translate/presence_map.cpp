// XMPP presence <-> PIDF/RPID (RFC 7248 §5, RFC 6121 §4.7, RFC 3863, RFC 4480).
//
// Pure.
#include "gateway/translate/presence_map.hpp"

#include <algorithm>
#include <charconv>

#include "gateway/translate/media_type.hpp"

namespace fedgw::gateway {
namespace {

void add_status(std::vector<StatusText>& out, const PidfNote& n) {
    if (n.text.empty()) return;
    for (const StatusText& s : out)
        if (s.lang == n.lang) return;  // one per language
    out.push_back(StatusText{n.text, n.lang});
}

std::optional<int> parse_priority(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t'))
        s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < -128 || v > 127) return std::nullopt;
    return v;
}

}  // namespace

std::string_view wire_name(Show s) {
    switch (s) {
        case Show::None:
            return "";
        case Show::Chat:
            return "chat";
        case Show::Away:
            return "away";
        case Show::ExtendedAway:
            return "xa";
        case Show::DoNotDisturb:
            return "dnd";
    }
    return "";
}

std::optional<Show> show_from_name(std::string_view name) {
    if (name == "chat") return Show::Chat;
    if (name == "away") return Show::Away;
    if (name == "xa") return Show::ExtendedAway;
    if (name == "dnd") return Show::DoNotDisturb;
    return std::nullopt;
}

int availability_rank(Show s) {
    switch (s) {
        case Show::Chat:
            return 0;
        case Show::None:
            return 1;
        case Show::Away:
            return 2;
        case Show::DoNotDisturb:
            return 3;
        case Show::ExtendedAway:
            return 4;
    }
    return 1;
}

Show show_for_activity(Activity a) {
    switch (a) {
        case Activity::Away:
        case Activity::Appointment:
        case Activity::Breakfast:
        case Activity::Dinner:
        case Activity::Lunch:
        case Activity::Meal:
        case Activity::Shopping:
        case Activity::InTransit:
        case Activity::Travel:
        case Activity::Steering:
        case Activity::Playing:
        case Activity::Tv:
            return Show::Away;
        case Activity::Busy:
        case Activity::OnThePhone:
        case Activity::Meeting:
        case Activity::Performance:
        case Activity::Presentation:
        case Activity::Worship:
        case Activity::Spectator:
            return Show::DoNotDisturb;
        case Activity::Vacation:
        case Activity::Holiday:
        case Activity::Sleeping:
        case Activity::PermanentAbsence:
            return Show::ExtendedAway;
        case Activity::Working:
        case Activity::LookingForWork:
        case Activity::Unknown:
        case Activity::Other:
            return Show::None;
    }
    return Show::None;
}

std::optional<Activity> activity_for_show(Show s) {
    switch (s) {
        case Show::Away:
        case Show::ExtendedAway:
            return Activity::Away;
        case Show::DoNotDisturb:
            return Activity::Busy;
        case Show::Chat:
        case Show::None:
            return std::nullopt;
    }
    return std::nullopt;
}

Result<PresenceState, StanzaError> read_presence(const Element& presence) {
    PresenceState p;
    const std::string_view type = presence.attr_or("type", "");
    if (type.empty()) {
        p.available = true;
    } else if (type != "unavailable") {
        return Unexpected(
            StanzaError::of(StanzaCondition::BadRequest,
                            "presence type '" + std::string(type) + "' is not a notification"));
    }
    const std::string_view ns = presence.ns();
    if (p.available)
        if (auto show = presence.child_text("show"))
            p.show = show_from_name(*show).value_or(Show::None);
    const std::string default_lang(presence.attr_or("xml:lang", ""));
    for (const Element* s : presence.children("status", ns))
        add_status(p.status,
                   PidfNote{s->text(), std::string(s->attr_or("xml:lang", default_lang))});
    if (auto prio = presence.child_text("priority")) p.priority = parse_priority(*prio);
    return p;
}

PidfDocument pidf_for_presence(const PresenceState& p, const PidfTarget& target) {
    PidfDocument doc;
    doc.entity = target.entity;
    PidfTuple t;
    t.id = target.tuple_id.empty() ? "t1" : tuple_id_for(target.tuple_id);
    t.basic = p.available ? BasicStatus::Open : BasicStatus::Closed;
    t.contact = target.contact;
    if (!t.contact.empty() && p.priority)
        t.contact_priority = *p.priority <= 0 ? 0 : (*p.priority * 1000 + 63) / 127;
    for (const StatusText& s : p.status)
        t.notes.push_back(PidfNote{s.text, s.lang});
    doc.tuples.push_back(std::move(t));
    if (p.available) {
        if (auto a = activity_for_show(p.show)) {
            PidfPerson person;
            person.id = "p1";
            person.activities.push_back(*a);
            person.has_activities = true;
            doc.persons.push_back(std::move(person));
        }
    }
    return doc;
}

PresenceState presence_from_pidf(const PidfDocument& doc, NotePolicy notes) {
    PresenceState p;
    p.available = std::any_of(doc.tuples.begin(), doc.tuples.end(),
                              [](const PidfTuple& t) { return t.basic == BasicStatus::Open; });
    if (p.available) {
        int best = -1;
        auto consider = [&best](const std::vector<Activity>& acts) {
            int rank = availability_rank(Show::None);
            if (!acts.empty()) {
                rank = availability_rank(Show::ExtendedAway) + 1;
                for (Activity a : acts)
                    rank = std::min(rank, availability_rank(show_for_activity(a)));
            }
            best = best < 0 ? rank : std::min(best, rank);
        };
        for (const PidfPerson& person : doc.persons)
            consider(person.activities);
        for (const PidfTuple& t : doc.tuples)
            if (t.basic == BasicStatus::Open && !t.activities.empty()) consider(t.activities);
        if (best < 0) best = availability_rank(Show::None);
        for (Show s : {Show::Chat, Show::None, Show::Away, Show::DoNotDisturb, Show::ExtendedAway})
            if (availability_rank(s) == best) p.show = s;

        std::optional<int> prio;
        for (const PidfTuple& t : doc.tuples)
            if (t.basic == BasicStatus::Open && t.contact_priority)
                prio = std::max(prio.value_or(0), *t.contact_priority);
        if (prio) p.priority = (*prio * 127 + 500) / 1000;
    }
    if (notes == NotePolicy::Show) {
        for (bool open_pass : {true, false})
            for (const PidfTuple& t : doc.tuples)
                if ((t.basic == BasicStatus::Open) == open_pass)
                    for (const PidfNote& n : t.notes)
                        add_status(p.status, n);
        for (const PidfPerson& person : doc.persons)
            for (const PidfNote& n : person.notes)
                add_status(p.status, n);
        for (const PidfNote& n : doc.notes)
            add_status(p.status, n);
    }
    return p;
}

Result<PresenceState, PidfFailure> presence_from_notify_body(std::string_view content_type,
                                                             std::string_view body,
                                                             NotePolicy notes,
                                                             const PidfLimits& limits) {
    if (body.empty()) return PresenceState{};  // no publication: unavailable
    const auto mt = parse_media_type(content_type);
    if (!mt || !mt->is("application", "pidf+xml"))
        return Unexpected(
            PidfFailure{PidfError::NotPidf, "Content-Type '" + std::string(content_type) + "'"});
    auto doc = parse_pidf(body, limits);
    if (!doc) return Unexpected(std::move(doc).error());
    return presence_from_pidf(*doc, notes);
}

std::unique_ptr<Element> build_presence_stanza(const PresenceState& p, const Jid& from,
                                               const Jid& to, std::string_view ns) {
    auto e = Element::make("presence", std::string(ns));
    e->set_attr("from", from.to_string());
    e->set_attr("to", to.to_string());
    if (!p.available) e->set_attr("type", "unavailable");
    if (p.available && p.show != Show::None) e->add_child("show").add_text(wire_name(p.show));
    for (const StatusText& s : p.status) {
        Element& st = e->add_child("status");
        if (!s.lang.empty()) st.set_attr("xml:lang", s.lang);
        st.add_text(s.text);
    }
    if (p.available && p.priority) e->add_child("priority").add_text(std::to_string(*p.priority));
    return e;
}

}  // namespace fedgw::gateway
