#include "proxy/dialback/dialback_key.hpp"

#include <gtest/gtest.h>

namespace fedgw::proxy {
namespace {

// XEP-0185 §2's inputs. The expected value was computed independently of this code with
// Python's hmac module: hmac.new(sha256(secret).hexdigest(), b"example.net example.org
// D60000229F", sha256).hexdigest().
TEST(DialbackKeys, Xep0185Algorithm) {
    DialbackKeys k("s3cr3tf0rd14lb4ck");
    EXPECT_EQ(k.generate("example.net", "example.org", "D60000229F"),
              "787d747fddd82406a36c193fd1437027b163c5f9f787a2b77c30d15409c34aa3");
}

TEST(DialbackKeys, VerifyAcceptsOnlyTheSameInputs) {
    DialbackKeys k("secret");
    auto key = k.generate("recv.test", "orig.test", "id1");
    EXPECT_TRUE(k.verify("recv.test", "orig.test", "id1", key));
    EXPECT_FALSE(k.verify("recv.test", "orig.test", "id2", key));
    EXPECT_FALSE(k.verify("orig.test", "recv.test", "id1", key));
    EXPECT_FALSE(k.verify("recv.test", "orig.test", "id1", key.substr(1)));
    EXPECT_FALSE(DialbackKeys("other").verify("recv.test", "orig.test", "id1", key));
}

}  // namespace
}  // namespace fedgw::proxy
