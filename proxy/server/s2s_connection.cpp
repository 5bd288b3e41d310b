// S2sConnection: one partner TCP connection with its TlsStream, its timer and its stream core
// (RFC 6120 §4-§6 live in the cores; this file moves their bytes, timers and actions). See
// s2s_connection.hpp.
//
// Loop-bound.
#include "proxy/server/s2s_connection.hpp"

#include <cassert>

#include "common/log/log.hpp"
#include "proxy/server/status_helpers.hpp"

namespace fedgw::proxy {
namespace {

constexpr std::size_t kHighWater = 1 << 20;  // write queue above this: ask for backpressure
constexpr std::size_t kLowWater = 256 << 10;
constexpr std::size_t kExtraDeadline = 5;     // index of the connect / close deadline
constexpr std::uint64_t kCloseWaitMs = 5000;  // how long a closing peer may take to answer

std::string address_text(const sockaddr* sa) {
    char host[64] = "?";
    if (sa->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
        uv_ip6_name(a, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    if (sa->sa_family != AF_INET) return "?";
    const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(a, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

std::string peer_address(const uv_tcp_t* tcp) {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    return address_text(reinterpret_cast<const sockaddr*>(&ss));
}

}  // namespace

std::string_view name(Direction d) {
    return d == Direction::Inbound ? "in" : "out";
}

S2sConnection::S2sConnection(uv_loop_t* loop, ConnectionOwner& owner, std::uint64_t id,
                             Direction dir)
    : loop_(loop),
      owner_(owner),
      id_(id),
      dir_(dir),
      box_(new TcpBox{uv_tcp_t{}, this}),
      tcp_(&box_->tcp),
      timer_(new uv_timer_t) {
    uv_tcp_init(loop_, tcp_);
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    started_ms_ = now();
}

S2sConnection::~S2sConnection() {
    // Handles are closed (open_handles_ == 0) before the owner destroys us; the TLS adapter
    // goes with us.
    assert(open_handles_ == 0);
}

InboundStream* S2sConnection::inbound() {
    auto* p = std::get_if<std::unique_ptr<InboundStream>>(&core_);
    return p ? p->get() : nullptr;
}

OutboundStream* S2sConnection::outbound() {
    auto* p = std::get_if<std::unique_ptr<OutboundStream>>(&core_);
    return p ? p->get() : nullptr;
}

void S2sConnection::attach_stream() {
    TlsStream::Callbacks cb;
    cb.on_data = [this](std::string_view d) { on_data(d); };
    cb.on_handshake_done = [this] { tls_done(); };
    cb.on_handshake_failed = [this](const TlsError& e) {
        log::warn("s2s.tls_failed", {{"conn", id_},
                                     {"direction", name(dir_)},
                                     {"remote", remote_domain_},
                                     {"reason", e.describe()}});
        if (auto* in = inbound()) in->on_tls_failed(e.describe());
        if (auto* out = outbound()) out->on_tls_failed(e.describe());
        pump();
    };
    cb.on_write_done = [this](std::size_t queued) {
        if (high_water_ && queued < kLowWater) {
            high_water_ = false;
            owner_.on_backpressure(id_, false);
        }
    };
    cb.on_closed = [this](StreamCloseReason r, std::string_view detail) {
        std::string why(describe(r));
        if (!detail.empty()) why += ": " + std::string(detail);
        transport_closed(why);
    };
    tls_ = std::make_unique<TlsStream>(reinterpret_cast<uv_stream_t*>(tcp_), std::move(cb));
    tls_->set_user_data(this);
    remote_address_ = peer_address(tcp_);
}

void S2sConnection::start_inbound(std::unique_ptr<InboundStream> core,
                                  const TlsContext* direct_tls) {
    core_ = std::move(core);
    direct_tls_ = direct_tls != nullptr;
    attach_stream();
    log::info("s2s.accepted",
              {{"conn", id_}, {"remote_address", remote_address_}, {"direct_tls", direct_tls_}});
    if (tls_->start_reading() != 0) {
        transport_closed("cannot read from the accepted socket");
        return;
    }
    if (direct_tls) {
        // XEP-0368: the handshake comes first; the peer's SNI picks our certificate.
        auto r = tls_->start_tls(*direct_tls, TlsSessionOptions{});
        if (!r) {
            inbound()->on_tls_failed(r.error().describe());
            pump();
            return;
        }
    }
    pump();
}

void S2sConnection::start_outbound(std::unique_ptr<OutboundStream> core, const sockaddr* addr,
                                   std::string local_domain, std::string remote_domain,
                                   std::uint64_t connect_timeout_ms, bool direct_tls) {
    core_ = std::move(core);
    direct_tls_ = direct_tls;
    local_domain_ = std::move(local_domain);
    remote_domain_ = std::move(remote_domain);
    remote_address_ = address_text(addr);
    connect_ = new uv_connect_t;
    connect_->data = this;  // cleared if we close first
    int rc = uv_tcp_connect(connect_, tcp_, addr, on_connect);
    if (rc != 0) {
        delete connect_;
        connect_ = nullptr;
        log::warn("s2s.connect_failed", {{"conn", id_},
                                         {"remote", remote_domain_},
                                         {"address", remote_address_},
                                         {"reason", uv_strerror(rc)}});
        transport_error_ = "cannot connect to " + remote_address_ + ": " + uv_strerror(rc);
        outbound()->on_transport_closed();
        pump();
        close_handles();
        return;
    }
    deadlines_[kExtraDeadline] = now() + connect_timeout_ms;
    arm_timer();
}

void S2sConnection::on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<S2sConnection*>(req->data);
    delete req;
    if (status == UV_ECANCELED || !self) return;  // closed while connecting
    self->connect_ = nullptr;
    self->deadlines_[kExtraDeadline].reset();
    if (status != 0) {
        log::warn("s2s.connect_failed", {{"conn", self->id_},
                                         {"remote", self->remote_domain_},
                                         {"address", self->remote_address_},
                                         {"reason", uv_strerror(status)}});
        self->transport_error_ =
            "cannot connect to " + self->remote_address_ + ": " + uv_strerror(status);
        self->outbound()->on_transport_closed();
        self->pump();
        self->close_handles();
        return;
    }
    self->attach_stream();
    log::info("s2s.connected", {{"conn", self->id_},
                                {"remote", self->remote_domain_},
                                {"remote_address", self->remote_address_}});
    if (self->tls_->start_reading() != 0) {
        self->transport_closed("cannot read from the connected socket");
        return;
    }
    self->outbound()->start(self->now());
    self->pump();
}

void S2sConnection::on_data(std::string_view data) {
    bytes_in_ += data.size();
    feed_core(data);
}

void S2sConnection::feed_core(std::string_view data) {
    std::size_t used = 0;
    if (auto* in = inbound())
        used = in->feed(data, now());
    else if (auto* out = outbound())
        used = out->feed(data, now());
    // Bytes after <proceed/> belong to TLS, never to the XML parser: keep them for StartTls.
    if (used < data.size()) pending_.assign(data.substr(used));
    pump();
    pending_.clear();
}

void S2sConnection::pump() {
    std::vector<StreamAction> actions;
    if (auto* in = inbound())
        actions = in->take_actions();
    else if (auto* out = outbound())
        actions = out->take_actions();
    for (auto& a : actions)
        handle(a);
}

void S2sConnection::handle(StreamAction& action) {
    if (auto* w = std::get_if<WriteBytes>(&action)) {
        if (!tls_ || closing_) return;
        bytes_out_ += w->bytes.size();
        if (!tls_->write(w->bytes)) return;
        if (!high_water_ && tls_->write_queue_bytes() > kHighWater) {
            high_water_ = true;
            owner_.on_backpressure(id_, true);
        }
    } else if (auto* st = std::get_if<StartTls>(&action)) {
        begin_tls(*st, pending_);
        pending_.clear();
    } else if (auto* arm = std::get_if<ArmTimer>(&action)) {
        deadlines_[static_cast<std::size_t>(arm->kind)] = now() + arm->after_ms;
        arm_timer();
    } else if (auto* cancel = std::get_if<CancelTimer>(&action)) {
        deadlines_[static_cast<std::size_t>(cancel->kind)].reset();
        arm_timer();
    } else if (auto* p = std::get_if<PauseReading>(&action)) {
        throttled_ = p->pause;  // over the partner's stanza rate (InboundStream)
        update_reading();
    } else if (auto* auth = std::get_if<DomainAuthenticated>(&action)) {
        local_domain_ = auth->local;
        remote_domain_ = auth->remote;
        owner_.on_stream_action(id_, action);
    } else if (auto* cl = std::get_if<CloseStream>(&action)) {
        // The core only knows the transport went away; say how, for the log and the bounces.
        if (!transport_error_.empty()) {
            cl->reason = transport_error_ + " (" + cl->reason + ")";
            if (connect_timed_out_ && cl->bounce) cl->bounce = StanzaCondition::RemoteServerTimeout;
        }
        owner_.on_stream_action(id_, action);
        shutdown();
    } else {
        owner_.on_stream_action(id_, action);
    }
}

void S2sConnection::begin_tls(const StartTls& st, std::string_view leftover) {
    const TlsContext* ctx = dir_ == Direction::Inbound
                                ? owner_.server_tls(inbound() ? inbound()->local_domain() : "")
                                : owner_.client_tls(local_domain_, direct_tls_);
    TlsSessionOptions opts;
    opts.verification = PeerVerification::Record;  // the core decides what an error means
    if (dir_ == Direction::Outbound) {
        opts.reference_domain = st.remote_domain;
        opts.server_name = st.remote_domain;
    }
    if (!ctx) {
        if (auto* in = inbound()) in->on_tls_failed("no TLS context configured");
        if (auto* out = outbound()) out->on_tls_failed("no TLS certificate for our domain");
        pump();
        return;
    }
    auto r = tls_->start_tls(*ctx, opts, leftover);
    if (!r) {
        if (auto* in = inbound()) in->on_tls_failed(r.error().describe());
        if (auto* out = outbound()) out->on_tls_failed(r.error().describe());
        pump();
    }
}

void S2sConnection::tls_done() {
    const TlsSession* s = tls_->session();
    TlsFacts facts;
    facts.chain_verified = s->peer_chain_verified();
    facts.verify_error = s->verify_error();
    facts.protocol = std::string(s->protocol_version());
    facts.cipher = std::string(s->cipher());
    tls_protocol_ = facts.protocol;
    tls_cipher_ = facts.cipher;
    alpn_ = std::string(s->alpn());
    facts.covers = [s](std::string_view domain) {
        return s->peer_identity(domain) != IdentityMatch::None;
    };
    log::info("s2s.tls", {{"conn", id_},
                          {"direction", name(dir_)},
                          {"protocol", facts.protocol},
                          {"cipher", facts.cipher},
                          {"alpn", alpn_},
                          {"peer_verified", facts.chain_verified},
                          {"verify_error", facts.verify_error}});
    if (dir_ == Direction::Inbound && direct_tls_ && alpn_ != kXmppServerAlpn) {
        // XEP-0368 §3: a direct TLS s2s client offers ALPN "xmpp-server". One that offers none
        // or only other protocols (h2, xmpp-client) reached the wrong port or speaks another
        // protocol: no stream is opened, not a byte of XML written; close_notify ends it.
        // The server context selects only "xmpp-server", so any other offer reads as none.
        const std::string reason = "the client's ALPN offer lacks \"xmpp-server\" (XEP-0368 §3)";
        log::warn("s2s.alpn_refused",
                  {{"conn", id_}, {"remote_address", remote_address_}, {"reason", reason}});
        inbound()->on_tls_failed(reason);
        pump();
        return;
    }
    if (auto* in = inbound()) in->on_tls_established(facts, now());
    if (auto* out = outbound()) out->on_tls_established(facts, now());
    pump();
}

void S2sConnection::arm_timer() {
    if (!timer_) return;
    std::optional<std::uint64_t> next;
    for (const auto& d : deadlines_)
        if (d && (!next || *d < *next)) next = d;
    if (!next || uv_is_closing(reinterpret_cast<uv_handle_t*>(timer_))) {
        uv_timer_stop(timer_);
        return;
    }
    std::uint64_t t = now();
    uv_timer_start(timer_, on_timer, *next > t ? *next - t : 0, 0);
}

void S2sConnection::on_timer(uv_timer_t* t) {
    static_cast<S2sConnection*>(t->data)->timer_fired();
}

void S2sConnection::timer_fired() {
    std::uint64_t t = now();
    for (std::size_t k = 0; k < deadlines_.size(); ++k) {
        if (!deadlines_[k] || *deadlines_[k] > t) continue;
        deadlines_[k].reset();
        if (k == kExtraDeadline) {
            // A connect that never completed, or a closing peer that never answered.
            log::warn("s2s.deadline", {{"conn", id_},
                                       {"remote", remote_domain_},
                                       {"what", closing_ ? "close" : "connect"}});
            if (!closing_) {
                transport_error_ = "no TCP connection to " + remote_address_ +
                                   " within the "
                                   "connect timeout";
                connect_timed_out_ = true;
                if (auto* out = outbound()) out->on_transport_closed();
                pump();
            }
            close_handles();
            return;
        }
        if (auto* in = inbound()) in->on_timer(static_cast<TimerKind>(k), t);
        if (auto* out = outbound()) out->on_timer(static_cast<TimerKind>(k), t);
        pump();
    }
    arm_timer();
}

void S2sConnection::pause_reading() {
    if (!tls_ || closing_) return;
    backpressure_paused_ = true;
    update_reading();
}

void S2sConnection::resume_reading() {
    backpressure_paused_ = false;
    update_reading();
}

void S2sConnection::update_reading() {
    const bool pause = backpressure_paused_ || throttled_;
    if (pause == reading_paused_ || !tls_ || closing_) return;
    reading_paused_ = pause;
    if (pause)
        tls_->stop_reading();
    else
        tls_->start_reading();
}

void S2sConnection::shutdown() {
    if (closing_) return;
    closing_ = true;
    for (std::size_t k = 0; k + 1 < deadlines_.size(); ++k)
        deadlines_[k].reset();
    if (tls_ && !tls_->is_closing()) {
        deadlines_[kExtraDeadline] = now() + kCloseWaitMs;
        arm_timer();
        tls_->close();  // flushes the stream close, then close_notify; on_closed follows
        return;
    }
    close_handles();
}

void S2sConnection::transport_closed(std::string_view why) {
    log::info("s2s.closed", {{"conn", id_},
                             {"direction", name(dir_)},
                             {"remote", remote_domain_},
                             {"why", why},
                             {"bytes_in", bytes_in_},
                             {"bytes_out", bytes_out_}});
    if (!closing_) {
        closing_ = true;
        transport_error_ = "connection with " + remote_address_ + " lost: " + std::string(why);
        if (auto* in = inbound()) in->on_transport_closed();
        if (auto* out = outbound()) out->on_transport_closed();
        pump();
    }
    close_handles();
}

void S2sConnection::close_handles() {
    closing_ = true;
    auto* h1 = reinterpret_cast<uv_handle_t*>(timer_);
    auto* h2 = reinterpret_cast<uv_handle_t*>(tcp_);
    if (h1 && !uv_is_closing(h1)) uv_close(h1, on_timer_closed);
    if (h2 && !uv_is_closing(h2)) uv_close(h2, on_tcp_closed);
}

void S2sConnection::on_tcp_closed(uv_handle_t* h) {
    auto* box = reinterpret_cast<TcpBox*>(h);
    S2sConnection* self = box->self;
    self->tls_.reset();  // before the handle it points at goes
    delete box;
    self->box_ = nullptr;
    self->tcp_ = nullptr;
    if (--self->open_handles_ == 0) self->owner_.on_connection_finished(self->id_);
}

void S2sConnection::on_timer_closed(uv_handle_t* h) {
    auto* self = static_cast<S2sConnection*>(h->data);
    delete self->timer_;
    self->timer_ = nullptr;
    if (--self->open_handles_ == 0) self->owner_.on_connection_finished(self->id_);
}

ConnectionStats S2sConnection::stats() const {
    ConnectionStats s;
    s.id = id_;
    s.direction = dir_;
    s.remote_address = remote_address_;
    s.local_domain = local_domain_;
    s.remote_domain = remote_domain_;
    s.tls_protocol = tls_protocol_;
    s.tls_cipher = tls_cipher_;
    s.direct_tls = direct_tls_;
    s.alpn = alpn_;
    s.started_ms = started_ms_;
    s.bytes_in = bytes_in_;
    s.bytes_out = bytes_out_;
    s.write_queue_bytes = tls_ ? tls_->write_queue_bytes() : 0;
    bool established = false;
    if (const auto* in = std::get_if<std::unique_ptr<InboundStream>>(&core_); in && *in) {
        const InboundStream& c = **in;
        established = c.state() == InboundStream::State::Established;
        s.partner_domain = std::string(c.partner_domain());
        if (!c.authenticated_pairs().empty()) s.auth = c.authenticated_pairs().front().method;
        if (s.local_domain.empty()) s.local_domain = c.local_domain();
        s.stanzas_in = c.counters().stanzas_in;
        s.stanzas_out = c.counters().stanzas_out;
    } else if (const auto* out = std::get_if<std::unique_ptr<OutboundStream>>(&core_);
               out && *out) {
        const OutboundStream& c = **out;
        established = c.is_ready() || c.state() == OutboundStream::State::VerifyOnly;
        s.partner_domain = c.partner().domain.empty() ? remote_domain_ : c.partner().domain;
        s.auth = c.auth_method();
        s.stanzas_out = c.counters().stanzas_out;
        s.keepalives_out = c.counters().keepalives_out;
    }
    if (closing_)
        s.state = "closing";
    else if (connect_)
        s.state = "connecting";
    else
        s.state = established ? "established" : "negotiating";
    return s;
}

}  // namespace fedgw::proxy
