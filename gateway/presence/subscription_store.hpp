// SubscriptionStore: the presence engine's rows in the registry file (schema/
// 002_subscriptions.sql), one per pair (XMPP bare JID U, SIP address of record S): the
// subscription_map PairState, the outbound and inbound SIP dialogs (RFC 3261 §12.1: Call-ID,
// tags, CSeqs, remote target, route set; RFC 6665 §4.1.2 and §4.2.1 lifetimes) and the last
// presence each way.
//
// Loop-bound edge (SQLite through common/db). Every write is one statement in autocommit, so a
// row is never half-written; the engine writes a pair before it acts on the change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.hpp"
#include "common/db/database.hpp"
#include "common/registry/partner.hpp"
#include "gateway/translate/subscription_map.hpp"

namespace fedgw::gateway {

// The gateway's SUBSCRIBE dialog to S on U's behalf (U watches S). The gateway is the UAC:
// local = U's SIP URI, remote = S.
struct OutboundDialog {
    std::string call_id;     // empty: no dialog (and no SUBSCRIBE in flight)
    std::string local_tag;   // our From tag
    std::string remote_tag;  // S's side (To tag of the 2xx, From tag of the NOTIFY); "" = early
    std::uint32_t local_cseq = 0;              // CSeq of the last SUBSCRIBE we sent
    std::optional<std::uint32_t> remote_cseq;  // CSeq of the last NOTIFY we accepted
    std::string remote_target;                 // Contact of the 2xx or NOTIFY
    std::vector<std::string> route_set;        // URIs, in Route order
    std::uint32_t requested = 0;               // Expires of the last SUBSCRIBE
    std::uint32_t granted = 0;                 // Expires the notifier granted
    std::int64_t expires_at = 0;               // Unix seconds; 0: not granted yet
    std::int64_t refresh_at = 0;               // Unix seconds of the next SUBSCRIBE; 0: none

    bool exists() const { return !call_id.empty(); }
    bool established() const { return exists() && !remote_tag.empty(); }
    bool operator==(const OutboundDialog&) const = default;
};

// S's SUBSCRIBE dialog to the gateway (S watches U). The gateway is the notifier:
// local = U's SIP URI, remote = S.
struct InboundDialog {
    std::string call_id;  // empty: no dialog
    std::string local_tag;
    std::string remote_tag;
    std::string remote_uri;                    // S's From URI, the NOTIFY's To
    std::optional<std::uint32_t> remote_cseq;  // CSeq of S's last SUBSCRIBE
    std::uint32_t notify_cseq = 0;             // CSeq of our last NOTIFY
    std::string remote_target;                 // S's Contact
    std::vector<std::string> route_set;        // Record-Route of the SUBSCRIBE, in order
    std::int64_t expires_at = 0;               // Unix seconds

    bool exists() const { return !call_id.empty(); }
    bool operator==(const InboundDialog&) const = default;
};

struct PairRecord {
    std::string xmpp;  // U, bare JID
    std::string sip;   // S, "sip:user@domain"
    registry::PartnerType partner_type = registry::PartnerType::PublicUnverified;
    PairState state;
    OutboundDialog out;
    InboundDialog in;
    std::optional<std::string> sip_presence;   // last NOTIFY body (PIDF; "" = empty NOTIFY)
    std::optional<std::string> xmpp_presence;  // U's last <presence/>, serialized

    // Nothing left to remember: no subscription either way, no dialog.
    bool is_idle() const;
    bool operator==(const PairRecord&) const = default;
};

// "none", "subscribing", ... as the table spells them.
std::string_view name(Outbound o);
std::string_view name(Inbound i);
std::optional<Outbound> outbound_from_name(std::string_view s);
std::optional<Inbound> inbound_from_name(std::string_view s);

class SubscriptionStore {
  public:
    // Opens (creating when missing) the registry file and applies the schema migrations.
    static Result<SubscriptionStore, DbError> open(const std::string& path,
                                                   const DbOptions& options = {});

    // Every row, in key order. A row the code cannot read (a value outside the enums, which
    // the CHECKs refuse anyway) is an error naming the pair.
    Result<std::vector<PairRecord>, DbError> load_all();
    // One pair; nullopt when there is no row.
    Result<std::optional<PairRecord>, DbError> load(const std::string& xmpp,
                                                    const std::string& sip);
    // Inserts or replaces the row of (record.xmpp, record.sip).
    Result<void, DbError> save(const PairRecord& record);
    // Deletes the row; no row is not an error.
    Result<void, DbError> remove(const std::string& xmpp, const std::string& sip);
    Result<std::int64_t, DbError> count();

    Database& database() { return db_; }

  private:
    explicit SubscriptionStore(Database db) : db_(std::move(db)) {}
    Result<std::vector<PairRecord>, DbError> select(std::string_view where, const std::string* xmpp,
                                                    const std::string* sip);
    Database db_;
};

}  // namespace fedgw::gateway
