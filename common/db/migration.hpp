// One numbered schema migration: the plain record that schema/ generates and Database::migrate()
// applies.
//
// Pure: a plain struct, no I/O. It lives here, with the code that defines what applying one
// means, and schema/ includes this header only (schema is configured before common/ and links
// nothing from it, so the dependency stays one-way: schema -> this header).
#pragma once

#include <string_view>

namespace fedgw {

struct Migration {
    int version = 0;        // 1, 2, 3, ...: PRAGMA user_version after this script has run
    std::string_view name;  // "registry" for schema/001_registry.sql
    std::string_view sql;   // one or more statements, run inside the migration transaction
};

}  // namespace fedgw
