// Parsing one stanza held as a string (a link frame's body) into an Element, with the stream
// parser's limits and restricted-XML rules, as if it had arrived inside a jabber:server stream.
//
// Pure.
#pragma once

#include <memory>
#include <string_view>

#include "common/base/result.hpp"
#include "common/base/stream_error.hpp"
#include "common/xml/element.hpp"
#include "common/xml/stream_parser.hpp"

namespace fedgw {

Result<std::unique_ptr<Element>, StreamError> parse_fragment(std::string_view xml,
                                                              std::string_view default_ns,
                                                              Limits limits = {});

}  // namespace fedgw
