#include "proxy/s2s/inbound_stream.hpp"

#include <gtest/gtest.h>

TEST(InboundStreamPlaceholder, HeaderCompiles) { SUCCEED(); }
