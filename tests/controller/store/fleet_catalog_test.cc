// The overlay, blueprint and server stores' contract on SQLite and PostgreSQL
// (tests/controller/store/backend_test.h): ownership and privacy, the rules blueprints keep,
// placement, observations and metric retention.

#include "controller/store/fleet_counts.h"
#include "controller/store/fleet_stores.h"
#include "controller/store/migrations.h"
#include "controller/store/users.h"
#include "gmock/gmock.h"
#include "tests/controller/store/backend_test.h"

namespace l4d2::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FleetCatalogTest : public FleetBackendTest {
 protected:
  void SetUp() override {
    FleetBackendTest::SetUp();
    if (IsSkipped()) return;
    alice_ = NewUser("alice");
    bob_ = NewUser("bob");
    admin_ = NewUser("root", Role::kAdmin);
  }

  agent::v1::SyncOverlayRequest InlineFile(const std::string& path, const std::string& text) {
    agent::v1::SyncOverlayRequest source;
    agent::v1::InlineFile* file = source.mutable_inline_files()->add_files();
    file->set_path(path);
    file->set_content(text);
    return source;
  }

  BlueprintInput Versus(const std::string& name, std::vector<BlueprintOverlay> overlays = {}) {
    BlueprintInput input{.name = name, .overlays = std::move(overlays)};
    input.settings.set_game_mode("versus");
    input.settings.set_max_players(8);
    return input;
  }

  // A ready host with the game installed.
  Host ReadyHost(const std::string& name, int max_instances, int port_first, int port_last) {
    auto created = stores_->hosts.Create({.name = name,
                                          .address = "10.0.0.1:7543",
                                          .max_instances = max_instances,
                                          .port_first = port_first,
                                          .port_last = port_last},
                                         absl::Hours(1));
    EXPECT_TRUE(created.ok()) << created.status();
    EXPECT_TRUE(stores_->hosts.RedeemEnrollmentToken(created->second).ok());
    EXPECT_TRUE(stores_->hosts.SetInstalledBuild(created->first.id, "9000001").ok());
    return created->first;
  }

  Actor alice_, bob_, admin_;
};

TEST_P(FleetCatalogTest, OverlaysAreGlobalOrPrivateAndScriptsAreAdminsOnly) {
  auto global = stores_->overlays.Create(admin_, "standard", true, InlineFile("a.cfg", "x"));
  ASSERT_TRUE(global.ok()) << global.status();
  EXPECT_EQ(global->revision, 1);
  auto own = stores_->overlays.Create(alice_, "u-alice/maps", false, InlineFile("b.cfg", "y"));
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(stores_->overlays.Create(alice_, "mine", true, InlineFile("c", "z")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      stores_->overlays.Create(alice_, "standard", false, InlineFile("c", "z")).status().code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(stores_->overlays.Create(alice_, "../x", false, InlineFile("c", "z")).status().code(),
            absl::StatusCode::kInvalidArgument);
  agent::v1::SyncOverlayRequest script;
  script.mutable_script()->set_source("#!/bin/sh\ntrue\n");
  EXPECT_THAT(stores_->overlays.Create(alice_, "s", false, script).status().message(),
              HasSubstr("only global overlays"));
  EXPECT_TRUE(stores_->overlays.Create(admin_, "scripted", true, script).ok());
  EXPECT_EQ(stores_->overlays.Create(alice_, "empty", false, {}).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Bob sees the global ones, not Alice's; Alice cannot change a global one.
  EXPECT_EQ(stores_->overlays.Get(bob_, own->id).status().code(), absl::StatusCode::kNotFound);
  auto seen = stores_->overlays.List(bob_, {});
  ASSERT_TRUE(seen.ok());
  std::vector<std::string> refs;
  for (const Overlay& overlay : *seen) refs.push_back(overlay.ref);
  EXPECT_THAT(refs, ElementsAre("scripted", "standard"));
  EXPECT_EQ(stores_->overlays.Update(alice_, global->id, InlineFile("a.cfg", "2")).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto updated = stores_->overlays.Update(admin_, global->id, InlineFile("a.cfg", "2"));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision, 2);
  EXPECT_EQ(updated->source.inline_files().files(0).content(), "2");
}

// Issue "Isolation" 1: operator B's "ceox/2024" was taken by operator A's "ceox" for an old
// version on the host and removed. Refs are one namespace: none may nest in another, whoever
// owns them, in either order of creation; nothing is written when refused.
TEST_P(FleetCatalogTest, OverlayRefsNeverNestAcrossOrWithinOwners) {
  const Actor& bob = bob_;
  ASSERT_TRUE(stores_->overlays.Create(bob, "ceox/2024", false, InlineFile("a.cfg", "b")).ok());
  for (const char* ref : {"ceox", "ceox/2024/1", "ceox/2024/current"}) {
    absl::StatusOr<Overlay> refused =
        stores_->overlays.Create(alice_, ref, false, InlineFile("a.cfg", "a"));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << ref;
    EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("may not nest")) << ref;
  }
  // Bob himself neither: his own sync would remove his own.
  EXPECT_EQ(stores_->overlays.Create(bob, "ceox", false, InlineFile("a.cfg", "a")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Siblings and look-alike names that are not path prefixes are fine.
  for (const char* ref : {"ceox/2025", "ceox2024", "ceo", "ceox-2024", "ceox_/2024"}) {
    EXPECT_TRUE(stores_->overlays.Create(alice_, ref, false, InlineFile("a.cfg", "a")).ok()) << ref;
  }
  // "_" is a LIKE wildcard: the check compares text, it does not pattern-match.
  ASSERT_TRUE(stores_->overlays.Create(alice_, "a_b", false, InlineFile("a.cfg", "a")).ok());
  EXPECT_TRUE(stores_->overlays.Create(alice_, "axb/c", false, InlineFile("a.cfg", "a")).ok());
  // Inline files are checked when given (the agent checks again): modes 0644/0755 only, and
  // never over the game's own programs; nothing written.
  agent::v1::SyncOverlayRequest world_writable = InlineFile("left4dead2/cfg/x.cfg", "x");
  world_writable.mutable_inline_files()->mutable_files(0)->set_mode(0777);
  absl::StatusOr<Overlay> refused_mode =
      stores_->overlays.Create(alice_, "modes", false, world_writable);
  EXPECT_EQ(refused_mode.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused_mode.status().message(), HasSubstr("source.inline_files.files[0]"));
  EXPECT_EQ(stores_->overlays.Create(alice_, "engine", false, InlineFile("srcds_run", "#!/bin/sh"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing written by the refusals.
  auto all = stores_->overlays.List(Actor::System(), {.limit = 100});
  ASSERT_TRUE(all.ok());
  for (const Overlay& overlay : *all) {
    EXPECT_NE(overlay.ref, "ceox");
    EXPECT_NE(overlay.ref, "ceox/2024/1");
    EXPECT_NE(overlay.ref, "modes");
    EXPECT_NE(overlay.ref, "engine");
  }
}

TEST_P(FleetCatalogTest, HostsRecordTheRevisionTheyHaveAndNeverGoBack) {
  Host host = ReadyHost("fra-1", 10, 27015, 27020);
  auto overlay = stores_->overlays.Create(admin_, "standard", true, InlineFile("a", "x"));
  ASSERT_TRUE(overlay.ok());
  EXPECT_FALSE(stores_->overlays.OnHost(overlay->id, host.id)->has_value());
  ASSERT_TRUE(stores_->overlays.RecordSync(overlay->id, host.id, 2, "7").ok());
  ASSERT_TRUE(stores_->overlays.RecordSync(overlay->id, host.id, 1, "6").ok());  // A late one.
  auto on_host = stores_->overlays.OnHost(overlay->id, host.id);
  ASSERT_TRUE(on_host.ok() && on_host->has_value());
  EXPECT_EQ((*on_host)->revision, 2);
  EXPECT_EQ((*on_host)->version, "7");
}

TEST_P(FleetCatalogTest, BlueprintsArePrivateCheckedAndUndeletableWhileUsed) {
  auto global = stores_->overlays.Create(admin_, "standard", true, InlineFile("a", "x"));
  auto alices = stores_->overlays.Create(alice_, "u-alice/maps", false, InlineFile("b", "y"));
  ASSERT_TRUE(global.ok() && alices.ok());
  auto blueprint = stores_->blueprints.Create(
      alice_, Versus("versus", {{alices->id, true}, {global->id, false}}));
  ASSERT_TRUE(blueprint.ok()) << blueprint.status();
  ASSERT_EQ(blueprint->overlays.size(), 2u);
  EXPECT_EQ(blueprint->overlays[0].overlay_id, alices->id);
  EXPECT_TRUE(blueprint->overlays[0].exec_server_cfg);

  // Private: Bob neither sees it nor may use Alice's overlay in his own.
  EXPECT_EQ(stores_->blueprints.Get(bob_, blueprint->id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(stores_->blueprints.Create(bob_, Versus("copy", {{alices->id, false}})).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(stores_->blueprints.Get(admin_, blueprint->id).ok());

  // The agents' own rules, before any host sees it.
  BlueprintInput bad = Versus("bad");
  agent::v1::Cvar* cvar = bad.settings.add_cvars();
  cvar->set_name("sv_cheats");
  cvar->set_value("1; quit");
  EXPECT_THAT(stores_->blueprints.Create(alice_, bad).status().message(),
              HasSubstr("settings.cvars"));
  BlueprintInput ported = Versus("ported");
  ported.settings.set_port(27015);
  EXPECT_EQ(stores_->blueprints.Create(alice_, ported).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stores_->blueprints.Create(alice_, Versus("versus")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(stores_->blueprints.Create(bob_, Versus("versus")).ok());  // Names are per owner.

  // The spec an agent gets: settings, port, overlay refs in order.
  auto spec = stores_->blueprints.SpecFor(blueprint->id, 27016);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->port(), 27016);
  EXPECT_EQ(spec->game_mode(), "versus");
  ASSERT_EQ(spec->overlays_size(), 2);
  EXPECT_EQ(spec->overlays(0).ref(), "u-alice/maps");
  EXPECT_EQ(spec->overlays(1).ref(), "standard");

  // In use: neither the blueprint nor its overlays can go.
  auto server = stores_->servers.Create(alice_, "vs1", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(stores_->blueprints.Delete(alice_, blueprint->id).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stores_->overlays.Delete(admin_, global->id).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(stores_->servers.Remove(server->id).ok());
  EXPECT_TRUE(stores_->blueprints.Delete(alice_, blueprint->id).ok());
  EXPECT_TRUE(stores_->overlays.Delete(admin_, global->id).ok());
}

TEST_P(FleetCatalogTest, ServersUseTheirOwnersBlueprintsAndSwitchBetweenThem) {
  auto versus = stores_->blueprints.Create(alice_, Versus("versus"));
  auto coop = stores_->blueprints.Create(alice_, Versus("coop"));
  auto bobs = stores_->blueprints.Create(bob_, Versus("bobs"));
  ASSERT_TRUE(versus.ok() && coop.ok() && bobs.ok());
  EXPECT_EQ(stores_->servers.Create(alice_, "s1", bobs->id, DesiredState::kRunning).status().code(),
            absl::StatusCode::kNotFound);
  auto server = stores_->servers.Create(alice_, "s1", versus->id, DesiredState::kRunning);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(stores_->servers.Create(bob_, "s1", bobs->id, DesiredState::kRunning).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(stores_->servers.Get(bob_, server->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(stores_->servers.List(bob_)->empty());
  EXPECT_EQ(stores_->servers.List(admin_)->size(), 1u);
  EXPECT_EQ(stores_->servers.SetBlueprint(server->id, bobs->id).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(stores_->servers.SetBlueprint(server->id, coop->id).ok());
  EXPECT_EQ(stores_->servers.Get(alice_, server->id)->blueprint_id, coop->id);
  EXPECT_EQ(stores_->servers.List(alice_, {.blueprint_id = coop->id})->size(), 1u);
  EXPECT_TRUE(stores_->servers.List(alice_, {.blueprint_id = versus->id})->empty());
}

TEST_P(FleetCatalogTest, PlacementTakesTheLeastLoadedHostWithRoomAndAFreePort) {
  auto blueprint = stores_->blueprints.Create(alice_, Versus("versus"));
  ASSERT_TRUE(blueprint.ok());
  auto place = [&](const std::string& name) {
    auto server = stores_->servers.Create(alice_, name, blueprint->id, DesiredState::kRunning);
    EXPECT_TRUE(server.ok()) << server.status();
    return stores_->servers.Place(server->id, {.memory_per_server_bytes = 0});
  };
  EXPECT_EQ(place("none").status().code(), absl::StatusCode::kResourceExhausted);
  Host small = ReadyHost("small", 2, 27015, 27016);
  Host big = ReadyHost("big", 4, 28000, 28100);
  // Not ready, or no game: never chosen.
  auto enrolling =
      stores_->hosts.Create({.name = "new", .address = "10.0.0.9:7543"}, absl::Hours(1));
  ASSERT_TRUE(enrolling.ok());

  absl::StatusOr<Server> first = place("a");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<Server> second = place("b");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->host_id, second->host_id);  // One each: both were empty.
  std::map<std::string, std::vector<int>> ports;
  ports[first->host_id].push_back(first->port);
  ports[second->host_id].push_back(second->port);
  for (const char* name : {"c", "d", "e", "f"}) {
    absl::StatusOr<Server> placed = place(name);
    ASSERT_TRUE(placed.ok()) << name << ": " << placed.status();
    ports[placed->host_id].push_back(placed->port);
  }
  EXPECT_THAT(ports[small.id], ElementsAre(27015, 27016));
  EXPECT_THAT(ports[big.id], ElementsAre(28000, 28001, 28002, 28003));
  EXPECT_EQ(*stores_->servers.CountOnHost(small.id), 2);
  EXPECT_EQ(*stores_->servers.CountOnHost(big.id), 4);
  EXPECT_EQ(*stores_->servers.CountOnHost("nowhere"), 0);  // the unplaced server counts nowhere
  EXPECT_EQ(place("g").status().code(), absl::StatusCode::kResourceExhausted);
  // A placed server stays where it is.
  EXPECT_EQ(stores_->servers.Place(first->id, {})->port, first->port);

  // Memory: a host whose total is known takes no more than fit.
  Host tight = ReadyHost("tight", 10, 29000, 29010);
  ASSERT_TRUE(stores_->hosts.SetMemory(tight.id, int64_t{3} << 30).ok());
  int on_tight = 0;
  for (const char* name : {"m1", "m2", "m3", "m4"}) {
    auto created = stores_->servers.Create(alice_, std::string(name) + "x", blueprint->id,
                                           DesiredState::kRunning);
    ASSERT_TRUE(created.ok());
    absl::StatusOr<Server> placed =
        stores_->servers.Place(created->id, {.memory_per_server_bytes = int64_t{1} << 30});
    if (placed.ok() && placed->host_id == tight.id) ++on_tight;
  }
  EXPECT_EQ(on_tight, 3);
}

TEST_P(FleetCatalogTest, SeveralHostsAreObservedAtOnceEachByItsOwnInstances) {
  ReadyHost("fra-1", 1, 27015, 27020);
  ReadyHost("fra-2", 1, 27015, 27020);
  // Two servers of two owners, one per host.
  auto alices =
      stores_->servers.Create(alice_, "a", stores_->blueprints.Create(alice_, Versus("versus"))->id,
                              DesiredState::kRunning);
  auto bobs = stores_->servers.Create(
      bob_, "b", stores_->blueprints.Create(bob_, Versus("versus"))->id, DesiredState::kRunning);
  ASSERT_TRUE(alices.ok() && bobs.ok());
  absl::StatusOr<Server> alice_placed = stores_->servers.Place(alices->id, {});
  absl::StatusOr<Server> bob_placed = stores_->servers.Place(bobs->id, {});
  ASSERT_TRUE(alice_placed.ok() && bob_placed.ok());
  ASSERT_NE(alice_placed->host_id, bob_placed->host_id);
  // Alice's host runs "a"; Bob's host lists nothing, and a report of "b" from Alice's host
  // is not Bob's server.
  auto observed =
      stores_->servers.ObserveHosts({{.host_id = alice_placed->host_id,
                                      .instances = {{.name = "a", .state = ServerState::kRunning},
                                                    {.name = "b", .state = ServerState::kRunning}}},
                                     {.host_id = bob_placed->host_id, .instances = {}}});
  ASSERT_TRUE(observed.ok()) << observed.status();
  ASSERT_EQ(observed->size(), 2u);
  EXPECT_EQ(stores_->servers.Get(alice_, alices->id)->actual_state, ServerState::kRunning);
  EXPECT_EQ(stores_->servers.Get(bob_, bobs->id)->actual_state, ServerState::kMissing);
  EXPECT_TRUE(stores_->servers.ObserveHosts({})->empty());
}

TEST_P(FleetCatalogTest, ObservationsRecordStatesAndSamplesWhichExpire) {
  auto blueprint = stores_->blueprints.Create(alice_, Versus("versus"));
  Host host = ReadyHost("fra-1", 10, 27015, 27020);
  auto a = stores_->servers.Create(alice_, "a", blueprint->id, DesiredState::kRunning);
  auto b = stores_->servers.Create(alice_, "b", blueprint->id, DesiredState::kRunning);
  ASSERT_TRUE(stores_->servers.Place(a->id, {}).ok());
  ASSERT_TRUE(stores_->servers.Place(b->id, {}).ok());
  auto observed = stores_->servers.ObserveHost(host.id, {{.name = "a",
                                                          .state = ServerState::kRunning,
                                                          .status = "{}",
                                                          .players = 3,
                                                          .cpu_millis = 1500,
                                                          .memory_bytes = 400 << 20}});
  ASSERT_TRUE(observed.ok()) << observed.status();
  ASSERT_EQ(observed->size(), 2u);
  EXPECT_EQ((*observed)[0].server.actual_state, ServerState::kRunning);
  EXPECT_EQ((*observed)[0].previous_state, ServerState::kUnknown);
  EXPECT_EQ((*observed)[1].server.actual_state, ServerState::kMissing);
  // A second round in the same millisecond (another controller) keeps the first sample.
  ASSERT_TRUE(
      stores_->servers
          .ObserveHost(host.id, {{.name = "a", .state = ServerState::kRunning, .players = 9}})
          .ok());
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(
      stores_->servers
          .ObserveHost(host.id, {{.name = "a", .state = ServerState::kRunning, .players = 4}})
          .ok());
  // The players of the last observation, on the row and in the fleet's count.
  EXPECT_EQ(stores_->servers.Get(alice_, a->id)->players, 4);
  absl::StatusOr<FleetCounts> counts = CountFleet(*db_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->players, 4);
  auto samples = stores_->metrics.Read(a->id, clock_.Now() - absl::Hours(3), clock_.Now());
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->points.size(), 1u);  // [from, to): the newest is at `to`
  EXPECT_EQ(samples->points[0].players, 3);
  EXPECT_EQ(samples->points[0].memory_bytes, 400 << 20);
  samples =
      stores_->metrics.Read(a->id, clock_.Now() - absl::Hours(3), clock_.Now() + absl::Seconds(1));
  ASSERT_EQ(samples->points.size(), 2u);
  EXPECT_EQ(samples->points[1].players, 4);
  MetricHistory hour(*db_, clock_, {.raw = absl::Hours(1)});
  ASSERT_TRUE(hour.Maintain().ok());
  EXPECT_EQ(Count("metric_samples"), 1);
}

// The API shows a server's row from memory while its revision is unchanged: every write to a
// row must bump it, and a list's revisions and names must be the rows' own.
TEST_P(FleetCatalogTest, EveryChangeToAServerBumpsItsRevision) {
  auto versus = stores_->blueprints.Create(alice_, Versus("versus"));
  auto coop = stores_->blueprints.Create(alice_, Versus("coop"));
  ASSERT_TRUE(versus.ok() && coop.ok());
  Host host = ReadyHost("fra-1", 10, 27015, 27020);
  auto server = stores_->servers.Create(alice_, "s1", versus->id, DesiredState::kStopped);
  ASSERT_TRUE(server.ok()) << server.status();
  int64_t seen = server->revision;
  auto bumped = [&](const char* step) {
    absl::StatusOr<Server> now = stores_->servers.Get(alice_, server->id);
    EXPECT_TRUE(now.ok()) << step;
    const bool grew = now.ok() && now->revision > seen;
    if (now.ok()) seen = now->revision;
    return grew;
  };
  ASSERT_TRUE(stores_->servers.SetDesired(server->id, DesiredState::kRunning).ok());
  EXPECT_TRUE(bumped("desired"));
  ASSERT_TRUE(stores_->servers.SetBlueprint(server->id, coop->id).ok());
  EXPECT_TRUE(bumped("blueprint"));
  ASSERT_TRUE(stores_->servers.Place(server->id, {.memory_per_server_bytes = 0}).ok());
  EXPECT_TRUE(bumped("placement"));
  auto observed = stores_->servers.ObserveHost(
      host.id, {{.name = "s1", .state = ServerState::kRunning, .status = R"({"players":1})"}});
  ASSERT_TRUE(observed.ok());
  EXPECT_TRUE(bumped("observation"));
  EXPECT_EQ((*observed)[0].server.revision, seen);  // what the round reports is the row
  // The same observation again writes nothing, so the revision stays.
  ASSERT_TRUE(stores_->servers
                  .ObserveHost(host.id, {{.name = "s1",
                                          .state = ServerState::kRunning,
                                          .status = R"({"players":1})"}})
                  .ok());
  EXPECT_FALSE(bumped("unchanged observation"));
  ASSERT_TRUE(stores_->servers.SetRestartBackoff(server->id, 2, clock_.Now()).ok());
  EXPECT_TRUE(bumped("restart backoff"));
}

TEST_P(FleetCatalogTest, ListRevisionsMatchesTheListAndGetManyKeepsPrivacy) {
  auto alices = stores_->blueprints.Create(alice_, Versus("versus"));
  auto bobs = stores_->blueprints.Create(bob_, Versus("versus"));
  ASSERT_TRUE(alices.ok() && bobs.ok());
  std::vector<std::string> all_ids;
  for (const char* name : {"c", "a", "e", "b", "d"}) {
    auto created = stores_->servers.Create(alice_, name, alices->id, DesiredState::kStopped);
    ASSERT_TRUE(created.ok()) << created.status();
    all_ids.push_back(created->id);
  }
  auto bobs_server = stores_->servers.Create(bob_, "bob", bobs->id, DesiredState::kStopped);
  ASSERT_TRUE(bobs_server.ok());
  all_ids.push_back(bobs_server->id);
  ASSERT_TRUE(stores_->servers.SetDesired(all_ids[0], DesiredState::kRunning).ok());

  for (const Actor& actor : {alice_, admin_}) {
    for (const ServerFilter& filter :
         {ServerFilter{}, ServerFilter{.limit = 2}, ServerFilter{.after_name = "b", .limit = 2},
          ServerFilter{.desired_state = DesiredState::kRunning},
          ServerFilter{.name_prefix = "b"}}) {
      auto full = stores_->servers.List(actor, filter);
      auto page = stores_->servers.ListRevisions(actor, filter);
      ASSERT_TRUE(full.ok() && page.ok()) << page.status();
      ASSERT_EQ(full->size(), page->size());
      for (size_t i = 0; i < page->size(); ++i) {
        EXPECT_EQ((*page)[i].id, (*full)[i].id);
        EXPECT_EQ((*page)[i].name, (*full)[i].name);
        EXPECT_EQ((*page)[i].revision, (*full)[i].revision);
      }
    }
  }
  auto page = stores_->servers.ListRevisions(alice_, {.limit = 2});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].name, "a");
  EXPECT_EQ((*page)[1].name, "b");

  // Bob's server is not alice's to read, even by id; unknown ids are left out.
  std::vector<std::string> wanted = all_ids;
  wanted.push_back("s-unknown");
  auto many = stores_->servers.GetMany(alice_, wanted);
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ(many->size(), 5u);
  for (const Server& server : *many) EXPECT_EQ(server.owner_id, alice_.user_id);
  EXPECT_EQ(stores_->servers.GetMany(admin_, wanted)->size(), 6u);
  EXPECT_TRUE(stores_->servers.GetMany(alice_, {})->empty());
}

L4D2_INSTANTIATE_BACKEND_TEST(FleetCatalogTest);

}  // namespace
}  // namespace l4d2::controller
