// SipStack's receiving side: parsing what the transports deliver, matching responses to
// client transactions, the trust check, stateless answers (403 to untrusted sources, 488 to
// INVITE, 481 to CANCEL, 503 over the limit), new server transactions, and sending
// responses back (RFC 3261 §8.2, §17.2.3, §18.2). Loop-bound.
#include <algorithm>
#include <cstring>

#include "common/log/log.hpp"
#include "gateway/sip/routing.hpp"
#include "gateway/sip/sip_stack_impl.hpp"

namespace fedgw::gateway::sip {
namespace {

type_t incoming_type(const osip_message_t* m) {
    if (MSG_IS_REQUEST(m)) {
        if (MSG_IS_INVITE(m)) return RCV_REQINVITE;
        if (MSG_IS_ACK(m)) return RCV_REQACK;
        return RCV_REQUEST;
    }
    if (MSG_IS_STATUS_1XX(m)) return RCV_STATUS_1XX;
    if (MSG_IS_STATUS_2XX(m)) return RCV_STATUS_2XX;
    return RCV_STATUS_3456XX;
}

// An event for a message we received; it owns `m`.
osip_event_t* incoming_event(osip_message_t* m) {
    auto* evt = static_cast<osip_event_t*>(osip_malloc(sizeof(osip_event_t)));
    if (evt == nullptr) return nullptr;
    std::memset(evt, 0, sizeof *evt);
    evt->type = incoming_type(m);
    evt->sip = m;
    return evt;
}

// A To tag derived from the branch, so every retransmission of a request we answer
// statelessly gets the same response (RFC 3261 §8.2.7).
std::string stateless_tag(std::string_view branch) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (char c : branch) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return random_hex([h] { return h; }, 16);
}

}  // namespace

void SipStack::Impl::on_incoming(std::string_view bytes, const PeerAddress& source,
                                 std::size_t udp_socket, ConnectionId connection) {
    if (closed) return;
    auto parsed = SipMessage::parse(bytes, options.limits);
    if (!parsed) {
        ++counters.unparsable_dropped;
        log::warn("sip.unparsable",
                  {{"source", source.to_string()}, {"error", parsed.error().describe()}});
        return;
    }
    if (parsed->is_response()) {
        const int status = parsed->status_code();
        osip_event_t* evt = incoming_event(parsed->release());
        if (evt == nullptr) return;
        if (osip_find_transaction_and_add_event(osip, evt) != 0) {
            log::debug("sip.stray_response", {{"source", source.to_string()}, {"status", status}});
            osip_event_free(evt);
            return;
        }
        kick();
        return;
    }
    on_request_received(std::move(*parsed), source, udp_socket, connection);
}

void SipStack::Impl::on_request_received(SipMessage request, const PeerAddress& source,
                                         std::size_t udp_socket, ConnectionId connection) {
    if (!stamp_received(request, source.ip, source.port)) return;
    const std::string method = request.method();
    if (method == "ACK") {
        log::debug("sip.ack_ignored", {{"source", source.to_string()}});
        return;
    }
    if (!is_trusted_source(trust, source.ip)) {
        ++counters.untrusted_refused;
        // One line per second at most: a flood must not become a log flood.
        const std::uint64_t now = uv_now(loop);
        if (!refusal_logged || now - last_refusal_log >= 1000) {
            log::warn("sip.request_refused", {{"reason", "untrusted source"},
                                              {"source", source.to_string()},
                                              {"method", method},
                                              {"from", request.from().uri},
                                              {"suppressed", refusals_suppressed}});
            refusal_logged = true;
            last_refusal_log = now;
            refusals_suppressed = 0;
        } else {
            ++refusals_suppressed;
        }
        respond_statelessly(request, 403, {}, {}, source, udp_socket, connection);
        return;
    }
    if (method == "INVITE") {
        log::info("sip.invite_refused",
                  {{"source", source.to_string()}, {"from", request.from().uri}});
        respond_statelessly(request, 488, {},
                            {Header{"Warning", "399 fedgw \"calls are not supported\""}}, source,
                            udp_socket, connection);
        return;
    }
    if (method == "CANCEL") {  // we never have an INVITE transaction to cancel
        respond_statelessly(request, 481, {}, {}, source, udp_socket, connection);
        return;
    }

    osip_event_t* evt = incoming_event(request.native());
    if (evt == nullptr) return;
    if (osip_find_transaction_and_add_event(osip, evt) == 0) {  // a retransmission
        (void)request.release();  // now owned by the event, hence by the transaction
        kick();
        return;
    }
    osip_free(evt);  // the request is still ours
    if (clients.size() + servers.size() >= options.max_transactions) {
        log::warn("sip.overloaded", {{"source", source.to_string()}, {"method", method}});
        respond_statelessly(request, 503, {}, {Header{"Retry-After", "5"}}, source, udp_socket,
                            connection);
        return;
    }
    auto copy = request.clone();
    if (!copy) return;
    osip_transaction_t* tr = nullptr;
    if (osip_transaction_init(&tr, NIST, osip, request.native()) != 0 || tr == nullptr) {
        log::warn("sip.request_refused",
                  {{"reason", "libosip2 refused the request"}, {"source", source.to_string()}});
        return;
    }
    auto ctx = std::make_unique<ServerCtx>();
    ctx->id = next_id++;
    ctx->tr = tr;
    ctx->source = source;
    ctx->udp_socket = udp_socket;
    ctx->connection = connection;
    ctx->request.emplace(std::move(*copy));
    ctx->to_tag = make_tag(random);
    const std::uint32_t answer =
        options.answer_deadline_ms != 0 ? options.answer_deadline_ms : 32 * options.timers.t1_ms;
    ctx->deadline = uv_now(loop) + answer;
    deadlines.insert({ctx->deadline, ctx->id});
    // Timer J: 64*T1 on UDP to absorb retransmissions, 0 on reliable transports (§17.2.2).
    tr->nist_context->timer_j_length =
        source.transport == SipTransport::Udp ? static_cast<int>(64 * options.timers.t1_ms) : 0;
    set_tx_id(tr, ctx->id);
    servers.emplace(ctx->id, std::move(ctx));
    osip_event_t* first = incoming_event(request.native());
    if (first == nullptr) return;  // out of memory: the transaction dies unanswered by Timer J
    (void)request.release();
    osip_transaction_add_event(tr, first);
    kick();
}

void SipStack::Impl::respond_statelessly(const SipMessage& request, int status,
                                         std::string_view reason, std::vector<Header> headers,
                                         const PeerAddress& source, std::size_t udp_socket,
                                         ConnectionId connection) {
    const auto top = request.top_via();
    if (!top) return;
    ResponseSpec spec;
    spec.to_tag = stateless_tag(top->branch);
    spec.headers = std::move(headers);
    if (!options.user_agent.empty()) spec.headers.push_back({"Server", options.user_agent});
    auto response = build_response(request, status, reason, spec, random);
    if (!response) return;
    auto bytes = response->to_string();
    if (!bytes) return;
    std::string error;
    if (!send_response_bytes(*bytes, *top, source, udp_socket, connection, &error)) {
        log::warn("sip.response_not_sent",
                  {{"destination", source.to_string()}, {"status", status}, {"error", error}});
    }
}

bool SipStack::Impl::send_response_bytes(const std::string& bytes, const ViaHeader& top,
                                         const PeerAddress& source, std::size_t udp_socket,
                                         ConnectionId connection, std::string* error) {
    if (source.transport == SipTransport::Udp) {
        const ResponseTarget target = response_target(top, SipTransport::Udp);
        const auto ip = parse_ip_address(target.host);
        return udp->send(udp_socket, ip ? *ip : source.ip, target.port, bytes, error);
    }
    if (connection != 0 && streams->send_on(connection, bytes, error)) return true;
    // §18.2.2: the connection is gone; open one to the source address and the sent-by port.
    const PeerAddress to{source.transport, source.ip,
                         top.port.value_or(default_port(source.transport))};
    return streams->send_to(to, {}, bytes, error) != 0;
}

Result<void, RespondError> SipStack::Impl::respond(ServerCtx& s, int status,
                                                   std::string_view reason,
                                                   const ResponseSpec& spec) {
    if (s.final_sent) return Unexpected(RespondError::AlreadyAnswered);
    if (!s.request || s.tr == nullptr) return Unexpected(RespondError::NoSuchTransaction);
    ResponseSpec full = spec;
    if (full.to_tag.empty()) full.to_tag = s.to_tag;
    const bool has_server =
        std::any_of(full.headers.begin(), full.headers.end(), [](const Header& h) {
            return h.name.size() == 6 && (h.name[0] == 'S' || h.name[0] == 's') &&
                   h.name.substr(1) == "erver";
        });
    if (!options.user_agent.empty() && !has_server)
        full.headers.push_back({"Server", options.user_agent});
    auto response = build_response(*s.request, status, reason, full, random);
    if (!response) {
        log::warn("sip.response_invalid",
                  {{"status", status}, {"error", response.error().describe()}});
        return Unexpected(RespondError::InvalidResponse);
    }
    osip_transaction_add_event(s.tr, osip_new_outgoing_sipmessage(response->release()));
    if (status >= 200) {
        s.final_sent = true;
        deadlines.erase({s.deadline, s.id});
    }
    kick();
    return {};
}

}  // namespace fedgw::gateway::sip
