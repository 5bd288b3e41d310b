// Presence notifications (RFC 7248 §5.2, §5.3; RFC 6121 §4.7; RFC 3863; RFC 4480), the
// aggregation rule for Kamailio's merged documents and the partner-type note policy.
//
// Provenance tags ([RFC text], [recalled], [ours]) as in translate_test_support.hpp. RFC 7248
// rows are [recalled]: its text could not be fetched with the tools available.
#include "gateway/translate/presence_map.hpp"

#include <gtest/gtest.h>

#include "tests/unit/translate/translate_test_support.hpp"

namespace fedgw::gateway {
namespace {

using test::stanza;
using test::xml;

PresenceState read(std::string_view s) {
    auto p = read_presence(*stanza(s));
    EXPECT_TRUE(p.has_value());
    return p.value_or(PresenceState{});
}

TEST(ReadPresence, AvailableWithShowStatusPriority) {
    const PresenceState p = read(
        "<presence from='juliet@example.com/balcony' xml:lang='en'><show>away</show>"
        "<status>Out to lunch</status><status xml:lang='fr'>Déjeuner</status>"
        "<priority>5</priority></presence>");
    EXPECT_TRUE(p.available);
    EXPECT_EQ(p.show, Show::Away);
    ASSERT_EQ(p.status.size(), 2u);
    EXPECT_EQ(p.status[0], (StatusText{"Out to lunch", "en"}));
    EXPECT_EQ(p.status[1], (StatusText{"Déjeuner", "fr"}));
    EXPECT_EQ(p.priority, 5);
}

// RFC 6121 §4.7.2.1 [RFC text] show values: "away -- The entity or resource is temporarily
// away.", "chat -- ... actively interested in chatting.", "dnd -- ... busy (dnd = "Do Not
// Disturb").", "xa -- ... away for an extended period (xa = "eXtended Away")." [ours] any other
// value is read as none. §4.7.2.3 [recalled wording] priority is an integer -128..127.
TEST(ReadPresence, OddValues) {
    EXPECT_EQ(read("<presence><show>sleepy</show></presence>").show, Show::None);
    EXPECT_FALSE(read("<presence><priority>128</priority></presence>").priority);
    EXPECT_EQ(read("<presence><priority>-128</priority></presence>").priority, -128);
    EXPECT_FALSE(read("<presence><priority>1x</priority></presence>").priority);
    const PresenceState u = read("<presence type='unavailable'><status>bye</status></presence>");
    EXPECT_FALSE(u.available);
    EXPECT_EQ(u.status.size(), 1u);
    auto sub = read_presence(*stanza("<presence type='subscribe'/>"));
    ASSERT_FALSE(sub);
    EXPECT_EQ(sub.error().condition, StanzaCondition::BadRequest);
}

PidfTarget target() {
    return PidfTarget{"sip:juliet@xmpp.test", "balcony", ""};
}

// RFC 7248 §5.2 [recalled]: available -> basic open, unavailable -> closed, <status/> ->
// <note/>, from -> entity, resource -> tuple id; <show/> -> RPID activity.
TEST(XmppToPidf, AvailableAway) {
    PresenceState p;
    p.available = true;
    p.show = Show::Away;
    p.status = {{"Out to lunch", "en"}};
    const PidfDocument d = pidf_for_presence(p, target());
    EXPECT_EQ(d.entity, "sip:juliet@xmpp.test");
    ASSERT_EQ(d.tuples.size(), 1u);
    EXPECT_EQ(d.tuples[0].id, "balcony");
    EXPECT_EQ(d.tuples[0].basic, BasicStatus::Open);
    EXPECT_EQ(d.tuples[0].notes, (std::vector<PidfNote>{{"Out to lunch", "en"}}));
    ASSERT_EQ(d.persons.size(), 1u);
    EXPECT_EQ(d.persons[0].activities, (std::vector<Activity>{Activity::Away}));
}

// RFC 7248 §5.2 [recalled]: away -> RPID away, xa -> away, dnd -> busy; chat and no show ->
// no activity. RFC 4480 defines no "extended away" activity, so xa shares away.
TEST(XmppToPidf, ShowTable) {
    EXPECT_EQ(activity_for_show(Show::Away), Activity::Away);
    EXPECT_EQ(activity_for_show(Show::ExtendedAway), Activity::Away);
    EXPECT_EQ(activity_for_show(Show::DoNotDisturb), Activity::Busy);
    EXPECT_FALSE(activity_for_show(Show::Chat));
    EXPECT_FALSE(activity_for_show(Show::None));
    PresenceState chat;
    chat.available = true;
    chat.show = Show::Chat;
    EXPECT_TRUE(pidf_for_presence(chat, target()).persons.empty());
}

TEST(XmppToPidf, Unavailable) {
    PresenceState p;
    p.show = Show::Away;  // ignored when unavailable
    const PidfDocument d = pidf_for_presence(p, target());
    EXPECT_EQ(d.tuples[0].basic, BasicStatus::Closed);
    EXPECT_TRUE(d.persons.empty());
}

// RFC 7248 §5.2 [recalled]: <priority/> -> <contact priority/>; qvalues are 0..1 (RFC 3261
// §25.1), so negative priorities become 0.
TEST(XmppToPidf, PriorityToContactQvalue) {
    PresenceState p;
    p.available = true;
    PidfTarget t = target();
    t.contact = "sip:juliet@xmpp.test;gr=balcony";
    for (auto [prio, q] : {std::pair{127, 1000}, {1, 8}, {0, 0}, {-5, 0}, {64, 504}}) {
        p.priority = prio;
        EXPECT_EQ(pidf_for_presence(p, t).tuples[0].contact_priority, q) << prio;
    }
    p.priority = 5;
    EXPECT_FALSE(pidf_for_presence(p, target()).tuples[0].contact_priority);  // no contact
}

TEST(XmppToPidf, WrittenDocumentParses) {
    PresenceState p;
    p.available = true;
    p.show = Show::DoNotDisturb;
    p.status = {{"In a meeting", ""}};
    auto d = parse_pidf(write_pidf(pidf_for_presence(p, target())));
    ASSERT_TRUE(d);
    EXPECT_EQ(presence_from_pidf(*d, NotePolicy::Show), p);
}

PidfDocument doc(std::string_view xml) {
    auto d = parse_pidf(xml);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().describe());
    return d.value_or(PidfDocument{});
}

// RFC 7248 §5.3 [recalled]: open -> available, closed -> unavailable, note -> status;
// busy -> dnd.
TEST(PidfToXmpp, Basic) {
    const PresenceState closed = presence_from_pidf(
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'><tuple id='1'>"
            "<status><basic>closed</basic></status><note>gone home</note></tuple></presence>"),
        NotePolicy::Show);
    EXPECT_FALSE(closed.available);
    EXPECT_EQ(closed.status, (std::vector<StatusText>{{"gone home", ""}}));

    const PresenceState busy = presence_from_pidf(
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' "
            "xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' "
            "xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' entity='sip:a@b'><tuple id='1'>"
            "<status><basic>open</basic></status></tuple><dm:person id='p'><rpid:activities>"
            "<rpid:busy/></rpid:activities></dm:person></presence>"),
        NotePolicy::Show);
    EXPECT_TRUE(busy.available);
    EXPECT_EQ(busy.show, Show::DoNotDisturb);
}

// RFC 7248 §5.3 [recalled]: busy -> dnd. The rest of the RFC 4480 activities [ours] (the
// table and its reasons are in presence_map.hpp): short absences -> away, occupied -> dnd,
// long absences -> xa, the rest -> no show.
TEST(PidfToXmpp, ActivityTable) {
    EXPECT_EQ(show_for_activity(Activity::Away), Show::Away);
    EXPECT_EQ(show_for_activity(Activity::Lunch), Show::Away);
    EXPECT_EQ(show_for_activity(Activity::Busy), Show::DoNotDisturb);
    EXPECT_EQ(show_for_activity(Activity::OnThePhone), Show::DoNotDisturb);
    EXPECT_EQ(show_for_activity(Activity::Meeting), Show::DoNotDisturb);
    EXPECT_EQ(show_for_activity(Activity::Vacation), Show::ExtendedAway);
    EXPECT_EQ(show_for_activity(Activity::Holiday), Show::ExtendedAway);
    EXPECT_EQ(show_for_activity(Activity::Sleeping), Show::ExtendedAway);
    EXPECT_EQ(show_for_activity(Activity::Working), Show::None);
    EXPECT_EQ(show_for_activity(Activity::Unknown), Show::None);
    EXPECT_EQ(show_for_activity(Activity::Other), Show::None);
}

// The aggregation rule (presence_map.hpp): any open tuple -> available; most available
// source wins; a person without activities is plain online.
TEST(PidfToXmpp, AggregationAnyOpenTuple) {
    const PresenceState p = presence_from_pidf(
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>"
            "<tuple id='1'><status><basic>closed</basic></status></tuple>"
            "<tuple id='2'><status><basic>open</basic></status></tuple>"
            "<tuple id='3'><status><basic>closed</basic></status></tuple></presence>"),
        NotePolicy::Show);
    EXPECT_TRUE(p.available);
    EXPECT_EQ(p.show, Show::None);
}

TEST(PidfToXmpp, AggregationMostAvailableActivity) {
    const std::string head =
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' "
        "xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' "
        "xmlns:r='urn:ietf:params:xml:ns:pidf:rpid' entity='sip:a@b'>"
        "<tuple id='1'><status><basic>open</basic></status></tuple>";
    auto person = [](std::string acts) {
        return "<dm:person id='p" + std::to_string(acts.size()) + "'><r:activities>" + acts +
               "</r:activities></dm:person>";
    };
    // Two devices: one on the phone (dnd), one away: away is more available.
    EXPECT_EQ(presence_from_pidf(
                  doc(head + person("<r:on-the-phone/>") + person("<r:away/>") + "</presence>"),
                  NotePolicy::Show)
                  .show,
              Show::Away);
    // dnd beats xa.
    EXPECT_EQ(presence_from_pidf(
                  doc(head + person("<r:vacation/>") + person("<r:busy/>") + "</presence>"),
                  NotePolicy::Show)
                  .show,
              Show::DoNotDisturb);
    // A person with no activity is online, and beats every activity.
    EXPECT_EQ(presence_from_pidf(doc(head + person("<r:busy/>") + "<dm:person id='q'/></presence>"),
                                 NotePolicy::Show)
                  .show,
              Show::None);
    // One person with several activities: the most available of them.
    EXPECT_EQ(presence_from_pidf(doc(head + person("<r:meeting/><r:lunch/>") + "</presence>"),
                                 NotePolicy::Show)
                  .show,
              Show::Away);
}

TEST(PidfToXmpp, ActivitiesOfClosedTuplesIgnored) {
    const PresenceState p = presence_from_pidf(
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' "
            "xmlns:r='urn:ietf:params:xml:ns:pidf:rpid' entity='sip:a@b'>"
            "<tuple id='1'><status><basic>closed</basic><r:activities><r:busy/></r:activities>"
            "</status></tuple>"
            "<tuple id='2'><status><basic>open</basic><r:activities><r:away/></r:activities>"
            "</status></tuple></presence>"),
        NotePolicy::Show);
    EXPECT_EQ(p.show, Show::Away);
}

TEST(PidfToXmpp, NotesOnePerLanguageOpenFirst) {
    const PresenceState p = presence_from_pidf(
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>"
            "<tuple id='1'><status><basic>closed</basic></status><note>old</note></tuple>"
            "<tuple id='2'><status><basic>open</basic></status><note>current</note>"
            "<note xml:lang='de'>aktuell</note></tuple><note>doc</note></presence>"),
        NotePolicy::Show);
    EXPECT_EQ(p.status, (std::vector<StatusText>{{"current", ""}, {"aktuell", "de"}}));
}

// DESIGN.md / Lync: federated partners see notes, public-verified and public-unverified do not.
TEST(PidfToXmpp, NotesWithheldByPartnerType) {
    const PidfDocument d =
        doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'><tuple id='1'>"
            "<status><basic>open</basic></status><note>secret plans</note></tuple></presence>");
    EXPECT_EQ(note_policy_for(registry::PartnerType::Federated), NotePolicy::Show);
    EXPECT_EQ(note_policy_for(registry::PartnerType::PublicVerified), NotePolicy::Withhold);
    EXPECT_EQ(note_policy_for(registry::PartnerType::PublicUnverified), NotePolicy::Withhold);
    EXPECT_TRUE(presence_from_pidf(d, NotePolicy::Withhold).status.empty());
    EXPECT_EQ(presence_from_pidf(d, NotePolicy::Show).status.size(), 1u);
}

TEST(PidfToXmpp, PriorityFromContact) {
    const PresenceState p =
        presence_from_pidf(doc("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>"
                               "<tuple id='1'><status><basic>open</basic></status>"
                               "<contact priority='0.5'>sip:a@h1</contact></tuple>"
                               "<tuple id='2'><status><basic>closed</basic></status>"
                               "<contact priority='1'>sip:a@h2</contact></tuple></presence>"),
                           NotePolicy::Show);
    EXPECT_EQ(p.priority, 64);  // 0.5 * 127, rounded; the closed tuple's 1.0 does not count
}

// Kamailio (tests/interop/kamailio/README.md): no publication -> NOTIFY with an empty body and
// no Content-Type: unavailable.
TEST(NotifyBody, EmptyMeansUnavailable) {
    auto p = presence_from_notify_body("", "", NotePolicy::Show);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->available);
}

// A NOTIFY body captured from Kamailio 5.6 (kamailio_sip.py presence, sipp PUBLISH of
// "lunch & coffee ☕ <back at 2>"), Content-Type application/pidf+xml, state active.
TEST(NotifyBody, CapturedFromKamailio) {
    constexpr std::string_view kBody =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:alice@sip.test\">\n"
        "  <tuple id=\"t1\">\n"
        "    <status>\n"
        "      <basic>open</basic>\n"
        "    </status>\n"
        "    <note>lunch &amp; coffee \u2615 &lt;back at 2&gt;</note>\n"
        "  </tuple>\n"
        "</presence>\n";
    auto p = presence_from_notify_body("application/pidf+xml", kBody, NotePolicy::Show);
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_TRUE(p->available);
    EXPECT_EQ(p->show, Show::None);
    EXPECT_EQ(p->status, (std::vector<StatusText>{{"lunch & coffee \u2615 <back at 2>", ""}}));
    auto hidden = presence_from_notify_body("application/pidf+xml", kBody, NotePolicy::Withhold);
    ASSERT_TRUE(hidden);
    EXPECT_TRUE(hidden->status.empty());
}

TEST(NotifyBody, ContentTypeChecked) {
    const std::string body =
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'><tuple id='1'>"
        "<status><basic>open</basic></status></tuple></presence>";
    auto ok =
        presence_from_notify_body("application/pidf+xml;charset=UTF-8", body, NotePolicy::Show);
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->available);
    auto wrong = presence_from_notify_body("application/xpidf+xml", body, NotePolicy::Show);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().error, PidfError::NotPidf);
    auto broken = presence_from_notify_body("application/pidf+xml", "<presence", NotePolicy::Show);
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().error, PidfError::NotWellFormed);
}

TEST(BuildPresence, Stanzas) {
    const Jid from = *Jid::parse("alice@sip.test");
    const Jid to = *Jid::parse("juliet@xmpp.test");
    PresenceState p;
    p.available = true;
    p.show = Show::DoNotDisturb;
    p.status = {{"On the phone", "en"}};
    p.priority = 1;
    EXPECT_EQ(xml(*build_presence_stanza(p, from, to)),
              "<presence from='alice@sip.test' to='juliet@xmpp.test'><show>dnd</show>"
              "<status xml:lang='en'>On the phone</status><priority>1</priority></presence>");
    EXPECT_EQ(xml(*build_presence_stanza(PresenceState{}, from, to)),
              "<presence from='alice@sip.test' to='juliet@xmpp.test' type='unavailable'/>");
}

TEST(Show, Names) {
    EXPECT_EQ(show_from_name("xa"), Show::ExtendedAway);
    EXPECT_EQ(wire_name(Show::DoNotDisturb), "dnd");
    EXPECT_EQ(wire_name(Show::None), "");
    EXPECT_LT(availability_rank(Show::Chat), availability_rank(Show::None));
    EXPECT_LT(availability_rank(Show::None), availability_rank(Show::Away));
    EXPECT_LT(availability_rank(Show::Away), availability_rank(Show::DoNotDisturb));
    EXPECT_LT(availability_rank(Show::DoNotDisturb), availability_rank(Show::ExtendedAway));
}

}  // namespace
}  // namespace fedgw::gateway
