// Loop tier for TlsStream (common/tls/tls_stream.hpp): real libuv TCP on 127.0.0.1, port 0,
// certificates from the throwaway test CA. Every test runs its loop to completion and proves
// the loop closes clean (uv_loop_close() == 0); the ASan build proves nothing leaks.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>

#include "common/tls/tls_context.hpp"
#include "common/tls/tls_session.hpp"
#include "common/tls/tls_stream.hpp"
#include "tests/loop/tls/tls_stream_fixture.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw {
namespace {

using test::Conn;
using test::TlsStreamLoopTest;
using ::testing::HasSubstr;

TEST_F(TlsStreamLoopTest, HandshakeAndEcho) {
    const std::string message = "<message to='romeo@server.test'><body>hi</body></message>";
    server_hooks = [this](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
        s.on_data = [this](Conn& c, std::string_view d) {
            c.received.append(d);
            write_or_fail(c, d);  // echo
        };
    };
    Conn& client = connect([&](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
        c.on_handshake = [&](Conn& cc) { write_or_fail(cc, message); };
        c.on_data = [&](Conn& cc, std::string_view d) {
            cc.received.append(d);
            if (cc.received.size() >= message.size()) cc.stream->close();
        };
    });
    run();

    ASSERT_NE(server_, nullptr);
    EXPECT_TRUE(client.handshake_done);
    EXPECT_TRUE(server_->handshake_done);
    EXPECT_EQ(server_->received, message);
    EXPECT_EQ(client.received, message);
    EXPECT_EQ(client.closed, StreamCloseReason::Local) << client.close_detail;
    EXPECT_EQ(server_->closed, StreamCloseReason::PeerClosed) << server_->close_detail;
    EXPECT_EQ(client.last_queue_report, 0U);
}

TEST_F(TlsStreamLoopTest, SessionDetailsAfterTheHandshake) {
    std::string version, cipher, verify_error;
    bool verified = false;
    IdentityMatch identity = IdentityMatch::None;
    server_hooks = [&](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
        s.on_handshake = [&](Conn& c) {
            const TlsSession* session = c.stream->session();
            ASSERT_NE(session, nullptr);
            version = session->protocol_version();
            cipher = session->cipher();
            verified = session->peer_chain_verified();
            verify_error = session->verify_error();
            identity = session->peer_identity("client.test");
            c.stream->close();
        };
    };
    connect([&](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
    });
    run();
    EXPECT_EQ(version, "TLSv1.3");
    EXPECT_FALSE(cipher.empty());
    EXPECT_TRUE(verified) << verify_error;  // serverAuth-only client certificate
    EXPECT_EQ(identity, IdentityMatch::DnsId);
    EXPECT_EQ(server_->closed, StreamCloseReason::Local) << server_->close_detail;
}

TEST_F(TlsStreamLoopTest, WrongNameIsRefused) {
    server_hooks = [this](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
    };
    Conn& client = connect([this](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("wrong.test")).has_value());
    });
    run();

    ASSERT_TRUE(client.handshake_error.has_value());
    EXPECT_EQ(client.handshake_error->code, TlsErrorCode::PeerVerifyFailed);
    EXPECT_THAT(client.handshake_error->text, HasSubstr("hostname mismatch"));
    EXPECT_FALSE(client.handshake_done);
    EXPECT_EQ(client.closed, StreamCloseReason::TlsFailed);
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->handshake_error.has_value());
    EXPECT_EQ(server_->handshake_error->code, TlsErrorCode::PeerRejected)
        << server_->handshake_error->describe();
    EXPECT_EQ(server_->closed, StreamCloseReason::TlsFailed);
}

TEST_F(TlsStreamLoopTest, PeerClosingMidHandshakeIsAFailure) {
    server_hooks = [this](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
    };
    // The client speaks plaintext: half a ClientHello, then a graceful close.
    auto hello_session = TlsSession::create(*client_ctx_, strict("server.test"));
    ASSERT_TRUE(hello_session.has_value());
    std::string hello = hello_session->take_outbox();
    Conn& client = connect([&](Conn& c) {
        write_or_fail(c, std::string_view(hello).substr(0, hello.size() / 2));
        c.stream->close();
    });
    run();

    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->handshake_error.has_value());
    EXPECT_EQ(server_->handshake_error->code, TlsErrorCode::PeerClosed);
    EXPECT_EQ(server_->closed, StreamCloseReason::PeerEof);
    EXPECT_FALSE(server_->handshake_done);
    EXPECT_EQ(client.closed, StreamCloseReason::Local) << client.close_detail;
}

TEST_F(TlsStreamLoopTest, PeerResettingMidHandshakeIsAFailure) {
    server_hooks = [this](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
    };
    auto hello_session = TlsSession::create(*client_ctx_, strict("server.test"));
    ASSERT_TRUE(hello_session.has_value());
    std::string hello = hello_session->take_outbox();
    Conn& client = connect([&](Conn& c) {
        // Half a ClientHello; once it is on the wire, abort with a TCP reset.
        c.on_written = [](Conn& cc) { EXPECT_EQ(uv_tcp_close_reset(&cc.tcp, &on_conn_closed), 0); };
        write_or_fail(c, std::string_view(hello).substr(0, hello.size() / 2));
    });
    run();
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->handshake_error.has_value());
    EXPECT_EQ(server_->handshake_error->code, TlsErrorCode::PeerClosed);
    ASSERT_TRUE(server_->closed.has_value());
    EXPECT_TRUE(*server_->closed == StreamCloseReason::TransportError ||
                *server_->closed == StreamCloseReason::PeerEof)
        << describe(*server_->closed) << ": " << server_->close_detail;
    EXPECT_FALSE(client.closed.has_value()) << "an aborted stream stays quiet";
}

TEST_F(TlsStreamLoopTest, PlaintextXmlToADirectTlsPortFails) {
    server_hooks = [this](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
    };
    Conn& client = connect([&](Conn& c) {
        write_or_fail(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:server'>");
    });
    run();
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->handshake_error.has_value());
    EXPECT_EQ(server_->handshake_error->code, TlsErrorCode::HandshakeFailed);
    EXPECT_EQ(server_->closed, StreamCloseReason::TlsFailed);
    // The plaintext client sees the alert bytes, then the end of the connection.
    EXPECT_TRUE(client.closed == StreamCloseReason::PeerClosed ||
                client.closed == StreamCloseReason::TransportError)
        << client.close_detail;
}

TEST_F(TlsStreamLoopTest, StartTlsAfterPlaintext) {
    // RFC 6120 5.4.2: <starttls/>, <proceed/>, then TLS on the same socket.
    std::string server_plain;
    std::string server_secret;
    server_hooks = [&](Conn& s) {
        s.on_data = [&](Conn& c, std::string_view d) {
            if (c.stream->is_tls()) {
                server_secret.append(d);
                write_or_fail(c, d);
                return;
            }
            server_plain.append(d);
            auto pos = server_plain.find("<starttls/>");
            if (pos == std::string::npos) return;
            std::string leftover = server_plain.substr(pos + 11);
            server_plain.resize(pos + 11);
            write_or_fail(c, "<proceed/>");
            ASSERT_TRUE(c.stream->start_tls(*server_ctx_, {}, leftover).has_value());
        };
    };
    std::string client_plain;
    Conn& client = connect([&](Conn& c) {
        write_or_fail(c, "<stream:stream to='server.test'>");
        write_or_fail(c, "<starttls/>");
        c.on_data = [&](Conn& cc, std::string_view d) {
            if (!cc.stream->is_tls()) {
                client_plain.append(d);
                if (client_plain.find("<proceed/>") != std::string::npos) {
                    ASSERT_TRUE(
                        cc.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
                }
                return;
            }
            cc.received.append(d);
            if (cc.received == "after tls") cc.stream->close();
        };
        c.on_handshake = [&](Conn& cc) { write_or_fail(cc, "after tls"); };
    });
    run();

    EXPECT_EQ(server_plain, "<stream:stream to='server.test'><starttls/>");
    EXPECT_EQ(client_plain, "<proceed/>");
    EXPECT_EQ(server_secret, "after tls");
    EXPECT_EQ(client.received, "after tls");
    EXPECT_TRUE(client.handshake_done);
    ASSERT_NE(server_, nullptr);
    EXPECT_TRUE(server_->handshake_done);
    EXPECT_EQ(client.closed, StreamCloseReason::Local);
    EXPECT_EQ(server_->closed, StreamCloseReason::PeerClosed);
}

TEST_F(TlsStreamLoopTest, StartTlsHandsOverBytesThatArrivedWithTheCommand) {
    // A client that pipelines its ClientHello right behind the plaintext command: whatever
    // arrived after the command is TLS and must reach the session, not the plaintext path.
    std::string server_plain;
    server_hooks = [&](Conn& s) {
        s.on_data = [&](Conn& c, std::string_view d) {
            if (c.stream->is_tls()) {
                c.received.append(d);
                if (c.received == "pipelined") c.stream->close();
                return;
            }
            server_plain.append(d);
            auto pos = server_plain.find("STARTTLS\n");
            if (pos == std::string::npos) return;
            std::string leftover = server_plain.substr(pos + 9);
            server_plain.resize(pos + 9);
            ASSERT_TRUE(c.stream->start_tls(*server_ctx_, {}, leftover).has_value());
        };
    };
    Conn& client = connect([&](Conn& c) {
        write_or_fail(c, "STARTTLS\n");
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
        write_or_fail(c, "pipelined");  // queued until the handshake completes
    });
    run();
    EXPECT_EQ(server_plain, "STARTTLS\n");
    ASSERT_NE(server_, nullptr);
    EXPECT_EQ(server_->received, "pipelined");
    EXPECT_EQ(server_->closed, StreamCloseReason::Local);
    EXPECT_EQ(client.closed, StreamCloseReason::PeerClosed);
}

TEST_F(TlsStreamLoopTest, BulkTransferWithBackpressure) {
    constexpr std::size_t kChunk = 64 * 1024;
    constexpr std::size_t kTotal = 4 * 1024 * 1024;
    std::size_t received = 0;
    bool content_ok = true;
    int pauses = 0;
    uv_timer_t resume{};
    ASSERT_EQ(uv_timer_init(&loop_, &resume), 0);
    server_hooks = [&](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
        resume.data = &s;
        s.on_data = [&](Conn& c, std::string_view d) {
            for (char ch : d) {
                if (ch != static_cast<char>('a' + (received % 26))) content_ok = false;
                ++received;
            }
            if (received == kTotal) {
                c.stream->close();
                uv_close(reinterpret_cast<uv_handle_t*>(&resume), nullptr);
            } else if (pauses < 3 && received > (pauses + 1) * kTotal / 4) {
                // Backpressure: stop reading for a moment, as if the paired side were full.
                ++pauses;
                c.stream->stop_reading();
                uv_timer_start(
                    &resume,
                    [](uv_timer_t* t) {
                        EXPECT_EQ(static_cast<Conn*>(t->data)->stream->start_reading(), 0);
                    },
                    5, 0);
            }
        };
    };
    Conn& client = connect([&](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
        c.on_handshake = [&](Conn& cc) {
            std::string chunk(kChunk, '\0');
            for (std::size_t sent = 0; sent < kTotal; sent += kChunk) {
                for (std::size_t i = 0; i < kChunk; ++i) {
                    chunk[i] = static_cast<char>('a' + ((sent + i) % 26));
                }
                write_or_fail(cc, chunk);
                cc.max_queue_seen = std::max(cc.max_queue_seen, cc.stream->write_queue_bytes());
            }
        };
    });
    run();
    auto* resume_handle = reinterpret_cast<uv_handle_t*>(&resume);
    if (!uv_is_closing(resume_handle)) {  // only when the scenario failed half-way
        uv_close(resume_handle, nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
    }
    EXPECT_EQ(received, kTotal);
    EXPECT_TRUE(content_ok);
    EXPECT_EQ(pauses, 3);
    EXPECT_GT(client.max_queue_seen, 0U) << "a 4 MiB burst cannot all be written at once";
    EXPECT_EQ(client.last_queue_report, 0U);
    EXPECT_EQ(client.stream, nullptr);
    EXPECT_EQ(client.closed, StreamCloseReason::PeerClosed) << client.close_detail;
}

TEST_F(TlsStreamLoopTest, OwnerAbortWithWritesPending) {
    // The owner may uv_close at any moment: the stream goes quiet, its requests are cancelled
    // and freed, and the peer sees the connection end.
    server_hooks = [&](Conn& s) {
        ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value());
        s.on_handshake = [&](Conn& c) {
            write_or_fail(c, std::string(1024 * 1024, 'x'));
            uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), &on_conn_closed);
        };
    };
    Conn& client = connect([&](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
    });
    run();
    ASSERT_NE(server_, nullptr);
    EXPECT_FALSE(server_->closed.has_value()) << "no callbacks after the owner's uv_close";
    ASSERT_TRUE(client.closed.has_value());
    EXPECT_TRUE(*client.closed == StreamCloseReason::PeerEof ||
                *client.closed == StreamCloseReason::TransportError)
        << describe(*client.closed) << ": " << client.close_detail;
}

TEST_F(TlsStreamLoopTest, WritesAfterCloseAreRefused) {
    server_hooks = [&](Conn& s) { ASSERT_TRUE(s.stream->start_tls(*server_ctx_, {}).has_value()); };
    bool late_write = true;
    connect([&](Conn& c) {
        ASSERT_TRUE(c.stream->start_tls(*client_ctx_, strict("server.test")).has_value());
        c.on_handshake = [&](Conn& cc) {
            cc.stream->close();
            late_write = cc.stream->write("too late");
        };
    });
    run();
    EXPECT_FALSE(late_write);
}

}  // namespace
}  // namespace fedgw
