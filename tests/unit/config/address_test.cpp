// Address values of the configuration: IP addresses (RFC 791, RFC 4291 §2.2, printed per
// RFC 5952), host names (RFC 1123 LDH), host:port with IPv6 brackets (RFC 3986 §3.2.2), SIP
// transport addresses and CIDR blocks. Good and bad inputs, with the exact messages.
#include <gtest/gtest.h>

#include <string>

#include "common/config/address.hpp"

namespace fedgw {
namespace {

template <class T>
std::string error_of(const Result<T, std::string>& r) {
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error();
}

std::string canonical(std::string_view text) {
    auto ip = parse_ip_address(text);
    EXPECT_TRUE(ip.has_value()) << text;
    return ip ? ip->to_string() : std::string();
}

TEST(IpAddress, Ipv4) {
    auto ip = parse_ip_address("192.0.2.33");
    ASSERT_TRUE(ip.has_value());
    EXPECT_TRUE(ip->is_v4());
    EXPECT_EQ(ip->bytes[0], 192);
    EXPECT_EQ(ip->bytes[3], 33);
    EXPECT_EQ(canonical("0.0.0.0"), "0.0.0.0");
    EXPECT_EQ(canonical("255.255.255.255"), "255.255.255.255");
}

TEST(IpAddress, Ipv6PrintedPerRfc5952) {
    EXPECT_EQ(canonical("::"), "::");
    EXPECT_EQ(canonical("::1"), "::1");
    EXPECT_EQ(canonical("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    EXPECT_EQ(canonical("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");     // first of equal runs
    EXPECT_EQ(canonical("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");  // no :: for one group
    EXPECT_EQ(canonical("fe80::"), "fe80::");
    EXPECT_EQ(canonical("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
    EXPECT_EQ(canonical("1::8"), "1::8");
    EXPECT_EQ(canonical("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
    EXPECT_EQ(canonical("64:ff9b::192.0.2.1"), "64:ff9b::c000:201");
    EXPECT_TRUE(parse_ip_address("::ffff:10.1.2.3")->is_v4_mapped());
    EXPECT_FALSE(parse_ip_address("::10.1.2.3")->is_v4_mapped());
}

TEST(IpAddress, Refusals) {
    for (const char* bad : {"",
                            "1.2.3",
                            "1.2.3.4.5",
                            "256.1.1.1",
                            "01.2.3.4",
                            "1..2.3",
                            "a.b.c.d",
                            "1.2.3.4 ",
                            ":::",
                            "1:2:3:4:5:6:7:8:9",
                            "1::2::3",
                            "12345::",
                            "g::1",
                            "1:2:3:4:5:6:7",
                            ":1::",
                            "1::2:",
                            "1.2.3.4::",
                            "::1.2.3",
                            "1:2:3:4:5:6:7::8:9",
                            "example.com"}) {
        EXPECT_EQ(error_of(parse_ip_address(bad)),
                  "\"" + std::string(bad) + "\" is not an IP address")
            << bad;
    }
    EXPECT_EQ(error_of(parse_ip_address("[::1]")),
              "\"[::1]\" is not an IP address (leave out the brackets)");
    EXPECT_EQ(error_of(parse_ip_address("fe80::1%eth0")),
              "\"fe80::1%eth0\" is not an IP address (zone ids are not supported)");
}

TEST(DomainName, LowerCasedAndChecked) {
    EXPECT_EQ(*parse_domain_name("Example.COM"), "example.com");
    EXPECT_EQ(*parse_domain_name("localhost"), "localhost");
    EXPECT_EQ(*parse_domain_name("xn--bcher-kva.example"), "xn--bcher-kva.example");
    EXPECT_EQ(*parse_domain_name("a-b.c0.test"), "a-b.c0.test");
    EXPECT_EQ(*parse_domain_name("1.2.3.example"), "1.2.3.example");
}

TEST(DomainName, Refusals) {
    EXPECT_EQ(error_of(parse_domain_name("")), "empty host name");
    EXPECT_EQ(error_of(parse_domain_name("example.com.")),
              "\"example.com.\" ends with a dot; leave the dot out");
    EXPECT_EQ(error_of(parse_domain_name("a..b")), "\"a..b\" has an empty label");
    EXPECT_EQ(error_of(parse_domain_name(".a")), "\".a\" has an empty label");
    EXPECT_EQ(error_of(parse_domain_name("-a.example")),
              "\"-a.example\" has a label that starts or ends with '-'");
    EXPECT_EQ(error_of(parse_domain_name("a-.example")),
              "\"a-.example\" has a label that starts or ends with '-'");
    EXPECT_EQ(error_of(parse_domain_name("exa_mple.com")),
              "\"exa_mple.com\" is not a valid host name (only letters, digits, '-' and '.' are "
              "allowed)");
    EXPECT_EQ(error_of(parse_domain_name("b\xc3\xbc"
                                         "cher.example")),
              "\"b\xc3\xbc"
              "cher.example\" is not ASCII; write an internationalised name in its "
              "A-label form (\"xn--...\")");
    EXPECT_EQ(error_of(parse_domain_name("1.2.3.999")),
              "\"1.2.3.999\" is neither an IP address nor a host name");
    const std::string long_label(64, 'a');
    EXPECT_EQ(error_of(parse_domain_name(long_label + ".example")),
              "\"" + long_label + ".example\" has a label longer than 63 characters");
    std::string long_name;
    while (long_name.size() < 254)
        long_name += "abcdefghi.";
    long_name += "example";
    EXPECT_EQ(error_of(parse_domain_name(long_name)),
              "host name \"" + long_name + "\" is longer than 253 characters");
}

TEST(HostPort, Forms) {
    auto name = parse_host_port("Frontend.Example.internal:23456");
    ASSERT_TRUE(name.has_value());
    EXPECT_EQ(name->host, "frontend.example.internal");
    EXPECT_EQ(name->port, 23456);
    EXPECT_FALSE(name->is_ip());
    EXPECT_EQ(name->to_string(), "frontend.example.internal:23456");

    auto v4 = parse_host_port("192.0.2.1:5269");
    ASSERT_TRUE(v4.has_value());
    EXPECT_TRUE(v4->is_ip());
    EXPECT_TRUE(v4->ip->is_v4());
    EXPECT_EQ(v4->to_string(), "192.0.2.1:5269");

    auto v6 = parse_host_port("[::]:5269");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::");
    EXPECT_TRUE(v6->ip->is_v6());
    EXPECT_EQ(v6->to_string(), "[::]:5269");
    EXPECT_EQ(parse_host_port("[2001:DB8:0::1]:1")->host, "2001:db8::1");  // canonical
    EXPECT_EQ(*v6, HostPort::any_v6(5269));
    EXPECT_EQ(*parse_host_port("0.0.0.0:1"), HostPort::any_v4(1));
    EXPECT_EQ(parse_host_port("h:65535")->port, 65535);
}

TEST(HostPort, Refusals) {
    EXPECT_EQ(error_of(parse_host_port("")),
              "missing host and port in \"\"; expected host:port, like \"example.com:5269\"");
    EXPECT_EQ(error_of(parse_host_port("example.com")),
              "missing port in \"example.com\"; expected host:port, like \"example.com:5269\"");
    EXPECT_EQ(error_of(parse_host_port("example.com:")),
              "missing port in \"example.com:\"; expected host:port, like \"example.com:5269\"");
    EXPECT_EQ(error_of(parse_host_port("[::1]")),
              "missing port in \"[::1]\"; expected host:port, like \"example.com:5269\"");
    EXPECT_EQ(error_of(parse_host_port(":5269")), "missing host in \":5269\"");
    EXPECT_EQ(error_of(parse_host_port("h:abc")), "invalid port \"abc\" in \"h:abc\"");
    EXPECT_EQ(error_of(parse_host_port("h:-1")), "invalid port \"-1\" in \"h:-1\"");
    EXPECT_EQ(error_of(parse_host_port("h:0")), "port 0 in \"h:0\" is out of range (1-65535)");
    EXPECT_EQ(error_of(parse_host_port("h:65536")),
              "port 65536 in \"h:65536\" is out of range (1-65535)");
    EXPECT_EQ(error_of(parse_host_port("h:99999999999999999999")),
              "port 99999999999999999999 in \"h:99999999999999999999\" is out of range (1-65535)");
    EXPECT_EQ(error_of(parse_host_port("::1:5269")),
              "\"::1:5269\": an IPv6 address needs brackets, like \"[2001:db8::1]:5269\"");
    EXPECT_EQ(error_of(parse_host_port("[::1:5269")), "missing ']' in \"[::1:5269\"");
    EXPECT_EQ(error_of(parse_host_port("[127.0.0.1]:5269")),
              "\"127.0.0.1\" in \"[127.0.0.1]:5269\" is not an IPv6 address (brackets are only "
              "for IPv6)");
    EXPECT_EQ(error_of(parse_host_port("[::1]5269")),
              "expected ':' and a port after ']' in \"[::1]5269\"");
    EXPECT_EQ(error_of(parse_host_port("bad_host:5269")),
              "\"bad_host\" is not a valid host name (only letters, digits, '-' and '.' are "
              "allowed)");
    EXPECT_EQ(error_of(parse_host_port("300.1.1.1:5269")),
              "\"300.1.1.1\" is neither an IP address nor a host name");
}

TEST(SipTransportAddr, Forms) {
    auto udp = parse_sip_transport_addr("udp:127.0.0.1:5060");
    ASSERT_TRUE(udp.has_value());
    EXPECT_EQ(udp->transport, SipTransport::Udp);
    EXPECT_EQ(udp->address.to_string(), "127.0.0.1:5060");
    EXPECT_EQ(udp->to_string(), "udp:127.0.0.1:5060");
    EXPECT_EQ(parse_sip_transport_addr("tcp:[::1]:5070")->to_string(), "tcp:[::1]:5070");
    auto tls = parse_sip_transport_addr("tls:sip.example.com:5061");
    ASSERT_TRUE(tls.has_value());
    EXPECT_EQ(tls->transport, SipTransport::Tls);
    EXPECT_EQ(tls->address.host, "sip.example.com");
    EXPECT_EQ(transport_name(SipTransport::Tcp), "tcp");
}

TEST(SipTransportAddr, Refusals) {
    EXPECT_EQ(error_of(parse_sip_transport_addr("127.0.0.1:5060")),
              "\"127.0.0.1:5060\" does not start with a transport; expected transport:host:port, "
              "like \"udp:127.0.0.1:5060\"");
    EXPECT_EQ(error_of(parse_sip_transport_addr("udp")),
              "\"udp\" does not start with a transport; expected transport:host:port, like "
              "\"udp:127.0.0.1:5060\"");
    EXPECT_EQ(error_of(parse_sip_transport_addr("sctp:127.0.0.1:5060")),
              "unknown transport \"sctp\" in \"sctp:127.0.0.1:5060\"; expected udp, tcp or tls");
    EXPECT_EQ(error_of(parse_sip_transport_addr("UDP:127.0.0.1:5060")),
              "unknown transport \"UDP\" in \"UDP:127.0.0.1:5060\"; expected udp, tcp or tls");
    EXPECT_EQ(error_of(parse_sip_transport_addr("udp:127.0.0.1")),
              "missing port in \"udp:127.0.0.1\"; expected transport:host:port, like "
              "\"udp:127.0.0.1:5060\"");
    EXPECT_EQ(error_of(parse_sip_transport_addr("udp:")),
              "missing host and port in \"udp:\"; expected transport:host:port, like "
              "\"udp:127.0.0.1:5060\"");
    EXPECT_EQ(error_of(parse_sip_transport_addr("tcp:::1:5060")),
              "\"tcp:::1:5060\": an IPv6 address needs brackets, like \"[2001:db8::1]:5269\"");
}

TEST(Cidr, Forms) {
    auto net = parse_cidr("10.0.0.0/8");
    ASSERT_TRUE(net.has_value());
    EXPECT_EQ(net->prefix_len, 8);
    EXPECT_EQ(net->to_string(), "10.0.0.0/8");
    EXPECT_EQ(parse_cidr("127.0.0.1")->to_string(), "127.0.0.1/32");
    EXPECT_EQ(parse_cidr("::1")->to_string(), "::1/128");
    EXPECT_EQ(parse_cidr("2001:db8::/32")->to_string(), "2001:db8::/32");
    EXPECT_EQ(parse_cidr("0.0.0.0/0")->to_string(), "0.0.0.0/0");
    EXPECT_EQ(parse_cidr("192.168.1.128/25")->to_string(), "192.168.1.128/25");
}

TEST(Cidr, Contains) {
    const Cidr net = *parse_cidr("10.0.0.0/8");
    EXPECT_TRUE(net.contains(*parse_ip_address("10.255.1.2")));
    EXPECT_FALSE(net.contains(*parse_ip_address("11.0.0.1")));
    EXPECT_TRUE(net.contains(*parse_ip_address("::ffff:10.1.2.3")));  // dual-stack socket
    EXPECT_FALSE(net.contains(*parse_ip_address("::ffff:11.1.2.3")));
    EXPECT_FALSE(net.contains(*parse_ip_address("::1")));

    const Cidr odd = *parse_cidr("192.168.1.128/25");
    EXPECT_TRUE(odd.contains(*parse_ip_address("192.168.1.200")));
    EXPECT_FALSE(odd.contains(*parse_ip_address("192.168.1.127")));

    const Cidr v6 = *parse_cidr("2001:db8::/33");
    EXPECT_TRUE(v6.contains(*parse_ip_address("2001:db8:7fff::1")));
    EXPECT_FALSE(v6.contains(*parse_ip_address("2001:db8:8000::1")));
    EXPECT_FALSE(v6.contains(*parse_ip_address("10.0.0.1")));

    EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(*parse_ip_address("203.0.113.9")));
    EXPECT_TRUE(parse_cidr("::1")->contains(*parse_ip_address("::1")));
    EXPECT_FALSE(parse_cidr("::1")->contains(*parse_ip_address("::2")));
}

TEST(Cidr, Refusals) {
    EXPECT_EQ(error_of(parse_cidr("10.0.0.1/8")),
              "\"10.0.0.1/8\" has bits set after the prefix; did you mean \"10.0.0.0/8\"?");
    EXPECT_EQ(error_of(parse_cidr("2001:db8::1/32")),
              "\"2001:db8::1/32\" has bits set after the prefix; did you mean "
              "\"2001:db8::/32\"?");
    EXPECT_EQ(error_of(parse_cidr("10.0.0.0/33")),
              "invalid prefix length \"33\" in \"10.0.0.0/33\" (0-32)");
    EXPECT_EQ(error_of(parse_cidr("::/129")),
              "invalid prefix length \"129\" in \"::/129\" (0-128)");
    EXPECT_EQ(error_of(parse_cidr("10.0.0.0/")),
              "invalid prefix length \"\" in \"10.0.0.0/\" (0-32)");
    EXPECT_EQ(error_of(parse_cidr("10.0.0.0/08")),
              "invalid prefix length \"08\" in \"10.0.0.0/08\" (0-32)");
    EXPECT_EQ(error_of(parse_cidr("10.0.0.0/x")),
              "invalid prefix length \"x\" in \"10.0.0.0/x\" (0-32)");
    EXPECT_EQ(error_of(parse_cidr("10.0.0/8")), "\"10.0.0\" is not an IP address");
    EXPECT_EQ(error_of(parse_cidr("example.com")), "\"example.com\" is not an IP address");
}

}  // namespace
}  // namespace fedgw
