// PendingToken: a tiny scanner that follows the unfinished XML token expat holds after a
// feed, so XmlStreamParser can tell when new bytes cannot possibly finish it (XML 1.0 §2.4,
// §2.5, §2.6, §3.1, §4.1 token ends).
//
// Pure: no I/O. Internal to common/xml.
//
// Why: reparse deferral is off (a stanza must be delivered by the read that carries its last
// byte), so expat rescans an unfinished token from its start on every feed. A peer sending a
// long start tag one byte per TCP segment would make that quadratic (CVE-2023-52425). The
// parser instead keeps such bytes back while they cannot end the token: a start tag ends only
// at a '>' outside quotes, an end tag at '>', a comment at "-->", a processing instruction at
// "?>", an entity or character reference at ';'. Anything else is "may finish" and is handed
// to expat at once, so holding back can delay only a refusal, never an event.
#pragma once

#include <string_view>

namespace fedgw::detail {

class PendingToken {
  public:
    // Starts over at the first byte after the last event expat reported.
    void restart() { *this = PendingToken{}; }

    // The token's start is not known: hold nothing back until the next restart().
    void forget() { kind_ = Kind::MayFinish; }

    // Follows the token through more bytes.
    void scan(std::string_view bytes) {
        for (char c : bytes) {
            if (kind_ == Kind::MayFinish) return;
            step(c);
        }
    }

    // True unless the token is known to stay unfinished after `bytes`.
    bool may_finish(std::string_view bytes) const {
        PendingToken t = *this;
        t.scan(bytes);
        return t.kind_ == Kind::MayFinish || t.kind_ == Kind::Begin || t.kind_ == Kind::Lt ||
               t.kind_ == Kind::Bang;
    }

  private:
    enum class Kind {
        Begin,      // nothing seen yet
        Lt,         // "<"
        Bang,       // "<!"
        StartTag,   // "<name …": ends at '>' outside a quoted value
        EndTag,     // "</…": ends at '>'
        Comment,    // "<!-…": ends at "-->"
        Pi,         // "<?…": ends at "?>"
        Reference,  // "&…": ends at ';'
        MayFinish,  // anything else, or the token may have ended: never hold back
    };

    void step(char c) {
        switch (kind_) {
            case Kind::Begin:
                kind_ = c == '<' ? Kind::Lt : c == '&' ? Kind::Reference : Kind::MayFinish;
                break;
            case Kind::Lt:
                kind_ = c == '/'   ? Kind::EndTag
                        : c == '!' ? Kind::Bang
                        : c == '?' ? Kind::Pi
                        : c == '>' ? Kind::MayFinish
                                   : Kind::StartTag;
                break;
            case Kind::Bang:
                // "<![CDATA[" ends without a '>': never held.
                kind_ = c == '-' ? Kind::Comment : Kind::MayFinish;
                break;
            case Kind::StartTag:
                if (quote_ != 0) {
                    if (c == quote_) quote_ = 0;
                } else if (c == '\'' || c == '"') {
                    quote_ = c;
                } else if (c == '>') {
                    kind_ = Kind::MayFinish;
                }
                break;
            case Kind::EndTag:
                if (c == '>') kind_ = Kind::MayFinish;
                break;
            case Kind::Comment:
                if (c == '>' && prev2_ == '-' && prev1_ == '-') kind_ = Kind::MayFinish;
                break;
            case Kind::Pi:
                if (c == '>' && prev1_ == '?') kind_ = Kind::MayFinish;
                break;
            case Kind::Reference:
                if (c == ';') kind_ = Kind::MayFinish;
                break;
            case Kind::MayFinish:
                break;
        }
        prev2_ = prev1_;
        prev1_ = c;
    }

    Kind kind_ = Kind::Begin;
    char quote_ = 0;
    char prev1_ = 0;
    char prev2_ = 0;
};

}  // namespace fedgw::detail
