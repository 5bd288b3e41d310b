// Element -> bytes, stream header and close (see serializer.hpp). RFC 6120 §4.2, §4.7, §4.8.
//
// Pure: no I/O.
#include "common/xml/serializer.hpp"

#include <cassert>
#include <optional>
#include <vector>

#include "common/base/xml_escape.hpp"

namespace fedgw {
namespace {

class Writer {
  public:
    Writer(std::string& out, const NsScope& scope) : out_(out), scope_(scope) {}

    // Recursion depth is the tree depth, which the stream parser bounds (Limits::max_depth).
    void write(const Element& e, std::string_view default_ns) {
        const std::size_t mark = bindings_.size();
        const bool prefixed = !e.prefix().empty() && !e.ns().empty();
        out_ += '<';
        if (prefixed) {
            out_ += e.prefix();
            out_ += ':';
        }
        out_ += e.name();

        std::string_view inner_default = default_ns;
        if (prefixed) {
            ensure_bound(e.prefix(), e.ns(), mark);
        } else if (e.ns() != default_ns) {
            out_ += " xmlns='";
            append_escaped_attr(out_, e.ns());
            out_ += '\'';
            inner_default = e.ns();
        }
        for (const auto& a : e.attributes()) {
            if (a.ns.empty()) continue;
            auto colon = std::string_view(a.name).find(':');
            if (colon == std::string_view::npos) continue;  // not writable with a namespace
            ensure_bound(std::string_view(a.name).substr(0, colon), a.ns, mark);
        }
        for (const auto& a : e.attributes()) {
            out_ += ' ';
            out_ += a.name;
            out_ += "='";
            append_escaped_attr(out_, a.value);
            out_ += '\'';
        }

        if (e.nodes().empty()) {
            out_ += "/>";
        } else {
            out_ += '>';
            for (const auto& n : e.nodes()) {
                if (n.is_text())
                    append_escaped_text(out_, n.text());
                else
                    write(n.element(), inner_default);
            }
            out_ += "</";
            if (prefixed) {
                out_ += e.prefix();
                out_ += ':';
            }
            out_ += e.name();
            out_ += '>';
        }
        bindings_.resize(mark);
    }

  private:
    std::optional<std::string_view> lookup(std::string_view prefix) const {
        if (prefix == "xml") return kNsXml;
        for (auto it = bindings_.rbegin(); it != bindings_.rend(); ++it)
            if (it->prefix == prefix) return it->ns;
        for (const auto& b : scope_.prefixes)
            if (b.prefix == prefix) return b.ns;
        return std::nullopt;
    }

    // Declares prefix -> ns on the element being written (whose bindings start at `mark`)
    // unless that binding is already in force.
    void ensure_bound(std::string_view prefix, std::string_view ns, std::size_t mark) {
        if (lookup(prefix) == ns) return;
        // Binding 'xml' to anything else, or one prefix to two namespaces on one element,
        // cannot be written; only a hand-built tree can ask for it (programmer error).
        assert(prefix != "xml" && prefix != "xmlns");
        for (std::size_t i = mark; i < bindings_.size(); ++i) {
            if (bindings_[i].prefix == prefix) {
                assert(!"one prefix bound to two namespaces on one element");
                return;
            }
        }
        out_ += " xmlns:";
        out_ += prefix;
        out_ += "='";
        append_escaped_attr(out_, ns);
        out_ += '\'';
        bindings_.push_back(PrefixBinding{prefix, ns});
    }

    std::string& out_;
    const NsScope& scope_;
    std::vector<PrefixBinding> bindings_;  // declared by the elements being written, innermost last
};

void append_attr(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "='";
    append_escaped_attr(out, value);
    out += '\'';
}

}  // namespace

void append_serialized(std::string& out, const Element& e, const NsScope& scope) {
    Writer(out, scope).write(e, scope.default_ns);
}

std::string serialize(const Element& e, const NsScope& scope) {
    std::string out;
    append_serialized(out, e, scope);
    return out;
}

std::string serialize(const Element& e, std::string_view default_ns) {
    return serialize(e, NsScope{default_ns, {}});
}

std::string stream_header(const StreamHeader& h) {
    std::string out = "<?xml version='1.0'?><stream:stream";
    append_attr(out, "xmlns", h.default_ns);
    for (const auto& b : kStreamPrefixBindings)
        append_attr(out, "xmlns:" + std::string(b.prefix), b.ns);
    if (!h.from.empty()) append_attr(out, "from", h.from);
    if (!h.to.empty()) append_attr(out, "to", h.to);
    if (!h.id.empty()) append_attr(out, "id", h.id);
    if (!h.version.empty()) append_attr(out, "version", h.version);
    if (!h.lang.empty()) append_attr(out, "xml:lang", h.lang);
    out += '>';
    return out;
}

std::string_view stream_close() {
    return "</stream:stream>";
}

}  // namespace fedgw
