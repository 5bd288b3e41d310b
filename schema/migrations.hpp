// The registry schema's numbered migrations, compiled in from schema/NNN_name.sql by
// schema/embed_sql.py; apply them with fedgw::Database::migrate(fedgw::schema::migrations()).
//
// Pure: constant data, no I/O. The Migration record is common/db's (header only, so schema/
// links nothing from common/).
#pragma once

#include <span>

#include "common/db/migration.hpp"

namespace fedgw::schema {

// Every migration, in order, numbered 1..N.
std::span<const Migration> migrations();

// N: the schema version this build creates and the newest it accepts.
inline int latest_version() {
    return static_cast<int>(migrations().size());
}

}  // namespace fedgw::schema
