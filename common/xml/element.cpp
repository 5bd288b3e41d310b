// fedgw::Element: stanza tree (see element.hpp).
//
// Pure: no I/O.
#include "common/xml/element.hpp"

#include <cassert>
#include <utility>

#include "common/xml/namespaces.hpp"

namespace fedgw {

// --- Node ---------------------------------------------------------------------------------------

Node::Node(std::unique_ptr<Element> e) : v_(std::in_place_index<0>, std::move(e)) {
    assert(std::get<0>(v_) != nullptr);
}
Node::Node(std::string text) : v_(std::in_place_index<1>, std::move(text)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

Element& Node::element() {
    assert(is_element());
    return *std::get<0>(v_);
}
const Element& Node::element() const {
    assert(is_element());
    return *std::get<0>(v_);
}
std::string& Node::text() {
    assert(is_text());
    return std::get<1>(v_);
}
const std::string& Node::text() const {
    assert(is_text());
    return std::get<1>(v_);
}

bool Node::operator==(const Node& other) const {
    if (v_.index() != other.v_.index()) return false;
    if (is_text()) return text() == other.text();
    return element() == other.element();
}

// --- Element ------------------------------------------------------------------------------------

Element::Element(std::string name, std::string ns, std::string prefix)
    : name_(std::move(name)), ns_(std::move(ns)), prefix_(std::move(prefix)) {}

std::unique_ptr<Element> Element::make(std::string name, std::string ns, std::string prefix) {
    return std::make_unique<Element>(std::move(name), std::move(ns), std::move(prefix));
}

std::string Element::qualified_name() const {
    if (prefix_.empty()) return name_;
    return prefix_ + ":" + name_;
}

Element& Element::set_name(std::string name) {
    name_ = std::move(name);
    return *this;
}
Element& Element::set_ns(std::string ns) {
    ns_ = std::move(ns);
    return *this;
}
Element& Element::set_prefix(std::string prefix) {
    prefix_ = std::move(prefix);
    return *this;
}

std::optional<std::string_view> Element::attr(std::string_view name) const {
    for (const auto& a : attrs_)
        if (a.name == name) return std::string_view(a.value);
    return std::nullopt;
}

std::string_view Element::attr_or(std::string_view name, std::string_view fallback) const {
    return attr(name).value_or(fallback);
}

Element& Element::set_attr(std::string_view name, std::string_view value) {
    std::string_view ns;
    if (name.starts_with("xml:")) ns = kNsXml;
    // Any other prefix needs its namespace: use the three-argument form (programmer error).
    assert(!ns.empty() || name.find(':') == std::string_view::npos);
    return set_attr(name, value, ns);
}

Element& Element::set_attr(std::string_view name, std::string_view value, std::string_view ns) {
    // Namespace declarations are derived by the serializer, never stored (programmer error).
    assert(name != "xmlns" && !name.starts_with("xmlns:"));
    // A namespaced attribute needs a prefix to be written with.
    assert(ns.empty() || name.find(':') != std::string_view::npos);
    for (auto& a : attrs_) {
        if (a.name == name) {
            a.value = value;
            a.ns = ns;
            return *this;
        }
    }
    attrs_.push_back(Attribute{std::string(name), std::string(value), std::string(ns)});
    return *this;
}

bool Element::remove_attr(std::string_view name) {
    for (auto it = attrs_.begin(); it != attrs_.end(); ++it) {
        if (it->name == name) {
            attrs_.erase(it);
            return true;
        }
    }
    return false;
}

Element& Element::add_child(std::unique_ptr<Element> child) {
    assert(child != nullptr);
    Element& ref = *child;
    nodes_.emplace_back(std::move(child));
    return ref;
}

Element& Element::add_child(std::string name) {
    return add_child(std::move(name), ns_);
}

Element& Element::add_child(std::string name, std::string ns) {
    return add_child(std::make_unique<Element>(std::move(name), std::move(ns)));
}

Element& Element::add_text(std::string_view text) {
    if (text.empty()) return *this;
    if (!nodes_.empty() && nodes_.back().is_text())
        nodes_.back().text().append(text);
    else
        nodes_.emplace_back(std::string(text));
    return *this;
}

Element& Element::set_text(std::string_view text) {
    nodes_.clear();
    return add_text(text);
}

Element* Element::find_child(std::string_view name) {
    return find_child(name, ns_);
}
const Element* Element::find_child(std::string_view name) const {
    return find_child(name, ns_);
}

Element* Element::find_child(std::string_view name, std::string_view ns) {
    for (auto& n : nodes_)
        if (n.is_element() && n.element().is(name, ns)) return &n.element();
    return nullptr;
}

const Element* Element::find_child(std::string_view name, std::string_view ns) const {
    for (const auto& n : nodes_)
        if (n.is_element() && n.element().is(name, ns)) return &n.element();
    return nullptr;
}

std::vector<Element*> Element::children(std::string_view name, std::string_view ns) {
    std::vector<Element*> out;
    for (auto& n : nodes_)
        if (n.is_element() && n.element().is(name, ns)) out.push_back(&n.element());
    return out;
}

std::vector<const Element*> Element::children(std::string_view name, std::string_view ns) const {
    std::vector<const Element*> out;
    for (const auto& n : nodes_)
        if (n.is_element() && n.element().is(name, ns)) out.push_back(&n.element());
    return out;
}

std::vector<Element*> Element::child_elements() {
    std::vector<Element*> out;
    for (auto& n : nodes_)
        if (n.is_element()) out.push_back(&n.element());
    return out;
}

std::vector<const Element*> Element::child_elements() const {
    std::vector<const Element*> out;
    for (const auto& n : nodes_)
        if (n.is_element()) out.push_back(&n.element());
    return out;
}

std::optional<std::string> Element::child_text(std::string_view name) const {
    const Element* c = find_child(name);
    if (c == nullptr) return std::nullopt;
    return c->text();
}

std::string Element::text() const {
    std::string out;
    for (const auto& n : nodes_)
        if (n.is_text()) out += n.text();
    return out;
}

std::unique_ptr<Element> Element::clone() const {
    auto copy = std::make_unique<Element>(name_, ns_, prefix_);
    copy->attrs_ = attrs_;
    copy->nodes_.reserve(nodes_.size());
    for (const auto& n : nodes_) {
        if (n.is_text())
            copy->nodes_.emplace_back(n.text());
        else
            copy->nodes_.emplace_back(n.element().clone());
    }
    return copy;
}

bool Element::operator==(const Element& other) const {
    return name_ == other.name_ && ns_ == other.ns_ && prefix_ == other.prefix_ &&
           attrs_ == other.attrs_ && nodes_ == other.nodes_;
}

}  // namespace fedgw
