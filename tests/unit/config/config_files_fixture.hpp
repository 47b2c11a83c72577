// What the config tests that load from files on disk share: a temporary configuration
// directory, ok()/errors() around load_config_string, and matchers for ConfigError.
#pragma once

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "config/config_loader.hpp"

namespace lwgate::config {

inline void PrintTo(const ConfigError& e, std::ostream* os) {
    *os << "{" << e.to_string() << "}";
}

namespace testing_support {

namespace fs = std::filesystem;

inline auto Err(const std::string& key, int line, const std::string& text) {
    return ::testing::AllOf(::testing::Field(&ConfigError::key, key),
                            ::testing::Field(&ConfigError::line, line),
                            ::testing::Field(&ConfigError::message, ::testing::HasSubstr(text)));
}

inline std::string describe(const LoadResult& r) {
    std::string all;
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
        for (const auto& e : *errors)
            all += "\n  " + e.to_string();
    }
    return all;
}

// A fresh directory under the system temp dir, removed with everything in it afterwards.
class ConfigFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<unsigned> counter{0};
        std::random_device rd;
        dir_ =
            fs::temp_directory_path() / ("lwgate-config-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + std::to_string(rd()));
        ASSERT_TRUE(fs::create_directories(dir_));
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string write(const std::string& name, const std::string& text) {
        const fs::path p = dir_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    Config ok(const std::string& yaml) {
        auto r = load_config_string(yaml, dir_.string());
        if (!std::holds_alternative<Config>(r)) {
            ADD_FAILURE() << "unexpected errors:" << describe(r);
            return {};
        }
        return std::get<Config>(r);
    }
    std::vector<ConfigError> errors(const std::string& yaml) {
        auto r = load_config_string(yaml, dir_.string());
        if (std::holds_alternative<Config>(r)) {
            ADD_FAILURE() << "accepted:\n" << yaml;
            return {};
        }
        return std::get<std::vector<ConfigError>>(r);
    }

    fs::path dir_;
};

}  // namespace testing_support

}  // namespace lwgate::config
