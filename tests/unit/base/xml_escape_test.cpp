#include "common/base/xml_escape.hpp"

#include <gtest/gtest.h>

namespace fedgw {
namespace {

TEST(XmlEscape, Text) {
    EXPECT_EQ(escape_text("a<b>&c"), "a&lt;b&gt;&amp;c");
    EXPECT_EQ(escape_text("]]>"), "]]&gt;");
    EXPECT_EQ(escape_text("quotes ' \" stay"), "quotes ' \" stay");
    EXPECT_EQ(escape_text("line\r\nbreak"), "line&#13;\nbreak");
    EXPECT_EQ(escape_text("héllo ☃"), "héllo ☃");
}

TEST(XmlEscape, Attribute) {
    EXPECT_EQ(escape_attr("it's \"x\" <&>"), "it&apos;s &quot;x&quot; &lt;&amp;&gt;");
    EXPECT_EQ(escape_attr("tab\there\nnl"), "tab&#9;here&#10;nl");
}

}  // namespace
}  // namespace fedgw
