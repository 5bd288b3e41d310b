// Helpers for the gateway/translate unit tests: stanzas from XML text (through the real stream
// parser, inside a jabber:server stream header) and back.
//
// Where the expected values come from: every test names the RFC section it takes its values
// from. The stored copies of RFC 7247, 7248 and 7572 reachable from this workplace could be read
// only up to their opening pages (the search tool returns page beginnings), so rows of those
// RFCs' tables are written down as recalled and marked "(recalled)"; check them against the
// RFC text before relying on them. Rows of RFC 3261, 3863, 4480, 6120, 6121, 6665 cited here
// are well known and stable.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/xml/serializer.hpp"
#include "common/xml/stream_parser.hpp"

namespace fedgw::gateway::test {

inline std::unique_ptr<Element> stanza(std::string_view xml) {
    XmlStreamParser p;
    std::string doc =
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>";
    doc += xml;
    auto r = p.feed(doc);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().describe());
    for (auto& ev : p.take_events())
        if (auto* s = std::get_if<Stanza>(&ev)) return std::move(s->element);
    ADD_FAILURE() << "no stanza in " << xml;
    return Element::make("none");
}

inline std::string xml(const Element& e) {
    return serialize(e, kNsServer);
}

}  // namespace fedgw::gateway::test
