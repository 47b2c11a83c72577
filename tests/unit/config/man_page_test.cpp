// lwgate.yaml(5) (man/lwgate.yaml.5) describes every key of the key table: each top-level key
// has a section (.SS), and every key below it is named in bold (.B name, .BR name, \fBname\fR)
// in that section, so that a new key cannot be added without its place in the man page.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "config/keys.hpp"

namespace lwgate::config {
namespace {

namespace fs = std::filesystem;

// The text of each .SS section of the page, by its heading.
std::map<std::string, std::string> sections() {
    const fs::path file = fs::path(__FILE__).parent_path() / "../../../man/lwgate.yaml.5";
    std::ifstream in(file);
    EXPECT_TRUE(in) << "cannot read " << file;
    std::map<std::string, std::string> out;
    std::string current;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(".SH ", 0) == 0) {
            current.clear();
        } else if (line.rfind(".SS ", 0) == 0) {
            current = line.substr(4);
            out[current];
        } else if (!current.empty()) {
            out[current] += line + "\n";
        }
    }
    return out;
}

bool names_in_bold(const std::string& text, std::string_view name) {
    const std::string n(name);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        for (const char* macro : {".B ", ".BR ", ".BI "}) {
            const std::string start = macro + n;
            if (line.rfind(start, 0) == 0 &&
                (line.size() == start.size() || line[start.size()] == ' '))
                return true;
        }
        if (line.find("\\fB" + n + "\\fR") != std::string::npos) return true;
    }
    return false;
}

TEST(ManPage, DescribesEveryKeyOfTheTable) {
    const auto page = sections();
    ASSERT_FALSE(page.empty());
    for (const auto& key : key_table()) {
        const std::string path(key.path);
        const std::string top = path.substr(0, path.find_first_of(".["));
        const auto section = page.find(top);
        if (section == page.end()) {
            ADD_FAILURE() << "man/lwgate.yaml.5 has no section .SS " << top << " (for " << path
                          << ")";
            continue;
        }
        if (top == path) continue;
        EXPECT_TRUE(names_in_bold(section->second, leaf_name(path)))
            << path << ": man/lwgate.yaml.5, section " << top << ", does not name "
            << leaf_name(path) << " in bold";
    }
}

}  // namespace
}  // namespace lwgate::config
