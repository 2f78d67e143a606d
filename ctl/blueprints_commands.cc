// l4d2ctl blueprints ...: server settings with their overlays, kept as YAML by operators.

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "spec/spec_yaml.h"

namespace l4d2::ctl {
namespace {

// The blueprint's input for the API: its overlays named by ref in the file, by id in the API.
absl::StatusOr<v1::BlueprintInput> InputFor(const CommandContext& context,
                                            const spec::BlueprintYaml& parsed) {
  v1::BlueprintInput input;
  input.set_name(parsed.name);
  *input.mutable_settings() = parsed.settings;
  if (parsed.overlays.empty()) return input;
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return overlays.status();
  for (const agent::v1::OverlayLayer& layer : parsed.overlays) {
    auto it = std::find_if(overlays->begin(), overlays->end(),
                           [&](const v1::Overlay& o) { return o.ref() == layer.ref(); });
    if (it == overlays->end()) {
      return absl::NotFoundError(absl::StrCat("no overlay '", layer.ref(), "'"));
    }
    v1::BlueprintOverlay* overlay = input.add_overlays();
    overlay->set_overlay_id(it->id());
    overlay->set_exec_server_cfg(layer.exec_server_cfg());
  }
  return input;
}

}  // namespace

int RunBlueprintsList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Blueprint>> blueprints =
      All(context, "/api/v1/blueprints", &v1::ListBlueprintsResponse::blueprints);
  if (!blueprints.ok()) return Report(context, blueprints.status());
  if (context.json) {
    v1::ListBlueprintsResponse all;
    for (const v1::Blueprint& blueprint : *blueprints) *all.add_blueprints() = blueprint;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-24s %-10s %-8s %s\n", "NAME", "MODE", "PLAYERS", "ID");
  for (const v1::Blueprint& blueprint : *blueprints) {
    *context.out << absl::StrFormat("%-24s %-10s %-8d %s\n", blueprint.name(),
                                    blueprint.settings().game_mode(),
                                    blueprint.settings().max_players(), blueprint.id());
  }
  return kExitOk;
}

int RunBlueprintsApply(const CommandContext& context, const Invocation& invocation) {
  const std::string& file = context.options.file;
  if (file.empty()) return UsageError(context, invocation, "-f FILE is required");
  absl::StatusOr<std::string> text = ReadFileToString(file, 256 * 1024 + 1);
  if (!text.ok()) return Report(context, text.status());
  absl::StatusOr<spec::BlueprintYaml> parsed =
      spec::ParseBlueprintYaml(*text, absl::StrCat("blueprint '", file, "'"));
  if (!parsed.ok()) {
    *context.err << "l4d2ctl: " << parsed.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<v1::BlueprintInput> input = InputFor(context, *parsed);
  if (!input.ok()) return Report(context, input.status());
  absl::StatusOr<v1::Blueprint> existing = FindBlueprint(context, parsed->name);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return Report(context, existing.status());
  }
  absl::StatusOr<v1::Blueprint> applied =
      existing.ok() ? Send<v1::Blueprint>(context, "PUT", "/api/v1/blueprints/" + existing->id(),
                                          ToJson(*input))
                    : Send<v1::Blueprint>(context, "POST", "/api/v1/blueprints", ToJson(*input));
  if (!applied.ok()) return Report(context, applied.status());
  *context.out << (context.json ? ToJson(*applied)
                                : absl::StrCat("blueprint ", applied->name(),
                                               existing.ok() ? " updated" : " created"))
               << "\n";
  return kExitOk;
}

int RunBlueprintsExport(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, invocation.args[0]);
  if (!blueprint.ok()) return Report(context, blueprint.status());
  if (context.json) {
    *context.out << ToJson(*blueprint) << "\n";
    return kExitOk;
  }
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return Report(context, overlays.status());
  std::vector<agent::v1::OverlayLayer> layers;
  for (const v1::BlueprintOverlay& overlay : blueprint->overlays()) {
    agent::v1::OverlayLayer layer;
    for (const v1::Overlay& known : *overlays) {
      if (known.id() == overlay.overlay_id()) layer.set_ref(known.ref());
    }
    if (layer.ref().empty()) layer.set_ref(overlay.overlay_id());
    layer.set_exec_server_cfg(overlay.exec_server_cfg());
    layers.push_back(layer);
  }
  *context.out << spec::BlueprintToYaml(blueprint->name(), blueprint->settings(), layers);
  return kExitOk;
}

int RunBlueprintsDelete(const CommandContext& context, const Invocation& invocation) {
  const std::string& name = invocation.args[0];
  absl::StatusOr<v1::Blueprint> blueprint = FindBlueprint(context, name);
  if (!blueprint.ok()) return Report(context, blueprint.status());
  return Delete(context, "/api/v1/blueprints/" + blueprint->id(), "blueprint " + name);
}

}  // namespace l4d2::ctl
