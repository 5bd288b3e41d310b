// PIDF (RFC 3863 §4, its example documents), RPID activities (RFC 4480 §3.2), data-model
// persons (RFC 4479), and Kamailio's aggregated NOTIFY bodies (tests/interop/kamailio/README.md).
#include "gateway/translate/pidf.hpp"

#include <gtest/gtest.h>

namespace fedgw::gateway {
namespace {

// RFC 3863's basic example document.
constexpr std::string_view kRfc3863Basic =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\n"
    "    entity=\"pres:someone@example.com\">\n"
    "  <tuple id=\"sg89ae\">\n"
    "    <status>\n"
    "      <basic>open</basic>\n"
    "    </status>\n"
    "    <contact priority=\"0.8\">tel:+09012345678</contact>\n"
    "  </tuple>\n"
    "</presence>\n";

// Modelled on RFC 3863's extended example: a prefix on every element, an extension namespace,
// two tuples, presence-level notes in two languages.
constexpr std::string_view kRfc3863Extended =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<impp:presence xmlns:impp=\"urn:ietf:params:xml:ns:pidf\"\n"
    "    xmlns:myex=\"http://id.example.com/presence/\"\n"
    "    entity=\"pres:someone@example.com\">\n"
    "  <impp:tuple id=\"ck38g9\">\n"
    "    <impp:status><impp:basic>open</impp:basic></impp:status>\n"
    "    <myex:location>Home</myex:location>\n"
    "    <impp:contact priority=\"0.65\">tel:+09012345678</impp:contact>\n"
    "    <impp:timestamp>2003-08-27T11:49:29Z</impp:timestamp>\n"
    "  </impp:tuple>\n"
    "  <impp:tuple id=\"md6tu\">\n"
    "    <impp:status><impp:basic>closed</impp:basic></impp:status>\n"
    "    <myex:location>Office</myex:location>\n"
    "    <impp:contact priority=\"1.0\">im:someone@mobilecarrier.net</impp:contact>\n"
    "  </impp:tuple>\n"
    "  <impp:note xml:lang=\"en\">Don't Disturb Please!</impp:note>\n"
    "  <impp:note xml:lang=\"fr\">Ne derangez pas, s'il vous plait</impp:note>\n"
    "</impp:presence>\n";

// What Kamailio's presence_xml sends for two publications of one user: libxml2 output,
// pretty-printed, the default namespace repeated on each tuple, escaped text, UTF-8 kept.
constexpr std::string_view kKamailioAggregated =
    "<?xml version=\"1.0\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:alice@sip.test\">\n"
    "  <tuple xmlns=\"urn:ietf:params:xml:ns:pidf\" id=\"a1\">\n"
    "    <status>\n"
    "      <basic>closed</basic>\n"
    "    </status>\n"
    "    <note>Gone &amp; back &lt;soon&gt; — café</note>\n"
    "  </tuple>\n"
    "  <tuple xmlns=\"urn:ietf:params:xml:ns:pidf\" id=\"a2\">\n"
    "    <status>\n"
    "      <basic>open</basic>\n"
    "    </status>\n"
    "  </tuple>\n"
    "  <dm:person id=\"p7\">\n"
    "    <rpid:activities>\n"
    "      <rpid:on-the-phone/>\n"
    "    </rpid:activities>\n"
    "    <dm:note>On the phone</dm:note>\n"
    "  </dm:person>\n"
    "</presence>\n";

TEST(PidfParse, Rfc3863BasicExample) {
    auto d = parse_pidf(kRfc3863Basic);
    ASSERT_TRUE(d) << d.error().describe();
    EXPECT_EQ(d->entity, "pres:someone@example.com");
    ASSERT_EQ(d->tuples.size(), 1u);
    EXPECT_EQ(d->tuples[0].id, "sg89ae");
    EXPECT_EQ(d->tuples[0].basic, BasicStatus::Open);
    EXPECT_EQ(d->tuples[0].contact, "tel:+09012345678");
    EXPECT_EQ(d->tuples[0].contact_priority, 800);
}

// RFC 3863 §4: elements are matched by namespace, not prefix; unknown extensions ignored.
TEST(PidfParse, Rfc3863ExtendedExample) {
    auto d = parse_pidf(kRfc3863Extended);
    ASSERT_TRUE(d) << d.error().describe();
    ASSERT_EQ(d->tuples.size(), 2u);
    EXPECT_EQ(d->tuples[0].basic, BasicStatus::Open);
    EXPECT_EQ(d->tuples[0].contact_priority, 650);
    EXPECT_EQ(d->tuples[1].basic, BasicStatus::Closed);
    EXPECT_EQ(d->tuples[1].contact_priority, 1000);
    ASSERT_EQ(d->notes.size(), 2u);
    EXPECT_EQ(d->notes[0], (PidfNote{"Don't Disturb Please!", "en"}));
    EXPECT_EQ(d->notes[1].lang, "fr");
}

TEST(PidfParse, KamailioAggregatedDocument) {
    auto d = parse_pidf(kKamailioAggregated);
    ASSERT_TRUE(d) << d.error().describe();
    EXPECT_EQ(d->entity, "sip:alice@sip.test");
    ASSERT_EQ(d->tuples.size(), 2u);
    EXPECT_EQ(d->tuples[0].basic, BasicStatus::Closed);
    ASSERT_EQ(d->tuples[0].notes.size(), 1u);
    EXPECT_EQ(d->tuples[0].notes[0].text, "Gone & back <soon> — café");
    EXPECT_EQ(d->tuples[1].basic, BasicStatus::Open);
    ASSERT_EQ(d->persons.size(), 1u);
    EXPECT_EQ(d->persons[0].id, "p7");
    ASSERT_EQ(d->persons[0].activities.size(), 1u);
    EXPECT_EQ(d->persons[0].activities[0], Activity::OnThePhone);
    EXPECT_EQ(d->persons[0].notes[0].text, "On the phone");
}

// RFC 4480 §3.2: activities anywhere in a tuple (older clients put them in <status/>), the
// pre-RFC rpid-status form, unknown activity names as Other.
TEST(PidfParse, ActivitiesInTuples) {
    auto d = parse_pidf(
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:r='urn:ietf:params:xml:ns:pidf:rpid' "
        "xmlns:es='urn:ietf:params:xml:ns:pidf:status:rpid-status' entity='sip:a@b'>"
        "<tuple id='x'><status><basic>open</basic><r:activities><r:away/><r:dancing/>"
        "</r:activities></status></tuple>"
        "<tuple id='y'><status><basic>open</basic><es:activities><es:activity>busy</es:activity>"
        "</es:activities></status></tuple></presence>");
    ASSERT_TRUE(d) << d.error().describe();
    EXPECT_EQ(d->tuples[0].activities, (std::vector<Activity>{Activity::Away, Activity::Other}));
    EXPECT_EQ(d->tuples[1].activities, (std::vector<Activity>{Activity::Busy}));
}

TEST(PidfParse, BasicValues) {
    auto d = parse_pidf(
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>"
        "<tuple id='1'><status><basic> open\n</basic></status></tuple>"
        "<tuple id='2'><status><basic>OPEN</basic></status></tuple>"
        "<tuple id='3'><status/></tuple></presence>");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->tuples[0].basic, BasicStatus::Open);
    EXPECT_EQ(d->tuples[1].basic, BasicStatus::Unknown);
    EXPECT_EQ(d->tuples[2].basic, BasicStatus::Unknown);
}

TEST(PidfParse, MustUnderstandRefuses) {
    auto d = parse_pidf(
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:x='urn:example:x' entity='sip:a@b'>"
        "<tuple id='1'><status><basic>open</basic></status>"
        "<x:thing mustUnderstand='true'/></tuple></presence>");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().error, PidfError::MustUnderstand);
    auto ok = parse_pidf(
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:x='urn:example:x' entity='sip:a@b'>"
        "<x:thing mustUnderstand='false'/></presence>");
    EXPECT_TRUE(ok);
}

// RFC 6120 §11.1-style restrictions: DOCTYPE, entity declarations, comments refused.
TEST(PidfParse, RestrictedXmlRefused) {
    const std::string_view docs[] = {
        "<!DOCTYPE presence [<!ENTITY x 'boom'>]><presence "
        "xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>&x;</presence>",
        "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'><!-- c --></presence>",
        "<?xml version='1.0'?><?pi x?><presence xmlns='urn:ietf:params:xml:ns:pidf' "
        "entity='sip:a@b'/>",
    };
    for (auto doc : docs) {
        auto d = parse_pidf(doc);
        ASSERT_FALSE(d) << doc;
        EXPECT_EQ(d.error().error, PidfError::RestrictedXml) << d.error().describe();
    }
}

TEST(PidfParse, NotPidf) {
    EXPECT_EQ(parse_pidf("").error().error, PidfError::Empty);
    EXPECT_EQ(parse_pidf("  \n").error().error, PidfError::Empty);
    EXPECT_EQ(parse_pidf("<presence entity='sip:a@b'/>").error().error, PidfError::NotPidf);
    EXPECT_EQ(parse_pidf("<presence xmlns='jabber:client' entity='sip:a@b'/>").error().error,
              PidfError::NotPidf);
    EXPECT_EQ(parse_pidf("<presence xmlns='urn:ietf:params:xml:ns:pidf'/>").error().error,
              PidfError::MissingEntity);
    EXPECT_EQ(
        parse_pidf("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>").error().error,
        PidfError::NotWellFormed);
    EXPECT_EQ(parse_pidf("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'/>"
                         "<extra/>")
                  .error()
                  .error,
              PidfError::NotWellFormed);
    EXPECT_EQ(parse_pidf("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>text"
                         "</presence>")
                  .error()
                  .error,
              PidfError::NotWellFormed);
    EXPECT_EQ(parse_pidf("<?xml version='1.0' encoding='ISO-8859-1'?><presence "
                         "xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'/>")
                  .error()
                  .error,
              PidfError::NotWellFormed);
    EXPECT_TRUE(parse_pidf("<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'/>\r\n"));
}

TEST(PidfParse, Limits) {
    std::string doc = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>";
    for (int i = 0; i < 5; ++i)
        doc +=
            "<tuple id='t" + std::to_string(i) + "'><status><basic>open</basic></status></tuple>";
    doc += "</presence>";
    PidfLimits l;
    l.max_tuples = 4;
    EXPECT_EQ(parse_pidf(doc, l).error().error, PidfError::TooLarge);
    l.max_tuples = 5;
    EXPECT_TRUE(parse_pidf(doc, l));
    l.max_bytes = 100;
    EXPECT_EQ(parse_pidf(doc, l).error().error, PidfError::TooLarge);

    std::string deep = "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a@b'>";
    for (int i = 0; i < 40; ++i)
        deep += "<x:a xmlns:x='urn:x'>";
    for (int i = 0; i < 40; ++i)
        deep += "</x:a>";
    deep += "</presence>";
    EXPECT_EQ(parse_pidf(deep).error().error, PidfError::TooLarge);
}

TEST(PidfWrite, ExactDocument) {
    PidfDocument d;
    d.entity = "sip:juliet@xmpp.test";
    PidfTuple t;
    t.id = "balcony";
    t.basic = BasicStatus::Open;
    t.contact = "sip:juliet@xmpp.test;gr=balcony";
    t.contact_priority = 500;
    t.notes.push_back({"Wherefore art thou & <why>?", "en"});
    d.tuples.push_back(t);
    PidfPerson p;
    p.id = "p1";
    p.activities = {Activity::Away};
    d.persons.push_back(p);
    EXPECT_EQ(write_pidf(d),
              "<?xml version='1.0' encoding='UTF-8'?>"
              "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:juliet@xmpp.test'>"
              "<tuple id='balcony'><status><basic>open</basic></status>"
              "<contact priority='0.5'>sip:juliet@xmpp.test;gr=balcony</contact>"
              "<note xml:lang='en'>Wherefore art thou &amp; &lt;why&gt;?</note></tuple>"
              "<dm:person xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' id='p1'>"
              "<rpid:activities xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid'><rpid:away/>"
              "</rpid:activities></dm:person></presence>");
}

TEST(PidfWrite, RoundTrip) {
    auto d = parse_pidf(kKamailioAggregated);
    ASSERT_TRUE(d);
    auto again = parse_pidf(write_pidf(*d));
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, *d);
    auto e = parse_pidf(kRfc3863Extended);
    ASSERT_TRUE(e);
    auto e2 = parse_pidf(write_pidf(*e));
    ASSERT_TRUE(e2);
    EXPECT_EQ(*e2, *e);
}

TEST(PidfWrite, IdsMadeValid) {
    EXPECT_EQ(tuple_id_for("balcony"), "balcony");
    EXPECT_EQ(tuple_id_for("_a-1.b"), "_a-1.b");
    const std::string h = tuple_id_for("Conversations.x7Yz/phone 1");
    EXPECT_EQ(h.size(), 17u);
    EXPECT_EQ(h[0], 't');
    EXPECT_EQ(h, tuple_id_for("Conversations.x7Yz/phone 1"));  // stable
    EXPECT_NE(h, tuple_id_for("Conversations.x7Yz/phone 2"));
    EXPECT_EQ(tuple_id_for("1abc")[0], 't');
    EXPECT_EQ(tuple_id_for("").size(), 17u);
}

TEST(Activities, Rfc4480Names) {
    EXPECT_EQ(activity_from_name("on-the-phone"), Activity::OnThePhone);
    EXPECT_EQ(activity_from_name("permanent-absence"), Activity::PermanentAbsence);
    EXPECT_EQ(wire_name(Activity::InTransit), "in-transit");
    EXPECT_FALSE(activity_from_name("dancing"));
}

}  // namespace
}  // namespace fedgw::gateway
