// fedgw::XmlStreamParser on expat (see stream_parser.hpp): expat set-up, feeding bytes within
// the limits, holding back bytes that cannot finish a long token, stop/close/failure handling and
// the mapping of expat errors to stream errors. RFC 6120 §4, §11. The handlers that build the
// events are in stream_parser_tree.cpp.
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
    limits_.max_depth = std::min(limits_.max_depth, Limits::kMaxDepthCap);
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
    // come. The rescanning deferral was meant to prevent is avoided by feed() holding back
    // bytes that cannot finish a long token, and bounded by Limits::max_token_bytes.
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
    pending_.restart();
    scan_from_ = 0;
    held_.clear();
    parse_calls_ = 0;
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
    if (bytes.empty()) return FeedResult{0, false};

    if (can_hold(bytes)) {
        held_.append(bytes);
        pending_.scan(bytes);
        return FeedResult{bytes.size(), false};
    }
    if (!held_.empty()) {
        // Held bytes cannot finish a token, so they produce no event and cannot stop the
        // stream; parsing them can only fail.
        const std::string held = std::move(held_);
        held_.clear();
        auto r = parse(held);
        if (!r) return r;
        assert(!r->stopped && r->consumed == held.size());
    }
    return parse(bytes);
}

bool XmlStreamParser::can_hold(std::string_view bytes) const {
    constexpr std::uint64_t kHoldThreshold = 1024;  // below this, rescans cost little
    if (depth_ == 0) return false;  // the prolog has tokens without events; never hold there
    const std::uint64_t taken = fed_ + held_.size();
    if (taken - last_event_ < kHoldThreshold) return false;
    // Past a limit, expat must see the bytes so the limit check refuses them.
    const std::uint64_t cap =
        std::min(unit_start_ + limits_.max_stanza_bytes, last_event_ + limits_.max_token_bytes);
    if (taken + bytes.size() > cap) return false;
    return !pending_.may_finish(bytes);
}

Result<FeedResult, StreamError> XmlStreamParser::parse(std::string_view bytes) {
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
        ++parse_calls_;
        const XML_Status st =
            XML_Parse(xp(parser_), bytes.data() + done, static_cast<int>(n), XML_FALSE);
        in_parse_ = false;
        if (st == XML_STATUS_OK) {
            // Follow the unfinished token expat now holds: it starts after the last event.
            std::string_view piece = bytes.substr(done, n);
            if (last_event_ != scan_from_) {
                pending_.restart();
                scan_from_ = last_event_;
                if (last_event_ >= piece_start_ && last_event_ <= piece_start_ + n)
                    piece.remove_prefix(static_cast<std::size_t>(last_event_ - piece_start_));
                else
                    pending_.forget();  // not expected; be safe rather than hold wrongly
            }
            pending_.scan(piece);
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

}  // namespace fedgw
