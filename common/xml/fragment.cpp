#include "common/xml/fragment.hpp"

#include <string>

#include "common/base/xml_escape.hpp"

namespace fedgw {

Result<std::unique_ptr<Element>, StreamError> parse_fragment(std::string_view xml,
                                                              std::string_view default_ns,
                                                              Limits limits) {
    XmlStreamParser parser(limits);
    std::string open = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='";
    append_escaped_attr(open, default_ns);
    open += "' xmlns:db='jabber:server:dialback'>";
    if (auto r = parser.feed(open); !r) return Unexpected(r.error());
    if (auto r = parser.feed(xml); !r) return Unexpected(r.error());
    std::unique_ptr<Element> found;
    int stanzas = 0;
    while (auto ev = parser.next_event()) {
        if (auto* s = std::get_if<Stanza>(&*ev)) {
            ++stanzas;
            found = std::move(s->element);
        }
    }
    if (stanzas != 1 || !found)
        return Unexpected(StreamError{StreamCondition::BadFormat,
                                      stanzas == 0 ? "no complete element" : "more than one element"});
    return found;
}

}  // namespace fedgw
