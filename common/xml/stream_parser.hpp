// fedgw::XmlStreamParser: turns the bytes of one XMPP stream into stream events (RFC 6120 §4.2
// opening, §4.4 closing, §4.7 header attributes, §4.9 stream errors, §11 XML usage: §11.1
// restricted XML, §11.2 namespaces, §11.6 UTF-8), on expat.
//
// Pure: sans-I/O. The owner feeds it whatever bytes arrived, in any chunking, and drains an
// outbox of events; nothing calls back into the owner, so the owner may destroy or reset the
// parser whenever it holds control.
//
// Events: StreamOpen (the stream header, depth 0), Stanza (a complete depth-1 element),
// StreamClose (</stream:stream>). Failures are StreamError values whose condition is the one to
// send: not-well-formed, restricted-xml (DOCTYPE, entity declarations and references other than
// the predefined ones, comments, processing instructions; the XML declaration is allowed),
// bad-namespace-prefix, unsupported-encoding, bad-format (text between stanzas), and
// policy-violation for every Limits breach. After a failure the parser refuses input until
// reset(). Events produced before the failure stay in the outbox, in order.
//
// STARTTLS and SASL (RFC 6120 §5.4.3.3, §6.4.6): before feeding, the owner names the stanza
// after which the XML stream must stop (stop_after({{"proceed", kNsTls}})). When that stanza's
// end tag has been parsed the parser stops inside the handler; feed() reports how many of the
// given bytes belong to the XML stream, and nothing after them is parsed — those bytes belong to
// TLS (or are a protocol violation). The owner then calls reset() for the new stream.
//
// Hardening: XML_PARAM_ENTITY_PARSING_NEVER, no external entity handler, tightened
// billion-laughs limits, and the Limits below, enforced before expat buffers more than they
// allow. Reparse deferral is off, so a stanza whose last bytes arrive alone is delivered by that
// feed(); what deferral protected against (rescanning a long unfinished token on every small
// feed) is handled here instead: bytes that cannot finish the token are kept back until one
// that can arrives (pending_token.hpp), and Limits::max_token_bytes bounds the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/base/result.hpp"
#include "common/base/stream_error.hpp"
#include "common/xml/element.hpp"
#include "common/xml/pending_token.hpp"

namespace fedgw {

// What one stream may cost. Defaults are safe for s2s; what is enforced is advertised
// (XEP-0478 advertises max_stanza_bytes).
struct Limits {
    // Bytes of one stanza, from the '<' of its start tag to the '>' of its end tag (Prosody's
    // and ejabberd's s2s default). Also bounds the stream header and anything between stanzas.
    std::size_t max_stanza_bytes = 512 * 1024;
    // Bytes expat may hold as one unfinished token (a start tag with its attributes, an end
    // tag, a name). expat rescans an unfinished token on every feed; with reparse deferral off
    // this bounds that rescanning (CVE-2023-52425). Text is not a token: it streams.
    std::size_t max_token_bytes = 64 * 1024;
    // Element nesting: the stream header is depth 0, a stanza root depth 1. Capped at
    // kMaxDepthCap: code walking a tree (serializer, clone, destructor) recurses once per level.
    std::size_t max_depth = 32;
    static constexpr std::size_t kMaxDepthCap = 256;
    // Attributes plus namespace declarations on one element.
    std::size_t max_attributes = 64;
    // Elements in one stanza (a tree costs far more memory than its bytes).
    std::size_t max_elements = 16384;
    // Character data in one stanza, after entity and character reference decoding.
    std::size_t max_text_bytes = 512 * 1024;
};

// A namespace declaration seen on the stream header; prefix "" is the default namespace.
struct NamespaceDecl {
    std::string prefix;
    std::string ns;
    bool operator==(const NamespaceDecl&) const = default;
};

// The stream header (<stream:stream …>): its name, namespace, prefix and attributes (from, to,
// id, version, xml:lang) in `header` (no children), and its namespace declarations.
struct StreamOpen {
    Element header{""};
    std::vector<NamespaceDecl> namespaces;

    // The default namespace the header declared ("" if none): jabber:server on s2s.
    std::string_view default_ns() const;
    // The namespace a prefix was bound to on the header, if it was.
    std::optional<std::string_view> prefix_ns(std::string_view prefix) const;
    bool operator==(const StreamOpen&) const = default;
};

// One complete first-level element: a stanza, or stream:features, db:result, starttls, …
struct Stanza {
    std::unique_ptr<Element> element;

    // Deep comparison of the trees.
    bool operator==(const Stanza& o) const {
        return element && o.element ? *element == *o.element : element == o.element;
    }
};

struct StreamClose {
    bool operator==(const StreamClose&) const = default;
};

using XmlEvent = std::variant<StreamOpen, Stanza, StreamClose>;

// An element to stop after, matched by local name and namespace.
struct ElementName {
    std::string name;
    std::string ns;
};

struct FeedResult {
    // How many of the bytes given belong to the XML stream. Less than given only when
    // `stopped` is set: the rest must not be parsed as XML.
    std::size_t consumed = 0;
    // The parser will take no more input until reset(): a stop_after() stanza or the stream
    // close was parsed.
    bool stopped = false;
};

class XmlStreamParser {
  public:
    // max_depth above Limits::kMaxDepthCap is lowered to it.
    explicit XmlStreamParser(Limits limits = {});
    ~XmlStreamParser();
    // Not copyable or movable: expat holds a pointer to this object.
    XmlStreamParser(const XmlStreamParser&) = delete;
    XmlStreamParser& operator=(const XmlStreamParser&) = delete;
    XmlStreamParser(XmlStreamParser&&) = delete;
    XmlStreamParser& operator=(XmlStreamParser&&) = delete;

    // Parses the bytes (any chunking). Events go to the outbox. On a failure the error is
    // returned, kept, and returned again by every later feed() until reset().
    Result<FeedResult, StreamError> feed(std::string_view bytes);

    // Stop the stream right after the next first-level element matching one of `names`
    // (replaces any earlier request). The request is cleared when it fires and by reset().
    void stop_after(std::vector<ElementName> names);
    void clear_stop_after() { stop_after_.clear(); }

    // Starts a new stream (after STARTTLS, SASL success, or a failure): a fresh expat parser
    // with every handler, limit and setting installed again. Must not be called from inside
    // feed() (nothing in this class calls out, so the owner cannot). The outbox is kept.
    void reset();

    // --- outbox ------------------------------------------------------------------------------
    bool has_events() const { return !outbox_.empty(); }
    std::optional<XmlEvent> next_event();
    std::vector<XmlEvent> take_events();

    // --- state -------------------------------------------------------------------------------
    const Limits& limits() const { return limits_; }
    // The kept failure, if any.
    const std::optional<StreamError>& error() const { return error_; }
    bool is_failed() const { return error_.has_value(); }
    // A stop_after() stanza or the stream close was parsed; reset() to go on.
    bool is_stopped() const { return state_ == State::Stopped || state_ == State::Closed; }
    bool is_stream_open() const { return depth_ > 0; }
    // Bytes taken in this stream (since construction or the last reset()).
    std::uint64_t stream_bytes() const { return fed_ + held_.size(); }
    // XML_Parse calls in this stream: lets tests check that a long token trickling in is not
    // rescanned on every byte.
    std::uint64_t parse_calls() const { return parse_calls_; }

  private:
    struct Handlers;  // the expat trampolines, in stream_parser.cpp

    enum class State {
        Parsing,  // taking input
        Stopped,  // a stop_after() stanza ended; waiting for reset()
        Closed,   // </stream:stream> parsed; waiting for reset()
        Failed,   // error_ is set; waiting for reset()
    };

    // Hands bytes to expat in slices the limits allow.
    Result<FeedResult, StreamError> parse(std::string_view bytes);
    // Whether `bytes` can be kept back: they cannot finish the long token expat holds.
    bool can_hold(std::string_view bytes) const;
    void create_parser();
    void destroy_parser();
    // Records the failure and stops expat if inside a handler.
    void fail(StreamCondition c, std::string text);
    // Halts expat from inside a handler (not resumable).
    void halt();
    std::uint64_t event_begin() const;  // byte index where the current expat event starts
    std::uint64_t event_end() const;    // byte index just after it

    void on_start(const char* name, const char** atts);
    void on_end(const char* name);
    void on_text(const char* s, int len);
    void on_ns_decl(const char* prefix, const char* uri);
    void on_xml_decl(const char* version, const char* encoding);
    void on_restricted(const char* what);
    void on_marker();  // an event with no content (CDATA section start/end)

    Limits limits_;
    void* parser_ = nullptr;  // XML_Parser; void* keeps expat.h out of this header
    State state_ = State::Parsing;
    std::optional<StreamError> error_;
    std::deque<XmlEvent> outbox_;
    std::vector<ElementName> stop_after_;

    std::size_t depth_ = 0;                  // elements open, the stream header included
    std::unique_ptr<Element> stanza_;        // the stanza being built (depth >= 1)
    std::vector<Element*> open_;             // open elements of stanza_, innermost last
    std::vector<NamespaceDecl> pending_ns_;  // declarations for the next start tag
    std::size_t stanza_elements_ = 0;
    std::size_t stanza_text_ = 0;

    // Byte accounting, as indexes into this stream's bytes.
    std::uint64_t fed_ = 0;          // bytes handed to expat
    std::uint64_t unit_start_ = 0;   // start of the current stanza, or end of the last event
                                     // outside one (header, stanza end, whitespace)
    std::uint64_t last_event_ = 0;   // end of the last event expat reported
    std::uint64_t piece_start_ = 0;  // index of the first byte of the current XML_Parse call
    std::uint64_t stop_at_ = 0;      // end of the element that stopped the stream
    bool in_parse_ = false;          // inside XML_Parse (so inside handlers)

    // Holding back bytes that cannot finish a long unfinished token (see pending_token.hpp).
    detail::PendingToken pending_;  // follows the bytes from scan_from_ on
    std::uint64_t scan_from_ = 0;   // the last_event_ pending_ was restarted at
    std::string held_;              // taken from the owner, not yet given to expat
    std::uint64_t parse_calls_ = 0;
};

}  // namespace fedgw
