// l4d2ctl overlays ...: layers of files over the game install, defined in the controller and
// synced to every host.

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ctl/agent_commands.h"
#include "ctl/command_table.h"
#include "ctl/controller_commands.h"
#include "ctl/controller_support.h"
#include "ctl/exit_codes.h"
#include "ctl/overlay_yaml.h"

namespace l4d2::ctl {
namespace {

// Creates the overlay, or gives an existing one a new revision.
int ApplyOverlay(const CommandContext& context, const std::string& ref, bool global,
                 const agent::v1::SyncOverlayRequest& source) {
  absl::StatusOr<v1::Overlay> existing = FindOverlay(context, ref);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return Report(context, existing.status());
  }
  absl::StatusOr<v1::Overlay> applied;
  if (existing.ok()) {
    v1::UpdateOverlayRequest update;
    *update.mutable_source() = source;
    applied =
        Send<v1::Overlay>(context, "PUT", "/api/v1/overlays/" + existing->id(), ToJson(update));
  } else {
    v1::CreateOverlayRequest create;
    create.set_ref(ref);
    create.set_global(global);
    *create.mutable_source() = source;
    applied = Send<v1::Overlay>(context, "POST", "/api/v1/overlays", ToJson(create));
  }
  if (!applied.ok()) return Report(context, applied.status());
  *context.out << (context.json
                       ? ToJson(*applied)
                       : absl::StrCat("overlay ", ref, " at revision ", applied->revision()))
               << "\n";
  return kExitOk;
}

}  // namespace

int RunOverlaysList(const CommandContext& context, const Invocation&) {
  absl::StatusOr<std::vector<v1::Overlay>> overlays = Overlays(context);
  if (!overlays.ok()) return Report(context, overlays.status());
  if (context.json) {
    v1::ListOverlaysResponse all;
    for (const v1::Overlay& overlay : *overlays) *all.add_overlays() = overlay;
    *context.out << ToJson(all) << "\n";
    return kExitOk;
  }
  *context.out << absl::StrFormat("%-30s %-7s %-9s %s\n", "REF", "GLOBAL", "REVISION", "ID");
  for (const v1::Overlay& overlay : *overlays) {
    *context.out << absl::StrFormat("%-30s %-7s %-9d %s\n", overlay.ref(),
                                    overlay.global() ? "yes" : "no", overlay.revision(),
                                    overlay.id());
  }
  return kExitOk;
}

// `apply -f FILE` (the file names the ref) or `apply REF` with one source flag.
int RunOverlaysApply(const CommandContext& context, const Invocation& invocation) {
  const std::string& file = context.options.file;
  if (invocation.args.empty()) {
    if (file.empty()) return UsageError(context, invocation, "give REF and a source, or -f FILE");
    absl::StatusOr<OverlayYaml> parsed = LoadOverlayYaml(file);
    if (!parsed.ok()) {
      *context.err << "l4d2ctl: overlay '" << file << "': " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    return ApplyOverlay(context, parsed->ref, parsed->global, parsed->source);
  }
  if (context.options.overlay_source.Count() != 1) {
    return UsageError(context, invocation, "give exactly one source flag");
  }
  absl::StatusOr<agent::v1::SyncOverlayRequest> source =
      OverlaySourceFromFlags(context.options.overlay_source);
  if (!source.ok()) {
    *context.err << "l4d2ctl: " << source.status().message() << "\n";
    return kExitUsage;
  }
  return ApplyOverlay(context, invocation.args[0], context.options.overlay_apply.global, *source);
}

int RunOverlaysExport(const CommandContext& context, const Invocation& invocation) {
  absl::StatusOr<v1::Overlay> overlay = FindOverlay(context, invocation.args[0]);
  if (!overlay.ok()) return Report(context, overlay.status());
  if (context.json) {
    *context.out << ToJson(*overlay) << "\n";
    return kExitOk;
  }
  absl::StatusOr<std::string> yaml = OverlayToYaml(
      overlay->ref(), overlay->global(), overlay->source(), context.options.overlay_source.dir);
  if (!yaml.ok()) {
    *context.err << "l4d2ctl: " << yaml.status().message() << "\n";
    return kExitUsage;
  }
  *context.out << *yaml;
  return kExitOk;
}

int RunOverlaysSync(const CommandContext& context, const Invocation& invocation) {
  const std::string& ref = invocation.args[0];
  absl::StatusOr<v1::Overlay> overlay = FindOverlay(context, ref);
  if (!overlay.ok()) return Report(context, overlay.status());
  absl::StatusOr<v1::JobRefs> refs =
      Send<v1::JobRefs>(context, "POST", "/api/v1/overlays/" + overlay->id() + "/sync");
  if (!refs.ok()) return Report(context, refs.status());
  int exit = kExitOk;
  for (const std::string& job : refs->job_ids()) {
    exit = std::max(exit, Queued(context, "overlay " + ref + " sync", job));
  }
  return exit;
}

int RunOverlaysDelete(const CommandContext& context, const Invocation& invocation) {
  const std::string& ref = invocation.args[0];
  absl::StatusOr<v1::Overlay> overlay = FindOverlay(context, ref);
  if (!overlay.ok()) return Report(context, overlay.status());
  return Delete(context, "/api/v1/overlays/" + overlay->id(), "overlay " + ref);
}

}  // namespace l4d2::ctl
