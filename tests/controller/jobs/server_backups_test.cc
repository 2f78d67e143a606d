// Backups as jobs (controller/jobs/server_backups.h) through the real job queue on SQLite and
// PostgreSQL, each job run by RunJob against a fake agent that keeps archives in memory: the
// catalog follows what the agents hold (taken, pruned by retention, deleted), a restore from
// another host copies the archive in parts and checks it, a running server is stopped for the
// restore and started again, a retried restore records its copy once, and every request is
// checked (retention bounds, owners, servers never placed) with nothing queued on a refusal.

#include "controller/jobs/server_backups.h"

#include <fstream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "controller/store/backup_vault.h"
#include "gmock/gmock.h"
#include "l4d2/controller/v1/backups.pb.h"
#include "rpc/proto_json.h"
#include "rpc/proto_time.h"
#include "tests/controller/jobs/fake_agent_client.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ServerBackupsTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    // One server per host.
    for (const char* name : {"h1", "h2"}) {
      auto host = stores_->hosts.Create(
          {.name = name, .address = "127.0.0.1:1", .max_instances = 1}, absl::Hours(1));
      ASSERT_TRUE(host.ok());
      ASSERT_TRUE(stores_->hosts.RedeemEnrollmentToken(host->second).ok());
      ASSERT_TRUE(stores_->hosts.SetInstalledBuild(host->first.id, "9000002").ok());
    }
    auto blueprint = stores_->blueprints.Create(alice_, {.name = "versus"});
    ASSERT_TRUE(blueprint.ok()) << blueprint.status();
    for (const char* name : {"vs1", "vs2"}) {
      auto server = stores_->servers.Create(alice_, name, blueprint->id, DesiredState::kRunning);
      ASSERT_TRUE(server.ok());
      ASSERT_TRUE(stores_->servers.Place(server->id, {.memory_per_server_bytes = 0}).ok());
      servers_[name] = server->id;
    }
    // Each host takes one: vs1 on one, vs2 on the other.
    host_of_["vs1"] = stores_->servers.Get(alice_, servers_["vs1"])->host_id;
    host_of_["vs2"] = stores_->servers.Get(alice_, servers_["vs2"])->host_id;
    ASSERT_NE(host_of_["vs1"], host_of_["vs2"]);
    auto unplaced = stores_->servers.Create(alice_, "vs3", blueprint->id, DesiredState::kStopped);
    ASSERT_TRUE(unplaced.ok());
    servers_["vs3"] = unplaced->id;
  }

  // Claims the job `id` and runs it with RunJob; its result, written back as the scheduler
  // would.
  absl::StatusOr<std::string> RunQueued(const std::string& id) {
    absl::StatusOr<std::vector<Job>> claimed =
        stores_->jobs.Claim("controller-a", 100, absl::Seconds(30));
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    for (const Job& job : *claimed) {
      if (job.id != id) continue;
      absl::StatusOr<JobOutcome> outcome =
          RunJob({.stores = *stores_,
                  .agents = agent_,
                  .backups = {.keep = 7, .keep_for = absl::Hours(720)},
                  .vault = vault_.get()},
                 job, call_);
      JobEnding ending{.id = job.id, .owner = "controller-a", .not_before = clock_.Now()};
      if (outcome.ok()) {
        ending.result = outcome->result;
      } else {
        ending.state = JobState::kFailed;
        ending.error = outcome.status();
      }
      EXPECT_TRUE(stores_->jobs.Write({}, {ending}).ok());
      if (!outcome.ok()) return outcome.status();
      return outcome->result;
    }
    return absl::NotFoundError("job " + id + " was not claimed");
  }

  absl::StatusOr<v1::ServerBackupResult> Backup(const std::string& server) {
    absl::StatusOr<std::string> job =
        RequestBackup(*stores_, alice_, servers_[server], 0, absl::ZeroDuration());
    if (!job.ok()) return job.status();
    absl::StatusOr<std::string> result = RunQueued(*job);
    if (!result.ok()) return result.status();
    return FromJson<v1::ServerBackupResult>(*result);
  }

  std::vector<v1::Backup> Listed(const Actor& actor, const std::string& server = "") {
    absl::StatusOr<std::vector<v1::Backup>> list =
        stores_->backups.List(actor, server.empty() ? "" : servers_[server], 100);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *std::move(list) : std::vector<v1::Backup>();
  }

  int Calls(const std::string& prefix) {
    int count = 0;
    for (const std::string& call : agent_.calls) count += absl::StartsWith(call, prefix);
    return count;
  }

  // The controller's vault, on a real directory.
  void UseVault() {
    vault_ = std::make_unique<BackupVault>(dir_.Sub("vault"));
    ASSERT_TRUE(vault_->Open().ok());
  }
  std::string VaultFile(const v1::Backup& backup) {
    return absl::StrCat(vault_->dir(), "/", backup.sha256(), ".tar.zst");
  }
  absl::StatusOr<std::string> Restore(const std::string& server, const std::string& backup_id) {
    absl::StatusOr<std::string> job = RequestRestore(*stores_, alice_, servers_[server], backup_id);
    if (!job.ok()) return job.status();
    return RunQueued(*job);
  }
  absl::Status Delete(const std::string& backup_id) {
    absl::StatusOr<std::string> job = RequestBackupDeletion(*stores_, alice_, backup_id);
    if (!job.ok()) return job.status();
    return RunQueued(*job).status();
  }

  Actor alice_, bob_;
  std::map<std::string, std::string> servers_, host_of_;
  FakeAgentClient agent_;
  FakeAgentCall call_;
  std::unique_ptr<BackupVault> vault_;  // null: none
};

TEST_P(ServerBackupsTest, TheCatalogFollowsBackupsTakenAndPrunedOnTheHost) {
  absl::StatusOr<v1::ServerBackupResult> first = Backup("vs1");
  ASSERT_TRUE(first.ok()) << first.status();
  // The config's retention when the request names none.
  EXPECT_EQ(agent_.last_backup_request.keep(), 7u);
  EXPECT_EQ(DurationOf(agent_.last_backup_request.keep_for()), absl::Hours(720));
  EXPECT_EQ(agent_.last_backup_request.name(), "vs1");
  const v1::Backup& taken = first->backup();
  EXPECT_EQ(taken.server_id(), servers_["vs1"]);
  EXPECT_EQ(taken.host_id(), host_of_["vs1"]);
  EXPECT_EQ(taken.host_name(), stores_->hosts.Get(host_of_["vs1"])->name);
  EXPECT_EQ(taken.owner_id(), alice_.user_id);
  EXPECT_EQ(taken.sha256().size(), 64u);
  EXPECT_GT(taken.size_bytes(), 0u);
  EXPECT_EQ(taken.created_by(), alice_.Name());
  std::vector<v1::Backup> listed = Listed(alice_, "vs1");
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_EQ(listed[0].id(), taken.id());
  EXPECT_EQ(listed[0].archive_id(), taken.archive_id());

  // The agent pruned the first while taking the second: the catalog forgets it with the same
  // transaction that records the new one.
  agent_.prune_next = {taken.archive_id()};
  absl::StatusOr<v1::ServerBackupResult> second = Backup("vs1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(second->pruned(), ElementsAre(taken.id()));
  listed = Listed(alice_, "vs1");
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_EQ(listed[0].id(), second->backup().id());

  // Another operator sees none of it; an admin sees all.
  EXPECT_THAT(Listed(bob_), IsEmpty());
  EXPECT_TRUE(absl::IsNotFound(stores_->backups.Get(bob_, taken.id()).status()));
  EXPECT_TRUE(absl::IsNotFound(stores_->backups.Get(alice_, taken.id()).status()));  // pruned
  EXPECT_THAT(Listed(Actor::System()), SizeIs(1));

  // Deleted: from the host, then from the catalog.
  absl::StatusOr<std::string> deletion =
      RequestBackupDeletion(*stores_, alice_, second->backup().id());
  ASSERT_TRUE(deletion.ok()) << deletion.status();
  ASSERT_TRUE(RunQueued(*deletion).ok());
  EXPECT_EQ(Calls("DeleteBackup vs1 " + second->backup().archive_id()), 1);
  EXPECT_THAT(Listed(alice_), IsEmpty());
  EXPECT_TRUE(agent_.backups.empty());

  // Each request audited with its job.
  absl::StatusOr<std::vector<AuditEntry>> audit = stores_->audit.Newest(20);
  ASSERT_TRUE(audit.ok());
  int backups = 0, deletions = 0;
  for (const AuditEntry& entry : *audit) {
    backups += entry.action == "server.backup";
    deletions += entry.action == "backup.delete";
    if (entry.action == "server.backup") {
      EXPECT_THAT(entry.detail, HasSubstr("\"job\""));
    }
  }
  EXPECT_EQ(backups, 2);
  EXPECT_EQ(deletions, 1);
}

// An archive is known by its host, instance and id: a copy of vs1's backup into vs2's
// directory on the same host is a backup of its own; recording one twice (a retried job) keeps
// one row.
TEST_P(ServerBackupsTest, TheCatalogKnowsAnArchiveByHostInstanceAndId) {
  v1::Backup backup;
  backup.set_server_id(servers_["vs1"]);
  backup.set_server_name("vs1");
  backup.set_owner_id(alice_.user_id);
  backup.set_host_id(host_of_["vs1"]);
  backup.set_archive_id("20261204T120000Z-0a1b2c3d");
  v1::Backup copy = backup;
  copy.set_server_id(servers_["vs2"]);
  copy.set_server_name("vs2");
  v1::Backup again = backup;
  ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                   stores_->backups.Add(sql, backup);
                   stores_->backups.Add(sql, copy);
                   stores_->backups.Add(sql, again);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_NE(copy.id(), backup.id());
  EXPECT_EQ(again.id(), backup.id());
  EXPECT_THAT(Listed(alice_), SizeIs(2));
  // Pruned in vs2's directory: vs1's stays.
  std::vector<v1::Backup> removed;
  ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                   removed = stores_->backups.RemoveArchives(sql, host_of_["vs1"], "vs2",
                                                             {copy.archive_id()});
                   return absl::OkStatus();
                 })
                  .ok());
  ASSERT_THAT(removed, SizeIs(1));
  EXPECT_EQ(removed[0].id(), copy.id());
  std::vector<v1::Backup> left = Listed(alice_);
  ASSERT_THAT(left, SizeIs(1));
  EXPECT_EQ(left[0].id(), backup.id());
}

TEST_P(ServerBackupsTest, BadRequestsAreRefusedAndQueueNothing) {
  const auto refused = [](const absl::StatusOr<std::string>& job) {
    return job.ok() ? absl::OkStatus() : job.status();
  };
  EXPECT_THAT(refused(RequestBackup(*stores_, alice_, servers_["vs1"], 101, absl::ZeroDuration()))
                  .message(),
              HasSubstr("keep: 0 (the config's) to 100"));
  EXPECT_THAT(
      refused(RequestBackup(*stores_, alice_, servers_["vs1"], 3, absl::Minutes(10))).message(),
      HasSubstr("keep_for"));
  EXPECT_TRUE(absl::IsNotFound(
      refused(RequestBackup(*stores_, bob_, servers_["vs1"], 0, absl::ZeroDuration()))));
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  const std::string backup = taken->backup().id();
  // Bob sees neither the server nor the backup; his own server cannot take alice's backup.
  auto blueprint = stores_->blueprints.Create(bob_, {.name = "coop"});
  ASSERT_TRUE(blueprint.ok());
  auto bobs = stores_->servers.Create(bob_, "bob1", blueprint->id, DesiredState::kStopped);
  ASSERT_TRUE(bobs.ok());
  EXPECT_TRUE(absl::IsNotFound(refused(RequestRestore(*stores_, bob_, bobs->id, backup))));
  EXPECT_TRUE(absl::IsInvalidArgument(
      refused(RequestRestore(*stores_, Actor::System(), bobs->id, backup))));
  EXPECT_TRUE(absl::IsNotFound(refused(RequestBackupDeletion(*stores_, bob_, backup))));
  // A server never placed has nothing to restore into.
  EXPECT_THAT(refused(RequestRestore(*stores_, alice_, servers_["vs3"], backup)).message(),
              HasSubstr("never placed"));
  EXPECT_TRUE(absl::IsNotFound(refused(RequestRestore(*stores_, alice_, servers_["vs2"], "nope"))));
  absl::StatusOr<std::vector<Job>> jobs = stores_->jobs.List({});
  ASSERT_TRUE(jobs.ok());
  EXPECT_THAT(*jobs, SizeIs(1));  // the one backup
}

TEST_P(ServerBackupsTest, ARestoreFromAnotherHostCopiesInPartsAndRestartsTheServer) {
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  const v1::Backup& backup = taken->backup();
  agent_.calls.clear();
  agent_.state = agent::v1::INSTANCE_STATE_RUNNING;
  absl::StatusOr<std::string> job = RequestRestore(*stores_, alice_, servers_["vs2"], backup.id());
  ASSERT_TRUE(job.ok()) << job.status();
  absl::StatusOr<std::string> result = RunQueued(*job);
  ASSERT_TRUE(result.ok()) << result.status();
  // The archive ("backup of vs1 #1", 16 bytes) in 4-byte parts, read on h1, written to h2.
  const int parts = static_cast<int>((backup.size_bytes() + 3) / 4);
  EXPECT_EQ(Calls("ReadBackup vs1"), parts);
  EXPECT_EQ(Calls("WriteBackup vs2"), parts);
  std::vector<std::string> after_copy(agent_.calls.begin() + 2 * parts, agent_.calls.end());
  EXPECT_THAT(after_copy, ElementsAre("Get vs2", absl::StrCat("Stop vs2 ", *job, ":stop"),
                                      absl::StrCat("Restore vs2 ", *job, ":restore"),
                                      absl::StrCat("Start vs2 ", *job, ":start")));
  absl::StatusOr<v1::ServerRestoreResult> restored = FromJson<v1::ServerRestoreResult>(*result);
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(restored->was_running());
  EXPECT_EQ(restored->backup_id(), backup.id());
  // The copy is vs2's backup now, on h2, the same archive.
  std::vector<v1::Backup> copies = Listed(alice_, "vs2");
  ASSERT_THAT(copies, SizeIs(1));
  EXPECT_EQ(copies[0].id(), restored->copy_id());
  EXPECT_EQ(copies[0].host_id(), host_of_["vs2"]);
  EXPECT_EQ(copies[0].copied_from(), backup.id());
  EXPECT_EQ(copies[0].sha256(), backup.sha256());
  EXPECT_TRUE(agent_.backups.contains(absl::StrCat(host_of_["vs2"], "/vs2/", backup.archive_id())));

  // The same job run again (a controller died before recording its end): the copy is
  // recognised, not recorded twice.
  Job again = *stores_->jobs.Get(*job);
  ASSERT_TRUE(RunJob({.stores = *stores_, .agents = agent_}, again, call_).ok());
  EXPECT_THAT(Listed(alice_, "vs2"), SizeIs(1));

  // Into its own server, stopped: no copy, no stop, no start.
  agent_.calls.clear();
  agent_.state = agent::v1::INSTANCE_STATE_STOPPED;
  ASSERT_TRUE(stores_->servers.SetDesired(servers_["vs1"], DesiredState::kStopped).ok());
  job = RequestRestore(*stores_, alice_, servers_["vs1"], backup.id());
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(RunQueued(*job).ok());
  EXPECT_THAT(agent_.calls, ElementsAre("Get vs1", absl::StrCat("Restore vs1 ", *job, ":restore")));
}

TEST_P(ServerBackupsTest, ACopyThatDoesNotMatchItsChecksumRestoresNothing) {
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  // The archive changed on h1 since it was recorded (a disk fault): the receiving agent
  // refuses the copy at its last part.
  agent_.backups.begin()->second.bytes[0] ^= 1;
  agent_.calls.clear();
  absl::StatusOr<std::string> job =
      RequestRestore(*stores_, alice_, servers_["vs2"], taken->backup().id());
  ASSERT_TRUE(job.ok());
  absl::StatusOr<std::string> result = RunQueued(*job);
  EXPECT_TRUE(absl::IsDataLoss(result.status())) << result.status();
  EXPECT_EQ(Calls("Restore"), 0);
  EXPECT_EQ(Calls("Stop"), 0);
  EXPECT_THAT(Listed(alice_, "vs2"), IsEmpty());
}

// With a vault (backups.vault), every backup is copied off its host and checked; a restore
// reads it from there when its host is unreachable; the copy goes with the last backup that
// refers to it (deleted or pruned).
TEST_P(ServerBackupsTest, BackupsCopiedToTheVaultAreRestoredFromItWhenTheirHostIsDown) {
  UseVault();
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  const v1::Backup& backup = taken->backup();
  EXPECT_TRUE(backup.vaulted());
  EXPECT_EQ(Calls("ReadBackup vs1"), static_cast<int>((backup.size_bytes() + 3) / 4));
  absl::StatusOr<std::string> in_vault = ReadFileToString(VaultFile(backup));
  ASSERT_TRUE(in_vault.ok()) << in_vault.status();
  EXPECT_EQ(*in_vault, "backup of vs1 #1");
  ASSERT_THAT(Listed(alice_, "vs1"), SizeIs(1));
  EXPECT_TRUE(Listed(alice_, "vs1")[0].vaulted());
  EXPECT_THAT(*stores_->backups.VaultedDigests(), ElementsAre(backup.sha256()));

  // h1 goes down: the restore into vs2 (on h2) reads the vault, nothing from h1.
  ASSERT_TRUE(stores_->hosts.SetState(host_of_["vs1"], "ready", "unreachable").ok());
  agent_.calls.clear();
  absl::StatusOr<std::string> result = Restore("vs2", backup.id());
  ASSERT_TRUE(result.ok()) << result.status();
  absl::StatusOr<v1::ServerRestoreResult> restored = FromJson<v1::ServerRestoreResult>(*result);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->copied_from(), "vault");
  EXPECT_EQ(Calls("ReadBackup"), 0);
  EXPECT_EQ(Calls("WriteBackup vs2"), 1);  // one part: the vault reads 4 MiB at a time
  EXPECT_EQ(Calls("Restore vs2"), 1);
  EXPECT_EQ(agent_.backups[absl::StrCat(host_of_["vs2"], "/vs2/", backup.archive_id())].bytes,
            "backup of vs1 #1");
  std::vector<v1::Backup> copies = Listed(alice_, "vs2");
  ASSERT_THAT(copies, SizeIs(1));
  EXPECT_TRUE(copies[0].vaulted());  // the same file serves both

  // The original deleted (h1 back): the copy still refers to the vault's file; then the copy.
  ASSERT_TRUE(stores_->hosts.SetState(host_of_["vs1"], "unreachable", "ready").ok());
  ASSERT_TRUE(Delete(backup.id()).ok());
  EXPECT_TRUE(vault_->Has(backup.sha256()));
  ASSERT_TRUE(Delete(copies[0].id()).ok());
  EXPECT_FALSE(vault_->Has(backup.sha256()));
  EXPECT_THAT(*stores_->backups.VaultedDigests(), IsEmpty());

  // Pruned by retention on the host: its vault copy goes too.
  absl::StatusOr<v1::ServerBackupResult> second = Backup("vs1");
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(vault_->Has(second->backup().sha256()));
  agent_.prune_next = {second->backup().archive_id()};
  absl::StatusOr<v1::ServerBackupResult> third = Backup("vs1");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_THAT(third->pruned(), ElementsAre(second->backup().id()));
  EXPECT_FALSE(vault_->Has(second->backup().sha256()));
  EXPECT_TRUE(vault_->Has(third->backup().sha256()));
}

// The host lost the archive (a disk replaced): the vault's copy goes back and is restored.
TEST_P(ServerBackupsTest, AnArchiveItsHostLostIsSentBackFromTheVault) {
  UseVault();
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  const std::string key = absl::StrCat(host_of_["vs1"], "/vs1/", taken->backup().archive_id());
  agent_.backups.erase(key);
  agent_.state = agent::v1::INSTANCE_STATE_STOPPED;
  ASSERT_TRUE(stores_->servers.SetDesired(servers_["vs1"], DesiredState::kStopped).ok());
  agent_.calls.clear();
  absl::StatusOr<std::string> result = Restore("vs1", taken->backup().id());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FromJson<v1::ServerRestoreResult>(*result)->copied_from(), "vault");
  EXPECT_EQ(Calls("WriteBackup vs1"), 1);
  EXPECT_EQ(Calls("Restore vs1"), 1);  // the fake answers NOT_FOUND before it records a call
  EXPECT_EQ(agent_.backups[key].bytes, "backup of vs1 #1");

  // A vault copy that changed since (a disk fault) is refused by the receiving agent.
  agent_.backups.erase(key);
  {
    std::ofstream damage(VaultFile(taken->backup()), std::ios::binary | std::ios::in);
    damage.put('X');
  }
  EXPECT_TRUE(absl::IsDataLoss(Restore("vs1", taken->backup().id()).status()));
  EXPECT_FALSE(agent_.backups.contains(key));
}

// A backup whose host left the fleet: restored from the vault, deleted without its host.
TEST_P(ServerBackupsTest, ABackupOfAHostGoneFromTheFleetLivesOnInTheVault) {
  UseVault();
  auto gone = stores_->hosts.Create({.name = "h3", .address = "127.0.0.1:1", .max_instances = 1},
                                    absl::Hours(1));
  ASSERT_TRUE(gone.ok());
  // vs1's backup, moved by hand onto h3 in the catalog (as if vs1 had lived there).
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  v1::Backup moved = taken->backup();
  moved.set_host_id(gone->first.id);
  moved.set_host_name("h3");
  ASSERT_TRUE(db_->Transact([&](soci::session& sql) {
                   stores_->backups.Remove(sql, taken->backup().id());
                   stores_->backups.Add(sql, moved);
                   return absl::OkStatus();
                 })
                  .ok());
  ASSERT_TRUE(stores_->hosts.Delete(gone->first.id).ok());
  agent_.calls.clear();
  absl::StatusOr<std::string> result = Restore("vs2", moved.id());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FromJson<v1::ServerRestoreResult>(*result)->copied_from(), "vault");
  EXPECT_EQ(Calls("ReadBackup"), 0);
  agent_.calls.clear();
  ASSERT_TRUE(Delete(moved.id()).ok());
  EXPECT_EQ(Calls("DeleteBackup"), 0);
  EXPECT_TRUE(vault_->Has(moved.sha256()));  // vs2's copy refers to it
  EXPECT_THAT(Listed(alice_, "vs1"), IsEmpty());
}

// Without a vault, a backup on an unreachable host cannot be restored elsewhere, and the error
// says why; nothing is stopped.
TEST_P(ServerBackupsTest, WithoutAVaultABackupOnAnUnreachableHostIsNotRestored) {
  absl::StatusOr<v1::ServerBackupResult> taken = Backup("vs1");
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_FALSE(taken->backup().vaulted());
  ASSERT_TRUE(stores_->hosts.SetState(host_of_["vs1"], "ready", "unreachable").ok());
  agent_.calls.clear();
  absl::StatusOr<std::string> result = Restore("vs2", taken->backup().id());
  EXPECT_TRUE(absl::IsUnavailable(result.status())) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("is unreachable"));
  EXPECT_THAT(result.status().message(), HasSubstr("backups.vault is not set"));
  EXPECT_THAT(agent_.calls, IsEmpty());
}

L4D2_INSTANTIATE_BACKEND_TEST(ServerBackupsTest);

}  // namespace
}  // namespace l4d2::controller
