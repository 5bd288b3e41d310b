// A fresh directory per test, removed with everything in it at the end of the test.
//
// Test helper for tests/unit/db (touches the filesystem, no sockets).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace fedgw::test {

class TempDir {
  public:
    TempDir() {
        std::string pattern = ::testing::TempDir();
        if (pattern.empty() || pattern.back() != '/') pattern += '/';
        pattern += "fedgw-db-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed for " << pattern;
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

}  // namespace fedgw::test
