#include "lwgate/harness/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "lwgate/harness/error.hpp"

namespace lwgate::harness {

namespace fs = std::filesystem;

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw HarnessError("mkdtemp(" + pattern + "): " + std::generic_category().message(errno));
    }
    path_ = buffer.data();
}

TempDir::~TempDir() {
    remove();
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
        keep_ = other.keep_;
    }
    return *this;
}

fs::path TempDir::write_file(std::string_view name, std::string_view contents) const {
    const fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) throw HarnessError("cannot write " + file.string());
    return file;
}

void TempDir::remove() noexcept {
    if (path_.empty() || keep_) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
    path_.clear();
}

}  // namespace lwgate::harness
