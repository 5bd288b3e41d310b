// StreamFramer: messages cut from a TCP byte stream (RFC 3261 §18.3) and RFC 5626 keepalives.
// No sockets.
#include "gateway/sip/stream_framer.hpp"

#include <gtest/gtest.h>

#include "tests/unit/sip/sample_messages.hpp"

namespace fedgw::gateway::sip {
namespace {

using Kind = StreamFramer::Kind;

std::vector<StreamFramer::Frame> feed_all(StreamFramer& f, std::string_view data) {
    std::vector<StreamFramer::Frame> out;
    auto ok = f.feed(data, out);
    EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().describe());
    return out;
}

TEST(StreamFramer, TwoMessagesInOneRead) {
    const std::string a = samples::kamailio_message();
    const std::string b = samples::kamailio_notify();
    StreamFramer f;
    const auto frames = feed_all(f, a + b);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, Kind::Message);
    EXPECT_EQ(frames[0].bytes, a);
    EXPECT_EQ(frames[1].bytes, b);
    EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, MessageSplitAtEveryByte) {
    const std::string a = samples::kamailio_notify();
    for (std::size_t cut = 1; cut < a.size(); ++cut) {
        StreamFramer f;
        auto first = feed_all(f, a.substr(0, cut));
        EXPECT_TRUE(first.empty()) << cut;
        auto second = feed_all(f, a.substr(cut));
        ASSERT_EQ(second.size(), 1u) << cut;
        EXPECT_EQ(second[0].bytes, a);
    }
}

TEST(StreamFramer, ByteByByte) {
    const std::string stream =
        samples::kamailio_message() + "\r\n\r\n" + samples::kamailio_publish();
    StreamFramer f;
    std::vector<StreamFramer::Frame> all;
    for (char c : stream) {
        ASSERT_TRUE(f.feed(std::string_view(&c, 1), all).has_value());
    }
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].bytes, samples::kamailio_message());
    EXPECT_EQ(all[1].kind, Kind::Ping);
    EXPECT_EQ(all[2].bytes, samples::kamailio_publish());
}

TEST(StreamFramer, KeepalivesBetweenMessages) {
    StreamFramer f;
    auto frames = feed_all(f, "\r\n\r\n\r\n\r\n");
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, Kind::Ping);
    EXPECT_EQ(frames[1].kind, Kind::Ping);
    frames = feed_all(f, "\r\n");  // a pong, or half a ping: wait
    EXPECT_TRUE(frames.empty());
    frames = feed_all(f, samples::kamailio_message());
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, Kind::Pong);
    EXPECT_EQ(frames[1].kind, Kind::Message);
}

TEST(StreamFramer, BodyMayContainAnEmptyLine) {
    const std::string body = "line1\r\n\r\nline3";
    const std::string msg = samples::crlf({"MESSAGE sip:b@y SIP/2.0", "Content-Type: text/plain",
                                           "Content-Length: " + std::to_string(body.size())},
                                          body);
    StreamFramer f;
    const auto frames = feed_all(f, msg + msg);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].bytes, msg);
}

TEST(StreamFramer, RefusesMessageWithoutContentLength) {
    StreamFramer f;
    std::vector<StreamFramer::Frame> out;
    auto ok = f.feed("MESSAGE sip:b@y SIP/2.0\r\nVia: x\r\n\r\nbody", out);
    ASSERT_FALSE(ok.has_value());
    EXPECT_EQ(ok.error().code, SipErrorCode::BadContentLength);
    // A failed stream stays failed.
    EXPECT_FALSE(f.feed(samples::kamailio_message(), out).has_value());
    EXPECT_TRUE(out.empty());
}

TEST(StreamFramer, RefusesOversizedMessages) {
    SipLimits limits;
    limits.max_message_bytes = 300;
    {
        StreamFramer f(limits);
        std::vector<StreamFramer::Frame> out;
        auto ok = f.feed("MESSAGE sip:b@y SIP/2.0\r\nContent-Length: 100000\r\n\r\n", out);
        ASSERT_FALSE(ok.has_value());
        EXPECT_EQ(ok.error().code, SipErrorCode::TooLarge);
    }
    {
        StreamFramer f(limits);
        std::vector<StreamFramer::Frame> out;
        std::string endless = "MESSAGE sip:b@y SIP/2.0\r\n";
        bool failed = false;
        for (int i = 0; i < 100 && !failed; ++i) {
            failed = !f.feed("X-Filler: aaaaaaaaaaaaaaaaaaaa\r\n", out).has_value();
        }
        EXPECT_TRUE(failed);
        EXPECT_LE(f.buffered(), 400u);
    }
}

TEST(StreamFramer, RefusesBareCrAndTooManyHeaders) {
    StreamFramer a;
    std::vector<StreamFramer::Frame> out;
    EXPECT_EQ(a.feed("\rX", out).error().code, SipErrorCode::BadCharacters);
    SipLimits limits;
    limits.max_header_lines = 3;
    StreamFramer b(limits);
    EXPECT_EQ(
        b.feed("OPTIONS sip:b@y SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", out).error().code,
        SipErrorCode::TooManyHeaders);
}

}  // namespace
}  // namespace fedgw::gateway::sip
