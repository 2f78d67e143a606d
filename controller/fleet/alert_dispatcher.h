#pragma once

// Alerts (docs/alerts.md): the audit log is the fleet's record of what happened, and the events
// worth telling someone are entries of it (a server crashed, entered a crash loop, hung, was given
// up on; a host became unreachable or came back; a job or a schedule's run failed). Every `check`
// the holder of the "alerts" lease reads the entries after its cursor (table `alert_cursor`),
// and for each event queues a "webhook.deliver" job (controller/jobs/webhook_delivery.h) per
// enabled webhook that wants it and may hear of it (an admin's: everything; an operator's: their
// own objects), moving the cursor on in the same transaction with a compare-and-set: an event is
// queued once per webhook whichever controllers look, and a controller restart loses none.
// Delivery is then the job machinery's: durable, retried with backoff, in order per webhook.
//
// The first round on a database starts at the newest entry: history is not replayed.

#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/fleet_stores.h"

namespace l4d2::controller {

struct AlertDispatcherOptions {
  absl::Duration check = absl::Seconds(2);
  int batch = 500;    // audit entries read per round at most
  std::string owner;  // this controller process (ProcessOwnerName)
};

// The alert event an audit entry is ("server.crash_loop", "host.back", ...), if any.
std::optional<std::string> AlertEventOf(const AuditEntry& entry);

class AlertDispatcher {
 public:
  // `stores` must outlive it.
  AlertDispatcher(FleetStores& stores, AlertDispatcherOptions options);
  ~AlertDispatcher();

  // One round; the deliveries queued (0 when another controller holds the lease).
  absl::StatusOr<int> Round();

  void Start();
  void Stop();

 private:
  FleetStores& stores_;
  const AlertDispatcherOptions options_;
  bool held_ = false;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace l4d2::controller
