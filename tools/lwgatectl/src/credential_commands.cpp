#include "credential_commands.hpp"

#include <chrono>
#include <fstream>
#include <iostream>

#include "format.hpp"
#include "views.hpp"

namespace lwgate::ctl {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Below the gateway's 4 MiB import body limit, with room for a long last line.
constexpr std::size_t import_batch_bytes = 3 * 1024 * 1024;
// The gateway writes each batch in one transaction before it answers.
constexpr std::chrono::milliseconds import_wait = 60s;

int refused(const CtlOutput& io, const std::string& what, const Response& r) {
    if (!r.reached()) {
        io.err << "lwgatectl: cannot reach lwgate admin: " << r.transport_error << "\n";
        return exit_unreachable;
    }
    io.err << "lwgatectl: " << what << ": " << describe_refusal(r) << "\n";
    return exit_refused;
}

void print_raw(const CtlOutput& io, const Response& r) {
    io.out << r.raw;
    if (r.raw.empty() || r.raw.back() != '\n') io.out << "\n";
}

std::string text_of(const json& value, const char* key) {
    const auto it = value.find(key);
    return it != value.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One row per key: during a rotation an endpoint has two.
void add_rows(Table& table, const json& entry) {
    const auto keys = entry.value("keys", json::array());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const bool current = i + 1 == keys.size();
        table.add_row({i == 0 ? text_of(entry, "endpoint") : "",
                       text_of(keys[i], "psk_identity") + (current ? "" : " (older)"),
                       text_of(keys[i], "fingerprint"), text_of(keys[i], "added"),
                       i == 0 ? text_of(entry, "source") : "",
                       i == 0 ? text_of(entry, "certificate_name") : ""});
    }
}

Table credential_table() {
    return Table({"ENDPOINT", "PSK IDENTITY", "FINGERPRINT", "ADDED", "SOURCE", "CERTIFICATE"});
}

std::string path_of(const std::string& endpoint, const char* verb = nullptr) {
    return "/v1/credentials/" + percent_encode(endpoint) + (verb ? std::string("/") + verb : "");
}

std::string format_for(const std::string& format, const std::string& file) {
    if (!format.empty()) return format;
    auto ends = [&](const char* suffix) {
        const std::string s(suffix);
        return file.size() >= s.size() && file.compare(file.size() - s.size(), s.size(), s) == 0;
    };
    if (ends(".csv")) return "csv";
    if (ends(".jsonl") || ends(".ndjson") || ends(".json")) return "jsonl";
    return "";  // the gateway sniffs: '{' JSON lines, else CSV
}

void print_line_errors(const CtlOutput& io, const std::string& file, const json& body) {
    for (const auto& e : body.value("errors", json::array()))
        io.err << file << ":" << e.value("line", 0) << ": " << text_of(e, "error") << "\n";
    const auto count = body.value("error_count", std::size_t{0});
    const auto shown = body.value("errors", json::array()).size();
    if (count > shown) io.err << "(" << count - shown << " more)\n";
}

}  // namespace

bool ImportReader::next(ImportBatch& batch) {
    batch = ImportBatch{{}, line_, 0};
    std::string line;
    while (batch.lines < max_lines_) {
        if (have_pending_) {
            line = std::move(pending_);
            have_pending_ = false;
        } else if (!std::getline(in_, line)) {
            break;
        }
        if (batch.lines > 0 && batch.body.size() + line.size() + 1 > max_bytes_) {
            pending_ = std::move(line);
            have_pending_ = true;
            break;
        }
        batch.body += line;
        batch.body += '\n';
        ++batch.lines;
        ++line_;
    }
    return batch.lines > 0;
}

void CredentialCommands::add(CLI::App& app, bool& json) {
    command_ = app.add_subcommand(
        "credentials", "device credentials (PSK identities and keys) in the running lwgate");
    command_->require_subcommand(1);
    command_->add_flag("--json", json, "print the API's JSON");
    list_ = command_->add_subcommand("list", "every endpoint's identities and key fingerprints");
    list_->add_option("--limit", limit_, "one page of at most N entries (default: every page)")
        ->check(CLI::Range(1, 10000));
    list_->add_option("--after", after_, "the page after this cursor");
    show_ = command_->add_subcommand("show", "one endpoint's credentials");
    show_->add_option("endpoint", endpoint_, "endpoint name")->required();
    add_ = command_->add_subcommand("add", "add or replace an endpoint's credentials (one key)");
    rotate_ = command_->add_subcommand(
        "rotate", "add a new identity and key; the current one stays valid until `retire`");
    for (auto* c : {add_, rotate_}) {
        c->add_option("endpoint", endpoint_, "endpoint name")->required();
        c->add_option("--identity", identity_, "PSK identity")->required();
        auto* hex = c->add_option("--key-hex", key_hex_, "the key in hex (visible in ps!)");
        auto* file = c->add_option("--key-file", key_file_, "a file holding the key in hex")
                         ->check(CLI::ExistingFile);
        hex->excludes(file);
    }
    add_->add_option("--certificate-name", certificate_name_,
                     "a client certificate CN or subjectAltName that speaks for this endpoint");
    retire_ = command_->add_subcommand(
        "retire", "end a rotation: remove the older key (or --identity), closing its connections");
    retire_->add_option("endpoint", endpoint_, "endpoint name")->required();
    retire_->add_option("--identity", identity_, "the identity to remove (default: the older)");
    remove_ = command_->add_subcommand("remove", "remove the endpoint's credentials");
    remove_->add_option("endpoint", endpoint_, "endpoint name")->required();
    import_ = command_->add_subcommand(
        "import",
        "import a CSV (endpoint,psk_identity,psk_key_hex[,certificate_name]) or JSON "
        "lines file; - reads standard input");
    import_->add_option("file", file_, "the file")->required();
    import_->add_option("--format", format_, "csv or jsonl (default: from the file name)")
        ->check(CLI::IsMember({"csv", "jsonl"}));
    import_->add_option("--batch", batch_, "lines per request")->check(CLI::Range(1, 100000));
}

int CredentialCommands::run(AdminClient& client, const CtlOutput& io) const {
    if (list_->parsed()) return list(client, io);
    if (show_->parsed()) return show(client, io);
    if (add_->parsed()) return add_or_rotate(client, io, false);
    if (rotate_->parsed()) return add_or_rotate(client, io, true);
    if (retire_->parsed()) return retire(client, io);
    if (remove_->parsed()) return remove(client, io);
    if (import_->parsed()) return import(client, io);
    return exit_usage;
}

int CredentialCommands::list(AdminClient& client, const CtlOutput& io) const {
    auto table = credential_table();
    std::string after = after_;
    std::size_t total = 0;
    for (;;) {
        std::string path = "/v1/credentials?limit=" + std::to_string(limit_ ? limit_ : 1000);
        if (!after.empty()) path += "&after=" + percent_encode(after);
        auto r = client.get(path);
        if (!r.success()) return refused(io, "credentials list", r);
        if (io.json && (limit_ || !after_.empty())) {
            print_raw(io, r);
            return exit_ok;
        }
        for (const auto& entry : r.body.value("credentials", json::array())) {
            if (io.json)
                io.out << entry.dump() << "\n";  // JSON lines: one entry each, any count
            else
                add_rows(table, entry);
        }
        total = r.body.value("total", std::size_t{0});
        after = text_of(r.body, "next");
        if (after.empty() || limit_) break;
    }
    if (!io.json) io.out << table.render() << total << " endpoint(s) with credentials\n";
    if (!io.json && !after.empty()) io.out << "more: --after " << after << "\n";
    return exit_ok;
}

int CredentialCommands::show(AdminClient& client, const CtlOutput& io) const {
    auto r = client.get(path_of(endpoint_));
    if (!r.success()) return refused(io, endpoint_, r);
    if (io.json) {
        print_raw(io, r);
        return exit_ok;
    }
    auto table = credential_table();
    add_rows(table, r.body);
    io.out << table.render();
    return exit_ok;
}

std::string CredentialCommands::key_hex(const CtlOutput& io) const {
    if (key_file_.empty()) {
        if (key_hex_.empty()) io.err << "lwgatectl: give --key-hex or --key-file\n";
        return key_hex_;
    }
    std::ifstream in(key_file_);
    std::string hex;
    if (!(in >> hex)) io.err << "lwgatectl: " << key_file_ << ": no key in it\n";
    return hex;
}

int CredentialCommands::add_or_rotate(AdminClient& client, const CtlOutput& io, bool rotate) const {
    const auto hex = key_hex(io);
    if (hex.empty()) return exit_usage;
    json body{{"psk_identity", identity_}, {"psk_key_hex", hex}};
    if (!rotate) {
        body["endpoint"] = endpoint_;
        if (!certificate_name_.empty()) body["certificate_name"] = certificate_name_;
    }
    auto r = rotate ? client.post(path_of(endpoint_, "rotate"), body)
                    : client.post("/v1/credentials", body);
    if (!r.success()) return refused(io, (rotate ? "rotate " : "add ") + endpoint_, r);
    if (io.json) {
        print_raw(io, r);
        return exit_ok;
    }
    io.out << (rotate ? "rotated " : r.status == 201 ? "added " : "replaced ") << endpoint_;
    if (const auto closed = r.body.value("closed", 0); closed > 0)
        io.out << " (" << closed << " connection(s) with the old key closed)";
    io.out << "\n";
    return exit_ok;
}

int CredentialCommands::retire(AdminClient& client, const CtlOutput& io) const {
    json body = json::object();
    if (!identity_.empty()) body["psk_identity"] = identity_;
    auto r = client.post(path_of(endpoint_, "retire"), body);
    if (!r.success()) return refused(io, "retire " + endpoint_, r);
    if (io.json) {
        print_raw(io, r);
        return exit_ok;
    }
    io.out << "retired the older key of " << endpoint_ << " (" << r.body.value("closed", 0)
           << " connection(s) closed)\n";
    return exit_ok;
}

int CredentialCommands::remove(AdminClient& client, const CtlOutput& io) const {
    auto r = client.del(path_of(endpoint_));
    if (!r.success()) return refused(io, "remove " + endpoint_, r);
    if (io.json) {
        print_raw(io, r);
        return exit_ok;
    }
    io.out << "removed " << endpoint_ << " (" << r.body.value("closed", 0)
           << " connection(s) closed)\n";
    return exit_ok;
}

int CredentialCommands::import(AdminClient& client, const CtlOutput& io) const {
    std::ifstream file;
    if (file_ != "-") {
        file.open(file_);
        if (!file) {
            io.err << "lwgatectl: cannot read " << file_ << "\n";
            return exit_usage;
        }
    }
    std::istream& in = file_ == "-" ? std::cin : file;
    const auto format = format_for(format_, file_);
    const auto started = std::chrono::steady_clock::now();
    ImportReader reader(in, batch_, import_batch_bytes);
    ImportBatch batch;
    std::size_t imported = 0, created = 0, replaced = 0, closed = 0;
    while (reader.next(batch)) {
        std::string path = "/v1/credentials/import?first_line=" + std::to_string(batch.first_line);
        if (!format.empty()) path += "&format=" + format;
        auto r = client.post_text(
            path, batch.body, format == "csv" ? "text/csv" : "application/x-ndjson", import_wait);
        if (!r.success()) {
            if (r.status == 400) print_line_errors(io, file_, r.body);
            io.err << "lwgatectl: import stopped at line " << batch.first_line << ": "
                   << (imported ? "the " + std::to_string(imported) + " entries before it are in"
                                : std::string("nothing was imported"))
                   << "\n";
            return refused(io, "import", r);
        }
        imported += r.body.value("imported", std::size_t{0});
        created += r.body.value("created", std::size_t{0});
        replaced += r.body.value("replaced", std::size_t{0});
        closed += r.body.value("closed", std::size_t{0});
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    if (io.json) {
        io.out << json{{"imported", imported},
                       {"created", created},
                       {"replaced", replaced},
                       {"closed", closed},
                       {"seconds", took.count()}}
                      .dump()
               << "\n";
    } else {
        io.out << "imported " << imported << " entries (" << created << " new, " << replaced
               << " replaced, " << closed << " connection(s) closed) in "
               << format_seconds(took.count()) << "\n";
    }
    return exit_ok;
}

}  // namespace lwgate::ctl
