// systemd credentials in the configuration. A unit with LoadCredential= (or SetCredential=,
// LoadCredentialEncrypted=) gets each credential as a file in a directory only the service can
// read, named by $CREDENTIALS_DIRECTORY, so that a secret can stay in a file only root reads.
// The configuration takes them two ways:
//   - a file name (a certificate, a private key, credentials_file) may start with
//     ${CREDENTIALS_DIRECTORY}/, which becomes that directory;
//   - any value may be written `!credential NAME`: it is the contents of the file NAME in that
//     directory, trailing newlines removed (admin.token, upstream.dtls.psk_key_hex, a store.uri
//     with a password).
// Nothing else in the file is expanded: no other variable, nowhere else in a name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/reader.hpp"
#include "lwgate/util/result.hpp"

namespace lwgate::config {

inline constexpr std::string_view kCredentialsDirectoryVariable = "${CREDENTIALS_DIRECTORY}";
inline constexpr std::string_view kCredentialTag = "!credential";
// Far above any key, token or URI; a larger file is refused before it is read.
inline constexpr std::size_t kMaxCredentialBytes = 64 * 1024;

// $CREDENTIALS_DIRECTORY, or "" when it is not set.
std::string credentials_directory();

// `name` with a leading ${CREDENTIALS_DIRECTORY} replaced by `directory`; other names as they
// are. ConfigErrc::no_credentials_directory when the name starts with it and `directory` is
// empty; bad_credential_name when the variable stands anywhere but at the start, before a '/'.
Result<std::string, Error> expand_credentials_directory(std::string_view name,
                                                        std::string_view directory);

// The value of `!credential NAME`: the file NAME in `directory`, without trailing newlines.
// bad_credential_name for an empty NAME, one with a '/', "." or ".."; no_credentials_directory,
// file_not_found, too_large, or read_file()'s errors.
Result<std::string, Error> read_system_credential(std::string_view name,
                                                  std::string_view directory);

// Replaces every value under `root` tagged !credential by the credential it names, reading
// from `directory`; each failure, and any other local tag (!name), is an error of `reader` with
// the key and the line. Run before the walk, so that every key reads the value as written.
void substitute_credentials(Reader& reader, const Item& root, std::string_view directory);

}  // namespace lwgate::config
