// XmlStreamParser, the expat handlers: building the stream header, the stanza trees and the
// outbox, and enforcing the per-element limits (RFC 6120 §4.2, §4.4, §11). The byte feeding,
// expat set-up and error mapping are in stream_parser.cpp.
//
// Pure: sans-I/O.
#include "common/xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace fedgw {
namespace {

constexpr char kSep = '\x01';  // as passed to XML_ParserCreateNS in stream_parser.cpp

XML_Parser xp(void* p) {
    return static_cast<XML_Parser>(p);
}

struct QName {
    std::string_view ns;
    std::string_view local;
    std::string_view prefix;
};

QName split_name(const char* s) {
    std::string_view v(s);
    auto a = v.find(kSep);
    if (a == std::string_view::npos) return {{}, v, {}};
    auto b = v.find(kSep, a + 1);
    if (b == std::string_view::npos) return {v.substr(0, a), v.substr(a + 1), {}};
    return {v.substr(0, a), v.substr(a + 1, b - a - 1), v.substr(b + 1)};
}

Attribute make_attribute(const char* name, const char* value) {
    QName q = split_name(name);
    if (q.ns.empty() || q.prefix.empty()) return Attribute{std::string(q.local), value, {}};
    std::string qualified(q.prefix);
    qualified += ':';
    qualified += q.local;
    return Attribute{std::move(qualified), value, std::string(q.ns)};
}

bool is_xml_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

}  // namespace

// --- StreamOpen ---------------------------------------------------------------------------------

std::string_view StreamOpen::default_ns() const {
    return prefix_ns("").value_or("");
}

std::optional<std::string_view> StreamOpen::prefix_ns(std::string_view prefix) const {
    for (const auto& d : namespaces)
        if (d.prefix == prefix) return std::string_view(d.ns);
    return std::nullopt;
}
std::uint64_t XmlStreamParser::event_begin() const {
    const XML_Index i = XML_GetCurrentByteIndex(xp(parser_));
    return i < 0 ? fed_ : static_cast<std::uint64_t>(i);
}

std::uint64_t XmlStreamParser::event_end() const {
    return event_begin() + static_cast<std::uint64_t>(XML_GetCurrentByteCount(xp(parser_)));
}

// --- handlers -----------------------------------------------------------------------------------

void XmlStreamParser::on_ns_decl(const char* prefix, const char* uri) {
    if (state_ != State::Parsing) return;
    pending_ns_.push_back(NamespaceDecl{prefix ? prefix : "", uri ? uri : ""});
}

void XmlStreamParser::on_start(const char* name, const char** atts) {
    if (state_ != State::Parsing) return;
    std::vector<NamespaceDecl> decls = std::move(pending_ns_);
    pending_ns_.clear();

    std::size_t n_attrs = 0;
    for (const char** a = atts; *a != nullptr; a += 2)
        ++n_attrs;
    if (n_attrs + decls.size() > limits_.max_attributes) {
        fail(StreamCondition::PolicyViolation, "element has more than " +
                                                   std::to_string(limits_.max_attributes) +
                                                   " attributes and namespace declarations");
        return;
    }
    if (depth_ > limits_.max_depth) {
        fail(StreamCondition::PolicyViolation,
             "elements nested deeper than " + std::to_string(limits_.max_depth));
        return;
    }

    const QName q = split_name(name);
    auto e = Element::make(std::string(q.local), std::string(q.ns), std::string(q.prefix));
    for (const char** a = atts; *a != nullptr; a += 2) {
        Attribute attr = make_attribute(a[0], a[1]);
        e->set_attr(attr.name, attr.value, attr.ns);
    }

    if (depth_ == 0) {
        StreamOpen open;
        open.header = std::move(*e);
        open.namespaces = std::move(decls);
        outbox_.emplace_back(std::move(open));
        unit_start_ = event_end();
    } else {
        if (++stanza_elements_ > limits_.max_elements) {
            fail(StreamCondition::PolicyViolation,
                 "stanza has more than " + std::to_string(limits_.max_elements) + " elements");
            return;
        }
        if (depth_ == 1) {
            unit_start_ = event_begin();
            stanza_ = std::move(e);
            open_.assign(1, stanza_.get());
        } else {
            open_.push_back(&open_.back()->add_child(std::move(e)));
        }
    }
    ++depth_;
    last_event_ = event_end();
}

void XmlStreamParser::on_end(const char* /*name: expat checked it matches*/) {
    if (state_ != State::Parsing) return;
    assert(depth_ > 0);
    --depth_;
    last_event_ = event_end();
    if (depth_ == 0) {
        outbox_.emplace_back(StreamClose{});
        state_ = State::Closed;
        stop_at_ = last_event_;
        halt();
        return;
    }
    if (depth_ > 1) {
        open_.pop_back();
        return;
    }
    // A first-level element is complete.
    const std::uint64_t size = last_event_ - unit_start_;
    if (size > limits_.max_stanza_bytes) {  // feed() slicing prevents this; kept as a backstop
        fail(StreamCondition::PolicyViolation,
             "stanza exceeds " + std::to_string(limits_.max_stanza_bytes) + " bytes");
        return;
    }
    open_.clear();
    stanza_elements_ = 0;
    stanza_text_ = 0;
    unit_start_ = last_event_;
    const bool stop = std::any_of(stop_after_.begin(), stop_after_.end(),
                                  [&](const auto& n) { return stanza_->is(n.name, n.ns); });
    outbox_.emplace_back(Stanza{std::move(stanza_)});
    if (stop) {
        stop_after_.clear();
        state_ = State::Stopped;
        stop_at_ = last_event_;
        halt();
    }
}

void XmlStreamParser::on_text(const char* s, int len) {
    if (state_ != State::Parsing) return;
    const std::string_view text(s, static_cast<std::size_t>(len));
    last_event_ = event_end();
    if (depth_ <= 1) {
        // Between stanzas only whitespace (keepalives, pretty-printing) may appear.
        if (!is_xml_space(text)) {
            fail(StreamCondition::BadFormat, "text between stanzas");
            return;
        }
        unit_start_ = last_event_;
        return;
    }
    stanza_text_ += text.size();
    if (stanza_text_ > limits_.max_text_bytes) {
        fail(StreamCondition::PolicyViolation,
             "stanza text exceeds " + std::to_string(limits_.max_text_bytes) + " bytes");
        return;
    }
    open_.back()->add_text(text);
}

void XmlStreamParser::on_xml_decl(const char* /*version*/, const char* encoding) {
    if (state_ != State::Parsing) return;
    last_event_ = event_end();
    // RFC 6120 §11.6: UTF-8 only. expat was told UTF-8 and would ignore the declaration.
    if (encoding != nullptr && !iequals(encoding, "UTF-8"))
        fail(StreamCondition::UnsupportedEncoding,
             std::string("encoding '") + encoding + "' is not UTF-8");
}

void XmlStreamParser::on_marker() {
    if (state_ != State::Parsing) return;
    last_event_ = event_end();
}

void XmlStreamParser::on_restricted(const char* what) {
    if (state_ != State::Parsing) return;
    fail(StreamCondition::RestrictedXml, std::string(what) + " is not allowed in XMPP");
}

}  // namespace fedgw
