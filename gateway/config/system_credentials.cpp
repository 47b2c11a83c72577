#include "config/system_credentials.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <unordered_set>

namespace lwgate::config {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHowToSet =
    " (systemd sets it for a unit with LoadCredential=; elsewhere set it to the directory that "
    "holds the credentials)";

Unexpected<Error> no_directory(std::string_view what) {
    return fail(
        Error{ConfigErrc::no_credentials_directory,
              std::string(what) + " needs $CREDENTIALS_DIRECTORY, which is not set" + kHowToSet});
}

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// Local tags (!name) other than !credential are mistakes: YAML would silently ignore them.
bool unknown_local_tag(const std::string& tag) {
    return tag.size() > 1 && tag.front() == '!' && tag != kCredentialTag;
}

void substitute_one(Reader& r, const std::string& path, YAML::Node node,
                    std::string_view directory) {
    const int line = line_of(node);
    if (!node.IsScalar()) {
        r.error(
            path, line,
            std::string(kCredentialTag) + " takes the name of a credential, got " + describe(node));
        return;
    }
    auto value = read_system_credential(node.Scalar(), directory);
    if (!value) {
        r.error(path, line, value.error().detail);
        return;
    }
    node = *value;  // the node is shared with the document: the walk reads the credential
}

// The walk over the document: each node once, however many aliases name it (an alias may
// even name a node that holds it), and no deeper than any configuration goes.
class Substitution {
  public:
    Substitution(Reader& r, std::string_view directory) : r_(r), directory_(directory) {}

    void visit(const std::string& path, const YAML::Node& node, unsigned depth) {
        const auto mark = node.Mark();
        if (!mark.is_null() && !seen_.insert(mark.pos).second) return;
        if (depth > kMaxDepth) {
            r_.error(path, line_of(node), "nested too deeply");
            return;
        }
        const std::string tag = node.Tag();
        if (tag == kCredentialTag) return substitute_one(r_, path, node, directory_);
        if (unknown_local_tag(tag)) {
            r_.error(path, line_of(node),
                     "unknown tag " + tag + " (the only tag lwgate reads is " +
                         std::string(kCredentialTag) + ")");
            return;
        }
        if (node.IsMap()) {
            for (const auto& kv : node) {
                const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
                visit(join(path, key), kv.second, depth + 1);
            }
        } else if (node.IsSequence()) {
            std::size_t i = 0;
            for (const auto& element : node)
                visit(indexed(path, i++), element, depth + 1);
        }
    }

  private:
    static constexpr unsigned kMaxDepth = 64;
    Reader& r_;
    std::string_view directory_;
    std::unordered_set<int> seen_;  // positions in the text of the nodes visited
};

}  // namespace

std::string credentials_directory() {
    const char* value = std::getenv("CREDENTIALS_DIRECTORY");
    return value ? std::string(value) : std::string();
}

Result<std::string, Error> expand_credentials_directory(std::string_view name,
                                                        std::string_view directory) {
    const auto at = name.find(kCredentialsDirectoryVariable);
    if (at == std::string_view::npos) return std::string(name);
    const auto rest = name.substr(kCredentialsDirectoryVariable.size());
    if (at != 0 || rest.empty() || rest.front() != '/' ||
        rest.find(kCredentialsDirectoryVariable) != std::string_view::npos) {
        return fail(Error{ConfigErrc::bad_credential_name,
                          std::string(kCredentialsDirectoryVariable) +
                              " may only start a file name, as in " +
                              std::string(kCredentialsDirectoryVariable) + "/server.key"});
    }
    if (directory.empty()) return no_directory(name);
    return std::string(directory) + std::string(rest);
}

Result<std::string, Error> read_system_credential(std::string_view name,
                                                  std::string_view directory) {
    const std::string quoted = std::string(kCredentialTag) + " " + std::string(name);
    if (!valid_name(name))
        return fail(Error{ConfigErrc::bad_credential_name,
                          quoted + ": a credential's name is a file name in "
                                   "$CREDENTIALS_DIRECTORY, without '/'"});
    if (directory.empty()) return no_directory(quoted);
    const std::string path = (fs::path(directory) / fs::path(name)).string();
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        return fail(Error{ConfigErrc::file_not_found,
                          quoted + ": no such credential (" + path +
                              "); give it to the unit with LoadCredential=" + std::string(name) +
                              ":/path/to/file"});
    const auto size = fs::is_regular_file(status) ? fs::file_size(path, ec) : 0;
    if (!ec && size > kMaxCredentialBytes)
        return fail(Error{ConfigErrc::too_large, quoted + ": " + path + " holds more than " +
                                                     std::to_string(kMaxCredentialBytes) +
                                                     " bytes"});
    auto text = read_file(path);
    if (!text)
        return fail(Error{text.error().code,
                          quoted + ": cannot read " + path + ": " + text.error().detail});
    std::string value = std::move(*text);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
        value.pop_back();
    return value;
}

void substitute_credentials(Reader& reader, const Item& root, std::string_view directory) {
    Substitution(reader, directory).visit(root.path, root.node, 0);
}

}  // namespace lwgate::config
