// conf/gateway.yaml is the commented reference of every key: it must name exactly the keys of the
// key table (as keys or as commented-out examples), and the defaults it states must be the
// table's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "lwgate/config/duration.hpp"
#include "config/keys.hpp"

namespace lwgate::config {
namespace {

namespace fs = std::filesystem;

// A key written in the file, live or in a commented-out example.
struct DocKey {
    std::string path;  // as in the table: "listeners[].tls.ca"
    int line = 0;
    std::string prose;  // the comment lines right above it
};

// Reads keys from indentation, the way YAML nests block maps and lists. A comment is an example
// when, without its "# ", it reads as one YAML line of a key and a value without spaces (or a
// flow map or list); any other comment is prose that documents the key below it.
class ReferenceScanner {
  public:
    void line(std::string text, int number) {
        const auto first = text.find_first_not_of(' ');
        if (first == std::string::npos) {
            prose_.clear();
            return;
        }
        const bool comment = text[first] == '#';
        if (comment) text.erase(first, text.compare(first, 2, "# ") == 0 ? 2 : 1);
        std::smatch m;
        static const std::regex kKeyLine(R"(^( *)(- )?([a-z_]+):( (\S+|\{.*\}|\[.*\]))?\s*$)");
        if (!std::regex_match(text, m, kKeyLine)) {
            if (comment)
                prose_ += text + "\n";
            else
                unreadable.push_back(number);
            return;
        }
        int column = static_cast<int>(m[1].length());
        if (m[2].matched) {  // "- key:" opens an element of the list above
            pop_to(column);
            stack_.push_back({column, parent() + "[]"});
            column += 2;
        }
        pop_to(column);
        const std::string path = join(parent(), m[3].str());
        stack_.push_back({column, path});
        keys.push_back({path, number, prose_});
        prose_.clear();
        if (m[5].matched && m[5].str().front() == '{') flow_keys(path, m[5].str(), number);
    }

    std::vector<DocKey> keys;
    std::vector<int> unreadable;  // live lines that are not "key: value"

  private:
    struct Level {
        int column;
        std::string path;
    };

    static std::string join(const std::string& parent, const std::string& name) {
        if (parent.empty()) return name;
        return parent + "." + name;
    }
    std::string parent() const { return stack_.empty() ? std::string() : stack_.back().path; }
    void pop_to(int column) {
        while (!stack_.empty() && stack_.back().column >= column)
            stack_.pop_back();
    }
    // "{ address: [a, b], ports: 1-2 }": the names before each ':' of a comma-separated part.
    void flow_keys(const std::string& path, const std::string& map, int number) {
        static const std::regex kName(R"(^\s*\{?\s*([a-z_]+)\s*:)");
        std::size_t start = 0;
        while (start < map.size()) {
            const auto comma = map.find(',', start);
            const auto part =
                map.substr(start, comma == std::string::npos ? map.npos : comma - start);
            std::smatch m;
            if (std::regex_search(part, m, kName))
                keys.push_back({join(path, m[1].str()), number, ""});
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }

    std::vector<Level> stack_;
    std::string prose_;
};

std::vector<DocKey> reference_keys(std::vector<int>* unreadable = nullptr) {
    const fs::path file = fs::path(__FILE__).parent_path() / "../../../conf/gateway.yaml";
    std::ifstream in(file);
    EXPECT_TRUE(in) << file;
    ReferenceScanner scanner;
    std::string text;
    for (int number = 1; std::getline(in, text); ++number)
        scanner.line(text, number);
    if (unreadable) *unreadable = scanner.unreadable;
    return scanner.keys;
}

// "Default: 60s. Must be > 0." -> "60s"; nullopt unless the prose states exactly one default.
std::optional<std::string> stated_default(const std::string& prose) {
    std::size_t count = 0;
    for (auto at = prose.find("Default"); at != std::string::npos;
         at = prose.find("Default", at + 1))
        ++count;
    const auto at = prose.find("Default: ");
    if (count != 1 || at == std::string::npos) return std::nullopt;
    std::string value = prose.substr(at + 9, prose.find('\n', at) - at - 9);
    value = value.substr(0, value.find(" ("));
    value = value.substr(0, value.find(". "));
    while (!value.empty() && (value.back() == '.' || value.back() == ' '))
        value.pop_back();
    return value;
}

bool same_value(Kind kind, const std::string& a, const std::string& b) {
    switch (kind) {
        case Kind::duration:
        case Kind::seconds:
            return parse_duration(a) && parse_duration(a) == parse_duration(b);
        case Kind::size:
            return parse_size(a) && parse_size(a) == parse_size(b);
        case Kind::rate:
            return parse_rate(a) && parse_rate(a) == parse_rate(b);
        default:
            return a == b;
    }
}

TEST(ConfReference, EveryLineReadsAsAKeyOrAComment) {
    std::vector<int> unreadable;
    reference_keys(&unreadable);
    EXPECT_TRUE(unreadable.empty()) << "conf/gateway.yaml line " << unreadable.front()
                                    << " is neither a comment nor `key: value`";
}

TEST(ConfReference, EveryKeyWrittenIsInTheTable) {
    for (const auto& key : reference_keys()) {
        EXPECT_NE(find_key(key.path), nullptr)
            << "conf/gateway.yaml line " << key.line << ": " << key.path
            << " is not a configuration key (gateway/config/keys.cpp)";
    }
}

TEST(ConfReference, EveryTableKeyIsWritten) {
    std::set<std::string> written;
    for (const auto& key : reference_keys())
        written.insert(key.path);
    for (const auto& key : key_table()) {
        EXPECT_TRUE(written.count(std::string(key.path)))
            << key.path << " is missing from conf/gateway.yaml (as a key or a commented example)";
    }
}

TEST(ConfReference, StatedDefaultsAreTheTables) {
    int checked = 0;
    for (const auto& doc : reference_keys()) {
        const auto stated = stated_default(doc.prose);
        const KeySpec* key = find_key(doc.path);
        if (!stated || key == nullptr) continue;
        ++checked;
        EXPECT_TRUE(same_value(key->kind, *stated, default_text(*key)))
            << "conf/gateway.yaml line " << doc.line << ": " << doc.path
            << " says Default: " << *stated << ", the table's default is " << default_text(*key);
    }
    EXPECT_GE(checked, 30) << "the check found too few stated defaults to mean anything";
}

}  // namespace
}  // namespace lwgate::config
