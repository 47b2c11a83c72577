// The `lwm2m-device-sim` program against the fake gateway: registers, answers an Observe,
// ticks /3/0/13 every second with a notification, de-registers on SIGTERM and exits 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "fake_gateway.hpp"
#include "lwgate/devsim/coap_util.hpp"
#include "lwgate/harness/process.hpp"

#ifndef LWGATE_BINARY
#error "LWGATE_BINARY must be defined to the path of the lwgate executable"
#endif

namespace lwgate::devsim {
namespace {

using namespace std::chrono_literals;
using testing::FakeGateway;
namespace code = coap::code;
namespace option = coap::option;

// Next to the gateway in the same build tree: <build>/gateway/lwgate and
// <build>/tools/devsim/lwm2m-device-sim.
std::string program_path() {
    const std::filesystem::path gateway(LWGATE_BINARY);
    return (gateway.parent_path().parent_path() / "tools" / "devsim" / "lwm2m-device-sim").string();
}

// The program as a child with stdout on a pipe.
class Program {
  public:
    explicit Program(const std::vector<std::string>& args) {
        // Everything the child needs is prepared before fork(): it only calls dup2 and execv.
        std::string path = program_path();
        std::vector<char*> argv;
        argv.push_back(path.data());
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_fd_ = fds[0];
    }
    ~Program() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_fd_ >= 0) ::close(out_fd_);
    }

    void signal(int signo) { ::kill(pid_, signo); }

    // Reads stdout until EOF (the program exited) or the deadline; then reaps it. Returns the
    // exit code, or -1 if it did not exit in time.
    int wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                                  deadline - std::chrono::steady_clock::now())
                                  .count();
            if (left <= 0) return -1;
            pollfd p{out_fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
            char buf[4096];
            const ssize_t n = ::read(out_fd_, buf, sizeof buf);
            if (n > 0) {
                out_ += std::string(buf, static_cast<std::size_t>(n));
                continue;
            }
            break;  // EOF: stdout closed at exit
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return harness::exit_code_from_wait_status(status);
    }
    const std::string& output() const { return out_; }

  private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string out_;
};

class DevsimProgramTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists(program_path())) {
            GTEST_SKIP() << program_path() << " not built";
        }
    }
};

TEST_F(DevsimProgramTest, HelpAndBadArguments) {
    auto help = harness::run_process({program_path(), "--help"}, 5s);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--endpoint"), std::string::npos);
    auto bad = harness::run_process({program_path(), "--endpoint", "x", "--uri", "coap://x"}, 5s);
    EXPECT_EQ(bad.exit_code, 2);
    auto missing = harness::run_process({program_path()}, 5s);
    EXPECT_EQ(missing.exit_code, 2);
}

TEST_F(DevsimProgramTest, RegistersNotifiesTicksAndDeregistersOnSigterm) {
    FakeGateway gw;
    Program program({"--endpoint", "prog", "--uri",
                     "coap+tcp://127.0.0.1:" + std::to_string(gw.port()), "--lifetime", "60"});
    auto conn = gw.accept(5s);
    ASSERT_TRUE(conn);
    auto reg = conn->receive_until([](const auto& m) { return m.code() == code::post; }, 5s);
    ASSERT_TRUE(reg);
    EXPECT_EQ(uri_queries(*reg),
              (std::vector<std::string>{"ep=prog", "lt=60", "lwm2m=1.1", "b=T"}));
    coap::Message created(code::created, reg->token());
    created.add_option(option::location_path, "rd");
    created.add_option(option::location_path, "p1");
    ASSERT_TRUE(conn->send(created));

    coap::Message observe(code::get, coap::Token::from_u64(0x0b));
    add_uri_path(observe, "/3/0/13");
    observe.add_uint_option(option::observe, 0);
    auto first = conn->exchange(observe, 5s);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->code(), code::content);
    // The clock ticks every second: a notification with the Unix time follows.
    auto tick = conn->receive_until(
        [](const coap::Message& m) { return m.token() == coap::Token::from_u64(0x0b); }, 3s);
    ASSERT_TRUE(tick);
    EXPECT_GT(tick->uint_option(option::observe), first->uint_option(option::observe));
    const std::string now(tick->payload().begin(), tick->payload().end());
    EXPECT_GT(std::stoll(now), 1'600'000'000LL);

    program.signal(SIGTERM);
    auto del = conn->receive_until([](const auto& m) { return m.code() == code::del; }, 5s);
    ASSERT_TRUE(del);
    EXPECT_EQ(uri_path_string(*del), "/rd/p1");
    ASSERT_TRUE(conn->send(coap::Message(code::deleted, del->token())));
    EXPECT_EQ(program.wait_exit(10s), 0) << program.output();
    const auto& out = program.output();
    EXPECT_NE(out.find("prog registered code=2.01 location=/rd/p1"), std::string::npos) << out;
    EXPECT_NE(out.find("prog notification /3/0/13"), std::string::npos) << out;
    EXPECT_NE(out.find("prog deregister code=2.02"), std::string::npos) << out;
    EXPECT_EQ(conn->wait_closed(3s), testing::CloseState::closed_fin);
}

}  // namespace
}  // namespace lwgate::devsim
