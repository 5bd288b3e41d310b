// The pure pieces of fedgwctl: /proc/net/tcp{,6} parsing (IPv4, IPv6, IPv4-mapped, states,
// inodes, junk lines), endpoint text, the aligned table and age formatting. No sockets, no
// /proc: the tables are written here in the kernel's format for this host's byte order.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "tools/fedgwctl/ctl_common.hpp"
#include "tools/fedgwctl/diag_checks.hpp"
#include "tools/fedgwctl/proc_net.hpp"

namespace fedgw::ctl {
namespace {

// The kernel prints each 32-bit word of the address (network-order bytes) as a host-order
// integer in %08X.
std::string kernel_hex(std::initializer_list<std::uint8_t> bytes) {
    std::string out;
    const std::uint8_t* b = bytes.begin();
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
        std::uint32_t w = 0;
        std::memcpy(&w, b + i, 4);
        char buf[9];
        std::snprintf(buf, sizeof buf, "%08X", w);
        out += buf;
    }
    return out;
}

std::string line(int sl, const std::string& local, const std::string& remote, int state,
                 unsigned uid, unsigned long inode) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%4d: %s %s %02X 00000000:00000000 00:00000000 00000000 %5u        0 %lu 1 "
                  "0000000000000000 100 0 0 10 0\n",
                  sl, local.c_str(), remote.c_str(), state, uid, inode);
    return buf;
}

constexpr const char* kHeader4 =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n";

TEST(ProcNet, ParsesIpv4ListenAndEstablished) {
    const std::string text = std::string(kHeader4) +
                             line(0, kernel_hex({0, 0, 0, 0}) + ":1495",
                                  kernel_hex({0, 0, 0, 0}) + ":0000", 0x0A, 0, 4242) +
                             line(1, kernel_hex({127, 0, 0, 1}) + ":9C40",
                                  kernel_hex({192, 0, 2, 7}) + ":5BA0", 0x01, 107, 99);
    auto s = parse_proc_net_tcp(text, false);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_TRUE(s[0].is(TcpState::Listen));
    EXPECT_EQ(s[0].local_port, 5269);
    EXPECT_TRUE(is_unspecified(s[0].local));
    EXPECT_EQ(s[0].inode, 4242u);
    EXPECT_EQ(endpoint_text(s[0].local, s[0].local_port), "0.0.0.0:5269");
    EXPECT_TRUE(s[1].is(TcpState::Established));
    EXPECT_EQ(endpoint_text(s[1].local, s[1].local_port), "127.0.0.1:40000");
    EXPECT_EQ(endpoint_text(s[1].remote, s[1].remote_port), "192.0.2.7:23456");
    EXPECT_EQ(s[1].uid, 107u);
    EXPECT_EQ(s[1].inode, 99u);
    EXPECT_EQ(tcp_state_name(s[1].state), "ESTAB");
}

TEST(ProcNet, ParsesIpv6AndUnmapsIpv4MappedAddresses) {
    const std::string any6 = kernel_hex({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    const std::string doc6 =
        kernel_hex({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
    const std::string mapped =
        kernel_hex({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2});
    const std::string text = "  sl  local_address                         remote_address\n" +
                             line(0, any6 + ":1495", any6 + ":0000", 0x0A, 0, 1) +
                             line(1, doc6 + ":1495", mapped + ":D431", 0x01, 0, 2);
    auto s = parse_proc_net_tcp(text, true);
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(endpoint_text(s[0].local, s[0].local_port), "[::]:5269");
    EXPECT_TRUE(is_unspecified(s[0].local));
    EXPECT_EQ(endpoint_text(s[1].local, s[1].local_port), "[2001:db8::1]:5269");
    EXPECT_TRUE(s[1].remote.is_v4());
    EXPECT_EQ(endpoint_text(s[1].remote, s[1].remote_port), "198.51.100.2:54321");
}

TEST(ProcNet, SkipsJunk) {
    const std::string good = line(0, kernel_hex({127, 0, 0, 1}) + ":0050",
                                  kernel_hex({0, 0, 0, 0}) + ":0000", 0x0A, 0, 5);
    const std::string text = std::string(kHeader4) + "garbage\n" + "   1: 0100007F 0 0A\n" +
                             "   2: XYZ:0050 00000000:0000 0A 0 0 0 0 0 7\n" +
                             "   3: 0100007F:FFFFF 00000000:0000 0A 0 0 0 0 0 7\n" + good + "\n";
    auto s = parse_proc_net_tcp(text, false);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].local_port, 80);
    EXPECT_TRUE(parse_proc_net_tcp("", false).empty());
    // A v6 table's line is not read as v4, nor the other way round.
    EXPECT_TRUE(parse_proc_net_tcp(good, true).empty());
}

TEST(Table, AlignsColumnsByCodePoints) {
    Table t({"DOMAIN", "TYPE", "NOTE"});
    t.add({"münchen.test", "federated", ""});
    t.add({"a.test", "public-verified", "x"});
    EXPECT_EQ(t.render("  "),
              "  DOMAIN        TYPE             NOTE\n"
              "  münchen.test  federated\n"
              "  a.test        public-verified  x\n");
}

TEST(Format, Ages) {
    EXPECT_EQ(format_age(0), "0s");
    EXPECT_EQ(format_age(59), "59s");
    EXPECT_EQ(format_age(65), "1m05s");
    EXPECT_EQ(format_age(7384), "2h03m");
    EXPECT_EQ(format_age(3 * 86400 + 4 * 3600 + 5), "3d04h");
    EXPECT_EQ(format_age(-5), "0s");
    EXPECT_EQ(format_utc(0), "1970-01-01 00:00:00 UTC");
}

TEST(Diag, LoopbackSlashEightIsLocal) {
    const std::set<std::string> here{"127.0.0.1", "192.0.2.10", "::1"};
    EXPECT_TRUE(is_local_address("192.0.2.10", here));
    EXPECT_TRUE(is_local_address("127.0.0.3", here));  // lo answers all of 127.0.0.0/8
    EXPECT_TRUE(is_local_address("::1", here));
    EXPECT_FALSE(is_local_address("192.0.2.11", here));
    EXPECT_FALSE(is_local_address("1.27.0.0", here));
    EXPECT_FALSE(is_local_address("127.0.0.3", std::set<std::string>{"192.0.2.10"}));
}

}  // namespace
}  // namespace fedgw::ctl
