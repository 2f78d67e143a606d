#include "ctl/overlay_yaml.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "common/yaml_document.h"

namespace l4d2::ctl {
namespace {

// `path` as written in the file: relative to the file's own directory.
std::string Beside(const std::string& file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(file).parent_path() / path).string();
}

}  // namespace

absl::StatusOr<OverlayYaml> LoadOverlayYaml(const std::string& path) {
  L4D2_ASSIGN_OR_RETURN(YAML::Node document, LoadYamlFile(path, {.max_bytes = 64 * 1024}));
  YamlMapReader root(document, "");
  OverlayYaml overlay;
  root.String("ref", &overlay.ref, /*required=*/true);
  root.Bool("global", &overlay.global);
  // The sources, as the flags of `overlay sync` describe them.
  OverlaySourceOptions flags;
  root.String("dir", &flags.dir);
  YamlMapReader archive(root.Map("archive"), root.Child("archive"));
  archive.String("url", &flags.url, /*required=*/root.Map("archive").IsDefined());
  archive.String("sha256", &flags.sha256, /*required=*/root.Map("archive").IsDefined());
  archive.String("destination", &flags.destination);
  archive.Int("strip", &flags.strip_components, 0, 64);
  YamlMapReader workshop(root.Map("workshop"), root.Child("workshop"));
  std::vector<std::string> items, collections;
  workshop.StringList("items", &items);
  workshop.StringList("collections", &collections);
  YamlMapReader script(root.Map("script"), root.Child("script"));
  script.String("file", &flags.script, /*required=*/root.Map("script").IsDefined());
  script.Bool("network", &flags.network);
  script.Duration("timeout", &flags.script_timeout);
  L4D2_RETURN_IF_ERROR(archive.Finish());
  L4D2_RETURN_IF_ERROR(workshop.Finish());
  L4D2_RETURN_IF_ERROR(script.Finish());
  L4D2_RETURN_IF_ERROR(root.Finish());
  for (auto [texts, ids] : {std::pair{&items, &flags.workshop_items},
                            std::pair{&collections, &flags.workshop_collections}}) {
    for (const std::string& text : *texts) {
      uint64_t id = 0;
      if (!absl::SimpleAtoi(text, &id)) {
        return absl::InvalidArgumentError(absl::StrCat("workshop: '", text, "' is not an id"));
      }
      ids->push_back(id);
    }
  }
  if (flags.Count() != 1) {
    return absl::InvalidArgumentError("exactly one of dir, archive, workshop or script");
  }
  flags.dir = Beside(path, flags.dir);
  flags.script = Beside(path, flags.script);
  L4D2_ASSIGN_OR_RETURN(overlay.source, OverlaySourceFromFlags(flags));
  return overlay;
}

absl::StatusOr<std::string> OverlayToYaml(const std::string& ref, bool global,
                                          const agent::v1::SyncOverlayRequest& source,
                                          const std::string& dir) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "ref" << YAML::Value << ref;
  if (global) out << YAML::Key << "global" << YAML::Value << true;
  auto write = [&](const std::string& relative, const std::string& content,
                   uint32_t mode) -> absl::Status {
    const std::filesystem::path target = std::filesystem::path(dir) / relative;
    std::error_code error;
    std::filesystem::create_directories(target.parent_path(), error);
    std::ofstream file(target, std::ios::binary | std::ios::trunc);
    file << content;
    if (!file.good() || error) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write '", target.string(), "'"));
    }
    std::filesystem::permissions(target, static_cast<std::filesystem::perms>(mode ? mode : 0644),
                                 error);
    return absl::OkStatus();
  };
  if (source.has_inline_files() || source.has_script()) {
    if (dir.empty()) {
      return absl::InvalidArgumentError(
          "this overlay's files or script are written out: give --dir DIR");
    }
  }
  if (source.has_inline_files()) {
    for (const agent::v1::InlineFile& file : source.inline_files().files()) {
      if (file.path().find("..") != std::string::npos || file.path().empty() ||
          file.path().front() == '/') {
        return absl::InvalidArgumentError(absl::StrCat("unsafe file path '", file.path(), "'"));
      }
      L4D2_RETURN_IF_ERROR(write(file.path(), file.content(), file.mode()));
    }
    out << YAML::Key << "dir" << YAML::Value << dir;
  } else if (source.has_archive()) {
    const agent::v1::Archive& archive = source.archive();
    out << YAML::Key << "archive" << YAML::Value << YAML::BeginMap << YAML::Key << "url"
        << YAML::Value << archive.url() << YAML::Key << "sha256" << YAML::Value << archive.sha256();
    if (!archive.destination().empty()) {
      out << YAML::Key << "destination" << YAML::Value << archive.destination();
    }
    if (archive.strip_components() != 0) {
      out << YAML::Key << "strip" << YAML::Value << archive.strip_components();
    }
    out << YAML::EndMap;
  } else if (source.has_workshop()) {
    out << YAML::Key << "workshop" << YAML::Value << YAML::BeginMap;
    std::vector<std::string> items, collections;
    for (uint64_t id : source.workshop().item_ids()) items.push_back(absl::StrCat(id));
    for (uint64_t id : source.workshop().collection_ids()) collections.push_back(absl::StrCat(id));
    if (!items.empty()) out << YAML::Key << "items" << YAML::Value << YAML::Flow << items;
    if (!collections.empty()) {
      out << YAML::Key << "collections" << YAML::Value << YAML::Flow << collections;
    }
    out << YAML::EndMap;
  } else if (source.has_script()) {
    L4D2_RETURN_IF_ERROR(write("build.sh", source.script().source(), 0755));
    out << YAML::Key << "script" << YAML::Value << YAML::BeginMap << YAML::Key << "file"
        << YAML::Value << (std::filesystem::path(dir) / "build.sh").string();
    if (source.script().network()) out << YAML::Key << "network" << YAML::Value << true;
    if (source.script().has_timeout()) {
      out << YAML::Key << "timeout" << YAML::Value
          << absl::StrCat(source.script().timeout().seconds(), "s");
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace l4d2::ctl
