#pragma once

// The stores the fleet's machinery (scheduler, reconciler, host monitor) works on, over one
// database: built once per process and handed around as one.

#include "common/clock.h"
#include "controller/store/audit_log.h"
#include "controller/store/blueprints.h"
#include "controller/store/database.h"
#include "controller/store/game_updates.h"
#include "controller/store/hosts.h"
#include "controller/store/job_queue.h"
#include "controller/store/leases.h"
#include "controller/store/metric_history.h"
#include "controller/store/overlays.h"
#include "controller/store/player_history.h"
#include "controller/store/schedules.h"
#include "controller/store/server_backups.h"
#include "controller/store/servers.h"
#include "controller/store/webhooks.h"

namespace l4d2::controller {

struct FleetStores {
  // `db` and `clock` must outlive the stores.
  FleetStores(Database& db, Clock& clock, MetricRetention metric_retention = {})
      : db(db),
        clock(clock),
        jobs(db, clock),
        hosts(db, clock),
        overlays(db, clock),
        blueprints(db, clock),
        servers(db, clock),
        audit(db, clock),
        leases(db, clock),
        metrics(db, clock, metric_retention),
        players(db, clock),
        schedules(db, clock),
        webhooks(db, clock),
        updates(db, clock, audit),
        backups(db, clock) {}

  Database& db;  // for what spans the stores (fleet_counts.h)
  Clock& clock;
  JobQueue jobs;
  HostStore hosts;
  OverlayStore overlays;
  BlueprintStore blueprints;
  ServerStore servers;
  AuditLog audit;
  LeaseStore leases;
  MetricHistory metrics;
  PlayerHistory players;
  ScheduleStore schedules;
  WebhookStore webhooks;
  GameUpdateStore updates;
  ServerBackupStore backups;
};

}  // namespace l4d2::controller
