// fedgw::Element: an XML element tree for one stanza (RFC 6120 §4.1, §8), built by the stream
// parser or by code that composes stanzas, written out by serializer.hpp.
//
// Pure: plain data, no I/O.
//
// Model (XML Namespaces 1.0, as an XMPP stream uses it):
//   - an element has a local name, a namespace URI (resolved; "" for none) and an optional
//     prefix. The prefix is kept as seen on input (<db:result/> stays db:result) and can be set;
//     the serializer declares it where it is not in scope.
//   - attributes are ordered (name, value, ns). An unprefixed attribute has ns "". A namespaced
//     attribute keeps its qualified name ("xml:lang", "foo:bar") and carries the namespace URI
//     its prefix was bound to, so the serializer can declare it again (never for 'xml').
//     Namespace declarations (xmlns, xmlns:p) are not attributes: the serializer derives them.
//   - children are nodes in document order, each an element or a text run. Adjacent text is
//     kept merged into one node, so a tree does not depend on how its bytes were chunked.
// One owner per tree: children are held by std::unique_ptr; clone() makes a deep copy.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fedgw {

class Element;

struct Attribute {
    std::string name;   // qualified name as written: "to", "xml:lang", "foo:bar"
    std::string value;  // unescaped
    std::string ns;     // namespace of a prefixed name; "" for an unprefixed attribute

    bool operator==(const Attribute&) const = default;
};

// A child of an element: an element or a run of character data.
class Node {
  public:
    explicit Node(std::unique_ptr<Element> e);
    explicit Node(std::string text);
    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    ~Node();

    bool is_element() const { return v_.index() == 0; }
    bool is_text() const { return v_.index() == 1; }
    // Precondition: is_element().
    Element& element();
    const Element& element() const;
    // Precondition: is_text().
    std::string& text();
    const std::string& text() const;

    bool operator==(const Node& other) const;

  private:
    std::variant<std::unique_ptr<Element>, std::string> v_;
};

class Element {
  public:
    // An element named `name` in namespace `ns` ("" for none), written with `prefix` if given.
    explicit Element(std::string name, std::string ns = {}, std::string prefix = {});
    Element(Element&&) noexcept = default;
    Element& operator=(Element&&) noexcept = default;
    ~Element() = default;

    // Builder entry point: auto iq = Element::make("iq", kNsServer);
    static std::unique_ptr<Element> make(std::string name, std::string ns = {},
                                         std::string prefix = {});

    const std::string& name() const { return name_; }
    const std::string& ns() const { return ns_; }
    const std::string& prefix() const { return prefix_; }
    // "db:result" or "message".
    std::string qualified_name() const;
    Element& set_name(std::string name);
    Element& set_ns(std::string ns);
    Element& set_prefix(std::string prefix);
    bool is(std::string_view name, std::string_view ns) const { return name_ == name && ns_ == ns; }

    // --- attributes --------------------------------------------------------------------------
    const std::vector<Attribute>& attributes() const { return attrs_; }
    // Value of the attribute with this qualified name, if present.
    std::optional<std::string_view> attr(std::string_view name) const;
    std::string_view attr_or(std::string_view name, std::string_view fallback) const;
    bool has_attr(std::string_view name) const { return attr(name).has_value(); }
    // Sets (replacing in place, keeping its position) or appends an unprefixed attribute or an
    // xml:* attribute. Names starting with "xmlns" are namespace declarations, not attributes,
    // and other prefixes need the form below: both asserted against.
    Element& set_attr(std::string_view name, std::string_view value);
    // Sets a namespaced attribute: `name` is "prefix:local", `ns` the URI the prefix stands for.
    Element& set_attr(std::string_view name, std::string_view value, std::string_view ns);
    // Removes the attribute; false if there was none.
    bool remove_attr(std::string_view name);

    // --- children ----------------------------------------------------------------------------
    const std::vector<Node>& nodes() const { return nodes_; }
    std::vector<Node>& nodes() { return nodes_; }
    // Appends a child and returns it, for chaining: msg.add_child("body").add_text("hi").
    Element& add_child(std::unique_ptr<Element> child);
    // A new child in this element's namespace.
    Element& add_child(std::string name);
    // A new child in namespace `ns` ("" for none).
    Element& add_child(std::string name, std::string ns);
    // Appends character data (merged with a preceding text node); returns *this.
    Element& add_text(std::string_view text);
    // Replaces all children with one text node (or none for "").
    Element& set_text(std::string_view text);
    void clear_children() { nodes_.clear(); }

    // First child element with this name in this element's namespace / in `ns`.
    Element* find_child(std::string_view name);
    const Element* find_child(std::string_view name) const;
    Element* find_child(std::string_view name, std::string_view ns);
    const Element* find_child(std::string_view name, std::string_view ns) const;
    // All child elements with this name and namespace, in document order.
    std::vector<Element*> children(std::string_view name, std::string_view ns);
    std::vector<const Element*> children(std::string_view name, std::string_view ns) const;
    // All child elements, in document order.
    std::vector<Element*> child_elements();
    std::vector<const Element*> child_elements() const;
    // Text of the first child element with this name in this element's namespace, or nullopt.
    std::optional<std::string> child_text(std::string_view name) const;

    // Concatenation of the direct text children (not of descendants).
    std::string text() const;

    // Deep copy.
    std::unique_ptr<Element> clone() const;

    // Same name, namespace, prefix, attributes (in order) and children.
    bool operator==(const Element& other) const;

  private:
    std::string name_;
    std::string ns_;
    std::string prefix_;
    std::vector<Attribute> attrs_;
    std::vector<Node> nodes_;
};

}  // namespace fedgw
