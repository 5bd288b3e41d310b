#include "proxy/s2s/outbound_stream.hpp"

#include <gtest/gtest.h>

TEST(OutboundStreamPlaceholder, HeaderCompiles) { SUCCEED(); }
