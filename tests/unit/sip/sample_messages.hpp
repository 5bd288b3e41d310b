// SIP messages as Kamailio 5.6 sends them to the gateway (captured shapes, addresses changed
// to documentation ranges), shared by the unit tests. Lines end in CRLF.
#pragma once

#include <string>
#include <string_view>

namespace fedgw::gateway::sip::samples {

// Joins lines with CRLF; the body follows the empty line as given.
inline std::string crlf(std::initializer_list<std::string_view> lines, std::string_view body = {}) {
    std::string out;
    for (auto l : lines) {
        out.append(l);
        out.append("\r\n");
    }
    out.append("\r\n");
    out.append(body);
    return out;
}

// A MESSAGE from a SIP user, forwarded by Kamailio (it added its Via, Record-Route and
// decremented Max-Forwards).
inline std::string kamailio_message() {
    return crlf(
        {"MESSAGE sip:romeo@xmpp.example SIP/2.0", "Record-Route: <sip:192.0.2.10;lr>",
         "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKd5f2.9c0ae8a4a8b0f3b2d2d0c2e9a3f5e6b1.0",
         "Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;rport=5060;"
         "branch=z9hG4bK-524287-1---a1b2c3d4e5f6a7b8",
         "Max-Forwards: 69", "To: <sip:romeo@xmpp.example>",
         "From: \"Juliet Capulet\" <sip:juliet@sip.example>;tag=8a7c4f2e",
         "Call-ID: ZTA4YjE2MjQ3NDRjYzQ2ZmY2ZGI2NzQ2Yjc3YWYxYzE.", "CSeq: 2 MESSAGE",
         "Content-Type: text/plain;charset=UTF-8", "User-Agent: Linphone/5.2.0 (belle-sip/5.2.0)",
         "Content-Length: 23"},
        "Wherefore art thou? \xe2\x9d\xa4");
}

// A SUBSCRIBE for presence, as a SIP client sends it through Kamailio.
inline std::string kamailio_subscribe() {
    return crlf(
        {"SUBSCRIBE sip:romeo@xmpp.example SIP/2.0",
         "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKcydzigwkX",
         "Via: SIP/2.0/TCP 198.51.100.7:41522;rport=41522;received=198.51.100.7;"
         "branch=z9hG4bK.Yl0nUqWgZ",
         "Max-Forwards: 69", "From: <sip:juliet@sip.example>;tag=uS8xHKc2L",
         "To: \"Romeo\" <sip:romeo@xmpp.example>", "Call-ID: 8hQvVCZy1X", "CSeq: 20 SUBSCRIBE",
         "Event: presence;id=7", "Expires: 600",
         "Contact: <sip:juliet@198.51.100.7:41522;transport=tcp>;+sip.instance=\"<urn:uuid:1>\"",
         "Accept: application/pidf+xml, application/cpim-pidf+xml", "Supported: replaces, outbound",
         "Content-Length: 0"});
}

// A NOTIFY from Kamailio's presence module, inside the dialog the gateway's SUBSCRIBE made.
inline std::string kamailio_notify() {
    const std::string pidf =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:juliet@sip.example\">\n"
        "  <tuple id=\"t1\"><status><basic>open</basic></status>"
        "<note>At the balcony</note></tuple>\n</presence>\n";
    return crlf({"NOTIFY sip:gw@192.0.2.20:5070 SIP/2.0",
                 "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK2a58.a4a1c5f6.0",
                 "To: <sip:romeo@xmpp.example>;tag=2f9a1c",
                 "From: <sip:juliet@sip.example>;tag=a6a1c5f60faecf035a1ae5b6e96e979a-d4a3",
                 "CSeq: 2 NOTIFY", "Call-ID: 7f1e0c2d9b8a@192.0.2.20", "Max-Forwards: 70",
                 "Content-Length: " + std::to_string(pidf.size()),
                 "User-Agent: kamailio (5.6.3 (x86_64/linux))", "Event: presence",
                 "Contact: <sip:192.0.2.10:5060>", "Subscription-State: active;expires=3598",
                 "Content-Type: application/pidf+xml"},
                pidf);
}

// A PUBLISH a SIP client sends to Kamailio's presence server.
inline std::string kamailio_publish() {
    const std::string pidf =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:juliet@sip.example\">"
        "<tuple id=\"a\"><status><basic>closed</basic></status></tuple></presence>";
    return crlf(
        {"PUBLISH sip:juliet@sip.example SIP/2.0",
         "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport", "Max-Forwards: 70",
         "From: <sip:juliet@sip.example>;tag=1928301774", "To: <sip:juliet@sip.example>",
         "Call-ID: a84b4c76e66710@pc33.sip.example", "CSeq: 1 PUBLISH", "Event: presence",
         "Expires: 3600", "Content-Type: application/pidf+xml",
         "Content-Length: " + std::to_string(pidf.size())},
        pidf);
}

// Kamailio refusing a too-short subscription (RFC 3261 §21.4.17).
inline std::string interval_too_brief() {
    return crlf({"SIP/2.0 423 Interval Too Brief",
                 "Via: SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bK0123456789abcdef;rport=5070",
                 "From: <sip:romeo@xmpp.example>;tag=00aa11bb22cc33dd",
                 "To: <sip:juliet@sip.example>;tag=a6a1c5f60faecf035a1ae5b6e96e979a-7e11",
                 "Call-ID: 0f1e2d3c4b5a69788796a5b4c3d2e1f0@192.0.2.20", "CSeq: 1 SUBSCRIBE",
                 "Min-Expires: 60", "Server: kamailio (5.6.3 (x86_64/linux))",
                 "Content-Length: 0"});
}

// Compact header forms (RFC 3261 §7.3.3, RFC 6665 "o").
inline std::string compact_notify() {
    return crlf({"NOTIFY sip:gw@192.0.2.20 SIP/2.0",
                 "v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcompact1",
                 "f: <sip:juliet@sip.example>;tag=f1", "t: <sip:romeo@xmpp.example>;tag=t1",
                 "i: compact-call-id", "CSeq: 3 NOTIFY", "o: presence", "m: <sip:192.0.2.10>",
                 "Subscription-State: terminated;reason=timeout;retry-after=30", "l: 0"});
}

}  // namespace fedgw::gateway::sip::samples
