// `lwgatectl credentials ...`: device credentials through /v1/credentials. A key is given in
// hex on the command line (visible in ps: prefer --key-file) and never printed: list and show
// print identities and fingerprints. `import` streams a file (CSV or JSON lines) to the gateway
// in bodies of up to --batch lines, each all or nothing, so a million entries never sit in
// memory at once; a refused batch stops the import and names the file's lines.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

#include "admin_client.hpp"

namespace lwgate::ctl {

struct CtlOutput {
    std::ostream& out;
    std::ostream& err;
    bool json = false;
};

class CredentialCommands {
  public:
    // Adds `credentials` and its subcommands to `app`; `json` is the app's --json flag.
    void add(CLI::App& app, bool& json);
    bool parsed() const { return command_ && command_->parsed(); }
    int run(AdminClient& client, const CtlOutput& io) const;

  private:
    int list(AdminClient& client, const CtlOutput& io) const;
    int show(AdminClient& client, const CtlOutput& io) const;
    int add_or_rotate(AdminClient& client, const CtlOutput& io, bool rotate) const;
    int retire(AdminClient& client, const CtlOutput& io) const;
    int remove(AdminClient& client, const CtlOutput& io) const;
    int import(AdminClient& client, const CtlOutput& io) const;
    std::string key_hex(const CtlOutput& io) const;  // from --key-hex or --key-file; "" on error

    CLI::App* command_ = nullptr;
    CLI::App* list_ = nullptr;
    CLI::App* show_ = nullptr;
    CLI::App* add_ = nullptr;
    CLI::App* rotate_ = nullptr;
    CLI::App* retire_ = nullptr;
    CLI::App* remove_ = nullptr;
    CLI::App* import_ = nullptr;
    std::string endpoint_, identity_, key_hex_, key_file_, certificate_name_;
    unsigned limit_ = 0;
    std::string after_;
    std::string file_, format_;
    std::size_t batch_ = 10'000;
};

// Where `import` cuts a file: at most `max_lines` lines and `max_bytes` bytes a batch, whole
// lines only (a line longer than max_bytes is a batch of its own, which the gateway refuses).
struct ImportBatch {
    std::string body;
    std::size_t first_line = 0;  // 1-based line number of body's first line in the file
    std::size_t lines = 0;
};
class ImportReader {
  public:
    ImportReader(std::istream& in, std::size_t max_lines, std::size_t max_bytes)
        : in_(in), max_lines_(max_lines), max_bytes_(max_bytes) {}
    // False at the end of the input.
    bool next(ImportBatch& batch);

  private:
    std::istream& in_;
    std::size_t max_lines_, max_bytes_;
    std::size_t line_ = 1;
    std::string pending_;  // a line read past the previous batch's byte limit
    bool have_pending_ = false;
};

}  // namespace lwgate::ctl
