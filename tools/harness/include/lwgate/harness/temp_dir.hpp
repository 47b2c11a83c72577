// A unique scratch directory under std::filesystem::temp_directory_path(), removed (recursively)
// on destruction.
#pragma once

#include <filesystem>
#include <string_view>

namespace lwgate::harness {

class TempDir {
  public:
    // Creates `<tmp>/<prefix>XXXXXX` with mkdtemp(3). Throws HarnessError on failure.
    explicit TempDir(std::string_view prefix = "lwgate-test-");
    ~TempDir();

    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

    // Writes `contents` to `<dir>/<name>` and returns the full path. Throws HarnessError.
    std::filesystem::path write_file(std::string_view name, std::string_view contents) const;

    // Keeps the directory on destruction (e.g. to inspect a failing test's files).
    void keep() { keep_ = true; }

  private:
    void remove() noexcept;

    std::filesystem::path path_;
    bool keep_ = false;
};

}  // namespace lwgate::harness
