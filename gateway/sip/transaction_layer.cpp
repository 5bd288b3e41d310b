// SipStack's transaction layer: libosip2's NICT and NIST machines driven from libuv, their
// callbacks, the timer overrides that make T1/T2/T4 configurable, the graveyard, and the
// queued user callbacks; see sip_stack.hpp. RFC 3261 §17.1.2 (NICT), §17.2.2 (NIST).
// Loop-bound.
#include <algorithm>

#include "common/log/log.hpp"
#include "gateway/sip/routing.hpp"
#include "gateway/sip/sip_stack_impl.hpp"

namespace fedgw::gateway::sip {
namespace {

SipStack::Impl* impl_of(osip_transaction_t* tr) {
    if (tr == nullptr || tr->config == nullptr) return nullptr;
    return static_cast<SipStack::Impl*>(
        osip_get_application_context(static_cast<osip_t*>(tr->config)));
}

void message_cb(int type, osip_transaction_t* tr, osip_message_t* msg) {
    if (auto* self = impl_of(tr)) self->on_osip_message(type, tr, msg);
}

void kill_cb(int, osip_transaction_t* tr) {
    if (auto* self = impl_of(tr)) self->on_osip_kill(tr);
}

void transport_error_cb(int type, osip_transaction_t* tr, int error) {
    if (auto* self = impl_of(tr)) self->on_osip_transport_error(type, tr, error);
}

int send_cb(osip_transaction_t* tr, osip_message_t* msg, char*, int, int) {
    auto* self = impl_of(tr);
    return self != nullptr ? self->send_for(tr, msg) : -1;
}

// Restarts one of libosip2's timers `ms` from now, on its own (wall) clock.
void restart(struct timeval* start, std::uint32_t ms) {
    osip_gettimeofday(start, nullptr);
    add_gettimeofday(start, static_cast<int>(ms));
}

}  // namespace

void SipStack::Impl::install_callbacks() {
    osip_set_cb_send_message(osip, &send_cb);
    for (int t = 0; t < OSIP_MESSAGE_CALLBACK_COUNT; ++t)
        osip_set_message_callback(osip, t, &message_cb);
    for (int t = 0; t < OSIP_KILL_CALLBACK_COUNT; ++t)
        osip_set_kill_transaction_callback(osip, t, &kill_cb);
    for (int t = 0; t < OSIP_TRANSPORT_ERROR_CALLBACK_COUNT; ++t)
        osip_set_transport_error_callback(osip, t, &transport_error_cb);
}

ClientCtx* SipStack::Impl::client_of(osip_transaction_t* tr) {
    auto it = clients.find(tx_id(tr));
    return (it != clients.end() && it->second->tr == tr) ? it->second.get() : nullptr;
}

ServerCtx* SipStack::Impl::server_of(osip_transaction_t* tr) {
    auto it = servers.find(tx_id(tr));
    return (it != servers.end() && it->second->tr == tr) ? it->second.get() : nullptr;
}

// libosip2 compiles T1 (500 ms), T2 (4 s) and T4 (5 s) in; these fields are what it reads.
void SipStack::Impl::tune_client_timers(ClientCtx& c) {
    osip_nict_t* n = c.tr->nict_context;
    const SipTimers& t = options.timers;
    if (c.destination.transport == SipTransport::Udp) {
        n->timer_e_length = static_cast<int>(t.t1_ms);  // first retransmission after T1
        n->timer_k_length = static_cast<int>(t.t4_ms);  // absorb response retransmissions
    } else {
        n->timer_k_length = 0;  // reliable: no retransmissions to absorb
    }
    n->timer_f_length = static_cast<int>(64 * t.t1_ms);
    restart(&n->timer_f_start, 64 * t.t1_ms);
    c.e_interval_ms = t.t1_ms;
}

void SipStack::Impl::kick() {
    if (closed || idle == nullptr || uv_is_active(reinterpret_cast<uv_handle_t*>(idle))) return;
    uv_idle_start(idle, [](uv_idle_t* h) {
        uv_idle_stop(h);
        static_cast<SipStack::Impl*>(h->data)->pass();
    });
}

void SipStack::Impl::pass() {
    if (closed) return;
    process_failed_connections();
    expire_deadlines();
    osip_timers_nict_execute(osip);
    osip_timers_nist_execute(osip);
    osip_nict_execute(osip);
    osip_nist_execute(osip);
    bury_dead();
    const auto token = alive;
    run_deliveries();
    if (!*token || closed) return;
    arm_timer();
}

void SipStack::Impl::arm_timer() {
    struct timeval tv {};
    osip_timers_gettimeout(osip, &tv);
    std::uint64_t ms = static_cast<std::uint64_t>(tv.tv_sec) * 1000 +
                       static_cast<std::uint64_t>((tv.tv_usec + 999) / 1000);
    if (!deadlines.empty()) {
        const std::uint64_t now = uv_now(loop);
        const std::uint64_t first = deadlines.begin()->first;
        ms = std::min(ms, first > now ? first - now : 0);
    }
    // At least 1 ms: libosip2 compares against the wall clock, which may lag the loop's.
    ms = std::clamp<std::uint64_t>(ms, 1, 3'600'000);
    uv_timer_start(
        timer, [](uv_timer_t* t) { static_cast<SipStack::Impl*>(t->data)->pass(); }, ms, 0);
}

void SipStack::Impl::deliver(ClientCtx& c, Result<SipMessage, RequestError> result) {
    if (c.done) return;
    c.done = true;
    if (!c.callback) return;
    Delivery d;
    d.kind = Delivery::Kind::Response;
    d.client_id = c.id;
    d.callback = std::move(c.callback);
    d.result.emplace(std::move(result));
    deliveries.push_back(std::move(d));
}

void SipStack::Impl::run_deliveries() {
    const auto token = alive;
    while (*token && !deliveries.empty()) {
        Delivery d = std::move(deliveries.front());
        deliveries.pop_front();
        if (d.kind == Delivery::Kind::Response) {
            if (d.callback) d.callback(std::move(*d.result));
        } else if (!closed) {
            if (handler) {
                handler(*d.request, d.transaction);
            } else if (auto it = servers.find(d.transaction.id); it != servers.end()) {
                (void)respond(*it->second, 501, {}, {});
            }
        }
    }
}

void SipStack::Impl::bury_dead() {
    std::vector<osip_transaction_t*> dead = std::move(graveyard);
    graveyard.clear();
    for (osip_transaction_t* tr : dead) {
        const std::uint64_t id = tx_id(tr);
        if (tr->ctx_type == NICT) {
            if (auto it = clients.find(id); it != clients.end() && it->second->tr == tr) {
                clients.erase(it);
            }
        } else if (auto it = servers.find(id); it != servers.end() && it->second->tr == tr) {
            deadlines.erase({it->second->deadline, id});
            servers.erase(it);
        }
        osip_transaction_free2(tr);
    }
}

void SipStack::Impl::process_failed_connections() {
    auto failed = std::move(failed_connections);
    failed_connections.clear();
    for (const auto& [conn, reason] : failed) {
        for (auto& [id, c] : clients) {
            if (c->connection != conn || c->tr == nullptr) continue;
            if (!c->done) {
                log::warn("sip.request_failed", {{"request", c->description},
                                                 {"failure", "transport-error"},
                                                 {"detail", reason}});
                deliver(*c, Unexpected(RequestError{RequestFailure::TransportError,
                                                    "connection to " + c->destination.to_string() +
                                                        " closed: " + reason}));
            }
            // The transaction cannot go on without its connection: end it now.
            osip_remove_transaction(osip, c->tr);
            graveyard.push_back(c->tr);
            c->connection = 0;
        }
        for (auto& [id, s] : servers) {
            if (s->connection == conn) s->connection = 0;  // answers reconnect (§18.2.2)
        }
    }
}

void SipStack::Impl::expire_deadlines() {
    const std::uint64_t now = uv_now(loop);
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
        const std::uint64_t id = deadlines.begin()->second;
        deadlines.erase(deadlines.begin());
        auto it = servers.find(id);
        if (it == servers.end() || it->second->final_sent) continue;
        log::warn("sip.answer_deadline",
                  {{"method", it->second->request ? it->second->request->method() : ""},
                   {"source", it->second->source.to_string()}});
        (void)respond(*it->second, 504, {}, {});
    }
}

int SipStack::Impl::send_for(osip_transaction_t* tr, osip_message_t* msg) {
    auto bytes = SipMessage::serialize(msg);
    if (!bytes) {
        log::error("sip.serialise_failed", {{"error", bytes.error().describe()}});
        return -1;
    }
    if (bytes->size() > options.limits.max_message_bytes) {
        log::warn("sip.message_too_large", {{"bytes", bytes->size()}});
        if (ClientCtx* c = client_of(tr)) c->last_error = "the request is too large to send";
        return -1;
    }
    if (ClientCtx* c = client_of(tr)) {
        std::string error;
        bool ok = false;
        if (c->destination.transport == SipTransport::Udp) {
            ok = udp->send(c->udp_socket, c->destination.ip, c->destination.port, *bytes, &error);
        } else {
            c->connection = streams->send_to(c->destination, c->server_name, *bytes, &error);
            ok = c->connection != 0;
        }
        if (!ok) c->last_error = "cannot send to " + c->destination.to_string() + ": " + error;
        return ok ? 0 : -1;
    }
    if (ServerCtx* s = server_of(tr)) {
        const ViaHeader top =
            s->request ? s->request->top_via().value_or(ViaHeader{}) : ViaHeader{};
        std::string error;
        if (!send_response_bytes(*bytes, top, s->source, s->udp_socket, s->connection, &error)) {
            log::warn("sip.response_not_sent",
                      {{"destination", s->source.to_string()}, {"error", error}});
            return -1;
        }
        return 0;
    }
    return -1;
}

void SipStack::Impl::on_osip_message(int type, osip_transaction_t* tr, osip_message_t* msg) {
    if (tr->ctx_type == NICT) {
        ClientCtx* c = client_of(tr);
        if (c == nullptr) return;
        const SipTimers& t = options.timers;
        osip_nict_t* n = tr->nict_context;
        switch (type) {
            case OSIP_NICT_REQUEST_SENT_AGAIN:
                // §17.1.2.2: E doubles up to T2 while Trying, stays at T2 once Proceeding.
                c->e_interval_ms =
                    tr->state == NICT_TRYING ? std::min(c->e_interval_ms * 2, t.t2_ms) : t.t2_ms;
                n->timer_e_length = static_cast<int>(c->e_interval_ms);
                restart(&n->timer_e_start, c->e_interval_ms);
                return;
            case OSIP_NICT_STATUS_1XX_RECEIVED:
                if (n->timer_e_length > 0) {
                    c->e_interval_ms = t.t2_ms;
                    n->timer_e_length = static_cast<int>(t.t2_ms);
                    restart(&n->timer_e_start, t.t2_ms);
                }
                return;
            case OSIP_NICT_STATUS_2XX_RECEIVED:
            case OSIP_NICT_STATUS_3XX_RECEIVED:
            case OSIP_NICT_STATUS_4XX_RECEIVED:
            case OSIP_NICT_STATUS_5XX_RECEIVED:
            case OSIP_NICT_STATUS_6XX_RECEIVED: {
                auto copy = SipMessage::copy_of(msg);
                if (!copy) {
                    deliver(*c, Unexpected(RequestError{RequestFailure::TransportError,
                                                        copy.error().describe()}));
                    return;
                }
                log::debug("sip.response_received",
                           {{"request", c->description}, {"status", copy->status_code()}});
                deliver(*c, std::move(*copy));
                return;
            }
            case OSIP_NICT_STATUS_TIMEOUT:
                log::warn("sip.request_failed",
                          {{"request", c->description}, {"failure", "timeout"}});
                deliver(*c, Unexpected(RequestError{RequestFailure::Timeout,
                                                    "no final response from " +
                                                        c->destination.to_string() + " within " +
                                                        std::to_string(64 * t.t1_ms) + " ms"}));
                return;
            default:
                return;
        }
    }
    if (tr->ctx_type != NIST) return;
    ServerCtx* s = server_of(tr);
    if (s == nullptr) return;
    switch (type) {
        case OSIP_NIST_REGISTER_RECEIVED:
        case OSIP_NIST_BYE_RECEIVED:
        case OSIP_NIST_OPTIONS_RECEIVED:
        case OSIP_NIST_INFO_RECEIVED:
        case OSIP_NIST_CANCEL_RECEIVED:
        case OSIP_NIST_NOTIFY_RECEIVED:
        case OSIP_NIST_SUBSCRIBE_RECEIVED:
        case OSIP_NIST_UNKNOWN_REQUEST_RECEIVED: {
            if (!s->request) return;
            auto copy = s->request->clone();
            if (!copy) return;
            Delivery d;
            d.kind = Delivery::Kind::Request;
            d.request.emplace(std::move(*copy));
            d.transaction = ServerTransaction{s->id, s->source};
            deliveries.push_back(std::move(d));
            return;
        }
        case OSIP_NIST_REQUEST_RECEIVED_AGAIN:
            ++counters.retransmissions_absorbed;
            log::debug("sip.retransmission_absorbed", {{"source", s->source.to_string()}});
            return;
        default:
            return;
    }
}

void SipStack::Impl::on_osip_kill(osip_transaction_t* tr) {
    // Never free here: libosip2 still reads the transaction after this callback returns.
    osip_remove_transaction(osip, tr);
    graveyard.push_back(tr);
    if (tr->ctx_type == NICT) {
        if (ClientCtx* c = client_of(tr); c != nullptr && !c->done) {
            deliver(*c, Unexpected(RequestError{RequestFailure::TransportError,
                                                c->last_error.empty()
                                                    ? "the transaction ended without a response"
                                                    : c->last_error}));
        }
    }
}

void SipStack::Impl::on_osip_transport_error(int, osip_transaction_t* tr, int) {
    if (ClientCtx* c = client_of(tr)) {
        log::warn("sip.request_failed", {{"request", c->description},
                                         {"failure", "transport-error"},
                                         {"detail", c->last_error}});
        deliver(*c,
                Unexpected(RequestError{RequestFailure::TransportError,
                                        c->last_error.empty() ? "send failed" : c->last_error}));
    }
}

}  // namespace fedgw::gateway::sip
