// The lwm2m-core-sim program: readiness lines, one log line per event, stdin commands, exit.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "coap_client.hpp"
#include "lwgate/coresim/types.hpp"
#include "lwgate/harness/process.hpp"

extern char** environ;

namespace lwgate::coresim {
namespace {

using ::testing::HasSubstr;

// The program with pipes on stdin and stdout; lines are read against a deadline.
class SimProcess {
  public:
    explicit SimProcess(std::vector<std::string> args) {
        int in[2];
        int out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2");
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        args.insert(args.begin(), LWGATE_CORESIM_BINARY);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        in_ = in[1];
        out_ = out[0];
        if (rc != 0) throw std::runtime_error("posix_spawn failed");
    }

    ~SimProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(in_);
        ::close(out_);
    }

    void write_line(const std::string& line) {
        const std::string l = line + "\n";
        ASSERT_EQ(::write(in_, l.data(), l.size()), static_cast<ssize_t>(l.size()));
    }

    // The next line that matches `re` (earlier lines are kept in lines()).
    std::optional<std::smatch> wait_line(const std::regex& re, Millis timeout = Millis{5'000}) {
        const auto deadline = SteadyClock::now() + timeout;
        while (true) {
            for (; scanned_ < lines_.size(); ++scanned_) {
                std::smatch m;
                if (std::regex_search(lines_[scanned_], m, re)) {
                    ++scanned_;
                    return m;
                }
            }
            if (!read_some(deadline)) return std::nullopt;
        }
    }

    // Exit code once it has exited (its stdout reaches EOF), or nullopt after the timeout.
    std::optional<int> wait_exit(Millis timeout) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!eof_) {
            if (!read_some(deadline) && !eof_) return std::nullopt;
        }
        int status = 0;
        if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
        pid_ = -1;
        return harness::exit_code_from_wait_status(status);
    }

    const std::vector<std::string>& lines() const { return lines_; }

  private:
    // Reads what arrives before `deadline` into lines_. False on timeout or EOF.
    bool read_some(SteadyClock::time_point deadline) {
        const auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now());
        if (eof_ || left.count() <= 0) return false;
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::read(out_, buf, sizeof buf);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        partial_.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = partial_.find('\n')) != std::string::npos) {
            lines_.push_back(partial_.substr(0, nl));
            partial_.erase(0, nl + 1);
        }
        return true;
    }

    pid_t pid_ = -1;
    bool eof_ = false;
    int in_ = -1;
    int out_ = -1;
    std::string partial_;
    std::vector<std::string> lines_;
    std::size_t scanned_ = 0;
};

class ProgramTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::access(LWGATE_CORESIM_BINARY, X_OK) != 0) {
            GTEST_SKIP() << "build lwm2m-core-sim first: " << LWGATE_CORESIM_BINARY;
        }
        if (!harness::program_exists(testing::kCoapClient)) {
            GTEST_SKIP() << "coap-client-openssl (libcoap3-bin) is not installed";
        }
    }
};

TEST_F(ProgramTest, LogsEventsAnswersCommandsAndQuits) {
    SimProcess sim({"--port", "0", "--dtls-port", "0", "--psk", "dev:" + to_hex(to_bytes("k3y"))});
    const auto udp = sim.wait_line(std::regex(R"(^listening coap://127\.0\.0\.1:(\d+)$)"));
    ASSERT_TRUE(udp);
    const std::string port = (*udp)[1];
    ASSERT_TRUE(sim.wait_line(std::regex(R"(^listening coaps://127\.0\.0\.1:\d+$)")));
    ASSERT_TRUE(sim.wait_line(std::regex("^ready$")));

    const auto r =
        testing::coap_client({"-m", "post", "-B", "5", "-e", "</3/0>",
                              "coap://127.0.0.1:" + port + "/rd?ep=by-hand&lt=60&lwm2m=1.1&b=U"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto reg = sim.wait_line(std::regex(
        R"(^register ep=by-hand id=(\d+) query=ep=by-hand&lt=60&lwm2m=1\.1&b=U links=</3/0> -> 2\.01 from=127\.0\.0\.1:\d+$)"));
    ASSERT_TRUE(reg);

    const std::string id = (*reg)[1];
    ASSERT_EQ(testing::coap_client(
                  {"-m", "post", "-B", "5", "coap://127.0.0.1:" + port + "/rd/" + id + "?lt=90"})
                  .exit_code,
              0);
    ASSERT_TRUE(sim.wait_line(std::regex(R"(^update ep=by-hand id=\d+ query=lt=90 -> 2\.04)")));

    sim.write_line("list");
    ASSERT_TRUE(
        sim.wait_line(std::regex(R"(^ep=by-hand id=\d+ active lt=90 lwm2m=1\.1 b=U from=)")));

    // coap-client has exited, so the downlink gets no answer; the command still reports.
    sim.write_line("bogus");
    ASSERT_TRUE(sim.wait_line(std::regex("^error: unknown command 'bogus'")));
    sim.write_line("read nobody /3/0/0");
    ASSERT_TRUE(sim.wait_line(std::regex(R"(^read nobody /3/0/0 -> no response$)")));

    sim.write_line("quit");
    EXPECT_EQ(sim.wait_exit(Millis{5'000}), 0);
}

TEST_F(ProgramTest, RegisterResponseOptionAndBadArguments) {
    {
        SimProcess sim({"--port", "0", "--register-response", "4.12"});
        const auto udp = sim.wait_line(std::regex(R"(^listening coap://127\.0\.0\.1:(\d+)$)"));
        ASSERT_TRUE(udp);
        const std::string port = (*udp)[1];
        ASSERT_TRUE(sim.wait_line(std::regex("^ready$")));
        const auto r = testing::coap_client(
            {"-m", "post", "-B", "5", "coap://127.0.0.1:" + port + "/rd?ep=x&lwm2m=1.2"});
        EXPECT_THAT(r.out + r.err, HasSubstr("4.12"));
        ASSERT_TRUE(sim.wait_line(std::regex(R"(^register ep=x .* -> 4\.12 from=)")));
    }
    for (const std::vector<std::string>& bad : {std::vector<std::string>{"--port", "70000"},
                                                {"--psk", "nohex"},
                                                {"--register-response", "412"},
                                                {"--frobnicate"}}) {
        std::vector<std::string> argv{LWGATE_CORESIM_BINARY};
        argv.insert(argv.end(), bad.begin(), bad.end());
        const auto r = harness::run_process(argv, Millis{5'000});
        EXPECT_EQ(r.exit_code, 2) << bad[0];
    }
}

}  // namespace
}  // namespace lwgate::coresim
