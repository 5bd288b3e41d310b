// Internal to gateway/presence: PresenceEngine::Impl, shared by the engine's .cpp files
// (presence_engine.cpp: life cycle, restore, timers, store; engine_apply.cpp: applying a
// subscription_map step; engine_outbound.cpp: U watches S; engine_inbound.cpp: S watches U).
//
// Loop-bound (libuv timer, SipStack, SQLite).
#pragma once

#include <uv.h>

#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/jid/jid.hpp"
#include "common/log/log.hpp"
#include "gateway/presence/presence_engine.hpp"
#include "gateway/presence/subscription_store.hpp"
#include "gateway/translate/presence_map.hpp"

namespace fedgw::gateway {

struct PairKey {
    std::string xmpp;  // U, bare JID
    std::string sip;   // S, "sip:user@domain"
    auto operator<=>(const PairKey&) const = default;
    bool operator==(const PairKey&) const = default;
};

enum class TimerKind {
    OutboundSubscribe,  // refresh, or a retry after a transient failure
    InboundExpiry,      // S's subscription ran out without a refresh
    RestoreNotify,      // after a restart: NOTIFY S with the current state
};

struct TimerTask {
    TimerKind kind;
    PairKey key;
};
using Schedule = std::multimap<std::uint64_t, TimerTask>;  // due time (uv_now ms) -> task

// One pair in memory: its record plus what is derived from it.
struct Pair {
    PairRecord rec;
    Jid u;               // U, bare
    Jid s;               // S's JID, user@sipdomain
    std::string u_sip;   // U's SIP URI (From of our SUBSCRIBEs, of our NOTIFYs)
    std::string s_user;  // "user@sipdomain", what PresenceHooks::authorize takes
    std::optional<Schedule::iterator> out_timer;
    std::optional<Schedule::iterator> in_timer;
    std::string indexed_out;  // the Call-IDs the lookup maps hold for this pair
    std::string indexed_in;
};

// What a client transaction was for; looked up when its response arrives.
enum class RequestKind { Subscribe, Unsubscribe, Fetch, Notify };
struct InFlight {
    RequestKind kind;
    PairKey key;
    std::string call_id;
    std::uint32_t cseq = 0;
    std::uint32_t requested = 0;  // Subscribe: the Expires asked for
    bool refresh = false;         // Subscribe: inside an established dialog
    sip::SipStack::ClientTransactionId tx = 0;
};

// A request ready to go, with what its response is for.
struct OutRequest {
    sip::SipMessage message;
    InFlight what;
};

// What applying a step produces, sent once the store has the new state.
struct Actions {
    std::vector<OutRequest> sip;
    std::vector<std::unique_ptr<Element>> xmpp;
};

// Facts an event brings that a step's actions need, and how to log it: apply() writes one
// info line per event, named `event`, with the pair, `detail` and the state afterwards.
struct StepContext {
    std::string_view event = "presence.step";
    log::Level level = log::Level::Info;
    std::string detail;  // "status=200 granted=3600", "state=active expires=3600", ...
    std::optional<PresenceState> notify_presence;  // XmppAction::NotifyBody
    std::optional<std::uint32_t> refresh_basis;    // granted / remaining seconds (refresh_in)
    bool refresh_only_earlier = false;             // a NOTIFY may pull the refresh in, not push it
};

// A one-shot fetch (RFC 7248 §6.1): SUBSCRIBE Expires: 0 outside the pair's dialog.
// The pair itself may be idle and gone by the time the NOTIFY arrives, so the fetch keeps the
// addresses.
struct Fetch {
    PairKey key;
    Jid u;
    Jid s;
    registry::PartnerType partner_type;
    std::uint64_t started_ms = 0;
};

struct PresenceEngine::Impl {
    Impl(uv_loop_t* l, sip::SipStack& s, PresenceOptions o, PresenceHooks h, SubscriptionStore st);

    uv_loop_t* loop;
    sip::SipStack& sip;
    PresenceOptions options;
    PresenceHooks hooks;
    SubscriptionPolicy policy;
    SubscriptionStore store;
    sip::RandomSource random;
    std::string contact;  // our Contact URI
    bool closed = false;

    std::map<PairKey, Pair> pairs;
    std::unordered_map<std::string, PairKey> by_out_call_id;
    std::unordered_map<std::string, PairKey> by_in_call_id;
    std::unordered_map<std::string, Fetch> fetches;
    // Call-IDs of outbound dialogs we ended lately: their last NOTIFY gets 200, not 481.
    std::deque<std::string> ended_order;
    std::set<std::string> ended;
    std::unordered_map<std::uint64_t, InFlight> in_flight;  // by our token
    std::uint64_t next_token = 0;

    uv_timer_t* timer = nullptr;  // heap-allocated: freed in its close callback
    Schedule schedule;

    // --- presence_engine.cpp: life cycle, clock, timers, store -------------------------------
    Result<void, PresenceError> restore();
    std::int64_t unix_now() const;
    std::uint64_t loop_now() const;
    void schedule_at(Pair& p, TimerKind kind, std::uint64_t due_ms);
    void cancel(Pair& p, TimerKind kind);
    void arm_timer();
    void on_timer();
    void run_task(const TimerTask& task);
    // Writes the pair (or deletes an idle one, and forgets it) and keeps the Call-ID maps.
    // The pair must not be used after this call.
    void commit(const PairKey& key);
    Pair* find(const PairKey& key);
    Pair* find_or_create(const PairKey& key, const Jid& u, const Jid& s,
                         registry::PartnerType type);
    Result<Pair, std::string> pair_from_record(PairRecord rec);
    void remember_ended(const std::string& call_id);
    void send(OutRequest req);
    void respond(const sip::ServerTransaction& tx, int status, std::string_view reason = {},
                 const sip::ResponseSpec& spec = {});
    std::uint32_t refresh_after(std::uint32_t seconds) const;

    // --- engine_apply.cpp: one subscription_map step -----------------------------------------
    // Applies `step` to the pair: builds the XMPP stanzas and SIP requests, sets the new
    // state, arms timers, commits; then runs `before_dispatch` (e.g. a response) and sends.
    void apply(const PairKey& key, const SubscriptionStep& step, const StepContext& ctx,
               const std::function<void()>& before_dispatch = {});
    void build_sip_step(Pair& p, const SipStep& step, Actions& acts);
    std::unique_ptr<Element> xmpp_for(const Pair& p, XmppAction a, const StepContext& ctx) const;
    std::unique_ptr<Element> simple_presence(const Pair& p, std::string_view type) const;
    PresenceState last_sip_presence(const Pair& p) const;
    void dispatch(Actions acts);

    // --- engine_outbound.cpp: U watches S ----------------------------------------------------
    void on_xmpp_presence(const Element& presence, registry::PartnerType type);
    std::optional<OutRequest> build_subscribe(Pair& p, std::uint32_t expires);
    std::optional<OutRequest> build_unsubscribe(Pair& p);
    std::optional<OutRequest> build_fetch(Pair& p);
    void retire_outbound(Pair& p);
    void on_subscribe_result(const InFlight& what, Result<sip::SipMessage, sip::RequestError> r);
    void on_fetch_result(const InFlight& what, const Result<sip::SipMessage, sip::RequestError>& r);
    void on_notify(const sip::SipMessage& req, const sip::ServerTransaction& tx);
    void on_fetch_notify(const Fetch& fetch, const sip::SipMessage& req,
                         const sip::ServerTransaction& tx);
    void refresh_due(const PairKey& key);
    void reply_error(const Element& presence, const StanzaError& error);

    // --- engine_inbound.cpp: S watches U -----------------------------------------------------
    void on_subscribe(const sip::SipMessage& req, const sip::ServerTransaction& tx);
    void fetch_beside_subscription(Pair& p, const SubscriptionStep& step,
                                   const sip::SipMessage& req, const sip::ServerTransaction& tx);
    std::optional<OutRequest> build_notify(Pair& p, SipAction action, std::string_view reason);
    std::string u_pidf(const Pair& p) const;
    void on_notify_result(const InFlight& what,
                          const Result<sip::SipMessage, sip::RequestError>& r);
    void inbound_expired(const PairKey& key);
    void restore_notify(const PairKey& key);
    void drop_inbound_dialog(Pair& p);
};

// A response carrying one extra header (Allow, Allow-Events).
sip::ResponseSpec with_header(std::string name, std::string value);
// Record-Route values of a message, as URIs, in header order (RFC 3261 §12.1.1, §12.1.2).
std::vector<std::string> record_route_uris(const sip::SipMessage& m);
// The first Contact URI, or "".
std::string first_contact(const sip::SipMessage& m);
// The presence read from U's stored stanza, and the resource it came from.
std::optional<PresenceState> stored_xmpp_presence(const PairRecord& rec, std::string* resource);

}  // namespace fedgw::gateway
