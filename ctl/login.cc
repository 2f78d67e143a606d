#include "ctl/login.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/secret_input.h"
#include "ctl/command_table.h"
#include "ctl/controller_client.h"
#include "ctl/exit_codes.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/yaml.h"

namespace l4d2::ctl {
namespace {

// Creates `path`'s directory (and its parents) where missing.
absl::Status MakeParentDirectory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) return ErrnoError(error.value(), "create directory", parent.string());
  return absl::OkStatus();
}

// The API token's secret from a POST /api/v1/tokens answer.
absl::StatusOr<std::string> TokenSecret(const std::string& body) {
  google::protobuf::Struct answer;
  if (!google::protobuf::util::JsonStringToMessage(body, &answer).ok() ||
      !answer.fields().contains("secret")) {
    return absl::UnknownError("the controller's answer has no token");
  }
  return answer.fields().at("secret").string_value();
}

}  // namespace

int RunLoginCommand(const CommandContext& context, const Invocation& invocation) {
  const LoginOptions& options = context.options.login;
  if (options.url.empty() || options.username.empty()) {
    return UsageError(context, invocation,
                      "login needs --controller URL (or L4D2_CONTROLLER) and --username; the "
                      "password is typed, or $L4D2_PASSWORD, never on the command line");
  }
  if (options.token_file.empty() || options.config_file.empty()) {
    *context.err << "l4d2ctl: login: no place for the token: set HOME or XDG_CONFIG_HOME, or "
                    "give --token_file and --config\n";
    return kExitUsage;
  }
  ControllerClient client({.url = options.url, .timeout = context.timeout});
  const std::string password =
      ReadSecret("L4D2_PASSWORD", absl::StrCat("password for ", options.username, ": "));
  if (absl::Status signed_in = client.SignIn(options.username, password); !signed_in.ok()) {
    return ReportFailure(*context.err, signed_in);
  }
  google::protobuf::Struct create;
  (*create.mutable_fields())["name"].set_string_value(options.token_name);
  google::protobuf::ListValue* scopes = (*create.mutable_fields())["scopes"].mutable_list_value();
  for (const std::string& scope :
       options.scopes.empty() ? std::vector<std::string>{"read", "write"} : options.scopes) {
    scopes->add_values()->set_string_value(scope);
  }
  std::string request;
  (void)google::protobuf::util::MessageToJsonString(create, &request);
  absl::StatusOr<std::string> made = client.Call("POST", "/api/v1/tokens", request);
  // The token outlives the session: end it whatever happened.
  const absl::Status signed_out = client.SignOut();
  if (!made.ok()) return ReportFailure(*context.err, made.status());
  absl::StatusOr<std::string> secret = TokenSecret(*made);
  if (!secret.ok()) return ReportFailure(*context.err, secret.status());

  YAML::Emitter config;
  config << YAML::BeginMap << YAML::Key << "controller" << YAML::Value << options.url << YAML::Key
         << "token_file" << YAML::Value << options.token_file << YAML::EndMap;
  for (absl::Status written :
       {MakeParentDirectory(options.token_file),
        WriteFileAtomically(options.token_file, *secret + "\n", 0600),
        MakeParentDirectory(options.config_file),
        WriteFileAtomically(options.config_file, absl::StrCat(config.c_str(), "\n"), 0600)}) {
    if (!written.ok()) return ReportFailure(*context.err, written);
  }
  *context.out << "signed in to " << options.url << " as " << options.username << "; API token '"
               << options.token_name << "' ("
               << absl::StrJoin(options.scopes.empty() ? std::vector<std::string>{"read", "write"}
                                                       : options.scopes,
                                ",")
               << ") saved to " << options.token_file << "\n"
               << "l4d2ctl's config " << options.config_file
               << " now points at it: fleet commands need no flags (l4d2ctl hosts list)\n";
  if (!signed_out.ok()) {
    *context.err << "l4d2ctl: warning: the session was not ended: " << signed_out.message() << "\n";
  }
  return kExitOk;
}

}  // namespace l4d2::ctl
