// lwgatectl's bash completion (tools/lwgatectl/completion.bash) in a real bash, called the way
// bash calls it: COMP_WORDS split at ':' too (COMP_WORDBREAKS), so urn:imei:1 arrives as five
// words. A fake lwgatectl on PATH lists the endpoints; no gateway, no sockets. Once without
// bash-completion (the script's own fallback) and once with its _init_completion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const fs::path kScript =
    fs::path(__FILE__).parent_path() / "../../../tools/lwgatectl/completion.bash";
constexpr const char* kBashCompletion = "/usr/share/bash-completion/bash_completion";

// COMP_WORDS as bash builds them: blanks separate words, a ':' is a word of its own, and a
// blank before the cursor starts an empty word.
std::vector<std::string> bash_words(const std::string& line) {
    std::vector<std::string> words;
    bool open = false;
    for (char c : line) {
        if (c == ' ' || c == ':') {
            if (c == ':') words.emplace_back(":");
            open = false;
            continue;
        }
        if (!open) words.emplace_back();
        open = true;
        words.back() += c;
    }
    if (!line.empty() && line.back() == ' ') words.emplace_back();
    return words;
}

class CompletionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lwgatectl-completion-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::create_directory(dir_ / "bin");
        const auto fake = dir_ / "bin" / "lwgatectl";
        std::ofstream(fake) << "#!/bin/sh\n"
                            << "echo \"$*\" >>" << (dir_ / "args").string() << "\n"
                            << R"(echo '{"count":4,"connections":[{"endpoint": "urn:imei:1"},)"
                            << R"({"endpoint":"urn:imei:12"},{"endpoint":"urn:imei:2"},)"
                            << R"({"endpoint":"dev-3"}]}')"
                            << "\n";
        fs::permissions(fake, fs::perms::owner_all);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // The candidates _lwgatectl offers with the cursor at the end of `line`.
    std::vector<std::string> complete(const std::string& line) {
        const auto words = bash_words(line);
        std::ostringstream s;
        s << "set -u\nPATH=" << (dir_ / "bin").string() << ":$PATH\n";
        if (with_bash_completion_) s << "source " << kBashCompletion << "\n";
        s << "source " << kScript.string() << "\n"
          << "COMP_LINE='" << line << "'\nCOMP_POINT=${#COMP_LINE}\nCOMP_WORDS=(";
        for (const auto& w : words)
            s << "'" << w << "' ";
        s << ")\nCOMP_CWORD=" << words.size() - 1 << "\n_lwgatectl\n"
          << "for r in \"${COMPREPLY[@]}\"; do echo \"reply:$r\"; done\n";
        const auto script = dir_ / "complete.bash";
        std::ofstream(script) << s.str();
        return run_bash(script);
    }

    // The arguments the fake lwgatectl got last, or "" when it was not run.
    std::string last_args() const {
        std::ifstream in(dir_ / "args");
        std::string line, last;
        while (std::getline(in, line))
            last = line;
        return last;
    }

    static std::vector<std::string> run_bash(const fs::path& script) {
        const std::string command = "bash --norc --noprofile " + script.string() + " 2>&1";
        FILE* pipe = ::popen(command.c_str(), "r");
        if (!pipe) {
            ADD_FAILURE() << "popen: " << command;
            return {};
        }
        std::string output;
        char buffer[512];
        while (std::fgets(buffer, sizeof buffer, pipe))
            output += buffer;
        const int status = ::pclose(pipe);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
        std::vector<std::string> replies;
        std::istringstream lines(output);
        for (std::string l; std::getline(lines, l);) {
            if (l.rfind("reply:", 0) == 0)
                replies.push_back(l.substr(6));
            else
                ADD_FAILURE() << "bash said: " << l;
        }
        return replies;
    }

    void expect_every_completion() {
        // Readline replaces only what follows the last ':', so that is what is offered.
        EXPECT_THAT(complete("lwgatectl show urn:imei:1"), ElementsAre("1", "12"));
        EXPECT_EQ(last_args(), "connections --json");
        EXPECT_THAT(complete("lwgatectl --admin 127.0.0.1:9 ping urn:imei:"),
                    ElementsAre("1", "12", "2"));
        EXPECT_EQ(last_args(), "--admin 127.0.0.1:9 connections --json")
            << "the endpoints come from the gateway the line names";
        EXPECT_THAT(complete("lwgatectl release d"), ElementsAre("dev-3"));
        EXPECT_THAT(complete("lwgatectl --admin 127.0.0.1:9 sta"), ElementsAre("status"))
            << "HOST:PORT is one word, not the command";
        EXPECT_THAT(complete("lwgatectl status --js"), ElementsAre("--json"));
        EXPECT_THAT(complete("lwgatectl --j"), ElementsAre("--json"));
        EXPECT_THAT(complete("lwgatectl connections --state "), ::testing::Contains("half-open"));
        EXPECT_THAT(complete("lwgatectl --admin "), IsEmpty());
        EXPECT_THAT(complete("lwgatectl rel"), ElementsAre("release", "reload"));
        EXPECT_THAT(complete("lwgatectl conf"), ElementsAre("config"));
        EXPECT_THAT(complete("lwgatectl config "), ElementsAre("check"));
        EXPECT_THAT(complete("lwgatectl config check --j"), ElementsAre("--json"));
        // config check FILE: the files of this machine.
        std::ofstream(dir_ / "gateway.yaml") << "";
        EXPECT_THAT(complete("lwgatectl config check " + (dir_ / "gate").string()),
                    ElementsAre((dir_ / "gateway.yaml").string()));
    }

    fs::path dir_;
    bool with_bash_completion_ = false;
};

TEST_F(CompletionTest, EndpointsWithColonsWithoutBashCompletion) {
    expect_every_completion();
}

TEST_F(CompletionTest, EndpointsWithColonsWithBashCompletion) {
    if (!fs::exists(kBashCompletion)) GTEST_SKIP() << kBashCompletion << " not installed";
    with_bash_completion_ = true;
    expect_every_completion();
}

}  // namespace
