// RegistryStore: the partner registry in SQLite (schema/001_registry.sql), read into the pure
// Policy value and written by fedgwctl. I/O edge: it owns a Database.
//
// Every write validates first (the same validator the CLI and the services use), runs in one
// BEGIN IMMEDIATE transaction, and bumps policy_revision through the schema's triggers, so the
// services notice the change (PRAGMA data_version) and the gateway re-sends the snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/db/database.hpp"
#include "common/registry/policy.hpp"

namespace fedgw::registry {

enum class StoreErrorKind {
    Database,  // SQLite failed (open, busy, I/O); text has the DbError description
    Invalid,   // the validator or a schema constraint refused the value; text says why
    NotFound,  // no such partner, blocked domain or setting
    Exists,    // the partner or blocked domain is already there
};

struct StoreError {
    StoreErrorKind kind;
    std::string text;
    std::string describe() const { return text; }
};

template <class T>
using StoreResult = Result<T, StoreError>;

enum class ContactSource { Subscribed, Messaged, Operator };
std::string_view name(ContactSource s);

class RegistryStore {
  public:
    // Opens (creating owner-only when absent) and migrates the registry at path.
    static StoreResult<RegistryStore> open(const std::string& path, const DbOptions& options = {});

    // The whole federation policy, with its revision as version.
    StoreResult<Policy> load_policy();
    // The policy revision: changes whenever partners, domains, blocks, settings or access do.
    StoreResult<std::int64_t> revision();
    // Cheap check for "another connection wrote something" (PRAGMA data_version).
    StoreResult<std::int64_t> data_version();

    // Partners. add/update return the validator's warnings.
    StoreResult<std::vector<std::string>> add_partner(const Partner& p);
    StoreResult<std::vector<std::string>> update_partner(const Partner& p);
    StoreResult<void> remove_partner(std::string_view domain);
    StoreResult<Partner> get_partner(std::string_view domain);

    StoreResult<void> add_blocked(std::string_view domain, std::string_view reason);
    StoreResult<void> remove_blocked(std::string_view domain);

    // Settings by their schema key, values as text ("300", "on", "discover"); the value is
    // converted and checked for that key.
    StoreResult<void> set_setting(std::string_view key, std::string_view value);
    StoreResult<Settings> settings();
    // Returns the dialback secret, generating and storing a random one on first use.
    StoreResult<std::string> ensure_dialback_secret();

    // Per-SIP-user XMPP access ("alice@sip.example"); nullopt clears the user's own value so
    // the default applies.
    StoreResult<void> set_user_access(std::string_view sip_user, std::optional<bool> enabled);
    // The user's own value if set, else the default.
    StoreResult<bool> user_access(std::string_view sip_user);

    // Contact pairs for public-unverified partners.
    StoreResult<void> remember_contact(std::string_view sip_user, std::string_view bare_jid,
                                       ContactSource source);
    StoreResult<bool> has_contact(std::string_view sip_user, std::string_view bare_jid);

    // Replaces partners, domains, blocks and settings with a snapshot (the proxy's local copy
    // of the front end's registry), in one transaction. Writes nothing, and returns false,
    // when the file already holds that policy (the version aside): on one host the proxy and
    // the gateway share the file, and every write is a change the gateway sends again.
    StoreResult<bool> replace_policy(const Policy& p);

    Database& database() { return db_; }

  private:
    explicit RegistryStore(Database db) : db_(std::move(db)) {}
    StoreResult<void> write_partner(const Partner& p, bool insert);

    Database db_;
};

}  // namespace fedgw::registry
