// PresenceEngine: life cycle (create, restore after a restart, close), the one libuv timer
// that drives every refresh, retry and expiry, the pair table and its store, and the public
// entry points. See presence_engine.hpp; the protocol work is in engine_apply.cpp,
// engine_outbound.cpp and engine_inbound.cpp.
//
// Loop-bound (libuv timer, SipStack, SQLite).
#include "gateway/presence/presence_engine.hpp"

#include <osipparser2/osip_parser.h>

#include <algorithm>
#include <ctime>

#include "common/log/log.hpp"
#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "gateway/presence/presence_engine_impl.hpp"
#include "gateway/sip/random_source.hpp"
#include "gateway/translate/address_map.hpp"

namespace fedgw::gateway {
namespace {

// Restored subscriptions are refreshed one after the other, this far apart, so a restart with
// many pairs does not hit the SIP platform (and the transaction limit) in one burst.
constexpr std::uint64_t kRestoreSpacingMs = 2;
// How many ended outbound Call-IDs are remembered for a late final NOTIFY.
constexpr std::size_t kEndedMemory = 1024;

}  // namespace

sip::ResponseSpec with_header(std::string name, std::string value) {
    sip::ResponseSpec spec;
    spec.headers.push_back(sip::Header{std::move(name), std::move(value)});
    return spec;
}

std::vector<std::string> record_route_uris(const sip::SipMessage& m) {
    std::vector<std::string> out;
    osip_message_t* raw = m.native();
    if (raw == nullptr) return out;
    for (int i = 0;; ++i) {
        osip_record_route_t* rr = nullptr;
        if (osip_message_get_record_route(raw, i, &rr) < 0 || rr == nullptr) break;
        if (rr->url == nullptr) continue;
        char* text = nullptr;
        if (osip_uri_to_str(rr->url, &text) == 0 && text != nullptr) {
            out.emplace_back(text);
            osip_free(text);
        }
    }
    return out;
}

std::string first_contact(const sip::SipMessage& m) {
    auto contacts = m.contacts();
    if (contacts.empty()) return {};
    return contacts.front().uri;
}

std::optional<PresenceState> stored_xmpp_presence(const PairRecord& rec, std::string* resource) {
    if (!rec.xmpp_presence) return std::nullopt;
    auto e = parse_fragment(*rec.xmpp_presence, kNsServer);
    if (!e) return std::nullopt;
    auto p = read_presence(**e);
    if (!p) return std::nullopt;
    if (resource != nullptr) {
        auto from = Jid::parse((*e)->attr_or("from", ""));
        *resource = from ? from->resourcepart() : std::string();
    }
    return *p;
}

PresenceEngine::Impl::Impl(uv_loop_t* l, sip::SipStack& s, PresenceOptions o, PresenceHooks h,
                           SubscriptionStore st)
    : loop(l), sip(s), options(std::move(o)), hooks(std::move(h)), store(std::move(st)) {
    policy.requested_expires = std::max<std::uint32_t>(options.requested_expires, 1);
    policy.max_watcher_expires = options.max_watcher_expires;
    policy.retry_base_s = options.retry_base_s;
    policy.retry_max_s = options.retry_max_s;
    policy.max_expires = std::max(policy.max_expires, policy.requested_expires);
    random = sip::system_random_source();
}

Result<std::unique_ptr<PresenceEngine>, PresenceError> PresenceEngine::create(
    uv_loop_t* loop, sip::SipStack& sip, PresenceOptions options, PresenceHooks hooks) {
    if (!hooks.send_xmpp || !hooks.authorize) {
        return Unexpected(PresenceError{"presence engine: send_xmpp and authorize are required"});
    }
    auto store = SubscriptionStore::open(options.registry_path);
    if (!store) {
        return Unexpected(PresenceError{"cannot open the subscription store " +
                                        options.registry_path + ": " + store.error().describe()});
    }
    auto impl =
        std::make_unique<Impl>(loop, sip, std::move(options), std::move(hooks), std::move(*store));
    impl->contact = sip.contact_uri(impl->options.next_hop.transport);
    for (auto t : {SipTransport::Udp, SipTransport::Tcp, SipTransport::Tls}) {
        if (!impl->contact.empty()) break;
        impl->contact = sip.contact_uri(t);
    }
    if (impl->contact.empty()) {
        return Unexpected(
            PresenceError{"presence engine: the SIP stack has no listener for a "
                          "Contact URI"});
    }
    impl->timer = new uv_timer_t;
    if (int rc = uv_timer_init(loop, impl->timer); rc != 0) {
        delete impl->timer;
        impl->timer = nullptr;
        return Unexpected(
            PresenceError{std::string("presence engine: uv_timer_init: ") + uv_strerror(rc)});
    }
    impl->timer->data = impl.get();
    if (auto r = impl->restore(); !r) {
        impl->closed = true;
        uv_close(reinterpret_cast<uv_handle_t*>(impl->timer),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        impl->timer = nullptr;
        return Unexpected(std::move(r.error()));
    }
    return std::unique_ptr<PresenceEngine>(new PresenceEngine(std::move(impl)));
}

PresenceEngine::PresenceEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PresenceEngine::~PresenceEngine() {
    close();
}

void PresenceEngine::on_xmpp_presence(const Element& presence, registry::PartnerType type) {
    if (impl_->closed) {
        log::warn("presence.closed", {{"dropped", "xmpp presence"}});
        return;
    }
    impl_->on_xmpp_presence(presence, type);
}

void PresenceEngine::on_sip_request(const sip::SipMessage& request,
                                    const sip::ServerTransaction& tx) {
    if (impl_->closed) {
        impl_->respond(tx, 503, "Presence engine stopped");
        return;
    }
    const std::string method = request.method();
    if (method == "SUBSCRIBE") {
        impl_->on_subscribe(request, tx);
    } else if (method == "NOTIFY") {
        impl_->on_notify(request, tx);
    } else {
        log::warn("presence.sip_refused", {{"method", method}, {"status", 405}});
        impl_->respond(tx, 405, {}, with_header("Allow", "SUBSCRIBE, NOTIFY"));
    }
}

void PresenceEngine::on_link_up() {
    log::debug("presence.link_up", {{"pairs", impl_->pairs.size()}});
}

std::vector<SubscriptionSummary> PresenceEngine::summary() const {
    std::vector<SubscriptionSummary> out;
    const std::int64_t now = impl_->unix_now();
    for (const auto& [key, p] : impl_->pairs) {
        SubscriptionSummary s;
        s.xmpp = key.xmpp;
        s.sip = key.sip;
        s.outbound = std::string(name(p.rec.state.outbound));
        s.inbound = std::string(name(p.rec.state.inbound));
        s.inbound_dialog = p.rec.state.inbound_dialog;
        if (p.rec.out.established() && p.rec.out.expires_at > now)
            s.outbound_expires_in_s = p.rec.out.expires_at - now;
        out.push_back(std::move(s));
    }
    return out;
}

void PresenceEngine::close() {
    Impl& m = *impl_;
    if (m.closed) return;
    m.closed = true;
    for (auto& [token, f] : m.in_flight)
        m.sip.forget(f.tx);
    m.in_flight.clear();
    m.schedule.clear();
    for (auto& [key, p] : m.pairs) {
        p.out_timer.reset();
        p.in_timer.reset();
    }
    if (m.timer != nullptr) {
        uv_timer_stop(m.timer);
        uv_close(reinterpret_cast<uv_handle_t*>(m.timer),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        m.timer = nullptr;
    }
    log::info("presence.closed", {{"pairs", m.pairs.size()}});
}

// --- restore ----------------------------------------------------------------------------------

Result<Pair, std::string> PresenceEngine::Impl::pair_from_record(PairRecord rec) {
    auto u = Jid::parse(rec.xmpp);
    if (!u || !u->is_bare() || !u->has_localpart()) return Unexpected("bad XMPP address");
    auto s = sip_to_jid(rec.sip);
    if (!s) return Unexpected("bad SIP address: " + s.error().describe());
    auto u_sip = jid_to_sip(*u);
    if (!u_sip) return Unexpected("XMPP address has no SIP form: " + u_sip.error().describe());
    Jid s_bare = s->bare();
    std::string s_user = s_bare.localpart() + "@" + s_bare.domainpart();
    return Pair{std::move(rec),
                *u,
                std::move(s_bare),
                u_sip->uri,
                std::move(s_user),
                std::nullopt,
                std::nullopt,
                {},
                {}};
}

Result<void, PresenceError> PresenceEngine::Impl::restore() {
    auto rows = store.load_all();
    if (!rows) {
        return Unexpected(PresenceError{"cannot read the subscriptions in " +
                                        options.registry_path + ": " + rows.error().describe()});
    }
    const std::int64_t now = unix_now();
    std::uint64_t due = loop_now();
    std::size_t refreshing = 0, notifying = 0;
    for (auto& rec : *rows) {
        const PairKey key{rec.xmpp, rec.sip};
        auto made = pair_from_record(std::move(rec));
        if (!made) {
            log::error("presence.restore_skipped",
                       {{"xmpp", key.xmpp}, {"sip", key.sip}, {"error", made.error()}});
            continue;
        }
        Pair& p = pairs.emplace(key, std::move(*made)).first->second;
        PairRecord& r = p.rec;
        // The outbound side: a live subscription is refreshed soon, so the SIP platform sees
        // the gateway is back; a pending retry keeps its time.
        switch (r.state.outbound) {
            case Outbound::Subscribing:
            case Outbound::Pending:
            case Outbound::Active:
                if (!r.out.established() && r.out.refresh_at > now) {
                    schedule_at(p, TimerKind::OutboundSubscribe,
                                loop_now() + std::uint64_t(r.out.refresh_at - now) * 1000);
                } else {
                    if (r.out.requested == 0) r.out.requested = policy.requested_expires;
                    due += kRestoreSpacingMs;
                    schedule_at(p, TimerKind::OutboundSubscribe, due);
                    ++refreshing;
                }
                break;
            case Outbound::Ending:
                // The un-SUBSCRIBE's answer was lost with the old process: the notifier lets
                // the subscription run out on its own.
                r.state.outbound = Outbound::None;
                retire_outbound(p);
                break;
            case Outbound::None:
                if (r.out.exists()) retire_outbound(p);
                break;
        }
        // The inbound side: a live dialog gets a NOTIFY with the current state.
        if (r.state.inbound_dialog && r.in.exists() && r.in.expires_at > now) {
            due += kRestoreSpacingMs;
            schedule_at(p, TimerKind::RestoreNotify, due);
            schedule_at(p, TimerKind::InboundExpiry,
                        loop_now() + std::uint64_t(r.in.expires_at - now) * 1000);
            ++notifying;
        } else if (r.state.inbound_dialog || r.in.exists()) {
            r.state.inbound_dialog = false;
            r.in = InboundDialog{};
        }
        commit(key);
    }
    log::info("presence.restored",
              {{"pairs", pairs.size()}, {"refreshing", refreshing}, {"notifying", notifying}});
    return {};
}

// --- clock and timers -------------------------------------------------------------------------

std::int64_t PresenceEngine::Impl::unix_now() const {
    return static_cast<std::int64_t>(std::time(nullptr));
}

std::uint64_t PresenceEngine::Impl::loop_now() const {
    uv_update_time(loop);
    return uv_now(loop);
}

std::uint32_t PresenceEngine::Impl::refresh_after(std::uint32_t seconds) const {
    // The operator's share of the lifetime, but never later than subscription_map's
    // refresh_delay(), which leaves a whole transaction's time (Timer F) before the end.
    const double f = std::clamp(options.refresh_fraction, 0.1, 0.9);
    auto d = static_cast<std::uint32_t>(static_cast<double>(seconds) * f);
    if (auto cap = refresh_delay(seconds)) d = std::min(d, *cap);
    return std::max<std::uint32_t>(d, 1);
}

void PresenceEngine::Impl::schedule_at(Pair& p, TimerKind kind, std::uint64_t due_ms) {
    cancel(p, kind);
    auto it = schedule.emplace(due_ms, TimerTask{kind, PairKey{p.rec.xmpp, p.rec.sip}});
    if (kind == TimerKind::InboundExpiry)
        p.in_timer = it;
    else if (kind == TimerKind::OutboundSubscribe)
        p.out_timer = it;
    // RestoreNotify runs once and is not tracked per pair: the task checks the pair itself.
    arm_timer();
}

void PresenceEngine::Impl::cancel(Pair& p, TimerKind kind) {
    auto& slot = kind == TimerKind::InboundExpiry ? p.in_timer : p.out_timer;
    if (kind == TimerKind::RestoreNotify || !slot) return;
    schedule.erase(*slot);
    slot.reset();
}

void PresenceEngine::Impl::arm_timer() {
    if (timer == nullptr || closed) return;
    if (schedule.empty()) {
        uv_timer_stop(timer);
        return;
    }
    const std::uint64_t now = loop_now();
    const std::uint64_t due = schedule.begin()->first;
    uv_timer_start(
        timer, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->on_timer(); },
        due > now ? due - now : 0, 0);
}

void PresenceEngine::Impl::on_timer() {
    const std::uint64_t now = loop_now();
    while (!closed && !schedule.empty() && schedule.begin()->first <= now) {
        TimerTask task = schedule.begin()->second;
        schedule.erase(schedule.begin());
        if (Pair* p = find(task.key)) {
            if (task.kind == TimerKind::OutboundSubscribe) p->out_timer.reset();
            if (task.kind == TimerKind::InboundExpiry) p->in_timer.reset();
        }
        run_task(task);
    }
    arm_timer();
}

void PresenceEngine::Impl::run_task(const TimerTask& task) {
    switch (task.kind) {
        case TimerKind::OutboundSubscribe:
            refresh_due(task.key);
            break;
        case TimerKind::InboundExpiry:
            inbound_expired(task.key);
            break;
        case TimerKind::RestoreNotify:
            restore_notify(task.key);
            break;
    }
}

// --- pairs and the store ----------------------------------------------------------------------

Pair* PresenceEngine::Impl::find(const PairKey& key) {
    auto it = pairs.find(key);
    return it == pairs.end() ? nullptr : &it->second;
}

Pair* PresenceEngine::Impl::find_or_create(const PairKey& key, const Jid& u, const Jid& s,
                                           registry::PartnerType type) {
    if (Pair* p = find(key)) return p;
    auto u_sip = jid_to_sip(u);
    if (!u_sip) return nullptr;
    PairRecord rec;
    rec.xmpp = key.xmpp;
    rec.sip = key.sip;
    rec.partner_type = type;
    std::string s_user = s.localpart() + "@" + s.domainpart();
    return &pairs
                .emplace(key, Pair{std::move(rec),
                                   u.bare(),
                                   s.bare(),
                                   u_sip->uri,
                                   std::move(s_user),
                                   std::nullopt,
                                   std::nullopt,
                                   {},
                                   {}})
                .first->second;
}

void PresenceEngine::Impl::commit(const PairKey& key) {
    auto it = pairs.find(key);
    if (it == pairs.end()) return;
    Pair& p = it->second;
    // Keep the Call-ID maps in step with the dialogs.
    if (p.indexed_out != p.rec.out.call_id) {
        if (!p.indexed_out.empty()) by_out_call_id.erase(p.indexed_out);
        if (!p.rec.out.call_id.empty()) by_out_call_id[p.rec.out.call_id] = key;
        p.indexed_out = p.rec.out.call_id;
    }
    if (p.indexed_in != p.rec.in.call_id) {
        if (!p.indexed_in.empty()) by_in_call_id.erase(p.indexed_in);
        if (!p.rec.in.call_id.empty()) by_in_call_id[p.rec.in.call_id] = key;
        p.indexed_in = p.rec.in.call_id;
    }
    const bool idle = p.rec.is_idle() && !p.out_timer && !p.in_timer;
    auto written = idle ? store.remove(key.xmpp, key.sip) : store.save(p.rec);
    if (!written) {
        // The running state stays authoritative; a restart before the next successful write
        // resumes from the previous row.
        log::error("presence.store_failed",
                   {{"xmpp", key.xmpp}, {"sip", key.sip}, {"error", written.error().describe()}});
    }
    if (idle) pairs.erase(it);
}

void PresenceEngine::Impl::remember_ended(const std::string& call_id) {
    if (call_id.empty() || !ended.insert(call_id).second) return;
    ended_order.push_back(call_id);
    while (ended_order.size() > kEndedMemory) {
        ended.erase(ended_order.front());
        ended_order.pop_front();
    }
}

void PresenceEngine::Impl::send(OutRequest req) {
    const std::uint64_t token = ++next_token;
    InFlight what = std::move(req.what);
    auto tx = sip.send_request(std::move(req.message), options.next_hop,
                               [this, token](Result<sip::SipMessage, sip::RequestError> r) {
                                   auto it = in_flight.find(token);
                                   if (it == in_flight.end()) return;
                                   InFlight done = std::move(it->second);
                                   in_flight.erase(it);
                                   if (closed) return;
                                   switch (done.kind) {
                                       case RequestKind::Subscribe:
                                       case RequestKind::Unsubscribe:
                                           on_subscribe_result(done, std::move(r));
                                           break;
                                       case RequestKind::Fetch:
                                           on_fetch_result(done, r);
                                           break;
                                       case RequestKind::Notify:
                                           on_notify_result(done, r);
                                           break;
                                   }
                               });
    what.tx = tx;
    in_flight.emplace(token, std::move(what));
}

void PresenceEngine::Impl::respond(const sip::ServerTransaction& tx, int status,
                                   std::string_view reason, const sip::ResponseSpec& spec) {
    auto r = sip.respond(tx, status, reason, spec);
    if (!r) {
        log::warn("presence.respond_failed",
                  {{"status", status}, {"error", sip::describe(r.error())}});
    }
}

}  // namespace fedgw::gateway
