// fedgw::XmlStreamParser on expat (see stream_parser.hpp). RFC 6120 §4, §11.
//
// Pure: sans-I/O.
//
// expat runs in namespace mode with triplets: every name arrives as "uri\x01local\x01prefix"
// ("uri\x01local" when unprefixed, "local" when in no namespace). \x01 cannot occur in XML 1.0
// text, so the split is unambiguous. Handlers never call out of this class; they fill the outbox
// and, to end the stream early, call XML_StopParser (never XML_ParserReset/Free, which are
// undefined inside a handler).
#include "common/xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <cassert>
#include <utility>

namespace fedgw {
namespace {

constexpr char kSep = '\x01';
// Largest slice handed to one XML_Parse call (its length is an int).
constexpr std::size_t kMaxPiece = 1 << 20;

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

XML_Parser xp(void* p) {
    return static_cast<XML_Parser>(p);
}

// The stream error for an expat failure (RFC 6120 §4.9.3, §11.1).
StreamCondition condition_for(XML_Error code) {
    switch (code) {
        case XML_ERROR_UNBOUND_PREFIX:
        case XML_ERROR_UNDECLARING_PREFIX:
        case XML_ERROR_RESERVED_PREFIX_XML:
        case XML_ERROR_RESERVED_PREFIX_XMLNS:
        case XML_ERROR_RESERVED_NAMESPACE_URI:
            return StreamCondition::BadNamespacePrefix;
        // Entity references other than the five predefined ones (§11.1), and anything that
        // needs a DTD to mean something.
        case XML_ERROR_UNDEFINED_ENTITY:
        case XML_ERROR_RECURSIVE_ENTITY_REF:
        case XML_ERROR_BINARY_ENTITY_REF:
        case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
        case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
        case XML_ERROR_PARAM_ENTITY_REF:
        case XML_ERROR_NOT_STANDALONE:
        case XML_ERROR_ENTITY_DECLARED_IN_PE:
        case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
            return StreamCondition::RestrictedXml;
        case XML_ERROR_UNKNOWN_ENCODING:
        case XML_ERROR_INCORRECT_ENCODING:
            return StreamCondition::UnsupportedEncoding;
        case XML_ERROR_NO_MEMORY:
            return StreamCondition::ResourceConstraint;
        default:
            return StreamCondition::NotWellFormed;
    }
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

// --- expat trampolines --------------------------------------------------------------------------

struct XmlStreamParser::Handlers {
    static XmlStreamParser& self(void* ud) { return *static_cast<XmlStreamParser*>(ud); }

    static void XMLCALL start(void* ud, const XML_Char* name, const XML_Char** atts) {
        self(ud).on_start(name, atts);
    }
    static void XMLCALL end(void* ud, const XML_Char* name) { self(ud).on_end(name); }
    static void XMLCALL text(void* ud, const XML_Char* s, int len) { self(ud).on_text(s, len); }
    static void XMLCALL ns_decl(void* ud, const XML_Char* prefix, const XML_Char* uri) {
        self(ud).on_ns_decl(prefix, uri);
    }
    static void XMLCALL xml_decl(void* ud, const XML_Char* version, const XML_Char* encoding,
                                 int /*standalone*/) {
        self(ud).on_xml_decl(version, encoding);
    }
    static void XMLCALL cdata_marker(void* ud) { self(ud).on_marker(); }

    // RFC 6120 §11.1: each of these ends the stream with <restricted-xml/>.
    static void XMLCALL doctype(void* ud, const XML_Char*, const XML_Char*, const XML_Char*, int) {
        self(ud).on_restricted("DOCTYPE declaration");
    }
    static void XMLCALL entity_decl(void* ud, const XML_Char*, int, const XML_Char*, int,
                                    const XML_Char*, const XML_Char*, const XML_Char*,
                                    const XML_Char*) {
        self(ud).on_restricted("entity declaration");
    }
    static void XMLCALL unparsed_entity_decl(void* ud, const XML_Char*, const XML_Char*,
                                             const XML_Char*, const XML_Char*, const XML_Char*) {
        self(ud).on_restricted("entity declaration");
    }
    static void XMLCALL notation_decl(void* ud, const XML_Char*, const XML_Char*, const XML_Char*,
                                      const XML_Char*) {
        self(ud).on_restricted("notation declaration");
    }
    static void XMLCALL element_decl(void* ud, const XML_Char*, XML_Content* model) {
        XML_FreeContentModel(xp(self(ud).parser_), model);
        self(ud).on_restricted("element declaration");
    }
    static void XMLCALL attlist_decl(void* ud, const XML_Char*, const XML_Char*, const XML_Char*,
                                     const XML_Char*, int) {
        self(ud).on_restricted("attribute-list declaration");
    }
    static void XMLCALL comment(void* ud, const XML_Char*) { self(ud).on_restricted("comment"); }
    static void XMLCALL pi(void* ud, const XML_Char*, const XML_Char*) {
        self(ud).on_restricted("processing instruction");
    }
    static void XMLCALL skipped_entity(void* ud, const XML_Char*, int) {
        self(ud).on_restricted("entity reference");
    }
};

// --- lifetime -----------------------------------------------------------------------------------

XmlStreamParser::XmlStreamParser(Limits limits) : limits_(limits) {
    create_parser();
}

XmlStreamParser::~XmlStreamParser() {
    destroy_parser();
}

void XmlStreamParser::create_parser() {
    XML_Parser p = XML_ParserCreateNS("UTF-8", kSep);
    parser_ = p;
    if (p == nullptr) return;  // reported by the next feed()
    XML_SetReturnNSTriplet(p, 1);
    XML_SetUserData(p, this);
    XML_SetElementHandler(p, Handlers::start, Handlers::end);
    XML_SetCharacterDataHandler(p, Handlers::text);
    XML_SetStartNamespaceDeclHandler(p, Handlers::ns_decl);
    XML_SetXmlDeclHandler(p, Handlers::xml_decl);
    XML_SetCdataSectionHandler(p, Handlers::cdata_marker, Handlers::cdata_marker);
    XML_SetStartDoctypeDeclHandler(p, Handlers::doctype);
    XML_SetEntityDeclHandler(p, Handlers::entity_decl);
    XML_SetUnparsedEntityDeclHandler(p, Handlers::unparsed_entity_decl);
    XML_SetNotationDeclHandler(p, Handlers::notation_decl);
    XML_SetElementDeclHandler(p, Handlers::element_decl);
    XML_SetAttlistDeclHandler(p, Handlers::attlist_decl);
    XML_SetCommentHandler(p, Handlers::comment);
    XML_SetProcessingInstructionHandler(p, Handlers::pi);
    XML_SetSkippedEntityHandler(p, Handlers::skipped_entity);
    // No external entity handler: nothing outside the stream is ever loaded.
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    // The DOCTYPE handler refuses any DTD first; these tighten expat's defaults (100x after
    // 8 MiB) in case a DTD ever got through.
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 10.0f);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 64 * 1024);
#ifdef FEDGW_HAVE_XML_SET_REPARSE_DEFERRAL
    // With deferral on, a stanza whose last bytes arrive alone stays buffered until more bytes
    // come. Limits::max_token_bytes bounds the rescanning deferral was meant to prevent.
    XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
}

void XmlStreamParser::destroy_parser() {
    assert(!in_parse_);
    if (parser_ != nullptr) XML_ParserFree(xp(parser_));
    parser_ = nullptr;
}

void XmlStreamParser::reset() {
    // A fresh parser rather than XML_ParserReset: nothing of the old stream's state (handlers,
    // settings, hash tables, buffered bytes) can leak into the new one.
    destroy_parser();
    create_parser();
    state_ = State::Parsing;
    error_.reset();
    stop_after_.clear();
    depth_ = 0;
    stanza_.reset();
    open_.clear();
    pending_ns_.clear();
    stanza_elements_ = 0;
    stanza_text_ = 0;
    fed_ = unit_start_ = last_event_ = piece_start_ = stop_at_ = 0;
}

void XmlStreamParser::stop_after(std::vector<ElementName> names) {
    stop_after_ = std::move(names);
}

// --- outbox -------------------------------------------------------------------------------------

std::optional<XmlEvent> XmlStreamParser::next_event() {
    if (outbox_.empty()) return std::nullopt;
    XmlEvent e = std::move(outbox_.front());
    outbox_.pop_front();
    return e;
}

std::vector<XmlEvent> XmlStreamParser::take_events() {
    std::vector<XmlEvent> out;
    out.reserve(outbox_.size());
    for (auto& e : outbox_)
        out.push_back(std::move(e));
    outbox_.clear();
    return out;
}

// --- feeding ------------------------------------------------------------------------------------

Result<FeedResult, StreamError> XmlStreamParser::feed(std::string_view bytes) {
    assert(!in_parse_);
    if (state_ == State::Failed) return Unexpected(*error_);
    if (state_ != State::Parsing) return FeedResult{0, true};
    if (parser_ == nullptr) {
        fail(StreamCondition::ResourceConstraint, "out of memory creating the XML parser");
        return Unexpected(*error_);
    }

    std::size_t done = 0;
    while (done < bytes.size()) {
        // Never hand expat more than the limits allow: a stanza (or header, or run between
        // stanzas) that has not ended within max_stanza_bytes, or a token that has not ended
        // within max_token_bytes, is refused before expat buffers any more of it.
        const std::uint64_t unit_cap = unit_start_ + limits_.max_stanza_bytes;
        const std::uint64_t token_cap = last_event_ + limits_.max_token_bytes;
        if (fed_ >= unit_cap) {
            const std::string n = std::to_string(limits_.max_stanza_bytes);
            fail(StreamCondition::PolicyViolation,
                 (depth_ == 0 ? "stream header exceeds " : "stanza exceeds ") + n + " bytes");
            return Unexpected(*error_);
        }
        if (fed_ >= token_cap) {
            fail(StreamCondition::PolicyViolation,
                 "XML token exceeds " + std::to_string(limits_.max_token_bytes) + " bytes");
            return Unexpected(*error_);
        }
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
            {bytes.size() - done, unit_cap - fed_, token_cap - fed_, kMaxPiece}));

        piece_start_ = fed_;
        in_parse_ = true;
        const XML_Status st =
            XML_Parse(xp(parser_), bytes.data() + done, static_cast<int>(n), XML_FALSE);
        in_parse_ = false;
        if (st == XML_STATUS_OK) {
            fed_ += n;
            done += n;
            continue;
        }
        if (state_ == State::Stopped || state_ == State::Closed) {
            // Halted right after the element's end tag: what follows it is not ours.
            assert(stop_at_ >= piece_start_ && stop_at_ <= piece_start_ + n);
            done += static_cast<std::size_t>(stop_at_ - piece_start_);
            fed_ = stop_at_;
            return FeedResult{done, true};
        }
        if (state_ != State::Failed) {
            const XML_Error code = XML_GetErrorCode(xp(parser_));
            const XML_Index at = XML_GetCurrentByteIndex(xp(parser_));
            std::string text = XML_ErrorString(code);
            if (code == XML_ERROR_UNDEFINED_ENTITY)
                text = "entity reference other than the predefined ones";
            if (at >= 0) text += " at byte " + std::to_string(at);
            fail(condition_for(code), std::move(text));
        }
        fed_ += n;
        return Unexpected(*error_);
    }
    return FeedResult{done, false};
}

void XmlStreamParser::fail(StreamCondition c, std::string text) {
    if (state_ == State::Failed) return;
    error_ = StreamError{c, std::move(text)};
    state_ = State::Failed;
    stanza_.reset();
    open_.clear();
    halt();
}

void XmlStreamParser::halt() {
    if (in_parse_ && parser_ != nullptr) XML_StopParser(xp(parser_), XML_FALSE);
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
