// Media types (RFC 2045 §5.1, RFC 3261 §20.15), UTF-8 (RFC 3629) and XML characters (XML 1.0
// §2.2).
#include "gateway/translate/media_type.hpp"

#include <gtest/gtest.h>

namespace fedgw::gateway {
namespace {

TEST(MediaType, TypeSubtypeAndParameters) {
    auto m = parse_media_type("Text/Plain; charset=\"UTF-8\" ;format=flowed");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->essence(), "text/plain");
    EXPECT_TRUE(m->is("text", "plain"));
    EXPECT_EQ(m->param("CHARSET").value_or(""), "UTF-8");
    EXPECT_EQ(m->param("format").value_or(""), "flowed");
    EXPECT_FALSE(m->param("delsp"));
}

TEST(MediaType, QuotedPairs) {
    auto m = parse_media_type("a/b; x=\"q\\\"uote\"");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->param("x").value_or(""), "q\"uote");
}

TEST(MediaType, Malformed) {
    for (std::string_view s : {"", "text", "text/", "/plain", "text/plain;", "text/plain; x",
                               "text/plain; x=", "text/plain; x=\"open", "text/plain junk"})
        EXPECT_FALSE(parse_media_type(s)) << s;
}

TEST(Utf8, ValidAndInvalid) {
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                             // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));                         // overlong
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                         // surrogate U+D800
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                     // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xE9t\xE9"));                            // ISO-8859-1 "été"
    EXPECT_FALSE(is_valid_utf8("\xC3"));                                 // truncated
}

TEST(XmlText, ControlCharacters) {
    EXPECT_TRUE(is_xml_text("tab\tnewline\ncr\r"));
    EXPECT_FALSE(is_xml_text(std::string_view("nul\0", 4)));
    EXPECT_FALSE(is_xml_text("bell\x07"));
    EXPECT_FALSE(is_xml_text("\xEF\xBF\xBE"));  // U+FFFE
    EXPECT_TRUE(is_xml_text("\xEF\xBF\xBD"));   // U+FFFD is fine
}

}  // namespace
}  // namespace fedgw::gateway
