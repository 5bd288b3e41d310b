// Element -> bytes, and the stream header and close (RFC 6120 §4.2, §4.4, §4.7, §4.8; XML
// Namespaces 1.0 for the declarations; XML 1.0 §2.4, §3.3.3 for escaping via common/base).
//
// Pure: strings in, strings out.
//
// A stanza is written inside a stream whose header already bound a default namespace (e.g.
// 'jabber:server') and some prefixes ('stream', 'db'). The caller passes that context as an
// NsScope; the serializer then writes xmlns='…' only on an element whose namespace differs from
// the default in force, and xmlns:p='…' only where prefix p is not bound to the wanted namespace
// in scope. Output uses single quotes; text and attribute values go through xml_escape, so any
// tree parsed by XmlStreamParser is written back to bytes that parse to an equal tree.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "common/xml/element.hpp"
#include "common/xml/namespaces.hpp"

namespace fedgw {

struct PrefixBinding {
    std::string_view prefix;
    std::string_view ns;
};

// The namespace context an element is written into.
struct NsScope {
    std::string_view default_ns;              // "" when no default namespace is in force
    std::span<const PrefixBinding> prefixes;  // prefixes already bound by the surroundings
};

// The prefixes that stream_header() binds.
inline constexpr std::array<PrefixBinding, 2> kStreamPrefixBindings{{
    {"stream", kNsStreams},
    {"db", kNsDialback},
}};

// The scope inside a header written by stream_header() with this default namespace.
inline NsScope stream_scope(std::string_view default_ns) {
    return NsScope{default_ns, kStreamPrefixBindings};
}

// Appends the element (with its subtree) to `out`.
void append_serialized(std::string& out, const Element& e, const NsScope& scope);
std::string serialize(const Element& e, const NsScope& scope);
// A scope with only a default namespace ("" = none, so the root always carries its xmlns).
std::string serialize(const Element& e, std::string_view default_ns = {});

// What goes in a stream header. Empty fields are left out (the initiating entity sends no
// 'id'; 'from' is optional before authentication, RFC 6120 §4.7.1).
struct StreamHeader {
    std::string default_ns{kNsServer};  // 'jabber:server' on s2s, 'jabber:client' on c2s
    std::string from;
    std::string to;
    std::string id;
    std::string version = "1.0";
    std::string lang = "en";  // xml:lang
};

// "<?xml version='1.0'?><stream:stream xmlns='jabber:server'
//  xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='…'
//  to='…' id='…' version='1.0' xml:lang='en'>" (one line), every value escaped.
std::string stream_header(const StreamHeader& h);
// "</stream:stream>"
std::string_view stream_close();

}  // namespace fedgw
