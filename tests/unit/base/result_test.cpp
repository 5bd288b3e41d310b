#include "common/base/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace fedgw {
namespace {

enum class Err { Bad, Worse };

Result<int, Err> half(int n) {
    if (n % 2) return Unexpected(Err::Bad);
    return n / 2;
}

TEST(Result, CarriesValue) {
    auto r = half(8);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, 4);
    EXPECT_EQ(r.value_or(-1), 4);
}

TEST(Result, CarriesError) {
    auto r = half(7);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), Err::Bad);
    EXPECT_EQ(r.value_or(-1), -1);
}

TEST(Result, MoveOnlyValue) {
    Result<std::unique_ptr<int>, std::string> r = std::make_unique<int>(3);
    ASSERT_TRUE(r);
    std::unique_ptr<int> p = std::move(r).value();
    EXPECT_EQ(*p, 3);
}

TEST(Result, ArrowReachesMembers) {
    Result<std::string, Err> r = std::string("abc");
    EXPECT_EQ(r->size(), 3u);
}

TEST(Result, VoidSpecialisation) {
    Result<void, Err> ok;
    EXPECT_TRUE(ok.has_value());
    Result<void, Err> bad = Unexpected(Err::Worse);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), Err::Worse);
}

TEST(Result, ValueAndErrorOfSameType) {
    // A Result<std::string, std::string> must not confuse value and error.
    Result<std::string, std::string> v = std::string("value");
    Result<std::string, std::string> e = Unexpected(std::string("error"));
    ASSERT_TRUE(v);
    ASSERT_FALSE(e);
    EXPECT_EQ(*v, "value");
    EXPECT_EQ(e.error(), "error");
}

}  // namespace
}  // namespace fedgw
