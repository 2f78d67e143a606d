#pragma once

// l4d2ctl's commands against the controller's HTTP API (docs/l4d2ctl.md), nouns first so they
// never clash with the agent's verbs; each a CommandHandler of the command table, one file per
// noun (servers_commands.cc, hosts_commands.cc, ...). Objects are named by name (servers,
// hosts, blueprints) or ref (overlays), or by id. Exit codes as exit_codes.h: 0 success,
// 1 refused or failed (the controller's message on stderr; `jobs watch` and --wait: the job
// did not succeed), 2 usage, 3 unreachable.

#include "ctl/command.h"

namespace l4d2::ctl {

// servers list | show NAME | create NAME --blueprint NAME | start|stop|restart|reset|delete
// NAME | console NAME COMMAND... | logs NAME | bulk ACTION (--host | --blueprint)
int RunServersList(const CommandContext& context, const Invocation& invocation);
int RunServersShow(const CommandContext& context, const Invocation& invocation);
int RunServersCreate(const CommandContext& context, const Invocation& invocation);
int RunServersAction(const CommandContext& context, const Invocation& invocation);
int RunServersConsole(const CommandContext& context, const Invocation& invocation);
int RunServersLogs(const CommandContext& context, const Invocation& invocation);
int RunServersBulk(const CommandContext& context, const Invocation& invocation);

// hosts list | create NAME --address HOST:PORT | show|drain|undrain|install|delete NAME
int RunHostsList(const CommandContext& context, const Invocation& invocation);
int RunHostsCreate(const CommandContext& context, const Invocation& invocation);
int RunHostsShow(const CommandContext& context, const Invocation& invocation);
int RunHostsDrain(const CommandContext& context, const Invocation& invocation);  // and undrain
int RunHostsInstall(const CommandContext& context, const Invocation& invocation);
int RunHostsDelete(const CommandContext& context, const Invocation& invocation);
int RunHostsRevoke(const CommandContext& context, const Invocation& invocation);

// blueprints list | apply -f FILE | export|delete NAME
int RunBlueprintsList(const CommandContext& context, const Invocation& invocation);
int RunBlueprintsApply(const CommandContext& context, const Invocation& invocation);
int RunBlueprintsExport(const CommandContext& context, const Invocation& invocation);
int RunBlueprintsDelete(const CommandContext& context, const Invocation& invocation);
int RunAlertsList(const CommandContext& context, const Invocation& invocation);
int RunAlertsCreate(const CommandContext& context, const Invocation& invocation);
int RunAlertsDeliveries(const CommandContext& context, const Invocation& invocation);
int RunAlertsTest(const CommandContext& context, const Invocation& invocation);
int RunAlertsDelete(const CommandContext& context, const Invocation& invocation);
int RunServersBackup(const CommandContext& context, const Invocation& invocation);
int RunServersRestore(const CommandContext& context, const Invocation& invocation);
int RunBackupsList(const CommandContext& context, const Invocation& invocation);
int RunBackupsDelete(const CommandContext& context, const Invocation& invocation);
int RunUpdatesShow(const CommandContext& context, const Invocation& invocation);
int RunUpdatesPolicy(const CommandContext& context, const Invocation& invocation);
int RunUpdatesCheck(const CommandContext& context, const Invocation& invocation);
int RunUpdatesRoll(const CommandContext& context, const Invocation& invocation);
int RunSchedulesList(const CommandContext& context, const Invocation& invocation);
int RunSchedulesShow(const CommandContext& context, const Invocation& invocation);
int RunSchedulesApply(const CommandContext& context, const Invocation& invocation);
int RunSchedulesExport(const CommandContext& context, const Invocation& invocation);
int RunSchedulesRun(const CommandContext& context, const Invocation& invocation);
// enable and disable
int RunSchedulesSwitch(const CommandContext& context, const Invocation& invocation);
int RunSchedulesDelete(const CommandContext& context, const Invocation& invocation);

// overlays list | apply REF SOURCE | apply -f FILE | export|sync|delete REF
int RunOverlaysList(const CommandContext& context, const Invocation& invocation);
int RunOverlaysApply(const CommandContext& context, const Invocation& invocation);
int RunOverlaysExport(const CommandContext& context, const Invocation& invocation);
int RunOverlaysSync(const CommandContext& context, const Invocation& invocation);
int RunOverlaysDelete(const CommandContext& context, const Invocation& invocation);

// jobs list [--state S] | show|watch|cancel ID
int RunPlayersOnline(const CommandContext& context, const Invocation& invocation);
int RunPlayersSessions(const CommandContext& context, const Invocation& invocation);
int RunPlayersTimeline(const CommandContext& context, const Invocation& invocation);
int RunPlayersSearch(const CommandContext& context, const Invocation& invocation);
int RunPlayersShow(const CommandContext& context, const Invocation& invocation);
int RunJobsList(const CommandContext& context, const Invocation& invocation);
int RunJobsShow(const CommandContext& context, const Invocation& invocation);
int RunJobsWatch(const CommandContext& context, const Invocation& invocation);
int RunJobsCancel(const CommandContext& context, const Invocation& invocation);

// tokens list | create NAME [--scopes] | revoke ID
int RunTokensList(const CommandContext& context, const Invocation& invocation);
int RunTokensCreate(const CommandContext& context, const Invocation& invocation);
int RunTokensRevoke(const CommandContext& context, const Invocation& invocation);

}  // namespace l4d2::ctl
