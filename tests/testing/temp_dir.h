#pragma once

// A fresh directory for one test, removed with everything below it when the object dies. Mode
// 0755, as /var/lib is: an agent whose servers have accounts of their own refuses a root they
// cannot pass (mkdtemp's 0700).

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace l4d2::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/l4d2-test-XXXXXX";
    char* made = ::mkdtemp(pattern.data());
    path_ = made != nullptr ? made : "";
    if (!path_.empty()) ::chmod(path_.c_str(), 0755);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

}  // namespace l4d2::testing
