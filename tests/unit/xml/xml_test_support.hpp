// Helpers shared by the common/xml unit tests: feeding a parser in chunks, collecting what it
// produced, printing events readably in failure messages, and a realistic s2s conversation.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/xml/serializer.hpp"
#include "common/xml/stream_parser.hpp"

namespace fedgw {

inline std::string describe_event(const XmlEvent& e) {
    if (const auto* o = std::get_if<StreamOpen>(&e)) {
        std::string s = "open {" + o->header.ns() + "}" + o->header.qualified_name();
        for (const auto& a : o->header.attributes())
            s += " " + a.name + "=" + a.value;
        for (const auto& d : o->namespaces)
            s += " xmlns:" + d.prefix + "=" + d.ns;
        return s;
    }
    if (const auto* st = std::get_if<Stanza>(&e))
        return "stanza " + (st->element ? serialize(*st->element, kNsServer) : "(null)");
    return "close";
}

// gtest finds these through ADL on the variant's alternatives.
inline void PrintTo(const XmlEvent& e, std::ostream* os) {
    *os << describe_event(e);
}
inline void PrintTo(const StreamError& e, std::ostream* os) {
    *os << e.describe();
}

// What one parser produced from a sequence of chunks.
struct ParseRun {
    std::vector<XmlEvent> events;
    std::optional<StreamError> error;
    std::size_t consumed = 0;  // sum of FeedResult::consumed
    bool stopped = false;
};

inline ParseRun feed_chunks(XmlStreamParser& p, const std::vector<std::string_view>& chunks) {
    ParseRun run;
    for (auto chunk : chunks) {
        auto r = p.feed(chunk);
        for (auto& e : p.take_events())
            run.events.push_back(std::move(e));
        if (!r) {
            run.error = r.error();
            break;
        }
        run.consumed += r->consumed;
        if (r->stopped) {
            run.stopped = true;
            break;
        }
    }
    return run;
}

inline ParseRun parse_whole(std::string_view bytes, Limits limits = {}) {
    XmlStreamParser p(limits);
    return feed_chunks(p, {bytes});
}

inline ParseRun parse_bytewise(std::string_view bytes, Limits limits = {}) {
    XmlStreamParser p(limits);
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < bytes.size(); ++i)
        chunks.push_back(bytes.substr(i, 1));
    return feed_chunks(p, chunks);
}

inline ParseRun parse_split(std::string_view bytes, std::size_t at, Limits limits = {}) {
    XmlStreamParser p(limits);
    return feed_chunks(p, {bytes.substr(0, at), bytes.substr(at)});
}

// The stream header fedgw's peers send, as one string.
inline std::string peer_header(std::string_view from = "xmpp.example.org",
                               std::string_view to = "sip.example.com") {
    return "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
           "from='" +
           std::string(from) + "' to='" + std::string(to) +
           "' id='b5a7c1e2-94f3-4b6e-8d0a-6f2c0e1d9a77' version='1.0' xml:lang='en'>";
}

// A receiving entity's view of an s2s stream from Prosody: header, features, STARTTLS (without
// the TLS), dialback, a message with subject/thread/xml:lang bodies, presence, iqs, close.
inline std::string s2s_conversation() {
    return peer_header() +
           "\n<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
           "</starttls><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
           "</stream:features>\n"
           "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
           "<db:result from='xmpp.example.org' to='sip.example.com'>"
           "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3</db:result>\n"
           "<message from='juliet@xmpp.example.org/balcony' to='romeo@sip.example.com' "
           "type='chat' id='m-1' xml:lang='en'><subject>Re: tonight</subject>"
           "<thread parent='7edac73ab41e45c4aafa7b2d7b749080'>e0ffe42b28561960c6b12b944a092794"
           "</thread><body>Wherefore art thou, Romeo? &lt;3 &amp; \"quotes\" 'too' &#x263A;"
           "</body><body xml:lang='fr'>O\xc3\xb9 es-tu, Rom\xc3\xa9o ?\n<![CDATA[<tag> & "
           "more]]> end</body><active xmlns='http://jabber.org/protocol/chatstates'/>"
           "</message>\n"
           "<presence from='juliet@xmpp.example.org/balcony' to='romeo@sip.example.com'>"
           "<show>away</show><status>At the ball\t\xe2\x98\x83</status><priority>5</priority>"
           "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://prosody.im' "
           "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>\n"
           "<iq type='get' id='ping-1' from='xmpp.example.org' to='sip.example.com'>"
           "<ping xmlns='urn:xmpp:ping'/></iq>\n"
           "<iq type=\"result\" id=\"disco-1\" from=\"sip.example.com\" "
           "to=\"xmpp.example.org\"><query xmlns=\"http://jabber.org/protocol/disco#info\">"
           "<identity category=\"gateway\" type=\"sip\" name=\"SIP &amp; &quot;more&quot;\"/>"
           "<feature var=\"urn:xmpp:ping\"/></query></iq>\n"
           " \t\r\n"
           "</stream:stream>";
}

}  // namespace fedgw
