// l4d2ctl's command table against the real binary: every flag it names exists, the help it
// generates is what `--help` and `NOUN --help` print, and the bash completion it generates
// completes nouns, verbs and flags in a real bash.

#include "ctl/command_table.h"

#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace l4d2::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string RunCtl(const std::vector<std::string>& argv, int* code) {
  int status = 0;
  auto output = l4d2::testing::RunToCompletion({.argv = argv}, &status);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output.ok() ? *output : output.status().ToString();
}

TEST(CommandTableTest, EveryRowHasAHandlerAndASaneArgumentCount) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const CommandSpec& command : Commands()) {
    SCOPED_TRACE(command.noun + " " + command.verb);
    EXPECT_NE(command.run, nullptr);
    EXPECT_TRUE(seen.insert({command.noun, command.verb}).second) << "listed twice";
    EXPECT_GE(command.min_args, 0);
    EXPECT_TRUE(command.max_args == CommandSpec::kAny || command.max_args >= command.min_args);
  }
}

// Dispatch in-process: what is not a command, or not its arguments, is a usage error printed
// from the table, before anything is called.
TEST(CommandTableTest, RunCommandRefusesWhatTheTableDoesNotAllow) {
  std::ostringstream out, err;
  CommandContext context{.out = &out, .err = &err};
  auto run = [&](const std::vector<std::string>& words) {
    out.str("");
    err.str("");
    return RunCommand(context, words);
  };
  EXPECT_EQ(run({}), 2);
  EXPECT_THAT(err.str(), HasSubstr("no command given"));
  EXPECT_EQ(run({"bogus"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("unknown command 'bogus'"));
  EXPECT_EQ(run({"servers", "fly"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("usage: l4d2ctl servers list|show|create|start"));
  EXPECT_EQ(run({"start"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("usage: l4d2ctl start NAME"));
  EXPECT_EQ(run({"start", "a", "b"}), 2);
  EXPECT_EQ(run({"list", "extra"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("takes no arguments"));
  EXPECT_EQ(run({"servers", "console", "s1"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("usage: l4d2ctl servers console NAME COMMAND..."));
  // A controller noun (its verb defaults to list) needs a controller.
  EXPECT_EQ(run({"servers"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("talks to the controller"));
  EXPECT_EQ(run({"completion", "fish"}), 2);
  EXPECT_THAT(err.str(), HasSubstr("usage: l4d2ctl completion bash|zsh"));
  EXPECT_EQ(run({"completion", "bash"}), 0);
  EXPECT_EQ(out.str(), BashCompletion());
}

TEST(CommandTableTest, EveryFlagTheTableNamesIsAFlagOfTheProgram) {
  int code = -1;
  const std::string all = RunCtl({L4D2CTL_BINARY, "--helpfull"}, &code);
  std::set<std::string> defined;
  const std::regex flag(R"(\n  --([a-z0-9_]+)(=VALUE)?\n)");
  for (std::sregex_iterator it(all.begin(), all.end(), flag), end; it != end; ++it) {
    defined.insert((*it)[1]);
  }
  ASSERT_GT(defined.size(), 30u) << all;
  for (const CommandSpec& command : Commands()) {
    for (const std::string& name : command.flags) {
      EXPECT_TRUE(defined.count(name)) << command.noun << " " << command.verb << ": --" << name;
    }
  }
}

TEST(CommandTableTest, HelpListsEveryCommandAndEachNounHasItsOwn) {
  int code = -1;
  const std::string help = RunCtl({L4D2CTL_BINARY, "--help"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_THAT(help, Not(HasSubstr("No flags matched")));
  EXPECT_THAT(help, HasSubstr("--controller"));
  for (const CommandSpec& command : Commands()) {
    EXPECT_THAT(
        help, HasSubstr(absl::StrCat(command.noun, command.verb.empty() ? "" : " ", command.verb)));
  }
  const std::string servers = RunCtl({L4D2CTL_BINARY, "servers", "--help"}, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(servers, NounHelp("servers"));
  for (const char* verb : {"list", "create", "bulk", "console", "logs", "delete"}) {
    EXPECT_THAT(servers, HasSubstr(absl::StrCat("l4d2ctl servers ", verb)));
  }
  EXPECT_THAT(servers, HasSubstr("--blueprint --stopped --wait"));
  EXPECT_THAT(servers, Not(HasSubstr("hosts create")));
  const std::string logs = RunCtl({L4D2CTL_BINARY, "logs", "-h"}, &code);
  EXPECT_THAT(logs, HasSubstr("--lines --follow --after_cursor"));
  EXPECT_EQ(NounHelp("nonsense"), "");
}

// Every binary's help is only ours: its usage and its own flags, nothing of Abseil's (issue
// Deploy: it ended with "Try --helpfull ...", and --helpfull listed Abseil's own flags).
TEST(CommandTableTest, EveryProgramsHelpIsOnlyOurs) {
  for (const char* program : {L4D2CTL_BINARY, L4D2_AGENT_BINARY, L4D2_CONTROLLER_BINARY}) {
    for (const char* spelling : {"--help", "-h", "--helpfull", "--helpshort"}) {
      int code = -1;
      const std::string help = RunCtl({program, spelling}, &code);
      EXPECT_EQ(code, 0) << program << " " << spelling;
      EXPECT_THAT(help, HasSubstr("\nFlags:\n  --")) << program << " " << spelling;
      EXPECT_THAT(help, HasSubstr("\n  --version\n      print the version and exit\n"));
      for (const char* foreign : {"Try --helpfull", "absl", "--flagfile", "--undefok", "--v="}) {
        EXPECT_THAT(help, Not(HasSubstr(foreign))) << program << " " << spelling;
      }
    }
  }
}

TEST(CommandTableTest, BashCompletesNounsVerbsAndEachCommandsFlags) {
  l4d2::testing::TempDir dir;
  int code = -1;
  const std::string script = RunCtl({L4D2CTL_BINARY, "completion", "bash"}, &code);
  ASSERT_EQ(code, 0) << script;
  std::ofstream(dir.Sub("l4d2ctl.bash")) << script;
  // What bash offers after the words typed so far (the last one being completed).
  auto complete = [&](const std::string& words) {
    std::vector<std::string> parts = absl::StrSplit(words, ' ');
    const std::string program =
        absl::StrCat("source ", dir.Sub("l4d2ctl.bash"), "; COMP_WORDS=(", words,
                     words.back() == ' ' ? "''" : "", "); COMP_CWORD=", parts.size() - 1,
                     "; _l4d2ctl; echo \"${COMPREPLY[*]}\"");
    return RunCtl({"/bin/bash", "-c", program}, &code);
  };
  EXPECT_EQ(complete("l4d2ctl ser"), "servers\n");
  EXPECT_THAT(complete("l4d2ctl servers "), HasSubstr("list show create start"));
  EXPECT_EQ(complete("l4d2ctl servers create web --bl"), "--blueprint\n");
  EXPECT_EQ(complete("l4d2ctl --json hos"), "host hosts\n");
  EXPECT_EQ(complete("l4d2ctl logs s1 --fo"), "--follow\n");
  EXPECT_EQ(complete("l4d2ctl --contr"), "--controller\n");
  EXPECT_THAT(RunCtl({L4D2CTL_BINARY, "completion", "fish"}, &code),
              HasSubstr("usage: l4d2ctl completion bash|zsh"));
  EXPECT_EQ(code, 2);
}

TEST(CommandTableTest, ZshCompletionNamesEveryNounAndIsValidZsh) {
  int code = -1;
  const std::string script = RunCtl({L4D2CTL_BINARY, "completion", "zsh"}, &code);
  ASSERT_EQ(code, 0);
  EXPECT_THAT(script, HasSubstr("#compdef l4d2ctl"));
  for (const CommandSpec& command : Commands()) EXPECT_THAT(script, HasSubstr(command.noun));
  l4d2::testing::TempDir dir;
  std::ofstream(dir.Sub("_l4d2ctl")) << script;
  RunCtl({"/usr/bin/zsh", "-n", dir.Sub("_l4d2ctl")}, &code);
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace l4d2::ctl
